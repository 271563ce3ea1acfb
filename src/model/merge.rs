//! The merge rules: how each observation changes the state. Pure: no IO and
//! no clock reads; `now` is the time the observation was received.
//!
//! The rules that matter (PROTOCOL.md, ARCHITECTURE.md):
//! - Docker's and Redis's facts are kept apart; neither overwrites the other.
//! - A status only moves forward, and the first terminal status stands.
//! - A container only moves forward (created, running, ended, removed), so a
//!   replayed or stale observation cannot bring back what is gone.
//! - Full reads (a container list, a key scan) are the truth as of when they
//!   were taken: what they do not list is absent.

use std::collections::{HashMap, HashSet};

use super::observation::{
    CapturedLogs, ContainerAction, ContainerEvent, ContainerFacts, ContainerState, EngineName,
    LogMessage, Observation, RedisSnapshot, Source, Status, StatusMessage, StorageMessage,
};
use super::record::{ContainerSide, EvalRecord, Happening, RedisSide, RunningKeyFacts};
use super::state::State;
use super::time::Ts;

/// Forward order of container states.
fn state_rank(state: ContainerState) -> u8 {
    match state {
        ContainerState::Created => 0,
        ContainerState::Running | ContainerState::Paused | ContainerState::Restarting => 1,
        ContainerState::Removing | ContainerState::Exited | ContainerState::Dead => 2,
        ContainerState::Removed => 3,
    }
}

impl State {
    /// Applies one observation received at `now`.
    pub fn apply(&mut self, observation: Observation, now: Ts) {
        self.observations += 1;
        match observation {
            Observation::DockerList {
                engine,
                containers,
                requested_at,
            } => self.apply_docker_list(&engine, containers, requested_at, now),
            Observation::DockerEvent(event) => {
                let health = self.engine_mut(&event.engine);
                health.last_event_at = Some(now);
                health.live(now);
                self.apply_docker_event(event, now);
            }
            Observation::DockerInspect(facts) => self.apply_container_facts(&facts, now, now),
            Observation::DockerGone {
                engine,
                container_id,
                eval_id,
            } => {
                if let Some(record) = self.existing_mut(eval_id.as_str()) {
                    mark_removed(record, &engine, &container_id, now);
                }
            }
            Observation::DockerLogs {
                engine,
                container_id,
                eval_id,
                logs,
            } => self.apply_docker_logs(&eval_id, &engine, &container_id, logs, now),
            Observation::RedisStatus {
                channel_status,
                message,
            } => {
                self.redis.last_event_at = Some(now);
                self.redis.live(now);
                self.apply_status(channel_status, message, now);
            }
            Observation::RedisLog(message) => {
                self.redis.last_event_at = Some(now);
                self.redis.live(now);
                self.apply_log(message, now);
            }
            Observation::RedisStorage(message) => {
                self.redis.last_event_at = Some(now);
                self.redis.live(now);
                self.apply_storage(message, now);
            }
            Observation::RedisKeys(snapshot) => self.apply_redis_keys(snapshot, now),
            Observation::Rejected(rejection) => {
                tracing::warn!(
                    source = rejection.source.name(),
                    channel = %rejection.channel,
                    reason = %rejection.reason,
                    "payload rejected"
                );
                self.rejected.add(now, rejection);
            }
            Observation::SourceUp { source, detail } => {
                if let Some(health) = self.source_mut(&source) {
                    health.went_up(now, detail);
                }
            }
            Observation::SourceDown { source, reason } => {
                if let Some(health) = self.source_mut(&source) {
                    health.went_down(now, reason, false);
                }
            }
            Observation::SourceUnanswered { source, reason } => {
                if let Some(health) = self.source_mut(&source) {
                    health.went_down(now, reason, true);
                }
            }
            Observation::SourceLive { source, probed_at } => {
                if let Some(health) = self.source_mut(&source)
                    && health.connected
                {
                    health.live(probed_at.min(now));
                }
            }
            Observation::SourceLag {
                source,
                waiting,
                oldest_ms,
            } => {
                if let Some(health) = self.source_mut(&source) {
                    health.lag = (waiting > 0 && health.connected)
                        .then_some(super::state::Lag { waiting, oldest_ms });
                }
            }
            Observation::SourceProgress { source, progress } => {
                // Only a connected source is reading; a late report from a
                // read that was cut short must not outlive the connection.
                if let Some(health) = self.source_mut(&source)
                    && health.connected
                {
                    health.progress = Some(progress);
                }
            }
            Observation::DockerStreamMissed {
                engine,
                missed,
                example,
                consistent_at,
            } => {
                tracing::warn!(%engine, missed, %example, "the Docker event stream missed changes");
                let docker = self.engine_mut(&engine);
                docker.missed_changes += u64::from(missed);
                // The stream was proven only up to the last list that agreed
                // with it: the blind window of the restart opens there.
                if let Some(at) = consistent_at {
                    docker.last_live_at = Some(docker.last_live_at.map_or(at, |l| l.min(at)));
                }
            }
            Observation::Killed { eval_id, .. } => {
                if let Some(record) = self.existing_mut(eval_id.as_str()) {
                    record.killed_by_evaltop.get_or_insert(now);
                }
            }
        }
    }

