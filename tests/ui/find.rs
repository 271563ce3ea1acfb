//! Finding rows as drawn: the filter bar (active, being typed, in error),
//! the quick-view tabs with their counts, the sort arrow, the events pane,
//! and the "terminal too small" message, rendered into ratatui's
//! TestBackend from a state and an events log built from the same
//! observations (no Docker, no Redis). Times are fixed, so snapshots need
//! no filtering.

use crate::common::table::{
    EMPTY, HEALTHY, LOST, NOW, OVERDUE, QUIET, ago, event, facts, finished, printed, refreshed,
    status, up,
};
use crate::common::{find, line, text};
use evaltop::layout::{events_page_size, page_size, too_small};
use evaltop::model::EngineName;
use evaltop::model::FlagKind;
use evaltop::model::{
    ContainerAction, Observation, RedisSnapshot, Rejection, Settings, Source, State, Status,
};
use evaltop::ui::{FindPanes, draw_with};
use evaltop::view::{Column, EventLog, Filter, FilterEdit, QuickView, TableView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

/// The five evaluations of `tests/ui_table.rs`: empty failure with output
/// (alarm), lost completion (alarm), overdue (alarm), quiet failure (info),
/// healthy; with the observations that made them, in order.
fn steps() -> Vec<(i64, Observation)> {
    vec![
        (
            90,
            up(
                Source::Docker(EngineName::default()),
                "engine 20.10.24, API 1.41",
            ),
        ),
        (90, up(Source::Redis, "redis 7.0.15")),
        (
            90,
            Observation::DockerList {
                engine: EngineName::default(),
                containers: Vec::new(),
                requested_at: ago(90),
            },
        ),
        (90, Observation::RedisKeys(RedisSnapshot::default())),
        (
            71,
            Observation::DockerInspect(facts(OVERDUE, 71, "executor-2")),
        ),
        (70, status(Status::Running, OVERDUE, "executor-2")),
        (
            60,
            Observation::DockerInspect(facts(LOST, 60, "executor-1")),
        ),
        (59, status(Status::Running, LOST, "executor-1")),
        (58, event(LOST, ContainerAction::Die, ago(58), Some(1))),
        (
            40,
            Observation::DockerInspect(facts(HEALTHY, 40, "executor-1")),
        ),
        (39, status(Status::Running, HEALTHY, "executor-1")),
        (38, event(HEALTHY, ContainerAction::Die, ago(38), Some(0))),
        (37, finished(Status::Completed, HEALTHY, 12, 0)),
        (36, event(HEALTHY, ContainerAction::Destroy, ago(36), None)),
        (
            30,
            Observation::DockerInspect(facts(EMPTY, 30, "executor-1")),
        ),
        (30, status(Status::Running, EMPTY, "executor-1")),
        (29, printed(EMPTY, "Before error\n")),
        (29, event(EMPTY, ContainerAction::Die, ago(29), Some(1))),
        (28, finished(Status::Failed, EMPTY, 0, 1)),
        (27, event(EMPTY, ContainerAction::Destroy, ago(27), None)),
        (20, finished(Status::Failed, QUIET, 0, 3)),
        (
            15,
            Observation::Rejected(Rejection {
                source: Source::Redis,
                channel: "evaluation:completed".to_string(),
                reason: "not JSON".to_string(),
            }),
        ),
    ]
}

fn scenario() -> (State, EventLog) {
    let mut state = State::new(Settings::default());
    let mut log = EventLog::default();
    for (secs, observation) in steps() {
        log.push(ago(secs), &observation);
        state.apply(observation, ago(secs));
    }
    (state, log)
}

fn render(state: &State, view: &TableView, panes: &FindPanes<'_>, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|frame| draw_with(frame, state, view, panes, NOW))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The panes with the events pane open on `log`.
fn with_events(log: &EventLog) -> FindPanes<'_> {
    FindPanes {
        events: Some(log),
        ..FindPanes::default()
    }
}

fn filter(text: &str) -> Option<Filter> {
    Some(Filter::parse(text).expect("parses"))
}

fn type_text(view: &mut TableView, text: &str) {
    view.open_filter();
    for c in text.chars() {
        view.edit_filter(FilterEdit::Insert(c));
    }
}

#[test]
fn the_active_filter_stays_visible_with_what_it_hides() {
    let (state, _) = scenario();
    let mut view = refreshed(&state);
    view.set_filter(filter("status:running"));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 100, 24);
    let screen = text(&buf);
    // Header (4 lines), tabs, then the bar.
    assert_eq!(
        line(&buf, 5).trim_end(),
        "filter: status:running  (hides 3)",
        "{screen}"
    );
    assert!(line(&buf, 4).contains("3 hidden"), "{screen}");
    assert!(
        screen.contains(LOST) && screen.contains(OVERDUE),
        "{screen}"
    );
    for id in [EMPTY, QUIET, HEALTHY] {
        assert!(!screen.contains(id), "{id} shown:\n{screen}");
    }
    // The header still counts everything.
    assert!(screen.contains("5 evaluations"), "{screen}");

    // Without a filter the bar gives its line back to the table.
    view.clear_filter();
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 100, 24);
    assert!(!text(&buf).contains("filter:"));
    assert!(line(&buf, 5).starts_with("id "), "{}", text(&buf));
}

