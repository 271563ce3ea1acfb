//! Ordering, counts, selection and scrolling of the table's view model,
//! on records built field by field (the merge rules have their own tests).

use crate::model::{ContainerSide, ContainerState, FlagKind, State};
use crate::view::*;

const NOW: Ts = Ts(1_751_763_400_000);

fn ago(secs: i64) -> Ts {
    NOW.plus_millis(-secs * 1000)
}

fn record(started_secs_ago: i64) -> EvalRecord {
    let mut record = EvalRecord::new(ago(started_secs_ago));
    record.redis.status = Some(Status::Running);
    record
        .redis
        .status_seen
        .push((Status::Running, ago(started_secs_ago)));
    record
}

fn container(state: ContainerState, created_secs_ago: i64, timeout: u32) -> ContainerSide {
    ContainerSide {
        container_id: "c0ffee".into(),
        state: Some(state),
        executor: Some("executor-1".into()),
        created_at: Some(ago(created_secs_ago)),
        timeout_secs: Some(timeout),
        first_seen: ago(created_secs_ago),
        ..ContainerSide::default()
    }
}

/// Running, container exited 60 s ago: lost completion (alarm).
fn lost(started: i64) -> EvalRecord {
    let mut r = record(started);
    let mut docker = container(ContainerState::Exited, started, 30);
    docker.exit_code = Some(1);
    docker.finished_at = Some(ago(60));
    r.docker = Some(docker);
    r
}

/// Completed, but its container still runs: orphan (warning).
fn orphan(started: i64) -> EvalRecord {
    let mut r = record(started);
    r.redis.status = Some(Status::Completed);
    r.redis.output_len = Some(5);
    r.docker = Some(container(ContainerState::Running, started, 600));
    r
}

/// Failed with nothing printed and no sign it printed: empty failure (info).
fn quiet_failure(started: i64) -> EvalRecord {
    let mut r = record(started);
    r.redis.status = Some(Status::Failed);
    r.redis.output_len = Some(0);
    r.redis.error_len = Some(0);
    r
}

fn state<S: AsRef<str>>(records: impl IntoIterator<Item = (S, EvalRecord)>) -> State {
    let mut state = super::watched_state();
    for (id, record) in records {
        state
            .evals
            .insert(EvalId::from(id.as_ref()), Box::new(record));
    }
    state
}

fn ids(view: &TableView) -> Vec<&str> {
    view.rows().iter().map(|r| &*r.id).collect()
}

#[test]
fn flagged_rows_come_first_by_severity_then_newest_then_id() {
    let state = state(vec![
        ("healthy_new", record(1)),
        ("healthy_old", record(500)),
        ("info", quiet_failure(400)),
        ("warning", orphan(300)),
        ("alarm_old", lost(200)),
        ("alarm_new", lost(100)),
        ("b_tie", record(50)),
        ("a_tie", record(50)),
    ]);
    let mut view = TableView::default();
    view.refresh(&state, NOW);
    assert_eq!(
        ids(&view),
        [
            "alarm_new",
            "alarm_old",
            "warning",
            "info",
            "healthy_new",
            "a_tie",
            "b_tie",
            "healthy_old"
        ]
    );
    let worst: Vec<_> = view.rows().iter().map(|r| r.worst).collect();
    assert_eq!(worst[0], Some(Severity::Alarm));
    assert_eq!(worst[3], Some(Severity::Info));
    assert_eq!(worst[4], None);
    assert_eq!(
        view.rows()[0].top_flag().map(Flag::kind),
        Some(FlagKind::LostCompletion)
    );
}

#[test]
fn counts_tally_statuses_flags_and_severities() {
    let mut unknown = EvalRecord::new(ago(5));
    unknown.docker = Some(container(ContainerState::Created, 5, 30));
    let mut st = state(vec![
        ("a", lost(100)),
        ("b", lost(90)),
        ("c", orphan(80)),
        ("d", quiet_failure(70)),
        ("e", record(60)),
        ("f", unknown),
    ]);
    let mut hidden = record(10);
    hidden.redis.executor_id = Some("executor-9".into());
    st.evals.insert(EvalId::from("hidden"), Box::new(hidden));
    st.settings.executors = vec!["executor-1".into()];

    let mut view = TableView::default();
    view.refresh(&st, NOW);
    let counts = view.counts();
    assert_eq!(view.len(), 6);
    assert_eq!(counts.total, 6);
    assert_eq!(counts.out_of_scope, 1);
    assert_eq!(counts.status(Status::Running), 3);
    assert_eq!(counts.status(Status::Completed), 1);
    assert_eq!(counts.status(Status::Failed), 1);
    assert_eq!(counts.no_status, 1);
    assert_eq!(counts.flag(FlagKind::LostCompletion), 2);
    assert_eq!(counts.flag(FlagKind::Orphan), 1);
    assert_eq!(counts.flag(FlagKind::EmptyFailure), 1);
    assert_eq!(counts.flag(FlagKind::Overdue), 0);
    assert_eq!(counts.severity(Severity::Alarm), 2);
    assert_eq!(counts.severity(Severity::Warning), 1);
    assert_eq!(counts.severity(Severity::Info), 1);
    assert_eq!(counts.healthy, 2);
    assert_eq!(counts.flagged(), 4);
    let statuses: Vec<_> = counts.statuses().collect();
    assert_eq!(
        statuses,
        [
            (Status::Running, 3),
            (Status::Completed, 1),
            (Status::Failed, 1)
        ]
    );
    let severities: Vec<_> = counts.severities().map(|(s, _)| s).collect();
    assert_eq!(
        severities,
        [Severity::Alarm, Severity::Warning, Severity::Info]
    );
    assert!(!ids(&view).contains(&"hidden"));
}