    /// A list is the truth about one engine only: a container of another
    /// engine is neither listed nor absent from it.
    fn apply_docker_list(
        &mut self,
        engine: &EngineName,
        containers: Vec<ContainerFacts>,
        requested_at: Ts,
        now: Ts,
    ) {
        let listed: HashSet<&str> = containers.iter().map(|c| c.container_id.as_str()).collect();
        // At the first list the map grows from empty: one allocation.
        self.evals
            .reserve(containers.len().saturating_sub(self.evals.len()));
        let mut removed = Vec::new();
        for (eval_id, record) in self.evals.iter_mut() {
            let Some(docker) = &record.docker else {
                continue;
            };
            if docker.engine != *engine {
                continue;
            }
            // A container first seen after the list was requested may simply
            // be newer than the list.
            if docker.first_seen < requested_at && !listed.contains(docker.container_id.as_str()) {
                let id = docker.container_id.clone();
                mark_removed(record, engine, &id, now);
                removed.push(eval_id.clone());
            }
        }
        for eval_id in &removed {
            self.changed(eval_id);
        }
        for facts in &containers {
            if facts.engine == *engine {
                self.apply_container_facts(facts, requested_at, now);
            } else {
                // A list names its engine on every entry; one that says
                // otherwise was built wrongly and must not touch another
                // engine's containers.
                let facts = ContainerFacts {
                    engine: engine.clone(),
                    ..facts.clone()
                };
                self.apply_container_facts(&facts, requested_at, now);
            }
        }
        self.engine_mut(engine).read_in_full(now);
    }

    /// Applies a list entry or an inspect. `taken_at` is when the facts were
    /// requested: events received after that are newer and win.
    fn apply_container_facts(&mut self, facts: &ContainerFacts, taken_at: Ts, now: Ts) {
        if facts.eval_id.is_empty() || facts.container_id.is_empty() {
            return;
        }
        let record = self.record_mut(&facts.eval_id, now);
        let Some(docker) = container_side(
            record,
            &facts.engine,
            &facts.container_id,
            facts.created_at,
            now,
        ) else {
            return;
        };
        fill(&mut docker.executor, &facts.executor);
        if docker.created_at_label.is_none() {
            docker.created_at_label = facts.created_at_label.clone();
            docker.created_at = facts.created_at;
        }
        fill(&mut docker.timeout_secs, &facts.timeout_secs);
        fill(&mut docker.started_at, &facts.started_at);
        fill(&mut docker.tty, &facts.tty);
        if let Some(oom) = facts.oom_killed {
            docker.oom_killed |= oom;
        }
        // Docker reports ExitCode 0 for a container that has not exited yet:
        // only an inspect of an ended container knows how it ended.
        if facts.inspected && facts.state.is_some_and(ContainerState::has_ended) {
            if let Some(code) = facts.exit_code {
                docker.exit_code = Some(code);
                docker.exit_code_inspected = true;
            }
            fill(&mut docker.finished_at, &facts.finished_at);
        }
        let stale = docker.last_event_at.is_some_and(|at| at > taken_at);
        let new_state = facts.state.filter(|_| !stale);
        if let Some(new_state) = new_state {
            advance_state(record, new_state, now);
        }
    }

