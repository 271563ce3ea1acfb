//! Sorting the table by a column. Each column has a natural first direction
//! (names and lifecycles ascending, durations, exit codes and flags
//! largest first); choosing the same column again reverses it. Rows with
//! nothing to show in the column go last either way, and ties keep the
//! default order, so the order is total and stable across refreshes.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::model::{ContainerState, EvalRecord, FlagKind, Severity, Status, Ts};

use super::column::Column;
use super::{Row, shown_status};

/// The table's order: a column and whether it was chosen twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sort {
    /// `None`: the default order (flagged first, then newest).
    pub column: Option<Column>,
    /// Opposite to the column's natural direction.
    pub reversed: bool,
}

impl Sort {
    /// Selects `column`, or reverses it if it is already selected.
    pub fn toggle(&mut self, column: Option<Column>) {
        if self.column == column {
            self.reversed = !self.reversed;
        } else {
            *self = Sort {
                column,
                reversed: false,
            };
        }
    }

    /// Whether the column's values run from largest to smallest.
    pub fn descending(self) -> bool {
        self.column.is_some_and(Column::starts_descending) != self.reversed
    }

    /// `▲` ascending or `▼` descending, for the column's title; `None` for
    /// the default order, which has no column of its own.
    pub fn arrow(self) -> Option<char> {
        self.column?;
        Some(if self.descending() { '▼' } else { '▲' })
    }
}

/// A row's value in the sorted column, kept with the row so that rows can
/// be placed among the sorted ones without reading their records again.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Key {
    Missing,
    Int(i64),
    /// The row's own id (no copy of it).
    Id,
    Text(Arc<str>),
}

impl Column {
    /// Whether a row's value in this column moves with the clock alone,
    /// so that rows not changed since the last refresh may need placing
    /// again: a live container's runtime grows, past those that ended.
    pub(super) fn moves_with_clock(self) -> bool {
        matches!(self, Column::Runtime)
    }
}

/// Container states in lifecycle order.
const CONTAINER_ORDER: [ContainerState; 8] = [
    ContainerState::Created,
    ContainerState::Running,
    ContainerState::Paused,
    ContainerState::Restarting,
    ContainerState::Removing,
    ContainerState::Exited,
    ContainerState::Dead,
    ContainerState::Removed,
];

fn position<T: PartialEq>(all: &[T], item: T) -> i64 {
    all.iter().position(|x| *x == item).unwrap_or(0) as i64
}

pub(super) fn key(column: Option<Column>, record: &EvalRecord, row: &Row, now: Ts) -> Key {
    let int = |value: Option<i64>| value.map_or(Key::Missing, Key::Int);
    let Some(column) = column else {
        return Key::Missing;
    };
    match column {
        Column::Id => Key::Id,
        Column::Status => int(shown_status(record).map(|s| position(&Status::ALL, s))),
        Column::Container => int(record
            .container_state()
            .map(|s| position(&CONTAINER_ORDER, s))),
        Column::Executor => record
            .executor()
            .map_or(Key::Missing, |e| Key::Text(Arc::from(e))),
        Column::Host => record
            .engine()
            .map_or(Key::Missing, |e| Key::Text(e.as_arc())),
        // The oldest has the earliest start: the same order as the age at
        // any `now`, and it does not move with the clock.
        Column::Age => Key::Int(row.since.millis().saturating_neg()),
        Column::Runtime => int(runtime_ms(record, now)),
        Column::Exit => int(record.exit_code()),
        Column::Flags => int(row.top_flag().map(|flag| {
            let severity = position(
                &[Severity::Info, Severity::Warning, Severity::Alarm],
                flag.severity(),
            );
            // Within a severity, the model's order of kinds (most
            // alarming first) decides.
            let kind = position(&FlagKind::ALL, flag.kind());
            severity * 64 + (63 - kind)
        })),
    }
}

/// How long the container has run (while live) or ran (once ended), as the
/// runtime column shows it; for an evaluation Docker has not shown, while
/// Redis holds it running, since it began.
pub fn runtime_ms(record: &EvalRecord, now: Ts) -> Option<i64> {
    match &record.docker {
        Some(docker) => {
            let start = docker.created_at.or(docker.started_at)?;
            let state = docker.state?;
            if state.is_live() {
                Some(now.since(start).max(0))
            } else if state.has_ended() {
                Some(docker.ended_at()?.since(start).max(0))
            } else {
                None
            }
        }
        None if !record.redis.is_terminal()
            && matches!(
                record.redis.status,
                Some(Status::Running | Status::Provisioning)
            ) =>
        {
            Some(now.since(record.started_at()?).max(0))
        }
        None => None,
    }
}

/// Flagged first by severity, then newest first, then by id.
pub(super) fn default_order(a: &Row, b: &Row) -> Ordering {
    b.worst
        .cmp(&a.worst)
        .then(b.since.cmp(&a.since))
        .then_with(|| a.id.cmp(&b.id))
}

/// The table's order of two rows under `sort`: total, since ids are unique.
pub(super) fn compare(sort: Sort, a: &Row, b: &Row) -> Ordering {
    if sort.column.is_none() {
        let order = default_order(a, b);
        return if sort.reversed {
            order.reverse()
        } else {
            order
        };
    }
    let by_key = match (&a.key, &b.key) {
        (Key::Missing, Key::Missing) => Ordering::Equal,
        (Key::Missing, _) => Ordering::Greater,
        (_, Key::Missing) => Ordering::Less,
        (Key::Id, Key::Id) if sort.descending() => b.id.cmp(&a.id),
        (Key::Id, Key::Id) => a.id.cmp(&b.id),
        (x, y) if sort.descending() => y.cmp(x),
        (x, y) => x.cmp(y),
    };
    by_key.then_with(|| default_order(a, b))
}
