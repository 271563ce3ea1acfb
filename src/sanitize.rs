//! Untrusted text (evaluation output, errors, even ids and labels) made safe
//! to store and draw, once, when it enters: escape sequences removed, other
//! controls shown as visible placeholders, invalid UTF-8 replaced, tabs
//! expanded, carriage returns turned into line breaks instead of
//! overwriting, and very long lines cut with a visible marker.
//!
//! Written by hand rather than with a terminal parser crate because the
//! rules are ours (placeholders, not deletion; CR as a new line; bounded
//! string sequences), and the whole job is one small state machine.

/// Lines longer than this many bytes are cut, by default.
pub const DEFAULT_MAX_LINE: usize = 4096;
/// A string sequence (OSC, DCS, ...) longer than this is ended by force, so
/// that one unterminated sequence cannot swallow the rest of the output.
const MAX_STRING_SEQUENCE: usize = 4096;
const TAB_WIDTH: usize = 8;
/// No line bound is shorter than this.
const MIN_LINE: usize = 16;
/// Shown for C1 controls and bidi overrides.
const PLACEHOLDER: char = '\u{2370}'; // ⍰

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    /// After ESC.
    Escape,
    /// After ESC and an intermediate byte (ESC ( B, ...).
    EscapeIntermediate,
    /// Control sequence: ends at a final byte 0x40..=0x7E.
    Csi,
    /// OSC, DCS, SOS, PM, APC: end at BEL (OSC) or ST.
    StringSeq {
        len: usize,
    },
    /// Inside a string sequence, after ESC: `\` ends it.
    StringEscape {
        len: usize,
    },
}

/// Sanitises bytes as they came from Docker or Redis.
pub fn sanitize_bytes(bytes: &[u8], max_line: usize) -> String {
    sanitize(&String::from_utf8_lossy(bytes), max_line)
}

/// Sanitises text with the default line bound.
pub fn clean(text: &str) -> String {
    sanitize(text, DEFAULT_MAX_LINE)
}

/// Sanitises one line of text for a single-line cell (id, label, reason):
/// line breaks become spaces.
pub fn clean_line(text: &str) -> String {
    let mut out = sanitize(text, DEFAULT_MAX_LINE);
    if out.contains('\n') {
        out = out.replace('\n', " ");
    }
    out
}

/// An identifier (eval id, label value, key part) as every source stores
/// it: sanitised to one line, then trimmed, so that Docker's and Redis's
/// copies of the same id always compare equal. Empty means "none".
pub fn clean_id(text: &str) -> String {
    let line = clean_line(text);
    if line.trim().len() == line.len() {
        return line;
    }
    line.trim().to_string()
}

/// Sanitises text; the result holds no control character but `\n`.
pub fn sanitize(text: &str, max_line: usize) -> String {
    // Most of what enters (ids, labels, key names, executor names) is a
    // short run of printable ASCII, which the state machine would copy as
    // it is: at 10,000 keys a read, skipping it is worth having.
    if is_plain(text, max_line) {
        // A TTY ends every line with CR LF: one line end, kept as LF.
        return if text.contains('\r') {
            text.replace("\r\n", "\n")
        } else {
            text.to_string()
        };
    }
    sanitize_by_machine(text, max_line)
}

/// Printable ASCII and line breaks only (LF, or CR LF; no other control, no
/// escape, no tab) and short enough that no line is cut: text that
/// sanitising leaves unchanged but for CR LF (log lines end with a line
/// break, a TTY's with CR LF).
fn is_plain(text: &str, max_line: usize) -> bool {
    let bytes = text.as_bytes();
    text.len() <= max_line.max(MIN_LINE)
        && bytes.iter().enumerate().all(|(at, byte)| match byte {
            b' '..=b'~' | b'\n' => true,
            b'\r' => bytes.get(at + 1) == Some(&b'\n'),
            _ => false,
        })
}

