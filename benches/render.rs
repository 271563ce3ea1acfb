//! Rendering benchmarks at 100,000 tracked evaluations: a frame (draw only,
//! into ratatui's `TestBackend` at 200x50), the table's refresh (flags,
//! counts, filter and sort over every record), and a Docker `die` reaching
//! the screen in-process (observe, refresh, draw). Figures go in
//! BENCHMARKS.md; no timing is asserted anywhere.
//!
//! `cargo bench --bench render` runs everything (release profile).

mod support;

use evaltop::model::EngineName;
use support::{T0_MS, eval_id, mix};

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use evaltop::console::{Console, ConsoleConfig, Input};

use evaltop::model::{
    ContainerAction, ContainerEvent, ContainerState, LogMessage, Observation, RedisSnapshot,
    Source, State, Status, StatusMessage, Ts,
};
use evaltop::sources::Received;
use evaltop::ui::screen::draw_console;
use evaltop::view::{Column, Filter, TableView};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

/// The screen is drawn two hours later.
const NOW: Ts = Ts(T0_MS + 2 * 3600 * 1000);
const WIDTH: u16 = 200;
/// Evaluations tracked in the large cases.
const BIG: usize = 100_000;
const HEIGHT: u16 = 50;

fn container_id(i: usize) -> String {
    format!("{:08x}{:056x}", mix(i), i as u128)
}

fn secs(ts: Ts, s: i64) -> Ts {
    ts.plus_millis(s * 1000)
}

fn docker(i: usize, action: ContainerAction, at: Ts, created: Ts, timeout: u32) -> Observation {
    Observation::DockerEvent(ContainerEvent {
        engine: EngineName::default(),
        container_id: container_id(i),
        eval_id: eval_id(i),
        action,
        at,
        executor: Some(format!("executor-{}", i % 4)),
        created_at_label: Some(created.rfc3339()),
        timeout_label: Some(timeout.to_string()),
        signal: None,
        exit_code_attr: (action == ContainerAction::Die).then_some(i64::from(i.is_multiple_of(7))),
    })
}

fn status(i: usize, status: Status, error_len: usize) -> Observation {
    let terminal = status.is_terminal();
    Observation::RedisStatus {
        channel_status: status,
        message: StatusMessage {
            eval_id: eval_id(i),
            status: Some(status),
            executor_id: Some(format!("executor-{}", i % 4)),
            container_id: Some(container_id(i)[..12].to_string()),
            timeout_secs: Some(3600),
            exit_code: terminal.then_some(i64::from(status == Status::Failed)),
            output_len: terminal.then_some(if status == Status::Completed { 900 } else { 0 }),
            error_len: terminal.then_some(error_len),
            error_excerpt: (error_len > 0).then(|| "ZeroDivisionError: division by zero".into()),
            ..StatusMessage::default()
        },
    }
}

fn log(i: usize, n: i64) -> Observation {
    Observation::RedisLog(LogMessage {
        eval_id: eval_id(i),
        sequence: Some(n),
        content: format!("epoch {n}: loss=0.{:04}\n", i % 10_000),
        executor_id: Some(format!("executor-{}", i % 4)),
        ..LogMessage::default()
    })
}

/// What evaluation `i` is, one in a hundred at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Completed,
    Running,
    Failed,
    Overdue,
    LostCompletion,
    Queued,
    EmptyFailure,
}

fn kind(i: usize) -> Kind {
    match i % 100 {
        0..70 => Kind::Completed,
        70..80 => Kind::Running,
        80..85 => Kind::Failed,
        85..88 => Kind::Overdue,
        88..91 => Kind::LostCompletion,
        91..95 => Kind::Queued,
        _ => Kind::EmptyFailure,
    }
}

