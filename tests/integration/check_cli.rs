//! `evaltop check`, the real binary, against the real engine and a real
//! redis-server: its exit codes, its JSON, and an unreachable source.

use serde_json::Value;

use crate::support::docker::unique_executor;
use crate::support::redis::{RedisServer, closed_port};

pub struct CheckRun {
    pub code: i32,
    pub json: Value,
    pub stderr: String,
}

impl CheckRun {
    /// The flag kinds `check` reported for `eval_id` (none when absent).
    pub fn flag_kinds(&self, eval_id: &str) -> Vec<String> {
        self.json["evaluations"]
            .as_array()
            .expect("evaluations array")
            .iter()
            .filter(|e| e["eval_id"] == eval_id)
            .flat_map(|e| e["flags"].as_array().cloned().unwrap_or_default())
            .map(|f| f["kind"].as_str().expect("flag kind").to_string())
            .collect()
    }
}

/// Runs `evaltop check --json` against `redis_url` and the local engine.
pub async fn check_json(redis_url: &str, extra: &[&str]) -> CheckRun {
    let log_dir = std::env::temp_dir().join(format!("evaltop-test-log-{}", std::process::id()));
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_evaltop"))
        .args(["check", "--json", "--listen", "500ms", "--redis", redis_url])
        .arg("--log-file")
        .arg(log_dir.join("evaltop.log"))
        .args(extra)
        .output()
        .await
        .expect("run evaltop check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("check --json printed no JSON ({e}):\n{stdout}"));
    CheckRun {
        code: output.status.code().expect("exit code"),
        json,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_flagged_exits_zero_with_stable_fields() {
    let redis = RedisServer::start();
    // Scoped to an executor that has no containers, so that other tests'
    // containers on the same engine do not count.
    let executor = unique_executor();
    let run = check_json(&redis.url(), &["--executor", &executor]).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    for field in [
        "generated_at",
        "sources",
        "rejected",
        "alarming",
        "evaluations",
    ] {
        assert!(
            run.json.get(field).is_some(),
            "missing {field}: {}",
            run.json
        );
    }
    // One engine: the machine's, named as a bare DOCKER_HOST is.
    let engines = run.json["sources"]["docker"]
        .as_array()
        .expect("sources.docker[]");
    assert_eq!(engines.len(), 1, "{engines:?}");
    assert_eq!(engines[0]["synced"], true);
    assert!(engines[0]["name"].is_string() && engines[0]["url"].is_string());
    assert_eq!(run.json["sources"]["redis"]["synced"], true);
    assert_eq!(run.json["rejected"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_redis_exits_two_with_the_reason() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let run = check_json(&url, &["--connect-timeout", "2s"]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("redis unreachable"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&url[8..]),
        "the reason names the address: {}",
        run.stderr
    );
    assert_eq!(run.json["sources"]["redis"]["synced"], false);
}

#[tokio::test]
async fn a_bad_flag_names_the_option_and_the_value() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_evaltop"))
        .args(["check", "--grace", "forever"])
        .output()
        .await
        .expect("run evaltop");
    assert_eq!(
        output.status.code(),
        Some(64),
        "a usage error is not 'unreachable'"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--grace") && stderr.contains("forever"),
        "{stderr}"
    );
}

/// Runs the binary with `args`, in a scratch directory; returns the exit
/// code and stderr.
async fn evaltop(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_evaltop"))
        .args(args)
        .arg("--log-file")
        .arg(dir.join("evaltop.log"))
        .current_dir(dir)
        .output()
        .await
        .expect("run evaltop");
    let code = output.status.code().expect("an exit code");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// A user's error is one plain line with its own exit code (sysexits), so
/// that cron can tell it from "flagged" (1) and "unreachable" (2): no
/// colours, no source location, no backtrace hint.
#[tokio::test]
async fn every_user_error_has_its_own_code_and_one_plain_line() {
    let dir = tempdir("exit-codes");
    std::fs::write(dir.join("bad.toml"), "\n\ngrace = \"soon\"\n").expect("write");
    std::fs::write(dir.join("not-a-recording.jsonl"), "hello\n").expect("write");
    let demo = dir.join("demo.jsonl");
    std::fs::write(&demo, evaltop::record::DEMO).expect("write");
    let demo = demo.to_str().expect("utf-8 path");
    let cases: [(&[&str], i32, &str); 6] = [
        (&["check", "--grace", "forever"], 64, "--grace"),
        (&["--config", "bad.toml", "check"], 78, "bad.toml:3"),
        (&["check", "--from", "missing.jsonl"], 66, "missing.jsonl"),
        (
            &["check", "--from", "not-a-recording.jsonl"],
            65,
            "not an evaltop recording",
        ),
        (
            &["check", "--from", demo, "--at", "yesterday"],
            64,
            "--at yesterday",
        ),
        (&["replay", "missing.jsonl"], 66, "missing.jsonl"),
    ];
    for (args, code, says) in cases {
        let (got, stderr) = evaltop(args, &dir).await;
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{args:?}: colours in {stderr:?}"
        );
        assert!(!stderr.contains("Location:"), "{args:?}: {stderr}");
        assert!(!stderr.contains("BACKTRACE"), "{args:?}: {stderr}");
    }
    let (code, _) = evaltop(&["--help"], &dir).await;
    assert_eq!(code, 0);
    // A recording says what is true of it, not "unreachable".
    let (code, stderr) = evaltop(&["check", "--from", demo, "--at", "start"], &dir).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("at this point of the recording"),
        "{stderr}"
    );
    assert!(!stderr.contains("connect timeout"), "{stderr}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("evaltop-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_only_start_reports_the_status_the_keys_hold() {
    let redis = RedisServer::start();
    let docker = crate::support::docker::docker().await;
    let image = crate::support::docker::TestImage::import(&docker).await;
    let executor = unique_executor();
    let eval_id = crate::support::docker::unique_eval_id();
    let spec = crate::support::docker::ContainerSpec::new(&eval_id, &executor, "sleep 30");
    let container = crate::support::docker::TestContainer::start(&docker, &image, &spec).await;
    // The messages went by before evaltop started: only the keys remain.
    crate::support::platform::mark_running(&redis, &eval_id, &executor, &container.id, 30).await;
    let run = check_json(&redis.url(), &["--executor", &executor]).await;
    let eval = run.json["evaluations"]
        .as_array()
        .expect("evaluations")
        .iter()
        .find(|e| e["eval_id"] == eval_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{eval_id} reported: {}", run.json));
    assert_eq!(eval["status"], "running", "{eval}");
    assert_eq!(eval["status_source"], "keys", "{eval}");
}

/// One engine unreachable among several is a `source-down` alarm (exit 1)
/// and the others are still judged; no engine at all is exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_engine_among_several_is_source_down_and_none_is_exit_two() {
    let redis = RedisServer::start();
    let executor = unique_executor();
    let local = crate::support::effects::local_engine();
    let live = format!("exec-a={}", local.url);
    let dead = "exec-dead=unix:///nonexistent/evaltop-test/docker.sock";
    let args = ["--executor", &executor, "--connect-timeout", "2s"];
    let run = check_json(
        &redis.url(),
        &[&args[..], &["--docker", &live, "--docker", dead]].concat(),
    )
    .await;
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let down = run.json["sources_down"].as_array().expect("sources_down[]");
    assert_eq!(down.len(), 1, "{down:?}");
    assert_eq!(down[0]["kind"], "source-down");
    assert_eq!(down[0]["name"], "exec-dead");
    assert_eq!(run.json["alarming"], 1);
    assert!(run.stderr.contains("exec-dead"), "{}", run.stderr);
    let engines = run.json["sources"]["docker"]
        .as_array()
        .expect("sources.docker[]");
    assert_eq!(engines[0]["synced"], true);
    assert_eq!(engines[1]["connected"], false);

    let run = check_json(&redis.url(), &[&args[..], &["--docker", dead]].concat()).await;
    assert_eq!(run.code, 2, "no engine at all: {}", run.stderr);
}

/// Two engines of one name, or a bad URL, are refused naming the flag and
/// the value, before anything is read.
#[tokio::test(flavor = "multi_thread")]
async fn a_bad_engine_list_is_refused_naming_the_flag_and_the_value() {
    for (args, says) in [
        (
            vec!["--docker", "a=tcp://h:1", "--docker", "a=tcp://h:2"],
            "two engines are named \"a\"",
        ),
        (
            vec!["--docker", "exec-1=ftp://h"],
            "--docker \"exec-1=ftp://h\"",
        ),
    ] {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_evaltop"))
            .arg("check")
            .args(&args)
            .output()
            .await
            .expect("run evaltop check");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(64), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
