//! Figure 1: a container's death to its row showing `exited`, with 0, 10k
//! and 100k evaluations tracked, under a steady stream of log lines and
//! heartbeats. The baseline is Docker's event stream read by the driver
//! itself: how soon anyone can know of the death.
//!
//! The steady traffic goes to a pool of running evaluations rather than
//! being new lives: new lives would grow the count past the size measured,
//! and, being newer, push the trial's row down the default order.

use std::time::{Duration, SystemTime};

use color_eyre::eyre::{Result, eyre};
use tokio::sync::mpsc::UnboundedReceiver;

use super::{Context, populate};
use crate::containers::{Death, Engine};
use crate::evaltop::{Header, Tui, row};
use crate::payloads::{self, Ids};
use crate::publisher;
use crate::redis_server::RedisServer;
use crate::report::{self, ms, percentiles_ms, quantile, sorted, thousands};
use crate::traffic::{Listed, PoolLogs, Prepared};

/// How long a trial's row may take to show, and then to show the death.
const ROW_WITHIN: Duration = Duration::from_secs(30);
/// How often the screen is read while waiting for the death to show.
const POLL: Duration = Duration::from_millis(2);
/// How long Docker's event may lag behind the kill's return.
const EVENT_WITHIN: Duration = Duration::from_secs(5);
/// The pool's evaluations run for the whole figure: their time limit
/// must not pass during it.
const POOL_TIMEOUT: u32 = 3600;
/// Time for the steady traffic to settle before the trials.
const WARM_UP: Duration = Duration::from_secs(2);

struct Sample {
    /// Docker's time of the death to the screen showing it.
    screen_ms: f64,
    /// Docker's time of the death to its event reaching the driver.
    stream_ms: f64,
}

/// What the trials share.
struct Trials<'a> {
    engine: &'a Engine,
    redis: redis::aio::MultiplexedConnection,
    tui: &'a mut Tui,
    deaths: UnboundedReceiver<(String, Death)>,
    ids: Ids,
    executor: &'a str,
    /// Trials whose death came with no Docker event (kill's return used).
    without_event: usize,
}