/// Evaluation `i`'s observations, each with the time it was received.
fn life(i: usize, out: &mut Vec<(Ts, Observation)>) {
    let kind = kind(i);
    // Created 37 ms apart, like the `created_at` labels of a busy
    // platform (microseconds, read to the millisecond): few ties.
    let spread = i as i64 * 37;
    let created = match kind {
        Kind::Running => NOW.plus_millis(-(spread % 1_800_000) - 10_000),
        Kind::Overdue => NOW.plus_millis(-7_000_000 + spread % 60_000),
        Kind::LostCompletion => NOW.plus_millis(-3_600_000 - spread % 600_000),
        _ => Ts(T0_MS + 10_000 + spread % 7_000_000),
    };
    let timeout = if kind == Kind::Overdue { 600 } else { 3600 };
    let mut at = created;
    let mut push = |dt: i64, obs: Observation| {
        at = secs(at, dt);
        out.push((at, obs));
    };
    push(-1, status(i, Status::Queued, 0));
    if kind == Kind::Queued {
        return;
    }
    push(
        1,
        docker(i, ContainerAction::Create, created, created, timeout),
    );
    push(
        0,
        docker(i, ContainerAction::Start, created, created, timeout),
    );
    push(0, status(i, Status::Running, 0));
    for n in 0..3 {
        push(5, log(i, n));
    }
    if matches!(kind, Kind::Running | Kind::Overdue) {
        return;
    }
    // Received when it happened: -1 + 1 + 3 x 5 + 20 s after creation.
    let ended = secs(created, 35);
    push(20, docker(i, ContainerAction::Die, ended, created, timeout));
    match kind {
        Kind::LostCompletion => return,
        Kind::Failed => push(0, status(i, Status::Failed, 180)),
        Kind::EmptyFailure => push(0, status(i, Status::Failed, 0)),
        _ => push(0, status(i, Status::Completed, 0)),
    }
    push(
        0,
        docker(i, ContainerAction::Destroy, ended, created, timeout),
    );
}

/// A state tracking `n` evaluations, its sources up and synced since T0.
fn population(n: usize) -> State {
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
    let mut steps = Vec::with_capacity(n * 10);
    for i in 0..n {
        life(i, &mut steps);
    }
    steps.sort_by_key(|(at, _)| *at);
    for (at, observation) in steps {
        state.apply(observation, at.max(t0));
    }
    state
}

fn console(n: usize) -> Console {
    let mut console = Console::new(
        population(n),
        ConsoleConfig {
            operator: "bench".into(),
            ..ConsoleConfig::default()
        },
    );
    console.update(Input::Resized(Rect::new(0, 0, WIDTH, HEIGHT)), NOW);
    console.refresh_if_needed(NOW);
    console
}

fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("a test backend never fails")
}

/// Draws one frame; `tick` alternates the clock by a second, as the 1 s
/// tick does, so the age and runtime cells change and the diff against the
/// previous frame is not empty.
fn draw(terminal: &mut Terminal<TestBackend>, console: &Console, tick: &mut bool) {
    *tick = !*tick;
    let now = NOW.plus_millis(if *tick { 1000 } else { 0 });
    terminal
        .draw(|frame| {
            draw_console(frame, console, now);
        })
        .expect("a test backend never fails");
}

/// The screen's text, for the checks that the benchmarks draw what they
/// claim to draw.
fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for n in [50, 1_000, big()] {
        let console = console(n);
        assert_eq!(console.table().len(), n, "every evaluation is a row");
        let mut terminal = terminal();
        let mut tick = false;
        group.bench_with_input(BenchmarkId::new("table_200x50", n), &n, |b, _| {
            b.iter(|| draw(&mut terminal, &console, &mut tick))
        });
        if n == big() {
            // The selection at the bottom: the last page, not the first.
            let mut console = console;
            press(&mut console, KeyCode::End);
            group.bench_function(format!("table_200x50_last_page/{n}"), |b| {
                b.iter(|| draw(&mut terminal, &console, &mut tick))
            });
            // The events pane open under the table.
            press(&mut console, KeyCode::Char('e'));
            group.bench_function(format!("table_200x50_events_pane/{n}"), |b| {
                b.iter(|| draw(&mut terminal, &console, &mut tick))
            });
        }
    }
    group.finish();
}

fn refreshes(c: &mut Criterion) {
    let mut group = c.benchmark_group("refresh");
    let sizes = if big() == BIG {
        vec![1_000, 10_000, 50_000, BIG]
    } else {
        vec![big()]
    };
    for n in sizes {
        let state = population(n);
        let mut table = TableView::default();
        group.bench_with_input(BenchmarkId::new("default_sort", n), &n, |b, _| {
            b.iter(|| table.refresh(&state, NOW))
        });
        if n == big() {
            // Checked on a refresh of its own: a filtered run skips the
            // benchmark above.
            table.refresh(&state, NOW);
            let flagged = table.counts().flagged();
            assert!(flagged > n / 10, "flags are computed: {flagged}");
            println!("population/{n}: {flagged} flagged");
            let mut by_id = TableView::default();
            by_id.sort_by(Some(Column::Id));
            group.bench_function(format!("sort_by_id/{n}"), |b| {
                b.iter(|| by_id.refresh(&state, NOW))
            });
            let mut by_age = TableView::default();
            by_age.sort_by(Some(Column::Age));
            group.bench_function(format!("sort_by_age/{n}"), |b| {
                b.iter(|| by_age.refresh(&state, NOW))
            });
            let mut filtered = TableView::default();
            filtered.set_filter(Some(Filter::parse("status:running 00").expect("parses")));
            group.bench_function(format!("filter_status_and_text/{n}"), |b| {
                b.iter(|| filtered.refresh(&state, NOW))
            });
            black_box((&table, &by_id, &by_age, &filtered));
            follow_changes(&mut group, state, n);
        }
    }
    group.finish();
}

