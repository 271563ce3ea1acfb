//! Model benchmarks: observations a second through `State::apply` (a
//! realistic mix over many evaluations, and the worst case of one
//! evaluation flooded), and the heap each tracked evaluation costs, counted
//! by a global allocator in this binary. Figures go in BENCHMARKS.md; no
//! timing is asserted anywhere.
//!
//! `cargo bench --bench model` runs everything (release profile); the heap
//! report is printed first, then the live logs' flood and the growth
//! pauses, then criterion's groups. A filter that names no group
//! (`cargo bench --bench model -- heap`) runs only the first three.

mod support;

use evaltop::model::EngineName;
use support::{T0_MS, eval_id, mix};

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use evaltop::console::{Console, ConsoleConfig};

use evaltop::model::live_logs::{LiveLogLimits, LiveLogs};
use evaltop::model::{
    ContainerAction, ContainerEvent, EvalRecord, LogMessage, Observation, RedisSnapshot, Source,
    State, Status, StatusMessage, Ts,
};
use evaltop::sources::Received;

// ---------------------------------------------------------------------------
// A counting allocator: live requested bytes and live blocks, counted only
// while `COUNTING` is on, so that the throughput runs pay one relaxed load.

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);

#[global_allocator]
static GLOBAL: Counting = Counting;

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are only arithmetic on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(layout.size() as isize, Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_sub(layout.size() as isize, Relaxed);
            LIVE_BLOCKS.fetch_sub(1, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Relaxed) {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
        }
        new
    }
}

/// Live (bytes, blocks) as counted so far.
fn heap() -> (isize, isize) {
    (LIVE_BYTES.load(Relaxed), LIVE_BLOCKS.load(Relaxed))
}

// ---------------------------------------------------------------------------
// Observations shaped like the platform's.

/// Evaluations in flight at once: their steps are interleaved, as the
/// sources deliver them, rather than one evaluation's whole life at a time.
const IN_FLIGHT: usize = 500;
/// Steps of one evaluation's life (`step`).
const STEPS: usize = 12;

/// A full 64-hex container id.
fn container_id(i: usize) -> String {
    let h = mix(i);
    format!("{h:08x}{:056x}", i as u128)
}

fn docker(i: usize, action: ContainerAction, at: Ts, exit: Option<i64>) -> Observation {
    Observation::DockerEvent(ContainerEvent {
        engine: EngineName::default(),
        container_id: container_id(i),
        eval_id: eval_id(i),
        action,
        at,
        executor: Some(format!("executor-{}", i % 4)),
        created_at_label: Some(Ts(T0_MS + i as i64 * 10).rfc3339()),
        timeout_label: Some("3600".to_string()),
        signal: None,
        exit_code_attr: exit,
    })
}

fn status(i: usize, status: Status) -> Observation {
    let failed = status == Status::Failed;
    let terminal = status.is_terminal();
    Observation::RedisStatus {
        channel_status: status,
        message: StatusMessage {
            eval_id: eval_id(i),
            status: Some(status),
            executor_id: Some(format!("executor-{}", i % 4)),
            container_id: (status == Status::Running).then(|| container_id(i)[..12].to_string()),
            timeout_secs: Some(3600),
            exit_code: terminal.then_some(i64::from(failed)),
            output_len: terminal.then_some(if failed { 0 } else { 1234 }),
            error_len: terminal.then_some(if failed { 180 } else { 0 }),
            error_excerpt: failed.then(|| {
                "Traceback (most recent call last):\n  File \"main.py\", line 3\nZeroDivisionError: division by zero".to_string()
            }),
            manual_update: false,
            reported_at: terminal.then_some(Ts(T0_MS + i as i64 * 10 + 5_000)),
        },
    }
}

fn log(i: usize, n: i64, heartbeat: bool) -> Observation {
    Observation::RedisLog(LogMessage {
        eval_id: eval_id(i),
        sequence: Some(n),
        content: if heartbeat {
            String::new()
        } else {
            format!(
                "epoch {n}/4 step {i}: loss=0.{:04} accuracy=0.9{n}12 lr=3e-4\n",
                i % 10_000
            )
        },
        is_heartbeat: heartbeat,
        is_final: n == 4,
        executor_id: Some(format!("executor-{}", i % 4)),
    })
}

/// Step `s` of evaluation `i`'s life: queued, create, start, running, four
/// log lines and a heartbeat, die, completed (one in ten failed), destroy.
/// Four Docker events, three status messages, five log messages.
fn step(i: usize, s: usize) -> Observation {
    let at = Ts(T0_MS + i as i64 * 10 + s as i64 * 500);
    let failed = i.is_multiple_of(10);
    match s {
        0 => status(i, Status::Queued),
        1 => docker(i, ContainerAction::Create, at, None),
        2 => docker(i, ContainerAction::Start, at, None),
        3 => status(i, Status::Running),
        4..=7 => log(i, s as i64 - 3, false),
        8 => log(i, 0, true),
        9 => docker(i, ContainerAction::Die, at, Some(i64::from(failed))),
        10 => status(
            i,
            if failed {
                Status::Failed
            } else {
                Status::Completed
            },
        ),
        _ => docker(i, ContainerAction::Destroy, at, None),
    }
}

