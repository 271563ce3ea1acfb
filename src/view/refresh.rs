//! Keeping the table's flags, counts and order true as the state changes.
//!
//! A full refresh assesses every record and sorts the rows: about 1 µs per
//! record, too slow to run after every batch at 100,000 evaluations. So a
//! refresh normally looks only at the records changed since the last one
//! (`State::take_changes`) and at those whose flags the clock turns now (a
//! deadline each assessment reports), takes their old rows out of the
//! sorted rows and merges their new ones in. It falls back to the full
//! pass when the change is not per record: the first time, a new filter,
//! sort or quick view, a source's health (every flag may read it), or an
//! order or filter that moves with the clock alone.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::counts::Tally;
use super::{Row, TableView, shown_status, sort};
use crate::model::health::worst;
use crate::model::{Changes, EvalId, EvalRecord, HealthContext, IdMap, State, Ts, assess_until};

/// Up to this many rows to take out or put in, one at a time; more, in one
/// pass over all rows.
const FEW_MOVES: usize = 8;

/// Whether two rows of one evaluation sort to the same place.
fn same_place(a: &Row, b: &Row) -> bool {
    a.key == b.key && a.worst == b.worst && a.since == b.since
}

/// What the last refresh found for the evaluations, between refreshes.
#[derive(Clone, Debug, Default)]
pub(super) struct Tracked {
    entries: IdMap<Entry>,
    /// When an evaluation's flags turn with the clock, soonest first. An
    /// evaluation has at most one live item here (`Entry::queued`); others
    /// are stale and skipped when they come up.
    due: BinaryHeap<Reverse<(Ts, EvalId)>>,
    /// The sources' coverage and the settings the last refresh assessed
    /// against (with `now` left out).
    basis: Option<Basis>,
    /// The last merge's buffer, empty, kept for the next one: a new
    /// buffer each time made the allocator map (and the kernel zero) fresh
    /// pages every refresh.
    spare_rows: Vec<Row>,
}

#[derive(Clone, Debug, PartialEq)]
struct Basis {
    health: HealthContext,
    executors: Vec<String>,
}

impl Basis {
    fn of(state: &State) -> Self {
        Basis {
            // At a fixed `now`, so that only the sources and settings count.
            health: HealthContext::of(state, Ts(0)),
            executors: state.settings.executors.clone(),
        }
    }
}

/// One evaluation as the last refresh found it.
#[derive(Clone, Debug)]
struct Entry {
    /// `None` when outside the executor filter.
    tally: Option<Tally>,
    /// It passed the typed filter (what the quick views count).
    in_filter: bool,
    /// Where its row was placed, if shown: its sort key and start, which
    /// with its id and worst severity find the row again.
    placed: Option<(sort::Key, Ts)>,
    /// The item of `due` that stands for it.
    queued: Option<Ts>,
}

impl Entry {
    /// A stand-in for its shown row that sorts where the row does.
    fn probe(&self, id: &EvalId) -> Option<Row> {
        let (key, since) = self.placed.clone()?;
        Some(Row {
            id: id.clone(),
            flags: Vec::new(),
            worst: self.tally.and_then(Tally::worst),
            since,
            key,
        })
    }
}

impl TableView {
    /// Recomputes every row's flags, the counts, which rows pass the filter
    /// and the quick view, and their order: one `assess` and one filter
    /// match per record, and one sort. What [`TableView::follow`] falls
    /// back to.
    pub fn refresh(&mut self, state: &State, now: Ts) {
        let ctx = HealthContext::of(state, now);
        self.counts = Default::default();
        self.quick_counts = Default::default();
        self.tracked = Tracked {
            entries: IdMap::with_capacity_and_hasher(state.evals.len(), Default::default()),
            due: BinaryHeap::new(),
            basis: Some(Basis::of(state)),
            spare_rows: Vec::new(),
        };
        let mut rows = Vec::with_capacity(if self.filter.is_some() {
            self.rows.len()
        } else {
            state.evals.len()
        });
        for (id, record) in &state.evals {
            if let Some(row) = self.look(state, id, record, &ctx, None) {
                rows.push(row);
            }
        }
        let order = self.sort;
        rows.sort_unstable_by(|a, b| sort::compare(order, a, b));
        self.rows = rows.into();
        self.finish(now);
    }

