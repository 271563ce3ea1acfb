//! The hints on screen, made from the keymap in force.

use super::{Command, Context, Keymap};

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
