//! Makes the recording `evaltop demo` replays (assets/demo.jsonl): stages
//! the platform's failure modes against the real Docker engine and a real
//! redis-server, publishing what the platform's services publish, while
//! evaltop's own sources watch and a recorder writes everything down.
//!
//!     cargo run --example make_demo -- --out assets/demo.jsonl
//!
//! Needs a Docker engine, redis-server and a static busybox (the image is
//! built offline from it). Starts its own redis-server on a free port
//! unless given `--redis URL` (then use a scratch server: its keys are
//! recorded too). Removes every container, the image and the server it
//! made, and replaces `--out` only when the recording, read back, shows
//! every case with its flag and replays to the live state.

mod platform;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use serde_json::json;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};

use evaltop::model::{FlagKind, HealthContext, Settings, Severity, State, Ts, assess};
use evaltop::names::Names;
use evaltop::record::{self, Header, RecordedSources, Recorder};
use evaltop::sources::{docker, redis as redis_source};

use platform::{Cleanup, Platform, new_id};

/// The demo's executors; the Docker source is scoped to them, so that
/// other containers on the engine stay out of the recording.
const EXECUTORS: [&str; 2] = ["executor-1", "executor-2"];
/// `print("Before error"); 1/0`, as busybox can say it.
const INCIDENT: &str = "echo 'Before error'; echo 'Traceback (most recent call last):'; \
    echo '  File \"<string>\", line 1, in <module>'; echo 'ZeroDivisionError: division by zero'; exit 1";
/// Healthy programs: (code as submitted, script, output).
const HEALTHY: [(&str, &str, &str); 4] = [
    (
        "print(len(primes(1000)))",
        "echo 'Found 168 primes below 1000'",
        "Found 168 primes below 1000\r\n",
    ),
    (
        "train(epochs=3)",
        "echo 'Epoch 1/3 loss=0.61'; sleep 1; echo 'Epoch 2/3 loss=0.42'; sleep 1; echo 'Epoch 3/3 loss=0.33'",
        "Epoch 1/3 loss=0.61\r\nEpoch 2/3 loss=0.42\r\nEpoch 3/3 loss=0.33\r\n",
    ),
    (
        "run_tests()",
        "printf '\\033[32mAll 12 tests passed\\033[0m\\n'",
        "\u{1b}[32mAll 12 tests passed\u{1b}[0m\r\n",
    ),
    (
        "print(fib(30))",
        "sleep 2; echo 'fib(30) = 832040'",
        "fib(30) = 832040\r\n",
    ),
];
pub const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Parser)]
struct Args {
    /// Where to write the recording.
    #[arg(long, default_value = "assets/demo.jsonl")]
    out: PathBuf,
    /// Use this Redis instead of starting a redis-server (a scratch one:
    /// everything in it is recorded).
    #[arg(long)]
    redis: Option<String>,
    /// How long to record once the sources are up: past the default 30 s
    /// grace, so that lost completions and the stale entry are flagged.
    #[arg(long, default_value = "46s", value_parser = evaltop::cli::parse_duration)]
    length: Duration,
}

/// What each staged evaluation is, and the flag the recording must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    Healthy,
    Lost,
    LostRemoved,
    EmptyFailure,
    QuietFailure,
    Overrun,
    Orphan,
    TimedOut,
    Stale,
}

