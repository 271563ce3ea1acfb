//! A second real Docker engine for the fleet tests: `dockerd` with its own
//! socket, data root, exec root, pid file and config file (the machine's
//! /etc/docker/daemon.json sets a data root that would clash; only its
//! storage driver is kept), no bridge and no iptables, so containers on it
//! run with `--network none`. One engine is shared by the fleet tests,
//! which take `lease()` in turn (a test may stop and restart it). It is
//! stopped, and its directories removed, when the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bollard::Docker;

/// How long dockerd may take to answer on its socket.
const READY_WITHIN: Duration = Duration::from_secs(60);

pub struct SecondEngine {
    dir: PathBuf,
    child: Mutex<Option<Child>>,
}

static ENGINE: OnceLock<SecondEngine> = OnceLock::new();
/// One fleet test at a time holds the engine: one of them kills it.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared second engine, for one test at a time.
pub struct Lease {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    pub engine: &'static SecondEngine,
}

/// Waits for the turn, starts the engine on first use, and makes sure it
/// is up (an earlier test may have stopped it and failed before restart).
pub async fn lease() -> Lease {
    let turn = TURN.lock().await;
    let engine = ENGINE.get_or_init(|| {
        let engine = SecondEngine::create();
        // SAFETY: `stop_at_exit` is an `extern "C" fn()` that touches only
        // the static engine; atexit is called once.
        unsafe { libc::atexit(stop_at_exit) };
        engine
    });
    if !engine.is_running() {
        engine.start();
    }
    Lease {
        _turn: turn,
        engine,
    }
}

extern "C" fn stop_at_exit() {
    if let Some(engine) = ENGINE.get() {
        engine.stop();
        engine.remove_dirs();
    }
}

impl SecondEngine {
    fn create() -> SecondEngine {
        let dir =
            std::env::temp_dir().join(format!("evaltop-dockerd-{}", super::docker::random_hex()));
        for sub in ["data", "exec"] {
            std::fs::create_dir_all(dir.join(sub))
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.join(sub).display()));
        }
        std::fs::write(dir.join("daemon.json"), daemon_json())
            .unwrap_or_else(|e| panic!("cannot write the second engine's config: {e}"));
        let engine = SecondEngine {
            dir,
            child: Mutex::new(None),
        };
        engine.start();
        engine
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    /// `unix:///tmp/evaltop-dockerd-…/docker.sock`.
    pub fn url(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// A client of this engine, through evaltop's own connect.
    pub async fn docker(&self) -> Docker {
        evaltop::sources::docker::connect(Some(&self.url()))
            .await
            .unwrap_or_else(|e| panic!("the second engine does not answer: {e}"))
    }

    fn is_running(&self) -> bool {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Starts dockerd and waits until it answers; panics with its log if
    /// it cannot (the fleet tests never skip).
    pub fn start(&self) {
        let _ = std::fs::remove_file(self.socket());
        let log = std::fs::File::create(self.dir.join("dockerd.log"))
            .unwrap_or_else(|e| panic!("cannot create the second engine's log: {e}"));
        let err = log.try_clone().expect("log file handle");
        let path = |p: &str| self.dir.join(p).display().to_string();
        let child = Command::new("dockerd")
            .args(["--host", &self.url()])
            .args(["--data-root", &path("data")])
            .args(["--exec-root", &path("exec")])
            .args(["--pidfile", &path("docker.pid")])
            .args(["--config-file", &path("daemon.json")])
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dockerd for the second engine: {e}"));
        *self.child.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        while !self.answers() {
            if !self.is_running() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!(
                    "the second Docker engine did not start at {}:\n{}",
                    self.url(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn answers(&self) -> bool {
        self.socket().exists()
            && Command::new("docker")
                .args([
                    "-H",
                    &self.url(),
                    "version",
                    "--format",
                    "{{.Server.Version}}",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// Kills dockerd at once (SIGKILL): its socket goes dead, as when an
    /// executor host's engine crashes. Its containers' shims live on.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut c) = child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Stops dockerd gently (SIGTERM), waiting for it to go.
    fn stop(&self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(mut c) = child.take() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn remove_dirs(&self) {
        // dockerd mounts its data root on itself, and the storage driver
        // and the exec root hold mounts of their own.
        for sub in ["exec", "data"] {
            let _ = Command::new("umount")
                .arg("-R")
                .arg(self.dir.join(sub))
                .output();
        }
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("cannot remove {}: {e}", self.dir.display());
        }
    }
}

impl Drop for SecondEngine {
    fn drop(&mut self) {
        self.stop();
        self.remove_dirs();
    }
}

/// The config of its own: the machine's storage driver, nothing else.
fn daemon_json() -> String {
    let driver = std::fs::read_to_string(Path::new("/etc/docker/daemon.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|v| {
            v.get("storage-driver")
                .and_then(|d| d.as_str())
                .map(str::to_string)
        });
    match driver {
        Some(driver) => serde_json::json!({ "storage-driver": driver }).to_string(),
        None => "{}".to_string(),
    }
}
