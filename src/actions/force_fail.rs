//! Forcing an evaluation into `failed`: the reason prefilled from its flags
//! and evidence, and the `evaluation:failed` payload the storage worker
//! accepts (the executor's fields, plus `manual_update`, `reason` and
//! metadata naming evaltop, the operator and the flags).

use serde_json::{Value, json};

use super::clock_secs;
use crate::model::{CapturedLogs, ContainerState, EvalRecord, Flag, Ts, human_duration};

/// Everything a forced failure's payload is built from.
#[derive(Clone, Copy, Debug)]
pub struct ForceFailRequest<'a> {
    pub eval_id: &'a str,
    pub record: &'a EvalRecord,
    /// The reason as the operator confirmed it (see `prefilled_reason`).
    pub reason: &'a str,
    /// The record's flags, most severe first (as `assess` gives them).
    pub flags: &'a [Flag],
    /// `user@host`.
    pub operator: &'a str,
    pub now: Ts,
    /// Logs re-fetched by the operator; when `None`, the copy the core
    /// captured at the container's death, if any.
    pub recovered: Option<&'a CapturedLogs>,
}

/// The payload to publish on `evaluation:failed`. `error` holds the reason,
/// then the recovered stderr (or the console log, for a TTY container);
/// `output` the recovered stdout. `exit_code` is Docker's, or null when
/// unknown rather than an invented value.
pub fn force_fail_payload(request: &ForceFailRequest<'_>) -> Value {
    let record = request.record;
    let recovered = request.recovered.or(record.captured_logs.as_deref());
    let mut error = request.reason.to_string();
    let mut output = String::new();
    if let Some(logs) = recovered {
        let (label, text) = if logs.tty {
            ("console log", logs.stdout.as_str())
        } else {
            output = logs.stdout.clone();
            ("stderr", logs.stderr.as_str())
        };
        if !text.trim().is_empty() {
            error.push_str(&format!("\n\n[recovered {label}, read by evaltop]\n{text}"));
        }
    }
    let docker = record.docker.as_ref();
    let now = request.now.rfc3339();
    let flags: Vec<&str> = request.flags.iter().map(|f| f.kind().name()).collect();
    json!({
        "eval_id": request.eval_id,
        "status": "failed",
        "error": error,
        "output": output,
        "exit_code": docker.and_then(|d| d.exit_code),
        "executor_id": record.executor(),
        "completed_at": now,
        "manual_update": true,
        "reason": request.reason,
        "metadata": {
            "tool": "evaltop",
            "tool_version": env!("CARGO_PKG_VERSION"),
            "operator": request.operator,
            "flags": flags,
            "failed_at": now,
            "container_id": record.container_id(),
            "container_state": record.container_state().map(ContainerState::name),
            "container_finished_at": docker.and_then(|d| d.finished_at).map(Ts::rfc3339),
        },
    })
}

/// The reason offered for forcing the evaluation failed, from its most
/// severe flag and the evidence, e.g. "lost completion: container exited 1
/// at 00:55:16, no completion event". Other flags are named after it.
pub fn prefilled_reason(record: &EvalRecord, flags: &[Flag]) -> String {
    let Some((first, others)) = flags.split_first() else {
        return unflagged_reason(record);
    };
    let mut reason = match first {
        Flag::LostCompletion {
            ended_at,
            exit_code,
            removed,
            ..
        } => {
            let how = match exit_code {
                Some(code) => format!("exited {code}"),
                None if *removed => "was removed".to_string(),
                None => "ended".to_string(),
            };
            format!(
                "lost completion: container {how} at {}, no completion event",
                clock_secs(*ended_at)
            )
        }
        Flag::Overdue {
            over_ms,
            timeout_secs,
            ..
        } => format!(
            "overdue: still running {} past its {timeout_secs}s timeout",
            human_duration(*over_ms)
        ),
        other => format!(
            "{}: {}",
            other.kind().name().replace('-', " "),
            other.reason()
        ),
    };
    if !others.is_empty() {
        let names: Vec<&str> = others.iter().map(|f| f.kind().name()).collect();
        reason.push_str(&format!(" (also {})", names.join(", ")));
    }
    reason
}

