//! The evaltop binary measured: its TUI on a screen of the driver's own,
//! read-only and with its files in the temp dir, and what its header says
//! (src/ui/header.rs): the evaluation count, the Redis lag ("12,340
//! behind, 0.8 s") and blind windows.

use std::path::{Path, PathBuf};
use std::time::Duration;

use color_eyre::eyre::Result;

use crate::screen::Screen;
use crate::support::docker::random_hex;

/// Wide enough that no column is dropped and ids show whole; tall enough
/// that a row pushed down by a few others stays on screen.
const WIDTH: u16 = 220;
const HEIGHT: u16 = 60;
/// How long evaltop may take to connect and read both sources.
const SYNC_WITHIN: Duration = Duration::from_secs(60);

/// Fields drop in order: the screen (and with it evaltop) before its
/// files, so that nothing writes them after they are removed.
pub struct Tui {
    pub screen: Screen,
    _files: Files,
}

/// evaltop's log and audit files, removed on drop.
struct Files(PathBuf);

impl Drop for Files {
    fn drop(&mut self) {
        for ext in ["log", "audit"] {
            // Best effort: the files are the driver's own, and may not exist.
            let _ = std::fs::remove_file(format!("{}.{ext}", self.0.display()));
        }
    }
}

impl Tui {
    /// Starts the TUI on `redis_url`, scoped to `executors` (none: all).
    pub fn start(binary: &Path, redis_url: &str, executors: &[&str]) -> Result<Tui> {
        let files = std::env::temp_dir().join(format!("drv-evaltop-{}", random_hex()));
        let mut command = format!(
            "{} --redis {redis_url} --read-only --no-audit-stream --log-file {}.log --audit-file {}.audit",
            binary.display(),
            files.display(),
            files.display()
        );
        for executor in executors {
            command.push_str(&format!(" --executor {executor}"));
        }
        let screen = Screen::start("evaltop", &command, WIDTH, HEIGHT)?;
        let mut tui = Tui {
            screen,
            _files: Files(files),
        };
        tui.screen.wait_until(
            "evaltop connected to Docker and Redis and read both",
            SYNC_WITHIN,
            Duration::from_millis(50),
            |text| {
                let header = Header::of(text);
                header.redis_synced && header.docker_synced
            },
        )?;
        Ok(tui)
    }

    pub fn pid(&self) -> u32 {
        self.screen.pid()
    }

    pub fn header(&mut self) -> Result<Header> {
        Ok(Header::of(&self.screen.text()?))
    }

    /// Waits until the header counts at least `count` evaluations.
    pub fn wait_count(&mut self, count: u64, within: Duration) -> Result<Header> {
        let (text, _) = self.screen.wait_until(
            &format!("evaltop's header counts {count} evaluations"),
            within,
            Duration::from_millis(100),
            |text| Header::of(text).evaluations.is_some_and(|n| n >= count),
        )?;
        Ok(Header::of(&text))
    }

    /// Waits until the count has not moved for `quiet` and no lag shows:
    /// the header once settled.
    pub fn wait_settled(&mut self, quiet: Duration, within: Duration) -> Result<Header> {
        let mut last: Option<(u64, std::time::Instant)> = None;
        let (text, _) = self.screen.wait_until(
            "evaltop's count to settle",
            within,
            Duration::from_millis(200),
            |text| {
                let header = Header::of(text);
                let count = header.evaluations.unwrap_or(0);
                match last {
                    Some((n, since)) if n == count => {
                        header.behind.is_none() && since.elapsed() >= quiet
                    }
                    _ => {
                        last = Some((count, std::time::Instant::now()));
                        false
                    }
                }
            },
        )?;
        Ok(Header::of(&text))
    }
}

/// What the header shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Header {
    pub evaluations: Option<u64>,
    pub redis_connected: bool,
    pub redis_synced: bool,
    pub docker_synced: bool,
    /// Messages waiting and the oldest one's age in seconds.
    pub behind: Option<(u64, f64)>,
    /// The Redis line's blind-window text, if any.
    pub redis_blind: Option<String>,
    /// Payloads evaltop could not use: the driver's should all be good.
    pub rejected: Option<u64>,
}

impl Header {
    pub fn of(screen: &str) -> Header {
        let mut header = Header::default();
        for line in screen.lines().take(6) {
            let trimmed = line.trim_start();
            if let Some(rest) = trimmed.strip_prefix("redis ") {
                header.redis_connected = rest.contains("● connected");
                header.redis_synced = header.redis_connected && !rest.contains("syncing");
                header.behind = behind(rest);
                header.redis_blind = rest.find("blind").map(|at| rest[at..].trim().to_string());
            } else if let Some(rest) = trimmed.strip_prefix("docker ") {
                header.docker_synced = rest.contains("● ") && !rest.contains("syncing");
            } else if let Some((count, _)) = trimmed.split_once(" evaluations")
                && let Ok(count) = count.trim().parse()
            {
                header.evaluations = Some(count);
                header.rejected = trimmed
                    .split_once("rejected payloads ")
                    .and_then(|(_, n)| n.split_whitespace().next()?.parse().ok());
            }
        }
        header
    }
}

impl Header {
    /// A warning when evaltop rejected payloads: every payload the driver
    /// publishes follows PROTOCOL.md, so any rejection is the driver's bug.
    pub fn rejected_warning(&self) -> String {
        match self.rejected {
            Some(0) => String::new(),
            Some(n) => format!(" [WARNING: evaltop rejected {n} of the driver's payloads]"),
            None => " [WARNING: the header's rejected count is unreadable]".to_string(),
        }
    }
}

/// "12,340 behind, 0.8 s" somewhere in the Redis line.
fn behind(line: &str) -> Option<(u64, f64)> {
    let (before, after) = line.split_once(" behind, ")?;
    let count = before
        .rsplit(|c: char| !(c.is_ascii_digit() || c == ','))
        .next()?
        .replace(',', "")
        .parse()
        .ok()?;
    let secs = after.split_whitespace().next()?.parse().ok()?;
    Some((count, secs))
}

/// The screen line that shows `eval_id`, if any.
pub fn row<'a>(screen: &'a str, eval_id: &str) -> Option<&'a str> {
    screen.lines().find(|line| line.contains(eval_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_read() {
        let screen = "docker ● connected (docker 20.10, last event 1s ago)\n\
            redis  ● connected (redis 7.0.15, last event 0s ago) · 12,340 behind, 0.8 s · blind 00:55:10–00:55:14 (4s)\n\
            100042 evaluations · rejected payloads 0 │ completed 100000\n";
        let header = Header::of(screen);
        assert_eq!(header.evaluations, Some(100_042));
        assert_eq!(header.rejected, Some(0));
        assert!(header.redis_synced && header.docker_synced);
        assert_eq!(header.behind, Some((12_340, 0.8)));
        assert!(header.redis_blind.unwrap().starts_with("blind 00:55:10"));
    }
}
