//! Rendering: the header (sources and counts), the table of evaluations and
//! the footer, drawn from the state and the table's view model. Reads only;
//! the selection and scroll offset live in `TableView`.

pub mod detail;
pub mod dialog;
mod events;
mod filter_bar;
mod footer;
mod header;
pub mod help;
pub mod logs;
pub mod screen;
mod table;
pub mod theme;

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::model::{State, Ts};
use crate::sanitize::clean_line;
use crate::view::TableView;

/// Lines the header takes when there is room for it.
const HEADER_LINES: u16 = 4;

/// Where each part of the screen goes.
struct Areas {
    header: Rect,
    table: Rect,
    footer: Rect,
}

/// Splits the screen by hand rather than with a constraint solver, so that
/// tiny terminals degrade in a chosen order: the footer goes first, then
/// the header, and the table keeps its column titles and a row the longest.
fn split(area: Rect) -> Areas {
    let footer_h = u16::from(area.height >= 4);
    let header_h = HEADER_LINES.min(area.height.saturating_sub(footer_h + 2));
    let table_h = area.height - footer_h - header_h;
    let header = Rect {
        height: header_h,
        ..area
    };
    let table = Rect {
        y: area.y + header_h,
        height: table_h,
        ..area
    };
    let footer = Rect {
        y: area.y + header_h + table_h,
        height: footer_h,
        ..area
    };
    Areas {
        header,
        table,
        footer,
    }
}

/// How many evaluations fit on one page of a screen of this size: the
/// `page` to pass to `TableView::apply`.
pub fn page_size(screen: Rect) -> usize {
    usize::from(table::body_height(split(screen).table))
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, state: &State, table: &TableView, now: Ts) {
    let areas = split(frame.area());
    let buf = frame.buffer_mut();
    header::render(state, table.counts(), now, areas.header, buf);
    table::render(state, table, &FindPanes::default(), now, areas.table, buf);
    footer::render(table, areas.footer, buf);
}

/// The smallest screen drawn by `draw_with`; below it, a "terminal too
/// small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// The panes that finding rows adds around the table. The filter bar and
/// the quick-view tabs come from the `TableView` itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct FindPanes<'a> {
    /// The events pane, when it is open.
    pub events: Option<&'a crate::view::EventLog>,
    /// Rows marked for an action, shown with a bullet.
    pub marks: Option<&'a std::collections::BTreeSet<crate::model::EvalId>>,
    /// The columns to show (the config's `columns`); `None`: all.
    pub columns: Option<&'a [String]>,
}

/// The index (in `table.rows()`) of the row drawn at screen line `y`, if
/// a row is drawn there.
pub fn row_at(screen: Rect, table: &TableView, panes: &FindPanes<'_>, y: u16) -> Option<usize> {
    if too_small(screen) {
        return None;
    }
    let area = find_areas(screen, table, panes).table;
    // The first line of the table holds the column titles.
    let first_row = area.y + 1;
    if y < first_row || y >= area.bottom() {
        return None;
    }
    let range = table.visible_range(usize::from(table::body_height(area)));
    let index = range.start + usize::from(y - first_row);
    range.contains(&index).then_some(index)
}

/// Where each part of the screen goes when the finding panes are drawn.
struct FindAreas {
    header: Rect,
    tabs: Rect,
    filter: Rect,
    table: Rect,
    events: Rect,
    footer: Rect,
}

/// Top to bottom: header, quick-view tabs, filter bar (only while it has
/// something to say), table, events pane (when open), footer. On short
/// screens the header gives way first, so the table keeps its titles and
/// three rows and the events pane its title and two lines.
fn split_find(area: Rect, filter_bar: bool, events: bool) -> FindAreas {
    let fixed = 2 + u16::from(filter_bar);
    let rest = area.height.saturating_sub(fixed);
    let (table_min, events_min) = (4, if events { 3 } else { 0 });
    let header_h = HEADER_LINES.min(rest.saturating_sub(table_min + events_min));
    let avail = rest - header_h;
    let events_h = if events {
        (avail * 2 / 5)
            .max(events_min)
            .min(avail.saturating_sub(table_min))
    } else {
        0
    };
    let heights = [
        header_h,
        1,
        u16::from(filter_bar),
        avail - events_h,
        events_h,
        1,
    ];
    let mut y = area.y;
    let [header, tabs, filter, table, events, footer] = heights.map(|height| {
        let height = height.min(area.bottom().saturating_sub(y));
        let rect = Rect { y, height, ..area };
        y += height;
        rect
    });
    FindAreas {
        header,
        tabs,
        filter,
        table,
        events,
        footer,
    }
}

fn find_areas(screen: Rect, table: &TableView, panes: &FindPanes<'_>) -> FindAreas {
    split_find(screen, filter_bar::wanted(table), panes.events.is_some())
}

/// True when `draw_with` shows only the "terminal too small" message.
pub fn too_small(screen: Rect) -> bool {
    screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT
}

/// `page_size` for the screen `draw_with` draws.
pub fn page_size_with(screen: Rect, table: &TableView, panes: &FindPanes<'_>) -> usize {
    if too_small(screen) {
        return 1;
    }
    usize::from(table::body_height(find_areas(screen, table, panes).table))
}

/// Lines of events the open events pane shows: a page for scrolling it.
pub fn events_page_size(screen: Rect, table: &TableView, panes: &FindPanes<'_>) -> usize {
    if too_small(screen) {
        return 1;
    }
    usize::from(events::body_height(find_areas(screen, table, panes).events)).max(1)
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
    if too_small(screen) {
        draw_too_small(screen, buf);
        return;
    }
    let areas = find_areas(screen, table, panes);
    header::render(state, table.counts(), now, areas.header, buf);
    header::render_tabs(table, areas.tabs, buf);
    filter_bar::render(table, areas.filter, buf);
    table::render(state, table, panes, now, areas.table, buf);
    if let Some(log) = panes.events {
        events::render(log, table.selected().map(|id| &**id), areas.events, buf);
    }
    footer::render(table, areas.footer, buf);
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

    #[test]
    fn split_never_overflows_and_keeps_the_table_longest() {
        for height in 0..=40 {
            let area = Rect::new(0, 0, 80, height);
            let areas = split(area);
            assert_eq!(
                areas.header.height + areas.table.height + areas.footer.height,
                height
            );
            assert!(areas.table.height >= height.min(2), "height {height}");
        }
    }
}