#[test]
fn typing_shows_the_cursor_the_live_preview_and_errors_in_red() {
    let (state, _) = scenario();
    let mut view = refreshed(&state);
    type_text(&mut view, "over:>5x");
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 100, 24);
    let screen = text(&buf);
    let bar = line(&buf, 5);
    assert!(
        bar.starts_with("/over:>5x   over:>5x: expected a duration such as 5m"),
        "{screen}"
    );
    // The cursor sits past the end, reversed.
    assert!(buf[(9, 5)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(8, 5)].modifier.contains(Modifier::REVERSED));
    let (x, y) = find(&buf, "over:>5x: expected");
    let width = "over:>5x: expected a duration such as 5m".len() as u16;
    assert!(
        (x..x + width).all(|x| buf[(x, y)].fg == Color::Red),
        "{screen}"
    );
    // The last text that parsed ("over:>5") is what the table previews.
    assert_eq!(view.filter().map(Filter::text), Some("over:>5"));
    assert!(
        screen.contains(OVERDUE) && !screen.contains(LOST),
        "{screen}"
    );

    // Fixed, the bar shows what the preview hides instead.
    view.edit_filter(FilterEdit::Backspace);
    view.edit_filter(FilterEdit::Insert('s'));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 100, 24);
    assert_eq!(line(&buf, 5).trim_end(), "/over:>5s   (hides 4)");
    // The cursor moved left is drawn on its character.
    view.edit_filter(FilterEdit::Home);
    let buf = render(&state, &view, &FindPanes::default(), 100, 24);
    assert!(buf[(1, 5)].modifier.contains(Modifier::REVERSED));
    assert_eq!(buf[(1, 5)].symbol(), "o");
}

#[test]
fn quick_view_tabs_show_their_counts_and_the_active_one() {
    let (state, _) = scenario();
    let mut view = refreshed(&state);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    let tabs = line(&buf, 4);
    for tab in [
        "[1 all 5]",
        " 2 flagged 4 ",
        " 3 lost-completion 1 ",
        " 4 overdue 1 ",
        " 5 empty-failure 2 ",
    ] {
        assert!(tabs.contains(tab), "{tab:?} in {tabs:?}");
    }
    assert!(
        !tabs.contains("orphan") && !tabs.contains("hidden"),
        "{tabs}"
    );
    let (x, y) = find(&buf, "[1 all 5]");
    assert!((x..x + 9).all(|x| buf[(x, y)].modifier.contains(Modifier::REVERSED)));
    assert!(!buf[(x + 10, y)].modifier.contains(Modifier::REVERSED));

    view.set_quick_view(QuickView::from_digit('5').expect("a view"));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    let screen = text(&buf);
    let tabs = line(&buf, 4);
    assert!(
        tabs.contains(" 1 all 5 ") && tabs.contains("[5 empty-failure 2]"),
        "{tabs}"
    );
    assert!(tabs.contains("3 hidden"), "{tabs}");
    assert!(screen.contains(EMPTY) && screen.contains(QUIET), "{screen}");
    assert!(
        !screen.contains(LOST) && !screen.contains(HEALTHY),
        "{screen}"
    );

    // A view with nothing in it still shows its tab, and says why the
    // table is empty.
    view.set_quick_view(QuickView::Flag(FlagKind::Orphan));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    assert!(line(&buf, 4).contains("[6 orphan 0]"), "{}", text(&buf));
    assert!(
        text(&buf).contains("no evaluation matches; the filter and quick view hide 5"),
        "{}",
        text(&buf)
    );

    // Counts follow the filter: they say what each key would show.
    view.set_quick_view(QuickView::All);
    view.set_filter(filter("executor:executor-1"));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    let tabs = line(&buf, 4);
    assert!(
        tabs.contains("[1 all 3]") && tabs.contains(" 2 flagged 2 "),
        "{tabs}"
    );
    assert!(!tabs.contains("overdue"), "{tabs}");

    // Narrow screens shorten the names rather than lose the tabs.
    let buf = render(&state, &view, &FindPanes::default(), 40, 24);
    assert!(
        line(&buf, 4).starts_with("[1 all 3]  2 flag 2   3 lost 1"),
        "{}",
        text(&buf)
    );
}

