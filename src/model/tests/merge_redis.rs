//! Merge rules for what Redis says: statuses, completions, logs, storage
//! confirmations, key scans, rejections and the sources' connections.

use super::support::*;
use crate::model::EngineName;
use crate::model::{Happening, Observation, Source, State, Status};

fn status_notes(applied: bool) -> fn(&crate::model::EvalRecord) -> usize {
    if applied {
        |r| count(r, |h| matches!(h, Happening::Status { applied: true, .. }))
    } else {
        |r| count(r, |h| matches!(h, Happening::Status { applied: false, .. }))
    }
}

#[test]
fn statuses_only_move_forward_and_the_first_terminal_stands() {
    run_cases(vec![
        Case {
            name: "the platform's ladder",
            steps: steps![
                t(0) => msg(Status::Submitted),
                t(0) => msg(Status::Queued),
                t(1) => msg(Status::Running).executor("executor-2").container(&CID[..12]).timeout(30),
                t(2) => msg(Status::Completed).exit(0).out_err(12, 0),
            ],
            expect: expect()
                .status(Some(Status::Completed))
                .that(
                    "ladder",
                    |r| r.redis.status_seen.iter().map(|s| s.0).collect(),
                    vec![
                        Status::Submitted,
                        Status::Queued,
                        Status::Running,
                        Status::Completed,
                    ],
                )
                .that("completed seen at", |r| r.redis.terminal_at(), Some(t(2)))
                .that(
                    "executor",
                    |r| r.redis.executor_id.clone(),
                    Some("executor-2".into()),
                )
                .that("timeout", |r| r.redis.timeout_secs, Some(30))
                .that("exit code", |r| r.redis.exit_code, Some(0))
                .that("applied notes", status_notes(true), 4),
        },
        Case {
            name: "a late queued after running changes only the timeline",
            steps: steps![
                t(1) => msg(Status::Running),
                t(2) => msg(Status::Queued),
            ],
            expect: expect()
                .status(Some(Status::Running))
                .that(
                    "queued never entered the ladder",
                    |r| r.redis.first_seen(Status::Queued),
                    None,
                )
                .that("refused notes", status_notes(false), 1)
                .that(
                    "last note",
                    |r| r.timeline.last().map(|e| e.what.clone()),
                    Some(Happening::Status {
                        status: Status::Queued,
                        applied: false,
                        manual: false,
                    }),
                ),
        },
        Case {
            name: "a repeated running is noted, not applied twice",
            steps: steps![t(1) => msg(Status::Running), t(2) => msg(Status::Running)],
            expect: expect()
                .that(
                    "running first seen",
                    |r| r.redis.first_seen(Status::Running),
                    Some(t(1)),
                )
                .that("refused notes", status_notes(false), 1),
        },
        Case {
            name: "incident 11: a second failed with exit -1 only counts as a duplicate",
            steps: steps![
                t(1) => msg(Status::Running),
                t(31) => msg(Status::Failed).says(Status::Failed).exit(137).out_err(40, 0),
                t(32) => msg(Status::Failed).says(Status::Failed).exit(-1).out_err(0, 52)
                    .excerpt("Container was removed before logs could be retrieved"),
            ],
            expect: expect()
                .status(Some(Status::Failed))
                .that("duplicates", |r| r.redis.duplicate_terminals, 1)
                .that("exit code", |r| r.redis.exit_code, Some(137))
                .that("output", |r| r.redis.output_len, Some(40))
                .that("error", |r| r.redis.error_len, Some(0))
                .that("excerpt", |r| r.redis.error_excerpt.clone(), None)
                .that("terminal at", |r| r.redis.terminal_at(), Some(t(31)))
                .that("refused notes", status_notes(false), 1),
        },
        Case {
            name: "a completion after a cancellation is a duplicate terminal",
            steps: steps![
                t(1) => msg(Status::Cancelled).says(Status::Cancelled).manual(),
                t(2) => msg(Status::Completed).exit(0),
            ],
            expect: expect()
                .status(Some(Status::Cancelled))
                .that("duplicates", |r| r.redis.duplicate_terminals, 1)
                .that("exit code", |r| r.redis.exit_code, None),
        },
        Case {
            name: "completion payload status failed",
            steps: steps![t(1) => msg(Status::Completed).says(Status::Failed).exit(1).out_err(0, 80)],
            expect: expect().status(Some(Status::Failed)).that(
                "exit",
                |r| r.redis.exit_code,
                Some(1),
            ),
        },
        Case {
            name: "completion payload status timeout",
            steps: steps![t(1) => msg(Status::Completed).says(Status::Timeout).exit(124)],
            expect: expect().status(Some(Status::Timeout)),
        },
        Case {
            name: "completion payload status completed or missing",
            steps: steps![t(1) => msg(Status::Completed)],
            expect: expect().status(Some(Status::Completed)),
        },
        Case {
            name: "a failed channel stays failed whatever its payload says",
            steps: steps![t(1) => msg(Status::Failed).says(Status::Completed)],
            expect: expect().status(Some(Status::Failed)),
        },
        Case {
            name: "a manual failure is applied and marked manual",
            steps: steps![
                t(1) => msg(Status::Running),
                t(90) => msg(Status::Failed).says(Status::Failed).manual().excerpt("stuck, forced by ops"),
            ],
            expect: expect()
                .status(Some(Status::Failed))
                .that("manual", |r| r.redis.manual_update, true)
                .that(
                    "excerpt",
                    |r| r.redis.error_excerpt.clone(),
                    Some("stuck, forced by ops".into()),
                )
                .that(
                    "manual note",
                    |r| {
                        count(r, |h| {
                            matches!(
                                h,
                                Happening::Status {
                                    manual: true,
                                    applied: true,
                                    ..
                                }
                            )
                        })
                    },
                    1,
                ),
        },
        Case {
            name: "a manual update after a terminal status is refused",
            steps: steps![
                t(1) => msg(Status::Completed).exit(0),
                t(2) => msg(Status::Failed).says(Status::Failed).manual(),
            ],
            expect: expect()
                .status(Some(Status::Completed))
                .that("manual", |r| r.redis.manual_update, false)
                .that("duplicates", |r| r.redis.duplicate_terminals, 1),
        },
        Case {
            name: "completion before running (out of order)",
            steps: steps![
                t(2) => msg(Status::Completed).exit(0),
                t(3) => msg(Status::Running).executor("executor-2"),
            ],
            expect: expect()
                .status(Some(Status::Completed))
                .that("duplicates", |r| r.redis.duplicate_terminals, 0)
                .that(
                    "executor filled from the late message",
                    |r| r.redis.executor_id.clone(),
                    Some("executor-2".into()),
                ),
        },
    ]);
}

