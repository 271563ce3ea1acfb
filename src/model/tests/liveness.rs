//! A source that is blind (down, not answering, or not read again yet):
//! its blind window opens at its last proof of life, flags that rest on
//! something it did not show become `unknown` for evidence inside the
//! blindness, and are decided once it is back and read in full; flags that
//! rest on positive facts stay.

use super::support::*;
use crate::model::EngineName;
use crate::model::{ContainerAction as A, ContainerState as S, Flag, FlagKind as K, Source};
use crate::model::{Observation, Status};

/// Watched from t(0), probed every second until t(4); running from t(1),
/// held running by the keys read at t(2).
fn held_running() -> Steps {
    then(
        watching_from(t(0)),
        steps![
            t(1) => msg(Status::Running).container(&CID[..12]),
            t(1) => event(A::Start, t(1)),
            t(2) => keys().running(ID),
            t(3) => live(Source::Redis, t(3)),
            t(4) => live(Source::Redis, tm(4_000)),
        ],
    )
}

/// Redis frozen after the probe of t(4), noticed at t(7); the container
/// dies at t(10).
fn frozen_while_it_died() -> Steps {
    then(
        held_running(),
        steps![
            t(7) => unanswered(Source::Redis),
            t(10) => event(A::Die, t(10)).exit(1),
        ],
    )
}

#[test]
fn blind_evidence_is_unknown_until_the_source_is_read_again() {
    run_flag_cases(vec![
        FlagCase {
            name: "died while Redis was frozen: unknown, not lost",
            steps: frozen_while_it_died(),
            now: t(60),
            want: vec![K::Unknown],
            reasons: &[
                "unknown: redis blind since 00:55:19",
                "would be lost-completion: container exited 1",
                "decided once it is back",
            ],
        },
        FlagCase {
            name: "back but the keys not read yet: still unknown",
            steps: then(frozen_while_it_died(), steps![t(30) => up(Source::Redis)]),
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["redis blind 00:55:19–00:55:45", "being read again"],
        },
        FlagCase {
            name: "read again, the keys still hold it: lost",
            steps: then(
                frozen_while_it_died(),
                steps![t(30) => up(Source::Redis), t(31) => keys().running(ID)],
            ),
            now: t(60),
            want: vec![K::LostCompletion],
            reasons: &["still holds it as running"],
        },
        FlagCase {
            name: "read again, the keys released, the container left: only the leak is sure",
            steps: then(
                frozen_while_it_died(),
                steps![t(30) => up(Source::Redis), t(31) => keys()],
            ),
            now: t(60),
            want: vec![K::Orphan],
            reasons: &["not watching Redis"],
        },
        FlagCase {
            name: "read again, released and removed: nothing owed",
            steps: then(
                frozen_while_it_died(),
                steps![
                    t(11) => event(A::Destroy, t(11)),
                    t(30) => up(Source::Redis),
                    t(31) => keys(),
                ],
            ),
            now: t(60),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "the whole grace watched before the freeze: lost stands",
            steps: then(
                held_running(),
                steps![
                    t(4) => event(A::Die, tm(3_000)).exit(1),
                    t(40) => live(Source::Redis, t(40)),
                    t(43) => unanswered(Source::Redis),
                ],
            ),
            now: t(60),
            want: vec![K::LostCompletion],
            reasons: &["exited 1 at 00:55:18.000"],
        },
        FlagCase {
            name: "the grace runs into the freeze: unknown",
            steps: then(
                held_running(),
                steps![
                    t(4) => event(A::Die, tm(3_000)).exit(1),
                    t(20) => live(Source::Redis, t(20)),
                    t(23) => unanswered(Source::Redis),
                ],
            ),
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["redis blind since 00:55:35"],
        },
        FlagCase {
            name: "Redis down and never read: what is known, not an orphan",
            steps: steps![
                t(0) => down(Source::Redis),
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![facts(S::Exited).created(Some(&label(-100)))]),
            ],
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["redis blind since 00:55:15", "would be lost-completion"],
        },
        FlagCase {
            name: "Redis not even tried yet: not read yet",
            steps: steps![
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![facts(S::Exited).created(Some(&label(-100)))]),
            ],
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["redis not read yet"],
        },
        FlagCase {
            name: "overdue rests on a running container: it stays while Redis is blind",
            steps: then(held_running(), steps![t(7) => unanswered(Source::Redis)]),
            now: t(60),
            want: vec![K::Overdue],
            reasons: &["past its 30s timeout"],
        },
    ]);
}

