//! The triage actions against the real engine and a real redis-server:
//! kill (die observed, already exited), remove, re-fetched logs (streams
//! apart, one console stream, the fallbacks after removal), force failed
//! (the exact payload; confirmed by a stand-in storage worker, or not and
//! then the running state cleaned), read-only (nothing reaches Redis or
//! Docker), and the audit (file and stream, and an unwritable file).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use evaltop::actions::{
    ActionKind, Effect, ForceFailRequest, LogOrigin, OutcomeDetail, Target, prefilled_reason,
};
use evaltop::effects::{AuditConfig, EffectConfig, EffectRunner};
use evaltop::model::{CapturedLogs, ContainerState, DockerSide, EvalRecord, Flag, Ts};
use evaltop::names::Names;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use crate::support::redis::RedisServer;

const OPERATOR: &str = "tester@test-host";
const AUDIT_STREAM: &str = "evaltop:audit";

/// A directory of one test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "evaltop-effects-{}-{}",
            std::process::id(),
            random_hex()
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    fn audit_file(&self) -> PathBuf {
        self.0.join("state").join("audit.jsonl")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            eprintln!("cannot remove {}: {error}", self.0.display());
        }
    }
}

fn config(redis: &RedisServer, dir: &TempDir) -> EffectConfig {
    EffectConfig {
        docker_host: None,
        redis_url: redis.url(),
        names: Names::default(),
        read_only: false,
        audit: AuditConfig {
            file: Some(dir.audit_file()),
            stream: Some(AUDIT_STREAM.to_string()),
            stream_maxlen: 10_000,
        },
        die_wait: Duration::from_secs(5),
        operator: OPERATOR.to_string(),
    }
}

fn runner(redis: &RedisServer, dir: &TempDir) -> EffectRunner {
    EffectRunner::new(config(redis, dir)).expect("a valid redis URL")
}

fn target(container: &TestContainer) -> Target {
    Target::new(&container.eval_id).with_container(&container.id)
}

fn audit_lines(dir: &TempDir) -> Vec<Value> {
    std::fs::read_to_string(dir.audit_file())
        .expect("the audit file exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each audit line is JSON"))
        .collect()
}

async fn is_gone(docker: &bollard::Docker, id: &str) -> bool {
    match docker.inspect_container(id, None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => true,
        Ok(_) => false,
        Err(other) => panic!("inspect {id}: {other}"),
    }
}

async fn is_running(docker: &bollard::Docker, id: &str) -> bool {
    let inspect = docker.inspect_container(id, None).await.expect("inspect");
    inspect.state.and_then(|s| s.running) == Some(true)
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_sees_the_die_and_reports_exit_137() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "sleep 300");
    let container = TestContainer::start(&docker, &image, &spec).await;

    let outcome = runner(&redis, &dir)
        .run(Effect::Kill {
            target: target(&container),
            signal: "SIGKILL".into(),
        })
        .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "killed: exit 137");
    assert_eq!(
        outcome.detail,
        OutcomeDetail::Kill {
            exit_code: Some(137),
            die_seen: true,
            already_ended: false
        }
    );
    assert_eq!(outcome.audit_error, None);
    assert!(!is_running(&docker, &container.id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_that_kills_nothing_is_reported_as_no_die_event() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "sleep 300");
    let container = TestContainer::start(&docker, &image, &spec).await;
    let runner = EffectRunner::new(EffectConfig {
        die_wait: Duration::from_secs(1),
        ..config(&redis, &dir)
    })
    .unwrap();

    // PID 1 of a container has no default action for SIGTERM: it lives.
    let outcome = runner
        .run(Effect::Kill {
            target: target(&container),
            signal: "SIGTERM".into(),
        })
        .await;
    assert!(!outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "no die event after 1 s (running)");
    assert!(is_running(&docker, &container.id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_an_exited_container_says_it_already_exited() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "exit 3");
    let container = TestContainer::start(&docker, &image, &spec).await;
    assert_eq!(container.wait_exit(&docker).await, 3);

    let runner = runner(&redis, &dir);
    let kill = Effect::Kill {
        target: target(&container),
        signal: "SIGKILL".into(),
    };
    let outcome = runner.run(kill.clone()).await;
    assert!(outcome.ok, "not an error: {outcome:?}");
    assert_eq!(outcome.summary, "already exited (3)");
    assert!(matches!(
        outcome.detail,
        OutcomeDetail::Kill {
            exit_code: Some(3),
            die_seen: false,
            already_ended: true
        }
    ));

    container.remove();
    let outcome = runner.run(kill).await;
    assert!(outcome.ok);
    assert_eq!(outcome.summary, "already removed");
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_takes_an_exited_container_away() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "exit 1");
    let container = TestContainer::start(&docker, &image, &spec).await;
    container.wait_exit(&docker).await;

    let runner = runner(&redis, &dir);
    let remove = Effect::Remove {
        target: target(&container),
    };
    let outcome = runner.run(remove.clone()).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "removed");
    assert_eq!(
        outcome.detail,
        OutcomeDetail::Remove {
            already_gone: false
        }
    );
    assert!(is_gone(&docker, &container.id).await);

    let again = runner.run(remove).await;
    assert!(again.ok);
    assert_eq!(again.summary, "already gone");
}