#[test]
fn live_logs_count_messages_heartbeats_and_the_final_one() {
    run_cases(vec![Case {
        name: "logs",
        steps: steps![
            t(1) => log("Before error\r\n"),
            t(2) => heartbeat(),
            t(3) => log("Traceback\r\n"),
            t(4) => final_log(""),
            t(5) => final_log(""),
        ],
        expect: expect()
            .that("messages", |r| r.redis.log_messages, 4)
            .that("bytes", |r| r.redis.log_bytes, 25)
            .that("heartbeats", |r| r.redis.heartbeats, 1)
            .that("last log at", |r| r.redis.last_log_at, Some(t(5)))
            .that("final seen", |r| r.redis.final_log_seen, true)
            .that(
                "first noted once",
                |r| count(r, |h| *h == Happening::FirstLogMessage),
                1,
            )
            .that(
                "final noted once",
                |r| count(r, |h| *h == Happening::FinalLogMessage),
                1,
            ),
    }]);
}

#[test]
fn storage_confirmations_are_kept_and_move_forward() {
    run_cases(vec![
        Case {
            name: "confirmed running then completed",
            steps: steps![
                t(1) => storage("running", Some(Status::Running)),
                t(5) => storage("updated", Some(Status::Completed)),
            ],
            expect: expect()
                .that(
                    "storage status",
                    |r| r.redis.storage_status,
                    Some(Status::Completed),
                )
                .that("confirmed at", |r| r.redis.storage_confirmed_at, Some(t(5)))
                .that("terminal", |r| r.redis.is_terminal(), true)
                .that("status from messages untouched", |r| r.redis.status, None)
                .that(
                    "notes",
                    |r| count(r, |h| matches!(h, Happening::Storage { .. })),
                    2,
                ),
        },
        Case {
            name: "a terminal confirmation stands",
            steps: steps![
                t(1) => storage("updated", Some(Status::Failed)),
                t(2) => storage("updated", Some(Status::Completed)),
            ],
            expect: expect().that(
                "storage status",
                |r| r.redis.storage_status,
                Some(Status::Failed),
            ),
        },
        Case {
            name: "a late queued confirmation does not undo running",
            steps: steps![
                t(1) => storage("running", Some(Status::Running)),
                t(2) => storage("queued", Some(Status::Queued)),
            ],
            expect: expect().that(
                "storage status",
                |r| r.redis.storage_status,
                Some(Status::Running),
            ),
        },
        Case {
            name: "a confirmation without status is still a trace",
            steps: steps![t(1) => storage("submitted", None)],
            expect: expect()
                .that("storage status", |r| r.redis.storage_status, None)
                .that("heard of", |r| r.redis.has_heard_of(), true),
        },
    ]);
}