    fn apply_docker_event(&mut self, event: ContainerEvent, now: Ts) {
        if event.eval_id.is_empty() || event.container_id.is_empty() {
            return;
        }
        let record = self.record_mut(&event.eval_id, now);
        // Parsing the label costs about a fifth of an event: only a new
        // container side, or one without the label yet, needs it.
        let needs_created = record.docker.as_ref().is_none_or(|d| {
            d.engine != event.engine
                || d.container_id != event.container_id
                || d.created_at_label.is_none()
        });
        let created_at = needs_created
            .then(|| event.created_at_label.as_deref().and_then(Ts::parse))
            .flatten();
        let source = Source::Docker(event.engine.clone());
        let duplicate = record.timeline.iter().any(|entry| {
            entry.source == source
                && entry.at == event.at
                && matches!(entry.what, Happening::Container { action, .. } if action == event.action)
        });
        let Some(docker) =
            container_side(record, &event.engine, &event.container_id, created_at, now)
        else {
            return;
        };
        fill(&mut docker.executor, &event.executor);
        if docker.created_at_label.is_none() {
            docker.created_at_label = event.created_at_label.clone();
            docker.created_at = created_at;
        }
        if docker.timeout_secs.is_none() {
            docker.timeout_secs = event.timeout_label.as_deref().and_then(parse_secs);
        }
        docker.last_event_at = docker.last_event_at.max(Some(now));
        let new_state = match event.action {
            ContainerAction::Create => Some(ContainerState::Created),
            ContainerAction::Start => {
                fill(&mut docker.started_at, &Some(event.at));
                Some(ContainerState::Running)
            }
            ContainerAction::Die => {
                fill(&mut docker.finished_at, &Some(event.at));
                if !docker.exit_code_inspected {
                    docker.exit_code = event.exit_code_attr.or(docker.exit_code);
                }
                Some(ContainerState::Exited)
            }
            ContainerAction::Oom => {
                docker.oom_killed = true;
                None
            }
            ContainerAction::Destroy => {
                docker.removed_at.get_or_insert(event.at);
                Some(ContainerState::Removed)
            }
            ContainerAction::Kill | ContainerAction::Stop | ContainerAction::Other => None,
        };
        if !duplicate {
            let exit_code = (event.action == ContainerAction::Die)
                .then_some(docker.exit_code)
                .flatten();
            record.note(
                event.at,
                source,
                Happening::Container {
                    action: event.action,
                    exit_code,
                },
            );
        }
        if let Some(state) = new_state {
            advance_state(record, state, now);
        }
    }

    fn apply_docker_logs(
        &mut self,
        eval_id: &str,
        engine: &EngineName,
        container_id: &str,
        logs: CapturedLogs,
        now: Ts,
    ) {
        let Some(record) = self.existing_mut(eval_id) else {
            return;
        };
        let held = record
            .docker
            .as_ref()
            .is_some_and(|d| d.engine == *engine && d.container_id == container_id);
        if !held {
            return;
        }
        let bytes = logs.total_bytes;
        record.captured_logs = Some(Box::new(logs));
        record.note(
            now,
            Source::Docker(engine.clone()),
            Happening::LogsCaptured { bytes },
        );
    }

    fn apply_status(&mut self, channel_status: Status, message: StatusMessage, now: Ts) {
        let status = effective_status(channel_status, message.status);
        let record = self.record_mut(&message.eval_id, now);
        let redis = &mut record.redis;
        fill(&mut redis.executor_id, &message.executor_id);
        fill(&mut redis.container_id, &message.container_id);
        fill(&mut redis.timeout_secs, &message.timeout_secs);
        let applied = match redis.status {
            Some(current) if current.is_terminal() => {
                if status.is_terminal() {
                    redis.duplicate_terminals += 1;
                }
                false
            }
            Some(current) => status.rank() > current.rank(),
            None => true,
        };
        if applied {
            redis.status = Some(status);
            if redis.first_seen(status).is_none() {
                redis.status_seen.push((status, now));
            }
            if status.is_terminal() {
                redis.exit_code = message.exit_code;
                redis.output_len = message.output_len;
                redis.error_len = message.error_len;
                redis.error_excerpt = message.error_excerpt;
                redis.manual_update = message.manual_update;
            }
        }
        record.note(
            now,
            Source::Redis,
            Happening::Status {
                status,
                applied,
                manual: message.manual_update,
            },
        );
    }

