//! Text measured as the screen draws it: display widths, the rows a line
//! wraps into, and the bytes shown from a column when not wrapping.

use std::ops::Range;

use ratatui::buffer::CellWidth;

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
