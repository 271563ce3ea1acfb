//! The log viewer: a line saying where the logs came from and whether they
//! are complete, the visible rows (stream marker, optional time, text with
//! every search match highlighted and the current one distinct), and a
//! status line with the toggles, the search and the position. Builds only
//! the rows on screen.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::{safe, theme};
use crate::keymap::{Command, Context, KeyHints};
use crate::model::{StreamKind, Ts};
use crate::view::log_view::{LogDocument, LogView, MAX_MATCHES, STAMP_WIDTH, VisibleRow, marker};

/// The status line's hints on this view.
pub const HINTS: &[Command] = &[
    Command::ToggleFollow,
    Command::ToggleWrap,
    Command::ToggleTimestamps,
    Command::LogOrigin,
    Command::LogWindow,
    Command::Search,
    Command::NextMatch,
    Command::PrevMatch,
    Command::Save,
    Command::Top,
    Command::Bottom,
    Command::ScrollLeft,
    Command::ScrollRight,
    Command::Back,
];

/// Every match on screen.
pub fn match_style() -> Style {
    if theme::no_color() {
        return Style::new().add_modifier(Modifier::REVERSED);
    }
    Style::new().fg(Color::Black).bg(Color::Yellow)
}

/// The match `n`/`N` moved to.
pub fn current_match_style() -> Style {
    if theme::no_color() {
        return Style::new()
            .add_modifier(Modifier::REVERSED | Modifier::BOLD | Modifier::UNDERLINED);
    }
    Style::new()
        .fg(Color::Black)
        .bg(Color::LightMagenta)
        .add_modifier(Modifier::BOLD)
}

fn marker_style(stream: StreamKind) -> Style {
    match stream {
        StreamKind::Stderr if theme::no_color() => Style::new().add_modifier(Modifier::BOLD),
        StreamKind::Stderr => Style::new().fg(Color::Magenta),
        StreamKind::Stdout | StreamKind::Console => theme::dim(),
    }
}

/// Draws the logs; `keys` names the key that opens help on the status
/// line.
pub fn draw_logs(
    frame: &mut Frame,
    area: Rect,
    doc: &LogDocument,
    view: &LogView,
    keys: &KeyHints<'_>,
    now: Ts,
) {
    render_logs(frame.buffer_mut(), area, doc, view, keys, now);
}

/// As `draw_logs`, into a buffer.
pub fn render_logs(
    buf: &mut Buffer,
    area: Rect,
    doc: &LogDocument,
    view: &LogView,
    keys: &KeyHints<'_>,
    now: Ts,
) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    // Drawn over whatever was there (help pops up over another view).
    Clear.render(area, buf);
    let areas = crate::layout::logs_screen(area);
    if !areas.top.is_empty() {
        let line = origin_line(doc, now);
        buf.set_line(area.x, areas.top.y, &line, area.width);
    }
    let vp = crate::layout::logs_viewport(area);
    let rows = view.visible_rows(doc, vp);
    if rows.is_empty() && !areas.body.is_empty() {
        let text = if doc.is_empty() {
            "no lines"
        } else {
            "nothing to show"
        };
        buf.set_stringn(area.x, areas.body.y, text, area.width.into(), theme::dim());
    }
    for (i, row) in rows.iter().enumerate() {
        let y = areas.body.y + u16::try_from(i).unwrap_or(u16::MAX);
        draw_row(buf, areas.body, y, row, view);
    }
    if !areas.bottom.is_empty() {
        let help = keys.line(Context::Logs, &[Command::Help]);
        let line = status_line(doc, view, &rows, help);
        buf.set_line(area.x, areas.bottom.y, &line, area.width);
    }
}

fn origin_line(doc: &LogDocument, now: Ts) -> Line<'static> {
    let completeness = doc.completeness();
    let style = if doc.complete {
        theme::good()
    } else {
        theme::warning()
    };
    Line::from(vec![
        Span::styled(doc.source.label(now), theme::title()),
        Span::raw(" · "),
        Span::styled(completeness, style),
        Span::styled(format!(" · {} lines · ", doc.len()), theme::dim()),
        Span::styled(safe(&doc.eval_id).into_owned(), theme::dim()),
    ])
}

