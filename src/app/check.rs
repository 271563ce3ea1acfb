//! `evaltop check`: headless, one shot. Reads both sources in full, listens
//! a little, prints every evaluation with its flags, and exits 0 (nothing
//! flagged), 1 (something flagged; informational flags aside) or 2 (a
//! source could not be reached).

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;
use tokio::time::Instant;

use crate::app::Sources;
use crate::cli::CheckArgs;
use crate::engines::EngineSpec;
use crate::model::{EvalRecord, Flag, HealthContext, Severity, SourceHealth, State, Ts, assess};

use super::exit::{FLAGGED as EXIT_FLAGGED, OK as EXIT_CLEAN, UNREACHABLE as EXIT_UNREACHABLE};

/// Bytes of the report written per write(2).
const REPORT_BUFFER: usize = 256 * 1024;

/// What the state was read from: it decides how a source that never
/// synced is worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadFrom {
    /// The live sources.
    Live,
    /// A recording, up to the moment asked for.
    Recording,
}

/// Reads the sources until both have done a full read (or the connect
/// timeout passes), then listens for `--listen`, and returns the state.
pub async fn gather(mut sources: Sources, mut state: State, args: &CheckArgs) -> State {
    let synced_by = Instant::now() + args.connect_timeout;
    while !(state.engines_synced() && state.redis.synced()) {
        match tokio::time::timeout_at(synced_by, sources.observations.recv()).await {
            Ok(Some(received)) => state.apply(received.observation, received.at),
            Ok(None) | Err(_) => return state,
        }
    }
    // The log's timestamps split a slow check into its phases.
    tracing::debug!(
        evaluations = state.evals.len(),
        "check: every source read in full"
    );
    let listen_until = Instant::now() + args.listen;
    while let Ok(Some(received)) =
        tokio::time::timeout_at(listen_until, sources.observations.recv()).await
    {
        state.apply(received.observation, received.at);
    }
    state
}

/// Why a source was not read, worded for where the state came from.
fn unread(what: &str, health: &SourceHealth, from: ReadFrom) -> String {
    match (from, &health.last_error) {
        (ReadFrom::Live, Some(reason)) => format!("evaltop: {what} unreachable: {reason}"),
        (ReadFrom::Live, None) => {
            format!("evaltop: {what} unreachable: no answer before the connect timeout")
        }
        (ReadFrom::Recording, Some(reason)) => {
            format!("evaltop: {what} was down at this point of the recording: {reason}")
        }
        (ReadFrom::Recording, None) => {
            format!("evaltop: {what} had not been read in full yet at this point of the recording")
        }
    }
}

/// Prints the report and returns the exit code: 2 when Redis, or every
/// engine, could not be read; an engine down among others that answered
/// is a `source-down` alarm (exit 1), since the rest can still be judged.
pub fn report(
    state: &State,
    engines: &[EngineSpec],
    args: &CheckArgs,
    now: Ts,
    from: ReadFrom,
) -> ExitCode {
    let report = Report::of(state, engines, now);
    tracing::debug!(
        evaluations = report.evaluations.len(),
        "check: report built"
    );
    let redis_down = !state.redis.synced();
    if redis_down {
        eprintln!("{}", unread("redis", &state.redis, from));
    }
    let never = SourceHealth::default();
    for engine in report.sources.docker.iter().filter(|e| !e.synced) {
        let health = state.engine(&engine.name.as_str().into()).unwrap_or(&never);
        eprintln!(
            "{}",
            unread(&format!("docker engine {}", engine.name), health, from)
        );
    }
    let no_engine = report.sources.docker.iter().all(|engine| !engine.synced);
    let unreachable = redis_down || no_engine;
    // Buffered: stdout is line-buffered, and a report of 10,000
    // evaluations is some 300,000 lines, one write(2) each otherwise.
    let mut out = std::io::BufWriter::with_capacity(REPORT_BUFFER, std::io::stdout().lock());
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        write_table(&mut out, &report)
    }
    .and_then(|()| out.flush());
    tracing::debug!("check: report written");
    if let Err(error) = written {
        eprintln!("evaltop: cannot write the report: {error}");
        return ExitCode::from(EXIT_UNREACHABLE);
    }
    let code = if unreachable {
        EXIT_UNREACHABLE
    } else if report.alarming > 0 {
        EXIT_FLAGGED
    } else {
        EXIT_CLEAN
    };
    ExitCode::from(code)
}

