//! Health flags: computed purely from one record, the sources' coverage and
//! `now`. A flag carries its evidence as data; its reason is worded only
//! when shown, so that assessing 100,000 records allocates nothing for the
//! healthy ones.

pub use super::blind::Blind;
use super::observation::{ContainerState, EngineName, Source, Status};
use super::record::EvalRecord;
use super::state::State;
use super::time::{Ts, human_duration};

/// How loud a flag is. `Info` never makes `check` fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Alarm,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Alarm => "alarm",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FlagKind {
    LostCompletion,
    Overdue,
    EmptyFailure,
    Orphan,
    StaleRunning,
    Silent,
    TimedOut,
    Unknown,
    NeverStarted,
    Killed,
    HostUnknown,
}

impl FlagKind {
    pub const ALL: [FlagKind; 11] = [
        FlagKind::LostCompletion,
        FlagKind::Overdue,
        FlagKind::EmptyFailure,
        FlagKind::Orphan,
        FlagKind::StaleRunning,
        FlagKind::Silent,
        FlagKind::TimedOut,
        FlagKind::Unknown,
        FlagKind::NeverStarted,
        FlagKind::Killed,
        FlagKind::HostUnknown,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FlagKind::LostCompletion => "lost-completion",
            FlagKind::Overdue => "overdue",
            FlagKind::EmptyFailure => "empty-failure",
            FlagKind::Orphan => "orphan",
            FlagKind::StaleRunning => "stale-running",
            FlagKind::Silent => "silent",
            FlagKind::TimedOut => "timed-out",
            FlagKind::Unknown => "unknown",
            FlagKind::NeverStarted => "never-started",
            FlagKind::Killed => "killed",
            FlagKind::HostUnknown => "host-unknown",
        }
    }

    pub fn parse(text: &str) -> Option<FlagKind> {
        FlagKind::ALL.into_iter().find(|k| k.name() == text)
    }
}

/// Why a container is called an orphan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrphanKind {
    /// Still running though its evaluation is terminal.
    RunningAfterTerminal,
    /// Exited, the evaluation terminal, and nobody removed it.
    NotRemoved,
    /// Running, and Redis has no trace of the evaluation.
    UnknownToRedis,
    /// Exited and not removed; Redis does not hold it running, and evaltop
    /// was not watching Redis when it ended, so whether a completion was
    /// published is unknown.
    ExitedUnaccounted,
}

/// A flag with its evidence.
#[derive(Clone, Debug, PartialEq)]
pub enum Flag {
    Overdue {
        deadline: Ts,
        over_ms: i64,
        timeout_secs: u32,
    },
    LostCompletion {
        ended_at: Ts,
        ended_ago_ms: i64,
        exit_code: Option<i64>,
        removed: bool,
        held_running: bool,
    },
    EmptyFailure {
        status: Status,
        evidence: Option<String>,
    },
    Orphan {
        kind: OrphanKind,
        state: ContainerState,
        for_ms: i64,
        status: Option<Status>,
    },
    StaleRunning,
    Silent {
        quiet_ms: i64,
    },
    TimedOut {
        exit_code: Option<i64>,
        runtime_ms: Option<i64>,
        timeout_secs: Option<u32>,
    },
    /// A flag that rests on something not being seen (`suspected`, with its
    /// evidence), while the source that would have shown it was blind: it
    /// is decided once the source is back and has read everything again.
    Unknown {
        blind: Blind,
        suspected: Box<Flag>,
    },
    /// Created, never started, for longer than the grace: the executor
    /// failed between `create` and `start`.
    NeverStarted {
        created_at: Ts,
        for_ms: i64,
    },
    /// evaltop's operator killed the container (K): whatever the exit
    /// code, that is not a timeout.
    Killed {
        at: Ts,
        exit_code: Option<i64>,
        /// How far past its deadline it was killed (negative: before).
        past_deadline_ms: Option<i64>,
        timeout_secs: Option<u32>,
    },
    /// The engine that holds the container is down or has not listed since
    /// it connected: what the container does now is unknown, so no flag
    /// that rests on it is raised (nor cleared).
    HostUnknown {
        engine: EngineName,
        last_state: Option<ContainerState>,
    },
}

