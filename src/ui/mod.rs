//! Rendering: the header (sources and counts), the table of evaluations and
//! the footer, drawn from the state and the table's view model. Reads only;
//! the selection and scroll offset live in `TableView`.

pub mod detail;
pub mod dialog;
mod events;
mod filter_bar;
mod fleet;
pub mod footer;
mod header;
pub mod help;
pub mod logs;
pub mod screen;
mod table;
pub mod theme;

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use crate::model::{State, Ts};
use crate::sanitize::clean_line;
use crate::view::TableView;

/// The panes that finding rows adds around the table. The filter bar and
/// the quick-view tabs come from the `TableView` itself.
#[derive(Clone, Copy, Debug)]
pub struct FindPanes<'a> {
    /// The events pane, when it is open.
    pub events: Option<&'a crate::view::EventLog>,
    /// Rows marked for an action, shown with a bullet.
    pub marks: Option<&'a std::collections::BTreeSet<crate::model::EvalId>>,
    /// The columns to show, in order (the config's `columns`).
    pub columns: &'a [crate::view::Column],
    /// What the footer's key hints are made from.
    pub keys: crate::keymap::KeyHints<'a>,
}

impl Default for FindPanes<'_> {
    /// Every column, no pane, the default keys: for drawing outside a
    /// console.
    fn default() -> Self {
        FindPanes {
            events: None,
            marks: None,
            columns: &crate::view::Column::ALL,
            keys: crate::keymap::KeyHints::default(),
        }
    }
}

/// Draws the whole screen with the finding panes: quick-view tabs, the
/// filter bar and, when open, the events pane; or, on a screen smaller than
/// `MIN_WIDTH` x `MIN_HEIGHT`, only a message saying so.
pub fn draw_with(
    frame: &mut Frame,
    state: &State,
    table: &TableView,
    panes: &FindPanes<'_>,
    now: Ts,
) {
    let screen = frame.area();
    let buf = frame.buffer_mut();
    if layout::too_small(screen) {
        draw_too_small(screen, buf);
        return;
    }
    let areas = layout::table_screen_of(screen, table, panes.events.is_some());
    header::render(state, table.counts(), now, areas.header, buf);
    header::render_tabs(table, areas.tabs, buf);
    filter_bar::render(table, areas.filter, buf);
    table::render(state, table, panes, now, areas.table, buf);
    if let Some(log) = panes.events {
        if log.rejected_only {
            events::render_rejected(&state.rejected, areas.events, buf);
        } else {
            events::render(log, table.selected().map(|id| &**id), areas.events, buf);
        }
    }
    footer::render(table, &panes.keys, areas.footer, buf);
}

fn draw_too_small(screen: Rect, buf: &mut ratatui::buffer::Buffer) {
    use ratatui::widgets::{Paragraph, Widget};
    let lines = vec![
        ratatui::text::Line::styled("terminal too small", theme::warning()),
        ratatui::text::Line::styled(
            format!(
                "{}x{}, needs {MIN_WIDTH}x{MIN_HEIGHT}",
                screen.width, screen.height
            ),
            theme::dim(),
        ),
    ];
    let top = screen.height.saturating_sub(2) / 2;
    let area = Rect {
        y: screen.y + top,
        height: screen.height - top,
        ..screen
    };
    Paragraph::new(lines)
        .alignment(ratatui::layout::Alignment::Center)
        .render(area, buf);
}

/// Text for a cell. The model stores sanitised text already; this guard
/// costs one scan and allocates only if a control character got through
/// anyway, because the terminal must never receive one.
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(clean_line(text).replace(|c: char| c.is_control(), " "))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_keeps_clean_text_borrowed_and_cleans_the_rest() {
        assert!(matches!(safe("eval_1"), Cow::Borrowed("eval_1")));
        let cleaned = safe("a\u{1b}[2Jb\nc\u{7}");
        assert!(!cleaned.chars().any(char::is_control), "{cleaned:?}");
        assert!(cleaned.starts_with("ab c"), "{cleaned:?}");
    }
}
