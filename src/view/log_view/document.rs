//! A log document: lines tagged with their stream and where they came
//! from, bounded for live buffers, with what is missing said in words, and
//! its plain-text form for saving (and the file name to save it under).

use std::collections::VecDeque;
use std::io::{self, Write};

use crate::actions::LogOrigin;
use crate::model::{CapturedLogs, EvalId, StreamKind, Ts, human_duration};
use crate::sanitize::clean;

/// Where a log document came from: the logs action's answer (the
/// `LogOrigin` the effects report, with when it was fetched so that ages
/// keep counting while the viewer is open), or evaltop's own live buffer of
/// `evaluation:{id}:logs`.
#[derive(Clone, Debug, PartialEq)]
pub enum LogSource {
    Fetched {
        origin: LogOrigin,
        fetched_at: Ts,
    },
    Live,
    /// Nothing to show, and why (e.g. what a recording does not hold).
    Absent(String),
}

/// The origins a log can come from, for switching between them; in the
/// order preferred when two hold as many lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OriginKind {
    Nothing,
    Latest,
    Live,
    CapturedAtDeath,
    Docker,
}

impl LogSource {
    /// A short label for the origin line, with ages as of `now`.
    pub fn label(&self, now: Ts) -> String {
        let (origin, fetched_at) = match self {
            LogSource::Live => return "live buffer of evaluation:{id}:logs".to_string(),
            LogSource::Absent(why) => return why.clone(),
            LogSource::Fetched { origin, fetched_at } => (origin, *fetched_at),
        };
        let age = |age_ms: i64| human_duration(age_ms.saturating_add(now.since(fetched_at)).max(0));
        match origin {
            LogOrigin::Docker { tty: true } => "Docker, one console stream (TTY)".to_string(),
            LogOrigin::Docker { tty: false } => "Docker, stdout and stderr".to_string(),
            LogOrigin::CapturedAtDeath { age_ms } => {
                format!("copy captured at death, {} old", age(*age_ms))
            }
            LogOrigin::RedisLatest {
                age_ms: Some(age_ms),
            } => format!("Redis key logs:{{id}}:latest, about {} old", age(*age_ms)),
            LogOrigin::RedisLatest { age_ms: None } => {
                "Redis key logs:{id}:latest, age unknown".to_string()
            }
            LogOrigin::Nothing => "no logs: container gone, no copy, no Redis key".to_string(),
        }
    }

    /// Which origin this is.
    pub fn kind(&self) -> OriginKind {
        match self {
            LogSource::Live => OriginKind::Live,
            LogSource::Absent(_) => OriginKind::Nothing,
            LogSource::Fetched { origin, .. } => match origin {
                LogOrigin::Docker { .. } => OriginKind::Docker,
                LogOrigin::CapturedAtDeath { .. } => OriginKind::CapturedAtDeath,
                LogOrigin::RedisLatest { .. } => OriginKind::Latest,
                LogOrigin::Nothing => OriginKind::Nothing,
            },
        }
    }

    /// For a saved file: the effects' own words, and when.
    fn absolute(&self) -> String {
        match self {
            LogSource::Live | LogSource::Absent(_) => self.label(Ts(0)),
            LogSource::Fetched { origin, fetched_at } => {
                format!("{} (fetched {fetched_at})", origin.describe())
            }
        }
    }
}

/// One line of output.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub stream: StreamKind,
    /// When the line was received, if known (live messages); Docker's
    /// captured copy carries no times.
    pub at: Option<Ts>,
    /// Sanitised; never holds a line break.
    pub text: String,
    /// Received as a live message on `evaluation:{id}:logs` (not read
    /// from Docker): what merging the two must not show twice.
    pub live: bool,
}

/// The three-letter marker of a stream, as shown in the gutter.
pub fn marker(stream: StreamKind) -> &'static str {
    match stream {
        StreamKind::Stdout => "out",
        StreamKind::Stderr => "err",
        StreamKind::Console => "con",
    }
}

