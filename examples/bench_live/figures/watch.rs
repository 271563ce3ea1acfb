//! CLIENT LIST read every 200 ms during a flood: what Redis holds unsent
//! for each pattern subscriber (its output buffer: the backlog a subscriber
//! cannot see in its own queue), and whether its connection changed (a
//! reconnect).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use color_eyre::eyre::Result;
use tokio::task::JoinHandle;

use crate::redis_server::{RedisServer, subscribers};

const EVERY: Duration = Duration::from_millis(200);

/// Per number of patterns subscribed (evaltop 2, redis-cli 1).
#[derive(Default)]
pub struct Watched {
    connections: BTreeMap<u32, BTreeSet<u64>>,
    peak_output: BTreeMap<u32, u64>,
}

impl Watched {
    /// How many connections the subscriber of `patterns` had.
    pub fn connections(&self, patterns: u32) -> usize {
        self.connections.get(&patterns).map_or(0, BTreeSet::len)
    }

    /// The most Redis held unsent for it at once, in MB.
    pub fn peak_output_mb(&self, patterns: u32) -> f64 {
        self.peak_output.get(&patterns).copied().unwrap_or(0) as f64 / f64::from(1 << 20)
    }
}

pub struct Watcher {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<Watched>>,
}

impl Watcher {
    pub async fn start(redis: &RedisServer) -> Result<Watcher> {
        let mut conn = redis.connection().await?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut watched = Watched::default();
            while !stopped.load(Ordering::Relaxed) {
                let list: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query_async(&mut conn)
                    .await?;
                for subscriber in subscribers(&list) {
                    let patterns = subscriber.patterns;
                    watched
                        .connections
                        .entry(patterns)
                        .or_default()
                        .insert(subscriber.id);
                    let peak = watched.peak_output.entry(patterns).or_default();
                    *peak = (*peak).max(subscriber.output_bytes);
                }
                tokio::time::sleep(EVERY).await;
            }
            Ok(watched)
        });
        Ok(Watcher { stop, task })
    }

    pub async fn stop(self) -> Result<Watched> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await?
    }
}
