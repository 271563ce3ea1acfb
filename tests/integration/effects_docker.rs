//! The container actions against the real engine: kill (die observed, a
//! signal that kills nothing, already exited), remove, and re-fetched logs
//! (streams apart, one console stream, the fallbacks after removal).

use std::time::Duration;

use evaltop::actions::{Effect, LogOrigin, LogWindow, OutcomeDetail};
use evaltop::effects::{EffectConfig, EffectRunner};
use evaltop::model::{CapturedLogs, Ts};

use crate::support::docker::docker;
use crate::support::effects::{
    TempDir, config, exited, fetch_logs, is_gone, is_running, kill, logs_of, remove, runner,
    started, target,
};
use crate::support::redis::RedisServer;

#[tokio::test(flavor = "multi_thread")]
async fn kill_sees_the_die_and_reports_exit_137() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let container = started(&docker, "sleep 300", false).await;

    let outcome = runner(&redis, &dir).run(kill(&container, "SIGKILL")).await;
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
    let container = started(&docker, "sleep 300", false).await;
    let runner = EffectRunner::new(EffectConfig {
        die_wait: Duration::from_secs(1),
        ..config(&redis, &dir)
    })
    .unwrap();

    // PID 1 of a container has no default action for SIGTERM: it lives.
    let outcome = runner.run(kill(&container, "SIGTERM")).await;
    assert!(!outcome.ok, "{outcome:?}");
    assert_eq!(outcome.summary, "no die event after 1 s (running)");
    assert!(is_running(&docker, &container.id).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_an_exited_container_says_it_already_exited() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let (container, exit_code) = exited(&docker, "exit 3", false).await;
    assert_eq!(exit_code, 3);

    let runner = runner(&redis, &dir);
    let kill = kill(&container, "SIGKILL");
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
    let (container, _) = exited(&docker, "exit 1", false).await;

    let runner = runner(&redis, &dir);
    let remove = remove(&container);
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

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_an_exited_container_keep_stdout_and_stderr_apart() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let script = r"echo out-line; printf 'err\033[31m-line\n' >&2; exit 1";
    let (container, _) = exited(&docker, script, false).await;

    let outcome = runner(&redis, &dir).run(fetch_logs(&container)).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        outcome.summary,
        "logs from Docker: stdout and stderr apart, last 5000 lines"
    );
    let (origin, logs, complete) = logs_of(&outcome);
    assert_eq!(origin, &LogOrigin::Docker { tty: false });
    assert_eq!(logs.stdout, "out-line\n");
    assert_eq!(logs.stderr, "err-line\n", "sanitised as it entered");
    assert!(complete);
    // Each line with Docker's own time, not a placeholder.
    let OutcomeDetail::Logs { lines, .. } = &outcome.detail else {
        panic!("logs");
    };
    assert_eq!(lines.len(), 2, "{lines:?}");
    let now = evaltop::model::Ts::now();
    for line in lines {
        let at = line
            .at
            .unwrap_or_else(|| panic!("Docker's time on {line:?}"));
        assert!((now.millis() - at.millis()).abs() < 120_000, "{line:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_a_tty_container_are_one_console_stream() {
    let (redis, dir, docker) = (RedisServer::start(), TempDir::new(), docker().await);
    let script = "echo out-line; echo err-line >&2; exit 1";
    let (container, _) = exited(&docker, script, true).await;

    let outcome = runner(&redis, &dir).run(fetch_logs(&container)).await;
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(
        outcome.summary,
        "logs from Docker: single console stream (TTY), last 5000 lines"
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
    let (container, _) = exited(&docker, "echo gone", false).await;
    container.remove();
    let runner = runner(&redis, &dir);

    // Nothing anywhere yet.
    let fetch = |captured: Option<CapturedLogs>| Effect::FetchLogs {
        target: target(&container),
        captured,
        window: LogWindow::default(),
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
