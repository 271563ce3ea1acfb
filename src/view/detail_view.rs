//! The detail view's model: its scroll offset, and what it says about one
//! evaluation worked out as data (phase times, each flag's meaning and
//! evidence, both sources' facts, the merged timeline, which actions apply),
//! so that all of it is testable without drawing. Pure: no clock reads.

use super::scroll::Scroll;
use crate::keymap::Command;
use crate::model::{
    ContainerAction, ContainerState, EvalId, EvalRecord, Flag, Happening, Source, Status, Ts,
    human_duration, short_container_id,
};

pub use super::advice::advice;

/// The detail view of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct DetailView {
    pub eval_id: EvalId,
    pub scroll: Scroll,
    /// The last lines of the best log evidence, shown under a lost
    /// completion or an empty failure; the console keeps it current.
    pub logs: Option<crate::view::log_excerpt::LogExcerpt>,
}

impl DetailView {
    pub fn new(eval_id: EvalId) -> Self {
        DetailView {
            eval_id,
            scroll: Scroll::default(),
            logs: None,
        }
    }
}

/// A duration between phases: `+850ms`, `+1.2s`, `+4m05s`.
pub fn phase_duration(ms: i64) -> String {
    let sign = if ms < 0 { '-' } else { '+' };
    let abs = ms.unsigned_abs();
    match abs {
        0..1000 => format!("{sign}{abs}ms"),
        1000..60_000 => format!("{sign}{}.{}s", abs / 1000, (abs % 1000) / 100),
        _ => format!(
            "{sign}{}",
            human_duration(i64::try_from(abs).unwrap_or(i64::MAX))
        ),
    }
}

/// One phase of the evaluation's life, between two milestones.
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: &'static str,
    pub from: Option<Ts>,
    pub to: Option<Ts>,
}

impl Phase {
    /// `+1.2s` when both ends are known; `none after 41s` while the phase
    /// lasts; `—` when its start is unknown.
    pub fn text(&self, now: Ts) -> String {
        match (self.from, self.to) {
            (Some(from), Some(to)) => phase_duration(to.since(from)),
            (Some(from), None) => format!("none after {}", human_duration(now.since(from).max(0))),
            (None, _) => "—".to_string(),
        }
    }
}

/// When the container died: the die event, else the finish time an
/// inspect gave.
fn died_at(record: &EvalRecord) -> Option<Ts> {
    record
        .timeline
        .iter()
        .find(|e| {
            matches!(
                e.what,
                Happening::Container {
                    action: ContainerAction::Die,
                    ..
                }
            )
        })
        .map(|e| e.at)
        .or(record.docker.as_ref().and_then(|d| d.finished_at))
}

/// Queued to running (Redis), running to the container's death (Docker),
/// death to the completion (Redis). The run is timed from the container's
/// start when known: for a fast failure, `evaluation:running` can arrive
/// after the container has already died.
pub fn phases(record: &EvalRecord) -> [Phase; 3] {
    let redis = &record.redis;
    let queued = [
        redis.first_seen(Status::Submitted),
        redis.first_seen(Status::Queued),
    ]
    .into_iter()
    .flatten()
    .min();
    let started = record.docker.as_ref().and_then(|d| d.started_at);
    let running = redis.first_seen(Status::Running).or(started);
    let died = died_at(record);
    [
        Phase {
            name: "queued → running",
            from: queued,
            to: running,
        },
        Phase {
            name: "running → died",
            from: started.or(running),
            to: died,
        },
        Phase {
            name: "died → completion",
            from: died,
            to: redis.terminal_at(),
        },
    ]
}

/// One entry of the merged timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineRow {
    pub at: Ts,
    pub source: Source,
    pub what: String,
    /// For milestones (an applied status; a container's create, start, die
    /// or destroy): time since the previous milestone.
    pub since_previous_ms: Option<i64>,
    /// False for a status the merge rules kept out (late or duplicate).
    pub applied: bool,
    /// Entries the bounded timeline dropped just before this one.
    pub dropped_before: u32,
}

fn is_milestone(what: &Happening) -> bool {
    match what {
        Happening::Status { applied, .. } => *applied,
        Happening::Container { action, .. } => matches!(
            action,
            ContainerAction::Create
                | ContainerAction::Start
                | ContainerAction::Die
                | ContainerAction::Destroy
        ),
        _ => false,
    }
}

