//! Triage actions as data: what an operator asked for (an `Effect`), what
//! came of it (an `Outcome`), and the pure rules around them (the
//! force-failed payload, its prefilled reason, refusals, audit entries).
//! No IO here: `effects` runs these against Docker and Redis.

pub mod audit;
mod force_fail;
mod refusal;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{CapturedLogs, EngineName, EvalRecord, TimedLine, Ts, human_duration};

pub use audit::{AuditEntry, AuditPhase};
pub use force_fail::{ForceFailRequest, force_fail_payload, prefilled_reason};
pub use refusal::{Refusal, refusal};

/// The signal a kill sends unless configured otherwise.
pub const DEFAULT_KILL_SIGNAL: &str = "SIGKILL";
/// How long a kill waits for the `die` event, and a forced failure for the
/// storage worker's confirmation, unless configured otherwise.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// The TTL the platform gives `logs:{id}:latest` (PROTOCOL.md): the key's
/// age is this minus what is left of it.
pub const LATEST_LOG_TTL_MS: i64 = 300_000;

/// The triage actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    Kill,
    Remove,
    FetchLogs,
    ForceFail,
    CleanRunning,
}

impl ActionKind {
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Kill,
        ActionKind::Remove,
        ActionKind::FetchLogs,
        ActionKind::ForceFail,
        ActionKind::CleanRunning,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Kill => "kill",
            ActionKind::Remove => "remove",
            ActionKind::FetchLogs => "fetch-logs",
            ActionKind::ForceFail => "force-fail",
            ActionKind::CleanRunning => "clean-running",
        }
    }

    /// Whether the action changes Docker or Redis. `--read-only` turns off
    /// every action that does; reading logs changes nothing, so it stays.
    pub fn writes(self) -> bool {
        !matches!(self, ActionKind::FetchLogs)
    }
}

/// What an action acts on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    pub eval_id: String,
    pub container_id: Option<String>,
    /// The engine that holds the container: actions go there, and the
    /// dialog and the audit name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<EngineName>,
    pub executor: Option<String>,
}

impl Target {
    pub fn new(eval_id: &str) -> Self {
        Target {
            eval_id: eval_id.to_string(),
            ..Target::default()
        }
    }

    /// The evaluation with the container and executor its record knows.
    pub fn of(eval_id: &str, record: &EvalRecord) -> Self {
        Target {
            eval_id: eval_id.to_string(),
            container_id: record.container_id().map(str::to_string),
            engine: record.engine().cloned(),
            executor: record.executor().map(str::to_string),
        }
    }

    pub fn with_container(mut self, container_id: &str) -> Self {
        self.container_id = Some(container_id.to_string());
        self
    }

    pub fn with_engine(mut self, engine: &str) -> Self {
        self.engine = Some(EngineName::new(engine));
        self
    }
}

/// An action to run, with everything it needs: the runner reads no state.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send `signal` to the container and watch for its `die` event.
    Kill { target: Target, signal: String },
    /// Force-remove the container.
    Remove { target: Target },
    /// Read the container's logs again, falling back to `captured` (the
    /// copy the core took at its death), then to `logs:{id}:latest`.
    FetchLogs {
        target: Target,
        captured: Option<CapturedLogs>,
        window: LogWindow,
    },
    /// Publish `payload` on `evaluation:failed` and wait up to `wait` for
    /// the storage worker's `storage:evaluation:updated`.
    ForceFail {
        target: Target,
        payload: Value,
        wait: Duration,
    },
    /// DEL `eval:{id}:running` and SREM it from `running_evaluations`, then
    /// check that both are gone.
    CleanRunning { target: Target },
}

impl Effect {
    /// A forced failure with its payload built from `request`.
    pub fn force_fail(request: &ForceFailRequest<'_>, wait: Duration) -> Effect {
        Effect::ForceFail {
            target: Target::of(request.eval_id, request.record),
            payload: force_fail_payload(request),
            wait,
        }
    }

    pub fn kind(&self) -> ActionKind {
        match self {
            Effect::Kill { .. } => ActionKind::Kill,
            Effect::Remove { .. } => ActionKind::Remove,
            Effect::FetchLogs { .. } => ActionKind::FetchLogs,
            Effect::ForceFail { .. } => ActionKind::ForceFail,
            Effect::CleanRunning { .. } => ActionKind::CleanRunning,
        }
    }