#[test]
fn key_scans_set_and_clear_what_they_list() {
    let other = "eval_other";
    run_cases(vec![
        Case {
            name: "held running, then released",
            steps: steps![
                t(1) => keys().running(ID).latest(ID, 120),
                t(2) => keys().running(ID).latest(ID, 300),
                t(40) => keys().latest(ID, 300),
                t(400) => keys(),
            ],
            expect: expect()
                .that("in set", |r| r.redis.in_running_set, false)
                .that("key", |r| r.redis.running_key.clone(), None)
                .that("latest cleared", |r| r.redis.latest_log_bytes, None)
                .that(
                    "joined",
                    |r| count(r, |h| *h == Happening::RunningSetJoined),
                    1,
                )
                .that("left", |r| count(r, |h| *h == Happening::RunningSetLeft), 1)
                .that(
                    "key seen",
                    |r| count(r, |h| *h == Happening::RunningKeySeen),
                    1,
                )
                .that(
                    "key gone",
                    |r| count(r, |h| *h == Happening::RunningKeyGone),
                    1,
                )
                .that(
                    "left at",
                    |r| {
                        r.timeline
                            .iter()
                            .find(|e| e.what == Happening::RunningSetLeft)
                            .map(|e| e.at)
                    },
                    Some(t(40)),
                )
                .that(
                    "facts from the key",
                    |r| {
                        (
                            r.redis.executor_id.clone(),
                            r.redis.container_id.clone(),
                            r.redis.timeout_secs,
                        )
                    },
                    (
                        Some("executor-2".into()),
                        Some(CID[..12].to_string()),
                        Some(30),
                    ),
                ),
        },
        Case {
            name: "the latest scan is what stands",
            steps: steps![
                t(1) => keys().pending(ID, "queued"),
                t(2) => keys().in_set(ID).latest(ID, 64),
            ],
            expect: expect()
                .that("pending cleared", |r| r.redis.pending.clone(), None)
                .that("in set", |r| r.redis.in_running_set, true)
                .that("key absent", |r| r.redis.running_key.is_none(), true)
                .that(
                    "latest",
                    |r| (r.redis.latest_log_bytes, r.redis.latest_log_ttl_ms),
                    (Some(64), Some(300_000)),
                )
                .that("held running", |r| r.redis.holds_running(), true),
        },
        Case {
            name: "pending",
            steps: steps![t(1) => keys().pending(ID, "queued").in_set(other)],
            expect: expect()
                .that(
                    "pending",
                    |r| r.redis.pending.clone(),
                    Some("queued".into()),
                )
                .that("in set", |r| r.redis.in_running_set, false),
        },
    ]);
}

#[test]
fn a_key_scan_creates_records_for_what_it_mentions() {
    let state = run(steps![
        t(1) => keys().in_set("eval_a").running_key("eval_b").pending("eval_c", "queued").latest("eval_d", 1),
    ]);
    let mut ids: Vec<&str> = state.evals.keys().map(|id| &**id).collect();
    ids.sort();
    assert_eq!(ids, ["eval_a", "eval_b", "eval_c", "eval_d"]);
    assert_eq!(state.redis.last_sync_at, Some(t(1)));
}