/// What `check --json` prints. Field names are stable (see the README).
#[derive(Debug, Serialize)]
pub struct Report {
    pub generated_at: String,
    pub sources: SourcesReport,
    /// Payloads that could not be used, all counted.
    pub rejected: u64,
    /// Evaluations with a flag of warning or alarm severity, plus one per
    /// engine in `sources_down`.
    pub alarming: usize,
    /// `source-down` alarms: engines that could not be read while others
    /// could (their evaluations are `host-unknown`).
    pub sources_down: Vec<SourceDown>,
    /// One entry per executor, then one per engine (`executor-stalled`
    /// flags count in `alarming`).
    pub fleet: Vec<FleetReport>,
    pub evaluations: Vec<EvalReport>,
}

#[derive(Debug, Serialize)]
pub struct SourcesReport {
    /// One entry per Docker engine, in the order given.
    pub docker: Vec<EngineReport>,
    pub redis: SourceReport,
}

#[derive(Debug, Serialize)]
pub struct EngineReport {
    pub name: String,
    /// Credentials redacted.
    pub url: String,
    #[serde(flatten)]
    pub health: SourceReport,
    #[serde(skip)]
    pub synced: bool,
}

#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// `executor` or `host`.
    pub kind: &'static str,
    pub name: String,
    pub running: usize,
    pub overdue: usize,
    pub lost_completions: usize,
    pub orphans: usize,
    pub completed_5m: usize,
    pub completed_15m: usize,
    pub last_completion: Option<String>,
    pub flags: Vec<FlagReport>,
}