pub async fn run(ctx: &Context) -> Result<()> {
    report::title(
        1,
        "Docker die -> row changed on screen (target: p99 < 50 ms at every size)",
    );
    let plan = &ctx.plan;
    let redis = RedisServer::start()?;
    let engine = ctx.engine().await?;
    let executor = ctx.executor("die");
    let mut tui = ctx.tui(&redis.url(), &[&executor])?;
    let pool = start_pool(ctx, &redis, &mut tui, &executor).await?;
    report::note(format!(
        "steady traffic: {} msgs/s of log lines and heartbeats (1 in 10) over {} running evaluations; \
         trials: a busybox container started, its row waited for, SIGKILL; the screen read every {POLL:?}",
        thousands(plan.traffic_rate),
        pool.len()
    ));
    let mut trials = Trials {
        engine,
        redis: redis.connection().await?,
        tui: &mut tui,
        deaths: engine.deaths(),
        ids: ctx.ids(10_000),
        executor: &executor,
        without_event: 0,
    };
    let mut lives = 0u64;
    let mut done = 0u64;
    for &size in &plan.die_sizes {
        if size > lives {
            let total = pool.len() as u64 + size + done;
            populate(ctx, &redis, trials.tui, &executor, size - lives, total).await?;
            lives = size;
        }
        let traffic = PoolLogs::new(&pool, &executor);
        let (stop, publishing) = publisher::background(redis.port(), plan.traffic_rate, traffic);
        tokio::time::sleep(WARM_UP).await;
        trials.without_event = 0;
        let mut samples = Vec::new();
        let mut failure = None;
        for _ in 0..plan.die_trials {
            match trials.one().await {
                Ok(sample) => samples.push(sample),
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
            done += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sent = publishing.await??;
        let header = trials.tui.header()?;
        print_size(size, &header, &samples, sent.rate(), trials.without_event);
        if let Some(error) = failure {
            return Err(error);
        }
    }
    Ok(())
}

/// Publishes the pool's evaluations up to running and waits until evaltop
/// counts them.
async fn start_pool(
    ctx: &Context,
    redis: &RedisServer,
    tui: &mut Tui,
    executor: &str,
) -> Result<Vec<String>> {
    let count = ctx.plan.running_pool;
    let mut ids = ctx.ids(count as u32);
    let pool: Vec<String> = (0..count).map(|_| ids.next_id()).collect();
    let at = payloads::now_iso();
    let messages = pool.iter().flat_map(|id| {
        [
            payloads::submission("submitted", id, &at),
            payloads::submission("queued", id, &at),
            payloads::running(
                id,
                executor,
                &format!("feed{:0>8}", &id[id.len() - 8..]),
                POOL_TIMEOUT,
            ),
        ]
    });
    let prepared = Prepared::from(Listed(messages.collect::<Vec<_>>().into_iter()), u64::MAX);
    publisher::flood(redis.port(), &prepared).await?;
    tokio::task::block_in_place(|| tui.wait_count(count as u64, Duration::from_secs(60)))?;
    Ok(pool)
}

impl Trials<'_> {
    async fn one(&mut self) -> Result<Sample> {
        // The table keeps its selection in view as rows come in above it:
        // selecting the first row keeps the top of the order on screen,
        // where the trial's row, the newest, comes.
        tokio::task::block_in_place(|| self.tui.screen.key("Home"))?;
        let eval_id = self.ids.next_id();
        let id = self
            .engine
            .create(&eval_id, self.executor, "sleep 3600", true)
            .await?;
        let (channel, payload) = payloads::running(&eval_id, self.executor, &id, 30);
        publish(&mut self.redis, &channel, &payload).await?;
        let screen = &mut self.tui.screen;
        tokio::task::block_in_place(|| {
            screen.wait_until(
                &format!("the row of {eval_id} shown running (status and container)"),
                ROW_WITHIN,
                Duration::from_millis(20),
                |text| row(text, &eval_id).is_some_and(|r| r.matches("running").count() >= 2),
            )
        })?;
        self.engine.kill(&id).await?;
        let killed = SystemTime::now();
        let (_, seen) = tokio::task::block_in_place(|| {
            screen.wait_until(
                &format!("the row of {eval_id} shown exited"),
                ROW_WITHIN,
                POLL,
                |text| row(text, &eval_id).is_some_and(|r| r.contains("exited")),
            )
        })?;
        let death = self.death_of(&id).await;
        let at = death.map_or(killed, |d| d.at);
        let stream_ms = death.map_or(f64::NAN, |d| since(at, d.received));
        if death.is_none() {
            self.without_event += 1;
        }
        // As the executor would: the failure, then the container removed.
        let (channel, payload) = payloads::killed(&eval_id, self.executor, &payloads::now_iso());
        publish(&mut self.redis, &channel, &payload).await?;
        self.engine.remove(&id).await?;
        Ok(Sample {
            screen_ms: since(at, seen),
            stream_ms,
        })
    }

    /// Docker's event for the death of `container`, if it comes in time.
    async fn death_of(&mut self, container: &str) -> Option<Death> {
        let deadline = tokio::time::Instant::now() + EVENT_WITHIN;
        loop {
            match tokio::time::timeout_at(deadline, self.deaths.recv()).await {
                Ok(Some((id, death))) if id == container => return Some(death),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

async fn publish(
    conn: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    payload: &str,
) -> Result<()> {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async(conn)
        .await
        .map_err(|e| eyre!("PUBLISH {channel}: {e}"))?;
    Ok(())
}

/// Milliseconds from `from` to `to` (negative if `to` came first).
fn since(from: SystemTime, to: SystemTime) -> f64 {
    match to.duration_since(from) {
        Ok(d) => ms(d),
        Err(e) => -ms(e.duration()),
    }
}

fn print_size(size: u64, header: &Header, samples: &[Sample], rate: f64, without_event: usize) {
    let screen: Vec<f64> = samples.iter().map(|s| s.screen_ms).collect();
    let stream: Vec<f64> = samples
        .iter()
        .map(|s| s.stream_ms)
        .filter(|v| v.is_finite())
        .collect();
    let p99 = |v: &[f64]| quantile(&sorted(v.to_vec()), 0.99);
    report::line(format!(
        "{} lives tracked (header: {} evaluations), traffic {:.0} msgs/s: \
         evaltop die->screen {} | Docker's event stream to the driver {} | p99 ratio {}{}{}",
        thousands(size),
        thousands(header.evaluations.unwrap_or(0)),
        rate,
        percentiles_ms(&screen),
        percentiles_ms(&stream),
        report::ratio(p99(&screen), p99(&stream)),
        if without_event > 0 {
            format!(" ({without_event} trials without a die event: timed from the kill's return)")
        } else {
            String::new()
        },
        header.rejected_warning()
    ));
}
