//! The reconciled state: every evaluation's record, each source's health,
//! and the counters shown in the header.

use std::collections::HashMap;

use super::changes::Changes;
use super::live_logs::LiveLogs;
use super::observation::{EngineName, EvalId, IdMap, Rejection, Source};
use super::record::EvalRecord;
use super::time::Ts;

/// How many rejected payloads are kept for display (all are counted).
const RECENT_REJECTIONS: usize = 20;
/// How many blind windows are kept per source.
const BLIND_WINDOWS_KEPT: usize = 10;

/// A period in which a source was not proven live: what it published then is
/// lost for good (pub/sub is at-most-once). It starts at the last moment the
/// source was proven live, not when the loss was noticed.
#[derive(Clone, Debug, PartialEq)]
pub struct BlindWindow {
    pub start: Ts,
    /// `None` while still blind.
    pub end: Option<Ts>,
    pub reason: String,
}

/// One source's connection, as the header shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceHealth {
    pub connected: bool,
    /// Since when the current connection has been up.
    pub connected_since: Option<Ts>,
    /// The last failure, shown while reconnecting.
    pub last_error: Option<String>,
    pub detail: String,
    pub last_event_at: Option<Ts>,
    /// When the last full read (list or key scan) was applied.
    pub last_sync_at: Option<Ts>,
    pub blind_windows: Vec<BlindWindow>,
    pub disconnects: u32,
    /// The last moment the source was proven live: a liveness probe
    /// answered (the time it was sent), a message or event arrived, a full
    /// read was applied.
    pub last_live_at: Option<Ts>,
    /// Down because it stopped answering (a probe or a request had no
    /// answer in time), rather than refusing or closing the connection.
    pub not_answering: bool,
    /// When the latest stretch of gapless watching began; kept after a
    /// loss, so that evidence from before the loss can still be judged.
    pub watch_started: Option<Ts>,
    /// Changes a full list showed that the event stream never reported
    /// (Docker only): each such finding restarts the stream.
    pub missed_changes: u64,
    /// How far behind the source is, while it is (Redis: messages read
    /// and not yet applied).
    pub lag: Option<Lag>,
    /// How far the first full read since connecting has come, while it
    /// runs (cleared when a full read is applied or the source is lost).
    pub progress: Option<super::progress::ReadProgress>,
}

/// Messages a source has read and evaltop has not applied yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lag {
    pub waiting: u64,
    /// Age of the oldest waiting message.
    pub oldest_ms: i64,
}

impl SourceHealth {
    /// Since when this source has watched without a gap, if it is
    /// connected and has read its full state since connecting.
    pub fn watching_since(&self) -> Option<Ts> {
        match (self.connected, self.connected_since, self.last_sync_at) {
            (true, Some(since), Some(sync)) if sync >= since => Some(since),
            _ => None,
        }
    }

    /// Connected and has read its full state at least once since.
    pub fn synced(&self) -> bool {
        self.watching_since().is_some()
    }

    /// The watched stretch before the current blindness, as (from, until),
    /// while the source is not synced.
    pub fn last_stretch(&self) -> Option<(Ts, Ts)> {
        if self.synced() {
            return None;
        }
        let until = self.blind_windows.last()?.start;
        self.watch_started
            .filter(|from| *from <= until)
            .map(|from| (from, until))
    }

    /// The source was proven live at `at`.
    pub(crate) fn live(&mut self, at: Ts) {
        self.last_live_at = self.last_live_at.max(Some(at));
    }

    /// A full read (list or key scan) was applied at `now`.
    pub(crate) fn read_in_full(&mut self, now: Ts) {
        self.last_sync_at = Some(now);
        self.progress = None;
        self.live(now);
        if self.connected {
            self.watch_started = self.connected_since;
        }
    }

    pub(crate) fn went_up(&mut self, now: Ts, detail: String) {
        if !self.connected {
            self.connected = true;
            self.connected_since = Some(now);
        }
        self.live(now);
        self.detail = detail;
        self.last_error = None;
        self.not_answering = false;
        if let Some(window) = self.blind_windows.last_mut()
            && window.end.is_none()
        {
            window.end = Some(now);
        }
    }

    /// Lost at `now` (noticed then); `not_answering` when it went silent
    /// rather than refusing or closing.
    pub(crate) fn went_down(&mut self, now: Ts, reason: String, not_answering: bool) {
        if self.connected || self.blind_windows.last().is_none_or(|w| w.end.is_some()) {
            // What it sent after its last proof of life may be lost too.
            let start = match self.last_live_at {
                Some(live) if self.connected => live.min(now),
                _ => now,
            };
            self.disconnects += u32::from(self.connected);
            if self.blind_windows.len() >= BLIND_WINDOWS_KEPT {
                self.blind_windows.remove(0);
            }
            self.blind_windows.push(BlindWindow {
                start,
                end: None,
                reason: reason.clone(),
            });
        }
        self.connected = false;
        self.connected_since = None;
        self.lag = None;
        self.progress = None;
        self.last_error = Some(reason);
        self.not_answering = not_answering;
    }
}

/// Rejected payloads: all counted, the recent ones kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rejections {
    pub total: u64,
    pub by_channel: HashMap<String, u64>,
    pub recent: Vec<(Ts, Rejection)>,
}

impl Rejections {
    pub(crate) fn add(&mut self, at: Ts, rejection: Rejection) {
        self.total += 1;
        *self
            .by_channel
            .entry(rejection.channel.clone())
            .or_default() += 1;
        if self.recent.len() >= RECENT_REJECTIONS {
            self.recent.remove(0);
        }
        self.recent.push((at, rejection));
    }
}

