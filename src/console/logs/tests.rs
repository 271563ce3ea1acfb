//! The logs screen's origins: what a replay shows, which origin wins,
//! switching, and Docker's followed stream merged with the live messages.

use crate::model::EngineName;
use crossterm::event::KeyCode;

use super::super::tests::{console, press, select, t};
use super::*;
use crate::actions::{Effect, Outcome, OutcomeDetail};
use crate::console::{Input, ReplayStatus};
use crate::model::{LogMessage, Observation};
use crate::sources::Received;

fn live(console: &mut Console, id: &str, at: Ts, content: &str) {
    console.observe(Received {
        at,
        observation: Observation::RedisLog(LogMessage {
            eval_id: id.into(),
            content: content.into(),
            ..Default::default()
        }),
    });
}

fn texts(console: &Console) -> Vec<String> {
    let Screen::Logs(logs) = &console.views.screen else {
        panic!("the logs view is open");
    };
    logs.doc.lines().map(|l| l.text.clone()).collect()
}

fn logs(console: &Console) -> &LogsScreen {
    let Screen::Logs(logs) = &console.views.screen else {
        panic!("the logs view is open");
    };
    logs
}

fn captured(text: &str, at: Ts) -> CapturedLogs {
    CapturedLogs {
        tty: true,
        stdout: text.into(),
        total_bytes: text.len() as u64,
        captured_at: at,
        ..CapturedLogs::default()
    }
}

fn replaying(console: &mut Console) {
    console.replay = Some(ReplayStatus {
        cursor: t(60),
        start: t(0),
        end: t(60),
        speed: 1.0,
        paused: false,
    });
    console.config.read_only = Some("replaying a recording: actions are off".into());
}

#[test]
fn a_replay_shows_the_copy_captured_at_death_and_asks_nothing() {
    let mut console = console();
    console.state.apply(
        Observation::DockerLogs {
            engine: EngineName::default(),
            container_id: format!("02{}", "0".repeat(62)),
            eval_id: "eval_lost".into(),
            logs: captured("Before error\nZeroDivisionError\n", t(1)),
        },
        t(1),
    );
    replaying(&mut console);
    select(&mut console, "eval_lost");
    let outputs = press(&mut console, KeyCode::Char('l'));
    assert!(outputs.is_empty(), "a replay asks nothing: {outputs:?}");
    assert_eq!(texts(&console), ["Before error", "ZeroDivisionError"]);
    let label = logs(&console).doc.source.label(t(60));
    assert_eq!(
        label, "copy captured at death, 59s old",
        "on the recording's clock"
    );
    let status = console.views.status.as_ref().map(|s| s.text.clone());
    assert!(
        !status.unwrap_or_default().contains("read-only"),
        "a read is never refused"
    );
}

#[test]
fn a_replay_with_nothing_says_what_the_recording_holds() {
    let mut console = console();
    replaying(&mut console);
    select(&mut console, "eval_failed");
    press(&mut console, KeyCode::Char('l'));
    let label = logs(&console).doc.source.label(t(60));
    assert!(label.starts_with("the recording holds no logs"), "{label}");
}

#[test]
fn a_poorer_origin_does_not_replace_a_richer_one_and_o_switches() {
    let mut console = console();
    for (i, line) in ["one\n", "two\n", "three\n"].iter().enumerate() {
        live(&mut console, "eval_lost", t(2 + i as i64), line);
    }
    select(&mut console, "eval_lost");
    let outputs = press(&mut console, KeyCode::Char('l'));
    assert!(
        matches!(&outputs[..], [Output::Run(Effect::FetchLogs { .. })]),
        "{outputs:?}"
    );
    let outcome = Outcome::new(
        ActionKind::FetchLogs,
        Target::new("eval_lost"),
        true,
        "latest".into(),
        t(60),
    )
    .with_detail(OutcomeDetail::Logs {
        origin: LogOrigin::RedisLatest {
            age_ms: Some(5_000),
        },
        logs: captured("three\n", t(60)),
        complete: false,
        lines: Vec::new(),
    });
    console.update(Input::Outcome(Box::new(outcome)), t(60));
    assert_eq!(texts(&console), ["one", "two", "three"]);
    assert_eq!(logs(&console).doc.source.kind(), OriginKind::Live);
    press(&mut console, KeyCode::Char('o'));
    assert_eq!(texts(&console), ["three"]);
    let label = logs(&console).doc.source.label(t(60));
    assert!(label.starts_with("Redis key logs:{id}:latest"), "{label}");
    press(&mut console, KeyCode::Char('o'));
    assert_eq!(
        logs(&console).doc.source.kind(),
        OriginKind::Live,
        "o cycles"
    );
}

