//! The status line: where the selection is, why the selected evaluation is
//! flagged (its most severe flag's reason), and the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{safe, theme};
use crate::keymap::{Command, Context, KeyHints};
use crate::view::TableView;

/// The table's hints, in order; those that act are left out when actions
/// are off.
const TABLE_HINTS: &[Command] = &[
    Command::Help,
    Command::Filter,
    Command::Open,
    Command::Logs,
    Command::Kill,
    Command::Remove,
    Command::ForceFail,
    Command::Mark,
    Command::PauseResume,
    Command::Faster,
    Command::Slower,
    Command::Quit,
];

pub(super) fn render(view: &TableView, keys: &KeyHints<'_>, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let mut spans = Vec::new();
    if let (Some(index), Some(row)) = (view.selected_index(), view.selected_row()) {
        spans.push(Span::styled(
            format!("{}/{} ", index + 1, view.len()),
            theme::dim(),
        ));
        match row.top_flag() {
            Some(flag) => {
                let style = Style::new().fg(theme::severity_color(flag.severity()));
                spans.push(Span::styled(format!("{}: ", flag.kind().name()), style));
                // The reason words evidence that may quote untrusted text.
                spans.push(Span::styled(safe(&flag.reason()).into_owned(), style));
            }
            None => spans.push(Span::styled("no flags", theme::dim())),
        }
        spans.push(Span::raw("  │  "));
    }
    spans.push(Span::styled(
        keys.line(Context::Table, TABLE_HINTS),
        theme::dim(),
    ));
    Paragraph::new(Line::from(spans)).render(area, buf);
}
