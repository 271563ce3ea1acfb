//! Re-fetching an evaluation's logs: from Docker while the container
//! exists (exited ones included), else the copy the core captured at its
//! death, else `logs:{id}:latest`; each labelled with where it came from
//! and how old it is. Everything is sanitised as it enters.

use super::EffectRunner;
use super::redis::{Link, latest_log};
use std::collections::VecDeque;

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::actions::{
    ActionKind, LogOrigin, LogStreamEvent, LogWindow, Outcome, OutcomeDetail, Target,
    latest_log_age_ms,
};
use crate::model::{CapturedLogs, StreamKind, TimedLine, Ts};
use crate::sanitize::{DEFAULT_MAX_LINE, sanitize_bytes};
use crate::sources::docker::{DockerError, LogRead, inspect, read_lines};

/// Lines a read keeps at most, whatever the window: the newest.
pub const MAX_FETCH_LINES: usize = 100_000;

/// What a window asks of Docker.
pub fn log_read(window: LogWindow, now: Ts, follow: bool) -> LogRead {
    match window {
        LogWindow::Tail(n) => LogRead {
            tail: Some(n),
            since: None,
            follow,
        },
        LogWindow::SinceSecs(secs) => LogRead {
            tail: None,
            since: Some(now.plus_millis(-i64::from(secs) * 1000)),
            follow,
        },
        LogWindow::All => LogRead {
            tail: None,
            since: None,
            follow,
        },
    }
}

/// Docker's answer: its lines with their times, the same as captured logs
/// (for a forced failure's payload), and whether the container still runs.
struct DockerLogs {
    lines: Vec<TimedLine>,
    logs: CapturedLogs,
    running: bool,
}

fn captured_of(lines: &VecDeque<TimedLine>, tty: bool, truncated: bool) -> CapturedLogs {
    let mut logs = CapturedLogs {
        tty,
        truncated,
        captured_at: Ts::now(),
        ..CapturedLogs::default()
    };
    for line in lines {
        let text = match line.stream {
            StreamKind::Stderr if !tty => &mut logs.stderr,
            StreamKind::Stderr | StreamKind::Stdout | StreamKind::Console => &mut logs.stdout,
        };
        text.push_str(&line.text);
        text.push('\n');
        logs.total_bytes += line.text.len() as u64 + 1;
    }
    logs
}

fn logs_outcome(
    target: &Target,
    ok: bool,
    summary: String,
    origin: LogOrigin,
    logs: CapturedLogs,
    complete: bool,
    lines: Vec<TimedLine>,
) -> Outcome {
    Outcome::new(
        ActionKind::FetchLogs,
        target.clone(),
        ok,
        summary,
        Ts::now(),
    )
    .with_detail(OutcomeDetail::Logs {
        origin,
        logs,
        complete,
        lines,
    })
}

