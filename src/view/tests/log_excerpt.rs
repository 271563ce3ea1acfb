//! Which log evidence the detail view shows inline, and how much.

use crate::model::live_logs::{LiveLogLimits, LiveLogs};
use crate::model::{CapturedLogs, EvalRecord, Ts};
use crate::view::log_excerpt::{EXCERPT_LINES, excerpt};

fn record_with(captured: Option<&str>) -> EvalRecord {
    let mut record = EvalRecord::new(Ts(0));
    record.captured_logs = captured.map(|text| {
        Box::new(CapturedLogs {
            tty: true,
            stdout: text.into(),
            captured_at: Ts(1_000),
            ..CapturedLogs::default()
        })
    });
    record
}

fn live(lines: usize) -> LiveLogs {
    let mut logs = LiveLogs::new(LiveLogLimits::default());
    for i in 0..lines {
        logs.push("e", Ts(2_000 + i as i64), format!("live {i}\n"), false);
    }
    logs
}

/// (case, copy captured at death, live lines, (origin, lines, earlier)).
type Case = (
    &'static str,
    Option<&'static str>,
    usize,
    Option<(&'static str, usize, usize)>,
);

#[test]
fn the_richer_evidence_wins_and_only_its_last_lines_show() {
    let cases: &[Case] = &[
        ("nothing", None, 0, None),
        (
            "the copy",
            Some("a\nb\n"),
            0,
            Some(("the copy captured at death, 41s old", 2, 0)),
        ),
        (
            "the copy, as many live",
            Some("a\nb\n"),
            2,
            Some(("the copy captured", 2, 0)),
        ),
        (
            "more live lines",
            Some("a\n"),
            3,
            Some(("the live messages", 3, 0)),
        ),
        (
            "long live log",
            None,
            25,
            Some(("the live messages", EXCERPT_LINES, 15)),
        ),
    ];
    for (name, captured, lines, want) in cases {
        let record = record_with(*captured);
        let logs = live(*lines);
        let got = excerpt(&record, logs.get("e"), Ts(42_000));
        match (want, got) {
            (None, None) => {}
            (Some((origin, n, earlier)), Some(got)) => {
                assert!(got.origin.starts_with(origin), "{name}: {}", got.origin);
                assert_eq!(got.lines.len(), *n, "{name}");
                assert_eq!(got.earlier, *earlier, "{name}");
            }
            (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
        }
    }
    let logs = live(25);
    let got = excerpt(&record_with(None), logs.get("e"), Ts(42_000)).expect("live");
    assert_eq!(got.lines.last().map(String::as_str), Some("live 24"));
}

#[test]
fn with_only_the_latest_key_it_says_where_to_read_it() {
    let mut record = record_with(None);
    record.redis.latest_log_seen_bytes = Some(40);
    let got = excerpt(&record, None, Ts(0)).expect("the key's trace");
    assert!(got.lines.is_empty());
    assert!(got.origin.contains("40 bytes"), "{}", got.origin);
}
