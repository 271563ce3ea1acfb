//! Figure 4: `evaltop check --listen 0s --json` against `docker ps -a
//! --no-trunc`, with a fleet of created (never started) labelled
//! containers and Redis keys as the storage worker writes them. Also the
//! fleet itself, which the idle figure uses too.

use std::process::Command;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail};

use super::Context;
use crate::containers::Engine;
use crate::procfs;
use crate::redis_server::RedisServer;
use crate::report::{self, median, thousands};

/// The platform's timeout for the fleet's running keys, so that their TTL
/// (timeout + 60 s) outlasts the figures that read them.
const KEY_TIMEOUT_SECS: u64 = 600;
/// `logs:{id}:latest` and `:last_heartbeat` live this long (PROTOCOL.md).
const LOG_KEY_TTL_SECS: u64 = 300;

pub struct Fleet {
    pub redis: RedisServer,
    pub containers: Vec<String>,
    pub keys: usize,
}

impl Fleet {
    /// Creates the containers (not started, no network), then writes the
    /// keys: per running evaluation `eval:{id}:running`, `logs:{id}:latest`
    /// and `logs:{id}:last_heartbeat` and its place in
    /// `running_evaluations` (the first ones are the containers'); then
    /// `pending:{id}` for queued ones, up to the planned number of keys.
    pub async fn make(ctx: &Context) -> Result<Fleet> {
        let plan = &ctx.plan;
        let engine = ctx.engine().await?;
        let executor = ctx.executor("fleet");
        let running = plan.fleet_containers.max(plan.fleet_keys / 5);
        let pending = plan.fleet_keys.saturating_sub(3 * running + 1);
        let mut ids = ctx.ids((running + pending) as u32);
        let running_ids: Vec<String> = (0..running).map(|_| ids.next_id()).collect();
        let started = Instant::now();
        let containers = engine
            .create_many(&running_ids[..plan.fleet_containers], &executor)
            .await?;
        report::note(format!(
            "fleet: {} containers created (not started, network none) in {:.1} s",
            thousands(containers.len() as u64),
            started.elapsed().as_secs_f64()
        ));
        let redis = RedisServer::start()?;
        let mut conn = redis.connection().await?;
        let at = crate::payloads::now_iso();
        let mut pipe = redis::pipe();
        for (i, id) in running_ids.iter().enumerate() {
            let container = containers
                .get(i)
                .map_or_else(|| format!("feed{i:08x}"), |c| c[..12].to_string());
            pipe.cmd("SET")
                .arg(format!("eval:{id}:running"))
                .arg(format!(
                    r#"{{"executor_id":"{executor}","container_id":"{container}","started_at":"{at}","timeout":{KEY_TIMEOUT_SECS}}}"#
                ))
                .arg("EX")
                .arg(KEY_TIMEOUT_SECS + 60)
                .ignore();
            pipe.cmd("SET")
                .arg(format!("logs:{id}:latest"))
                .arg("step 3 done\r\n")
                .arg("EX")
                .arg(LOG_KEY_TTL_SECS)
                .ignore();
            pipe.cmd("SET")
                .arg(format!("logs:{id}:last_heartbeat"))
                .arg(&at)
                .arg("EX")
                .arg(LOG_KEY_TTL_SECS)
                .ignore();
            pipe.cmd("SADD").arg("running_evaluations").arg(id).ignore();
        }
        for _ in 0..pending {
            pipe.cmd("SET")
                .arg(format!("pending:{}", ids.next_id()))
                .arg("queued")
                .ignore();
        }
        let () = pipe
            .query_async(&mut conn)
            .await
            .wrap_err("cannot write the fleet's keys")?;
        let keys: usize = redis::cmd("DBSIZE").query_async(&mut conn).await?;
        report::note(format!(
            "fleet: {} keys in Redis ({} running evaluations, {} pending)",
            thousands(keys as u64),
            thousands(running as u64),
            thousands(pending as u64)
        ));
        Ok(Fleet {
            redis,
            containers,
            keys,
        })
    }

