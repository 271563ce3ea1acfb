//! The program's top: starts the sources, owns the state, and runs either
//! the TUI loop or the headless check.

pub mod check;
pub mod feed;
pub mod logging;
pub mod tui;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cli::SourceArgs;
use crate::config::Config;
use crate::model::Settings;
use crate::sources::{Received, docker, redis};

/// Room for bursts between two drains of the app loop. When the loop falls
/// behind, sources wait; Redis may then drop the subscriber, which the Redis
/// source reports as a blind window rather than losing messages silently.
const OBSERVATION_QUEUE: usize = 16_384;

/// The grace and resync in force: the flag (or its variable), else the
/// config file, else 30 s.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);
const DEFAULT_RESYNC: Duration = Duration::from_secs(30);

pub fn grace(args: &SourceArgs, config: &Config) -> Duration {
    args.grace.or(config.grace).unwrap_or(DEFAULT_GRACE)
}

pub fn resync(args: &SourceArgs, config: &Config) -> Duration {
    args.resync.or(config.resync).unwrap_or(DEFAULT_RESYNC)
}

/// Model settings from the command line and the config file.
pub fn settings(args: &SourceArgs, config: &Config) -> Settings {
    Settings {
        grace_ms: millis(grace(args, config)),
        executors: args.executors.clone(),
        ..Settings::default()
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The running sources; they stop when this is dropped.
pub struct Sources {
    pub observations: mpsc::Receiver<Received>,
    tasks: Vec<JoinHandle<()>>,
}

impl Sources {
    /// Starts the Docker and Redis sources.
    pub fn start(args: &SourceArgs, config: &Config) -> Self {
        let names = &config.names;
        let (sink, observations) = mpsc::channel(OBSERVATION_QUEUE);
        let docker_config = docker::DockerConfig {
            host: args.docker.clone(),
            executors: args.executors.clone(),
            resync: resync(args, config),
            names: names.clone(),
        };
        let redis_config = redis::RedisConfig {
            url: args.redis.clone(),
            resync: resync(args, config),
            names: names.clone(),
        };
        let tasks = vec![
            tokio::spawn(docker::run(docker_config, sink.clone())),
            tokio::spawn(redis::run(redis_config, sink)),
        ];
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
