//! The evaltop binary: parses the command line, reads the config, starts
//! logging to a file, and runs the TUI, the headless check, the events
//! stream, or a replay.

use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use evaltop::app::feed::{LiveFeed, ReplayFeed};
use evaltop::app::{self, Sources};
use evaltop::cli::{CheckArgs, Cli, Command};
use evaltop::config::Config;
use evaltop::console::Console;
use evaltop::effects::{AuditConfig, EffectConfig, EffectRunner, default_audit_file, operator};
use evaltop::model::{State, Ts};
use evaltop::record::{
    Header, RecordHandle, RecordedSources, Recorder, Recording, tee, write_events,
};

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let config = evaltop::config::load(cli.config.as_deref())?;
    let _log = app::logging::init(cli.log_file.as_deref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async_main(cli, config))
}

async fn async_main(cli: Cli, config: Config) -> Result<ExitCode> {
    let mut state = State::new(app::settings(&cli.sources, &config));
    state.live_logs = evaltop::model::live_logs::LiveLogs::new(config.live_logs);
    match &cli.command {
        None => {
            let mut sources = Sources::start(&cli.sources, &config);
            let recording = match &cli.record {
                Some(path) => Some(start_recording(&cli, &config, &state, path, &mut sources)?),
                None => None,
            };
            let read_only =
                (cli.read_only || config.read_only).then(|| "started with --read-only".to_string());
            let runner = EffectRunner::new(effect_config(&cli, &config, read_only.is_some()))
                .wrap_err("cannot set up the actions")?;
            evaltop::ui::theme::set_palette(&config.colors);
            let mut console = Console::new(state, config.keymap.clone(), operator())
                .with_names(config.names.clone())
                .with_read_only(read_only);
            console.kill_signal = config.kill_signal.clone();
            console.columns = config.columns.clone();
            let result = app::tui::run(LiveFeed { sources }, console, Some(runner)).await;
            if let Some(handle) = recording {
                let status = handle.finish().await;
                if let Some(error) = status.error {
                    eprintln!("evaltop: the recording stopped early: {error}");
                }
            }
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args)) => match &args.from {
            Some(path) => check_recording(&cli, args, path),
            None => {
                let sources = Sources::start(&cli.sources, &config);
                let state = app::check::gather(sources, state, args).await;
                Ok(app::check::report(&state, args, Ts::now()))
            }
        },
        Some(Command::Events) => {
            let mut sources = Sources::start(&cli.sources, &config);
            let header = header(&cli, &state);
            let recorder = Recorder::new(std::io::stdout(), &header)
                .wrap_err("cannot write to standard output")?;
            let written = tokio::select! {
                written = write_events(recorder, &mut sources.observations) => written,
                _ = tokio::signal::ctrl_c() => Ok(0),
            };
            match written {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(error).wrap_err("cannot write the events")
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        Some(Command::Replay(args)) => {
            let recording = evaltop::record::read(&args.file)
                .wrap_err_with(|| format!("cannot replay {}", args.file.display()))?;
            replay(&cli, &config, recording, args.speed).await
        }
        Some(Command::Demo) => {
            let recording = evaltop::record::demo().wrap_err("the shipped demo is unreadable")?;
            replay(&cli, &config, recording, 1.0).await
        }
    }
}

/// The TUI on a recording, actions off.
async fn replay(cli: &Cli, config: &Config, recording: Recording, speed: f64) -> Result<ExitCode> {
    if let Some(problems) = recording.problems_summary() {
        eprintln!("evaltop: {problems}");
    }
    let mut settings = recording.settings();
    if let Some(grace) = cli.sources.grace {
        settings.grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    }
    evaltop::ui::theme::set_palette(&config.colors);
    let console = Console::new(State::new(settings), config.keymap.clone(), operator())
        .with_names(config.names.clone())
        .with_read_only(Some("replaying a recording: actions are off".to_string()));
    app::tui::run(ReplayFeed::new(recording, speed), console, None).await?;
    Ok(ExitCode::SUCCESS)
}

/// `check --from FILE [--at TIME]`: the flags as of a recorded moment.
fn check_recording(cli: &Cli, args: &CheckArgs, path: &std::path::Path) -> Result<ExitCode> {
    let recording = evaltop::record::read(path)
        .wrap_err_with(|| format!("cannot read the recording {}", path.display()))?;
    if let Some(problems) = recording.problems_summary() {
        eprintln!("evaltop: {problems}");
    }
    let at = match &args.at {
        Some(text) => Some(
            evaltop::record::parse_at(text, &recording)
                .map_err(|e| color_eyre::eyre::eyre!("--at {text}: {e}"))?,
        ),
        None => None,
    };
    let mut settings = recording.settings();
    if let Some(grace) = cli.sources.grace {
        settings.grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    }
    if !cli.sources.executors.is_empty() {
        settings.executors = cli.sources.executors.clone();
    }
    let state = evaltop::record::state_at(&recording, settings, at);
    Ok(app::check::report(
        &state,
        args,
        at.unwrap_or(recording.end),
    ))
}

fn header(cli: &Cli, state: &State) -> Header {
    Header::new(
        RecordedSources::from_args(&cli.sources),
        &state.settings,
        Ts::now(),
    )
}

/// `--record FILE`: the sources' stream goes through a recorder on its way
/// to the loop.
fn start_recording(
    cli: &Cli,
    _config: &Config,
    state: &State,
    path: &std::path::Path,
    sources: &mut Sources,
) -> Result<RecordHandle> {
    let recorder = Recorder::create(path, &header(cli, state))
        .wrap_err_with(|| format!("cannot record to {}", path.display()))?;
    let input = std::mem::replace(&mut sources.observations, tokio::sync::mpsc::channel(1).1);
    let (observations, handle) = tee(recorder, input);
    sources.observations = observations;
    Ok(handle)
}

fn effect_config(cli: &Cli, config: &Config, read_only: bool) -> EffectConfig {
    let file = cli
        .audit_file
        .clone()
        .or_else(|| config.audit_file.clone())
        .or_else(default_audit_file);
    let stream = (!cli.no_audit_stream && config.audit_stream)
        .then(|| evaltop::effects::DEFAULT_AUDIT_STREAM.to_string());
    EffectConfig {
        docker_host: cli.sources.docker.clone(),
        read_only,
        audit: AuditConfig {
            file,
            stream,
            ..AuditConfig::default()
        },
        names: config.names.clone(),
        ..EffectConfig::new(&cli.sources.redis)
    }
}