/// The refresh the loop makes under a stream: `changed` observations
/// (log lines of running evaluations, in turn) since the last one, then
/// `TableView::follow` (timed alone), as after each batch the loop drains.
fn follow_changes(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    mut state: State,
    n: usize,
) {
    let running: Vec<usize> = (0..n).filter(|&i| kind(i) == Kind::Running).collect();
    let mut table = TableView::default();
    table.refresh(&state, NOW);
    let mut turn = 0;
    for changed in [50, 500, 5_000] {
        group.bench_function(format!("follow_{changed}_changed/{n}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    for _ in 0..changed {
                        let i = running[turn % running.len()];
                        turn += 1;
                        state.apply(log(i, turn as i64), NOW);
                    }
                    let changes = state.take_changes();
                    let start = Instant::now();
                    table.follow(&state, &changes, NOW);
                    total += start.elapsed();
                }
                total
            })
        });
    }
    black_box(&table);
}

/// A running evaluation's container dies: observe the event, refresh the
/// table (or not), draw. Each iteration kills a different running
/// evaluation (the selected one, so its row is on screen); when they run
/// out, the state is rebuilt outside the timing.
///
/// The loop's two paths: when a refresh is due (25 ms since the last) it
/// runs before the draw; otherwise the frame is drawn from the rows of the
/// last refresh, whose cells read the record itself, so the container's
/// state and exit code show at once (its flags and place follow at the
/// next refresh).
fn die_to_screen(c: &mut Criterion) {
    let n = big();
    let running: Vec<usize> = (0..n).filter(|&i| kind(i) == Kind::Running).collect();
    let mut console = console(n);
    let mut terminal = terminal();
    let mut next = 0;

    // The die, observed and drawn (after a refresh or not), at `NOW`.
    let die = |console: &mut Console, terminal: &mut Terminal<TestBackend>, i, refresh| {
        let die = docker_die(i);
        console.observe(Received {
            at: NOW,
            observation: die,
        });
        if refresh {
            console.refresh_if_needed(NOW);
        }
        terminal
            .draw(|frame| {
                draw_console(frame, console, NOW);
            })
            .expect("a test backend never fails");
    };
    // Once, untimed, on both paths: the selected row shows `exited`.
    for refresh in [true, false] {
        let id = eval_id(running[next]);
        assert!(console.select(&id), "{id} is a row");
        die(&mut console, &mut terminal, running[next], refresh);
        next += 1;
        let text = screen_text(&terminal);
        let line = text.lines().find(|l| l.contains(&id)).expect("row drawn");
        assert!(line.contains("exited"), "refresh {refresh}: {line}");
        let state = console.state().evals[id.as_str()].container_state();
        assert_eq!(state, Some(ContainerState::Exited));
        console.refresh_if_needed(NOW);
    }

    let mut group = c.benchmark_group("die_to_screen");
    for refresh in [true, false] {
        let name = if refresh {
            format!("observe_refresh_draw/{n}")
        } else {
            format!("observe_draw/{n}")
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    if next == running.len() {
                        console = self::console(n);
                        next = 0;
                    }
                    let i = running[next];
                    next += 1;
                    console.select(&eval_id(i));
                    let start = Instant::now();
                    die(&mut console, &mut terminal, i, refresh);
                    total += start.elapsed();
                    // Untimed: the next die starts from rows that are up
                    // to date, as after a refresh.
                    console.refresh_if_needed(NOW);
                }
                total
            })
        });
    }
    group.finish();
}

fn docker_die(i: usize) -> Observation {
    let created = Ts(T0_MS);
    docker(i, ContainerAction::Die, NOW, created, 3600)
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = frames, refreshes, die_to_screen
}

/// `BIG` under `cargo bench`; under `cargo test --benches` (no `--bench`),
/// where criterion runs each benchmark once to check it works, a state
/// small enough to build quickly in a debug build.
fn big() -> usize {
    if std::env::args().any(|arg| arg == "--bench") {
        BIG
    } else {
        2_000
    }
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}

fn press(console: &mut Console, code: KeyCode) {
    console.update(Input::Key(KeyEvent::new(code, KeyModifiers::NONE)), NOW);
}
