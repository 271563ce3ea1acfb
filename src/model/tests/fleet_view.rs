//! The fleet rows and `executor-stalled`: an executor whose evaluations
//! run while it publishes nothing is flagged; a healthy one is not.

use super::support::*;
use crate::model::fleet::{RowKind, fleet};
use crate::model::{ContainerAction as A, EngineName, Observation, Settings, State, Status};

/// `n` evaluations on `executor`: each submitted at `start`, running, and
/// (when `done` is given) completed `done` seconds after its start.
fn evals(executor: &str, n: usize, start: i64, done: Option<i64>) -> Steps {
    let mut steps = Steps::new();
    for i in 0..n {
        let id = format!("{executor}-eval-{i}");
        let at = t(start + i as i64);
        steps.push((
            at,
            msg(Status::Running)
                .id(&id)
                .executor(executor)
                .timeout(30)
                .into(),
        ));
        if let Some(done) = done {
            steps.push((
                t(start + i as i64 + done),
                msg(Status::Completed)
                    .id(&id)
                    .executor(executor)
                    .out_err(5, 0)
                    .into(),
            ));
        }
    }
    steps
}

fn state_of(steps: Steps) -> State {
    let mut state = State::new(Settings::default());
    for (at, observation) in then(watching_from(t(0)), steps) {
        state.apply(observation, at);
    }
    state
}

#[test]
fn an_executor_that_stopped_completing_is_stalled_and_a_healthy_one_is_not() {
    // executor-1 completes in 20 s until t(100), then runs three more that
    // never complete; executor-2 keeps completing.
    let mut steps = evals("executor-1", 4, 0, Some(20));
    for i in 0..3 {
        let id = format!("stuck-{i}");
        steps.push((
            t(110 + i),
            msg(Status::Running).id(&id).executor("executor-1").into(),
        ));
    }
    for minute in 0..5 {
        steps.extend(
            evals("executor-2", 1, 60 * minute, Some(20))
                .into_iter()
                .map(|(at, o)| (at, rename(o, minute))),
        );
    }
    steps.push((
        t(290),
        msg(Status::Running)
            .id("busy")
            .executor("executor-2")
            .into(),
    ));
    let state = state_of(steps);
    let now = t(300);
    let fleet = fleet(&state, now);
    let row = |name: &str| fleet.executors.iter().find(|r| r.name == name).unwrap();

    let stalled = row("executor-1")
        .stalled
        .as_ref()
        .expect("executor-1 stalled");
    assert_eq!(stalled.running, 3);
    assert_eq!(stalled.last_completion, Some(t(23)));
    assert_eq!(stalled.longest_runtime_ms, 20_000);
    assert_eq!(
        stalled.limit_ms, 50_000,
        "grace 30 s + longest runtime 20 s"
    );
    let reason = stalled.reason("executor-1");
    assert!(
        reason.starts_with("executor-1 stopped completing 4m"),
        "{reason}"
    );
    assert!(
        row("executor-2").stalled.is_none(),
        "{:?}",
        row("executor-2")
    );
    assert_eq!(row("executor-2").running, 1);
    assert_eq!(row("executor-2").done_5m, 5);
    // The sparkline puts each completion in its minute, newest last.
    let spark = row("executor-2").completions;
    assert_eq!(spark.iter().map(|n| u32::from(*n)).sum::<u32>(), 5);
    // Completed 280, 220, 160, 100 and 40 s ago: one in each of the last
    // five minutes.
    assert_eq!(spark[25..], [1, 1, 1, 1, 1]);
    assert_eq!(spark[..25].iter().sum::<u16>(), 0);
}

#[test]
fn an_executor_with_nothing_running_is_never_stalled() {
    let state = state_of(evals("executor-1", 2, 0, Some(10)));
    let fleet = fleet(&state, t(3_600));
    assert_eq!(fleet.executors.len(), 1);
    assert!(fleet.executors[0].stalled.is_none());
    assert_eq!(fleet.executors[0].done_15m, 0, "an hour ago");
    assert_eq!(fleet.executors[0].last_completion, Some(t(11)));
}

#[test]
fn engines_have_rows_with_their_own_counts() {
    let mut state = state_of(Vec::new());
    state.add_engine(EngineName::new("exec-b"));
    state.apply(msg(Status::Running).into(), t(1));
    state.apply(keys().running(ID).into(), t(1));
    let on_a: Observation = event(A::Start, t(1)).into();
    state.apply(on_a, t(1));
    state.apply(event(A::Die, t(2)).exit(1).into(), t(2));
    let fleet = fleet(&state, t(60));
    let engines: Vec<(&str, usize)> = fleet
        .engines
        .iter()
        .map(|r| (r.name.as_str(), r.lost))
        .collect();
    assert_eq!(engines, [("", 1), ("exec-b", 0)]);
    assert!(fleet.engines.iter().all(|r| r.kind == RowKind::Engine));
}

fn rename(observation: Observation, minute: i64) -> Observation {
    match observation {
        Observation::RedisStatus {
            channel_status,
            mut message,
        } => {
            message.eval_id = format!("{}-m{minute}", message.eval_id);
            Observation::RedisStatus {
                channel_status,
                message,
            }
        }
        other => other,
    }
}
