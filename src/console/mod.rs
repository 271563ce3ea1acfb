//! The console: the whole application state (the model, the table and its
//! finding tools, the open view, dialogs, marks, actions in flight, the
//! status line) and its update. Pure: `update` reads no clock and does no
//! IO; it returns what the loop must do (`Output`), and the loop feeds the
//! results back in (`Input::Outcome`).

mod actions;
mod dialog;
mod input;

use std::collections::{BTreeSet, HashSet};

use crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;

pub use dialog::{Dialog, DialogStage};

use crate::actions::{ActionKind, Effect, Outcome};
use crate::keymap::Keymap;
use crate::layout::Drawn;
use crate::model::{EvalId, Happening, Observation, Source, State, Ts};
use crate::sources::Received;
use crate::view::detail_view::DetailView;
use crate::view::log_view::{LogDocument, LogView};
use crate::view::scroll::Scroll;
use crate::view::{Column, EventLog, TableView};

/// How long a status message stays.
const STATUS_FOR_MS: i64 = 15_000;

/// What the console is told.
#[derive(Clone, Debug)]
pub enum Input {
    Observed(Received),
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resized(Rect),
    /// The 1 s clock.
    Tick,
    /// An action finished.
    Outcome(Box<Outcome>),
    /// The loop saved the open logs (or failed to).
    Saved(Result<String, String>),
}

/// What the loop must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Run(Effect),
    SetMouseCapture(bool),
    /// Write the open log document to a file of the loop's choosing, then
    /// answer `Saved`.
    SaveLogs,
    Replay(ReplayControl),
    Quit,
}

/// Replay controls, for the loop's player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayControl {
    PauseResume,
    Faster,
    Slower,
    SeekStart,
    SeekEnd,
}

/// What the replay clock looks like, shown in the header.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStatus {
    pub cursor: Ts,
    pub start: Ts,
    pub end: Ts,
    pub speed: f64,
    pub paused: bool,
}

/// The view in front.
#[derive(Clone, Debug)]
pub enum Screen {
    Table,
    Detail(DetailView),
    Logs(Box<LogsScreen>),
}

#[derive(Clone, Debug)]
pub struct LogsScreen {
    pub eval_id: EvalId,
    pub doc: LogDocument,
    pub view: LogView,
    /// The re-fetch is still running.
    pub fetching: bool,
    /// Logs re-fetched from a source, kept for a forced failure's payload.
    pub fetched: Option<crate::model::CapturedLogs>,
}

/// How a status message reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Good,
    Bad,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StatusLine {
    pub at: Ts,
    pub tone: Tone,
    pub text: String,
}

pub struct Console {
    pub state: State,
    pub table: TableView,
    pub events: EventLog,
    pub show_events: bool,
    pub keymap: Keymap,
    pub screen: Screen,
    pub help: Option<Scroll>,
    /// How far the scrolling views could scroll in the last frame drawn.
    drawn: Drawn,
    pub dialog: Option<Dialog>,
    pub marks: BTreeSet<EvalId>,
    pub in_flight: HashSet<(ActionKind, String)>,
    pub status: Option<StatusLine>,
    /// Why actions are off, when they are (`--read-only`, replay).
    pub read_only: Option<String>,
    pub operator: String,
    /// The signal a kill sends (the config's `kill_signal`).
    pub kill_signal: String,
    /// The table's columns, in order (the config's `columns`).
    pub columns: Vec<Column>,
    /// The platform's names, for what dialogs say they will touch.
    pub names: crate::names::Names,
    pub mouse_captured: bool,
    pub replay: Option<ReplayStatus>,
    /// The terminal's size, for pages and mouse hits.
    pub size: Rect,
    /// `s` was pressed: the next key picks the sort column.
    pub sort_pending: bool,
    refresh_needed: bool,
}

impl Console {
    pub fn new(state: State, keymap: Keymap, operator: String) -> Self {
        Console {
            state,
            table: TableView::default(),
            events: EventLog::default(),
            show_events: false,
            keymap,
            screen: Screen::Table,
            help: None,
            drawn: Drawn::default(),
            dialog: None,
            marks: BTreeSet::new(),
            in_flight: HashSet::new(),
            status: None,
            read_only: None,
            operator,
            names: crate::names::Names::default(),
            columns: Column::ALL.to_vec(),
            kill_signal: crate::actions::DEFAULT_KILL_SIGNAL.to_string(),
            mouse_captured: true,
            replay: None,
            size: Rect::new(0, 0, 80, 24),
            sort_pending: false,
            refresh_needed: true,
        }
    }