/// The logs outcome's parts, or a panic naming what came instead.
fn logs_of(outcome: &evaltop::actions::Outcome) -> (&LogOrigin, &CapturedLogs, bool) {
    match &outcome.detail {
        OutcomeDetail::Logs {
            origin,
            logs,
            complete,
        } => (origin, logs, *complete),
        other => panic!("expected logs, got {other:?} ({})", outcome.summary),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_an_exited_container_keep_stdout_and_stderr_apart() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let script = r"echo out-line; printf 'err\033[31m-line\n' >&2; exit 1";
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), script);
    let container = TestContainer::start(&docker, &image, &spec).await;
    container.wait_exit(&docker).await;

    let outcome = runner(&redis, &dir)
        .run(Effect::FetchLogs {
            target: target(&container),
            captured: None,
        })
        .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "logs from Docker: stdout and stderr apart");
    let (origin, logs, complete) = logs_of(&outcome);
    assert_eq!(origin, &LogOrigin::Docker { tty: false });
    assert_eq!(logs.stdout, "out-line\n");
    assert_eq!(logs.stderr, "err-line\n", "sanitised as it entered");
    assert!(complete);
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_tty_container_are_one_console_stream() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let script = "echo out-line; echo err-line >&2; exit 1";
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), script).tty(true);
    let container = TestContainer::start(&docker, &image, &spec).await;
    container.wait_exit(&docker).await;

    let outcome = runner(&redis, &dir)
        .run(Effect::FetchLogs {
            target: target(&container),
            captured: None,
        })
        .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        outcome.summary,
        "logs from Docker: single console stream (TTY)"
    );
    let (origin, logs, _) = logs_of(&outcome);
    assert_eq!(origin, &LogOrigin::Docker { tty: true });
    assert!(logs.tty);
    assert_eq!(logs.stdout, "out-line\nerr-line\n");
    assert_eq!(logs.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_removed_container_fall_back_to_the_captured_copy_then_the_latest_key() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "echo gone");
    let container = TestContainer::start(&docker, &image, &spec).await;
    container.wait_exit(&docker).await;
    container.remove();
    let runner = runner(&redis, &dir);

    // Nothing anywhere yet.
    let fetch = |captured: Option<CapturedLogs>| Effect::FetchLogs {
        target: target(&container),
        captured,
    };
    let outcome = runner.run(fetch(None)).await;
    assert!(!outcome.ok);
    assert_eq!(logs_of(&outcome).0, &LogOrigin::Nothing);
    assert_eq!(
        outcome.summary,
        "container gone; no logs: no captured copy, and logs:{id}:latest absent"
    );

    // `logs:{id}:latest`, 12 s into its 300 s TTL.
    let key = format!("logs:{}:latest", container.eval_id);
    let _: () = redis
        .cmd(
            redis::cmd("SET")
                .arg(&key)
                .arg("Before error\r\n\u{1b}[31mZeroDivisionError\u{7}")
                .arg("PX")
                .arg(288_000),
        )
        .await;
    let outcome = runner.run(fetch(None)).await;
    assert!(outcome.ok, "{outcome:?}");
    let (origin, logs, complete) = logs_of(&outcome);
    match origin {
        LogOrigin::RedisLatest { age_ms: Some(age) } => {
            assert!((12_000..60_000).contains(age), "age {age}")
        }
        other => panic!("expected the latest key, got {other:?}"),
    }
    assert!(
        outcome
            .summary
            .starts_with("container gone; logs: logs:{id}:latest (latest chunk only), about "),
        "{}",
        outcome.summary
    );
    assert_eq!(logs.stdout, "Before error\nZeroDivisionError␇");
    assert!(!complete, "one chunk is not the whole output");

    // The core's copy at death comes before the key.
    let captured = CapturedLogs {
        tty: false,
        stdout: "gone\n".into(),
        stderr: String::new(),
        total_bytes: 5,
        truncated: false,
        captured_at: Ts::now().plus_millis(-41_000),
    };
    let outcome = runner.run(fetch(Some(captured.clone()))).await;
    assert!(outcome.ok);
    let (origin, logs, complete) = logs_of(&outcome);
    match origin {
        LogOrigin::CapturedAtDeath { age_ms } => assert!(*age_ms >= 41_000, "age {age_ms}"),
        other => panic!("expected the captured copy, got {other:?}"),
    }
    assert!(
        outcome
            .summary
            .starts_with("container gone; logs: the copy captured at the container's death, 4"),
        "{}",
        outcome.summary
    );
    assert_eq!(logs, &captured);
    assert!(complete);
}

