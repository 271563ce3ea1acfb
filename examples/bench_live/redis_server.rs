//! A redis-server of the driver's own, on the first free port of its range,
//! without persistence, with the pub/sub output buffer limit stated rather
//! than left to the distribution's config; killed on drop. Also what the
//! figures read from it: the clients it dropped and the pub/sub clients.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail};
use redis::aio::MultiplexedConnection;

use crate::cleanup;

/// The ports this driver may use (its share of the machine's).
const PORTS: std::ops::RangeInclusive<u16> = 6540..=6559;
const READY_WITHIN: Duration = Duration::from_secs(10);
/// Redis's default: a pub/sub client past 32 MB, or past 8 MB for 60 s, is
/// dropped. Stated so that the flood figure means the same everywhere.
pub const PUBSUB_LIMIT: &str = "pubsub 32mb 8mb 60";
/// No limit: every subscriber gets every message, however far behind.
pub const PUBSUB_UNLIMITED: &str = "pubsub 0 0 0";

pub struct RedisServer {
    port: u16,
    child: Child,
    /// Where the server logs: the only record of dropped clients that
    /// Redis 7.0 keeps (INFO's counter came with 7.2).
    log: PathBuf,
}

impl RedisServer {
    pub fn start() -> Result<RedisServer> {
        Self::start_with(PUBSUB_LIMIT)
    }

    /// With `pubsub_limit` as the pub/sub client-output-buffer-limit.
    pub fn start_with(pubsub_limit: &str) -> Result<RedisServer> {
        for port in PORTS {
            // Free now; another process could take it before redis binds,
            // which the answer check below catches.
            if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
                continue;
            }
            let log = std::env::temp_dir().join(format!("drv-redis-{port}.log"));
            // A log of an earlier server on this port would be counted.
            let _ = std::fs::remove_file(&log);
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .args(["--dir", &std::env::temp_dir().to_string_lossy()])
                .args(["--client-output-buffer-limit", pubsub_limit])
                .arg("--logfile")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .wrap_err("cannot run redis-server (apt-get install redis-server)")?;
            cleanup::pid(child.id());
            let mut server = RedisServer { port, child, log };
            if server.ready()? {
                return Ok(server);
            }
        }
        bail!("no port of {PORTS:?} could serve a redis-server")
    }

    /// Waits until the server on the port is this child and answers.
    fn ready(&mut self) -> Result<bool> {
        let deadline = Instant::now() + READY_WITHIN;
        let wanted = format!("process_id:{}", self.child.id());
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                eprintln!("redis-server on {} exited at start: {status}", self.port);
                return Ok(false);
            }
            let info = Command::new("redis-cli")
                .args(["-p", &self.port.to_string(), "INFO", "server"])
                .output();
            if let Ok(out) = info
                && String::from_utf8_lossy(&out.stdout).contains(&wanted)
            {
                return Ok(true);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "redis-server on port {} did not answer within {READY_WITHIN:?}",
            self.port
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn connection(&self) -> Result<MultiplexedConnection> {
        // Big pipelines (10,000 keys) take longer than the client's
        // default 500 ms on a busy machine.
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(60)));
        redis::Client::open(self.url())?
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .wrap_err_with(|| format!("cannot connect to {}", self.url()))
    }

    /// The clients Redis has dropped for passing an output buffer limit
    /// since it started, from its log: how many patterns each had
    /// subscribed to (evaltop has 2, `redis-cli psubscribe` 1).
    pub async fn dropped_clients(&self) -> Result<Vec<u32>> {
        let log = tokio::fs::read_to_string(&self.log)
            .await
            .wrap_err_with(|| format!("cannot read {}", self.log.display()))?;
        Ok(log
            .lines()
            .filter(|line| line.contains("overcoming of output buffer limits"))
            .map(|line| {
                line.split_whitespace()
                    .find_map(|pair| pair.strip_prefix("psub="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .collect())
    }

    /// How many subscribers of `patterns` patterns Redis has dropped.
    pub async fn dropped(&self, patterns: u32) -> Result<usize> {
        Ok(self
            .dropped_clients()
            .await?
            .into_iter()
            .filter(|p| *p == patterns)
            .count())
    }

    /// The clients subscribed to patterns, from CLIENT LIST.
    pub async fn pattern_subscribers(&self) -> Result<Vec<Subscriber>> {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query_async(&mut self.connection().await?)
            .await?;
        Ok(subscribers(&list))
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Already exited is fine: the wait reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
        cleanup::forget_pid(self.child.id());
        let _ = std::fs::remove_file(&self.log);
    }
}

/// The pattern-subscribed clients of a CLIENT LIST reply.
pub fn subscribers(list: &str) -> Vec<Subscriber> {
    list.lines().filter_map(Subscriber::parse).collect()
}

/// One pattern-subscribed client of CLIENT LIST.
#[derive(Clone, Debug)]
pub struct Subscriber {
    pub id: u64,
    /// Patterns it is subscribed to: evaltop has 2, `redis-cli psubscribe` 1.
    pub patterns: u32,
    /// Its output buffer, in bytes: what Redis holds for it unread.
    pub output_bytes: u64,
}

impl Subscriber {
    fn parse(line: &str) -> Option<Subscriber> {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let patterns: u32 = field("psub")?.parse().ok()?;
        (patterns > 0).then_some(Subscriber {
            id: field("id")?.parse().ok()?,
            patterns,
            output_bytes: field("omem").and_then(|v| v.parse().ok()).unwrap_or(0),
        })
    }
}
