//! The fleet at a glance: one row per executor and one per engine, with
//! what runs there, what is wrong there, and how its completions flow; and
//! the `executor-stalled` rule, for an executor whose evaluations run on
//! while it publishes no completion. Pure: from the state and `now`.

use std::collections::BTreeMap;

use super::health::{Flag, FlagKind, HealthContext, Severity, assess};
use super::observation::ContainerState;
use super::record::EvalRecord;
use super::state::State;
use super::time::{Ts, human_duration};

/// Minutes of history in a row's sparkline.
pub const SPARK_MINUTES: usize = 30;
const MINUTE_MS: i64 = 60_000;

/// Whether a row is an executor or an engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RowKind {
    Executor,
    Engine,
}

impl RowKind {
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Executor => "executor",
            RowKind::Engine => "host",
        }
    }
}

/// One executor or engine.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetRow {
    pub kind: RowKind,
    pub name: String,
    pub running: usize,
    pub overdue: usize,
    pub lost: usize,
    pub orphans: usize,
    pub done_5m: usize,
    pub done_15m: usize,
    pub last_completion: Option<Ts>,
    /// Completions and failures per minute, oldest first; the last entry
    /// is the current minute.
    pub completions: [u16; SPARK_MINUTES],
    pub failures: [u16; SPARK_MINUTES],
    /// For an executor: `executor-stalled`, with its evidence.
    pub stalled: Option<Stalled>,
}

/// An executor whose evaluations run while it has published no
/// completion for longer than the grace plus the longest runtime seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Stalled {
    pub running: usize,
    /// Its last completion; `None`: none seen since evaltop watched.
    pub last_completion: Option<Ts>,
    pub quiet_ms: i64,
    /// The grace plus the longest runtime seen: no completion for this long
    /// cannot be a slow evaluation.
    pub limit_ms: i64,
    pub longest_runtime_ms: i64,
}

impl Stalled {
    pub const KIND: &'static str = "executor-stalled";
    pub const SEVERITY: Severity = Severity::Warning;

    pub fn reason(&self, executor: &str) -> String {
        let since = match self.last_completion {
            Some(at) => format!("its last completion was at {}", at.clock()),
            None => "no completion from it seen".to_string(),
        };
        format!(
            "{executor} stopped completing {} ago with {} running; {since}; more than the grace plus the longest runtime seen ({})",
            human_duration(self.quiet_ms),
            self.running,
            human_duration(self.limit_ms)
        )
    }
}

/// Every executor (those with no name known aside) and every engine.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fleet {
    pub executors: Vec<FleetRow>,
    pub engines: Vec<FleetRow>,
}

impl Fleet {
    pub fn rows(&self) -> impl Iterator<Item = &FleetRow> {
        self.executors.iter().chain(&self.engines)
    }
}

fn empty_row(kind: RowKind, name: &str) -> FleetRow {
    FleetRow {
        kind,
        name: name.to_string(),
        running: 0,
        overdue: 0,
        lost: 0,
        orphans: 0,
        done_5m: 0,
        done_15m: 0,
        last_completion: None,
        completions: [0; SPARK_MINUTES],
        failures: [0; SPARK_MINUTES],
        stalled: None,
    }
}

/// Running, as Redis or the container says.
fn is_running(record: &EvalRecord) -> bool {
    record.redis.holds_running()
        || record
            .container_state()
            .is_some_and(ContainerState::is_live)
}

/// How long a finished evaluation ran: from its start to its completion.
fn runtime_ms(record: &EvalRecord) -> Option<i64> {
    let end = record.redis.terminal_at()?;
    Some(end.since(record.started_at()?)).filter(|ms| *ms >= 0)
}

fn count(row: &mut FleetRow, record: &EvalRecord, flags: &[Flag], now: Ts) {
    row.running += usize::from(is_running(record) && !record.redis.is_terminal());
    let has = |kind| flags.iter().any(|f| f.kind() == kind);
    row.overdue += usize::from(has(FlagKind::Overdue));
    row.lost += usize::from(has(FlagKind::LostCompletion));
    row.orphans += usize::from(has(FlagKind::Orphan));
    let Some(done) = record.redis.terminal_at() else {
        return;
    };
    row.last_completion = row.last_completion.max(Some(done));
    let ago = now.since(done);
    row.done_5m += usize::from((0..=5 * MINUTE_MS).contains(&ago));
    row.done_15m += usize::from((0..=15 * MINUTE_MS).contains(&ago));
    if (0..SPARK_MINUTES as i64 * MINUTE_MS).contains(&ago) {
        let slot = SPARK_MINUTES - 1 - (ago / MINUTE_MS) as usize;
        if record.redis.status.is_some_and(|s| s.is_failure()) {
            row.failures[slot] = row.failures[slot].saturating_add(1);
        } else {
            row.completions[slot] = row.completions[slot].saturating_add(1);
        }
    }
}

/// The fleet as of `now`.
pub fn fleet(state: &State, now: Ts) -> Fleet {
    let ctx = HealthContext::of(state, now);
    let mut executors: BTreeMap<&str, FleetRow> = BTreeMap::new();
    let mut engines: Vec<FleetRow> = state
        .engines
        .iter()
        .map(|(name, _)| empty_row(RowKind::Engine, name.as_str()))
        .collect();
    // When each executor was first seen: with no completion yet, it has
    // been quiet since then at most.
    let mut first_seen: BTreeMap<&str, Ts> = BTreeMap::new();
    let mut longest_runtime_ms = 0;
    for record in state.evals.values().filter(|r| state.in_scope(r)) {
        let flags = assess(record, &ctx);
        if let Some(ms) = runtime_ms(record) {
            longest_runtime_ms = longest_runtime_ms.max(ms);
        }
        if let Some(executor) = record.executor() {
            let row = executors
                .entry(executor)
                .or_insert_with(|| empty_row(RowKind::Executor, executor));
            count(row, record, &flags, now);
            let seen = first_seen.entry(executor).or_insert(record.first_seen);
            *seen = (*seen).min(record.first_seen);
        }
        if let Some(engine) = record.engine() {
            let at = match engines.iter().position(|row| row.name == engine.as_str()) {
                Some(at) => at,
                None => {
                    engines.push(empty_row(RowKind::Engine, engine.as_str()));
                    engines.len() - 1
                }
            };
            count(&mut engines[at], record, &flags, now);
        }
    }
    if longest_runtime_ms == 0 {
        // Nothing has completed yet: no run may outlast its timeout, so
        // the longest timeout stands in for the longest runtime.
        longest_runtime_ms = state
            .evals
            .values()
            .filter_map(|r| r.timeout_secs())
            .map(|secs| i64::from(secs) * 1000)
            .max()
            .unwrap_or(0);
    }
    let limit_ms = state.settings.grace_ms + longest_runtime_ms;
    for (name, row) in executors.iter_mut() {
        row.stalled = stalled(row, first_seen[name], limit_ms, longest_runtime_ms, now);
    }
    Fleet {
        executors: executors.into_values().collect(),
        engines,
    }
}

fn stalled(
    row: &FleetRow,
    first_seen: Ts,
    limit_ms: i64,
    longest_runtime_ms: i64,
    now: Ts,
) -> Option<Stalled> {
    if row.running == 0 {
        return None;
    }
    let quiet_ms = now.since(row.last_completion.unwrap_or(first_seen));
    (quiet_ms > limit_ms).then_some(Stalled {
        running: row.running,
        last_completion: row.last_completion,
        quiet_ms,
        limit_ms,
        longest_runtime_ms,
    })
}
