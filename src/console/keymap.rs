//! The keymap: key chords to commands, per context. Data, not code, so that
//! the config file can rebind any command and `?` shows exactly the
//! bindings in force.

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
    Mark,
    MarkAllShown,
    Kill,
    Remove,
    Logs,
    ForceFail,
    ToggleFollow,
    ToggleWrap,
    ToggleTimestamps,
    Search,
    NextMatch,
    PrevMatch,
    Save,
    ReleaseMouse,
    PauseResume,
    Faster,
    Slower,
    SeekStart,
    SeekEnd,
}

impl Command {
    /// Every command with its config name and what it does, in help order.
    pub fn all() -> Vec<Command> {
        let mut all = vec![
            Command::Quit,
            Command::Help,
            Command::Back,
            Command::Up,
            Command::Down,
            Command::PageUp,
            Command::PageDown,
            Command::Top,
            Command::Bottom,
            Command::Open,
            Command::Filter,
        ];
        all.extend((1..=9).map(Command::QuickView));
        all.extend([
            Command::Sort,
            Command::EventsUp,
            Command::EventsDown,
            Command::ToggleEvents,
            Command::Mark,
            Command::MarkAllShown,
            Command::Kill,
            Command::Remove,
            Command::Logs,
            Command::ForceFail,
            Command::ToggleFollow,
            Command::ToggleWrap,
            Command::ToggleTimestamps,
            Command::Search,
            Command::NextMatch,
            Command::PrevMatch,
            Command::Save,
            Command::ReleaseMouse,
            Command::PauseResume,
            Command::Faster,
            Command::Slower,
            Command::SeekStart,
            Command::SeekEnd,
        ]);
        all
    }

    /// The name used in the config file's `[keys]` table.
    pub fn name(self) -> String {
        let name = match self {
            Command::Quit => "quit",
            Command::Help => "help",
            Command::Back => "back",
            Command::Up => "up",
            Command::Down => "down",
            Command::PageUp => "page_up",
            Command::PageDown => "page_down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::Open => "open",
            Command::Filter => "filter",
            Command::QuickView(n) => return format!("view_{n}"),
            Command::Sort => "sort",
            Command::EventsUp => "events_up",
            Command::EventsDown => "events_down",
            Command::ToggleEvents => "events",
            Command::Mark => "mark",
            Command::MarkAllShown => "mark_all",
            Command::Kill => "kill",
            Command::Remove => "remove",
            Command::Logs => "logs",
            Command::ForceFail => "force_failed",
            Command::ToggleFollow => "follow",
            Command::ToggleWrap => "wrap",
            Command::ToggleTimestamps => "timestamps",
            Command::Search => "search",
            Command::NextMatch => "next_match",
            Command::PrevMatch => "previous_match",
            Command::Save => "save",
            Command::ReleaseMouse => "release_mouse",
            Command::PauseResume => "pause",
            Command::Faster => "faster",
            Command::Slower => "slower",
            Command::SeekStart => "seek_start",
            Command::SeekEnd => "seek_end",
        };
        name.to_string()
    }

    pub fn parse(name: &str) -> Option<Command> {
        Command::all().into_iter().find(|c| c.name() == name)
    }