fn sanitize_by_machine(text: &str, max_line: usize) -> String {
    let mut out = String::with_capacity(text.len());
    let mut line = LineWriter::new(max_line);
    let mut mode = Mode::Text;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if matches!(c, '\n' | '\r')
            && matches!(mode, Mode::Escape | Mode::EscapeIntermediate | Mode::Csi)
        {
            // A terminal acts on a line break even inside a sequence: a lone
            // ESC at the end of a line, or a CSI cut short, must not take
            // the line break with it and join two lines.
            mode = Mode::Text;
        }
        mode = match mode {
            Mode::Text => match c {
                '\u{1b}' => Mode::Escape,
                '\u{9b}' => Mode::Csi,
                '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => Mode::StringSeq { len: 0 },
                '\n' => {
                    line.end(&mut out);
                    Mode::Text
                }
                '\r' => {
                    // CR LF is one line end; a lone CR (a progress bar)
                    // starts a new line rather than overwriting this one.
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line.end(&mut out);
                    Mode::Text
                }
                '\t' => {
                    line.tab(&mut out);
                    Mode::Text
                }
                _ => {
                    line.push(&mut out, visible(c));
                    Mode::Text
                }
            },
            Mode::Escape => match c {
                '[' => Mode::Csi,
                ']' | 'P' | 'X' | '^' | '_' => Mode::StringSeq { len: 0 },
                '\u{20}'..='\u{2f}' => Mode::EscapeIntermediate,
                '\u{1b}' => Mode::Escape,
                _ => Mode::Text,
            },
            Mode::EscapeIntermediate => match c {
                '\u{20}'..='\u{2f}' => Mode::EscapeIntermediate,
                _ => Mode::Text,
            },
            Mode::Csi => match c {
                '\u{40}'..='\u{7e}' => Mode::Text,
                '\u{1b}' => Mode::Escape,
                // Parameters and intermediates, or a stray control inside
                // the sequence: all swallowed.
                _ => Mode::Csi,
            },
            Mode::StringSeq { len } => match c {
                '\u{7}' | '\u{9c}' => Mode::Text,
                '\u{1b}' => Mode::StringEscape { len },
                _ if len >= MAX_STRING_SEQUENCE => Mode::Text,
                _ => Mode::StringSeq { len: len + 1 },
            },
            Mode::StringEscape { len } => match c {
                '\\' => Mode::Text,
                _ => Mode::StringSeq { len: len + 1 },
            },
        };
    }
    line.finish(&mut out);
    out
}

/// The character to store for `c`: itself when printable, else a visible
/// stand-in.
fn visible(c: char) -> char {
    match c {
        // C0 controls: the Control Pictures block (NUL -> ␀, BEL -> ␇).
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or(PLACEHOLDER),
        '\u{7f}' => '\u{2421}', // ␡
        '\u{80}'..='\u{9f}' => PLACEHOLDER,
        // Bidi embeddings, overrides and isolates can reorder what is shown.
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}' => {
            PLACEHOLDER
        }
        _ => c,
    }
}

/// Writes one line at a time, counting its width and bytes, so that tabs
/// expand to the right column and long lines are cut.
struct LineWriter {
    max_line: usize,
    columns: usize,
    bytes: usize,
    cut_bytes: usize,
    started: bool,
}

impl LineWriter {
    fn new(max_line: usize) -> Self {
        LineWriter {
            max_line: max_line.max(MIN_LINE),
            columns: 0,
            bytes: 0,
            cut_bytes: 0,
            started: false,
        }
    }

    fn push(&mut self, out: &mut String, c: char) {
        self.started = true;
        if self.bytes + c.len_utf8() > self.max_line {
            self.cut_bytes += c.len_utf8();
            return;
        }
        out.push(c);
        self.bytes += c.len_utf8();
        // Display columns, so that a tab after wide or combining
        // characters still lands on the next tab stop.
        self.columns += unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
    }

    fn tab(&mut self, out: &mut String) {
        let spaces = TAB_WIDTH - self.columns % TAB_WIDTH;
        for _ in 0..spaces {
            self.push(out, ' ');
        }
    }

    fn flush_marker(&mut self, out: &mut String) {
        if self.cut_bytes > 0 {
            out.push_str(&format!(" …[+{} bytes cut]", self.cut_bytes));
        }
    }

    fn end(&mut self, out: &mut String) {
        self.flush_marker(out);
        out.push('\n');
        *self = LineWriter::new(self.max_line);
    }

