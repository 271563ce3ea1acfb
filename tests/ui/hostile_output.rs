//! The hostile corpus (`tests/hostile/*.bin`, plus a 100 KiB line made
//! here) fed through the real entry points as it really arrives (a log
//! message's `content`, an `evaluation:failed` payload's `error` and
//! `output`, Docker logs, an eval id, Docker labels), applied to a Console,
//! and drawn with `draw_console` into ratatui's TestBackend at three sizes in
//! every view. Every cell of every frame is checked: no escape, no control,
//! no bidi override; the layout's anchors stay on their rows, and what was a
//! control is shown as a placeholder rather than dropped.

use evaltop::model::EngineName;
use std::borrow::Cow;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use evaltop::actions::{ActionKind, LogOrigin, Outcome, OutcomeDetail, Target};
use evaltop::console::{Console, ConsoleConfig, Input, Screen};

use evaltop::model::{
    CapturedLogs, ContainerFacts, ContainerState, Observation, Source, State, Ts,
};
use evaltop::names::Names;
use evaltop::protocol::decode;
use evaltop::sanitize::{DEFAULT_MAX_LINE, clean_line, sanitize_bytes};
use evaltop::sources::Received;
use evaltop::ui::screen::draw_console;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Span;
use serde_json::{Value, json};

const T0: Ts = Ts(1_751_763_315_000);
const NOW: Ts = Ts(1_751_763_375_000);
const CID: &str = "529f833e0000000000000000000000000000000000000000000000000000aaaa";
const SIZES: [(u16, u16); 3] = [(120, 40), (80, 24), (40, 10)];

struct Case {
    name: &'static str,
    bytes: Cow<'static, [u8]>,
    /// Consecutive rows of the live logs view (after the `con ` marker),
    /// at 120 columns: what must be shown, each line on its own row.
    rows: &'static [&'static str],
    /// Text that must appear in no frame: what a sequence carried.
    hides: &'static [&'static str],
}

macro_rules! case {
    ($name:literal, $rows:expr, $hides:expr) => {
        Case {
            name: $name,
            bytes: Cow::Borrowed(include_bytes!(concat!("../hostile/", $name, ".bin"))),
            rows: $rows,
            hides: $hides,
        }
    };
}

const PAYLOADS: &[&str] = &["31m", "[0m", "[2J", "[H", "1049", "?25l"];

fn corpus() -> Vec<Case> {
    let mut long = vec![b'x'; 100 * 1024];
    long.extend_from_slice(b"END");
    vec![
        case!("csi_colour", &["red bold truecolour"], PAYLOADS),
        case!("csi_cursor", &["keephomemovedup end"], &["999r", "6n"]),
        case!("alt_screen", &["inside tail"], &["2004h", "1000h"]),
        case!(
            "osc_title",
            &["after-title after-st"],
            &["pwned", "second title"]
        ),
        case!("osc8_link", &["click here plain"], &["evil.example", "8;;"]),
        case!("osc52_bel", &["copy done-bel"], &["Y3VybCBl", "52;c"]),
        case!("osc52_st", &["copy done-st"], &["Y3VybCBl", "52;c"]),
        case!(
            "dcs",
            &["dcs-a dcs-b dcs-c dcs-d"],
            &["$r0m", "~~@@", "544e"]
        ),
        case!(
            "sos_pm_apc",
            &["s1 s2 s3 s4"],
            &["start of string", "privacy", "application"]
        ),
        case!("esc_misc", &["abcdefghij"], &[]),
        // A raw 0x9b is not UTF-8: it is replaced, and what followed it is
        // plain text.
        case!(
            "c1_raw_bytes",
            &["raw \u{fffd}31mcsi \u{fffd}0;title\u{fffd} osc \u{fffd}dcs\u{fffd} \u{fffd}nel"],
            &[]
        ),
        case!("c1_utf8", &["u8 csi osc dcs ⍰nel ⍰st ⍰pad"], &["hidden"]),
        case!("lone_esc_end", &["text before a lone escape"], &[]),
        case!("nul", &["a␀b␀␀c nul-end"], &[]),
        case!("bel_bs_vt_ff_del", &["bell␇ back␈ vt␋ ff␌ del␡ done"], &[]),
        // LF and CR break the line; TAB expands; ESC | is a sequence.
        case!(
            "every_c0",
            &[
                "␀|␁|␂|␃|␄|␅|␆|␇|␈|      |",
                "|␋|␌|",
                "|␎|␏|␐|␑|␒|␓|␔|␕|␖|␗|␘|␙|␚|␜|␝|␞|␟|␡|end",
            ],
            &[]
        ),
        case!(
            "bidi",
            &["user⍰gnp.exe⍰ lri⍰iso⍰ rli⍰rtl⍰ fsi⍰first⍰ rlm⍰ lrm⍰ alm⍰ lre⍰ rle⍰ lro⍰ pdf⍰"],
            &[]
        ),
        case!(
            "invalid_utf8",
            &["ok\u{fffd}\u{fffd} bad\u{fffd}( trunc\u{fffd} lone\u{fffd} surrogate"],
            &[]
        ),
        // An overlong ESC (C1 9B) must not become one.
        case!(
            "overlong",
            &["slash\u{fffd}\u{fffd} nul\u{fffd}\u{fffd} esc\u{fffd}\u{fffd}[2J three"],
            &[]
        ),
        case!(
            "cr_progress",
            &[
                "  0% [          ]",
                " 50% [=====     ]",
                "100% [==========]",
                "finished",
            ],
            &[]
        ),
        case!(
            "crlf",
            &["line one", "line two", "", "line four after a blank"],
            &[]
        ),
        case!(
            "tabs",
            &[
                "a       b       c",
                "        indented",
                "12345678        next",
                "中"
            ],
            &[]
        ),
        case!("zero_width_combining", &["e\u{301}\u{301}\u{301} zw"], &[]),
        case!("wide_cjk_emoji", &["中文字符 日本語テキスト 🧪"], &[]),
        case!(
            "traceback_ansi",
            &[
                "Traceback (most recent call last):",
                "  File \"<string>\", line 1, in <module>",
                "    print(\"Before error\"); 1/0",
                "                             ~^~",
                "ZeroDivisionError: division by zero",
            ],
            PAYLOADS
        ),
        Case {
            name: "long_line",
            bytes: Cow::Owned(long),
            rows: &["xxxxxxxxxxxxxxxx"],
            hides: &["END"],
        },
    ]
}

