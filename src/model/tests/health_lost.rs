//! Health flags about evaluations that ended badly or linger: lost
//! completions, orphans and stale running entries.

use super::support::*;
use crate::model::EngineName;
use crate::model::health::OrphanKind;
use crate::model::{ContainerAction as A, Flag, FlagKind as K, Source, Status};

/// Watching from t(0); the evaluation runs from t(1), held running by Redis.
fn held_running() -> Steps {
    then(
        watching_from(t(0)),
        steps![
            t(1) => msg(Status::Running).container(&CID[..12]),
            t(1) => event(A::Start, t(1)),
            t(2) => keys().running(ID),
        ],
    )
}

/// Incident 1: exits 1 at 1.5 s, and no completion follows.
fn fast_failure() -> Steps {
    then(
        held_running(),
        steps![tm(1_500) => event(A::Die, tm(1_500)).exit(1)],
    )
}

#[test]
fn lost_completions() {
    run_flag_cases(vec![
        FlagCase {
            name: "incident 1: exited, held running, no completion past grace",
            steps: fast_failure(),
            now: t(40),
            want: vec![K::LostCompletion],
            reasons: &[
                "exited 1 at 00:55:16.500",
                "38s ago",
                "still holds it as running",
            ],
        },
        FlagCase {
            name: "not before grace",
            steps: fast_failure(),
            now: t(31),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "long after: lost, but not also silent",
            steps: fast_failure(),
            now: t(600),
            want: vec![K::LostCompletion],
            reasons: &["9m58s ago"],
        },
        FlagCase {
            name: "not when a completion arrived",
            steps: then(
                fast_failure(),
                steps![
                    t(3) => msg(Status::Failed).says(Status::Failed).exit(1).out_err(13, 90),
                    t(4) => event(A::Destroy, t(4)),
                ],
            ),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not when the storage worker confirmed a terminal status",
            steps: then(
                fast_failure(),
                steps![
                    t(3) => storage("updated", Some(Status::Failed)),
                    t(4) => event(A::Destroy, t(4)),
                ],
            ),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "the container is already removed",
            steps: then(fast_failure(), steps![t(2) => event(A::Destroy, t(2))]),
            now: t(40),
            want: vec![K::LostCompletion],
            reasons: &["exited 1"],
        },
        FlagCase {
            name: "removed without a die seen",
            steps: then(held_running(), steps![t(5) => list(t(4), vec![])]),
            now: t(40),
            want: vec![K::LostCompletion],
            reasons: &["was removed at 00:55:20.000"],
        },
        FlagCase {
            name: "Redis never said running, but was watched since before the death",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => event(A::Start, t(1)),
                    t(2) => event(A::Die, t(2)).exit(1),
                ],
            ),
            now: t(40),
            want: vec![K::LostCompletion],
            reasons: &["no evaluation:completed or evaluation:failed seen"],
        },
        FlagCase {
            name: "Redis never said running and was not watched at the death",
            steps: steps![
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![]),
                t(1) => event(A::Start, t(1)),
                t(2) => event(A::Die, t(2)).exit(0),
                t(10) => up(Source::Redis),
                t(10) => keys(),
            ],
            now: t(40),
            want: vec![K::Orphan],
            reasons: &["exited for 38s and not removed"],
        },
        FlagCase {
            name: "running seen, then blind while it ended; the keys since say released",
            steps: then(
                held_running(),
                steps![
                    t(5) => down(Source::Redis),
                    t(10) => event(A::Die, t(10)).exit(0),
                    t(11) => event(A::Destroy, t(11)),
                    t(20) => up(Source::Redis),
                    t(20) => keys(),
                ],
            ),
            now: t(60),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "the same, but nobody removed the container",
            steps: then(
                held_running(),
                steps![
                    t(5) => down(Source::Redis),
                    t(10) => event(A::Die, t(10)).exit(0),
                    t(20) => up(Source::Redis),
                    t(20) => keys(),
                ],
            ),
            now: t(60),
            want: vec![K::Orphan],
            reasons: &["not removed", "running"],
        },
        FlagCase {
            name: "running seen, then blind while it ended; the keys still hold it",
            steps: then(
                held_running(),
                steps![
                    t(5) => down(Source::Redis),
                    t(10) => event(A::Die, t(10)).exit(0),
                    t(11) => event(A::Destroy, t(11)),
                    t(20) => up(Source::Redis),
                    t(20) => keys().running(ID),
                ],
            ),
            now: t(60),
            want: vec![K::LostCompletion],
            reasons: &["exited 0", "still holds it as running"],
        },
        FlagCase {
            name: "running seen, and Redis is down: unknown until it is back",
            steps: then(
                held_running(),
                steps![
                    t(5) => down(Source::Redis),
                    t(6) => keys(), // a scan that raced the disconnect
                    t(10) => event(A::Die, t(10)).exit(0),
                    t(11) => event(A::Destroy, t(11)),
                ],
            ),
            now: t(60),
            want: vec![K::Unknown],
            reasons: &[
                "unknown: redis blind since 00:55:17",
                "would be lost-completion",
            ],
        },
    ]);
}

#[test]
fn a_lost_completion_carries_its_evidence() {
    let state = run(then(
        fast_failure(),
        steps![t(2) => event(A::Destroy, t(2))],
    ));
    let flags = flags(&state, ID, t(40));
    assert_eq!(
        flags,
        [Flag::LostCompletion {
            ended_at: tm(1_500),
            ended_ago_ms: 38_500,
            exit_code: Some(1),
            removed: true,
            held_running: true,
        }]
    );
}

