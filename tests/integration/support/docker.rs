//! Docker for the integration tests: an image built offline from the host's
//! static busybox, containers labelled like the platform's executor makes
//! them, and unique eval ids. Each test imports its own image and removes,
//! on drop, exactly the containers and the image it made (the docker CLI
//! does the removal, so that drop works inside or outside a tokio runtime).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, CreateImageOptionsBuilder};
use futures::StreamExt;

/// Where Debian's busybox-static puts its binary.
const BUSYBOX_PATHS: [&str; 2] = ["/usr/bin/busybox", "/bin/busybox"];
/// Applets linked in the image's /bin.
const APPLETS: [&str; 18] = [
    "sh", "echo", "printf", "sleep", "cat", "true", "false", "env", "ls", "yes", "head", "kill",
    "seq", "dd", "tr", "wc", "id", "date",
];
/// How long `wait_exit` waits for a container to end.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

/// Connects to the engine the tests run against (`DOCKER_HOST`, else the
/// local socket), through evaltop's own connect.
pub async fn docker() -> Docker {
    evaltop::sources::docker::connect(None)
        .await
        .unwrap_or_else(|e| panic!("the integration tests need a Docker engine: {e}"))
}

/// 32 random bits as 8 hex digits: the process's random hash keys, mixed
/// with the pid, a counter and the time, so ids differ across processes,
/// calls and runs.
pub fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:08x}", hasher.finish() as u32)
}

/// A fresh id in the platform's shape: `eval_YYYYMMDD_HHMMSS_xxxxxxxx`.
pub fn unique_eval_id() -> String {
    format!(
        "eval_{}_{}",
        chrono::Utc::now().format("%Y%m%d_%H%M%S"),
        random_hex()
    )
}

/// A fresh executor id, so that a test can scope a source to its own
/// containers while other tests use the same engine.
pub fn unique_executor() -> String {
    format!("executor-test-{}", random_hex())
}

/// The `created_at` label as the executor writes it: ISO-8601 UTC with
/// microseconds and `+00:00`.
pub fn created_at_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// The host's busybox, checked to be static (it must run in an image that
/// holds nothing else).
pub fn static_busybox() -> PathBuf {
    let path = BUSYBOX_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("no busybox found: install busybox-static (apt-get install busybox-static)")
        });
    let bytes =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    if !is_static_elf(&bytes) {
        panic!(
            "{} is not a static executable: install busybox-static (apt-get install busybox-static)",
            path.display()
        );
    }
    path.to_path_buf()
}

/// True for a 64-bit little-endian ELF without a program interpreter
/// (`PT_INTERP`), i.e. one that needs no dynamic loader.
fn is_static_elf(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(|b: [u8; 8]| u64::from_le_bytes(b) as usize)
    };
    if bytes.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| u32_at(phoff + i * phentsize).is_some_and(|kind| kind != PT_INTERP))
}

/// A ustar archive built in memory: directories, files and symlinks.
struct Tar {
    bytes: Vec<u8>,
}

impl Tar {
    fn new() -> Self {
        Tar { bytes: Vec::new() }
    }

    fn entry(&mut self, name: &str, mode: u32, kind: u8, link: &str, content: &[u8]) {
        let mut header = [0u8; 512];
        let put = |header: &mut [u8; 512], at: usize, value: &[u8]| {
            header[at..at + value.len()].copy_from_slice(value);
        };
        let octal =
            |width: usize, value: u64| format!("{value:0w$o}\0", w = width - 1).into_bytes();
        assert!(
            name.len() < 100 && link.len() < 100,
            "tar names stay short here"
        );
        put(&mut header, 0, name.as_bytes());
        put(&mut header, 100, &octal(8, u64::from(mode)));
        put(&mut header, 108, &octal(8, 0));
        put(&mut header, 116, &octal(8, 0));
        put(&mut header, 124, &octal(12, content.len() as u64));
        put(&mut header, 136, &octal(12, 1_700_000_000));
        put(&mut header, 148, b"        ");
        header[156] = kind;
        put(&mut header, 157, link.as_bytes());
        put(&mut header, 257, b"ustar\0");
        put(&mut header, 263, b"00");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        put(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
        self.bytes.extend_from_slice(&header);
        self.bytes.extend_from_slice(content);
        let pad = (512 - content.len() % 512) % 512;
        self.bytes.extend(std::iter::repeat_n(0u8, pad));
    }

    fn dir(&mut self, name: &str, mode: u32) {
        self.entry(name, mode, b'5', "", &[]);
    }

    fn file(&mut self, name: &str, mode: u32, content: &[u8]) {
        self.entry(name, mode, b'0', "", content);
    }

    fn symlink(&mut self, name: &str, target: &str) {
        self.entry(name, 0o777, b'2', target, &[]);
    }

    fn finish(mut self) -> Vec<u8> {
        self.bytes.extend(std::iter::repeat_n(0u8, 1024));
        self.bytes
    }
}

/// The root filesystem of the test image: /bin/busybox and its applets.
fn busybox_rootfs() -> Vec<u8> {
    let busybox = std::fs::read(static_busybox()).expect("busybox readable");
    let mut tar = Tar::new();
    for dir in ["bin/", "etc/", "tmp/", "proc/", "sys/", "dev/"] {
        tar.dir(dir, if dir == "tmp/" { 0o1777 } else { 0o755 });
    }
    tar.file("bin/busybox", 0o755, &busybox);
    for applet in APPLETS {
        tar.symlink(&format!("bin/{applet}"), "busybox");
    }
    tar.finish()
}

/// Removes what `docker rm -f` / `docker rmi -f` is given; a thing that is
/// already gone is fine, anything else is reported but cannot fail a drop.
fn cli_remove(host: Option<&str>, args: &[&str]) {
    let mut command = Command::new("docker");
    if let Some(host) = host {
        command.args(["-H", host]);
    }
    match command.args(args).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !stderr.contains("No such") {
                eprintln!("docker {}: {}", args.join(" "), stderr.trim());
            }
        }
        Err(e) => eprintln!("cannot run docker {}: {e}", args.join(" ")),
    }
}

