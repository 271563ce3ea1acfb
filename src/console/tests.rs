//! The console's update, driven by keys: dialogs that only `y` confirms,
//! refusals, read-only, marks and the filter's hidden count, in-flight
//! coalescing, and outcomes back into the status line and the timeline.

use crate::model::EngineName;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::*;
use crate::actions::{ActionKind, Effect, Outcome, OutcomeDetail, Target};
use crate::model::{
    ContainerFacts, ContainerState, Observation, Source, State, Status, StatusMessage, Ts,
};

const T0: i64 = 1_751_763_315_000;

pub(super) fn t(secs: i64) -> Ts {
    Ts(T0 + secs * 1000)
}

pub(super) fn container(id: &str, n: u8, state: ContainerState) -> ContainerFacts {
    ContainerFacts {
        container_id: format!("{n:02x}{}", "0".repeat(62)),
        eval_id: id.to_string(),
        state: Some(state),
        executor: Some("executor-2".to_string()),
        created_at: Some(t(0)),
        timeout_secs: Some(30),
        exit_code: (state == ContainerState::Exited).then_some(1),
        finished_at: (state == ContainerState::Exited).then_some(t(1)),
        inspected: true,
        ..ContainerFacts::default()
    }
}

/// Three evaluations: one running, one lost (exited, held running), one
/// already failed with its container removed.
pub(super) fn console() -> Console {
    let mut state = State::default();
    for source in [Source::Docker(EngineName::default()), Source::Redis] {
        state.apply(
            Observation::SourceUp {
                source,
                detail: String::new(),
            },
            t(0),
        );
    }
    state.apply(
        Observation::DockerList {
            engine: EngineName::default(),
            containers: vec![
                container("eval_running", 1, ContainerState::Running),
                container("eval_lost", 2, ContainerState::Exited),
                container("eval_failed", 3, ContainerState::Exited),
            ],
            requested_at: t(0),
        },
        t(0),
    );
    state.apply(
        Observation::RedisKeys(crate::model::RedisSnapshot {
            running_set: vec!["eval_running".into(), "eval_lost".into()],
            ..Default::default()
        }),
        t(0),
    );
    for (id, status) in [
        ("eval_running", Status::Running),
        ("eval_lost", Status::Running),
        ("eval_failed", Status::Failed),
    ] {
        state.apply(
            Observation::RedisStatus {
                channel_status: status,
                message: StatusMessage {
                    eval_id: id.to_string(),
                    error_len: Some(5),
                    ..StatusMessage::default()
                },
            },
            t(1),
        );
    }
    let mut console = Console::new(
        state,
        ConsoleConfig {
            operator: "oncall@host".into(),
            ..ConsoleConfig::default()
        },
    );
    console.term.size = Rect::new(0, 0, 120, 40);
    console.refresh_if_needed(t(60));
    console
}

pub(super) fn press(console: &mut Console, code: KeyCode) -> Vec<Output> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    let outputs = console.update(Input::Key(KeyEvent::new(code, modifiers)), t(60));
    console.refresh_if_needed(t(60));
    outputs
}

pub(super) fn type_text(console: &mut Console, text: &str) {
    for c in text.chars() {
        press(console, KeyCode::Char(c));
    }
}

pub(super) fn select(console: &mut Console, id: &str) {
    let page = console.page();
    assert!(console.views.table.select(id, page), "{id} is in the table");
}

