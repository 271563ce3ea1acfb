//! The whole console drawn as an operator sees it: the confirmation
//! dialogs, the reason editor, help over the table, the status line; at
//! fixed sizes as snapshots, and at every size without a panic.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use evaltop::console::{Console, ConsoleConfig, Input};
use evaltop::model::EngineName;
use evaltop::model::{
    ContainerFacts, ContainerState, Observation, RedisSnapshot, Source, State, Status,
    StatusMessage, Ts,
};
use evaltop::sources::Received;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const T0: i64 = 1_751_763_315_000;

fn t(secs: i64) -> Ts {
    Ts(T0 + secs * 1000)
}

fn observe(console: &mut Console, at: Ts, observation: Observation) {
    console.update(Input::Observed(Received { at, observation }), at);
}

fn oncall() -> ConsoleConfig {
    ConsoleConfig {
        operator: "oncall@host".into(),
        ..ConsoleConfig::default()
    }
}

/// A lost completion and a healthy running evaluation, both sources up.
fn console() -> Console {
    console_with(oncall())
}

fn console_with(config: ConsoleConfig) -> Console {
    let mut console = Console::new(State::default(), config);
    for source in [Source::Docker(EngineName::default()), Source::Redis] {
        observe(
            &mut console,
            t(0),
            Observation::SourceUp {
                source,
                detail: "test".into(),
            },
        );
    }
    let container = |id: &str, n: u8, state: ContainerState| ContainerFacts {
        container_id: format!("{n:02x}{}", "0".repeat(62)),
        eval_id: id.into(),
        state: Some(state),
        executor: Some("executor-2".into()),
        created_at: Some(t(0)),
        timeout_secs: Some(30),
        exit_code: (state == ContainerState::Exited).then_some(1),
        finished_at: (state == ContainerState::Exited).then_some(t(1)),
        inspected: true,
        ..ContainerFacts::default()
    };
    observe(
        &mut console,
        t(0),
        Observation::DockerList {
            engine: EngineName::default(),
            containers: vec![
                container("eval_20250706_005515_529f833e", 1, ContainerState::Exited),
                container("eval_20250706_005520_00000002", 2, ContainerState::Running),
            ],
            requested_at: t(0),
        },
    );
    observe(
        &mut console,
        t(0),
        Observation::RedisKeys(RedisSnapshot {
            running_set: vec!["eval_20250706_005515_529f833e".into()],
            ..RedisSnapshot::default()
        }),
    );
    for id in [
        "eval_20250706_005515_529f833e",
        "eval_20250706_005520_00000002",
    ] {
        observe(
            &mut console,
            t(1),
            Observation::RedisStatus {
                channel_status: Status::Running,
                message: StatusMessage {
                    eval_id: id.into(),
                    ..StatusMessage::default()
                },
            },
        );
    }
    console
}

fn key(console: &mut Console, code: KeyCode) {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    console.update(Input::Key(KeyEvent::new(code, modifiers)), t(45));
}

