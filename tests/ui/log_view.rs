//! The log viewer's state: search with n/N, following, eviction of a live
//! buffer's head, scroll clamping (wrapped and sideways) and the `/` prompt.

use std::sync::Arc;

use evaltop::actions::LogOrigin;
use evaltop::model::StreamKind;
use evaltop::view::log_view::{LogDocument, LogLine, LogView, Viewport};

use crate::common::{ID, fetched, line, logs, long_doc, vp};

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
            live: false,
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
