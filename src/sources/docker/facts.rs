//! Docker's answers (list entries, inspects, events) turned into the model's
//! `ContainerFacts` and `ContainerEvent`, and the filters that pick the
//! evaluation containers. Pure mapping: no IO, so it is tested by tables.

use std::collections::HashMap;

use bollard::models::{ContainerInspectResponse, ContainerSummary, EventMessage};

use crate::model::merge::parse_secs;
use crate::model::{
    ContainerAction, ContainerEvent, ContainerFacts, ContainerState, EngineName, Ts,
};
use crate::names::Names;
use crate::sanitize::{clean_id, clean_line};

/// The platform's labels on one container (or one event's attributes),
/// sanitised: labels are text that came from outside.
#[derive(Debug, Default, PartialEq)]
struct Labels {
    eval_id: String,
    executor: Option<String>,
    created_at: Option<String>,
    timeout: Option<String>,
}

fn labels(names: &Names, map: Option<&HashMap<String, String>>) -> Labels {
    let get = |key: &str| map.and_then(|m| m.get(key)).map(|v| clean_id(v));
    Labels {
        eval_id: get(&names.label_eval_id).unwrap_or_default(),
        executor: get(&names.label_executor).filter(|v| !v.is_empty()),
        created_at: get(&names.label_created_at).filter(|v| !v.is_empty()),
        timeout: get(&names.label_timeout).filter(|v| !v.is_empty()),
    }
}

/// The engine's container id, sanitised like every id (an engine behind a
/// proxy is not trusted to send hex); `None` when nothing is left of it.
fn container_id(raw: Option<&str>) -> Option<String> {
    raw.map(clean_id).filter(|id| !id.is_empty())
}

fn base_facts(container_id: String, labels: Labels) -> ContainerFacts {
    ContainerFacts {
        container_id,
        eval_id: labels.eval_id,
        executor: labels.executor,
        created_at: labels.created_at.as_deref().and_then(Ts::parse),
        created_at_label: labels.created_at,
        timeout_secs: labels.timeout.as_deref().and_then(parse_secs),
        ..ContainerFacts::default()
    }
}

/// Which executors' containers to report. Docker ANDs label filters, so
/// only a single executor can be filtered by the engine; several are
/// filtered here.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    executors: Vec<String>,
}

impl Scope {
    pub(crate) fn new(executors: &[String]) -> Self {
        Scope {
            executors: executors
                .iter()
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect(),
        }
    }

    /// The `label` filter values for the engine (list and events alike).
    pub(crate) fn label_filters(&self, names: &Names) -> Vec<String> {
        let mut filters = vec![names.label_eval_id.clone()];
        if let [only] = self.executors.as_slice() {
            filters.push(format!("{}={only}", names.label_executor));
        }
        filters
    }

    pub(crate) fn accepts(&self, executor: Option<&str>) -> bool {
        self.executors.is_empty() || executor.is_some_and(|e| self.executors.iter().any(|x| x == e))
    }
}

/// A list entry; `None` for an entry without an id or an `eval_id` label.
pub(crate) fn from_summary(names: &Names, summary: &ContainerSummary) -> Option<ContainerFacts> {
    let id = container_id(summary.id.as_deref())?;
    let mut facts = base_facts(id, labels(names, summary.labels.as_ref()));
    if facts.eval_id.is_empty() {
        return None;
    }
    facts.state = summary
        .state
        .as_ref()
        .and_then(|s| ContainerState::parse(s.as_ref()));
    Some(facts)
}

/// An inspect; `None` only when Docker gave no id at all.
pub(crate) fn from_inspect(
    names: &Names,
    inspect: &ContainerInspectResponse,
) -> Option<ContainerFacts> {
    let id = container_id(inspect.id.as_deref())?;
    let config = inspect.config.as_ref();
    let mut facts = base_facts(id, labels(names, config.and_then(|c| c.labels.as_ref())));
    facts.inspected = true;
    facts.tty = config.and_then(|c| c.tty);
    if let Some(state) = inspect.state.as_ref() {
        facts.state = state
            .status
            .as_ref()
            .and_then(|s| ContainerState::parse(s.as_ref()));
        facts.oom_killed = state.oom_killed;
        facts.started_at = state.started_at.as_deref().and_then(Ts::parse);
        facts.finished_at = state.finished_at.as_deref().and_then(Ts::parse);
        // Docker reports 0 for a container that has not ended yet: that is
        // not an exit code, and a model that believed it would call a
        // running evaluation a success.
        if facts.state.is_some_and(ContainerState::has_ended) {
            facts.exit_code = state.exit_code;
        }
    }
    Some(facts)
}

