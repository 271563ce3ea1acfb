//! The whole console on one screen: the view in front (table, detail or
//! logs), the status line, the replay clock, help and dialogs on top.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::FindPanes;
use super::help::KeyHelp;
use super::{detail, dialog, help, logs, theme};
use crate::console::{Console, ReplayStatus, Screen, Tone};
use crate::keymap::{Command, Context};
use crate::layout::Drawn;
use crate::model::{Ts, human_duration};

/// Draws the console; returns what only the drawing knows (how far the
/// scrolling views can scroll), for `Console::drawn`.
pub fn draw_console(frame: &mut Frame, console: &Console, now: Ts) -> Drawn {
    let mut drawn = Drawn::default();
    let screen = frame.area();
    match console.screen() {
        Screen::Table => {
            super::draw_with(
                frame,
                console.state(),
                console.table(),
                &panes(console),
                now,
            );
            if console.status().is_some() && !crate::layout::too_small(screen) {
                let line = Rect {
                    y: screen.bottom().saturating_sub(1),
                    height: 1,
                    ..screen
                };
                status_line(console, line, frame.buffer_mut());
            }
        }
        Screen::Detail(view) => {
            let body = console.body_area();
            match console.state().evals.get(&view.eval_id) {
                Some(record) => {
                    let flags = console.flags_of(&view.eval_id, now);
                    let screen = detail::DetailScreen {
                        id: &view.eval_id,
                        record,
                        flags: &flags,
                        view,
                        keys: console.key_hints(),
                        now,
                    };
                    drawn.detail_max_scroll = Some(detail::draw_detail(frame, body, &screen));
                }
                None => {
                    let text = format!("{} is no longer tracked", view.eval_id);
                    Paragraph::new(text).render(body, frame.buffer_mut());
                }
            }
            status_line(console, last_line(screen), frame.buffer_mut());
        }
        Screen::Fleet { selected } => {
            let body = console.body_area();
            let fleet = crate::model::fleet::fleet(console.state(), now);
            super::fleet::draw_fleet(frame, body, console.state(), &fleet, *selected, now);
            status_line(console, last_line(screen), frame.buffer_mut());
        }
        Screen::Logs(screen_logs) => {
            let body = console.body_area();
            logs::draw_logs(
                frame,
                body,
                &screen_logs.doc,
                &screen_logs.view,
                &console.key_hints(),
                now,
            );
            status_line(console, last_line(screen), frame.buffer_mut());
        }
    }
    if let Some(replay) = console.replay() {
        replay_badge(replay, screen, frame.buffer_mut());
    }
    if let Some(scroll) = console.help() {
        let rows = help_rows(console);
        let area = crate::layout::help_popup(screen);
        let keys = console.key_hints();
        let key = |command| keys.key(Context::Global, command);
        let hint = format!(
            "{}/{} close · {}/{} scroll",
            key(Command::Help),
            key(Command::Back),
            key(Command::Down),
            key(Command::Up)
        );
        drawn.help_max_scroll = Some(help::draw_help(frame, area, &rows, scroll.offset(), &hint));
    }
    if let Some(open) = console.dialog() {
        dialog::render(open, screen, frame.buffer_mut());
    }
    drawn
}

/// The panes around the table, as the console has them.
pub fn panes(console: &Console) -> FindPanes<'_> {
    FindPanes {
        events: console.shows_events().then_some(console.events()),
        marks: (!console.marks().is_empty()).then_some(console.marks()),
        columns: &console.config().columns,
        keys: console.key_hints(),
    }
}

fn last_line(screen: Rect) -> Rect {
    Rect {
        y: screen.bottom().saturating_sub(1),
        height: u16::from(screen.height > 0),
        ..screen
    }
}

/// The latest message, or the keys of the view in front.
fn status_line(console: &Console, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    let (text, style) = match console.status() {
        Some(status) => {
            let style = match status.tone {
                Tone::Info => Style::new(),
                Tone::Good => theme::good(),
                Tone::Bad => theme::alarm(),
            };
            (status.text.clone(), style)
        }
        None => {
            let hints = console.key_hints();
            let text = match console.screen() {
                Screen::Table => hints.line(Context::Table, &[Command::Help]),
                Screen::Fleet { .. } => hints.line(Context::Table, super::fleet::HINTS),
                Screen::Detail(_) => hints.line(Context::Detail, detail::HINTS),
                Screen::Logs(_) => hints.line(Context::Logs, logs::HINTS),
            };
            (text, theme::dim())
        }
    };
    let mut spans = Vec::new();
    if let Some(why) = &console.config().read_only {
        spans.push(Span::styled(
            format!("[read-only: {why}] "),
            theme::warning(),
        ));
    }
    if console.in_flight() > 0 {
        spans.push(Span::styled(
            format!("[{} running] ", console.in_flight()),
            theme::warning(),
        ));
    }
    spans.push(Span::styled(text, style));
    ratatui::widgets::Clear.render(area, buf);
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// "REPLAY 00:55:16 +1m20s/3m00s ×4 paused", top right.
fn replay_badge(replay: &ReplayStatus, screen: Rect, buf: &mut Buffer) {
    let state = if replay.paused { " paused" } else { "" };
    let text = format!(
        " REPLAY {} +{}/{} ×{}{state} ",
        replay.cursor.clock(),
        human_duration(replay.cursor.since(replay.start).max(0)),
        human_duration(replay.end.since(replay.start).max(0)),
        replay.speed
    );
    let width = (text.chars().count() as u16).min(screen.width);
    let area = Rect {
        x: screen.right().saturating_sub(width),
        y: screen.y,
        width,
        height: u16::from(screen.height > 0),
    };
    Paragraph::new(Line::styled(
        text,
        theme::warning().add_modifier(ratatui::style::Modifier::REVERSED),
    ))
    .render(area, buf);
}

/// Help from the keymap in force, plus the keys of the text editors.
pub fn help_rows(console: &Console) -> Vec<KeyHelp> {
    let mut rows: Vec<KeyHelp> = console
        .config()
        .keymap
        .help_rows()
        .into_iter()
        .map(|(keys, what, context)| KeyHelp::new(&keys, &what, context))
        .collect();
    for (keys, what) in [
        ("enter", "apply the filter / search / reason"),
        ("esc", "cancel the filter / search / dialog"),
        ("ctrl-w ctrl-u", "delete a word / the whole filter"),
        ("y", "confirm a dialog (Enter never does)"),
        ("n esc", "cancel a dialog"),
    ] {
        rows.push(KeyHelp::new(keys, what, "typing"));
    }
    // Not keys, but what the header's source lines and `unknown` mean.
    let every = crate::model::human_duration(console.state().settings.liveness_ms);
    let period = std::time::Duration::from_millis(
        u64::try_from(console.state().settings.liveness_ms).unwrap_or(1_000),
    );
    let deadline = crate::sources::liveness::deadline(period).as_secs_f64();
    for (keys, what) in [
        (
            "●".to_string(),
            format!(
                "connected: answers its probes (Redis PING, Docker /_ping) every {every} \
                 (--liveness)"
            ),
        ),
        (
            "○".to_string(),
            format!(
                "down, or not answering: no answer within {deadline}s; blind since its last \
                 answer"
            ),
        ),
        (
            "unknown".to_string(),
            "a flag that rests on what a blind source would have shown; decided once it is \
             back and read again"
                .to_string(),
        ),
    ] {
        rows.push(KeyHelp::new(&keys, &what, "sources"));
    }
    rows
}