fn runs(outputs: &[Output]) -> Vec<(ActionKind, String)> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Run(effect) => Some((effect.kind(), effect.target().eval_id.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn enter_never_confirms_a_kill_and_y_does() {
    let mut console = console();
    select(&mut console, "eval_running");
    assert!(press(&mut console, KeyCode::Char('K')).is_empty());
    let dialog = console.views.dialog.as_ref().expect("a dialog asks first");
    assert!(dialog.title.contains("SIGKILL"), "{}", dialog.title);
    assert!(
        dialog.lines[0].contains("eval_running"),
        "{:?}",
        dialog.lines
    );
    assert!(dialog.lines[0].contains("executor-2"), "{:?}", dialog.lines);
    assert!(dialog.lines[0].contains("running"), "{:?}", dialog.lines);
    assert!(press(&mut console, KeyCode::Enter).is_empty());
    assert!(
        console.views.dialog.is_some(),
        "Enter alone does not confirm"
    );
    let outputs = press(&mut console, KeyCode::Char('y'));
    assert_eq!(
        runs(&outputs),
        [(ActionKind::Kill, "eval_running".to_string())]
    );
    assert!(console.views.dialog.is_none());
    assert!(
        console
            .in_flight
            .contains(&(ActionKind::Kill, "eval_running".to_string()))
    );
}

#[test]
fn escape_and_n_cancel() {
    let mut console = console();
    select(&mut console, "eval_lost");
    for cancel in [KeyCode::Esc, KeyCode::Char('n')] {
        press(&mut console, KeyCode::Char('D'));
        assert!(console.views.dialog.is_some());
        assert!(press(&mut console, cancel).is_empty());
        assert!(console.views.dialog.is_none());
    }
}

#[test]
fn a_second_press_while_in_flight_starts_nothing() {
    let mut console = console();
    select(&mut console, "eval_running");
    press(&mut console, KeyCode::Char('K'));
    assert_eq!(runs(&press(&mut console, KeyCode::Char('y'))).len(), 1);
    press(&mut console, KeyCode::Char('K'));
    assert!(console.views.dialog.is_none(), "nothing to confirm");
    let status = console.views.status.as_ref().expect("says why");
    assert!(status.text.contains("already running"), "{}", status.text);
}

#[test]
fn force_failed_is_prefilled_and_a_terminal_evaluation_needs_a_second_yes() {
    let mut console = console();
    select(&mut console, "eval_lost");
    press(&mut console, KeyCode::Char('F'));
    let Some(Dialog {
        stage: DialogStage::Reason { text, .. },
        ..
    }) = &console.views.dialog
    else {
        panic!("a reason is asked first: {:?}", console.views.dialog);
    };
    assert!(
        text.starts_with("lost completion: container exited 1"),
        "{text}"
    );
    press(&mut console, KeyCode::Enter);
    let outputs = press(&mut console, KeyCode::Char('y'));
    let [Output::Run(Effect::ForceFail { payload, .. })] = outputs.as_slice() else {
        panic!("one forced failure: {outputs:?}");
    };
    assert_eq!(payload["eval_id"], "eval_lost");
    assert_eq!(payload["status"], "failed");
    assert_eq!(payload["manual_update"], true);
    assert_eq!(payload["exit_code"], 1);

    select(&mut console, "eval_failed");
    press(&mut console, KeyCode::Char('F'));
    press(&mut console, KeyCode::Enter);
    let dialog = console.views.dialog.as_ref().expect("still asking");
    assert!(
        dialog.warnings.iter().any(|w| w.contains("failed")),
        "the refusal says the evaluation is terminal: {:?}",
        dialog.warnings
    );
    assert!(
        press(&mut console, KeyCode::Char('y')).is_empty(),
        "one yes is not enough"
    );
    assert_eq!(
        console.views.dialog.as_ref().map(|d| &d.stage),
        Some(&DialogStage::ConfirmAgain)
    );
    let outputs = press(&mut console, KeyCode::Char('y'));
    assert_eq!(
        runs(&outputs),
        [(ActionKind::ForceFail, "eval_failed".to_string())]
    );
}

#[test]
fn read_only_refuses_every_write_and_still_reads_logs() {
    let mut console = console();
    console.config.read_only = Some("started with --read-only".into());
    select(&mut console, "eval_running");
    for key in ['K', 'D', 'F'] {
        assert!(press(&mut console, KeyCode::Char(key)).is_empty());
        assert!(console.views.dialog.is_none());
        let status = console.views.status.as_ref().expect("says why");
        assert!(status.text.contains("--read-only"), "{}", status.text);
    }
    // A running container's log is followed (a read), not refused.
    let outputs = press(&mut console, KeyCode::Char('l'));
    assert!(
        matches!(&outputs[..], [Output::FollowLogs { target, .. }] if target.eval_id == "eval_running"),
        "{outputs:?}"
    );
}

#[test]
fn marked_rows_hidden_by_the_filter_are_counted_in_the_dialog() {
    let mut console = console();
    select(&mut console, "eval_running");
    press(&mut console, KeyCode::Char(' '));
    select(&mut console, "eval_lost");
    press(&mut console, KeyCode::Char(' '));
    assert_eq!(console.views.marks.len(), 2);
    press(&mut console, KeyCode::Char('/'));
    type_text(&mut console, "flag:lost-completion");
    press(&mut console, KeyCode::Enter);
    assert_eq!(
        console.views.table.len(),
        1,
        "the filter shows only the lost one"
    );
    press(&mut console, KeyCode::Char('K'));
    let dialog = console.views.dialog.as_ref().expect("asks");
    assert!(dialog.title.contains("2 evaluation(s)"), "{}", dialog.title);
    assert!(
        dialog
            .title
            .contains("1 of them hidden by the current filter"),
        "{}",
        dialog.title
    );
    let outputs = press(&mut console, KeyCode::Char('y'));
    assert_eq!(runs(&outputs).len(), 2);
}

#[test]
fn a_kill_without_a_container_is_refused_outright() {
    let mut console = console();
    console.observe(crate::sources::Received {
        at: t(2),
        observation: Observation::RedisStatus {
            channel_status: Status::Queued,
            message: StatusMessage {
                eval_id: "eval_queued".into(),
                ..StatusMessage::default()
            },
        },
    });
    console.refresh_if_needed(t(60));
    select(&mut console, "eval_queued");
    press(&mut console, KeyCode::Char('K'));
    assert!(console.views.dialog.is_none());
    let status = console.views.status.as_ref().expect("says why");
    assert!(status.text.contains("no container"), "{}", status.text);
}

#[test]
fn outcomes_reach_the_status_line_and_the_timeline() {
    let mut console = console();
    select(&mut console, "eval_running");
    press(&mut console, KeyCode::Char('K'));
    press(&mut console, KeyCode::Char('y'));
    let outcome = Outcome::new(
        ActionKind::Kill,
        Target::new("eval_running"),
        true,
        "killed: exit 137".to_string(),
        t(61),
    )
    .with_detail(OutcomeDetail::Kill {
        exit_code: Some(137),
        die_seen: true,
        already_ended: false,
    });
    console.update(Input::Outcome(Box::new(outcome)), t(61));
    assert!(console.in_flight.is_empty());
    let status = console.views.status.as_ref().expect("reported");
    assert_eq!(status.tone, Tone::Good);
    assert!(status.text.contains("killed: exit 137"), "{}", status.text);
    let record = &console.state.evals["eval_running"];
    let notes: Vec<String> = record
        .timeline
        .iter()
        .filter(|e| e.source == Source::Evaltop)
        .map(|e| format!("{:?}", e.what))
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("requested by oncall@host")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("killed: exit 137")),
        "{notes:?}"
    );
}

