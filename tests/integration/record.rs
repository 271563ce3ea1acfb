//! Recordings of live runs against the real Docker engine and a real
//! redis-server: what the live model ended with is what the replay ends
//! with, flags included, at any speed; `events` writes the live stream; a
//! recording cut short still reads.

use std::path::PathBuf;
use std::time::Duration;

use evaltop::app::check::Report;
use evaltop::model::{FlagKind, Settings, State, Ts};
use evaltop::names::Names;
use evaltop::record::{
    self, Header, Line, RecordedSources, Recorder, Replay, ReplayCommand, state_at,
};
use evaltop::sources::{Received, docker, redis as redis_source};
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, unique_eval_id, unique_executor,
};
use crate::support::evaltop::flags_of;
use crate::support::platform::{complete, execute, failure, mark_running, stage};
use crate::support::redis::RedisServer;

const GRACE: Duration = Duration::from_secs(2);
const WITHIN: Duration = Duration::from_secs(20);
const INCIDENT_SCRIPT: &str = "echo Before error; echo Traceback >&2; exit 1";

/// A file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        TempFile(std::env::temp_dir().join(format!(
            "evaltop-{tag}-{}-{}.jsonl",
            std::process::id(),
            crate::support::docker::random_hex()
        )))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_file(&self.0) {
            eprintln!("cannot remove {}: {error}", self.0.display());
        }
    }
}

/// Both sources, scoped to one executor's containers, sending to one sink.
fn start_sources(
    redis_url: &str,
    executor: &str,
) -> (mpsc::Receiver<Received>, Vec<JoinHandle<()>>) {
    let (sink, observations) = mpsc::channel(16_384);
    let resync = Duration::from_secs(30);
    let tasks = vec![
        tokio::spawn(docker::run(
            docker::DockerConfig {
                engine: evaltop::model::EngineName::new("local"),
                host: None,
                executors: vec![executor.to_string()],
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names: Names::default(),
            },
            sink.clone(),
        )),
        tokio::spawn(redis_source::run(
            redis_source::RedisConfig {
                url: redis_url.to_string(),
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names: Names::default(),
                backlog_bytes: redis_source::DEFAULT_BACKLOG_BYTES,
            },
            sink,
        )),
    ];
    (observations, tasks)
}

fn header(redis_url: &str, executor: &str, settings: &Settings) -> Header {
    let sources = RecordedSources {
        docker: "unix:///var/run/docker.sock".into(),
        engines: Vec::new(),
        redis: redis_url.into(),
        executors: vec![executor.to_string()],
    };
    Header::new(sources, settings, Ts::now())
}

/// The live model, fed by what the recorder forwards, as the app loop is.
struct Live {
    state: State,
    observations: mpsc::Receiver<Received>,
}

impl Live {
    async fn pump_until(&mut self, what: &str, mut done: impl FnMut(&State) -> bool) {
        let deadline = Instant::now() + WITHIN;
        while !done(&self.state) {
            assert!(
                Instant::now() < deadline,
                "not reached within {WITHIN:?}: {what}"
            );
            let wait = Instant::now() + Duration::from_millis(50);
            while let Ok(Some(received)) =
                tokio::time::timeout_at(wait, self.observations.recv()).await
            {
                self.state.apply(received.observation, received.at);
            }
        }
    }

    /// Applies everything left, until the recorder closes the stream.
    async fn drain(&mut self) {
        while let Some(received) = self.observations.recv().await {
            self.state.apply(received.observation, received.at);
        }
    }
}

fn report(state: &State, now: Ts) -> serde_json::Value {
    serde_json::to_value(Report::of(state, &[], now)).expect("a report serialises")
}

fn assert_same_state(replayed: &State, live: &State) {
    assert_eq!(replayed.evals, live.evals);
    assert_eq!(replayed.engines, live.engines);
    assert_eq!(replayed.redis, live.redis);
    assert_eq!(replayed.rejected, live.rejected);
    assert_eq!(replayed.observations, live.observations);
}

