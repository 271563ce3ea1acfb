//! PROTOCOL.md's incidents, staged against the real Docker engine and a
//! real redis-server, and the flags evaltop must reach for each: live, and
//! from a cold start that saw none of the events.

use std::time::Duration;

use evaltop::model::{ContainerState, Flag, FlagKind, Severity};
use serde_json::json;

use crate::support::docker::{ContainerSpec, TestImage, docker, unique_eval_id, unique_executor};
use crate::support::evaltop::Evaltop;
use crate::support::platform::{complete, execute, failure, stage};
use crate::support::redis::RedisServer;

const GRACE: Duration = Duration::from_secs(2);
/// The spec: the flag within grace + 1 s of the container's death.
const FLAG_WITHIN: Duration = Duration::from_secs(3);
const OBSERVED_WITHIN: Duration = Duration::from_secs(20);

const INCIDENT_SCRIPT: &str = "echo Before error; echo Traceback >&2; exit 1";

fn kinds(flags: &[Flag]) -> Vec<FlagKind> {
    flags.iter().map(Flag::kind).collect()
}

/// Waits until evaltop has seen `eval_id`'s container end.
async fn wait_ended(evaltop: &mut Evaltop, eval_id: &str) {
    evaltop
        .pump_until(
            &format!("{eval_id} container ended"),
            OBSERVED_WITHIN,
            |state| {
                state
                    .evals
                    .get(eval_id)
                    .and_then(|r| r.container_state())
                    .is_some_and(ContainerState::has_ended)
            },
        )
        .await;
}

/// (a), (b) and (c) live, then (d): `evaltop check` started afterwards
/// reaches the same flags from the container list and the keys alone.
#[tokio::test(flavor = "multi_thread")]
async fn incidents_are_flagged_live_and_from_a_cold_start() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let mut evaltop = Evaltop::start(&redis.url(), GRACE).await;
    let executor = unique_executor();

    // (a) The incident: a fast failure whose completion is never published.
    let lost_id = unique_eval_id();
    let lost = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&lost_id, &executor, INCIDENT_SCRIPT),
    )
    .await;

    // (b) The same failure, with its completion published and the container
    // removed, as a healthy executor does.
    let done_id = unique_eval_id();
    let done = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&done_id, &executor, INCIDENT_SCRIPT),
    )
    .await;

    // (c) A container that runs past its timeout label (kept, running, to
    // the end of the test).
    let over_id = unique_eval_id();
    let _over = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&over_id, &executor, "sleep 120").timeout("1"),
    )
    .await;

    assert_eq!(done.wait_exit(&docker).await, 1);
    complete(
        &redis,
        "failed",
        failure(&done_id, &executor, "Before error\r\n", "Traceback", 1),
    )
    .await;
    done.remove();

    assert_eq!(lost.wait_exit(&docker).await, 1);
    wait_ended(&mut evaltop, &lost_id).await;
    let flag = evaltop
        .wait_flag(&lost_id, FlagKind::LostCompletion, FLAG_WITHIN)
        .await;
    assert_eq!(flag.severity(), Severity::Alarm);
    let reason = flag.reason();
    assert!(reason.contains("exited 1"), "{reason}");
    assert!(reason.contains("still holds it as running"), "{reason}");

    let overdue = evaltop
        .wait_flag(&over_id, FlagKind::Overdue, OBSERVED_WITHIN)
        .await;
    assert!(
        overdue.reason().contains("past its 1s timeout"),
        "{}",
        overdue.reason()
    );

    // (b) stays clean past its grace: completion seen, container removed.
    evaltop
        .pump_until(
            &format!("{done_id} removed and failed"),
            OBSERVED_WITHIN,
            |state| {
                state.evals.get(done_id.as_str()).is_some_and(|r| {
                    r.container_state() == Some(ContainerState::Removed) && r.redis.is_terminal()
                })
            },
        )
        .await;
    evaltop.pump_for(GRACE + Duration::from_secs(1)).await;
    assert_eq!(
        kinds(&evaltop.flags(&done_id)),
        [],
        "a completed evaluation is healthy"
    );
    drop(evaltop);

    // (d) Crash-only: a new evaltop, started after everything happened.
    let report =
        crate::check_cli::check_json(&redis.url(), &["--grace", "2s", "--executor", &executor])
            .await;
    assert_eq!(report.code, 1, "flagged evaluations make check exit 1");
    let lost_flags = report.flag_kinds(&lost_id);
    assert!(
        lost_flags.contains(&"lost-completion".to_string()),
        "{lost_flags:?}"
    );
    let over_flags = report.flag_kinds(&over_id);
    assert!(
        over_flags.contains(&"overdue".to_string()),
        "{over_flags:?}"
    );
    assert!(
        report.flag_kinds(&done_id).is_empty(),
        "the removed, completed one is not flagged"
    );
}

