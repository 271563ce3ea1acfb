//! The evaltop binary: parses the command line, reads the config, starts
//! logging to a file, and runs the TUI, the headless check, the events
//! stream, or a replay.

use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::{Result, WrapErr};

use evaltop::app::{self, Sources, feed::LiveFeed};
use evaltop::cli::{Cli, Command};
use evaltop::config::Config;
use evaltop::console::Console;
use evaltop::effects::{AuditConfig, EffectConfig, EffectRunner, default_audit_file, operator};
use evaltop::model::{State, Ts};

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let config = evaltop::config::load(cli.config.as_deref())?;
    let _log = app::logging::init(cli.log_file.as_deref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async_main(cli, config))
}

async fn async_main(cli: Cli, config: Config) -> Result<ExitCode> {
    let state = State::new(app::settings(&cli.sources, &config));
    match &cli.command {
        None => {
            let sources = Sources::start(&cli.sources, &config);
            let read_only =
                (cli.read_only || config.read_only).then(|| "started with --read-only".to_string());
            let runner = EffectRunner::new(effect_config(&cli, &config, read_only.is_some()))
                .wrap_err("cannot set up the actions")?;
            evaltop::ui::theme::set_palette(&config.colors);
            let mut console = Console::new(state, config.keymap.clone(), operator())
                .with_names(config.names.clone())
                .with_read_only(read_only);
            if config.columns.len() < evaltop::config::COLUMNS.len() {
                console.columns = Some(config.columns.clone());
            }
            app::tui::run(LiveFeed { sources }, console, Some(runner)).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args)) => {
            let sources = Sources::start(&cli.sources, &config);
            let state = app::check::gather(sources, state, args).await;
            Ok(app::check::report(&state, args, Ts::now()))
        }
        Some(other) => color_eyre::eyre::bail!("{other:?} is being wired in"),
    }
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
