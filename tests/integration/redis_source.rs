//! The Redis source against a real redis-server: decoded messages, the key
//! snapshot, rejections, the periodic resync, reconnects after a restart or
//! a dropped subscriber, an unreachable server, and stopping with the sink.

use std::time::Duration;

use evaltop::model::{Observation, ReadProgress, Source, Status};
use evaltop::names::Names;
use evaltop::sources::redis::{read_keys, read_keys_reporting};

use crate::support::redis::{
    RedisServer, Watch, closed_port, down_reason, eval_id, is_down, is_keys, is_unanswered, is_up,
};

/// A resync long enough that no test sees one: a snapshot then proves a
/// (re)connect read.
const NEVER: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread")]
async fn messages_on_the_platform_channels_arrive_decoded() {
    let server = RedisServer::start();
    let mut watch = Watch::start(server.url(), NEVER);
    match watch.expect("SourceUp", is_up).await {
        Observation::SourceUp { detail, .. } => {
            assert!(detail.starts_with("redis "), "{detail}");
            assert!(
                detail.chars().any(|c| c.is_ascii_digit()),
                "no version in {detail:?}"
            );
        }
        _ => unreachable!(),
    }
    watch.expect("a key snapshot", is_keys).await;
    let id = eval_id("msg");

    // Outside the contract: ignored, neither decoded nor rejected, so the
    // next observation is the status message published after it.
    server.publish("evaluation:stats", "not json either").await;
    let running = format!(
        r#"{{"eval_id":"{id}","executor_id":"executor-2","container_id":"abc123def456","timeout":"30"}}"#
    );
    assert!(server.publish("evaluation:running", &running).await >= 1);
    match watch.next().await {
        Observation::RedisStatus {
            channel_status,
            message,
        } => {
            assert_eq!(channel_status, Status::Running);
            assert_eq!(message.eval_id, id);
            assert_eq!(message.executor_id.as_deref(), Some("executor-2"));
            assert_eq!(message.container_id.as_deref(), Some("abc123def456"));
            assert_eq!(message.timeout_secs, Some(30));
        }
        other => panic!("expected the running status, got {other:?}"),
    }

    let log = format!(
        r#"{{"eval_id":"{id}","sequence":3,"content":"\u001b[31mBefore error\r\n","executor_id":"executor-2","is_final":true}}"#
    );
    server.publish(&format!("evaluation:{id}:logs"), &log).await;
    match watch.next().await {
        Observation::RedisLog(message) => {
            assert_eq!(message.eval_id, id);
            assert_eq!(message.sequence, Some(3));
            assert_eq!(message.content, "Before error\n");
            assert!(message.is_final && !message.is_heartbeat);
        }
        other => panic!("expected the log message, got {other:?}"),
    }

    let completed = format!(
        r#"{{"eval_id":"{id}","status":"failed","output":"","error":"ZeroDivisionError","exit_code":1,"completed_at":"2025-07-06T00:55:16.182Z"}}"#
    );
    server.publish("evaluation:completed", &completed).await;
    match watch.next().await {
        Observation::RedisStatus {
            channel_status,
            message,
        } => {
            assert_eq!(channel_status, Status::Completed);
            assert_eq!(message.status, Some(Status::Failed));
            assert_eq!(message.exit_code, Some(1));
            assert_eq!(message.output_len, Some(0));
            assert_eq!(message.error_excerpt.as_deref(), Some("ZeroDivisionError"));
        }
        other => panic!("expected the completion, got {other:?}"),
    }

    let storage =
        format!(r#"{{"eval_id":"{id}","timestamp":"2025-07-06T00:55:17Z","status":"failed"}}"#);
    server.publish("storage:evaluation:updated", &storage).await;
    match watch.next().await {
        Observation::RedisStorage(message) => {
            assert_eq!(message.eval_id, id);
            assert_eq!(message.kind, "updated");
            assert_eq!(message.status, Some(Status::Failed));
        }
        other => panic!("expected the storage confirmation, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_snapshot_holds_every_watched_key() {
    let server = RedisServer::start();
    let (running, unlimited, queued) = (eval_id("run"), eval_id("nottl"), eval_id("queued"));
    server
        .cmd::<()>(
            redis::cmd("SADD")
                .arg("running_evaluations")
                .arg(&running)
                .arg(&unlimited),
        )
        .await;
    let value = r#"{"executor_id":"executor-1","container_id":"0123456789ab","started_at":"2025-07-06T00:55:16.182349+00:00","timeout":"30"}"#;
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("eval:{running}:running"))
                .arg(value)
                .arg("EX")
                .arg(90),
        )
        .await;
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("eval:{unlimited}:running"))
                .arg(r#"{"timeout":45}"#),
        )
        .await;
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("pending:{queued}"))
                .arg("queued"),
        )
        .await;
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("logs:{running}:latest"))
                .arg("Before error\r\n")
                .arg("EX")
                .arg(300),
        )
        .await;
    // Not ours: other key shapes must not leak into the snapshot.
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg("executor:busy:http://executor-1:8000")
                .arg(&running),
        )
        .await;

    let mut watch = Watch::start(server.url(), NEVER);
    let snapshot = watch.synced().await;

    let mut set = snapshot.running_set.clone();
    set.sort();
    let mut expected_set = vec![running.clone(), unlimited.clone()];
    expected_set.sort();
    assert_eq!(set, expected_set);

    assert_eq!(
        snapshot.running_keys.len(),
        2,
        "{:#?}",
        snapshot.running_keys
    );
    let key = snapshot
        .running_keys
        .iter()
        .find(|k| k.eval_id == running)
        .expect("running key");
    assert!(key.value_ok);
    assert_eq!(key.executor_id.as_deref(), Some("executor-1"));
    assert_eq!(key.container_id.as_deref(), Some("0123456789ab"));
    assert_eq!(key.started_at.map(|t| t.millis()), Some(1_751_763_316_182));
    assert_eq!(key.timeout_secs, Some(30));
    let ttl = key.ttl_ms.expect("a TTL");
    assert!(ttl > 0 && ttl <= 90_000, "{ttl}");
    let key = snapshot
        .running_keys
        .iter()
        .find(|k| k.eval_id == unlimited)
        .expect("key");
    assert_eq!(
        (key.timeout_secs, key.ttl_ms, key.value_ok),
        (Some(45), None, true)
    );

    assert_eq!(
        snapshot.pending,
        vec![(queued.clone(), "queued".to_string())]
    );

    assert_eq!(snapshot.latest_logs.len(), 1);
    let latest = &snapshot.latest_logs[0];
    assert_eq!(latest.eval_id, running);
    assert_eq!(latest.bytes, "Before error\r\n".len());
    let ttl = latest.ttl_ms.expect("a TTL");
    assert!(ttl > 0 && ttl <= 300_000, "{ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn many_keys_are_read_in_batches_each_once() {
    let server = RedisServer::start();
    let mut conn = server.connection().await;
    let count = 3_500;
    let mut pipe = redis::pipe();
    for n in 0..count {
        pipe.cmd("SET")
            .arg(format!("eval:eval_bulk_{n:05}:running"))
            .arg(format!(r#"{{"timeout":{n}}}"#))
            .arg("EX")
            .arg(600)
            .ignore();
        pipe.cmd("SET")
            .arg(format!("logs:eval_bulk_{n:05}:latest"))
            .arg("x")
            .ignore();
    }
    pipe.query_async::<()>(&mut conn).await.expect("load keys");

    let (snapshot, rejections) = read_keys(&mut conn, &Names::default())
        .await
        .expect("read keys");
    assert!(rejections.is_empty(), "{rejections:#?}");
    assert_eq!(snapshot.running_keys.len(), count);
    assert_eq!(snapshot.latest_logs.len(), count);
    for (n, key) in snapshot.running_keys.iter().enumerate() {
        // Sorted by id, each once, each with its own value.
        assert_eq!(key.eval_id, format!("eval_bulk_{n:05}"));
        assert_eq!(key.timeout_secs, Some(n as u32));
        assert!(key.ttl_ms.is_some_and(|ttl| ttl > 0));
    }
}

/// Loads `running` running keys (the first half of them in the running
/// set), `pending` pending keys and `latest` latest-log keys.
async fn load_keys(server: &RedisServer, running: usize, pending: usize, latest: usize) {
    let mut conn = server.connection().await;
    let mut pipe = redis::pipe();
    for n in 0..running {
        let id = format!("eval_boot_{n:05}");
        pipe.cmd("SET")
            .arg(format!("eval:{id}:running"))
            .arg(r#"{"timeout":30}"#)
            .ignore();
        if n < running / 2 {
            pipe.cmd("SADD")
                .arg("running_evaluations")
                .arg(&id)
                .ignore();
        }
    }
    for n in 0..pending {
        pipe.cmd("SET")
            .arg(format!("pending:eval_wait_{n:05}"))
            .arg("queued")
            .ignore();
    }
    for n in 0..latest {
        pipe.cmd("SET")
            .arg(format!("logs:eval_boot_{n:05}:latest"))
            .arg("x")
            .ignore();
    }
    pipe.query_async::<()>(&mut conn).await.expect("load keys");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_reports_real_counts_as_it_goes() {
    let server = RedisServer::start();
    load_keys(&server, 6_000, 3_000, 3_000).await;
    let total = 12_000;
    let reports = std::sync::Mutex::new(Vec::new());
    let report = |progress| reports.lock().unwrap().push(progress);
    let (snapshot, rejections) =
        read_keys_reporting(&server.connection().await, &Names::default(), &report)
            .await
            .expect("read keys");
    assert!(rejections.is_empty(), "{rejections:#?}");
    assert_eq!(snapshot.running_set.len(), 3_000);
    assert_eq!(snapshot.running_keys.len(), 6_000);
    assert_eq!(snapshot.pending.len(), 3_000);
    assert_eq!(snapshot.latest_logs.len(), 3_000);

    let reports = reports.into_inner().unwrap();
    let scanned: Vec<u64> = reports
        .iter()
        .filter_map(|p| match p {
            ReadProgress::Scanning { found } => Some(*found),
            _ => None,
        })
        .collect();
    let read: Vec<(u64, u64)> = reports
        .iter()
        .filter_map(|p| match p {
            ReadProgress::Reading { read, total } => Some((*read, *total)),
            _ => None,
        })
        .collect();
    // Scanning first, then reading: each count only grows, and each ends
    // at the number of keys there are.
    let first_read = reports
        .iter()
        .position(|p| matches!(p, ReadProgress::Reading { .. }))
        .expect("reading reports");
    assert!(
        reports[..first_read]
            .iter()
            .all(|p| matches!(p, ReadProgress::Scanning { .. })),
        "{reports:?}"
    );
    assert!(scanned.windows(2).all(|w| w[0] < w[1]), "{scanned:?}");
    assert_eq!(scanned.last(), Some(&total), "{scanned:?}");
    assert!(read.windows(2).all(|w| w[0].0 < w[1].0), "{read:?}");
    assert!(read.iter().all(|(_, of)| *of == total), "{read:?}");
    assert_eq!(read.first(), Some(&(0, total)));
    assert_eq!(read.last(), Some(&(total, total)));
    // One report per pipeline of a thousand keys, at least: the header
    // moves while the keys are read, not only at the end.
    assert!(read.len() > 12, "{read:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_read_after_connecting_shows_its_progress() {
    let server = RedisServer::start();
    load_keys(&server, 3_000, 0, 0).await;
    let mut watch = Watch::start(server.url(), NEVER);
    watch.expect("SourceUp", is_up).await;
    let mut seen = Vec::new();
    let snapshot = loop {
        match watch.next().await {
            Observation::SourceProgress {
                source: Source::Redis,
                progress,
            } => seen.push(progress),
            Observation::RedisKeys(snapshot) => break snapshot,
            _ => {}
        }
    };
    assert_eq!(snapshot.running_keys.len(), 3_000);
    // The last word before the snapshot is the whole count, read.
    assert_eq!(
        seen.last(),
        Some(&ReadProgress::Reading {
            read: 3_000,
            total: 3_000
        }),
        "{seen:?}"
    );
    assert!(
        seen.contains(&ReadProgress::Reading {
            read: 0,
            total: 3_000
        }),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_payloads_and_values_are_rejected_with_a_reason() {
    let server = RedisServer::start();
    let bad = eval_id("bad");
    let hash = eval_id("hash");
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("eval:{bad}:running"))
                .arg("running on executor-1"),
        )
        .await;
    server
        .cmd::<()>(
            redis::cmd("HSET")
                .arg(format!("eval:{hash}:running"))
                .arg("timeout")
                .arg("30"),
        )
        .await;

    let mut watch = Watch::start(server.url(), NEVER);
    let snapshot = watch.synced().await;
    for id in [&bad, &hash] {
        let key = snapshot
            .running_keys
            .iter()
            .find(|k| &k.eval_id == id)
            .expect("kept");
        assert!(!key.value_ok, "{key:?}");
    }
    let mut key_rejections = Vec::new();
    for _ in 0..2 {
        match watch.next().await {
            Observation::Rejected(rejection) => key_rejections.push(rejection),
            other => panic!("expected a key rejection, got {other:?}"),
        }
    }
    key_rejections.sort_by(|a, b| a.channel.cmp(&b.channel));
    let mut expected = [
        (format!("key eval:{bad}:running"), "not JSON"),
        (format!("key eval:{hash}:running"), "WRONGTYPE"),
    ];
    expected.sort();
    for (rejection, (channel, reason)) in key_rejections.iter().zip(expected) {
        assert_eq!(rejection.source, Source::Redis);
        assert_eq!(rejection.channel, channel);
        assert!(rejection.reason.contains(reason), "{rejection:?}");
    }

    let id = eval_id("x");
    let logs = format!("evaluation:{id}:logs");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "evaluation:completed",
            b"Traceback (most recent call last)".to_vec(),
            "not JSON",
        ),
        ("evaluation:failed", b"\xff\x00\x1b[2J".to_vec(), "not JSON"),
        (
            "evaluation:queued",
            br#"["eval_1"]"#.to_vec(),
            "not an object",
        ),
        (
            "evaluation:running",
            br#"{"executor_id":"executor-1"}"#.to_vec(),
            "eval_id",
        ),
        (
            "evaluation:cancelled",
            br#"{"eval_id":42}"#.to_vec(),
            "eval_id",
        ),
        (
            "evaluation:completed",
            format!(r#"{{"eval_id":"{id}","exit_code":"boom"}}"#).into_bytes(),
            "exit_code",
        ),
        (
            "evaluation:submitted",
            format!(r#"{{"eval_id":"{id}","metadata":"x"}}"#).into_bytes(),
            "metadata",
        ),
        (
            &logs,
            format!(r#"{{"eval_id":"{id}","sequence":[1]}}"#).into_bytes(),
            "sequence",
        ),
        (&logs, b"{".to_vec(), "not JSON"),
        (
            "storage:evaluation:updated",
            br#"{"status":"failed"}"#.to_vec(),
            "eval_id",
        ),
        (
            "storage:evaluation:running",
            br#"{"eval_id":{"a":1}}"#.to_vec(),
            "eval_id",
        ),
    ];
    for (channel, payload, reason) in cases {
        server.publish(channel, &payload).await;
        match watch.next().await {
            Observation::Rejected(rejection) => {
                assert_eq!(rejection.channel, channel);
                assert!(
                    rejection.reason.contains(reason),
                    "{channel}: {rejection:?}"
                );
            }
            other => panic!("{channel} {payload:?}: expected a rejection, got {other:?}"),
        }
    }
    // Still subscribed after all that.
    server
        .publish("evaluation:queued", format!(r#"{{"eval_id":"{id}"}}"#))
        .await;
    assert!(matches!(
        watch.next().await,
        Observation::RedisStatus {
            channel_status: Status::Queued,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_periodic_resync_finds_keys_set_without_any_message() {
    let server = RedisServer::start();
    let mut watch = Watch::start(server.url(), Duration::from_millis(300));
    let first = watch.synced().await;
    let id = eval_id("later");
    assert!(first.pending.is_empty());
    server
        .cmd::<()>(redis::cmd("SET").arg(format!("pending:{id}")).arg("queued"))
        .await;
    watch
        .expect(
            "a resync holding the new key",
            |o| matches!(o, Observation::RedisKeys(s) if s.pending.iter().any(|(p, _)| *p == id)),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_is_a_blind_window_then_everything_is_read_again() {
    let mut server = RedisServer::start();
    let before = eval_id("before");
    server
        .cmd::<()>(redis::cmd("SADD").arg("running_evaluations").arg(&before))
        .await;
    let mut watch = Watch::start(server.url(), NEVER);
    let first = watch.synced().await;
    assert_eq!(first.running_set, vec![before.clone()]);

    // Set after the first read and saved, so the restarted server holds it:
    // with no resync due, only the reconnect's read can find it.
    let saved = eval_id("saved");
    server
        .cmd::<()>(
            redis::cmd("SET")
                .arg(format!("pending:{saved}"))
                .arg("queued"),
        )
        .await;
    server.cmd::<()>(&redis::cmd("SAVE")).await;
    server.restart();

    let reason = down_reason(watch.expect("SourceDown", is_down).await);
    assert!(reason.contains(&server.url()), "{reason}");
    watch.expect("SourceUp after the restart", is_up).await;
    match watch.expect("the reconnect's key snapshot", is_keys).await {
        Observation::RedisKeys(snapshot) => {
            assert_eq!(
                snapshot.pending,
                vec![(saved.clone(), "queued".to_string())]
            );
            assert_eq!(snapshot.running_set, vec![before.clone()]);
        }
        _ => unreachable!(),
    }

    let id = eval_id("after");
    assert!(
        server
            .publish("evaluation:queued", format!(r#"{{"eval_id":"{id}"}}"#))
            .await
            >= 1,
        "no subscriber after the restart"
    );
    match watch
        .expect("a message after the restart", |o| !is_keys(o))
        .await
    {
        Observation::RedisStatus { message, .. } => assert_eq!(message.eval_id, id),
        other => panic!("expected the queued status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_subscriber_reconnects_and_resubscribes() {
    let server = RedisServer::start();
    let mut watch = Watch::start(server.url(), NEVER);
    watch.synced().await;

    // What Redis does to a subscriber whose output buffer overflows.
    let killed: i64 = server
        .cmd(redis::cmd("CLIENT").arg("KILL").arg("TYPE").arg("pubsub"))
        .await;
    assert_eq!(killed, 1);
    let reason = down_reason(watch.expect("SourceDown", is_down).await);
    assert!(reason.contains("pub/sub"), "{reason}");
    watch.synced().await;

    let id = eval_id("again");
    server
        .publish(
            "storage:evaluation:queued",
            format!(r#"{{"eval_id":"{id}"}}"#),
        )
        .await;
    match watch.next().await {
        Observation::RedisStorage(message) => assert_eq!(message.eval_id, id),
        other => panic!("expected the storage message, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_stops_answering_is_noticed_without_any_error() {
    let server = RedisServer::start();
    let mut watch = Watch::start(server.url(), Duration::from_millis(300));
    watch.synced().await;

    // The connection stays open and says nothing: only a probe tells.
    server.freeze();
    let reason = down_reason(watch.expect("SourceUnanswered", is_unanswered).await);
    server.thaw();
    assert!(reason.contains("did not answer"), "{reason}");
    watch.synced().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_reported_and_retried_without_its_password() {
    let port = closed_port();
    let mut watch = Watch::start(format!("redis://:hunter2@127.0.0.1:{port}"), NEVER);
    let first = down_reason(watch.next().await);
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");
    assert!(first.contains("connection refused"), "{first}");
    assert!(!first.contains("hunter2"), "{first}");
    let second = down_reason(watch.next().await);
    assert_eq!(second, first);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_source_returns_when_its_sink_closes() {
    let server = RedisServer::start();
    let mut watch = Watch::start(server.url(), Duration::from_millis(200));
    watch.synced().await;
    watch.close().await;

    // Also while it waits to retry an unreachable server.
    let mut watch = Watch::start(format!("redis://127.0.0.1:{}", closed_port()), NEVER);
    assert!(is_down(&watch.next().await));
    watch.close().await;
}

/// A reader that falls behind: the source keeps reading pub/sub into its
/// own bounded queue and says, with each probe, how many messages wait and
/// how old the oldest is; then that it has caught up.
#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_is_told_how_far_behind_it_is() {
    let server = RedisServer::start();
    let mut watch = Watch::start_with_room(server.url(), NEVER, 8);
    watch.synced().await;
    let mut pipe = redis::pipe();
    for i in 0..2_000 {
        pipe.cmd("PUBLISH")
            .arg("evaluation:queued")
            .arg(format!(r#"{{"eval_id":"{}"}}"#, eval_id(&i.to_string())))
            .ignore();
    }
    let () = pipe
        .query_async(&mut server.connection().await)
        .await
        .expect("PUBLISH 2000");
    // Not reading for a while: probes come while the messages wait.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let lag = |o: &Observation| match o {
        Observation::SourceLag {
            source: Source::Redis,
            waiting,
            oldest_ms,
        } => Some((*waiting, *oldest_ms)),
        _ => None,
    };
    let behind = watch
        .expect("a lag report while behind", |o| {
            lag(o).is_some_and(|(waiting, _)| waiting > 1_000)
        })
        .await;
    let (waiting, oldest_ms) = lag(&behind).expect("matched above");
    assert!(waiting <= 2_000 + 8, "{waiting}");
    assert!(oldest_ms > 0, "{oldest_ms}");
    watch.expect("caught up", |o| lag(o) == Some((0, 0))).await;
}

/// Publishes `count` queued statuses, pipelined 10,000 at a time.
async fn publish_queued(server: &RedisServer, count: usize) {
    let mut conn = server.connection().await;
    for chunk in 0..count.div_ceil(10_000) {
        let mut pipe = redis::pipe();
        for i in 0..10_000.min(count - chunk * 10_000) {
            let id = eval_id(&format!("{chunk}-{i}"));
            pipe.cmd("PUBLISH")
                .arg("evaluation:queued")
                .arg(format!(r#"{{"eval_id":"{id}"}}"#))
                .ignore();
        }
        let () = pipe.query_async(&mut conn).await.expect("PUBLISH 10,000");
    }
}

/// What Redis holds unsent for its pub/sub clients, in bytes (`omem`).
async fn held_for_subscribers(server: &RedisServer) -> u64 {
    let list: String = server
        .cmd(redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub"))
        .await;
    list.split_whitespace()
        .filter_map(|field| field.strip_prefix("omem="))
        .map(|bytes| bytes.parse::<u64>().expect("omem is a number"))
        .sum()
}

/// Bytes of backlog the source may hold in the tests that fill it: small,
/// so that a few seconds of publishing fill it and the kernel's buffers.
const SMALL_BACKLOG: usize = 4 << 20;

/// A reader so far behind that evaltop's backlog is full: the source stops
/// reading rather than hold more, so Redis holds the rest; within Redis's
/// limit nothing is lost and the subscription is never dropped.
#[tokio::test(flavor = "multi_thread")]
async fn a_reader_past_the_queue_stops_reading_and_redis_holds_the_rest() {
    const PUBLISHED: usize = 250_000;
    let server = RedisServer::start();
    let mut watch = Watch::start_with_backlog(server.url(), NEVER, 8, SMALL_BACKLOG);
    watch.synced().await;
    publish_queued(&server, PUBLISHED).await;
    // Not reading meanwhile: the source's backlog fills, and what does
    // not fit stays with Redis.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = held_for_subscribers(&server).await;
    assert!(
        held > 0,
        "Redis holds nothing for the subscriber: it read past its queue"
    );
    let mut delivered = 0usize;
    while delivered < PUBLISHED {
        match watch.next().await {
            Observation::RedisStatus { .. } => delivered += 1,
            down if is_down(&down) => panic!("dropped after {delivered}: {down:?}"),
            _ => {}
        }
    }
    assert_eq!(held_for_subscribers(&server).await, 0);
}

/// The same reader where Redis allows a subscriber only 1 MB unsent: Redis
/// drops it; the source hands on everything it had read, says it lost the
/// subscription, and subscribes and reads the keys again.
#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_redis_drops_is_a_blind_window_then_a_resync() {
    const PUBLISHED: usize = 250_000;
    let server = RedisServer::start();
    let () = server
        .cmd(
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("client-output-buffer-limit")
                .arg("pubsub 1mb 0 0"),
        )
        .await;
    let mut watch = Watch::start_with_backlog(server.url(), NEVER, 8, SMALL_BACKLOG);
    watch.synced().await;
    publish_queued(&server, PUBLISHED).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut delivered = 0usize;
    let reason = loop {
        match watch.next().await {
            Observation::RedisStatus { message, .. } => {
                // Everything up to the loss, in order: nothing read was
                // let go.
                let tag = format!("_{}-{}", delivered / 10_000, delivered % 10_000);
                assert!(
                    message.eval_id.ends_with(&tag),
                    "{delivered}: {}",
                    message.eval_id
                );
                delivered += 1;
            }
            down if is_down(&down) => break down_reason(down),
            _ => {}
        }
    };
    assert!(
        reason.contains("pub/sub") && reason.contains("closed"),
        "{reason}"
    );
    assert!(delivered > 0, "nothing was delivered before the drop");
    assert!(
        delivered < PUBLISHED,
        "{delivered}: what Redis held went with the subscription"
    );
    watch.synced().await;
}
