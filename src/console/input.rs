//! Keys and the mouse: what each press does in the view in front. Text
//! entry (the filter bar, the log search, a reason) takes the keys first;
//! then the keymap decides.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::actions::AskedAction;
use super::{Console, LogsScreen, Output, ReplayControl, Screen, Tone};
use crate::keymap::{Command, Context, KeyHints};
use crate::layout::{self, Drawn};
use crate::model::Ts;
use crate::view::column::{sort_choice, sort_menu};
use crate::view::detail_view::DetailView;
use crate::view::scroll::Scroll;
use crate::view::{Action, FilterEdit, QuickView};

/// Rows the wheel moves.
const WHEEL_ROWS: usize = 3;

impl Console {
    pub(super) fn key(&mut self, key: KeyEvent, now: Ts) -> Vec<Output> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if self.views.dialog.is_some() {
            return self.dialog_key(key, now);
        }
        if self.views.table.filter_input().is_editing() {
            self.filter_key(key);
            return Vec::new();
        }
        if let Screen::Logs(logs) = &mut self.views.screen
            && logs.view.prompt().is_some()
        {
            search_key(logs, key, self.term.size);
            return Vec::new();
        }
        if self.views.sort_pending {
            self.views.sort_pending = false;
            if let KeyCode::Char(c) = key.code
                && let Some(column) = sort_choice(c)
            {
                self.views.table.sort_by(column);
                return Vec::new();
            }
            self.say(now, Tone::Info, "sort cancelled".into());
            return Vec::new();
        }
        let Some(command) = self.config.keymap.lookup(&self.contexts(), &key) else {
            return Vec::new();
        };
        self.command(command, now)
    }

    /// The keymap contexts in force, most specific first.
    fn contexts(&self) -> Vec<Context> {
        let mut contexts = Vec::with_capacity(2);
        if self.replay.is_some() {
            contexts.push(Context::Replay);
        }
        contexts.push(match (&self.views.screen, self.views.help) {
            (_, Some(_)) => Context::Global,
            (Screen::Table | Screen::Fleet { .. }, _) => Context::Table,
            (Screen::Detail(_), _) => Context::Detail,
            (Screen::Logs(_), _) => Context::Logs,
        });
        contexts
    }

    fn command(&mut self, command: Command, now: Ts) -> Vec<Output> {
        // The popup's frame takes two of its lines.
        let popup = layout::help_popup(self.term.size);
        let help_page = self.scroll_page(popup.inner(ratatui::layout::Margin::new(1, 1)));
        if let Some(scroll) = self.views.help.as_mut() {
            let max = self.term.drawn.help_max_scroll;
            match command {
                Command::Quit => return vec![Output::Quit],
                Command::Down => scroll.by(1, max),
                Command::Up => scroll.by(-1, max),
                Command::PageDown => scroll.by(help_page, max),
                Command::PageUp => scroll.by(-help_page, max),
                Command::Top => scroll.top(),
                Command::Bottom => scroll.bottom(max),
                Command::Help | Command::Back => self.views.help = None,
                // Help covers the view: nothing else acts under it.
                _ => {}
            }
            return Vec::new();
        }
        match command {
            Command::Quit => return vec![Output::Quit],
            Command::Help => self.views.help = Some(Scroll::default()),
            Command::ReleaseMouse => {
                self.term.mouse_captured = !self.term.mouse_captured;
                let text = if self.term.mouse_captured {
                    "mouse captured: click selects, the wheel scrolls"
                } else {
                    "mouse released: select text with the mouse; m captures it again"
                };
                self.say(now, Tone::Info, text.into());
                return vec![Output::SetMouseCapture(self.term.mouse_captured)];
            }
            Command::PauseResume => return vec![Output::Replay(ReplayControl::PauseResume)],
            Command::Faster => return vec![Output::Replay(ReplayControl::Faster)],
            Command::Slower => return vec![Output::Replay(ReplayControl::Slower)],
            Command::SeekStart => return vec![Output::Replay(ReplayControl::SeekStart)],
            Command::SeekEnd => return vec![Output::Replay(ReplayControl::SeekEnd)],
            Command::Kill => return self.start_action(AskedAction::Kill, now),
            Command::Remove => return self.start_action(AskedAction::Remove, now),
            Command::ForceFail => return self.start_action(AskedAction::ForceFail, now),
            Command::Logs => return self.open_logs(now),
            _ => {}
        }
        match &mut self.views.screen {
            Screen::Table => self.table_command(command, now),
            Screen::Fleet { .. } => self.fleet_command(command, now),
            Screen::Detail(_) => self.detail_command(command, now),
            Screen::Logs(_) => return self.logs_command(command, now),
        }
        Vec::new()
    }

    fn table_command(&mut self, command: Command, now: Ts) {
        let page = self.page();
        match command {
            Command::Up => self.views.table.apply(Action::Up, page),
            Command::Down => self.views.table.apply(Action::Down, page),
            Command::PageUp => self.views.table.apply(Action::PageUp, page),
            Command::PageDown => self.views.table.apply(Action::PageDown, page),
            Command::Top => self.views.table.apply(Action::Top, page),
            Command::Bottom => self.views.table.apply(Action::Bottom, page),
            Command::Open => {
                if let Some(id) = self.views.table.selected().cloned() {
                    self.views.screen = Screen::Detail(DetailView::new(id));
                    self.refresh_detail_logs(now);
                }
            }
            Command::Back => {
                if !self.views.marks.is_empty() {
                    let n = self.views.marks.len();
                    self.views.marks.clear();
                    self.say(now, Tone::Info, format!("{n} marks cleared"));
                } else if self.views.table.filter().is_some() {
                    self.views.table.clear_filter();
                }
            }
            Command::Filter => self.views.table.open_filter(),
            Command::QuickView(n) => {
                if let Some(view) = QuickView::from_digit(char::from(b'0' + n)) {
                    self.views.table.set_quick_view(view);
                }
            }
            Command::Sort => {
                self.views.sort_pending = true;
                self.say(now, Tone::Info, format!("sort by: {}", sort_menu()));
            }
            Command::ToggleEvents => self.views.show_events = !self.views.show_events,
            Command::Rejected => {
                let listing = self.views.show_events && self.views.events.rejected_only;
                self.views.events.rejected_only = !listing;
                self.views.show_events = true;
            }
            Command::Fleet => self.views.screen = Screen::Fleet { selected: 0 },
            Command::EventsUp => {
                let page = self.events_page();
                self.views.events.scroll_up(page, page);
            }
            Command::EventsDown => {
                let page = self.events_page();
                self.views.events.scroll_down(page);
            }
            Command::Mark => self.toggle_mark(),
            Command::MarkAllShown => {
                let rows = self.views.table.rows().iter().map(|row| row.id.clone());
                self.views.marks.extend(rows);
                let n = self.views.marks.len();
                self.say(now, Tone::Info, format!("{n} marked"));
            }
            _ => {}
        }
    }

    /// Up and down pick a row; enter filters the table to that executor
    /// or host and goes back to it.
    fn fleet_command(&mut self, command: Command, now: Ts) {
        let fleet = crate::model::fleet::fleet(&self.state, now);
        let rows: Vec<_> = fleet.rows().collect();
        let Screen::Fleet { selected } = &mut self.views.screen else {
            return;
        };
        let last = rows.len().saturating_sub(1);
        match command {
            Command::Up => *selected = selected.saturating_sub(1),
            Command::Down => *selected = (*selected + 1).min(last),
            Command::Top => *selected = 0,
            Command::Bottom => *selected = last,
            Command::Back | Command::Fleet => self.views.screen = Screen::Table,
            Command::Open => {
                let Some(row) = rows.get(*selected) else {
                    return;
                };
                let field = match row.kind {
                    crate::model::fleet::RowKind::Executor => "executor",
                    crate::model::fleet::RowKind::Engine => "host",
                };
                let text = format!("{field}:{}", row.name);
                match crate::view::Filter::parse(&text) {
                    Ok(filter) => {
                        self.views.table.set_filter(Some(filter));
                        self.views.screen = Screen::Table;
                    }
                    // A name that is not a filter value (a space, say):
                    // say so rather than filter on something else.
                    Err(error) => {
                        self.say(now, Tone::Bad, format!("cannot filter on {text}: {error}"))
                    }
                }
            }
            _ => {}
        }
    }

    fn toggle_mark(&mut self) {
        if let Some(id) = self.views.table.selected().cloned() {
            if !self.views.marks.remove(&id) {
                self.views.marks.insert(id);
            }
            let page = self.page();
            self.views.table.apply(Action::Down, page);
        }
    }

    fn detail_command(&mut self, command: Command, _now: Ts) {
        let max = self.term.drawn.detail_max_scroll;
        let page = self.scroll_page(layout::detail_screen(self.body_area()).body);
        let Screen::Detail(detail) = &mut self.views.screen else {
            return;
        };
        let scroll = &mut detail.scroll;
        match command {
            Command::Back => self.views.screen = Screen::Table,
            Command::Up => scroll.by(-1, max),
            Command::Down => scroll.by(1, max),
            Command::PageUp => scroll.by(-page, max),
            Command::PageDown => scroll.by(page, max),
            Command::Top => scroll.top(),
            Command::Bottom => scroll.bottom(max),
            _ => {}
        }
    }

    /// A page of a scrolling view drawn in `area`: all but a line of
    /// overlap, so that the reader keeps their place.
    fn scroll_page(&self, area: ratatui::layout::Rect) -> i32 {
        i32::from(area.height.saturating_sub(1).max(1))
    }

    /// What the last frame drawn says about the scrolling views: the
    /// bounds for the next moves.
    pub fn drawn(&mut self, drawn: Drawn) {
        self.term.drawn = drawn;
    }

    fn logs_command(&mut self, command: Command, now: Ts) -> Vec<Output> {
        match command {
            Command::LogWindow => return self.next_log_window(now),
            Command::LogOrigin => {
                if let Screen::Logs(logs) = &mut self.views.screen {
                    logs.view.message = Some(logs.cycle_origin(now));
                }
                return Vec::new();
            }
            _ => {}
        }
        self.view_logs_command(command).into_iter().collect()
    }

    fn view_logs_command(&mut self, command: Command) -> Option<Output> {
        let vp = layout::logs_viewport(self.body_area());
        let Screen::Logs(logs) = &mut self.views.screen else {
            return None;
        };
        let (doc, view) = (&logs.doc, &mut logs.view);
        match command {
            Command::Back => {
                let following = logs.stream.is_some();
                self.views.screen = match logs.from_detail.take() {
                    Some(detail) => Screen::Detail(detail),
                    None => Screen::Table,
                };
                // The stream goes with the view.
                return following.then_some(Output::StopFollow);
            }
            Command::Up => view.scroll(doc, -1, vp),
            Command::Down => view.scroll(doc, 1, vp),
            Command::PageUp => view.page(doc, -1, vp),
            Command::PageDown => view.page(doc, 1, vp),
            Command::Top => view.top(doc),
            Command::Bottom => view.bottom(doc, vp),
            Command::ToggleFollow => view.toggle_follow(doc, vp),
            Command::ToggleWrap => view.toggle_wrap(),
            Command::ToggleTimestamps => view.toggle_timestamps(),
            Command::Search => view.start_search(),
            Command::NextMatch => view.next_match(doc, vp),
            Command::PrevMatch => view.prev_match(doc, vp),
            Command::ScrollLeft => view.scroll_sideways(doc, -8, vp),
            Command::ScrollRight => view.scroll_sideways(doc, 8, vp),
            Command::Save => return Some(Output::SaveLogs),
            _ => {}
        }
        None
    }

    fn filter_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let edit = match key.code {
            KeyCode::Enter => {
                self.views.table.commit_filter();
                return;
            }
            KeyCode::Esc => {
                self.views.table.cancel_filter();
                return;
            }
            KeyCode::Char('w') if ctrl => FilterEdit::DeleteWord,
            KeyCode::Char('u') if ctrl => FilterEdit::Clear,
            KeyCode::Char(c) if !ctrl => FilterEdit::Insert(c),
            KeyCode::Backspace => FilterEdit::Backspace,
            KeyCode::Delete => FilterEdit::Delete,
            KeyCode::Left => FilterEdit::Left,
            KeyCode::Right => FilterEdit::Right,
            KeyCode::Home => FilterEdit::Home,
            KeyCode::End => FilterEdit::End,
            _ => return,
        };
        self.views.table.edit_filter(edit);
    }

    pub(super) fn mouse(&mut self, mouse: MouseEvent) -> Vec<Output> {
        if !self.term.mouse_captured || self.views.dialog.is_some() || self.views.help.is_some() {
            return Vec::new();
        }
        let page = self.page();
        match (&mut self.views.screen, mouse.kind) {
            (Screen::Table, MouseEventKind::ScrollDown) => {
                for _ in 0..WHEEL_ROWS {
                    self.views.table.apply(Action::Down, page);
                }
            }
            (Screen::Table, MouseEventKind::ScrollUp) => {
                for _ in 0..WHEEL_ROWS {
                    self.views.table.apply(Action::Up, page);
                }
            }
            (Screen::Table, MouseEventKind::Down(_)) => {
                if let Some(index) = layout::row_at(
                    self.term.size,
                    &self.views.table,
                    self.views.show_events,
                    mouse.row,
                ) {
                    let id = self.views.table.rows()[index].id.clone();
                    self.views.table.select(&id, page);
                }
            }
            (Screen::Logs(_), MouseEventKind::ScrollDown) => {
                self.logs_scroll(WHEEL_ROWS as i32);
            }
            (Screen::Logs(_), MouseEventKind::ScrollUp) => {
                self.logs_scroll(-(WHEEL_ROWS as i32));
            }
            (Screen::Detail(_), MouseEventKind::ScrollDown) => {
                self.detail_command(Command::Down, Ts(0))
            }
            (Screen::Detail(_), MouseEventKind::ScrollUp) => {
                self.detail_command(Command::Up, Ts(0))
            }
            _ => {}
        }
        Vec::new()
    }

    fn logs_scroll(&mut self, delta: i32) {
        let vp = layout::logs_viewport(self.body_area());
        if let Screen::Logs(logs) = &mut self.views.screen {
            logs.view.scroll(&logs.doc, delta, vp);
        }
    }

    /// What the hints on screen are made from.
    pub fn key_hints(&self) -> KeyHints<'_> {
        KeyHints {
            keymap: &self.config.keymap,
            replay: self.replay.is_some(),
            actions: self.config.read_only.is_none(),
        }
    }

    /// Rows in a page of the table.
    pub fn page(&self) -> usize {
        layout::page_size(self.term.size, &self.views.table, self.views.show_events)
    }

    fn events_page(&self) -> usize {
        layout::events_page_size(self.term.size, &self.views.table)
    }

    /// Where a full-screen view (detail, logs) is drawn: all but the
    /// status line.
    pub fn body_area(&self) -> ratatui::layout::Rect {
        layout::body_area(self.term.size)
    }
}

fn search_key(logs: &mut LogsScreen, key: KeyEvent, size: ratatui::layout::Rect) {
    let mut area = size;
    area.height = area.height.saturating_sub(1);
    let vp = layout::logs_viewport(area);
    match key.code {
        KeyCode::Enter => logs.view.commit_prompt(&logs.doc, vp),
        KeyCode::Esc => logs.view.cancel_prompt(),
        KeyCode::Backspace => logs.view.prompt_pop(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            logs.view.prompt_push(c)
        }
        _ => {}
    }
}
