//! The filter query language typed after `/`: free text and predicates
//! (`status:running`, `flag:overdue`, `executor:executor-2`, `host:exec-1`, `over:>5m`,
//! `age:<10m`, `exit:1`), each negatable with `!`, all ANDed. Parsed once;
//! matching compares in place and allocates nothing, because it runs once
//! per record on every refresh (100,000 records and more).

use std::fmt;
use std::ops::Range;

use crate::model::{EvalRecord, Flag, FlagKind, Severity, Status, Ts};

use super::shown_status;

/// What `/` accepts, for a help line.
pub const SYNTAX: &str = "text status:running flag:overdue executor:executor-2 host:exec-1 over:>5m age:<10m exit:1 !negates";

/// Longest filter kept: a bound on the work a pasted screenful could cause.
pub const MAX_LEN: usize = 512;

/// A term that could not be parsed: which one, and why. Displays as
/// `over:>5x: expected a duration such as 5m`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{term}: {reason}")]
pub struct FilterError {
    /// The term as typed (with its `!`, if any).
    pub term: String,
    pub reason: String,
    /// Where the term sits in the text, in bytes, so a bar can mark it.
    pub span: Range<usize>,
}

/// A parsed query. Matches a record when every term does.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    text: String,
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq)]
struct Term {
    negate: bool,
    predicate: Predicate,
}

#[derive(Clone, Debug, PartialEq)]
enum Predicate {
    /// ASCII-lowercased; matched without regard to ASCII case against the
    /// id, the executor and the status.
    Text(String),
    /// A bit per `Status::ALL` entry, and `NO_STATUS`.
    Status(u16),
    Flag(FlagSet),
    Executor(Vec<Pattern>),
    /// The Docker engine that holds the container.
    Host(Vec<Pattern>),
    Exit(Numbers),
    /// How far past its deadline a live container is, in ms.
    Over(Compare),
    /// Since the evaluation began, in ms (the table's age column).
    Age(Compare),
}

/// The bit for "no status known" in a status mask.
const NO_STATUS: u16 = 1 << Status::ALL.len();

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlagSet {
    /// A bit per `FlagKind::ALL` entry.
    kinds: u16,
    /// A bit per severity: any flag of that severity.
    severities: u8,
    any: bool,
    none: bool,
}

