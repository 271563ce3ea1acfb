//! Timing drivers for the triage loop (BENCHMARKS.md): how long a followed
//! log line takes from Docker's stream to the screen, and how long `evaltop
//! demo` takes to show its incident. They drive the real binary in tmux
//! against the real Docker engine and a redis-server of their own, print
//! what they measure, and assert nothing about time.
//!
//! `cargo build --release && cargo run --release --example bench_triage`
//! (the binary next to this example's build is the one measured; or name
//! one with `--evaltop PATH`).

#[path = "../tests/integration/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;

use support::docker::{
    ContainerSpec, TestContainer, TestImage, docker, random_hex, unique_eval_id, unique_executor,
};
use support::redis::RedisServer;
use support::tmux::Tmux;

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        println!("{name}: no samples");
        return;
    }
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: n={} p50={:.0} ms p90={:.0} ms max={:.0} ms",
        ms.len(),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

/// How long after Docker hands a line to a reader of its own stream the
/// line shows in evaltop's followed logs view.
async fn follow_latency(evaltop: &str) {
    let redis = RedisServer::start();
    let docker = docker().await;
    let image = TestImage::import(&docker).await;
    let (eval_id, executor) = (unique_eval_id(), unique_executor());
    let script = "i=0; while [ $i -lt 60 ]; do echo tick-$i-end; i=$((i+1)); sleep 0.25; done";
    let spec = ContainerSpec::new(&eval_id, &executor, script).tty(true);
    let container = TestContainer::create(&docker, &image, &spec).await;
    container.begin(&docker).await;
    let log = std::env::temp_dir().join(format!("evaltop-driver-{}.log", random_hex()));
    let command = format!(
        "{} --redis {} --executor {executor} --read-only --log-file {} --audit-file {}.audit --no-audit-stream",
        evaltop,
        redis.url(),
        log.display(),
        log.display(),
    );
    let tmux = Tmux::start(120, 80, &command);
    tmux.wait_for(&[&eval_id]);
    tmux.keys(&["l"]);
    tmux.wait_for(&["following"]);
    // Docker's own stream, read here: when each line left Docker.
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .follow(true)
        .tail("0")
        .build();
    let mut stream = docker.logs(&container.id, Some(options));
    let from_docker = tokio::spawn(async move {
        let mut seen = HashMap::new();
        while let Some(Ok(frame)) = stream.next().await {
            let text = String::from_utf8_lossy(frame.as_ref()).into_owned();
            for word in text.split_whitespace().filter(|w| w.starts_with("tick-")) {
                seen.entry(word.to_string()).or_insert_with(Instant::now);
            }
        }
        seen
    });
    let mut on_screen: HashMap<String, Instant> = HashMap::new();
    let until = Instant::now() + Duration::from_secs(16);
    while Instant::now() < until {
        let screen = tmux.screen();
        for word in screen.split_whitespace().filter(|w| w.starts_with("tick-")) {
            on_screen
                .entry(word.to_string())
                .or_insert_with(Instant::now);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let from_docker = from_docker.await.expect("reader");
    let lags: Vec<f64> = from_docker
        .iter()
        .filter_map(|(word, at)| {
            let shown = on_screen.get(word)?;
            Some(shown.saturating_duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    summary("followed line, Docker's stream to the screen", lags);
    // Best effort: these files are the driver's own.
    let _ = std::fs::remove_file(&log);
    let _ = std::fs::remove_file(format!("{}.audit", log.display()));
}

/// How long after `evaltop demo` starts the incident is on the screen.
fn demo_time_to_incident(evaltop: &str) {
    let mut samples = Vec::new();
    for _ in 0..5 {
        let log = std::env::temp_dir().join(format!("evaltop-driver-{}.log", random_hex()));
        let command = format!("{} demo --log-file {}", evaltop, log.display());
        let started = Instant::now();
        let tmux = Tmux::start(140, 30, &command);
        loop {
            if tmux.screen().contains("! lost-completion") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never shown");
            std::thread::sleep(Duration::from_millis(10));
        }
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(tmux);
        // Best effort: the file is the driver's own.
        let _ = std::fs::remove_file(&log);
    }
    summary("demo, start to the lost completion on screen", samples);
}

/// The evaltop binary built beside this example (`target/<profile>/`), or
/// the one `--evaltop PATH` names.
fn evaltop_binary() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--evaltop" {
            return args.next().expect("--evaltop takes a path");
        }
    }
    let exe = std::env::current_exe().expect("this example's path");
    let beside = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("evaltop"))
        .expect("target/<profile>/examples/");
    assert!(
        beside.exists(),
        "{} is missing: build it first (cargo build --release), or pass --evaltop PATH",
        beside.display()
    );
    beside.display().to_string()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let evaltop = evaltop_binary();
    follow_latency(&evaltop).await;
    demo_time_to_incident(&evaltop);
}
