//! Which records changed since the table last looked: the table re-assesses
//! only those (and the ones whose flags the clock turns), instead of every
//! record at every refresh.

use std::sync::Arc;

use super::observation::EvalId;

/// Past this many ids the list says "everything" instead: a consumer that
/// never drains it (`check`) costs nothing, and a change to most records is
/// cheaper as one full pass than as a list.
const MOST: usize = 65_536;

/// The records changed since the last [`State::take_changes`], or that
/// everything may have.
///
/// [`State::take_changes`]: super::State::take_changes
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    ids: Vec<EvalId>,
    everything: bool,
}

impl Default for Changes {
    /// A new state has never been looked at: everything is new.
    fn default() -> Self {
        Changes {
            ids: Vec::new(),
            everything: true,
        }
    }
}

impl Changes {
    /// None at all, for a consumer that has just read everything.
    pub fn none() -> Self {
        Changes {
            ids: Vec::new(),
            everything: false,
        }
    }

    /// Whether every record must be looked at again.
    pub fn everything(&self) -> bool {
        self.everything
    }

    /// The records changed, possibly repeated, when not `everything`.
    pub fn ids(&self) -> &[EvalId] {
        &self.ids
    }

    pub(crate) fn record(&mut self, id: &EvalId) {
        if self.everything {
            return;
        }
        // A flood of one evaluation's messages names it once.
        if self.ids.last().is_some_and(|last| Arc::ptr_eq(last, id)) {
            return;
        }
        if self.ids.len() >= MOST {
            self.all();
            return;
        }
        self.ids.push(id.clone());
    }

    pub(crate) fn all(&mut self) {
        self.everything = true;
        self.ids = Vec::new();
    }
}
