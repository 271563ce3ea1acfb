//! Tallies of the evaluations shown: per status, per flag kind and per
//! severity, computed once per refresh so that the header costs nothing per
//! frame.

use crate::model::{Flag, FlagKind, Severity, Status};

const STATUSES: usize = Status::ALL.len();
const FLAG_KINDS: usize = FlagKind::ALL.len();
const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Alarm];

/// What the header summarises. Only evaluations inside the executor filter
/// are counted, except in `out_of_scope`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Evaluations shown (in scope).
    pub total: usize,
    /// Evaluations hidden by the executor filter.
    pub out_of_scope: usize,
    /// Evaluations with no status from Redis (known only from Docker, say).
    pub no_status: usize,
    /// Evaluations with no flag at all.
    pub healthy: usize,
    by_status: [usize; STATUSES],
    by_flag: [usize; FLAG_KINDS],
    /// Evaluations by their most severe flag.
    by_severity: [usize; SEVERITIES.len()],
}

fn slot<T: PartialEq>(all: &[T], item: &T) -> usize {
    // The model's ALL arrays list every variant, so this always finds one;
    // searching (rather than `as usize`) keeps working if they are reordered.
    all.iter().position(|x| x == item).unwrap_or(0)
}

/// What one evaluation adds to the counts, kept so that it can be taken
/// away again when the evaluation changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    status: Option<Status>,
    /// One bit per flag kind it carries (by `FlagKind::ALL`'s order).
    kinds: u16,
    worst: Option<Severity>,
}

impl Tally {
    pub(crate) fn of(status: Option<Status>, flags: &[Flag], worst: Option<Severity>) -> Self {
        let kinds = flags.iter().fold(0, |bits, flag| {
            bits | 1 << slot(&FlagKind::ALL, &flag.kind())
        });
        Tally {
            status,
            kinds,
            worst,
        }
    }

    pub(crate) fn worst(self) -> Option<Severity> {
        self.worst
    }
}

impl Counts {
    pub(crate) fn add(&mut self, tally: Tally) {
        self.count(tally, 1);
    }

    pub(crate) fn remove(&mut self, tally: Tally) {
        self.count(tally, usize::MAX);
    }

    /// Adds `step` (1, or `usize::MAX` to take one away) to each slot the
    /// tally names; the counts never go below zero, since only what was
    /// added is removed.
    fn count(&mut self, tally: Tally, step: usize) {
        let bump = |n: &mut usize| *n = n.wrapping_add(step);
        bump(&mut self.total);
        match tally.status {
            Some(status) => bump(&mut self.by_status[slot(&Status::ALL, &status)]),
            None => bump(&mut self.no_status),
        }
        for (i, n) in self.by_flag.iter_mut().enumerate() {
            if tally.kinds & (1 << i) != 0 {
                bump(n);
            }
        }
        match tally.worst {
            Some(severity) => bump(&mut self.by_severity[slot(&SEVERITIES, &severity)]),
            None => bump(&mut self.healthy),
        }
    }

    /// Evaluations whose status is `status`.
    pub fn status(&self, status: Status) -> usize {
        self.by_status[slot(&Status::ALL, &status)]
    }

    /// Evaluations carrying a flag of `kind`.
    pub fn flag(&self, kind: FlagKind) -> usize {
        self.by_flag[slot(&FlagKind::ALL, &kind)]
    }

    /// Evaluations whose most severe flag has `severity`.
    pub fn severity(&self, severity: Severity) -> usize {
        self.by_severity[slot(&SEVERITIES, &severity)]
    }

    /// Non-zero status counts, in the platform's lifecycle order.
    pub fn statuses(&self) -> impl Iterator<Item = (Status, usize)> + '_ {
        Status::ALL
            .into_iter()
            .map(|s| (s, self.status(s)))
            .filter(|(_, n)| *n > 0)
    }

    /// Non-zero flag counts, in the model's order (most alarming kinds first).
    pub fn flags(&self) -> impl Iterator<Item = (FlagKind, usize)> + '_ {
        FlagKind::ALL
            .into_iter()
            .map(|k| (k, self.flag(k)))
            .filter(|(_, n)| *n > 0)
    }

    /// Non-zero severity counts, most severe first.
    pub fn severities(&self) -> impl Iterator<Item = (Severity, usize)> + '_ {
        SEVERITIES
            .into_iter()
            .rev()
            .map(|s| (s, self.severity(s)))
            .filter(|(_, n)| *n > 0)
    }

    /// Evaluations with at least one flag.
    pub fn flagged(&self) -> usize {
        self.total - self.healthy
    }
}
