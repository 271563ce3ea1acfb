//! Dialogs: a confirmation that says exactly what will happen, to what,
//! with context, where Enter alone never confirms (only `y` does); and the
//! reason editor of a forced failure.

use crate::actions::{ActionKind, Effect};

/// Where a dialog is in its exchange.
#[derive(Clone, Debug, PartialEq)]
pub enum DialogStage {
    /// Editing the reason of a forced failure; Enter moves on to confirm.
    Reason { text: String, cursor: usize },
    /// Waiting for `y` (confirm) or `n`/Esc (cancel).
    Confirm,
    /// A refused action the operator may confirm a second time.
    ConfirmAgain,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Dialog {
    pub kind: ActionKind,
    pub title: String,
    /// What will happen, line by line, with context.
    pub lines: Vec<String>,
    /// Refusals that a second confirmation overrides, shown in red.
    pub warnings: Vec<String>,
    pub stage: DialogStage,
    /// What runs on confirmation. For a forced failure, built when the
    /// reason is confirmed.
    pub effects: Vec<Effect>,
    /// Eval ids the reason goes to (forced failures).
    pub targets: Vec<String>,
}

impl Dialog {
    /// The key hint at the foot of the dialog.
    pub fn hint(&self) -> &'static str {
        match self.stage {
            DialogStage::Reason { .. } => "Enter: review · Esc: cancel",
            DialogStage::Confirm => "y: confirm · n/Esc: cancel (Enter does not confirm)",
            DialogStage::ConfirmAgain => {
                "refused: y again to act anyway · n/Esc: cancel (Enter does not confirm)"
            }
        }
    }
}
