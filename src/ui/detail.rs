//! The detail view of one evaluation: its flags explained with evidence,
//! the phase times, what Redis says and what Docker says side by side (or
//! stacked on narrow terminals), the merged timeline, and the keys for the
//! actions on it. The body scrolls; the title and keys stay put.

use std::borrow::Cow;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::{safe, theme};
use crate::keymap::{Command, Context, KeyHints, acts};
use crate::model::{EvalRecord, Flag, Ts};
use crate::view::detail_view::{
    DetailView, Fact, Tone, actions, advice, docker_facts, evidence, phase_duration, phases,
    redis_facts, timeline,
};
use crate::view::log_excerpt::LogExcerpt;
use crate::view::log_view::{Rows, width};
use crate::view::status_label;

/// The status line's hints on this view (the actions have a line of
/// their own, with what applies now).
pub const HINTS: &[Command] = &[
    Command::Down,
    Command::Up,
    Command::PageDown,
    Command::Top,
    Command::Bottom,
    Command::Back,
    Command::Help,
];

/// What the detail view shows: one evaluation, its flags, the view's
/// scroll, and the keys in force.
#[derive(Clone, Copy, Debug)]
pub struct DetailScreen<'a> {
    pub id: &'a str,
    pub record: &'a EvalRecord,
    pub flags: &'a [Flag],
    pub view: &'a DetailView,
    pub keys: KeyHints<'a>,
    pub now: Ts,
}

impl<'a> DetailScreen<'a> {
    /// The screen with the default keymap (for drawing outside a console).
    pub fn with_default_keys(
        id: &'a str,
        record: &'a EvalRecord,
        flags: &'a [Flag],
        view: &'a DetailView,
        now: Ts,
    ) -> Self {
        DetailScreen {
            id,
            record,
            flags,
            view,
            keys: KeyHints::default(),
            now,
        }
    }
}

/// Side by side from this width; stacked below it.
const SIDE_BY_SIDE: u16 = 72;
const SEPARATOR: &str = " │ ";
/// Below this width the timeline abbreviates its source column.
const NARROW_TIMELINE: usize = 60;

/// Draws the detail; returns how far its body can scroll at this size.
pub fn draw_detail(frame: &mut Frame, area: Rect, screen: &DetailScreen<'_>) -> u16 {
    render_detail(frame.buffer_mut(), area, screen)
}

/// As `draw_detail`, into a buffer.
pub fn render_detail(buf: &mut Buffer, area: Rect, screen: &DetailScreen<'_>) -> u16 {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return 0;
    }
    // Drawn over whatever was there (help pops up over another view).
    Clear.render(area, buf);
    let areas = crate::layout::detail_screen(area);
    if !areas.top.is_empty() {
        let title = title_line(screen.id, screen.record, screen.flags);
        buf.set_line(area.x, areas.top.y, &title, area.width);
    }
    let lines = body_lines(area.width, screen);
    let height = usize::from(areas.body.height);
    let max = lines.len().saturating_sub(height);
    let offset = usize::from(screen.view.scroll.offset()).min(max);
    for (i, line) in lines.iter().skip(offset).take(height).enumerate() {
        let y = areas.body.y + u16::try_from(i).unwrap_or(u16::MAX);
        buf.set_line(area.x, y, line, area.width);
    }
    if !areas.bottom.is_empty() {
        let keys = keys_line(screen, area.width);
        buf.set_line(area.x, areas.bottom.y, &keys, area.width);
    }
    u16::try_from(max).unwrap_or(u16::MAX)
}

fn owned(text: &str) -> String {
    match safe(text) {
        Cow::Borrowed(text) => text.to_string(),
        Cow::Owned(text) => text,
    }
}

fn title_line(id: &str, record: &EvalRecord, flags: &[Flag]) -> Line<'static> {
    let mut spans = vec![Span::styled(owned(id), theme::title())];
    let status = status_label(record).unwrap_or_else(|| "no status".to_string());
    spans.push(Span::raw(format!(" · {status}")));
    if let Some(state) = record.container_state() {
        spans.push(Span::raw(format!(" · container {}", state.name())));
    }
    if let Some(executor) = record.executor() {
        spans.push(Span::raw(format!(" · {}", owned(executor))));
    }
    if let Some(flag) = flags.first() {
        let style = Style::new().fg(theme::severity_color(flag.severity()));
        spans.push(Span::styled(format!(" · {}", flag.kind().name()), style));
    }
    Line::from(spans)
}

