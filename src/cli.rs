//! Command line: every option has an environment fallback, and a bad value
//! is refused with the option and the value named (clap does the naming).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// evaltop: one live, reconciled picture of every evaluation, from the
/// Docker engine and Redis, with what is wrong flagged.
#[derive(Debug, Parser)]
#[command(name = "evaltop", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub sources: SourceArgs,

    /// The config file (TOML). Default: $XDG_CONFIG_HOME/evaltop/config.toml
    /// when it exists.
    #[arg(long, env = "EVALTOP_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Turn every action off (kill, remove, force failed, clean up).
    #[arg(long, env = "EVALTOP_READ_ONLY", global = true)]
    pub read_only: bool,

    /// Where every action attempt and outcome is appended as a JSON line.
    /// Default: $XDG_STATE_HOME/evaltop/audit.jsonl.
    #[arg(long, env = "EVALTOP_AUDIT_FILE", global = true)]
    pub audit_file: Option<PathBuf>,

    /// Do not also append the audit to the Redis stream evaltop:audit.
    #[arg(long, env = "EVALTOP_NO_AUDIT_STREAM", global = true)]
    pub no_audit_stream: bool,

    /// Write the merged stream of observations to FILE while the TUI runs
    /// (the format of `evaltop events`).
    #[arg(long, value_name = "FILE", env = "EVALTOP_RECORD")]
    pub record: Option<PathBuf>,

    /// Who the audit names as acting. Default: $USER (else the login name
    /// of the uid) @ the host name.
    #[arg(long, env = "EVALTOP_OPERATOR", global = true)]
    pub operator: Option<String>,

    /// Where evaltop writes its own log (never to the screen).
    /// Default: $XDG_STATE_HOME/evaltop/evaltop.log.
    #[arg(long, env = "EVALTOP_LOG_FILE", global = true)]
    pub log_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A Docker engine to watch, as NAME=URL or a bare URL (named after
    /// its host, or `local` for a socket): unix:///path/docker.sock or
    /// tcp://host:port. Repeatable, one per executor host; the variable
    /// takes a comma-separated list. Default: the config's [[docker]],
    /// else $DOCKER_HOST, else the local socket.
    #[arg(
        long = "docker",
        value_name = "[NAME=]URL",
        env = "EVALTOP_DOCKER",
        value_delimiter = ',',
        global = true
    )]
    pub docker: Vec<String>,

    /// Redis URL.
    #[arg(
        long,
        env = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        global = true
    )]
    pub redis: String,

    /// Only containers labelled executor=ID (repeatable; the variable takes
    /// a comma-separated list).
    #[arg(
        long = "executor",
        value_name = "ID",
        env = "EVALTOP_EXECUTORS",
        value_delimiter = ',',
        global = true
    )]
    pub executors: Vec<String>,

    /// How long after a container's end a completion may still arrive
    /// before it is called lost (a healthy executor can take 10 s).
    /// Default: 30s, or the config file's `grace`.
    #[arg(long, env = "EVALTOP_GRACE", value_parser = parse_duration, global = true)]
    pub grace: Option<Duration>,

    /// How often to re-read everything (Docker list, Redis keys), whatever
    /// the streams say. Default: 30s, or the config file's `resync`.
    #[arg(long, env = "EVALTOP_RESYNC", value_parser = parse_positive_duration, global = true)]
    pub resync: Option<Duration>,

    /// How often each source is probed (Redis PING on both connections,
    /// Docker /_ping), whatever --resync says; one that does not answer
    /// within 1.8 times this is shown as not answering, and what it would have
    /// shown since its last answer as unknown.
    #[arg(long, env = "EVALTOP_LIVENESS", default_value = "1s", value_parser = parse_positive_duration, global = true)]
    pub liveness: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Headless, one shot: read both sources, print every evaluation with
    /// its flags, exit 0 (nothing flagged), 1 (flagged) or 2 (a source
    /// cannot be reached).
    Check(CheckArgs),
    /// Print the merged live stream of observations from both sources, one
    /// JSON object per line (the recording format), like `docker events`.
    Events,
    /// The full TUI driven by a recording, with a time cursor (space pauses,
    /// + and - change the speed, < and > seek to the start and the end).
    Replay(ReplayArgs),
    /// Replay the shipped recording of the platform's real failure modes;
    /// needs neither Docker nor Redis.
    Demo,
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording (written by `evaltop events` or `--record`).
    pub file: PathBuf,

    /// Start at this speed (0.25 to 64).
    #[arg(long, default_value = "1", value_parser = parse_speed)]
    pub speed: f64,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Print JSON (see the README for the fields) instead of a table.
    #[arg(long)]
    pub json: bool,

    /// How long to listen to the live streams after the first full read.
    #[arg(long, env = "EVALTOP_LISTEN", default_value = "2s", value_parser = parse_duration)]
    pub listen: Duration,

    /// Read a recording instead of the live sources: the flags at its end.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,

    /// With --from: the flags at this moment (RFC 3339, or an offset from
    /// the recording's start such as +90s).
    #[arg(long, value_name = "TIME", requires = "from")]
    pub at: Option<String>,

    /// How long to wait for each source's first full read before calling
    /// it unreachable.
    #[arg(long, env = "EVALTOP_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_positive_duration)]
    pub connect_timeout: Duration,
}

/// `10s`, `2m`, `1h30m`, `500ms`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e} (expected a duration such as 10s, 2m or 1h30m)"))
}

fn parse_speed(text: &str) -> Result<f64, String> {
    let speed: f64 = text
        .trim()
        .trim_end_matches('x')
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if !(0.25..=64.0).contains(&speed) {
        return Err("must be from 0.25 to 64".to_string());
    }
    Ok(speed)
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_string());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_the_usual_forms() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("expected a duration")
        );
        assert!(parse_positive_duration("0s").is_err());
    }

    #[test]
    fn a_bad_flag_names_the_option_and_the_value() {
        let error = Cli::try_parse_from(["evaltop", "--grace", "forever"]).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("--grace") && text.contains("forever"),
            "{text}"
        );
    }

    #[test]
    fn executors_repeat() {
        let cli = Cli::try_parse_from([
            "evaltop",
            "--executor",
            "executor-1",
            "--executor",
            "executor-2",
            "check",
            "--json",
        ])
        .unwrap();
        assert_eq!(cli.sources.executors, ["executor-1", "executor-2"]);
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckArgs { json: true, .. }))
        ));
    }

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
