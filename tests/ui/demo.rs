//! `evaltop demo` without Docker or Redis: the shipped recording (built
//! into the library) read, replayed into a state, and drawn into ratatui's
//! TestBackend, with every failure mode it stages on screen.

use std::collections::BTreeMap;
use std::time::Duration;

use evaltop::model::{
    ContainerState, FlagKind, HealthContext, Observation, Severity, State, Ts, assess,
};
use evaltop::record::{self, Recording, Replay, ReplayCommand, state_at};
use evaltop::view::TableView;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn demo() -> Recording {
    record::demo().expect("the shipped demo reads")
}

/// Each evaluation's flags at `now`, by id.
fn flags(state: &State, now: Ts) -> BTreeMap<String, Vec<(FlagKind, Severity)>> {
    let ctx = HealthContext::of(state, now);
    state
        .evals
        .iter()
        .map(|(id, record)| {
            let flags = assess(record, &ctx);
            (
                id.to_string(),
                flags.iter().map(|f| (f.kind(), f.severity())).collect(),
            )
        })
        .collect()
}

fn with(flags: &BTreeMap<String, Vec<(FlagKind, Severity)>>, kind: FlagKind) -> Vec<String> {
    flags
        .iter()
        .filter(|(_, f)| f.iter().any(|(k, _)| *k == kind))
        .map(|(id, _)| id.clone())
        .collect()
}

/// The screen as lines of text.
fn screen(state: &State, now: Ts, width: u16, height: u16) -> Vec<String> {
    let mut table = TableView::default();
    table.refresh(state, now);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            evaltop::ui::draw_with(
                frame,
                state,
                &table,
                &evaltop::ui::FindPanes::default(),
                now,
            )
        })
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
        })
        .collect()
}

#[test]
fn the_demo_was_recorded_live_and_reads_cleanly() {
    let recording = demo();
    assert_eq!(recording.skipped, 0, "{:?}", recording.problems);
    assert!(record::DEMO.len() < 1 << 20, "under 1 MiB");
    let header = &recording.header;
    assert!(
        header
            .note
            .as_deref()
            .is_some_and(|n| n.contains("make_demo"))
    );
    assert_eq!(header.sources.executors, ["executor-1", "executor-2"]);
    let length = recording.end.since(recording.start());
    assert!((40_000..=70_000).contains(&length), "{length} ms");
    // What only live sources produce: the engine's and the server's own
    // words, events on the daemon's clock, logs read at a container's death.
    let kinds: Vec<&str> = recording
        .lines
        .iter()
        .map(|r| match &r.observation {
            Observation::SourceUp { detail, .. } if detail.starts_with("engine ") => "docker up",
            Observation::SourceUp { detail, .. } if detail.starts_with("redis ") => "redis up",
            Observation::DockerEvent(_) => "event",
            Observation::DockerLogs { .. } => "logs",
            Observation::DockerList { .. } => "list",
            Observation::RedisKeys(_) => "keys",
            Observation::RedisStorage(_) => "storage",
            _ => "other",
        })
        .collect();
    for kind in [
        "docker up",
        "redis up",
        "event",
        "logs",
        "list",
        "keys",
        "storage",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in the demo");
    }
}

#[test]
fn the_demo_ends_with_every_failure_mode_flagged_and_on_screen() {
    let recording = demo();
    let now = recording.end;
    let state = state_at(&recording, recording.settings(), None);
    let flags = flags(&state, now);

    let lost = with(&flags, FlagKind::LostCompletion);
    assert_eq!(lost.len(), 2, "{flags:#?}");
    let mut empty: Vec<Severity> = flags
        .values()
        .flatten()
        .filter(|(k, _)| *k == FlagKind::EmptyFailure)
        .map(|(_, s)| *s)
        .collect();
    empty.sort();
    assert_eq!(
        empty,
        [Severity::Info, Severity::Alarm],
        "an empty failure whose logs were lost, and one that printed nothing"
    );
    for kind in [
        FlagKind::Overdue,
        FlagKind::Orphan,
        FlagKind::StaleRunning,
        FlagKind::TimedOut,
    ] {
        assert_eq!(with(&flags, kind).len(), 1, "{kind:?}: {flags:#?}");
    }
    let healthy = flags.values().filter(|f| f.is_empty()).count();
    assert!(
        healthy >= 10,
        "healthy traffic around the incidents: {healthy}"
    );
    assert_eq!(state.rejected.total, 2);
    assert!(state.engines_synced() && state.redis.synced());

    let lines = screen(&state, now, 160, 40);
    let text = lines.join("\n");
    assert!(text.contains("rejected payloads 2"), "{text}");
    for (id, found) in flags.iter().filter(|(_, f)| !f.is_empty()) {
        let row = lines
            .iter()
            .find(|line| line.contains(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not on screen:\n{text}"));
        for (kind, _) in found {
            assert!(
                row.contains(kind.name()),
                "{id} lacks {}:\n{row}",
                kind.name()
            );
        }
    }
    for id in &lost {
        let row = lines
            .iter()
            .find(|line| line.contains(id.as_str()))
            .unwrap();
        assert!(row.contains("running"), "still running in Redis: {row}");
    }
}

#[test]
fn the_incident_unfolds_as_the_demo_plays() {
    let recording = demo();
    let end_flags = flags(
        &state_at(&recording, recording.settings(), None),
        recording.end,
    );
    let lost = with(&end_flags, FlagKind::LostCompletion);
    let mut replay = Replay::new(recording.clone(), recording.settings());

    // 20 s in: the fast failures have exited, but the grace has not passed.
    replay.advance(Duration::from_secs(20));
    assert_eq!(replay.now(), recording.start().plus_millis(20_000));
    let early = flags(replay.state(), replay.now());
    for id in &lost {
        let record = &replay.state().evals[id.as_str()];
        assert!(
            record
                .container_state()
                .is_some_and(ContainerState::has_ended),
            "{id} ended by 20 s"
        );
        assert!(
            early[id].is_empty(),
            "{id} not yet lost at 20 s: {:?}",
            early[id]
        );
    }
    assert_eq!(
        with(&early, FlagKind::Overdue).len(),
        1,
        "the overrun is flagged at once"
    );
    let lines = screen(replay.state(), replay.now(), 160, 40);
    assert!(lines.iter().any(|l| l.contains("overdue")));
    assert!(!lines.iter().any(|l| l.contains("lost-completion")));

    // Played to the end at top speed: the same state as reading it whole.
    for _ in 0..8 {
        replay.command(ReplayCommand::Faster);
    }
    while !replay.player().at_end() {
        replay.advance(Duration::from_millis(100));
    }
    assert_eq!(flags(replay.state(), replay.now()), end_flags);
    let whole = state_at(&recording, recording.settings(), None);
    assert_eq!(replay.state().evals, whole.evals);
}
