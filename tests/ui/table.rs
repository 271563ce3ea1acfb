//! The table as drawn: a state built from observations (no Docker, no
//! Redis), rendered into ratatui's TestBackend and checked cell by cell,
//! plus selection through actions, every terminal size, and a snapshot.

use crate::common::table::{
    EMPTY, HEALTHY, LOST, NOW, OVERDUE, QUIET, ago, event, facts, finished, printed, refreshed,
    status, up,
};
use crate::common::{line, text};
use evaltop::layout::page_size;
use evaltop::model::EngineName;
use evaltop::model::{
    ContainerAction, ContainerFacts, ContainerState, Observation, ReadProgress, RedisSnapshot,
    Rejection, Settings, Source, State, Status,
};
use evaltop::ui::{FindPanes, draw_with};
use evaltop::view::{Action, TableView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

/// Five evaluations, one per case the table must tell apart.
fn scenario() -> State {
    let mut state = State::new(Settings::default());
    let mut at = |secs: i64, observation: Observation| state.apply(observation, ago(secs));
    at(
        90,
        up(
            Source::Docker(EngineName::default()),
            "engine 20.10.24, API 1.41",
        ),
    );
    at(90, up(Source::Redis, "redis 7.0.15"));
    at(
        90,
        Observation::DockerList {
            engine: EngineName::default(),
            containers: Vec::new(),
            requested_at: ago(90),
        },
    );
    // Redis drops the subscriber for four seconds, right after a probe
    // answered (its blind window opens there), then reads its keys again.
    at(
        85,
        Observation::SourceLive {
            source: Source::Redis,
            probed_at: ago(85),
        },
    );
    at(
        85,
        Observation::SourceDown {
            source: Source::Redis,
            reason: "connection reset by peer".to_string(),
        },
    );
    at(81, up(Source::Redis, "redis 7.0.15"));
    at(81, Observation::RedisKeys(RedisSnapshot::default()));

    // Overrun: still running 41 s past its 30 s deadline.
    at(
        71,
        Observation::DockerInspect(facts(OVERDUE, 71, "executor-2")),
    );
    at(70, status(Status::Running, OVERDUE, "executor-2"));

    // Fast failure whose completion was never published.
    at(
        60,
        Observation::DockerInspect(facts(LOST, 60, "executor-1")),
    );
    at(59, status(Status::Running, LOST, "executor-1"));
    at(58, event(LOST, ContainerAction::Die, ago(58), Some(1)));

    // Healthy: ran, completed with output, container removed.
    at(
        40,
        Observation::DockerInspect(facts(HEALTHY, 40, "executor-1")),
    );
    at(39, status(Status::Running, HEALTHY, "executor-1"));
    at(38, event(HEALTHY, ContainerAction::Die, ago(38), Some(0)));
    at(37, finished(Status::Completed, HEALTHY, 12, 0));
    at(36, event(HEALTHY, ContainerAction::Destroy, ago(36), None));

    // Empty failure although it printed: its logs were lost.
    at(
        30,
        Observation::DockerInspect(facts(EMPTY, 30, "executor-1")),
    );
    at(30, status(Status::Running, EMPTY, "executor-1"));
    at(29, printed(EMPTY, "Before error\n"));
    at(29, event(EMPTY, ContainerAction::Die, ago(29), Some(1)));
    at(28, finished(Status::Failed, EMPTY, 0, 1));
    at(27, event(EMPTY, ContainerAction::Destroy, ago(27), None));

    // Empty failure with no sign of output (sys.exit(3)): only info.
    at(20, finished(Status::Failed, QUIET, 0, 3));

    for _ in 0..2 {
        at(
            15,
            Observation::Rejected(Rejection {
                source: Source::Redis,
                channel: "evaluation:failed".to_string(),
                reason: "not JSON".to_string(),
            }),
        );
    }
    state
}

fn render(state: &State, view: &TableView, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| draw_with(frame, state, view, &FindPanes::default(), NOW))
        .expect("draw");
    terminal.backend().buffer().clone()
}

/// The screen line that shows `id`.
fn row_of(buf: &Buffer, id: &str) -> u16 {
    (0..buf.area.height)
        .find(|&y| line(buf, y).contains(id))
        .unwrap_or_else(|| panic!("{id} not on screen:\n{}", text(buf)))
}