#[test]
fn moves_clamp_at_both_ends_and_pages_scroll() {
    let state = state((0..20).map(|i| (format!("eval_{i:02}"), record(100 - i))));
    let mut view = TableView::default();
    view.refresh(&state, NOW);
    // Newest first: eval_19 started 81 s ago, eval_00 100 s ago.
    assert_eq!(view.selected().map(|id| &**id), Some("eval_19"));
    view.apply(Action::Up, 5);
    assert_eq!(view.selected_index(), Some(0));
    view.apply(Action::Down, 5);
    view.apply(Action::Down, 5);
    assert_eq!(view.selected().map(|id| &**id), Some("eval_17"));
    assert_eq!(view.offset(), 0);
    view.apply(Action::PageDown, 5);
    assert_eq!(view.selected_index(), Some(7));
    assert_eq!(
        view.offset(),
        3,
        "the selection sits on the last visible line"
    );
    assert_eq!(view.visible_range(5), 3..8);
    view.apply(Action::Bottom, 5);
    assert_eq!(view.selected().map(|id| &**id), Some("eval_00"));
    assert_eq!(view.visible_range(5), 15..20);
    view.apply(Action::Down, 5);
    assert_eq!(view.selected_index(), Some(19));
    view.apply(Action::PageUp, 5);
    assert_eq!(view.selected_index(), Some(14));
    assert_eq!(view.offset(), 14);
    view.apply(Action::Top, 5);
    assert_eq!(view.selected_index(), Some(0));
    assert_eq!(view.visible_range(5), 0..5);
}

#[test]
fn the_window_follows_the_selection_when_the_screen_shrinks() {
    let state = state((0..30).map(|i| (format!("e{i:02}"), record(i))));
    let mut view = TableView::default();
    view.refresh(&state, NOW);
    view.apply(Action::PageDown, 20);
    assert_eq!(view.selected_index(), Some(20));
    assert_eq!(view.visible_range(20), 1..21);
    assert_eq!(view.visible_range(3), 18..21);
    assert_eq!(view.visible_range(100), 0..30);
    assert_eq!(view.visible_range(0), 0..0);
}

#[test]
fn selection_follows_the_id_when_rows_reorder_and_survives_its_loss() {
    let mut st = state(vec![
        ("a", record(30)),
        ("b", record(20)),
        ("c", record(10)),
    ]);
    let mut view = TableView::default();
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["c", "b", "a"]);
    view.apply(Action::Bottom, 10);
    assert_eq!(view.selected().map(|id| &**id), Some("a"));

    // "a" gains an alarm and jumps to the top: the selection goes with it.
    st.evals.insert(EvalId::from("a"), Box::new(lost(30)));
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["a", "c", "b"]);
    assert_eq!(view.selected().map(|id| &**id), Some("a"));
    assert_eq!(view.selected_index(), Some(0));

    // Its row leaves the table: the row now at its place is selected.
    view.apply(Action::Down, 10);
    assert_eq!(view.selected().map(|id| &**id), Some("c"));
    st.evals.remove("c");
    view.refresh(&st, NOW);
    assert_eq!(view.selected().map(|id| &**id), Some("b"));

    st.evals.clear();
    view.refresh(&st, NOW);
    assert_eq!(view.selected(), None);
    assert!(view.is_empty());
    view.apply(Action::Down, 10);
    assert_eq!(view.selected(), None);
}

#[test]
fn a_hundred_thousand_records_refresh_in_order() {
    let mut st = super::watched_state();
    for i in 0..100_000_i64 {
        let r = if i % 1000 == 0 {
            lost(i % 500 + 40)
        } else {
            record(i % 7200)
        };
        st.evals
            .insert(EvalId::from(format!("eval_{i:06}")), Box::new(r));
    }
    let mut view = TableView::default();
    view.refresh(&st, NOW);
    assert_eq!(view.len(), 100_000);
    assert_eq!(view.counts().flag(FlagKind::LostCompletion), 100);
    let rows = view.rows();
    assert!(rows.range(..100).all(|r| r.worst == Some(Severity::Alarm)));
    assert!(rows.range(100..).all(|r| r.flags.is_empty()));
    let key = |r: &Row| {
        (
            std::cmp::Reverse(r.worst),
            std::cmp::Reverse(r.since),
            r.id.clone(),
        )
    };
    assert!(
        rows.iter()
            .zip(rows.iter().skip(1))
            .all(|(a, b)| key(a) < key(b))
    );
}
