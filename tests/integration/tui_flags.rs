//! Flags that agree with the facts, against the real Docker engine and a
//! real redis-server: a container created and never started, and an
//! operator's kill from the console (the real binary, in tmux) that is
//! not called a timeout.

use std::time::Duration;

use evaltop::model::FlagKind;

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use crate::support::evaltop::Evaltop;
use crate::support::platform::mark_running;
use crate::support::redis::RedisServer;
use crate::support::tmux::Tmux;

#[tokio::test(flavor = "multi_thread")]
async fn a_container_created_and_never_started_is_flagged() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    let spec = ContainerSpec::new(&eval_id, &executor, "echo never");
    let container = TestContainer::create(&docker, &image, &spec).await;
    mark_running(&redis, &eval_id, &executor, &container.id, 30).await;
    let mut evaltop = Evaltop::start(&redis.url(), Duration::from_secs(1)).await;
    let flag = evaltop
        .wait_flag(&eval_id, FlagKind::NeverStarted, Duration::from_secs(20))
        .await;
    assert!(flag.reason().contains("never started"), "{}", flag.reason());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operators_kill_is_not_a_timeout() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    // A 2 s limit that nobody enforces: the executor is gone.
    let spec = ContainerSpec::new(&eval_id, &executor, "sleep 300").timeout("2");
    let container = TestContainer::create(&docker, &image, &spec).await;
    mark_running(&redis, &eval_id, &executor, &container.id, 2).await;
    container.begin(&docker).await;

    let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    let command = format!(
        "{} --redis {} --executor {executor} --grace 1s --log-file {} --audit-file {}.audit --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log.display(),
        log.display(),
    );
    let tmux = Tmux::start(140, 40, &command);
    tmux.wait_for(&[&eval_id, "overdue"]);
    tmux.keys(&["K"]);
    tmux.wait_for(&["y: confirm"]);
    tmux.keys(&["y"]);
    tmux.wait_for(&["kill ", "exit 137"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(&[
        "killed (info)",
        "killed by evaltop at",
        "past its 2s timeout",
    ]);
    assert!(!screen.contains("timed-out"), "{screen}");
    assert!(!screen.contains("Nothing to do"), "{screen}");
    // The executor is gone, so the completion is lost: the advice agrees.
    let screen = tmux.wait_for(&["lost-completion (alarm)"]);
    assert!(
        screen.contains("force it failed (F)") || screen.contains("Force it failed (F)"),
        "{screen}"
    );
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{}.audit", log.display()));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_shows_what_the_keys_hold_after_a_crash_only_start() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    let spec = ContainerSpec::new(&eval_id, &executor, "sleep 30");
    let container = TestContainer::start(&docker, &image, &spec).await;
    mark_running(&redis, &eval_id, &executor, &container.id, 30).await;
    let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    let command = format!(
        "{} --redis {} --executor {executor} --read-only --log-file {} --audit-file {}.audit --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log.display(),
        log.display(),
    );
    let tmux = Tmux::start(140, 30, &command);
    let screen = tmux.wait_for(&[&eval_id, "running·key"]);
    assert!(!screen.contains("no status"), "{screen}");
    // A message on the channel, once seen, is preferred to the keys.
    redis
        .publish(
            "evaluation:running",
            serde_json::json!({"eval_id": eval_id, "executor_id": executor, "timeout": 30})
                .to_string(),
        )
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let screen = tmux.screen();
        let row = screen
            .lines()
            .find(|l| l.contains(&eval_id))
            .unwrap_or_default()
            .to_string();
        if row.contains("running") && !row.contains("running·key") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "channel status never shown:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{}.audit", log.display()));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_clean_up_the_flag_goes_at_once_not_at_the_next_resync() {
    let redis = RedisServer::start();
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    // Leftover state: in running_evaluations, no key, no container.
    let _: i64 = redis
        .cmd(redis::cmd("SADD").arg("running_evaluations").arg(&eval_id))
        .await;
    let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    // A resync far away: only the re-read after the action can clear it.
    let command = format!(
        "{} --redis {} --executor {executor} --grace 1s --resync 10m --log-file {} --audit-file {}.audit --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log.display(),
        log.display(),
    );
    let tmux = Tmux::start(140, 40, &command);
    tmux.wait_for(&[&eval_id, "stale-running"]);
    // Force failed; no storage worker confirms; clean the running state.
    tmux.keys(&["F"]);
    tmux.wait_for(&["Publish evaluation:failed"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["y: confirm"]);
    tmux.keys(&["y"]);
    tmux.wait_for(&["did not confirm the forced failure"]);
    tmux.keys(&["y"]);
    tmux.wait_for(&["clean-running"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let screen = tmux.screen();
        let row = screen
            .lines()
            .find(|l| l.contains(&eval_id) && !l.contains("clean-running"))
            .unwrap_or_else(|| panic!("{eval_id}'s row:\n{screen}"))
            .to_string();
        if !row.contains("stale") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the flag stayed after the clean-up:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let member: bool = redis
        .cmd(
            redis::cmd("SISMEMBER")
                .arg("running_evaluations")
                .arg(&eval_id),
        )
        .await;
    assert!(!member, "the clean-up happened");
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{}.audit", log.display()));
}

/// Whether `screen` (from `capture-pane -e`) sets a foreground or
/// background colour anywhere.
fn sets_a_colour(screen: &str) -> bool {
    screen.split("\u{1b}[").skip(1).any(|seq| {
        let params = seq.split('m').next().unwrap_or("");
        params.split(';').any(|p| {
            matches!(
                p.parse::<u16>(),
                Ok(30..=37 | 38 | 40..=47 | 48 | 90..=97 | 100..=107)
            )
        })
    })
}

#[test]
fn severity_reads_without_colour_and_no_color_is_honoured() {
    for no_color in [false, true] {
        let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
        let env = if no_color { "NO_COLOR=1" } else { "NO_COLOR=" };
        let command = format!(
            "env {env} {} demo --log-file {}",
            env!("CARGO_BIN_EXE_evaltop"),
            log.display()
        );
        let tmux = Tmux::start(140, 30, &command);
        tmux.wait_for(&["REPLAY"]);
        tmux.keys(&[">"]);
        // A glyph per severity, so that the table reads without colour.
        tmux.wait_for(&["! lost-completion", "~ orphan"]);
        let escapes = tmux.screen_with_escapes();
        assert_eq!(
            sets_a_colour(&escapes),
            !no_color,
            "NO_COLOR={no_color}: colours in\n{escapes:?}"
        );
        // Best effort: the file is the test's own.
        let _ = std::fs::remove_file(&log);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected_payloads_are_listed_with_channel_and_reason() {
    let redis = RedisServer::start();
    let executor = unique_executor();
    let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    let command = format!(
        "{} --redis {} --executor {executor} --read-only --log-file {} --audit-file {}.audit --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log.display(),
        log.display(),
    );
    let tmux = Tmux::start(140, 40, &command);
    tmux.wait_for(&["redis  ● connected"]);
    redis.publish("evaluation:failed", "not json at all").await;
    redis
        .publish("evaluation:völlig\u{1b}[2J:logs", r#"{"eval_id": 42}"#)
        .await;
    tmux.wait_for(&["rejected payloads 2"]);
    tmux.keys(&["R"]);
    let screen = tmux.wait_for(&["─ rejected payloads 2 in all", "evaluation:failed: "]);
    let failed = screen
        .lines()
        .find(|l| l.contains("evaluation:failed: "))
        .expect("the line");
    assert!(failed.contains("redis"), "{failed}");
    assert!(
        screen.contains("evaluation:völlig"),
        "non-ASCII kept:\n{screen}"
    );
    assert!(!screen.contains('\u{1b}'), "{screen:?}");
    // R again: back to the events.
    tmux.keys(&["R"]);
    tmux.wait_for(&["─ events "]);
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{}.audit", log.display()));
}

/// Opens `eval_id`'s logs (a read, audited) in a console started with
/// `env`, quits, and returns the audit file.
async fn audit_of_a_read(env: &str, extra: &str) -> String {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    let spec = ContainerSpec::new(&eval_id, &executor, "echo done");
    let container = TestContainer::create(&docker, &image, &spec).await;
    container.begin(&docker).await;
    container.wait_exit(&docker).await;
    let log = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    let audit = format!("{}.audit", log.display());
    let command = format!(
        "env {env} {} --redis {} --executor {executor} {extra} --log-file {} --audit-file {audit} --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log.display(),
    );
    let tmux = Tmux::start(140, 30, &command);
    tmux.wait_for(&[&eval_id]);
    tmux.keys(&["l"]);
    tmux.wait_for(&["done", "Docker"]);
    tmux.keys(&["Escape", "q"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tmux.alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&audit).unwrap_or_default();
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(&audit);
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_is_the_login_name_without_user_and_operator_wins() {
    let login = evaltop::effects::login_name().expect("a login name");
    let audit = audit_of_a_read("-u USER -u LOGNAME -u USERNAME", "").await;
    assert!(audit.contains("fetch-logs"), "{audit}");
    assert!(
        audit.contains(&format!("\"operator\":\"{login}@")),
        "the uid's login name: {audit}"
    );
    assert!(!audit.contains("unknown@"), "{audit}");
    let audit = audit_of_a_read("EVALTOP_OPERATOR=carol@pager", "--operator alice@oncall").await;
    assert!(
        audit.contains("\"operator\":\"alice@oncall\""),
        "the flag wins: {audit}"
    );
    let audit = audit_of_a_read("EVALTOP_OPERATOR=carol@pager", "").await;
    assert!(
        audit.contains("\"operator\":\"carol@pager\""),
        "the env: {audit}"
    );
}
