//! evaltop's sources and model running in the test process against the
//! test's redis-server and the real Docker engine: the same path as the
//! binary's, with the state open to the test's assertions.

use std::time::Duration;

use evaltop::model::{EngineName, Flag, FlagKind, HealthContext, State, Ts, assess};
use evaltop::names::Names;
use evaltop::sources::{Received, docker, redis};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How long the sources may take for their first full read.
const SYNC_WITHIN: Duration = Duration::from_secs(20);
/// How often flags are re-assessed while waiting, when nothing arrives.
const REASSESS_EVERY: Duration = Duration::from_millis(50);

pub struct Evaltop {
    pub state: State,
    observations: mpsc::Receiver<Received>,
    tasks: Vec<JoinHandle<()>>,
}

impl Evaltop {
    /// Starts both sources with the given grace and waits until each has
    /// done its first full read.
    pub async fn start(redis_url: &str, grace: Duration) -> Evaltop {
        Self::start_fleet(redis_url, grace, &[("local", None)], &[]).await
    }

    /// The same, with the Docker source on `docker_host` (`None`: the local
    /// engine) and both sources re-reading every `resync`.
    pub async fn start_with(
        redis_url: &str,
        docker_host: Option<String>,
        resync: Duration,
        grace: Duration,
    ) -> Evaltop {
        let host = docker_host.as_deref();
        Self::start_engines(redis_url, resync, grace, &[("local", host)], &[]).await
    }

    /// Starts one Docker source per engine (`(name, url)`; `None`: the
    /// machine's), scoped to `executors` (empty: all), and Redis; waits
    /// until every engine and Redis have done their first full read.
    pub async fn start_fleet(
        redis_url: &str,
        grace: Duration,
        engines: &[(&str, Option<&str>)],
        executors: &[&str],
    ) -> Evaltop {
        Self::start_engines(
            redis_url,
            Duration::from_secs(30),
            grace,
            engines,
            executors,
        )
        .await
    }

    async fn start_engines(
        redis_url: &str,
        resync: Duration,
        grace: Duration,
        engines: &[(&str, Option<&str>)],
        executors: &[&str],
    ) -> Evaltop {
        let names = Names::default();
        let (sink, observations) = mpsc::channel(16_384);
        let executors: Vec<String> = executors.iter().map(|e| e.to_string()).collect();
        let mut tasks = Vec::new();
        for (name, url) in engines {
            tasks.push(tokio::spawn(docker::run(
                docker::DockerConfig {
                    engine: EngineName::new(name),
                    host: url.map(str::to_string),
                    executors: executors.clone(),
                    resync,
                    liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                    names: names.clone(),
                },
                sink.clone(),
            )));
        }
        tasks.push(tokio::spawn(redis::run(
            redis::RedisConfig {
                url: redis_url.to_string(),
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names,
                backlog_bytes: redis::DEFAULT_BACKLOG_BYTES,
            },
            sink,
        )));
        let settings = evaltop::model::Settings {
            grace_ms: grace.as_millis() as i64,
            executors,
            ..Default::default()
        };
        let mut state = State::new(settings);
        for (name, _) in engines {
            state.add_engine(EngineName::new(name));
        }
        let mut evaltop = Evaltop {
            state,
            observations,
            tasks,
        };
        evaltop
            .pump_until("every source synced", SYNC_WITHIN, |state| {
                state.engines_synced() && state.redis.synced()
            })
            .await;
        evaltop
    }

    /// Applies observations until `done` holds for the state, or panics
    /// after `within` with what is known.
    pub async fn pump_until(
        &mut self,
        what: &str,
        within: Duration,
        mut done: impl FnMut(&State) -> bool,
    ) {
        let deadline = Instant::now() + within;
        loop {
            if done(&self.state) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "not reached within {within:?}: {what}\ndocker: {:?}\nredis: {:?}\nrejected: {}",
                    self.state.engines, self.state.redis, self.state.rejected.total
                );
            }
            self.pump_for(REASSESS_EVERY).await;
        }
    }

    /// Applies whatever arrives during `duration`.
    pub async fn pump_for(&mut self, duration: Duration) {
        self.pump_checking(duration, |_| {}).await;
    }

    /// Applies whatever arrives during `duration`, calling `invariant` on
    /// the state after each observation and at least every 50 ms.
    pub async fn pump_checking(&mut self, duration: Duration, mut invariant: impl FnMut(&State)) {
        let until = Instant::now() + duration;
        invariant(&self.state);
        loop {
            let step = (Instant::now() + REASSESS_EVERY).min(until);
            match tokio::time::timeout_at(step, self.observations.recv()).await {
                Ok(Some(received)) => self.state.apply(received.observation, received.at),
                Ok(None) => panic!("the sources stopped"),
                Err(_) if Instant::now() >= until => break,
                Err(_) => {}
            }
            invariant(&self.state);
        }
    }

    /// Like `pump_until`, checking `invariant` after every observation.
    pub async fn pump_until_checking(
        &mut self,
        what: &str,
        within: Duration,
        mut done: impl FnMut(&State) -> bool,
        mut invariant: impl FnMut(&State),
    ) {
        let deadline = Instant::now() + within;
        loop {
            invariant(&self.state);
            if done(&self.state) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "not reached within {within:?}: {what}\ndocker: {:?}\nredis: {:?}",
                    self.state.engines, self.state.redis
                );
            }
            match tokio::time::timeout(REASSESS_EVERY, self.observations.recv()).await {
                Ok(Some(received)) => self.state.apply(received.observation, received.at),
                Ok(None) => panic!("the sources stopped"),
                Err(_) => {}
            }
        }
    }

    /// What `evaltop check --json` would print for the state now.
    pub fn report(&self) -> serde_json::Value {
        let report = evaltop::app::check::Report::of(&self.state, &[], Ts::now());
        serde_json::to_value(&report).expect("the report serialises")
    }

    /// Waits until `eval_id` carries a flag of `kind`; returns it.
    pub async fn wait_flag(&mut self, eval_id: &str, kind: FlagKind, within: Duration) -> Flag {
        self.pump_until(
            &format!("{eval_id} flagged {}", kind.name()),
            within,
            |state| flags_of(state, eval_id).iter().any(|f| f.kind() == kind),
        )
        .await;
        self.flags(eval_id)
            .into_iter()
            .find(|f| f.kind() == kind)
            .expect("found above")
    }

    /// The flags of `eval_id` now (none for an unknown id).
    pub fn flags(&self, eval_id: &str) -> Vec<Flag> {
        flags_of(&self.state, eval_id)
    }
}

pub fn flags_of(state: &State, eval_id: &str) -> Vec<Flag> {
    let ctx = HealthContext::of(state, Ts::now());
    state
        .evals
        .get(eval_id)
        .map(|record| assess(record, &ctx))
        .unwrap_or_default()
}

impl Drop for Evaltop {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
