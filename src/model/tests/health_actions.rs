//! Flags that must agree with what evaltop's own actions did and with the
//! container's life: an operator's kill is not a timeout, a container
//! created and never started is a failure, and advice never names an
//! action that has nothing left to act on.

use super::support::*;
use crate::model::{ContainerAction as A, ContainerState, FlagKind as K, Observation, Status};
use crate::view::detail_view::advice;

fn killed() -> Observation {
    Observation::Killed {
        eval_id: ID.to_string(),
        container_id: CID.to_string(),
        signal: "SIGKILL".to_string(),
    }
}

/// Runs from t(1) with a `timeout` s limit, held running; dies at `died`.
fn ran_until(timeout: &str, died: i64, code: i64) -> Steps {
    then(
        watching_from(t(0)),
        steps![
            t(1) => msg(Status::Running),
            t(1) => event(A::Start, t(1)).timeout(timeout),
            t(2) => keys().running(ID),
            t(died) => event(A::Die, t(died)).exit(code),
        ],
    )
}

#[test]
fn an_operators_kill_is_not_a_timeout() {
    run_flag_cases(vec![
        FlagCase {
            name: "killed at 1m15s of a 5 s limit: killed, and the completion is lost",
            steps: then(ran_until("5", 75, 137), steps![t(75) => killed()]),
            now: t(110),
            want: vec![K::LostCompletion, K::Killed],
            reasons: &[
                "container exited 137",
                "killed by evaltop at 00:56:30.000 (exit 137), 1m10s past its 5s timeout",
            ],
        },
        FlagCase {
            name: "the same death without evaltop's kill is a timeout",
            steps: ran_until("5", 6, 137),
            now: t(10),
            want: vec![K::TimedOut],
            reasons: &["timed out: exit 137"],
        },
        FlagCase {
            name: "killed before its timeout",
            steps: then(ran_until("30", 10, 137), steps![t(10) => killed()]),
            now: t(12),
            want: vec![K::Killed],
            reasons: &["killed by evaltop at 00:55:25.000 (exit 137), 20s before its 30s timeout"],
        },
    ]);
}

#[test]
fn a_container_created_and_never_started() {
    let created = |at: i64| {
        then(
            watching_from(t(0)),
            steps![
                t(at) => list(t(at), vec![facts(ContainerState::Created)]),
                t(at) => keys().running(ID),
            ],
        )
    };
    run_flag_cases(vec![
        FlagCase {
            name: "past the grace",
            steps: created(1),
            now: t(31),
            want: vec![K::NeverStarted],
            reasons: &["container created at 00:55:15.000, 31s ago, and never started"],
        },
        FlagCase {
            name: "within the grace",
            steps: created(1),
            now: t(29),
            want: vec![],
            reasons: &[],
        },
    ]);
    // Started after all: whatever else holds then, not never-started.
    let state = run(then(created(1), steps![t(5) => event(A::Start, t(5))]));
    assert!(!kinds(&flags(&state, ID, t(40))).contains(&K::NeverStarted));
}

#[test]
fn advice_never_names_a_removed_container() {
    let state = run(then(
        ran_until("30", 2, 1),
        steps![t(3) => event(A::Destroy, t(3))],
    ));
    let found = flags(&state, ID, t(60));
    assert_eq!(kinds(&found), vec![K::LostCompletion]);
    let text = advice(&found[0]);
    assert!(!text.contains("({remove})"), "{text}");
    assert!(text.contains("already removed"), "{text}");

    let state = run(ran_until("30", 2, 1));
    let found = flags(&state, ID, t(60));
    assert!(advice(&found[0]).contains("remove the container ({remove})"));
}
