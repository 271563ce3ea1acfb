//! The figures, one module each, and what they share: the options
//! of the run, the engine (connected and its image imported once) and the
//! fleet of created containers that `boot` and `idle` both use.

pub mod boot;
pub mod cpu;
pub mod die;
pub mod flood;
pub mod idle;
pub mod rss;
pub mod watch;

use std::path::PathBuf;
use std::time::Duration;

use color_eyre::eyre::Result;
use tokio::sync::OnceCell;

use crate::containers::Engine;
use crate::evaltop::Tui;
use crate::payloads::Ids;
use crate::support::docker::random_hex;

/// evaltop subscribes to two patterns (`evaluation:*`, `storage:evaluation:*`):
/// how its subscriber is told apart in CLIENT LIST and Redis's log.
pub const EVALTOP_PATTERNS: u32 = 2;
/// `redis-cli psubscribe 'evaluation:*'`'s one pattern.
pub const TRIVIAL_PATTERNS: u32 = 1;

/// The sizes and counts a run uses: the issue's, or small ones (`--quick`)
/// to check that the driver works.
#[derive(Clone, Debug)]
pub struct Plan {
    pub die_sizes: Vec<u64>,
    pub die_trials: usize,
    /// Evaluations that get the die figure's steady traffic (and so count
    /// in its sizes).
    pub running_pool: usize,
    pub traffic_rate: u64,
    pub cpu_rate: u64,
    pub cpu_secs: u64,
    pub flood_lives: u64,
    pub fleet_containers: usize,
    pub fleet_keys: usize,
    pub boot_runs: usize,
    pub rss_sizes: Vec<u64>,
    pub idle_secs: u64,
    /// The rate completed lives are published at to fill evaltop before a
    /// figure: below what it ingests, so that Redis never drops it then.
    pub populate_rate: u64,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            die_sizes: vec![0, 10_000, 100_000],
            die_trials: 50,
            running_pool: 100,
            traffic_rate: 20_000,
            cpu_rate: 200_000,
            cpu_secs: 10,
            flood_lives: 200_000,
            fleet_containers: 1_000,
            fleet_keys: 10_000,
            boot_runs: 10,
            rss_sizes: vec![10_000, 100_000, 300_000],
            idle_secs: 60,
            populate_rate: 40_000,
        }
    }

    pub fn quick() -> Plan {
        Plan {
            die_sizes: vec![0, 2_000],
            die_trials: 5,
            cpu_secs: 2,
            flood_lives: 20_000,
            fleet_containers: 100,
            fleet_keys: 1_000,
            boot_runs: 3,
            rss_sizes: vec![2_000, 10_000],
            idle_secs: 10,
            ..Plan::full()
        }
    }
}

pub struct Context {
    pub evaltop: PathBuf,
    pub oxker: Option<PathBuf>,
    pub plan: Plan,
    /// This run's id: in container names, labels and executor ids.
    pub run: String,
    engine: OnceCell<Engine>,
    fleet: OnceCell<boot::Fleet>,
    next_id: std::sync::atomic::AtomicU32,
}

impl Context {
    pub fn new(evaltop: PathBuf, oxker: Option<PathBuf>, plan: Plan) -> Context {
        let run = random_hex();
        let start = u32::from_str_radix(&random_hex(), 16).unwrap_or(0) & 0x0fff_ffff;
        Context {
            evaltop,
            oxker,
            plan,
            run,
            engine: OnceCell::new(),
            fleet: OnceCell::new(),
            next_id: std::sync::atomic::AtomicU32::new(start),
        }
    }

    pub async fn engine(&self) -> Result<&Engine> {
        self.engine
            .get_or_try_init(|| Engine::connect(&self.run))
            .await
    }

    /// The containers and keys of `boot` and `idle`, made on first use.
    pub async fn fleet(&self) -> Result<&boot::Fleet> {
        self.fleet.get_or_try_init(|| boot::Fleet::make(self)).await
    }

    /// Removes the fleet's containers, if it was made.
    pub async fn remove_fleet(&mut self) -> Result<()> {
        if let Some(fleet) = self.fleet.take() {
            fleet.remove(self.engine().await?).await?;
        }
        Ok(())
    }

    /// Ids that no other part of the run uses: a block of `count` numbers.
    pub fn ids(&self, count: u32) -> Ids {
        let start = self
            .next_id
            .fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        Ids::new(start)
    }

    /// This run's executor, as evaltop is scoped to it.
    pub fn executor(&self, name: &str) -> String {
        format!("drv-{name}-{}", self.run)
    }

    pub fn tui(&self, redis_url: &str, executors: &[&str]) -> Result<Tui> {
        Tui::start(&self.evaltop, redis_url, executors)
    }
}

/// How long publishing `messages` at `rate` and evaltop taking them in may
/// take, generously: on a shared machine the rate is not always reached.
pub fn populate_within(messages: u64, rate: u64) -> Duration {
    Duration::from_secs(60 + 4 * messages / rate.max(1))
}

/// Publishes `lives` completed lives for `executor` at the plan's populate
/// rate, then waits until evaltop's header counts `expect_total`. Says
/// whether Redis dropped evaltop when the count is never reached.
pub async fn populate(
    ctx: &Context,
    redis: &crate::redis_server::RedisServer,
    tui: &mut Tui,
    executor: &str,
    lives: u64,
    expect_total: u64,
) -> Result<()> {
    use crate::traffic::Lives;
    let rate = ctx.plan.populate_rate;
    let dropped_before = redis.dropped(EVALTOP_PATTERNS).await?;
    let messages = Lives::new(ctx.ids(lives as u32), executor, lives, 0);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    crate::publisher::steady(redis.port(), rate, messages, stop).await?;
    let within = populate_within(lives * Lives::per_life(0), rate);
    let waited = tokio::task::block_in_place(|| tui.wait_count(expect_total, within));
    if let Err(error) = waited {
        let dropped = redis.dropped(EVALTOP_PATTERNS).await? - dropped_before;
        color_eyre::eyre::bail!(
            "{error}\n(Redis dropped evaltop's subscriber {dropped} times for its output buffer meanwhile)"
        );
    }
    Ok(())
}