fn unflagged_reason(record: &EvalRecord) -> String {
    let docker = record.docker.as_ref();
    match (record.container_state(), docker) {
        (Some(state), Some(docker)) if state.has_ended() && state != ContainerState::Removed => {
            let how = match docker.exit_code {
                Some(code) => format!("exited {code}"),
                None => state.name().to_string(),
            };
            match docker.finished_at {
                Some(at) => format!("forced failed: container {how} at {}", clock_secs(at)),
                None => format!("forced failed: container {how}"),
            }
        }
        (Some(state), _) if state.is_live() => {
            format!("forced failed: container still {}", state.name())
        }
        _ => "forced failed by an operator".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerSide, Status};

    /// 2025-07-06T00:55:16.182Z
    const ENDED: Ts = Ts(1_751_763_316_182);

    fn exited_record(tty: bool) -> EvalRecord {
        let mut record = EvalRecord::new(Ts(ENDED.0 - 1_000));
        record.docker = Some(ContainerSide {
            container_id: "c0ffee".into(),
            state: Some(ContainerState::Exited),
            executor: Some("executor-2".into()),
            exit_code: Some(1),
            finished_at: Some(ENDED),
            ..ContainerSide::default()
        });
        record.redis.status = Some(Status::Running);
        record.captured_logs = Some(Box::new(CapturedLogs {
            tty,
            stdout: "Before error\n".into(),
            stderr: if tty {
                String::new()
            } else {
                "ZeroDivisionError\n".into()
            },
            total_bytes: 31,
            truncated: false,
            captured_at: ENDED,
        }));
        record
    }

    fn lost() -> Flag {
        Flag::LostCompletion {
            ended_at: ENDED,
            ended_ago_ms: 41_000,
            exit_code: Some(1),
            removed: false,
            held_running: true,
        }
    }

    #[test]
    fn the_reason_names_the_flag_and_its_evidence() {
        let record = exited_record(false);
        assert_eq!(
            prefilled_reason(&record, &[lost()]),
            "lost completion: container exited 1 at 00:55:16, no completion event"
        );
        assert_eq!(
            prefilled_reason(&record, &[lost(), Flag::StaleRunning]),
            "lost completion: container exited 1 at 00:55:16, no completion event (also stale-running)"
        );
        let overdue = Flag::Overdue {
            deadline: ENDED,
            over_ms: 125_000,
            timeout_secs: 30,
        };
        assert_eq!(
            prefilled_reason(&record, &[overdue]),
            "overdue: still running 2m05s past its 30s timeout"
        );
        assert_eq!(
            prefilled_reason(&record, &[Flag::StaleRunning]),
            "stale running: in running_evaluations, but eval:{id}:running is gone and there is no container"
        );
    }

    #[test]
    fn without_flags_the_reason_says_what_is_known() {
        assert_eq!(
            prefilled_reason(&exited_record(false), &[]),
            "forced failed: container exited 1 at 00:55:16"
        );
        assert_eq!(
            prefilled_reason(&EvalRecord::new(ENDED), &[]),
            "forced failed by an operator"
        );
        let mut running = exited_record(false);
        running.docker.as_mut().unwrap().state = Some(ContainerState::Running);
        assert_eq!(
            prefilled_reason(&running, &[]),
            "forced failed: container still running"
        );
    }

    fn payload(record: &EvalRecord, recovered: Option<&CapturedLogs>) -> Value {
        force_fail_payload(&ForceFailRequest {
            eval_id: "eval_20250706_005515_529f833e",
            record,
            reason: "lost completion",
            flags: &[lost(), Flag::StaleRunning],
            operator: "ops@host-1",
            now: Ts(ENDED.0 + 60_000),
            recovered,
        })
    }

    #[test]
    fn the_payload_carries_the_recovered_streams_apart() {
        let p = payload(&exited_record(false), None);
        assert_eq!(p["eval_id"], "eval_20250706_005515_529f833e");
        assert_eq!(p["status"], "failed");
        assert_eq!(
            p["error"],
            "lost completion\n\n[recovered stderr, read by evaltop]\nZeroDivisionError\n"
        );
        assert_eq!(p["output"], "Before error\n");
        assert_eq!(p["exit_code"], 1);
        assert_eq!(p["executor_id"], "executor-2");
        assert_eq!(p["completed_at"], "2025-07-06T00:56:16.182Z");
        assert_eq!(p["manual_update"], true);
        assert_eq!(p["reason"], "lost completion");
        let meta = &p["metadata"];
        assert_eq!(meta["tool"], "evaltop");
        assert_eq!(meta["operator"], "ops@host-1");
        assert_eq!(meta["flags"], json!(["lost-completion", "stale-running"]));
        assert_eq!(meta["container_id"], "c0ffee");
        assert_eq!(meta["container_state"], "exited");
        assert_eq!(meta["container_finished_at"], "2025-07-06T00:55:16.182Z");
    }

    #[test]
    fn a_console_log_goes_to_error_and_output_stays_empty() {
        let p = payload(&exited_record(true), None);
        assert_eq!(
            p["error"],
            "lost completion\n\n[recovered console log, read by evaltop]\nBefore error\n"
        );
        assert_eq!(p["output"], "");
    }

    #[test]
    fn re_fetched_logs_take_precedence_and_unknowns_are_null() {
        let fresh = CapturedLogs {
            stdout: "fresh out\n".into(),
            ..CapturedLogs::default()
        };
        let p = payload(&exited_record(false), Some(&fresh));
        assert_eq!(p["output"], "fresh out\n");
        assert_eq!(p["error"], "lost completion", "no stderr: the reason alone");

        let bare = EvalRecord::new(ENDED);
        let p = payload(&bare, None);
        assert_eq!(p["exit_code"], Value::Null);
        assert_eq!(p["executor_id"], Value::Null);
        assert_eq!(p["output"], "");
        assert_eq!(p["error"], "lost completion");
    }
}
