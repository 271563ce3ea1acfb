//! The Scale issue's figures (issue 11), measured on the real binary with
//! real Docker and Redis, each beside its baseline from the same run, with
//! the load average at each: the machine is shared, and the load moves the
//! figures. It starts its own redis-servers (ports 6540-6559), busybox
//! containers (named `drv-...`, labelled `drv-bench=<run>`) and tmux
//! servers (`drv-...`), drives evaltop's TUI in tmux, and removes all of it
//! at the end, on failure or on Ctrl-C (not on SIGKILL). Runs may overlap:
//! each touches only its own. It asserts nothing: it reports.
//!
//! cargo build --release && cargo run --release --example bench_live -- \
//!     [--evaltop PATH] [--only die,cpu,flood,rss,boot,idle] \
//!     [--sizes 0,10000,100000] [--trials 50] [--oxker PATH] [--quick]

#[path = "../../tests/integration/support/mod.rs"]
mod support;

mod cleanup;
mod containers;
mod evaltop;
mod figures;
mod payloads;
mod procfs;
mod publisher;
mod redis_server;
mod report;
mod screen;
mod traffic;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use color_eyre::eyre::{Result, bail};

use figures::{Context, Plan};

#[derive(Parser)]
#[command(about = "The Scale issue's figures on the real binary, beside their baselines")]
struct Args {
    /// The binary measured. Default: the evaltop built beside this example.
    #[arg(long)]
    evaltop: Option<PathBuf>,
    /// Only these figures (comma-separated). Default: all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<Figure>,
    /// Completed lives tracked during the die figure, in increasing order.
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<u64>>,
    /// Kills per size in the die figure.
    #[arg(long)]
    trials: Option<usize>,
    /// oxker, for the idle figure's comparison. Default: oxker on PATH.
    #[arg(long)]
    oxker: Option<PathBuf>,
    /// Small sizes and few trials: checks that the driver works (minutes,
    /// not the full run's half hour); the figures mean little.
    #[arg(long)]
    quick: bool,
}

/// In the order they run: boot and idle last, together, since they share
/// the fleet of containers and its keys (whose TTLs run from their making).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Figure {
    Die,
    Cpu,
    Flood,
    Rss,
    Boot,
    Idle,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("bench_live: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the figures asked for; how many failed.
async fn run(args: Args) -> Result<usize> {
    let mut plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    if let Some(sizes) = args.sizes {
        plan.die_sizes = sizes;
    }
    if let Some(trials) = args.trials {
        plan.die_trials = trials;
    }
    let evaltop = match args.evaltop {
        Some(path) => path,
        None => beside_this_example()?,
    };
    if !evaltop.is_file() {
        bail!(
            "{} is missing: build it first (cargo build --release), or pass --evaltop PATH",
            evaltop.display()
        );
    }
    let oxker = args.oxker.or_else(|| on_path("oxker"));
    let mut ctx = Context::new(evaltop.clone(), oxker, plan);
    cleanup::set_run(&ctx.run);
    cleanup::on_interrupt();
    print_preamble(&ctx, args.quick);
    let others = tokio::task::block_in_place(|| cleanup::others(&ctx.run));
    if others > 0 {
        report::note(format!(
            "{others} containers of other runs of this driver are on the engine (another run is going, or one was \
             killed: then `docker rm -f $(docker ps -aq --filter label={})`)",
            cleanup::LABEL
        ));
    }
    let mut figures = if args.only.is_empty() {
        vec![
            Figure::Die,
            Figure::Cpu,
            Figure::Flood,
            Figure::Rss,
            Figure::Boot,
            Figure::Idle,
        ]
    } else {
        args.only
    };
    figures.sort();
    figures.dedup();
    let mut failed = 0;
    for figure in figures {
        let result = match figure {
            Figure::Die => figures::die::run(&ctx).await,
            Figure::Cpu => figures::cpu::run(&ctx).await,
            Figure::Flood => figures::flood::run(&ctx).await,
            Figure::Rss => figures::rss::run(&ctx).await,
            Figure::Boot => figures::boot::run(&ctx).await,
            Figure::Idle => figures::idle::run(&ctx).await,
        };
        if let Err(error) = result {
            failed += 1;
            println!("  FAILED ({figure:?}): {error:#}");
        }
    }
    if let Err(error) = ctx.remove_fleet().await {
        println!("  could not remove the fleet's containers: {error:#}");
    }
    // A failed figure may have left containers: removed before the engine,
    // and the image with it, goes with the context.
    let run = ctx.run.clone();
    tokio::task::block_in_place(|| cleanup::remove_labelled(&run));
    drop(ctx);
    println!("\nload average at the end: {}", procfs::loadavg());
    Ok(failed)
}

fn print_preamble(ctx: &Context, quick: bool) {
    let version = std::process::Command::new(&ctx.evaltop)
        .arg("--version")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "bench_live{}: {} ({version}); run {}; {cores} cores; load {}; {}",
        if quick { " --quick" } else { "" },
        ctx.evaltop.display(),
        ctx.run,
        procfs::loadavg(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
    );
}

/// `target/<profile>/evaltop`, beside `target/<profile>/examples/`.
fn beside_this_example() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    match exe.parent().and_then(|examples| examples.parent()) {
        Some(profile) => Ok(profile.join("evaltop")),
        None => bail!("cannot tell where {} was built", exe.display()),
    }
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
