//! A real redis-server for one test: on a free port of 127.0.0.1, without
//! automatic persistence, stopped and restarted on the same port on demand
//! (to test reconnects), killed and reaped on drop. A restarted server is
//! empty unless the test ran SAVE before: then it holds what was saved.
//! Also a running Redis source (`Watch`) and waiting for what it observes.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use evaltop::model::{Observation, RedisSnapshot, Source};
use evaltop::names::Names;
use evaltop::sources::Received;
use evaltop::sources::redis::{RedisConfig, run};
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a starting server may take to answer.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Free ports tried before giving up (another process may take the one we
/// picked between releasing it and redis binding it).
const PORT_ATTEMPTS: usize = 5;

pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts redis-server on a free port and waits until it answers.
    pub fn start() -> Self {
        let binary = redis_server_binary();
        let mut last_failure = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            // A fresh server starts empty, whatever an earlier one saved.
            if let Err(error) = std::fs::remove_file(dump_file(port))
                && error.kind() != std::io::ErrorKind::NotFound
            {
                panic!("cannot remove a stale dump file: {error}");
            }
            match spawn(&binary, port) {
                Ok(child) => {
                    return RedisServer {
                        port,
                        child: Some(child),
                    };
                }
                Err(failure) => last_failure = failure,
            }
        }
        panic!("redis-server did not start after {PORT_ATTEMPTS} attempts: {last_failure}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A new client connection, for the test to publish and set keys.
    pub async fn connection(&self) -> MultiplexedConnection {
        // The client's default 500 ms response timeout fails big pipelines
        // and any command on a machine busy building.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(30)));
        redis::Client::open(self.url())
            .expect("test redis URL")
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .expect("connect to the test redis-server")
    }

    /// Publishes `payload` on `channel`; returns how many subscribers got it
    /// (pattern subscribers included).
    pub async fn publish(&self, channel: &str, payload: impl AsRef<[u8]>) -> i64 {
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(payload.as_ref())
            .query_async(&mut self.connection().await)
            .await
            .expect("PUBLISH")
    }

    /// Runs one command and returns its reply, panicking on failure.
    pub async fn cmd<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> T {
        cmd.query_async(&mut self.connection().await)
            .await
            .unwrap_or_else(|error| panic!("{cmd:?}: {error}"))
    }

    /// Kills the server (as a crash would: no shutdown handshake) and reaps
    /// it. Its port stays reserved for `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_and_reap(&mut child);
        }
    }

    /// Freezes the server (SIGSTOP): its connections stay open but nothing
    /// answers, like a half-dead TCP connection or a hung server.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("redis-server is running");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} redis-server: {status}");
    }

    /// Stops the server if it runs and starts a new one on the same port,
    /// waiting until it answers. It is empty, or holds what the last SAVE
    /// wrote.
    pub fn restart(&mut self) {
        self.stop();
        let binary = redis_server_binary();
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            match spawn(&binary, self.port) {
                Ok(child) => {
                    self.child = Some(child);
                    return;
                }
                // The old socket may linger for a moment.
                Err(failure) if Instant::now() < deadline => {
                    tracing::debug!(%failure, "redis-server restart retried");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(failure) => panic!(
                    "redis-server did not restart on port {}: {failure}",
                    self.port
                ),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let dump = dump_file(self.port);
        if dump.exists()
            && let Err(error) = std::fs::remove_file(&dump)
        {
            tracing::warn!(%error, path = %dump.display(), "cannot remove the test dump file");
        }
    }
}

/// Where SAVE writes, per port and test process, so that no test ever
/// loads another's data.
fn dump_file(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("evaltop-redis-{}-{port}.rdb", std::process::id()))
}

/// A port that nothing listens on right now (and, as far as anyone can
/// know, nothing will): for testing an unreachable server.
pub fn closed_port() -> u16 {
    free_port()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

fn redis_server_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("install redis-server (apt-get install redis-server)"))
}

