//! Finding rows in the view model: filters applied at refresh with their
//! hidden counts, quick views with their counts, every sort order and its
//! reverse, and the filter bar's editing.

use crate::model::{ContainerSide, ContainerState, FlagKind, State};
use crate::view::*;

const NOW: Ts = Ts(1_751_763_400_000);

fn ago(secs: i64) -> Ts {
    NOW.plus_millis(-secs * 1000)
}

fn running(executor: &str, secs: i64, state: ContainerState) -> EvalRecord {
    let mut record = EvalRecord::new(ago(secs));
    record.redis.status = Some(Status::Running);
    record.redis.status_seen.push((Status::Running, ago(secs)));
    record.docker = Some(ContainerSide {
        container_id: "c0ffee".into(),
        state: Some(state),
        executor: Some(executor.into()),
        created_at: Some(ago(secs)),
        timeout_secs: Some(600),
        started_at: Some(ago(secs)),
        first_seen: ago(secs),
        ..ContainerSide::default()
    });
    record
}

/// Six evaluations, one per kind of row; the comments give each one's
/// flag, executor, age, exit code and container.
fn state() -> State {
    let mut st = super::watched_state();
    let mut add = |id: &str, record: EvalRecord| {
        st.evals.insert(EvalId::from(id), Box::new(record));
    };
    // lost-completion (alarm), executor-1, 120 s, exit 1, exited, ran 60 s.
    let mut lost = running("executor-1", 120, ContainerState::Exited);
    let docker = lost.docker.as_mut().expect("docker");
    docker.exit_code = Some(1);
    docker.finished_at = Some(ago(60));
    lost.redis.in_running_set = true;
    add("a_lost", lost);
    // overdue (alarm), executor-2, 450 s, running.
    let mut overdue = running("executor-2", 450, ContainerState::Running);
    overdue.docker.as_mut().expect("docker").timeout_secs = Some(30);
    add("b_overdue", overdue);
    // healthy, completed, executor-10, 20 s, exit 0, removed.
    let mut done = running("executor-10", 20, ContainerState::Removed);
    done.redis.status = Some(Status::Completed);
    done.redis.output_len = Some(3);
    done.redis.exit_code = Some(0);
    add("c_done", done);
    // healthy, queued, no executor, 5 s.
    let mut queued = EvalRecord::new(ago(5));
    queued.redis.status = Some(Status::Queued);
    add("d_queued", queued);
    // orphan (warning): completed but its container runs; executor-3, 300 s.
    let mut orphan = running("executor-3", 300, ContainerState::Running);
    orphan.redis.status = Some(Status::Completed);
    orphan.redis.output_len = Some(3);
    add("e_orphan", orphan);
    // empty-failure (info), no container, 200 s, exit 3.
    let mut quiet = EvalRecord::new(ago(200));
    quiet.redis.status = Some(Status::Failed);
    quiet.redis.output_len = Some(0);
    quiet.redis.error_len = Some(0);
    quiet.redis.exit_code = Some(3);
    add("f_quiet", quiet);
    st
}

fn ids(view: &TableView) -> Vec<&str> {
    view.rows().iter().map(|r| &*r.id).collect()
}

fn view_of(st: &State) -> TableView {
    let mut view = TableView::default();
    view.refresh(st, NOW);
    view
}

fn sorted(column: Option<Column>, times: usize) -> Vec<String> {
    let st = state();
    let mut view = view_of(&st);
    for _ in 0..times {
        view.sort_by(column);
    }
    view.refresh(&st, NOW);
    ids(&view).into_iter().map(String::from).collect()
}

#[test]
fn the_default_order_puts_flags_first_then_newest() {
    assert_eq!(
        sorted(None, 0),
        [
            "a_lost",
            "b_overdue",
            "e_orphan",
            "f_quiet",
            "d_queued",
            "c_done"
        ]
    );
    // Chosen again, the default order reverses.
    assert_eq!(
        sorted(None, 1),
        [
            "c_done",
            "d_queued",
            "f_quiet",
            "e_orphan",
            "b_overdue",
            "a_lost"
        ]
    );
}

