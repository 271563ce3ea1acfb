//! Quick views: one keypress narrows the table to the flagged evaluations,
//! or to one kind of flag, on top of the typed filter.

use crate::model::{Flag, FlagKind};

use super::Counts;

/// What the number keys select: 1 all, 2 flagged, then one per flag kind in
/// `FlagKind::ALL` order (3 lost-completion ... 9 timed-out). The kinds
/// after those (`unknown`, `never-started`, `killed`, `host-unknown`) have
/// no number key (the typed filter, e.g. `flag:unknown`, finds them): there
/// are nine keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QuickView {
    #[default]
    All,
    Flagged,
    Flag(FlagKind),
}

impl QuickView {
    /// Every quick view, in the order of their number keys.
    /// One per number key: `host-unknown` has none (the fleet view and
    /// `flag:host-unknown` show it).
    pub const ALL: [QuickView; 9] = [
        QuickView::All,
        QuickView::Flagged,
        QuickView::Flag(FlagKind::ALL[0]),
        QuickView::Flag(FlagKind::ALL[1]),
        QuickView::Flag(FlagKind::ALL[2]),
        QuickView::Flag(FlagKind::ALL[3]),
        QuickView::Flag(FlagKind::ALL[4]),
        QuickView::Flag(FlagKind::ALL[5]),
        QuickView::Flag(FlagKind::ALL[6]),
    ];

    /// The view on number key `digit` ('1'..='9').
    pub fn from_digit(digit: char) -> Option<QuickView> {
        let n = digit.to_digit(10)? as usize;
        n.checked_sub(1).and_then(|i| Self::ALL.get(i)).copied()
    }

    /// Its number key.
    pub fn digit(self) -> char {
        let i = Self::ALL.iter().position(|v| *v == self).unwrap_or(0);
        char::from(b'1' + i as u8)
    }

    pub fn name(self) -> &'static str {
        match self {
            QuickView::All => "all",
            QuickView::Flagged => "flagged",
            QuickView::Flag(kind) => kind.name(),
        }
    }

    pub fn matches(self, flags: &[Flag]) -> bool {
        match self {
            QuickView::All => true,
            QuickView::Flagged => !flags.is_empty(),
            QuickView::Flag(kind) => flags.iter().any(|f| f.kind() == kind),
        }
    }

    /// How many evaluations in `counts` this view shows.
    pub fn count(self, counts: &Counts) -> usize {
        match self {
            QuickView::All => counts.total,
            QuickView::Flagged => counts.flagged(),
            QuickView::Flag(kind) => counts.flag(kind),
        }
    }
}
