//! Liveness against the real engine and a real redis-server: a source that
//! freezes (SIGSTOP: connections open, nothing answers) is shown as not
//! answering, its blind window opens at its last proof of life, nothing is
//! called lost for what it could not show meanwhile, and the flag is
//! decided once it is back and has read everything again. No timing is
//! asserted: every wait polls with a generous bound.

use std::time::Duration;

use evaltop::model::{ContainerState, Flag, FlagKind, State, Ts};
use serde_json::Value;

use crate::support::docker::{ContainerSpec, TestImage, docker, unique_eval_id, unique_executor};
use crate::support::evaltop::{Evaltop, flags_of};
use crate::support::platform::execute;
use crate::support::platform::stage;
use crate::support::redis::RedisServer;
use crate::support::socket_proxy::SocketProxy;
use crate::support::stream_proxy::StreamProxy;

const GRACE: Duration = Duration::from_secs(2);
/// How long a source stays frozen.
const FROZEN_FOR: Duration = Duration::from_secs(20);
/// A generous bound for anything evaltop must notice.
const WITHIN: Duration = Duration::from_secs(30);
/// Runs until the test kills it, while the source is away (exit 137).
const UNTIL_KILLED: &str = "echo Before error; sleep 600";

/// The fast failure, on the test's cue: killed through the engine's own
/// socket, whatever evaltop's way to it.
fn kill(container_id: &str) {
    let status = std::process::Command::new("docker")
        .args(["kill", container_id])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run docker kill");
    assert!(status.success(), "docker kill {container_id}: {status}");
}

fn has(state: &State, eval_id: &str, kind: FlagKind) -> bool {
    flags_of(state, eval_id).iter().any(|f| f.kind() == kind)
}

fn container_state(state: &State, eval_id: &str) -> Option<ContainerState> {
    state.evals.get(eval_id).and_then(|r| r.container_state())
}