#[test]
fn every_column_sorts_and_reverses_with_blanks_last() {
    use Column::*;
    let cases: [(Column, [&str; 6], [&str; 6]); 8] = [
        (
            Id,
            [
                "a_lost",
                "b_overdue",
                "c_done",
                "d_queued",
                "e_orphan",
                "f_quiet",
            ],
            [
                "f_quiet",
                "e_orphan",
                "d_queued",
                "c_done",
                "b_overdue",
                "a_lost",
            ],
        ),
        (
            // Lifecycle order; ties keep the default order.
            Status,
            [
                "d_queued",
                "a_lost",
                "b_overdue",
                "e_orphan",
                "c_done",
                "f_quiet",
            ],
            [
                "f_quiet",
                "e_orphan",
                "c_done",
                "a_lost",
                "b_overdue",
                "d_queued",
            ],
        ),
        (
            Container,
            [
                "b_overdue",
                "e_orphan",
                "a_lost",
                "c_done",
                "f_quiet",
                "d_queued",
            ],
            [
                "c_done",
                "a_lost",
                "b_overdue",
                "e_orphan",
                "f_quiet",
                "d_queued",
            ],
        ),
        (
            // Text order: executor-10 sorts before executor-2.
            Executor,
            [
                "a_lost",
                "c_done",
                "b_overdue",
                "e_orphan",
                "f_quiet",
                "d_queued",
            ],
            [
                "e_orphan",
                "b_overdue",
                "c_done",
                "a_lost",
                "f_quiet",
                "d_queued",
            ],
        ),
        (
            // Oldest first on the first press.
            Age,
            [
                "b_overdue",
                "e_orphan",
                "f_quiet",
                "a_lost",
                "c_done",
                "d_queued",
            ],
            [
                "d_queued",
                "c_done",
                "a_lost",
                "f_quiet",
                "e_orphan",
                "b_overdue",
            ],
        ),
        (
            // Live 450 s and 300 s, ended after 60 s; the rest unknown.
            Runtime,
            [
                "b_overdue",
                "e_orphan",
                "a_lost",
                "f_quiet",
                "d_queued",
                "c_done",
            ],
            [
                "a_lost",
                "e_orphan",
                "b_overdue",
                "f_quiet",
                "d_queued",
                "c_done",
            ],
        ),
        (
            Exit,
            [
                "f_quiet",
                "a_lost",
                "c_done",
                "b_overdue",
                "e_orphan",
                "d_queued",
            ],
            [
                "c_done",
                "a_lost",
                "f_quiet",
                "b_overdue",
                "e_orphan",
                "d_queued",
            ],
        ),
        (
            // Severity, then the model's order of kinds.
            Flags,
            [
                "a_lost",
                "b_overdue",
                "e_orphan",
                "f_quiet",
                "d_queued",
                "c_done",
            ],
            [
                "f_quiet",
                "e_orphan",
                "b_overdue",
                "a_lost",
                "d_queued",
                "c_done",
            ],
        ),
    ];
    for (column, first, again) in cases {
        assert_eq!(sorted(Some(column), 1), first, "{column:?}");
        assert_eq!(sorted(Some(column), 2), again, "{column:?} reversed");
        assert_eq!(sorted(Some(column), 3), first, "{column:?} back");
    }
}

#[test]
fn the_sort_state_gives_the_arrow() {
    let mut sort = Sort::default();
    assert_eq!(sort.arrow(), None);
    sort.toggle(Some(Column::Id));
    assert_eq!((sort.descending(), sort.arrow()), (false, Some('▲')));
    sort.toggle(Some(Column::Id));
    assert_eq!((sort.reversed, sort.arrow()), (true, Some('▼')));
    sort.toggle(Some(Column::Age));
    assert_eq!((sort.reversed, sort.arrow()), (false, Some('▼')));
    sort.toggle(Some(Column::Age));
    assert_eq!(sort.arrow(), Some('▲'));
}

#[test]
fn selection_follows_its_row_through_a_resort() {
    let st = state();
    let mut view = view_of(&st);
    assert!(view.select("c_done", 10));
    view.sort_by(Some(Column::Id));
    assert!(view.is_stale());
    view.refresh(&st, NOW);
    assert!(!view.is_stale());
    assert_eq!(view.selected().map(|id| &**id), Some("c_done"));
    assert_eq!(view.selected_index(), Some(2));
}

