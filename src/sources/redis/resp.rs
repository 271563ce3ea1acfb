//! RESP2 as the subscriber reads it: one frame at a time, parsed in place
//! from the bytes read, nothing copied. A subscribed connection only ever
//! receives flat arrays (`pmessage`, `psubscribe` confirmations, `pong`)
//! and single replies (`+OK`, `-ERR`), so nested arrays are refused
//! rather than supported.

/// A single RESP value, borrowed from the read buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Simple(&'a [u8]),
    Error(&'a [u8]),
    Int(i64),
    Bulk(&'a [u8]),
    Nil,
}

/// Elements an array may have here: a `pmessage` has four.
const MAX_ITEMS: usize = 4;

/// One frame: a single value, or an array of up to four single values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    One(Item<'a>),
    Array {
        items: [Item<'a>; MAX_ITEMS],
        len: usize,
    },
}

impl<'a> Frame<'a> {
    /// The array's elements; a single value is not an array.
    pub fn items(&self) -> &[Item<'a>] {
        match self {
            Frame::One(_) => &[],
            Frame::Array { items, len } => &items[..*len],
        }
    }
}

/// What the server sent is not RESP as a subscriber receives it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed reply from Redis: {0}")]
pub struct Malformed(pub &'static str);

/// The first frame of `bytes` and its length in bytes; `None` until the
/// frame has arrived whole.
pub fn parse(bytes: &[u8]) -> Result<Option<(Frame<'_>, usize)>, Malformed> {
    let Some((kind, head, mut at)) = line(bytes, 0)? else {
        return Ok(None);
    };
    if kind != b'*' {
        return Ok(item(kind, head, bytes, at)?.map(|(item, end)| (Frame::One(item), end)));
    }
    let len = number(head)?;
    let len = usize::try_from(len).map_err(|_| Malformed("a negative array length"))?;
    if len > MAX_ITEMS {
        return Err(Malformed("an array longer than a pub/sub message"));
    }
    let mut items = [Item::Nil; MAX_ITEMS];
    for slot in items.iter_mut().take(len) {
        let Some((kind, head, next)) = line(bytes, at)? else {
            return Ok(None);
        };
        if kind == b'*' {
            return Err(Malformed("a nested array"));
        }
        let Some((value, end)) = item(kind, head, bytes, next)? else {
            return Ok(None);
        };
        *slot = value;
        at = end;
    }
    Ok(Some((Frame::Array { items, len }, at)))
}

/// A line's type byte, the rest of it up to CR LF, and where the next line
/// starts.
type Line<'a> = (u8, &'a [u8], usize);

/// The line starting at `at`.
fn line(bytes: &[u8], at: usize) -> Result<Option<Line<'_>>, Malformed> {
    let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) else {
        return Ok(None);
    };
    let Some(lf) = memchr::memchr(b'\n', rest) else {
        return Ok(None);
    };
    if lf < 1 || rest[lf - 1] != b'\r' {
        return Err(Malformed("a line not ended by CR LF"));
    }
    Ok(Some((rest[0], &rest[1..lf - 1], at + lf + 1)))
}

/// The value whose first line is `kind` + `line`, its body (for a bulk
/// string) starting at `body`; and where it ends.
fn item<'a>(
    kind: u8,
    line: &'a [u8],
    bytes: &'a [u8],
    body: usize,
) -> Result<Option<(Item<'a>, usize)>, Malformed> {
    let value = match kind {
        b'+' => Item::Simple(line),
        b'-' => Item::Error(line),
        b':' => Item::Int(number(line)?),
        b'$' => {
            let len = number(line)?;
            if len == -1 {
                return Ok(Some((Item::Nil, body)));
            }
            let len = usize::try_from(len).map_err(|_| Malformed("a negative bulk length"))?;
            let end = body.checked_add(len).ok_or(Malformed("a bulk too long"))?;
            let Some(tail) = bytes.get(end..end + 2) else {
                return Ok(None);
            };
            if tail != b"\r\n" {
                return Err(Malformed("a bulk string not ended by CR LF"));
            }
            return Ok(Some((Item::Bulk(&bytes[body..end]), end + 2)));
        }
        _ => return Err(Malformed("an unknown type byte")),
    };
    Ok(Some((value, body)))
}