/// Settings the merge and health rules depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// How long after a container's end a completion may still arrive.
    pub grace_ms: i64,
    /// No log message or heartbeat for this long while running: `silent`.
    pub silent_after_ms: i64,
    /// Only these executors (empty: all).
    pub executors: Vec<String>,
    /// How often the sources are probed (`--liveness`), for the help
    /// screen: the rules read liveness from the observations.
    pub liveness_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            grace_ms: 30_000,
            silent_after_ms: 90_000,
            executors: Vec::new(),
            liveness_ms: 1_000,
        }
    }
}

/// The one owner of everything evaltop knows.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub settings: Settings,
    /// Boxed, so that the map's buckets are 24 bytes rather than 608: a
    /// map just past doubling holds twice the buckets it needs, and a
    /// resize moves every bucket while the loop waits.
    pub evals: IdMap<Box<EvalRecord>>,
    /// Each container engine's health, in the order they were configured
    /// (or first heard of): each engine is a source of its own.
    pub engines: Vec<(EngineName, SourceHealth)>,
    pub redis: SourceHealth,
    pub rejected: Rejections,
    /// What evaltop saw live on `evaluation:{id}:logs`, bounded, so that
    /// the logs outlive the container.
    pub live_logs: LiveLogs,
    /// Observations applied, for the header and benchmarks.
    pub observations: u64,
    /// Records changed since the table last took them.
    pub(crate) changes: Changes,
}

impl State {
    pub fn new(settings: Settings) -> Self {
        State {
            settings,
            ..State::default()
        }
    }

    /// Registers an engine before it has said anything, so that it counts
    /// as not yet synced (and its evaluations as unknown) until it lists.
    pub fn add_engine(&mut self, engine: EngineName) {
        if self.engine(&engine).is_none() {
            self.engines.push((engine, SourceHealth::default()));
        }
    }

    pub fn engine(&self, engine: &EngineName) -> Option<&SourceHealth> {
        self.engines
            .iter()
            .find(|(name, _)| name == engine)
            .map(|(_, health)| health)
    }

    /// The engine's health, registered on first sight.
    pub(crate) fn engine_mut(&mut self, engine: &EngineName) -> &mut SourceHealth {
        let at = match self.engines.iter().position(|(name, _)| name == engine) {
            Some(at) => at,
            None => {
                self.engines.push((engine.clone(), SourceHealth::default()));
                self.engines.len() - 1
            }
        };
        &mut self.engines[at].1
    }

    /// Every engine known is connected and has listed since: none of the
    /// evaluations' containers is unknown. False while no engine is known.
    pub fn engines_synced(&self) -> bool {
        !self.engines.is_empty() && self.engines.iter().all(|(_, h)| h.synced())
    }

    /// Engines that are down or have not listed since connecting.
    pub fn unsynced_engines(&self) -> Vec<EngineName> {
        self.engines
            .iter()
            .filter(|(_, h)| !h.synced())
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A source's health; evaltop itself has none.
    pub fn source(&self, source: &Source) -> Option<&SourceHealth> {
        match source {
            Source::Docker(engine) => self.engine(engine),
            Source::Redis => Some(&self.redis),
            Source::Evaltop => None,
        }
    }

    pub(crate) fn source_mut(&mut self, source: &Source) -> Option<&mut SourceHealth> {
        match source {
            Source::Docker(engine) => Some(self.engine_mut(engine)),
            Source::Redis => Some(&mut self.redis),
            Source::Evaltop => None,
        }
    }

    /// The record for `eval_id`, created on first sight, counted as changed.
    pub(crate) fn record_mut(&mut self, eval_id: &str, now: Ts) -> &mut EvalRecord {
        let entry = match self.evals.entry_ref(eval_id) {
            hashbrown::hash_map::EntryRef::Occupied(entry) => entry,
            hashbrown::hash_map::EntryRef::Vacant(entry) => {
                entry.insert_entry_with_key(EvalId::from(eval_id), Box::new(EvalRecord::new(now)))
            }
        };
        self.changes.record(entry.key());
        entry.into_mut()
    }

    /// The id as the state keeps it, if `eval_id` is tracked: a handle to
    /// share, not a copy.
    pub fn id_of(&self, eval_id: &str) -> Option<EvalId> {
        self.evals.get_key_value(eval_id).map(|(id, _)| id.clone())
    }

    /// The record for `eval_id`, if tracked.
    pub fn record(&self, eval_id: &str) -> Option<&EvalRecord> {
        self.evals.get(eval_id).map(|record| &**record)
    }

    /// The record for `eval_id` if there is one, counted as changed.
    pub(crate) fn existing_mut(&mut self, eval_id: &str) -> Option<&mut EvalRecord> {
        let (id, record) = self.evals.get_key_value_mut(eval_id)?;
        self.changes.record(id);
        Some(&mut **record)
    }

    /// Counts `id` as changed (by a pass over many records).
    pub(crate) fn changed(&mut self, id: &EvalId) {
        self.changes.record(id);
    }

    /// The records changed since the last call; the next call returns only
    /// what changes after this one.
    pub fn take_changes(&mut self) -> Changes {
        std::mem::replace(&mut self.changes, Changes::none())
    }

    /// Whether the executor filter lets this record through. A record with
    /// no known executor (queued, say) is always shown.
    pub fn in_scope(&self, record: &EvalRecord) -> bool {
        self.settings.executors.is_empty()
            || record
                .executor()
                .is_none_or(|e| self.settings.executors.iter().any(|x| x == e))
    }
}
