//! Measures how long evaltop's sources take to notice a frozen source, and
//! to be back and read in full after the thaw: a real redis-server frozen
//! with SIGSTOP, and a socat front of the Docker engine's socket frozen the
//! same way. Trials start at spread phases of the probe clock, since the
//! detection time depends on where in its period the freeze falls.
//!
//! `cargo run --release --example bench_liveness -- [TRIALS]` (default 10;
//! needs redis-server, socat and a Docker engine on its local socket).

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use evaltop::model::{Observation, Source};
use evaltop::names::Names;
use evaltop::sources::{Received, docker, liveness, redis};
use tokio::sync::mpsc;
use tokio::time::Instant;

const LIVENESS: Duration = liveness::DEFAULT_PERIOD;
/// A bound on any one wait, so that a broken setup ends with a message.
const WAIT: Duration = Duration::from_secs(60);

/// A process group that can be frozen and thawed as one, killed on drop.
struct Frozen(Child);

impl Frozen {
    fn spawn(command: &mut Command) -> Frozen {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        Frozen(child)
    }

    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.0.id());
        let status = Command::new("kill")
            .args([signal, "--", &group])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} {group}");
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        self.signal("-KILL");
        if let Err(e) = self.0.wait() {
            eprintln!("cannot reap: {e}");
        }
    }
}

/// Waits for the first observation `wanted` accepts; returns when it came.
async fn until(
    rx: &mut mpsc::Receiver<Received>,
    what: &str,
    mut wanted: impl FnMut(&Observation) -> bool,
) -> Instant {
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(received)) if wanted(&received.observation) => return Instant::now(),
            Ok(Some(_)) => {}
            Ok(None) => panic!("the source stopped while waiting for {what}"),
            Err(_) => panic!("no {what} within {WAIT:?}"),
        }
    }
}

fn is_up(source: Source) -> impl FnMut(&Observation) -> bool {
    move |o| matches!(o, Observation::SourceUp { source: s, .. } if *s == source)
}

fn is_unanswered(source: Source) -> impl FnMut(&Observation) -> bool {
    move |o| matches!(o, Observation::SourceUnanswered { source: s, .. } if *s == source)
}

fn is_full_read(source: Source) -> impl FnMut(&Observation) -> bool {
    move |o| {
        matches!(
            (&source, o),
            (Source::Redis, Observation::RedisKeys(_))
                | (Source::Docker(_), Observation::DockerList { .. })
        )
    }
}

/// Freezes `target` `trials` times; returns (noticed, back) per trial.
async fn trials(
    source: Source,
    target: &Frozen,
    rx: &mut mpsc::Receiver<Received>,
    trials: usize,
) -> Vec<(Duration, Duration)> {
    until(rx, "the first connection", is_up(source.clone())).await;
    until(rx, "the first full read", is_full_read(source.clone())).await;
    let mut out = Vec::new();
    for trial in 0..trials {
        // Spread the freeze over the probe period.
        let phase = LIVENESS.mul_f64(trial as f64 / trials as f64);
        tokio::time::sleep(LIVENESS + phase).await;
        let frozen = Instant::now();
        target.signal("-STOP");
        let noticed = until(rx, "not answering", is_unanswered(source.clone())).await - frozen;
        // Frozen for a while, as a hung server would be.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let thawed = Instant::now();
        target.signal("-CONT");
        until(rx, "the reconnect", is_up(source.clone())).await;
        let back = until(rx, "the full read", is_full_read(source.clone())).await - thawed;
        println!(
            "{} trial {trial}: noticed after {noticed:.2?}, back and read after {back:.2?}",
            source.name()
        );
        out.push((noticed, back));
    }
    out
}

fn summary(name: &str, samples: &[(Duration, Duration)]) {
    let stats = |mut values: Vec<Duration>| {
        values.sort();
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2
        };
        (median, values[0], values[n - 1])
    };
    let (nm, nmin, nmax) = stats(samples.iter().map(|s| s.0).collect());
    let (bm, bmin, bmax) = stats(samples.iter().map(|s| s.1).collect());
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| {name} | {} | {:.2} s | {:.2}–{:.2} s | {:.0} ms | {:.0}–{:.0} ms |",
        samples.len(),
        nm.as_secs_f64(),
        nmin.as_secs_f64(),
        nmax.as_secs_f64(),
        ms(bm),
        ms(bmin),
        ms(bmax)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("TRIALS is a number"))
        .unwrap_or(10);

    let port = free_port();
    let server = Frozen::spawn(Command::new("redis-server").args([
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]));
    let (sink, mut rx) = mpsc::channel(4096);
    let redis_task = tokio::spawn(redis::run(
        redis::RedisConfig {
            url: format!("redis://127.0.0.1:{port}"),
            resync: Duration::from_secs(30),
            liveness: LIVENESS,
            names: Names::default(),
            backlog_bytes: redis::DEFAULT_BACKLOG_BYTES,
        },
        sink,
    ));
    let redis_samples = trials(Source::Redis, &server, &mut rx, n).await;
    redis_task.abort();
    drop(server);

    let socket =
        std::env::temp_dir().join(format!("evaltop-bench-proxy-{}.sock", std::process::id()));
    let proxy = Frozen::spawn(Command::new("socat").args([
        format!("UNIX-LISTEN:{},fork,unlink-early", socket.display()),
        "UNIX-CONNECT:/var/run/docker.sock".to_string(),
    ]));
    let ready = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < ready, "socat did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (sink, mut rx) = mpsc::channel(4096);
    let docker_task = tokio::spawn(docker::run(
        docker::DockerConfig {
            engine: evaltop::model::EngineName::new("local"),
            host: Some(format!("unix://{}", socket.display())),
            // An executor with no containers: the list stays small.
            executors: vec![format!("bench-liveness-{}", std::process::id())],
            resync: Duration::from_secs(30),
            liveness: LIVENESS,
            names: Names::default(),
        },
        sink,
    ));
    let docker_samples = trials(
        Source::Docker(evaltop::model::EngineName::new("local")),
        &proxy,
        &mut rx,
        n,
    )
    .await;
    docker_task.abort();
    drop(proxy);
    if let Err(e) = std::fs::remove_file(&socket) {
        eprintln!("cannot remove {}: {e}", socket.display());
    }

    println!();
    println!(
        "liveness {LIVENESS:?} (probe deadline {:?})",
        liveness::deadline(LIVENESS)
    );
    println!("| frozen | trials | noticed, median | range | back and read, median | range |");
    println!("|---|---|---|---|---|---|");
    summary("redis-server (SIGSTOP)", &redis_samples);
    summary("Docker behind socat (SIGSTOP)", &docker_samples);
}
