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
use crate::redis_server::RedisServer;
use crate::report::{self, thousands};
use crate::screen::Screen;
use crate::traffic::{Lives, Prepared};

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
            .args(["-p", &port.to_string(), "psubscribe", "evaluation:*"])
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

/// Waits until evaltop counts `lives` (true), or its count stands still
/// without lag short of it (false).
fn catch_up(screen: &mut Screen, lives: u64) -> Result<bool> {
    let mut last = (0, Instant::now());
    let (text, _) = screen.wait_until(
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
    Ok(Header::of(&text).evaluations.unwrap_or(0) >= lives)
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
    let redis = RedisServer::start()?;
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
        "flood: {} lives of {per_life} messages ({} messages, {} MB), the trivial subscriber on the same server",
        thousands(lives),
        thousands(prepared.len()),
        prepared.bytes.len() >> 20
    ));
    let dropped_before = (
        redis.dropped(EVALTOP_PATTERNS).await?,
        redis.dropped(TRIVIAL_PATTERNS).await?,
    );
    let (evaltop_cpu0, trivial_cpu0) = (procfs::cpu(tui.pid())?, procfs::cpu(trivial.pid())?);
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
    let caught_up = tokio::task::block_in_place(|| catch_up(&mut tui.screen, lives));
    let caught_up_after = ended.elapsed();
    let (evaltop_cpu, trivial_cpu) = (
        procfs::cpu(tui.pid())? - evaltop_cpu0,
        procfs::cpu(trivial.pid())? - trivial_cpu0,
    );
    let header = tui.header()?;
    let dropped = (
        redis.dropped(EVALTOP_PATTERNS).await? - dropped_before.0,
        redis.dropped(TRIVIAL_PATTERNS).await? - dropped_before.1,
    );
    let per_message = |cpu: Duration| cpu.as_secs_f64() * 1e6 / sent.messages as f64;
    report::line(format!(
        "published {} msgs in {:.1} s ({:.0} msgs/s): evaltop {:.2} µs/msg ({:.1} CPU-s) vs redis-cli psubscribe {:.2} µs/msg ({:.1} CPU-s): ratio {}",
        thousands(sent.messages),
        sent.elapsed.as_secs_f64(),
        sent.rate(),
        per_message(evaltop_cpu),
        evaltop_cpu.as_secs_f64(),
        per_message(trivial_cpu),
        trivial_cpu.as_secs_f64(),
        report::ratio(per_message(evaltop_cpu), per_message(trivial_cpu)),
    ));
    if dropped.0 > 0 {
        report::note(
            "(Redis dropped evaltop's subscriber: it did not get every message, yet its CPU is divided by all)",
        );
    }
    let lag_text = |lag: Option<(u64, f64)>| match lag {
        Some((n, secs)) => format!("{} behind, {secs:.1} s", thousands(n)),
        None => "not behind".to_string(),
    };
    let caught = if caught_up? {
        format!(
            "caught up (all {} evaluations counted) {:.1} s after the flood's end",
            thousands(lives),
            caught_up_after.as_secs_f64()
        )
    } else {
        format!(
            "settled {:.1} s after the flood's end with {} of {} evaluations counted (messages lost)",
            caught_up_after.as_secs_f64() - STILL.as_secs_f64(),
            thousands(header.evaluations.unwrap_or(0)),
            thousands(lives)
        )
    };
    report::line(format!(
        "evaltop's lag: at the flood's end {}; largest shown during it {}; {caught}; \
         Redis dropped evaltop's subscriber {} times, the trivial one {} times; evaltop's CPU counted until caught up ({:.1} s from the start){}",
        lag_text(lag_at_end),
        lag_text(worst_lag),
        dropped.0,
        dropped.1,
        started.elapsed().as_secs_f64(),
        header.rejected_warning(),
    ));
    Ok(())
}