#[derive(Debug, Serialize)]
pub struct SourceDown {
    /// Always `source-down`.
    pub kind: &'static str,
    pub severity: &'static str,
    /// `docker:NAME`.
    pub source: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct SourceReport {
    pub connected: bool,
    pub synced: bool,
    pub error: Option<String>,
    pub detail: String,
    pub blind_windows: usize,
    /// Down because it stopped answering (rather than refusing).
    pub not_answering: bool,
    /// The last moment the source was proven live.
    pub last_live_at: Option<String>,
    /// The kept blind windows, oldest first: each opens at the last moment
    /// the source was proven live; `end` is null while it lasts.
    pub blind: Vec<BlindReport>,
    /// Changes a list showed that the event stream never reported.
    pub missed_changes: u64,
    /// While behind: messages read and not yet applied, and the age of
    /// the oldest (null when caught up).
    pub lag: Option<LagReport>,
}

#[derive(Debug, Serialize)]
pub struct LagReport {
    pub waiting: u64,
    pub oldest_ms: i64,
}

#[derive(Debug, Serialize)]
pub struct BlindReport {
    pub start: String,
    pub end: Option<String>,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub eval_id: String,
    pub status: Option<&'static str>,
    /// Where `status` came from: `channel`, `storage` or `keys`.
    pub status_source: Option<&'static str>,
    pub storage_status: Option<&'static str>,
    pub container_id: Option<String>,
    pub container_state: Option<&'static str>,
    pub executor: Option<String>,
    /// The name of the engine that holds (or held) the container.
    pub docker_host: Option<String>,
    pub exit_code: Option<i64>,
    pub docker_exit_code: Option<i64>,
    pub redis_exit_code: Option<i64>,
    pub oom_killed: bool,
    pub timeout_secs: Option<u32>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub in_running_set: bool,
    pub running_key: bool,
    pub live_log_messages: u32,
    pub docker_logs_bytes: Option<usize>,
    pub flags: Vec<FlagReport>,
}

#[derive(Debug, Serialize)]
pub struct FlagReport {
    pub kind: &'static str,
    pub severity: &'static str,
    pub reason: String,
    /// For `unknown`: the flag it would be, were the source not blind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspected: Option<&'static str>,
    /// For `unknown`: which source is blind, since when, and since when it
    /// is connected again and re-reading (null: still down).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blind: Option<UnknownReport>,
}

#[derive(Debug, Serialize)]
pub struct UnknownReport {
    pub source: &'static str,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Report {
    pub fn of(state: &State, engines: &[EngineSpec], now: Ts) -> Report {
        let ctx = HealthContext::of(state, now);
        let mut assessed: Vec<(Option<Severity>, &str, &EvalRecord, Vec<Flag>)> = state
            .evals
            .iter()
            .filter(|(_, record)| state.in_scope(record))
            .map(|(id, record)| {
                let flags = assess(record, &ctx);
                (crate::model::health::worst(&flags), &**id, &**record, flags)
            })
            .collect();
        // Most severe first, then by id, so that the output is stable. Ids
        // are unique, so an unstable sort gives the same order; sorting
        // these small tuples rather than the reports moves a tenth of the
        // bytes.
        assessed.sort_unstable_by(|(a, ia, ..), (b, ib, ..)| b.cmp(a).then_with(|| ia.cmp(ib)));
        let evaluations: Vec<(Option<Severity>, EvalReport)> = assessed
            .into_iter()
            .map(|(worst, id, record, flags)| (worst, eval_report(id, record, &flags)))
            .collect();
        let docker = engine_reports(state, engines);
        let any_synced = docker.iter().any(|engine| engine.synced);
        let sources_down: Vec<SourceDown> =
            docker
                .iter()
                .filter(|engine| any_synced && !engine.synced)
                .map(|engine| SourceDown {
                    kind: "source-down",
                    severity: Severity::Alarm.name(),
                    source: format!("docker:{}", engine.name),
                    name: engine.name.clone(),
                    reason: engine.health.error.clone().unwrap_or_else(|| {
                        "connected, but no list before the connect timeout".into()
                    }),
                })
                .collect();
        let fleet: Vec<FleetReport> = crate::model::fleet::fleet(state, now)
            .rows()
            .map(fleet_report)
            .collect();
        let stalled = fleet.iter().filter(|row| !row.flags.is_empty()).count();
        let alarming = evaluations
            .iter()
            .filter(|(worst, _)| worst.is_some_and(|s| s > Severity::Info))
            .count()
            + sources_down.len()
            + stalled;
        Report {
            generated_at: now.rfc3339(),
            sources: SourcesReport {
                docker,
                redis: source_report(&state.redis),
            },
            rejected: state.rejected.total,
            alarming,
            sources_down,
            fleet,
            evaluations: evaluations.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

/// The engines given, in their order, then any other the state heard of
/// (a recording's); an engine given but never heard of is not connected.
fn engine_reports(state: &State, engines: &[EngineSpec]) -> Vec<EngineReport> {
    let never = SourceHealth::default();
    let given = engines.iter().map(|spec| {
        let health = state.engine(&spec.name).unwrap_or(&never);
        (spec.name.to_string(), spec.redacted_url(), health)
    });
    let others = state
        .engines
        .iter()
        .filter(|(name, _)| !engines.iter().any(|spec| spec.name == *name))
        .map(|(name, health)| (name.to_string(), String::new(), health));
    given
        .chain(others)
        .map(|(name, url, health)| EngineReport {
            name,
            url,
            health: source_report(health),
            synced: health.synced(),
        })
        .collect()
}

fn fleet_report(row: &crate::model::fleet::FleetRow) -> FleetReport {
    use crate::model::fleet::Stalled;
    FleetReport {
        kind: row.kind.name(),
        name: row.name.clone(),
        running: row.running,
        overdue: row.overdue,
        lost_completions: row.lost,
        orphans: row.orphans,
        completed_5m: row.done_5m,
        completed_15m: row.done_15m,
        last_completion: row.last_completion.map(Ts::rfc3339),
        flags: row
            .stalled
            .iter()
            .map(|stalled| FlagReport {
                kind: Stalled::KIND,
                severity: Stalled::SEVERITY.name(),
                reason: stalled.reason(&row.name),
                suspected: None,
                blind: None,
            })
            .collect(),
    }
}

fn source_report(health: &SourceHealth) -> SourceReport {
    SourceReport {
        connected: health.connected,
        synced: health.synced(),
        error: health.last_error.clone(),
        detail: health.detail.clone(),
        blind_windows: health.blind_windows.len(),
        not_answering: !health.connected && health.not_answering,
        last_live_at: health.last_live_at.map(Ts::rfc3339),
        blind: health
            .blind_windows
            .iter()
            .map(|w| BlindReport {
                start: w.start.rfc3339(),
                end: w.end.map(Ts::rfc3339),
                reason: w.reason.clone(),
            })
            .collect(),
        missed_changes: health.missed_changes,
        lag: health.lag.map(|lag| LagReport {
            waiting: lag.waiting,
            oldest_ms: lag.oldest_ms,
        }),
    }
}

fn eval_report(id: &str, record: &EvalRecord, flags: &[Flag]) -> EvalReport {
    let docker = record.docker.as_ref();
    let redis = &record.redis;
    let status = crate::view::status_with_origin(record);
    EvalReport {
        eval_id: id.to_string(),
        status: status.map(|(s, _)| s.name()),
        status_source: status.map(|(_, o)| o.name()),
        storage_status: redis.storage_status.map(|s| s.name()),
        container_id: record.container_id().map(str::to_string),
        container_state: record.container_state().map(|s| s.name()),
        executor: record.executor().map(str::to_string),
        docker_host: record.engine().map(|e| e.to_string()),
        exit_code: record.exit_code(),
        docker_exit_code: docker.and_then(|d| d.exit_code),
        redis_exit_code: redis.exit_code,
        oom_killed: docker.is_some_and(|d| d.oom_killed),
        timeout_secs: record.timeout_secs(),
        started_at: record.started_at().map(Ts::rfc3339),
        ended_at: docker.and_then(|d| d.ended_at()).map(Ts::rfc3339),
        in_running_set: redis.in_running_set,
        running_key: redis.running_key.is_some(),
        live_log_messages: redis.log_messages,
        docker_logs_bytes: record
            .captured_logs
            .as_ref()
            .map(|l| l.stdout.len() + l.stderr.len()),
        flags: flags
            .iter()
            .map(|f| {
                let (suspected, blind) = match f {
                    Flag::Unknown { blind, suspected } => (
                        Some(suspected.kind().name()),
                        Some(UnknownReport {
                            source: blind.source.name(),
                            since: blind.since.map(Ts::rfc3339),
                            until: blind.until.map(Ts::rfc3339),
                        }),
                    ),
                    _ => (None, None),
                };
                FlagReport {
                    kind: f.kind().name(),
                    severity: f.severity().name(),
                    reason: f.reason(),
                    suspected,
                    blind,
                }
            })
            .collect(),
    }
}

fn write_table(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<34} {:<12} {:<10} {:<14} {:<12} {:>5}  FLAGS",
        "EVAL", "STATUS", "CONTAINER", "EXECUTOR", "HOST", "EXIT"
    )?;
    for down in &report.sources_down {
        writeln!(
            out,
            "source-down (alarm): docker engine {}: {}",
            down.name, down.reason
        )?;
    }
    for row in &report.fleet {
        for flag in &row.flags {
            writeln!(out, "{} ({}): {}", flag.kind, flag.severity, flag.reason)?;
        }
    }
    for eval in &report.evaluations {
        let flags: Vec<&str> = eval.flags.iter().map(|f| f.kind).collect();
        writeln!(
            out,
            "{:<34} {:<12} {:<10} {:<14} {:<12} {:>5}  {}",
            eval.eval_id,
            eval.status.unwrap_or("-"),
            eval.container_state.unwrap_or("-"),
            eval.executor.as_deref().unwrap_or("-"),
            eval.docker_host.as_deref().unwrap_or("-"),
            eval.exit_code.map_or("-".to_string(), |c| c.to_string()),
            if flags.is_empty() {
                "-".to_string()
            } else {
                flags.join(",")
            }
        )?;
        for flag in &eval.flags {
            writeln!(
                out,
                "    {} ({}): {}",
                flag.kind, flag.severity, flag.reason
            )?;
        }
    }
    writeln!(
        out,
        "{} evaluations, {} flagged, {} rejected payloads",
        report.evaluations.len(),
        report.alarming,
        report.rejected
    )
}
