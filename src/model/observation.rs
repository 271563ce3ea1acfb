//! What the sources tell the model: owned, normalised observations. Neither
//! bollard nor redis types appear here, so the model and its tests never
//! depend on either client.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::time::Ts;

/// An evaluation id, kept as an opaque string (PROTOCOL.md: never reject an
/// id of another shape). Shared, because the table, the index and the
/// records all name the same ids.
pub type EvalId = Arc<str>;

/// A map keyed by evaluation id. Every observation looks its evaluation up
/// (twice, with the table's refresh); foldhash is several times faster
/// than the default SipHash on ids of this length, and is seeded per map,
/// so ids chosen to collide are no cheaper to find than by chance.
/// hashbrown's map (std's, with its whole API) finds or creates an entry
/// by a borrowed id in one lookup.
pub type IdMap<V> = hashbrown::HashMap<EvalId, V, foldhash::fast::RandomState>;

/// Docker's short form of a container id: its first 12 characters. The id
/// may come from a payload rather than from Docker, so it is cut on a
/// character, never a byte.
pub fn short_container_id(id: &str) -> &str {
    id.char_indices().nth(12).map_or(id, |(cut, _)| &id[..cut])
}

/// The name of one container engine (one executor host's Docker engine,
/// or later a Kubernetes cluster): container ids are unique per engine
/// only, so every runtime fact is keyed by (engine, container id). Shared,
/// because every observation and record of the engine names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EngineName(Arc<str>);

impl EngineName {
    pub fn new(name: &str) -> Self {
        EngineName(Arc::from(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name, shared rather than copied.
    pub fn as_arc(&self) -> Arc<str> {
        self.0.clone()
    }

    /// A recording written before engines had names leaves it empty.
    pub fn is_unnamed(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for EngineName {
    fn from(name: &str) -> Self {
        EngineName::new(name)
    }
}

impl std::fmt::Display for EngineName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for EngineName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EngineName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(EngineName::new(&crate::sanitize::clean_line(&name)))
    }
}

/// Where a fact came from: one container engine among several, Redis, or
/// evaltop itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Docker(EngineName),
    Redis,
    Evaltop,
}

impl Source {
    /// The kind of source, for logs and the event log's column.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Docker(_) => "docker",
            Source::Redis => "redis",
            Source::Evaltop => "evaltop",
        }
    }

    /// `docker:exec-1`, `redis`, `evaltop`: how a source is written in a
    /// recording and shown where engines must be told apart.
    pub fn label(&self) -> String {
        match self {
            Source::Docker(engine) if engine.is_unnamed() => "docker".to_string(),
            Source::Docker(engine) => format!("docker:{engine}"),
            Source::Redis | Source::Evaltop => self.name().to_string(),
        }
    }

    pub fn parse(text: &str) -> Option<Source> {
        match text.split_once(':') {
            Some(("docker", engine)) => Some(Source::Docker(EngineName::from(engine))),
            Some(_) => None,
            None => match text {
                // A recording written before engines had names.
                "docker" => Some(Source::Docker(EngineName::default())),
                "redis" => Some(Source::Redis),
                "evaltop" => Some(Source::Evaltop),
                _ => None,
            },
        }
    }

    pub fn engine(&self) -> Option<&EngineName> {
        match self {
            Source::Docker(engine) => Some(engine),
            Source::Redis | Source::Evaltop => None,
        }
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Source::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown source {text:?}: docker, docker:NAME, redis or evaltop"
            ))
        })
    }
}

/// The platform's evaluation statuses, plus `timeout`, which a completion
/// event may carry and which counts as a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Submitted,
    Queued,
    Provisioning,
    Running,
    Completed,
    Failed,
    Timeout,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Submitted,
        Status::Queued,
        Status::Provisioning,
        Status::Running,
        Status::Completed,
        Status::Failed,
        Status::Timeout,
        Status::Cancelled,
    ];

    pub fn parse(text: &str) -> Option<Status> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "submitted" => Status::Submitted,
            "queued" => Status::Queued,
            "provisioning" => Status::Provisioning,
            "running" => Status::Running,
            "completed" => Status::Completed,
            "failed" => Status::Failed,
            "timeout" => Status::Timeout,
            "cancelled" | "canceled" => Status::Cancelled,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Status::Submitted => "submitted",
            Status::Queued => "queued",
            Status::Provisioning => "provisioning",
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Failed => "failed",
            Status::Timeout => "timeout",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Failed | Status::Timeout | Status::Cancelled
        )
    }

    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Timeout)
    }

    /// Progress order used so that a late or duplicate event never moves an
    /// evaluation backwards. All terminal statuses share the top rank.
    pub fn rank(self) -> u8 {
        match self {
            Status::Submitted => 0,
            Status::Queued => 1,
            Status::Provisioning => 2,
            Status::Running => 3,
            _ => 4,
        }
    }
}

