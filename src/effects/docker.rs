//! The Docker side of the actions: kill (inspect, watch for `die`, signal,
//! wait, inspect again for the exit code) and remove (force, then check
//! the container is gone). A container that already ended, or is already
//! gone, is an answer, not an error.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptionsBuilder, KillContainerOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures::StreamExt;

use super::{EffectRunner, seconds};
use crate::actions::{ActionKind, Outcome, OutcomeDetail, Target};
use crate::model::{ContainerFacts, ContainerState, Ts};
use crate::sources::docker::{DockerError, inspect};

/// When the container's start time is unknown, events are replayed from
/// this long before the local "now", to cover a skew between the clocks.
const CLOCK_MARGIN_MS: i64 = 30_000;

fn kill_outcome(target: &Target, ok: bool, summary: String, detail: OutcomeDetail) -> Outcome {
    Outcome::new(ActionKind::Kill, target.clone(), ok, summary, Ts::now()).with_detail(detail)
}

fn ended_detail(exit_code: Option<i64>) -> OutcomeDetail {
    OutcomeDetail::Kill {
        exit_code,
        die_seen: false,
        already_ended: true,
    }
}

/// What to say of a container that is not running: "already exited (1)".
fn not_running(target: &Target, facts: &ContainerFacts) -> Outcome {
    let summary = match (facts.state, facts.exit_code) {
        (Some(ContainerState::Created), _) => "never started (created): nothing to kill".into(),
        (Some(ContainerState::Exited), Some(code)) => format!("already exited ({code})"),
        (Some(state), Some(code)) => format!("already {} ({code})", state.name()),
        (Some(state), None) => format!("already {}", state.name()),
        (None, _) => "not running".into(),
    };
    kill_outcome(target, true, summary, ended_detail(facts.exit_code))
}

fn gone(target: &Target) -> Outcome {
    kill_outcome(target, true, "already removed".into(), ended_detail(None))
}

/// Docker's `since`: seconds and nanoseconds since the epoch.
fn since_arg(at: Ts) -> String {
    let ms = at.millis();
    format!(
        "{}.{:09}",
        ms.div_euclid(1000),
        ms.rem_euclid(1000) * 1_000_000
    )
}

fn is_sigkill(signal: &str) -> bool {
    matches!(
        signal.trim().to_ascii_uppercase().as_str(),
        "SIGKILL" | "KILL" | "9"
    )
}

pub(super) async fn kill(runner: &EffectRunner, target: &Target, signal: &str) -> Outcome {
    let Some(container_id) = target.container_id.as_deref() else {
        let summary = "no container known: nothing to kill".to_string();
        return kill_outcome(target, false, summary, OutcomeDetail::None);
    };
    let fail = |error: DockerError| {
        kill_outcome(
            target,
            false,
            format!("kill failed: {error}"),
            OutcomeDetail::None,
        )
    };
    let docker = match runner.docker(target).await {
        Ok(docker) => docker,
        Err(error) => return fail(error),
    };
    let names = &runner.inner.config.names;
    let facts = match inspect(&docker, names, container_id).await {
        Ok(facts) => facts,
        Err(DockerError::NotFound) => return gone(target),
        Err(error) => return fail(error),
    };
    if !facts.state.is_some_and(ContainerState::is_live) {
        return not_running(target, &facts);
    }
    // Watch for `die` before sending the signal. The stream starts at the
    // container's start on the daemon's clock, so a death that comes
    // before the stream is set up is replayed rather than missed.
    let full_id = facts.container_id.clone();
    let since = facts
        .started_at
        .unwrap_or_else(|| Ts::now().plus_millis(-CLOCK_MARGIN_MS));
    let mut die = tokio::spawn(first_die(docker.clone(), full_id.clone(), since));
    let options = KillContainerOptionsBuilder::default()
        .signal(signal)
        .build();
    let sent = docker
        .kill_container(&full_id, Some(options))
        .await
        .map_err(|e| DockerError::from_bollard("kill the container", e));
    match sent {
        Ok(()) => {}
        Err(error) => {
            die.abort();
            return match error {
                DockerError::NotFound => gone(target),
                // 409: it ended between the inspect and the kill.
                DockerError::Refused { status: 409, .. } => {
                    match inspect(&docker, names, &full_id).await {
                        Ok(facts) if !facts.state.is_some_and(ContainerState::is_live) => {
                            not_running(target, &facts)
                        }
                        Ok(_) => fail(error),
                        Err(DockerError::NotFound) => gone(target),
                        Err(again) => fail(again),
                    }
                }
                error => fail(error),
            };
        }
    }
    let wait = runner.inner.config.die_wait;
    let waited = tokio::time::timeout(wait, &mut die).await;
    // A watcher still waiting would stream events forever.
    die.abort();
    let died = match waited {
        Ok(Ok(Ok(attribute))) => Some(attribute),
        Ok(Ok(Err(error))) => {
            tracing::warn!(%error, "Docker event stream failed while waiting for die");
            None
        }
        Ok(Err(join)) => {
            tracing::warn!(error = %join, "die watcher failed");
            None
        }
        Err(_elapsed) => None,
    };
    let after = inspect(&docker, names, &full_id).await;
    let Some(attribute) = died else {
        let state = match &after {
            Ok(facts) => facts.state.map_or("state unknown", ContainerState::name),
            Err(DockerError::NotFound) => "container removed",
            Err(_) => "state unknown",
        };
        return kill_outcome(
            target,
            false,
            format!("no die event after {} ({state})", seconds(wait)),
            OutcomeDetail::Kill {
                // An inspect that failed is already told in the summary.
                exit_code: after.ok().and_then(|facts| facts.exit_code),
                die_seen: false,
                already_ended: false,
            },
        );
    };
    // The inspect is the truth; the event's attribute can be overwritten
    // by a label of the same name.
    let exit_code = match &after {
        Ok(facts) => facts.exit_code.or(attribute),
        Err(_) => attribute,
    };
    let code = exit_code.map_or_else(|| "unknown".to_string(), |c| c.to_string());
    let summary = if is_sigkill(signal) {
        format!("killed: exit {code}")
    } else {
        format!("{signal} sent: exited {code}")
    };
    kill_outcome(
        target,
        true,
        summary,
        OutcomeDetail::Kill {
            exit_code,
            die_seen: true,
            already_ended: false,
        },
    )
}

