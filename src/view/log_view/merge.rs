//! Merging a log's origins into one document in time order: the lines
//! Docker streams (with Docker's times) and the live messages of
//! `evaluation:{id}:logs` (with the time evaltop received them), without
//! showing a line twice, since the executor publishes what it reads.

use super::document::{LogDocument, LogLine};
use crate::model::{CapturedLogs, StreamKind, Ts};

/// A live message and a Docker line with the same text at most this far
/// apart are one line (the executor publishes what it read, moments later).
pub const SAME_LINE_WITHIN_MS: i64 = 10_000;
/// How many of the newest lines a new line is compared with.
const LOOK_BACK: usize = 512;

/// Where a merged line went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Merged {
    /// The other source already had it.
    Duplicate,
    /// After every line: the view only needs `on_new_lines`.
    AtEnd,
    /// Before some: the line numbers after it moved.
    Inserted,
}

impl LogDocument {
    /// Adds `line` where its time puts it, unless a line of the other
    /// source (live vs Docker) with the same text and a close time is not
    /// yet matched by one of its own source.
    pub fn merge_line(&mut self, line: LogLine) -> Merged {
        let Some(at) = line.at else {
            self.push_line(line);
            return Merged::AtEnd;
        };
        let near = |other: &LogLine| {
            other
                .at
                .is_none_or(|t| (t.millis() - at.millis()).abs() <= SAME_LINE_WITHIN_MS)
        };
        let (mut other_source, mut same_source) = (0usize, 0usize);
        for other in self.lines.iter().rev().take(LOOK_BACK) {
            if other
                .at
                .is_some_and(|t| t.millis() < at.millis() - SAME_LINE_WITHIN_MS)
            {
                break;
            }
            if near(other) && other.text == line.text {
                if other.live == line.live {
                    same_source += 1;
                } else {
                    other_source += 1;
                }
            }
        }
        if other_source > same_source {
            return Merged::Duplicate;
        }
        let pos = self
            .lines
            .iter()
            .rposition(|other| other.at.is_none_or(|t| t <= at))
            .map_or(0, |i| i + 1);
        if pos == self.lines.len() {
            self.push_line(line);
            return Merged::AtEnd;
        }
        self.bytes += line.text.len() + 1;
        self.lines.insert(pos, line);
        self.evict();
        Merged::Inserted
    }

    /// Merges a text (a live message's content, say) line by line.
    pub fn merge_text(&mut self, stream: StreamKind, at: Ts, text: &str, live: bool) -> Merged {
        let mut probe = LogDocument::new(self.eval_id.clone(), self.source.clone(), false);
        probe.push_text(stream, Some(at), text);
        let mut result = Merged::Duplicate;
        for mut line in probe.lines {
            line.live = live;
            match (self.merge_line(line), result) {
                (Merged::Inserted, _) | (_, Merged::Inserted) => result = Merged::Inserted,
                (Merged::AtEnd, _) => result = Merged::AtEnd,
                (Merged::Duplicate, _) => {}
            }
        }
        result
    }

    /// The lines as captured logs (for a forced failure's payload): one
    /// console stream, or stdout and stderr apart.
    pub fn to_captured(&self, captured_at: Ts) -> CapturedLogs {
        let tty = !self.lines.iter().any(|l| l.stream == StreamKind::Stderr);
        let mut logs = CapturedLogs {
            tty,
            truncated: !self.complete,
            captured_at,
            ..CapturedLogs::default()
        };
        for line in &self.lines {
            let text = match line.stream {
                StreamKind::Stderr => &mut logs.stderr,
                StreamKind::Stdout | StreamKind::Console => &mut logs.stdout,
            };
            text.push_str(&line.text);
            text.push('\n');
            logs.total_bytes += line.text.len() as u64 + 1;
        }
        logs
    }
}
