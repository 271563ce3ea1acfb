//! The last lines of an evaluation's best log evidence, for the detail
//! view: what a lost completion or an empty failure printed, with where it
//! came from and how old it is, so that triage fits on one screen. Pure.

use crate::model::live_logs::LiveLog;
use crate::model::{EvalRecord, Ts, human_duration};

/// Lines shown inline.
pub const EXCERPT_LINES: usize = 10;

#[derive(Clone, Debug, PartialEq)]
pub struct LogExcerpt {
    /// Where the lines came from and their age, e.g. "the copy captured at
    /// death, 41s old".
    pub origin: String,
    /// The last lines, oldest first (already sanitised at entry).
    pub lines: Vec<String>,
    /// Lines before these.
    pub earlier: usize,
}

fn last_lines(all: Vec<String>, origin: String) -> LogExcerpt {
    let earlier = all.len().saturating_sub(EXCERPT_LINES);
    LogExcerpt {
        origin,
        lines: all.into_iter().skip(earlier).collect(),
        earlier,
    }
}

/// The richest of the copy captured at death and the live buffer (more
/// lines; the copy when as many), its last lines. With neither, what
/// `logs:{id}:latest` held, without lines (its content is read by `l`).
pub fn excerpt(record: &EvalRecord, live: Option<&LiveLog>, now: Ts) -> Option<LogExcerpt> {
    let captured = record
        .captured_logs
        .as_deref()
        .filter(|l| !l.is_empty())
        .map(|logs| {
            let mut lines: Vec<String> = logs.stdout.lines().map(str::to_string).collect();
            lines.extend(logs.stderr.lines().map(|l| format!("err {l}")));
            let origin = format!(
                "the copy captured at death, {} old",
                human_duration(now.since(logs.captured_at).max(0))
            );
            (lines, origin)
        });
    let live = live.filter(|l| l.bytes() > 0).map(|log| {
        let lines: Vec<String> = log.lines().into_iter().map(str::to_string).collect();
        let age = log
            .last_at
            .map(|at| {
                format!(
                    ", last message {} ago",
                    human_duration(now.since(at).max(0))
                )
            })
            .unwrap_or_default();
        (
            lines,
            format!("the live messages of evaluation:{{id}}:logs{age}"),
        )
    });
    let best = match (captured, live) {
        (Some(c), Some(l)) if l.0.len() > c.0.len() => Some(l),
        (Some(c), _) => Some(c),
        (None, l) => l,
    };
    if let Some((lines, origin)) = best {
        return Some(last_lines(lines, origin));
    }
    let bytes = record
        .redis
        .latest_log_bytes
        .or(record.redis.latest_log_seen_bytes)
        .filter(|b| *b > 0)?;
    Some(LogExcerpt {
        origin: format!("logs:{{id}}:latest held {bytes} bytes: open the logs (l) to read it"),
        lines: Vec::new(),
        earlier: 0,
    })
}