/// A stand-in for the platform's storage worker, following PROTOCOL.md: on
/// `evaluation:failed` for a non-terminal evaluation, it records it, DELs
/// its running key, SREMs it from the set and publishes
/// `storage:evaluation:updated`; for a terminal one it does nothing. Every
/// payload it receives is passed on to the test.
async fn storage_worker(redis: &RedisServer) -> (JoinHandle<()>, mpsc::UnboundedReceiver<Value>) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.expect("worker pub/sub");
    pubsub
        .subscribe("evaluation:failed")
        .await
        .expect("subscribe");
    let mut conn = redis.connection().await;
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut terminal = HashSet::new();
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let payload: Value = serde_json::from_slice(message.get_payload_bytes()).unwrap();
            let id = payload["eval_id"].as_str().unwrap().to_string();
            tx.send(payload).unwrap();
            if !terminal.insert(id.clone()) {
                continue;
            }
            let _: i64 = redis::cmd("DEL")
                .arg(format!("eval:{id}:running"))
                .query_async(&mut conn)
                .await
                .unwrap();
            let _: i64 = redis::cmd("SREM")
                .arg("running_evaluations")
                .arg(&id)
                .query_async(&mut conn)
                .await
                .unwrap();
            let confirmation =
                json!({"eval_id": id, "timestamp": Ts::now().rfc3339(), "status": "failed"});
            let _: i64 = redis::cmd("PUBLISH")
                .arg("storage:evaluation:updated")
                .arg(confirmation.to_string())
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    });
    (task, rx)
}