/// (e) A failure recorded with empty output and error: an alarm when the
/// Docker logs show the program printed; informational when it printed
/// nothing (`sys.exit(3)`).
#[tokio::test(flavor = "multi_thread")]
async fn empty_failures_are_alarms_only_with_evidence_of_output() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let mut evaltop = Evaltop::start(&redis.url(), GRACE).await;
    let executor = unique_executor();

    let cases = [
        (INCIDENT_SCRIPT, 1, Severity::Alarm),
        ("exit 3", 3, Severity::Info),
    ];
    for (script, exit_code, severity) in cases {
        let eval_id = unique_eval_id();
        let container = stage(
            &redis,
            &docker,
            &image,
            &ContainerSpec::new(&eval_id, &executor, script),
        )
        .await;
        assert_eq!(container.wait_exit(&docker).await, exit_code);
        evaltop
            .pump_until(
                &format!("{eval_id} logs captured at death"),
                OBSERVED_WITHIN,
                |state| {
                    state
                        .evals
                        .get(eval_id.as_str())
                        .is_some_and(|r| r.captured_logs.is_some())
                },
            )
            .await;
        // The executor lost the logs: it removed the container first.
        container.remove();
        complete(
            &redis,
            "completed",
            failure(&eval_id, &executor, "", "", exit_code),
        )
        .await;
        let flag = evaltop
            .wait_flag(&eval_id, FlagKind::EmptyFailure, OBSERVED_WITHIN)
            .await;
        assert_eq!(flag.severity(), severity, "{script}: {}", flag.reason());
        if severity == Severity::Alarm {
            assert!(
                flag.reason().contains("Docker logs hold"),
                "{}",
                flag.reason()
            );
        }
    }
}

/// (f) A container removed before evaltop ever saw it, whose id stays in
/// `running_evaluations` after its key expired: stale-running.
#[tokio::test(flavor = "multi_thread")]
async fn a_stale_running_entry_is_flagged() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let container = execute(&docker, &image, &executor, "exit 0").await;
    let eval_id = container.eval_id.clone();
    container.wait_exit(&docker).await;
    container.remove();
    let _: i64 = redis
        .cmd(redis::cmd("SADD").arg("running_evaluations").arg(&eval_id))
        .await;

    let mut evaltop = Evaltop::start(&redis.url(), GRACE).await;
    let flag = evaltop
        .wait_flag(&eval_id, FlagKind::StaleRunning, OBSERVED_WITHIN)
        .await;
    assert_eq!(flag.severity(), Severity::Warning);
    let record = &evaltop.state.evals[eval_id.as_str()];
    assert!(record.docker.is_none(), "evaltop never saw the container");
}

/// (g) Malformed payloads on every channel are counted and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_payloads_are_counted_and_change_nothing() {
    let redis = RedisServer::start();
    let mut evaltop = Evaltop::start(&redis.url(), GRACE).await;
    let known = unique_eval_id();
    redis
        .publish(
            "evaluation:queued",
            json!({"eval_id": known, "code": "1", "language": "python"}).to_string(),
        )
        .await;
    evaltop
        .pump_until("the well-formed message", OBSERVED_WITHIN, |state| {
            state.evals.contains_key(known.as_str())
        })
        .await;
    let before = evaltop.state.evals[known.as_str()].redis.clone();
    // Other tests' containers on the same engine come and go; only records
    // that Docker knows nothing of can have come from a payload.
    let redis_only =
        |state: &evaltop::model::State| state.evals.values().filter(|r| r.docker.is_none()).count();
    let evals_before = redis_only(&evaltop.state);

    let channels = [
        "evaluation:submitted".to_string(),
        "evaluation:queued".to_string(),
        "evaluation:provisioning".to_string(),
        "evaluation:running".to_string(),
        "evaluation:completed".to_string(),
        "evaluation:failed".to_string(),
        "evaluation:cancelled".to_string(),
        format!("evaluation:{known}:logs"),
        "storage:evaluation:updated".to_string(),
    ];
    let mut expected = 0u64;
    for channel in &channels {
        let mut payloads = vec![
            "not json at all".to_string(),
            "\u{1b}]52;c;aGk=\u{7}".to_string(),
            "[1, 2, 3]".to_string(),
            json!({"eval_id": 17, "status": "failed"}).to_string(),
        ];
        // A field of the channel's own contract with an impossible type.
        payloads.push(if channel.ends_with(":logs") {
            json!({"eval_id": known, "sequence": {"n": 1}, "content": "x"}).to_string()
        } else if channel.starts_with("storage:") {
            json!({"eval_id": known, "status": ["completed"]}).to_string()
        } else {
            json!({"eval_id": known, "timeout": {"seconds": 3}, "exit_code": [1]}).to_string()
        });
        // On a logs channel the id comes from the channel, so a payload
        // without one is well-formed there.
        if !channel.ends_with(":logs") {
            payloads.push(json!({"status": "failed"}).to_string());
        }
        for payload in &payloads {
            redis.publish(channel, payload).await;
            expected += 1;
        }
    }
    evaltop
        .pump_until(
            &format!("{expected} rejections"),
            OBSERVED_WITHIN,
            |state| state.rejected.total >= expected,
        )
        .await;
    evaltop.pump_for(Duration::from_millis(300)).await;
    assert_eq!(evaltop.state.rejected.total, expected);
    for channel in &channels {
        assert!(
            evaltop.state.rejected.by_channel.contains_key(channel),
            "{channel}"
        );
    }
    let after = &evaltop.state.evals[known.as_str()].redis;
    assert_eq!(after.status, before.status);
    assert_eq!(after.timeout_secs, before.timeout_secs);
    assert_eq!(after.exit_code, before.exit_code);
    assert_eq!(
        redis_only(&evaltop.state),
        evals_before,
        "no record was made from a rejected payload"
    );
}