#[test]
fn a_completion_owed_while_redis_is_blind_shows_as_unknown() {
    let mut state = scenario();
    state.settings.grace_ms = 2_000;
    // Redis last answered 12 s ago and then stopped answering; the overrun
    // container dies 9 s ago, inside the blindness.
    state.apply(
        Observation::SourceLive {
            source: Source::Redis,
            probed_at: ago(12),
        },
        ago(12),
    );
    state.apply(
        Observation::SourceUnanswered {
            source: Source::Redis,
            reason: "did not answer PING within 1.8s".to_string(),
        },
        ago(10),
    );
    state.apply(
        event(OVERDUE, ContainerAction::Die, ago(9), Some(137)),
        ago(9),
    );
    let buf = render(&state, &refreshed(&state), 140, 20);
    let screen = text(&buf);
    let row = line(&buf, row_of(&buf, OVERDUE));
    assert!(
        row.contains("unknown: redis blind since 00:56:28"),
        "{screen}"
    );
    assert!(!row.contains("lost-completion"), "{screen}");
    // Its grace was watched in full before the blindness: that one stands.
    assert!(
        line(&buf, row_of(&buf, LOST)).contains("lost-completion"),
        "{screen}"
    );
}

#[test]
fn flagged_rows_come_first_tinted_by_severity() {
    let state = scenario();
    let view = refreshed(&state);
    let buf = render(&state, &view, 100, 20);
    let screen = text(&buf);

    let ys: Vec<u16> = [EMPTY, LOST, OVERDUE, QUIET, HEALTHY]
        .iter()
        .map(|id| row_of(&buf, id))
        .collect();
    assert!(
        ys.windows(2).all(|w| w[0] < w[1]),
        "order {ys:?}:\n{screen}"
    );

    let flags_of = |id: &str| line(&buf, row_of(&buf, id));
    assert!(flags_of(LOST).contains("lost-completion"), "{screen}");
    assert!(flags_of(OVERDUE).contains("overdue"), "{screen}");
    assert!(flags_of(EMPTY).contains("empty-failure"), "{screen}");
    assert!(flags_of(QUIET).contains("empty-failure"), "{screen}");
    for flag in [
        "lost-completion",
        "overdue",
        "empty-failure",
        "orphan",
        "silent",
    ] {
        assert!(!flags_of(HEALTHY).contains(flag), "{screen}");
    }
    assert!(flags_of(OVERDUE).contains("+41s over"), "{screen}");
    assert!(flags_of(LOST).contains("exited"), "{screen}");

    let fg = |id: &str| -> Vec<Color> {
        let y = row_of(&buf, id);
        (0..buf.area.width).map(|x| buf[(x, y)].fg).collect()
    };
    for id in [EMPTY, LOST, OVERDUE] {
        assert!(
            fg(id).iter().all(|c| *c == Color::Red),
            "{id} not red: {:?}",
            fg(id)
        );
    }
    assert!(
        fg(QUIET).iter().all(|c| *c == Color::Cyan),
        "{:?}",
        fg(QUIET)
    );
    assert!(!fg(HEALTHY).contains(&Color::Red), "{:?}", fg(HEALTHY));
    assert!(fg(HEALTHY).iter().all(|c| *c == Color::Reset));
}

#[test]
fn header_shows_how_far_the_first_reads_have_come() {
    let mut state = State::new(Settings::default());
    state.apply(
        up(
            Source::Docker(EngineName::default()),
            "engine 20.10.24, API 1.41",
        ),
        ago(2),
    );
    state.apply(up(Source::Redis, "redis 7.0.15"), ago(2));
    let progress = |source, progress| Observation::SourceProgress { source, progress };
    state.apply(
        progress(Source::Docker(EngineName::default()), ReadProgress::Listing),
        ago(2),
    );
    state.apply(
        progress(
            Source::Redis,
            ReadProgress::Reading {
                read: 4_000,
                total: 10_000,
            },
        ),
        ago(1),
    );
    // The first frame, before either read is in: each says what it waits
    // for, with the counts read so far.
    let buf = render(&state, &refreshed(&state), 120, 20);
    let (docker, redis) = (line(&buf, 0), line(&buf, 1));
    assert!(docker.contains("listing containers"), "{docker}");
    assert!(redis.contains("reading keys 4,000/10,000"), "{redis}");
    assert!(!redis.contains("syncing"), "{redis}");

    // Once the keys are in, the count gives way; Docker still lists.
    state.apply(Observation::RedisKeys(RedisSnapshot::default()), NOW);
    let buf = render(&state, &refreshed(&state), 120, 20);
    let (docker, redis) = (line(&buf, 0), line(&buf, 1));
    assert!(docker.contains("listing containers"), "{docker}");
    assert!(
        !redis.contains("reading keys") && !redis.contains("syncing"),
        "{redis}"
    );
}