/// What a timeline entry says, in words.
pub fn happening_text(what: &Happening) -> String {
    match what {
        Happening::Status {
            status,
            applied,
            manual,
        } => {
            let mut text = format!("status {}", status.name());
            if *manual {
                text.push_str(" (manual)");
            }
            if !applied {
                text.push_str(" (ignored: late or duplicate)");
            }
            text
        }
        Happening::Storage { kind, status } => match status {
            Some(status) => format!("storage {kind}: {}", status.name()),
            None => format!("storage {kind}"),
        },
        Happening::Container { action, exit_code } => match exit_code {
            Some(code) => format!("container {}, exit {code}", action.name()),
            None => format!("container {}", action.name()),
        },
        Happening::ContainerState(state) => format!("state {}", state.name()),
        Happening::ContainerGone => "container gone".to_string(),
        Happening::LogsCaptured { bytes } => format!("logs captured, {bytes} bytes"),
        Happening::FirstLogMessage => "first log message".to_string(),
        Happening::FinalLogMessage => "final log message".to_string(),
        Happening::RunningKeySeen => "eval:{id}:running set".to_string(),
        Happening::RunningKeyGone => "eval:{id}:running gone".to_string(),
        Happening::RunningSetJoined => "joined running_evaluations".to_string(),
        Happening::RunningSetLeft => "left running_evaluations".to_string(),
        Happening::Note(note) => note.clone(),
    }
}

/// Every entry kept from both sources in time order (arrival order among
/// equal times), milestones marked with the time since the previous one.
/// When the bounded timeline dropped entries, the head and the newest are
/// each in time order, the first of the newest says how many were dropped
/// before it, and its milestone time is not measured across the gap.
pub fn timeline(record: &EvalRecord) -> Vec<TimelineRow> {
    let mut entries: Vec<_> = record.timeline.iter().collect();
    let gap_at = (record.timeline.dropped > 0).then_some(record.timeline.head().len());
    match gap_at {
        Some(at) => {
            let (head, newest) = entries.split_at_mut(at);
            head.sort_by_key(|e| e.at);
            newest.sort_by_key(|e| e.at);
        }
        None => entries.sort_by_key(|e| e.at),
    }
    let mut previous: Option<Ts> = None;
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let dropped_before = if gap_at == Some(i) {
                previous = None;
                record.timeline.dropped
            } else {
                0
            };
            let milestone = is_milestone(&entry.what);
            let since_previous_ms = previous
                .filter(|_| milestone)
                .map(|prev| entry.at.since(prev));
            if milestone {
                previous = Some(entry.at);
            }
            TimelineRow {
                at: entry.at,
                source: entry.source.clone(),
                what: happening_text(&entry.what),
                since_previous_ms,
                applied: !matches!(entry.what, Happening::Status { applied: false, .. }),
                dropped_before,
            }
        })
        .collect()
}

/// Facts from the record that back a flag, beyond what its reason says.
pub fn evidence(flag: &Flag, record: &EvalRecord, now: Ts) -> Vec<String> {
    let redis = &record.redis;
    let docker = record.docker.as_ref();
    let mut out = Vec::new();
    let held = |out: &mut Vec<String>| {
        if redis.in_running_set {
            out.push("still in running_evaluations".to_string());
        }
        if let Some(key) = &redis.running_key {
            out.push(format!(
                "eval:{{id}}:running still set{}",
                ttl_text(key.ttl_ms, key.seen_at, now)
            ));
        }
    };
    match flag {
        Flag::LostCompletion { .. } => {
            held(&mut out);
            if let Some(logs) = &record.captured_logs {
                out.push(format!(
                    "logs captured at death: {} bytes",
                    logs.stdout.len() + logs.stderr.len()
                ));
            }
            if docker.is_some_and(|d| d.exists()) {
                out.push("the container still exists".to_string());
            }
        }
        Flag::Overdue { .. } | Flag::Orphan { .. } | Flag::Silent { .. } => {
            if let Some(executor) = record.executor() {
                out.push(format!("executor {executor}"));
            }
            if let Some(at) = docker.and_then(|d| d.started_at) {
                out.push(format!("container started {}", clock_ago(at, now)));
            }
            if let Some(at) = redis.last_log_at {
                out.push(format!(
                    "last log message {} ({} heartbeats)",
                    clock_ago(at, now),
                    redis.heartbeats
                ));
            }
        }
        Flag::EmptyFailure { .. } => {
            if let Some(code) = record.exit_code() {
                out.push(format!("exit code {code}"));
            }
            if let Some(bytes) = redis.latest_log_bytes {
                out.push(format!("logs:{{id}}:latest holds {bytes} bytes now"));
            }
        }
        Flag::HostUnknown { .. } => {
            held(&mut out);
            if let Some(executor) = record.executor() {
                out.push(format!("executor {executor}"));
            }
        }
        Flag::StaleRunning => {
            held(&mut out);
            match docker.and_then(|d| d.removed_at) {
                Some(at) => out.push(format!("container removed {}", clock_ago(at, now))),
                None if docker.is_none() => out.push("no container seen".to_string()),
                None => {}
            }
        }
        Flag::TimedOut { .. } => {
            if docker.is_some_and(|d| d.oom_killed) {
                out.push("Docker says it was OOM-killed".to_string());
            }
        }
        // The evidence of the suspicion is kept, as it would be shown.
        Flag::Unknown { suspected, .. } => out = evidence(suspected, record, now),
        Flag::NeverStarted { .. } => {
            if let Some(executor) = record.executor() {
                out.push(format!("executor {executor}"));
            }
            if let Some(docker) = docker {
                out.push(format!(
                    "container {} created, not started",
                    short_container_id(&docker.container_id)
                ));
            }
            held(&mut out);
        }
        Flag::Killed { .. } => {
            if let Some(at) = record.killed_by_evaltop {
                out.push(format!("evaltop's kill answered {}", clock_ago(at, now)));
            }
            held(&mut out);
        }
    }
    out
}

