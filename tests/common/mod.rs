//! Shared by the view tests: the lost-completion scenario built from
//! observations (no Docker, no Redis), the log documents and key rows the
//! views are shown with, the five evaluations of the table tests (in
//! `table`), and helpers that draw a view into ratatui's TestBackend and
//! read the screen back as text.

#![allow(dead_code)]

use evaltop::model::EngineName;
use std::sync::Arc;

use evaltop::actions::LogOrigin;
use evaltop::layout::logs_viewport as log_viewport;
use evaltop::model::{
    CapturedLogs, ContainerAction, ContainerEvent, ContainerFacts, ContainerState, EvalRecord,
    Flag, HealthContext, Observation, RedisSnapshot, RunningKey, Settings, Source, State, Status,
    StatusMessage, StreamKind, Ts, assess,
};
use evaltop::ui::detail::{DetailScreen, draw_detail};
use evaltop::ui::help::{KeyHelp, draw_help};
use evaltop::ui::logs::draw_logs;
use evaltop::view::detail_view::DetailView;
use evaltop::view::log_view::{LogDocument, LogSource, LogView, Viewport};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub const ID: &str = "eval_20250706_005515_529f833e";
pub const CID: &str = "529f833e0000000000000000000000000000000000000000000000000000aaaa";
/// 2025-07-06T00:55:15Z: the submission.
pub const T0: Ts = Ts(1_751_763_315_000);
/// A minute later: the container died 58.8 s ago, past the 30 s grace.
pub const NOW: Ts = Ts(1_751_763_375_000);

pub fn tm(ms: i64) -> Ts {
    T0.plus_millis(ms)
}

pub fn status(channel: Status) -> Observation {
    Observation::RedisStatus {
        channel_status: channel,
        message: StatusMessage {
            eval_id: ID.to_string(),
            status: Some(channel),
            executor_id: Some("executor-2".to_string()),
            container_id: (channel == Status::Running).then(|| CID[..12].to_string()),
            timeout_secs: Some(30),
            ..StatusMessage::default()
        },
    }
}

pub fn event(action: ContainerAction, at: Ts, exit: Option<i64>) -> Observation {
    Observation::DockerEvent(ContainerEvent {
        engine: EngineName::default(),
        container_id: CID.to_string(),
        eval_id: ID.to_string(),
        action,
        at,
        executor: Some("executor-2".to_string()),
        created_at_label: Some("2025-07-06T00:55:15.400000+00:00".to_string()),
        timeout_label: Some("30".to_string()),
        signal: None,
        exit_code_attr: exit,
    })
}

pub fn held_running() -> Observation {
    Observation::RedisKeys(RedisSnapshot {
        running_set: vec![ID.to_string()],
        running_keys: vec![RunningKey {
            eval_id: ID.to_string(),
            executor_id: Some("executor-2".to_string()),
            container_id: Some(CID[..12].to_string()),
            started_at: Some(tm(529)),
            timeout_secs: Some(30),
            ttl_ms: Some(90_000),
            value_ok: true,
        }],
        ..RedisSnapshot::default()
    })
}

pub const CONSOLE: &str = "Before error\nTraceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero\n";

/// Reality 1: `print("Before error"); 1/0` died in 0.7 s and its completion
/// was never published; Redis still holds it as running.
pub fn lost_completion() -> State {
    let mut state = State::new(Settings::default());
    let mut at = |ts: Ts, observation: Observation| state.apply(observation, ts);
    let start = tm(-10_000);
    for source in [Source::Docker(EngineName::default()), Source::Redis] {
        at(
            start,
            Observation::SourceUp {
                source,
                detail: "test".to_string(),
            },
        );
    }
    at(
        start,
        Observation::DockerList {
            engine: EngineName::default(),
            containers: Vec::new(),
            requested_at: start,
        },
    );
    at(start, Observation::RedisKeys(RedisSnapshot::default()));
    at(tm(0), status(Status::Submitted));
    at(tm(5), status(Status::Queued));
    at(tm(400), event(ContainerAction::Create, tm(400), None));
    at(tm(500), event(ContainerAction::Start, tm(500), None));
    at(tm(529), status(Status::Running));
    at(tm(1_000), held_running());
    at(tm(1_182), event(ContainerAction::Die, tm(1_182), Some(1)));
    at(
        tm(1_190),
        Observation::DockerLogs {
            engine: EngineName::default(),
            container_id: CID.to_string(),
            eval_id: ID.to_string(),
            logs: CapturedLogs {
                tty: true,
                stdout: CONSOLE.to_string(),
                stderr: String::new(),
                total_bytes: CONSOLE.len() as u64,
                truncated: false,
                captured_at: tm(1_190),
            },
        },
    );
    at(
        tm(1_200),
        Observation::DockerInspect(ContainerFacts {
            engine: EngineName::default(),
            container_id: CID.to_string(),
            eval_id: ID.to_string(),
            state: Some(ContainerState::Exited),
            executor: Some("executor-2".to_string()),
            created_at_label: Some("2025-07-06T00:55:15.400000+00:00".to_string()),
            created_at: Some(tm(400)),
            timeout_secs: Some(30),
            exit_code: Some(1),
            oom_killed: Some(false),
            started_at: Some(tm(500)),
            finished_at: Some(tm(1_182)),
            tty: Some(true),
            inspected: true,
        }),
    );
    at(tm(31_000), held_running());
    state
}

