//! A source's blindness, as the health rules and the views name it: which
//! source, since when it is not proven live, and since when it is back and
//! reading everything again.

use super::observation::Source;
use super::state::SourceHealth;
use super::time::Ts;

/// Why a source's evidence cannot be trusted right now: it has not been
/// proven live since `since` (`None`: never read yet), and is connected
/// again since `until` but has not read everything again yet (`None`: still
/// down).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blind {
    pub source: Source,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
}

impl Blind {
    /// The blindness of `health`, while it is not synced.
    pub fn of(source: Source, health: &SourceHealth) -> Option<Blind> {
        if health.synced() {
            return None;
        }
        let window = health.blind_windows.last();
        Some(Blind {
            source,
            since: window.map(|w| w.start),
            until: window.and_then(|w| w.end),
        })
    }

    /// "redis blind 22:43:39–22:44:39", "redis blind since 22:43:39",
    /// "redis not read yet".
    pub fn describe(&self) -> String {
        let name = self.source.label();
        match (self.since, self.until) {
            (None, _) => format!("{name} not read yet"),
            (Some(since), None) => format!("{name} blind since {}", hms(since)),
            (Some(since), Some(until)) => {
                format!("{name} blind {}–{}", hms(since), hms(until))
            }
        }
    }
}

/// `HH:MM:SS`: blind windows are read at second resolution.
fn hms(ts: Ts) -> String {
    let mut clock = ts.clock();
    clock.truncate(8);
    clock
}
