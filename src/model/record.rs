//! One record per evaluation: Docker's facts and Redis's facts side by side,
//! never overwriting each other, and a bounded timeline of what was observed.

use super::observation::{
    CapturedLogs, ContainerAction, ContainerState, EngineName, Source, Status,
};
use super::time::Ts;

/// What the engine that holds an evaluation's container says about it: a
/// container seen by a Docker engine (later, a pod seen by a cluster). Its
/// identity is (engine, container id).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerSide {
    pub engine: EngineName,
    pub container_id: String,
    pub state: Option<ContainerState>,
    pub executor: Option<String>,
    pub created_at_label: Option<String>,
    /// Parsed `created_at` label; `None` when missing or unparseable, and
    /// then the container is never called overdue.
    pub created_at: Option<Ts>,
    pub timeout_secs: Option<u32>,
    pub exit_code: Option<i64>,
    /// True when `exit_code` came from an inspect rather than the die
    /// event's attribute.
    pub exit_code_inspected: bool,
    pub oom_killed: bool,
    pub started_at: Option<Ts>,
    pub finished_at: Option<Ts>,
    /// When evaltop learnt the container was gone.
    pub removed_at: Option<Ts>,
    pub tty: Option<bool>,
    /// When evaltop first saw this container.
    pub first_seen: Ts,
    /// Time of the newest Docker event applied, so that an older list entry
    /// cannot undo it.
    pub last_event_at: Option<Ts>,
}

impl ContainerSide {
    /// When the process inside ended, as well as evaltop knows: the finish
    /// time from an inspect, else when it learnt of the removal.
    pub fn ended_at(&self) -> Option<Ts> {
        match self.state {
            Some(state) if state.has_ended() => self.finished_at.or(self.removed_at),
            _ => None,
        }
    }

    /// The deadline the executor should have enforced.
    pub fn deadline(&self) -> Option<Ts> {
        let created = self.created_at?;
        let timeout = self.timeout_secs?;
        Some(created.plus_millis(i64::from(timeout) * 1000))
    }

    pub fn exists(&self) -> bool {
        !matches!(self.state, Some(ContainerState::Removed) | None)
    }
}

/// What Redis says about an evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RedisSide {
    /// The status that stands: progresses forward only, and the first
    /// terminal status is final.
    pub status: Option<Status>,
    /// When each status was first seen (a submitted/queued/.../terminal
    /// ladder; the phases of the detail view).
    pub status_seen: Vec<(Status, Ts)>,
    pub executor_id: Option<String>,
    pub container_id: Option<String>,
    pub timeout_secs: Option<u32>,
    /// From the terminal event that stands.
    pub exit_code: Option<i64>,
    pub output_len: Option<usize>,
    pub error_len: Option<usize>,
    pub error_excerpt: Option<String>,
    pub manual_update: bool,
    /// Terminal events that arrived after the one that stands.
    pub duplicate_terminals: u32,
    /// The status the storage worker last confirmed.
    pub storage_status: Option<Status>,
    pub storage_confirmed_at: Option<Ts>,
    /// Keys, as of the latest scan (or message that set them).
    pub in_running_set: bool,
    pub running_key: Option<RunningKeyFacts>,
    pub pending: Option<String>,
    pub latest_log_bytes: Option<usize>,
    pub latest_log_ttl_ms: Option<i64>,
    /// The most `logs:{id}:latest` held at any scan: evidence of output
    /// that outlives the key's 300 s TTL.
    pub latest_log_seen_bytes: Option<usize>,
    /// Live log messages on `evaluation:{id}:logs`.
    pub log_messages: u32,
    pub log_bytes: u64,
    pub heartbeats: u32,
    pub last_log_at: Option<Ts>,
    pub final_log_seen: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunningKeyFacts {
    pub started_at: Option<Ts>,
    pub timeout_secs: Option<u32>,
    pub ttl_ms: Option<i64>,
    pub seen_at: Ts,
}

impl RedisSide {
    pub fn is_terminal(&self) -> bool {
        self.status.is_some_and(Status::is_terminal)
            || self.storage_status.is_some_and(Status::is_terminal)
    }

    pub fn first_seen(&self, status: Status) -> Option<Ts> {
        self.status_seen
            .iter()
            .find(|(seen, _)| *seen == status)
            .map(|(_, at)| *at)
    }

