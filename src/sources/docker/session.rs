//! One connected session: checkpoint on the daemon's clock, list, stream
//! events from the checkpoint, relist on a timer; and the inspections and
//! log captures that the list and the events start, each in its own task so
//! that a slow read never holds up the stream.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bollard::Docker;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures::StreamExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tracing::Instrument;

use super::facts::{self, Scope};
use super::stream_check::{Missed, StreamCheck};
use super::{DockerConfig, DockerError, EngineSink, capture_logs, send};
use crate::model::{
    ContainerAction, ContainerFacts, ContainerState, EngineName, Observation, ReadProgress, Source,
    Ts, short_container_id,
};
use crate::names::Names;
use crate::sources::liveness::{self, Liveness, Verdict};

/// Captures started by the list of what ended while nobody watched: at a
/// crash-only start there may be hundreds, and the engine also serves the
/// platform.
const BACKLOG_CAPTURES: usize = 4;
/// Captures started by `die` events: they race the executor's removal, so
/// they get their own, larger allowance.
const DIE_CAPTURES: usize = 16;
/// The shortest relist period accepted, whatever the configuration says.
const MIN_RESYNC: std::time::Duration = std::time::Duration::from_secs(1);

/// When the engine's clock cannot be read, the stream starts this much
/// before the local "now", to cover a skew between the two clocks.
const LOCAL_CLOCK_MARGIN_MS: i64 = 30_000;

/// How a session ended.
pub(crate) enum End {
    SinkClosed,
    Lost(DockerError),
    /// The engine stopped answering (a ping or a request past its deadline).
    Unanswered(DockerError),
}

/// What the source remembers across sessions.
pub(crate) struct Memory {
    /// Daemon time of the last event seen: the next stream starts there.
    last_event_nanos: Option<i64>,
    /// Ended containers whose inspect and logs have been read (or are being
    /// read), so that each relist does not read them again. Pruned to what
    /// the last list held.
    captured: HashSet<String>,
    /// Captures that failed (not 404) report their container here, to be
    /// tried again at the next list.
    retry_tx: mpsc::UnboundedSender<String>,
    retry_rx: mpsc::UnboundedReceiver<String>,
    backlog: Arc<Semaphore>,
    urgent: Arc<Semaphore>,
}

impl Default for Memory {
    fn default() -> Self {
        let (retry_tx, retry_rx) = mpsc::unbounded_channel();
        Memory {
            last_event_nanos: None,
            captured: HashSet::new(),
            retry_tx,
            retry_rx,
            backlog: Arc::new(Semaphore::new(BACKLOG_CAPTURES)),
            urgent: Arc::new(Semaphore::new(DIE_CAPTURES)),
        }
    }
}

/// Inspect → `ContainerFacts` (`inspected: true`). 404 gives `NotFound`.
pub async fn inspect(
    docker: &Docker,
    names: &Names,
    container_id: &str,
) -> Result<ContainerFacts, DockerError> {
    let response = docker
        .inspect_container(container_id, None)
        .await
        .map_err(|e| DockerError::from_bollard("inspect the container", e))?;
    facts::from_inspect(names, &response).ok_or_else(|| DockerError::Request {
        action: "inspect the container".to_string(),
        detail: "the answer named no container".to_string(),
    })
}

struct Session<'a> {
    docker: &'a Docker,
    names: &'a Names,
    scope: Scope,
    sink: &'a EngineSink,
    memory: &'a mut Memory,
    liveness: Liveness<bollard::errors::Error>,
    check: StreamCheck,
    /// How long the stream may lag behind a list before it is suspect.
    settle: std::time::Duration,
}