#[test]
fn header_shows_sources_counts_and_rejections() {
    let state = scenario();
    let view = refreshed(&state);
    let buf = render(&state, &view, 100, 20);
    let screen = text(&buf);
    let docker = line(&buf, 0);
    let redis = line(&buf, 1);
    assert!(
        docker.contains("docker") && docker.contains("● connected"),
        "{screen}"
    );
    assert!(docker.contains("engine 20.10.24") && docker.contains("last event 27s ago"));
    assert!(
        redis.contains("redis") && redis.contains("● connected"),
        "{screen}"
    );
    assert!(redis.contains("blind 00:55:15–00:55:19 (4s)"), "{screen}");
    assert!(screen.contains("5 evaluations"), "{screen}");
    assert!(screen.contains("rejected payloads 2"), "{screen}");
    assert!(
        screen.contains("running 2") && screen.contains("failed 2"),
        "{screen}"
    );
    assert!(screen.contains("lost-completion 1") && screen.contains("empty-failure 2"));
    // The rejected count is highlighted when non-zero.
    let y = row_of(&buf, "rejected payloads 2");
    let x = line(&buf, y).find("rejected").expect("on the line");
    let x = line(&buf, y)[..x].chars().count() as u16;
    assert_eq!(buf[(x, y)].fg, Color::Red);

    // A source that falls behind says by how much.
    let mut behind = scenario();
    behind.apply(
        Observation::SourceLag {
            source: Source::Redis,
            waiting: 12_340,
            oldest_ms: 800,
        },
        ago(1),
    );
    let buf = render(&behind, &refreshed(&behind), 120, 20);
    let redis = line(&buf, 1);
    assert!(redis.contains("12,340 behind, 0.8 s"), "{redis}");

    // A source that is down says why, and since when it is blind.
    let mut down = scenario();
    down.apply(
        Observation::SourceDown {
            source: Source::Docker(EngineName::default()),
            reason: "connection refused".to_string(),
        },
        ago(12),
    );
    let buf = render(&down, &refreshed(&down), 100, 20);
    let docker = line(&buf, 0);
    assert!(
        docker.contains("○ reconnecting: connection refused"),
        "{docker}"
    );
    // Noticed 12 s ago, blind since its last proof of life: the last event.
    assert!(docker.contains("blind since 00:56:13 (27s)"), "{docker}");

    // A source that went silent says so, counted from its last answer.
    down.apply(
        Observation::SourceLive {
            source: Source::Redis,
            probed_at: ago(4),
        },
        ago(4),
    );
    down.apply(
        Observation::SourceUnanswered {
            source: Source::Redis,
            reason: "did not answer PING within 2s".to_string(),
        },
        ago(1),
    );
    let buf = render(&down, &refreshed(&down), 100, 20);
    let redis = line(&buf, 1);
    assert!(
        redis.contains("○ not answering for 4s: did not answer PING"),
        "{redis}"
    );
    let x = line(&buf, 1).find("○ not answering").expect("on the line");
    let x = line(&buf, 1)[..x].chars().count() as u16;
    assert_eq!(buf[(x, 1)].fg, Color::Red);
}

#[test]
fn footer_explains_the_selected_rows_top_flag() {
    let state = scenario();
    let mut view = refreshed(&state);
    view.apply(Action::Down, 10);
    assert_eq!(view.selected().map(|id| &**id), Some(LOST));
    let buf = render(&state, &view, 250, 20);
    let footer = line(&buf, 19);
    assert!(
        footer.contains("lost-completion: container exited 1 at 00:55:42.000"),
        "{footer}"
    );
    assert!(footer.contains("q quit"), "{footer}");
}

