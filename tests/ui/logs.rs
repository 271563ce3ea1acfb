//! The log viewer as drawn: stream markers, origin and completeness lines,
//! search highlighting, wrapping, timestamps, untrusted text, large logs,
//! and saving to a file.

use std::sync::Arc;

use evaltop::actions::LogOrigin;
use evaltop::model::{CapturedLogs, StreamKind, Ts};
use evaltop::ui::logs::{current_match_style, match_style};
use evaltop::view::log_view::{LogDocument, LogView, default_file_name};
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use crate::common::{ID, NOW, captured, doc_of, fetched, find, line, logs, long_doc, text, tm, vp};

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
