//! The options in force: the command line (flags and their environment
//! variables) over the config file over the defaults, resolved once, so
//! that every mode (live, check, events, replay, demo, check --from) is
//! built from the same value and none can miss a setting.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{Cli, SourceArgs};
use crate::config::Config;
use crate::console::{Console, ConsoleConfig};
use crate::effects::{AuditConfig, DEFAULT_AUDIT_STREAM, EffectConfig, default_audit_file};
use crate::engines::EngineSpec;
use crate::keymap::Keymap;
use crate::model::live_logs::{LiveLogLimits, LiveLogs};
use crate::model::{Settings, State};
use crate::names::Names;
use crate::view::Column;

/// Grace and resync when neither a flag nor the config gives one.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(30);

/// Everything a mode needs, resolved.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the sources are, as given on the command line.
    pub sources: SourceArgs,
    /// The Docker engines to watch (see `engines::resolve`).
    pub engines: Vec<EngineSpec>,
    pub resync: Duration,
    pub grace: Duration,
    /// The grace given on the command line, which overrides a recording's
    /// own (the config file's does not: a recording replays as recorded
    /// unless the operator asks otherwise, there and then).
    grace_flag: Option<Duration>,
    pub names: Names,
    pub read_only: bool,
    pub audit: AuditConfig,
    pub record: Option<PathBuf>,
    pub console: ConsoleOptions,
    pub live_logs: LiveLogLimits,
    pub operator: String,
}

/// What the console's look and keys come from.
#[derive(Clone, Debug)]
pub struct ConsoleOptions {
    pub keymap: Keymap,
    pub columns: Vec<Column>,
    pub kill_signal: String,
    pub colors: BTreeMap<String, String>,
}

impl Options {
    /// Fails on an engine list that cannot be used (a bad URL, two
    /// engines of one name), naming the flag and the value.
    pub fn resolve(cli: &Cli, config: Config) -> Result<Options, String> {
        let args = &cli.sources;
        let docker_host = std::env::var("DOCKER_HOST").ok();
        let engines =
            crate::engines::resolve(&args.docker, &config.docker, docker_host.as_deref())?;
        let audit = AuditConfig {
            file: cli
                .audit_file
                .clone()
                .or_else(|| config.audit_file.clone())
                .or_else(default_audit_file),
            stream: (!cli.no_audit_stream && config.audit_stream)
                .then(|| DEFAULT_AUDIT_STREAM.to_string()),
            ..AuditConfig::default()
        };
        Ok(Options {
            sources: args.clone(),
            engines,
            resync: args.resync.or(config.resync).unwrap_or(DEFAULT_RESYNC),
            grace: args.grace.or(config.grace).unwrap_or(DEFAULT_GRACE),
            grace_flag: args.grace,
            names: config.names,
            read_only: cli.read_only || config.read_only,
            audit,
            record: cli.record.clone(),
            console: ConsoleOptions {
                keymap: config.keymap,
                columns: config.columns,
                kill_signal: config.kill_signal,
                colors: config.colors,
            },
            live_logs: config.live_logs,
            operator: crate::effects::resolve_operator(cli.operator.as_deref()),
        })
    }

    /// The model's settings for a live run.
    pub fn settings(&self) -> Settings {
        Settings {
            grace_ms: millis(self.grace),
            executors: self.sources.executors.clone(),
            liveness_ms: millis(self.sources.liveness),
            ..Settings::default()
        }
    }

    /// A recording's settings, with what the command line says on top: a
    /// `--grace` or `--executor` given now applies to what was recorded.
    pub fn settings_over(&self, recorded: Settings) -> Settings {
        let mut settings = recorded;
        if let Some(grace) = self.grace_flag {
            settings.grace_ms = millis(grace);
        }
        if !self.sources.executors.is_empty() {
            settings.executors = self.sources.executors.clone();
        }
        settings
    }

    /// An empty state with these settings and the live log bounds, that
    /// knows the engines before they speak: until one lists, its
    /// containers are unknown.
    pub fn state(&self, settings: Settings) -> State {
        let mut state = State::new(settings);
        for engine in &self.engines {
            state.add_engine(engine.name.clone());
        }
        state.live_logs = LiveLogs::new(self.live_logs);
        state
    }

    /// The console over `state`; `read_only` says why actions are off, if
    /// they are (a replay, or `--read-only`).
    pub fn console(&self, state: State, read_only: Option<String>) -> Console {
        // The palette is global to the renderer: set once, for the one
        // console this process shows.
        crate::ui::theme::set_palette(&self.console.colors);
        let config = ConsoleConfig {
            keymap: self.console.keymap.clone(),
            operator: self.operator.clone(),
            kill_signal: self.console.kill_signal.clone(),
            columns: self.console.columns.clone(),
            names: self.names.clone(),
            read_only,
        };
        Console::new(state, config)
    }

    /// Why actions are off in a live run, if they are.
    pub fn read_only_reason(&self) -> Option<String> {
        self.read_only
            .then(|| "started with --read-only".to_string())
    }

    /// What the action runner needs.
    pub fn effect_config(&self) -> EffectConfig {
        EffectConfig {
            engines: self.engines.clone(),
            read_only: self.read_only,
            audit: self.audit.clone(),
            names: self.names.clone(),
            operator: self.operator.clone(),
            ..EffectConfig::new(&self.sources.redis)
        }
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn options(args: &[&str], config: &str) -> Options {
        let cli = Cli::try_parse_from(args).expect("parses");
        Options::resolve(&cli, crate::config::parse(config).expect("config")).expect("resolves")
    }

    #[test]
    fn a_flag_wins_over_the_config_which_wins_over_the_default() {
        let o = options(&["evaltop"], "");
        assert_eq!((o.grace, o.resync), (DEFAULT_GRACE, DEFAULT_RESYNC));
        let o = options(&["evaltop"], "grace = \"45s\"\nread_only = true");
        assert_eq!(o.grace, Duration::from_secs(45));
        assert!(o.read_only && o.read_only_reason().is_some());
        let o = options(&["evaltop", "--grace", "10s"], "grace = \"45s\"");
        assert_eq!(o.grace, Duration::from_secs(10));
    }

    #[test]
    fn a_recording_keeps_its_settings_but_for_what_the_command_line_says() {
        let recorded = Settings {
            grace_ms: 12_000,
            executors: vec!["executor-1".into()],
            ..Settings::default()
        };
        // The config's grace is the operator's default for live runs, not
        // a reason to judge a recording differently.
        let o = options(&["evaltop"], "grace = \"45s\"");
        assert_eq!(o.settings_over(recorded.clone()), recorded);
        let o = options(
            &["evaltop", "--grace", "3s", "--executor", "executor-2"],
            "",
        );
        let settings = o.settings_over(recorded);
        assert_eq!(settings.grace_ms, 3_000);
        assert_eq!(settings.executors, ["executor-2"]);
    }

    #[test]
    fn every_mode_gets_the_configs_console_and_log_bounds() {
        let o = options(
            &["evaltop"],
            "columns = [\"flags\", \"id\"]\nlive_log_kib_per_evaluation = 8\nkill_signal = \"SIGTERM\"\n[keys]\nkill = \"ctrl-k\"",
        );
        let state = o.state(o.settings());
        let console = o.console(state, Some("replaying".into()));
        let config = console.config();
        assert_eq!(config.columns, [Column::Flags, Column::Id]);
        assert_eq!(config.kill_signal, "SIGTERM");
        assert_eq!(config.keymap, o.console.keymap);
        assert_eq!(console.state().live_logs.limits().per_eval_bytes, 8 * 1024);
    }
}
