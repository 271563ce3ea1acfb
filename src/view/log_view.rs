//! The log viewer's model: a log document (lines tagged with their stream,
//! and where they came from) and the viewer's state over it: follow, wrap,
//! timestamps, search, scroll. Pure: no IO but `save`, no clock reads.
//!
//! Lines are addressed by absolute number (lines evicted from a live
//! buffer's head keep theirs), so that matches and the scroll position stay
//! right while the document grows and loses its oldest lines. Everything a
//! frame needs costs in proportion to what is visible; only a new search
//! goes through the whole document.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use ratatui::buffer::CellWidth;

use crate::actions::LogOrigin;
use crate::model::{CapturedLogs, EvalId, StreamKind, Ts, human_duration};
use crate::sanitize::clean;

/// Where a log document came from: the logs action's answer (the
/// `LogOrigin` the effects report, with when it was fetched so that ages
/// keep counting while the viewer is open), or evaltop's own live buffer of
/// `evaluation:{id}:logs`.
#[derive(Clone, Debug, PartialEq)]
pub enum LogSource {
    Fetched { origin: LogOrigin, fetched_at: Ts },
    Live,
}

impl LogSource {
    /// A short label for the origin line, with ages as of `now`.
    pub fn label(&self, now: Ts) -> String {
        let (origin, fetched_at) = match self {
            LogSource::Live => return "live buffer of evaluation:{id}:logs".to_string(),
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

    /// For a saved file: the effects' own words, and when.
    fn absolute(&self) -> String {
        match self {
            LogSource::Live => self.label(Ts(0)),
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
    lines: VecDeque<LogLine>,
    /// Absolute number of `lines[0]`: how many lines were evicted.
    first: usize,
    max_lines: usize,
    bytes: usize,
}

impl LogDocument {
    pub fn new(eval_id: EvalId, source: LogSource, complete: bool) -> Self {
        LogDocument {
            eval_id,
            source,
            complete,
            total_bytes: None,
            dropped_bytes: 0,
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
        };
        if matches!(origin, Some(LogOrigin::Nothing)) {
            return "nothing found".to_string();
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

/// One search hit: a byte range of the line with absolute number `line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub line: usize,
    pub range: Range<usize>,
}

/// At most this many matches are kept: a one-letter search of a large
/// live buffer must not hold millions.
pub const MAX_MATCHES: usize = 50_000;

/// Finds `query` in `text`: case-insensitively (ASCII) when `fold`.
/// Folding ASCII keeps byte offsets, so ranges index the original text.
fn find_in(text: &str, query: &str, fold: bool, line: usize, out: &mut Vec<Match>) {
    let push = |out: &mut Vec<Match>, start: usize| {
        if out.len() < MAX_MATCHES {
            out.push(Match {
                line,
                range: start..start + query.len(),
            });
        }
    };
    if fold {
        let folded = text.to_ascii_lowercase();
        for (start, _) in folded.match_indices(query) {
            push(out, start);
        }
    } else {
        for (start, _) in text.match_indices(query) {
            push(out, start);
        }
    }
}

/// The size of the log body on screen, which scrolling depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Viewport {
    pub width: u16,
    pub height: u16,
}

/// Columns of the stream marker ("out ") and of a time ("00:55:16.182 ").
pub const MARKER_WIDTH: usize = 4;
pub const STAMP_WIDTH: usize = 13;

/// Which parts of the gutter fit: narrow terminals drop the times first,
/// then the stream marker, so that the text keeps room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gutter {
    pub marker: bool,
    pub stamps: bool,
}

impl Gutter {
    pub fn width(self) -> usize {
        usize::from(self.marker) * MARKER_WIDTH + usize::from(self.stamps) * STAMP_WIDTH
    }
}

/// A position: the line at the top of the screen, and (when wrapping) which
/// of its rows is the first shown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub row: usize,
}

/// One screen row of the log body.
#[derive(Clone, Debug, PartialEq)]
pub struct VisibleRow<'a> {
    pub number: usize,
    pub line: &'a LogLine,
    /// The first row of its line (the gutter is drawn only there).
    pub first_row: bool,
    /// Bytes of `line.text` on this row.
    pub range: Range<usize>,
    /// The line goes on past the right edge (not wrapping).
    pub cut_right: bool,
    /// Search hits on this row, clipped to `range`; true for the current one.
    pub highlights: Vec<(Range<usize>, bool)>,
}

/// Display width of `text` as the buffer draws it (controls take none).
pub fn width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if c.is_ascii() {
        return usize::from(!c.is_ascii_control());
    }
    if c.is_control() {
        return 0;
    }
    // ratatui's own measure, so that rows never outgrow what it draws
    // (unicode-width is not a direct dependency).
    let mut buf = [0u8; 4];
    usize::from(CellWidth::cell_width(&*c.encode_utf8(&mut buf)))
}

/// The rows a line wraps into at `width` columns, as byte ranges. An empty
/// line is one empty row; a character wider than the row still gets one.
#[derive(Clone, Debug)]
pub struct Rows<'a> {
    text: &'a str,
    at: usize,
    width: usize,
    done: bool,
}

