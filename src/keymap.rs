//! The keymap: key chords to commands, per context. Data, not code, so that
//! the config file can rebind any command and `?` shows exactly the
//! bindings in force.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key is pressed. A binding in `Global` applies everywhere a more
/// specific binding does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Global,
    Table,
    Detail,
    Logs,
    /// While replaying a recording; checked before the view's context.
    Replay,
}

impl Context {
    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "everywhere",
            Context::Table => "table",
            Context::Detail => "detail",
            Context::Logs => "logs",
            Context::Replay => "replay",
        }
    }
}

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

/// A key with its modifiers, as written in the config: `q`, `K`, `ctrl-c`,
/// `enter`, `esc`, `space`, `pgdn`, `f1`, `alt-x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chord {
    pub code: ChordKey,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChordKey {
    Char(char),
    Named(Named),
    F(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Named {
    Enter,
    Esc,
    Tab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

const NAMED: [(&str, Named); 12] = [
    ("enter", Named::Enter),
    ("esc", Named::Esc),
    ("tab", Named::Tab),
    ("backspace", Named::Backspace),
    ("up", Named::Up),
    ("down", Named::Down),
    ("left", Named::Left),
    ("right", Named::Right),
    ("pgup", Named::PageUp),
    ("pgdn", Named::PageDown),
    ("home", Named::Home),
    ("end", Named::End),
];

impl Chord {
    pub fn char(c: char) -> Chord {
        Chord {
            code: ChordKey::Char(c),
            ctrl: false,
            alt: false,
        }
    }

    pub fn named(named: Named) -> Chord {
        Chord {
            code: ChordKey::Named(named),
            ctrl: false,
            alt: false,
        }
    }

    pub fn ctrl(c: char) -> Chord {
        Chord {
            ctrl: true,
            ..Chord::char(c)
        }
    }

    /// Parses `ctrl-c`, `K`, `enter`, `f5`; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let mut rest = text;
        let (mut ctrl, mut alt) = (false, false);
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() => {
                ChordKey::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ if rest == "space" => ChordKey::Char(' '),
            _ => {
                if let Some((_, named)) = NAMED.iter().find(|(name, _)| *name == rest) {
                    ChordKey::Named(*named)
                } else if let Some(n) = rest
                    .strip_prefix('f')
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=12).contains(n))
                {
                    ChordKey::F(n)
                } else {
                    return Err(format!(
                        "unknown key {text:?}: expected one character, space, enter, esc, tab, backspace, up, down, left, right, pgup, pgdn, home, end or f1..f12, optionally after ctrl- or alt-"
                    ));
                }
            }
        };
        Ok(Chord { code, ctrl, alt })
    }

    /// The chord of a terminal key event.
    pub fn of(key: &KeyEvent) -> Option<Chord> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let code = match key.code {
            KeyCode::Char(c) => ChordKey::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::Enter => ChordKey::Named(Named::Enter),
            KeyCode::Esc => ChordKey::Named(Named::Esc),
            KeyCode::Tab => ChordKey::Named(Named::Tab),
            KeyCode::Backspace => ChordKey::Named(Named::Backspace),
            KeyCode::Up => ChordKey::Named(Named::Up),
            KeyCode::Down => ChordKey::Named(Named::Down),
            KeyCode::Left => ChordKey::Named(Named::Left),
            KeyCode::Right => ChordKey::Named(Named::Right),
            KeyCode::PageUp => ChordKey::Named(Named::PageUp),
            KeyCode::PageDown => ChordKey::Named(Named::PageDown),
            KeyCode::Home => ChordKey::Named(Named::Home),
            KeyCode::End => ChordKey::Named(Named::End),
            KeyCode::F(n) => ChordKey::F(n),
            _ => return None,
        };
        Some(Chord { code, ctrl, alt })
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            ChordKey::Char(' ') => f.write_str("space"),
            ChordKey::Char(c) => write!(f, "{c}"),
            ChordKey::Named(named) => {
                let name = NAMED
                    .iter()
                    .find(|(_, n)| *n == named)
                    .map_or("?", |(name, _)| name);
                f.write_str(name)
            }
            ChordKey::F(n) => write!(f, "f{n}"),
        }
    }
}