    /// When the terminal status that stands was seen.
    pub fn terminal_at(&self) -> Option<Ts> {
        self.status_seen
            .iter()
            .find(|(status, _)| status.is_terminal())
            .map(|(_, at)| *at)
            .or(self.storage_confirmed_at.filter(|_| self.is_terminal()))
    }

    /// Redis has some trace of this evaluation: a message or a key.
    pub fn has_heard_of(&self) -> bool {
        self.status.is_some()
            || self.storage_status.is_some()
            || self.storage_confirmed_at.is_some()
            || self.in_running_set
            || self.running_key.is_some()
            || self.pending.is_some()
            || self.log_messages > 0
            || self.heartbeats > 0
            || self.latest_log_bytes.is_some()
    }

    /// Redis holds the evaluation as running (status or keys).
    pub fn holds_running(&self) -> bool {
        !self.is_terminal()
            && (self.in_running_set
                || self.running_key.is_some()
                || matches!(self.status, Some(Status::Running | Status::Provisioning)))
    }
}

/// What one timeline entry says.
#[derive(Clone, Debug, PartialEq)]
pub enum Happening {
    /// A status message; `applied` is false when the merge rules kept it
    /// out (late, duplicate, or after a terminal status).
    Status {
        status: Status,
        applied: bool,
        manual: bool,
    },
    Storage {
        kind: String,
        status: Option<Status>,
    },
    Container {
        action: ContainerAction,
        exit_code: Option<i64>,
    },
    ContainerState(ContainerState),
    ContainerGone,
    LogsCaptured {
        bytes: u64,
    },
    FirstLogMessage,
    FinalLogMessage,
    RunningKeySeen,
    RunningKeyGone,
    RunningSetJoined,
    RunningSetLeft,
    Note(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub at: Ts,
    pub source: Source,
    pub what: Happening,
}

/// A bounded timeline: keeps how the evaluation began and what happened
/// last, and counts the entries dropped between them.
///
/// Stored in one `Vec`: the first `TIMELINE_HEAD` entries in arrival order,
/// then the newest as a ring once the timeline is full (`oldest` is where
/// the ring starts), so that a push is O(1) at any length. The `Vec` grows
/// `TIMELINE_GROWTH` entries at a time rather than doubling: most lives end
/// between doublings, and the slack would be paid by every record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    entries: Vec<TimelineEntry>,
    /// Index, within the ring of the newest, of the oldest of them.
    oldest: u16,
    /// Entries dropped from between the head and the newest.
    pub dropped: u32,
}

/// Entries at the head of a timeline that are never dropped: a full life
/// begins with submitted, queued, create, start and running, each with its
/// storage or state entry.
pub const TIMELINE_HEAD: usize = 8;

/// How many entries a timeline keeps in all: a whole life as the platform
/// runs one (19 to 21 entries: its statuses, their storage updates, the
/// container's actions and states, the keys, the logs) is kept whole; a
/// chatty one keeps its head and its 16 newest. At 64 bytes an entry a full
/// timeline is 1.5 KiB; the usual 12–20 entries stay within the 2 KiB an
/// evaluation may cost with its record.
pub const TIMELINE_CAP: usize = 24;

/// Entries a timeline's storage grows by.
const TIMELINE_GROWTH: usize = 4;

impl Timeline {
    pub fn push(&mut self, entry: TimelineEntry) {
        let len = self.entries.len();
        if len < TIMELINE_CAP {
            if len == self.entries.capacity() {
                self.entries
                    .reserve_exact(TIMELINE_GROWTH.min(TIMELINE_CAP - len));
            }
            self.entries.push(entry);
            return;
        }
        // Full: the newest replaces the oldest of the newest.
        let ring = TIMELINE_CAP - TIMELINE_HEAD;
        let oldest = usize::from(self.oldest);
        self.entries[TIMELINE_HEAD + oldest] = entry;
        self.oldest = ((oldest + 1) % ring) as u16;
        self.dropped = self.dropped.saturating_add(1);
    }

    /// Every entry kept, in arrival order: the head, then the newest.
    pub fn iter(&self) -> impl Iterator<Item = &TimelineEntry> {
        self.head().iter().chain(self.newest())
    }

    /// The first entries, never dropped.
    pub fn head(&self) -> &[TimelineEntry] {
        &self.entries[..self.entries.len().min(TIMELINE_HEAD)]
    }