#[test]
fn rejected_payloads_are_counted_per_channel_and_change_nothing_else() {
    let before = run(steps![t(1) => msg(Status::Running)]);
    let mut after = before.clone();
    after.apply(rejected("evaluation:completed"), t(2));
    after.apply(rejected("evaluation:completed"), t(3));
    after.apply(rejected("evaluation:x:logs"), t(4));
    assert_eq!(after.rejected.total, 3);
    assert_eq!(after.rejected.by_channel["evaluation:completed"], 2);
    assert_eq!(after.rejected.by_channel["evaluation:x:logs"], 1);
    assert_eq!(after.rejected.recent.len(), 3);
    assert_eq!(after.rejected.recent[0].0, t(2));
    assert_eq!(after.evals, before.evals);
    assert_eq!(after.redis, before.redis);
    assert_eq!(after.engines, before.engines);
}

#[test]
fn source_connections_record_blind_windows() {
    let mut state = State::default();
    // Never connected: blind from the start.
    state.apply(down(Source::Redis), t(0));
    assert_eq!(state.redis.blind_windows.len(), 1);
    assert_eq!(state.redis.disconnects, 0);
    state.apply(up(Source::Redis), t(2));
    assert!(state.redis.connected);
    assert_eq!(state.redis.blind_windows[0].start, t(0));
    assert_eq!(state.redis.blind_windows[0].end, Some(t(2)));
    assert!(!state.redis.synced(), "connected but keys not read yet");
    assert_eq!(state.redis.watching_since(), None);
    state.apply(keys().into(), t(3));
    assert!(state.redis.synced());
    assert_eq!(state.redis.watching_since(), Some(t(2)));
    assert!(!state.engines_synced(), "Docker is tracked apart");

    // A probe sent at 8.5 s was answered at 9 s: proven live at 8.5 s, so
    // a loss noticed at 10 s opens the window there.
    state.apply(
        Observation::SourceLive {
            source: Source::Redis,
            probed_at: tm(8_500),
        },
        t(9),
    );
    assert_eq!(state.redis.last_live_at, Some(tm(8_500)));
    state.apply(down(Source::Redis), t(10));
    state.apply(down(Source::Redis), t(11)); // retries fail: one window
    assert_eq!(state.redis.disconnects, 1);
    assert_eq!(state.redis.blind_windows.len(), 2);
    assert_eq!(state.redis.blind_windows[1].start, tm(8_500));
    assert!(!state.redis.not_answering, "refused, not silent");
    assert_eq!(state.redis.last_stretch(), Some((t(2), tm(8_500))));
    assert_eq!(state.redis.blind_windows[1].end, None);
    assert!(!state.redis.synced());
    assert_eq!(state.redis.last_error.as_deref(), Some("connection reset"));

    state.apply(up(Source::Redis), t(20));
    assert_eq!(state.redis.blind_windows[1].end, Some(t(20)));
    assert_eq!(state.redis.last_error, None);
    assert!(
        !state.redis.synced(),
        "the scan at t(3) predates this connection"
    );
    state.apply(keys().into(), t(21));
    assert_eq!(state.redis.watching_since(), Some(t(20)));
}

#[test]
fn blind_windows_are_bounded() {
    let mut state = State::default();
    for i in 0..15 {
        state.apply(up(Source::Docker(EngineName::default())), t(2 * i));
        state.apply(down(Source::Docker(EngineName::default())), t(2 * i + 1));
    }
    assert_eq!(state.engines[0].1.disconnects, 15);
    assert_eq!(state.engines[0].1.blind_windows.len(), 10);
    // Each window opens at the last proof of life: the connection itself.
    assert_eq!(state.engines[0].1.blind_windows[0].start, t(10));
}

#[test]
fn a_chatty_timeline_keeps_its_head_and_its_newest() {
    let mut steps = steps![t(0) => msg(Status::Submitted), t(1) => msg(Status::Running)];
    for i in 0..100 {
        steps.push((t(2 + i), msg(Status::Queued).into()));
    }
    let state = run(steps);
    let timeline = &record(&state, ID).timeline;
    assert_eq!(timeline.len(), crate::model::record::TIMELINE_CAP);
    assert_eq!(
        timeline.dropped,
        102 - crate::model::record::TIMELINE_CAP as u32
    );
    let first = timeline.iter().next().map(|e| (e.at, e.what.clone()));
    assert_eq!(
        first,
        Some((
            t(0),
            Happening::Status {
                status: Status::Submitted,
                applied: true,
                manual: false
            }
        ))
    );
    assert_eq!(timeline.last().map(|e| e.at), Some(t(101)));
}
