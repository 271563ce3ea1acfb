//! The evaltop binary: parses the command line, reads the config, resolves
//! them into one set of options, starts logging to a file, and runs the
//! TUI, the headless check, the events stream, or a replay. A user's error
//! (a bad flag, config or file) is one plain line with its own exit code;
//! only an internal error gets the full report.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use evaltop::app::check::ReadFrom;
use evaltop::app::exit::{self, Failure};
use evaltop::app::feed::{LiveFeed, ReplayFeed};
use evaltop::app::{self, Sources};
use evaltop::cli::{CheckArgs, Cli, Command};
use evaltop::effects::EffectRunner;
use evaltop::model::Ts;
use evaltop::options::Options;
use evaltop::record::{
    Header, RecordError, RecordHandle, RecordedSources, Recorder, Recording, tee, write_events,
};

/// glibc's malloc makes the thread that frees (the loop) wait on the lock
/// of the arena the Redis reader allocated from: under a flood that and
/// malloc itself took a fifth of evaltop's CPU (BENCHMARKS.md section 8).
/// mimalloc frees into per-thread pages without a shared lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    install_error_reports();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version print to stdout and succeed.
            let code = if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            // If even the usage cannot be printed, the exit code says it.
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

/// color-eyre for internal errors: no colours when stderr is not a
/// terminal (a cron mail, a log file), and no hint about environment
/// variables.
fn install_error_reports() {
    let mut hooks = color_eyre::config::HookBuilder::default().display_env_section(false);
    if !std::io::stderr().is_terminal() {
        hooks = hooks.theme(color_eyre::config::Theme::new());
    }
    if let Err(error) = hooks.install() {
        eprintln!("evaltop: error reports are plain: {error}");
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let config = evaltop::config::load(cli.config.as_deref())
        .map_err(|error| Failure::Config(error.to_string()))?;
    let options = Options::resolve(&cli, config).map_err(Failure::Usage)?;
    let _log = app::logging::init(cli.log_file.as_deref())
        .map_err(|error| Failure::CantCreate(format!("cannot start the log file: {error:#}")))?;
    let runtime = tokio::runtime::Runtime::new()
        .wrap_err("cannot start the async runtime")
        .map_err(Failure::Internal)?;
    runtime.block_on(async_main(cli, options))
}

async fn async_main(cli: Cli, options: Options) -> Result<ExitCode, Failure> {
    match &cli.command {
        None => live(&options).await,
        Some(Command::Check(args)) => match &args.from {
            Some(path) => check_recording(&options, args, path),
            None => {
                let sources = Sources::start(&options);
                let state = options.state(options.settings());
                let state = app::check::gather(sources, state, args).await;
                Ok(app::check::report(
                    &state,
                    &options.engines,
                    args,
                    Ts::now(),
                    ReadFrom::Live,
                ))
            }
        },
        Some(Command::Events) => {
            let mut sources = Sources::start(&options);
            let recorder = Recorder::new(std::io::stdout(), &header(&options)).map_err(|e| {
                Failure::CantCreate(format!("cannot write to standard output: {e}"))
            })?;
            let written = tokio::select! {
                written = write_events(recorder, &mut sources.observations) => written,
                _ = tokio::signal::ctrl_c() => Ok(0),
            };
            match written {
                Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => Err(
                    Failure::CantCreate(format!("cannot write the events: {error}")),
                ),
                _ => Ok(ExitCode::SUCCESS),
            }
        }
        Some(Command::Replay(args)) => {
            let recording = read_recording(&args.file)?;
            replay(&options, recording, args.speed, false).await
        }
        Some(Command::Demo) => {
            let recording = evaltop::record::demo()
                .wrap_err("the shipped demo is unreadable")
                .map_err(Failure::Internal)?;
            // A newcomer sees the incident at once, then it plays on.
            replay(&options, recording, 1.0, true).await
        }
    }
}

/// The live console.
async fn live(options: &Options) -> Result<ExitCode, Failure> {
    let mut sources = Sources::start(options);
    let recording = match &options.record {
        Some(path) => Some(start_recording(options, path, &mut sources)?),
        None => None,
    };
    let runner = EffectRunner::new(options.effect_config())
        .wrap_err("cannot set up the actions")
        .map_err(Failure::Internal)?;
    let console = options.console(
        options.state(options.settings()),
        options.read_only_reason(),
    );
    let result = app::tui::run(LiveFeed { sources }, console, Some(runner)).await;
    if let Some(handle) = recording {
        let status = handle.finish().await;
        if let Some(error) = status.error {
            eprintln!("evaltop: the recording stopped early: {error}");
        }
    }
    result.map_err(Failure::Internal)?;
    Ok(ExitCode::SUCCESS)
}

/// The TUI on a recording, actions off.
async fn replay(
    options: &Options,
    recording: Recording,
    speed: f64,
    at_incident: bool,
) -> Result<ExitCode, Failure> {
    if let Some(problems) = recording.problems_summary() {
        eprintln!("evaltop: {problems}");
    }
    let settings = options.settings_over(recording.settings());
    let start = at_incident
        .then(|| evaltop::record::first_alarm(&recording, settings.clone()))
        .flatten();
    let state = options.state(settings);
    let console = options.console(
        state,
        Some("replaying a recording: actions are off".to_string()),
    );
    let mut feed = ReplayFeed::new(recording, speed);
    if let Some(at) = start {
        feed = feed.starting_at(at);
    }
    app::tui::run(feed, console, None)
        .await
        .map_err(Failure::Internal)?;
    Ok(ExitCode::SUCCESS)
}

fn read_recording(path: &std::path::Path) -> Result<Recording, Failure> {
    evaltop::record::read(path).map_err(|error| match error {
        RecordError::Io { .. } => Failure::NoInput(error.to_string()),
        _ => Failure::Data(format!("{}: {error}", path.display())),
    })
}

/// `check --from FILE [--at TIME]`: the flags as of a recorded moment.
fn check_recording(
    options: &Options,
    args: &CheckArgs,
    path: &std::path::Path,
) -> Result<ExitCode, Failure> {
    let recording = read_recording(path)?;
    if let Some(problems) = recording.problems_summary() {
        eprintln!("evaltop: {problems}");
    }
    let at = match &args.at {
        Some(text) => Some(
            evaltop::record::parse_at(text, &recording)
                .map_err(|e| Failure::Usage(format!("--at {text}: {e}")))?,
        ),
        None => None,
    };
    let settings = options.settings_over(recording.settings());
    let state = evaltop::record::state_at(&recording, settings, at);
    Ok(app::check::report(
        &state,
        &recording.header.sources.engine_specs(),
        args,
        at.unwrap_or(recording.end),
        ReadFrom::Recording,
    ))
}

fn header(options: &Options) -> Header {
    Header::new(
        RecordedSources::from_args(&options.sources, &options.engines),
        &options.settings(),
        Ts::now(),
    )
}

/// `--record FILE`: the sources' stream goes through a recorder on its way
/// to the loop.
fn start_recording(
    options: &Options,
    path: &std::path::Path,
    sources: &mut Sources,
) -> Result<RecordHandle, Failure> {
    let recorder = Recorder::create(path, &header(options))
        .map_err(|e| Failure::CantCreate(format!("cannot record to {}: {e}", path.display())))?;
    let input = std::mem::replace(&mut sources.observations, tokio::sync::mpsc::channel(1).1);
    let (observations, handle) = tee(recorder, input);
    sources.observations = observations;
    Ok(handle)
}
