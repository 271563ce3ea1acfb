//! What the triage-action tests share: an effect runner on a test
//! redis-server with its audit in a temp dir of its own, a test's container
//! and the effects aimed at it, the running state as the storage worker
//! keeps it, a stand-in storage worker, and a record like the incident's.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use evaltop::actions::{
    Effect, ForceFailRequest, LogOrigin, LogWindow, Outcome, OutcomeDetail, Target,
};
use evaltop::effects::{AuditConfig, EffectConfig, EffectRunner};
use evaltop::model::{CapturedLogs, ContainerSide, ContainerState, EvalRecord, Flag, Ts};
use evaltop::names::Names;
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::docker::{
    ContainerSpec, TestContainer, TestImage, random_hex, unique_eval_id, unique_executor,
};
use super::redis::RedisServer;

pub const OPERATOR: &str = "tester@test-host";
pub const AUDIT_STREAM: &str = "evaltop:audit";

/// A directory of one test, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!(
            "evaltop-effects-{}-{}",
            std::process::id(),
            random_hex()
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir(path)
    }

    pub fn audit_file(&self) -> PathBuf {
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

/// The machine's engine, named as a bare DOCKER_HOST (or the socket) is.
pub fn local_engine() -> evaltop::engines::EngineSpec {
    let host = std::env::var("DOCKER_HOST").ok();
    evaltop::engines::resolve(&[], &[], host.as_deref()).expect("DOCKER_HOST is usable")[0].clone()
}

pub fn config(redis: &RedisServer, dir: &TempDir) -> EffectConfig {
    EffectConfig {
        engines: vec![local_engine()],
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

pub fn runner(redis: &RedisServer, dir: &TempDir) -> EffectRunner {
    EffectRunner::new(config(redis, dir)).expect("a valid redis URL")
}

/// A fresh evaluation's container, running `script` (on a TTY when asked)
/// from an image of its own.
pub async fn started(docker: &Docker, script: &str, tty: bool) -> TestContainer {
    let image = TestImage::import(docker).await;
    let spec = ContainerSpec::new(&unique_eval_id(), &unique_executor(), script).tty(tty);
    TestContainer::start(docker, &image, &spec).await
}

/// The same, once it has ended; with its exit code.
pub async fn exited(docker: &Docker, script: &str, tty: bool) -> (TestContainer, i64) {
    let container = started(docker, script, tty).await;
    let exit_code = container.wait_exit(docker).await;
    (container, exit_code)
}

pub fn target(container: &TestContainer) -> Target {
    Target::new(&container.eval_id).with_container(&container.id)
}

pub fn kill(container: &TestContainer, signal: &str) -> Effect {
    Effect::Kill {
        target: target(container),
        signal: signal.into(),
    }
}

pub fn remove(container: &TestContainer) -> Effect {
    Effect::Remove {
        target: target(container),
    }
}

/// Logs re-fetched with no copy captured at death to fall back on.
pub fn fetch_logs(container: &TestContainer) -> Effect {
    Effect::FetchLogs {
        target: target(container),
        captured: None,
        window: LogWindow::default(),
    }
}

/// A force-failed request by `OPERATOR`, with no re-fetched logs.
pub fn force_request<'a>(
    eval_id: &'a str,
    record: &'a EvalRecord,
    flags: &'a [Flag],
    reason: &'a str,
    now: Ts,
) -> ForceFailRequest<'a> {
    ForceFailRequest {
        eval_id,
        record,
        reason,
        flags,
        operator: OPERATOR,
        now,
        recovered: None,
    }
}

pub fn audit_lines(dir: &TempDir) -> Vec<Value> {
    std::fs::read_to_string(dir.audit_file())
        .expect("the audit file exists")
        .lines()
        .map(|line| serde_json::from_str(line).expect("each audit line is JSON"))
        .collect()
}

pub async fn is_gone(docker: &Docker, id: &str) -> bool {
    match docker.inspect_container(id, None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => true,
        Ok(_) => false,
        Err(other) => panic!("inspect {id}: {other}"),
    }
}

pub async fn is_running(docker: &Docker, id: &str) -> bool {
    let inspect = docker.inspect_container(id, None).await.expect("inspect");
    inspect.state.and_then(|s| s.running) == Some(true)
}

/// The logs outcome's parts, or a panic naming what came instead.
pub fn logs_of(outcome: &Outcome) -> (&LogOrigin, &CapturedLogs, bool) {
    match &outcome.detail {
        OutcomeDetail::Logs {
            origin,
            logs,
            complete,
            ..
        } => (origin, logs, *complete),
        other => panic!("expected logs, got {other:?} ({})", outcome.summary),
    }
}

/// A stand-in for the platform's storage worker, following PROTOCOL.md: on
/// `evaluation:failed` for a non-terminal evaluation, it records it, DELs
/// its running key, SREMs it from the set and publishes
/// `storage:evaluation:updated`; for a terminal one it does nothing. Every
/// payload it receives is passed on to the test.
pub async fn storage_worker(
    redis: &RedisServer,
) -> (JoinHandle<()>, mpsc::UnboundedReceiver<Value>) {
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
pub async fn mark_running(redis: &RedisServer, id: &str) {
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
pub async fn running_state(redis: &RedisServer, id: &str) -> (bool, bool) {
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
pub fn lost_record(executor: &str) -> (EvalRecord, Vec<Flag>) {
    let ended = Ts(1_751_763_316_182);
    let mut record = EvalRecord::new(ended);
    record.docker = Some(ContainerSide {
        container_id: "c0ffee0123456789".into(),
        state: Some(ContainerState::Exited),
        executor: Some(executor.to_string()),
        exit_code: Some(1),
        finished_at: Some(ended),
        ..ContainerSide::default()
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

/// `cmdstat_*` lines of INFO commandstats: calls per command.
pub async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> BTreeMap<String, u64> {
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
