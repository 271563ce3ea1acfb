//! The real binary in a real terminal (tmux), against the real Docker
//! engine and a real redis-server: keys in, the screen read back, as an
//! operator would see it.

use std::time::{Duration, Instant};

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use crate::support::platform::mark_running;
use crate::support::redis::RedisServer;
use crate::support::tmux::Tmux;

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_goes_from_the_flag_to_the_evidence() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let eval_id = unique_eval_id();
    let spec = ContainerSpec::new(
        &eval_id,
        &executor,
        "echo Before error; echo Traceback >&2; exit 1",
    );
    let container = TestContainer::create(&docker, &image, &spec).await;
    mark_running(&redis, &eval_id, &executor, &container.id, 30).await;
    container.begin(&docker).await;
    assert_eq!(container.wait_exit(&docker).await, 1);

    let log_file = std::env::temp_dir().join(format!("evaltop-e2e-{}.log", random_hex()));
    let audit_file = std::env::temp_dir().join(format!("evaltop-e2e-audit-{}.jsonl", random_hex()));
    let command = format!(
        "{} --redis {} --grace 1s --executor {executor} --log-file {} --audit-file {} --no-audit-stream",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
        log_file.display(),
        audit_file.display(),
    );
    let tmux = Tmux::start(120, 36, &command);

    // The flagged row, with the sources connected.
    tmux.wait_for(&[
        "docker ● connected",
        "redis  ● connected",
        &eval_id,
        "lost-completion",
    ]);

    // Filter to it.
    tmux.keys(&["/"]);
    tmux.type_text("flag:lost-completion");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(&["flag:lost-completion", &eval_id]);
    assert!(screen.contains("exited"), "{screen}");

    // The detail: the flag explained, both sources side by side.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for(&["lost-completion (alarm)", "Redis says", "Docker says"]);
    assert!(screen.contains("container exited 1"), "{screen}");
    assert!(screen.contains("still in running_evaluations"), "{screen}");

    // The logs, re-fetched from Docker, stdout and stderr apart; a search.
    tmux.keys(&["l"]);
    let screen = tmux.wait_for(&["Docker, stdout and stderr", "Before error", "Traceback"]);
    assert!(screen.contains("out") && screen.contains("err"), "{screen}");
    tmux.keys(&["/"]);
    tmux.type_text("Trace");
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["1/1"]);

    // A kill asks first; n cancels and nothing is killed.
    tmux.keys(&["Escape", "K"]);
    tmux.wait_for(&["y: confirm", "SIGKILL"]);
    tmux.keys(&["n"]);
    tmux.wait_for(&["kill cancelled"]);

    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.alive(), "q quits evaltop (and so the tmux session)");
    let audit = std::fs::read_to_string(&audit_file).unwrap_or_default();
    assert!(
        audit.contains("fetch-logs"),
        "the logs re-fetch is audited: {audit}"
    );
    assert!(
        !audit.contains("\"kill\""),
        "a cancelled kill never ran: {audit}"
    );
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log_file);
    let _ = std::fs::remove_file(&audit_file);
}
