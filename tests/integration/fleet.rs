//! A fleet of two real Docker engines (the machine's, and a second dockerd
//! started by the tests) and one redis-server: each engine is a source of
//! its own, its containers keyed by (engine, container id), its outage its
//! own, and actions go to the engine that holds the container.

use std::time::Duration;

use evaltop::actions::{Effect, Target};
use evaltop::effects::EffectRunner;
use evaltop::model::{EngineName, FlagKind};
use tokio::time::Instant;

use crate::check_cli::check_json;
use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, unique_eval_id, unique_executor,
};
use crate::support::effects::{TempDir, config, is_running, local_engine, mark_running};
use crate::support::evaltop::{Evaltop, flags_of};
use crate::support::redis::RedisServer;
use crate::support::second_engine::lease;

const GRACE: Duration = Duration::from_secs(2);
const FLAG_WITHIN: Duration = Duration::from_secs(30);

fn kinds(evaltop: &Evaltop, id: &str) -> Vec<FlagKind> {
    evaltop.flags(id).iter().map(|f| f.kind()).collect()
}

/// A lost completion on engine b and an overrun on engine a, one Redis:
/// both flagged, each at its host, live and in a fresh `check --json`.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_completion_on_one_engine_and_an_overrun_on_another_are_both_flagged_at_their_host()
{
    let lease = lease().await;
    let b = lease.engine;
    let redis = RedisServer::start();
    let (a_docker, b_docker) = (docker().await, b.docker().await);
    let a_image = TestImage::import(&a_docker).await;
    let b_image = TestImage::import_on(&b_docker, Some(&b.url())).await;
    let executor = unique_executor();

    let over = ContainerSpec::new(&unique_eval_id(), &executor, "sleep 120").timeout("1");
    let overdue = TestContainer::start(&a_docker, &a_image, &over).await;
    let lost_id = unique_eval_id();
    mark_running(&redis, &lost_id).await;
    let lost = TestContainer::start(
        &b_docker,
        &b_image,
        &ContainerSpec::new(&lost_id, &executor, "exit 1"),
    )
    .await;
    assert_eq!(lost.wait_exit(&b_docker).await, 1);

    let b_url = b.url();
    let engines = [("exec-a", None), ("exec-b", Some(b_url.as_str()))];
    let mut evaltop = Evaltop::start_fleet(&redis.url(), GRACE, &engines, &[&executor]).await;
    evaltop
        .wait_flag(&lost_id, FlagKind::LostCompletion, FLAG_WITHIN)
        .await;
    evaltop
        .wait_flag(&overdue.eval_id, FlagKind::Overdue, FLAG_WITHIN)
        .await;
    let engine_of = |id: &str| evaltop.state.evals[id].engine().cloned();
    assert_eq!(engine_of(&lost_id), Some(EngineName::new("exec-b")));
    assert_eq!(engine_of(&overdue.eval_id), Some(EngineName::new("exec-a")));

    // Crash-only: a fresh check over both engines reaches the same flags.
    let a_flag = format!("exec-a={}", local_engine().url);
    let b_flag = format!("exec-b={b_url}");
    let run = check_json(
        &redis.url(),
        &[
            "--executor",
            &executor,
            "--grace",
            "2s",
            "--docker",
            &a_flag,
            "--docker",
            &b_flag,
        ],
    )
    .await;
    assert_eq!(run.code, 1, "flagged: {}", run.stderr);
    let engines = run.json["sources"]["docker"]
        .as_array()
        .expect("sources.docker[]");
    let names: Vec<&str> = engines
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exec-a", "exec-b"]);
    assert!(
        engines
            .iter()
            .all(|e| e["connected"] == true && e["synced"] == true)
    );
    assert_eq!(engines[1]["url"], b_url.as_str());
    let host = |id: &str| {
        run.json["evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["eval_id"] == id)
            .map(|e| e["docker_host"].clone())
    };
    assert_eq!(host(&lost_id), Some("exec-b".into()));
    assert_eq!(host(&overdue.eval_id), Some("exec-a".into()));
    assert_eq!(run.flag_kinds(&lost_id), ["lost-completion"]);
    assert!(
        run.flag_kinds(&overdue.eval_id)
            .contains(&"overdue".to_string())
    );
}

/// Engine b's dockerd killed for 20 s while engine a's container dies: a's
/// evaluation is judged throughout, b's is unknown (never lost); when b is
/// back it lists, and b's flags follow what b says; the blind window is b's.
#[tokio::test(flavor = "multi_thread")]
async fn an_engine_down_leaves_its_evaluations_unknown_and_the_other_engine_judged() {
    let lease = lease().await;
    let b = lease.engine;
    let redis = RedisServer::start();
    let (a_docker, b_docker) = (docker().await, b.docker().await);
    let a_image = TestImage::import(&a_docker).await;
    let b_image = TestImage::import_on(&b_docker, Some(&b.url())).await;
    let executor = unique_executor();
    let (a_id, b_id) = (unique_eval_id(), unique_eval_id());
    mark_running(&redis, &a_id).await;
    mark_running(&redis, &b_id).await;
    let a_run = TestContainer::start(
        &a_docker,
        &a_image,
        &ContainerSpec::new(&a_id, &executor, "sleep 4; exit 1"),
    )
    .await;
    let _b_run = TestContainer::start(
        &b_docker,
        &b_image,
        &ContainerSpec::new(&b_id, &executor, "sleep 300"),
    )
    .await;

    let b_url = b.url();
    let engines = [("exec-a", None), ("exec-b", Some(b_url.as_str()))];
    let mut evaltop = Evaltop::start_fleet(&redis.url(), GRACE, &engines, &[&executor]).await;
    assert!(kinds(&evaltop, &a_id).is_empty() && kinds(&evaltop, &b_id).is_empty());

    b.kill();
    let (a_name, b_name) = (EngineName::new("exec-a"), EngineName::new("exec-b"));
    evaltop
        .pump_until("engine b seen down", FLAG_WITHIN, |s| {
            s.engine(&b_name).is_some_and(|h| !h.connected)
        })
        .await;
    let down_until = Instant::now() + Duration::from_secs(20);
    let mut a_lost_seen = false;
    while Instant::now() < down_until {
        evaltop.pump_for(Duration::from_millis(250)).await;
        let (a_flags, b_flags) = (kinds(&evaltop, &a_id), kinds(&evaltop, &b_id));
        assert_eq!(b_flags, [FlagKind::HostUnknown], "b while down");
        assert!(
            !a_flags.contains(&FlagKind::HostUnknown),
            "a is watched: {a_flags:?}"
        );
        a_lost_seen |= a_flags == [FlagKind::LostCompletion];
    }
    assert!(
        a_lost_seen,
        "a's death was judged while b was down: {:?}",
        kinds(&evaltop, &a_id)
    );
    assert_eq!(a_run.wait_exit(&a_docker).await, 1);
    assert!(
        evaltop
            .state
            .engine(&a_name)
            .unwrap()
            .blind_windows
            .is_empty()
    );
    let b_windows = &evaltop.state.engine(&b_name).unwrap().blind_windows;
    assert_eq!(b_windows.len(), 1);
    assert!(b_windows[0].end.is_none(), "still blind");

    b.start();
    evaltop
        .pump_until("engine b listed again", FLAG_WITHIN, |s| {
            s.engine(&b_name).is_some_and(|h| h.synced())
        })
        .await;
    // What b says now decides b's flag: a dockerd that restarts without
    // live-restore ends the containers it had.
    let b_docker = b.docker().await;
    let b_container = evaltop.state.evals[b_id.as_str()]
        .container_id()
        .unwrap()
        .to_string();
    if is_running(&b_docker, &b_container).await {
        evaltop.pump_for(GRACE).await;
        assert!(
            kinds(&evaltop, &b_id).is_empty(),
            "{:?}",
            kinds(&evaltop, &b_id)
        );
    } else {
        evaltop
            .wait_flag(&b_id, FlagKind::LostCompletion, FLAG_WITHIN)
            .await;
    }
    assert!(!kinds(&evaltop, &b_id).contains(&FlagKind::HostUnknown));
    assert!(
        evaltop.state.engine(&b_name).unwrap().blind_windows[0]
            .end
            .is_some()
    );
    assert_eq!(kinds(&evaltop, &a_id), [FlagKind::LostCompletion]);
    assert!(
        flags_of(&evaltop.state, &a_id)
            .iter()
            .all(|f| f.kind() != FlagKind::HostUnknown)
    );
}

/// A kill of a container on engine b goes to b and is audited with b's
/// name; the same request named for b never touches a's container.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_goes_to_the_engine_that_holds_the_container() {
    let lease = lease().await;
    let b = lease.engine;
    let redis = RedisServer::start();
    let (a_docker, b_docker) = (docker().await, b.docker().await);
    let a_image = TestImage::import(&a_docker).await;
    let b_image = TestImage::import_on(&b_docker, Some(&b.url())).await;
    let executor = unique_executor();
    let on_a = TestContainer::start(
        &a_docker,
        &a_image,
        &ContainerSpec::new(&unique_eval_id(), &executor, "sleep 300"),
    )
    .await;
    let on_b = TestContainer::start(
        &b_docker,
        &b_image,
        &ContainerSpec::new(&unique_eval_id(), &executor, "sleep 300"),
    )
    .await;

    let dir = TempDir::new();
    let mut effects = config(&redis, &dir);
    let mut a = local_engine();
    a.name = EngineName::new("exec-a");
    effects.engines = vec![
        a,
        evaltop::engines::parse_spec(&format!("exec-b={}", b.url()), "--docker").unwrap(),
    ];
    let runner = EffectRunner::new(effects).unwrap();
    let kill = |container: &TestContainer| Effect::Kill {
        target: Target::new(&container.eval_id)
            .with_container(&container.id)
            .with_engine("exec-b"),
        signal: "SIGKILL".into(),
    };
    let outcome = runner.run(kill(&on_b)).await;
    assert!(outcome.ok, "{}", outcome.summary);
    assert!(!is_running(&b_docker, &on_b.id).await, "killed on b");
    assert!(is_running(&a_docker, &on_a.id).await);

    // a's container id, but named for b: b has no such container.
    let misrouted = runner.run(kill(&on_a)).await;
    assert!(
        is_running(&a_docker, &on_a.id).await,
        "{}",
        misrouted.summary
    );

    let audit = std::fs::read_to_string(dir.audit_file()).expect("audit written");
    let entries: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit JSON"))
        .collect();
    let for_b: Vec<_> = entries
        .iter()
        .filter(|e| e["container_ids"][0] == on_b.id.as_str())
        .collect();
    assert_eq!(for_b.len(), 2, "attempt and outcome: {audit}");
    assert!(
        for_b
            .iter()
            .all(|e| e["engines"] == serde_json::json!(["exec-b"])),
        "{audit}"
    );
}

