//! Reading a recording: the header checked first (a newer major version is
//! refused), then every line; a line that cannot be read is reported with
//! its number, counted and skipped, and costs nothing else.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::format::{FORMAT_NAME, FORMAT_VERSION, Header, Line, parse_version};
use crate::model::{Settings, Ts};
use crate::sources::Received;

/// Problems kept for display; all are counted in `Recording::skipped`.
const PROBLEMS_KEPT: usize = 100;

/// A recording, read into memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Recording {
    pub header: Header,
    /// Every observation, in the order it was recorded (the order the live
    /// model applied them).
    pub lines: Vec<Received>,
    /// How far the recording got: its last clock line or observation.
    pub end: Ts,
    /// The first lines that could not be read.
    pub problems: Vec<LineProblem>,
    /// How many lines were skipped in all.
    pub skipped: usize,
}

/// A line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    /// 1-based, as editors count.
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why a file cannot be replayed at all.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the file is empty: not an evaltop recording")]
    Empty,
    #[error("not an evaltop recording: line {line} {reason}")]
    NotARecording { line: usize, reason: String },
    #[error(
        "recorded by a newer evaltop (format {found}); this one reads {}.x",
        supported.0
    )]
    NewerVersion {
        found: String,
        supported: (u32, u32),
    },
}

impl Recording {
    /// Where replay starts: when recording began, or the first
    /// observation if one was received earlier.
    pub fn start(&self) -> Ts {
        self.lines
            .iter()
            .map(|r| r.at)
            .min()
            .map_or(self.header.started_at, |first| {
                first.min(self.header.started_at)
            })
    }

    /// The settings the recording was judged with (see `Header::settings`).
    pub fn settings(&self) -> Settings {
        self.header.settings()
    }

    /// A one-line summary of what was skipped, if anything.
    pub fn problems_summary(&self) -> Option<String> {
        let first = self.problems.first()?;
        Some(match self.skipped {
            1 => format!("1 line skipped ({first})"),
            n => format!("{n} lines skipped (first: {first})"),
        })
    }
}

/// Reads the recording at `path`.
pub fn read(path: &Path) -> Result<Recording, RecordError> {
    let bytes = std::fs::read(path).map_err(|source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes)
}

/// Reads a recording from its bytes.
pub fn parse(bytes: &[u8]) -> Result<Recording, RecordError> {
    let ends_with_newline = bytes.ends_with(b"\n");
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .peekable();
    let Some((first_no, first)) = lines.next() else {
        return Err(RecordError::Empty);
    };
    let header = read_header(first_no, first)?;
    let default_engine = header.sources.default_engine();
    let mut recording = Recording {
        end: header.started_at,
        header,
        lines: Vec::new(),
        problems: Vec::new(),
        skipped: 0,
    };
    while let Some((number, bytes)) = lines.next() {
        let last_unterminated = lines.peek().is_none() && !ends_with_newline;
        match read_line(bytes) {
            Ok(Line::Observed(mut received)) => {
                recording.end = recording.end.max(received.at);
                // A recording made before engines had names watched one
                // engine: its Docker observations are that engine's.
                received.observation = received.observation.with_default_engine(&default_engine);
                recording.lines.push(received);
            }
            Ok(Line::Clock { at }) => recording.end = recording.end.max(at),
            Ok(Line::Header(_)) => recording.skip(
                number,
                "a second header (two recordings joined into one file?)".to_string(),
            ),
            Err(reason) if last_unterminated => recording.skip(
                number,
                format!("truncated: the recorder stopped while writing it ({reason})"),
            ),
            Err(reason) => recording.skip(number, reason),
        }
    }
    if recording.skipped > 0 {
        tracing::warn!(
            skipped = recording.skipped,
            first = %recording.problems[0],
            "recording lines skipped"
        );
    }
    Ok(recording)
}

impl Recording {
    fn skip(&mut self, line: usize, reason: String) {
        self.skipped += 1;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push(LineProblem { line, reason });
        }
    }
}

fn read_header(number: usize, bytes: &[u8]) -> Result<Header, RecordError> {
    let not_one = |reason: String| RecordError::NotARecording {
        line: number,
        reason,
    };
    let value = json(bytes).map_err(not_one)?;
    if value.get("type").and_then(Value::as_str) != Some("header") {
        return Err(not_one("is not a recording header".to_string()));
    }
    let format = value.get("format").and_then(Value::as_str).unwrap_or("");
    if format != FORMAT_NAME {
        return Err(not_one(format!(
            "has format {:?}, not {FORMAT_NAME:?}",
            crate::sanitize::clean_line(format)
        )));
    }
    let version = value.get("version").and_then(Value::as_str).unwrap_or("");
    let found = crate::sanitize::clean_line(version);
    match parse_version(version) {
        Some((major, _)) if major > FORMAT_VERSION.0 => Err(RecordError::NewerVersion {
            found,
            supported: FORMAT_VERSION,
        }),
        Some((major, _)) if major == FORMAT_VERSION.0 => match serde_json::from_value(value) {
            Ok(Line::Header(header)) => Ok(header),
            Ok(_) => Err(not_one("is not a recording header".to_string())),
            Err(e) => Err(not_one(format!("has a header that cannot be read: {e}"))),
        },
        _ => Err(not_one(format!("has an unknown format version {found:?}"))),
    }
}

/// One line after the header: JSON, with any control character in a
/// string made visible (a recording is untrusted input, like the sources).
fn read_line(bytes: &[u8]) -> Result<Line, String> {
    let mut value = json(bytes)?;
    if defuse(&mut value) {
        tracing::warn!("a recording line held control characters; shown as placeholders");
    }
    serde_json::from_value::<Line>(value).map_err(|e| crate::sanitize::clean_line(&e.to_string()))
}

fn json(bytes: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    serde_json::from_str(text.trim_end_matches('\r'))
        .map_err(|e| format!("not JSON: {}", crate::sanitize::clean_line(&e.to_string())))
}

/// Sanitises every string in `value` that holds something the terminal
/// could act on; true when one did. Text from the sources was sanitised as
/// it entered, so in an honest recording this changes nothing.
fn defuse(value: &mut Value) -> bool {
    match value {
        Value::String(text) if text.chars().any(is_unsafe) => {
            *text = crate::sanitize::clean(text);
            true
        }
        Value::Array(items) => items.iter_mut().fold(false, |any, v| defuse(v) | any),
        Value::Object(map) => map.values_mut().fold(false, |any, v| defuse(v) | any),
        _ => false,
    }
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}