/// A container event; `None` for one without an id or an `eval_id` label,
/// or of an executor out of scope.
pub(crate) fn from_event(
    names: &Names,
    scope: &Scope,
    message: &EventMessage,
) -> Option<ContainerEvent> {
    let actor = message.actor.as_ref()?;
    let id = container_id(actor.id.as_deref())?;
    let attributes = actor.attributes.as_ref();
    let labels = labels(names, attributes);
    if labels.eval_id.is_empty() || !scope.accepts(labels.executor.as_deref()) {
        return None;
    }
    let attribute = |key: &str| attributes.and_then(|a| a.get(key)).map(|v| v.trim());
    let at = event_nanos(message).map(Ts::from_nanos).unwrap_or_else(|| {
        tracing::debug!(
            container_id = id,
            "event without a time; using the local clock"
        );
        Ts::now()
    });
    Some(ContainerEvent {
        // Named by the engine's source when it sends the event.
        engine: EngineName::default(),
        container_id: id,
        eval_id: labels.eval_id,
        action: ContainerAction::parse(message.action.as_deref().unwrap_or("")),
        at,
        executor: labels.executor,
        created_at_label: labels.created_at,
        timeout_label: labels.timeout,
        signal: attribute("signal")
            .filter(|s| !s.is_empty())
            .map(clean_line),
        exit_code_attr: attribute("exitCode").and_then(|c| c.parse().ok()),
    })
}

/// The event's daemon time in nanoseconds (older engines give seconds).
pub(crate) fn event_nanos(message: &EventMessage) -> Option<i64> {
    message.time_nano.filter(|n| *n > 0).or_else(|| {
        message
            .time
            .filter(|s| *s > 0)
            .map(|s| s.saturating_mul(1_000_000_000))
    })
}

/// The daemon's clock (`SystemTime` of `/info`, RFC 3339 with nanoseconds)
/// in nanoseconds since the epoch.
pub(crate) fn daemon_nanos(system_time: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(system_time.trim())
        .ok()?
        .timestamp_nanos_opt()
}

/// The `since` argument of the events endpoint: `seconds.nanoseconds`.
pub(crate) fn since_arg(nanos: i64) -> String {
    format!(
        "{}.{:09}",
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000)
    )
}

#[cfg(test)]
mod tests {
    use bollard::models::{
        ContainerConfig, ContainerState as DockerState, ContainerStateStatusEnum,
        ContainerSummaryStateEnum, EventActor,
    };

    use super::*;

    fn label_map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const LABELS: [(&str, &str); 4] = [
        ("eval_id", "eval_20250706_005515_529f833e"),
        ("executor", "executor-2"),
        ("created_at", "2025-07-06T00:55:15.529816+00:00"),
        ("timeout", "30"),
    ];

