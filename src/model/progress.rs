//! How far a source's first full read has come, from the counts it has
//! really read, so that the header can say what evaltop is waiting for
//! ("reading keys 4,000/10,000") instead of a bare "syncing".

use serde::{Deserialize, Serialize};

/// One step of a full read, as the source reports it while it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ReadProgress {
    /// Docker: the container list was asked for and has not come back
    /// (the engine answers it in one piece, so there is nothing to count).
    Listing,
    /// Redis: the keys SCAN has found so far; how many there are is known
    /// only when the scan ends.
    Scanning { found: u64 },
    /// Redis: keys whose values have been read, of those the scan found.
    Reading { read: u64, total: u64 },
}

impl ReadProgress {
    /// The words the header shows: "listing containers", "scanning keys
    /// (1,200 found)", "reading keys 4,000/10,000".
    pub fn describe(&self) -> String {
        match *self {
            ReadProgress::Listing => "listing containers".to_string(),
            ReadProgress::Scanning { found } => {
                format!("scanning keys ({} found)", thousands(found))
            }
            ReadProgress::Reading { read, total } => {
                format!("reading keys {}/{}", thousands(read), thousands(total))
            }
        }
    }
}

/// 12340 as "12,340".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_worded_with_their_counts() {
        assert_eq!(ReadProgress::Listing.describe(), "listing containers");
        assert_eq!(
            ReadProgress::Scanning { found: 1_200 }.describe(),
            "scanning keys (1,200 found)"
        );
        assert_eq!(
            ReadProgress::Reading {
                read: 4_000,
                total: 10_000
            }
            .describe(),
            "reading keys 4,000/10,000"
        );
        assert_eq!(
            ReadProgress::Reading { read: 0, total: 7 }.describe(),
            "reading keys 0/7"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(12_340), "12,340");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_connected_source_shows_its_progress_until_its_full_read() {
        use crate::model::{Observation, RedisSnapshot, Settings, Source, State, Ts};
        let now = Ts(1_751_763_316_000);
        let progress = |reading| Observation::SourceProgress {
            source: Source::Redis,
            progress: reading,
        };
        let mut state = State::new(Settings::default());
        // Not connected yet: a report from a read cut short is ignored.
        state.apply(progress(ReadProgress::Scanning { found: 5 }), now);
        assert_eq!(state.redis.progress, None);

        let up = Observation::SourceUp {
            source: Source::Redis,
            detail: "redis 7.0.15".into(),
        };
        state.apply(up.clone(), now);
        let reading = ReadProgress::Reading {
            read: 4_000,
            total: 10_000,
        };
        state.apply(progress(reading), now);
        assert_eq!(state.redis.progress, Some(reading));
        assert!(!state.redis.synced());

        state.apply(Observation::RedisKeys(RedisSnapshot::default()), now);
        assert_eq!(state.redis.progress, None);
        assert!(state.redis.synced());

        // A loss mid-read clears it too: the next connection starts over.
        state.apply(progress(reading), now);
        state.apply(
            Observation::SourceDown {
                source: Source::Redis,
                reason: "connection reset".into(),
            },
            now,
        );
        assert_eq!(state.redis.progress, None);
    }

    #[test]
    fn progress_survives_a_recording() {
        for progress in [
            ReadProgress::Listing,
            ReadProgress::Scanning { found: 3 },
            ReadProgress::Reading { read: 1, total: 2 },
        ] {
            let text = serde_json::to_string(&progress).unwrap();
            assert_eq!(
                serde_json::from_str::<ReadProgress>(&text).unwrap(),
                progress
            );
        }
    }
}