#[test]
fn selection_moves_with_keys_and_follows_the_id() {
    let mut state = scenario();
    let mut view = refreshed(&state);
    let page = page_size(Rect::new(0, 0, 100, 20), &view, false);
    assert_eq!(
        page, 13,
        "20 lines less the header, tabs, titles and footer"
    );
    let selected = |view: &TableView| view.selected().map(|id| id.to_string());
    assert_eq!(selected(&view).as_deref(), Some(EMPTY));
    view.apply(Action::Down, page);
    view.apply(Action::Down, page);
    assert_eq!(selected(&view).as_deref(), Some(OVERDUE));
    view.apply(Action::Up, page);
    assert_eq!(selected(&view).as_deref(), Some(LOST));
    view.apply(Action::Bottom, page);
    assert_eq!(selected(&view).as_deref(), Some(HEALTHY));
    view.apply(Action::Top, page);
    assert_eq!(selected(&view).as_deref(), Some(EMPTY));

    // The selected (healthy) evaluation's container turns up running
    // after its completion: it becomes a warning and moves up a row.
    view.apply(Action::Bottom, page);
    let mut orphan = ContainerFacts {
        container_id: "c_second".to_string(),
        ..ContainerFacts::default()
    };
    orphan.eval_id = HEALTHY.to_string();
    orphan.state = Some(ContainerState::Running);
    orphan.created_at = Some(ago(5));
    state.apply(Observation::DockerInspect(orphan), ago(5));
    view.refresh(&state, NOW);
    assert_eq!(selected(&view).as_deref(), Some(HEALTHY));
    assert_eq!(view.selected_index(), Some(3), "moved above the info row");
    let buf = render(&state, &view, 100, 20);
    assert!(row_of(&buf, HEALTHY) < row_of(&buf, QUIET));
    assert!(line(&buf, row_of(&buf, HEALTHY)).contains("orphan"));
    let y = row_of(&buf, HEALTHY);
    assert!((0..100).all(|x| buf[(x, y)].fg == Color::Yellow));
}

#[test]
fn narrow_terminals_keep_the_id_tail_and_the_flags() {
    let state = scenario();
    let view = refreshed(&state);
    let buf = render(&state, &view, 50, 20);
    let screen = text(&buf);
    let lost = line(&buf, row_of(&buf, "0000aaaa"));
    assert!(
        lost.contains('…') && lost.contains("lost-completion"),
        "{screen}"
    );
    assert!(
        !screen.contains("executor-1"),
        "executor goes first:\n{screen}"
    );
    assert!(!screen.contains(LOST), "the id is cut:\n{screen}");
}

#[test]
fn no_size_panics() {
    let state = scenario();
    let mut view = refreshed(&state);
    view.apply(Action::Bottom, 3);
    let empty = State::default();
    let nothing = refreshed(&empty);
    for height in [1, 2, 3, 4, 5, 6, 7, 20, 80] {
        for width in 1..=250 {
            render(&state, &view, width, height);
        }
    }
    for width in [1, 2, 10, 40, 80, 100, 250] {
        for height in 1..=80 {
            render(&state, &view, width, height);
            render(&empty, &nothing, width, height);
        }
    }
}

#[test]
fn snapshot_at_100x20() {
    let state = scenario();
    let view = refreshed(&state);
    let buf = render(&state, &view, 100, 20);
    insta::assert_snapshot!(text(&buf));
}

/// The config's `columns` choose the columns and their order; the id
/// always comes first.
#[test]
fn the_configured_columns_are_drawn_in_their_order() {
    let state = scenario();
    let view = refreshed(&state);
    let columns = [
        evaltop::view::Column::Flags,
        evaltop::view::Column::Exit,
        evaltop::view::Column::Status,
    ];
    let panes = FindPanes {
        columns: &columns,
        ..FindPanes::default()
    };
    let mut terminal = Terminal::new(TestBackend::new(120, 20)).expect("test backend");
    terminal
        .draw(|frame| draw_with(frame, &state, &view, &panes, NOW))
        .expect("draw");
    let buf = terminal.backend().buffer().clone();
    let titles = (0..20)
        .map(|y| line(&buf, y))
        .find(|l| l.starts_with("id "))
        .expect("a titles row");
    let words: Vec<&str> = titles.split_whitespace().collect();
    assert_eq!(words, ["id", "flags", "exit", "status"], "{titles}");
}
