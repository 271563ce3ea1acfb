//! The keymap: key chords to commands, per context. Data, not code, so that
//! the config file can rebind any command and `?` shows exactly the
//! bindings in force. The commands' one table is in `commands`, the keys'
//! syntax in `chord`, and the hints on screen are made in `hints`.

mod chord;
mod commands;
mod hints;

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::KeyEvent;

pub use chord::{Chord, ChordKey, Named};
pub use commands::{Command, Spec};
pub use hints::{KeyHints, acts};

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

#[cfg(test)]
mod tests {
    use crossterm::event::{KeyCode, KeyModifiers};

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