/// A log as shown: its lines, where they came from and whether that is
/// all of them.
#[derive(Clone, Debug, PartialEq)]
pub struct LogDocument {
    pub eval_id: EvalId,
    pub source: LogSource,
    /// Whether these are all the lines the evaluation wrote.
    pub complete: bool,
    /// Bytes the source held when more than is kept here (a cut tail).
    pub total_bytes: Option<u64>,
    /// Bytes a live buffer evicted from its head before this was built.
    pub dropped_bytes: u64,
    /// Docker's stream is open on a running container: lines still come.
    pub following: bool,
    /// What else is missing, in words (e.g. "container still running").
    pub missing: Vec<String>,
    pub(super) lines: VecDeque<LogLine>,
    /// Absolute number of `lines[0]`: how many lines were evicted.
    first: usize,
    max_lines: usize,
    pub(super) bytes: usize,
}

impl LogDocument {
    pub fn new(eval_id: EvalId, source: LogSource, complete: bool) -> Self {
        LogDocument {
            eval_id,
            source,
            complete,
            total_bytes: None,
            dropped_bytes: 0,
            following: false,
            missing: Vec::new(),
            lines: VecDeque::new(),
            first: 0,
            max_lines: usize::MAX,
            bytes: 0,
        }
    }

    /// An empty live buffer keeping at most `max_lines` (its oldest lines go).
    pub fn live(eval_id: EvalId, max_lines: usize) -> Self {
        LogDocument {
            max_lines: max_lines.max(1),
            ..LogDocument::new(eval_id, LogSource::Live, false)
        }
    }

    /// The same, keeping at most `max_lines` (its oldest lines go).
    pub fn bounded(mut self, max_lines: usize) -> Self {
        self.max_lines = max_lines.max(1);
        self.evict();
        self
    }

    /// Captured logs: one console stream (TTY), or stdout then stderr
    /// (their interleaving is not kept in `CapturedLogs`). Complete unless
    /// the tail was cut or the source holds only a part by nature.
    pub fn from_captured(eval_id: EvalId, logs: &CapturedLogs, source: LogSource) -> Self {
        let partial = matches!(
            source,
            LogSource::Live
                | LogSource::Fetched {
                    origin: LogOrigin::RedisLatest { .. },
                    ..
                }
        );
        let mut doc = LogDocument::new(eval_id, source, !logs.truncated && !partial);
        if logs.tty {
            doc.push_text(StreamKind::Console, None, &logs.stdout);
        } else {
            doc.push_text(StreamKind::Stdout, None, &logs.stdout);
            doc.push_text(StreamKind::Stderr, None, &logs.stderr);
        }
        if logs.truncated {
            doc.total_bytes = Some(logs.total_bytes);
        }
        doc
    }

    /// The logs action's answer (`OutcomeDetail::Logs` of an outcome at
    /// `fetched_at`), complete as the effects judged it.
    pub fn fetched(
        eval_id: EvalId,
        origin: LogOrigin,
        logs: &CapturedLogs,
        complete: bool,
        fetched_at: Ts,
    ) -> Self {
        let source = LogSource::Fetched { origin, fetched_at };
        let mut doc = LogDocument::from_captured(eval_id, logs, source);
        doc.complete = complete;
        doc
    }

    /// A live buffer's messages (time, content), oldest first, after
    /// `dropped_bytes` were evicted from its head; e.g. from
    /// `model::live_logs::LiveLog::chunks`. More can be pushed after.
    pub fn from_chunks<'a>(
        eval_id: EvalId,
        chunks: impl IntoIterator<Item = (Ts, &'a str)>,
        dropped_bytes: u64,
    ) -> Self {
        let mut doc = LogDocument::new(eval_id, LogSource::Live, false);
        for (at, content) in chunks {
            doc.push_text(StreamKind::Console, Some(at), content);
        }
        for line in &mut doc.lines {
            line.live = true;
        }
        doc.dropped_bytes = dropped_bytes;
        doc
    }

    /// A document of one text.
    pub fn from_text(
        eval_id: EvalId,
        source: LogSource,
        stream: StreamKind,
        text: &str,
        complete: bool,
    ) -> Self {
        let mut doc = LogDocument::new(eval_id, source, complete);
        doc.push_text(stream, None, text);
        doc
    }