/// The lives of evaluations `ids`, interleaved `IN_FLIGHT` at a time.
fn lifecycles(ids: std::ops::Range<usize>) -> Vec<Observation> {
    let mut out = Vec::with_capacity(ids.len() * STEPS);
    let ids: Vec<usize> = ids.collect();
    for block in ids.chunks(IN_FLIGHT) {
        for s in 0..STEPS {
            out.extend(block.iter().map(|&i| step(i, s)));
        }
    }
    out
}

/// A state whose sources are up and have read everything: the flags and
/// the merge rules run as they do live.
fn connected() -> State {
    let mut state = State::default();
    let t0 = Ts(T0_MS);
    for source in [Source::Docker(EngineName::default()), Source::Redis] {
        let detail = "bench".to_string();
        state.apply(Observation::SourceUp { source, detail }, t0);
    }
    let list = Observation::DockerList {
        engine: EngineName::default(),
        containers: Vec::new(),
        requested_at: t0,
    };
    state.apply(list, t0);
    state.apply(Observation::RedisKeys(RedisSnapshot::default()), t0);
    state
}

/// Observations as the app loop drains them: in batches (it takes what the
/// channel holds, up to 20,000). Each batch's buffer is freed after it is
/// applied, as the channel's blocks are; one buffer for a whole run would
/// instead make glibc consolidate every freed string at its end, cold.
const BATCH: usize = 1_000;

type Batches = Vec<Vec<Observation>>;

fn batches(observations: Vec<Observation>) -> Batches {
    let mut out = Vec::with_capacity(observations.len().div_ceil(BATCH));
    let mut rest = observations.into_iter().peekable();
    while rest.peek().is_some() {
        out.push(rest.by_ref().take(BATCH).collect());
    }
    out
}

fn count(batches: &Batches) -> u64 {
    batches.iter().map(|b| b.len() as u64).sum()
}

