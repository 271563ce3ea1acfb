//! Figure 5: evaltop's resident memory per evaluation after 10k, 100k and
//! 300k completed lives, over its memory with none.

use std::time::Duration;

use color_eyre::eyre::Result;

use super::{Context, populate};
use crate::procfs;
use crate::redis_server::RedisServer;
use crate::report::{self, thousands};

/// After the count is reached: a refresh or two, and the allocator's
/// returns, before memory is read.
const SETTLE: Duration = Duration::from_secs(3);

pub async fn run(ctx: &Context) -> Result<()> {
    report::title(
        5,
        "RSS per evaluation, (VmRSS after N lives - VmRSS with none) / N (target: <= 2 KiB at every size)",
    );
    let redis = RedisServer::start()?;
    let executor = ctx.executor("rss");
    let mut tui = ctx.tui(&redis.url(), &[&executor])?;
    tokio::time::sleep(SETTLE).await;
    let empty = procfs::rss_kib(tui.pid())?;
    report::line(format!(
        "no evaluations: VmRSS {:.1} MB",
        empty as f64 / 1024.0
    ));
    let mut lives = 0;
    for &size in &ctx.plan.rss_sizes {
        populate(ctx, &redis, &mut tui, &executor, size - lives, size).await?;
        lives = size;
        tokio::time::sleep(SETTLE).await;
        let rss = procfs::rss_kib(tui.pid())?;
        let header = tui.header()?;
        let per = (rss.saturating_sub(empty) * 1024) as f64 / size as f64;
        report::line(format!(
            "{} lives: VmRSS {:.1} MB (+{:.1} MB): {:.0} B = {:.2} KiB per evaluation{}",
            thousands(size),
            rss as f64 / 1024.0,
            rss.saturating_sub(empty) as f64 / 1024.0,
            per,
            per / 1024.0,
            header.rejected_warning(),
        ));
    }
    Ok(())
}
