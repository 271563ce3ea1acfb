//! Re-fetching an evaluation's logs: from Docker while the container
//! exists (exited ones included), else the copy the core captured at its
//! death, else `logs:{id}:latest`; each labelled with where it came from
//! and how old it is. Everything is sanitised as it enters.

use super::EffectRunner;
use super::redis::{Link, latest_log};
use crate::actions::{ActionKind, LogOrigin, Outcome, OutcomeDetail, Target, latest_log_age_ms};
use crate::model::{CapturedLogs, Ts};
use crate::sanitize::{DEFAULT_MAX_LINE, sanitize_bytes};
use crate::sources::docker::{DockerError, capture_logs, inspect};

fn logs_outcome(
    target: &Target,
    ok: bool,
    summary: String,
    origin: LogOrigin,
    logs: CapturedLogs,
    complete: bool,
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
    })
}

/// What happened when Docker was asked: the logs, or why they were not
/// there (`None`: the container is gone, which is an answer).
async fn from_docker(
    runner: &EffectRunner,
    container_id: &str,
) -> Result<Option<CapturedLogs>, DockerError> {
    let docker = runner.docker().await?;
    let facts = match inspect(&docker, &runner.inner.config.names, container_id).await {
        Ok(facts) => facts,
        Err(DockerError::NotFound) => return Ok(None),
        Err(error) => return Err(error),
    };
    match capture_logs(&docker, &facts.container_id).await {
        Ok(mut logs) => {
            // A TTY container that printed nothing sends no console frame:
            // the inspect still knows it had a TTY.
            logs.tty |= facts.tty == Some(true);
            Ok(Some(logs))
        }
        Err(DockerError::NotFound) => Ok(None),
        // 409: being removed right now; its logs are going with it.
        Err(DockerError::Refused { status: 409, .. }) => Ok(None),
        Err(error) => Err(error),
    }
}

pub(super) async fn fetch(
    runner: &EffectRunner,
    link: &mut Link<'_>,
    target: &Target,
    captured: Option<&CapturedLogs>,
) -> Outcome {
    let now = Ts::now();
    // Why Docker could not answer, said alongside whatever fallback is shown.
    let mut trouble: Vec<String> = Vec::new();
    match target.container_id.as_deref() {
        Some(container_id) => match from_docker(runner, container_id).await {
            Ok(Some(logs)) => {
                let origin = LogOrigin::Docker { tty: logs.tty };
                let complete = !logs.truncated;
                let summary = format!("logs {}", origin.describe());
                return logs_outcome(target, true, summary, origin, logs, complete);
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
        return logs_outcome(target, true, summary, origin, logs.clone(), complete);
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
            logs_outcome(target, true, summary, origin, logs, false)
        }
        Ok(None) => {
            let summary = summary("no logs", &LogOrigin::Nothing, &trouble);
            logs_outcome(target, false, summary, LogOrigin::Nothing, empty, false)
        }
        Err(error) => {
            trouble.push(format!("Redis: {error}"));
            let summary = format!("no logs found ({})", trouble.join("; "));
            logs_outcome(target, false, summary, LogOrigin::Nothing, empty, false)
        }
    }
}
