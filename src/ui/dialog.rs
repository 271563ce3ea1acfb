//! The confirmation dialog: a centred box saying what will happen, to
//! what, with context; refusals in red; the reason being edited; the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::theme;
use crate::console::{Dialog, DialogStage};

pub fn render(dialog: &Dialog, screen: Rect, buf: &mut Buffer) {
    let width = screen.width.saturating_sub(4).min(100);
    let mut lines: Vec<Line<'_>> = Vec::new();
    lines.push(Line::styled(dialog.title.as_str(), theme::title()));
    lines.push(Line::raw(""));
    for line in &dialog.lines {
        lines.push(Line::raw(format!("  {line}")));
    }
    if !dialog.warnings.is_empty() {
        lines.push(Line::raw(""));
        for warning in &dialog.warnings {
            lines.push(Line::styled(format!("! {warning}"), theme::alarm()));
        }
    }
    if let DialogStage::Reason { text, cursor } = &dialog.stage {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "reason (sent as error and reason):",
            theme::title(),
        ));
        let split = text
            .char_indices()
            .nth(*cursor)
            .map_or(text.len(), |(i, _)| i);
        let (before, after) = text.split_at(split);
        let mut after_chars = after.chars();
        let under = after_chars
            .next()
            .map_or(" ".to_string(), |c| c.to_string());
        lines.push(Line::from(vec![
            Span::raw(format!("  {before}")),
            Span::styled(under, Style::new().add_modifier(Modifier::REVERSED)),
            Span::raw(after_chars.as_str().to_string()),
        ]));
    }
    lines.push(Line::raw(""));
    let hint_style = match dialog.stage {
        DialogStage::ConfirmAgain => theme::alarm(),
        _ => theme::dim(),
    };
    lines.push(Line::styled(dialog.hint(), hint_style));

    let inner_width = width.saturating_sub(2).max(1);
    let height: u16 = lines
        .iter()
        .map(|line| (line.width() as u16).div_ceil(inner_width).max(1))
        .sum::<u16>()
        .saturating_add(2)
        .min(screen.height);
    let area = Rect {
        x: screen.x + (screen.width.saturating_sub(width)) / 2,
        y: screen.y + (screen.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    if area.is_empty() {
        return;
    }
    Clear.render(area, buf);
    let border = match dialog.stage {
        DialogStage::ConfirmAgain => theme::alarm(),
        _ => theme::warning(),
    };
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::new()
                .borders(Borders::ALL)
                .border_style(border)
                .title(format!(" {} ", dialog.kind.name())),
        )
        .render(area, buf);
}