#[test]
fn an_unconfirmed_forced_failure_offers_the_cleanup() {
    let mut console = console();
    let outcome = Outcome::new(
        ActionKind::ForceFail,
        Target::new("eval_lost"),
        false,
        "not confirmed in 5 s".to_string(),
        t(61),
    )
    .with_detail(OutcomeDetail::ForceFail {
        confirmed: false,
        receivers: 1,
        offer_clean: true,
    });
    console.update(Input::Outcome(Box::new(outcome)), t(61));
    let dialog = console.views.dialog.as_ref().expect("offers to clean");
    assert_eq!(dialog.kind, ActionKind::CleanRunning);
    assert!(
        dialog
            .lines
            .iter()
            .any(|l| l == "DEL eval:eval_lost:running"),
        "{:?}",
        dialog.lines
    );
    assert!(
        dialog
            .lines
            .iter()
            .any(|l| l == "SREM running_evaluations eval_lost")
    );
    let outputs = press(&mut console, KeyCode::Char('y'));
    assert_eq!(
        runs(&outputs),
        [(ActionKind::CleanRunning, "eval_lost".to_string())]
    );
}

#[test]
fn the_logs_view_opens_on_the_live_buffer_and_takes_the_fetch() {
    let mut console = console();
    console.observe(crate::sources::Received {
        at: t(2),
        observation: Observation::RedisLog(crate::model::LogMessage {
            eval_id: "eval_lost".into(),
            content: "live line\n".into(),
            ..Default::default()
        }),
    });
    select(&mut console, "eval_lost");
    press(&mut console, KeyCode::Char('l'));
    let Screen::Logs(logs) = &console.views.screen else {
        panic!("the logs view is open");
    };
    assert_eq!(logs.doc.len(), 1, "the live line is shown at once");
    assert!(logs.fetching);
    let fetched = crate::model::CapturedLogs {
        stdout: "from docker\n".into(),
        stderr: "Traceback\n".into(),
        ..Default::default()
    };
    let outcome = Outcome::new(
        ActionKind::FetchLogs,
        Target::new("eval_lost"),
        true,
        "logs from Docker".into(),
        t(62),
    )
    .with_detail(OutcomeDetail::Logs {
        origin: crate::actions::LogOrigin::Docker { tty: false },
        logs: fetched,
        complete: true,
        lines: Vec::new(),
    });
    console.update(Input::Outcome(Box::new(outcome)), t(62));
    let Screen::Logs(logs) = &console.views.screen else {
        panic!("still open");
    };
    assert!(!logs.fetching);
    let texts: Vec<&str> = logs.doc.lines().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["from docker", "Traceback"]);
}

