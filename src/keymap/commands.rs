//! Every command, each with its one entry (name, label, description,
//! default keys and the contexts they apply in): the keymap, help and the
//! hints on screen are all derived from it.

use std::borrow::Cow;

use super::Context;

/// Everything a key can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Open,
    Filter,
    QuickView(u8),
    Sort,
    EventsUp,
    EventsDown,
    ToggleEvents,
    Rejected,
    Fleet,
    Mark,
    MarkAllShown,
    Kill,
    Remove,
    Logs,
    ForceFail,
    ToggleFollow,
    ToggleWrap,
    ToggleTimestamps,
    LogOrigin,
    LogWindow,
    Search,
    NextMatch,
    PrevMatch,
    Save,
    ScrollLeft,
    ScrollRight,
    ReleaseMouse,
    PauseResume,
    Faster,
    Slower,
    SeekStart,
    SeekEnd,
}

/// A command's entry in the one table of commands: its config name, what
/// it does (for `?`), a short label (for the hints on screen), and its
/// default keys with the contexts they apply in (where a rebinding goes).
pub struct Spec {
    pub name: Cow<'static, str>,
    pub description: Cow<'static, str>,
    pub label: &'static str,
    pub keys: &'static [(Context, &'static str)],
}

const fn spec(
    name: &'static str,
    label: &'static str,
    description: &'static str,
    keys: &'static [(Context, &'static str)],
) -> Spec {
    Spec {
        name: Cow::Borrowed(name),
        description: Cow::Borrowed(description),
        label,
        keys,
    }
}

/// The digit keys of the quick views, one context each.
const QUICK_KEYS: [&[(Context, &str)]; 9] = [
    &[(Context::Table, "1")],
    &[(Context::Table, "2")],
    &[(Context::Table, "3")],
    &[(Context::Table, "4")],
    &[(Context::Table, "5")],
    &[(Context::Table, "6")],
    &[(Context::Table, "7")],
    &[(Context::Table, "8")],
    &[(Context::Table, "9")],
];

impl Command {
    /// Every command, in help order.
    pub fn all() -> Vec<Command> {
        use Command as C;
        let mut all = vec![
            C::Quit,
            C::Help,
            C::Back,
            C::Up,
            C::Down,
            C::PageUp,
            C::PageDown,
            C::Top,
            C::Bottom,
            C::Open,
            C::Filter,
        ];
        all.extend((1..=9).map(C::QuickView));
        all.extend([
            C::Sort,
            C::EventsUp,
            C::EventsDown,
            C::ToggleEvents,
            C::Rejected,
            C::Fleet,
            C::Mark,
            C::MarkAllShown,
            C::Kill,
            C::Remove,
            C::Logs,
            C::ForceFail,
            C::ToggleFollow,
            C::ToggleWrap,
            C::ToggleTimestamps,
            C::LogOrigin,
            C::LogWindow,
            C::Search,
            C::NextMatch,
            C::PrevMatch,
            C::Save,
            C::ScrollLeft,
            C::ScrollRight,
            C::ReleaseMouse,
            C::PauseResume,
            C::Faster,
            C::Slower,
            C::SeekStart,
            C::SeekEnd,
        ]);
        all
    }

