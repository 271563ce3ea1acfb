//! The audit entry: one per action attempt and one per outcome, written as
//! a JSON line to the audit file and as fields to the `evaltop:audit`
//! stream, so that what an operator did can be told afterwards.

use serde::{Deserialize, Serialize};

use super::{ActionKind, Effect, Outcome};
use crate::model::Ts;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditPhase {
    /// Written before the action runs: it was tried, whatever follows.
    Attempt,
    Outcome,
}

impl AuditPhase {
    pub fn name(self) -> &'static str {
        match self {
            AuditPhase::Attempt => "attempt",
            AuditPhase::Outcome => "outcome",
        }
    }
}

/// One audit record. Lists of ids so that a bulk action stays one entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub time: String,
    pub phase: AuditPhase,
    /// `user@host`.
    pub operator: String,
    pub action: ActionKind,
    pub eval_ids: Vec<String>,
    pub container_ids: Vec<String>,
    /// The Docker engines the containers are on (ids are unique per
    /// engine only); absent in entries written before fleets.
    #[serde(default)]
    pub engines: Vec<String>,
    pub reason: Option<String>,
    /// Parameters worth keeping, e.g. "signal SIGKILL".
    pub parameters: Option<String>,
    /// evaltop was read-only, so the action was not run.
    pub read_only: bool,
    /// For an outcome: whether it achieved its aim, and its summary.
    pub ok: Option<bool>,
    pub outcome: Option<String>,
}

impl AuditEntry {
    /// The entry for trying `effect`.
    pub fn attempt(effect: &Effect, operator: &str, read_only: bool, at: Ts) -> Self {
        let target = effect.target();
        AuditEntry {
            time: at.rfc3339(),
            phase: AuditPhase::Attempt,
            operator: operator.to_string(),
            action: effect.kind(),
            eval_ids: vec![target.eval_id.clone()],
            container_ids: target.container_id.iter().cloned().collect(),
            engines: target.engine.iter().map(|e| e.to_string()).collect(),
            reason: effect.reason().map(str::to_string),
            parameters: parameters(effect),
            read_only,
            ok: None,
            outcome: None,
        }
    }

    /// The entry for what came of `effect`.
    pub fn outcome(effect: &Effect, outcome: &Outcome, operator: &str, read_only: bool) -> Self {
        AuditEntry {
            time: outcome.at.rfc3339(),
            phase: AuditPhase::Outcome,
            ok: Some(outcome.ok),
            outcome: Some(outcome.summary.clone()),
            ..AuditEntry::attempt(effect, operator, read_only, outcome.at)
        }
    }

    /// The entry as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        // A struct of strings, bools and lists always serialises.
        let mut line = serde_json::to_string(self).expect("an audit entry serialises");
        line.push('\n');
        line
    }

    /// The entry as stream fields (XADD): flat strings; the id lists as
    /// JSON arrays, since ids are opaque and may hold any character.
    pub fn stream_fields(&self) -> Vec<(&'static str, String)> {
        let list = |ids: &[String]| serde_json::to_string(ids).expect("strings serialise");
        let mut fields = vec![
            ("time", self.time.clone()),
            ("phase", self.phase.name().to_string()),
            ("operator", self.operator.clone()),
            ("action", self.action.name().to_string()),
            ("eval_ids", list(&self.eval_ids)),
            ("container_ids", list(&self.container_ids)),
            ("engines", list(&self.engines)),
            ("read_only", self.read_only.to_string()),
        ];
        let optional = [
            ("reason", self.reason.clone()),
            ("parameters", self.parameters.clone()),
            ("ok", self.ok.map(|ok| ok.to_string())),
            ("outcome", self.outcome.clone()),
        ];
        fields.extend(
            optional
                .into_iter()
                .filter_map(|(name, value)| value.map(|v| (name, v))),
        );
        fields
    }
}

fn parameters(effect: &Effect) -> Option<String> {
    match effect {
        Effect::Kill { signal, .. } => Some(format!("signal {signal}")),
        Effect::ForceFail { wait, .. } => Some(format!("wait {}ms", wait.as_millis())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::actions::Target;

    #[test]
    fn attempt_and_outcome_lines_carry_who_what_and_why() {
        let target = Target::new("eval_1").with_container("c0ffee");
        let effect = Effect::ForceFail {
            target: target.clone(),
            payload: json!({"eval_id": "eval_1", "reason": "lost completion"}),
            wait: Duration::from_secs(5),
        };
        let attempt = AuditEntry::attempt(&effect, "ops@h", false, Ts(1_751_763_316_182));
        let line = attempt.to_line();
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["time"], "2025-07-06T00:55:16.182Z");
        assert_eq!(value["phase"], "attempt");
        assert_eq!(value["action"], "force-fail");
        assert_eq!(value["operator"], "ops@h");
        assert_eq!(value["eval_ids"], json!(["eval_1"]));
        assert_eq!(value["container_ids"], json!(["c0ffee"]));
        assert_eq!(value["reason"], "lost completion");
        assert_eq!(value["outcome"], serde_json::Value::Null);

        let outcome = Outcome::new(
            ActionKind::ForceFail,
            target,
            true,
            "confirmed by storage".into(),
            Ts(1_751_763_317_000),
        );
        let entry = AuditEntry::outcome(&effect, &outcome, "ops@h", false);
        assert_eq!(entry.phase, AuditPhase::Outcome);
        assert_eq!(entry.time, "2025-07-06T00:55:17.000Z");
        assert_eq!(entry.ok, Some(true));
        let fields = entry.stream_fields();
        assert!(fields.contains(&("outcome", "confirmed by storage".to_string())));
        assert!(fields.contains(&("eval_ids", r#"["eval_1"]"#.to_string())));
        assert!(fields.contains(&("ok", "true".to_string())));
        assert!(fields.contains(&("parameters", "wait 5000ms".to_string())));
    }
}
