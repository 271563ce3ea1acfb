//! Every view at every terminal size from 1x1 to 250x80: nothing panics,
//! also when drawn into an area larger than the screen.

use std::sync::Arc;

use evaltop::ui::detail::{DetailScreen, draw_detail, render_detail};
use evaltop::ui::help::{draw_help, render_help};
use evaltop::ui::logs::{draw_logs, render_logs};
use evaltop::view::detail_view::DetailView;
use evaltop::view::log_view::LogView;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::common::{
    HELP_HINT, ID, NOW, doc_of, flags, help_rows, long_doc, lost_completion, record, terminal, vp,
};

#[test]
fn no_size_panics() {
    let state = lost_completion();
    let record = record(&state);
    let flags = flags(&state);
    let mut detail_view = DetailView::new(Arc::from(ID));
    detail_view.scroll.by(30, None);
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
            render_detail(
                &mut buf,
                area,
                &DetailScreen::with_default_keys(ID, record, &flags, &detail_view, NOW),
            );
            render_logs(
                &mut buf,
                area,
                &doc,
                &wrapped,
                &evaltop::keymap::KeyHints::default(),
                NOW,
            );
            render_logs(
                &mut buf,
                area,
                &doc,
                &cut,
                &evaltop::keymap::KeyHints::default(),
                NOW,
            );
            render_logs(
                &mut buf,
                area,
                &console,
                &LogView::new(),
                &evaltop::keymap::KeyHints::default(),
                NOW,
            );
            render_help(&mut buf, area, &rows, 3, HELP_HINT);
        }
    }
    // And through a terminal, with an area smaller than the screen.
    let mut terminal = terminal(30, 8);
    terminal
        .draw(|frame| {
            let area = Rect::new(2, 2, 40, 40);
            draw_logs(
                frame,
                area,
                &doc,
                &wrapped,
                &evaltop::keymap::KeyHints::default(),
                NOW,
            );
            draw_help(frame, area, &rows, 0, HELP_HINT);
            draw_detail(
                frame,
                area,
                &DetailScreen::with_default_keys(ID, record, &flags, &detail_view, NOW),
            );
        })
        .expect("draw");
}