/// `eval:{id}:running` and `running_evaluations`, as the worker sets them.
async fn mark_running(redis: &RedisServer, id: &str) {
    let _: i64 = redis
        .cmd(redis::cmd("SADD").arg("running_evaluations").arg(id))
        .await;
    let _: () = redis
        .cmd(
            redis::cmd("SET")
                .arg(format!("eval:{id}:running"))
                .arg(r#"{"executor_id":"executor-2","container_id":"abc123def456","timeout":30}"#)
                .arg("EX")
                .arg(90),
        )
        .await;
}

/// (key exists, id in the set)
async fn running_state(redis: &RedisServer, id: &str) -> (bool, bool) {
    let exists: i64 = redis
        .cmd(redis::cmd("EXISTS").arg(format!("eval:{id}:running")))
        .await;
    let member: i64 = redis
        .cmd(redis::cmd("SISMEMBER").arg("running_evaluations").arg(id))
        .await;
    (exists == 1, member == 1)
}

/// A record like the incident's: the container exited 1, its logs
/// captured at its death, no completion.
fn lost_record(executor: &str) -> (EvalRecord, Vec<Flag>) {
    let ended = Ts(1_751_763_316_182);
    let mut record = EvalRecord::new(ended);
    record.docker = Some(DockerSide {
        container_id: "c0ffee0123456789".into(),
        state: Some(ContainerState::Exited),
        executor: Some(executor.to_string()),
        exit_code: Some(1),
        finished_at: Some(ended),
        ..DockerSide::default()
    });
    record.captured_logs = Some(Box::new(CapturedLogs {
        tty: false,
        stdout: "Before error\n".into(),
        stderr: "ZeroDivisionError: division by zero\n".into(),
        total_bytes: 49,
        truncated: false,
        captured_at: ended,
    }));
    let flags = vec![Flag::LostCompletion {
        ended_at: ended,
        ended_ago_ms: 41_000,
        exit_code: Some(1),
        removed: false,
        held_running: true,
    }];
    (record, flags)
}

#[tokio::test(flavor = "multi_thread")]
async fn force_failed_publishes_what_the_storage_worker_accepts_and_is_confirmed() {
    let (redis, dir) = (RedisServer::start(), TempDir::new());
    let id = unique_eval_id();
    let executor = unique_executor();
    mark_running(&redis, &id).await;
    let (worker, mut received) = storage_worker(&redis).await;

    let (record, flags) = lost_record(&executor);
    let reason = prefilled_reason(&record, &flags);
    assert_eq!(
        reason,
        "lost completion: container exited 1 at 00:55:16, no completion event"
    );
    let now = Ts::now();
    let request = ForceFailRequest {
        eval_id: &id,
        record: &record,
        reason: &reason,
        flags: &flags,
        operator: OPERATOR,
        now,
        recovered: None,
    };
    let runner = runner(&redis, &dir);
    let outcome = runner
        .run(Effect::force_fail(&request, Duration::from_secs(5)))
        .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "confirmed by storage");
    assert_eq!(
        outcome.detail,
        OutcomeDetail::ForceFail {
            confirmed: true,
            receivers: 1,
            offer_clean: false
        }
    );

    let payload = received.recv().await.expect("the worker got the payload");
    let expected = [
        ("eval_id", json!(id)),
        ("status", json!("failed")),
        (
            "error",
            json!(format!(
                "{reason}\n\n[recovered stderr, read by evaltop]\nZeroDivisionError: division by zero\n"
            )),
        ),
        ("output", json!("Before error\n")),
        ("exit_code", json!(1)),
        ("executor_id", json!(executor)),
        ("completed_at", json!(now.rfc3339())),
        ("manual_update", json!(true)),
        ("reason", json!(reason)),
    ];
    for (field, value) in expected {
        assert_eq!(payload[field], value, "field {field}");
    }
    assert_eq!(payload["metadata"]["tool"], "evaltop");
    assert_eq!(payload["metadata"]["operator"], OPERATOR);
    assert_eq!(payload["metadata"]["flags"], json!(["lost-completion"]));
    assert_eq!(running_state(&redis, &id).await, (false, false));

    // Now terminal: the worker ignores a second one, so nothing confirms.
    let again = runner
        .run(Effect::force_fail(&request, Duration::from_secs(1)))
        .await;
    assert!(!again.ok);
    assert_eq!(again.summary, "not confirmed in 1 s");
    assert!(received.recv().await.is_some(), "it was published");
    worker.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfirmed_force_failed_offers_a_clean_that_checks_itself() {
    let (redis, dir) = (RedisServer::start(), TempDir::new());
    let id = unique_eval_id();
    let bystander = unique_eval_id();
    mark_running(&redis, &id).await;
    mark_running(&redis, &bystander).await;
    let (record, flags) = lost_record("executor-2");
    let request = ForceFailRequest {
        eval_id: &id,
        record: &record,
        reason: "stuck",
        flags: &flags,
        operator: OPERATOR,
        now: Ts::now(),
        recovered: None,
    };
    let runner = runner(&redis, &dir);

    // Nobody subscribes: said at once.
    let outcome = runner
        .run(Effect::force_fail(&request, Duration::from_secs(1)))
        .await;
    assert!(!outcome.ok);
    assert_eq!(
        outcome.summary,
        "published, but nobody subscribes to evaluation:failed: not confirmed"
    );

    // A subscriber that never confirms: the wait runs out. Spawned, as the
    // app does; a repeat while in flight is coalesced.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent.subscribe("evaluation:failed").await.unwrap();
    let (tx, mut rx) = mpsc::channel(4);
    let effect = Effect::force_fail(&request, Duration::from_secs(1));
    assert!(runner.spawn(effect.clone(), tx.clone()));
    assert!(!runner.spawn(effect.clone(), tx.clone()), "coalesced");
    let outcome = rx.recv().await.expect("the outcome comes back");
    assert_eq!(outcome.kind, ActionKind::ForceFail);
    assert!(!outcome.ok);
    assert_eq!(outcome.summary, "not confirmed in 1 s");
    assert_eq!(
        outcome.detail,
        OutcomeDetail::ForceFail {
            confirmed: false,
            receivers: 1,
            offer_clean: true
        }
    );
    assert_eq!(running_state(&redis, &id).await, (true, true));

    let outcome = runner
        .run(Effect::CleanRunning {
            target: Target::new(&id),
        })
        .await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        outcome.summary,
        format!(
            "running state cleared, checked: eval:{id}:running deleted, id removed from running_evaluations"
        )
    );
    assert_eq!(running_state(&redis, &id).await, (false, false));
    assert_eq!(
        running_state(&redis, &bystander).await,
        (true, true),
        "only its own"
    );
    drop(silent);
}