/// Checkpoint, list, then stream and relist until something fails.
pub(crate) async fn run_session(
    docker: &Docker,
    config: &DockerConfig,
    sink: &EngineSink,
    memory: &mut Memory,
) -> End {
    let mut session = Session {
        docker,
        names: &config.names,
        scope: Scope::new(&config.executors),
        sink,
        memory,
        liveness: pings(docker, config.liveness),
        check: StreamCheck::default(),
        settle: 2 * liveness::deadline(config.liveness),
    };
    // The checkpoint comes before the list, so that whatever changes
    // between the list and the stream's start is replayed by the stream.
    // The engine's description is read beside it: one round trip less
    // before the list.
    let both = async { tokio::join!(super::describe_engine(docker), checkpoint(docker)) };
    let (detail, checkpoint) = match session.probing(both).await {
        Ok((detail, Ok(nanos))) => (detail, nanos),
        Ok((_, Err(err))) => return End::Lost(err),
        Err(end) => return end,
    };
    tracing::info!(%detail, "connected to Docker");
    let up = Observation::SourceUp {
        source: Source::Docker(config.engine.clone()),
        detail,
    };
    if !send(sink, up).await {
        return End::SinkClosed;
    }
    // The list comes back in one piece, after a while at 1,000 containers:
    // the header says what it waits for.
    let listing = Observation::SourceProgress {
        source: Source::Docker(EngineName::default()),
        progress: ReadProgress::Listing,
    };
    if !send(sink, listing).await {
        return End::SinkClosed;
    }
    if let Err(end) = session.relist().await {
        return end;
    }
    // Kept even when no event comes: a stream that dies quietly must be
    // replayed from where this one began, not from the next checkpoint.
    let since = *session.memory.last_event_nanos.get_or_insert(checkpoint);
    let filters = HashMap::from([
        ("type", vec!["container".to_string()]),
        ("label", session.scope.label_filters(session.names)),
    ]);
    let options = EventsOptionsBuilder::default()
        .since(&facts::since_arg(since))
        .filters(&filters)
        .build();
    let mut events = docker.events(Some(options));
    let period = config.resync.max(MIN_RESYNC);
    let mut resync = tokio::time::interval_at(Instant::now() + period, period);
    resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tracing::debug!(since = %facts::since_arg(since), "streaming Docker events");
    loop {
        let stream_due = session.check.due();
        tokio::select! {
            () = sink.closed() => return End::SinkClosed,
            next = events.next() => match next {
                None => return End::Lost(DockerError::StreamEnded),
                Some(Err(err)) => return End::Lost(DockerError::from_bollard("stream events", err)),
                Some(Ok(message)) => {
                    if !session.on_event(&message).await {
                        return End::SinkClosed;
                    }
                }
            },
            _ = resync.tick() => {
                if let Err(end) = session.relist().await {
                    return end;
                }
            }
            verdict = session.liveness.next() => {
                if let Err(end) = session.on_verdict(verdict).await {
                    return end;
                }
            }
            () = sleep_until(stream_due.unwrap_or_else(Instant::now)), if stream_due.is_some() => {
                if let Some(missed) = session.check.missed(Instant::now()) {
                    return session.stream_missed(missed).await;
                }
            }
        }
    }
}

/// `/_ping` on the liveness clock.
fn pings(docker: &Docker, period: std::time::Duration) -> Liveness<bollard::errors::Error> {
    let docker = docker.clone();
    Liveness::new(period, move || {
        let docker = docker.clone();
        async move { docker.ping().await.map(drop) }
    })
}

/// The daemon's clock, in nanoseconds: events carry its times, so the
/// stream must start from its "now", not ours.
async fn checkpoint(docker: &Docker) -> Result<i64, DockerError> {
    use bollard::errors::Error as E;
    let system_time = match docker.info().await {
        Ok(info) => info.system_time,
        // An engine whose /info bollard cannot decode (a field of a newer
        // or older shape) still streams events: fall back rather than
        // reconnect forever.
        Err(err @ (E::JsonDataError { .. } | E::JsonSerdeError { .. })) => {
            tracing::warn!(error = %err, "engine info unreadable");
            None
        }
        Err(err) => return Err(DockerError::from_bollard("read the engine's clock", err)),
    };
    match system_time.as_deref().and_then(facts::daemon_nanos) {
        Some(nanos) => Ok(nanos),
        None => {
            tracing::warn!(
                ?system_time,
                "engine clock unreadable; using the local clock"
            );
            // Start early: replayed events are harmless duplicates, events
            // lost to clock skew are not.
            let local = Ts::now().plus_millis(-LOCAL_CLOCK_MARGIN_MS);
            Ok(local.millis().saturating_mul(1_000_000))
        }
    }
}

