//! The help screen as drawn: every key by context, long descriptions
//! wrapped under themselves, and scrolling when it does not fit.

use ratatui::style::Modifier;

use crate::common::{find, help, help_rows, text};

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
    let (_, max) = crate::common::help_and_max(&rows, 0, 40, 10);
    assert!(max > 0);
    let buf = help(&rows, max, 40, 10);
    assert!(text(&buf).contains("n/N"), "{}", text(&buf));
    assert!(!text(&buf).contains("Enter"), "{}", text(&buf));
    let buf = help(&rows, u16::MAX, 40, 10);
    assert!(text(&buf).contains("n/N"), "clamped:\n{}", text(&buf));
}
