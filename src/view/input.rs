//! The filter bar's editing state: the text being typed, the cursor, and
//! the parse error of the text as it stands. The keymap turns keys into
//! `FilterEdit`s; `TableView::edit_filter` applies them and previews the
//! filter live whenever the text parses.

use super::filter::{Filter, FilterError, MAX_LEN};

/// One editing step in the filter bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterEdit {
    /// Types a character at the cursor (control characters are ignored).
    Insert(char),
    /// Deletes the character before the cursor.
    Backspace,
    /// Deletes the character under the cursor.
    Delete,
    /// Deletes the word before the cursor (Ctrl-W).
    DeleteWord,
    Left,
    Right,
    Home,
    End,
    /// Empties the text (Ctrl-U).
    Clear,
}

/// The text in the filter bar and where the cursor is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterInput {
    text: String,
    /// In characters, 0..=text's length in characters.
    cursor: usize,
    editing: bool,
    error: Option<FilterError>,
    /// The filter that was active when editing began, restored on cancel.
    before: Option<Filter>,
}

impl FilterInput {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The cursor's position in characters from the start of `text`.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// True while the bar has the keyboard.
    pub fn is_editing(&self) -> bool {
        self.editing
    }

    /// Why the text does not parse, if it does not.
    pub fn error(&self) -> Option<&FilterError> {
        self.error.as_ref()
    }

    /// The text as a filter: `None` when it is blank.
    pub fn parse(&self) -> Result<Option<Filter>, FilterError> {
        let filter = Filter::parse(&self.text)?;
        Ok((!filter.is_empty()).then_some(filter))
    }

    /// Starts editing `current`'s text, cursor at its end.
    pub(super) fn open(&mut self, current: Option<&Filter>) {
        self.text = current.map(|f| f.text().to_string()).unwrap_or_default();
        self.cursor = self.text.chars().count();
        self.editing = true;
        self.error = None;
        self.before = current.cloned();
    }

    /// Stops editing; returns the filter that was active before.
    pub(super) fn close(&mut self) -> Option<Filter> {
        self.editing = false;
        self.error = None;
        self.before.take()
    }

    pub(super) fn set_error(&mut self, error: Option<FilterError>) {
        self.error = error;
    }

    /// Shows `filter`'s text when not editing, so the next `/` starts from
    /// it.
    pub(super) fn show(&mut self, filter: Option<&Filter>) {
        if !self.editing {
            self.text = filter.map(|f| f.text().to_string()).unwrap_or_default();
            self.cursor = self.text.chars().count();
            self.error = None;
        }
    }

    /// Applies `edit`; returns whether the text changed.
    pub(super) fn apply(&mut self, edit: FilterEdit) -> bool {
        let len = self.text.chars().count();
        match edit {
            FilterEdit::Insert(c) => {
                if c.is_control() || self.text.len() + c.len_utf8() > MAX_LEN {
                    return false;
                }
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
                true
            }
            FilterEdit::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte(self.cursor);
                self.text.remove(at);
                true
            }
            FilterEdit::Delete if self.cursor < len => {
                let at = self.byte(self.cursor);
                self.text.remove(at);
                true
            }
            FilterEdit::DeleteWord if self.cursor > 0 => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                let (from, to) = (self.byte(start), self.byte(self.cursor));
                self.text.replace_range(from..to, "");
                self.cursor = start;
                true
            }
            FilterEdit::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                false
            }
            FilterEdit::Right => {
                self.cursor = (self.cursor + 1).min(len);
                false
            }
            FilterEdit::Home => {
                self.cursor = 0;
                false
            }
            FilterEdit::End => {
                self.cursor = len;
                false
            }
            FilterEdit::Clear if !self.text.is_empty() => {
                self.text.clear();
                self.cursor = 0;
                true
            }
            FilterEdit::Backspace
            | FilterEdit::Delete
            | FilterEdit::DeleteWord
            | FilterEdit::Clear => false,
        }
    }

    /// The byte offset of character `chars`.
    fn byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }
}
