//! The whole console on one screen: the view in front (table, detail or
//! logs), the status line, the replay clock, help and dialogs on top.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::help::KeyHelp;
use super::{detail, dialog, help, logs, theme};
use crate::console::{Console, ReplayStatus, Screen, Tone};
use crate::model::{Ts, human_duration};

pub fn draw_console(frame: &mut Frame, console: &Console, now: Ts) {
    let screen = frame.area();
    match &console.screen {
        Screen::Table => {
            super::draw_with(frame, &console.state, &console.table, &console.panes(), now);
            if console.status.is_some() && !super::too_small(screen) {
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
            match console.state.evals.get(&view.eval_id) {
                Some(record) => {
                    let flags = console.flags_of(&view.eval_id, now);
                    detail::draw_detail(frame, body, &view.eval_id, record, &flags, view, now);
                }
                None => {
                    let text = format!("{} is no longer tracked", view.eval_id);
                    Paragraph::new(text).render(body, frame.buffer_mut());
                }
            }
            status_line(console, last_line(screen), frame.buffer_mut());
        }
        Screen::Logs(screen_logs) => {
            let body = console.body_area();
            logs::draw_logs(frame, body, &screen_logs.doc, &screen_logs.view, now);
            status_line(console, last_line(screen), frame.buffer_mut());
        }
    }
    if let Some(replay) = &console.replay {
        replay_badge(replay, screen, frame.buffer_mut());
    }
    if let Some(scroll) = console.help {
        let rows = help_rows(console);
        let area = help::popup_area(screen);
        let scroll = scroll.min(help::max_scroll(area, &rows));
        help::draw_help(frame, area, &rows, scroll);
    }
    if let Some(open) = &console.dialog {
        dialog::render(open, screen, frame.buffer_mut());
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
    let (text, style) = match &console.status {
        Some(status) => {
            let style = match status.tone {
                Tone::Info => Style::new(),
                Tone::Good => theme::good(),
                Tone::Bad => theme::alarm(),
            };
            (status.text.clone(), style)
        }
        None => {
            let keys: &[(&str, &str)] = match &console.screen {
                Screen::Table => &[("?", "help")],
                Screen::Detail(_) => detail::KEYS,
                Screen::Logs(_) => logs::KEYS,
            };
            let text: Vec<String> = keys.iter().map(|(k, what)| format!("{k} {what}")).collect();
            (text.join(" · "), theme::dim())
        }
    };
    let mut spans = Vec::new();
    if let Some(why) = &console.read_only {
        spans.push(Span::styled(
            format!("[read-only: {why}] "),
            theme::warning(),
        ));
    }
    if !console.in_flight.is_empty() {
        spans.push(Span::styled(
            format!("[{} running] ", console.in_flight.len()),
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
    rows
}
