//! The help screen: every key of the keymap in force, grouped by the
//! context it works in. The bindings are data passed in by the caller, so
//! that help cannot drift from the keymap.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Widget};

use super::detail::{fit, wrap_words};
use super::{safe, theme};
use crate::view::log_view::width;

/// One binding: its keys, what it does, and where (e.g. "table", "logs").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHelp {
    pub keys: String,
    pub description: String,
    pub context: &'static str,
}

impl KeyHelp {
    pub fn new(keys: &str, description: &str, context: &'static str) -> Self {
        KeyHelp {
            keys: keys.to_string(),
            description: description.to_string(),
            context,
        }
    }
}

/// Borders only when there is room for them and some text.
fn framed(area: Rect) -> bool {
    area.width >= 24 && area.height >= 5
}

fn inner(area: Rect) -> Rect {
    if framed(area) {
        Block::bordered().inner(area)
    } else {
        area
    }
}

/// Draws help scrolled by `scroll`, with `hint` (how to close and scroll
/// it) on its frame; returns how far it can scroll at this size.
pub fn draw_help(frame: &mut Frame, area: Rect, rows: &[KeyHelp], scroll: u16, hint: &str) -> u16 {
    render_help(frame.buffer_mut(), area, rows, scroll, hint)
}

/// As `draw_help`, into a buffer.
pub fn render_help(buf: &mut Buffer, area: Rect, rows: &[KeyHelp], scroll: u16, hint: &str) -> u16 {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return 0;
    }
    // Drawn over whatever was there (help pops up over another view).
    Clear.render(area, buf);
    let text = inner(area);
    let lines = help_lines(text.width, rows);
    let height = usize::from(text.height);
    let max = lines.len().saturating_sub(height);
    let offset = usize::from(scroll).min(max);
    if framed(area) {
        let shown = format!(
            " {}–{} of {} ",
            offset + 1,
            (offset + height).min(lines.len()),
            lines.len()
        );
        Block::bordered()
            .title(Span::styled(" keys ", theme::title()))
            .title_bottom(Line::from(vec![
                Span::styled(format!(" {hint} "), theme::dim()),
                Span::styled(if max > 0 { shown } else { String::new() }, theme::dim()),
            ]))
            .render(area, buf);
    }
    for (i, line) in lines.iter().skip(offset).take(height).enumerate() {
        let y = text.y + u16::try_from(i).unwrap_or(u16::MAX);
        buf.set_line(text.x, y, line, text.width);
    }
    u16::try_from(max).unwrap_or(u16::MAX)
}

fn help_lines(cols: u16, rows: &[KeyHelp]) -> Vec<Line<'static>> {
    let cols = usize::from(cols);
    // Keys get the width of the widest, up to a third of the line.
    let keys_w = rows
        .iter()
        .map(|r| width(&r.keys))
        .max()
        .unwrap_or(0)
        .min(cols / 3)
        .max(1);
    let desc_w = cols.saturating_sub(keys_w + 4).max(1);
    let mut out = Vec::new();
    let mut context = None;
    if rows.is_empty() {
        out.push(Line::from(Span::styled("no keys bound", theme::dim())));
    }
    for row in rows {
        if context != Some(row.context) {
            if context.is_some() {
                out.push(Line::default());
            }
            context = Some(row.context);
            out.push(Line::from(Span::styled(
                safe(row.context).into_owned(),
                theme::title().add_modifier(Modifier::UNDERLINED),
            )));
        }
        let keys = fit(&safe(&row.keys), keys_w);
        let pad = " ".repeat(keys_w.saturating_sub(width(&keys)) + 2);
        for (i, part) in wrap_words(&safe(&row.description), desc_w)
            .into_iter()
            .enumerate()
        {
            let lead = if i == 0 {
                vec![
                    Span::raw("  "),
                    Span::styled(keys.clone(), Style::new().add_modifier(Modifier::BOLD)),
                    Span::raw(pad.clone()),
                ]
            } else {
                vec![Span::raw(" ".repeat(keys_w + 4))]
            };
            let mut spans = lead;
            spans.push(Span::raw(part));
            out.push(Line::from(spans));
        }
    }
    out
}