fn draw_row(buf: &mut Buffer, body: Rect, y: u16, row: &VisibleRow<'_>, view: &LogView) {
    let gutter = view.gutter(body.width);
    let mut spans: Vec<Span<'_>> = Vec::with_capacity(4 + 2 * row.highlights.len());
    if gutter.marker {
        let text = if row.first_row {
            format!("{} ", marker(row.line.stream))
        } else {
            "  ↳ ".to_string()
        };
        spans.push(Span::styled(text, marker_style(row.line.stream)));
    }
    if gutter.stamps {
        let stamp = match row.line.at {
            Some(at) if row.first_row => Cow::Owned(format!("{} ", at.clock())),
            None if row.first_row => Cow::Borrowed("--:--:--.--- "),
            _ => Cow::Owned(" ".repeat(STAMP_WIDTH)),
        };
        spans.push(Span::styled(stamp, theme::dim()));
    }
    let text = &row.line.text;
    let mut at = row.range.start;
    for (range, current) in &row.highlights {
        if range.start > at {
            spans.push(Span::raw(&text[at..range.start]));
        }
        let style = if *current {
            current_match_style()
        } else {
            match_style()
        };
        spans.push(Span::styled(&text[range.clone()], style));
        at = range.end;
    }
    if at < row.range.end {
        spans.push(Span::raw(&text[at..row.range.end]));
    }
    buf.set_line(body.x, y, &Line::from(spans), body.width);
    if row.cut_right && body.width > 0 {
        buf.set_stringn(body.right() - 1, y, "›", 1, theme::warning());
    }
}

fn on_off(name: &str, on: bool) -> Span<'static> {
    let style = if on { theme::good() } else { theme::dim() };
    Span::styled(format!("{name} {}", if on { "on" } else { "off" }), style)
}

fn status_line(
    doc: &LogDocument,
    view: &LogView,
    rows: &[VisibleRow<'_>],
    help: String,
) -> Line<'static> {
    const DOT: &str = " · ";
    if let Some(prompt) = view.prompt() {
        return Line::from(vec![
            Span::styled(format!("/{}", safe(prompt)), theme::title()),
            Span::styled("█", theme::dim()),
            Span::styled("  Enter search · Esc cancel", theme::dim()),
        ]);
    }
    let mut spans = Vec::new();
    if let Some(query) = view.search() {
        let count = view.matches().len();
        let query = safe(query).into_owned();
        match view.current_match() {
            Some(current) => {
                let more = if count >= MAX_MATCHES { "+" } else { "" };
                spans.push(Span::styled(
                    format!("/{query} {}/{count}{more}", current + 1),
                    theme::title(),
                ));
            }
            None => spans.push(Span::styled(
                format!("/{query}: no match"),
                theme::warning(),
            )),
        }
        spans.push(Span::raw(DOT));
    }
    spans.push(on_off("follow", view.follow()));
    spans.push(Span::raw(DOT));
    spans.push(on_off("wrap", view.wrap()));
    spans.push(Span::raw(DOT));
    spans.push(on_off("time", view.timestamps()));
    spans.push(Span::raw(DOT));
    let position = match (rows.first(), rows.last()) {
        (Some(first), Some(last)) => format!(
            "lines {}–{} of {}",
            first.number + 1,
            last.number + 1,
            doc.end()
        ),
        _ => "no lines".to_string(),
    };
    spans.push(Span::raw(position));
    if view.hscroll() > 0 {
        spans.push(Span::raw(format!("{DOT}col +{}", view.hscroll())));
    }
    spans.push(Span::raw(DOT));
    match &view.message {
        Some(message) => spans.push(Span::styled(safe(message).into_owned(), theme::title())),
        None => spans.push(Span::styled(help, theme::dim())),
    }
    Line::from(spans)
}
