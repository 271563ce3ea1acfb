//! Figure 2: evaltop's CPU per pub/sub message at a steady rate, against a
//! trivial subscriber (`redis-cli psubscribe 'evaluation:*'`, output thrown
//! away) on the same flood at the same time; and how far behind evaltop is
//! when the flood ends, and how long it takes to catch up.
//!
//! The flood is completed lives with live log lines (submitted, queued,
//! running, four log lines the last final, completed), prepared in memory
//! so that the driver's own encoding does not limit the rate.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail};

use super::{Context, EVALTOP_PATTERNS, TRIVIAL_PATTERNS};
use crate::cleanup;
use crate::evaltop::Header;
use crate::procfs;
use crate::publisher;
use crate::redis_server::{PUBSUB_UNLIMITED, RedisServer};
use crate::report::{self, thousands};
use crate::screen::Screen;
use crate::traffic::{Lives, Prepared};

use super::watch::Watcher;

/// What both subscribers get the flood by (evaltop's other pattern,
/// `storage:evaluation:*`, matches none of it).
const PATTERN: &str = "evaluation:*";
/// Log lines per life in the flood.
const LOGS_PER_LIFE: u64 = 4;
/// How long evaltop may take to catch up after the flood.
const CATCH_UP_WITHIN: Duration = Duration::from_secs(180);
/// A count that has not moved for this long, with no lag shown, will not
/// reach the total: messages were lost.
const STILL: Duration = Duration::from_secs(10);
const SUBSCRIBED_WITHIN: Duration = Duration::from_secs(10);

/// `redis-cli psubscribe 'evaluation:*' > /dev/null`, killed on drop.
pub struct TrivialSubscriber(Child);

impl TrivialSubscriber {
    pub fn start(port: u16) -> Result<TrivialSubscriber> {
        let child = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "psubscribe", PATTERN])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .wrap_err("cannot run redis-cli")?;
        cleanup::pid(child.id());
        Ok(TrivialSubscriber(child))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for TrivialSubscriber {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        cleanup::forget_pid(self.0.id());
    }
}