impl<'a> Rows<'a> {
    pub fn new(text: &'a str, width: usize) -> Self {
        Rows {
            text,
            at: 0,
            width: width.max(1),
            done: false,
        }
    }
}

impl Iterator for Rows<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.done {
            return None;
        }
        let start = self.at;
        let mut end = start;
        let mut used = 0;
        for (i, c) in self.text[start..].char_indices() {
            let w = char_width(c);
            if used + w > self.width && end > start {
                break;
            }
            used += w;
            end = start + i + c.len_utf8();
        }
        self.at = end;
        self.done = end >= self.text.len();
        Some(start..end)
    }
}

/// The bytes of `text` shown from column `skip` in `cols` columns.
pub fn column_range(text: &str, skip: usize, cols: usize) -> Range<usize> {
    let mut col = 0;
    let mut chars = text.char_indices().peekable();
    while let Some(&(_, c)) = chars.peek() {
        if col >= skip {
            break;
        }
        col += char_width(c);
        chars.next();
    }
    let start = chars.peek().map_or(text.len(), |&(i, _)| i);
    let mut used = 0;
    for (i, c) in chars {
        let w = char_width(c);
        if used + w > cols {
            return start..i;
        }
        used += w;
    }
    start..text.len()
}

/// The viewer's state over a document. Toggles and the search live here;
/// the renderer only reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogView {
    follow: bool,
    wrap: bool,
    timestamps: bool,
    /// The search as typed, and as matched (ASCII-folded unless the query
    /// has a capital: smart case, as in less and vim).
    search: Option<String>,
    needle: Option<(String, bool)>,
    /// The search being typed after `/`, before Enter.
    prompt: Option<String>,
    /// Sorted by line, then position.
    matches: Vec<Match>,
    current: Option<usize>,
    /// Lines below this absolute number have been searched.
    searched_to: usize,
    /// Where the screen starts when not following.
    top: Pos,
    /// Columns skipped on the left when not wrapping.
    hscroll: usize,
    /// A transient line for the status bar (e.g. "saved to ...").
    pub message: Option<String>,
}

impl Default for LogView {
    fn default() -> Self {
        LogView::new()
    }
}

impl LogView {
    /// Following, not wrapping, no times: what an operator opening the
    /// logs of a running evaluation wants.
    pub fn new() -> Self {
        LogView {
            follow: true,
            wrap: false,
            timestamps: false,
            search: None,
            needle: None,
            prompt: None,
            matches: Vec::new(),
            current: None,
            searched_to: 0,
            top: Pos::default(),
            hscroll: 0,
            message: None,
        }
    }

    pub fn follow(&self) -> bool {
        self.follow
    }

    pub fn wrap(&self) -> bool {
        self.wrap
    }