impl Flag {
    pub fn kind(&self) -> FlagKind {
        match self {
            Flag::Overdue { .. } => FlagKind::Overdue,
            Flag::LostCompletion { .. } => FlagKind::LostCompletion,
            Flag::EmptyFailure { .. } => FlagKind::EmptyFailure,
            Flag::Orphan { .. } => FlagKind::Orphan,
            Flag::StaleRunning => FlagKind::StaleRunning,
            Flag::Silent { .. } => FlagKind::Silent,
            Flag::TimedOut { .. } => FlagKind::TimedOut,
            Flag::Unknown { .. } => FlagKind::Unknown,
            Flag::NeverStarted { .. } => FlagKind::NeverStarted,
            Flag::Killed { .. } => FlagKind::Killed,
            Flag::HostUnknown { .. } => FlagKind::HostUnknown,
        }
    }

    /// What the table shows: the kind, and for `unknown` the blindness,
    /// e.g. "unknown: redis blind 22:43:39–22:44:39".
    pub fn label(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Flag::Unknown { blind, .. } => format!("unknown: {}", blind.describe()).into(),
            other => other.kind().name().into(),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Flag::Overdue { .. } | Flag::LostCompletion { .. } => Severity::Alarm,
            Flag::EmptyFailure { evidence, .. } => match evidence {
                Some(_) => Severity::Alarm,
                None => Severity::Info,
            },
            Flag::Orphan { .. }
            | Flag::StaleRunning
            | Flag::Silent { .. }
            | Flag::NeverStarted { .. } => Severity::Warning,
            // Not an accusation: a question that the source's return answers.
            Flag::TimedOut { .. }
            | Flag::Unknown { .. }
            | Flag::Killed { .. }
            | Flag::HostUnknown { .. } => Severity::Info,
        }
    }

    /// One line with the evidence, e.g. "container exited 1 at
    /// 00:55:16.182, 41s ago; no completion seen; still held as running".
    pub fn reason(&self) -> String {
        match self {
            Flag::Overdue {
                deadline,
                over_ms,
                timeout_secs,
            } => format!(
                "running {} past its {timeout_secs}s timeout (deadline {})",
                human_duration(*over_ms),
                deadline.clock()
            ),
            Flag::LostCompletion {
                ended_at,
                ended_ago_ms,
                exit_code,
                removed,
                held_running,
            } => {
                let how = match exit_code {
                    Some(code) => format!("exited {code}"),
                    None if *removed => "was removed".to_string(),
                    None => "ended".to_string(),
                };
                let mut text = format!(
                    "container {how} at {}, {} ago; no evaluation:completed or evaluation:failed seen",
                    ended_at.clock(),
                    human_duration(*ended_ago_ms)
                );
                if *held_running {
                    text.push_str("; Redis still holds it as running");
                }
                text
            }
            Flag::EmptyFailure { status, evidence } => match evidence {
                Some(evidence) => format!(
                    "{} with empty output and error, but {evidence}",
                    status.name()
                ),
                None => format!(
                    "{} with empty output and error; no sign it printed anything",
                    status.name()
                ),
            },
            Flag::Orphan {
                kind,
                state,
                for_ms,
                status,
            } => {
                let known = *status;
                let status = status.map_or("unknown", Status::name);
                let age = human_duration(*for_ms);
                match kind {
                    OrphanKind::RunningAfterTerminal => {
                        format!(
                            "container {} though the evaluation is {status}",
                            state.name()
                        )
                    }
                    OrphanKind::NotRemoved => format!(
                        "container {} {age} after the evaluation became {status}; nobody removed it",
                        state.name()
                    ),
                    OrphanKind::UnknownToRedis => {
                        format!("container running for {age}; Redis has no trace of the evaluation")
                    }
                    OrphanKind::ExitedUnaccounted => {
                        let known = match known {
                            None => "no status in Redis".to_string(),
                            Some(_) => format!("last status seen {status}"),
                        };
                        format!(
                            "container {} for {age} and not removed; {known}, and it ended while evaltop was not watching Redis",
                            state.name()
                        )
                    }
                }
            }
            Flag::StaleRunning => {
                "in running_evaluations, but eval:{id}:running is gone and there is no container"
                    .to_string()
            }
            Flag::Silent { quiet_ms } => format!(
                "running, and no log message or heartbeat for {}",
                human_duration(*quiet_ms)
            ),
            Flag::HostUnknown { engine, last_state } => format!(
                "unknown: Docker engine {engine} is down or has not listed its containers since it connected; last seen {}",
                last_state.map_or("in no state", ContainerState::name)
            ),
            Flag::TimedOut {
                exit_code,
                runtime_ms,
                timeout_secs,
            } => {
                let mut text = String::from("timed out");
                if let Some(code) = exit_code {
                    text.push_str(&format!(": exit {code}"));
                }
                if let (Some(runtime), Some(timeout)) = (runtime_ms, timeout_secs) {
                    text.push_str(&format!(
                        " after {} of a {timeout}s limit",
                        human_duration(*runtime)
                    ));
                }
                text
            }
            Flag::Unknown { blind, suspected } => {
                let pending = match blind.until {
                    Some(_) => "its keys and lists are being read again",
                    None => "decided once it is back and read again",
                };
                format!(
                    "unknown: {}; would be {}: {}; {pending}",
                    blind.describe(),
                    suspected.kind().name(),
                    suspected.reason()
                )
            }
            Flag::NeverStarted { created_at, for_ms } => format!(
                "container created at {}, {} ago, and never started",
                created_at.clock(),
                human_duration(*for_ms)
            ),
            Flag::Killed {
                at,
                exit_code,
                past_deadline_ms,
                timeout_secs,
            } => {
                let mut text = format!("killed by evaltop at {}", at.clock());
                if let Some(code) = exit_code {
                    text.push_str(&format!(" (exit {code})"));
                }
                match (past_deadline_ms, timeout_secs) {
                    (Some(past), Some(timeout)) if *past > 0 => text.push_str(&format!(
                        ", {} past its {timeout}s timeout",
                        human_duration(*past)
                    )),
                    (Some(past), Some(timeout)) => text.push_str(&format!(
                        ", {} before its {timeout}s timeout",
                        human_duration(-*past)
                    )),
                    _ => {}
                }
                text
            }
        }
    }
}

