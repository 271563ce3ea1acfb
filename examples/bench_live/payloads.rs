//! The platform's messages as PROTOCOL.md defines them (channels
//! `evaluation:{status}` and `evaluation:{id}:logs`, their fields), encoded
//! straight into RESP `PUBLISH` commands so that the driver's own CPU does
//! not limit a flood. Every text written here is plain ASCII without quotes
//! or backslashes, so it is valid JSON without escaping.

use std::fmt::Write as _;

/// Appends `PUBLISH channel payload` in RESP.
pub fn publish(out: &mut Vec<u8>, channel: &str, payload: &str) {
    let mut head = String::with_capacity(48);
    // Writing to a String cannot fail.
    let _ = write!(head, "*3\r\n$7\r\nPUBLISH\r\n${}\r\n", channel.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(channel.as_bytes());
    out.extend_from_slice(format!("\r\n${}\r\n", payload.len()).as_bytes());
    out.extend_from_slice(payload.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// ISO-8601 UTC with microseconds and `+00:00`, as the executor writes.
pub fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Evaluation ids in the platform's shape, `eval_YYYYMMDD_HHMMSS_xxxxxxxx`:
/// the time of the first id, then a counter from a random start, so that
/// 300,000 ids are unique within a run and across runs.
pub struct Ids {
    prefix: String,
    next: u32,
}

impl Ids {
    pub fn new(start: u32) -> Ids {
        Ids {
            prefix: chrono::Utc::now().format("eval_%Y%m%d_%H%M%S_").to_string(),
            next: start,
        }
    }

    pub fn next_id(&mut self) -> String {
        let id = format!("{}{:08x}", self.prefix, self.next);
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// `submitted` and `queued` carry the code and its metadata.
pub fn submission(status: &str, eval_id: &str, at: &str) -> (String, String) {
    (
        format!("evaluation:{status}"),
        format!(
            r#"{{"eval_id":"{eval_id}","code":"print(42)","language":"python","metadata":{{"submitted_at":"{at}","timeout":30,"priority":0}}}}"#
        ),
    )
}

/// 12 hex digits of a container id, as the storage service publishes it;
/// `timeout` in whole seconds.
pub fn running(eval_id: &str, executor: &str, container: &str, timeout: u32) -> (String, String) {
    let short = &container[..container.len().min(12)];
    (
        "evaluation:running".to_string(),
        format!(
            r#"{{"eval_id":"{eval_id}","executor_id":"{executor}","container_id":"{short}","timeout":{timeout}}}"#
        ),
    )
}

/// A healthy completion: output present, exit 0.
pub fn completed(eval_id: &str, executor: &str, at: &str) -> (String, String) {
    (
        "evaluation:completed".to_string(),
        format!(
            r#"{{"eval_id":"{eval_id}","status":"completed","output":"42\r\n","error":"","exit_code":0,"executor_id":"{executor}","completed_at":"{at}"}}"#
        ),
    )
}

/// The failure an executor publishes for a container it saw killed.
pub fn killed(eval_id: &str, executor: &str, at: &str) -> (String, String) {
    (
        "evaluation:failed".to_string(),
        format!(
            r#"{{"eval_id":"{eval_id}","status":"failed","error":"Killed","output":"","exit_code":137,"executor_id":"{executor}","completed_at":"{at}","failed_at":"{at}","metadata":{{"failed_at":"{at}"}}}}"#
        ),
    )
}

/// A live log line, a heartbeat (no content) or the final message.
pub fn log(
    eval_id: &str,
    executor: &str,
    sequence: u64,
    kind: LogKind,
    at: &str,
) -> (String, String) {
    let (content, extra) = match kind {
        // JSON's escapes, not the characters: the executor's TTY ends
        // every line in CR LF.
        LogKind::Line => (format!(r"step {sequence} done\r\n"), ""),
        LogKind::Heartbeat => (String::new(), r#","is_heartbeat":true"#),
        LogKind::Final => (r"42\r\n".to_string(), r#","is_final":true"#),
    };
    (
        format!("evaluation:{eval_id}:logs"),
        format!(
            r#"{{"eval_id":"{eval_id}","sequence":{sequence},"timestamp":"{at}","content":"{content}","executor_id":"{executor}"{extra}}}"#
        ),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Line,
    Heartbeat,
    Final,
}
