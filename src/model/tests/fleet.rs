//! Several engines: Docker facts are keyed by (engine, container id), a
//! list speaks for its own engine only, and an engine that is down or not
//! yet listed leaves its evaluations unknown rather than lost.

use super::support::*;
use crate::model::{
    ContainerAction as A, ContainerState as S, EngineName, FlagKind as K, Observation, Source,
    State, Status,
};

const OTHER: &str = "eval_on_engine_b";

fn on(engine: &str, observation: impl Into<Observation>) -> Observation {
    observation.into().with_engine(&EngineName::new(engine))
}

fn engine(name: &str) -> Source {
    Source::Docker(EngineName::new(name))
}

/// Both engines and Redis watched from `t(0)`.
fn two_engines() -> Steps {
    vec![
        (t(0), up(engine("a"))),
        (t(0), up(engine("b"))),
        (t(0), up(Source::Redis)),
        (t(0), on("a", list(t(0), vec![]))),
        (t(0), on("b", list(t(0), vec![]))),
        (t(0), keys().into()),
    ]
}

/// `ID` runs on engine a, `OTHER` on engine b, with the same container id
/// (ids are unique per engine only); Redis holds both running.
fn one_each() -> Steps {
    then(
        two_engines(),
        vec![
            (t(1), msg(Status::Running).into()),
            (t(1), msg(Status::Running).id(OTHER).into()),
            (t(1), keys().running(ID).running(OTHER).into()),
            (t(1), on("a", event(A::Start, t(1)))),
            (
                t(1),
                on(
                    "b",
                    Observation::from(event(A::Start, t(1))).with_eval(OTHER),
                ),
            ),
        ],
    )
}

trait WithEval {
    fn with_eval(self, id: &str) -> Observation;
}

impl WithEval for Observation {
    fn with_eval(mut self, id: &str) -> Observation {
        if let Observation::DockerEvent(event) = &mut self {
            event.eval_id = id.to_string();
        }
        self
    }
}

#[test]
fn a_list_from_one_engine_leaves_the_others_containers_as_they_were() {
    let mut state = run(one_each());
    let before = record(&state, OTHER).clone();
    let flags_before = flags(&state, OTHER, t(5));
    // Engine a lists nothing: its container is gone, engine b's is not.
    state.apply(on("a", list(t(4), vec![])), t(4));
    assert_eq!(dock(record(&state, ID)).state, Some(S::Removed));
    assert_eq!(
        record(&state, OTHER),
        &before,
        "engine b's record is untouched"
    );
    assert_eq!(flags(&state, OTHER, t(5)), flags_before);
    assert_eq!(dock(record(&state, OTHER)).engine, EngineName::new("b"));
}

#[test]
fn the_same_container_id_on_two_engines_is_two_containers() {
    let mut state = run(one_each());
    assert_eq!(dock(record(&state, ID)).container_id, CID);
    assert_eq!(dock(record(&state, OTHER)).container_id, CID);
    // Gone on engine b: engine a's container of the same id still runs.
    let mut gone_b = on("b", gone(CID));
    if let Observation::DockerGone { eval_id, .. } = &mut gone_b {
        *eval_id = ID.to_string();
    }
    state.apply(gone_b, t(3));
    assert_eq!(dock(record(&state, ID)).state, Some(S::Running));
    // A die on engine b about the id ends only engine b's evaluation.
    let die = Observation::from(event(A::Die, t(4)).exit(1)).with_eval(OTHER);
    state.apply(on("b", die), t(4));
    assert_eq!(dock(record(&state, OTHER)).state, Some(S::Exited));
    assert_eq!(dock(record(&state, ID)).state, Some(S::Running));
}

#[test]
fn an_engine_down_leaves_its_evaluations_unknown_and_the_others_judged() {
    // Both containers die; no completion is published for either.
    let steps = then(
        one_each(),
        vec![
            (t(2), on("a", event(A::Die, t(2)).exit(1))),
            (
                t(2),
                on(
                    "b",
                    Observation::from(event(A::Die, t(2)).exit(1)).with_eval(OTHER),
                ),
            ),
            (t(3), down(engine("b"))),
        ],
    );
    let state = run(steps);
    assert_eq!(kinds(&flags(&state, ID, t(60))), [K::LostCompletion]);
    let b = flags(&state, OTHER, t(60));
    assert_eq!(kinds(&b), [K::HostUnknown], "{b:?}");
    assert!(b[0].reason().contains("engine b"), "{}", b[0].reason());
    // Engine b's blind window is its own.
    assert!(
        state
            .engine(&EngineName::new("a"))
            .unwrap()
            .blind_windows
            .is_empty()
    );
    assert_eq!(
        state
            .engine(&EngineName::new("b"))
            .unwrap()
            .blind_windows
            .len(),
        1
    );

    // Back, but not listed yet: still unknown. Listed: judged again.
    let mut state = state;
    state.apply(up(engine("b")), t(50));
    assert_eq!(kinds(&flags(&state, OTHER, t(51))), [K::HostUnknown]);
    let exited = facts(S::Exited).id(OTHER).inspected(1, Some(t(2)));
    state.apply(on("b", list(t(50), vec![exited])), t(51));
    assert_eq!(kinds(&flags(&state, OTHER, t(60))), [K::LostCompletion]);
    assert_eq!(kinds(&flags(&state, ID, t(60))), [K::LostCompletion]);
}

#[test]
fn an_engine_known_but_never_listed_leaves_its_evaluations_unknown() {
    let mut state = State::default();
    state.add_engine(EngineName::new("b"));
    for (at, observation) in one_each() {
        // Engine b says nothing but its one event: no up, no list.
        let from_b = observation.engine() == Some(&EngineName::new("b"));
        let event = matches!(observation, Observation::DockerEvent(_));
        if !from_b || event {
            state.apply(observation, at);
        }
    }
    assert!(!state.engines_synced());
    assert_eq!(kinds(&flags(&state, OTHER, t(60))), [K::HostUnknown]);
    // Engine a's overrun is still called.
    assert_eq!(kinds(&flags(&state, ID, t(60))), [K::Overdue]);
}

#[test]
fn a_source_is_written_and_read_with_its_engine() {
    for source in [engine("exec-1"), Source::Redis, Source::Evaltop] {
        let text = serde_json::to_string(&source).unwrap();
        assert_eq!(
            serde_json::from_str::<Source>(&text).unwrap(),
            source,
            "{text}"
        );
    }
    assert_eq!(
        serde_json::to_string(&engine("exec-1")).unwrap(),
        r#""docker:exec-1""#
    );
    // Format 1.0 wrote "docker": an unnamed engine, named at replay.
    let old: Source = serde_json::from_str(r#""docker""#).unwrap();
    assert_eq!(old, Source::Docker(EngineName::default()));
    assert!(serde_json::from_str::<Source>(r#""kafka""#).is_err());
}