#[test]
fn sort_takes_a_column_key_and_quit_quits() {
    let mut console = console();
    press(&mut console, KeyCode::Char('s'));
    press(&mut console, KeyCode::Char('i'));
    let ids: Vec<&str> = console.views.table.rows().iter().map(|r| &*r.id).collect();
    assert_eq!(ids, ["eval_failed", "eval_lost", "eval_running"]);
    press(&mut console, KeyCode::Char('s'));
    press(&mut console, KeyCode::Char('i'));
    let ids: Vec<&str> = console.views.table.rows().iter().map(|r| &*r.id).collect();
    assert_eq!(
        ids,
        ["eval_running", "eval_lost", "eval_failed"],
        "again reverses"
    );
    assert_eq!(press(&mut console, KeyCode::Char('q')), [Output::Quit]);
}

fn answer(console: &mut Console, kind: ActionKind, id: &str, ok: bool, summary: &str) {
    let outcome = Outcome::new(kind, Target::new(id), ok, summary.to_string(), t(61));
    console.update(Input::Outcome(Box::new(outcome)), t(61));
}

#[test]
fn a_bulk_action_is_summed_up_and_keeps_the_marks_of_what_failed() {
    let mut console = console();
    for id in ["eval_running", "eval_lost", "eval_failed"] {
        select(&mut console, id);
        press(&mut console, KeyCode::Char(' '));
    }
    assert_eq!(console.views.marks.len(), 3);
    press(&mut console, KeyCode::Char('D'));
    // The running one asks a second time.
    press(&mut console, KeyCode::Char('y'));
    let started = runs(&press(&mut console, KeyCode::Char('y')));
    assert_eq!(started.len(), 3, "{started:?}");
    answer(
        &mut console,
        ActionKind::Remove,
        "eval_running",
        true,
        "removed",
    );
    answer(
        &mut console,
        ActionKind::Remove,
        "eval_lost",
        false,
        "engine said 500",
    );
    let status = console.views.status.as_ref().expect("a status");
    assert!(
        !status.text.contains("ok,"),
        "no summary before the last answer: {}",
        status.text
    );
    answer(
        &mut console,
        ActionKind::Remove,
        "eval_failed",
        true,
        "removed",
    );
    let status = console.views.status.as_ref().expect("a status");
    assert_eq!(
        status.text,
        "remove: 2 ok, 1 failed: eval_lost: engine said 500"
    );
    assert_eq!(status.tone, Tone::Bad);
    let marks: Vec<&str> = console.views.marks.iter().map(|id| &**id).collect();
    assert_eq!(marks, ["eval_lost"], "only the failed one stays marked");
    for id in ["eval_running", "eval_lost", "eval_failed"] {
        let noted = console.state.evals[id]
            .timeline
            .iter()
            .any(|e| e.source == Source::Evaltop && format!("{:?}", e.what).contains("remove:"));
        assert!(noted, "{id}: its outcome is in its timeline");
    }
}