/// A container's state as Docker reports it, plus `Removed` for a container
/// that is gone (destroy event, 404, or absent from a full list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    Removed,
}

impl ContainerState {
    pub fn parse(text: &str) -> Option<ContainerState> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "created" => ContainerState::Created,
            "running" => ContainerState::Running,
            "paused" => ContainerState::Paused,
            "restarting" => ContainerState::Restarting,
            "removing" => ContainerState::Removing,
            "exited" => ContainerState::Exited,
            "dead" => ContainerState::Dead,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Removed => "removed",
        }
    }

    /// The process inside has ended (the container may still exist).
    pub fn has_ended(self) -> bool {
        matches!(
            self,
            ContainerState::Exited
                | ContainerState::Dead
                | ContainerState::Removing
                | ContainerState::Removed
        )
    }

    /// Still alive and consuming resources.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            ContainerState::Running | ContainerState::Paused | ContainerState::Restarting
        )
    }
}

/// The Docker container events evaltop acts on (type `container`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerAction {
    Create,
    Start,
    Die,
    Kill,
    Oom,
    Stop,
    Destroy,
    Other,
}

impl ContainerAction {
    pub fn parse(text: &str) -> ContainerAction {
        // Docker suffixes some actions with details ("exec_start: sh").
        match text.split(':').next().unwrap_or("").trim() {
            "create" => ContainerAction::Create,
            "start" => ContainerAction::Start,
            "die" => ContainerAction::Die,
            "kill" => ContainerAction::Kill,
            "oom" => ContainerAction::Oom,
            "stop" => ContainerAction::Stop,
            "destroy" => ContainerAction::Destroy,
            _ => ContainerAction::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ContainerAction::Create => "create",
            ContainerAction::Start => "start",
            ContainerAction::Die => "die",
            ContainerAction::Kill => "kill",
            ContainerAction::Oom => "oom",
            ContainerAction::Stop => "stop",
            ContainerAction::Destroy => "destroy",
            ContainerAction::Other => "other",
        }
    }
}

/// Everything Docker can tell about one container, from a list entry or an
/// inspect. Fields a list cannot give (exit code, finish time, OOM, TTY) are
/// `None` until an inspect fills them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerFacts {
    /// The engine that reported it (set by the engine's source).
    #[serde(default)]
    pub engine: EngineName,
    pub container_id: String,
    pub eval_id: String,
    pub state: Option<ContainerState>,
    pub executor: Option<String>,
    /// The `created_at` label as written; `created_at` is its parsed value.
    pub created_at_label: Option<String>,
    pub created_at: Option<Ts>,
    /// The `timeout` label in seconds, when it parses.
    pub timeout_secs: Option<u32>,
    pub exit_code: Option<i64>,
    pub oom_killed: Option<bool>,
    pub started_at: Option<Ts>,
    pub finished_at: Option<Ts>,
    pub tty: Option<bool>,
    /// True when these facts come from an inspect (complete), false for a
    /// list entry.
    pub inspected: bool,
}

/// A Docker container event, normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerEvent {
    /// The engine that reported it (set by the engine's source).
    #[serde(default)]
    pub engine: EngineName,
    pub container_id: String,
    pub eval_id: String,
    pub action: ContainerAction,
    /// The daemon's time of the event.
    pub at: Ts,
    pub executor: Option<String>,
    pub created_at_label: Option<String>,
    pub timeout_label: Option<String>,
    /// `signal` attribute of a kill event.
    pub signal: Option<String>,
    /// `exitCode` attribute of a die event. Provisional: a label named
    /// `exitCode` overwrites it, so an inspect's exit code takes precedence.
    pub exit_code_attr: Option<i64>,
}

/// How Docker kept a container's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// Started with a TTY: one console stream.
    Console,
    Stdout,
    Stderr,
}

impl StreamKind {
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Console => "console",
            StreamKind::Stdout => "stdout",
            StreamKind::Stderr => "stderr",
        }
    }
}

/// Logs read from Docker when a container died: the last bytes of each
/// stream, already sanitised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapturedLogs {
    /// True when Docker kept one console stream (TTY); then only `stdout`
    /// is used and holds the console.
    pub tty: bool,
    pub stdout: String,
    pub stderr: String,
    /// Bytes Docker returned before the tail was cut to its bound.
    pub total_bytes: u64,
    pub truncated: bool,
    pub captured_at: Ts,
}