pub fn record(state: &State) -> &EvalRecord {
    state.evals.get(ID).expect("record of ID")
}

pub fn flags(state: &State) -> Vec<Flag> {
    assess(record(state), &HealthContext::of(state, NOW))
}

pub fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

pub fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Screen line holding `needle`, and its column.
pub fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row = line(buf, y);
        if let Some(i) = row.find(needle) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

pub fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("test backend")
}

pub fn detail(state: &State, view: &DetailView, width: u16, height: u16) -> Buffer {
    detail_and_max(state, view, width, height).0
}

/// The detail drawn, and how far it can scroll at that size.
pub fn detail_and_max(state: &State, view: &DetailView, width: u16, height: u16) -> (Buffer, u16) {
    let flags = flags(state);
    let mut terminal = terminal(width, height);
    let mut max = 0;
    terminal
        .draw(|frame| {
            let area = frame.area();
            let screen = DetailScreen::with_default_keys(ID, record(state), &flags, view, NOW);
            max = draw_detail(frame, area, &screen);
        })
        .expect("draw");
    (terminal.backend().buffer().clone(), max)
}

// ---- the log viewer ----

pub fn captured(tty: bool) -> CapturedLogs {
    CapturedLogs {
        tty,
        stdout: if tty {
            CONSOLE.to_string()
        } else {
            "Before error\nstill going\n".to_string()
        },
        stderr: if tty {
            String::new()
        } else {
            "Traceback (most recent call last):\nZeroDivisionError: division by zero\n".to_string()
        },
        total_bytes: 200,
        truncated: false,
        captured_at: tm(1_190),
    }
}

/// What the logs action read from the copy captured at death, 10 ms
/// after the capture.
pub fn doc_of(tty: bool) -> LogDocument {
    LogDocument::from_captured(
        Arc::from(ID),
        &captured(tty),
        fetched(LogOrigin::CapturedAtDeath { age_ms: 10 }),
    )
}

pub fn fetched(origin: LogOrigin) -> LogSource {
    LogSource::Fetched {
        origin,
        fetched_at: tm(1_200),
    }
}