/// What the flags depend on besides the record itself.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthContext {
    pub now: Ts,
    pub grace_ms: i64,
    pub silent_after_ms: i64,
    /// Every engine is connected and has listed its containers since.
    pub docker_synced: bool,
    /// Engines down or not listed since connecting: their containers'
    /// facts are as old as the engine's last list.
    pub unsynced_engines: Vec<EngineName>,
    /// Redis is connected and has read its keys since.
    pub redis_synced: bool,
    /// Since when Redis pub/sub has been watched without a gap: a message
    /// published after this would have been seen.
    pub redis_watching_since: Option<Ts>,
    /// While Redis is not synced: the gapless stretch watched before its
    /// blindness, as (from, until).
    pub redis_stretch: Option<(Ts, Ts)>,
    /// While a source is not synced: since when it is blind.
    pub redis_blind: Option<Blind>,
    pub docker_blind: Option<Blind>,
}

impl HealthContext {
    pub fn of(state: &State, now: Ts) -> Self {
        HealthContext {
            now,
            grace_ms: state.settings.grace_ms,
            silent_after_ms: state.settings.silent_after_ms,
            docker_synced: state.engines_synced(),
            unsynced_engines: state.unsynced_engines(),
            redis_synced: state.redis.synced(),
            redis_watching_since: state.redis.watching_since(),
            redis_stretch: state.redis.last_stretch(),
            redis_blind: Blind::of(Source::Redis, &state.redis),
            // With no container to ask about, any engine's blindness leaves
            // a stale-running in doubt: the first one blind says so.
            docker_blind: state
                .engines
                .iter()
                .find_map(|(name, health)| Blind::of(Source::Docker(name.clone()), health)),
        }
    }