#[test]
fn silence_and_stale_entries_while_blind() {
    let quiet_before = then(
        held_running(),
        steps![
            t(100) => live(Source::Redis, t(100)),
            t(103) => unanswered(Source::Redis),
        ],
    );
    run_flag_cases(vec![
        FlagCase {
            name: "silence watched for longer than the limit stands",
            steps: quiet_before.clone(),
            now: t(150),
            // Overdue too: its 30 s timeout passed long ago.
            want: vec![K::Overdue, K::Silent],
            reasons: &["no log message or heartbeat for 1m39s"],
        },
        FlagCase {
            name: "silence that runs into the blindness is unknown",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => msg(Status::Running),
                    t(1) => event(A::Start, t(1)).timeout("600"),
                    t(50) => live(Source::Redis, t(50)),
                    t(53) => unanswered(Source::Redis),
                ],
            ),
            now: t(150),
            want: vec![K::Unknown],
            reasons: &["would be silent"],
        },
        FlagCase {
            name: "stale-running waits for Redis to be read again",
            steps: steps![
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![]),
                t(0) => up(Source::Redis),
                t(0) => keys().in_set(ID),
                t(5) => live(Source::Redis, t(5)),
                t(8) => unanswered(Source::Redis),
                t(20) => up(Source::Redis),
            ],
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["would be stale-running", "redis blind 00:55:20–00:55:35"],
        },
    ]);
}

#[test]
fn windows_open_at_the_last_proof_of_life() {
    let mut state = run(held_running());
    assert_eq!(state.redis.last_live_at, Some(t(4)));
    state.apply(unanswered(Source::Redis), t(7));
    let window = state.redis.blind_windows.last().expect("a window");
    assert_eq!((window.start, window.end), (t(4), None));
    assert!(state.redis.not_answering && !state.redis.connected);
    assert_eq!(state.redis.last_stretch(), Some((t(0), t(4))));
    // A probe answer that arrives after the loss proves nothing new.
    state.apply(live(Source::Redis, t(6)), t(8));
    assert_eq!(state.redis.last_live_at, Some(t(4)));
    // Retries that time out keep the one window.
    state.apply(unanswered(Source::Redis), t(12));
    assert_eq!(state.redis.blind_windows.len(), 1);
    state.apply(up(Source::Redis), t(20));
    assert!(!state.redis.not_answering);
    assert_eq!(state.redis.blind_windows[0].end, Some(t(20)));

    // A Docker list that shows what the stream never said: counted, and the
    // window of the restart opens at the last list that agreed.
    let mut state = run(watching_from(t(0)));
    state.apply(live(Source::Docker(EngineName::default()), t(9)), t(9));
    state.apply(
        Observation::DockerStreamMissed {
            engine: EngineName::default(),
            missed: 2,
            example: "abc listed ended, no die event".to_string(),
            consistent_at: Some(t(0)),
        },
        t(10),
    );
    state.apply(down(Source::Docker(EngineName::default())), t(10));
    assert_eq!(state.engines[0].1.missed_changes, 2);
    assert_eq!(state.engines[0].1.blind_windows[0].start, t(0));
}

#[test]
fn an_unknown_keeps_its_evidence() {
    let state = run(frozen_while_it_died());
    let flags = flags(&state, ID, t(60));
    let [Flag::Unknown { blind, suspected }] = flags.as_slice() else {
        panic!("{flags:?}");
    };
    assert_eq!(blind.source, Source::Redis);
    assert_eq!((blind.since, blind.until), (Some(t(4)), None));
    assert_eq!(
        **suspected,
        Flag::LostCompletion {
            ended_at: t(10),
            ended_ago_ms: 50_000,
            exit_code: Some(1),
            removed: false,
            held_running: true,
        }
    );
    assert_eq!(flags[0].label(), "unknown: redis blind since 00:55:19");
    assert_eq!(flags[0].severity(), crate::model::Severity::Info);
}

#[test]
fn lag_is_kept_while_behind_and_cleared_when_caught_up_or_down() {
    let lag = |waiting, oldest_ms| Observation::SourceLag {
        source: Source::Redis,
        waiting,
        oldest_ms,
    };
    let mut state = run(watching_from(t(0)));
    state.apply(lag(12_340, 800), t(1));
    assert_eq!(
        state.redis.lag,
        Some(crate::model::Lag {
            waiting: 12_340,
            oldest_ms: 800
        })
    );
    state.apply(lag(0, 0), t(2));
    assert_eq!(state.redis.lag, None);
    state.apply(lag(5, 10), t(3));
    state.apply(down(Source::Redis), t(4));
    assert_eq!(state.redis.lag, None, "a lost connection has no queue");
    state.apply(lag(5, 10), t(5));
    assert_eq!(state.redis.lag, None, "nor does a source that is down");
}