    /// The command's one entry: everything else is derived from it.
    pub fn spec(self) -> Spec {
        use Context::*;
        match self {
            Command::Quit => spec("quit", "quit", "quit", &[(Global, "q"), (Global, "ctrl-c")]),
            Command::Help => spec("help", "help", "this help", &[(Global, "?")]),
            Command::Back => spec(
                "back",
                "back",
                "close the view, dialog or filter",
                &[(Global, "esc")],
            ),
            Command::Up => spec(
                "up",
                "up",
                "previous row / scroll up",
                &[(Global, "k"), (Global, "up")],
            ),
            Command::Down => spec(
                "down",
                "down",
                "next row / scroll down",
                &[(Global, "j"), (Global, "down")],
            ),
            Command::PageUp => spec("page_up", "page up", "a page up", &[(Global, "pgup")]),
            Command::PageDown => spec("page_down", "page down", "a page down", &[(Global, "pgdn")]),
            Command::Top => spec(
                "top",
                "top",
                "first row / top",
                &[(Global, "g"), (Global, "home")],
            ),
            Command::Bottom => spec(
                "bottom",
                "bottom",
                "last row / bottom",
                &[(Global, "G"), (Global, "end")],
            ),
            Command::Open => spec(
                "open",
                "detail",
                "open the evaluation's detail",
                &[(Table, "enter")],
            ),
            Command::Filter => spec(
                "filter",
                "filter",
                "filter rows (status:, flag:, executor:, over:, age:, exit:, !)",
                &[(Table, "/")],
            ),
            Command::QuickView(n) => {
                let digit = char::from(b'0' + n);
                let description = match crate::view::QuickView::from_digit(digit) {
                    Some(view) => format!("quick view: {}", view.name()),
                    None => format!("quick view {n}"),
                };
                Spec {
                    name: Cow::Owned(format!("view_{n}")),
                    description: Cow::Owned(description),
                    label: "view",
                    keys: QUICK_KEYS
                        .get(usize::from(n.saturating_sub(1)))
                        .copied()
                        .unwrap_or(&[]),
                }
            }
            Command::Sort => Spec {
                description: Cow::Owned(format!(
                    "sort: then {} (again: reverse)",
                    crate::view::column::sort_menu()
                )),
                ..spec("sort", "sort", "", &[(Table, "s")])
            },
            Command::EventsUp => spec(
                "events_up",
                "events back",
                "events pane: a page back",
                &[(Table, "[")],
            ),
            Command::EventsDown => spec(
                "events_down",
                "events on",
                "events pane: a page on (to the end: follow)",
                &[(Table, "]")],
            ),
            Command::Fleet => spec(
                "fleet",
                "fleet",
                "the fleet: a row per executor and per host; enter shows its evaluations",
                &[(Table, "H")],
            ),
            Command::ToggleEvents => spec(
                "events",
                "events",
                "show or hide the events pane",
                &[(Table, "e")],
            ),
            Command::Rejected => spec(
                "rejected",
                "rejected",
                "list the rejected payloads (channel, reason) in the events pane",
                &[(Table, "R")],
            ),
            Command::Mark => spec(
                "mark",
                "mark",
                "mark or unmark the row for an action",
                &[(Table, "space")],
            ),
            Command::MarkAllShown => spec(
                "mark_all",
                "mark all",
                "mark every row the filter shows",
                &[(Table, "A")],
            ),
            Command::Kill => spec(
                "kill",
                "kill",
                "kill the container (asks first)",
                &[(Global, "K")],
            ),
            Command::Remove => spec(
                "remove",
                "remove",
                "remove the container (asks first)",
                &[(Global, "D")],
            ),
            Command::Logs => spec(
                "logs",
                "logs",
                "re-fetch and show the logs",
                &[(Global, "l")],
            ),
            Command::ForceFail => spec(
                "force_failed",
                "fail",
                "force the evaluation failed (asks first)",
                &[(Global, "F")],
            ),
            Command::ToggleFollow => spec(
                "follow",
                "follow",
                "follow new lines on/off",
                &[(Logs, "f")],
            ),
            Command::ToggleWrap => spec("wrap", "wrap", "wrap lines on/off", &[(Logs, "w")]),
            Command::ToggleTimestamps => spec(
                "timestamps",
                "timestamps",
                "timestamps on/off",
                &[(Logs, "t")],
            ),
            Command::LogOrigin => spec(
                "log_origin",
                "origin",
                "next origin: live, Docker, captured at death, latest key",
                &[(Logs, "o")],
            ),
            Command::LogWindow => spec(
                "log_window",
                "window",
                "read another window: last 5000/500 lines, last 10m/1h, all",
                &[(Logs, "T")],
            ),
            Command::Search => spec("search", "search", "search the logs", &[(Logs, "/")]),
            Command::NextMatch => spec("next_match", "next", "next match", &[(Logs, "n")]),
            Command::PrevMatch => spec(
                "previous_match",
                "previous",
                "previous match",
                &[(Logs, "N")],
            ),
            Command::Save => spec("save", "save", "save the logs to a file", &[(Logs, "s")]),
            Command::ScrollLeft => spec(
                "scroll_left",
                "left",
                "scroll sideways to the left (wrap off)",
                &[(Logs, "left")],
            ),
            Command::ScrollRight => spec(
                "scroll_right",
                "right",
                "scroll sideways to the right (wrap off)",
                &[(Logs, "right")],
            ),
            Command::ReleaseMouse => spec(
                "release_mouse",
                "mouse",
                "release or capture the mouse (to select text)",
                &[(Global, "m")],
            ),
            Command::PauseResume => spec(
                "pause",
                "pause",
                "replay: pause or resume",
                &[(Replay, "space")],
            ),
            Command::Faster => spec("faster", "faster", "replay: faster", &[(Replay, "+")]),
            Command::Slower => spec("slower", "slower", "replay: slower", &[(Replay, "-")]),
            Command::SeekStart => spec(
                "seek_start",
                "start",
                "replay: go to the start",
                &[(Replay, "<")],
            ),
            Command::SeekEnd => spec("seek_end", "end", "replay: go to the end", &[(Replay, ">")]),
        }
    }

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> String {
        self.spec().name.into_owned()
    }

    pub fn parse(name: &str) -> Option<Command> {
        Command::all().into_iter().find(|c| c.name() == name)
    }

    pub fn description(self) -> String {
        self.spec().description.into_owned()
    }

    /// The contexts its default keys apply in: where a rebinding goes.
    pub fn contexts(self) -> Vec<Context> {
        let mut contexts: Vec<Context> = self.spec().keys.iter().map(|(c, _)| *c).collect();
        contexts.sort();
        contexts.dedup();
        contexts
    }
}
