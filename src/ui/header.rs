//! The header: each source's connection and blind windows, then what the
//! table holds (statuses, flags, rejected payloads) from the view's counts;
//! and the quick-view tabs with their counts, the sort and what is hidden.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{safe, theme};
use crate::model::{BlindWindow, FlagKind, SourceHealth, State, Ts, human_duration};
use crate::view::{Counts, QuickView, TableView};

const SEPARATOR: &str = " │ ";
const ITEM: &str = " · ";

pub(super) fn render(state: &State, counts: &Counts, now: Ts, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let lines = vec![
        engines_line(state, now),
        source_line("redis", &state.redis, now),
        totals_line(counts, state.rejected.total),
        flags_line(counts),
    ];
    Paragraph::new(lines).render(area, buf);
}

/// One engine: its own line, as before fleets. Several: folded into one,
/// "2/3 engines connected · exec-3 reconnecting: <reason>", so that the
/// header keeps its height; the fleet view has a line per engine.
fn engines_line(state: &State, now: Ts) -> Line<'_> {
    static NEVER: std::sync::LazyLock<SourceHealth> =
        std::sync::LazyLock::new(SourceHealth::default);
    match state.engines.as_slice() {
        [] => source_line("docker", &NEVER, now),
        [(_, health)] => source_line("docker", health, now),
        engines => {
            let connected = engines.iter().filter(|(_, h)| h.connected).count();
            let synced = engines.iter().filter(|(_, h)| h.synced()).count();
            let all = connected == engines.len();
            let mut spans = vec![Span::styled(format!("{:<7}", "docker"), theme::title())];
            let (mark, style) = if all {
                ("●", theme::good())
            } else if connected == 0 {
                ("○", theme::alarm())
            } else {
                ("◐", theme::warning())
            };
            spans.push(Span::styled(
                format!("{mark} {connected}/{} engines connected", engines.len()),
                style,
            ));
            if synced < connected {
                spans.push(Span::raw(format!(" ({} syncing)", connected - synced)));
            }
            for (name, health) in engines.iter().filter(|(_, h)| !h.connected) {
                spans.push(Span::raw(ITEM));
                let what = match &health.last_error {
                    Some(error) => format!("{} reconnecting: {}", safe(name.as_str()), safe(error)),
                    None => format!("{} connecting", safe(name.as_str())),
                };
                spans.push(Span::styled(what, theme::alarm()));
            }
            let blind: Vec<&str> = engines
                .iter()
                .filter(|(_, h)| h.blind_windows.last().is_some_and(|w| w.end.is_none()))
                .map(|(name, _)| name.as_str())
                .collect();
            if !blind.is_empty() {
                spans.push(Span::raw(ITEM));
                spans.push(Span::styled(
                    format!("blind: {}", blind.join(", ")),
                    theme::alarm(),
                ));
            }
            Line::from(spans)
        }
    }
}

/// `HH:MM:SS` of a time: blind windows are read at second resolution.
fn hms(ts: Ts) -> String {
    let mut clock = ts.clock();
    clock.truncate(8);
    clock
}

fn source_line<'a>(name: &'static str, health: &'a SourceHealth, now: Ts) -> Line<'a> {
    let mut spans = vec![Span::styled(format!("{name:<7}"), theme::title())];
    if health.connected {
        spans.push(Span::styled("● connected", theme::good()));
        let mut details = Vec::new();
        if !health.detail.is_empty() {
            details.push(safe(&health.detail).into_owned());
        }
        details.push(match health.last_event_at {
            Some(at) => format!("last event {} ago", human_duration(now.since(at).max(0))),
            None => "no events yet".to_string(),
        });
        if !health.synced() {
            details.push("syncing".to_string());
        }
        spans.push(Span::raw(format!(" ({})", details.join(", "))));
        if let Some(lag) = health.lag {
            spans.push(Span::raw(ITEM));
            spans.push(Span::styled(
                format!(
                    "{} behind, {:.1} s",
                    thousands(lag.waiting),
                    lag.oldest_ms as f64 / 1000.0
                ),
                theme::warning(),
            ));
        }
        if health.missed_changes > 0 {
            spans.push(Span::raw(ITEM));
            spans.push(Span::styled(
                format!(
                    "event stream missed {} changes, relisted",
                    health.missed_changes
                ),
                theme::warning(),
            ));
        }
    } else {
        match &health.last_error {
            Some(error) if health.not_answering => {
                // Counted from the last proof of life, not from when the
                // silence was noticed.
                let since = health
                    .blind_windows
                    .last()
                    .map_or(0, |w| now.since(w.start).max(0));
                spans.push(Span::styled(
                    format!("○ not answering for {}: ", human_duration(since)),
                    theme::alarm(),
                ));
                spans.push(Span::styled(safe(error), theme::alarm()));
            }
            Some(error) => {
                spans.push(Span::styled("○ reconnecting: ", theme::alarm()));
                spans.push(Span::styled(safe(error), theme::alarm()));
            }
            None => spans.push(Span::styled("○ connecting", theme::warning())),
        }
    }
    if let Some(latest) = health.blind_windows.last() {
        spans.push(Span::raw(ITEM));
        let style = if latest.end.is_none() {
            theme::alarm()
        } else {
            theme::warning()
        };
        spans.push(Span::styled(
            blind_text(latest, health.blind_windows.len(), now),
            style,
        ));
    }
    Line::from(spans)
}

