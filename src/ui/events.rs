//! The events pane: the live tail of observations from both sources, newest
//! at the bottom, like `docker events` for evaluations. A title line says
//! how much is kept and whether it follows the tail or is scrolled back;
//! the selected evaluation's lines stand out in bold.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{safe, theme};
use crate::model::state::Rejections;
use crate::view::{EventLine, EventLog};

/// Below this width the time loses its milliseconds and ids their head.
const WIDE: u16 = 80;
/// How much of an id is kept on a narrow screen: its tail tells ids apart.
const ID_TAIL: usize = 13;

pub(super) fn render(log: &EventLog, selected: Option<&str>, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let title = Rect { height: 1, ..area };
    Paragraph::new(title_line(log, area.width)).render(title, buf);
    let body = Rect {
        y: area.y + 1,
        height: crate::layout::events_body_height(area),
        ..area
    };
    if body.is_empty() {
        return;
    }
    if log.is_empty() {
        Paragraph::new(Span::styled("no observations yet", theme::dim())).render(body, buf);
        return;
    }
    let wide = area.width >= WIDE;
    let lines: Vec<Line<'_>> = log
        .window(usize::from(body.height))
        .map(|line| event_line(line, wide, selected))
        .collect();
    // Newest at the bottom: a short log sits against the pane's foot, as
    // a terminal tail does.
    let pad = usize::from(body.height).saturating_sub(lines.len());
    let lines: Vec<Line<'_>> = std::iter::repeat_n(Line::default(), pad)
        .chain(lines)
        .collect();
    Paragraph::new(lines).render(body, buf);
}

/// The rejected payloads instead of the events: how many in all and per
/// channel in the title, then the recent ones, newest at the bottom, each
/// with its time, source, channel and reason.
pub(super) fn render_rejected(rejected: &Rejections, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let mut channels: Vec<(&String, &u64)> = rejected.by_channel.iter().collect();
    channels.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let per_channel: Vec<String> = channels
        .iter()
        .map(|(channel, n)| format!("{} {n}", safe(channel)))
        .collect();
    let mut spans = vec![
        Span::styled("─ rejected payloads ", theme::title()),
        Span::styled(format!("{} in all", rejected.total), theme::alarm()),
    ];
    if !per_channel.is_empty() {
        spans.push(Span::styled(
            format!(" · {}", per_channel.join(" · ")),
            theme::dim(),
        ));
    }
    spans.push(Span::styled(" · R: events ", theme::dim()));
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::styled(
        "─".repeat(usize::from(area.width).saturating_sub(used)),
        theme::dim(),
    ));
    Paragraph::new(Line::from(spans)).render(Rect { height: 1, ..area }, buf);
    let body = Rect {
        y: area.y + 1,
        height: crate::layout::events_body_height(area),
        ..area
    };
    if body.is_empty() {
        return;
    }
    if rejected.recent.is_empty() {
        Paragraph::new(Span::styled("no payload rejected", theme::good())).render(body, buf);
        return;
    }
    let wide = area.width >= WIDE;
    let height = usize::from(body.height);
    let skip = rejected.recent.len().saturating_sub(height);
    let lines: Vec<Line<'_>> = rejected
        .recent
        .iter()
        .skip(skip)
        .map(|(at, rejection)| {
            let mut clock = at.clock();
            if !wide {
                clock.truncate(8);
            }
            Line::from(vec![
                Span::styled(clock, theme::dim()),
                Span::raw(" "),
                Span::styled(format!("{:<6} ", rejection.source.name()), theme::dim()),
                Span::styled(safe(&rejection.channel), theme::title()),
                Span::raw(": "),
                Span::raw(safe(&rejection.reason)),
            ])
        })
        .collect();
    Paragraph::new(lines).render(body, buf);
}

fn title_line(log: &EventLog, width: u16) -> Line<'static> {
    let position = if log.is_following() {
        Span::styled("following", theme::good())
    } else {
        Span::styled(
            format!("scrolled back {} of {}", log.scroll(), log.len()),
            theme::warning(),
        )
    };
    let mut spans = vec![
        Span::styled("─ events ", theme::title()),
        Span::styled(format!("{} kept · ", log.len()), theme::dim()),
        position,
        Span::raw(" "),
    ];
    let used: usize = spans.iter().map(Span::width).sum();
    spans.push(Span::styled(
        "─".repeat(usize::from(width).saturating_sub(used)),
        theme::dim(),
    ));
    Line::from(spans)
}

fn event_line<'a>(line: &'a EventLine, wide: bool, selected: Option<&str>) -> Line<'a> {
    let mut clock = line.at.clock();
    if !wide {
        clock.truncate(8);
    }
    let mut style = match line.tone {
        Some(severity) => Style::new().fg(theme::severity_color(severity)),
        None => Style::new(),
    };
    let id = line.eval_id.as_deref();
    if id.is_some() && id == selected {
        style = style.add_modifier(Modifier::BOLD);
    }
    let mut spans = vec![
        Span::styled(clock, theme::dim()),
        Span::raw(" "),
        Span::styled(format!("{:<6} ", line.source.name()), theme::dim()),
    ];
    if let Some(id) = id {
        let id = safe(id);
        let id = if wide { id } else { tail(id) };
        spans.push(Span::styled(id, style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(safe(&line.what()).into_owned(), style));
    Line::from(spans)
}

fn tail(id: Cow<'_, str>) -> Cow<'_, str> {
    let chars = id.chars().count();
    if chars <= ID_TAIL {
        return id;
    }
    let keep: String = id.chars().skip(chars - (ID_TAIL - 1)).collect();
    Cow::Owned(format!("…{keep}"))
}