/// The flags `check --json` reports for `eval_id`.
fn json_flags(report: &Value, eval_id: &str) -> Vec<Value> {
    report["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .filter(|e| e["eval_id"] == eval_id)
        .flat_map(|e| e["flags"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The source's latest blind window in `check --json` starts at its last
/// proven-live moment, which is before it froze; and the silence was
/// noticed at least a probe deadline after it.
fn assert_window_opens_at_last_proof(report: &Value, source: &str, frozen_at: Ts, noticed: Ts) {
    // The Docker side is one engine here: the first of `sources.docker[]`.
    let json = match source {
        "docker" => &report["sources"]["docker"][0],
        other => &report["sources"][other],
    };
    assert_eq!(json["not_answering"], true, "{json}");
    let start = json["blind"]
        .as_array()
        .and_then(|windows| windows.last())
        .and_then(|w| w["start"].as_str())
        .unwrap_or_else(|| panic!("no blind window: {json}"));
    assert_eq!(
        Some(start),
        json["last_live_at"].as_str(),
        "the window opens at the last proof of life: {json}"
    );
    let start = Ts::parse(start).expect("an RFC 3339 start");
    assert!(start <= frozen_at, "{json} (frozen at {frozen_at:?})");
    // The probe that went unanswered was sent after the last answered one
    // and waited its whole deadline (1.8 periods of 1 s).
    assert!(
        noticed.since(start) >= 1_800,
        "opened when noticed, not at the last proof: {json}"
    );
}

/// (1) Redis frozen while a fast failure dies: not answering, no
/// lost-completion while frozen (unknown instead, with the evidence), and
/// after the thaw a reconnect, a key read, and the lost completion.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_redis_is_not_answering_and_nothing_is_called_lost_meanwhile() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let mut evaltop = Evaltop::start_with(&redis.url(), None, Duration::from_secs(30), GRACE).await;
    let executor = unique_executor();
    let eval_id = unique_eval_id();
    let container = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&eval_id, &executor, UNTIL_KILLED),
    )
    .await;
    evaltop
        .pump_until("the container running, held by Redis", WITHIN, |s| {
            container_state(s, &eval_id) == Some(ContainerState::Running)
                && s.evals[eval_id.as_str()].redis.status.is_some()
        })
        .await;
    // A probe answered since, so that the last proof is fresh.
    let before = evaltop.state.redis.last_live_at;
    evaltop
        .pump_until("a probe answered", WITHIN, |s| {
            s.redis.last_live_at > before
        })
        .await;

    let frozen_at = Ts::now();
    redis.freeze();
    let never_lost = |s: &State| {
        assert!(
            !has(s, &eval_id, FlagKind::LostCompletion),
            "lost-completion while Redis was frozen: {:?}",
            flags_of(s, &eval_id)
        );
    };
    evaltop
        .pump_until_checking(
            "Redis not answering",
            WITHIN,
            |s| !s.redis.connected && s.redis.not_answering,
            never_lost,
        )
        .await;
    let noticed = Ts::now();
    let report = evaltop.report();
    assert_window_opens_at_last_proof(&report, "redis", frozen_at, noticed);

    // The container dies while Redis is frozen, and the grace runs out.
    kill(&container.id);
    evaltop
        .pump_until_checking(
            "the death seen and the grace passed: unknown",
            WITHIN,
            |s| has(s, &eval_id, FlagKind::Unknown),
            never_lost,
        )
        .await;
    let flags = evaltop.flags(&eval_id);
    let unknown = flags
        .iter()
        .find(|f| f.kind() == FlagKind::Unknown)
        .expect("found above");
    match unknown {
        Flag::Unknown { blind, suspected } => {
            assert_eq!(blind.source, evaltop::model::Source::Redis);
            assert_eq!(suspected.kind(), FlagKind::LostCompletion);
            assert!(
                suspected.reason().contains("exited 137"),
                "{}",
                suspected.reason()
            );
        }
        other => panic!("not unknown: {other:?}"),
    }
    assert!(
        unknown.label().starts_with("unknown: redis blind since "),
        "{}",
        unknown.label()
    );
    let json = json_flags(&evaltop.report(), &eval_id);
    assert!(
        json.iter().any(|f| f["kind"] == "unknown"
            && f["suspected"] == "lost-completion"
            && f["blind"]["source"] == "redis"
            && f["blind"]["until"].is_null()),
        "{json:?}"
    );

    let rest = FROZEN_FOR.saturating_sub(Duration::from_millis(
        u64::try_from(Ts::now().since(frozen_at)).unwrap_or(0),
    ));
    evaltop.pump_checking(rest, never_lost).await;
    redis.thaw();

    // Back: reconnected, the keys read again (they still hold it running),
    // and so the completion is known to be lost.
    evaltop
        .pump_until("Redis synced again", WITHIN, |s| s.redis.synced())
        .await;
    let flag = evaltop
        .wait_flag(&eval_id, FlagKind::LostCompletion, WITHIN)
        .await;
    assert!(
        flag.reason().contains("still holds it as running"),
        "{}",
        flag.reason()
    );
    assert!(!has(&evaltop.state, &eval_id, FlagKind::Unknown));
    let report = evaltop.report();
    let window = report["sources"]["redis"]["blind"]
        .as_array()
        .and_then(|w| w.last().cloned())
        .expect("the window is kept");
    assert!(
        window["end"].is_string(),
        "closed at the reconnect: {window}"
    );
}

/// (2) The Docker engine behind a proxy that freezes: not answering, its
/// window opens at the last answered ping, and after the thaw the missed
/// death is caught up and the completion called lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_docker_proxy_is_not_answering_and_the_death_is_caught_up() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let proxy = SocketProxy::start();
    let mut evaltop = Evaltop::start_with(
        &redis.url(),
        Some(proxy.address()),
        Duration::from_secs(30),
        GRACE,
    )
    .await;
    let executor = unique_executor();
    let eval_id = unique_eval_id();
    let container = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&eval_id, &executor, UNTIL_KILLED),
    )
    .await;
    evaltop
        .pump_until("the container running", WITHIN, |s| {
            container_state(s, &eval_id) == Some(ContainerState::Running)
        })
        .await;
    let before = evaltop.state.engines[0].1.last_live_at;
    evaltop
        .pump_until("a ping answered", WITHIN, |s| {
            s.engines[0].1.last_live_at > before
        })
        .await;

    let frozen_at = Ts::now();
    proxy.freeze();
    let never_lost = |s: &State| {
        assert!(
            !has(s, &eval_id, FlagKind::LostCompletion),
            "lost-completion while Docker was frozen: {:?}",
            flags_of(s, &eval_id)
        );
    };
    evaltop
        .pump_until_checking(
            "Docker not answering",
            WITHIN,
            |s| !s.engines[0].1.connected && s.engines[0].1.not_answering,
            never_lost,
        )
        .await;
    let noticed = Ts::now();
    assert_window_opens_at_last_proof(&evaltop.report(), "docker", frozen_at, noticed);

    // It dies behind the frozen proxy: the engine knows, evaltop cannot.
    kill(&container.id);
    assert_eq!(container.wait_exit(&docker).await, 137);
    let rest = FROZEN_FOR.saturating_sub(Duration::from_millis(
        u64::try_from(Ts::now().since(frozen_at)).unwrap_or(0),
    ));
    evaltop.pump_checking(rest, never_lost).await;
    assert_eq!(
        container_state(&evaltop.state, &eval_id),
        Some(ContainerState::Running),
        "nothing got through the frozen proxy"
    );
    proxy.thaw();

    evaltop
        .pump_until("Docker synced again", WITHIN, |s| s.engines_synced())
        .await;
    // The list after the thaw shows the container exited before the die
    // event replayed from the checkpoint brings its exit code: for those
    // milliseconds the flag says only "ended".
    evaltop
        .pump_until("the lost completion with its exit code", WITHIN, |s| {
            flags_of(s, &eval_id)
                .iter()
                .any(|f| f.kind() == FlagKind::LostCompletion && f.reason().contains("exited 137"))
        })
        .await;
    let flag = evaltop
        .wait_flag(&eval_id, FlagKind::LostCompletion, WITHIN)
        .await;
    assert!(flag.reason().contains("exited 137"), "{}", flag.reason());
    let report = evaltop.report();
    assert_eq!(report["sources"]["docker"][0]["not_answering"], false);
}