#[test]
fn the_sorted_column_carries_an_arrow() {
    let (state, _) = scenario();
    let mut view = refreshed(&state);
    let order = |buf: &Buffer| -> Vec<u16> {
        [OVERDUE, LOST, HEALTHY, EMPTY, QUIET]
            .iter()
            .map(|id| find(buf, id).1)
            .collect()
    };
    view.sort_by(Some(Column::Age));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    assert!(line(&buf, 5).starts_with("id "), "{}", text(&buf));
    assert!(line(&buf, 5).contains(" age▼ "), "{}", text(&buf));
    assert!(line(&buf, 4).contains("sort age▼"), "{}", text(&buf));
    let ys = order(&buf);
    assert!(
        ys.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {ys:?}\n{}",
        text(&buf)
    );

    view.sort_by(Some(Column::Age));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    find(&buf, "age▲");
    let ys = order(&buf);
    assert!(ys.windows(2).all(|w| w[0] > w[1]), "newest first: {ys:?}");

    view.sort_by(Some(Column::Exit));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &FindPanes::default(), 120, 24);
    find(&buf, "exit▼");
    assert!(!text(&buf).contains("age▲"));
}

#[test]
fn the_events_pane_tails_observations_newest_at_the_bottom() {
    let (state, mut log) = scenario();
    let view = refreshed(&state);
    let panes = with_events(&log);
    let buf = render(&state, &view, &panes, 100, 30);
    let screen = text(&buf);
    let (_, title) = find(&buf, "─ events 22 kept · following ─");
    let footer = 29;
    let newest = line(&buf, footer - 1);
    assert_eq!(
        newest.trim_end(),
        "00:56:25.000 redis  rejected evaluation:completed: not JSON",
        "{screen}"
    );
    // After the time and the source, the line is red.
    assert!((20..59).all(|x| buf[(x, footer - 1)].fg == Color::Red));
    assert_eq!(
        line(&buf, footer - 2).trim_end(),
        format!("00:56:20.000 redis  {QUIET} evaluation:failed exit=3")
    );
    assert!(
        line(&buf, footer - 5).contains(&format!("docker {EMPTY} die exit=1")),
        "{screen}"
    );
    // The selected evaluation's lines are bold; the others are not.
    assert_eq!(view.selected().map(|id| &**id), Some(EMPTY));
    let x = find(&buf, &format!("{EMPTY} die")).0;
    assert!(buf[(x, footer - 5)].modifier.contains(Modifier::BOLD));
    assert!(!buf[(x, footer - 2)].modifier.contains(Modifier::BOLD));
    let page = events_page_size(buf.area, &view);
    assert_eq!(page, usize::from(footer - 1 - title));
    // The table keeps a page of its own above the pane.
    assert_eq!(
        page_size(buf.area, &view, panes.events.is_some()),
        usize::from(title - 6)
    );

    log.scroll_up(2, page);
    let panes = with_events(&log);
    let buf = render(&state, &view, &panes, 100, 30);
    find(&buf, "scrolled back 2 of 22");
    assert!(
        line(&buf, footer - 1).starts_with(&format!("00:56:13.000 docker {EMPTY} destroy")),
        "{}",
        text(&buf)
    );

    // Narrow: seconds, and the tail of the id.
    let buf = render(&state, &view, &with_events(&log), 60, 30);
    assert!(
        line(&buf, footer - 1).starts_with("00:56:13 docker …610_0000eeee destroy"),
        "{}",
        text(&buf)
    );

    // Scrolled back as far as it goes: the oldest line at the top, the
    // pane full, never blank.
    log.scroll_up(10_000, page);
    let buf = render(&state, &view, &with_events(&log), 100, 30);
    let oldest = log.lines().next().expect("lines").what().into_owned();
    assert!(line(&buf, title + 1).contains(&oldest), "{}", text(&buf));
    assert!((title + 1..footer).all(|y| !line(&buf, y).trim().is_empty()));
    // The source is said once.
    assert!(!text(&buf).contains("docker docker") && !text(&buf).contains("redis  redis"));

    let empty = EventLog::default();
    let buf = render(&state, &view, &with_events(&empty), 80, 24);
    find(&buf, "no observations yet");
    find(&buf, "0 kept · following");
}