fn stream_event(id: u64, lines: &[(i64, &str)], end: Option<Result<(), String>>) -> Input {
    Input::LogStream(Box::new(LogStreamEvent {
        eval_id: "eval_running".into(),
        stream_id: id,
        lines: lines
            .iter()
            .map(|(at, text)| TimedLine {
                stream: StreamKind::Console,
                at: Some(t(*at)),
                text: (*text).into(),
            })
            .collect(),
        tty: true,
        end,
    }))
}

#[test]
fn a_running_container_is_followed_and_merged_with_the_live_messages() {
    let mut console = console();
    live(&mut console, "eval_running", t(3), "tick 1\n");
    select(&mut console, "eval_running");
    let outputs = press(&mut console, KeyCode::Char('l'));
    let [Output::FollowLogs { stream_id, .. }] = outputs[..] else {
        panic!("a running container is followed: {outputs:?}");
    };
    assert_eq!(logs(&console).doc.completeness(), "following");
    // Docker's copy of the live line, a line only Docker has, then a live
    // message Docker will send a moment later.
    console.update(
        stream_event(stream_id, &[(2, "tick 1"), (4, "tick 2")], None),
        t(5),
    );
    live(&mut console, "eval_running", t(6), "tick 3\n");
    console.update(stream_event(stream_id, &[(5, "tick 3")], None), t(6));
    assert_eq!(
        texts(&console),
        ["tick 1", "tick 2", "tick 3"],
        "each line once, in time order"
    );
    assert!(logs(&console).doc.following);
    // A stream that is not the open one is ignored.
    console.update(stream_event(stream_id + 99, &[(7, "stale")], None), t(7));
    assert_eq!(texts(&console).len(), 3);
    console.update(stream_event(stream_id, &[], Some(Ok(()))), t(8));
    assert_eq!(logs(&console).doc.completeness(), "complete");
    assert_eq!(logs(&console).stream, None);
    let outputs = press(&mut console, KeyCode::Esc);
    assert!(outputs.is_empty(), "nothing left to stop: {outputs:?}");
}

#[test]
fn closing_the_logs_stops_the_stream_and_a_failed_stream_falls_back() {
    let mut console = console();
    select(&mut console, "eval_running");
    let outputs = press(&mut console, KeyCode::Char('l'));
    let [Output::FollowLogs { stream_id, .. }] = outputs[..] else {
        panic!("followed: {outputs:?}");
    };
    let outputs = console.update(
        stream_event(stream_id, &[], Some(Err("connection reset".into()))),
        t(8),
    );
    assert!(
        matches!(&outputs[..], [Output::Run(Effect::FetchLogs { .. })]),
        "{outputs:?}"
    );
    let said = logs(&console)
        .origins()
        .any(|d| d.completeness().contains("connection reset"));
    assert!(said, "the failure is said");
    let mut console = super::super::tests::console();
    select(&mut console, "eval_running");
    press(&mut console, KeyCode::Char('l'));
    assert_eq!(press(&mut console, KeyCode::Esc), [Output::StopFollow]);
}

#[test]
fn t_reads_another_window() {
    let mut console = console();
    select(&mut console, "eval_lost");
    press(&mut console, KeyCode::Char('l'));
    console.in_flight.clear();
    let outputs = press(&mut console, KeyCode::Char('T'));
    let [Output::Run(Effect::FetchLogs { window, .. })] = &outputs[..] else {
        panic!("{outputs:?}");
    };
    assert_eq!(*window, LogWindow::Tail(500));
}