struct ImageGuard {
    reference: String,
    /// The engine it is on; `None`: the machine's.
    host: Option<String>,
}

impl Drop for ImageGuard {
    fn drop(&mut self) {
        cli_remove(self.host.as_deref(), &["rmi", "-f", &self.reference]);
    }
}

/// The busybox image of one test, imported under a unique tag. Clones share
/// it; it is removed when the last clone and the last container made from
/// it are dropped.
#[derive(Clone)]
pub struct TestImage {
    guard: Arc<ImageGuard>,
}

impl TestImage {
    /// Builds the root filesystem in memory and imports it (no registry)
    /// into the machine's engine.
    pub async fn import(docker: &Docker) -> TestImage {
        Self::import_on(docker, None).await
    }

    /// Imports it into the engine at `host` (`None`: the machine's), which
    /// `docker` is connected to; it is removed from there.
    pub async fn import_on(docker: &Docker, host: Option<&str>) -> TestImage {
        let repo = "evaltop-test-busybox";
        let tag = random_hex();
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(&tag)
            .build();
        let guard = Arc::new(ImageGuard {
            reference: format!("{repo}:{tag}"),
            host: host.map(str::to_string),
        });
        let mut progress = docker.create_image(
            Some(options),
            Some(bollard::body_full(busybox_rootfs().into())),
            None,
        );
        while let Some(step) = progress.next().await {
            if let Err(e) = step {
                panic!("importing the test image failed: {e}");
            }
        }
        TestImage { guard }
    }

    /// `repo:tag`, for container configs.
    pub fn reference(&self) -> &str {
        &self.guard.reference
    }
}

/// A container as the platform's executor makes it: its labels, a shell
/// script as the command, no network, optionally a TTY.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    pub eval_id: String,
    pub executor: String,
    pub created_at: String,
    /// The `timeout` label, as written (the platform writes whole seconds).
    pub timeout: String,
    pub tty: bool,
    /// Run with `sh -c`.
    pub script: String,
}

impl ContainerSpec {
    pub fn new(eval_id: &str, executor: &str, script: &str) -> Self {
        ContainerSpec {
            eval_id: eval_id.to_string(),
            executor: executor.to_string(),
            created_at: created_at_now(),
            timeout: "30".to_string(),
            tty: false,
            script: script.to_string(),
        }
    }

    pub fn tty(mut self, tty: bool) -> Self {
        self.tty = tty;
        self
    }

    pub fn timeout(mut self, timeout: &str) -> Self {
        self.timeout = timeout.to_string();
        self
    }
}

/// A container of one test, force-removed on drop. It keeps its image
/// alive, so the image always goes after its containers.
pub struct TestContainer {
    /// The full id, as Docker's events and lists give it.
    pub id: String,
    pub eval_id: String,
    pub executor: String,
    _image: TestImage,
}