/// Bidi embeddings, overrides, isolates and marks: they reorder what a
/// terminal shows.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

fn forbidden(c: char) -> bool {
    c == '\u{1b}' || c.is_control() || is_bidi(c)
}

/// The text of row `y`, the blank cell after a wide character skipped.
fn row(buf: &Buffer, y: u16) -> String {
    let mut text = String::new();
    let mut x = 0;
    while x < buf.area.width {
        let symbol = buf[(x, y)].symbol();
        text.push_str(symbol);
        x += u16::try_from(Span::raw(symbol).width()).unwrap_or(1).max(1);
    }
    text
}

fn screen(buf: &Buffer) -> String {
    (0..buf.area.height)
        .map(|y| row(buf, y).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every cell of a frame: no escape, no control, no bidi control.
fn assert_cells_clean(buf: &Buffer, what: &str) {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let symbol = buf[(x, y)].symbol();
            assert!(
                !symbol.chars().any(forbidden),
                "{what}: cell ({x},{y}) holds {symbol:?}\n{}",
                screen(buf)
            );
        }
    }
}

/// Every string of an observation, as it entered: only `\n` may remain of
/// the controls, and not even that in a one-line field.
fn assert_entered_clean(observation: &Observation, what: &str) {
    fn walk(value: &Value, key: &str, what: &str) {
        match value {
            Value::String(s) => {
                let one_line = key.contains("id") || key.contains("executor") || key == "channel";
                assert!(
                    !s.chars()
                        .any(|c| (c != '\n' || one_line) && (c.is_control() || forbidden(c))),
                    "{what}: field `{key}` entered unsanitised: {s:?}"
                );
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, key, what)),
            Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k, what)),
            _ => {}
        }
    }
    walk(
        &serde_json::to_value(observation).expect("serialises"),
        "",
        what,
    );
}

fn received(at: Ts, observation: Observation, what: &str) -> Received {
    assert_entered_clean(&observation, what);
    Received { at, observation }
}

/// A channel message, as the Redis source hands it to `decode`.
fn publish(channel: &str, payload: &[u8], what: &str) -> Observation {
    decode(&Names::default(), channel, payload)
        .unwrap_or_else(|| panic!("{what}: {channel} is part of the contract"))
}

fn json_bytes(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("JSON")
}

