//! The fleet view: a health line per engine, then a row per executor and
//! per engine with what runs there, what is wrong there, and a sparkline
//! of its completions (and failures) per minute over the last 30 minutes;
//! a stalled executor says so on its row.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::{safe, theme};
use crate::keymap::Command;
use crate::model::fleet::{Fleet, FleetRow, SPARK_MINUTES};
use crate::model::{State, Ts, human_duration};

/// The keys shown under the fleet.
pub const HINTS: &[Command] = &[
    Command::Down,
    Command::Up,
    Command::Open,
    Command::Back,
    Command::Help,
];

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn draw_fleet(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    fleet: &Fleet,
    selected: usize,
    now: Ts,
) {
    if area.is_empty() {
        return;
    }
    let buf = frame.buffer_mut();
    let engines = state.engines.len() as u16;
    let health_h = engines.min(area.height / 3);
    for (i, (name, health)) in state.engines.iter().take(usize::from(health_h)).enumerate() {
        let (mark, style, what) = if health.synced() {
            ("●", theme::good(), "connected".to_string())
        } else if health.connected {
            ("◐", theme::warning(), "connected, listing".to_string())
        } else {
            let why = health.last_error.as_deref().unwrap_or("connecting");
            ("○", theme::alarm(), format!("reconnecting: {}", safe(why)))
        };
        let mut spans = vec![
            Span::styled(format!("{:<14}", safe(name.as_str())), theme::title()),
            Span::styled(format!("{mark} {what}"), style),
        ];
        if let Some(window) = health.blind_windows.last() {
            let text = match window.end {
                None => format!(" · blind since {}", window.start.clock()),
                Some(end) => format!(" · last blind {}–{}", window.start.clock(), end.clock()),
            };
            spans.push(Span::styled(text, theme::warning()));
        }
        let line = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        Paragraph::new(Line::from(spans)).render(line, buf);
    }
    let table_area = Rect {
        y: area.y + health_h,
        height: area.height - health_h,
        ..area
    };
    let titles = Row::new(
        [
            "",
            "name",
            "running",
            "over",
            "lost",
            "orph",
            "5m",
            "15m",
            "last done",
            "per minute, 30m",
        ]
        .map(Cell::from),
    )
    .style(theme::title());
    let rows = fleet.rows().enumerate().map(|(i, row)| {
        let mut style = match (&row.stalled, row.lost + row.overdue) {
            (Some(_), _) => theme::warning(),
            (None, 0) => ratatui::style::Style::new(),
            (None, _) => theme::alarm(),
        };
        if i == selected {
            style = style.patch(theme::selected());
        }
        let name = match &row.stalled {
            Some(stalled) => format!(
                "{} · executor-stalled {} ago",
                safe(&row.name),
                human_duration(stalled.quiet_ms)
            ),
            None if row.name.is_empty() => "(unnamed)".to_string(),
            None => safe(&row.name).into_owned(),
        };
        Row::new(vec![
            Cell::from(row.kind.name()),
            Cell::from(name),
            Cell::from(row.running.to_string()),
            Cell::from(row.overdue.to_string()),
            Cell::from(row.lost.to_string()),
            Cell::from(row.orphans.to_string()),
            Cell::from(row.done_5m.to_string()),
            Cell::from(row.done_15m.to_string()),
            Cell::from(row.last_completion.map_or("—".to_string(), |at| {
                format!("{} ago", human_duration(now.since(at).max(0)))
            })),
            Cell::from(sparkline(row)),
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Fill(1),
        Constraint::Length(7),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(4),
        Constraint::Length(3),
        Constraint::Length(3),
        Constraint::Length(10),
        Constraint::Length(SPARK_MINUTES as u16),
    ];
    Table::new(rows, widths)
        .header(titles)
        .column_spacing(1)
        .render(table_area, buf);
    if fleet.rows().next().is_none() && table_area.height > 1 {
        let line = Rect {
            y: table_area.y + 1,
            height: 1,
            ..table_area
        };
        Paragraph::new(Span::styled("no executor or engine seen yet", theme::dim()))
            .render(line, buf);
    }
}

/// A bar per minute, oldest first: its height the completions and
/// failures of that minute, red where any failed; a space for none.
fn sparkline(row: &FleetRow) -> Line<'static> {
    let totals: Vec<u32> = (0..SPARK_MINUTES)
        .map(|i| u32::from(row.completions[i]) + u32::from(row.failures[i]))
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let spans = totals.iter().enumerate().map(|(i, &n)| {
        if n == 0 {
            return Span::raw(" ");
        }
        let level = ((n * BARS.len() as u32).div_ceil(max)).clamp(1, BARS.len() as u32) as usize;
        let style = if row.failures[i] > 0 {
            theme::alarm()
        } else {
            theme::good()
        };
        Span::styled(BARS[level - 1].to_string(), style)
    });
    Line::from(spans.collect::<Vec<_>>())
}