/// `cmdstat_*` lines of INFO commandstats: calls per command.
async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| line.strip_prefix("cmdstat_"))
        .filter_map(|line| {
            let (name, stats) = line.split_once(':')?;
            let calls = stats.split(',').find_map(|s| s.strip_prefix("calls="))?;
            Some((name.to_string(), calls.trim().parse().ok()?))
        })
        .filter(|(name, _)| name != "info")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_sends_nothing_to_redis_and_leaves_docker_alone() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "sleep 300");
    let container = TestContainer::start(&docker, &image, &spec).await;
    mark_running(&redis, &container.eval_id).await;
    let mut conn = redis.connection().await;
    let before = command_calls(&mut conn).await;

    let runner = EffectRunner::new(EffectConfig {
        read_only: true,
        ..config(&redis, &dir)
    })
    .unwrap();
    let (record, flags) = lost_record("executor-2");
    let request = ForceFailRequest {
        eval_id: &container.eval_id,
        record: &record,
        reason: "stuck",
        flags: &flags,
        operator: OPERATOR,
        now: Ts::now(),
        recovered: None,
    };
    let writes = [
        Effect::Kill {
            target: target(&container),
            signal: "SIGKILL".into(),
        },
        Effect::Remove {
            target: target(&container),
        },
        Effect::force_fail(&request, Duration::from_secs(1)),
        Effect::CleanRunning {
            target: target(&container),
        },
    ];
    for effect in writes {
        let kind = effect.kind();
        let outcome = runner.run(effect).await;
        assert!(!outcome.ok, "{kind:?} ran");
        assert_eq!(outcome.detail, OutcomeDetail::ReadOnly);
        assert_eq!(
            outcome.summary,
            format!("read-only: {} not run", kind.name())
        );
    }
    // Reading logs writes nothing, so it still works (from Docker).
    let logs = runner
        .run(Effect::FetchLogs {
            target: target(&container),
            captured: None,
        })
        .await;
    assert!(logs.ok, "{logs:?}");

    let after = command_calls(&mut conn).await;
    assert_eq!(before, after, "a command reached Redis");
    assert!(
        is_running(&docker, &container.id).await,
        "Docker was touched"
    );
    assert_eq!(
        running_state(&redis, &container.eval_id).await,
        (true, true)
    );
    let lines = audit_lines(&dir);
    assert_eq!(lines.len(), 10, "attempt and outcome of each, in the file");
    assert!(
        lines
            .iter()
            .filter(|l| l["action"] != "fetch-logs")
            .all(|l| l["read_only"] == true)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_attempt_and_outcome_is_audited_in_the_file_and_the_stream() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let image = TestImage::import(&docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), "exit 1");
    let container = TestContainer::start(&docker, &image, &spec).await;
    container.wait_exit(&docker).await;
    let runner = runner(&redis, &dir);
    let kill = runner
        .run(Effect::Kill {
            target: target(&container),
            signal: "SIGKILL".into(),
        })
        .await;
    let remove = runner
        .run(Effect::Remove {
            target: target(&container),
        })
        .await;
    assert_eq!((kill.audit_error, remove.audit_error), (None, None));

    let lines = audit_lines(&dir);
    let phases: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| (l["action"].as_str().unwrap(), l["phase"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            ("kill", "attempt"),
            ("kill", "outcome"),
            ("remove", "attempt"),
            ("remove", "outcome")
        ]
    );
    for line in &lines {
        assert_eq!(line["operator"], OPERATOR);
        assert_eq!(line["eval_ids"], json!([container.eval_id]));
        assert_eq!(line["container_ids"], json!([container.id]));
        assert!(Ts::parse(line["time"].as_str().unwrap()).is_some());
    }
    assert_eq!(lines[0]["parameters"], "signal SIGKILL");
    assert_eq!(lines[1]["outcome"], "already exited (1)");
    assert_eq!(lines[3]["outcome"], "removed");
    assert_eq!(lines[3]["ok"], true);

    let entries: Vec<(String, BTreeMap<String, String>)> = redis
        .cmd(redis::cmd("XRANGE").arg(AUDIT_STREAM).arg("-").arg("+"))
        .await;
    assert_eq!(entries.len(), 4);
    let field = |i: usize, name: &str| entries[i].1.get(name).cloned().unwrap_or_default();
    assert_eq!(field(0, "action"), "kill");
    assert_eq!(field(0, "phase"), "attempt");
    assert_eq!(field(1, "outcome"), "already exited (1)");
    assert_eq!(field(3, "outcome"), "removed");
    assert_eq!(field(3, "operator"), OPERATOR);
    assert_eq!(
        field(3, "eval_ids"),
        serde_json::to_string(&[&container.eval_id]).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unwritable_audit_file_is_reported_and_the_action_still_told_truthfully() {
    let (redis, dir) = (RedisServer::start(), TempDir::new());
    let blocker = dir.0.join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let mut config = config(&redis, &dir);
    config.audit.file = Some(blocker.join("audit.jsonl"));
    let runner = EffectRunner::new(config).unwrap();
    let id = unique_eval_id();
    mark_running(&redis, &id).await;

    let outcome = runner
        .run(Effect::CleanRunning {
            target: Target::new(&id),
        })
        .await;
    assert!(outcome.ok, "the action itself worked: {outcome:?}");
    assert!(outcome.summary.starts_with("running state cleared"));
    assert_eq!(running_state(&redis, &id).await, (false, false));
    let error = outcome.audit_error.expect("the audit failure is carried");
    assert!(
        error.contains("audit file") && error.contains("a-file"),
        "{error}"
    );
    let written: i64 = redis.cmd(redis::cmd("XLEN").arg(AUDIT_STREAM)).await;
    assert_eq!(written, 2, "the stream still got both entries");
}