    fn engine_synced(&self, engine: &EngineName) -> bool {
        !self.unsynced_engines.contains(engine)
    }

    /// Redis was watched without a gap from `from` to `to`: now, or in the
    /// stretch before its current blindness.
    fn watched_redis_over(&self, from: Ts, to: Ts) -> bool {
        match self.redis_watching_since {
            Some(since) => since <= from,
            None => self
                .redis_stretch
                .is_some_and(|(start, end)| start <= from && to <= end),
        }
    }
}

/// `flag`, or an `unknown` carrying it while `blind`.
fn unless_blind(flag: Flag, blind: Option<Blind>) -> Flag {
    match blind {
        Some(blind) => Flag::Unknown {
            blind,
            suspected: Box::new(flag),
        },
        None => flag,
    }
}

/// Exit codes that mean the executor's timeout ended the container.
const TIMEOUT_EXIT_CODES: [i64; 3] = [124, 137, 143];
/// A run this close to its limit, or longer, ended on the timeout.
const TIMEOUT_SLACK_MS: i64 = 1_000;

/// `now`, and the soonest later moment at which a comparison with it made
/// so far would turn out otherwise: when the flags must be assessed again
/// though the record has not changed.
struct Clock {
    now: Ts,
    turns_at: Option<Ts>,
}

impl Clock {
    /// Whether more than `limit_ms` has passed since `since`; while not,
    /// the moment it will have is noted.
    fn passed(&mut self, since: Ts, limit_ms: i64) -> bool {
        let at = since.plus_millis(limit_ms);
        if self.now > at {
            return true;
        }
        let turns = at.plus_millis(1);
        self.turns_at = Some(self.turns_at.map_or(turns, |t| t.min(turns)));
        false
    }
}

/// Every flag that holds for `record` at `ctx.now`, most severe first.
pub fn assess(record: &EvalRecord, ctx: &HealthContext) -> Vec<Flag> {
    assess_until(record, ctx).0
}