/// The bindings in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Keymap {
    bindings: BTreeMap<(Context, Chord), Command>,
}

impl Default for Keymap {
    fn default() -> Self {
        let mut map = Keymap {
            bindings: BTreeMap::new(),
        };
        for command in Command::all() {
            for (context, key) in command.spec().keys {
                let chord = Chord::parse(key).expect("the default keys parse");
                map.bindings.insert((*context, chord), command);
            }
        }
        map
    }
}

/// Two commands that a rebinding left on one key where both apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clash {
    pub chord: Chord,
    pub first: Command,
    pub second: Command,
    pub context: Context,
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "key {} would be both {} and {} ({})",
            self.chord,
            self.first.name(),
            self.second.name(),
            self.context.name()
        )
    }
}

impl Keymap {
    /// The default keymap, shared: for drawing outside a console (tests,
    /// benchmarks).
    pub fn defaults() -> &'static Keymap {
        static DEFAULTS: std::sync::OnceLock<Keymap> = std::sync::OnceLock::new();
        DEFAULTS.get_or_init(Keymap::default)
    }

    /// Binds each command to its new keys, in the contexts of its default
    /// keys, replacing its defaults. Refused when a key would then do two
    /// things in one context, or when a key bound everywhere would be
    /// hidden by a context's own binding of it (so that `kill = "q"` can
    /// neither take `q` from quit nor be shadowed silently).
    pub fn rebind(&mut self, rebound: &[(Command, Vec<Chord>)]) -> Result<(), Clash> {
        let mut bindings: Vec<(Context, Chord, Command)> = self
            .bindings
            .iter()
            .filter(|(_, command)| !rebound.iter().any(|(c, _)| c == *command))
            .map(|((context, chord), command)| (*context, *chord, *command))
            .collect();
        for (command, chords) in rebound {
            for chord in chords {
                for context in command.contexts() {
                    bindings.push((context, *chord, *command));
                }
            }
        }
        for (i, (context, chord, command)) in bindings.iter().enumerate() {
            let clash = bindings[..i].iter().find(|(c, k, other)| {
                k == chord
                    && other != command
                    && (c == context || *c == Context::Global || *context == Context::Global)
            });
            if let Some((other_context, _, other)) = clash {
                let context = if *other_context == Context::Global {
                    *context
                } else {
                    *other_context
                };
                return Err(Clash {
                    chord: *chord,
                    first: *other,
                    second: *command,
                    context,
                });
            }
        }
        self.bindings = bindings
            .into_iter()
            .map(|(context, chord, command)| ((context, chord), command))
            .collect();
        Ok(())
    }

    /// The command for `key` in the first of `contexts` that binds it,
    /// falling back to the global bindings.
    pub fn lookup(&self, contexts: &[Context], key: &KeyEvent) -> Option<Command> {
        self.resolve(contexts, Chord::of(key)?)
    }

    /// The keys that do `command` where `contexts` apply (the first of
    /// them wins, then the global bindings, as for a key press): a key
    /// that another binding hides there is not one of them.
    pub fn working_keys(&self, contexts: &[Context], command: Command) -> Vec<Chord> {
        let mut keys: Vec<Chord> = self
            .bindings
            .iter()
            .filter(|((context, chord), bound)| {
                **bound == command
                    && (contexts.contains(context) || *context == Context::Global)
                    && self.resolve(contexts, *chord) == Some(command)
            })
            .map(|((_, chord), _)| *chord)
            .collect();
        // A plain key reads best in a hint: `q` before `ctrl-c`.
        keys.sort_by_key(|chord| (chord.ctrl || chord.alt, *chord));
        keys.dedup();
        keys
    }

    fn resolve(&self, contexts: &[Context], chord: Chord) -> Option<Command> {
        contexts
            .iter()
            .chain([&Context::Global])
            .find_map(|context| self.bindings.get(&(*context, chord)))
            .copied()
    }

    /// The key to name in a hint: the first that works, or the command's
    /// name in brackets when none does.
    pub fn key_hint(&self, contexts: &[Context], command: Command) -> String {
        match self.working_keys(contexts, command).first() {
            Some(chord) => chord.to_string(),
            None => format!("[{} unbound]", command.name()),
        }
    }

    /// "? help · / filter · l logs": each command that has a working key
    /// in `contexts`, with its short label; the others are left out.
    pub fn hints(&self, contexts: &[Context], commands: &[Command]) -> String {
        commands
            .iter()
            .filter_map(|command| {
                let chord = *self.working_keys(contexts, *command).first()?;
                Some(format!("{chord} {}", command.spec().label))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// `text` with each `{command}` (a config name, e.g. `{kill}`) replaced
    /// by the key that does it in `contexts`: advice that stays true after
    /// a rebinding.
    pub fn expand(&self, contexts: &[Context], text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after
                .find('}')
                .and_then(|close| Command::parse(&after[..close]).map(|command| (close, command)))
            {
                Some((close, command)) => {
                    out.push_str(&self.key_hint(contexts, command));
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// One row per command and context: keys, what it does, where.
    pub fn help_rows(&self) -> Vec<(String, String, &'static str)> {
        let mut grouped: BTreeMap<(Context, Command), Vec<String>> = BTreeMap::new();
        for ((context, chord), command) in &self.bindings {
            grouped
                .entry((*context, *command))
                .or_default()
                .push(chord.to_string());
        }
        grouped
            .into_iter()
            .map(|((context, command), keys)| {
                (keys.join(" "), command.description(), context.name())
            })
            .collect()
    }
}

/// What the hints on screen are made from: the keymap in force, whether a
/// replay's keys apply, and whether actions can run (not in replay, not
/// read-only). Every hint is generated from these, so a rebinding or a
/// read-only start never leaves a hint that lies.
#[derive(Clone, Copy, Debug)]
pub struct KeyHints<'a> {
    pub keymap: &'a Keymap,
    pub replay: bool,
    pub actions: bool,
}

impl Default for KeyHints<'_> {
    fn default() -> Self {
        KeyHints {
            keymap: Keymap::defaults(),
            replay: false,
            actions: true,
        }
    }
}

impl KeyHints<'_> {
    /// The keymap contexts in force over `view`, most specific first.
    pub fn contexts(&self, view: Context) -> Vec<Context> {
        let mut contexts = Vec::with_capacity(2);
        if self.replay {
            contexts.push(Context::Replay);
        }
        contexts.push(view);
        contexts
    }

    /// The hints of `commands` over `view`: those with a working key there,
    /// without the actions when they are off.
    pub fn line(&self, view: Context, commands: &[Command]) -> String {
        let shown: Vec<Command> = commands
            .iter()
            .copied()
            .filter(|c| self.actions || !acts(*c))
            .collect();
        self.keymap.hints(&self.contexts(view), &shown)
    }

    /// The key for `command` over `view`, for a hint inside a sentence.
    pub fn key(&self, view: Context, command: Command) -> String {
        self.keymap.key_hint(&self.contexts(view), command)
    }

    /// `text` with its `{command}` placeholders replaced by keys.
    pub fn expand(&self, view: Context, text: &str) -> String {
        self.keymap.expand(&self.contexts(view), text)
    }
}

/// Whether a command writes (or exists only to choose what to write to).
pub fn acts(command: Command) -> bool {
    matches!(
        command,
        Command::Kill
            | Command::Remove
            | Command::ForceFail
            | Command::Mark
            | Command::MarkAllShown
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn default_bindings_resolve_per_context() {
        let map = Keymap::default();
        let s = press(KeyCode::Char('s'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&[Context::Table], &s), Some(Command::Sort));
        assert_eq!(map.lookup(&[Context::Logs], &s), Some(Command::Save));
        let j = press(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(map.lookup(&[Context::Logs], &j), Some(Command::Down));
        let ctrl_c = press(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(map.lookup(&[Context::Detail], &ctrl_c), Some(Command::Quit));
        let shift_k = press(KeyCode::Char('K'), KeyModifiers::SHIFT);
        assert_eq!(map.lookup(&[Context::Table], &shift_k), Some(Command::Kill));
        let space = press(KeyCode::Char(' '), KeyModifiers::NONE);
        assert_eq!(map.lookup(&[Context::Table], &space), Some(Command::Mark));
        assert_eq!(
            map.lookup(&[Context::Replay, Context::Table], &space),
            Some(Command::PauseResume)
        );
    }

    #[test]
    fn chords_parse_and_print_back() {
        for text in [
            "q", "K", "ctrl-c", "enter", "esc", "space", "pgdn", "f5", "alt-x", "/",
        ] {
            assert_eq!(Chord::parse(text).unwrap().to_string(), text);
        }
        let error = Chord::parse("hyper-q").unwrap_err();
        assert!(error.contains("unknown key \"hyper-q\""), "{error}");
        assert!(Chord::parse("f13").is_err());
    }

    #[test]
    fn every_command_has_a_unique_name_that_parses() {
        let all = Command::all();
        for command in &all {
            assert_eq!(Command::parse(&command.name()), Some(*command));
        }
        let mut names: Vec<String> = all.iter().map(|c| c.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }

    #[test]
    fn help_lists_every_binding() {
        let map = Keymap::default();
        let rows = map.help_rows();
        assert!(
            rows.iter()
                .any(|(keys, what, _)| keys == "K" && what.contains("kill"))
        );
        assert!(
            rows.iter()
                .any(|(keys, _, ctx)| keys.contains("ctrl-c") && *ctx == "everywhere")
        );
    }

    #[test]
    fn every_default_key_parses_and_none_clash() {
        let mut map = Keymap::default();
        assert_eq!(map.rebind(&[]), Ok(()));
        for command in Command::all() {
            assert!(
                !command.spec().keys.is_empty(),
                "{} has a default key",
                command.name()
            );
        }
    }

    #[test]
    fn a_rebinding_onto_a_key_in_use_is_refused_with_both_commands() {
        let mut map = Keymap::default();
        let clash = map
            .rebind(&[(Command::Kill, vec![Chord::char('q')])])
            .unwrap_err();
        assert_eq!(
            clash.to_string(),
            "key q would be both quit and kill (everywhere)"
        );
        assert_eq!(
            map,
            Keymap::default(),
            "a refused rebinding changes nothing"
        );
        // A global key that a context binds for itself would be hidden there.
        let clash = map
            .rebind(&[(Command::Kill, vec![Chord::char('f')])])
            .unwrap_err();
        assert_eq!(
            (clash.first, clash.context),
            (Command::ToggleFollow, Context::Logs)
        );
        // Rebinding both sides of a swap is no clash.
        map.rebind(&[
            (Command::Kill, vec![Chord::char('q')]),
            (Command::Quit, vec![Chord::ctrl('q')]),
        ])
        .expect("a swap");
    }

    #[test]
    fn hints_and_advice_follow_the_keymap_in_force() {
        let mut map = Keymap::default();
        assert_eq!(
            map.hints(
                &[Context::Table],
                &[Command::Help, Command::Kill, Command::Mark]
            ),
            "? help · K kill · space mark"
        );
        // In replay, space pauses: marking has no key there.
        assert_eq!(
            map.hints(
                &[Context::Replay, Context::Table],
                &[Command::Mark, Command::PauseResume]
            ),
            "space pause"
        );
        assert_eq!(
            map.expand(
                &[Context::Detail],
                "kill it ({kill}), then {nothing} ({remove})"
            ),
            "kill it (K), then {nothing} (D)"
        );
        map.rebind(&[
            (Command::Kill, vec![Chord::ctrl('k')]),
            (Command::Remove, vec![]),
        ])
        .expect("rebinds");
        assert_eq!(
            map.hints(
                &[Context::Table],
                &[Command::Help, Command::Kill, Command::Remove]
            ),
            "? help · ctrl-k kill"
        );
        assert_eq!(
            map.expand(&[Context::Detail], "({kill}) ({remove})"),
            "(ctrl-k) ([remove unbound])"
        );
    }
}
