//! The fleet on screen: two engines in the header and in the host column,
//! the fleet view with a row per executor and per host, a stalled executor
//! said on its row, and Enter on a row filtering the table to it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use evaltop::console::{Console, ConsoleConfig, Input};
use evaltop::model::{
    ContainerFacts, ContainerState, EngineName, Observation, RedisSnapshot, Source, State, Status,
    StatusMessage, Ts,
};
use evaltop::sources::Received;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

const T0: i64 = 1_751_763_315_000;
const NOW: i64 = 120;
const LOST: &str = "eval_20250706_005515_000000aa";
const DONE: &str = "eval_20250706_005515_000000cc";
const STUCK: &str = "eval_20250706_005515_000000bb";

fn t(secs: i64) -> Ts {
    Ts(T0 + secs * 1000)
}

fn observe(console: &mut Console, at: i64, observation: Observation) {
    let at = t(at);
    console.update(Input::Observed(Received { at, observation }), at);
}

fn status(id: &str, status: Status, executor: &str) -> Observation {
    Observation::RedisStatus {
        channel_status: status,
        message: StatusMessage {
            eval_id: id.into(),
            status: Some(status),
            executor_id: Some(executor.into()),
            output_len: Some(3),
            timeout_secs: Some(30),
            ..StatusMessage::default()
        },
    }
}

/// exec-a holds a lost completion of executor-2, which completed another
/// at t(100); exec-b runs executor-9's evaluation, which never completes.
fn fleet_console() -> Console {
    let mut console = Console::new(State::default(), ConsoleConfig::default());
    for engine in ["exec-a", "exec-b"] {
        let source = Source::Docker(EngineName::new(engine));
        observe(
            &mut console,
            0,
            Observation::SourceUp {
                source,
                detail: "test".into(),
            },
        );
    }
    observe(
        &mut console,
        0,
        Observation::SourceUp {
            source: Source::Redis,
            detail: "test".into(),
        },
    );
    let container = |id: &str, state: ContainerState, executor: &str| ContainerFacts {
        container_id: format!("{}{}", &id[id.len() - 2..], "0".repeat(62)),
        eval_id: id.into(),
        state: Some(state),
        executor: Some(executor.into()),
        created_at: Some(t(0)),
        timeout_secs: Some(30),
        exit_code: (state == ContainerState::Exited).then_some(1),
        finished_at: (state == ContainerState::Exited).then_some(t(1)),
        inspected: true,
        ..ContainerFacts::default()
    };
    let list = |engine: &str, containers| Observation::DockerList {
        engine: EngineName::new(engine),
        containers,
        requested_at: t(0),
    };
    observe(
        &mut console,
        0,
        list(
            "exec-a",
            vec![container(LOST, ContainerState::Exited, "executor-2")],
        ),
    );
    observe(
        &mut console,
        0,
        list(
            "exec-b",
            vec![container(STUCK, ContainerState::Running, "executor-9")],
        ),
    );
    let keys = RedisSnapshot {
        running_set: vec![LOST.into(), STUCK.into()],
        ..RedisSnapshot::default()
    };
    observe(&mut console, 0, Observation::RedisKeys(keys));
    observe(&mut console, 1, status(LOST, Status::Running, "executor-2"));
    observe(
        &mut console,
        1,
        status(STUCK, Status::Running, "executor-9"),
    );
    observe(
        &mut console,
        80,
        status(DONE, Status::Running, "executor-2"),
    );
    observe(
        &mut console,
        100,
        status(DONE, Status::Completed, "executor-2"),
    );
    console
}

fn key(console: &mut Console, code: KeyCode) {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    console.update(Input::Key(KeyEvent::new(code, modifiers)), t(NOW));
}

fn screen(console: &mut Console, width: u16, height: u16) -> String {
    console.update(Input::Resized(Rect::new(0, 0, width, height)), t(NOW));
    console.refresh_if_needed(t(NOW));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| {
            evaltop::ui::screen::draw_console(frame, console, t(NOW));
        })
        .expect("draw");
    let buf = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| {
            let line: String = (0..width).map(|x| buf[(x, y)].symbol()).collect();
            line.trim_end().to_string() + "\n"
        })
        .collect()
}

fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?}:\n{screen}"))
}

#[test]
fn the_table_names_each_containers_host_and_the_header_counts_the_engines() {
    let mut console = fleet_console();
    let table = screen(&mut console, 160, 24);
    assert!(
        line_with(&table, "docker").contains("2/2 engines connected"),
        "{table}"
    );
    let titles = line_with(&table, "executor");
    assert!(titles.contains("host"), "{table}");
    assert!(line_with(&table, LOST).contains("exec-a"));
    assert!(line_with(&table, STUCK).contains("exec-b"));
}

#[test]
fn the_fleet_view_shows_each_executor_and_host_and_a_stalled_executor() {
    let mut console = fleet_console();
    key(&mut console, KeyCode::Char('H'));
    let fleet = screen(&mut console, 160, 24);
    let stuck = line_with(&fleet, "executor-9");
    assert!(stuck.contains("executor-stalled 2m00s ago"), "{fleet}");
    let healthy = line_with(&fleet, "executor-2");
    assert!(!healthy.contains("stalled"), "{fleet}");
    assert!(healthy.contains("20s ago"), "its last completion: {fleet}");
    let a = fleet
        .lines()
        .filter(|l| l.contains("exec-a"))
        .collect::<Vec<_>>();
    assert_eq!(a.len(), 2, "a health line and a host row: {fleet}");
    assert!(a[0].contains("● connected"), "{fleet}");
    assert!(
        line_with(&fleet, "esc").contains("enter"),
        "the hints: {fleet}"
    );
}

#[test]
fn enter_on_a_host_row_filters_the_table_to_its_evaluations() {
    let mut console = fleet_console();
    key(&mut console, KeyCode::Char('H'));
    // executor-2, executor-9, then the hosts exec-a, exec-b.
    for _ in 0..3 {
        key(&mut console, KeyCode::Down);
    }
    key(&mut console, KeyCode::Enter);
    let table = screen(&mut console, 160, 24);
    assert!(table.contains(STUCK), "{table}");
    assert!(!table.contains(LOST) && !table.contains(DONE), "{table}");
    assert!(
        table.contains("host:exec-b"),
        "the filter is shown: {table}"
    );
}
