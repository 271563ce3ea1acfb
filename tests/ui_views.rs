//! The detail view, the log viewer and the help screen as drawn: states
//! built from observations (no Docker, no Redis), rendered into ratatui's
//! TestBackend and checked cell by cell where style carries meaning, plus
//! the log viewer's state (search, n/N, follow, scroll clamping, save) and
//! every terminal size from 1x1 to 250x80.

use std::sync::Arc;

use evaltop::actions::LogOrigin;
use evaltop::model::{
    CapturedLogs, ContainerAction, ContainerEvent, ContainerFacts, ContainerState, EvalRecord,
    Flag, FlagKind, HealthContext, Observation, RedisSnapshot, RunningKey, Settings, Source, State,
    Status, StatusMessage, StreamKind, Ts, assess,
};
use evaltop::ui::detail::{draw_detail, max_scroll, render_detail};
use evaltop::ui::help::{KeyHelp, draw_help, max_scroll as help_max_scroll, render_help};
use evaltop::ui::logs::{
    current_match_style, draw_logs, match_style, render_logs, viewport as log_viewport,
};
use evaltop::view::detail_view::{DetailView, phases, timeline};
use evaltop::view::log_view::{
    LogDocument, LogLine, LogSource, LogView, Viewport, default_file_name,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

const ID: &str = "eval_20250706_005515_529f833e";
const CID: &str = "529f833e0000000000000000000000000000000000000000000000000000aaaa";
/// 2025-07-06T00:55:15Z: the submission.
const T0: Ts = Ts(1_751_763_315_000);
/// A minute later: the container died 58.8 s ago, past the 30 s grace.
const NOW: Ts = Ts(1_751_763_375_000);

fn tm(ms: i64) -> Ts {
    T0.plus_millis(ms)
}

fn status(channel: Status) -> Observation {
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

fn event(action: ContainerAction, at: Ts, exit: Option<i64>) -> Observation {
    Observation::DockerEvent(ContainerEvent {
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

fn held_running() -> Observation {
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

const CONSOLE: &str = "Before error\nTraceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nZeroDivisionError: division by zero\n";

/// Reality 1: `print("Before error"); 1/0` died in 0.7 s and its completion
/// was never published; Redis still holds it as running.
fn lost_completion() -> State {
    let mut state = State::new(Settings::default());
    let mut at = |ts: Ts, observation: Observation| state.apply(observation, ts);
    let start = tm(-10_000);
    for source in [Source::Docker, Source::Redis] {
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

fn record(state: &State) -> &EvalRecord {
    state.evals.get(ID).expect("record of ID")
}

fn flags(state: &State) -> Vec<Flag> {
    assess(record(state), &HealthContext::of(state, NOW))
}

fn line(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect()
}

fn text(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| line(buf, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Screen line holding `needle`, and its column.
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row = line(buf, y);
        if let Some(i) = row.find(needle) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{needle:?} not on screen:\n{}", text(buf));
}

fn terminal(width: u16, height: u16) -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(width, height)).expect("test backend")
}

fn detail(state: &State, view: &DetailView, width: u16, height: u16) -> Buffer {
    let flags = flags(state);
    let mut terminal = terminal(width, height);
    terminal
        .draw(|frame| {
            let area = frame.area();
            draw_detail(frame, area, ID, record(state), &flags, view, NOW)
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

#[test]
fn the_scenario_is_a_lost_completion() {
    let state = lost_completion();
    let kinds: Vec<FlagKind> = flags(&state).iter().map(Flag::kind).collect();
    assert_eq!(kinds, vec![FlagKind::LostCompletion]);
}

#[test]
fn detail_shows_both_sides_the_flag_explained_and_the_phases() {
    let state = lost_completion();
    let view = DetailView::new(Arc::from(ID));
    let buf = detail(&state, &view, 110, 80);
    let screen = text(&buf);
    for needle in [
        ID,
        "lost-completion (alarm)",
        "container exited 1 at 00:55:16.182, 58s ago",
        "no evaluation:completed or evaluation:failed seen",
        "still in running_evaluations",
        "eval:{id}:running still set, ttl 1m01s",
        "logs captured at death: 123 bytes",
        "Force it failed (F)",
        "Redis says",
        "Docker says",
        "queued → running   +529ms",
        "running → died     +682ms",
        "died → completion  none after 58s",
        "exit code        1 (inspect)",
        "label created_at 2025-07-06T00:55:15.400000+00:00",
        "running set    member",
    ] {
        assert!(screen.contains(needle), "{needle:?} missing:\n{screen}");
    }
    // Both sides on the same line: Redis left, Docker right.
    let (x_redis, y_redis) = find(&buf, "Redis says");
    let (x_docker, y_docker) = find(&buf, "Docker says");
    assert_eq!(y_redis, y_docker);
    assert!(x_redis < x_docker);
    // The flag is drawn in its severity's colour.
    let (x, y) = find(&buf, "lost-completion (alarm)");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // The timeline, in order, with the time since the previous milestone.
    let die = find(&buf, "container die, exit 1").1;
    let running = find(&buf, "status running").1;
    assert!(running < die);
    assert!(line(&buf, die).contains("+653ms"), "{}", line(&buf, die));
    assert!(
        line(&buf, running).contains("+29ms"),
        "{}",
        line(&buf, running)
    );
    // Kill does not apply to an exited container: dim; the rest do.
    let keys = buf.area.height - 1;
    let key_style = |key: &str| {
        let x = line(&buf, keys).find(key).expect("key shown") as u16;
        buf[(x, keys)].modifier
    };
    assert!(key_style("K kill").contains(Modifier::DIM));
    for key in ["D remove", "l logs", "F force failed"] {
        assert!(!key_style(key).contains(Modifier::DIM), "{key}");
        assert!(key_style(key).contains(Modifier::BOLD), "{key}");
    }
    insta::assert_snapshot!("detail_lost_completion_110x80", screen);
}

#[test]
fn detail_phases_and_timeline_as_data() {
    let state = lost_completion();
    let record = record(&state);
    let [wait, run, report] = phases(record);
    assert_eq!((wait.from, wait.to), (Some(tm(0)), Some(tm(529))));
    assert_eq!((run.from, run.to), (Some(tm(500)), Some(tm(1_182))));
    assert_eq!((report.from, report.to), (Some(tm(1_182)), None));
    let rows = timeline(record);
    assert!(rows.windows(2).all(|w| w[0].at <= w[1].at));
    let milestones: Vec<(String, i64)> = rows
        .iter()
        .filter_map(|r| r.since_previous_ms.map(|ms| (r.what.clone(), ms)))
        .collect();
    assert_eq!(
        milestones,
        vec![
            ("status queued".to_string(), 5),
            ("container create".to_string(), 395),
            ("container start".to_string(), 100),
            ("status running".to_string(), 29),
            ("container die, exit 1".to_string(), 653),
        ]
    );
}

#[test]
fn detail_stacks_on_narrow_terminals_and_scrolls_within_bounds() {
    let state = lost_completion();
    let mut view = DetailView::new(Arc::from(ID));
    let buf = detail(&state, &view, 60, 200);
    let (_, y_redis) = find(&buf, "Redis says");
    let (_, y_docker) = find(&buf, "Docker says");
    assert!(y_redis < y_docker, "stacked:\n{}", text(&buf));

    let area = Rect::new(0, 0, 80, 24);
    let flags = flags(&state);
    let max = max_scroll(area, record(&state), &flags, NOW);
    assert!(max > 0);
    view.scroll(1000, max);
    assert_eq!(view.offset(), max);
    let buf = detail(&state, &view, 80, 24);
    // Scrolled to the end, the last timeline entry sits just above the keys.
    assert!(
        line(&buf, 22).contains("logs captured, 123 bytes"),
        "{}",
        text(&buf)
    );
    assert!(line(&buf, 0).contains(ID), "title stays:\n{}", text(&buf));
    view.scroll(-1000, max);
    assert_eq!(view.offset(), 0);
    insta::assert_snapshot!(
        "detail_lost_completion_80x24",
        text(&detail(&state, &view, 80, 24))
    );
}

#[test]
fn detail_of_a_healthy_and_of_an_unknown_evaluation() {
    let mut state = lost_completion();
    state.apply(
        Observation::RedisStatus {
            channel_status: Status::Failed,
            message: StatusMessage {
                eval_id: ID.to_string(),
                status: Some(Status::Failed),
                exit_code: Some(1),
                output_len: Some(13),
                error_len: Some(60),
                error_excerpt: Some("ZeroDivisionError: division by zero".to_string()),
                ..StatusMessage::default()
            },
        },
        tm(50_000),
    );
    let view = DetailView::new(Arc::from(ID));
    let screen = text(&detail(&state, &view, 110, 80));
    assert!(screen.contains("died → completion  +48.8s"), "{screen}");
    assert!(screen.contains("ZeroDivisionError"), "{screen}");

    let empty = EvalRecord::new(NOW);
    let mut terminal = terminal(80, 24);
    terminal
        .draw(|frame| {
            let area = frame.area();
            draw_detail(frame, area, "x\u{1b}[2Jy", &empty, &[], &view, NOW)
        })
        .expect("draw");
    let screen = text(terminal.backend().buffer());
    assert!(screen.contains("none: nothing looks wrong"), "{screen}");
    assert!(screen.contains("none seen"), "{screen}");
    // The id is untrusted: its escape sequence is removed, not half-drawn.
    assert!(screen.starts_with("xy · no status"), "{screen}");
    assert!(!screen.contains("[2J"), "{screen}");
}

#[test]
fn detail_says_when_the_timeline_dropped_entries() {
    let mut state = lost_completion();
    // A chatty duplicate: each is noted, ignored, and the timeline is bounded.
    for i in 0..60 {
        state.apply(status(Status::Queued), tm(2_000 + i));
    }
    let dropped = record(&state).timeline.dropped;
    assert!(dropped > 0);
    let view = DetailView::new(Arc::from(ID));
    let buf = detail(&state, &view, 110, 120);
    let (x, y) = find(
        &buf,
        &format!("({dropped} entries dropped from the middle)"),
    );
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    // Ignored statuses are dimmed, and are not milestones.
    let (x, y) = find(&buf, "status queued (ignored: late or duplicate)");
    assert!(buf[(x, y)].modifier.contains(Modifier::DIM));
    assert!(!line(&buf, y).contains("+"), "{}", line(&buf, y));
}

// ---- the log viewer ----

fn captured(tty: bool) -> CapturedLogs {
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
fn doc_of(tty: bool) -> LogDocument {
    LogDocument::from_captured(
        Arc::from(ID),
        &captured(tty),
        fetched(LogOrigin::CapturedAtDeath { age_ms: 10 }),
    )
}

fn fetched(origin: LogOrigin) -> LogSource {
    LogSource::Fetched {
        origin,
        fetched_at: tm(1_200),
    }
}

fn logs(doc: &LogDocument, view: &LogView, width: u16, height: u16) -> Buffer {
    let mut terminal = terminal(width, height);
    terminal
        .draw(|frame| {
            let area = frame.area();
            draw_logs(frame, area, doc, view, NOW)
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn vp(width: u16, height: u16) -> Viewport {
    log_viewport(Rect::new(0, 0, width, height))
}

/// Cells of row `y` with the background `bg`, as text.
fn cells_with_bg(buf: &Buffer, y: u16, bg: Color) -> String {
    (0..buf.area.width)
        .filter(|&x| buf[(x, y)].bg == bg)
        .map(|x| buf[(x, y)].symbol())
        .collect()
}

#[test]
fn stream_markers_for_console_and_for_stdout_and_stderr() {
    let doc = doc_of(true);
    let buf = logs(&doc, &LogView::new(), 80, 10);
    let (x, y) = find(&buf, "Before error");
    assert!(
        line(&buf, y).starts_with("con Before error"),
        "{}",
        text(&buf)
    );
    assert_eq!(x, 4);
    // The age counts on from the fetch: 10 ms then, 58.8 s now.
    assert!(line(&buf, 0).contains("copy captured at death, 58s old"));
    assert!(line(&buf, 0).contains("complete"));
    insta::assert_snapshot!("logs_console_80x10", text(&buf));

    let doc = doc_of(false);
    let buf = logs(&doc, &LogView::new(), 80, 10);
    let out = find(&buf, "Before error").1;
    let err = find(&buf, "ZeroDivisionError").1;
    assert!(line(&buf, out).starts_with("out "));
    assert!(line(&buf, err).starts_with("err "));
    assert_eq!(buf[(0, err)].fg, Color::Magenta);
    assert_ne!(buf[(0, out)].fg, Color::Magenta);
    insta::assert_snapshot!("logs_stdout_stderr_80x10", text(&buf));
}

#[test]
fn search_highlights_every_match_and_the_current_one_differently() {
    let doc = doc_of(true);
    let mut view = LogView::new();
    let size = vp(80, 10);
    view.set_search(&doc, "error", size);
    // Smart case: "error" also finds the "Error" of the last line.
    assert_eq!(view.matches().len(), 2);
    assert_eq!(view.current_match(), Some(0));
    let buf = logs(&doc, &view, 80, 10);
    let first = find(&buf, "Before error").1;
    let last = find(&buf, "ZeroDivisionError").1;
    let current = current_match_style().bg.expect("a background");
    let other = match_style().bg.expect("a background");
    assert_ne!(current, other);
    assert_eq!(cells_with_bg(&buf, first, current), "error");
    assert_eq!(cells_with_bg(&buf, first, other), "");
    assert_eq!(cells_with_bg(&buf, last, other), "Error");
    // Text between matches keeps the plain style.
    let (x, y) = find(&buf, "Division");
    assert_eq!(buf[(x, y)].bg, Color::Reset);
    assert!(line(&buf, 9).contains("/error 1/2"), "{}", line(&buf, 9));

    view.next_match(&doc, size);
    let buf = logs(&doc, &view, 80, 10);
    assert_eq!(cells_with_bg(&buf, first, current), "");
    assert_eq!(cells_with_bg(&buf, first, other), "error");
    assert_eq!(cells_with_bg(&buf, last, current), "Error");
    assert!(line(&buf, 9).contains("/error 2/2"));

    // A capital makes the search case-sensitive.
    view.set_search(&doc, "Error", size);
    assert_eq!(view.matches().len(), 1);
    view.set_search(&doc, "nowhere", size);
    let buf = logs(&doc, &view, 80, 10);
    assert!(line(&buf, 9).contains("/nowhere: no match"));
}

fn long_doc() -> LogDocument {
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

#[test]
fn wrapping_keeps_highlights_on_the_right_cells() {
    let doc = long_doc();
    let mut view = LogView::new();
    // 40 wide: 4 for the marker, 36 of text per row.
    let size = vp(40, 12);
    view.set_search(&doc, "NEEDLE", size);
    // Not wrapping: the long line is cut with a marker, and the view
    // scrolls sideways to show the match.
    // Every line scrolls sideways together; the short ones are out of view.
    let buf = logs(&doc, &view, 40, 12);
    let y = find(&buf, "err a").1;
    assert_eq!(buf[(39, y)].symbol(), "›");
    assert_eq!(
        cells_with_bg(&buf, y, current_match_style().bg.unwrap()),
        "NEEDLE"
    );
    assert!(view.hscroll() > 0);

    view.toggle_wrap();
    view.set_search(&doc, "NEEDLE", size);
    assert_eq!(view.hscroll(), 0);
    let buf = logs(&doc, &view, 40, 12);
    // 70 a's: row 1 holds 36, row 2 holds 34 and "NE", row 3 "EDLE".
    let (_, first_row) = find(&buf, "err aaaa");
    let current = current_match_style().bg.unwrap();
    assert_eq!(cells_with_bg(&buf, first_row + 1, current), "NE");
    assert_eq!(cells_with_bg(&buf, first_row + 2, current), "EDLE");
    assert!(line(&buf, first_row + 1).starts_with("  ↳ "));
    assert_eq!(buf[(4 + 34, first_row + 1)].symbol(), "N");
    assert_eq!(buf[(4, first_row + 2)].symbol(), "E");
    insta::assert_snapshot!("logs_wrapped_search_40x12", text(&buf));
}

#[test]
fn the_origin_line_for_each_origin() {
    let id: Arc<str> = Arc::from(ID);
    let cases = [
        (
            LogOrigin::Docker { tty: true },
            "Docker, one console stream (TTY) · complete",
        ),
        (
            LogOrigin::Docker { tty: false },
            "Docker, stdout and stderr · complete",
        ),
        (
            LogOrigin::CapturedAtDeath { age_ms: 10 },
            "copy captured at death, 58s old · complete",
        ),
        (
            // 12 s old when fetched, 58.8 s before now.
            LogOrigin::RedisLatest {
                age_ms: Some(12_000),
            },
            "Redis key logs:{id}:latest, about 1m10s old · incomplete: latest chunk only",
        ),
        (
            LogOrigin::RedisLatest { age_ms: None },
            "Redis key logs:{id}:latest, age unknown · incomplete: latest chunk only",
        ),
        (
            LogOrigin::Nothing,
            "no logs: container gone, no copy, no Redis key · nothing found",
        ),
    ];
    for (origin, want) in cases {
        let two_lines = CapturedLogs {
            tty: true,
            stdout: "one\ntwo\n".to_string(),
            ..CapturedLogs::default()
        };
        let doc = LogDocument::from_captured(id.clone(), &two_lines, fetched(origin));
        let buf = logs(&doc, &LogView::new(), 120, 6);
        assert!(line(&buf, 0).contains(want), "{want}\n{}", line(&buf, 0));
        assert!(line(&buf, 0).contains("2 lines"));
    }

    // The effects' own verdict on completeness stands.
    let doc = LogDocument::fetched(
        id.clone(),
        LogOrigin::Docker { tty: true },
        &captured(true),
        false,
        tm(1_200),
    );
    assert_eq!(doc.completeness(), "incomplete");

    // A cut tail.
    let mut logs_cut = captured(true);
    logs_cut.truncated = true;
    logs_cut.total_bytes = 70_000;
    let doc = LogDocument::from_captured(
        id.clone(),
        &logs_cut,
        fetched(LogOrigin::Docker { tty: true }),
    );
    assert_eq!(
        doc.completeness(),
        "incomplete: tail only, 123 of 70000 bytes"
    );

    // The live buffer: still arriving; then with its head evicted, by
    // the model's buffer (bytes) and by the document's own bound (lines).
    let chunks = [(tm(1_000), "1\n2\n"), (tm(2_000), "3\n")];
    let doc = LogDocument::from_chunks(id.clone(), chunks, 0);
    let buf = logs(&doc, &LogView::new(), 80, 6);
    assert!(
        line(&buf, 0).contains("live buffer of evaluation:{id}:logs · incomplete: still arriving"),
        "{}",
        line(&buf, 0)
    );
    assert_eq!(doc.line(2).map(|l| l.at), Some(Some(tm(2_000))));
    let doc = LogDocument::from_chunks(id.clone(), chunks, 300);
    assert_eq!(doc.completeness(), "incomplete: oldest 300 bytes dropped");
    let mut live = LogDocument::live(id, 3);
    live.push_text(StreamKind::Console, Some(tm(1)), "1\n2\n3\n4\n5\n");
    assert_eq!(live.completeness(), "incomplete: 2 oldest lines dropped");
    let buf = logs(&live, &LogView::new(), 80, 6);
    assert!(line(&buf, 0).contains("2 oldest lines dropped"));
    assert!(text(&buf).contains("lines 3–5 of 5"), "{}", text(&buf));
}

#[test]
fn untrusted_text_is_cleaned_and_long_lines_keep_to_their_row() {
    let mut doc = LogDocument::live(Arc::from(ID), 100);
    doc.push_text(
        StreamKind::Console,
        None,
        "\u{1b}[31mred\u{1b}[0m\u{7}\r\nnext\n",
    );
    doc.push_text(StreamKind::Console, None, &"x".repeat(5_000));
    doc.push_text(StreamKind::Console, None, "last");
    let texts: Vec<&str> = doc.lines().map(|l| l.text.as_str()).collect();
    assert_eq!(texts[..2], ["red␇", "next"]);
    let buf = logs(&doc, &LogView::new(), 80, 10);
    let (_, y) = find(&buf, "con xxxx");
    assert_eq!(buf[(79, y)].symbol(), "›");
    assert!(line(&buf, y + 1).starts_with("con last"), "{}", text(&buf));
}

#[test]
fn timestamps_show_when_known_and_go_first_when_narrow() {
    let mut doc = LogDocument::live(Arc::from(ID), 100);
    doc.push_text(StreamKind::Console, Some(tm(1_500)), "hello\n");
    let mut view = LogView::new();
    view.toggle_timestamps();
    let buf = logs(&doc, &view, 80, 6);
    assert!(
        text(&buf).contains("con 00:55:16.500 hello"),
        "{}",
        text(&buf)
    );
    let buf = logs(&doc, &view, 30, 6);
    assert!(text(&buf).contains("con hello"), "{}", text(&buf));
    let buf = logs(&doc, &view, 12, 6);
    assert!(line(&buf, 1).starts_with("hello"), "{}", text(&buf));
}

#[test]
fn a_large_log_renders_only_the_visible_end() {
    let mut doc = LogDocument::live(Arc::from(ID), 20_000);
    for i in 0..10_000 {
        doc.push_text(StreamKind::Console, None, &format!("line {i}"));
    }
    let mut view = LogView::new();
    let size = vp(80, 24);
    assert_eq!(view.visible_rows(&doc, size).len(), 22);
    let buf = logs(&doc, &view, 80, 24);
    assert!(
        line(&buf, 22).starts_with("con line 9999"),
        "{}",
        text(&buf)
    );
    view.set_search(&doc, "line 42", size);
    // line 42, 420..429, 4200..4299
    assert_eq!(view.matches().len(), 111);
    let buf = logs(&doc, &view, 80, 24);
    assert!(text(&buf).contains("con line 42\n"), "{}", text(&buf));
}

#[test]
fn save_writes_the_whole_log_with_stream_markers() {
    let doc = doc_of(false);
    let dir = std::env::temp_dir().join(format!(
        "evaltop-ui-views-{}-{}",
        std::process::id(),
        Ts::now().millis()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(default_file_name("eval_1/../x", NOW));
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("evaltop-eval_1x-20250706005615000.log")
    );
    let saved = LogView::new().save(&doc, &path);
    let written = std::fs::read_to_string(&path);
    std::fs::remove_dir_all(&dir).expect("clean up");
    saved.expect("saved");
    let written = written.expect("read back");
    // The origin in the effects' own words, and when it was fetched.
    let origin = LogOrigin::CapturedAtDeath { age_ms: 10 }.describe();
    assert_eq!(
        written,
        format!(
            "# evaltop: logs of {ID}\n\
             # origin: {origin} (fetched 2025-07-06T00:55:16.200Z)\n\
             # complete; 4 lines\n\
             [stdout] Before error\n\
             [stdout] still going\n\
             [stderr] Traceback (most recent call last):\n\
             [stderr] ZeroDivisionError: division by zero\n"
        )
    );
    let failed = LogView::new().save(&doc, &dir.join("missing").join("x.log"));
    assert!(failed.is_err());
}

// ---- LogView's state ----

fn numbered(n: usize) -> LogDocument {
    let mut doc = LogDocument::live(Arc::from(ID), 1_000);
    for i in 0..n {
        let text = if i % 10 == 3 {
            format!("{i} match")
        } else {
            format!("{i}")
        };
        doc.push_line(LogLine {
            stream: StreamKind::Stdout,
            at: None,
            text,
        });
    }
    doc
}

fn top_line(view: &LogView, doc: &LogDocument, size: Viewport) -> usize {
    view.top_position(doc, size).line
}

#[test]
fn next_and_previous_match_wrap_around() {
    let doc = numbered(50);
    let size = Viewport {
        width: 40,
        height: 10,
    };
    let mut view = LogView::new();
    view.top(&doc);
    view.set_search(&doc, "match", size);
    let lines: Vec<usize> = view.matches().iter().map(|m| m.line).collect();
    assert_eq!(lines, vec![3, 13, 23, 33, 43]);
    assert_eq!(view.current_match(), Some(0));
    for want in [1, 2, 3, 4, 0, 1] {
        view.next_match(&doc, size);
        assert_eq!(view.current_match(), Some(want));
    }
    for want in [0, 4, 3] {
        view.prev_match(&doc, size);
        assert_eq!(view.current_match(), Some(want));
    }
    // The current match is on screen after each move.
    let top = top_line(&view, &doc, size);
    assert!((top..top + 10).contains(&33), "top {top}");
    // A search starts at the first match at or below the top of the screen.
    view.top(&doc);
    view.scroll(&doc, 20, size);
    view.set_search(&doc, "match", size);
    assert_eq!(view.current_match(), Some(2));
    view.clear_search();
    assert!(view.matches().is_empty() && view.current_match().is_none());
}

#[test]
fn following_keeps_the_end_in_view_until_scrolled_up() {
    let mut doc = numbered(30);
    let size = Viewport {
        width: 40,
        height: 10,
    };
    let mut view = LogView::new();
    assert!(view.follow());
    assert_eq!(top_line(&view, &doc, size), 20);
    doc.push_text(StreamKind::Stdout, None, "30\n31 match\n");
    view.on_new_lines(&doc);
    assert_eq!(top_line(&view, &doc, size), 22);
    view.scroll(&doc, -3, size);
    assert!(!view.follow());
    assert_eq!(top_line(&view, &doc, size), 19);
    doc.push_text(StreamKind::Stdout, None, "32\n");
    view.on_new_lines(&doc);
    assert_eq!(top_line(&view, &doc, size), 19, "stays put");
    view.toggle_follow(&doc, size);
    assert_eq!(top_line(&view, &doc, size), 23);
    // Turning following off keeps the screen where it was.
    view.toggle_follow(&doc, size);
    doc.push_text(StreamKind::Stdout, None, "33\n");
    view.on_new_lines(&doc);
    assert_eq!(top_line(&view, &doc, size), 23);
}

#[test]
fn new_lines_are_searched_and_evicted_matches_dropped() {
    let mut doc = LogDocument::live(Arc::from(ID), 20);
    doc.push_text(StreamKind::Stdout, None, "a match\nb\nc match\n");
    let size = Viewport {
        width: 40,
        height: 5,
    };
    let mut view = LogView::new();
    view.set_search(&doc, "match", size);
    assert_eq!(view.matches().len(), 2);
    for i in 0..25 {
        doc.push_text(StreamKind::Stdout, None, &format!("{i} match"));
    }
    view.on_new_lines(&doc);
    // 28 lines pushed, 20 kept: the 8 oldest (two matches among them) gone.
    assert_eq!(doc.first(), 8);
    assert_eq!(view.matches().len(), 20);
    assert!(view.matches().iter().all(|m| m.line >= 8));
    assert_eq!(view.matches()[0].line, 8);
    assert_eq!(view.current_match(), Some(0));
}

#[test]
fn scrolling_is_clamped_to_the_document() {
    let doc = numbered(30);
    let size = Viewport {
        width: 40,
        height: 10,
    };
    let mut view = LogView::new();
    view.top(&doc);
    view.scroll(&doc, -5, size);
    assert_eq!(top_line(&view, &doc, size), 0);
    view.scroll(&doc, 1_000, size);
    assert_eq!(top_line(&view, &doc, size), 20, "the last screen is full");
    // No overscroll to undo: one step up moves the screen at once.
    view.scroll(&doc, -1, size);
    assert_eq!(top_line(&view, &doc, size), 19);
    view.page(&doc, 1, size);
    assert_eq!(top_line(&view, &doc, size), 20);
    view.page(&doc, -1, size);
    assert_eq!(top_line(&view, &doc, size), 11);
    view.bottom(&doc, size);
    assert_eq!(top_line(&view, &doc, size), 20);
    view.scroll(&doc, i32::MIN, size);
    assert_eq!(top_line(&view, &doc, size), 0);

    // Wrapping: positions are rows, and the end stays reachable exactly.
    let doc = long_doc();
    let size = Viewport {
        width: 40,
        height: 3,
    };
    let mut view = LogView::new();
    view.toggle_wrap();
    view.top(&doc);
    view.scroll(&doc, 1_000, size);
    let rows = view.visible_rows(&doc, size);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2].line.text, "after");
    assert!(!rows[0].first_row, "starts inside the long line");
    view.scroll(&doc, -1, size);
    assert_eq!(view.visible_rows(&doc, size)[2].number, 1);

    // Sideways: no further than the widest line on screen allows.
    let mut view = LogView::new();
    view.scroll_sideways(&doc, 10_000, vp(40, 12));
    assert!(
        view.hscroll() <= 200 && view.hscroll() > 100,
        "{}",
        view.hscroll()
    );
    view.scroll_sideways(&doc, -10_000, vp(40, 12));
    assert_eq!(view.hscroll(), 0);

    // An empty document does not move or panic.
    let empty = LogDocument::new(Arc::from(ID), fetched(LogOrigin::Nothing), true);
    view.scroll(&empty, 5, size);
    view.set_search(&empty, "x", size);
    view.next_match(&empty, size);
    assert!(view.visible_rows(&empty, size).is_empty());
}

#[test]
fn the_search_prompt_collects_a_query() {
    let doc = numbered(20);
    let size = vp(40, 10);
    let mut view = LogView::new();
    view.start_search();
    for c in "match\u{1b}".chars() {
        view.prompt_push(c);
    }
    view.prompt_pop();
    view.prompt_push('h');
    assert_eq!(view.prompt(), Some("match"));
    let buf = logs(&doc, &view, 40, 10);
    assert!(line(&buf, 9).starts_with("/match█"), "{}", line(&buf, 9));
    view.commit_prompt(&doc, size);
    assert_eq!(view.prompt(), None);
    assert_eq!(view.search(), Some("match"));
    assert_eq!(view.matches().len(), 2);
}

// ---- help ----

fn help_rows() -> Vec<KeyHelp> {
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

fn help(rows: &[KeyHelp], scroll: u16, width: u16, height: u16) -> Buffer {
    let mut terminal = terminal(width, height);
    terminal
        .draw(|frame| {
            let area = frame.area();
            draw_help(frame, area, rows, scroll)
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

#[test]
fn help_lists_every_key_by_context() {
    let rows = help_rows();
    let buf = help(&rows, 0, 80, 24);
    let screen = text(&buf);
    for row in &rows {
        assert!(screen.contains(&row.keys), "{}:\n{screen}", row.keys);
    }
    let (_, table) = find(&buf, "table");
    let (_, detail) = find(&buf, "detail");
    let (_, logs_y) = find(&buf, "│logs ");
    assert!(table < detail && detail < logs_y, "{screen}");
    let (x, y) = find(&buf, "Enter");
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    // The long description wraps under itself.
    let (x_first, y_first) = find(&buf, "force the evaluation");
    let (x_more, y_more) = find(&buf, "logs captured at death");
    assert_eq!((x_more, y_more), (x_first, y_first + 1), "{screen}");
    insta::assert_snapshot!("help_80x24", screen);

    // Too small for all of it: it scrolls, and says where it is.
    let area = Rect::new(0, 0, 40, 10);
    let max = help_max_scroll(area, &rows);
    assert!(max > 0);
    let buf = help(&rows, max, 40, 10);
    assert!(text(&buf).contains("n/N"), "{}", text(&buf));
    assert!(!text(&buf).contains("Enter"), "{}", text(&buf));
    let buf = help(&rows, u16::MAX, 40, 10);
    assert!(text(&buf).contains("n/N"), "clamped:\n{}", text(&buf));
}

// ---- every size ----

#[test]
fn no_size_panics() {
    let state = lost_completion();
    let record = record(&state);
    let flags = flags(&state);
    let mut detail_view = DetailView::new(Arc::from(ID));
    detail_view.scroll(30, u16::MAX);
    let doc = long_doc();
    let mut wrapped = LogView::new();
    wrapped.toggle_wrap();
    wrapped.toggle_timestamps();
    wrapped.set_search(&doc, "a", vp(80, 24));
    let mut cut = LogView::new();
    cut.set_search(&doc, "NEEDLE", vp(80, 24));
    let console = doc_of(true);
    let rows = help_rows();
    for width in 1..=250u16 {
        for height in 1..=80u16 {
            let area = Rect::new(0, 0, width, height);
            let mut buf = Buffer::empty(area);
            render_detail(&mut buf, area, ID, record, &flags, &detail_view, NOW);
            render_logs(&mut buf, area, &doc, &wrapped, NOW);
            render_logs(&mut buf, area, &doc, &cut, NOW);
            render_logs(&mut buf, area, &console, &LogView::new(), NOW);
            render_help(&mut buf, area, &rows, 3);
        }
    }
    // And through a terminal, with an area smaller than the screen.
    let mut terminal = terminal(30, 8);
    terminal
        .draw(|frame| {
            let area = Rect::new(2, 2, 40, 40);
            draw_logs(frame, area, &doc, &wrapped, NOW);
            draw_help(frame, area, &rows, 0);
            draw_detail(frame, area, ID, record, &flags, &detail_view, NOW);
        })
        .expect("draw");
}
