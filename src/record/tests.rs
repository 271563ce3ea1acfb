//! Recordings without Docker or Redis: the format round trip, clock lines,
//! malformed files, the replay cursor's determinism, `--at` parsing and the
//! stream writers.

use crate::model::EngineName;
use std::time::Duration;

use super::*;
use crate::model::{
    ContainerAction, ContainerEvent, ContainerFacts, ContainerState, FlagKind, HealthContext,
    Observation, RedisSnapshot, Settings, Source, State, Status, StatusMessage, StorageMessage, Ts,
    assess,
};
use crate::sources::Received;

const T0: Ts = Ts(1_751_763_300_000);
const LOST: &str = "eval_20250706_005500_0000aaaa";
const DONE: &str = "eval_20250706_005500_0000bbbb";

fn at(secs: f64) -> Ts {
    T0.plus_millis((secs * 1000.0).round() as i64)
}

fn header() -> Header {
    Header::new(
        RecordedSources {
            docker: "unix:///var/run/docker.sock".into(),
            engines: Vec::new(),
            redis: "redis://:***@127.0.0.1:6379".into(),
            executors: Vec::new(),
        },
        &Settings {
            grace_ms: 5_000,
            ..Settings::default()
        },
        T0,
    )
}

fn event(eval_id: &str, action: ContainerAction, secs: f64, exit: Option<i64>) -> Observation {
    Observation::DockerEvent(ContainerEvent {
        engine: EngineName::new("local"),
        container_id: format!("c_{eval_id}"),
        eval_id: eval_id.to_string(),
        action,
        at: at(secs),
        executor: Some("executor-1".into()),
        created_at_label: None,
        timeout_label: Some("30".into()),
        signal: None,
        exit_code_attr: exit,
    })
}

fn status(channel: Status, eval_id: &str, exit: Option<i64>) -> Observation {
    Observation::RedisStatus {
        channel_status: channel,
        message: StatusMessage {
            eval_id: eval_id.to_string(),
            status: Some(channel),
            executor_id: Some("executor-1".into()),
            container_id: Some(format!("c_{eval_id}")),
            timeout_secs: Some(30),
            exit_code: exit,
            output_len: exit.map(|_| 12),
            error_len: exit.map(|_| 0),
            ..StatusMessage::default()
        },
    }
}

/// A lost completion and a healthy failure, with receive times that step
/// back now and then, as two sources' stamps do.
fn observations() -> Vec<Received> {
    let keys = |running: &[&str]| {
        Observation::RedisKeys(RedisSnapshot {
            running_set: running.iter().map(|s| s.to_string()).collect(),
            ..RedisSnapshot::default()
        })
    };
    let up = |source| Observation::SourceUp {
        source,
        detail: "test".into(),
    };
    let list = Observation::DockerList {
        engine: EngineName::new("local"),
        containers: vec![ContainerFacts {
            container_id: "c_other".into(),
            eval_id: "eval_other".into(),
            state: Some(ContainerState::Running),
            ..ContainerFacts::default()
        }],
        requested_at: at(0.2),
    };
    [
        (0.1, up(Source::Docker(EngineName::new("local")))),
        (0.1, up(Source::Redis)),
        (0.3, list),
        (0.25, keys(&[])),
        (1.0, status(Status::Running, LOST, None)),
        (1.0, event(LOST, ContainerAction::Start, 0.99, None)),
        (1.2, status(Status::Running, DONE, None)),
        (1.1, event(DONE, ContainerAction::Start, 1.1, None)),
        (1.6, event(LOST, ContainerAction::Die, 1.55, Some(1))),
        (1.7, event(DONE, ContainerAction::Die, 1.7, Some(1))),
        (2.5, status(Status::Failed, DONE, Some(1))),
        (
            2.55,
            Observation::RedisStorage(StorageMessage {
                eval_id: DONE.into(),
                kind: "updated".into(),
                status: Some(Status::Failed),
                executor_id: None,
            }),
        ),
        (2.6, event(DONE, ContainerAction::Destroy, 2.6, None)),
        (4.0, keys(&[LOST])),
        (
            5.0,
            Observation::SourceDown {
                source: Source::Redis,
                reason: "connection reset".into(),
            },
        ),
        (6.5, up(Source::Redis)),
        (6.6, keys(&[LOST])),
    ]
    .into_iter()
    .map(|(secs, observation)| Received {
        at: at(secs),
        observation,
    })
    .collect()
}