    pub async fn remove(&self, engine: &Engine) -> Result<()> {
        engine.remove_many(&self.containers).await
    }
}

/// One timed run of a command: its wall time and CPU, and its output.
fn timed(command: &mut Command) -> Result<(Duration, Duration, std::process::Output)> {
    let cpu = procfs::children_cpu();
    let started = Instant::now();
    let output = command
        .output()
        .wrap_err_with(|| format!("cannot run {command:?}"))?;
    Ok((started.elapsed(), procfs::children_cpu() - cpu, output))
}

pub async fn run(ctx: &Context) -> Result<()> {
    let plan = &ctx.plan;
    report::title(
        4,
        &format!(
            "check --listen 0s --json with {} containers + {} keys, vs docker ps -a --no-trunc (target: <= 1.5x wall)",
            thousands(plan.fleet_containers as u64),
            thousands(plan.fleet_keys as u64)
        ),
    );
    let fleet = ctx.fleet().await?;
    let files = std::env::temp_dir().join(format!("drv-check-{}", ctx.run));
    let (log, audit) = (files.with_extension("log"), files.with_extension("audit"));
    let mut check = Command::new(&ctx.evaltop);
    check
        .args([
            "check",
            "--listen",
            "0s",
            "--json",
            "--connect-timeout",
            "60s",
        ])
        .args([
            "--redis",
            &fleet.redis.url(),
            "--read-only",
            "--no-audit-stream",
        ])
        .arg("--log-file")
        .arg(&log)
        .arg("--audit-file")
        .arg(&audit);
    let mut ps = Command::new("docker");
    ps.args(["ps", "-a", "--no-trunc"]);
    let (mut check_runs, mut ps_runs) = (Vec::new(), Vec::new());
    let (mut evaluations, mut listed) = (0, 0);
    // One run of each first, not counted: caches warm for both.
    for round in 0..=plan.boot_runs {
        let (wall, cpu, out) = tokio::task::block_in_place(|| timed(&mut ps))?;
        if !out.status.success() {
            bail!("docker ps failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        listed = out.stdout.split(|b| *b == b'\n').count().saturating_sub(2);
        if round > 0 {
            ps_runs.push((wall, cpu));
        }
        let (wall, cpu, out) = tokio::task::block_in_place(|| timed(&mut check))?;
        // 0: nothing flagged, 1: flagged; 2 is a source not read.
        if !matches!(out.status.code(), Some(0 | 1)) {
            bail!(
                "evaltop check exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).wrap_err("check --json printed no JSON")?;
        evaluations = report["evaluations"].as_array().map_or(0, Vec::len);
        if round > 0 {
            check_runs.push((wall, cpu));
        }
    }
    for path in [&log, &audit] {
        // Best effort: the driver's own files, which may not exist.
        let _ = std::fs::remove_file(path);
    }
    let wall = |runs: &[(Duration, Duration)]| {
        median(&runs.iter().map(|r| report::ms(r.0)).collect::<Vec<_>>())
    };
    let cpu = |runs: &[(Duration, Duration)]| {
        median(&runs.iter().map(|r| report::ms(r.1)).collect::<Vec<_>>())
    };
    report::line(format!(
        "median of {} runs each: check {:.0} ms wall, {:.0} ms CPU ({} evaluations) | docker ps -a {:.0} ms wall, \
         {:.0} ms CPU ({} containers on the engine) | ratio wall {}, CPU {}",
        plan.boot_runs,
        wall(&check_runs),
        cpu(&check_runs),
        thousands(evaluations as u64),
        wall(&ps_runs),
        cpu(&ps_runs),
        thousands(listed as u64),
        report::ratio(wall(&check_runs), wall(&ps_runs)),
        report::ratio(cpu(&check_runs), cpu(&ps_runs)),
    ));
    report::note(format!(
        "(CPU is the client process's own; the engine's work for either is not counted. {} keys in Redis.)",
        thousands(fleet.keys as u64)
    ));
    Ok(())
}