    fn finish(&mut self, out: &mut String) {
        if self.started {
            self.flush_marker(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_control(text: &str) -> bool {
        text.chars()
            .any(|c| c != '\n' && (c.is_control() || c == '\u{1b}'))
    }

    proptest::proptest! {
        /// The short way for plain ASCII gives what the machine gives.
        #[test]
        fn plain_ascii_is_kept_as_the_machine_keeps_it(
            text in "[ -~\n\t\r]{0,40}",
            max_line in 0usize..48,
        ) {
            proptest::prop_assert_eq!(sanitize(&text, max_line), sanitize_by_machine(&text, max_line));
        }

        /// The same where line ends, CR LF among them, are dense.
        #[test]
        fn plain_lines_are_kept_as_the_machine_keeps_them(
            text in "[ab\r\n]{0,40}",
            max_line in 0usize..48,
        ) {
            proptest::prop_assert_eq!(sanitize(&text, max_line), sanitize_by_machine(&text, max_line));
        }
    }

    #[test]
    fn plain_text_takes_the_short_way_and_comes_out_as_the_machine_leaves_it() {
        let long = "x".repeat(DEFAULT_MAX_LINE);
        for text in [
            "",
            "eval_20250706_005515_529f833e",
            "eval:eval_20250706_005515_529f833e:running",
            " executor-2 ",
            "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
            long.as_str(),
        ] {
            assert!(is_plain(text, DEFAULT_MAX_LINE), "{text:?}");
            assert_eq!(sanitize_by_machine(text, DEFAULT_MAX_LINE), text);
            assert_eq!(sanitize(text, DEFAULT_MAX_LINE), text);
        }
        // Anything else goes through the machine.
        assert!(is_plain("step 1 done\r\n", DEFAULT_MAX_LINE));
        assert_eq!(
            sanitize("step 1 done\r\n", DEFAULT_MAX_LINE),
            "step 1 done\n"
        );
        for text in ["a\tb", "a\rb", "a\r", "\u{1b}[31mred", "é", "a\u{7f}"] {
            assert!(!is_plain(text, DEFAULT_MAX_LINE), "{text:?}");
        }
        let over = "x".repeat(DEFAULT_MAX_LINE + 1);
        assert!(!is_plain(&over, DEFAULT_MAX_LINE));
        assert!(sanitize(&over, DEFAULT_MAX_LINE).ends_with("…[+1 bytes cut]"));
    }

    #[test]
    fn removes_escape_sequences_of_every_kind() {
        let cases = [
            ("\u{1b}[31mred\u{1b}[0m", "red"),
            ("a\u{1b}]0;title\u{7}b", "ab"),
            ("a\u{1b}]52;c;SGVsbG8=\u{1b}\\b", "ab"),
            ("a\u{1b}P1$r0m\u{1b}\\b", "ab"),
            ("a\u{1b}(Bb", "ab"),
            ("a\u{1b}7b\u{1b}8", "ab"),
            ("a\u{9b}2Jb", "ab"),
            ("a\u{9d}8;;http://x\u{9c}b", "ab"),
            ("a\u{1b}[?1049hb", "ab"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "{input:?}");
        }
    }

    #[test]
    fn shows_other_controls_as_placeholders() {
        assert_eq!(clean("a\u{0}b\u{7}c\u{7f}"), "a␀b␇c␡");
        assert_eq!(clean("x\u{85}y"), "x⍰y");
        assert_eq!(clean("abc\u{202e}fed"), "abc⍰fed");
        assert!(!has_control(&clean("\u{8}\u{b}\u{c}\u{e}")));
    }

    #[test]
    fn carriage_returns_become_line_breaks() {
        assert_eq!(clean("one\r\ntwo\r\n"), "one\ntwo\n");
        assert_eq!(clean("10%\r50%\r100%"), "10%\n50%\n100%");
    }

    #[test]
    fn tabs_expand_to_columns() {
        assert_eq!(clean("a\tb"), "a       b");
        assert_eq!(clean("abcdefgh\tz"), "abcdefgh        z");
    }

    #[test]
    fn tabs_count_display_columns() {
        // 中 is two columns wide: the tab fills to column 8 with 6 spaces.
        assert_eq!(clean("中\tx"), "中      x");
        // A combining accent takes no column.
        assert_eq!(clean("e\u{301}\tx"), "e\u{301}       x");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            sanitize_bytes(b"ok\xff\xfeend", 100),
            "ok\u{fffd}\u{fffd}end"
        );
    }

    #[test]
    fn long_lines_are_cut_with_a_marker() {
        let long = "x".repeat(100);
        let out = sanitize(&format!("{long}\nshort"), 40);
        let mut lines = out.lines();
        assert_eq!(
            lines.next(),
            Some(format!("{} …[+60 bytes cut]", "x".repeat(40)).as_str())
        );
        assert_eq!(lines.next(), Some("short"));
    }

    #[test]
    fn an_unterminated_sequence_cannot_swallow_everything() {
        let text = format!("\u{1b}]0;{}visible", "x".repeat(MAX_STRING_SEQUENCE + 10));
        assert!(clean(&text).ends_with("visible"));
    }

    #[test]
    fn a_sequence_cut_short_keeps_the_line_break() {
        assert_eq!(clean("end\u{1b}\nnext"), "end\nnext");
        assert_eq!(clean("end\u{1b}\r\nnext"), "end\nnext");
        assert_eq!(clean("a\u{1b}[31\nb"), "a\nb");
        assert_eq!(clean("a\u{1b}(\rb"), "a\nb");
        // Inside a string sequence a line break is payload: still hidden.
        assert_eq!(clean("a\u{1b}]0;t\nitle\u{7}b"), "ab");
    }

    #[test]
    fn clean_line_folds_line_breaks() {
        assert_eq!(clean_line("a\nb\r\nc"), "a b c");
    }
}
