//! The console: the whole application state (the model, the table and its
//! finding tools, the open view, dialogs, marks, actions in flight, the
//! status line) and its update. Pure: `update` reads no clock and does no
//! IO; it returns what the loop must do (`Output`), and the loop feeds the
//! results back in (`Input::Outcome`).

mod actions;
mod dialog;
mod input;
mod logs;

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
/// How long an informational or good message stays on the status line; a
/// failure stays until the next key, so that it cannot go unread.
const STATUS_FOR_MS: i64 = 10_000;

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
    /// Lines from the Docker log stream the open logs follow.
    LogStream(Box<crate::actions::LogStreamEvent>),
}

/// What the loop must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Run(Effect),
    SetMouseCapture(bool),
    /// Write the open log document to a file of the loop's choosing, then
    /// answer `Saved`.
    SaveLogs,
    /// Follow this running container's log (Docker's stream), answering
    /// `LogStream`; replaces any stream already open.
    FollowLogs {
        target: crate::actions::Target,
        window: crate::actions::LogWindow,
        stream_id: u64,
    },
    /// Close the log stream (the logs view closed).
    StopFollow,
    /// Read this evaluation's container and the Redis keys again now (an
    /// action changed them), answering with `Observed`.
    Reread(crate::actions::Target),
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
    /// A row per executor and per engine; `selected` is the row under the
    /// cursor.
    Fleet {
        selected: usize,
    },
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
    /// The detail the logs were opened from, to go back to; `None`: the
    /// table.
    pub from_detail: Option<DetailView>,
    /// The other origins that hold something (`o` switches to them).
    pub others: Vec<LogDocument>,
    /// The operator picked the origin shown: a richer one arriving does
    /// not replace it.
    pub pinned: bool,
    /// The part of a long log read from Docker (`T` changes it).
    pub window: crate::actions::LogWindow,
    /// The Docker stream being followed, if any.
    pub stream: Option<u64>,
}

/// One action confirmed on several evaluations: its answers so far.
#[derive(Clone, Debug)]
struct Batch {
    kind: ActionKind,
    waiting: BTreeSet<String>,
    ok: usize,
    /// The first failure's evaluation and reason, and how many failed.
    first_failure: Option<(String, String)>,
    failed: usize,
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

/// What a console is set up with: the keys, who operates it, and what
/// its actions send and may touch.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    pub keymap: Keymap,
    /// `user@host`, for the audit and the forced-failure metadata.
    pub operator: String,
    /// The signal a kill sends (the config's `kill_signal`).
    pub kill_signal: String,
    /// The table's columns, in order (the config's `columns`).
    pub columns: Vec<Column>,
    /// The platform's names, for what dialogs say they will touch.
    pub names: crate::names::Names,
    /// Why actions are off, when they are (`--read-only`, replay).
    pub read_only: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            keymap: Keymap::default(),
            operator: crate::effects::operator(),
            kill_signal: crate::actions::DEFAULT_KILL_SIGNAL.to_string(),
            columns: Column::ALL.to_vec(),
            names: crate::names::Names::default(),
            read_only: None,
        }
    }
}

/// What the operator sees and has chosen: the view in front, the table's
/// view model, the panes, overlays, marks and the status line.
struct Views {
    table: TableView,
    events: EventLog,
    show_events: bool,
    screen: Screen,
    help: Option<Scroll>,
    dialog: Option<Dialog>,
    marks: BTreeSet<EvalId>,
    status: Option<StatusLine>,
    /// The sort key was pressed: the next key picks the column.
    sort_pending: bool,
}

/// What the console knows of the terminal.
struct TerminalFacts {
    /// Its size, for pages and mouse hits.
    size: Rect,
    mouse_captured: bool,
    /// How far the scrolling views could scroll in the last frame drawn.
    drawn: Drawn,
}

/// The console: the model, the views over it, and the actions in flight.
/// Pure: inputs in, outputs (effects to run, the mouse, the replay) out.
pub struct Console {
    state: State,
    config: ConsoleConfig,
    views: Views,
    term: TerminalFacts,
    /// Actions started and not yet answered, to refuse duplicates.
    in_flight: HashSet<(ActionKind, String)>,
    /// Actions confirmed on several evaluations at once, summed up when
    /// the last one answers.
    batches: Vec<Batch>,
    replay: Option<ReplayStatus>,
    refresh_needed: bool,
}

