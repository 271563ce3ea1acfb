//! Search: matches found line by line (smart case), kept as the document
//! grows or loses its head, the `/` prompt, and moving between matches
//! with the current one brought on screen.

use std::ops::Range;

use super::text::{Rows, width};
use super::{LogDocument, LogView, Pos, Viewport};

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

impl LogView {
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

    pub(super) fn matches_on(&self, n: usize) -> (usize, &[Match]) {
        let lo = self.matches.partition_point(|m| m.line < n);
        let len = self.matches[lo..].partition_point(|m| m.line <= n);
        (lo, &self.matches[lo..lo + len])
    }
}