    /// The entries after the head, oldest first; `dropped` entries are
    /// missing between the head and these.
    pub fn newest(&self) -> impl Iterator<Item = &TimelineEntry> {
        let ring = &self.entries[self.head().len()..];
        // Slots before `oldest` were overwritten last: they come after.
        let (latest_written, from_oldest) = ring.split_at(usize::from(self.oldest));
        from_oldest.iter().chain(latest_written)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries the storage has room for: what the record pays.
    pub fn entries_capacity(&self) -> usize {
        self.entries.capacity()
    }

    pub fn last(&self) -> Option<&TimelineEntry> {
        match usize::from(self.oldest) {
            0 => self.entries.last(),
            oldest => self.entries.get(TIMELINE_HEAD + oldest - 1),
        }
    }
}

/// Everything evaltop knows about one evaluation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalRecord {
    pub docker: Option<ContainerSide>,
    pub redis: RedisSide,
    /// Logs read from Docker at the container's death; kept because the
    /// executor may remove the container within milliseconds.
    pub captured_logs: Option<Box<CapturedLogs>>,
    /// When evaltop's operator killed the container (K): its death is
    /// then not a timeout.
    pub killed_by_evaltop: Option<Ts>,
    pub timeline: Timeline,
    pub first_seen: Ts,
    pub last_change: Ts,
}

impl EvalRecord {
    pub fn new(now: Ts) -> Self {
        EvalRecord {
            first_seen: now,
            last_change: now,
            ..EvalRecord::default()
        }
    }

    pub fn note(&mut self, at: Ts, source: Source, what: Happening) {
        self.timeline.push(TimelineEntry { at, source, what });
        self.last_change = self.last_change.max(at);
    }

    /// The executor, from whichever side knows it (Docker's label first).
    pub fn executor(&self) -> Option<&str> {
        self.docker
            .as_ref()
            .and_then(|d| d.executor.as_deref())
            .or(self.redis.executor_id.as_deref())
    }

    /// The engine that holds (or held) the container.
    pub fn engine(&self) -> Option<&EngineName> {
        self.docker.as_ref().map(|d| &d.engine)
    }

    pub fn container_state(&self) -> Option<ContainerState> {
        self.docker.as_ref().and_then(|d| d.state)
    }

    pub fn container_id(&self) -> Option<&str> {
        self.docker
            .as_ref()
            .map(|d| d.container_id.as_str())
            .or(self.redis.container_id.as_deref())
    }

    /// The exit code, Docker's inspect first (it is the truth), then the
    /// completion event's.
    pub fn exit_code(&self) -> Option<i64> {
        self.docker
            .as_ref()
            .and_then(|d| d.exit_code)
            .or(self.redis.exit_code)
    }

    pub fn timeout_secs(&self) -> Option<u32> {
        self.docker
            .as_ref()
            .and_then(|d| d.timeout_secs)
            .or(self.redis.timeout_secs)
            .or(self.redis.running_key.as_ref().and_then(|k| k.timeout_secs))
    }

    /// When the evaluation began, as well as known: the container's
    /// `created_at` label, else its start, else when Redis first had it.
    pub fn started_at(&self) -> Option<Ts> {
        let docker = self.docker.as_ref();
        docker
            .and_then(|d| d.created_at.or(d.started_at))
            .or(self.redis.running_key.as_ref().and_then(|k| k.started_at))
            .or(self.redis.first_seen(Status::Running))
    }

    /// Evidence that the evaluation wrote output, for `empty-failure`.
    pub fn output_evidence(&self) -> Option<String> {
        if let Some(logs) = &self.captured_logs
            && !logs.is_empty()
        {
            return Some(format!(
                "Docker logs hold {} bytes",
                logs.stdout.len() + logs.stderr.len()
            ));
        }
        if self.redis.log_bytes > 0 {
            return Some(format!(
                "{} live log messages ({} bytes)",
                self.redis.log_messages, self.redis.log_bytes
            ));
        }
        if let Some(bytes) = self.redis.latest_log_bytes.filter(|b| *b > 0) {
            return Some(format!("logs:{{id}}:latest holds {bytes} bytes"));
        }
        if let Some(bytes) = self.redis.latest_log_seen_bytes.filter(|b| *b > 0) {
            return Some(format!("logs:{{id}}:latest held {bytes} bytes"));
        }
        None
    }
}
