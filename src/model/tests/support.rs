//! Terse builders for observations, and the table runners the model tests
//! share: a case is a sequence of (time, observation) steps, applied to a
//! fresh state, then checked.

use crate::model::EngineName;
use std::fmt::Debug;

use crate::model::{
    CapturedLogs, ContainerAction, ContainerEvent, ContainerFacts, ContainerState, EvalRecord,
    Flag, FlagKind, HealthContext, LatestLogKey, LogMessage, Observation, RedisSnapshot, Rejection,
    RunningKey, Settings, Source, State, Status, StatusMessage, StorageMessage, Ts, assess,
};

/// The evaluation most cases are about.
pub const ID: &str = "eval_20250706_005515_529f833e";
/// Its container (Docker's full id) and a second one.
pub const CID: &str = "529f833e0000000000000000000000000000000000000000000000000000aaaa";
pub const CID2: &str = "529f833e0000000000000000000000000000000000000000000000000000bbbb";
/// 2025-07-06T00:55:15Z: the submission time in `ID`.
pub const T0_MS: i64 = 1_751_763_315_000;
/// The `created_at` label of a container created at `t(0)`.
pub const CREATED_AT: &str = "2025-07-06T00:55:15.000000+00:00";

/// `secs` seconds after T0.
pub fn t(secs: i64) -> Ts {
    Ts(T0_MS + secs * 1000)
}

/// `ms` milliseconds after T0.
pub fn tm(ms: i64) -> Ts {
    Ts(T0_MS + ms)
}

pub type Steps = Vec<(Ts, Observation)>;

/// A status message on `evaluation:{channel}` about `ID`.
pub struct Msg(pub Status, pub StatusMessage);

pub fn msg(channel: Status) -> Msg {
    Msg(
        channel,
        StatusMessage {
            eval_id: ID.to_string(),
            ..StatusMessage::default()
        },
    )
}

impl Msg {
    pub fn id(mut self, id: &str) -> Self {
        self.1.eval_id = id.to_string();
        self
    }
    /// The payload's `status` field.
    pub fn says(mut self, status: Status) -> Self {
        self.1.status = Some(status);
        self
    }
    pub fn exit(mut self, code: i64) -> Self {
        self.1.exit_code = Some(code);
        self
    }
    /// Byte lengths of `output` and `error`.
    pub fn out_err(mut self, output: usize, error: usize) -> Self {
        self.1.output_len = Some(output);
        self.1.error_len = Some(error);
        self
    }
    pub fn excerpt(mut self, text: &str) -> Self {
        self.1.error_excerpt = Some(text.to_string());
        self
    }
    pub fn manual(mut self) -> Self {
        self.1.manual_update = true;
        self
    }
    pub fn executor(mut self, executor: &str) -> Self {
        self.1.executor_id = Some(executor.to_string());
        self
    }
    pub fn container(mut self, id: &str) -> Self {
        self.1.container_id = Some(id.to_string());
        self
    }
    pub fn timeout(mut self, secs: u32) -> Self {
        self.1.timeout_secs = Some(secs);
        self
    }
}

impl From<Msg> for Observation {
    fn from(Msg(channel_status, message): Msg) -> Observation {
        Observation::RedisStatus {
            channel_status,
            message,
        }
    }
}

/// A Docker event about `CID` of `ID`, with the platform's labels
/// (created at `t(0)`, timeout 30 s).
pub struct Event(pub ContainerEvent);

pub fn event(action: ContainerAction, at: Ts) -> Event {
    Event(ContainerEvent {
        engine: EngineName::default(),
        container_id: CID.to_string(),
        eval_id: ID.to_string(),
        action,
        at,
        executor: Some("executor-2".to_string()),
        created_at_label: Some(CREATED_AT.to_string()),
        timeout_label: Some("30".to_string()),
        signal: None,
        exit_code_attr: None,
    })
}

impl Event {
    pub fn cid(mut self, id: &str) -> Self {
        self.0.container_id = id.to_string();
        self
    }
    pub fn exit(mut self, code: i64) -> Self {
        self.0.exit_code_attr = Some(code);
        self
    }
    pub fn created(mut self, label: Option<&str>) -> Self {
        self.0.created_at_label = label.map(str::to_string);
        self
    }
    pub fn timeout(mut self, label: &str) -> Self {
        self.0.timeout_label = Some(label.to_string());
        self
    }
}

impl From<Event> for Observation {
    fn from(event: Event) -> Observation {
        Observation::DockerEvent(event.0)
    }
}

/// A container as a list entry (or, with `inspected`, an inspect) of `CID`
/// of `ID`, created at `t(0)` with a 30 s timeout.
pub struct Facts(pub ContainerFacts);

pub fn facts(state: ContainerState) -> Facts {
    Facts(ContainerFacts {
        container_id: CID.to_string(),
        eval_id: ID.to_string(),
        state: Some(state),
        executor: Some("executor-2".to_string()),
        created_at_label: Some(CREATED_AT.to_string()),
        created_at: Ts::parse(CREATED_AT),
        timeout_secs: Some(30),
        ..ContainerFacts::default()
    })
}