/// An executor name, ASCII-lowercased; `prefix` when written with a
/// trailing `*` (`*` alone: any executor at all).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    text: String,
    prefix: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Numbers {
    OneOf(Vec<i64>),
    Compare(Compare),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Compare {
    op: Op,
    value: i64,
}

impl Compare {
    fn holds(self, x: i64) -> bool {
        match self.op {
            Op::Lt => x < self.value,
            Op::Le => x <= self.value,
            Op::Eq => x == self.value,
            Op::Ge => x >= self.value,
            Op::Gt => x > self.value,
        }
    }
}

impl Filter {
    /// Parses a query. Terms are separated by spaces; `"..."` quotes free
    /// text (spaces and colons included); an empty query matches all.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for (span, raw) in split(text)? {
            let error = |reason: String| FilterError {
                term: raw.to_string(),
                reason,
                span: span.clone(),
            };
            terms.push(term(raw).map_err(error)?);
        }
        Ok(Filter {
            text: text.trim().to_string(),
            terms,
        })
    }

    /// The query as typed (trimmed).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the query has no terms and so hides nothing.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether a term compares with the clock (how far over, how old), so
    /// that an evaluation may pass or fail it as time goes by alone.
    pub fn reads_clock(&self) -> bool {
        self.terms
            .iter()
            .any(|t| matches!(t.predicate, Predicate::Over(_) | Predicate::Age(_)))
    }

    /// Whether the evaluation `id` passes every term. `flags` are the
    /// record's flags as of `now`.
    pub fn matches(&self, id: &str, record: &EvalRecord, flags: &[Flag], now: Ts) -> bool {
        self.terms
            .iter()
            .all(|t| t.predicate.holds(id, record, flags, now) != t.negate)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Predicate {
    fn holds(&self, id: &str, record: &EvalRecord, flags: &[Flag], now: Ts) -> bool {
        match self {
            Predicate::Text(needle) => {
                contains(id, needle)
                    || record.executor().is_some_and(|e| contains(e, needle))
                    || shown_status(record).is_some_and(|s| contains(s.name(), needle))
            }
            Predicate::Status(mask) => mask & status_bit(shown_status(record)) != 0,
            Predicate::Flag(set) => set.holds(flags),
            Predicate::Executor(patterns) => record
                .executor()
                .is_some_and(|e| patterns.iter().any(|p| p.holds(e))),
            Predicate::Host(patterns) => record
                .engine()
                .is_some_and(|e| patterns.iter().any(|p| p.holds(e.as_str()))),
            Predicate::Exit(numbers) => record.exit_code().is_some_and(|code| match numbers {
                Numbers::OneOf(codes) => codes.contains(&code),
                Numbers::Compare(compare) => compare.holds(code),
            }),
            Predicate::Over(compare) => flags.iter().any(|flag| match flag {
                Flag::Overdue { deadline, .. } => compare.holds(now.since(*deadline)),
                _ => false,
            }),
            Predicate::Age(compare) => {
                let since = record.started_at().unwrap_or(record.first_seen);
                compare.holds(now.since(since).max(0))
            }
        }
    }
}

impl FlagSet {
    fn holds(&self, flags: &[Flag]) -> bool {
        (self.none && flags.is_empty())
            || (self.any && !flags.is_empty())
            || flags.iter().any(|flag| {
                self.kinds & (1 << index(&FlagKind::ALL, flag.kind())) != 0
                    || self.severities & severity_bit(flag.severity()) != 0
            })
    }
}

impl Pattern {
    fn holds(&self, executor: &str) -> bool {
        let (e, p) = (executor.as_bytes(), self.text.as_bytes());
        if self.prefix {
            e.len() >= p.len() && e[..p.len()].eq_ignore_ascii_case(p)
        } else {
            e.eq_ignore_ascii_case(p)
        }
    }
}

/// `needle` (ASCII-lowercase) in `haystack`, ignoring ASCII case, without
/// building a lowercased copy.
fn contains(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

fn index<T: PartialEq>(all: &[T], item: T) -> usize {
    // The model's ALL arrays list every variant.
    all.iter().position(|x| *x == item).unwrap_or(0)
}

fn status_bit(status: Option<Status>) -> u16 {
    match status {
        Some(status) => 1 << index(&Status::ALL, status),
        None => NO_STATUS,
    }
}

fn severity_bit(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 1,
        Severity::Warning => 2,
        Severity::Alarm => 4,
    }
}

/// The terms of `text` with their byte spans; a quoted term keeps its
/// quotes here so that `term` knows it is free text.
fn split(text: &str) -> Result<Vec<(Range<usize>, &str)>, FilterError> {
    let mut terms = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if bytes[i] == b'!' {
            i += 1;
        }
        if bytes.get(i) == Some(&b'"') {
            match text[i + 1..].find('"') {
                Some(close) => i += close + 2,
                None => {
                    return Err(FilterError {
                        term: text[start..].to_string(),
                        reason: "missing closing quote".to_string(),
                        span: start..text.len(),
                    });
                }
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
        }
        terms.push((start..i, &text[start..i]));
    }
    Ok(terms)
}

const FIELDS: &str = "status, flag, executor, host, over, age, exit";

fn term(raw: &str) -> Result<Term, String> {
    let (negate, body) = match raw.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if body.is_empty() {
        return Err("expected a term after !, such as !status:completed".to_string());
    }
    if let Some(quoted) = body.strip_prefix('"') {
        let inner = quoted.strip_suffix('"').unwrap_or(quoted);
        return Ok(Term {
            negate,
            predicate: Predicate::Text(inner.to_ascii_lowercase()),
        });
    }
    let Some((field, value)) = body.split_once(':') else {
        return Ok(Term {
            negate,
            predicate: Predicate::Text(body.to_ascii_lowercase()),
        });
    };
    let predicate = match field.to_ascii_lowercase().as_str() {
        "status" => Predicate::Status(statuses(value)?),
        "flag" => Predicate::Flag(flag_set(value)?),
        "executor" => Predicate::Executor(patterns(value)?),
        "host" => Predicate::Host(patterns(value)?),
        "exit" => Predicate::Exit(numbers(value)?),
        "over" => Predicate::Over(duration_compare(value)?),
        "age" => Predicate::Age(duration_compare(value)?),
        other => {
            return Err(format!(
                "unknown field {other:?}: use {FIELDS}, or quote the text"
            ));
        }
    };
    Ok(Term { negate, predicate })
}

/// Comma-separated alternatives, none of them empty.
fn alternatives(value: &str, expected: &str) -> Result<Vec<String>, String> {
    let items: Vec<String> = value.split(',').map(str::to_ascii_lowercase).collect();
    if items.iter().any(String::is_empty) {
        return Err(format!("expected {expected}"));
    }
    Ok(items)
}

fn statuses(value: &str) -> Result<u16, String> {
    let mut mask = 0;
    for item in alternatives(value, "a status such as running")? {
        mask |= match item.as_str() {
            "none" => NO_STATUS,
            "terminal" => terminal_mask(true),
            "active" => terminal_mask(false),
            name => match Status::parse(name) {
                Some(status) => status_bit(Some(status)),
                None => {
                    return Err(format!(
                        "unknown status {name:?}: one of {}, terminal, active, none",
                        Status::ALL.map(Status::name).join(", ")
                    ));
                }
            },
        };
    }
    Ok(mask)
}

fn terminal_mask(terminal: bool) -> u16 {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_terminal() == terminal)
        .fold(0, |mask, s| mask | status_bit(Some(s)))
}

