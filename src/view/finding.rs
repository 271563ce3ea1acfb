//! Finding rows: the table's filter, quick view and sort, and the filter
//! bar's editing. Each change marks the view stale; the rows follow at the
//! next `refresh`, which is where filtering and sorting happen.

use super::{Counts, Filter, FilterEdit, FilterInput, QuickView, Sort, TableView};

impl TableView {
    /// Sets the typed filter (`None`, or an empty one: no filter).
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        let filter = filter.filter(|f| !f.is_empty());
        if self.filter != filter {
            self.filter = filter;
            self.stale = true;
        }
        self.input.show(self.filter.as_ref());
    }

    pub fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    pub fn set_quick_view(&mut self, view: QuickView) {
        if self.quick != view {
            self.quick = view;
            self.stale = true;
        }
    }

    pub fn quick_view(&self) -> QuickView {
        self.quick
    }

    /// Sorts by `column`; the same column again reverses the order.
    pub fn sort_by(&mut self, column: Option<super::Column>) {
        self.sort.toggle(column);
        self.stale = true;
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    /// Evaluations in scope that the filter and the quick view leave out.
    pub fn hidden(&self) -> usize {
        self.counts.total.saturating_sub(self.rows.len())
    }

    /// Evaluations in scope that the typed filter alone leaves out.
    pub fn hidden_by_filter(&self) -> usize {
        self.counts.total.saturating_sub(self.quick_counts.total)
    }

    /// Counts of the evaluations that pass the typed filter: what each
    /// quick view would show (`QuickView::count`).
    pub fn quick_counts(&self) -> &Counts {
        &self.quick_counts
    }

    /// True when the filter, quick view or sort changed since the last
    /// `refresh`: the rows shown are out of date until the next one.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The filter bar (`/`): starts editing the active filter's text.
    pub fn open_filter(&mut self) {
        self.input.open(self.filter.as_ref());
    }

    /// One edit in the filter bar. Whenever the text parses, it becomes
    /// the filter at once (a live preview); otherwise the last filter that
    /// parsed stays, and the bar shows why this one does not.
    pub fn edit_filter(&mut self, edit: FilterEdit) {
        if !self.input.is_editing() {
            self.open_filter();
        }
        if !self.input.apply(edit) {
            return;
        }
        match self.input.parse() {
            Ok(filter) => {
                self.input.set_error(None);
                if self.filter != filter {
                    self.filter = filter;
                    self.stale = true;
                }
            }
            Err(error) => self.input.set_error(Some(error)),
        }
    }

    /// Enter: keeps the filter and closes the bar. Refused (returns false,
    /// the bar stays open) while the text does not parse.
    pub fn commit_filter(&mut self) -> bool {
        if self.input.error().is_some() {
            return false;
        }
        self.input.close();
        self.input.show(self.filter.as_ref());
        true
    }

    /// Esc while typing: closes the bar and restores the filter that was
    /// active when it opened.
    pub fn cancel_filter(&mut self) {
        if self.input.is_editing() {
            let before = self.input.close();
            self.set_filter(before);
        }
    }

    /// Removes the filter (and closes the bar).
    pub fn clear_filter(&mut self) {
        self.input.close();
        self.set_filter(None);
    }

    /// The filter bar's text, cursor and error, for drawing.
    pub fn filter_input(&self) -> &FilterInput {
        &self.input
    }
}