    pub fn with_names(mut self, names: crate::names::Names) -> Self {
        self.names = names;
        self
    }

    /// Turns every action that writes off, saying why.
    pub fn with_read_only(mut self, reason: Option<String>) -> Self {
        self.read_only = reason;
        self
    }

    /// Starts the model again empty (a replay seeking backwards); the
    /// view, marks and keymap stay.
    pub fn reset_state(&mut self) {
        self.state = State::new(self.state.settings.clone());
        self.events = EventLog::default();
        self.marks.clear();
        self.refresh_needed = true;
    }

    /// The table's order and flags are recomputed lazily, at most once per
    /// batch: the loop calls this before drawing.
    pub fn refresh_if_needed(&mut self, now: Ts) -> bool {
        if !(self.refresh_needed || self.table.is_stale()) {
            return false;
        }
        self.table.refresh(&self.state, now);
        self.refresh_needed = false;
        true
    }

    pub fn needs_refresh(&self) -> bool {
        self.refresh_needed || self.table.is_stale()
    }

    pub fn update(&mut self, input: Input, now: Ts) -> Vec<Output> {
        match input {
            Input::Observed(received) => {
                self.observe(received);
                Vec::new()
            }
            Input::Key(key) => {
                // Keys act on the rows as they are now, not as of the
                // last frame's refresh.
                self.refresh_if_needed(now);
                self.key(key, now)
            }
            Input::Mouse(mouse) => self.mouse(mouse),
            Input::Resized(size) => {
                self.size = size;
                Vec::new()
            }
            Input::Tick => {
                self.refresh_needed = true;
                if self
                    .status
                    .as_ref()
                    .is_some_and(|s| now.since(s.at) > STATUS_FOR_MS)
                {
                    self.status = None;
                }
                Vec::new()
            }
            Input::Outcome(outcome) => self.outcome(*outcome, now),
            Input::Saved(result) => {
                match result {
                    Ok(path) => self.say(now, Tone::Good, format!("logs saved to {path}")),
                    Err(error) => {
                        self.say(now, Tone::Bad, format!("cannot save the logs: {error}"))
                    }
                }
                Vec::new()
            }
        }
    }

    /// Applies an observation: the events pane, the model, and the open
    /// live log.
    pub fn observe(&mut self, received: Received) {
        self.events.push(received.at, &received.observation);
        if let (Screen::Logs(logs), Observation::RedisLog(message)) =
            (&mut self.screen, &received.observation)
            && logs.fetched.is_none()
            && *logs.eval_id == *message.eval_id
            && !message.is_heartbeat
        {
            logs.doc.push_text(
                crate::model::StreamKind::Console,
                Some(received.at),
                &message.content,
            );
            logs.view.on_new_lines(&logs.doc);
        }
        self.state.apply(received.observation, received.at);
        self.refresh_needed = true;
    }

    pub(crate) fn say(&mut self, now: Ts, tone: Tone, text: String) {
        self.status = Some(StatusLine {
            at: now,
            tone,
            text: crate::sanitize::clean_line(&text),
        });
    }

    /// Notes something evaltop did in an evaluation's timeline.
    pub(crate) fn note(&mut self, eval_id: &str, now: Ts, text: String) {
        if let Some(record) = self.state.evals.get_mut(eval_id) {
            record.note(now, Source::Evaltop, Happening::Note(text));
            self.refresh_needed = true;
        }
    }

    /// The evaluation the keys act on: the open detail's or logs', else the
    /// table's selection.
    pub fn focused(&self) -> Option<EvalId> {
        match &self.screen {
            Screen::Detail(detail) => Some(detail.eval_id.clone()),
            Screen::Logs(logs) => Some(logs.eval_id.clone()),
            Screen::Table => self.table.selected().cloned(),
        }
    }

    /// A live-buffer document for `eval_id`.
    fn live_document(&self, eval_id: &EvalId) -> LogDocument {
        let live = self.state.live_logs.get(eval_id);
        let chunks = live
            .into_iter()
            .flat_map(|log| log.chunks())
            .map(|chunk| (chunk.at, chunk.content.as_str()));
        let dropped = live.map_or(0, |log| log.evicted_bytes);
        LogDocument::from_chunks(eval_id.clone(), chunks, dropped)
    }
}

#[cfg(test)]
mod tests;