    /// Brings the table up to date with `changes` (what changed in `state`
    /// since the last call): only those records, and those whose flags the
    /// clock turns by `now`, are assessed again, unless a full refresh is
    /// needed.
    pub fn follow(&mut self, state: &State, changes: &Changes, now: Ts) {
        if self.needs_full_refresh(state, changes, now) {
            self.refresh(state, now);
            return;
        }
        let ctx = HealthContext::of(state, now);
        let mut ids: Vec<EvalId> = changes.ids().to_vec();
        self.take_due(now, &mut ids);
        // Its flags' evidence (how long quiet, how far over) is worded in
        // the footer: keep it current.
        ids.extend(self.selected.clone());
        ids.sort_unstable();
        ids.dedup();

        let mut gone = Vec::new();
        let mut added = Vec::new();
        for id in ids {
            let (old, queued) = self.forget(&id);
            let new = match state.evals.get_key_value(&id) {
                Some((id, record)) => self.look(state, id, record, &ctx, queued),
                // A record that is gone is no longer tracked: its queued
                // deadline is skipped when it comes up.
                None => {
                    self.tracked.entries.remove(&id);
                    None
                }
            };
            match (old, new) {
                // Most changes (a log line, a heartbeat) leave a row where
                // it was: only its flags are replaced.
                (Some(old), Some(new)) if same_place(&old, &new) => {
                    match self.position_of_row(&old) {
                        Some(at) => self.rows[at] = new,
                        None => added.push(new),
                    }
                }
                (old, new) => {
                    gone.extend(old);
                    added.extend(new);
                }
            }
        }
        if gone.len() + added.len() <= FEW_MOVES {
            self.move_rows(gone, added);
        } else {
            self.replace_rows(gone, added);
        }
        self.finish(now);
    }

    /// Takes the `gone` rows out and puts the `added` ones in, one at a
    /// time: each costs moving the rows after it, cheaper than a pass over
    /// all of them while there are few.
    fn move_rows(&mut self, gone: Vec<Row>, added: Vec<Row>) {
        let order = self.sort;
        for probe in &gone {
            if let Some(at) = self.position_of_row(probe) {
                self.rows.remove(at);
            }
        }
        for row in added {
            let at = self
                .rows
                .binary_search_by(|r| sort::compare(order, r, &row))
                .unwrap_or_else(|at| at);
            self.rows.insert(at, row);
        }
    }

    fn needs_full_refresh(&self, state: &State, changes: &Changes, now: Ts) -> bool {
        self.stale
            || changes.everything()
            || self.refreshed_at.is_none_or(|at| now < at)
            || self.sort.column.is_some_and(|c| c.moves_with_clock())
            || self.filter.as_ref().is_some_and(|f| f.reads_clock())
            || self.tracked.basis.as_ref() != Some(&Basis::of(state))
    }

    /// Assesses one record: counts it, tracks it, and returns its row if
    /// the filter and the quick view show it.
    fn look(
        &mut self,
        state: &State,
        id: &EvalId,
        record: &EvalRecord,
        ctx: &HealthContext,
        queued: Option<Ts>,
    ) -> Option<Row> {
        if !state.in_scope(record) {
            self.counts.out_of_scope += 1;
            self.track(
                id,
                Entry {
                    tally: None,
                    in_filter: false,
                    placed: None,
                    queued,
                },
                None,
            );
            return None;
        }
        let (flags, turns_at) = assess_until(record, ctx);
        let worst = worst(&flags);
        let tally = Tally::of(shown_status(record), &flags, worst);
        self.counts.add(tally);
        let in_filter = self
            .filter
            .as_ref()
            .is_none_or(|filter| filter.matches(id, record, &flags, ctx.now));
        if in_filter {
            self.quick_counts.add(tally);
        }
        let mut row = None;
        if in_filter && self.quick.matches(&flags) {
            let mut shown = Row {
                id: id.clone(),
                flags,
                worst,
                since: record.started_at().unwrap_or(record.first_seen),
                key: sort::Key::Missing,
            };
            shown.key = sort::key(self.sort.column, record, &shown, ctx.now);
            row = Some(shown);
        }
        let entry = Entry {
            tally: Some(tally),
            in_filter,
            placed: row.as_ref().map(|r| (r.key.clone(), r.since)),
            queued,
        };
        self.track(id, entry, turns_at);
        row
    }

