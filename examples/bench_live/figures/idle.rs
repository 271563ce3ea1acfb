//! Figure 6: evaltop's CPU while nothing happens, with the fleet's
//! containers and keys, over a minute; beside oxker's on the same engine
//! at the same time when oxker is there.

use std::path::Path;
use std::time::Duration;

use color_eyre::eyre::Result;

use super::Context;
use crate::procfs;
use crate::report::{self, thousands};
use crate::screen::Screen;

/// After evaltop counts the fleet: its first refreshes and resync done.
const SETTLE: Duration = Duration::from_secs(5);

pub async fn run(ctx: &Context) -> Result<()> {
    let plan = &ctx.plan;
    report::title(
        6,
        &format!(
            "idle CPU with {} containers over {} s (target: <= 1/5 of oxker's)",
            thousands(plan.fleet_containers as u64),
            plan.idle_secs
        ),
    );
    let fleet = ctx.fleet().await?;
    let mut tui = ctx.tui(&fleet.redis.url(), &[])?;
    let count = fleet.containers.len() as u64;
    tokio::task::block_in_place(|| tui.wait_count(count, Duration::from_secs(120)))?;
    let mut oxker = match &ctx.oxker {
        Some(path) => Some(start_oxker(path)?),
        None => None,
    };
    tokio::time::sleep(SETTLE).await;
    let window = Duration::from_secs(plan.idle_secs);
    let evaltop0 = procfs::cpu(tui.pid())?;
    let oxker0 = oxker.as_ref().map(|s| procfs::cpu(s.pid())).transpose()?;
    tokio::time::sleep(window).await;
    let per_minute = |cpu: Duration| cpu.as_secs_f64() * 60.0 / window.as_secs_f64();
    let evaltop = per_minute(procfs::cpu(tui.pid())? - evaltop0);
    let header = tui.header()?;
    let oxker_running = oxker.as_mut().map(|screen| !screen.exited());
    let oxker_text = match (&oxker, oxker0, oxker_running) {
        (Some(screen), Some(before), Some(true)) => {
            let cpu = per_minute(procfs::cpu(screen.pid())? - before);
            format!(
                "oxker {cpu:.3} CPU-s/min | ratio {}",
                report::ratio(evaltop, cpu)
            )
        }
        (Some(_), _, _) => "oxker exited during the window: no comparison".to_string(),
        (None, _, _) => {
            "oxker is not installed (not on PATH, no --oxker): no comparison".to_string()
        }
    };
    report::line(format!(
        "evaltop {evaltop:.3} CPU-s/min ({} evaluations on screen) | {oxker_text}",
        thousands(header.evaluations.unwrap_or(0))
    ));
    Ok(())
}

fn start_oxker(path: &Path) -> Result<Screen> {
    Screen::start("oxker", &path.display().to_string(), 200, 50)
}
