//! A JSON reader for what the platform sends: objects of strings, whole
//! numbers, booleans and nulls. It reads a payload in one pass over its
//! bytes, checks UTF-8 once for the whole payload, and borrows every
//! string without escapes. At Redis's rate serde_json's visitor, with a
//! UTF-8 check per string, was the largest cost of a message.
//!
//! It answers `None` for anything it does not take: invalid JSON, numbers
//! with a fraction or an exponent or beyond 64 bits, lone surrogates, deep
//! nesting. The caller then reads the payload with serde_json, which is the
//! authority on what is JSON and words the refusal. So this reader needs to
//! be right only about what it accepts.

use std::borrow::Cow;

use serde_json::Number;

use super::Json;

/// Nesting deeper than this is left to serde_json (whose own limit is
/// 128): no payload of the contract nests more than twice.
const MAX_DEPTH: usize = 64;

/// The payload read as JSON, or `None` if it is not JSON or not of a
/// kind this reader takes.
pub(super) fn read(payload: &[u8]) -> Option<Json<'_>> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut reader = Reader { text, at: 0 };
    let mut value = Json::Null;
    reader.value(0, &mut value)?;
    reader.skip_space();
    (reader.at == text.len()).then_some(value)
}

struct Reader<'a> {
    text: &'a str,
    /// The next byte to read; always on a character boundary between
    /// tokens, since every token this reader stops at is ASCII.
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Takes `byte` after any whitespace.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str, value: Json<'a>) -> Option<Json<'a>> {
        let end = self.at + word.len();
        (self.bytes().get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            value
        })
    }

    /// Reads a value into `slot`, where it is to be kept: building it
    /// here and moving it there cost more than reading it.
    fn value(&mut self, depth: usize, slot: &mut Json<'a>) -> Option<()> {
        self.skip_space();
        *slot = match self.peek()? {
            b'{' => self.object(depth + 1)?,
            b'[' => self.array(depth + 1)?,
            b'"' => Json::String(self.string()?),
            b't' => self.literal("true", Json::Bool(true))?,
            b'f' => self.literal("false", Json::Bool(false))?,
            b'n' => self.literal("null", Json::Null)?,
            b'-' | b'0'..=b'9' => Json::Number(self.number()?),
            _ => return None,
        };
        Some(())
    }

    fn object(&mut self, depth: usize) -> Option<Json<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        let mut fields = Vec::with_capacity(8);
        self.skip_space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Json::Object(fields));
        }
        loop {
            self.skip_space();
            if self.peek()? != b'"' {
                return None;
            }
            let name = self.string()?;
            self.expect(b':')?;
            fields.push((name, Json::Null));
            let (_, slot) = fields.last_mut()?;
            self.value(depth, slot)?;
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(Json::Object(fields));
                }
                _ => return None,
            }
        }
    }

    /// Reads the elements, to know the array is valid, and keeps none.
    fn array(&mut self, depth: usize) -> Option<Json<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.at += 1;
        self.skip_space();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Json::Array);
        }
        let mut element = Json::Null;
        loop {
            self.value(depth, &mut element)?;
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(Json::Array);
                }
                _ => return None,
            }
        }
    }

    /// A string from its opening quote: borrowed unless it has escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.at += 1;
        let start = self.at;
        self.at += self.plain_run()?;
        if self.peek()? == b'"' {
            self.at += 1;
            return Some(Cow::Borrowed(&self.text[start..self.at - 1]));
        }
        let mut owned = String::with_capacity(self.at - start + 16);
        owned.push_str(&self.text[start..self.at]);
        loop {
            let byte = *self.bytes().get(self.at)?;
            self.at += 1;
            match byte {
                b'"' => return Some(Cow::Owned(owned)),
                b'\\' => owned.push(self.escape()?),
                0..=0x1f => return None,
                _ => {
                    // Copy the run up to the next quote or escape at once.
                    let run = self.at - 1;
                    self.at += self.plain_run()?;
                    owned.push_str(&self.text[run..self.at]);
                }
            }
        }
    }

    /// The length of the text from here to the next quote or backslash;
    /// `None` if the string does not end or holds a control character
    /// (JSON wants those escaped). Both searches run a word at a time.
    fn plain_run(&self) -> Option<usize> {
        let rest = &self.bytes()[self.at..];
        let len = memchr::memchr2(b'"', b'\\', rest)?;
        (!rest[..len].iter().any(|&b| b < 0x20)).then_some(len)
    }

    /// The character an escape after its backslash stands for.
    fn escape(&mut self) -> Option<char> {
        let byte = self.peek()?;
        self.at += 1;
        Some(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                match unit {
                    0xD800..=0xDBFF => {
                        // A pair's low half must follow at once.
                        if self.bytes().get(self.at..self.at + 2)? != b"\\u" {
                            return None;
                        }
                        self.at += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        char::from_u32(code)?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(unit)?,
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.at..self.at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A whole number that fits in 64 bits, as serde_json types it (u64
    /// when not negative, else i64). Fractions, exponents, `-0` and larger
    /// numbers serde_json reads as floats: left to it.
    fn number(&mut self) -> Option<Number> {
        let negative = self.peek()? == b'-';
        if negative {
            self.at += 1;
        }
        let digits = self.at;
        let mut value: u64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            self.at += 1;
        }
        let len = self.at - digits;
        let leading_zero = len > 1 && self.bytes()[digits] == b'0';
        if len == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        if !negative {
            return Some(value.into());
        }
        match value {
            0 => None,
            v if v <= i64::MAX as u64 => Some((-(v as i64)).into()),
            v if v == i64::MIN.unsigned_abs() => Some(i64::MIN.into()),
            _ => None,
        }
    }
}