impl CapturedLogs {
    pub fn is_empty(&self) -> bool {
        self.stdout.trim().is_empty() && self.stderr.trim().is_empty()
    }
}

/// One line of a container's output as Docker timestamps it (`at` is
/// `None` when the line came without Docker's time), sanitised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimedLine {
    pub stream: StreamKind,
    pub at: Option<Ts>,
    pub text: String,
}

/// A status message from `evaluation:{status}`, decoded tolerantly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusMessage {
    pub eval_id: String,
    pub status: Option<Status>,
    pub executor_id: Option<String>,
    pub container_id: Option<String>,
    pub timeout_secs: Option<u32>,
    pub exit_code: Option<i64>,
    /// Byte lengths of `output` and `error`; `None` when the field was
    /// missing or null.
    pub output_len: Option<usize>,
    pub error_len: Option<usize>,
    /// The start of `error` (or the `reason` of a manual update), sanitised
    /// and cut short: enough to show what happened.
    pub error_excerpt: Option<String>,
    pub manual_update: bool,
    /// The time the publisher wrote (`completed_at`, `failed_at`,
    /// `metadata.submitted_at`), when present and parseable.
    pub reported_at: Option<Ts>,
}

/// A message from `evaluation:{eval_id}:logs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogMessage {
    pub eval_id: String,
    pub sequence: Option<i64>,
    pub content: String,
    pub is_heartbeat: bool,
    pub is_final: bool,
    pub executor_id: Option<String>,
}

/// A confirmation from `storage:evaluation:{kind}` that the durable record
/// changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageMessage {
    pub eval_id: String,
    /// Written as `storage_kind`: `kind` is the observation's own tag.
    #[serde(rename = "storage_kind")]
    pub kind: String,
    pub status: Option<Status>,
    pub executor_id: Option<String>,
}

/// The JSON held in `eval:{id}:running`, with the key's TTL.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningKey {
    pub eval_id: String,
    pub executor_id: Option<String>,
    pub container_id: Option<String>,
    pub started_at: Option<Ts>,
    pub timeout_secs: Option<u32>,
    /// Remaining time to live in milliseconds; `None` when the key has none.
    pub ttl_ms: Option<i64>,
    /// False when the value could not be read as the expected JSON; the
    /// key still proves the evaluation is held as running.
    pub value_ok: bool,
}

/// A `logs:{id}:latest` key: evidence that an evaluation wrote output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatestLogKey {
    pub eval_id: String,
    pub bytes: usize,
    pub ttl_ms: Option<i64>,
}

/// One full read of the Redis keys evaltop watches. What it does not list
/// is, as of `at`, absent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RedisSnapshot {
    pub running_set: Vec<String>,
    pub running_keys: Vec<RunningKey>,
    pub pending: Vec<(String, String)>,
    pub latest_logs: Vec<LatestLogKey>,
}

/// A payload that could not be used: counted, logged, and otherwise ignored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub source: Source,
    pub channel: String,
    pub reason: String,
}

