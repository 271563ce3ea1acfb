//! The table kept up to date from the changes alone (`TableView::follow`)
//! shows exactly what a full refresh shows: the same rows in the same
//! order with the same flags, and the same counts, whatever happens to the
//! records, the sources and the clock in between.

use proptest::prelude::*;
use proptest::sample::select;

use crate::model::tests::support::{down, event, facts, keys, list, msg, t, unanswered, up};
use crate::model::{
    ContainerAction, ContainerState, EngineName, FlagKind, LogMessage, Observation, Source, State,
    Status, Ts,
};
use crate::view::{Column, Filter, QuickView, TableView};

/// More than `FEW_MOVES` (8), so that both ways of moving rows are taken.
const IDS: [&str; 12] = [
    "eval-a", "eval-b", "eval-c", "eval-d", "eval-e", "eval-f", "eval-g", "eval-h", "eval-i",
    "eval-j", "eval-k", "eval-l",
];

fn cid(i: usize) -> String {
    format!("{:0>64}", i + 1)
}

/// Something that happens between refreshes.
#[derive(Clone, Debug)]
enum Step {
    Status(usize, Status, Option<i64>, bool),
    Docker(usize, ContainerAction, Option<i64>),
    Log(usize, bool),
    Keys(Vec<usize>, Vec<usize>),
    List(Vec<(usize, ContainerState)>),
    Redis(bool),
    Docker_(bool),
    Wait(i64),
    Refresh,
    Sort(Option<Column>),
    Filter(&'static str),
    Quick(QuickView),
}

fn step() -> impl Strategy<Value = Step> {
    let id = 0..IDS.len();
    let ids = proptest::collection::vec(0..IDS.len(), 0..IDS.len());
    let exit = proptest::option::of(select(vec![0i64, 1, 124, 137]));
    let action = select(vec![
        ContainerAction::Create,
        ContainerAction::Start,
        ContainerAction::Die,
        ContainerAction::Destroy,
    ]);
    let state = select(vec![
        ContainerState::Created,
        ContainerState::Running,
        ContainerState::Exited,
    ]);
    prop_oneof![
        4 => (id.clone(), select(Status::ALL.to_vec()), exit.clone(), any::<bool>())
            .prop_map(|(i, s, e, empty)| Step::Status(i, s, e, empty)),
        4 => (id.clone(), action, exit).prop_map(|(i, a, e)| Step::Docker(i, a, e)),
        2 => (id.clone(), any::<bool>()).prop_map(|(i, beat)| Step::Log(i, beat)),
        1 => (ids.clone(), ids).prop_map(|(set, keys)| Step::Keys(set, keys)),
        1 => proptest::collection::vec((id, state), 0..IDS.len()).prop_map(Step::List),
        1 => any::<bool>().prop_map(Step::Redis),
        1 => any::<bool>().prop_map(Step::Docker_),
        4 => select(vec![1i64, 500, 10_000, 29_999, 30_001, 61_000, 95_000, 400_000])
            .prop_map(Step::Wait),
        4 => Just(Step::Refresh),
        1 => proptest::option::of(select(Column::ALL.to_vec())).prop_map(Step::Sort),
        1 => select(vec!["", "status:running", "flag:any", "executor:executor-2", "eval-c", "age>1m"])
            .prop_map(Step::Filter),
        1 => select(vec![
            QuickView::All,
            QuickView::Flagged,
            QuickView::Flag(FlagKind::LostCompletion),
        ])
        .prop_map(Step::Quick),
    ]
}

fn observation(step: &Step, now: Ts) -> Option<Observation> {
    let engine = || Source::Docker(EngineName::default());
    Some(match step.clone() {
        Step::Status(i, status, exit, empty) => {
            let mut m = msg(status)
                .id(IDS[i])
                .executor("executor-2")
                .container(&cid(i));
            if let Some(code) = exit {
                m = m.exit(code);
            }
            if !empty {
                m = m.out_err(10, 0);
            }
            m.into()
        }
        Step::Docker(i, action, exit) => {
            let mut e = event(action, now).cid(&cid(i));
            e.0.eval_id = IDS[i].to_string();
            if let Some(code) = exit {
                e = e.exit(code);
            }
            e.into()
        }
        Step::Log(i, heartbeat) => Observation::RedisLog(LogMessage {
            eval_id: IDS[i].to_string(),
            sequence: Some(1),
            content: "line".to_string(),
            is_heartbeat: heartbeat,
            ..LogMessage::default()
        }),
        Step::Keys(set, running) => {
            let mut k = keys();
            for i in set {
                k = k.in_set(IDS[i]);
            }
            for i in running {
                k = k.running_key(IDS[i]);
            }
            k.into()
        }
        Step::List(containers) => list(
            now,
            containers
                .into_iter()
                .map(|(i, state)| facts(state).id(IDS[i]).cid(&cid(i)))
                .collect(),
        ),
        Step::Redis(true) => up(Source::Redis),
        Step::Redis(false) => unanswered(Source::Redis),
        Step::Docker_(true) => up(engine()),
        Step::Docker_(false) => down(engine()),
        _ => return None,
    })
}

/// What a refresh shows, compared between the two ways of refreshing.
fn shown(view: &TableView) -> (Vec<(String, Vec<FlagKind>)>, String, String) {
    let rows = view
        .rows()
        .iter()
        .map(|row| {
            let kinds = row.flags.iter().map(|f| f.kind()).collect();
            (row.id.to_string(), kinds)
        })
        .collect();
    (
        rows,
        format!("{:?}", view.counts()),
        format!("{:?}", view.quick_counts()),
    )
}

fn same_choices(from: &TableView) -> TableView {
    let mut view = TableView::default();
    view.set_filter(from.filter().cloned());
    view.set_quick_view(from.quick_view());
    // Choosing a column toggles it: at most twice reaches any order.
    for _ in 0..2 {
        if view.sort() != from.sort() {
            view.sort_by(from.sort().column);
        }
    }
    view
}

proptest! {
    #![proptest_config(crate::tests::config(256))]

    #[test]
    fn following_the_changes_shows_what_a_full_refresh_shows(
        steps in proptest::collection::vec(step(), 1..120)
    ) {
        let mut state = State::default();
        let mut now = t(0);
        for observation in [
            up(Source::Docker(EngineName::default())),
            up(Source::Redis),
            list(now, vec![]),
            keys().into(),
        ] {
            state.apply(observation, now);
        }
        let mut view = TableView::default();
        for step in steps.iter().chain([&Step::Refresh]) {
            match step {
                Step::Wait(ms) => now = now.plus_millis(*ms),
                Step::Refresh => {
                    let changes = state.take_changes();
                    view.follow(&state, &changes, now);
                    let mut full = same_choices(&view);
                    full.refresh(&state, now);
                    prop_assert_eq!(shown(&view), shown(&full), "after {:?}", steps);
                }
                Step::Sort(column) => view.sort_by(*column),
                Step::Filter(text) => {
                    view.set_filter(Some(text).filter(|t| !t.is_empty()).map(|t| {
                        Filter::parse(t).expect("a filter the test knows to be valid")
                    }));
                }
                Step::Quick(quick) => view.set_quick_view(*quick),
                other => {
                    if let Some(observation) = observation(other, now) {
                        state.apply(observation, now);
                    }
                }
            }
        }
    }
}