fn flag_set(value: &str) -> Result<FlagSet, String> {
    let mut set = FlagSet {
        kinds: 0,
        severities: 0,
        any: false,
        none: false,
    };
    for item in alternatives(value, "a flag such as overdue")? {
        match item.as_str() {
            "any" => set.any = true,
            "none" => set.none = true,
            "alarm" => set.severities |= severity_bit(Severity::Alarm),
            "warning" => set.severities |= severity_bit(Severity::Warning),
            "info" => set.severities |= severity_bit(Severity::Info),
            name => match FlagKind::parse(name) {
                Some(kind) => set.kinds |= 1 << index(&FlagKind::ALL, kind),
                None => {
                    return Err(format!(
                        "unknown flag {name:?}: one of {}, any, none, alarm, warning, info",
                        FlagKind::ALL.map(FlagKind::name).join(", ")
                    ));
                }
            },
        }
    }
    Ok(set)
}

fn patterns(value: &str) -> Result<Vec<Pattern>, String> {
    Ok(alternatives(value, "an executor such as executor-2")?
        .into_iter()
        .map(|item| match item.strip_suffix('*') {
            Some(prefix) => Pattern {
                text: prefix.to_string(),
                prefix: true,
            },
            None => Pattern {
                text: item,
                prefix: false,
            },
        })
        .collect())
}

fn op(value: &str) -> (Option<Op>, &str) {
    for (text, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if let Some(rest) = value.strip_prefix(text) {
            return (Some(op), rest);
        }
    }
    (None, value)
}

fn numbers(value: &str) -> Result<Numbers, String> {
    const EXPECTED: &str = "expected an exit code such as 1, 137,143 or >0";
    let parse = |text: &str| text.trim().parse::<i64>().map_err(|_| EXPECTED.to_string());
    match op(value) {
        (Some(op), rest) => Ok(Numbers::Compare(Compare {
            op,
            value: parse(rest)?,
        })),
        (None, rest) => {
            let codes = alternatives(rest, "an exit code such as 1")
                .map_err(|_| EXPECTED.to_string())?
                .iter()
                .map(|code| parse(code))
                .collect::<Result<_, _>>()?;
            Ok(Numbers::OneOf(codes))
        }
    }
}

/// `>5m`, `<=90s`, `1h30m`. Without an operator it means "at least".
fn duration_compare(value: &str) -> Result<Compare, String> {
    let (op, rest) = op(value);
    match duration_ms(rest) {
        Some(ms) => Ok(Compare {
            op: op.unwrap_or(Op::Ge),
            value: ms,
        }),
        None => Err("expected a duration such as 5m".to_string()),
    }
}

/// `500ms`, `90s`, `5m`, `1h30m`, `2d`; a bare number is seconds.
fn duration_ms(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    let mut total: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let number: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" | "sec" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        total = total.checked_add(number.checked_mul(unit_ms)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}