impl Facts {
    pub fn id(mut self, id: &str) -> Self {
        self.0.eval_id = id.to_string();
        self
    }
    pub fn cid(mut self, id: &str) -> Self {
        self.0.container_id = id.to_string();
        self
    }
    /// The `created_at` label, parsed as the source would.
    pub fn created(mut self, label: Option<&str>) -> Self {
        self.0.created_at_label = label.map(str::to_string);
        self.0.created_at = label.and_then(Ts::parse);
        self
    }
    pub fn timeout(mut self, secs: u32) -> Self {
        self.0.timeout_secs = Some(secs);
        self
    }
    /// An inspect: exit code and finish time are known.
    pub fn inspected(mut self, exit_code: i64, finished_at: Option<Ts>) -> Self {
        self.0.inspected = true;
        self.0.exit_code = Some(exit_code);
        self.0.finished_at = finished_at;
        self
    }
    pub fn get(self) -> ContainerFacts {
        self.0
    }
}

impl From<Facts> for Observation {
    fn from(facts: Facts) -> Observation {
        Observation::DockerInspect(facts.0)
    }
}

pub fn list(requested_at: Ts, containers: Vec<Facts>) -> Observation {
    Observation::DockerList {
        engine: EngineName::default(),
        containers: containers.into_iter().map(Facts::get).collect(),
        requested_at,
    }
}

pub fn gone(container_id: &str) -> Observation {
    Observation::DockerGone {
        engine: EngineName::default(),
        container_id: container_id.to_string(),
        eval_id: ID.to_string(),
    }
}

pub fn docker_logs(container_id: &str, console: &str, at: Ts) -> Observation {
    Observation::DockerLogs {
        engine: EngineName::default(),
        container_id: container_id.to_string(),
        eval_id: ID.to_string(),
        logs: CapturedLogs {
            tty: true,
            stdout: console.to_string(),
            stderr: String::new(),
            total_bytes: console.len() as u64,
            truncated: false,
            captured_at: at,
        },
    }
}

/// A scan of the Redis keys.
#[derive(Default)]
pub struct Keys(pub RedisSnapshot);

pub fn keys() -> Keys {
    Keys::default()
}

impl Keys {
    /// `id` is a member of `running_evaluations`.
    pub fn in_set(mut self, id: &str) -> Self {
        self.0.running_set.push(id.to_string());
        self
    }
    /// `eval:{id}:running` exists, started at `t(0)`, timeout 30 s.
    pub fn running_key(mut self, id: &str) -> Self {
        self.0.running_keys.push(RunningKey {
            eval_id: id.to_string(),
            executor_id: Some("executor-2".to_string()),
            container_id: Some(CID[..12].to_string()),
            started_at: Some(t(0)),
            timeout_secs: Some(30),
            ttl_ms: Some(90_000),
            value_ok: true,
        });
        self
    }
    /// Both: how Redis holds a running evaluation.
    pub fn running(self, id: &str) -> Self {
        self.in_set(id).running_key(id)
    }
    pub fn pending(mut self, id: &str, status: &str) -> Self {
        self.0.pending.push((id.to_string(), status.to_string()));
        self
    }
    pub fn latest(mut self, id: &str, bytes: usize) -> Self {
        self.0.latest_logs.push(LatestLogKey {
            eval_id: id.to_string(),
            bytes,
            ttl_ms: Some(300_000),
        });
        self
    }
}

impl From<Keys> for Observation {
    fn from(keys: Keys) -> Observation {
        Observation::RedisKeys(keys.0)
    }
}

pub fn log(content: &str) -> Observation {
    Observation::RedisLog(LogMessage {
        eval_id: ID.to_string(),
        sequence: Some(1),
        content: content.to_string(),
        ..LogMessage::default()
    })
}

pub fn heartbeat() -> Observation {
    Observation::RedisLog(LogMessage {
        eval_id: ID.to_string(),
        is_heartbeat: true,
        ..LogMessage::default()
    })
}

pub fn final_log(content: &str) -> Observation {
    Observation::RedisLog(LogMessage {
        eval_id: ID.to_string(),
        content: content.to_string(),
        is_final: true,
        ..LogMessage::default()
    })
}

pub fn storage(kind: &str, status: Option<Status>) -> Observation {
    Observation::RedisStorage(StorageMessage {
        eval_id: ID.to_string(),
        kind: kind.to_string(),
        status,
        executor_id: None,
    })
}

pub fn rejected(channel: &str) -> Observation {
    Observation::Rejected(Rejection {
        source: Source::Redis,
        channel: channel.to_string(),
        reason: "not JSON".to_string(),
    })
}

pub fn up(source: Source) -> Observation {
    Observation::SourceUp {
        source,
        detail: "test".to_string(),
    }
}