    pub fn description(self) -> String {
        let text = match self {
            Command::Quit => "quit",
            Command::Help => "this help",
            Command::Back => "close the view, dialog or filter",
            Command::Up => "previous row / scroll up",
            Command::Down => "next row / scroll down",
            Command::PageUp => "a page up",
            Command::PageDown => "a page down",
            Command::Top => "first row / top",
            Command::Bottom => "last row / bottom",
            Command::Open => "open the evaluation's detail",
            Command::Filter => "filter rows (status:, flag:, executor:, over:, age:, exit:, !)",
            Command::QuickView(n) => {
                let digit = char::from(b'0' + n);
                return match crate::view::QuickView::from_digit(digit) {
                    Some(view) => format!("quick view: {}", view.name()),
                    None => format!("quick view {n}"),
                };
            }
            Command::Sort => {
                "sort: then i id, s status, c container, e executor, a age, r runtime, x exit, f flags, d default (again: reverse)"
            }
            Command::EventsUp => "events pane: a page back",
            Command::EventsDown => "events pane: a page on (to the end: follow)",
            Command::ToggleEvents => "show or hide the events pane",
            Command::Mark => "mark or unmark the row for an action",
            Command::MarkAllShown => "mark every row the filter shows",
            Command::Kill => "kill the container (asks first)",
            Command::Remove => "remove the container (asks first)",
            Command::Logs => "re-fetch and show the logs",
            Command::ForceFail => "force the evaluation failed (asks first)",
            Command::ToggleFollow => "follow new lines on/off",
            Command::ToggleWrap => "wrap lines on/off",
            Command::ToggleTimestamps => "timestamps on/off",
            Command::Search => "search the logs",
            Command::NextMatch => "next match",
            Command::PrevMatch => "previous match",
            Command::Save => "save the logs to a file",
            Command::ReleaseMouse => "release or capture the mouse (to select text)",
            Command::PauseResume => "replay: pause or resume",
            Command::Faster => "replay: faster",
            Command::Slower => "replay: slower",
            Command::SeekStart => "replay: go to the start",
            Command::SeekEnd => "replay: go to the end",
        };
        text.to_string()
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
        use Command as C;
        use Context::*;
        let mut map = Keymap {
            bindings: BTreeMap::new(),
        };
        let char_bindings: &[(Context, char, Command)] = &[
            (Global, 'q', C::Quit),
            (Global, '?', C::Help),
            (Global, 'j', C::Down),
            (Global, 'k', C::Up),
            (Global, 'g', C::Top),
            (Global, 'G', C::Bottom),
            (Global, 'm', C::ReleaseMouse),
            (Global, 'K', C::Kill),
            (Global, 'D', C::Remove),
            (Global, 'l', C::Logs),
            (Global, 'F', C::ForceFail),
            (Replay, ' ', C::PauseResume),
            (Replay, '+', C::Faster),
            (Replay, '-', C::Slower),
            (Replay, '<', C::SeekStart),
            (Replay, '>', C::SeekEnd),
            (Table, '/', C::Filter),
            (Table, 's', C::Sort),
            (Table, '[', C::EventsUp),
            (Table, ']', C::EventsDown),
            (Table, 'e', C::ToggleEvents),
            (Table, ' ', C::Mark),
            (Table, 'A', C::MarkAllShown),
            (Logs, 'f', C::ToggleFollow),
            (Logs, 'w', C::ToggleWrap),
            (Logs, 't', C::ToggleTimestamps),
            (Logs, '/', C::Search),
            (Logs, 'n', C::NextMatch),
            (Logs, 'N', C::PrevMatch),
            (Logs, 's', C::Save),
        ];
        for (context, c, command) in char_bindings {
            map.bind(*context, Chord::char(*c), *command);
        }
        for n in 1..=9u8 {
            let key = char::from(b'0' + n);
            map.bind(Table, Chord::char(key), C::QuickView(n));
        }
        let named: &[(Context, Named, Command)] = &[
            (Global, Named::Esc, C::Back),
            (Global, Named::Up, C::Up),
            (Global, Named::Down, C::Down),
            (Global, Named::PageUp, C::PageUp),
            (Global, Named::PageDown, C::PageDown),
            (Global, Named::Home, C::Top),
            (Global, Named::End, C::Bottom),
            (Table, Named::Enter, C::Open),
        ];
        for (context, key, command) in named {
            map.bind(*context, Chord::named(*key), *command);
        }
        map.bind(Global, Chord::ctrl('c'), C::Quit);
        map
    }
}

impl Keymap {
    pub fn bind(&mut self, context: Context, chord: Chord, command: Command) {
        self.bindings.insert((context, chord), command);
    }

    /// Removes every binding of `command` (before a rebinding).
    pub fn unbind(&mut self, command: Command) {
        self.bindings.retain(|_, bound| *bound != command);
    }

    /// The contexts `command` is bound in by default: where a rebinding goes.
    pub fn contexts_of(&self, command: Command) -> Vec<Context> {
        let mut contexts: Vec<Context> = self
            .bindings
            .iter()
            .filter(|(_, c)| **c == command)
            .map(|((context, _), _)| *context)
            .collect();
        contexts.dedup();
        if contexts.is_empty() {
            contexts.push(Context::Global);
        }
        contexts
    }

    /// The command for `key` in the first of `contexts` that binds it,
    /// falling back to the global bindings.
    pub fn lookup(&self, contexts: &[Context], key: &KeyEvent) -> Option<Command> {
        let chord = Chord::of(key)?;
        contexts
            .iter()
            .chain([&Context::Global])
            .find_map(|context| self.bindings.get(&(*context, chord)))
            .copied()
    }

    /// The keys bound to `command` in `context` (or globally), for hints.
    pub fn keys_for(&self, context: Context, command: Command) -> String {
        let keys: Vec<String> = self
            .bindings
            .iter()
            .filter(|((c, _), bound)| {
                **bound == command && (*c == context || *c == Context::Global)
            })
            .map(|((_, chord), _)| chord.to_string())
            .collect();
        keys.join("/")
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
}
