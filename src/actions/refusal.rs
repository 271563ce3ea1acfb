//! When an action is refused before it runs, and whether a second
//! confirmation overrides the refusal. A refusal guards against acting on
//! the wrong thing; it never replaces the runner's own check of what is
//! true now (the record may be seconds old).

use super::ActionKind;
use crate::model::{ContainerState, EvalRecord, Status};

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    /// True when the operator may confirm a second time to act anyway;
    /// false when there is nothing to act on.
    pub overridable: bool,
}

impl Refusal {
    fn hard(reason: &str) -> Option<Refusal> {
        Some(Refusal {
            reason: reason.to_string(),
            overridable: false,
        })
    }

    fn unless_confirmed(reason: String) -> Option<Refusal> {
        Some(Refusal {
            reason,
            overridable: true,
        })
    }
}

/// The refusal of `kind` on `record`, if any.
pub fn refusal(kind: ActionKind, record: &EvalRecord) -> Option<Refusal> {
    let state = record.container_state();
    let live = state.is_some_and(ContainerState::is_live);
    match kind {
        ActionKind::Kill | ActionKind::Remove if record.container_id().is_none() => {
            Refusal::hard("no container is known for this evaluation")
        }
        ActionKind::Kill | ActionKind::Remove if state == Some(ContainerState::Removed) => {
            Refusal::hard("the container is already removed")
        }
        // An exited container is not refused: the runner checks and says
        // "already exited", which is what the operator wants to know.
        ActionKind::Kill | ActionKind::FetchLogs => None,
        ActionKind::Remove if live => Refusal::unless_confirmed(format!(
            "the container is still {}: removing it kills it; confirm again to remove it anyway",
            state.map_or("running", ContainerState::name)
        )),
        ActionKind::Remove => None,
        ActionKind::ForceFail => {
            if let Some(status) = terminal_status(record) {
                let when = record
                    .redis
                    .terminal_at()
                    .map(|at| format!(" at {}", super::clock_secs(at)))
                    .unwrap_or_default();
                return Refusal::unless_confirmed(format!(
                    "already {}{when}: the storage worker ignores a failure for a terminal \
                     evaluation; confirm again to publish anyway",
                    status.name()
                ));
            }
            live.then(|| Refusal {
                reason: "the container is still running: kill it first, or confirm again to \
                         mark it failed while it runs"
                    .to_string(),
                overridable: true,
            })
        }
        ActionKind::CleanRunning => {
            let redis = &record.redis;
            if live && !redis.is_terminal() {
                return Refusal::unless_confirmed(
                    "the container is still running: clearing its running state hides a live \
                     evaluation from the platform; confirm again to clean anyway"
                        .to_string(),
                );
            }
            (!redis.in_running_set && redis.running_key.is_none()).then(|| Refusal {
                reason: "Redis held no running state for it at the last read; confirm again \
                         to clean anyway"
                    .to_string(),
                overridable: true,
            })
        }
    }
}

fn terminal_status(record: &EvalRecord) -> Option<Status> {
    let redis = &record.redis;
    redis
        .status
        .filter(|s| s.is_terminal())
        .or(redis.storage_status.filter(|s| s.is_terminal()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerSide, Ts};

    fn with_container(state: ContainerState) -> EvalRecord {
        let mut record = EvalRecord::new(Ts(0));
        record.docker = Some(ContainerSide {
            container_id: "c0ffee".into(),
            state: Some(state),
            ..ContainerSide::default()
        });
        record
    }

    fn refused(kind: ActionKind, record: &EvalRecord) -> Option<(bool, String)> {
        refusal(kind, record).map(|r| (r.overridable, r.reason))
    }

    #[test]
    fn container_actions_need_a_container() {
        let none = EvalRecord::new(Ts(0));
        for kind in [ActionKind::Kill, ActionKind::Remove] {
            assert_eq!(
                refused(kind, &none),
                Some((
                    false,
                    "no container is known for this evaluation".to_string()
                ))
            );
            let removed = with_container(ContainerState::Removed);
            assert_eq!(refused(kind, &removed).map(|r| r.0), Some(false));
        }
        assert_eq!(refused(ActionKind::FetchLogs, &none), None);
    }

    #[test]
    fn exited_containers_may_be_killed_and_removed_live_ones_removed_only_on_confirmation() {
        let exited = with_container(ContainerState::Exited);
        assert_eq!(refused(ActionKind::Kill, &exited), None);
        assert_eq!(refused(ActionKind::Remove, &exited), None);
        let running = with_container(ContainerState::Running);
        assert_eq!(refused(ActionKind::Kill, &running), None);
        let (overridable, reason) = refused(ActionKind::Remove, &running).unwrap();
        assert!(overridable);
        assert!(
            reason.starts_with("the container is still running"),
            "{reason}"
        );
    }

    #[test]
    fn forcing_a_terminal_evaluation_needs_a_second_confirmation() {
        let mut record = with_container(ContainerState::Exited);
        assert_eq!(refused(ActionKind::ForceFail, &record), None);
        record.redis.status = Some(Status::Failed);
        record.redis.status_seen = vec![(Status::Failed, Ts(1_751_763_316_182))];
        assert_eq!(
            refused(ActionKind::ForceFail, &record),
            Some((
                true,
                "already failed at 00:55:16: the storage worker ignores a failure for a \
                 terminal evaluation; confirm again to publish anyway"
                    .to_string()
            ))
        );
        // Storage's confirmation alone makes it terminal too.
        let mut confirmed = with_container(ContainerState::Removed);
        confirmed.redis.storage_status = Some(Status::Completed);
        let (overridable, reason) = refused(ActionKind::ForceFail, &confirmed).unwrap();
        assert!(overridable);
        assert!(reason.starts_with("already completed:"), "{reason}");
    }

    #[test]
    fn forcing_a_live_evaluation_needs_a_second_confirmation() {
        let running = with_container(ContainerState::Running);
        let (overridable, reason) = refused(ActionKind::ForceFail, &running).unwrap();
        assert!(overridable);
        assert!(reason.contains("kill it first"), "{reason}");
    }

    #[test]
    fn cleaning_running_state_is_refused_for_live_or_already_clean_evaluations() {
        let mut record = with_container(ContainerState::Exited);
        record.redis.in_running_set = true;
        assert_eq!(refused(ActionKind::CleanRunning, &record), None);
        record.redis.in_running_set = false;
        let (overridable, reason) = refused(ActionKind::CleanRunning, &record).unwrap();
        assert!(overridable);
        assert!(
            reason.starts_with("Redis held no running state"),
            "{reason}"
        );
        let mut live = with_container(ContainerState::Running);
        live.redis.in_running_set = true;
        let (_, reason) = refused(ActionKind::CleanRunning, &live).unwrap();
        assert!(reason.contains("hides a live evaluation"), "{reason}");
    }
}