impl Session<'_> {
    /// Awaits `future` while the engine is pinged, so that a frozen engine
    /// is noticed even while a request to it hangs.
    async fn probing<T>(&mut self, future: impl Future<Output = T>) -> Result<T, End> {
        tokio::pin!(future);
        loop {
            tokio::select! {
                out = &mut future => return Ok(out),
                verdict = self.liveness.next() => self.on_verdict(verdict).await?,
            }
        }
    }

    async fn on_verdict(&mut self, verdict: Verdict<bollard::errors::Error>) -> Result<(), End> {
        match verdict {
            Verdict::Live(probed_at) => {
                let live = Observation::SourceLive {
                    // Named by the engine's sink.
                    source: Source::Docker(EngineName::default()),
                    probed_at,
                };
                if send(self.sink, live).await {
                    Ok(())
                } else {
                    Err(End::SinkClosed)
                }
            }
            Verdict::NoAnswer(after) => Err(End::Unanswered(DockerError::NoAnswer {
                what: "/_ping".to_string(),
                after,
            })),
            Verdict::Failed(err) => {
                Err(End::Lost(DockerError::from_bollard("ping the engine", err)))
            }
        }
    }

    /// The stream fell behind the lists: say so, then end the session so
    /// that the stream starts again from its checkpoint, after a new list.
    async fn stream_missed(&mut self, missed: Missed) -> End {
        tracing::warn!(missed = missed.missed, example = %missed.example, "Docker event stream missed changes");
        let error = DockerError::StreamMissed {
            missed: missed.missed,
            example: missed.example.clone(),
        };
        let observation = Observation::DockerStreamMissed {
            engine: EngineName::default(),
            missed: missed.missed,
            example: missed.example,
            consistent_at: missed.consistent_at,
        };
        if send(self.sink, observation).await {
            End::Lost(error)
        } else {
            End::SinkClosed
        }
    }

    /// Lists every evaluation container, sends the list, then starts the
    /// reads of ended containers not read yet: a crash-only start must find
    /// the evidence that no event will bring again.
    async fn relist(&mut self) -> Result<(), End> {
        while let Ok(id) = self.memory.retry_rx.try_recv() {
            self.memory.captured.remove(&id);
        }
        let filters = HashMap::from([("label", self.scope.label_filters(self.names))]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let requested_at = Ts::now();
        let docker = self.docker;
        let summaries = self
            .probing(docker.list_containers(Some(options)))
            .await?
            .map_err(|e| End::Lost(DockerError::from_bollard("list containers", e)))?;
        let containers: Vec<ContainerFacts> = summaries
            .iter()
            .filter_map(|s| facts::from_summary(self.names, s))
            .filter(|f| self.scope.accepts(f.executor.as_deref()))
            .collect();
        self.check.on_list(
            containers
                .iter()
                .map(|c| (c.container_id.as_str(), c.state)),
            requested_at,
            Instant::now(),
            self.settle,
        );
        let listed: HashSet<&str> = containers.iter().map(|c| c.container_id.as_str()).collect();
        self.memory
            .captured
            .retain(|id| listed.contains(id.as_str()));
        let unread: Vec<(String, String)> = containers
            .iter()
            .filter(|c| matches!(c.state, Some(ContainerState::Exited | ContainerState::Dead)))
            .filter(|c| !self.memory.captured.contains(&c.container_id))
            .map(|c| (c.container_id.clone(), c.eval_id.clone()))
            .collect();
        tracing::debug!(
            containers = containers.len(),
            unread = unread.len(),
            "listed Docker containers"
        );
        if !send(
            self.sink,
            Observation::DockerList {
                engine: EngineName::default(),
                containers,
                requested_at,
            },
        )
        .await
        {
            return Err(End::SinkClosed);
        }
        for (container_id, eval_id) in unread {
            self.memory.captured.insert(container_id.clone());
            let permits = self.memory.backlog.clone();
            self.spawn_capture(container_id, eval_id, permits, true);
        }
        Ok(())
    }

    /// Sends one event and starts what it calls for; false when the sink
    /// has closed.
    async fn on_event(&mut self, message: &bollard::models::EventMessage) -> bool {
        if let Some(nanos) = facts::event_nanos(message) {
            let last = self.memory.last_event_nanos.get_or_insert(nanos);
            *last = (*last).max(nanos);
        }
        let Some(event) = facts::from_event(self.names, &self.scope, message) else {
            return true;
        };
        self.check
            .on_event(&event.container_id, event.action, Ts::now());
        let (container_id, eval_id) = (event.container_id.clone(), event.eval_id.clone());
        tracing::debug!(%eval_id, container_id = short_container_id(&container_id), action = event.action.name(), "Docker event");
        // Started before the event is sent: the executor may remove the
        // container within milliseconds, and the sink may be slow.
        match event.action {
            ContainerAction::Die => {
                self.memory.captured.insert(container_id.clone());
                let permits = self.memory.urgent.clone();
                self.spawn_capture(container_id, eval_id, permits, true);
            }
            ContainerAction::Start => {
                let permits = self.memory.urgent.clone();
                self.spawn_capture(container_id, eval_id, permits, false);
            }
            ContainerAction::Destroy => {
                self.memory.captured.remove(&container_id);
            }
            _ => {}
        }
        send(self.sink, Observation::DockerEvent(event)).await
    }

    /// Inspects a container (and reads its logs when `with_logs`) in its own
    /// task, sending what it finds; a 404 is sent as `DockerGone`.
    fn spawn_capture(
        &self,
        container_id: String,
        eval_id: String,
        permits: Arc<Semaphore>,
        with_logs: bool,
    ) {
        let capture = Capture {
            docker: self.docker.clone(),
            names: self.names.clone(),
            sink: self.sink.clone(),
            retry: self.memory.retry_tx.clone(),
            container_id,
            eval_id,
        };
        let span = tracing::info_span!(
            "docker_capture",
            eval_id = %capture.eval_id,
            container_id = %short_container_id(&capture.container_id),
        );
        tokio::spawn(
            async move {
                // The semaphore is never closed, so acquiring cannot fail;
                // should it ever, reading without a permit is still right.
                let _permit = permits.acquire_owned().await;
                capture.run(with_logs).await;
            }
            .instrument(span),
        );
    }
}