    #[test]
    fn list_entries_carry_labels_and_state() {
        let names = Names::default();
        let summary = ContainerSummary {
            id: Some("abc123".into()),
            labels: Some(label_map(&LABELS)),
            state: Some(ContainerSummaryStateEnum::EXITED),
            ..Default::default()
        };
        let facts = from_summary(&names, &summary).unwrap();
        assert_eq!(facts.eval_id, "eval_20250706_005515_529f833e");
        assert_eq!(facts.executor.as_deref(), Some("executor-2"));
        assert_eq!(
            facts.created_at,
            Ts::parse("2025-07-06T00:55:15.529816+00:00")
        );
        assert_eq!(facts.timeout_secs, Some(30));
        assert_eq!(facts.state, Some(ContainerState::Exited));
        assert!(!facts.inspected);
        assert_eq!(facts.exit_code, None);

        let unlabelled = ContainerSummary {
            id: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(from_summary(&names, &unlabelled), None);
    }

    #[test]
    fn hostile_labels_are_sanitised_and_bad_values_left_unparsed() {
        let names = Names::default();
        let summary = ContainerSummary {
            id: Some("abc".into()),
            labels: Some(label_map(&[
                ("eval_id", "eval_\u{1b}[31mx"),
                ("timeout", "soon"),
                ("created_at", "yesterday"),
            ])),
            ..Default::default()
        };
        let facts = from_summary(&names, &summary).unwrap();
        assert_eq!(facts.eval_id, "eval_x");
        assert_eq!(facts.timeout_secs, None);
        assert_eq!(facts.created_at_label.as_deref(), Some("yesterday"));
        assert_eq!(facts.created_at, None);
    }

    fn inspect_with(status: ContainerStateStatusEnum, exit_code: i64) -> ContainerInspectResponse {
        ContainerInspectResponse {
            id: Some("abc".into()),
            config: Some(ContainerConfig {
                labels: Some(label_map(&LABELS)),
                tty: Some(true),
                ..Default::default()
            }),
            state: Some(DockerState {
                status: Some(status),
                exit_code: Some(exit_code),
                oom_killed: Some(false),
                started_at: Some("2025-07-06T00:55:16.100000000Z".into()),
                finished_at: Some("0001-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn inspects_fill_what_a_list_cannot() {
        let names = Names::default();
        let facts =
            from_inspect(&names, &inspect_with(ContainerStateStatusEnum::EXITED, 1)).unwrap();
        assert!(facts.inspected);
        assert_eq!(facts.exit_code, Some(1));
        assert_eq!(facts.tty, Some(true));
        assert_eq!(facts.oom_killed, Some(false));
        assert_eq!(facts.started_at, Ts::parse("2025-07-06T00:55:16.1Z"));
        assert_eq!(facts.finished_at, None, "Docker's zero time is not a time");

        let running =
            from_inspect(&names, &inspect_with(ContainerStateStatusEnum::RUNNING, 0)).unwrap();
        assert_eq!(running.state, Some(ContainerState::Running));
        assert_eq!(
            running.exit_code, None,
            "a running container has no exit code"
        );
    }

    fn die_event(executor: &str) -> EventMessage {
        let mut attributes = label_map(&LABELS);
        attributes.insert("executor".into(), executor.into());
        attributes.insert("exitCode".into(), "137".into());
        EventMessage {
            action: Some("die".into()),
            actor: Some(EventActor {
                id: Some("abc".into()),
                attributes: Some(attributes),
            }),
            time: Some(1_751_763_316),
            time_nano: Some(1_751_763_316_182_349_000),
            ..Default::default()
        }
    }

    #[test]
    fn events_carry_the_daemon_time_and_exit_code() {
        let names = Names::default();
        let event = from_event(&names, &Scope::default(), &die_event("executor-2")).unwrap();
        assert_eq!(event.action, ContainerAction::Die);
        assert_eq!(event.at, Ts(1_751_763_316_182));
        assert_eq!(event.exit_code_attr, Some(137));
        assert_eq!(event.timeout_label.as_deref(), Some("30"));
        assert_eq!(event.signal, None);
    }

    #[test]
    fn scope_filters_executors_in_the_engine_only_when_there_is_one() {
        let names = Names::default();
        let none = Scope::new(&[]);
        let one = Scope::new(&["executor-2".into()]);
        let two = Scope::new(&["executor-1".into(), "executor-2".into()]);
        assert_eq!(none.label_filters(&names), ["eval_id"]);
        assert_eq!(
            one.label_filters(&names),
            ["eval_id", "executor=executor-2"]
        );
        assert_eq!(two.label_filters(&names), ["eval_id"]);
        assert!(from_event(&names, &two, &die_event("executor-2")).is_some());
        assert!(from_event(&names, &two, &die_event("executor-3")).is_none());
        assert!(!two.accepts(None));
        assert!(none.accepts(None));
    }

    #[test]
    fn daemon_times_become_since_arguments() {
        let nanos = daemon_nanos("2025-07-06T00:55:16.182349123Z").unwrap();
        assert_eq!(nanos, 1_751_763_316_182_349_123);
        assert_eq!(since_arg(nanos), "1751763316.182349123");
        assert_eq!(since_arg(5), "0.000000005");
        assert_eq!(daemon_nanos("not a time"), None);
    }
}