/// The flags, and the moment after which they may differ though neither
/// the record nor the sources change (`None`: only a change can alter
/// them). The flags' evidence (how long, how far over) moves with the
/// clock in between; which flags hold does not.
pub fn assess_until(record: &EvalRecord, ctx: &HealthContext) -> (Vec<Flag>, Option<Ts>) {
    let mut flags = Vec::new();
    let now = ctx.now;
    let mut clock = Clock {
        now,
        turns_at: None,
    };
    let redis = &record.redis;
    let terminal = redis.is_terminal();

    let known_container = record.docker.as_ref().filter(|docker| {
        let synced = ctx.engine_synced(&docker.engine);
        if !synced {
            flags.push(Flag::HostUnknown {
                engine: docker.engine.clone(),
                last_state: docker.state,
            });
        }
        synced
    });
    if let Some(docker) = known_container {
        let state = docker.state;
        if state.is_some_and(ContainerState::is_live)
            && let Some(deadline) = docker.deadline()
            && clock.passed(deadline, 0)
        {
            flags.push(Flag::Overdue {
                deadline,
                over_ms: now.since(deadline),
                timeout_secs: docker.timeout_secs.unwrap_or_default(),
            });
        }

        if state == Some(ContainerState::Created) && !terminal {
            let created_at = docker.created_at.unwrap_or(docker.first_seen);
            if clock.passed(created_at, ctx.grace_ms) {
                let for_ms = now.since(created_at);
                flags.push(Flag::NeverStarted { created_at, for_ms });
            }
        }

        let ended_at = docker.ended_at().or_else(|| {
            // Listed as exited but never inspected: it ended before we saw it.
            state.filter(|s| s.has_ended()).map(|_| docker.first_seen)
        });
        if let (Some(state), Some(ended_at)) = (state, ended_at)
            && !terminal
        {
            let ended_ago_ms = now.since(ended_at);
            let held_running = redis.holds_running();
            let keys_hold = redis.in_running_set || redis.running_key.is_some();
            // When the end was not seen, `ended_at` is only when evaltop
            // learnt of it; the end itself is no earlier than the start, or
            // than the creation. A completion published then was seen only if
            // Redis was watched from before that.
            let end_at_least = docker
                .finished_at
                .or(docker.started_at)
                .or(docker.created_at);
            // The completion was owed from the end to the end of the grace:
            // "none seen" means something only if Redis was watched all
            // that time, now or before its current blindness.
            let owed_from = end_at_least.unwrap_or(ended_at).min(ended_at);
            let owed_until = ended_at.plus_millis(ctx.grace_ms);
            let watched_end = end_at_least.is_some_and(|at| ctx.watched_redis_over(at, owed_until));
            let decided = ctx.redis_synced || ctx.watched_redis_over(owed_from, owed_until);
            // A status seen before a blind spell proves nothing once the keys
            // have been read again: the storage worker clears them when it
            // records a completion (PROTOCOL.md, reality 7).
            let expected_completion =
                keys_hold || watched_end || (redis.status.is_some() && !ctx.redis_synced);
            let lost = Flag::LostCompletion {
                ended_at,
                ended_ago_ms,
                exit_code: docker.exit_code,
                removed: state == ContainerState::Removed,
                held_running,
            };
            if clock.passed(ended_at, ctx.grace_ms) {
                if !decided {
                    // Whatever Redis would say (a completion published, the
                    // keys cleared) fell in its blindness: say what is known.
                    flags.push(unless_blind(lost, ctx.redis_blind.clone()));
                } else if expected_completion {
                    flags.push(lost);
                } else if docker.exists() {
                    flags.push(Flag::Orphan {
                        kind: OrphanKind::ExitedUnaccounted,
                        state,
                        for_ms: ended_ago_ms,
                        status: redis.status,
                    });
                }
            }
        }

        if let Some(state) = state
            && docker.exists()
        {
            if terminal {
                let terminal_at = redis.terminal_at().unwrap_or(now);
                if state.is_live() {
                    flags.push(Flag::Orphan {
                        kind: OrphanKind::RunningAfterTerminal,
                        state,
                        for_ms: now.since(terminal_at),
                        status: redis.status.or(redis.storage_status),
                    });
                } else if state.has_ended() {
                    let since = ended_at.unwrap_or(terminal_at).max(terminal_at);
                    if clock.passed(since, ctx.grace_ms) {
                        flags.push(Flag::Orphan {
                            kind: OrphanKind::NotRemoved,
                            state,
                            for_ms: now.since(since),
                            status: redis.status.or(redis.storage_status),
                        });
                    }
                }
            } else if state.is_live() && !redis.has_heard_of() && ctx.redis_synced {
                let since = docker
                    .started_at
                    .unwrap_or(docker.first_seen)
                    .max(ctx.redis_watching_since.unwrap_or(now));
                if clock.passed(since, ctx.grace_ms) {
                    flags.push(Flag::Orphan {
                        kind: OrphanKind::UnknownToRedis,
                        state,
                        for_ms: now.since(docker.started_at.unwrap_or(docker.first_seen)),
                        status: None,
                    });
                }
            }
        }
    }

    // An operator's manual failure carries a reason, not the run's output.
    if let Some(status) = redis.status.filter(|s| s.is_failure())
        && !redis.manual_update
        && redis.output_len.unwrap_or(0) == 0
        && redis.error_len.unwrap_or(0) == 0
    {
        flags.push(Flag::EmptyFailure {
            status,
            evidence: record.output_evidence(),
        });
    }

    // Rests on two absences (the key, the container): each must come from
    // a read made since its source was last blind.
    if redis.in_running_set
        && redis.running_key.is_none()
        && !record.docker.as_ref().is_some_and(|d| d.exists())
        && clock.passed(record.first_seen, ctx.grace_ms)
    {
        flags.push(unless_blind(
            Flag::StaleRunning,
            ctx.redis_blind.clone().or_else(|| ctx.docker_blind.clone()),
        ));
    }

    let live_container = record
        .container_state()
        .is_some_and(ContainerState::is_live);
    // A container that has ended sends no heartbeats; what is wrong with it
    // is a lost completion, not silence.
    let ended_container = record
        .container_state()
        .is_some_and(ContainerState::has_ended);
    if !terminal && !ended_container && (live_container || redis.status == Some(Status::Running)) {
        let signs = [
            redis.last_log_at,
            redis.first_seen(Status::Running),
            record.docker.as_ref().and_then(|d| d.started_at),
        ];
        let last_sign =
            |watched_from: Option<Ts>| signs.into_iter().chain([watched_from]).flatten().max();
        if let Some(watching) = ctx.redis_watching_since {
            let last = last_sign(Some(watching)).unwrap_or(watching);
            if clock.passed(last, ctx.silent_after_ms) {
                let quiet_ms = now.since(last);
                flags.push(Flag::Silent { quiet_ms });
            }
        } else if let Some(last) = last_sign(ctx.redis_stretch.map(|(from, _)| from)) {
            // Blind now: silence seen while watching stands; silence that
            // runs into the blindness is only a suspicion.
            let watched_quiet = ctx.redis_stretch.map_or(0, |(_, until)| until.since(last));
            if watched_quiet > ctx.silent_after_ms {
                flags.push(Flag::Silent {
                    quiet_ms: watched_quiet,
                });
            } else if clock.passed(last, ctx.silent_after_ms) {
                flags.push(unless_blind(
                    Flag::Silent {
                        quiet_ms: now.since(last),
                    },
                    ctx.redis_blind.clone(),
                ));
            }
        }
    }

    if let Some(flag) = timed_out(record) {
        flags.push(flag);
    }

    flags.sort_by_key(|f| std::cmp::Reverse(f.severity()));
    (flags, clock.turns_at)
}

