//! The filter bar: while typing, the text after `/` with its cursor and,
//! beside it, either how many rows the previewed filter hides or, in red,
//! why the text does not parse; otherwise the active filter and how many
//! rows it hides.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{safe, theme};
use crate::view::TableView;

/// Whether the bar has anything to show: it takes a line only then.
pub(super) fn render(view: &TableView, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let input = view.filter_input();
    let hides = Span::styled(
        format!("  (hides {})", view.hidden_by_filter()),
        theme::dim(),
    );
    let line = if input.is_editing() {
        let status = match input.error() {
            Some(error) => Span::styled(format!("  {}", safe(&error.to_string())), theme::alarm()),
            None => hides,
        };
        // The text scrolls sideways to keep the cursor in view; it gets at
        // least half the line, the status what is left.
        let room = usize::from(area.width)
            .saturating_sub(1)
            .saturating_sub(status.width())
            .max(usize::from(area.width / 2))
            .max(2);
        let mut spans = vec![Span::styled("/", theme::title())];
        spans.extend(editing(input.text(), input.cursor(), room));
        spans.push(status);
        Line::from(spans)
    } else {
        match view.filter() {
            Some(filter) => Line::from(vec![
                Span::styled("filter: ", theme::title()),
                Span::raw(safe(filter.text()).into_owned()),
                hides,
            ]),
            None => Line::default(),
        }
    };
    Paragraph::new(line).render(area, buf);
}

/// The text with the character under the cursor reversed (a reversed space
/// past the end), cut to `room` columns around the cursor.
fn editing(text: &str, cursor: usize, room: usize) -> Vec<Span<'static>> {
    let text = safe(text);
    let chars: Vec<char> = text.chars().collect();
    let cursor = cursor.min(chars.len());
    // One column stays for the cursor past the end.
    let start = (cursor + 1).saturating_sub(room);
    let end = chars.len().min(start + room);
    let before: String = chars[start..cursor].iter().collect();
    let under: String = chars.get(cursor).map_or(" ".to_string(), char::to_string);
    let after: String = chars
        .get(cursor + 1..end.max(cursor + 1))
        .map_or(String::new(), |rest| rest.iter().collect());
    vec![
        Span::raw(before),
        Span::styled(under, theme::selected()),
        Span::raw(after),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str, cursor: usize, room: usize) -> (String, String, String) {
        let spans = editing(text, cursor, room);
        (
            spans[0].content.to_string(),
            spans[1].content.to_string(),
            spans[2].content.to_string(),
        )
    }

    #[test]
    fn the_cursor_stays_in_view() {
        assert_eq!(
            shown("status", 6, 20),
            ("status".into(), " ".into(), "".into())
        );
        assert_eq!(
            shown("status", 0, 20),
            ("".into(), "s".into(), "tatus".into())
        );
        assert_eq!(
            shown("status:running", 14, 5),
            ("ning".into(), " ".into(), "".into())
        );
        assert_eq!(
            shown("status:running", 2, 5),
            ("st".into(), "a".into(), "tu".into())
        );
        assert_eq!(shown("", 0, 1), ("".into(), " ".into(), "".into()));
    }
}