/// `00:55:16.182 (41s ago)`.
pub fn clock_ago(at: Ts, now: Ts) -> String {
    format!(
        "{} ({} ago)",
        at.clock(),
        human_duration(now.since(at).max(0))
    )
}

/// `, ttl 1m20s` as of now, from a TTL read at `seen_at`.
fn ttl_text(ttl_ms: Option<i64>, seen_at: Ts, now: Ts) -> String {
    match ttl_ms {
        Some(ttl) => format!(
            ", ttl {}",
            human_duration((ttl - now.since(seen_at)).max(0))
        ),
        None => ", no ttl".to_string(),
    }
}

/// How a fact is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// Unknown or absent.
    Dim,
    /// Worth a look.
    Warn,
}

/// One labelled fact of one source.
#[derive(Clone, Debug, PartialEq)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    pub tone: Tone,
}

fn fact(label: &'static str, value: impl Into<String>, tone: Tone) -> Fact {
    Fact {
        label,
        value: value.into(),
        tone,
    }
}

fn known<T: ToString>(label: &'static str, value: Option<T>) -> Fact {
    match value {
        Some(value) => fact(label, value.to_string(), Tone::Plain),
        None => fact(label, "—", Tone::Dim),
    }
}

/// What Redis says: the status that stands, the terminal event's fields,
/// and the keys present with their TTLs.
pub fn redis_facts(record: &EvalRecord, now: Ts) -> Vec<Fact> {
    let r = &record.redis;
    let mut status = match r.status {
        Some(status) => fact("status", status.name(), Tone::Plain),
        None => fact("status", "none seen", Tone::Dim),
    };
    if r.manual_update {
        status.value.push_str(" (manual)");
    }
    if let Some(storage) = r.storage_status.filter(|s| Some(*s) != r.status) {
        status
            .value
            .push_str(&format!(", storage says {}", storage.name()));
    }
    let bytes = |n: Option<usize>| n.map(|n| format!("{n} bytes"));
    let mut facts = vec![
        status,
        known("executor", r.executor_id.as_deref()),
        known(
            "container",
            r.container_id.as_deref().map(short_container_id),
        ),
        known("timeout", r.timeout_secs.map(|t| format!("{t}s"))),
        known("exit code", r.exit_code),
        known("output", bytes(r.output_len)),
        known("error", bytes(r.error_len)),
    ];
    if let Some(excerpt) = &r.error_excerpt {
        facts.push(fact("error text", excerpt.clone(), Tone::Plain));
    }
    if r.duplicate_terminals > 0 {
        let text = format!("{} later terminal events ignored", r.duplicate_terminals);
        facts.push(fact("duplicates", text, Tone::Warn));
    }
    let terminal = r.is_terminal();
    // A key that outlives the terminal status is the stale state to notice.
    let held_tone = if terminal { Tone::Warn } else { Tone::Plain };
    facts.push(match r.in_running_set {
        true => fact("running set", "member", held_tone),
        false => fact("running set", "absent", Tone::Dim),
    });
    facts.push(match &r.running_key {
        Some(key) => {
            let value = format!("present{}", ttl_text(key.ttl_ms, key.seen_at, now));
            fact("running key", value, held_tone)
        }
        None => fact("running key", "absent", Tone::Dim),
    });
    facts.push(match &r.pending {
        Some(value) => fact("pending key", value.clone(), Tone::Plain),
        None => fact("pending key", "absent", Tone::Dim),
    });
    facts.push(match (r.latest_log_bytes, r.latest_log_seen_bytes) {
        (Some(bytes), _) => {
            let ttl = r.latest_log_ttl_ms.map_or(String::new(), |t| {
                format!(", ttl {} at scan", human_duration(t))
            });
            fact("latest log key", format!("{bytes} bytes{ttl}"), Tone::Plain)
        }
        (None, Some(seen)) => fact(
            "latest log key",
            format!("gone (held {seen} bytes)"),
            Tone::Dim,
        ),
        (None, None) => fact("latest log key", "absent", Tone::Dim),
    });
    let live = match r.last_log_at {
        Some(at) => {
            let mut text = format!(
                "{} messages, {} bytes, {} heartbeats, last {} ago",
                r.log_messages,
                r.log_bytes,
                r.heartbeats,
                human_duration(now.since(at).max(0))
            );
            if r.final_log_seen {
                text.push_str(", final seen");
            }
            fact("live logs", text, Tone::Plain)
        }
        None => fact("live logs", "none received", Tone::Dim),
    };
    facts.push(live);
    if let Some(at) = r.storage_confirmed_at {
        let status = r.storage_status.map_or("a change", Status::name);
        facts.push(fact(
            "storage",
            format!("confirmed {status} {}", clock_ago(at, now)),
            Tone::Plain,
        ));
    }
    facts
}

