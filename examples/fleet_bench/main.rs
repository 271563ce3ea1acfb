//! Fleet benchmark driver (not a test): bootstrap of two engines' sources
//! and Redis to the first full frame, against `docker ps -a` on both
//! engines in parallel; and idle CPU of two engines x N containers against
//! one engine with 2N. The engines, their containers (created, labelled as
//! the executor does, scoped by executor) and the Redis keys are made
//! beforehand (see BENCHMARKS.md, "Fleet"); this only measures.
//!
//! cargo run --release --example fleet_bench -- \
//!   --a unix:///var/run/docker.sock --b unix:///tmp/b/docker.sock \
//!   --redis redis://127.0.0.1:6390 --exec-a bench-a --exec-b bench-b --exec-a2 bench-a2

use std::time::{Duration, Instant};

use clap::Parser;
use evaltop::model::{EngineName, Settings, State, Ts};
use evaltop::names::Names;
use evaltop::sources::{Received, docker, redis};
use evaltop::view::TableView;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    a: String,
    #[arg(long)]
    b: String,
    #[arg(long)]
    redis: String,
    #[arg(long)]
    exec_a: String,
    #[arg(long)]
    exec_b: String,
    /// A second executor on engine a: with exec_a, as many containers as
    /// both engines hold, on one engine.
    #[arg(long)]
    exec_a2: String,
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(long, default_value = "30")]
    idle_secs: u64,
}

fn spawn(
    engines: &[(&str, &str)],
    executors: &[String],
    redis_url: &str,
) -> (mpsc::Receiver<Received>, Vec<tokio::task::JoinHandle<()>>) {
    let (sink, rx) = mpsc::channel(16_384);
    let resync = Duration::from_secs(30);
    let mut tasks = Vec::new();
    for (name, url) in engines {
        tasks.push(tokio::spawn(docker::run(
            docker::DockerConfig {
                engine: EngineName::new(name),
                host: Some(url.to_string()),
                executors: executors.to_vec(),
                resync,
                liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
                names: Names::default(),
            },
            sink.clone(),
        )));
    }
    tasks.push(tokio::spawn(redis::run(
        redis::RedisConfig {
            url: redis_url.to_string(),
            resync,
            liveness: evaltop::sources::liveness::DEFAULT_PERIOD,
            names: Names::default(),
            backlog_bytes: redis::DEFAULT_BACKLOG_BYTES,
        },
        sink,
    )));
    (rx, tasks)
}

/// Sources started to the first full frame (every engine listed, the keys
/// read, the table refreshed and drawn): its time, and the state.
async fn bootstrap(
    engines: &[(&str, &str)],
    executors: &[String],
    redis_url: &str,
) -> (
    Duration,
    State,
    Vec<tokio::task::JoinHandle<()>>,
    mpsc::Receiver<Received>,
) {
    let started = Instant::now();
    let (mut rx, tasks) = spawn(engines, executors, redis_url);
    let mut state = State::new(Settings {
        executors: executors.to_vec(),
        ..Settings::default()
    });
    for (name, _) in engines {
        state.add_engine(EngineName::new(name));
    }
    while !(state.engines_synced() && state.redis.synced()) {
        let received = rx.recv().await.expect("sources run");
        state.apply(received.observation, received.at);
        while let Ok(more) = rx.try_recv() {
            state.apply(more.observation, more.at);
        }
    }
    let now = Ts::now();
    let mut table = TableView::default();
    table.refresh(&state, now);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    terminal
        .draw(|frame| evaltop::ui::draw_with(frame, &state, &table, &Default::default(), now))
        .expect("draw");
    (started.elapsed(), state, tasks, rx)
}

fn docker_ps(url: &str) -> std::process::Child {
    std::process::Command::new("docker")
        .args(["-H", url, "ps", "-a", "--no-trunc"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("docker ps")
}

fn cpu_secs() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// CPU seconds per minute while the sources idle for `secs` (applying what
/// arrives, as the app loop does; resyncs included).
async fn idle(mut rx: mpsc::Receiver<Received>, mut state: State, secs: u64) -> f64 {
    let cpu0 = cpu_secs();
    let until = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(received)) = tokio::time::timeout_at(until, rx.recv()).await {
        state.apply(received.observation, received.at);
    }
    (cpu_secs() - cpu0) * 60.0 / secs as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let fleet = [("exec-a", args.a.as_str()), ("exec-b", args.b.as_str())];
    let fleet_execs = vec![args.exec_a.clone(), args.exec_b.clone()];
    let (mut boot, mut ps) = (Vec::new(), Vec::new());
    let mut evals = 0;
    for _ in 0..args.runs {
        let t = Instant::now();
        let (mut a, mut b) = (docker_ps(&args.a), docker_ps(&args.b));
        a.wait().expect("docker ps a");
        b.wait().expect("docker ps b");
        ps.push(t.elapsed().as_secs_f64() * 1000.0);
        let (took, state, tasks, _rx) = bootstrap(&fleet, &fleet_execs, &args.redis).await;
        evals = state.evals.len();
        boot.push(took.as_secs_f64() * 1000.0);
        tasks.iter().for_each(|t| t.abort());
    }
    let (boot_ms, ps_ms) = (median(boot.clone()), median(ps.clone()));
    println!("bootstrap, 2 engines, {evals} evaluations: median {boot_ms:.0} ms (runs {boot:.0?})");
    println!("docker ps -a on both engines in parallel: median {ps_ms:.0} ms (runs {ps:.0?})");
    println!("ratio {:.2}", boot_ms / ps_ms);

    let (_, state, tasks, rx) = bootstrap(&fleet, &fleet_execs, &args.redis).await;
    let two = idle(rx, state, args.idle_secs).await;
    tasks.iter().for_each(|t| t.abort());
    let one_execs = vec![args.exec_a.clone(), args.exec_a2.clone()];
    let (_, state, tasks, rx) = bootstrap(&fleet[..1], &one_execs, &args.redis).await;
    let n_one = state.evals.len();
    let one = idle(rx, state, args.idle_secs).await;
    tasks.iter().for_each(|t| t.abort());
    println!(
        "idle CPU, 2 engines: {two:.3} CPU-s/min; 1 engine with {n_one} evaluations: {one:.3} CPU-s/min; ratio {:.2}",
        two / one
    );
}