/// The file a recorder writes for `observations()`, ending at 12 s.
fn recorded() -> Vec<u8> {
    let mut recorder = Recorder::new(Vec::new(), &header()).unwrap();
    for received in observations() {
        recorder.record(&received).unwrap();
    }
    recorder.clock(at(8.0)).unwrap();
    recorder.finish(at(12.0)).unwrap()
}

fn flags(state: &State, eval_id: &str, now: Ts) -> Vec<FlagKind> {
    let ctx = HealthContext::of(state, now);
    state
        .evals
        .get(eval_id)
        .map(|r| assess(r, &ctx).iter().map(|f| f.kind()).collect())
        .unwrap_or_default()
}

fn assert_same(a: &State, b: &State) {
    assert_eq!(a.evals, b.evals);
    assert_eq!(a.engines, b.engines);
    assert_eq!(a.redis, b.redis);
    assert_eq!(a.rejected, b.rejected);
    assert_eq!(a.observations, b.observations);
    assert_eq!(a.settings, b.settings);
}

fn live_state(settings: Settings) -> State {
    let mut state = State::new(settings);
    for received in observations() {
        state.apply(received.observation, received.at);
    }
    state
}

#[test]
fn a_recording_reads_back_as_written() {
    let bytes = recorded();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["type"], "header");
    assert_eq!(first["format"], "evaltop-recording");
    assert_eq!(first["version"], "1.1");
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with(r#"{"type":"observed","at":"#)
    );
    assert_eq!(
        text.lines().last().unwrap(),
        format!(r#"{{"type":"clock","at":{}}}"#, at(12.0).0)
    );

    let recording = parse(&bytes).unwrap();
    assert_eq!(recording.header, header());
    assert_eq!(recording.lines, observations());
    assert_eq!(recording.end, at(12.0));
    assert_eq!(recording.start(), T0);
    assert!(recording.problems.is_empty());
    assert_eq!(recording.settings().grace_ms, 5_000);
}

#[test]
fn replaying_to_the_end_gives_the_live_state_and_flags() {
    let recording = parse(&recorded()).unwrap();
    let replayed = state_at(&recording, recording.settings(), None);
    let live = live_state(recording.settings());
    assert_same(&replayed, &live);
    assert_eq!(
        flags(&replayed, LOST, recording.end),
        [FlagKind::LostCompletion]
    );
    assert_eq!(flags(&replayed, DONE, recording.end), []);
}

#[test]
fn a_moment_holds_only_what_was_received_by_then() {
    let recording = parse(&recorded()).unwrap();
    let early = state_at(&recording, recording.settings(), Some(at(1.65)));
    // The die of LOST arrived at 1.6 s; DONE's die at 1.7 s had not.
    assert_eq!(
        early.evals[LOST].container_state(),
        Some(ContainerState::Exited)
    );
    assert_eq!(
        early.evals[DONE].container_state(),
        Some(ContainerState::Running)
    );
    assert_eq!(flags(&early, LOST, at(1.65)), []);
    // Grace is 5 s after the die at 1.55 s: flagged at 6.6 s, and Redis
    // was down from 5 s to 6.5 s on the way.
    let later = state_at(&recording, recording.settings(), Some(at(6.6)));
    assert_eq!(flags(&later, LOST, at(6.6)), [FlagKind::LostCompletion]);
    assert_eq!(later.redis.blind_windows.len(), 1);
}

#[test]
fn clock_lines_come_only_when_it_is_quiet() {
    let mut recorder = Recorder::new(Vec::new(), &header()).unwrap();
    assert!(
        !recorder.clock(at(0.5)).unwrap(),
        "the header was just written"
    );
    assert!(recorder.clock(at(0.75)).unwrap());
    assert!(!recorder.clock(at(1.0)).unwrap());
    recorder.record(&observations()[0]).unwrap();
    assert!(!recorder.clock(at(1.25)).unwrap());
    assert!(recorder.clock(at(1.5)).unwrap());
    assert_eq!(recorder.lines(), 4);
}