fn timed_out(record: &EvalRecord) -> Option<Flag> {
    let timeout_secs = record.timeout_secs();
    if let Some(killed_at) = record.killed_by_evaltop {
        let docker = record.docker.as_ref();
        let at = docker.and_then(|d| d.finished_at).unwrap_or(killed_at);
        let deadline = docker.and_then(|d| d.deadline());
        return Some(Flag::Killed {
            at,
            exit_code: record.exit_code(),
            past_deadline_ms: deadline.map(|d| at.since(d)),
            timeout_secs,
        });
    }
    if record.redis.status == Some(Status::Timeout) {
        return Some(Flag::TimedOut {
            exit_code: record.exit_code(),
            runtime_ms: None,
            timeout_secs,
        });
    }
    let docker = record.docker.as_ref()?;
    let exit_code = docker.exit_code.or(record.redis.exit_code)?;
    if !TIMEOUT_EXIT_CODES.contains(&exit_code) {
        return None;
    }
    let runtime_ms = docker
        .finished_at?
        .since(docker.created_at.or(docker.started_at)?);
    let timeout = timeout_secs?;
    (runtime_ms + TIMEOUT_SLACK_MS >= i64::from(timeout) * 1000).then_some(Flag::TimedOut {
        exit_code: Some(exit_code),
        runtime_ms: Some(runtime_ms),
        timeout_secs: Some(timeout),
    })
}

/// The most severe flag's severity, if any.
pub fn worst(flags: &[Flag]) -> Option<Severity> {
    flags.iter().map(Flag::severity).max()
}
