//! Merge rules for what Docker says: events, lists, inspects, removals and
//! captured logs, including duplicates, replays and stale reads.

use super::support::*;
use crate::model::{ContainerAction as A, ContainerState as S, EvalRecord, Happening, Status};

fn notes_of(action: A) -> fn(&EvalRecord) -> usize {
    match action {
        A::Die => |r| {
            count(r, |h| {
                matches!(h, Happening::Container { action: A::Die, .. })
            })
        },
        A::Start => |r| {
            count(r, |h| {
                matches!(
                    h,
                    Happening::Container {
                        action: A::Start,
                        ..
                    }
                )
            })
        },
        _ => unreachable!("only die and start are counted"),
    }
}

fn gone_notes(r: &EvalRecord) -> usize {
    count(r, |h| *h == Happening::ContainerGone)
}

#[test]
fn container_states_only_move_forward() {
    run_cases(vec![
        Case {
            name: "a whole life from events",
            steps: steps![
                tm(100) => event(A::Create, tm(100)),
                tm(300) => event(A::Start, tm(300)),
                tm(900) => event(A::Die, tm(900)).exit(1),
                tm(950) => event(A::Destroy, tm(950)),
            ],
            expect: expect()
                .container(Some(S::Removed))
                .that("started", |r| dock(r).started_at, Some(tm(300)))
                .that("finished", |r| dock(r).finished_at, Some(tm(900)))
                .that("removed", |r| dock(r).removed_at, Some(tm(950)))
                .that("ended at", |r| dock(r).ended_at(), Some(tm(900)))
                .that("exit", |r| dock(r).exit_code, Some(1))
                .that(
                    "labels",
                    |r| {
                        (
                            dock(r).executor.clone(),
                            dock(r).created_at,
                            dock(r).timeout_secs,
                        )
                    },
                    (Some("executor-2".into()), Some(t(0)), Some(30)),
                )
                .that("deadline", |r| dock(r).deadline(), Some(t(30)))
                .that(
                    "die noted with its code",
                    |r| {
                        count(r, |h| {
                            *h == Happening::Container {
                                action: A::Die,
                                exit_code: Some(1),
                            }
                        })
                    },
                    1,
                )
                .that(
                    "states noted",
                    |r| count(r, |h| matches!(h, Happening::ContainerState(_))),
                    4,
                ),
        },
        Case {
            name: "a replayed start after die does not bring it back",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(2) => event(A::Die, t(2)).exit(0),
                t(3) => event(A::Start, t(1)),
                t(4) => event(A::Start, t(4)),
            ],
            expect: expect()
                .container(Some(S::Exited))
                .that("started", |r| dock(r).started_at, Some(t(1)))
                .that("start noted per distinct time", notes_of(A::Start), 2),
        },
        Case {
            name: "a list taken before a die event does not undo it",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(3) => event(A::Die, t(3)).exit(1),
                t(4) => list(t(2), vec![facts(S::Running)]),
            ],
            expect: expect()
                .container(Some(S::Exited))
                .that("exit", |r| dock(r).exit_code, Some(1))
                .that("finished", |r| dock(r).finished_at, Some(t(3))),
        },
        Case {
            name: "an inspect taken while running, applied after die",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(3) => event(A::Die, t(3)).exit(1),
                t(4) => facts(S::Running).inspected(0, None),
            ],
            expect: expect().container(Some(S::Exited)).that(
                "exit code of the die stands",
                |r| r.exit_code(),
                Some(1),
            ),
        },
        Case {
            name: "an inspect of the running container does not pin exit code 0",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(2) => facts(S::Running).inspected(0, None),
                t(3) => event(A::Die, t(3)).exit(1),
            ],
            expect: expect().that("exit", |r| r.exit_code(), Some(1)).that(
                "not from an inspect",
                |r| dock(r).exit_code_inspected,
                false,
            ),
        },
        Case {
            name: "removed is final: a stale list lists it exited",
            steps: steps![
                t(1) => event(A::Die, t(1)).exit(0),
                t(3) => event(A::Destroy, t(3)),
                t(4) => list(t(2), vec![facts(S::Exited)]),
                t(5) => event(A::Start, t(0)),
            ],
            expect: expect().container(Some(S::Removed)).that(
                "removed at",
                |r| dock(r).removed_at,
                Some(t(3)),
            ),
        },
        Case {
            name: "an inspect arriving after destroy does not resurrect",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(3) => event(A::Destroy, t(3)),
                t(4) => facts(S::Running),
                t(5) => facts(S::Exited).inspected(1, Some(t(2))),
            ],
            expect: expect().container(Some(S::Removed)),
        },
        Case {
            name: "die seen but no start",
            steps: steps![t(3) => event(A::Die, t(3)).exit(1)],
            expect: expect()
                .container(Some(S::Exited))
                .that("started", |r| dock(r).started_at, None)
                .that("finished", |r| dock(r).finished_at, Some(t(3)))
                .that("created from the label", |r| dock(r).created_at, Some(t(0))),
        },
        Case {
            name: "a late create does not move a running container back",
            steps: steps![t(1) => event(A::Start, t(1)), t(2) => event(A::Create, tm(500))],
            expect: expect().container(Some(S::Running)),
        },
        Case {
            name: "kill, stop and oom are noted; oom is kept",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(30) => event(A::Kill, t(30)),
                t(31) => event(A::Oom, t(31)),
                t(31) => event(A::Die, t(31)).exit(137),
                t(31) => event(A::Stop, t(31)),
            ],
            expect: expect()
                .container(Some(S::Exited))
                .that("oom", |r| dock(r).oom_killed, true)
                .that(
                    "noted",
                    |r| count(r, |h| matches!(h, Happening::Container { .. })),
                    5,
                ),
        },
    ]);
}