fn draw(console: &mut Console, width: u16, height: u16) -> Buffer {
    console.update(Input::Resized(Rect::new(0, 0, width, height)), t(45));
    console.refresh_if_needed(t(45));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|frame| {
            evaltop::ui::screen::draw_console(frame, console, t(45));
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    (0..area.height)
        .map(|y| {
            let line: String = (0..area.width).map(|x| buf[(x, y)].symbol()).collect();
            line.trim_end().to_string() + "\n"
        })
        .collect()
}

#[test]
fn the_kill_dialog_says_what_to_what_and_how_to_confirm() {
    let mut console = console();
    key(&mut console, KeyCode::Char('K'));
    let screen = text(&draw(&mut console, 100, 24));
    assert!(
        screen.contains("Send SIGKILL to the container of 1 evaluation(s)"),
        "{screen}"
    );
    assert!(
        screen
            .contains("eval_20250706_005515_529f833e · executor-2 · container 010000000000 exited"),
        "{screen}"
    );
    assert!(
        screen.contains("y: confirm · n/Esc: cancel (Enter does not confirm)"),
        "{screen}"
    );
    insta::assert_snapshot!("kill_dialog_100x24", screen);
}

#[test]
fn the_force_failed_dialog_edits_the_prefilled_reason() {
    let mut console = console();
    key(&mut console, KeyCode::Char('F'));
    for _ in 0.."no completion event".len() {
        key(&mut console, KeyCode::Backspace);
    }
    for c in "operator checked".chars() {
        key(&mut console, KeyCode::Char(c));
    }
    let screen = text(&draw(&mut console, 100, 24));
    assert!(
        screen.contains("lost completion: container exited 1 at 00:55:16, operator checked"),
        "{screen}"
    );
    insta::assert_snapshot!("force_failed_reason_100x24", screen);
    key(&mut console, KeyCode::Enter);
    let screen = text(&draw(&mut console, 100, 24));
    assert!(screen.contains("reason: lost completion"), "{screen}");
    assert!(screen.contains("y: confirm"), "{screen}");
}

#[test]
fn help_lists_the_keys_in_force_over_the_table() {
    let mut console = console();
    key(&mut console, KeyCode::Char('?'));
    let screen = text(&draw(&mut console, 100, 30));
    for expected in ["kill the container", "force the evaluation failed", "quit"] {
        assert!(screen.contains(expected), "{expected}: {screen}");
    }
    insta::assert_snapshot!("help_over_table_100x30", screen);
}

#[test]
fn help_says_what_the_source_states_mean_with_the_liveness_in_force() {
    let settings = evaltop::model::Settings {
        liveness_ms: 500,
        ..evaltop::model::Settings::default()
    };
    let console = Console::new(State::new(settings), oncall());
    let rows = evaltop::ui::screen::help_rows(&console);
    let sources: Vec<_> = rows.iter().filter(|r| r.context == "sources").collect();
    let text: Vec<String> = sources
        .iter()
        .map(|r| format!("{} {}", r.keys, r.description))
        .collect();
    assert!(
        text.iter().any(|t| t.contains("every 500ms (--liveness)")),
        "{text:?}"
    );
    assert!(
        text.iter().any(|t| t.contains("no answer within 0.9s")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("unknown ")), "{text:?}");
}

#[test]
fn a_read_only_refusal_shows_in_the_status_line() {
    let mut console = console_with(ConsoleConfig {
        read_only: Some("started with --read-only".into()),
        ..oncall()
    });
    key(&mut console, KeyCode::Char('D'));
    let buf = draw(&mut console, 100, 24);
    let screen = text(&buf);
    let last = screen.lines().last().unwrap_or_default();
    assert!(
        last.contains("remove is off: started with --read-only"),
        "{screen}"
    );
}

#[test]
fn no_size_panics_with_a_dialog_or_help_open() {
    let mut sizes = Vec::new();
    for width in 1..=250u16 {
        sizes.extend([(width, 1), (width, 10), (width, 24)]);
    }
    for height in 1..=80u16 {
        sizes.extend([(1, height), (40, height), (120, height)]);
    }
    for opener in [
        KeyCode::Char('K'),
        KeyCode::Char('F'),
        KeyCode::Char('?'),
        KeyCode::Enter,
        KeyCode::Char('l'),
    ] {
        let mut console = console();
        key(&mut console, opener);
        for (width, height) in &sizes {
            draw(&mut console, *width, *height);
        }
    }
}

/// A container id from a payload is cut on a character: an `é` at byte 11
/// of `evaluation:running`'s container id once crashed the kill dialog.
#[test]
fn a_multibyte_container_id_from_redis_opens_every_dialog() {
    let mut console = Console::new(
        State::default(),
        ConsoleConfig {
            operator: "oncall@host".into(),
            ..ConsoleConfig::default()
        },
    );
    let payload = r#"{"eval_id":"eval_panic_1","container_id":"abcdefghijké12345"}"#.as_bytes();
    let observation = evaltop::protocol::decode(
        &evaltop::names::Names::default(),
        "evaluation:running",
        payload,
    )
    .expect("a running message");
    observe(&mut console, t(1), observation);
    for action in ['K', 'D', 'F'] {
        key(&mut console, KeyCode::Char(action));
        let screen = text(&draw(&mut console, 100, 24));
        assert!(
            screen.contains("eval_panic_1"),
            "{action} dialog:\n{screen}"
        );
        key(&mut console, KeyCode::Esc);
        key(&mut console, KeyCode::Esc);
    }
    key(&mut console, KeyCode::Char('K'));
    let screen = text(&draw(&mut console, 100, 24));
    assert!(screen.contains("container abcdefghijké"), "{screen}");
}

/// Every hint on screen comes from the keymap in force: after a rebinding
/// the footer, the detail's keys line and its advice name the new key.
#[test]
fn hints_follow_a_rebinding_and_leave_out_what_cannot_run() {
    let config = evaltop::config::parse("[keys]\nkill = \"ctrl-k\"\nforce_failed = \"X\"")
        .expect("the config parses");
    let mut console = console_with(ConsoleConfig {
        keymap: config.keymap,
        ..oncall()
    });
    let table = text(&draw(&mut console, 300, 24));
    assert!(
        table.contains("? help · / filter · enter detail · l logs · ctrl-k kill · D remove · X fail · space mark · q quit"),
        "{table}"
    );
    key(&mut console, KeyCode::Enter);
    let detail = text(&draw(&mut console, 140, 60));
    assert!(
        detail.contains("ctrl-k kill · D remove · l logs · X force failed"),
        "{detail}"
    );
    assert!(detail.contains("Force it failed (X)"), "{detail}");
    assert!(
        !detail.contains("(F)") && !detail.contains("K kill"),
        "{detail}"
    );

    // Read-only: the keys that would write are not offered.
    let mut read_only = console_with(ConsoleConfig {
        read_only: Some("test".into()),
        ..oncall()
    });
    let table = text(&draw(&mut read_only, 300, 24));
    assert!(
        table.contains("? help · / filter · enter detail · l logs · q quit"),
        "{table}"
    );
}

/// In replay the footer offers the replay's keys, and neither marking
/// (space pauses there) nor the actions (they are off).
#[test]
fn the_replay_footer_shows_only_keys_that_work() {
    let mut console = console_with(ConsoleConfig {
        read_only: Some("replaying a recording: actions are off".into()),
        ..oncall()
    });
    console.set_replay(Some(evaltop::console::ReplayStatus {
        cursor: t(45),
        start: t(0),
        end: t(90),
        speed: 1.0,
        paused: false,
    }));
    let table = text(&draw(&mut console, 300, 24));
    assert!(
        table.contains(
            "? help · / filter · enter detail · l logs · space pause · + faster · - slower · q quit"
        ),
        "{table}"
    );
    assert!(
        !table.contains("space mark") && !table.contains("K kill"),
        "{table}"
    );
}