    pub fn target(&self) -> &Target {
        match self {
            Effect::Kill { target, .. }
            | Effect::Remove { target }
            | Effect::FetchLogs { target, .. }
            | Effect::ForceFail { target, .. }
            | Effect::CleanRunning { target } => target,
        }
    }

    /// The operator's reason, for the audit (a forced failure's `reason`).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Effect::ForceFail { payload, .. } => payload.get("reason").and_then(Value::as_str),
            _ => None,
        }
    }
}

/// Which part of a long log to read from Docker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogWindow {
    /// The last lines only.
    Tail(usize),
    /// What was written in the last so many seconds.
    SinceSecs(u32),
    /// Everything Docker kept.
    All,
}

impl Default for LogWindow {
    fn default() -> Self {
        LogWindow::Tail(DEFAULT_LOG_TAIL)
    }
}

/// Lines read from Docker unless the operator asks for another window.
pub const DEFAULT_LOG_TAIL: usize = 5000;

impl LogWindow {
    /// The choices the logs view cycles through, in order.
    pub const CHOICES: [LogWindow; 5] = [
        LogWindow::Tail(DEFAULT_LOG_TAIL),
        LogWindow::Tail(500),
        LogWindow::SinceSecs(600),
        LogWindow::SinceSecs(3600),
        LogWindow::All,
    ];

    /// The next choice after this one.
    pub fn next(self) -> LogWindow {
        let at = Self::CHOICES.iter().position(|w| *w == self).unwrap_or(0);
        Self::CHOICES[(at + 1) % Self::CHOICES.len()]
    }

    /// "last 5000 lines", "last 10m", "everything".
    pub fn describe(self) -> String {
        match self {
            LogWindow::Tail(n) => format!("last {n} lines"),
            LogWindow::SinceSecs(secs) => {
                format!("last {}", human_duration(i64::from(secs) * 1000))
            }
            LogWindow::All => "everything".to_string(),
        }
    }
}

/// What a logs stream that follows a running container sends back.
#[derive(Clone, Debug, PartialEq)]
pub struct LogStreamEvent {
    pub eval_id: String,
    /// Which stream this is (a new one starts at each opening).
    pub stream_id: u64,
    pub lines: Vec<TimedLine>,
    /// Docker kept one console stream.
    pub tty: bool,
    /// The stream is over: `Ok` when Docker ended it (the container
    /// stopped), else why it failed.
    pub end: Option<Result<(), String>>,
}

/// Where re-fetched logs came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum LogOrigin {
    /// Read from Docker now; `tty`: one console stream.
    Docker { tty: bool },
    /// The container is gone: the copy the core captured at its death.
    CapturedAtDeath { age_ms: i64 },
    /// The container is gone and no copy was captured: `logs:{id}:latest`,
    /// the latest chunk only. Its age is inferred from the TTL left
    /// (`None` when the key has no TTL), hence "about".
    RedisLatest { age_ms: Option<i64> },
    /// Nothing found anywhere.
    Nothing,
}

impl LogOrigin {
    /// Where the logs came from and how old they are, e.g. "the copy
    /// captured at the container's death, 41s old".
    pub fn describe(&self) -> String {
        match self {
            LogOrigin::Docker { tty: true } => {
                "from Docker: single console stream (TTY)".to_string()
            }
            LogOrigin::Docker { tty: false } => "from Docker: stdout and stderr apart".to_string(),
            LogOrigin::CapturedAtDeath { age_ms } => format!(
                "the copy captured at the container's death, {} old",
                human_duration(*age_ms)
            ),
            LogOrigin::RedisLatest { age_ms: Some(age) } => format!(
                "logs:{{id}}:latest (latest chunk only), about {} old",
                human_duration(*age)
            ),
            LogOrigin::RedisLatest { age_ms: None } => {
                "logs:{id}:latest (latest chunk only), age unknown (no TTL)".to_string()
            }
            LogOrigin::Nothing => "no captured copy, and logs:{id}:latest absent".to_string(),
        }
    }
}