#[test]
fn quick_views_narrow_the_table_and_count_their_rows() {
    let st = state();
    let mut view = view_of(&st);
    let counts = view.quick_counts().clone();
    let count = |v: QuickView| v.count(&counts);
    assert_eq!(count(QuickView::All), 6);
    assert_eq!(count(QuickView::Flagged), 4);
    assert_eq!(count(QuickView::Flag(FlagKind::LostCompletion)), 1);
    assert_eq!(count(QuickView::Flag(FlagKind::Overdue)), 1);
    assert_eq!(count(QuickView::Flag(FlagKind::Orphan)), 1);
    assert_eq!(count(QuickView::Flag(FlagKind::EmptyFailure)), 1);
    assert_eq!(count(QuickView::Flag(FlagKind::TimedOut)), 0);

    for quick in QuickView::ALL {
        view.set_quick_view(quick);
        view.refresh(&st, NOW);
        assert_eq!(view.len(), count(quick), "{quick:?}");
        assert_eq!(view.hidden(), 6 - count(quick), "{quick:?}");
        assert_eq!(view.quick_view(), quick);
        assert_eq!(view.counts().total, 6, "the header counts everything");
    }
    view.set_quick_view(QuickView::Flagged);
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["a_lost", "b_overdue", "e_orphan", "f_quiet"]);
    view.set_quick_view(QuickView::Flag(FlagKind::Overdue));
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["b_overdue"]);
}

#[test]
fn number_keys_name_the_quick_views_in_order() {
    assert_eq!(QuickView::from_digit('1'), Some(QuickView::All));
    assert_eq!(QuickView::from_digit('2'), Some(QuickView::Flagged));
    assert_eq!(
        QuickView::from_digit('3'),
        Some(QuickView::Flag(FlagKind::LostCompletion))
    );
    assert_eq!(
        QuickView::from_digit('9'),
        Some(QuickView::Flag(FlagKind::TimedOut))
    );
    assert_eq!(QuickView::from_digit('0'), None);
    assert_eq!(QuickView::from_digit('x'), None);
    for (i, quick) in QuickView::ALL.into_iter().enumerate() {
        assert_eq!(quick.digit().to_digit(10), Some(i as u32 + 1));
        assert_eq!(QuickView::from_digit(quick.digit()), Some(quick));
    }
    assert_eq!(QuickView::Flag(FlagKind::Overdue).name(), "overdue");
}

#[test]
fn the_filter_applies_at_refresh_and_counts_what_it_hides() {
    let st = state();
    let mut view = view_of(&st);
    view.set_filter(Some(Filter::parse("executor:executor-1*").expect("parses")));
    assert!(view.is_stale());
    assert_eq!(view.len(), 6, "rows change only at refresh");
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["a_lost", "c_done"]);
    assert_eq!(view.hidden(), 4);
    assert_eq!(view.hidden_by_filter(), 4);
    assert_eq!(view.quick_counts().total, 2);
    assert_eq!(view.quick_counts().flagged(), 1);
    assert_eq!(view.counts().total, 6);
    assert_eq!(
        view.filter().map(Filter::text),
        Some("executor:executor-1*")
    );

    // The quick view narrows further; the filter's own count stays.
    view.set_quick_view(QuickView::Flagged);
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["a_lost"]);
    assert_eq!((view.hidden(), view.hidden_by_filter()), (5, 4));

    view.set_filter(Some(Filter::parse("!flag:any").expect("parses")));
    view.refresh(&st, NOW);
    assert!(view.is_empty());
    assert_eq!(view.selected(), None);
    assert_eq!(view.hidden(), 6);

    // An empty filter is no filter.
    view.set_quick_view(QuickView::All);
    view.set_filter(Some(Filter::parse(" ").expect("parses")));
    assert_eq!(view.filter(), None);
    view.refresh(&st, NOW);
    assert_eq!(view.len(), 6);
}

