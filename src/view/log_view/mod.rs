//! The log viewer's model: a log document (lines tagged with their stream,
//! and where they came from) and the viewer's state over it: follow, wrap,
//! timestamps, search, scroll. Pure: no IO but `save`, no clock reads.
//!
//! Lines are addressed by absolute number (lines evicted from a live
//! buffer's head keep theirs), so that matches and the scroll position stay
//! right while the document grows and loses its oldest lines. Everything a
//! frame needs costs in proportion to what is visible; only a new search
//! goes through the whole document.
//!
//! Here: the viewer's state (`LogView`: toggles, scrolling, the rows on
//! screen) and its geometry; the document, text measurement and search
//! live in the submodules and are re-exported.

mod document;
mod merge;
mod search;
mod text;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::Path;

pub use document::{LogDocument, LogLine, LogSource, OriginKind, default_file_name, marker};
pub use merge::{Merged, SAME_LINE_WITHIN_MS};
pub use search::{MAX_MATCHES, Match};
pub use text::{Rows, column_range, width};

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
