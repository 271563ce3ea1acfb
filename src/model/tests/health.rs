//! Health flags about running and finished evaluations: overdue, empty
//! failures, silence and timeouts, and how flags are ranked.

use super::support::*;
use crate::model::health::worst;
use crate::model::{ContainerAction as A, Flag, FlagKind as K, Severity, Source, Status};

/// Watching from t(0); the evaluation runs from t(1) (created at t(0),
/// timeout `timeout` seconds), held running by Redis.
fn running(timeout: &str) -> Steps {
    then(
        watching_from(t(0)),
        steps![
            t(1) => msg(Status::Running),
            t(1) => event(A::Start, t(1)).timeout(timeout),
            t(2) => keys().running(ID),
        ],
    )
}

/// Died at 2 s, then `evidence` (or none), then a completion with empty
/// output and error; the container is gone.
fn empty_failure(evidence: Steps) -> Steps {
    let died = then(
        watching_from(t(0)),
        steps![t(2) => event(A::Die, t(2)).exit(1)],
    );
    then(
        then(died, evidence),
        steps![
            t(3) => msg(Status::Failed).says(Status::Failed).exit(1).out_err(0, 0),
            t(4) => event(A::Destroy, t(4)),
        ],
    )
}

#[test]
fn overdue() {
    run_flag_cases(vec![
        FlagCase {
            name: "incident 3: running past created_at + timeout",
            steps: running("30"),
            now: t(45),
            want: vec![K::Overdue],
            reasons: &["running 15s past its 30s timeout (deadline 00:55:45.000)"],
        },
        FlagCase {
            name: "not at the deadline",
            steps: running("30"),
            now: t(30),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "an unparseable created_at is never overdue",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => msg(Status::Running),
                    t(1) => event(A::Start, t(1)).created(Some("yesterday")),
                    t(80) => heartbeat(),
                ],
            ),
            now: t(120),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "an exited container is not overdue",
            steps: then(
                running("30"),
                steps![
                    t(35) => event(A::Die, t(35)).exit(137),
                    t(36) => msg(Status::Failed).exit(137).out_err(3, 0),
                    t(37) => event(A::Destroy, t(37)),
                ],
            ),
            now: t(60),
            want: vec![K::TimedOut],
            reasons: &[],
        },
    ]);
}

#[test]
fn overdue_carries_the_amount() {
    let state = run(running("30"));
    assert_eq!(
        flags(&state, ID, t(45)),
        [Flag::Overdue {
            deadline: t(30),
            over_ms: 15_000,
            timeout_secs: 30
        }]
    );
}

#[test]
fn empty_failures() {
    run_flag_cases(vec![
        FlagCase {
            name: "incident 2, with Docker logs captured",
            steps: empty_failure(steps![t(2) => docker_logs(CID, "Before error\r\n", t(2))]),
            now: t(5),
            want: vec![K::EmptyFailure],
            reasons: &["failed with empty output and error, but Docker logs hold 14 bytes"],
        },
        FlagCase {
            name: "with live log messages",
            steps: empty_failure(steps![t(1) => log("Before error\r\n")]),
            now: t(5),
            want: vec![K::EmptyFailure],
            reasons: &["1 live log messages (14 bytes)"],
        },
        FlagCase {
            name: "with logs:{id}:latest",
            steps: empty_failure(steps![t(2) => keys().latest(ID, 40)]),
            now: t(5),
            want: vec![K::EmptyFailure],
            reasons: &["logs:{id}:latest holds 40 bytes"],
        },
        FlagCase {
            name: "the latest key's evidence outlives its TTL",
            steps: then(
                empty_failure(steps![t(2) => keys().latest(ID, 40)]),
                steps![t(400) => keys()],
            ),
            now: t(401),
            want: vec![K::EmptyFailure],
            reasons: &["logs:{id}:latest held 40 bytes"],
        },
        FlagCase {
            name: "incident 12: sys.exit(3) printed nothing",
            steps: empty_failure(steps![t(1) => heartbeat(), t(2) => final_log("")]),
            now: t(5),
            want: vec![K::EmptyFailure],
            reasons: &["no sign it printed anything"],
        },
        FlagCase {
            name: "not when output arrived",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => log("Before error\r\n"),
                    t(3) => msg(Status::Failed).exit(1).out_err(14, 0),
                ],
            ),
            now: t(5),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not for a success",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => log("hi\r\n"),
                    t(3) => msg(Status::Completed).exit(0).out_err(0, 0),
                ],
            ),
            now: t(5),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not for an operator's manual failure",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => log("Before error\r\n"),
                    t(90) => msg(Status::Failed).says(Status::Failed).manual().excerpt("forced"),
                ],
            ),
            now: t(91),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "a completion that says failed",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(1) => log("x"),
                    t(3) => msg(Status::Completed).says(Status::Failed).out_err(0, 0),
                ],
            ),
            now: t(5),
            want: vec![K::EmptyFailure],
            reasons: &["failed with empty output"],
        },
    ]);
}