pub fn down(source: Source) -> Observation {
    Observation::SourceDown {
        source,
        reason: "connection reset".to_string(),
    }
}

/// A liveness probe of `source`, sent at `probed_at`, answered.
pub fn live(source: Source, probed_at: Ts) -> Observation {
    Observation::SourceLive { source, probed_at }
}

/// `source` stopped answering.
pub fn unanswered(source: Source) -> Observation {
    Observation::SourceUnanswered {
        source,
        reason: "did not answer PING within 1.8s".to_string(),
    }
}

/// Both sources connected at `at` and their first full reads applied:
/// evaltop is watching everything from `at` on.
pub fn watching_from(at: Ts) -> Steps {
    vec![
        (at, up(Source::Docker(EngineName::default()))),
        (at, up(Source::Redis)),
        (at, list(at, vec![])),
        (at, keys().into()),
    ]
}

/// A fresh state with default settings after `steps`.
pub fn run(steps: Steps) -> State {
    let mut state = State::new(Settings::default());
    for (at, observation) in steps {
        state.apply(observation, at);
    }
    state
}

pub fn record<'a>(state: &'a State, id: &str) -> &'a EvalRecord {
    state
        .evals
        .get(id)
        .unwrap_or_else(|| panic!("no record for {id}"))
}

pub fn flags(state: &State, id: &str, now: Ts) -> Vec<Flag> {
    assess(record(state, id), &HealthContext::of(state, now))
}

pub fn kinds(flags: &[Flag]) -> Vec<FlagKind> {
    flags.iter().map(Flag::kind).collect()
}

/// How many timeline entries of `record` satisfy `pred`.
pub fn count(record: &EvalRecord, pred: impl Fn(&crate::model::Happening) -> bool) -> usize {
    record.timeline.iter().filter(|e| pred(&e.what)).count()
}

type Check = Box<dyn Fn(&EvalRecord) -> Result<(), String>>;

/// Expectations on one record, each a projection and the value it must
/// have.
#[derive(Default)]
pub struct Expect(Vec<Check>);

pub fn expect() -> Expect {
    Expect::default()
}

impl Expect {
    pub fn that<T: PartialEq + Debug + 'static>(
        mut self,
        what: &'static str,
        get: fn(&EvalRecord) -> T,
        want: T,
    ) -> Self {
        self.0.push(Box::new(move |record| {
            let got = get(record);
            if got == want {
                Ok(())
            } else {
                Err(format!("{what}: got {got:?}, want {want:?}"))
            }
        }));
        self
    }
    pub fn status(self, want: Option<Status>) -> Self {
        self.that("status", |r| r.redis.status, want)
    }
    pub fn container(self, want: Option<ContainerState>) -> Self {
        self.that("container state", EvalRecord::container_state, want)
    }
}

/// A merge case: steps in, expectations on the record of `ID` out.
pub struct Case {
    pub name: &'static str,
    pub steps: Steps,
    pub expect: Expect,
}

/// Runs every case and reports all failures together, by case name.
pub fn run_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        let state = run(case.steps);
        let Some(record) = state.evals.get(ID) else {
            failures.push(format!("{}: no record for {ID}", case.name));
            continue;
        };
        for check in &case.expect.0 {
            if let Err(why) = check(record) {
                failures.push(format!("{}: {why}", case.name));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A health case: steps in, the flags of `ID` at `now` out, in order, and
/// words their reasons must contain.
pub struct FlagCase {
    pub name: &'static str,
    pub steps: Steps,
    pub now: Ts,
    pub want: Vec<FlagKind>,
    pub reasons: &'static [&'static str],
}

pub fn run_flag_cases(cases: Vec<FlagCase>) {
    let mut failures = Vec::new();
    for case in cases {
        let state = run(case.steps);
        let got = flags(&state, ID, case.now);
        if kinds(&got) != case.want {
            failures.push(format!(
                "{}: flags {:?}, want {:?} ({:?})",
                case.name,
                kinds(&got),
                case.want,
                got
            ));
            continue;
        }
        let reasons: Vec<String> = got.iter().map(Flag::reason).collect();
        for word in case.reasons {
            if !reasons.iter().any(|r| r.contains(word)) {
                failures.push(format!(
                    "{}: no reason mentions {word:?}: {reasons:?}",
                    case.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Shorthand for a step list: `steps![t(1) => obs, t(2) => obs]`.
macro_rules! steps {
    ($($at:expr => $obs:expr),* $(,)?) => {
        vec![$(($at, $crate::model::Observation::from($obs))),*]
    };
}
pub(crate) use steps;

/// The Docker side of a record, which the case expects to exist.
pub fn dock(record: &EvalRecord) -> &crate::model::ContainerSide {
    record.docker.as_ref().expect("no Docker side")
}

/// Steps after `base`.
pub fn then(base: Steps, more: Steps) -> Steps {
    [base, more].concat()
}

/// A `created_at` label for `secs` seconds after T0.
pub fn label(secs: i64) -> String {
    t(secs).rfc3339()
}
