//! The config file (TOML): keymap, colours, grace, resync, columns, the
//! platform's names, and the action settings. A bad file is an error that
//! names the file, the line, the key and what was expected.
//!
//! Precedence: a command-line flag or its environment variable, then the
//! file, then the default.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::keymap::{Chord, Command, Keymap};
use crate::model::live_logs::LiveLogLimits;
use crate::names::Names;
use crate::view::Column;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The file as written; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    grace: Option<Spanned<toml::Value>>,
    resync: Option<Spanned<toml::Value>>,
    read_only: Option<bool>,
    audit_file: Option<PathBuf>,
    audit_stream: Option<bool>,
    kill_signal: Option<Spanned<String>>,
    live_log_kib_per_evaluation: Option<Spanned<u64>>,
    live_log_mib_total: Option<Spanned<u64>>,
    columns: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Spanned<KeyList>>,
    #[serde(default)]
    colors: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    names: NamesFile,
    #[serde(default)]
    docker: Vec<Spanned<DockerFile>>,
}

/// One `[[docker]]` table: an engine to watch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DockerFile {
    name: Option<String>,
    url: String,
}

/// A duration as written: `"45s"`, or a bare number of seconds, as the
/// flags take it.
fn duration_value(value: &toml::Value) -> Result<Duration, String> {
    match value {
        toml::Value::String(text) => crate::cli::parse_duration(text),
        toml::Value::Integer(secs) => u64::try_from(*secs)
            .map(Duration::from_secs)
            .map_err(|_| format!("{secs} is negative; expected a duration")),
        other => Err(format!(
            "expected a duration such as \"45s\" or a number of seconds, found a {}",
            other.type_str()
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamesFile {
    label_eval_id: Option<String>,
    label_executor: Option<String>,
    label_created_at: Option<String>,
    label_timeout: Option<String>,
    channel_prefix: Option<String>,
    storage_prefix: Option<String>,
    running_set: Option<String>,
    running_key: Option<String>,
    pending_key: Option<String>,
    latest_log_key: Option<String>,
}

/// The config, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub grace: Option<Duration>,
    pub resync: Option<Duration>,
    pub read_only: bool,
    pub audit_file: Option<PathBuf>,
    pub audit_stream: bool,
    /// The signal a kill sends, e.g. `SIGKILL` (default) or `SIGTERM`.
    pub kill_signal: String,
    /// Bounds of the live log buffer.
    pub live_logs: LiveLogLimits,
    /// The table's columns, in the order they are drawn.
    pub columns: Vec<Column>,
    pub keymap: Keymap,
    /// Severity and accent colours by name (`alarm`, `warning`, `info`,
    /// `good`), as colour names.
    pub colors: BTreeMap<String, String>,
    pub names: Names,
    /// The `[[docker]]` engines, in the order written.
    pub docker: Vec<crate::engines::EngineSpec>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            grace: None,
            resync: None,
            read_only: false,
            audit_file: None,
            audit_stream: true,
            kill_signal: crate::actions::DEFAULT_KILL_SIGNAL.to_string(),
            live_logs: LiveLogLimits::default(),
            columns: Column::ALL.to_vec(),
            keymap: Keymap::default(),
            docker: Vec::new(),
            colors: BTreeMap::new(),
            names: Names::default(),
        }
    }
}

/// `$XDG_CONFIG_HOME/evaltop/config.toml` (or the platform's equivalent).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("evaltop").join("config.toml"))
}

/// Loads `path` when given (it must exist), else the default path when it
/// exists, else the defaults.
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    let path = match path {
        Some(path) => path.to_path_buf(),
        None => match default_path().filter(|p| p.exists()) {
            Some(path) => path,
            None => return Ok(Config::default()),
        },
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    parse(&text).map_err(|(line, message)| ConfigError::Invalid {
        path,
        line,
        message,
    })
}

