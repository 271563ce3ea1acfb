//! Figure 3: completed lives published as fast as one pipelined connection
//! can (Redis's own maximum here). Did Redis drop evaltop's subscriber
//! (its log's "overcoming of output buffer limits": Redis 7.0 has no
//! INFO counter of it; the subscriber's id changing in CLIENT LIST), did evaltop show a blind window, how many
//! evaluations does it end with, and its peak memory.

use std::time::Duration;

use color_eyre::eyre::Result;

use super::cpu::wait_subscribed;
use super::watch::Watcher;
use super::{Context, EVALTOP_PATTERNS};
use crate::procfs;
use crate::publisher;
use crate::redis_server::{PUBSUB_LIMIT, RedisServer};
use crate::report::{self, thousands};
use crate::traffic::{Lives, Prepared};

/// How long evaltop's count must stay still to call the flood absorbed.
const QUIET: Duration = Duration::from_secs(5);
const SETTLE_WITHIN: Duration = Duration::from_secs(240);

pub async fn run(ctx: &Context) -> Result<()> {
    let lives = ctx.plan.flood_lives;
    report::title(
        3,
        &format!(
            "pipelined flood of {} lives at Redis's own maximum (target: evaltop is never why Redis drops it; \
             when dropped, a blind window and a resync; memory bounded)",
            thousands(lives)
        ),
    );
    let redis = RedisServer::start()?;
    let executor = ctx.executor("flood");
    let mut tui = ctx.tui(&redis.url(), &[&executor])?;
    wait_subscribed(&redis, &[EVALTOP_PATTERNS]).await?;
    let prepared = Prepared::from(
        Lives::new(ctx.ids(lives as u32), &executor, lives, 0),
        u64::MAX,
    );
    report::note(format!(
        "{} messages ({} MB) on one connection; client-output-buffer-limit {PUBSUB_LIMIT}",
        thousands(prepared.len()),
        prepared.bytes.len() >> 20
    ));
    let dropped_before = redis.dropped(EVALTOP_PATTERNS).await?;
    let rss_before = procfs::rss_kib(tui.pid())?;
    let watcher = Watcher::start(&redis).await?;
    let sent = publisher::flood(redis.port(), &prepared).await?;
    drop(prepared);
    let settled = tokio::task::block_in_place(|| tui.wait_settled(QUIET, SETTLE_WITHIN));
    let watched = watcher.stop().await?;
    let header = match settled {
        Ok(header) => header,
        Err(error) => {
            report::note(format!("evaltop did not settle: {error}"));
            tui.header()?
        }
    };
    let dropped = redis.dropped(EVALTOP_PATTERNS).await? - dropped_before;
    let now_subscribed = redis
        .pattern_subscribers()
        .await?
        .iter()
        .any(|s| s.patterns == EVALTOP_PATTERNS);
    let peak = procfs::peak_rss_kib(tui.pid())?;
    let rss = procfs::rss_kib(tui.pid())?;
    let shown = header.evaluations.unwrap_or(0);
    report::line(format!(
        "published {} msgs in {:.2} s ({:.0} msgs/s, Redis's pace with evaltop subscribed)",
        thousands(sent.messages),
        sent.elapsed.as_secs_f64(),
        sent.rate()
    ));
    report::line(format!(
        "Redis dropped evaltop's subscriber {dropped} times for its output buffer; it had {} connection(s) \
         during the flood, peak output buffer {:.1} MB, subscribed at the end: {}; evaltop's header: {}",
        watched.connections(EVALTOP_PATTERNS),
        watched.peak_output_mb(EVALTOP_PATTERNS),
        if now_subscribed { "yes" } else { "no" },
        header
            .redis_blind
            .as_deref()
            .unwrap_or("no blind window shown"),
    ));
    report::line(format!(
        "evaltop ends with {} of {} evaluations ({:.1} %); RSS {} MB before, peak {} MB, {} MB after{}",
        thousands(shown),
        thousands(lives),
        100.0 * shown as f64 / lives as f64,
        rss_before >> 10,
        peak >> 10,
        rss >> 10,
        header.rejected_warning(),
    ));
    Ok(())
}