/// Logs as the Docker source reads them: the bytes of each stream,
/// sanitised whole with the default line bound.
fn docker_logs(bytes: &[u8], tty: bool) -> CapturedLogs {
    let mut framed = b"before\n".to_vec();
    framed.extend_from_slice(bytes);
    if !bytes.ends_with(b"\n") {
        framed.push(b'\n');
    }
    framed.extend_from_slice(b"after\n");
    CapturedLogs {
        tty,
        stdout: sanitize_bytes(&framed, DEFAULT_MAX_LINE),
        stderr: if tty {
            String::new()
        } else {
            sanitize_bytes(bytes, DEFAULT_MAX_LINE)
        },
        total_bytes: framed.len() as u64,
        truncated: false,
        captured_at: T0.plus_millis(1_190),
    }
}

/// One evaluation whose id, executor label, payloads and logs all carry
/// the case; returns the console and the id as stored.
fn console_of(case: &Case) -> (Console, String) {
    let text = String::from_utf8_lossy(&case.bytes).into_owned();
    // A suffix keeps the id's end fixed, so that the Docker label (trimmed
    // as facts.rs trims it) and the payload's id name the same evaluation.
    let raw_id = format!("eval_{}_{text}_id", case.name);
    let what = case.name;
    // As facts.rs reads labels: trimmed, then `clean_line`.
    let label = |value: &str| Some(clean_line(value.trim())).filter(|v| !v.is_empty());
    let docker_id = clean_line(raw_id.trim());
    let mut observations = vec![
        Observation::SourceUp {
            source: Source::Docker(EngineName::default()),
            detail: "test".into(),
        },
        Observation::SourceUp {
            source: Source::Redis,
            detail: "test".into(),
        },
        Observation::DockerList {
            engine: EngineName::default(),
            containers: vec![ContainerFacts {
                container_id: CID.into(),
                eval_id: docker_id.clone(),
                state: Some(ContainerState::Exited),
                executor: label(&text),
                created_at_label: label(&text),
                timeout_secs: None,
                exit_code: Some(1),
                inspected: true,
                ..ContainerFacts::default()
            }],
            requested_at: T0,
        },
        publish(
            "evaluation:running",
            &json_bytes(json!({
                "eval_id": raw_id, "executor_id": text,
                "container_id": &CID[..12], "timeout": 30,
            })),
            what,
        ),
        publish(
            &format!("evaluation:{raw_id}:logs"),
            &json_bytes(json!({
                "eval_id": raw_id, "sequence": 1, "content": text,
                "executor_id": text, "timestamp": "2025-07-06T00:55:16Z",
            })),
            what,
        ),
        Observation::DockerLogs {
            engine: EngineName::default(),
            container_id: CID.into(),
            eval_id: docker_id,
            logs: docker_logs(&case.bytes, true),
        },
        publish(
            "evaluation:failed",
            &json_bytes(json!({
                "eval_id": raw_id, "status": "failed", "error": text, "output": text,
                "exit_code": 1, "executor_id": text, "completed_at": "2025-07-06T00:55:16.182Z",
            })),
            what,
        ),
        // Not JSON at all, and a field of the wrong type that the reason
        // quotes: both rejected, with a reason shown in the events pane.
        publish("evaluation:failed", &case.bytes, what),
        publish(
            "evaluation:failed",
            &json_bytes(json!({"eval_id": raw_id, "exit_code": text})),
            what,
        ),
    ];
    let Some(Observation::RedisLog(log)) = observations.get(4) else {
        panic!("{what}: the log message decodes: {:?}", observations.get(4));
    };
    let id = log.eval_id.clone();
    let mut console = Console::new(
        State::default(),
        ConsoleConfig {
            operator: "op".into(),
            ..ConsoleConfig::default()
        },
    );
    for (i, observation) in observations.drain(..).enumerate() {
        let at = T0.plus_millis(100 * i as i64);
        console.observe(received(at, observation, what));
    }
    console.refresh_if_needed(NOW);
    (console, id)
}

fn press(console: &mut Console, code: KeyCode) {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    console.update(Input::Key(KeyEvent::new(code, modifiers)), NOW);
    console.refresh_if_needed(NOW);
}

fn draw(console: &mut Console, (width, height): (u16, u16), what: &str) -> Buffer {
    console.update(Input::Resized(Rect::new(0, 0, width, height)), NOW);
    console.refresh_if_needed(NOW);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("backend");
    terminal
        .draw(|frame| {
            draw_console(frame, console, NOW);
        })
        .expect("draw");
    let buf = terminal.backend().buffer().clone();
    let what = format!("{what} at {width}x{height}");
    assert_cells_clean(&buf, &what);
    buf
}