/// Parses a config text; the error is (line, message).
pub fn parse(text: &str) -> Result<Config, (usize, String)> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |span| line_of(span.start));
        (line, e.message().to_string())
    })?;
    let at = |span: std::ops::Range<usize>, message: String| (line_of(span.start), message);
    let mut config = Config::default();

    let duration = |value: &Spanned<toml::Value>, key: &str| {
        duration_value(value.get_ref()).map_err(|e| at(value.span(), format!("`{key}`: {e}")))
    };
    config.grace = config_value(&file.grace, |v| duration(v, "grace"))?;
    config.resync = config_value(&file.resync, |v| duration(v, "resync"))?;
    if config.resync.is_some_and(|d| d.is_zero()) {
        let span = file.resync.as_ref().map(Spanned::span).unwrap_or(0..0);
        return Err(at(span, "`resync`: must be longer than zero".into()));
    }
    config.read_only = file.read_only.unwrap_or(false);
    config.audit_file = file.audit_file;
    config.audit_stream = file.audit_stream.unwrap_or(true);
    if let Some(signal) = &file.kill_signal {
        let name = signal.get_ref().trim().to_ascii_uppercase();
        let valid = name.starts_with("SIG")
            && name.len() > 3
            && name[3..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-');
        if !valid && name.parse::<u8>().is_err() {
            return Err(at(
                signal.span(),
                format!(
                    "`kill_signal`: {:?} is not a signal; expected e.g. SIGKILL, SIGTERM or 9",
                    signal.get_ref()
                ),
            ));
        }
        config.kill_signal = name;
    }
    for (value, slot, unit, key) in [
        (
            &file.live_log_kib_per_evaluation,
            &mut config.live_logs.per_eval_bytes,
            1024,
            "live_log_kib_per_evaluation",
        ),
        (
            &file.live_log_mib_total,
            &mut config.live_logs.total_bytes,
            1024 * 1024,
            "live_log_mib_total",
        ),
    ] {
        if let Some(value) = value {
            let bytes = usize::try_from(*value.get_ref())
                .ok()
                .and_then(|v| v.checked_mul(unit))
                .filter(|bytes| *bytes > 0)
                .ok_or_else(|| at(value.span(), format!("`{key}`: expected a size above zero")))?;
            *slot = bytes;
        }
    }

    if let Some(columns) = &file.columns {
        let names: Vec<&str> = Column::ALL.iter().map(|c| c.name()).collect();
        let mut chosen = Vec::new();
        for name in columns.get_ref() {
            let column = Column::parse(name).ok_or_else(|| {
                at(
                    columns.span(),
                    format!("`columns`: unknown column {name:?}, expected some of {names:?}"),
                )
            })?;
            if chosen.contains(&column) {
                return Err(at(
                    columns.span(),
                    format!("`columns`: {name:?} is listed twice"),
                ));
            }
            chosen.push(column);
        }
        config.columns = chosen;
    }

    let mut rebound = Vec::new();
    for (name, keys) in &file.keys {
        let command = Command::parse(name.get_ref()).ok_or_else(|| {
            at(
                name.span(),
                format!(
                    "`keys.{}`: unknown command; expected one of {}",
                    name.get_ref(),
                    command_names()
                ),
            )
        })?;
        let list = match keys.get_ref() {
            KeyList::One(key) => vec![key.clone()],
            KeyList::Many(keys) => keys.clone(),
        };
        let chords = list
            .iter()
            .map(|key| {
                Chord::parse(key)
                    .map_err(|e| at(keys.span(), format!("`keys.{}`: {e}", name.get_ref())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        rebound.push((command, chords, keys.span()));
    }
    let commands: Vec<(Command, Vec<Chord>)> = rebound
        .iter()
        .map(|(command, chords, _)| (*command, chords.clone()))
        .collect();
    if let Err(clash) = config.keymap.rebind(&commands) {
        // Named at the line of the rebinding that made the clash.
        let span = rebound
            .iter()
            .find(|(command, _, _)| *command == clash.second || *command == clash.first)
            .map_or(0..0, |(_, _, span)| span.clone());
        return Err(at(
            span,
            format!("`keys`: {clash}; bind one of them to another key"),
        ));
    }

    for (name, color) in &file.colors {
        if !["alarm", "warning", "info", "good"].contains(&name.get_ref().as_str()) {
            return Err(at(
                name.span(),
                format!(
                    "`colors.{}`: unknown; expected alarm, warning, info or good",
                    name.get_ref()
                ),
            ));
        }
        let value = color.get_ref().to_ascii_lowercase();
        if value.parse::<ratatui::style::Color>().is_err() {
            return Err(at(
                color.span(),
                format!(
                    "`colors.{}`: unknown colour {:?}; expected a name (red, lightred, darkgray, ...), #rrggbb or a 256-colour index",
                    name.get_ref(),
                    color.get_ref(),
                ),
            ));
        }
        config.colors.insert(name.get_ref().clone(), value);
    }

    let names = file.names;
    let defaults = Names::default();
    config.names = Names {
        label_eval_id: names.label_eval_id.unwrap_or(defaults.label_eval_id),
        label_executor: names.label_executor.unwrap_or(defaults.label_executor),
        label_created_at: names.label_created_at.unwrap_or(defaults.label_created_at),
        label_timeout: names.label_timeout.unwrap_or(defaults.label_timeout),
        channel_prefix: names.channel_prefix.unwrap_or(defaults.channel_prefix),
        storage_prefix: names.storage_prefix.unwrap_or(defaults.storage_prefix),
        running_set: names.running_set.unwrap_or(defaults.running_set),
        running_key: names.running_key.unwrap_or(defaults.running_key),
        pending_key: names.pending_key.unwrap_or(defaults.pending_key),
        latest_log_key: names.latest_log_key.unwrap_or(defaults.latest_log_key),
    };
    for (key, pattern) in [
        ("running_key", &config.names.running_key),
        ("pending_key", &config.names.pending_key),
        ("latest_log_key", &config.names.latest_log_key),
    ] {
        if pattern.matches("{id}").count() != 1 {
            return Err((
                line_of(text.find(key).unwrap_or(0)),
                format!("`names.{key}`: {pattern:?} must hold {{id}} exactly once"),
            ));
        }
    }
    for table in &file.docker {
        let engine = table.get_ref();
        let spec = crate::engines::from_parts(engine.name.as_deref(), &engine.url)
            .map_err(|e| at(table.span(), e))?;
        if config.docker.iter().any(|e| e.name == spec.name) {
            return Err(at(
                table.span(),
                format!(
                    "the config's [[docker]]: two engines are named {:?}",
                    spec.name.as_str()
                ),
            ));
        }
        config.docker.push(spec);
    }
    Ok(config)
}

fn config_value<T, U>(
    value: &Option<T>,
    convert: impl Fn(&T) -> Result<U, (usize, String)>,
) -> Result<Option<U>, (usize, String)> {
    value.as_ref().map(convert).transpose()
}

fn command_names() -> String {
    Command::all()
        .into_iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keymap::Context;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn an_empty_file_is_the_defaults() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn a_full_file_is_read() {
        let config = parse(
            r##"
grace = "45s"
resync = "1m"
read_only = true
audit_stream = false
kill_signal = "sigterm"
live_log_kib_per_evaluation = 64
live_log_mib_total = 8
columns = ["id", "status", "flags"]

[keys]
kill = "ctrl-k"
quit = ["q", "Q"]

[colors]
alarm = "lightred"
info = "#00aaff"

[names]
channel_prefix = "eval:"
running_key = "running:{id}"
"##,
        )
        .unwrap();
        assert_eq!(config.grace, Some(Duration::from_secs(45)));
        assert_eq!(config.resync, Some(Duration::from_secs(60)));
        assert!(config.read_only && !config.audit_stream);
        assert_eq!(config.kill_signal, "SIGTERM");
        assert_eq!(config.live_logs.per_eval_bytes, 64 * 1024);
        assert_eq!(config.live_logs.total_bytes, 8 * 1024 * 1024);
        assert_eq!(config.columns, [Column::Id, Column::Status, Column::Flags]);
        assert_eq!(config.colors["alarm"], "lightred");
        assert_eq!(config.names.channel_prefix, "eval:");
        assert_eq!(config.names.running_key, "running:{id}");
        let ctrl_k = KeyEvent::new(KeyCode::Char('k'), KeyModifiers::CONTROL);
        assert_eq!(
            config.keymap.lookup(&[Context::Table], &ctrl_k),
            Some(Command::Kill)
        );
        let old_k = KeyEvent::new(KeyCode::Char('K'), KeyModifiers::SHIFT);
        assert_eq!(config.keymap.lookup(&[Context::Table], &old_k), None);
        let big_q = KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT);
        assert_eq!(
            config.keymap.lookup(&[Context::Logs], &big_q),
            Some(Command::Quit)
        );
    }

    #[test]
    fn a_bare_number_is_seconds_as_on_the_command_line() {
        let config = parse("grace = 45\nresync = \"2m\"").expect("parses");
        assert_eq!(config.grace, Some(Duration::from_secs(45)));
        assert_eq!(config.resync, Some(Duration::from_secs(120)));
    }

    #[test]
    fn keys_can_be_swapped_without_a_clash() {
        let config = parse("[keys]\nkill = \"q\"\nquit = \"ctrl-q\"").expect("parses");
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(
            config.keymap.lookup(&[Context::Table], &q),
            Some(Command::Kill)
        );
    }

    #[test]
    fn errors_name_the_line_the_key_and_what_was_expected() {
        let cases = [
            ("grace = \"30x\"", 1, "`grace`"),
            ("\n\nresync = \"0s\"", 3, "must be longer than zero"),
            ("colour = 1", 1, "unknown field `colour`"),
            (
                "[keys]\nexplode = \"x\"",
                2,
                "`keys.explode`: unknown command",
            ),
            ("[keys]\nkill = \"hyper-k\"", 2, "unknown key"),
            ("[colors]\nalarm = \"blood\"", 2, "unknown colour \"blood\""),
            ("columns = [\"id\", \"cpu\"]", 1, "unknown column \"cpu\""),
            ("columns = [\"age\", \"age\"]", 1, "\"age\" is listed twice"),
            ("kill_signal = \"KILL ME\"", 1, "`kill_signal`"),
            ("live_log_mib_total = 0", 1, "`live_log_mib_total`"),
            ("read_only = \"yes\"", 1, "invalid type"),
            ("[names]\nrunning_key = \"running\"", 2, "must hold {id}"),
            (
                "[keys]\nkill = \"q\"",
                2,
                "key q would be both quit and kill (everywhere)",
            ),
            (
                "[keys]\n\nkill = \"s\"",
                3,
                "key s would be both sort and kill (table)",
            ),
            ("grace = -4", 1, "`grace`"),
        ];
        for (text, line, expected) in cases {
            let (got_line, message) = parse(text).unwrap_err();
            assert_eq!(got_line, line, "{text}: {message}");
            assert!(message.contains(expected), "{text}: {message}");
        }
    }

    #[test]
    fn the_readme_example_is_a_valid_config() {
        let readme = include_str!("../README.md");
        let start = readme.find("```toml\n").expect("the README shows a config") + 8;
        let end = start + readme[start..].find("```").expect("closed");
        let config = parse(&readme[start..end]).expect("the README's config parses");
        assert_eq!(config.grace, Some(Duration::from_secs(45)));
        assert_eq!(config.columns, Column::ALL);
        let engines: Vec<(&str, &str)> = config
            .docker
            .iter()
            .map(|e| (e.name.as_str(), e.url.as_str()))
            .collect();
        assert_eq!(
            engines,
            [
                ("exec-1", "tcp://10.0.0.11:2375"),
                ("exec-2", "tcp://10.0.0.12:2375")
            ]
        );
    }

    #[test]
    fn docker_tables_are_checked_and_named_apart() {
        let error = parse("[[docker]]\nurl = \"ftp://x\"").unwrap_err();
        assert!(
            error.1.contains("[[docker]]") && error.1.contains("ftp://x"),
            "{error:?}"
        );
        let twice = "[[docker]]\nname = \"a\"\nurl = \"tcp://h:1\"\n[[docker]]\nname = \"a\"\nurl = \"tcp://h:2\"";
        let error = parse(twice).unwrap_err();
        assert_eq!(error.0, 4, "the second table's line: {error:?}");
        assert!(error.1.contains("two engines are named \"a\""), "{error:?}");
        let bare = parse("[[docker]]\nurl = \"unix:///run/docker.sock\"").unwrap();
        assert_eq!(bare.docker[0].name.as_str(), "local");
    }

    #[test]
    fn a_missing_named_file_is_an_error_naming_it() {
        let error = load(Some(Path::new("/nonexistent/evaltop.toml"))).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/evaltop.toml"));
    }
}
