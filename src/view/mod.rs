//! The table's view model: which evaluations are shown (the filter and the
//! quick view), in what order (the sort), with which flags, and where the
//! selection and scroll offset are. Pure UI state: no IO, no clock reads,
//! no ratatui types.

mod advice;
pub mod column;
mod counts;
pub mod detail_view;
pub mod event_log;
pub mod filter;
mod finding;
mod input;
pub mod log_excerpt;
pub mod log_view;
pub mod quick;
mod refresh;
pub mod scroll;
pub mod sort;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::ops::Range;

pub use column::Column;
pub use counts::Counts;
pub use event_log::{EventLine, EventLog};
pub use filter::{Filter, FilterError};
pub use input::{FilterEdit, FilterInput};
pub use quick::QuickView;
pub use sort::Sort;

use crate::model::{EvalId, EvalRecord, Flag, Severity, Status, Ts};

/// How the user moves in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
}

/// One evaluation as the table shows it: its id, its flags as of the last
/// refresh (most severe first), and its sort key.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: EvalId,
    /// Empty (and unallocated) for a healthy evaluation.
    pub flags: Vec<Flag>,
    /// The most severe flag's severity.
    pub worst: Option<Severity>,
    /// When the evaluation began (`started_at`, else first seen): newest
    /// first within a severity.
    pub since: Ts,
    /// Its value in the sorted column.
    key: sort::Key,
}

impl Row {
    /// The flag to explain first: the most severe one.
    pub fn top_flag(&self) -> Option<&Flag> {
        self.flags.first()
    }
}

/// The status a row shows: the one the merge rules let stand, else the one
/// the storage worker confirmed (when the event itself was missed), else
/// what the keys hold (a start after the messages went by).
pub fn shown_status(record: &EvalRecord) -> Option<Status> {
    status_with_origin(record).map(|(status, _)| status)
}

/// Where a shown status came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusOrigin {
    /// A message on `evaluation:{status}`.
    Channel,
    /// The storage worker's confirmation.
    Storage,
    /// `running_evaluations`, `eval:{id}:running` or `pending:{id}`.
    Keys,
}

impl StatusOrigin {
    pub fn name(self) -> &'static str {
        match self {
            StatusOrigin::Channel => "channel",
            StatusOrigin::Storage => "storage",
            StatusOrigin::Keys => "keys",
        }
    }
}

/// The shown status and where it came from.
pub fn status_with_origin(record: &EvalRecord) -> Option<(Status, StatusOrigin)> {
    let redis = &record.redis;
    if let Some(status) = redis.status {
        return Some((status, StatusOrigin::Channel));
    }
    if let Some(status) = redis.storage_status {
        return Some((status, StatusOrigin::Storage));
    }
    if redis.in_running_set || redis.running_key.is_some() {
        return Some((Status::Running, StatusOrigin::Keys));
    }
    redis
        .pending
        .as_deref()
        .and_then(Status::parse)
        .or(redis.pending.as_ref().map(|_| Status::Queued))
        .map(|status| (status, StatusOrigin::Keys))
}

/// The status as the table shows it: `running`, or `running·key` when only
/// the keys say so.
pub fn status_label(record: &EvalRecord) -> Option<String> {
    status_with_origin(record).map(|(status, origin)| match origin {
        StatusOrigin::Keys => format!("{}·key", status.name()),
        StatusOrigin::Channel | StatusOrigin::Storage => status.name().to_string(),
    })
}

/// The rows in display order, the selection and the scroll offset.
#[derive(Clone, Debug, Default)]
pub struct TableView {
    /// A deque because new evaluations sort to the top: a change there
    /// moves the rows above it, not the 100,000 below.
    rows: VecDeque<Row>,
    /// The selected evaluation: followed by id across refreshes.
    selected: Option<EvalId>,
    /// Where `selected` sat after the last refresh or move; used to pick a
    /// neighbour when the selected evaluation disappears.
    index: usize,
    offset: usize,
    counts: Counts,
    refreshed_at: Option<Ts>,
    /// The typed filter; rows that fail it are left out of `rows`.
    filter: Option<Filter>,
    input: FilterInput,
    quick: QuickView,
    sort: Sort,
    /// Counts of the rows that pass the typed filter, whatever the quick
    /// view: what each quick view would show.
    quick_counts: Counts,
    /// The filter, quick view or sort changed since the last refresh.
    stale: bool,
    /// What the last refresh found for each evaluation, and when its flags
    /// turn with the clock: what lets a refresh look only at what changed.
    tracked: refresh::Tracked,
}

impl TableView {
    /// Finds the selected id again after a reorder; if it is gone, selects
    /// the row now at its old place, so the cursor does not jump to the top.
    fn reselect(&mut self) {
        if self.rows.is_empty() {
            self.selected = None;
            self.index = 0;
            self.offset = 0;
            return;
        }
        let found = self.selected.as_ref().and_then(|id| self.position_of(id));
        let index = found.unwrap_or(self.index).min(self.rows.len() - 1);
        self.select_index(index, None);
    }

    fn select_index(&mut self, index: usize, page: Option<usize>) {
        self.index = index;
        self.selected = self.rows.get(index).map(|row| row.id.clone());
        if let Some(page) = page {
            self.offset = self.visible_range(page).start;
        }
    }

    /// Moves the selection; `page` is how many rows are visible.
    pub fn apply(&mut self, action: Action, page: usize) {
        let Some(last) = self.rows.len().checked_sub(1) else {
            return;
        };
        let page = page.max(1);
        let current = self.selected_index().unwrap_or(0);
        let index = match action {
            Action::Up => current.saturating_sub(1),
            Action::Down => current.saturating_add(1),
            Action::PageUp => current.saturating_sub(page),
            Action::PageDown => current.saturating_add(page),
            Action::Top => 0,
            Action::Bottom => last,
        };
        self.select_index(index.min(last), Some(page));
    }

    /// Selects `id` if it is shown; returns whether it is.
    pub fn select(&mut self, id: &str, page: usize) -> bool {
        match self.rows.iter().position(|row| &*row.id == id) {
            Some(index) => {
                self.select_index(index, Some(page.max(1)));
                true
            }
            None => false,
        }
    }

    pub fn selected(&self) -> Option<&EvalId> {
        self.selected.as_ref()
    }

    /// The selected row's position in display order.
    pub fn selected_index(&self) -> Option<usize> {
        self.selected.as_ref().map(|_| self.index)
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.selected_index().and_then(|i| self.rows.get(i))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Counts of every evaluation in scope, filtered or not (the header).
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// All rows in display order.
    pub fn rows(&self) -> &VecDeque<Row> {
        &self.rows
    }

    /// The first row the last move left at the top of the page.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The `now` of the last refresh, if any.
    pub fn refreshed_at(&self) -> Option<Ts> {
        self.refreshed_at
    }

    /// The rows to draw in `height` lines: from the scroll offset, moved
    /// just enough to keep the selection in view (the terminal may have
    /// shrunk since the last move) and not past the end (rows may have
    /// gone).
    pub fn visible_range(&self, height: usize) -> Range<usize> {
        let len = self.rows.len();
        if height == 0 || len == 0 {
            return 0..0;
        }
        let mut start = self.offset.min(len.saturating_sub(height));
        if let Some(selected) = self.selected_index() {
            if selected < start {
                start = selected;
            } else if selected >= start + height {
                start = selected + 1 - height;
            }
        }
        start..(start + height).min(len)
    }
}
