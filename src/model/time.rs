//! Timestamps as milliseconds since the Unix epoch (UTC), and the tolerant
//! parsing the platform's mixed time formats need (PROTOCOL.md, reality 13).

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// A point in time, UTC, millisecond resolution. Small and `Copy` so that
/// records and timeline entries stay compact.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Ts(pub i64);

impl Ts {
    pub fn from_millis(ms: i64) -> Self {
        Ts(ms)
    }

    pub fn from_secs(secs: i64) -> Self {
        Ts(secs.saturating_mul(1000))
    }

    /// Docker reports event times as nanoseconds since the epoch.
    pub fn from_nanos(nanos: i64) -> Self {
        Ts(nanos.div_euclid(1_000_000))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        Ts(Utc::now().timestamp_millis())
    }

    /// Milliseconds from `earlier` to `self`, saturating; negative when
    /// `earlier` is in fact later.
    pub fn since(self, earlier: Ts) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    pub fn plus_millis(self, ms: i64) -> Ts {
        Ts(self.0.saturating_add(ms))
    }

    /// Parses the time formats seen on the platform: RFC 3339 with `Z` or an
    /// offset, with or without fractions, and the same without any zone
    /// (taken as UTC). Docker's zero time (`0001-01-01T00:00:00Z`) means
    /// "never" and gives `None`.
    pub fn parse(text: &str) -> Option<Ts> {
        let text = text.trim();
        if text.is_empty() || text.starts_with("0001-01-01") {
            return None;
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
            return Some(Ts(dt.timestamp_millis()));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
                return Some(Ts(Utc.from_utc_datetime(&naive).timestamp_millis()));
            }
        }
        None
    }

    fn datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_millis(self.0)
    }

    /// `HH:MM:SS.mmm`, for timelines and evidence.
    pub fn clock(self) -> String {
        match self.datetime() {
            Some(dt) => dt.format("%H:%M:%S%.3f").to_string(),
            None => "??:??:??".to_string(),
        }
    }

    /// Full RFC 3339 with milliseconds and `Z`, for machine-readable output.
    pub fn rfc3339(self) -> String {
        match self.datetime() {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => String::new(),
        }
    }
}

impl fmt::Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

/// A compact human duration: `850ms`, `12s`, `4m05s`, `2h10m`, `3d4h`.
pub fn human_duration(ms: i64) -> String {
    let negative = ms < 0;
    let ms = ms.unsigned_abs();
    let body = if ms < 1000 {
        format!("{ms}ms")
    } else {
        let secs = ms / 1000;
        match secs {
            0..60 => format!("{secs}s"),
            60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
            3600..86400 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
            _ => format!("{}d{}h", secs / 86400, (secs % 86400) / 3600),
        }
    };
    if negative { format!("-{body}") } else { body }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_format_the_platform_writes() {
        let expected = Ts(1_751_763_316_182);
        for text in [
            "2025-07-06T00:55:16.182Z",
            "2025-07-06T00:55:16.182349+00:00",
            "2025-07-06T02:55:16.182+02:00",
            "2025-07-06T00:55:16.182349",
            "2025-07-06 00:55:16.182",
        ] {
            assert_eq!(Ts::parse(text), Some(expected), "{text}");
        }
        assert_eq!(
            Ts::parse("2025-07-06T00:55:16Z"),
            Some(Ts(1_751_763_316_000))
        );
        assert_eq!(
            Ts::parse("2025-07-06T00:55:16"),
            Some(Ts(1_751_763_316_000))
        );
    }

    #[test]
    fn refuses_garbage_and_docker_zero_time() {
        for text in [
            "",
            "yesterday",
            "0001-01-01T00:00:00Z",
            "2025-13-40T99:00:00Z",
        ] {
            assert_eq!(Ts::parse(text), None, "{text}");
        }
    }

    #[test]
    fn human_durations_read_naturally() {
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(12_000), "12s");
        assert_eq!(human_duration(245_000), "4m05s");
        assert_eq!(human_duration(7_800_000), "2h10m");
        assert_eq!(human_duration(-41_000), "-41s");
    }
}