fn keys_line(screen: &DetailScreen<'_>, cols: u16) -> Line<'static> {
    let keys = |command| screen.keys.key(Context::Detail, command);
    let shown: Vec<(String, &'static str, bool)> = actions(screen.record)
        .iter()
        .filter(|a| screen.keys.actions || !acts(a.command))
        .map(|a| (keys(a.command), a.label, a.available))
        .collect();
    let rest_full = format!(
        "{}/{} scroll · {} back",
        keys(Command::Down),
        keys(Command::Up),
        keys(Command::Back)
    );
    let full: usize = shown
        .iter()
        .map(|(key, label, _)| width(key) + label.len() + 4)
        .sum::<usize>()
        + width(&rest_full);
    let compact = usize::from(cols) < full;
    let mut spans = Vec::new();
    for (key, label, available) in shown {
        let style = if available {
            theme::title()
        } else {
            theme::dim()
        };
        spans.push(Span::styled(key, style));
        if !compact {
            spans.push(Span::styled(format!(" {label}"), style));
        }
        spans.push(Span::styled(
            if compact { " " } else { " · " },
            theme::dim(),
        ));
    }
    let rest = if compact {
        format!("{} {}", keys(Command::Down), keys(Command::Back))
    } else {
        rest_full
    };
    spans.push(Span::styled(rest, theme::dim()));
    Line::from(spans)
}

/// Words of `text` in lines of at most `cols` columns; a word longer than
/// a line is broken.
pub(super) fn wrap_words(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = width(word);
        if used > 0 && used + 1 + w > cols {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if w > cols {
            for range in Rows::new(word, cols) {
                if used > 0 {
                    lines.push(std::mem::take(&mut line));
                }
                line.push_str(&word[range.clone()]);
                used = width(&word[range]);
            }
            continue;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
    }
    if used > 0 || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` cut to `cols` columns, with `…` when cut.
pub(super) fn fit(text: &str, cols: usize) -> String {
    if width(text) <= cols {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > cols {
            break;
        }
        out.push(c);
        used += w;
    }
    if cols > 0 {
        out.push('…');
    }
    out
}

fn heading(text: &str) -> Line<'static> {
    Line::from(Span::styled(
        text.to_string(),
        theme::title().add_modifier(Modifier::UNDERLINED),
    ))
}

/// Lines of `text` wrapped to `cols`, each after `indent`.
fn indented(out: &mut Vec<Line<'static>>, indent: &str, text: &str, cols: usize, style: Style) {
    let room = cols.saturating_sub(width(indent)).max(1);
    for (i, part) in wrap_words(&owned(text), room).into_iter().enumerate() {
        let lead = if i == 0 {
            indent.to_string()
        } else {
            " ".repeat(width(indent))
        };
        out.push(Line::from(vec![Span::raw(lead), Span::styled(part, style)]));
    }
}

fn body_lines(cols: u16, screen: &DetailScreen<'_>) -> Vec<Line<'static>> {
    let (record, now) = (screen.record, screen.now);
    let width_cols = usize::from(cols);
    let mut out = Vec::new();
    flag_lines(&mut out, width_cols, screen);

    out.push(Line::default());
    out.push(heading("Phases"));
    for phase in phases(record) {
        let text = phase.text(now);
        let style = match (phase.from, phase.to) {
            (Some(_), None) => theme::warning(),
            _ => Style::new(),
        };
        out.push(Line::from(vec![
            Span::raw(format!("  {:<18} ", phase.name)),
            Span::styled(text, style),
        ]));
    }

    out.push(Line::default());
    let redis = redis_facts(record, now);
    let docker = docker_facts(record, now);
    if cols >= SIDE_BY_SIDE {
        side_by_side(&mut out, width_cols, &redis, &docker);
    } else {
        out.push(heading("Redis says"));
        facts_lines(&mut out, width_cols, &redis);
        out.push(Line::default());
        out.push(heading("Docker says"));
        facts_lines(&mut out, width_cols, &docker);
    }

    out.push(Line::default());
    timeline_lines(&mut out, width_cols, record);
    out
}

fn flag_lines(out: &mut Vec<Line<'static>>, cols: usize, screen: &DetailScreen<'_>) {
    let (record, flags, now) = (screen.record, screen.flags, screen.now);
    out.push(heading("Flags"));
    let mut logs = screen.view.logs.as_ref();
    if flags.is_empty() {
        out.push(Line::from(Span::styled(
            "  none: nothing looks wrong",
            theme::good(),
        )));
        return;
    }
    for flag in flags {
        let color = Style::new().fg(theme::severity_color(flag.severity()));
        out.push(Line::from(vec![
            Span::styled("● ", color),
            Span::styled(flag.kind().name(), color.add_modifier(Modifier::BOLD)),
            Span::styled(format!(" ({})", flag.severity().name()), color),
        ]));
        indented(out, "  ", &flag.reason(), cols, color);
        for fact in evidence(flag, record, now) {
            indented(out, "  · ", &fact, cols, Style::new());
        }
        let advice = screen.keys.expand(Context::Detail, advice(flag));
        indented(out, "  → ", &advice, cols, theme::dim());
        // Once, under the first flag that is about lost output.
        if matches!(
            flag,
            Flag::LostCompletion { .. } | Flag::EmptyFailure { .. }
        ) && let Some(excerpt) = logs.take()
        {
            excerpt_lines(out, cols, excerpt);
        }
    }
}

fn excerpt_lines(out: &mut Vec<Line<'static>>, cols: usize, excerpt: &LogExcerpt) {
    let title = if excerpt.lines.is_empty() {
        format!("logs: {}", excerpt.origin)
    } else {
        format!(
            "last {} lines, from {}{}:",
            excerpt.lines.len(),
            excerpt.origin,
            if excerpt.earlier > 0 {
                format!(" ({} earlier)", excerpt.earlier)
            } else {
                String::new()
            }
        )
    };
    indented(out, "  ", &title, cols, theme::title());
    for line in &excerpt.lines {
        out.push(Line::from(vec![
            Span::styled("  │ ", theme::dim()),
            Span::raw(fit(&owned(line), cols.saturating_sub(4))),
        ]));
    }
}

fn tone_style(tone: Tone) -> Style {
    match tone {
        Tone::Plain => Style::new(),
        Tone::Dim => theme::dim(),
        Tone::Warn => theme::warning(),
    }
}

/// One fact in `cols` columns, its label padded to `label_w`.
fn fact_spans(fact: &Fact, label_w: usize, cols: usize) -> Vec<Span<'static>> {
    let label = fit(fact.label, label_w);
    let pad = label_w.saturating_sub(width(&label)) + 1;
    let room = cols.saturating_sub(label_w + 1);
    vec![
        Span::styled(format!("{label}{}", " ".repeat(pad)), theme::dim()),
        Span::styled(fit(&owned(&fact.value), room), tone_style(fact.tone)),
    ]
}

fn label_width(facts: &[Fact], cols: usize) -> usize {
    let widest = facts.iter().map(|f| f.label.len()).max().unwrap_or(0);
    widest.min(cols / 2)
}

fn facts_lines(out: &mut Vec<Line<'static>>, cols: usize, facts: &[Fact]) {
    let label_w = label_width(facts, cols.saturating_sub(2));
    for fact in facts {
        let mut spans = vec![Span::raw("  ")];
        spans.extend(fact_spans(fact, label_w, cols.saturating_sub(2)));
        out.push(Line::from(spans));
    }
}

fn side_by_side(out: &mut Vec<Line<'static>>, cols: usize, redis: &[Fact], docker: &[Fact]) {
    let half = (cols - SEPARATOR.len()) / 2;
    let pad = |spans: &mut Vec<Span<'static>>| {
        let used: usize = spans.iter().map(Span::width).sum();
        spans.push(Span::raw(" ".repeat(half.saturating_sub(used))));
    };
    let mut head = vec![Span::styled(
        "Redis says",
        theme::title().add_modifier(Modifier::UNDERLINED),
    )];
    pad(&mut head);
    head.push(Span::styled(SEPARATOR, theme::dim()));
    head.push(Span::styled(
        "Docker says",
        theme::title().add_modifier(Modifier::UNDERLINED),
    ));
    out.push(Line::from(head));
    let left_w = label_width(redis, half);
    let right_w = label_width(docker, half);
    for i in 0..redis.len().max(docker.len()) {
        let mut spans = redis
            .get(i)
            .map_or_else(Vec::new, |f| fact_spans(f, left_w, half));
        pad(&mut spans);
        spans.push(Span::styled(SEPARATOR, theme::dim()));
        if let Some(fact) = docker.get(i) {
            spans.extend(fact_spans(fact, right_w, half));
        }
        out.push(Line::from(spans));
    }
}

fn timeline_lines(out: &mut Vec<Line<'static>>, cols: usize, record: &EvalRecord) {
    out.push(Line::from(Span::styled(
        "Timeline",
        theme::title().add_modifier(Modifier::UNDERLINED),
    )));
    let rows = timeline(record);
    if rows.is_empty() {
        out.push(Line::from(Span::styled("  nothing observed", theme::dim())));
    }
    // Narrow terminals name the source by its initial, and wrap the rest.
    let narrow = cols < NARROW_TIMELINE;
    let lead_w = if narrow { 23 } else { 29 };
    for row in rows {
        if row.dropped_before > 0 {
            out.push(dropped_line(row.dropped_before, lead_w));
        }
        let delta = row.since_previous_ms.map_or(String::new(), phase_duration);
        let style = if row.applied {
            Style::new()
        } else {
            theme::dim()
        };
        let source = if narrow {
            row.source.name()[..1].to_ascii_uppercase() + " "
        } else {
            format!("{:<7} ", row.source.name())
        };
        let what = wrap_words(&owned(&row.what), cols.saturating_sub(lead_w));
        for (i, part) in what.into_iter().enumerate() {
            let mut spans = if i == 0 {
                vec![
                    Span::raw(row.at.clock()),
                    Span::styled(format!(" {delta:>7} "), theme::good()),
                    Span::styled(source.clone(), theme::dim()),
                ]
            } else {
                vec![Span::raw(" ".repeat(lead_w))]
            };
            spans.push(Span::styled(part, style));
            out.push(Line::from(spans));
        }
    }
}

/// Where the bounded timeline dropped entries: between how the evaluation
/// began and its newest entries, in the column of what happened.
fn dropped_line(dropped: u32, lead_w: usize) -> Line<'static> {
    let entries = if dropped == 1 { "entry" } else { "entries" };
    let count = crate::model::progress::thousands(u64::from(dropped));
    Line::from(vec![
        Span::raw(" ".repeat(lead_w)),
        Span::styled(format!("… {count} {entries} dropped …"), theme::warning()),
    ])
}