#[test]
fn duplicates_and_removals() {
    run_cases(vec![
        Case {
            name: "the same die twice is noted once",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(3) => event(A::Die, t(3)).exit(143),
                t(4) => event(A::Die, t(3)).exit(143),
            ],
            expect: expect()
                .container(Some(S::Exited))
                .that("die notes", notes_of(A::Die), 1),
        },
        Case {
            name: "a list that omits a known container marks it removed",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(3) => list(t(2), vec![]),
            ],
            expect: expect()
                .container(Some(S::Removed))
                .that("removed at", |r| dock(r).removed_at, Some(t(3)))
                .that("gone noted", gone_notes, 1),
        },
        Case {
            name: "but not a container first seen after the list was requested",
            steps: steps![
                t(3) => event(A::Start, t(3)),
                t(4) => list(t(2), vec![]),
            ],
            expect: expect()
                .container(Some(S::Running))
                .that("gone noted", gone_notes, 0),
        },
        Case {
            name: "a list marks a removal once",
            steps: steps![
                t(1) => list(t(1), vec![facts(S::Exited)]),
                t(3) => list(t(2), vec![]),
                t(5) => list(t(4), vec![]),
            ],
            expect: expect()
                .container(Some(S::Removed))
                .that("removed at", |r| dock(r).removed_at, Some(t(3)))
                .that("gone noted", gone_notes, 1),
        },
        Case {
            name: "a 404 marks it gone",
            steps: steps![t(1) => event(A::Die, t(1)).exit(0), t(2) => gone(CID)],
            expect: expect()
                .container(Some(S::Removed))
                .that("ended at the die", |r| dock(r).ended_at(), Some(t(1)))
                .that("gone noted", gone_notes, 1),
        },
        Case {
            name: "a 404 about another container is ignored",
            steps: steps![t(1) => event(A::Start, t(1)), t(2) => gone(CID2)],
            expect: expect()
                .container(Some(S::Running))
                .that("gone noted", gone_notes, 0),
        },
    ]);
}

#[test]
fn a_second_container_for_the_same_evaluation() {
    const LATER: &str = "2025-07-06T00:56:15+00:00";
    run_cases(vec![
        Case {
            name: "a newer one replaces the first",
            steps: steps![
                t(1) => event(A::Start, t(1)),
                t(2) => docker_logs(CID, "first\r\n", t(2)),
                t(61) => event(A::Start, t(61)).cid(CID2).created(Some(LATER)),
            ],
            expect: expect()
                .container(Some(S::Running))
                .that(
                    "id",
                    |r| r.container_id().map(str::to_string),
                    Some(CID2.to_string()),
                )
                .that("created", |r| dock(r).created_at, Some(t(60)))
                .that("first's logs dropped", |r| r.captured_logs.is_none(), true)
                .that(
                    "replacement noted",
                    |r| {
                        count(
                            r,
                            |h| matches!(h, Happening::Note(n) if n.contains("replaced")),
                        )
                    },
                    1,
                ),
        },
        Case {
            name: "an older one is ignored, and noted once however often it is listed",
            steps: steps![
                t(61) => event(A::Start, t(61)).cid(CID2).created(Some(LATER)),
                t(62) => list(t(62), vec![facts(S::Exited), facts(S::Running).cid(CID2).created(Some(LATER))]),
                t(72) => list(t(72), vec![facts(S::Exited), facts(S::Running).cid(CID2).created(Some(LATER))]),
                t(73) => event(A::Destroy, t(73)),
            ],
            expect: expect()
                .container(Some(S::Running))
                .that(
                    "id",
                    |r| r.container_id().map(str::to_string),
                    Some(CID2.to_string()),
                )
                .that(
                    "ignored noted",
                    |r| {
                        count(
                            r,
                            |h| matches!(h, Happening::Note(n) if n.contains("ignored")),
                        )
                    },
                    1,
                ),
        },
        Case {
            name: "without created_at labels, two listed containers do not take turns",
            steps: steps![
                t(1) => list(t(1), vec![facts(S::Exited).created(None), facts(S::Running).cid(CID2).created(None)]),
                t(11) => list(t(11), vec![facts(S::Exited).created(None), facts(S::Running).cid(CID2).created(None)]),
                t(21) => list(t(21), vec![facts(S::Exited).created(None), facts(S::Running).cid(CID2).created(None)]),
            ],
            expect: expect()
                .that(
                    "notes",
                    |r| count(r, |h| matches!(h, Happening::Note(_))),
                    1,
                )
                .that(
                    "id",
                    |r| r.container_id().map(str::to_string),
                    Some(CID.to_string()),
                ),
        },
        Case {
            name: "one after the first is removed replaces it",
            steps: steps![
                t(1) => event(A::Die, t(1)).exit(1),
                t(2) => event(A::Destroy, t(2)),
                t(3) => event(A::Start, t(3)).cid(CID2).created(None),
            ],
            expect: expect()
                .container(Some(S::Running))
                .that("id", |r| dock(r).container_id.clone(), CID2.to_string())
                .that("fresh exit code", |r| dock(r).exit_code, None),
        },
    ]);
}