/// Starts redis-server on `port` and waits until it answers; on failure the process
/// is reaped and the reason returned.
fn spawn(binary: &PathBuf, port: u16) -> Result<Child, String> {
    let mut child = Command::new(binary)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        // SAVE writes outside the working directory, to a file of our own.
        .args(["--dir", &std::env::temp_dir().to_string_lossy()])
        .args([
            "--dbfilename",
            &dump_file(port)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(format!("redis-server on port {port} exited: {status}"));
            }
            Ok(None) => {}
            Err(error) => {
                kill_and_reap(&mut child);
                return Err(format!("cannot watch redis-server: {error}"));
            }
        }
        if answers_as(port, child.id()) {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            kill_and_reap(&mut child);
            return Err(format!("redis-server on port {port} did not answer"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// True when the server on `port` is the process `pid` and answers: PING
/// alone could be answered by another test's server that took the port.
fn answers_as(port: u16, pid: u32) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(200)) else {
        return false;
    };
    let timeout = Some(Duration::from_millis(500));
    if stream.set_read_timeout(timeout).is_err() || stream.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    let wanted = format!("process_id:{pid}\r\n");
    while let Ok(read) = stream.read(&mut chunk) {
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&reply);
        if text.contains(&wanted) {
            return true;
        }
        if text.contains("process_id:") && text.contains("\r\nrun_id:") {
            return false;
        }
    }
    false
}

fn kill_and_reap(child: &mut Child) {
    // Already exited is fine: the wait below reaps it either way.
    if let Err(error) = child.kill() {
        tracing::debug!(%error, "redis-server already gone");
    }
    if let Err(error) = child.wait() {
        tracing::warn!(%error, "cannot reap redis-server");
    }
}

/// How long any one expected observation may take to arrive.
const WAIT: Duration = Duration::from_secs(10);

/// A running Redis source and what it has sent; aborts the source on drop.
pub struct Watch {
    observations: mpsc::Receiver<Received>,
    task: JoinHandle<()>,
}

impl Watch {
    pub fn start(url: String, resync: Duration) -> Self {
        Self::start_with_room(url, resync, 1024)
    }

    /// With room for only `room` observations between the source and the
    /// test: a test that does not read makes the source fall behind.
    pub fn start_with_room(url: String, resync: Duration, room: usize) -> Self {
        Self::start_with_backlog(
            url,
            resync,
            room,
            evaltop::sources::redis::DEFAULT_BACKLOG_BYTES,
        )
    }

    /// As `start_with_room`, and the source holds at most `backlog_bytes`
    /// of messages read and not handed on before it stops reading.
    pub fn start_with_backlog(
        url: String,
        resync: Duration,
        room: usize,
        backlog_bytes: usize,
    ) -> Self {
        let (sink, observations) = mpsc::channel(room);
        let config = RedisConfig {
            url,
            resync,
            liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
            names: Names::default(),
            backlog_bytes,
        };
        Watch {
            observations,
            task: tokio::spawn(run(config, sink)),
        }
    }

    /// The next observation that `wanted` accepts, skipping others; panics
    /// with what was seen when none comes within `WAIT`.
    pub async fn expect(
        &mut self,
        what: &str,
        mut wanted: impl FnMut(&Observation) -> bool,
    ) -> Observation {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut skipped = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, self.observations.recv()).await {
                Ok(Some(received)) if wanted(&received.observation) => return received.observation,
                Ok(Some(received)) => skipped.push(received.observation),
                Ok(None) => panic!("source stopped while waiting for {what}; saw {skipped:#?}"),
                Err(_) => panic!("no {what} within {WAIT:?}; saw {skipped:#?}"),
            }
        }
    }

    /// Waits until the source is up and has sent its first key snapshot.
    pub async fn synced(&mut self) -> RedisSnapshot {
        self.expect("SourceUp", is_up).await;
        match self.expect("a key snapshot", is_keys).await {
            Observation::RedisKeys(snapshot) => snapshot,
            _ => unreachable!(),
        }
    }

    /// Closes the sink and waits (within `WAIT`) for the source to return.
    pub async fn close(mut self) {
        let (_, closed) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.observations, closed));
        tokio::time::timeout(WAIT, &mut self.task)
            .await
            .expect("run returned after the sink closed")
            .expect("run did not panic");
    }

    /// The next observation, whatever it is.
    pub async fn next(&mut self) -> Observation {
        self.expect("any observation", |_| true).await
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn is_up(observation: &Observation) -> bool {
    matches!(
        observation,
        Observation::SourceUp {
            source: Source::Redis,
            ..
        }
    )
}

pub fn is_down(observation: &Observation) -> bool {
    matches!(
        observation,
        Observation::SourceDown {
            source: Source::Redis,
            ..
        }
    )
}

pub fn is_unanswered(observation: &Observation) -> bool {
    matches!(
        observation,
        Observation::SourceUnanswered {
            source: Source::Redis,
            ..
        }
    )
}

pub fn is_keys(observation: &Observation) -> bool {
    matches!(observation, Observation::RedisKeys(_))
}

pub fn down_reason(observation: Observation) -> String {
    match observation {
        Observation::SourceDown { reason, .. } | Observation::SourceUnanswered { reason, .. } => {
            reason
        }
        other => panic!("not a SourceDown or SourceUnanswered: {other:?}"),
    }
}

/// An id no other test uses.
pub fn eval_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("eval_20250706_005515_{nanos:08x}_{tag}")
}
