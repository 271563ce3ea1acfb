//! Keys as the config writes them (`q`, `K`, `ctrl-c`, `enter`, `f5`) and
//! as the terminal reports them.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
