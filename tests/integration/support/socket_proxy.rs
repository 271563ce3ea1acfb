//! A unix-socket front for the local Docker engine, run by socat in a
//! process group of its own, that a test can freeze (SIGSTOP on the whole
//! group: the listener and every connection it forked) and thaw: the
//! engine behind it stays up, but nothing answers, and no connection is
//! closed, like a hung proxy.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SocketProxy {
    path: PathBuf,
    child: Child,
}

impl SocketProxy {
    /// Listens on a fresh socket file, forwarding to the engine's socket
    /// (`DOCKER_HOST` when it is a unix socket, else the default one).
    pub fn start() -> SocketProxy {
        let engine = match std::env::var("DOCKER_HOST") {
            Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
            Ok(host) if !host.is_empty() => {
                panic!("SocketProxy needs a unix socket, DOCKER_HOST is {host}")
            }
            _ => PathBuf::from("/var/run/docker.sock"),
        };
        let path = std::env::temp_dir().join(format!(
            "evaltop-proxy-{}-{}.sock",
            std::process::id(),
            super::docker::random_hex()
        ));
        let child = Command::new("socat")
            .arg(format!("UNIX-LISTEN:{},fork,unlink-early", path.display()))
            .arg(format!("UNIX-CONNECT:{}", engine.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group, so that one signal reaches every fork.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run socat (apt-get install socat): {e}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "socat did not listen on {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        SocketProxy { path, child }
    }

    /// `unix:///path`, for the source's host.
    pub fn address(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Stops the proxy and every connection it serves (SIGSTOP).
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets it run again (SIGCONT).
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let status = Command::new("kill")
            .args([signal, "--", &group])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} socat's group: {status}");
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        // SIGKILL ends stopped processes too; the whole group, forks and all.
        let group = format!("-{}", self.child.id());
        if let Err(e) = Command::new("kill").args(["-KILL", "--", &group]).status() {
            eprintln!("cannot signal socat's group: {e}");
        }
        if let Err(e) = self.child.wait() {
            eprintln!("cannot reap socat: {e}");
        }
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("cannot remove {}: {e}", self.path.display());
        }
    }
}
