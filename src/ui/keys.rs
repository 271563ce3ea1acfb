//! The keymap: terminal key events to table actions.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::view::Action;

/// The action bound to `key`, if any: j/k and the arrows move, PgUp/PgDn
/// page, g/G and Home/End jump, q and Ctrl-C quit.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    // Terminals that report releases (Windows, or kitty's protocol) would
    // otherwise move the cursor twice per press.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let control = key.modifiers.contains(KeyModifiers::CONTROL);
    if control || key.modifiers.contains(KeyModifiers::ALT) {
        return match key.code {
            KeyCode::Char('c' | 'C') if control => Some(Action::Quit),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<Action> {
        action_for(&KeyEvent::new(code, modifiers))
    }

    #[test]
    fn keys_map_to_actions() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Char('j'), none), Some(Action::Down));
        assert_eq!(key(KeyCode::Down, none), Some(Action::Down));
        assert_eq!(key(KeyCode::Char('k'), none), Some(Action::Up));
        assert_eq!(key(KeyCode::Up, none), Some(Action::Up));
        assert_eq!(key(KeyCode::PageDown, none), Some(Action::PageDown));
        assert_eq!(key(KeyCode::PageUp, none), Some(Action::PageUp));
        assert_eq!(key(KeyCode::Char('g'), none), Some(Action::Top));
        assert_eq!(key(KeyCode::Home, none), Some(Action::Top));
        // Shift is how G arrives from most terminals.
        assert_eq!(
            key(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Action::Bottom)
        );
        assert_eq!(key(KeyCode::End, none), Some(Action::Bottom));
        assert_eq!(key(KeyCode::Char('q'), none), Some(Action::Quit));
        assert_eq!(
            key(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
        assert_eq!(key(KeyCode::Char('c'), none), None);
        assert_eq!(key(KeyCode::Char('j'), KeyModifiers::CONTROL), None);
        assert_eq!(key(KeyCode::Char('x'), none), None);
    }

    #[test]
    fn releases_are_ignored() {
        let mut release = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(&release), None);
    }
}