/// The first `die` of `container_id` since `since`; its `exitCode`.
async fn first_die(
    docker: Docker,
    container_id: String,
    since: Ts,
) -> Result<Option<i64>, DockerError> {
    let filters = HashMap::from([
        ("type", vec!["container".to_string()]),
        ("container", vec![container_id.clone()]),
        ("event", vec!["die".to_string()]),
    ]);
    let options = EventsOptionsBuilder::default()
        .since(&since_arg(since))
        .filters(&filters)
        .build();
    let mut events = docker.events(Some(options));
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| DockerError::from_bollard("stream events", e))?;
        let actor = event.actor.unwrap_or_default();
        if event.action.as_deref() == Some("die") && actor.id.as_deref() == Some(&container_id) {
            let code = actor
                .attributes
                .unwrap_or_default()
                .get("exitCode")
                .and_then(|c| c.parse().ok());
            return Ok(code);
        }
    }
    Err(DockerError::StreamEnded)
}

fn remove_outcome(target: &Target, ok: bool, summary: String, already_gone: bool) -> Outcome {
    Outcome::new(ActionKind::Remove, target.clone(), ok, summary, Ts::now())
        .with_detail(OutcomeDetail::Remove { already_gone })
}

/// Force-removes the container (with its anonymous volumes), then checks
/// it is gone.
pub(super) async fn remove(runner: &EffectRunner, target: &Target) -> Outcome {
    let Some(container_id) = target.container_id.as_deref() else {
        return remove_outcome(target, false, "no container known".into(), false);
    };
    let docker = match runner.docker(target).await {
        Ok(docker) => docker,
        Err(error) => return remove_outcome(target, false, format!("not removed: {error}"), false),
    };
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    match docker.remove_container(container_id, Some(options)).await {
        Ok(()) => {}
        Err(error) => {
            return match DockerError::from_bollard("remove the container", error) {
                DockerError::NotFound => remove_outcome(target, true, "already gone".into(), true),
                error => remove_outcome(target, false, format!("not removed: {error}"), false),
            };
        }
    }
    match inspect(&docker, &runner.inner.config.names, container_id).await {
        Err(DockerError::NotFound) => remove_outcome(target, true, "removed".into(), false),
        Ok(facts) => remove_outcome(
            target,
            false,
            format!(
                "removal accepted, but the container is still there ({})",
                facts.state.map_or("state unknown", ContainerState::name)
            ),
            false,
        ),
        Err(error) => remove_outcome(
            target,
            true,
            format!("removed (not checked: {error})"),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_seconds_and_nanoseconds() {
        assert_eq!(since_arg(Ts(1_751_763_316_182)), "1751763316.182000000");
        assert_eq!(since_arg(Ts(5)), "0.005000000");
    }

    #[test]
    fn sigkill_is_recognised_in_every_spelling() {
        for signal in ["SIGKILL", "kill", "9", " KILL "] {
            assert!(is_sigkill(signal), "{signal}");
        }
        assert!(!is_sigkill("SIGTERM"));
    }
}