/// A live run with the incident, a healthy failure, an overrun, a
/// malformed payload and a Redis restart, recorded while the live model
/// runs; the recording replays to the same state and the same flags.
#[tokio::test(flavor = "multi_thread")]
async fn a_recorded_live_run_replays_to_the_same_state_and_flags() {
    let mut server = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let settings = Settings {
        grace_ms: GRACE.as_millis() as i64,
        executors: vec![executor.clone()],
        ..Settings::default()
    };
    let file = TempFile::new("roundtrip");
    let recorder = Recorder::create(&file.0, &header(&server.url(), &executor, &settings)).unwrap();
    let (observations, sources) = start_sources(&server.url(), &executor);
    let (forwarded, recording) = record::tee(recorder, observations);
    let mut live = Live {
        state: State::new(settings.clone()),
        observations: forwarded,
    };
    live.pump_until("both sources synced", |s| {
        s.engines_synced() && s.redis.synced()
    })
    .await;

    let lost_id = unique_eval_id();
    let lost = stage(
        &server,
        &docker,
        &image,
        &ContainerSpec::new(&lost_id, &executor, INCIDENT_SCRIPT).tty(true),
    )
    .await;
    let done_id = unique_eval_id();
    let done = stage(
        &server,
        &docker,
        &image,
        &ContainerSpec::new(&done_id, &executor, INCIDENT_SCRIPT),
    )
    .await;
    let over_id = unique_eval_id();
    let over = TestContainer::start(
        &docker,
        &image,
        &ContainerSpec::new(&over_id, &executor, "sleep 120").timeout("1"),
    )
    .await;
    mark_running(&server, &over_id, &executor, &over.id, 1).await;

    assert_eq!(done.wait_exit(&docker).await, 1);
    complete(
        &server,
        "failed",
        failure(&done_id, &executor, "Before error\n", "Traceback", 1),
    )
    .await;
    done.remove();
    server
        .publish("evaluation:completed", "not json at all")
        .await;
    assert_eq!(lost.wait_exit(&docker).await, 1);
    live.pump_until("the incident flagged", |s| {
        flags_of(s, &lost_id)
            .iter()
            .any(|f| f.kind() == FlagKind::LostCompletion)
    })
    .await;

    // A blind window: the server goes away and comes back, with its keys
    // (saved first).
    let _: () = server.cmd(&redis::cmd("SAVE")).await;
    server.restart();
    live.pump_until("a blind window closed", |s| {
        s.redis
            .blind_windows
            .last()
            .is_some_and(|w| w.end.is_some())
            && s.redis.synced()
    })
    .await;
    live.pump_until("the rejection and the removal seen", |s| {
        s.rejected.total == 1
            && s.evals
                .get(done_id.as_str())
                .is_some_and(|r| r.redis.is_terminal())
    })
    .await;

    for source in &sources {
        source.abort();
    }
    let status = recording.finish().await;
    live.drain().await;
    assert_eq!(status.error, None);
    let recording = record::read(&file.0).unwrap();
    assert_eq!(recording.skipped, 0, "{:?}", recording.problems);
    assert_eq!(recording.lines.len() as u64, live.state.observations);
    assert_eq!(recording.settings(), settings);

    let end = recording.end;
    let replayed = state_at(&recording, recording.settings(), None);
    assert_same_state(&replayed, &live.state);
    let live_report = report(&live.state, end);
    assert_eq!(report(&replayed, end), live_report);
    let flagged = |id: &str| -> Vec<String> {
        live_report["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["eval_id"] == json!(id))
            .map(|e| {
                e["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["kind"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(
        flagged(&lost_id).contains(&"lost-completion".to_string()),
        "{live_report:#}"
    );
    assert!(
        flagged(&over_id).contains(&"overdue".to_string()),
        "{live_report:#}"
    );
    assert!(flagged(&done_id).is_empty(), "{live_report:#}");
    assert_eq!(replayed.redis.blind_windows.len(), 1);

    // Played in the replay TUI's way, at 64x and at 0.25x in big steps:
    // the same lines, so the same state.
    for (faster, step) in [(6, 50), (0, 20_000)] {
        let mut replay = Replay::new(recording.clone(), recording.settings());
        for _ in 0..faster {
            replay.command(ReplayCommand::Faster);
        }
        if faster == 0 {
            replay.command(ReplayCommand::Slower);
            replay.command(ReplayCommand::Slower);
        }
        while !replay.player().at_end() {
            replay.advance(Duration::from_millis(step));
        }
        assert_same_state(replay.state(), &live.state);
        assert_eq!(report(replay.state(), replay.now()), live_report);
    }

    // The recorder killed in the middle of its last line: only that line
    // is lost.
    let bytes = std::fs::read(&file.0).unwrap();
    let cut = &bytes[..bytes.len() - 5];
    let truncated = record::parse(cut).unwrap();
    assert_eq!(truncated.skipped, 1);
    assert!(
        truncated.problems[0].reason.starts_with("truncated"),
        "{:?}",
        truncated.problems
    );
    assert_eq!(truncated.lines, recording.lines);
}

/// `evaltop events`: the live stream of both sources, with clock lines.
#[tokio::test(flavor = "multi_thread")]
async fn events_write_both_sources_live_stream() {
    let server = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let file = TempFile::new("events");
    let settings = Settings::default();
    let recorder = Recorder::create(&file.0, &header(&server.url(), &executor, &settings)).unwrap();
    let (mut observations, sources) = start_sources(&server.url(), &executor);
    let writer =
        tokio::spawn(async move { record::write_events(recorder, &mut observations).await });

    let container = execute(&docker, &image, &executor, "exit 0").await;
    let eval_id = container.eval_id.clone();
    container.wait_exit(&docker).await;
    server
        .publish(
            "evaluation:queued",
            json!({"eval_id": eval_id, "code": "1", "language": "python"}).to_string(),
        )
        .await;
    // Long enough for the die to be read, and for a quiet second.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for source in &sources {
        source.abort();
    }
    let written = writer.await.unwrap().unwrap();

    let text = std::fs::read_to_string(&file.0).unwrap();
    assert_eq!(written, text.lines().count() as u64);
    let lines: Vec<Line> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(matches!(&lines[0], Line::Header(h) if h.sources.executors == [executor.clone()]));
    let kinds: Vec<String> = lines[1..]
        .iter()
        .map(|line| match line {
            Line::Observed(r) => serde_json::to_value(&r.observation).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string(),
            Line::Clock { .. } => "clock".to_string(),
            Line::Header(_) => "header".to_string(),
        })
        .collect();
    for kind in [
        "source_up",
        "docker_list",
        "redis_keys",
        "docker_event",
        "redis_status",
        "clock",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind}: {kinds:?}");
    }
    assert!(!kinds.contains(&"header".to_string()));
    let recording = record::read(&file.0).unwrap();
    let state = state_at(&recording, recording.settings(), None);
    assert!(state.evals[eval_id.as_str()].container_state().is_some());
}