/// The row the table's column titles are on: under the header, which gives
/// way first on short screens (ui::split_find).
fn titles_row(height: u16, events: bool) -> u16 {
    let table_min = 4 + if events { 3 } else { 0 };
    4.min(height.saturating_sub(2).saturating_sub(table_min)) + 1
}

fn assert_table(buf: &Buffer, events: bool, last: &str, case: &Case) {
    let height = buf.area.height;
    let screen = screen(buf);
    let name = case.name;
    assert!(row(buf, 0).starts_with("docker"), "{name}:\n{screen}");
    assert!(
        row(buf, titles_row(height, events)).starts_with("id"),
        "{name}: titles row\n{screen}"
    );
    assert!(
        row(buf, height - 1).starts_with(last),
        "{name}: last row is not {last:?}\n{screen}"
    );
}

fn assert_hidden(buf: &Buffer, case: &Case) {
    let screen = screen(buf);
    for hidden in case.hides {
        assert!(
            !screen.contains(hidden),
            "{}: {hidden:?} shown\n{screen}",
            case.name
        );
    }
}

/// The logs view's rows, from the first body row: `marker` then each of
/// `rows`, in order, one per row.
fn assert_log_rows(buf: &Buffer, marker: &str, rows: &[String], case: &Case) {
    let screen = screen(buf);
    let first = (1..buf.area.height)
        .find(|&y| row(buf, y).starts_with(&format!("{marker} {}", rows[0])))
        .unwrap_or_else(|| panic!("{}: {:?} not shown\n{screen}", case.name, rows[0]));
    for (i, want) in rows.iter().enumerate() {
        let got = row(buf, first + i as u16);
        assert!(
            got.starts_with(&format!("{marker} {want}")),
            "{}: row {} is {got:?}, not {want:?}\n{screen}",
            case.name,
            first + i as u16
        );
    }
}

fn fetched(console: &mut Console, id: &str, logs: CapturedLogs, tty: bool) {
    let outcome = Outcome::new(
        ActionKind::FetchLogs,
        Target::new(id),
        true,
        "logs from Docker".into(),
        NOW,
    )
    .with_detail(OutcomeDetail::Logs {
        origin: LogOrigin::Docker { tty },
        logs,
        complete: true,
        lines: Vec::new(),
    });
    console.update(Input::Outcome(Box::new(outcome)), NOW);
}

fn search(console: &mut Console, query: &str) {
    press(console, KeyCode::Char('/'));
    for c in query.chars() {
        press(console, KeyCode::Char(c));
    }
    press(console, KeyCode::Enter);
}