/// What happened when Docker was asked: the logs, or why they were not
/// there (`None`: the container is gone, which is an answer).
async fn from_docker(
    runner: &EffectRunner,
    target: &Target,
    container_id: &str,
    window: LogWindow,
) -> Result<Option<DockerLogs>, DockerError> {
    let docker = runner.docker(target).await?;
    let facts = match inspect(&docker, &runner.inner.config.names, container_id).await {
        Ok(facts) => facts,
        Err(DockerError::NotFound) => return Ok(None),
        Err(error) => return Err(error),
    };
    let read = log_read(window, Ts::now(), false);
    let mut batches = std::pin::pin!(read_lines(&docker, &facts.container_id, read));
    let mut lines = VecDeque::new();
    let mut cut = false;
    // A TTY container that printed nothing sends no console frame: the
    // inspect still knows it had a TTY.
    let mut tty = facts.tty == Some(true);
    while let Some(batch) = batches.next().await {
        match batch {
            Ok(batch) => {
                tty |= batch.tty;
                lines.extend(batch.lines);
                while lines.len() > MAX_FETCH_LINES {
                    lines.pop_front();
                    cut = true;
                }
            }
            Err(DockerError::NotFound) => return Ok(None),
            // 409: being removed right now; its logs are going with it.
            Err(DockerError::Refused { status: 409, .. }) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    let truncated = cut || matches!(window, LogWindow::Tail(n) if lines.len() >= n);
    let logs = captured_of(&lines, tty, truncated);
    let running = facts.state.is_some_and(|s| s.is_live());
    Ok(Some(DockerLogs {
        lines: lines.into(),
        logs,
        running,
    }))
}

/// Follows a running container's log: Docker's stream with `follow` and
/// `timestamps`, sent back in batches until Docker ends it (the container
/// stopped) or it fails. Dropping the receiver, or aborting the task,
/// stops it.
pub async fn follow(
    runner: &EffectRunner,
    target: &Target,
    window: LogWindow,
    stream_id: u64,
    tx: mpsc::Sender<LogStreamEvent>,
) {
    let event =
        |lines: Vec<TimedLine>, tty: bool, end: Option<Result<(), String>>| LogStreamEvent {
            eval_id: target.eval_id.clone(),
            stream_id,
            lines,
            tty,
            end,
        };
    // Each send below may find the receiver gone: the view closed, and
    // there is nobody left to tell.
    let Some(container_id) = target.container_id.as_deref() else {
        let _ = tx
            .send(event(
                Vec::new(),
                false,
                Some(Err("no container known".into())),
            ))
            .await;
        return;
    };
    let docker = match runner.docker(target).await {
        Ok(docker) => docker,
        Err(error) => {
            let _ = tx
                .send(event(Vec::new(), false, Some(Err(error.to_string()))))
                .await;
            return;
        }
    };
    let read = log_read(window, Ts::now(), true);
    let mut batches = std::pin::pin!(read_lines(&docker, container_id, read));
    let mut tty = false;
    while let Some(batch) = batches.next().await {
        let message = match batch {
            Ok(batch) => {
                tty |= batch.tty;
                event(batch.lines, tty, None)
            }
            Err(error) => event(Vec::new(), tty, Some(Err(error.to_string()))),
        };
        let failed = message.end.is_some();
        if tx.send(message).await.is_err() || failed {
            return;
        }
    }
    let _ = tx.send(event(Vec::new(), tty, Some(Ok(())))).await;
}

pub(super) async fn fetch(
    runner: &EffectRunner,
    link: &mut Link<'_>,
    target: &Target,
    captured: Option<&CapturedLogs>,
    window: LogWindow,
) -> Outcome {
    let now = Ts::now();
    // Why Docker could not answer, said alongside whatever fallback is shown.
    let mut trouble: Vec<String> = Vec::new();
    match target.container_id.as_deref() {
        Some(container_id) => match from_docker(runner, target, container_id, window).await {
            Ok(Some(read)) => {
                let origin = LogOrigin::Docker { tty: read.logs.tty };
                // A running container's log is never complete.
                let complete = !read.logs.truncated && !read.running;
                let mut summary = format!("logs {}, {}", origin.describe(), window.describe());
                if read.running {
                    summary.push_str(", still running");
                }
                return logs_outcome(
                    target, true, summary, origin, read.logs, complete, read.lines,
                );
            }
            Ok(None) => {}
            Err(error) => trouble.push(format!("Docker: {error}")),
        },
        None => trouble.push("no container known".to_string()),
    }
    // "container gone" only when Docker said so; when it failed, why.
    let summary = |what: &str, origin: &LogOrigin, trouble: &[String]| {
        if trouble.is_empty() {
            format!("container gone; {what}: {}", origin.describe())
        } else {
            format!("{what}: {} ({})", origin.describe(), trouble.join("; "))
        }
    };
    if let Some(logs) = captured {
        let origin = LogOrigin::CapturedAtDeath {
            age_ms: now.since(logs.captured_at).max(0),
        };
        let summary = summary("logs", &origin, &trouble);
        let complete = !logs.truncated;
        return logs_outcome(
            target,
            true,
            summary,
            origin,
            logs.clone(),
            complete,
            Vec::new(),
        );
    }
    let empty = CapturedLogs {
        captured_at: now,
        ..CapturedLogs::default()
    };
    match latest_log(runner, link, &target.eval_id).await {
        Ok(Some((value, pttl))) => {
            let origin = LogOrigin::RedisLatest {
                age_ms: latest_log_age_ms(pttl),
            };
            let logs = CapturedLogs {
                // One stream: the executor's chunk mixes whatever it read.
                tty: true,
                stdout: sanitize_bytes(&value, DEFAULT_MAX_LINE),
                total_bytes: value.len() as u64,
                ..empty
            };
            let summary = summary("logs", &origin, &trouble);
            logs_outcome(target, true, summary, origin, logs, false, Vec::new())
        }
        Ok(None) => {
            let summary = summary("no logs", &LogOrigin::Nothing, &trouble);
            logs_outcome(
                target,
                false,
                summary,
                LogOrigin::Nothing,
                empty,
                false,
                Vec::new(),
            )
        }
        Err(error) => {
            trouble.push(format!("Redis: {error}"));
            let summary = format!("no logs found ({})", trouble.join("; "));
            logs_outcome(
                target,
                false,
                summary,
                LogOrigin::Nothing,
                empty,
                false,
                Vec::new(),
            )
        }
    }
}