impl Console {
    pub fn new(state: State, config: ConsoleConfig) -> Self {
        Console {
            state,
            config,
            views: Views {
                table: TableView::default(),
                events: EventLog::default(),
                show_events: false,
                screen: Screen::Table,
                help: None,
                dialog: None,
                marks: BTreeSet::new(),
                status: None,
                sort_pending: false,
            },
            term: TerminalFacts {
                size: Rect::new(0, 0, 80, 24),
                mouse_captured: true,
                drawn: Drawn::default(),
            },
            in_flight: HashSet::new(),
            batches: Vec::new(),
            replay: None,
            refresh_needed: true,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn config(&self) -> &ConsoleConfig {
        &self.config
    }

    pub fn table(&self) -> &TableView {
        &self.views.table
    }

    /// Selects `id` in the table (as a click or the keys would), if shown.
    pub fn select(&mut self, id: &str) -> bool {
        let page = self.page();
        self.views.table.select(id, page)
    }

    pub fn events(&self) -> &EventLog {
        &self.views.events
    }

    pub fn shows_events(&self) -> bool {
        self.views.show_events
    }

    pub fn screen(&self) -> &Screen {
        &self.views.screen
    }

    /// The help overlay's scroll, while help is open.
    pub fn help(&self) -> Option<Scroll> {
        self.views.help
    }

    pub fn dialog(&self) -> Option<&Dialog> {
        self.views.dialog.as_ref()
    }

    pub fn marks(&self) -> &BTreeSet<EvalId> {
        &self.views.marks
    }

    pub fn status(&self) -> Option<&StatusLine> {
        self.views.status.as_ref()
    }

    /// How many actions are running.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn replay(&self) -> Option<&ReplayStatus> {
        self.replay.as_ref()
    }

    /// The replay's clock and speed, as the player reports them.
    pub fn set_replay(&mut self, status: Option<ReplayStatus>) {
        self.replay = status;
    }

    pub fn size(&self) -> Rect {
        self.term.size
    }

    /// Starts the model again empty (a replay seeking backwards); the
    /// view, marks and keymap stay.
    pub fn reset_state(&mut self) {
        self.state = State::new(self.state.settings.clone());
        self.views.events = EventLog::default();
        self.views.marks.clear();
        self.refresh_needed = true;
    }

    /// The table's order and flags are recomputed lazily, at most once per
    /// batch: the loop calls this before drawing.
    pub fn refresh_if_needed(&mut self, now: Ts) -> bool {
        if !(self.refresh_needed || self.views.table.is_stale()) {
            return false;
        }
        let changes = self.state.take_changes();
        self.views.table.follow(&self.state, &changes, now);
        self.refresh_detail_logs(now);
        self.refresh_needed = false;
        true
    }

    pub fn needs_refresh(&self) -> bool {
        self.refresh_needed || self.views.table.is_stale()
    }

    pub fn update(&mut self, input: Input, now: Ts) -> Vec<Output> {
        match input {
            Input::Observed(received) => {
                self.observe(received);
                Vec::new()
            }
            Input::Key(key) => {
                // A failure stays until the operator has pressed a key
                // after it; what the key does may say something new.
                if self
                    .views
                    .status
                    .as_ref()
                    .is_some_and(|s| s.tone == Tone::Bad)
                {
                    self.views.status = None;
                }
                // Keys act on the rows as they are now, not as of the
                // last frame's refresh.
                self.refresh_if_needed(now);
                self.key(key, now)
            }
            Input::Mouse(mouse) => self.mouse(mouse),
            Input::Resized(size) => {
                self.term.size = size;
                Vec::new()
            }
            Input::Tick => {
                self.refresh_needed = true;
                if self
                    .views
                    .status
                    .as_ref()
                    .is_some_and(|s| s.tone != Tone::Bad && now.since(s.at) > STATUS_FOR_MS)
                {
                    self.views.status = None;
                }
                Vec::new()
            }
            Input::Outcome(outcome) => self.outcome(*outcome, now),
            Input::LogStream(event) => self.log_stream(*event, now),
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
        let state = &self.state;
        self.views
            .events
            .push_with(received.at, &received.observation, |id| state.id_of(id));
        if let (Screen::Logs(logs), Observation::RedisLog(message)) =
            (&mut self.views.screen, &received.observation)
            && *logs.eval_id == *message.eval_id
            && !message.is_heartbeat
        {
            logs.live_message(received.at, &message.content);
        }
        self.state.apply(received.observation, received.at);
        self.refresh_needed = true;
    }

    pub(crate) fn say(&mut self, now: Ts, tone: Tone, text: String) {
        self.views.status = Some(StatusLine {
            at: now,
            tone,
            text: crate::sanitize::clean_line(&text),
        });
    }

    /// Notes something evaltop did in an evaluation's timeline.
    pub(crate) fn note(&mut self, eval_id: &str, now: Ts, text: String) {
        if let Some(record) = self.state.existing_mut(eval_id) {
            record.note(now, Source::Evaltop, Happening::Note(text));
            self.refresh_needed = true;
        }
    }

    /// The evaluation the keys act on: the open detail's or logs', else the
    /// table's selection.
    pub fn focused(&self) -> Option<EvalId> {
        match &self.views.screen {
            Screen::Detail(detail) => Some(detail.eval_id.clone()),
            Screen::Logs(logs) => Some(logs.eval_id.clone()),
            Screen::Table | Screen::Fleet { .. } => self.views.table.selected().cloned(),
        }
    }
}

#[cfg(test)]
mod tests;
