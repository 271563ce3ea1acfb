//! Rendering: the header (sources and counts), the table of evaluations and
//! the footer, drawn from the state and the table's view model. Reads only;
//! the selection and scroll offset live in `TableView`.

mod footer;
mod header;
pub mod keys;
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
    table::render(state, table, now, areas.table, buf);
    footer::render(table, areas.footer, buf);
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