/// An executor whose evaluation runs on while it publishes nothing is
/// `executor-stalled`; one that keeps completing is not.
#[tokio::test(flavor = "multi_thread")]
async fn an_executor_that_stops_completing_is_stalled_and_a_busy_one_is_not() {
    let lease = lease().await;
    let b = lease.engine;
    let redis = RedisServer::start();
    let (a_docker, b_docker) = (docker().await, b.docker().await);
    let a_image = TestImage::import(&a_docker).await;
    let b_image = TestImage::import_on(&b_docker, Some(&b.url())).await;
    let (stuck, busy) = (unique_executor(), unique_executor());
    let stuck_id = unique_eval_id();
    mark_running(&redis, &stuck_id).await;
    let _stuck = TestContainer::start(
        &b_docker,
        &b_image,
        &ContainerSpec::new(&stuck_id, &stuck, "sleep 300").timeout("2"),
    )
    .await;
    let _busy = TestContainer::start(
        &a_docker,
        &a_image,
        &ContainerSpec::new(&unique_eval_id(), &busy, "sleep 300").timeout("2"),
    )
    .await;

    let b_url = b.url();
    let engines = [("exec-a", None), ("exec-b", Some(b_url.as_str()))];
    let mut evaltop = Evaltop::start_fleet(&redis.url(), GRACE, &engines, &[&stuck, &busy]).await;
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        // The busy executor completes an evaluation a second, each run 0.5 s.
        let id = unique_eval_id();
        let payload = serde_json::json!({"eval_id": id, "executor_id": busy, "status": "running"});
        redis
            .publish("evaluation:running", payload.to_string())
            .await;
        evaltop.pump_for(Duration::from_millis(500)).await;
        let payload = serde_json::json!({"eval_id": id, "executor_id": busy, "status": "completed", "output": "ok"});
        redis
            .publish("evaluation:completed", payload.to_string())
            .await;
        evaltop.pump_for(Duration::from_millis(500)).await;
    }
    let fleet = evaltop::model::fleet::fleet(&evaltop.state, evaltop::model::Ts::now());
    let row = |name: &str| {
        fleet
            .executors
            .iter()
            .find(|r| r.name == name)
            .expect(name)
            .clone()
    };
    let stalled = row(&stuck).stalled.expect("the stuck executor is stalled");
    assert_eq!(stalled.running, 1);
    assert_eq!(stalled.last_completion, None);
    assert!(stalled.reason(&stuck).contains("stopped completing"));
    let busy_row = row(&busy);
    assert!(busy_row.stalled.is_none(), "{busy_row:?}");
    assert!(busy_row.done_5m >= 5, "{busy_row:?}");
    assert_eq!(busy_row.running, 1);
}