#[test]
fn no_size_panics_and_small_screens_say_so() {
    let (state, mut log) = scenario();
    log.scroll_up(3, 1);
    let mut view = refreshed(&state);
    view.set_quick_view(QuickView::Flagged);
    view.sort_by(Some(Column::Age));
    type_text(&mut view, "!status:completed");
    view.refresh(&state, NOW);
    let panes = with_events(&log);
    let message = "terminal too small";
    for w in 1..=250u16 {
        for h in 1..=80u16 {
            let buf = render(&state, &view, &panes, w, h);
            let area = Rect::new(0, 0, w, h);
            let small = w < 40 || h < 10;
            assert_eq!(too_small(area), small);
            if small {
                let y = h.saturating_sub(2) / 2;
                let shown = line(&buf, y);
                let fits = &message[..usize::from(w).min(message.len())];
                assert!(shown.contains(fits), "{w}x{h}: {shown:?}");
            } else {
                // The bar is on screen, and the message is not.
                let bar =
                    (0..h).find(|&y| buf[(0, y)].symbol() == "/" && buf[(1, y)].symbol() == "!");
                assert!(bar.is_some(), "{w}x{h}:\n{}", text(&buf));
                assert!(
                    page_size(area, &view, panes.events.is_some()) >= 3,
                    "{w}x{h}"
                );
                assert!(events_page_size(area, &view) >= 2, "{w}x{h}");
            }
        }
    }
    // With every pane closed, too.
    let view = refreshed(&state);
    let none = FindPanes::default();
    for (w, h) in (1..=250).flat_map(|w| [(w, 9), (w, 10), (w, 24)]) {
        render(&state, &view, &none, w, h);
    }
    for (w, h) in (1..=80).flat_map(|h| [(1, h), (39, h), (40, h), (80, h), (250, h)]) {
        let buf = render(&state, &view, &none, w, h);
        if !too_small(Rect::new(0, 0, w, h)) {
            assert!(!text(&buf).contains(message), "{w}x{h}");
        }
    }
}

#[test]
fn snapshot_80x24_filtered_sorted_with_events() {
    let (state, log) = scenario();
    let mut view = refreshed(&state);
    view.set_filter(filter("!status:completed"));
    view.sort_by(Some(Column::Age));
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &with_events(&log), 80, 24);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn snapshot_40x10_typing_with_events() {
    let (state, log) = scenario();
    let mut view = refreshed(&state);
    type_text(&mut view, "exit:1");
    view.refresh(&state, NOW);
    let buf = render(&state, &view, &with_events(&log), 40, 10);
    insta::assert_snapshot!(text(&buf));
}

#[test]
fn snapshot_39x10_too_small() {
    let (state, _) = scenario();
    let view = refreshed(&state);
    let buf = render(&state, &view, &FindPanes::default(), 39, 10);
    insta::assert_snapshot!(text(&buf));
}
