//! The evaltop binary: parses the command line, starts logging to a file,
//! and runs the TUI or the headless check.

use std::process::ExitCode;

use clap::Parser;
use color_eyre::eyre::Result;

use evaltop::app::{self, Sources};
use evaltop::cli::{Cli, Command};
use evaltop::model::{State, Ts};
use evaltop::names::Names;

fn main() -> Result<ExitCode> {
    color_eyre::install()?;
    let cli = Cli::parse();
    let _log = app::logging::init(cli.log_file.as_deref())?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> Result<ExitCode> {
    let names = Names::default();
    let state = State::new(app::settings(&cli.sources));
    let sources = Sources::start(&cli.sources, &names);
    match &cli.command {
        None => {
            app::tui::run(sources, state).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Check(args)) => {
            let state = app::check::gather(sources, state, args).await;
            Ok(app::check::report(&state, args, Ts::now()))
        }
    }
}
