//! The logs screen of the real binary in tmux: what a replay holds, and a
//! running container followed line by line with Docker's times.

use serde_json::json;

use crate::support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use crate::support::platform::mark_running;
use crate::support::redis::RedisServer;
use crate::support::tmux::Tmux;

fn log_file() -> String {
    std::env::temp_dir()
        .join(format!("evaltop-e2e-{}.log", random_hex()))
        .display()
        .to_string()
}

/// `HH:MM:SS.mmm` somewhere in `line`.
fn has_clock(line: &str) -> bool {
    let b = line.as_bytes();
    b.windows(12).any(|w| {
        let digit = |i: usize| w[i].is_ascii_digit();
        digit(0)
            && digit(1)
            && w[2] == b':'
            && digit(3)
            && digit(4)
            && w[5] == b':'
            && digit(6)
            && digit(7)
            && w[8] == b'.'
            && digit(9)
            && digit(10)
            && digit(11)
    })
}

#[test]
fn the_demo_shows_the_logs_its_recording_holds() {
    let log = log_file();
    let command = format!("{} demo --log-file {log}", env!("CARGO_BIN_EXE_evaltop"));
    let tmux = Tmux::start(140, 30, &command);
    tmux.wait_for(&["REPLAY"]);
    // To the end of the recording, then the lost completion's logs.
    tmux.keys(&[">", "/"]);
    tmux.type_text("d78a1666");
    tmux.keys(&["Enter"]);
    tmux.wait_for(&["eval_20261128_020208_d78a1666", "lost-completion"]);
    // The detail: the last lines of the evidence under the flag.
    tmux.keys(&["Enter"]);
    tmux.wait_for(&[
        "lost-completion (alarm)",
        "last 4 lines, from the copy captured at death",
        "│ ZeroDivisionError: division by zero",
    ]);
    tmux.keys(&["l"]);
    let screen = tmux.wait_for(&[
        "copy captured at death",
        "ZeroDivisionError",
        "Before error",
    ]);
    assert!(
        !screen.contains("fetch-logs not run"),
        "a read is never refused:\n{screen}"
    );
    assert!(!screen.contains("no lines"), "{screen}");
    // Best effort: the file is the test's own.
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_running_container_is_followed_with_dockers_times() {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let executor = unique_executor();
    let eval_id = unique_eval_id();
    let script = "i=0; while [ $i -lt 12 ]; do echo tick $i; i=$((i+1)); sleep 1; done";
    let spec = ContainerSpec::new(&eval_id, &executor, script)
        .tty(true)
        .timeout("60");
    let container = TestContainer::create(&docker, &image, &spec).await;
    mark_running(&redis, &eval_id, &executor, &container.id, 60).await;
    container.begin(&docker).await;

    let log = log_file();
    let command = format!(
        "{} --redis {} --executor {executor} --read-only --log-file {log} --no-audit-stream --audit-file {log}.audit",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
    );
    let tmux = Tmux::start(120, 30, &command);
    tmux.wait_for(&["redis  ● connected", &eval_id, "running"]);
    tmux.keys(&["l"]);
    let screen = tmux.wait_for(&["following", "tick 1"]);
    assert!(
        !screen.contains("complete"),
        "a running container's log is never complete:\n{screen}"
    );
    // New lines arrive with no key pressed; a live message is merged in.
    redis
        .publish(
            &format!("evaluation:{eval_id}:logs"),
            json!({"eval_id": eval_id, "sequence": 1, "content": "from the executor é\n"})
                .to_string(),
        )
        .await;
    tmux.wait_for(&["tick 4", "from the executor é"]);
    // Docker's times, not placeholders.
    tmux.keys(&["t"]);
    let screen = tmux.wait_for(&["time on"]);
    let line = screen
        .lines()
        .find(|l| l.contains("tick 2"))
        .unwrap_or_else(|| panic!("tick 2 on screen:\n{screen}"));
    assert!(has_clock(line), "Docker's time on {line:?}");
    assert!(!screen.contains("--:--:--"), "{screen}");
    assert_eq!(
        screen.matches("tick 3").count(),
        1,
        "each line once:\n{screen}"
    );
    // The container ends: Docker ends the stream, and the log is complete.
    let screen = tmux.wait_for(&["tick 11", "complete"]);
    assert!(!screen.contains("following"), "{screen}");
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{log}.audit"));
}

#[test]
fn the_demo_opens_on_the_incident_and_plays_on() {
    let log = log_file();
    let command = format!("{} demo --log-file {log}", env!("CARGO_BIN_EXE_evaltop"));
    let tmux = Tmux::start(140, 30, &command);
    // No key pressed: the flags are on the first screens.
    let screen = tmux.wait_for(&["REPLAY", "! lost-completion", "! overdue"]);
    let header = screen.lines().next().unwrap_or_default();
    let clock = header
        .split_whitespace()
        .find(|w| w.starts_with('+') && w.contains('/'))
        .unwrap_or_else(|| panic!("the replay clock in {header:?}"));
    let (at, end) = clock
        .trim_start_matches('+')
        .split_once('/')
        .expect("+at/end");
    let secs = |s: &str| s.trim_end_matches('s').parse::<u32>().unwrap_or(u32::MAX);
    assert!(
        secs(at) < secs(end),
        "it starts before the end, to play on: {clock}"
    );
    // And it plays on: the clock moves.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = tmux.screen();
        if !now.lines().next().unwrap_or_default().contains(clock) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replay never moved on"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Best effort: the file is the test's own.
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poorer_origin_never_replaces_a_richer_one() {
    let redis = RedisServer::start();
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    let log = log_file();
    let command = format!(
        "{} --redis {} --executor {executor} --read-only --log-file {log} --no-audit-stream --audit-file {log}.audit",
        env!("CARGO_BIN_EXE_evaltop"),
        redis.url(),
    );
    let tmux = Tmux::start(120, 30, &command);
    tmux.wait_for(&["redis  ● connected"]);
    redis
        .publish(
            "evaluation:running",
            json!({"eval_id": eval_id, "executor_id": executor, "timeout": 30}).to_string(),
        )
        .await;
    for (n, line) in ["first line", "second line", "third line"]
        .iter()
        .enumerate()
    {
        let message = json!({"eval_id": eval_id, "sequence": n, "content": format!("{line}\n")});
        redis
            .publish(&format!("evaluation:{eval_id}:logs"), message.to_string())
            .await;
    }
    let _: () = redis
        .cmd(
            redis::cmd("SET")
                .arg(format!("logs:{eval_id}:latest"))
                .arg("third line\n")
                .arg("EX")
                .arg(300),
        )
        .await;
    tmux.wait_for(&[&eval_id]);
    tmux.keys(&["l"]);
    // The fetch answers with the latest key; the three live lines stay.
    let screen = tmux.wait_for(&["live buffer", "first line", "second line", "third line"]);
    assert!(screen.contains("3 lines"), "{screen}");
    // The read's answer has come (its outcome is in the audit), and still
    // the live lines are shown.
    let audit = format!("{log}.audit");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&audit)
        .unwrap_or_default()
        .matches("latest chunk only")
        .count()
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the read never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let screen = tmux.wait_for(&["live buffer", "first line"]);
    assert!(screen.contains("3 lines"), "{screen}");
    tmux.keys(&["o"]);
    let screen = tmux.wait_for(&["Redis key logs:{id}:latest", "1 lines"]);
    assert!(!screen.contains("first line"), "{screen}");
    // Best effort: these files are the test's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{log}.audit"));
}