impl Case {
    fn expected(self) -> Option<(FlagKind, Severity)> {
        Some(match self {
            Case::Healthy => return None,
            Case::Lost | Case::LostRemoved => (FlagKind::LostCompletion, Severity::Alarm),
            Case::EmptyFailure => (FlagKind::EmptyFailure, Severity::Alarm),
            Case::QuietFailure => (FlagKind::EmptyFailure, Severity::Info),
            Case::Overrun => (FlagKind::Overdue, Severity::Alarm),
            Case::Orphan => (FlagKind::Orphan, Severity::Warning),
            Case::TimedOut => (FlagKind::TimedOut, Severity::Info),
            Case::Stale => (FlagKind::StaleRunning, Severity::Warning),
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    color_eyre::install()?;
    let args = Args::parse();
    let mut cleanup = Cleanup::default();
    // Interrupted, it still removes what it made.
    let result = tokio::select! {
        result = make(&args, &mut cleanup) => result,
        _ = tokio::signal::ctrl_c() => Err(eyre!("interrupted")),
    };
    cleanup.run();
    result
}

async fn make(args: &Args, cleanup: &mut Cleanup) -> Result<()> {
    let redis_url = match &args.redis {
        Some(url) => url.clone(),
        None => cleanup.start_redis()?,
    };
    let platform = Arc::new(Platform::connect(&redis_url, cleanup).await?);
    let executors: Vec<String> = EXECUTORS.iter().map(|e| e.to_string()).collect();
    let settings = Settings {
        executors: executors.clone(),
        ..Settings::default()
    };
    // Before the sources start: an id left in `running_evaluations` by an
    // evaluation whose key expired and whose container is long gone.
    let stale = new_id();
    platform
        .cmd::<i64>(redis::cmd("SADD").arg("running_evaluations").arg(&stale))
        .await?;
    platform.staged(Case::Stale, &stale);

    let header = Header::new(
        RecordedSources {
            docker: std::env::var("DOCKER_HOST")
                .unwrap_or_else(|_| "unix:///var/run/docker.sock".into()),
            engines: Vec::new(),
            redis: redis_source::redact_url(&redis_url),
            executors: executors.clone(),
        },
        &settings,
        Ts::now(),
    )
    .with_note(
        "evaltop demo: staged against Docker and redis-server by examples/make_demo/ \
         (cargo run --example make_demo -- --out assets/demo.jsonl)",
    );
    let draft = args.out.with_extension("jsonl.part");
    let recorder = Recorder::create(&draft, &header)
        .wrap_err_with(|| format!("cannot create {}", draft.display()))?;
    let (sink, observations) = mpsc::channel(16_384);
    let resync = Duration::from_secs(30);
    let sources = [
        tokio::spawn(docker::run(
            docker::DockerConfig {
                engine: evaltop::model::EngineName::new("local"),
                host: None,
                executors,
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names: Names::default(),
            },
            sink.clone(),
        )),
        tokio::spawn(redis_source::run(
            redis_source::RedisConfig {
                url: redis_url.clone(),
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names: Names::default(),
                backlog_bytes: redis_source::DEFAULT_BACKLOG_BYTES,
            },
            sink,
        )),
    ];
    let (mut forwarded, recording) = record::tee(recorder, observations);
    // The model as the app loop keeps it, watched by the stage so that it
    // can wait for what evaltop has seen.
    let (state_tx, state_rx) = watch::channel(State::new(settings));
    let model = tokio::spawn(async move {
        while let Some(received) = forwarded.recv().await {
            state_tx.send_modify(|state| state.apply(received.observation, received.at));
        }
        state_tx.borrow().clone()
    });

    let staged = stage(&platform, state_rx, args.length).await;
    for source in &sources {
        source.abort();
    }
    let status = recording.finish().await;
    let live = model.await.wrap_err("the model task failed")?;
    if args.redis.is_some() {
        platform.forget().await?;
    }
    staged?;
    if let Some(error) = status.error {
        bail!("the recording failed: {error}");
    }
    let problems = verify(&draft, &live, &platform.cases())?;
    if !problems.is_empty() {
        bail!(
            "the recording does not show every case; kept at {}:\n  {}",
            draft.display(),
            problems.join("\n  ")
        );
    }
    std::fs::rename(&draft, &args.out)
        .wrap_err_with(|| format!("cannot move the recording to {}", args.out.display()))?;
    println!("wrote {} ({} lines)", args.out.display(), status.lines);
    Ok(())
}

/// Runs every case on its schedule, concurrently, around healthy traffic.
async fn stage(
    p: &Arc<Platform>,
    mut state: watch::Receiver<State>,
    length: Duration,
) -> Result<()> {
    tokio::time::timeout(
        WAIT,
        state.wait_for(|s| s.engines_synced() && s.redis.synced()),
    )
    .await
    .map_err(|_| eyre!("the sources did not read Docker and Redis within {WAIT:?}"))??;
    let t0 = Instant::now();
    let mut cases = tokio::task::JoinSet::new();
    let mut at = |secs: f64, case: Stage| {
        let (p, state) = (p.clone(), state.clone());
        cases.spawn(async move {
            sleep_until(t0 + Duration::from_secs_f64(secs)).await;
            case.run(&p, state)
                .await
                .wrap_err_with(|| format!("{case:?}"))
        });
    };
    at(0.5, Stage::Healthy(0, 0));
    at(2.0, Stage::Lost { removed: false });
    at(3.0, Stage::Healthy(1, 0));
    at(4.0, Stage::Lost { removed: true });
    at(
        5.0,
        Stage::EmptyFailure {
            script: INCIDENT,
            exit: 1,
        },
    );
    at(6.0, Stage::Overrun);
    at(7.0, Stage::Healthy(2, 1));
    at(8.0, Stage::Orphan);
    at(9.0, Stage::TimedOut);
    at(11.0, Stage::Healthy(3, 1));
    at(
        12.0,
        Stage::EmptyFailure {
            script: "exit 3",
            exit: 3,
        },
    );
    at(14.0, Stage::Malformed);
    for (i, secs) in [16.0, 20.0, 24.0, 28.0, 32.0, 36.0].into_iter().enumerate() {
        at(secs, Stage::Healthy(i % HEALTHY.len(), i % 2));
    }
    at(39.0, Stage::StillRunning);
    at(42.0, Stage::Queued);
    while let Some(done) = cases.join_next().await {
        done.wrap_err("a stage panicked")??;
    }
    sleep_until(t0 + length).await;
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum Stage {
    /// Program `HEALTHY[.0]` on `EXECUTORS[.1]`, completed and removed.
    Healthy(usize, usize),
    /// A fast failure whose completion is never published.
    Lost {
        removed: bool,
    },
    /// A failure published with empty output after the container was
    /// removed (its logs unread).
    EmptyFailure {
        script: &'static str,
        exit: i64,
    },
    /// Runs past its 2 s timeout; its executor crashed.
    Overrun,
    /// Cancelled, but the executor never stopped the container.
    Orphan,
    /// Stopped on its 3 s timeout, and reported so.
    TimedOut,
    StillRunning,
    Queued,
    Malformed,
}

impl Stage {
    async fn run(self, p: &Platform, mut state: watch::Receiver<State>) -> Result<()> {
        let id = new_id();
        let (one, two) = (EXECUTORS[0], EXECUTORS[1]);
        match self {
            Stage::Healthy(program, executor) => {
                let (code, script, output) = HEALTHY[program];
                let executor = EXECUTORS[executor];
                p.submit(&id, code, 30).await?;
                sleep(Duration::from_millis(300)).await;
                let c = p.start(&id, executor, script, 30).await?;
                let exit = p.wait_exit(&c).await?;
                p.log(&id, executor, 1, output, true).await?;
                p.finish(
                    "completed",
                    &id,
                    json!({"status": "completed", "output": output,
                    "error": "", "exit_code": exit, "executor_id": executor}),
                )
                .await?;
                p.remove(&c).await?;
                p.staged(Case::Healthy, &id);
            }
            Stage::Lost { removed } => {
                p.submit(&id, "print(\"Before error\"); 1/0", 30).await?;
                let c = p.start(&id, two, INCIDENT, 30).await?;
                p.wait_exit(&c).await?;
                if removed {
                    sleep(Duration::from_secs(2)).await;
                    p.remove(&c).await?;
                }
                p.staged(
                    if removed {
                        Case::LostRemoved
                    } else {
                        Case::Lost
                    },
                    &id,
                );
            }
            Stage::EmptyFailure { script, exit } => {
                p.submit(&id, "main()", 30).await?;
                let c = p.start(&id, one, script, 30).await?;
                p.wait_exit(&c).await?;
                let captured = |s: &State| {
                    s.evals
                        .get(id.as_str())
                        .is_some_and(|r| r.captured_logs.is_some())
                };
                tokio::time::timeout(WAIT, state.wait_for(captured))
                    .await
                    .map_err(|_| eyre!("evaltop did not read the logs of {id}"))??;
                p.remove(&c).await?;
                p.finish(
                    "failed",
                    &id,
                    json!({"status": "failed", "output": "", "error": "",
                    "exit_code": exit, "executor_id": one}),
                )
                .await?;
                p.staged(
                    if exit == 1 {
                        Case::EmptyFailure
                    } else {
                        Case::QuietFailure
                    },
                    &id,
                );
            }
            Stage::Overrun => {
                p.submit(&id, "train(epochs=1000)", 2).await?;
                p.start(&id, two, "echo 'Training...'; sleep 600", 2)
                    .await?;
                p.log(&id, two, 1, "Training...\r\n", false).await?;
                p.staged(Case::Overrun, &id);
            }
            Stage::Orphan => {
                p.submit(&id, "input()", 60).await?;
                p.start(&id, one, "echo 'Waiting for input'; sleep 600", 60)
                    .await?;
                sleep(Duration::from_secs(3)).await;
                p.finish(
                    "cancelled",
                    &id,
                    json!({"status": "cancelled", "manual_update": false,
                    "reason": "Cancelled by user"}),
                )
                .await?;
                p.staged(Case::Orphan, &id);
            }
            Stage::TimedOut => {
                p.submit(&id, "simulate()", 3).await?;
                let c = p
                    .start(&id, one, "echo 'Starting simulation'; sleep 600", 3)
                    .await?;
                p.log(&id, one, 1, "Starting simulation\r\n", false).await?;
                sleep(Duration::from_secs(3)).await;
                p.stop(&c).await?;
                let exit = p.wait_exit(&c).await?;
                p.finish("failed", &id, json!({"status": "failed",
                    "output": "Starting simulation\r\n", "error": "Evaluation timed out after 3 seconds",
                    "exit_code": exit, "executor_id": one})).await?;
                p.remove(&c).await?;
                p.staged(Case::TimedOut, &id);
            }
            Stage::StillRunning => {
                p.submit(&id, "crunch()", 60).await?;
                p.start(&id, one, "echo 'Crunching'; sleep 600", 60).await?;
                p.log(&id, one, 1, "Crunching\r\n", false).await?;
                p.staged(Case::Healthy, &id);
            }
            Stage::Queued => {
                p.submit(&id, "print(42)", 30).await?;
                p.staged(Case::Healthy, &id);
            }
            Stage::Malformed => {
                p.publish_raw(
                    "evaluation:completed",
                    "Traceback (most recent call last): oops",
                )
                .await?;
                p.publish_raw(
                    "evaluation:failed",
                    r#"{"eval_id": 17, "status": "failed"}"#,
                )
                .await?;
            }
        }
        Ok(())
    }
}

/// Reads the recording back: it must replay to the live state, and show
/// each case with its flag at its end. Returns what is wrong.
fn verify(path: &Path, live: &State, cases: &[(Case, String)]) -> Result<Vec<String>> {
    let recording = record::read(path)?;
    let mut problems: Vec<String> = recording.problems.iter().map(|p| p.to_string()).collect();
    let size = std::fs::metadata(path)?.len();
    if size > 1 << 20 {
        problems.push(format!("{size} bytes: more than 1 MiB"));
    }
    let replayed = record::state_at(&recording, recording.settings(), None);
    if replayed.evals != live.evals || replayed.rejected != live.rejected {
        problems.push("the replay does not end in the live state".into());
    }
    if live.rejected.total < 2 {
        problems.push(format!("{} rejected payloads, not 2", live.rejected.total));
    }
    let ctx = HealthContext::of(&replayed, recording.end);
    for (case, id) in cases {
        let flags = replayed
            .evals
            .get(id.as_str())
            .map(|r| assess(r, &ctx))
            .unwrap_or_default();
        let found: Vec<(FlagKind, Severity)> =
            flags.iter().map(|f| (f.kind(), f.severity())).collect();
        let fine = match case.expected() {
            Some(expected) => found.contains(&expected),
            None => found.is_empty(),
        };
        println!("{case:?} {id}: {found:?}");
        if !fine {
            problems.push(format!(
                "{case:?} {id}: expected {:?}, found {found:?}",
                case.expected()
            ));
        }
    }
    Ok(problems)
}