#[test]
fn unreadable_lines_are_numbered_counted_and_skipped() {
    let good = recorded();
    let text = String::from_utf8(good).unwrap();
    let mut lines: Vec<Vec<u8>> = text.lines().map(|l| l.as_bytes().to_vec()).collect();
    let total = lines.len();
    lines.insert(3, b"this is not json".to_vec());
    lines.insert(5, vec![0xff, 0xfe, b'{']);
    lines.insert(
        6,
        br#"{"type":"observed","at":1,"observation":{"kind":"warp_drive"}}"#.to_vec(),
    );
    lines.insert(7, br#"{"type":"bookmark","at":1}"#.to_vec());
    lines.insert(8, Vec::new());
    lines.insert(9, lines[0].clone());
    let mut bytes = lines.join(&b'\n');
    // The recorder was killed in the middle of a line.
    bytes.extend_from_slice(b"\n{\"type\":\"observed\",\"at\":17517633");

    let recording = parse(&bytes).unwrap();
    assert_eq!(recording.lines, observations(), "nothing else lost");
    assert_eq!(recording.end, at(12.0));
    assert_eq!(recording.skipped, 6);
    let numbers: Vec<usize> = recording.problems.iter().map(|p| p.line).collect();
    assert_eq!(numbers, [4, 6, 7, 8, 10, total + 7]);
    let reasons: Vec<&str> = recording
        .problems
        .iter()
        .map(|p| p.reason.as_str())
        .collect();
    assert!(reasons[0].starts_with("not JSON"), "{reasons:?}");
    assert_eq!(reasons[1], "not UTF-8 text");
    assert!(reasons[2].contains("warp_drive"), "{reasons:?}");
    assert!(reasons[3].contains("bookmark"), "{reasons:?}");
    assert!(reasons[4].contains("a second header"), "{reasons:?}");
    assert!(reasons[5].starts_with("truncated"), "{reasons:?}");
    assert_eq!(
        recording.problems_summary().unwrap(),
        "6 lines skipped (first: line 4: ".to_string() + reasons[0] + ")"
    );
}

#[test]
fn a_complete_last_line_without_a_newline_is_fine() {
    let mut bytes = recorded();
    assert_eq!(bytes.pop(), Some(b'\n'));
    let recording = parse(&bytes).unwrap();
    assert_eq!(recording.skipped, 0);
    assert_eq!(recording.end, at(12.0));
}

#[test]
fn a_newer_major_version_is_refused_and_a_newer_minor_read() {
    let text = String::from_utf8(recorded()).unwrap();
    let newer = text.replacen(r#""version":"1.1""#, r#""version":"2.0""#, 1);
    let error = parse(newer.as_bytes()).unwrap_err();
    assert!(matches!(error, RecordError::NewerVersion { .. }));
    assert_eq!(
        error.to_string(),
        "recorded by a newer evaltop (format 2.0); this one reads 1.x"
    );

    let minor = text.replacen(
        r#""version":"1.1""#,
        r#""version":"1.4","compression":"none""#,
        1,
    );
    let recording = parse(minor.as_bytes()).unwrap();
    assert_eq!(recording.header.version, "1.4");
    assert_eq!(recording.lines.len(), observations().len());
}

#[test]
fn files_that_are_not_recordings_say_so() {
    assert!(matches!(parse(b""), Err(RecordError::Empty)));
    assert!(matches!(parse(b"\n  \n"), Err(RecordError::Empty)));
    let cases: [(&[u8], &str); 5] = [
        (b"hello\n", "line 1 not JSON"),
        (
            b"\n{\"type\":\"clock\",\"at\":1}\n",
            "line 2 is not a recording header",
        ),
        (
            br#"{"type":"header","format":"pcap","version":"1.0"}"#,
            "has format \"pcap\"",
        ),
        (
            br#"{"type":"header","format":"evaltop-recording","version":"one"}"#,
            "unknown format version \"one\"",
        ),
        (
            br#"{"type":"header","format":"evaltop-recording","version":"1.0"}"#,
            "header that cannot be read",
        ),
    ];
    for (bytes, expected) in cases {
        let error = parse(bytes).unwrap_err();
        assert!(matches!(error, RecordError::NotARecording { .. }));
        let text = error.to_string();
        assert!(text.starts_with("not an evaltop recording: line"), "{text}");
        assert!(text.contains(expected), "{text} lacks {expected}");
    }
    let missing = read(std::path::Path::new("/nonexistent/evaltop.jsonl")).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read /nonexistent/evaltop.jsonl: "),
        "{missing}"
    );
}

#[test]
fn control_characters_in_a_file_are_made_visible() {
    let mut recorder = Recorder::new(Vec::new(), &header()).unwrap();
    let hostile = "eval_\u{1b}]52;c;aGk=\u{7}x\u{1b}[2J";
    recorder
        .record(&Received {
            at: at(1.0),
            observation: status(Status::Running, hostile, None),
        })
        .unwrap();
    let recording = parse(&recorder.finish(at(2.0)).unwrap()).unwrap();
    let Observation::RedisStatus { message, .. } = &recording.lines[0].observation else {
        panic!("{:?}", recording.lines[0]);
    };
    assert_eq!(message.eval_id, "eval_x");
}

/// The state shown at any cursor is the state at that moment, whatever
/// the speed and however real time is sliced.
#[test]
fn replay_is_the_same_at_every_speed() {
    let recording = parse(&recorded()).unwrap();
    let settings = recording.settings();
    let slices = [7u64, 130, 1, 480, 33, 999, 250];
    let mut speed = Speed::SLOWEST;
    loop {
        let mut replay = Replay::new(recording.clone(), settings.clone());
        while replay.player().speed() < speed {
            replay.command(ReplayCommand::Faster);
        }
        let mut step = 0;
        while !replay.player().at_end() {
            replay.advance(Duration::from_millis(slices[step % slices.len()]));
            step += 1;
            let expected = state_at(&recording, settings.clone(), Some(replay.now()));
            assert_same(replay.state(), &expected);
            assert_eq!(
                flags(replay.state(), LOST, replay.now()),
                flags(&expected, LOST, replay.now())
            );
        }
        assert_eq!(replay.now(), recording.end, "{speed}");
        assert_same(replay.state(), &live_state(settings.clone()));
        assert_eq!(
            flags(replay.state(), LOST, replay.now()),
            [FlagKind::LostCompletion]
        );
        if speed == Speed::FASTEST {
            break;
        }
        speed = speed.faster();
    }
}

#[test]
fn the_cursor_pauses_changes_speed_and_seeks() {
    let recording = parse(&recorded()).unwrap();
    let mut replay = Replay::new(recording.clone(), recording.settings());
    assert_eq!(replay.now(), T0);
    assert_eq!(replay.player().speed().to_string(), "1x");
    replay.advance(Duration::from_millis(1_000));
    assert_eq!(replay.now(), at(1.0));
    assert_eq!(replay.player().applied(), 6, "lines due by 1 s, in order");

    replay.command(ReplayCommand::TogglePause);
    assert_eq!(replay.advance(Duration::from_secs(5)), 0);
    assert_eq!(replay.now(), at(1.0));
    assert!(
        replay.describe().ends_with("1x  paused"),
        "{}",
        replay.describe()
    );
    replay.command(ReplayCommand::TogglePause);

    for _ in 0..10 {
        replay.command(ReplayCommand::Slower);
    }
    assert_eq!(replay.player().speed(), Speed::SLOWEST);
    assert_eq!(replay.player().speed().to_string(), "0.25x");
    replay.advance(Duration::from_millis(2));
    replay.advance(Duration::from_millis(2));
    assert_eq!(replay.now(), at(1.001), "sub-millisecond steps add up");
    for _ in 0..10 {
        replay.command(ReplayCommand::Faster);
    }
    assert_eq!(replay.player().speed().to_string(), "64x");
    assert_eq!(replay.player().speed().factor(), 64.0);

    replay.command(ReplayCommand::SeekEnd);
    assert!(replay.player().at_end());
    assert!(
        replay.describe().ends_with("64x  end"),
        "{}",
        replay.describe()
    );
    assert_eq!(replay.state().observations, observations().len() as u64);
    replay.command(ReplayCommand::SkipBack);
    assert_eq!(replay.now(), at(2.0));
    assert_same(
        replay.state(),
        &state_at(&recording, recording.settings(), Some(at(2.0))),
    );
    replay.command(ReplayCommand::SeekStart);
    assert_eq!(replay.now(), T0);
    assert_eq!(replay.state().observations, 0);
    assert!(replay.state().evals.is_empty());
    replay.command(ReplayCommand::SkipForward);
    assert_eq!(replay.now(), at(10.0));
}

#[test]
fn moments_are_times_or_offsets_within_the_recording() {
    let recording = parse(&recorded()).unwrap();
    assert_eq!(parse_at("+90ms", &recording), Ok(at(0.09)));
    assert_eq!(parse_at("+1s500ms", &recording), Ok(at(1.5)));
    assert_eq!(parse_at("-2s", &recording), Ok(at(10.0)));
    assert_eq!(parse_at("start", &recording), Ok(T0));
    assert_eq!(parse_at("end", &recording), Ok(at(12.0)));
    assert_eq!(parse_at(&at(3.0).rfc3339(), &recording), Ok(at(3.0)));
    let outside = parse_at("+1m", &recording).unwrap_err();
    assert!(outside.contains("outside the recording"), "{outside}");
    let garbage = parse_at("tuesday", &recording).unwrap_err();
    assert!(garbage.contains("neither a time"), "{garbage}");
    let bad_offset = parse_at("+soon", &recording).unwrap_err();
    assert!(bad_offset.contains("expected e.g. +90s"), "{bad_offset}");
}

fn temp_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "evaltop-record-{tag}-{}-{}.jsonl",
        std::process::id(),
        Ts::now().0
    ))
}