    pub fn timestamps(&self) -> bool {
        self.timestamps
    }

    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }

    pub fn prompt(&self) -> Option<&str> {
        self.prompt.as_deref()
    }

    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    /// Index into `matches` of the current match.
    pub fn current_match(&self) -> Option<usize> {
        self.current
    }

    pub fn hscroll(&self) -> usize {
        self.hscroll
    }

    /// What of the gutter fits in `width` columns.
    pub fn gutter(&self, width: u16) -> Gutter {
        let width = usize::from(width);
        Gutter {
            marker: width >= MARKER_WIDTH + 12,
            stamps: self.timestamps && width >= MARKER_WIDTH + STAMP_WIDTH + 16,
        }
    }

    /// Columns left for the text.
    pub fn text_width(&self, width: u16) -> usize {
        usize::from(width)
            .saturating_sub(self.gutter(width).width())
            .max(1)
    }

    fn rows_of(&self, doc: &LogDocument, n: usize, tw: usize) -> usize {
        match doc.line(n) {
            Some(line) if self.wrap => Rows::new(&line.text, tw).count(),
            _ => 1,
        }
    }

    /// The top position that shows the end of the document.
    fn max_top(&self, doc: &LogDocument, vp: Viewport) -> Pos {
        let tw = self.text_width(vp.width);
        let mut left = usize::from(vp.height.max(1));
        for n in (doc.first()..doc.end()).rev() {
            let rows = self.rows_of(doc, n, tw);
            if rows >= left {
                return Pos {
                    line: n,
                    row: rows - left,
                };
            }
            left -= rows;
        }
        Pos {
            line: doc.first(),
            row: 0,
        }
    }

    /// Where the screen starts: the end when following, else the stored
    /// position kept inside the document (lines may have been evicted, the
    /// terminal resized, wrapping toggled).
    pub fn top_position(&self, doc: &LogDocument, vp: Viewport) -> Pos {
        let max = self.max_top(doc, vp);
        if self.follow {
            return max;
        }
        let mut top = self.top;
        if top.line < doc.first() {
            top = Pos {
                line: doc.first(),
                row: 0,
            };
        }
        let rows = self.rows_of(doc, top.line, self.text_width(vp.width));
        top.row = top.row.min(rows - 1);
        top.min(max)
    }

    /// `delta` rows down (up when negative), within the document.
    fn step(&self, doc: &LogDocument, mut pos: Pos, delta: i64, tw: usize) -> Pos {
        let first = doc.first();
        let last = doc.end().saturating_sub(1).max(first);
        if !self.wrap {
            let line = i64::try_from(pos.line)
                .unwrap_or(i64::MAX)
                .saturating_add(delta)
                .max(0);
            let line = usize::try_from(line).unwrap_or(usize::MAX);
            return Pos {
                line: line.clamp(first, last),
                row: 0,
            };
        }
        if delta >= 0 {
            let mut rows = self.rows_of(doc, pos.line, tw);
            for _ in 0..delta {
                if pos.row + 1 < rows {
                    pos.row += 1;
                } else if pos.line < last {
                    pos = Pos {
                        line: pos.line + 1,
                        row: 0,
                    };
                    rows = self.rows_of(doc, pos.line, tw);
                } else {
                    break;
                }
            }
        } else {
            for _ in 0..delta.unsigned_abs() {
                if pos.row > 0 {
                    pos.row -= 1;
                } else if pos.line > first {
                    pos.line -= 1;
                    pos.row = self.rows_of(doc, pos.line, tw) - 1;
                } else {
                    break;
                }
            }
        }
        pos
    }

    /// Scrolls `delta` rows; scrolling up stops following.
    pub fn scroll(&mut self, doc: &LogDocument, delta: i32, vp: Viewport) {
        let tw = self.text_width(vp.width);
        let from = self.top_position(doc, vp);
        let max = self.max_top(doc, vp);
        self.top = self.step(doc, from, i64::from(delta), tw).min(max);
        if delta < 0 {
            self.follow = false;
        }
    }

    /// Scrolls by whole screens, keeping one row of context.
    pub fn page(&mut self, doc: &LogDocument, pages: i32, vp: Viewport) {
        let rows = i32::from(vp.height.saturating_sub(1).max(1));
        self.scroll(doc, pages.saturating_mul(rows), vp);
    }

    /// The first line; stops following.
    pub fn top(&mut self, doc: &LogDocument) {
        self.follow = false;
        self.top = Pos {
            line: doc.first(),
            row: 0,
        };
    }

    /// The last screen. Following is its own toggle: new lines then grow
    /// below the screen instead of moving it.
    pub fn bottom(&mut self, doc: &LogDocument, vp: Viewport) {
        self.top = self.max_top(doc, vp);
    }

    /// Turning following off keeps the screen where it is.
    pub fn toggle_follow(&mut self, doc: &LogDocument, vp: Viewport) {
        if self.follow {
            self.top = self.max_top(doc, vp);
        }
        self.follow = !self.follow;
    }

    /// Keeps the top line; its first row is shown.
    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.top.row = 0;
        self.hscroll = 0;
    }

    pub fn toggle_timestamps(&mut self) {
        self.timestamps = !self.timestamps;
    }

    /// Scrolls sideways (not wrapping), no further than the widest line on
    /// screen allows.
    pub fn scroll_sideways(&mut self, doc: &LogDocument, delta: i32, vp: Viewport) {
        if self.wrap {
            return;
        }
        let widest = self
            .visible_rows(doc, vp)
            .iter()
            .map(|row| width(&row.line.text))
            .max()
            .unwrap_or(0);
        let max = widest.saturating_sub(self.text_width(vp.width) / 2);
        let moved = i64::try_from(self.hscroll)
            .unwrap_or(i64::MAX)
            .saturating_add(i64::from(delta))
            .max(0);
        self.hscroll = usize::try_from(moved).unwrap_or(0).min(max);
    }

    /// Opens the `/` prompt.
    pub fn start_search(&mut self) {
        self.prompt = Some(String::new());
    }

    pub fn prompt_push(&mut self, c: char) {
        if let Some(prompt) = &mut self.prompt
            && !c.is_control()
            && prompt.len() < 256
        {
            prompt.push(c);
        }
    }

    pub fn prompt_pop(&mut self) {
        if let Some(prompt) = &mut self.prompt {
            prompt.pop();
        }
    }

    pub fn cancel_prompt(&mut self) {
        self.prompt = None;
    }

    /// Enter in the prompt: searches for what was typed (empty clears).
    pub fn commit_prompt(&mut self, doc: &LogDocument, vp: Viewport) {
        if let Some(query) = self.prompt.take() {
            self.set_search(doc, &query, vp);
        }
    }

    /// Finds every match in the document (the one pass over all of it),
    /// makes the first at or below the top of the screen current, and
    /// shows it.
    pub fn set_search(&mut self, doc: &LogDocument, query: &str, vp: Viewport) {
        self.clear_search();
        if query.is_empty() {
            return;
        }
        let fold = !query.chars().any(char::is_uppercase);
        let needle = if fold {
            query.to_ascii_lowercase()
        } else {
            query.to_string()
        };
        self.search = Some(query.to_string());
        self.needle = Some((needle, fold));
        self.searched_to = doc.first();
        self.search_lines(doc);
        if self.matches.is_empty() {
            return;
        }
        let top = self.top_position(doc, vp).line;
        let below = self.matches.partition_point(|m| m.line < top);
        self.current = Some(if below < self.matches.len() { below } else { 0 });
        self.reveal(doc, vp);
    }

    pub fn clear_search(&mut self) {
        self.search = None;
        self.needle = None;
        self.matches.clear();
        self.current = None;
    }

    /// Searches the lines not searched yet.
    fn search_lines(&mut self, doc: &LogDocument) {
        if let Some((needle, fold)) = &self.needle {
            for n in self.searched_to.max(doc.first())..doc.end() {
                if let Some(line) = doc.line(n) {
                    find_in(&line.text, needle, *fold, n, &mut self.matches);
                }
            }
        }
        self.searched_to = doc.end();
    }

    /// The next match, wrapping around to the first.
    pub fn next_match(&mut self, doc: &LogDocument, vp: Viewport) {
        let len = self.matches.len();
        if len > 0 {
            self.current = Some(self.current.map_or(0, |c| (c + 1) % len));
            self.reveal(doc, vp);
        }
    }

    /// The previous match, wrapping around to the last.
    pub fn prev_match(&mut self, doc: &LogDocument, vp: Viewport) {
        let len = self.matches.len();
        if len > 0 {
            self.current = Some(self.current.map_or(len - 1, |c| (c + len - 1) % len));
            self.reveal(doc, vp);
        }
    }

    /// Brings the current match on screen (a third down, for context) if
    /// it is not; leaves the screen alone if it is.
    fn reveal(&mut self, doc: &LogDocument, vp: Viewport) {
        let Some(m) = self.current.and_then(|i| self.matches.get(i)).cloned() else {
            return;
        };
        let Some(line) = doc.line(m.line) else {
            return;
        };
        let tw = self.text_width(vp.width);
        let row = if self.wrap {
            Rows::new(&line.text, tw)
                .position(|r| m.range.start < r.end)
                .unwrap_or(0)
        } else {
            0
        };
        let target = Pos { line: m.line, row };
        let height = usize::from(vp.height.max(1));
        if !self.on_screen(doc, target, vp) {
            let context = i64::try_from(height / 3).unwrap_or(0);
            self.top = self
                .step(doc, target, -context, tw)
                .min(self.max_top(doc, vp));
            self.follow = false;
        }
        if !self.wrap {
            let start = width(&line.text[..m.range.start]);
            let end = start + width(&line.text[m.range.clone()]);
            // The last column may hold the cut marker.
            let room = tw.saturating_sub(1).max(1);
            if start < self.hscroll || end > self.hscroll + room {
                self.hscroll = start.saturating_sub(room / 4);
            }
        }
    }

    fn on_screen(&self, doc: &LogDocument, target: Pos, vp: Viewport) -> bool {
        let tw = self.text_width(vp.width);
        let mut pos = self.top_position(doc, vp);
        for _ in 0..vp.height.max(1) {
            if pos == target {
                return true;
            }
            let next = self.step(doc, pos, 1, tw);
            if next == pos {
                return false;
            }
            pos = next;
        }
        false
    }

    /// Lines were appended (and maybe evicted from the head): drops matches
    /// on evicted lines and searches only the new ones. The screen keeps
    /// following if it was.
    pub fn on_new_lines(&mut self, doc: &LogDocument) {
        if doc.end() < self.searched_to {
            self.replace_document(doc);
            return;
        }
        let evicted = self.matches.partition_point(|m| m.line < doc.first());
        if evicted > 0 {
            self.matches.drain(..evicted);
            self.current = self.current.and_then(|c| c.checked_sub(evicted));
        }
        self.search_lines(doc);
        if self.current.is_none() && !self.matches.is_empty() {
            self.current = Some(0);
        }
    }

    /// The document was replaced by another (a fresh read): searches it
    /// again, keeping the toggles and, as far as it still exists, the place.
    pub fn replace_document(&mut self, doc: &LogDocument) {
        self.matches.clear();
        self.searched_to = doc.first();
        self.search_lines(doc);
        let last = self.matches.len().checked_sub(1);
        self.current = last.map(|last| self.current.unwrap_or(0).min(last));
    }

    fn matches_on(&self, n: usize) -> (usize, &[Match]) {
        let lo = self.matches.partition_point(|m| m.line < n);
        let len = self.matches[lo..].partition_point(|m| m.line <= n);
        (lo, &self.matches[lo..lo + len])
    }

    /// The rows on screen, with their search highlights. Costs in
    /// proportion to the screen, not the document.
    pub fn visible_rows<'a>(&self, doc: &'a LogDocument, vp: Viewport) -> Vec<VisibleRow<'a>> {
        let height = usize::from(vp.height);
        let mut out = Vec::with_capacity(height);
        if height == 0 || doc.is_empty() {
            return out;
        }
        let tw = self.text_width(vp.width);
        let top = self.top_position(doc, vp);
        let mut skip = top.row;
        for number in top.line..doc.end() {
            if out.len() >= height {
                break;
            }
            let Some(line) = doc.line(number) else {
                break;
            };
            let (base, hits) = self.matches_on(number);
            let room = height - out.len();
            let mut push = |range: Range<usize>, first_row: bool, cut_right: bool| {
                let highlights = hits
                    .iter()
                    .enumerate()
                    .filter_map(|(k, m)| {
                        let start = m.range.start.max(range.start);
                        let end = m.range.end.min(range.end);
                        (start < end).then(|| (start..end, self.current == Some(base + k)))
                    })
                    .collect();
                out.push(VisibleRow {
                    number,
                    line,
                    first_row,
                    range,
                    cut_right,
                    highlights,
                });
            };
            if self.wrap {
                let rows = Rows::new(&line.text, tw).enumerate().skip(skip);
                for (i, range) in rows.take(room) {
                    push(range, i == 0, false);
                }
            } else {
                let range = column_range(&line.text, self.hscroll, tw);
                if range.end < line.text.len() {
                    // Room for the marker that says the line goes on.
                    let range = column_range(&line.text, self.hscroll, tw - 1);
                    push(range, true, true);
                } else {
                    push(range, true, false);
                }
            }
            skip = 0;
        }
        out
    }

    /// Writes the whole document as plain text with stream markers.
    pub fn save(&self, doc: &LogDocument, path: &Path) -> io::Result<()> {
        let mut out = BufWriter::new(File::create(path)?);
        doc.write_text(&mut out)?;
        out.flush()
    }
}