    fn apply_log(&mut self, message: LogMessage, now: Ts) {
        let bytes = message.content.len() as u64;
        // The content moves into the buffer: no copy per message.
        self.live_logs
            .push(&message.eval_id, now, message.content, message.is_heartbeat);
        let record = self.record_mut(&message.eval_id, now);
        let redis = &mut record.redis;
        fill(&mut redis.executor_id, &message.executor_id);
        redis.last_log_at = Some(now);
        if message.is_heartbeat {
            redis.heartbeats += 1;
        } else {
            redis.log_messages += 1;
            redis.log_bytes += bytes;
        }
        let first = redis.log_messages == 1 && !message.is_heartbeat;
        let final_now = message.is_final && !redis.final_log_seen;
        redis.final_log_seen |= message.is_final;
        if first {
            record.note(now, Source::Redis, Happening::FirstLogMessage);
        }
        if final_now {
            record.note(now, Source::Redis, Happening::FinalLogMessage);
        }
    }

    fn apply_storage(&mut self, message: StorageMessage, now: Ts) {
        let record = self.record_mut(&message.eval_id, now);
        let redis = &mut record.redis;
        fill(&mut redis.executor_id, &message.executor_id);
        // Like statuses, confirmations only move forward: a late `queued`
        // confirmation does not undo `running`, and a terminal one stands.
        if let Some(status) = message.status
            && redis
                .storage_status
                .is_none_or(|current| status.rank() > current.rank())
        {
            redis.storage_status = Some(status);
        }
        redis.storage_confirmed_at = Some(now);
        record.note(
            now,
            Source::Redis,
            Happening::Storage {
                kind: message.kind,
                status: message.status,
            },
        );
    }

    fn apply_redis_keys(&mut self, snapshot: RedisSnapshot, now: Ts) {
        let in_set: HashSet<&str> = snapshot.running_set.iter().map(String::as_str).collect();
        let keys: HashMap<&str, _> = snapshot
            .running_keys
            .iter()
            .map(|k| (k.eval_id.as_str(), k))
            .collect();
        let pending: HashMap<&str, &str> = snapshot
            .pending
            .iter()
            .map(|(id, status)| (id.as_str(), status.as_str()))
            .collect();
        let latest: HashMap<&str, _> = snapshot
            .latest_logs
            .iter()
            .map(|k| (k.eval_id.as_str(), k))
            .collect();

        // At the first read the map grows from empty to every key's
        // record: one allocation rather than a dozen rehashes.
        self.evals
            .reserve(keys.len().saturating_sub(self.evals.len()));
        let mentioned = in_set
            .iter()
            .chain(keys.keys())
            .chain(pending.keys())
            .chain(latest.keys());
        for id in mentioned {
            self.record_mut(id, now);
        }

        let mut changed = Vec::new();
        for (eval_id, record) in self.evals.iter_mut() {
            let id: &str = eval_id;
            let redis = &mut record.redis;
            // What the table reads (not the key's TTL or when it was seen,
            // which change at every scan): only a record whose facts moved
            // is assessed again.
            let facts = |r: &RedisSide| {
                (
                    r.running_key
                        .as_ref()
                        .map(|k| (k.started_at, k.timeout_secs)),
                    (r.executor_id.is_some(), r.container_id.is_some()),
                    (r.timeout_secs, r.latest_log_bytes, r.latest_log_seen_bytes),
                    r.latest_log_ttl_ms.is_some(),
                )
            };
            let before = facts(redis);
            let pending_before = redis.pending.take();
            let was_in_set = redis.in_running_set;
            redis.in_running_set = in_set.contains(id);
            let had_key = redis.running_key.is_some();
            redis.running_key = keys.get(id).map(|k| RunningKeyFacts {
                started_at: k.started_at,
                timeout_secs: k.timeout_secs,
                ttl_ms: k.ttl_ms,
                seen_at: now,
            });
            if let Some(key) = keys.get(id) {
                fill(&mut redis.executor_id, &key.executor_id);
                fill(&mut redis.container_id, &key.container_id);
                fill(&mut redis.timeout_secs, &key.timeout_secs);
            }
            redis.pending = pending.get(id).map(|s| s.to_string());
            redis.latest_log_bytes = latest.get(id).map(|k| k.bytes);
            if let Some(bytes) = redis.latest_log_bytes {
                redis.latest_log_seen_bytes = redis.latest_log_seen_bytes.max(Some(bytes));
            }
            redis.latest_log_ttl_ms = latest.get(id).and_then(|k| k.ttl_ms);
            let has_key = redis.running_key.is_some();
            let now_in_set = redis.in_running_set;
            match (was_in_set, now_in_set) {
                (false, true) => record.note(now, Source::Redis, Happening::RunningSetJoined),
                (true, false) => record.note(now, Source::Redis, Happening::RunningSetLeft),
                _ => {}
            }
            match (had_key, has_key) {
                (false, true) => record.note(now, Source::Redis, Happening::RunningKeySeen),
                (true, false) => record.note(now, Source::Redis, Happening::RunningKeyGone),
                _ => {}
            }
            if was_in_set != now_in_set
                || pending_before != record.redis.pending
                || before != facts(&record.redis)
            {
                changed.push(eval_id.clone());
            }
        }
        for eval_id in &changed {
            self.changed(eval_id);
        }
        self.redis.read_in_full(now);
    }
}