#[test]
fn information_expires_and_a_failure_waits_for_a_key() {
    let mut console = console();
    console.say(t(60), Tone::Info, "3 marked".into());
    console.update(Input::Tick, t(65));
    assert!(console.views.status.is_some(), "still fresh");
    console.update(Input::Tick, t(71));
    assert!(console.views.status.is_none(), "expired after 10 s");
    console.say(t(60), Tone::Bad, "kill failed".into());
    console.update(Input::Tick, t(600));
    assert!(console.views.status.is_some(), "a failure is not timed out");
    press(&mut console, KeyCode::Char('j'));
    assert!(
        console.views.status.is_none(),
        "read once a key was pressed"
    );
}

#[test]
fn back_from_logs_returns_where_they_were_opened() {
    let mut console = console();
    select(&mut console, "eval_lost");
    press(&mut console, KeyCode::Enter);
    press(&mut console, KeyCode::Char('l'));
    assert!(matches!(console.views.screen, Screen::Logs(_)));
    press(&mut console, KeyCode::Esc);
    match &console.views.screen {
        Screen::Detail(detail) => assert_eq!(&*detail.eval_id, "eval_lost"),
        other => panic!("back to the detail, not {other:?}"),
    }
    press(&mut console, KeyCode::Esc);
    assert!(matches!(console.views.screen, Screen::Table));
    press(&mut console, KeyCode::Char('l'));
    press(&mut console, KeyCode::Esc);
    assert!(
        matches!(console.views.screen, Screen::Table),
        "opened from the table"
    );
}

#[test]
fn help_scrolls_like_every_other_view() {
    let mut console = console();
    press(&mut console, KeyCode::Char('?'));
    console.drawn(Drawn {
        help_max_scroll: Some(40),
        ..Drawn::default()
    });
    press(&mut console, KeyCode::Char('G'));
    assert_eq!(console.views.help.map(|s| s.offset()), Some(40));
    press(&mut console, KeyCode::Char('k'));
    assert_eq!(console.views.help.map(|s| s.offset()), Some(39));
    press(&mut console, KeyCode::Home);
    assert_eq!(console.views.help.map(|s| s.offset()), Some(0));
    press(&mut console, KeyCode::PageDown);
    let page = console.views.help.map(|s| s.offset()).expect("open");
    assert!(
        page > 10,
        "a page is the popup's height, not 10 lines: {page}"
    );
    press(&mut console, KeyCode::End);
    assert_eq!(console.views.help.map(|s| s.offset()), Some(40));
}

#[test]
fn an_action_that_changed_something_rereads_its_evaluation() {
    let mut console = console();
    let outcome = |detail| {
        Outcome::new(
            ActionKind::Remove,
            Target::new("eval_lost"),
            true,
            "done".into(),
            t(60),
        )
        .with_detail(detail)
    };
    let outputs = console.update(
        Input::Outcome(Box::new(outcome(OutcomeDetail::Remove {
            already_gone: false,
        }))),
        t(60),
    );
    assert_eq!(outputs, [Output::Reread(Target::new("eval_lost"))]);
    let unconfirmed = OutcomeDetail::ForceFail {
        confirmed: false,
        receivers: 0,
        offer_clean: false,
    };
    let outputs = console.update(Input::Outcome(Box::new(outcome(unconfirmed))), t(60));
    assert!(outputs.is_empty(), "nothing changed: {outputs:?}");
}