#[tokio::test]
async fn tee_records_and_forwards_in_order() {
    let path = temp_path("tee");
    let recorder = Recorder::create(&path, &header()).unwrap();
    let (sink, input) = tokio::sync::mpsc::channel(64);
    let (mut forwarded, handle) = tee(recorder, input);
    for received in observations() {
        sink.send(received).await.unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..observations().len() {
        seen.push(forwarded.recv().await.unwrap());
    }
    assert_eq!(seen, observations());
    let status = handle.finish().await;
    assert_eq!(status.error, None);
    assert!(status.finished);
    assert!(
        forwarded.recv().await.is_none(),
        "finishing closes the forward"
    );
    let recording = read(&path).unwrap();
    let written = std::fs::read_to_string(&path).unwrap().lines().count();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(recording.lines, observations());
    assert_eq!(status.lines, written as u64);
    assert!(
        recording.end >= Ts::now().plus_millis(-10_000),
        "a final clock line"
    );
}

#[tokio::test]
async fn events_write_clock_lines_while_quiet_and_end_with_the_input() {
    let path = temp_path("events");
    let mut started = header();
    started.started_at = Ts::now();
    let recorder = Recorder::create(&path, &started).unwrap();
    let (sink, mut input) = tokio::sync::mpsc::channel(8);
    let writer = tokio::spawn(async move { write_events(recorder, &mut input).await });
    let mut first = observations().remove(0);
    first.at = Ts::now();
    sink.send(first.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    drop(sink);
    let lines = writer.await.unwrap().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let parsed: Vec<Line> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, parsed.len() as u64);
    assert!(matches!(parsed[0], Line::Header(_)));
    assert_eq!(parsed[1], Line::Observed(first));
    let clocks: Vec<Ts> = parsed
        .iter()
        .filter_map(|line| match line {
            Line::Clock { at } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(clocks.len(), parsed.len() - 2, "only clock lines after it");
    assert!(clocks.len() >= 2, "clock lines while quiet: {clocks:?}");
    for pair in clocks.windows(2) {
        assert!(
            pair[1].since(pair[0]) >= 750 || pair == &clocks[clocks.len() - 2..],
            "{clocks:?}"
        );
    }
}

#[test]
fn the_demo_starts_where_its_incident_is_fullest() {
    use crate::model::{HealthContext, Severity, State, assess};
    let recording = crate::record::demo().expect("the shipped demo");
    let settings = recording.settings();
    let flagged = |at: Ts| {
        let state: State = crate::record::state_at(&recording, settings.clone(), Some(at));
        let ctx = HealthContext::of(&state, at);
        state
            .evals
            .values()
            .filter(|r| {
                assess(r, &ctx)
                    .iter()
                    .any(|f| f.severity() >= Severity::Warning)
            })
            .count()
    };
    let at = crate::record::first_alarm(&recording, settings.clone()).expect("the demo alarms");
    let most = flagged(at);
    assert!(most >= 2, "the incident, not one flag: {most} at {at}");
    assert!(
        flagged(at.plus_millis(-1_000)) < most,
        "the first second with that many"
    );
    let mut t = recording.start();
    while t <= recording.end {
        assert!(flagged(t) <= most, "no moment shows more");
        t = t.plus_millis(1_000);
    }
    assert!(at < recording.end, "it plays on from there");
}

/// Format 1.0 had one engine and no names: its Docker observations replay
/// as the engine its URL names, and its health lines too.
#[test]
fn a_recording_without_engine_names_replays_as_one_engine_named_after_its_url() {
    let text = String::from_utf8(recorded()).unwrap();
    let old = text
        .replacen(r#""version":"1.1""#, r#""version":"1.0""#, 1)
        .replace("unix:///var/run/docker.sock", "tcp://exec-9:2375")
        .replace(r#""engine":"local","#, "")
        .replace(r#""docker:local""#, r#""docker""#);
    assert!(!old.contains("local"), "every engine name is gone: {old}");
    let recording = parse(old.as_bytes()).unwrap();
    assert_eq!(recording.skipped, 0, "{:?}", recording.problems);
    let exec9 = EngineName::new("exec-9");
    let docker: Vec<_> = recording
        .lines
        .iter()
        .filter_map(|r| r.observation.engine())
        .collect();
    assert!(!docker.is_empty());
    assert!(docker.iter().all(|e| **e == exec9), "{docker:?}");
    let state = crate::record::state_at(&recording, Settings::default(), None);
    assert_eq!(state.engines.len(), 1);
    assert_eq!(state.engines[0].0, exec9);
    assert!(state.evals.values().any(|r| r.engine() == Some(&exec9)));
}