/// What Docker says: the container, its state and exit, times and labels.
pub fn docker_facts(record: &EvalRecord, now: Ts) -> Vec<Fact> {
    let Some(d) = &record.docker else {
        return vec![fact("container", "none seen", Tone::Dim)];
    };
    let time = |at: Option<Ts>| at.map(|at| clock_ago(at, now));
    let exit = d.exit_code.map(|code| {
        let from = if d.exit_code_inspected {
            "inspect"
        } else {
            "die event"
        };
        format!("{code} ({from})")
    });
    let state_tone = match d.state {
        Some(ContainerState::Exited | ContainerState::Dead) => Tone::Warn,
        Some(_) => Tone::Plain,
        None => Tone::Dim,
    };
    let mut facts = vec![
        fact(
            "container",
            short_container_id(&d.container_id),
            Tone::Plain,
        ),
        fact(
            "state",
            d.state.map_or("unknown", ContainerState::name),
            state_tone,
        ),
        known("exit code", exit),
        match d.oom_killed {
            true => fact("OOM killed", "yes", Tone::Warn),
            false => fact("OOM killed", "no", Tone::Plain),
        },
        known("created", time(d.created_at)),
        known("started", time(d.started_at)),
        known("finished", time(d.finished_at)),
    ];
    if !d.engine.is_unnamed() {
        // Container ids are unique per engine only: the engine is half of
        // the container's name, and where actions on it go.
        facts.insert(1, fact("engine", d.engine.as_str(), Tone::Plain));
    }
    if let Some(at) = d.removed_at {
        facts.push(fact("removed", clock_ago(at, now), Tone::Plain));
    }
    if d.state.is_some_and(ContainerState::is_live)
        && let Some(deadline) = d.deadline()
    {
        let tone = if now > deadline {
            Tone::Warn
        } else {
            Tone::Plain
        };
        facts.push(fact("deadline", deadline.clock(), tone));
    }
    facts.push(known(
        "TTY",
        d.tty
            .map(|tty| if tty { "yes (one console)" } else { "no" }),
    ));
    facts.push(known("label executor", d.executor.as_deref()));
    facts.push(known("label created_at", d.created_at_label.as_deref()));
    facts.push(known("label timeout", d.timeout_secs));
    facts
}

/// An action on this evaluation and whether it applies now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionKey {
    pub command: Command,
    pub label: &'static str,
    pub available: bool,
}

/// Kill (a live container), remove (an existing container), logs (always:
/// even "none found" is an answer), force failed (not yet terminal).
pub fn actions(record: &EvalRecord) -> [ActionKey; 4] {
    let state = record.container_state();
    [
        ActionKey {
            command: Command::Kill,
            label: "kill",
            available: state.is_some_and(ContainerState::is_live),
        },
        ActionKey {
            command: Command::Remove,
            label: "remove",
            available: record.docker.as_ref().is_some_and(|d| d.exists()),
        },
        ActionKey {
            command: Command::Logs,
            label: "logs",
            available: true,
        },
        ActionKey {
            command: Command::ForceFail,
            label: "force failed",
            available: !record.redis.is_terminal(),
        },
    ]
}
