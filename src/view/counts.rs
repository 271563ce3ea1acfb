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

impl Counts {
    pub(crate) fn add(&mut self, status: Option<Status>, flags: &[Flag], worst: Option<Severity>) {
        self.total += 1;
        match status {
            Some(status) => self.by_status[slot(&Status::ALL, &status)] += 1,
            None => self.no_status += 1,
        }
        for flag in flags {
            self.by_flag[slot(&FlagKind::ALL, &flag.kind())] += 1;
        }
        match worst {
            Some(severity) => self.by_severity[slot(&SEVERITIES, &severity)] += 1,
            None => self.healthy += 1,
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