impl TestContainer {
    /// Creates the container without starting it.
    pub async fn create(docker: &Docker, image: &TestImage, spec: &ContainerSpec) -> TestContainer {
        let labels = [
            ("eval_id", spec.eval_id.as_str()),
            ("executor", spec.executor.as_str()),
            ("created_at", spec.created_at.as_str()),
            ("timeout", spec.timeout.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = ContainerCreateBody {
            image: Some(image.reference().to_string()),
            cmd: Some(vec!["sh".into(), "-c".into(), spec.script.clone()]),
            labels: Some(labels),
            tty: Some(spec.tty),
            host_config: Some(HostConfig {
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = format!("evaltop-test-{}-{}", spec.eval_id, random_hex());
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = docker
            .create_container(Some(options), body)
            .await
            .unwrap_or_else(|e| panic!("creating test container {name}: {e}"));
        TestContainer {
            id: created.id,
            eval_id: spec.eval_id.clone(),
            executor: spec.executor.clone(),
            _image: image.clone(),
        }
    }

    /// Creates and starts the container.
    pub async fn start(docker: &Docker, image: &TestImage, spec: &ContainerSpec) -> TestContainer {
        let container = Self::create(docker, image, spec).await;
        container.begin(docker).await;
        container
    }

    /// Starts a created container.
    pub async fn begin(&self, docker: &Docker) {
        docker
            .start_container(&self.id, None)
            .await
            .unwrap_or_else(|e| panic!("starting test container {}: {e}", self.id));
    }

    /// Waits (up to 30 s) for the container to end; its exit code.
    pub async fn wait_exit(&self, docker: &Docker) -> i64 {
        let deadline = Instant::now() + EXIT_WITHIN;
        loop {
            let inspect = docker
                .inspect_container(&self.id, None)
                .await
                .unwrap_or_else(|e| panic!("inspecting test container {}: {e}", self.id));
            let state = inspect.state.unwrap_or_default();
            if state.running != Some(true)
                && state
                    .finished_at
                    .as_deref()
                    .is_some_and(|t| !t.starts_with("0001"))
            {
                return state
                    .exit_code
                    .unwrap_or_else(|| panic!("{} ended without an exit code", self.id));
            }
            assert!(
                Instant::now() < deadline,
                "container {} still running after {EXIT_WITHIN:?}",
                self.id
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Force-removes the container now (as the executor does after a
    /// completion). Drop does it again, harmlessly.
    pub fn remove(&self) {
        cli_remove(
            self._image.guard.host.as_deref(),
            &["rm", "-f", "-v", &self.id],
        );
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        self.remove();
    }
}

/// A TCP front for the local engine's socket that a test can cut and
/// restore, to see the source lose the engine and come back. Cutting closes
/// every open connection (the event stream included) and refuses new ones.
pub struct EngineProxy {
    port: u16,
    socket: PathBuf,
    serving: Option<tokio::task::JoinHandle<()>>,
}

impl EngineProxy {
    /// Listens on a free port of 127.0.0.1, forwarding to the engine's
    /// unix socket (`DOCKER_HOST` when it is one, else the default).
    pub async fn start() -> EngineProxy {
        let socket = match std::env::var("DOCKER_HOST") {
            Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
            Ok(host) if !host.is_empty() => {
                panic!("EngineProxy needs a unix socket, DOCKER_HOST is {host}")
            }
            _ => PathBuf::from("/var/run/docker.sock"),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a free port for the engine proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let serving = Some(tokio::spawn(serve(listener, socket.clone())));
        EngineProxy {
            port,
            socket,
            serving,
        }
    }

    /// `tcp://127.0.0.1:PORT`, for the source's host.
    pub fn address(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Closes every connection and stops listening.
    pub async fn cut(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
            // Waiting for the task makes sure its sockets are closed; the
            // error is the expected "cancelled".
            assert!(serving.await.is_err_and(|e| e.is_cancelled()));
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) {
        assert!(self.serving.is_none(), "the proxy is already serving");
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("engine proxy: port {} not free yet: {e}", self.port);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("engine proxy cannot listen on {} again: {e}", self.port),
            }
        };
        self.serving = Some(tokio::spawn(serve(listener, self.socket.clone())));
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
    }
}

/// Accepts and forwards until aborted; the connections live in a `JoinSet`
/// owned here, so aborting this task closes them all.
async fn serve(listener: tokio::net::TcpListener, socket: PathBuf) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (mut tcp, _) = accepted.expect("engine proxy accepts");
                let socket = socket.clone();
                connections.spawn(async move {
                    let mut unix = match tokio::net::UnixStream::connect(&socket).await {
                        Ok(unix) => unix,
                        Err(e) => {
                            eprintln!("engine proxy cannot reach {}: {e}", socket.display());
                            return;
                        }
                    };
                    // Either side closing ends the copy; how it ended does
                    // not matter to a test proxy.
                    let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
                });
            }
            Some(_) = connections.join_next() => {}
        }
    }
}