/// Applies each observation at a clock that advances 1 ms per observation.
fn apply_all(state: &mut State, batches: Batches) {
    let mut n = 0;
    for batch in batches {
        for observation in batch {
            state.apply(observation, Ts(T0_MS + n));
            n += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Heap per tracked evaluation.

/// Heap of a state built from `observations` of `n` evaluations: total,
/// live logs, and what is left per evaluation without them.
fn heap_report(label: &str, n: usize, observations: impl FnOnce() -> Vec<Observation>) {
    // Counting from before the observations are built: what they carry
    // moves into the state or is freed, and both must be seen.
    COUNTING.store(true, Relaxed);
    let (bytes0, blocks0) = heap();
    let observations = batches(observations());
    let count = count(&observations);
    let mut state = connected();
    apply_all(&mut state, observations);
    let (bytes1, blocks1) = heap();
    let logs = std::mem::take(&mut state.live_logs);
    let before_logs = heap();
    drop(logs);
    let after_logs = heap();
    // The table's rows: one `Row` per evaluation, kept by the view.
    let mut table = evaltop::view::TableView::default();
    table.refresh(&state, Ts(T0_MS + count as i64));
    let with_table = heap();
    COUNTING.store(false, Relaxed);

    let total = (bytes1 - bytes0) as f64;
    let blocks = (blocks1 - blocks0) as f64;
    let logs_bytes = (before_logs.0 - after_logs.0) as f64;
    let logs_blocks = (before_logs.1 - after_logs.1) as f64;
    let rest = total - logs_bytes;
    let rest_blocks = blocks - logs_blocks;
    let n = n as f64;
    println!(
        "heap/{label}: {n} evaluations from {count} observations\n\
         \x20 total       {:>8.0} B/eval ({:.1} blocks/eval)\n\
         \x20 live logs   {:>8.0} B/eval ({:.1} blocks/eval)\n\
         \x20 logs aside  {:>8.0} B/eval ({:.1} blocks/eval; +16 B/block malloc overhead: {:.0} B)\n\
         \x20 table rows  {:>8.0} B/eval (TableView after a refresh)\n\
         \x20 record map  capacity {} for {} records",
        total / n,
        blocks / n,
        logs_bytes / n,
        logs_blocks / n,
        rest / n,
        rest_blocks / n,
        (rest + 16.0 * rest_blocks) / n,
        (with_table.0 - after_logs.0) as f64 / n,
        state.evals.capacity(),
        state.evals.len(),
    );
    black_box((&state, &table));
}

/// Populations of completed lives: 10k, 100k, just past the map of
/// records' doubling (114,689 is 7/8 of 131,072 buckets, plus one: its slack
/// per record is then the largest) and 300k.
const BENCH_SIZES: [usize; 4] = [10_000, 100_000, 114_689, 300_000];

fn heap_reports(sizes: &[usize]) {
    println!(
        "size_of: EvalRecord {} B, TimelineEntry {} B, Row {} B",
        size_of::<EvalRecord>(),
        size_of::<evaltop::model::TimelineEntry>(),
        size_of::<evaltop::view::Row>(),
    );
    for &n in sizes {
        heap_report(&format!("completed_lifecycle_{n}"), n, || lifecycles(0..n));
    }
    let n = sizes
        .iter()
        .copied()
        .find(|&n| n >= 100_000)
        .unwrap_or(sizes[0]);
    // Mid-life: queued, created, started, running, two log lines.
    heap_report("running", n, || {
        let mut out = Vec::with_capacity(n * 6);
        let ids: Vec<usize> = (0..n).collect();
        for block in ids.chunks(IN_FLIGHT) {
            for s in 0..6 {
                out.extend(block.iter().map(|&i| step(i, s)));
            }
        }
        out
    });
    // Only Redis knows it: one queued message.
    heap_report("queued_only", n, || {
        (0..n).map(|i| status(i, Status::Queued)).collect()
    });
}

/// The live logs under a flood of short messages: what they hold on the
/// heap against the total bound they are configured with.
fn live_logs_flood(messages: usize, evals: usize, message_len: usize, limits: LiveLogLimits) {
    let ids: Vec<String> = (0..evals).map(eval_id).collect();
    let line = format!("{}\n", "x".repeat(message_len.saturating_sub(1)));
    COUNTING.store(true, Relaxed);
    let (bytes0, blocks0) = heap();
    let mut logs = LiveLogs::new(limits);
    for n in 0..messages {
        logs.push(&ids[n % evals], Ts(T0_MS + n as i64), line.clone(), false);
    }
    let (bytes1, blocks1) = heap();
    COUNTING.store(false, Relaxed);
    let held = (bytes1 - bytes0) as f64;
    let blocks = (blocks1 - blocks0) as f64;
    println!(
        "live_logs_flood: {messages} messages of {message_len} B over {evals} evaluations, \
         bound {} KiB total / {} KiB each: charged {} KiB, heap {:.0} KiB \
         (+16 B/block malloc overhead: {:.0} KiB), {:.1}x the bound",
        limits.total_bytes / 1024,
        limits.per_eval_bytes / 1024,
        logs.total_bytes() / 1024,
        held / 1024.0,
        (held + 16.0 * blocks) / 1024.0,
        (held + 16.0 * blocks) / limits.total_bytes as f64,
    );
    black_box(&logs);
}

/// The longest single `apply` calls while the state grows to `n`
/// evaluations: the map of records resizes (moving every record) as it
/// crosses each power-of-two capacity, and the loop applies nothing else
/// meanwhile.
fn growth_pauses(n: usize) {
    let mut state = connected();
    let mut longest: Vec<(Duration, usize)> = Vec::new();
    for (b, batch) in batches(lifecycles(0..n)).into_iter().enumerate() {
        for (k, observation) in batch.into_iter().enumerate() {
            let at = Ts(T0_MS + (b * BATCH + k) as i64);
            let start = Instant::now();
            state.apply(observation, at);
            let took = start.elapsed();
            if took > Duration::from_millis(1) {
                longest.push((took, state.evals.len()));
            }
        }
    }
    longest.sort_by_key(|&(took, _)| std::cmp::Reverse(took));
    longest.truncate(6);
    let pauses: Vec<String> = longest
        .iter()
        .map(|(took, len)| format!("{:.1} ms at {len} records", took.as_secs_f64() * 1e3))
        .collect();
    println!(
        "growth/{n}: single applies over 1 ms: {}",
        if pauses.is_empty() {
            "none".to_string()
        } else {
            pauses.join(", ")
        }
    );
}

// ---------------------------------------------------------------------------
// Throughput.

/// The `g`-th observation of the lives of evaluations `first..`, in the
/// interleaved order of `lifecycles`.
fn lifecycle_step(first: usize, g: usize) -> Observation {
    let per_block = IN_FLIGHT * STEPS;
    let (block, within) = (g / per_block, g % per_block);
    step(
        first + block * IN_FLIGHT + within % IN_FLIGHT,
        within / IN_FLIGHT,
    )
}

/// Applies observations `0..len` of `source` to `state`, timing only the
/// applying. Each batch is built just before it is applied, as the sources
/// build them just before the loop drains them: its strings are warm in the
/// cache, as they are live. (Built all up front, a run reads 40 MB of cold
/// strings and measures cache misses instead of the model.)
fn timed_apply(state: &mut State, len: usize, source: &dyn Fn(usize) -> Observation) -> Duration {
    let mut total = Duration::ZERO;
    for first in (0..len).step_by(BATCH) {
        let batch: Vec<Observation> = (first..len.min(first + BATCH)).map(source).collect();
        let start = Instant::now();
        for (k, observation) in batch.into_iter().enumerate() {
            state.apply(observation, Ts(T0_MS + (first + k) as i64));
        }
        total += start.elapsed();
    }
    total
}

/// A criterion routine: `iters` runs of `len` observations from `source`,
/// each onto a fresh clone of `base` (cloned and dropped untimed).
fn runs(
    base: &State,
    len: usize,
    source: &dyn Fn(usize) -> Observation,
) -> impl FnMut(u64) -> Duration {
    move |iters| {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let mut state = base.clone();
            total += timed_apply(&mut state, len, source);
            black_box(&state);
        }
        total
    }
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("apply");
    let base = connected();

    // Realistic: 20,000 evaluations' whole lives into a fresh state.
    let fresh_len = 20_000 * STEPS;
    let fresh = |g| lifecycle_step(0, g);
    group.throughput(Throughput::Elements(fresh_len as u64));
    group.bench_function("mix_20k_evals_fresh", |b| {
        b.iter_custom(runs(&base, fresh_len, &fresh))
    });

    // The same mix arriving while 100,000 evaluations are already tracked:
    // a big map, cold records. Its map has room for the 10,000 new ones, so
    // no resize is timed here (`growth_pauses` reports those).
    let mut tracked = connected();
    apply_all(&mut tracked, batches(lifecycles(0..100_000)));
    let onto_len = 10_000 * STEPS;
    let onto = |g| lifecycle_step(100_000, g);
    group.throughput(Throughput::Elements(onto_len as u64));
    group.bench_function("mix_10k_evals_onto_100k", |b| {
        b.iter_custom(runs(&tracked, onto_len, &onto))
    });
    drop(tracked);

    // The whole application path per observation: the events pane's
    // summary as well as the model.
    group.throughput(Throughput::Elements(fresh_len as u64));
    group.bench_function("console_observe_mix_20k_evals_fresh", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut console = Console::new(
                    base.clone(),
                    ConsoleConfig {
                        operator: "bench".into(),
                        ..ConsoleConfig::default()
                    },
                );
                for first in (0..fresh_len).step_by(BATCH) {
                    let batch: Vec<Observation> =
                        (first..fresh_len.min(first + BATCH)).map(fresh).collect();
                    let start = Instant::now();
                    for (k, observation) in batch.into_iter().enumerate() {
                        let at = Ts(T0_MS + (first + k) as i64);
                        console.observe(Received { at, observation });
                    }
                    total += start.elapsed();
                }
                black_box(&console);
            }
            total
        })
    });

    // Worst cases: 100,000 messages about one evaluation.
    const FLOOD: usize = 100_000;
    let status_flood = |n: usize| {
        let s = [Status::Running, Status::Completed, Status::Failed][n % 3];
        status(7, s)
    };
    let log_flood = |n: usize| log(7, n as i64 % 4, false);
    let docker_flood = |n: usize| {
        let action = [
            ContainerAction::Create,
            ContainerAction::Start,
            ContainerAction::Die,
            ContainerAction::Destroy,
        ][n % 4];
        docker(7, action, Ts(T0_MS + n as i64), Some(1))
    };
    let mix_flood = |n: usize| step(7, n % STEPS);
    let floods: [(&str, &dyn Fn(usize) -> Observation); 4] = [
        ("one_eval_status_flood", &status_flood),
        ("one_eval_log_flood", &log_flood),
        ("one_eval_docker_flood", &docker_flood),
        ("one_eval_mix_flood", &mix_flood),
    ];
    group.throughput(Throughput::Elements(FLOOD as u64));
    for (name, source) in floods {
        group.bench_function(name, |b| b.iter_custom(runs(&base, FLOOD, source)));
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = throughput
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and
    // then a small heap report checks that the code runs.
    let benching = std::env::args().any(|arg| arg == "--bench");
    heap_reports(if benching {
        &BENCH_SIZES
    } else {
        &[1_000, 1_001]
    });
    let flood_limits = LiveLogLimits {
        per_eval_bytes: 64 * 1024,
        total_bytes: if benching { 16 << 20 } else { 64 << 10 },
    };
    for len in [8, 80] {
        live_logs_flood(
            if benching { 4_000_000 } else { 20_000 },
            1_000,
            len,
            flood_limits,
        );
    }
    growth_pauses(if benching { 240_000 } else { 1_000 });
    benches();
    Criterion::default().configure_from_args().final_summary();
}
