//! The events log: one line per observation, worded once (when pushed, or
//! for pub/sub messages when shown); bounded; and a
//! scroll position that stays on what the reader is looking at.

use crate::model::EngineName;
use crate::model::{
    ContainerAction, ContainerEvent, Observation, RedisSnapshot, Rejection, Source, StatusMessage,
};
use crate::view::*;

const NOW: Ts = Ts(1_751_763_400_000);

fn docker_event(action: ContainerAction, exit: Option<i64>) -> Observation {
    Observation::DockerEvent(ContainerEvent {
        engine: EngineName::default(),
        container_id: "c0ffee".into(),
        eval_id: "eval_1".into(),
        action,
        at: NOW,
        executor: None,
        created_at_label: None,
        timeout_label: None,
        signal: None,
        exit_code_attr: exit,
    })
}

#[test]
fn the_event_log_summarises_each_observation_in_a_line() {
    let mut log = EventLog::default();
    log.push(NOW, &docker_event(ContainerAction::Die, Some(1)));
    log.push(
        NOW,
        &Observation::RedisStatus {
            channel_status: Status::Failed,
            message: StatusMessage {
                eval_id: "eval_1".into(),
                status: Some(Status::Timeout),
                exit_code: Some(137),
                ..StatusMessage::default()
            },
        },
    );
    log.push(
        NOW,
        &Observation::RedisKeys(RedisSnapshot {
            running_set: vec!["a".into(); 12],
            pending: vec![("b".into(), "queued".into()); 3],
            ..RedisSnapshot::default()
        }),
    );
    log.push(
        NOW,
        &Observation::Rejected(Rejection {
            source: Source::Redis,
            channel: "evaluation:completed".into(),
            reason: "not JSON".into(),
        }),
    );
    log.push(
        NOW,
        &Observation::SourceDown {
            source: Source::Docker(EngineName::default()),
            reason: "connection refused\u{1b}[2J".into(),
        },
    );
    let whats: Vec<String> = log.lines().map(|l| l.what().into_owned()).collect();
    let lines: Vec<_> = log
        .lines()
        .zip(&whats)
        .map(|(l, what)| {
            (
                l.source.clone(),
                l.eval_id.as_deref(),
                what.as_str(),
                l.tone,
            )
        })
        .collect();
    let warn = Some(Severity::Warning);
    let alarm = Some(Severity::Alarm);
    assert_eq!(
        lines,
        [
            (
                Source::Docker(EngineName::default()),
                Some("eval_1"),
                "die exit=1",
                warn
            ),
            (
                Source::Redis,
                Some("eval_1"),
                "evaluation:failed status=timeout exit=137",
                warn
            ),
            (Source::Redis, None, "keys: 12 running, 3 pending", None),
            (
                Source::Redis,
                None,
                "rejected evaluation:completed: not JSON",
                alarm
            ),
            (
                Source::Docker(EngineName::default()),
                None,
                "down: connection refused",
                alarm
            ),
        ]
    );
    assert!(log.lines().all(|l| !l.what().chars().any(char::is_control)));
}

/// Log lines and heartbeats are kept as facts and worded when shown, the
/// way every other line is worded when pushed.
#[test]
fn log_lines_are_worded_when_shown() {
    let mut log = EventLog::default();
    let message = |heartbeat, is_final, content: &str| {
        Observation::RedisLog(crate::model::LogMessage {
            eval_id: "eval_\u{1b}[2J1".into(),
            sequence: Some(7),
            content: content.into(),
            is_heartbeat: heartbeat,
            is_final,
            executor_id: None,
        })
    };
    log.push(NOW, &message(false, false, "step 7 done\n"));
    log.push(NOW, &message(true, false, ""));
    log.push(NOW, &message(false, true, "42\n"));
    let whats: Vec<String> = log.lines().map(|l| l.what().into_owned()).collect();
    assert_eq!(
        whats,
        ["log #7 12 bytes", "heartbeat #7", "log #7 3 bytes final"]
    );
    for line in log.lines() {
        assert_eq!(line.source, Source::Redis);
        let id = line.eval_id.as_deref().expect("an id");
        assert!(!id.chars().any(char::is_control), "{id:?}");
    }
}

#[test]
fn the_event_log_is_bounded_and_scrolls_without_drifting() {
    let mut log = EventLog::new(5);
    for i in 0..8 {
        log.push(Ts(i), &docker_event(ContainerAction::Start, None));
    }
    assert_eq!((log.len(), log.pushed(), log.capacity()), (5, 8, 5));
    let ats = |log: &EventLog, h: usize| log.window(h).map(|l| l.at.0).collect::<Vec<_>>();
    assert_eq!(ats(&log, 3), [5, 6, 7]);
    assert!(log.is_following());
    log.scroll_up(2, 3);
    assert_eq!(ats(&log, 3), [3, 4, 5]);
    // New lines do not move what a scrolled-back reader is looking at
    // (bar the oldest, which the ring lets go: the pane stays full).
    log.push(Ts(8), &docker_event(ContainerAction::Start, None));
    assert_eq!(ats(&log, 3), [4, 5, 6]);
    // Never past the first line into a blank pane.
    log.scroll_up(100, 3);
    assert_eq!(log.scroll(), 2);
    assert_eq!(ats(&log, 3), [4, 5, 6]);
    log.scroll_down(1);
    assert_eq!(ats(&log, 3), [5, 6, 7]);
    log.scroll_down(100);
    assert!(log.is_following());
    assert_eq!(ats(&log, 10), [4, 5, 6, 7, 8]);
    log.scroll_up(1, 1);
    log.follow();
    assert_eq!(log.scroll(), 0);
    assert_eq!(ats(&log, 0), Vec::<i64>::new());
}

/// An id the state keeps already is shared with it, not copied; one it
/// does not keep is copied as it came.
#[test]
fn a_known_id_is_shared_with_its_keeper() {
    let kept = crate::model::EvalId::from("eval_1");
    let mut log = EventLog::default();
    log.push_with(NOW, &docker_event(ContainerAction::Die, Some(1)), |id| {
        (id == "eval_1").then(|| kept.clone())
    });
    log.push_with(NOW, &docker_event(ContainerAction::Die, Some(1)), |_| None);
    let ids: Vec<_> = log
        .lines()
        .map(|l| l.eval_id.clone().expect("an id"))
        .collect();
    assert!(std::sync::Arc::ptr_eq(&ids[0], &kept));
    assert!(!std::sync::Arc::ptr_eq(&ids[1], &kept));
    assert_eq!(*ids[1], *kept);
}