/// (3) Redis restarts and loses every key: while it is away and while its
/// keys are read again, no evaluation is called lost from the missing keys
/// alone; what is known is said once the read is done.
#[tokio::test(flavor = "multi_thread")]
async fn a_redis_restart_that_loses_every_key_calls_nothing_lost_from_the_gap() {
    let mut redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let resync = Duration::from_secs(1);
    let mut evaltop = Evaltop::start_with(&redis.url(), None, resync, GRACE).await;
    let executor = unique_executor();
    let running_id = unique_eval_id();
    let _running = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&running_id, &executor, "sleep 120"),
    )
    .await;
    let dying_id = unique_eval_id();
    let dying = stage(
        &redis,
        &docker,
        &image,
        &ContainerSpec::new(&dying_id, &executor, UNTIL_KILLED),
    )
    .await;
    evaltop
        .pump_until("both running, held by the keys", WITHIN, |s| {
            [&running_id, &dying_id].iter().all(|id| {
                s.evals.get(id.as_str()).is_some_and(|r| {
                    r.container_state() == Some(ContainerState::Running)
                        && r.redis.in_running_set
                        && r.redis.running_key.is_some()
                })
            })
        })
        .await;

    redis.stop();
    kill(&dying.id);
    let never_lost = |s: &State| {
        for id in [&running_id, &dying_id] {
            assert!(
                !has(s, id, FlagKind::LostCompletion) && !has(s, id, FlagKind::StaleRunning),
                "{id} called lost or stale from missing keys: {:?}",
                flags_of(s, id)
            );
        }
    };
    evaltop
        .pump_until_checking(
            "the death seen while Redis is away, past its grace",
            WITHIN,
            |s| !s.redis.connected && has(s, &dying_id, FlagKind::Unknown),
            never_lost,
        )
        .await;

    // Back, empty: every key is gone.
    redis.restart();
    evaltop
        .pump_until_checking("Redis re-read", WITHIN, |s| s.redis.synced(), never_lost)
        .await;
    evaltop.pump_checking(resync * 3, never_lost).await;
    let record = &evaltop.state.evals[dying_id.as_str()];
    assert!(!record.redis.in_running_set && record.redis.running_key.is_none());
    // Decided: the keys say nothing any more, and the end fell outside what
    // evaltop watched, so only the leftover container is certain.
    let flags = evaltop.flags(&dying_id);
    assert!(
        matches!(
            flags.as_slice(),
            [Flag::Orphan {
                kind: evaltop::model::health::OrphanKind::ExitedUnaccounted,
                ..
            }]
        ),
        "{flags:?}"
    );
    assert_eq!(
        evaltop.flags(&running_id),
        [],
        "still running, nothing owed"
    );
}

/// A Docker event stream that stops delivering while the engine still
/// answers: the next lists show a death the stream never reported, which
/// is counted, and the stream is started again and catches up.
#[tokio::test(flavor = "multi_thread")]
async fn a_half_dead_event_stream_is_caught_by_the_list_and_started_again() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let proxy = StreamProxy::start().await;
    let resync = Duration::from_secs(1);
    let mut evaltop = Evaltop::start_with(&redis.url(), Some(proxy.address()), resync, GRACE).await;
    // A list after the stream began, so that the check has its baseline.
    let synced_at = evaltop.state.engines[0].1.last_sync_at;
    evaltop
        .pump_until("a relist", WITHIN, |s| {
            s.engines[0].1.last_sync_at > synced_at
        })
        .await;

    let stalled_at = Ts::now();
    assert_eq!(proxy.swallow_open_streams(), 1, "one event stream open");
    let executor = unique_executor();
    let container = execute(&docker, &image, &executor, "echo hi; exit 3").await;
    let eval_id = container.eval_id.clone();
    assert_eq!(container.wait_exit(&docker).await, 3);

    evaltop
        .pump_until("the missed change counted", WITHIN, |s| {
            s.engines[0].1.missed_changes >= 1
        })
        .await;
    evaltop
        .pump_until("reconnected and listed again", WITHIN, |s| {
            s.engines_synced()
        })
        .await;
    let window = evaltop.state.engines[0]
        .1
        .blind_windows
        .last()
        .cloned()
        .expect("the restart is a blind window");
    assert!(
        window.start <= stalled_at,
        "opens at the last list that agreed with the stream: {window:?}"
    );
    assert!(window.reason.contains("event stream missed"), "{window:?}");
    // The new stream starts from the last event seen, so the die it missed
    // comes after all.
    evaltop
        .pump_until("the missed die replayed", WITHIN, |s| {
            s.evals.get(eval_id.as_str()).is_some_and(|r| {
                r.timeline.iter().any(|e| {
                    matches!(
                        e.what,
                        evaltop::model::Happening::Container {
                            action: evaltop::model::ContainerAction::Die,
                            ..
                        }
                    )
                })
            })
        })
        .await;
    let report = evaltop.report();
    assert!(
        report["sources"]["docker"][0]["missed_changes"].as_u64() >= Some(1),
        "{}",
        report["sources"]["docker"]
    );
}