#[test]
fn docker_and_redis_facts_stand_side_by_side() {
    run_cases(vec![
        Case {
            name: "both exit codes kept, Docker's preferred",
            steps: steps![
                t(1) => msg(Status::Running).container(&CID[..12]).executor("executor-1"),
                t(31) => event(A::Die, t(31)).exit(137),
                t(32) => msg(Status::Failed).says(Status::Failed).exit(-1),
            ],
            expect: expect()
                .that("redis exit", |r| r.redis.exit_code, Some(-1))
                .that("docker exit", |r| dock(r).exit_code, Some(137))
                .that("record exit", |r| r.exit_code(), Some(137))
                .that(
                    "redis container",
                    |r| r.redis.container_id.clone(),
                    Some(CID[..12].to_string()),
                )
                .that(
                    "docker container",
                    |r| r.container_id().map(str::to_string),
                    Some(CID.to_string()),
                )
                .that(
                    "executor: Docker's label first",
                    |r| r.executor().map(str::to_string),
                    Some("executor-2".into()),
                )
                .that(
                    "redis executor kept",
                    |r| r.redis.executor_id.clone(),
                    Some("executor-1".into()),
                ),
        },
        Case {
            name: "Redis's exit code when Docker never saw one",
            steps: steps![t(1) => msg(Status::Completed).says(Status::Failed).exit(3)],
            expect: expect().that("record exit", |r| r.exit_code(), Some(3)),
        },
        Case {
            name: "an inspect's exit code beats the die attribute, in either order",
            steps: steps![
                t(3) => event(A::Die, t(3)).exit(1),
                t(4) => facts(S::Exited).inspected(137, Some(tm(2_900))),
                t(5) => event(A::Die, t(6)).exit(1),
            ],
            expect: expect()
                .that("exit", |r| r.exit_code(), Some(137))
                .that("inspected", |r| dock(r).exit_code_inspected, true)
                .that(
                    "finish time of the die kept",
                    |r| dock(r).finished_at,
                    Some(t(3)),
                ),
        },
    ]);
}

#[test]
fn captured_logs_belong_to_their_container() {
    run_cases(vec![
        Case {
            name: "logs of the evaluation's container are kept",
            steps: steps![
                t(1) => event(A::Die, t(1)).exit(1),
                t(2) => docker_logs(CID, "Before error\r\nZeroDivisionError\r\n", t(2)),
            ],
            expect: expect()
                .that(
                    "kept",
                    |r| r.captured_logs.as_ref().map(|l| l.stdout.len()),
                    Some(33),
                )
                .that(
                    "noted",
                    |r| count(r, |h| *h == Happening::LogsCaptured { bytes: 33 }),
                    1,
                ),
        },
        Case {
            name: "logs of another container are ignored",
            steps: steps![
                t(1) => event(A::Die, t(1)).exit(1),
                t(2) => docker_logs(CID2, "someone else's\r\n", t(2)),
            ],
            expect: expect()
                .that("kept", |r| r.captured_logs.is_none(), true)
                .that(
                    "noted",
                    |r| count(r, |h| matches!(h, Happening::LogsCaptured { .. })),
                    0,
                ),
        },
    ]);
}

#[test]
fn observations_without_ids_are_ignored() {
    let mut no_eval = event(A::Start, t(1));
    no_eval.0.eval_id.clear();
    let state = run(steps![
        t(1) => no_eval,
        t(2) => facts(S::Running).id(""),
        t(3) => gone(CID),
        t(4) => docker_logs(CID, "x", t(4)),
    ]);
    assert!(state.evals.is_empty(), "{:?}", state.evals.keys());
    assert_eq!(state.observations, 4);
}
