//! The program's top: starts the sources, owns the state, and runs either
//! the TUI loop or the headless check.

pub mod check;
pub mod exit;
pub mod feed;
pub mod logging;
pub mod tui;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::options::Options;
use crate::sources::{Received, docker, redis};

/// Room for bursts between two drains of the app loop. When the loop falls
/// behind, sources wait; Redis may then drop the subscriber, which the Redis
/// source reports as a blind window rather than losing messages silently.
const OBSERVATION_QUEUE: usize = 16_384;

/// The running sources; they stop when this is dropped.
pub struct Sources {
    pub observations: mpsc::Receiver<Received>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sources {
    /// Starts one source per Docker engine, and the Redis source.
    pub fn start(options: &Options) -> Self {
        let (args, names) = (&options.sources, &options.names);
        let (sink, observations) = mpsc::channel(OBSERVATION_QUEUE);
        let mut tasks = Vec::new();
        for engine in &options.engines {
            let docker_config = docker::DockerConfig {
                engine: engine.name.clone(),
                host: Some(engine.url.clone()),
                executors: args.executors.clone(),
                resync: options.resync,
                liveness: args.liveness,
                names: names.clone(),
            };
            tasks.push(tokio::spawn(docker::run(docker_config, sink.clone())));
        }
        let redis_config = redis::RedisConfig {
            url: args.redis.clone(),
            resync: options.resync,
            liveness: args.liveness,
            names: names.clone(),
            backlog_bytes: redis::DEFAULT_BACKLOG_BYTES,
        };
        tasks.push(tokio::spawn(redis::run(redis_config, sink)));
        Sources {
            observations,
            tasks,
        }
    }
}

impl Drop for Sources {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