/// `HH:MM:SS`: a time as an operator reads evidence, without milliseconds.
pub(crate) fn clock_secs(at: Ts) -> String {
    let clock = at.clock();
    clock.get(..8).unwrap_or(&clock).to_string()
}

/// The age of `logs:{id}:latest` from its PTTL: `None` when the key has no
/// TTL (-1) or is gone (-2).
pub fn latest_log_age_ms(pttl_ms: i64) -> Option<i64> {
    (pttl_ms >= 0).then(|| (LATEST_LOG_TTL_MS - pttl_ms).max(0))
}

/// What an action found or did, beyond its one-line summary.
#[derive(Clone, Debug, PartialEq)]
pub enum OutcomeDetail {
    None,
    /// Not run: evaltop is read-only.
    ReadOnly,
    Kill {
        /// The container's exit code: from an inspect after the `die`, else
        /// the event's attribute; for an already exited container, its own.
        exit_code: Option<i64>,
        die_seen: bool,
        /// The container had already ended (or was gone) before the kill.
        already_ended: bool,
    },
    Remove {
        already_gone: bool,
    },
    Logs {
        origin: LogOrigin,
        logs: CapturedLogs,
        /// False when the logs are a bounded tail or only the latest chunk,
        /// or the container still runs.
        complete: bool,
        /// Read from Docker: the same lines with Docker's times.
        lines: Vec<TimedLine>,
    },
    ForceFail {
        confirmed: bool,
        /// How many subscribers received the publish (pattern subscribers
        /// included): 0 means no storage worker was listening.
        receivers: i64,
        /// Not confirmed: offer to clean the Redis running state directly.
        offer_clean: bool,
    },
    CleanRunning {
        key_gone: bool,
        member_gone: bool,
    },
}

/// What came of an action: sent back to the app loop as an event.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub kind: ActionKind,
    pub target: Target,
    /// The action achieved what it was for (an already exited container
    /// counts as killed: there is nothing left to kill).
    pub ok: bool,
    /// One line for the status bar, e.g. "killed: exit 137".
    pub summary: String,
    pub detail: OutcomeDetail,
    /// Set when the audit could not be written (file or stream); the
    /// outcome itself is still what happened.
    pub audit_error: Option<String>,
    pub at: Ts,
}

impl Outcome {
    pub fn new(kind: ActionKind, target: Target, ok: bool, summary: String, at: Ts) -> Self {
        Outcome {
            kind,
            target,
            ok,
            summary,
            detail: OutcomeDetail::None,
            audit_error: None,
            at,
        }
    }

    pub fn with_detail(mut self, detail: OutcomeDetail) -> Self {
        self.detail = detail;
        self
    }

    /// The outcome of an action refused because evaltop is read-only.
    pub fn read_only(kind: ActionKind, target: Target, at: Ts) -> Self {
        Outcome::new(
            kind,
            target,
            false,
            format!("read-only: {} not run", kind.name()),
            at,
        )
        .with_detail(OutcomeDetail::ReadOnly)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fetching_logs_is_allowed_read_only() {
        let writing: Vec<_> = ActionKind::ALL.into_iter().filter(|k| k.writes()).collect();
        assert_eq!(
            writing,
            [
                ActionKind::Kill,
                ActionKind::Remove,
                ActionKind::ForceFail,
                ActionKind::CleanRunning
            ]
        );
    }

    #[test]
    fn latest_log_age_comes_from_the_ttl_left() {
        assert_eq!(latest_log_age_ms(288_000), Some(12_000));
        assert_eq!(latest_log_age_ms(400_000), Some(0));
        assert_eq!(latest_log_age_ms(-1), None);
        assert_eq!(latest_log_age_ms(-2), None);
        assert_eq!(
            LogOrigin::RedisLatest {
                age_ms: Some(12_000)
            }
            .describe(),
            "logs:{id}:latest (latest chunk only), about 12s old"
        );
    }

    #[test]
    fn read_only_outcomes_say_so() {
        let outcome = Outcome::read_only(ActionKind::Kill, Target::new("e"), Ts(1));
        assert!(!outcome.ok);
        assert_eq!(outcome.summary, "read-only: kill not run");
        assert_eq!(outcome.detail, OutcomeDetail::ReadOnly);
    }
}