/// One container's inspect and logs, read in a task of their own.
struct Capture {
    docker: Docker,
    names: Names,
    sink: EngineSink,
    retry: mpsc::UnboundedSender<String>,
    container_id: String,
    eval_id: String,
}

impl Capture {
    async fn run(self, with_logs: bool) {
        let id = self.container_id.as_str();
        // Both at once: the log read must not wait for the inspect while
        // the executor is about to remove the container.
        let (facts, logs) = if with_logs {
            let (facts, logs) = tokio::join!(
                inspect(&self.docker, &self.names, id),
                capture_logs(&self.docker, id)
            );
            (facts, Some(logs))
        } else {
            (inspect(&self.docker, &self.names, id).await, None)
        };
        let mut gone = false;
        let mut failed = false;
        let mut out = Vec::new();
        match facts {
            Ok(mut facts) => {
                if facts.eval_id.is_empty() {
                    facts.eval_id.clone_from(&self.eval_id);
                }
                out.push(Observation::DockerInspect(facts));
            }
            Err(DockerError::NotFound) => gone = true,
            Err(err) => {
                tracing::warn!(error = %err, "inspect failed");
                failed = true;
            }
        }
        match logs {
            None => {}
            Some(Ok(logs)) => out.push(Observation::DockerLogs {
                engine: EngineName::default(),
                container_id: self.container_id.clone(),
                eval_id: self.eval_id.clone(),
                logs,
            }),
            Some(Err(DockerError::NotFound)) => gone = true,
            // 409: the container is being removed or is dead; its logs are
            // lost, and trying again will not bring them back.
            Some(Err(err @ DockerError::Refused { .. })) => {
                tracing::info!(error = %err, "logs unavailable");
            }
            Some(Err(err)) => {
                tracing::warn!(error = %err, "log read failed");
                failed = true;
            }
        }
        if gone {
            out.push(Observation::DockerGone {
                engine: EngineName::default(),
                container_id: self.container_id.clone(),
                eval_id: self.eval_id.clone(),
            });
        } else if failed && with_logs {
            // The main loop may have stopped (sink closed); then there is
            // nobody left to retry, which is fine.
            if self.retry.send(self.container_id.clone()).is_err() {
                tracing::debug!("no source left to retry the capture");
            }
        }
        for observation in out {
            if !send(&self.sink, observation).await {
                return;
            }
        }
    }
}