    /// Keeps `entry` for `id`, queueing its clock deadline unless an
    /// earlier one for it is queued already (that one will assess it, and
    /// queue the next).
    fn track(&mut self, id: &EvalId, mut entry: Entry, turns_at: Option<Ts>) {
        let tracked = &mut self.tracked;
        entry.queued = match (entry.queued, turns_at) {
            (Some(q), Some(t)) if q <= t => Some(q),
            (_, Some(t)) => {
                tracked.due.push(Reverse((t, id.clone())));
                Some(t)
            }
            (q, None) => q,
        };
        // Replaced in place rather than removed and inserted again: a
        // removal may leave a tombstone, and enough of them make hashbrown
        // rehash every entry.
        match tracked.entries.get_mut(id) {
            Some(slot) => *slot = entry,
            None => {
                tracked.entries.insert(id.clone(), entry);
            }
        }
    }

    /// Takes `id` out of the counts; returns a stand-in for its row if it
    /// was shown, and its queued deadline. Its entry stays, to be replaced
    /// by [`TableView::track`] or removed by the caller.
    fn forget(&mut self, id: &EvalId) -> (Option<Row>, Option<Ts>) {
        let Some(entry) = self.tracked.entries.get(id) else {
            return (None, None);
        };
        match entry.tally {
            Some(tally) => {
                self.counts.remove(tally);
                if entry.in_filter {
                    self.quick_counts.remove(tally);
                }
            }
            None => self.counts.out_of_scope -= 1,
        }
        (entry.probe(id), entry.queued)
    }

    /// Moves the ids whose deadline has come from `due` into `ids`.
    fn take_due(&mut self, now: Ts, ids: &mut Vec<EvalId>) {
        let tracked = &mut self.tracked;
        while let Some(Reverse((at, _))) = tracked.due.peek()
            && *at <= now
        {
            let Some(Reverse((at, id))) = tracked.due.pop() else {
                break;
            };
            if let Some(entry) = tracked.entries.get_mut(&id)
                && entry.queued == Some(at)
            {
                entry.queued = None;
                ids.push(id);
            }
        }
    }

    /// Takes the `gone` rows out of the sorted rows and merges the `added`
    /// ones in: one pass, no sort of the rows, and only over the rows down
    /// to the last one touched. Changes gather at the top (new evaluations
    /// are newest, flagged ones come first), so at 100,000 rows a merge
    /// mostly reads a few hundred.
    fn replace_rows(&mut self, gone: Vec<Row>, mut added: Vec<Row>) {
        if gone.is_empty() && added.is_empty() {
            return;
        }
        let order = self.sort;
        let mut drop: Vec<usize> = gone
            .iter()
            .filter_map(|probe| self.position_of_row(probe))
            .collect();
        drop.sort_unstable();
        drop.dedup();
        added.sort_unstable_by(|a, b| sort::compare(order, a, b));
        // Rows from here on stay as they are: past the last row taken out
        // and past where the last new row goes.
        let last_gone = drop.last().map_or(0, |&at| at + 1);
        let last_added = added.last().map_or(0, |row| {
            self.rows
                .partition_point(|r| sort::compare(order, r, row) == Ordering::Less)
        });
        let touched = last_gone.max(last_added);

        let mut merged = std::mem::take(&mut self.tracked.spare_rows);
        merged.clear();
        merged.reserve(touched + added.len());
        let mut drop = drop.into_iter().peekable();
        let mut added = added.into_iter().peekable();
        for (i, row) in self.rows.drain(..touched).enumerate() {
            if drop.next_if_eq(&i).is_some() {
                continue;
            }
            while let Some(new) =
                added.next_if(|new| sort::compare(order, new, &row) == Ordering::Less)
            {
                merged.push(new);
            }
            merged.push(row);
        }
        merged.extend(added);
        while let Some(row) = merged.pop() {
            self.rows.push_front(row);
        }
        self.tracked.spare_rows = merged;
    }

    /// Where a shown row (or a stand-in for it) sits.
    fn position_of_row(&self, probe: &Row) -> Option<usize> {
        let order = self.sort;
        match self
            .rows
            .binary_search_by(|row| sort::compare(order, row, probe))
        {
            Ok(at) => Some(at),
            // Not where its key says: found by id (should not happen).
            Err(_) => self.rows.iter().position(|row| row.id == probe.id),
        }
    }

    /// Where the evaluation `id` is shown, if it is.
    pub(super) fn position_of(&self, id: &EvalId) -> Option<usize> {
        let probe = self.tracked.entries.get(id)?.probe(id)?;
        self.position_of_row(&probe)
    }

    fn finish(&mut self, now: Ts) {
        self.refreshed_at = Some(now);
        self.stale = false;
        self.reselect();
    }
}