pub fn logs(doc: &LogDocument, view: &LogView, width: u16, height: u16) -> Buffer {
    let mut terminal = terminal(width, height);
    terminal
        .draw(|frame| {
            let area = frame.area();
            draw_logs(
                frame,
                area,
                doc,
                view,
                &evaltop::keymap::KeyHints::default(),
                NOW,
            )
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

pub fn vp(width: u16, height: u16) -> Viewport {
    log_viewport(Rect::new(0, 0, width, height))
}

pub fn long_doc() -> LogDocument {
    let mut doc = LogDocument::new(
        Arc::from(ID),
        fetched(LogOrigin::Docker { tty: false }),
        true,
    );
    doc.push_text(StreamKind::Stdout, None, "short line\n");
    let long = format!("{}NEEDLE{}", "a".repeat(70), "b".repeat(124));
    doc.push_text(StreamKind::Stderr, None, &long);
    doc.push_text(StreamKind::Stdout, None, "after\n");
    doc
}
// ---- help ----

pub fn help_rows() -> Vec<KeyHelp> {
    vec![
        KeyHelp::new("j/k ↑/↓", "move the selection", "table"),
        KeyHelp::new("Enter", "details of the selected evaluation", "table"),
        KeyHelp::new("q Ctrl-C", "quit", "table"),
        KeyHelp::new("K", "kill the container", "detail"),
        KeyHelp::new(
            "F",
            "force the evaluation failed: publishes evaluation:failed with the logs captured at death",
            "detail",
        ),
        KeyHelp::new("/", "search", "logs"),
        KeyHelp::new("n/N", "next/previous match", "logs"),
    ]
}

/// What the console's help says on its frame with the default keys.
pub const HELP_HINT: &str = "?/esc close · j/k scroll";

pub fn help(rows: &[KeyHelp], scroll: u16, width: u16, height: u16) -> Buffer {
    help_and_max(rows, scroll, width, height).0
}

/// Help drawn, and how far it can scroll at that size.
pub fn help_and_max(rows: &[KeyHelp], scroll: u16, width: u16, height: u16) -> (Buffer, u16) {
    let mut terminal = terminal(width, height);
    let mut max = 0;
    terminal
        .draw(|frame| {
            let area = frame.area();
            max = draw_help(frame, area, rows, scroll, HELP_HINT);
        })
        .expect("draw");
    (terminal.backend().buffer().clone(), max)
}

// ---- the table ----

/// The table tests' five evaluations (empty failure with output, lost
/// completion, overdue, quiet failure, healthy) and the observations they
/// are built from, on a clock of their own: a separate module, so that its
/// `NOW`, `event` and `status` do not clash with the lost-completion ones.
pub mod table {
    use evaltop::model::EngineName;
    use evaltop::model::{
        ContainerAction, ContainerEvent, ContainerFacts, ContainerState, LogMessage, Observation,
        Source, State, Status, StatusMessage, Ts,
    };
    use evaltop::view::TableView;

    /// 2025-07-06T00:56:40Z: every time below is fixed relative to it, so
    /// the rendering is deterministic.
    pub const NOW: Ts = Ts(1_751_763_400_000);

    pub const EMPTY: &str = "eval_20250706_005610_0000eeee";
    pub const LOST: &str = "eval_20250706_005540_0000aaaa";
    pub const OVERDUE: &str = "eval_20250706_005529_0000bbbb";
    pub const QUIET: &str = "eval_20250706_005620_0000dddd";
    pub const HEALTHY: &str = "eval_20250706_005600_0000cccc";

    pub fn ago(secs: i64) -> Ts {
        NOW.plus_millis(-secs * 1000)
    }

    pub fn facts(eval_id: &str, created_secs_ago: i64, executor: &str) -> ContainerFacts {
        ContainerFacts {
            container_id: format!("c_{eval_id}"),
            eval_id: eval_id.to_string(),
            state: Some(ContainerState::Running),
            executor: Some(executor.to_string()),
            created_at: Some(ago(created_secs_ago)),
            timeout_secs: Some(30),
            started_at: Some(ago(created_secs_ago)),
            tty: Some(true),
            inspected: true,
            ..ContainerFacts::default()
        }
    }

    pub fn event(eval_id: &str, action: ContainerAction, at: Ts, exit: Option<i64>) -> Observation {
        Observation::DockerEvent(ContainerEvent {
            engine: EngineName::default(),
            container_id: format!("c_{eval_id}"),
            eval_id: eval_id.to_string(),
            action,
            at,
            executor: None,
            created_at_label: None,
            timeout_label: None,
            signal: None,
            exit_code_attr: exit,
        })
    }

    pub fn status(channel: Status, eval_id: &str, executor: &str) -> Observation {
        Observation::RedisStatus {
            channel_status: channel,
            message: StatusMessage {
                eval_id: eval_id.to_string(),
                status: Some(channel),
                executor_id: Some(executor.to_string()),
                ..StatusMessage::default()
            },
        }
    }

    pub fn finished(channel: Status, eval_id: &str, output: usize, exit: i64) -> Observation {
        Observation::RedisStatus {
            channel_status: channel,
            message: StatusMessage {
                eval_id: eval_id.to_string(),
                status: Some(channel),
                exit_code: Some(exit),
                output_len: Some(output),
                error_len: Some(0),
                ..StatusMessage::default()
            },
        }
    }

    /// The first log line `eval_id` published.
    pub fn printed(eval_id: &str, content: &str) -> Observation {
        Observation::RedisLog(LogMessage {
            eval_id: eval_id.to_string(),
            sequence: Some(1),
            content: content.to_string(),
            ..LogMessage::default()
        })
    }

    pub fn up(source: Source, detail: &str) -> Observation {
        Observation::SourceUp {
            source,
            detail: detail.to_string(),
        }
    }

    /// A table view of `state` as it stands at `NOW`.
    pub fn refreshed(state: &State) -> TableView {
        let mut view = TableView::default();
        view.refresh(state, NOW);
        view
    }
}
