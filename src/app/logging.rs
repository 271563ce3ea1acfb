//! evaltop's own log goes to a file, never to the screen the TUI owns.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// `$XDG_STATE_HOME/evaltop/evaltop.log`, else `~/.local/state/...`, else
/// the temporary directory.
pub fn default_log_file() -> PathBuf {
    let state_home = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir);
    state_home.join("evaltop").join("evaltop.log")
}

/// Starts logging to `file` (filter from `EVALTOP_LOG`, default `info`).
/// Keep the guard alive: dropping it flushes the log.
pub fn init(file: Option<&Path>) -> Result<WorkerGuard> {
    let path = file.map(Path::to_path_buf).unwrap_or_else(default_log_file);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("cannot create the log directory {}", dir.display()))?;
    let name = path
        .file_name()
        .ok_or_else(|| color_eyre::eyre::eyre!("--log-file {} names no file", path.display()))?;
    let writer = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .wrap_err_with(|| format!("cannot open the log file {}", path.display()))?;
    drop(writer);
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("EVALTOP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| color_eyre::eyre::eyre!("cannot start logging: {e}"))?;
    Ok(guard)
}