#[test]
fn orphans() {
    run_flag_cases(vec![
        FlagCase {
            name: "running though terminal",
            steps: then(
                held_running(),
                steps![
                    t(5) => msg(Status::Cancelled).says(Status::Cancelled).manual(),
                ],
            ),
            now: t(6),
            want: vec![K::Orphan],
            reasons: &["container running though the evaluation is cancelled"],
        },
        FlagCase {
            name: "exited and not removed past grace after the completion",
            steps: then(
                held_running(),
                steps![
                    t(2) => event(A::Die, t(2)).exit(0),
                    t(3) => msg(Status::Completed).exit(0).out_err(5, 0),
                ],
            ),
            now: t(34),
            want: vec![K::Orphan],
            reasons: &["container exited 31s after the evaluation became completed"],
        },
        FlagCase {
            name: "exited, terminal, within grace",
            steps: then(
                held_running(),
                steps![
                    t(2) => event(A::Die, t(2)).exit(0),
                    t(3) => msg(Status::Completed).exit(0).out_err(5, 0),
                ],
            ),
            now: t(32),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "exited, terminal and removed",
            steps: then(
                held_running(),
                steps![
                    t(2) => event(A::Die, t(2)).exit(0),
                    t(3) => msg(Status::Completed).exit(0).out_err(5, 0),
                    t(4) => gone(CID),
                ],
            ),
            now: t(300),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "running and unknown to Redis past grace",
            steps: then(
                watching_from(t(0)),
                steps![t(1) => event(A::Start, t(1)).timeout("600")],
            ),
            now: t(32),
            want: vec![K::Orphan],
            reasons: &["container running for 31s; Redis has no trace"],
        },
        FlagCase {
            name: "running and unknown to Redis within grace",
            steps: then(
                watching_from(t(0)),
                steps![t(1) => event(A::Start, t(1)).timeout("600")],
            ),
            now: t(30),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "grace counts from when Redis was read, not from the start",
            steps: steps![
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![]),
                t(1) => event(A::Start, t(1)).timeout("600"),
                t(20) => up(Source::Redis),
                t(20) => keys(),
            ],
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "heartbeats are a trace in Redis",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => event(A::Start, t(1)).timeout("600"),
                    t(20) => heartbeat(),
                ],
            ),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "a latest-log key is a trace in Redis",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => event(A::Start, t(1)).timeout("600"),
                    t(20) => keys().latest(ID, 10),
                ],
            ),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "unknown to Redis, but Redis is not read: no claim",
            steps: steps![
                t(0) => up(Source::Docker(EngineName::default())),
                t(0) => list(t(0), vec![]),
                t(1) => event(A::Start, t(1)).timeout("600"),
            ],
            now: t(60),
            want: vec![],
            reasons: &[],
        },
    ]);
}

#[test]
fn orphan_kinds() {
    let cancelled = run(then(
        held_running(),
        steps![t(5) => msg(Status::Cancelled).says(Status::Cancelled)],
    ));
    assert!(matches!(
        flags(&cancelled, ID, t(6)).as_slice(),
        [Flag::Orphan {
            kind: OrphanKind::RunningAfterTerminal,
            for_ms: 1_000,
            status: Some(Status::Cancelled),
            ..
        }]
    ));
}

#[test]
fn stale_running() {
    run_flag_cases(vec![
        FlagCase {
            name: "incident 5: in the set, no key, no container",
            steps: then(watching_from(t(0)), steps![t(1) => keys().in_set(ID)]),
            now: t(32),
            want: vec![K::StaleRunning],
            reasons: &["in running_evaluations"],
        },
        FlagCase {
            name: "within grace of first sight",
            steps: then(watching_from(t(0)), steps![t(1) => keys().in_set(ID)]),
            now: t(30),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not while the key is present",
            steps: then(watching_from(t(0)), steps![t(1) => keys().running(ID)]),
            now: t(60),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not while the container exists",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => event(A::Start, t(1)).timeout("600"),
                    t(1) => keys().in_set(ID),
                ],
            ),
            now: t(60),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "unknown while Docker has not been listed",
            steps: steps![
                t(0) => up(Source::Redis),
                t(0) => up(Source::Docker(EngineName::default())),
                t(1) => keys().in_set(ID),
            ],
            now: t(60),
            want: vec![K::Unknown],
            reasons: &["docker not read yet", "would be stale-running"],
        },
        FlagCase {
            name: "the container was removed: stale, and its completion lost",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => event(A::Die, t(1)).exit(1),
                    t(1) => keys().in_set(ID),
                    t(2) => event(A::Destroy, t(2)),
                ],
            ),
            now: t(40),
            want: vec![K::LostCompletion, K::StaleRunning],
            reasons: &[],
        },
    ]);
}

#[test]
fn grace_comes_from_the_settings() {
    let mut state = crate::model::State::new(crate::model::Settings {
        grace_ms: 5_000,
        ..crate::model::Settings::default()
    });
    for (at, observation) in fast_failure() {
        state.apply(observation, at);
    }
    assert_eq!(kinds(&flags(&state, ID, tm(6_400))), []);
    assert_eq!(kinds(&flags(&state, ID, tm(6_600))), [K::LostCompletion]);
}
