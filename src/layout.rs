//! Where each part of each screen goes: pure geometry, shared by the
//! console (page sizes, what a click hits) and the renderer (where to
//! draw), so that neither asks the other. Splits are made by hand rather
//! than with a constraint solver, so that tiny terminals degrade in a
//! chosen order.

use ratatui::layout::Rect;

use crate::view::TableView;
use crate::view::log_view::Viewport;

/// The smallest screen the table is drawn on; below it, a "terminal too
/// small" message.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// Lines the header takes when there is room for it.
const HEADER_LINES: u16 = 4;

/// True when only the "terminal too small" message is shown.
pub fn too_small(screen: Rect) -> bool {
    screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT
}

/// Where a full-screen view (detail, logs) goes: all but the status line.
pub fn body_area(screen: Rect) -> Rect {
    Rect {
        height: screen.height.saturating_sub(1),
        ..screen
    }
}

/// The table screen, top to bottom.
pub struct TableAreas {
    pub header: Rect,
    pub tabs: Rect,
    pub filter: Rect,
    pub table: Rect,
    pub events: Rect,
    pub footer: Rect,
}

/// Whether the filter bar has something to say: while typing, or while a
/// filter is applied.
pub fn filter_bar_wanted(table: &TableView) -> bool {
    table.filter_input().is_editing() || table.filter().is_some()
}

/// Top to bottom: header, quick-view tabs, filter bar (only while it has
/// something to say), table, events pane (when open), footer. On short
/// screens the header gives way first, so the table keeps its titles and
/// three rows and the events pane its title and two lines.
pub fn table_screen(area: Rect, filter_bar: bool, events: bool) -> TableAreas {
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
    TableAreas {
        header,
        tabs,
        filter,
        table,
        events,
        footer,
    }
}

/// The table screen as `table` wants it drawn.
pub fn table_screen_of(area: Rect, table: &TableView, events: bool) -> TableAreas {
    table_screen(area, filter_bar_wanted(table), events)
}

/// Rows of evaluations that fit under the column titles.
pub fn table_body_height(area: Rect) -> u16 {
    area.height.saturating_sub(1)
}

/// Lines of events under the events pane's title.
pub fn events_body_height(area: Rect) -> u16 {
    area.height.saturating_sub(1)
}

/// Rows in a page of the table: the `page` for `TableView::apply`.
pub fn page_size(screen: Rect, table: &TableView, events: bool) -> usize {
    if too_small(screen) {
        return 1;
    }
    usize::from(table_body_height(
        table_screen_of(screen, table, events).table,
    ))
    .max(1)
}

/// Lines of events the open events pane shows: a page for scrolling it.
pub fn events_page_size(screen: Rect, table: &TableView) -> usize {
    if too_small(screen) {
        return 1;
    }
    usize::from(events_body_height(
        table_screen_of(screen, table, true).events,
    ))
    .max(1)
}

/// The index (in `table.rows()`) of the row drawn at screen line `y`, if
/// a row is drawn there.
pub fn row_at(screen: Rect, table: &TableView, events: bool, y: u16) -> Option<usize> {
    if too_small(screen) {
        return None;
    }
    let area = table_screen_of(screen, table, events).table;
    // The first line of the table holds the column titles.
    let first_row = area.y + 1;
    if y < first_row || y >= area.bottom() {
        return None;
    }
    let range = table.visible_range(usize::from(table_body_height(area)));
    let index = range.start + usize::from(y - first_row);
    range.contains(&index).then_some(index)
}

/// A full-screen view with a title line, a body that scrolls, and a line
/// of its own at the bottom (keys, or the logs' status).
pub struct FramedAreas {
    pub top: Rect,
    pub body: Rect,
    pub bottom: Rect,
}

/// The detail view: the keys line goes first on tiny terminals, then the
/// title.
pub fn detail_screen(area: Rect) -> FramedAreas {
    framed(area, 4, 3)
}

/// The logs view: the body keeps its rows longest; the status line goes
/// first, then the origin line.
pub fn logs_screen(area: Rect) -> FramedAreas {
    framed(area, 2, 3)
}

/// `top` is shown from `top_from` lines of height, `bottom` from
/// `bottom_from`.
fn framed(area: Rect, top_from: u16, bottom_from: u16) -> FramedAreas {
    let top_h = u16::from(area.height >= top_from);
    let bottom_h = u16::from(area.height >= bottom_from);
    let body_h = area.height - top_h - bottom_h;
    FramedAreas {
        top: Rect {
            height: top_h,
            ..area
        },
        body: Rect {
            y: area.y + top_h,
            height: body_h,
            ..area
        },
        bottom: Rect {
            y: area.y + top_h + body_h,
            height: bottom_h,
            ..area
        },
    }
}

/// The size of the log body in `area`: what `LogView`'s moves need.
pub fn logs_viewport(area: Rect) -> Viewport {
    let body = logs_screen(area).body;
    Viewport {
        width: body.width,
        height: body.height,
    }
}

/// A centred box for help over another view: up to 76 columns and most of
/// the height; the whole screen on small terminals.
pub fn help_popup(screen: Rect) -> Rect {
    if screen.width < 50 || screen.height < 14 {
        return screen;
    }
    let width = screen.width.min(76);
    let height = screen.height - screen.height / 6;
    Rect {
        x: screen.x + (screen.width - width) / 2,
        y: screen.y + (screen.height - height) / 2,
        width,
        height,
    }
}

/// What only a drawing knows, handed back to the console after each
/// frame: how far the scrolling views can scroll at the size drawn. The
/// console bounds its scroll offsets by these, so that it never lays out
/// text itself, and the renderer never changes the console.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Drawn {
    /// The detail view's last scroll offset, when it was drawn.
    pub detail_max_scroll: Option<u16>,
    /// The help popup's, when it was drawn.
    pub help_max_scroll: Option<u16>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_screen_views_never_overflow_and_keep_the_body_longest() {
        for height in 0..=40 {
            let area = Rect::new(0, 0, 80, height);
            for areas in [detail_screen(area), logs_screen(area)] {
                assert_eq!(
                    areas.top.height + areas.body.height + areas.bottom.height,
                    height
                );
                assert!(areas.body.height >= height.min(1), "height {height}");
                assert_eq!(areas.body.y, areas.top.bottom());
                assert_eq!(areas.bottom.y, areas.body.bottom());
            }
        }
    }

    #[test]
    fn the_table_screen_fills_the_screen_and_keeps_table_and_events() {
        for height in MIN_HEIGHT..=80 {
            for (bar, events) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = table_screen(Rect::new(0, 0, 80, height), bar, events);
                let parts = [a.header, a.tabs, a.filter, a.table, a.events, a.footer];
                let sum: u16 = parts.iter().map(|r| r.height).sum();
                assert_eq!(sum, height, "{height} {bar} {events}");
                assert!(parts.windows(2).all(|w| w[0].bottom() == w[1].y));
                assert!(a.table.height >= 4, "{height}: table {}", a.table.height);
                assert_eq!(a.events.height >= 3, events, "{height}");
                assert_eq!(a.filter.height, u16::from(bar));
                // The header has what the fixed lines and the minimums leave.
                let spare = height - 2 - u16::from(bar) - 4 - if events { 3 } else { 0 };
                assert_eq!(a.header.height, spare.min(4), "{height}");
            }
        }
    }
}
