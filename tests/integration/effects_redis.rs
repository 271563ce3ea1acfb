//! The actions on Redis's side against a real redis-server, and what
//! guards every action: force failed (the exact payload; confirmed by a
//! stand-in storage worker, or not and then the running state cleaned),
//! read-only (nothing reaches Redis or Docker), and the audit (file and
//! stream, and an unwritable file).

use std::collections::BTreeMap;
use std::time::Duration;

use evaltop::actions::{ActionKind, Effect, OutcomeDetail, Target, prefilled_reason};
use evaltop::effects::{EffectConfig, EffectRunner};
use evaltop::model::Ts;
use serde_json::json;
use tokio::sync::mpsc;

use crate::support::docker::{docker, unique_eval_id, unique_executor};
use crate::support::effects::{
    AUDIT_STREAM, OPERATOR, TempDir, audit_lines, command_calls, config, exited, fetch_logs,
    force_request, is_running, kill, lost_record, mark_running, remove, runner, running_state,
    started, storage_worker, target,
};
use crate::support::redis::RedisServer;

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
    let request = force_request(&id, &record, &flags, &reason, now);
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
    let request = force_request(&id, &record, &flags, "stuck", Ts::now());
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

#[tokio::test(flavor = "multi_thread")]
async fn read_only_sends_nothing_to_redis_and_leaves_docker_alone() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let container = started(&docker, "sleep 300", false).await;
    mark_running(&redis, &container.eval_id).await;
    let mut conn = redis.connection().await;
    let before = command_calls(&mut conn).await;

    let runner = EffectRunner::new(EffectConfig {
        read_only: true,
        ..config(&redis, &dir)
    })
    .unwrap();
    let (record, flags) = lost_record("executor-2");
    let request = force_request(&container.eval_id, &record, &flags, "stuck", Ts::now());
    let writes = [
        kill(&container, "SIGKILL"),
        remove(&container),
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
    let logs = runner.run(fetch_logs(&container)).await;
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
    let (container, _) = exited(&docker, "exit 1", false).await;
    let runner = runner(&redis, &dir);
    let kill = runner.run(kill(&container, "SIGKILL")).await;
    let remove = runner.run(remove(&container)).await;
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