/// A length or an integer: digits after an optional minus, read by hand
/// because there are five in every message (no UTF-8 check needed).
fn number(text: &[u8]) -> Result<i64, Malformed> {
    const NOT_A_NUMBER: Malformed = Malformed("a length or integer that is not a number");
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(NOT_A_NUMBER);
    }
    let mut value: i64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return Err(NOT_A_NUMBER);
        }
        value = value
            .checked_mul(10)
            .and_then(|value| value.checked_add(i64::from(digit - b'0')))
            .ok_or(NOT_A_NUMBER)?;
    }
    Ok(if negative { -value } else { value })
}

/// A command as RESP: an array of bulk strings.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_pmessage_is_four_bulks_borrowed_from_the_buffer() {
        let bytes = b"*4\r\n$8\r\npmessage\r\n$12\r\nevaluation:*\r\n$20\r\nevaluation:completed\r\n$2\r\n{}\r\n+OK";
        let (frame, len) = parse(bytes).unwrap().unwrap();
        assert_eq!(&bytes[len..], b"+OK");
        assert_eq!(
            frame.items(),
            [
                Item::Bulk(b"pmessage"),
                Item::Bulk(b"evaluation:*"),
                Item::Bulk(b"evaluation:completed"),
                Item::Bulk(b"{}"),
            ]
        );
    }

    #[test]
    fn replies_and_errors_are_single_items() {
        assert_eq!(
            parse(b"+OK\r\n").unwrap(),
            Some((Frame::One(Item::Simple(b"OK")), 5))
        );
        assert_eq!(
            parse(b"-WRONGPASS no\r\n").unwrap(),
            Some((Frame::One(Item::Error(b"WRONGPASS no")), 15))
        );
        assert_eq!(parse(b"$-1\r\n").unwrap(), Some((Frame::One(Item::Nil), 5)));
    }

    #[test]
    fn numbers_are_read_as_redis_writes_them() {
        for (text, value) in [
            (&b"0"[..], 0),
            (b"-1", -1),
            (b"9223372036854775807", i64::MAX),
        ] {
            assert_eq!(number(text), Ok(value), "{text:?}");
        }
        for text in [&b""[..], b"-", b"1x", b"+1", b"9223372036854775808", b" 1"] {
            assert!(number(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn what_is_not_resp_is_named() {
        for (bytes, why) in [
            (&b"?x\r\n"[..], "an unknown type byte"),
            (b"*1\r\n*0\r\n", "a nested array"),
            (b"*9\r\n", "an array longer than a pub/sub message"),
            (b"$2\r\nabcd\r\n", "a bulk string not ended by CR LF"),
            (b":x1\r\n", "a length or integer that is not a number"),
            (b"+OK\n", "a line not ended by CR LF"),
        ] {
            assert_eq!(parse(bytes), Err(Malformed(why)), "{bytes:?}");
        }
    }

    /// An encoded frame and its values.
    fn frames() -> impl Strategy<Value = (Vec<u8>, Vec<Vec<u8>>)> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..=4).prop_map(
            |values| {
                let args: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
                let mut bytes = Vec::new();
                command(&mut bytes, &args);
                (bytes, values)
            },
        )
    }

    proptest! {
        /// Every prefix of a frame is incomplete, never an error; the whole
        /// frame gives back its values, as the redis crate reads them too.
        #[test]
        fn a_frame_arrives_in_any_pieces((bytes, values) in frames()) {
            for cut in 0..bytes.len() {
                prop_assert_eq!(parse(&bytes[..cut]), Ok(None));
            }
            let (frame, len) = parse(&bytes).unwrap().unwrap();
            prop_assert_eq!(len, bytes.len());
            let ours: Vec<Vec<u8>> = frame
                .items()
                .iter()
                .map(|item| match item {
                    Item::Bulk(bytes) => bytes.to_vec(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect();
            prop_assert_eq!(&ours, &values);
            let theirs = redis::parse_redis_value(&bytes).unwrap();
            let theirs: Vec<Vec<u8>> = redis::from_redis_value(theirs).unwrap();
            prop_assert_eq!(&ours, &theirs);
        }
    }
}
