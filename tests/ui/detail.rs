//! The detail view as drawn: the lost-completion scenario rendered into
//! ratatui's TestBackend, both sources side by side, the flag explained,
//! phases and timeline, checked cell by cell where style carries meaning.

use std::sync::Arc;

use evaltop::model::record::{TIMELINE_CAP, TIMELINE_HEAD};
use evaltop::model::{EvalRecord, Flag, FlagKind, Observation, Status, StatusMessage};
use evaltop::ui::detail::{DetailScreen, draw_detail};
use evaltop::view::detail_view::{DetailView, phases, timeline};
use ratatui::style::{Color, Modifier};

use crate::common::{
    ID, NOW, detail, find, flags, line, lost_completion, record, status, terminal, text, tm,
};

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

    let (_, max) = crate::common::detail_and_max(&state, &view, 80, 24);
    assert!(max > 0);
    view.scroll.by(1000, Some(max));
    assert_eq!(view.scroll.offset(), max);
    let buf = detail(&state, &view, 80, 24);
    // Scrolled to the end, the last timeline entry sits just above the keys.
    assert!(
        line(&buf, 22).contains("logs captured, 123 bytes"),
        "{}",
        text(&buf)
    );
    assert!(line(&buf, 0).contains(ID), "title stays:\n{}", text(&buf));
    view.scroll.by(-1000, Some(max));
    assert_eq!(view.scroll.offset(), 0);
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
            draw_detail(
                frame,
                area,
                &DetailScreen::with_default_keys("x\u{1b}[2Jy", &empty, &[], &view, NOW),
            );
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
fn detail_says_where_the_timeline_dropped_entries() {
    let mut state = lost_completion();
    let kept_before = record(&state).timeline.len();
    // A chatty duplicate: each is noted, ignored, and the timeline is bounded.
    for i in 0..60 {
        state.apply(status(Status::Queued), tm(2_000 + i));
    }
    let dropped = record(&state).timeline.dropped;
    assert_eq!(dropped as usize, kept_before + 60 - TIMELINE_CAP);

    // As data: the head (how it began), then the gap, then the newest.
    let rows = timeline(record(&state));
    assert_eq!(rows.len(), TIMELINE_CAP);
    let gap = rows.iter().position(|r| r.dropped_before > 0);
    assert_eq!(gap, Some(TIMELINE_HEAD));
    assert_eq!(rows[TIMELINE_HEAD].dropped_before, dropped);
    assert_eq!(rows[0].what, "status submitted");
    assert!(
        rows[..TIMELINE_HEAD]
            .iter()
            .any(|r| r.what == "container start")
    );
    assert_eq!(rows.last().map(|r| r.at), Some(tm(2_059)));

    // On screen: one line where they were dropped, in the warning colour.
    let view = DetailView::new(Arc::from(ID));
    let buf = detail(&state, &view, 110, 120);
    let (x, y) = find(&buf, &format!("… {dropped} entries dropped …"));
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    let above = line(&buf, y - 1);
    let below = line(&buf, y + 1);
    assert!(above.contains(&rows[TIMELINE_HEAD - 1].what), "{above}");
    assert!(below.contains("status queued (ignored"), "{below}");
    // The head's entries are above the gap, none of the ignored ones.
    let (_, start_y) = find(&buf, "container start");
    assert!(start_y < y);
    // Ignored statuses are dimmed, and are not milestones.
    let (x, y) = find(&buf, "status queued (ignored: late or duplicate)");
    assert!(buf[(x, y)].modifier.contains(Modifier::DIM));
    assert!(!line(&buf, y).contains("+"), "{}", line(&buf, y));
}

#[test]
fn a_lost_completion_shows_the_last_lines_of_its_logs_inline() {
    let state = lost_completion();
    let mut view = DetailView::new(Arc::from(ID));
    view.logs = evaltop::view::log_excerpt::excerpt(record(&state), state.live_logs.get(ID), NOW);
    let buf = detail(&state, &view, 110, 60);
    let (_, y_advice) = find(&buf, "Force it failed (F)");
    let (x, y_title) = find(&buf, "last 4 lines, from the copy captured at death, ");
    assert!(
        y_title > y_advice && x == 2,
        "under the flag:\n{}",
        text(&buf)
    );
    for (i, want) in ["Before error", "Traceback (most recent call last):"]
        .iter()
        .enumerate()
    {
        let row = line(&buf, y_title + 1 + i as u16);
        assert_eq!(row.trim_end(), format!("  │ {want}"), "{}", text(&buf));
    }
    let (_, y_last) = find(&buf, "ZeroDivisionError: division by zero");
    assert_eq!(y_last, y_title + 4);
    // Without an excerpt (the renderer only reads what the console set),
    // nothing is invented.
    let buf = detail(&state, &DetailView::new(Arc::from(ID)), 110, 60);
    assert!(!text(&buf).contains("last 4 lines"));
}