/// One case at one size, through every view.
fn run(case: &Case, size: (u16, u16)) {
    let (mut console, id) = console_of(case);
    assert!(console.select(&id), "{}: {id:?} listed", case.name);
    let wide = size.0 >= 120;
    let name = case.name;

    let buf = draw(&mut console, size, &format!("{name}: table"));
    assert_table(&buf, false, "1/1 ", case);
    assert_hidden(&buf, case);
    press(&mut console, KeyCode::Char('e'));
    let buf = draw(&mut console, size, &format!("{name}: table with events"));
    assert_table(&buf, true, "1/1 ", case);
    assert!(
        screen(&buf).contains("rejected"),
        "{name}\n{}",
        screen(&buf)
    );
    press(&mut console, KeyCode::Char('e'));

    press(&mut console, KeyCode::Enter);
    assert!(
        matches!(console.screen(), Screen::Detail(_)),
        "{name}: detail"
    );
    let buf = draw(&mut console, size, &format!("{name}: detail"));
    assert!(
        row(&buf, 0).starts_with("eval_"),
        "{name}\n{}",
        screen(&buf)
    );
    assert!(row(&buf, size.1 - 1).starts_with("j down"), "{name}");
    assert_hidden(&buf, case);
    press(&mut console, KeyCode::Esc);

    // The richest origin first: the copy captured at death; then `o`, the
    // live buffer: the log message's content, as it came.
    press(&mut console, KeyCode::Char('l'));
    assert!(matches!(console.screen(), Screen::Logs(_)), "{name}: logs");
    let buf = draw(&mut console, size, &format!("{name}: logs opened"));
    assert!(row(&buf, 0).starts_with("copy captured at death"), "{name}");
    assert_hidden(&buf, case);
    press(&mut console, KeyCode::Char('o'));
    let buf = draw(&mut console, size, &format!("{name}: live logs"));
    assert!(row(&buf, 0).starts_with("live buffer of evaluation:{id}:logs"));
    assert!(row(&buf, size.1 - 1).starts_with("[1 running] f follow"));
    assert_hidden(&buf, case);
    let rows: Vec<String> = case.rows.iter().map(|r| r.to_string()).collect();
    if wide {
        assert_log_rows(&buf, "con", &rows, case);
    }
    search(&mut console, "e");
    let buf = draw(&mut console, size, &format!("{name}: live logs, search"));
    assert!(row(&buf, size.1 - 2).starts_with("/e"), "{}", screen(&buf));

    // Docker's answer, to the logs opened again: one console stream, then
    // stdout and stderr.
    press(&mut console, KeyCode::Esc);
    press(&mut console, KeyCode::Char('l'));
    let mut framed = vec!["before".to_string()];
    framed.extend(rows.iter().cloned());
    for tty in [true, false] {
        fetched(&mut console, &id, docker_logs(&case.bytes, tty), tty);
        search(&mut console, "after");
        let what = format!("{name}: Docker logs, tty {tty}, search");
        let buf = draw(&mut console, size, &what);
        assert!(
            row(&buf, 0).starts_with("Docker, "),
            "{what}\n{}",
            screen(&buf)
        );
        assert!(row(&buf, size.1 - 1).starts_with("fetch-logs "), "{what}");
        assert!(row(&buf, size.1 - 2).starts_with("/after "), "{what}");
        assert_hidden(&buf, case);
        if wide && case.name != "long_line" {
            press(&mut console, KeyCode::Char('g'));
            let buf = draw(&mut console, size, &what);
            let marker = if tty { "con" } else { "out" };
            let mut want = framed.clone();
            want.push("after".into());
            assert_log_rows(&buf, marker, &want, case);
            if !tty {
                assert_log_rows(&buf, "err", &rows, case);
            }
        }
    }
    press(&mut console, KeyCode::Char('w'));
    draw(&mut console, size, &format!("{name}: Docker logs wrapped"));
    press(&mut console, KeyCode::Esc);
    let buf = draw(&mut console, size, &format!("{name}: table after"));
    assert_table(&buf, false, "fetch-logs ", case);
}

#[test]
fn every_hostile_case_in_every_view_at_every_size() {
    for case in corpus() {
        for size in SIZES {
            run(&case, size);
        }
    }
}

#[test]
fn the_corpus_directory_holds_only_cases_the_test_knows() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/hostile");
    let known: Vec<&str> = corpus().iter().map(|c| c.name).collect();
    let mut files = 0;
    for entry in std::fs::read_dir(dir).expect("tests/hostile") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let stem = name.strip_suffix(".bin").expect("only .bin files");
        assert!(known.contains(&stem), "{name} is in no case");
        files += 1;
    }
    assert_eq!(
        files + 1,
        known.len(),
        "every case but the long line is a file"
    );
}

#[test]
fn a_very_long_line_is_cut_with_a_visible_marker() {
    let corpus = corpus();
    let case = corpus.iter().find(|c| c.name == "long_line").expect("case");
    let (mut console, id) = console_of(case);
    assert!(console.select(&id));
    assert!(
        id.ends_with("bytes cut]"),
        "the id is cut too: …{}",
        &id[id.len() - 40..]
    );
    press(&mut console, KeyCode::Char('l'));
    fetched(&mut console, &id, docker_logs(&case.bytes, true), true);
    let Screen::Logs(logs) = console.screen() else {
        panic!("the logs view is open");
    };
    let texts: Vec<&str> = logs.doc.lines().map(|l| l.text.as_str()).collect();
    assert_eq!(texts.len(), 3, "before, the cut line, after");
    let cut = 100 * 1024 + 3 - DEFAULT_MAX_LINE;
    assert_eq!(
        texts[1],
        format!("{} …[+{cut} bytes cut]", "x".repeat(DEFAULT_MAX_LINE))
    );
    let buf = draw(&mut console, (80, 24), "long line");
    let y = (0..24)
        .find(|&y| row(&buf, y).starts_with("con xxx"))
        .expect("shown");
    assert_eq!(buf[(79, y)].symbol(), "›", "cut at the edge, visibly");
    assert!(
        row(&buf, y + 1).starts_with("con after"),
        "{}",
        screen(&buf)
    );
    // Wrapped, the marker itself is on screen at the end.
    press(&mut console, KeyCode::Char('w'));
    press(&mut console, KeyCode::Char('G'));
    let buf = draw(&mut console, (80, 24), "long line wrapped");
    assert!(screen(&buf).contains("bytes cut]"), "{}", screen(&buf));
}