    /// Appends `text` as lines (a final line break ends the last line; it
    /// does not start an empty one). Text that holds a control character
    /// despite the sources' sanitising is sanitised again here.
    pub fn push_text(&mut self, stream: StreamKind, at: Option<Ts>, text: &str) {
        let cleaned;
        let text = if text.chars().any(|c| c != '\n' && c.is_control()) {
            cleaned = clean(text);
            cleaned.as_str()
        } else {
            text
        };
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() {
            return;
        }
        for line in text.split('\n') {
            self.push_line(LogLine {
                stream,
                at,
                text: line.to_string(),
                live: false,
            });
        }
    }

    /// Appends one line, evicting the oldest beyond the bound.
    pub fn push_line(&mut self, mut line: LogLine) {
        if line.text.contains('\n') {
            line.text = line.text.replace('\n', " ");
        }
        // Counted with its line break, as the source counted it.
        self.bytes += line.text.len() + 1;
        self.lines.push_back(line);
        self.evict();
    }

    /// Drops the oldest lines beyond the bound.
    pub(super) fn evict(&mut self) {
        while self.lines.len() > self.max_lines {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.text.len() + 1;
                self.first += 1;
            }
        }
    }

    /// Absolute number of the first line kept.
    pub fn first(&self) -> usize {
        self.first
    }

    /// One past the absolute number of the last line.
    pub fn end(&self) -> usize {
        self.first + self.lines.len()
    }

    /// Lines dropped from the head of a live buffer.
    pub fn evicted(&self) -> usize {
        self.first
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Bytes kept, line breaks included.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The line with absolute number `n`.
    pub fn line(&self, n: usize) -> Option<&LogLine> {
        self.lines.get(n.checked_sub(self.first)?)
    }

    pub fn lines(&self) -> impl Iterator<Item = &LogLine> {
        self.lines.iter()
    }

    /// "complete", or what is missing.
    pub fn completeness(&self) -> String {
        let origin = match &self.source {
            LogSource::Fetched { origin, .. } => Some(origin),
            LogSource::Live => None,
            LogSource::Absent(_) => return "nothing found".to_string(),
        };
        if matches!(origin, Some(LogOrigin::Nothing)) {
            return "nothing found".to_string();
        }
        if self.following {
            return "following".to_string();
        }
        if self.complete {
            return "complete".to_string();
        }
        let mut parts = Vec::new();
        if let Some(total) = self.total_bytes.filter(|t| *t > self.bytes as u64) {
            parts.push(format!("tail only, {} of {total} bytes", self.bytes));
        }
        if self.dropped_bytes > 0 {
            parts.push(format!("oldest {} bytes dropped", self.dropped_bytes));
        }
        if self.first > 0 {
            parts.push(format!("{} oldest lines dropped", self.first));
        }
        if matches!(origin, Some(LogOrigin::RedisLatest { .. })) {
            parts.push("latest chunk only".to_string());
        }
        parts.extend(self.missing.iter().cloned());
        if origin.is_none() && parts.is_empty() {
            parts.push("still arriving".to_string());
        }
        if parts.is_empty() {
            "incomplete".to_string()
        } else {
            format!("incomplete: {}", parts.join(", "))
        }
    }

    /// Plain text: a header saying what this is, then one line per line
    /// with its stream (and time, when known).
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(out, "# evaltop: logs of {}", self.eval_id)?;
        writeln!(out, "# origin: {}", self.source.absolute())?;
        writeln!(out, "# {}; {} lines", self.completeness(), self.len())?;
        for line in &self.lines {
            match line.at {
                Some(at) => writeln!(out, "[{}] {at} {}", line.stream.name(), line.text)?,
                None => writeln!(out, "[{}] {}", line.stream.name(), line.text)?,
            }
        }
        Ok(())
    }
}

/// A file name for saving `eval_id`'s logs: the id cut to safe characters
/// (it is untrusted), and the time.
pub fn default_file_name(eval_id: &str, now: Ts) -> String {
    let id: String = eval_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .take(64)
        .collect();
    let stamp: String = now.rfc3339().chars().filter(char::is_ascii_digit).collect();
    format!("evaltop-{id}-{stamp}.log")
}