/// Something a source observed, with the time evaltop received it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Observation {
    /// Every container labelled `eval_id` (within the executor filter), as
    /// of `at` on the daemon's clock. Containers not in it are gone.
    DockerList {
        /// The engine listed: the list says nothing of other engines.
        #[serde(default)]
        engine: EngineName,
        containers: Vec<ContainerFacts>,
        /// Local time the list was requested: a container first seen after
        /// it is not absent, just newer than the list.
        requested_at: Ts,
    },
    DockerEvent(ContainerEvent),
    /// An inspect of one container.
    DockerInspect(ContainerFacts),
    /// An inspect or log read answered 404: the container is gone.
    DockerGone {
        #[serde(default)]
        engine: EngineName,
        container_id: String,
        eval_id: String,
    },
    /// Logs read right after a container died (or found exited).
    DockerLogs {
        #[serde(default)]
        engine: EngineName,
        container_id: String,
        eval_id: String,
        logs: CapturedLogs,
    },
    RedisStatus {
        channel_status: Status,
        message: StatusMessage,
    },
    RedisLog(LogMessage),
    RedisStorage(StorageMessage),
    RedisKeys(RedisSnapshot),
    Rejected(Rejection),
    /// A source connected (and is about to read everything again).
    SourceUp {
        source: Source,
        detail: String,
    },
    /// A source lost its connection or could not reach its server.
    SourceDown {
        source: Source,
        reason: String,
    },
    /// A source stopped answering: a liveness probe or a request had no
    /// answer within its deadline. Down, like `SourceDown`, and shown as
    /// "not answering".
    SourceUnanswered {
        source: Source,
        reason: String,
    },
    /// A liveness probe sent at `probed_at` was answered: the source was
    /// live then.
    SourceLive {
        source: Source,
        probed_at: Ts,
    },
    /// How far behind the source is: `waiting` messages read and not yet
    /// applied, the oldest read `oldest_ms` ago. Sent with each liveness
    /// probe while behind, and once more when caught up (`waiting` 0).
    SourceLag {
        source: Source,
        waiting: u64,
        oldest_ms: i64,
    },
    /// How far a source's first full read after connecting has come
    /// (the list asked for, keys found, values read): the header shows it
    /// until the read is applied.
    SourceProgress {
        source: Source,
        progress: super::progress::ReadProgress,
    },
    /// A Docker list showed changes that the event stream never reported:
    /// the stream is suspect and is started again. It was last shown
    /// consistent by the list requested at `consistent_at`.
    DockerStreamMissed {
        /// The engine whose stream missed them.
        #[serde(default)]
        engine: EngineName,
        missed: u32,
        /// One of the changes, e.g. "abc123 exited, no die event".
        example: String,
        consistent_at: Option<Ts>,
    },
    /// evaltop's operator killed the container (the kill action's
    /// outcome): its death is the operator's doing, not a timeout.
    Killed {
        eval_id: String,
        container_id: String,
        signal: String,
    },
}

impl Observation {
    /// The engine a Docker observation came from; `None` for the others.
    pub fn engine(&self) -> Option<&EngineName> {
        match self {
            Observation::DockerList { engine, .. }
            | Observation::DockerGone { engine, .. }
            | Observation::DockerLogs { engine, .. } => Some(engine),
            Observation::DockerEvent(event) => Some(&event.engine),
            Observation::DockerInspect(facts) => Some(&facts.engine),
            Observation::DockerStreamMissed { engine, .. } => Some(engine),
            Observation::SourceUp { source, .. }
            | Observation::SourceDown { source, .. }
            | Observation::SourceUnanswered { source, .. }
            | Observation::SourceLive { source, .. }
            | Observation::SourceLag { source, .. }
            | Observation::SourceProgress { source, .. } => source.engine(),
            Observation::Rejected(rejection) => rejection.source.engine(),
            // evaltop's own: it acted on the record's container.
            Observation::Killed { .. }
            | Observation::RedisStatus { .. }
            | Observation::RedisLog(_)
            | Observation::RedisStorage(_)
            | Observation::RedisKeys(_) => None,
        }
    }

    /// Names the engine of a Docker observation: every one that leaves an
    /// engine's source, and every unnamed one replayed from an older
    /// recording. Other observations are left as they are.
    pub fn with_engine(mut self, name: &EngineName) -> Self {
        let slot = match &mut self {
            Observation::DockerList {
                engine, containers, ..
            } => {
                for facts in containers.iter_mut() {
                    facts.engine = name.clone();
                }
                Some(engine)
            }
            Observation::DockerGone { engine, .. } | Observation::DockerLogs { engine, .. } => {
                Some(engine)
            }
            Observation::DockerEvent(event) => Some(&mut event.engine),
            Observation::DockerInspect(facts) => Some(&mut facts.engine),
            Observation::DockerStreamMissed { engine, .. } => Some(engine),
            Observation::SourceUp { source, .. }
            | Observation::SourceDown { source, .. }
            | Observation::SourceUnanswered { source, .. }
            | Observation::SourceLive { source, .. }
            | Observation::SourceLag { source, .. }
            | Observation::SourceProgress { source, .. } => match source {
                Source::Docker(engine) => Some(engine),
                Source::Redis | Source::Evaltop => None,
            },
            Observation::Rejected(rejection) => match &mut rejection.source {
                Source::Docker(engine) => Some(engine),
                Source::Redis | Source::Evaltop => None,
            },
            Observation::Killed { .. }
            | Observation::RedisStatus { .. }
            | Observation::RedisLog(_)
            | Observation::RedisStorage(_)
            | Observation::RedisKeys(_) => None,
        };
        if let Some(engine) = slot {
            *engine = name.clone();
        }
        self
    }

    /// Names the engine only where a recording left it unnamed.
    pub fn with_default_engine(self, name: &EngineName) -> Self {
        match self.engine() {
            Some(engine) if engine.is_unnamed() => self.with_engine(name),
            Some(_) | None => self,
        }
    }
}