/// 12340 as "12,340".
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "blind 00:55:10–00:55:14 (4s)", "blind ×3, latest ...", or "blind since
/// 00:55:10 (12s)" while it lasts: what was published then is lost.
fn blind_text(latest: &BlindWindow, count: usize, now: Ts) -> String {
    let prefix = if count > 1 {
        format!("blind ×{count}, latest")
    } else {
        "blind".to_string()
    };
    match latest.end {
        Some(end) => format!(
            "{prefix} {}–{} ({})",
            hms(latest.start),
            hms(end),
            human_duration(end.since(latest.start).max(0))
        ),
        None => format!(
            "{prefix} since {} ({})",
            hms(latest.start),
            human_duration(now.since(latest.start).max(0))
        ),
    }
}

fn totals_line(counts: &Counts, rejected: u64) -> Line<'static> {
    let mut spans = vec![Span::styled(
        format!("{} evaluations", counts.total),
        theme::title(),
    )];
    if counts.out_of_scope > 0 {
        spans.push(Span::styled(
            format!(" (+{} outside the executor filter)", counts.out_of_scope),
            theme::dim(),
        ));
    }
    spans.push(Span::raw(ITEM));
    let rejected_style = if rejected > 0 {
        theme::alarm()
    } else {
        theme::dim()
    };
    spans.push(Span::styled(
        format!("rejected payloads {rejected}"),
        rejected_style,
    ));
    let mut first = true;
    let statuses = counts
        .statuses()
        .map(|(status, n)| (status.name(), n))
        .chain((counts.no_status > 0).then_some(("no status", counts.no_status)));
    for (name, n) in statuses {
        spans.push(Span::raw(if first { SEPARATOR } else { ITEM }));
        first = false;
        spans.push(Span::raw(format!("{name} {n}")));
    }
    Line::from(spans)
}

fn flags_line(counts: &Counts) -> Line<'static> {
    if counts.flagged() == 0 {
        return Line::from(vec![
            Span::styled("flags  ", theme::title()),
            Span::styled("none", theme::good()),
        ]);
    }
    let mut spans = vec![Span::styled("flags  ", theme::title())];
    for (i, (severity, n)) in counts.severities().enumerate() {
        if i > 0 {
            spans.push(Span::raw(ITEM));
        }
        spans.push(Span::styled(
            format!("{n} {}", severity.name()),
            ratatui::style::Style::new().fg(theme::severity_color(severity)),
        ));
    }
    for (i, (kind, n)) in counts.flags().enumerate() {
        spans.push(Span::raw(if i == 0 { SEPARATOR } else { ITEM }));
        spans.push(Span::raw(format!("{} {n}", kind.name())));
    }
    Line::from(spans)
}

/// The quick views on their number keys, each with how many rows it would
/// show under the current filter; then the sort and the hidden count. Flag
/// kinds with no rows are left out (their keys still work) unless
/// selected, and names shorten when the line is too narrow.
pub(super) fn render_tabs(view: &TableView, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let full = tabs_line(view, false);
    let line = if full.width() > usize::from(area.width) {
        tabs_line(view, true)
    } else {
        full
    };
    Paragraph::new(line).render(area, buf);
}

fn tabs_line(view: &TableView, short: bool) -> Line<'static> {
    let counts = view.quick_counts();
    let active = view.quick_view();
    let mut spans = Vec::new();
    for quick in QuickView::ALL {
        let n = quick.count(counts);
        if matches!(quick, QuickView::Flag(_)) && n == 0 && quick != active {
            continue;
        }
        if !spans.is_empty() {
            spans.push(Span::raw(" "));
        }
        let name = if short {
            short_name(quick)
        } else {
            quick.name()
        };
        let text = format!("{} {name} {n}", quick.digit());
        spans.push(if quick == active {
            Span::styled(format!("[{text}]"), theme::selected())
        } else {
            Span::raw(format!(" {text} "))
        });
    }
    let sort = view.sort();
    if sort.column.is_some() || sort.reversed {
        spans.push(Span::raw(SEPARATOR));
        let direction = match sort.arrow() {
            Some(arrow) => arrow.to_string(),
            None => " reversed".to_string(),
        };
        spans.push(Span::styled(
            format!(
                "sort {}{direction}",
                sort.column.map_or("default", |c| c.name())
            ),
            theme::title(),
        ));
    }
    let hidden = view.hidden();
    if hidden > 0 {
        spans.push(Span::raw(SEPARATOR));
        spans.push(Span::styled(format!("{hidden} hidden"), theme::warning()));
    }
    Line::from(spans)
}

fn short_name(quick: QuickView) -> &'static str {
    match quick {
        QuickView::All => "all",
        QuickView::Flagged => "flag",
        QuickView::Flag(kind) => match kind {
            FlagKind::LostCompletion => "lost",
            FlagKind::Overdue => "over",
            FlagKind::EmptyFailure => "empty",
            FlagKind::Orphan => "orph",
            FlagKind::StaleRunning => "stale",
            FlagKind::Silent => "silent",
            FlagKind::TimedOut => "t/o",
            FlagKind::Unknown => "unk",
            FlagKind::NeverStarted => "n/s",
            FlagKind::Killed => "kill",
            FlagKind::HostUnknown => "host?",
        },
    }
}