/// The status an event stands for: a completion may say `failed` or
/// `timeout` in its payload; every other channel names its status.
fn effective_status(channel: Status, payload: Option<Status>) -> Status {
    match (channel, payload) {
        (Status::Completed, Some(p)) if p.is_terminal() => p,
        (Status::Failed, Some(Status::Timeout)) => Status::Timeout,
        _ => channel,
    }
}

/// The Docker side for `container_id`, created on first sight. A second
/// container for the same evaluation replaces the first only when the first
/// is gone or the second is newer; otherwise it is noted and ignored.
fn container_side<'a>(
    record: &'a mut EvalRecord,
    engine: &EngineName,
    container_id: &str,
    created_at: Option<Ts>,
    now: Ts,
) -> Option<&'a mut ContainerSide> {
    let source = Source::Docker(engine.clone());
    let replace = match &record.docker {
        None => true,
        Some(d) if d.engine == *engine && d.container_id == container_id => false,
        Some(d) => {
            // Without both labels there is no telling which is newer; taking
            // the one seen last would make two listed containers take turns
            // on every list.
            let newer = match (created_at, d.created_at) {
                (Some(new), Some(old)) => new > old,
                _ => false,
            };
            if !(d.state == Some(ContainerState::Removed) || newer) {
                // Once: a periodic list repeats it, and the timeline is bounded.
                let note = Happening::Note(format!(
                    "another container {container_id} on {engine} ignored"
                ));
                if !record.timeline.iter().any(|entry| entry.what == note) {
                    record.note(now, source, note);
                }
                return None;
            }
            true
        }
    };
    if replace {
        if let Some(old) = &record.docker {
            let note = format!(
                "container {} on {} replaced by {container_id} on {engine}",
                old.container_id, old.engine
            );
            record.note(now, source, Happening::Note(note));
            record.captured_logs = None;
        }
        record.docker = Some(ContainerSide {
            engine: engine.clone(),
            container_id: container_id.to_string(),
            first_seen: now,
            ..ContainerSide::default()
        });
    }
    record.docker.as_mut()
}

/// Moves the container's state forward; never backwards.
fn advance_state(record: &mut EvalRecord, new: ContainerState, now: Ts) {
    let Some(docker) = record.docker.as_mut() else {
        return;
    };
    let source = Source::Docker(docker.engine.clone());
    let forward = docker.state.is_none_or(|old| {
        state_rank(new) > state_rank(old) || (old != new && state_rank(new) == state_rank(old))
    });
    if !forward {
        return;
    }
    if new == ContainerState::Removed {
        docker.removed_at.get_or_insert(now);
    }
    docker.state = Some(new);
    record.note(now, source, Happening::ContainerState(new));
}

fn mark_removed(record: &mut EvalRecord, engine: &EngineName, container_id: &str, now: Ts) {
    let matches = record.docker.as_ref().is_some_and(|d| {
        d.engine == *engine
            && d.container_id == container_id
            && d.state != Some(ContainerState::Removed)
    });
    if matches {
        advance_state(record, ContainerState::Removed, now);
        record.note(
            now,
            Source::Docker(engine.clone()),
            Happening::ContainerGone,
        );
    }
}

/// Fills a fact that is still unknown; a known fact is not overwritten.
fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(value);
    }
}

/// Whole seconds from a label or field: "30", "30.0", " 30 ".
pub fn parse_secs(text: &str) -> Option<u32> {
    let text = text.trim();
    text.parse::<u32>().ok().or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0 && *v <= f64::from(u32::MAX))
            .map(|v| v as u32)
    })
}