#[test]
fn typing_previews_each_filter_that_parses() {
    let st = state();
    let mut view = view_of(&st);
    view.open_filter();
    assert!(view.filter_input().is_editing());
    for c in "status:runn".chars() {
        view.edit_filter(FilterEdit::Insert(c));
    }
    let input = view.filter_input();
    assert_eq!((input.text(), input.cursor()), ("status:runn", 11));
    assert!(input.error().is_some_and(|e| e.term == "status:runn"));
    // "status" parsed (as free text) on the way, and stays previewed.
    assert_eq!(view.filter().map(Filter::text), Some("status"));
    assert!(!view.commit_filter(), "no commit while it does not parse");

    for c in "ing".chars() {
        view.edit_filter(FilterEdit::Insert(c));
    }
    assert_eq!(view.filter_input().error(), None);
    assert_eq!(view.filter().map(Filter::text), Some("status:running"));
    assert!(view.is_stale());
    view.refresh(&st, NOW);
    assert_eq!(ids(&view), ["a_lost", "b_overdue"]);

    // A slip keeps the last filter that parsed.
    view.edit_filter(FilterEdit::Backspace);
    assert!(view.filter_input().error().is_some());
    assert_eq!(view.filter().map(Filter::text), Some("status:running"));
    view.edit_filter(FilterEdit::Insert('g'));
    assert!(view.commit_filter());
    assert!(!view.filter_input().is_editing());
    assert_eq!(view.filter_input().text(), "status:running");

    // Esc restores the filter from before the bar opened.
    view.open_filter();
    view.edit_filter(FilterEdit::Clear);
    assert_eq!(view.filter(), None, "previewed: no filter");
    view.cancel_filter();
    assert_eq!(view.filter().map(Filter::text), Some("status:running"));
    assert!(!view.filter_input().is_editing());

    view.clear_filter();
    assert_eq!(view.filter(), None);
    assert_eq!(view.filter_input().text(), "");
}

#[test]
fn the_cursor_moves_and_deletes_by_character_and_word() {
    let mut view = TableView::default();
    let edit = |view: &mut TableView, edits: &[FilterEdit]| {
        for e in edits {
            view.edit_filter(*e);
        }
        let input = view.filter_input();
        (input.text().to_string(), input.cursor())
    };
    use FilterEdit::*;
    let typed: Vec<_> = "ab é".chars().map(Insert).collect();
    assert_eq!(edit(&mut view, &typed), ("ab é".into(), 4));
    assert_eq!(edit(&mut view, &[Left, Left, Backspace]), ("a é".into(), 1));
    assert_eq!(edit(&mut view, &[Home, Delete]), (" é".into(), 0));
    assert_eq!(edit(&mut view, &[Left, Backspace]), (" é".into(), 0));
    assert_eq!(
        edit(&mut view, &[End, Right, Insert('x')]),
        (" éx".into(), 3)
    );
    assert_eq!(
        edit(&mut view, &[Insert('\n'), Insert('\u{1b}')]),
        (" éx".into(), 3)
    );
    let more: Vec<_> = " status:run".chars().map(Insert).collect();
    assert_eq!(edit(&mut view, &more).1, 14);
    assert_eq!(edit(&mut view, &[DeleteWord]), (" éx ".into(), 4));
    assert_eq!(edit(&mut view, &[DeleteWord]), (" ".into(), 1));
    assert_eq!(edit(&mut view, &[Clear]), (String::new(), 0));
    assert_eq!(
        edit(&mut view, &[Backspace, Delete, DeleteWord]),
        (String::new(), 0)
    );
}

#[test]
fn a_hundred_thousand_records_filter_and_sort() {
    let mut st = super::watched_state();
    for i in 0..100_000_i64 {
        let mut record = running(
            &format!("executor-{}", i % 4),
            i % 7200 + 1,
            ContainerState::Running,
        );
        let limit = if i % 1000 == 0 { 0 } else { 86_400 };
        record.docker.as_mut().expect("docker").timeout_secs = Some(limit);
        st.evals
            .insert(EvalId::from(format!("eval_{i:06}")), Box::new(record));
    }
    let mut view = TableView::default();
    view.set_filter(Some(
        Filter::parse("flag:overdue executor:executor-0").expect("parses"),
    ));
    view.sort_by(Some(Column::Id));
    view.refresh(&st, NOW);
    assert_eq!(view.len(), 100);
    assert_eq!(view.hidden(), 99_900);
    assert_eq!(view.counts().flag(FlagKind::Overdue), 100);
    let rows = view.rows();
    assert!(
        rows.iter()
            .zip(rows.iter().skip(1))
            .all(|(a, b)| a.id < b.id)
    );
    assert_eq!(&*view.rows()[0].id, "eval_000000");
}