#[test]
fn silence() {
    run_flag_cases(vec![
        FlagCase {
            name: "running, no log or heartbeat for over 90 s",
            steps: running("600"),
            now: t(92),
            want: vec![K::Silent],
            reasons: &["no log message or heartbeat for 1m31s"],
        },
        FlagCase {
            name: "not at 90 s",
            steps: running("600"),
            now: t(91),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "heartbeats keep it from silent",
            steps: then(
                running("600"),
                steps![t(31) => heartbeat(), t(61) => heartbeat()],
            ),
            now: t(150),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "quiet after the last heartbeat",
            steps: then(
                running("600"),
                steps![t(31) => heartbeat(), t(61) => heartbeat()],
            ),
            now: t(152),
            want: vec![K::Silent],
            reasons: &["1m31s"],
        },
        FlagCase {
            name: "unknown while Redis is not watched",
            steps: then(running("600"), steps![t(50) => down(Source::Redis)]),
            now: t(200),
            want: vec![K::Unknown],
            reasons: &["would be silent", "3m19s"],
        },
        FlagCase {
            name: "counted from when watching began again",
            steps: then(
                running("600"),
                steps![
                    t(50) => down(Source::Redis),
                    t(100) => up(Source::Redis),
                    t(100) => keys().running(ID),
                ],
            ),
            now: t(180),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "Redis says running, no container known",
            steps: then(
                watching_from(t(0)),
                steps![t(1) => msg(Status::Running), t(1) => keys().running(ID)],
            ),
            now: t(92),
            want: vec![K::Silent],
            reasons: &[],
        },
        FlagCase {
            name: "not once terminal",
            steps: then(
                running("600"),
                steps![t(3) => msg(Status::Completed).out_err(2, 0)],
            ),
            now: t(200),
            want: vec![K::Orphan],
            reasons: &[],
        },
    ]);
}

#[test]
fn timed_out() {
    let ran = |secs_ms: i64, code: i64| {
        then(
            running("30"),
            steps![
                tm(secs_ms) => event(A::Die, tm(secs_ms)).exit(code),
                tm(secs_ms + 100) => msg(Status::Failed).exit(code).out_err(5, 0),
                tm(secs_ms + 200) => event(A::Destroy, tm(secs_ms + 200)),
            ],
        )
    };
    run_flag_cases(vec![
        FlagCase {
            name: "137 after the 5 s stop grace",
            steps: ran(35_000, 137),
            now: t(40),
            want: vec![K::TimedOut],
            reasons: &["timed out: exit 137 after 35s of a 30s limit"],
        },
        FlagCase {
            name: "143 at the timeout",
            steps: ran(30_200, 143),
            now: t(40),
            want: vec![K::TimedOut],
            reasons: &["exit 143"],
        },
        FlagCase {
            name: "124 just before the limit",
            steps: ran(29_500, 124),
            now: t(40),
            want: vec![K::TimedOut],
            reasons: &["exit 124"],
        },
        FlagCase {
            name: "not 137 after 2 s of a 30 s limit (OOM or kill)",
            steps: ran(2_000, 137),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "not exit 1 at the limit",
            steps: ran(31_000, 1),
            now: t(40),
            want: vec![],
            reasons: &[],
        },
        FlagCase {
            name: "a completion that says timeout",
            steps: then(
                watching_from(t(0)),
                steps![
                    t(3) => msg(Status::Completed).says(Status::Timeout).exit(124).out_err(5, 0),
                ],
            ),
            now: t(5),
            want: vec![K::TimedOut],
            reasons: &["timed out: exit 124"],
        },
    ]);
}

#[test]
fn severities_and_order() {
    let info_only = run(then(
        running("30"),
        steps![
            t(35) => event(A::Die, t(35)).exit(137),
            t(36) => msg(Status::Failed).exit(137).out_err(0, 0),
            t(37) => event(A::Destroy, t(37)),
        ],
    ));
    let got = flags(&info_only, ID, t(40));
    assert_eq!(kinds(&got), [K::EmptyFailure, K::TimedOut]);
    assert!(got.iter().all(|f| f.severity() == Severity::Info));
    assert_eq!(worst(&got), Some(Severity::Info));
    assert_eq!(worst(&[]), None);

    // Pushed as orphan (warning) then empty failure (alarm): sorted.
    let mixed = run(then(
        running("30"),
        steps![
            t(3) => log("Before error\r\n"),
            t(5) => msg(Status::Failed).says(Status::Failed).exit(1).out_err(0, 0),
        ],
    ));
    let got = flags(&mixed, ID, t(45));
    assert_eq!(kinds(&got), [K::Overdue, K::EmptyFailure, K::Orphan]);
    let severities: Vec<Severity> = got.iter().map(Flag::severity).collect();
    assert_eq!(
        severities,
        [Severity::Alarm, Severity::Alarm, Severity::Warning]
    );
    assert_eq!(worst(&got), Some(Severity::Alarm));

    let silent = run(running("600"));
    assert_eq!(flags(&silent, ID, t(92))[0].severity(), Severity::Warning);
}

#[test]
fn flag_kinds_round_trip_by_name() {
    for kind in K::ALL {
        assert_eq!(K::parse(kind.name()), Some(kind));
    }
    assert_eq!(K::parse("nonsense"), None);
}