/// Waits until Redis lists pattern subscribers with each of `patterns`.
pub async fn wait_subscribed(redis: &RedisServer, patterns: &[u32]) -> Result<()> {
    let deadline = Instant::now() + SUBSCRIBED_WITHIN;
    loop {
        let subscribers = redis.pattern_subscribers().await?;
        if patterns
            .iter()
            .all(|p| subscribers.iter().any(|s| s.patterns == *p))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("Redis lists {subscribers:?}, not subscribers of {patterns:?} patterns");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until evaltop counts `lives`, or its count stands still without
/// lag short of it; then the count, and when it last moved.
fn catch_up(screen: &mut Screen, lives: u64) -> Result<(u64, Instant)> {
    let mut last = (0, Instant::now());
    screen.wait_until(
        &format!("evaltop's header counts {lives} evaluations, or stops counting"),
        CATCH_UP_WITHIN,
        Duration::from_millis(20),
        |text| {
            let header = Header::of(text);
            let count = header.evaluations.unwrap_or(0);
            if count != last.0 {
                last = (count, Instant::now());
            }
            count >= lives || (header.behind.is_none() && last.1.elapsed() >= STILL)
        },
    )?;
    Ok(last)
}

/// Waits until Redis holds nothing unsent for the subscriber of `patterns`.
async fn drained(redis: &RedisServer, patterns: u32) -> Result<()> {
    let deadline = Instant::now() + SUBSCRIBED_WITHIN;
    loop {
        let subscribers = redis.pattern_subscribers().await?;
        let waiting = subscribers
            .iter()
            .filter(|s| s.patterns == patterns)
            .map(|s| s.output_bytes)
            .sum::<u64>();
        if waiting == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("Redis still holds {waiting} bytes for the subscriber of {patterns} patterns");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn run(ctx: &Context) -> Result<()> {
    let plan = &ctx.plan;
    report::title(
        2,
        &format!(
            "CPU per pub/sub message at a steady {} msgs/s for {} s, vs a trivial subscriber (target: <= 2x)",
            thousands(plan.cpu_rate),
            plan.cpu_secs
        ),
    );
    // Every message reaches both subscribers, however far behind: CPU per
    // message means nothing for a subscriber that was dropped (what Redis
    // does at its limit is the flood figure's matter). On this shared
    // machine a stall of a second would drop even redis-cli.
    let redis = RedisServer::start_with(PUBSUB_UNLIMITED)?;
    let executor = ctx.executor("cpu");
    let mut tui = ctx.tui(&redis.url(), &[&executor])?;
    let trivial = TrivialSubscriber::start(redis.port())?;
    wait_subscribed(&redis, &[TRIVIAL_PATTERNS, EVALTOP_PATTERNS]).await?;
    let per_life = Lives::per_life(LOGS_PER_LIFE);
    let lives = plan.cpu_rate * plan.cpu_secs / per_life;
    let prepared = Prepared::from(
        Lives::new(ctx.ids(lives as u32), &executor, lives, LOGS_PER_LIFE),
        u64::MAX,
    );
    report::note(format!(
        "flood: {} lives of {per_life} messages ({} messages, {} MB); both subscribers on the same server, \
         client-output-buffer-limit {PUBSUB_UNLIMITED} there",
        thousands(lives),
        thousands(prepared.len()),
        prepared.bytes.len() >> 20
    ));
    let (evaltop_cpu0, trivial_cpu0) = (procfs::cpu(tui.pid())?, procfs::cpu(trivial.pid())?);
    let watcher = Watcher::start(&redis).await?;
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let publishing = tokio::spawn(publisher::steady(
        redis.port(),
        plan.cpu_rate,
        prepared,
        stop,
    ));
    let mut worst_lag = None::<(u64, f64)>;
    while !publishing.is_finished() {
        if let Some(lag) = tokio::task::block_in_place(|| tui.header())?.behind
            && worst_lag.is_none_or(|worst| lag.0 > worst.0)
        {
            worst_lag = Some(lag);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let sent = publishing.await??;
    let ended = Instant::now();
    let lag_at_end = tokio::task::block_in_place(|| tui.header())?.behind;
    let (counted, last_moved) = tokio::task::block_in_place(|| catch_up(&mut tui.screen, lives))?;
    let evaltop_cpu = procfs::cpu(tui.pid())? - evaltop_cpu0;
    let watched = watcher.stop().await?;
    drained(&redis, TRIVIAL_PATTERNS).await?;
    let trivial_cpu = procfs::cpu(trivial.pid())? - trivial_cpu0;
    let header = tui.header()?;
    let dropped = redis.dropped_clients().await?.len();
    let per_message = |cpu: Duration| cpu.as_secs_f64() * 1e6 / sent.messages as f64;
    report::line(format!(
        "published {} msgs in {:.1} s ({:.0} msgs/s), CPU per message published: evaltop {:.2} µs/msg ({:.1} CPU-s) vs redis-cli psubscribe \
         {:.2} µs/msg ({:.1} CPU-s): ratio {}",
        thousands(sent.messages),
        sent.elapsed.as_secs_f64(),
        sent.rate(),
        per_message(evaltop_cpu),
        evaltop_cpu.as_secs_f64(),
        per_message(trivial_cpu),
        trivial_cpu.as_secs_f64(),
        report::ratio(per_message(evaltop_cpu), per_message(trivial_cpu)),
    ));
    if counted < lives {
        // The messages lost were lost whole lives at a time (a dropped
        // connection's backlog): what evaltop counted is about what it got.
        let received = counted * per_life;
        report::line(format!(
            "evaltop received about {} messages ({} lives counted x {per_life}): {:.2} µs per message received, \
             ratio {} to redis-cli ({})",
            thousands(received),
            thousands(counted),
            evaltop_cpu.as_secs_f64() * 1e6 / received.max(1) as f64,
            report::ratio(
                evaltop_cpu.as_secs_f64() * 1e6 / received.max(1) as f64,
                per_message(trivial_cpu)
            ),
            if dropped == 0 && watched.connections(TRIVIAL_PATTERNS) == 1 {
                "which got every message: never dropped, one connection"
            } else {
                "which may have lost messages too"
            },
        ));
    }
    let lag_text = |lag: Option<(u64, f64)>| match lag {
        Some((n, secs)) => format!("{} behind, {secs:.1} s", thousands(n)),
        None => "not behind".to_string(),
    };
    let after_end = last_moved.saturating_duration_since(ended).as_secs_f64();
    let caught = if counted >= lives {
        format!(
            "caught up (all {} evaluations counted) {after_end:.1} s after the flood's end",
            thousands(lives)
        )
    } else {
        format!(
            "stopped counting {after_end:.1} s after the flood's end at {} of {} evaluations (messages lost)",
            thousands(counted),
            thousands(lives)
        )
    };
    report::line(format!(
        "evaltop's lag (its header, updated each second): at the flood's end {}; largest shown during it {}; \
         {caught}; CPU counted over {:.1} s, until evaltop caught up{}",
        lag_text(lag_at_end),
        lag_text(worst_lag),
        started.elapsed().as_secs_f64(),
        header.rejected_warning(),
    ));
    report::line(format!(
        "Redis held unsent at most {:.1} MB for evaltop ({} connection(s)), {:.1} MB for redis-cli; \
         it dropped {dropped} subscribers; evaltop's header: {}",
        watched.peak_output_mb(EVALTOP_PATTERNS),
        watched.connections(EVALTOP_PATTERNS),
        watched.peak_output_mb(TRIVIAL_PATTERNS),
        header
            .redis_blind
            .as_deref()
            .unwrap_or("no blind window shown"),
    ));
    Ok(())
}
