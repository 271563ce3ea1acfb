//! Decoding: tolerant where the platform is sloppy, strict where a payload
//! cannot be used.

use super::*;

fn decode_default(channel: &str, payload: &str) -> Option<Observation> {
    decode(&Names::default(), channel, payload.as_bytes())
}

fn rejected_reason(channel: &str, payload: &str) -> String {
    match decode_default(channel, payload) {
        Some(Observation::Rejected(r)) => r.reason,
        other => panic!("expected a rejection for {payload}, got {other:?}"),
    }
}

fn status_message(channel: &str, payload: &str) -> (Status, StatusMessage) {
    match decode_default(channel, payload) {
        Some(Observation::RedisStatus {
            channel_status,
            message,
        }) => (channel_status, message),
        other => panic!("expected a status for {payload}, got {other:?}"),
    }
}

#[test]
fn channels_are_classified_by_name() {
    let names = Names::default();
    let cases = [
        ("evaluation:running", ChannelKind::Status(Status::Running)),
        ("evaluation:failed", ChannelKind::Status(Status::Failed)),
        ("evaluation:eval_1:logs", ChannelKind::Logs("eval_1".into())),
        (
            "storage:evaluation:updated",
            ChannelKind::Storage("updated".into()),
        ),
        ("evaluation:stats", ChannelKind::Other),
        ("evaluation::logs", ChannelKind::Other),
        ("executor:health", ChannelKind::Other),
    ];
    for (channel, expected) in cases {
        assert_eq!(classify(&names, channel), expected, "{channel}");
    }
}

#[test]
fn a_full_completion_decodes() {
    let (status, m) = status_message(
        "evaluation:completed",
        r#"{"eval_id":"eval_20250706_005515_529f833e","status":"failed","output":"Before error\r\n",
            "error":"Traceback","exit_code":1,"executor_id":"executor-2",
            "completed_at":"2025-07-06T00:55:16.182Z","unknown":{"x":1}}"#,
    );
    assert_eq!(status, Status::Completed);
    assert_eq!(m.eval_id, "eval_20250706_005515_529f833e");
    assert_eq!(m.status, Some(Status::Failed));
    assert_eq!(m.exit_code, Some(1));
    assert_eq!(m.output_len, Some("Before error".len()));
    assert_eq!(m.error_len, Some(9));
    assert_eq!(m.error_excerpt.as_deref(), Some("Traceback"));
    assert_eq!(m.executor_id.as_deref(), Some("executor-2"));
    assert_eq!(m.reported_at, Ts::parse("2025-07-06T00:55:16.182Z"));
}

#[test]
fn sloppy_fields_are_tolerated() {
    let cases = [
        (r#"{"eval_id":"e","timeout":"30"}"#, Some(30), None),
        (r#"{"eval_id":"e","timeout":30}"#, Some(30), None),
        (
            r#"{"eval_id":"e","timeout":30.0,"exit_code":"137"}"#,
            Some(30),
            Some(137),
        ),
        (
            r#"{"eval_id":"e","timeout":null,"exit_code":null}"#,
            None,
            None,
        ),
        (
            r#"{"eval_id":"e","metadata":{"timeout":"45"}}"#,
            Some(45),
            None,
        ),
        (
            r#"{"eval_id":"e","exit_code":1.0,"timeout":""}"#,
            None,
            Some(1),
        ),
    ];
    for (payload, timeout, exit_code) in cases {
        let (_, m) = status_message("evaluation:running", payload);
        assert_eq!(m.timeout_secs, timeout, "{payload}");
        assert_eq!(m.exit_code, exit_code, "{payload}");
    }
}

#[test]
fn unusable_payloads_are_rejected_with_the_reason() {
    let cases = [
        ("evaluation:completed", "not json", "not JSON"),
        ("evaluation:completed", "[1,2]", "JSON array"),
        (
            "evaluation:completed",
            r#"{"status":"completed"}"#,
            "no `eval_id`",
        ),
        (
            "evaluation:completed",
            r#"{"eval_id":42}"#,
            "field `eval_id`: expected string",
        ),
        ("evaluation:completed", r#"{"eval_id":""}"#, "empty"),
        (
            "evaluation:running",
            r#"{"eval_id":"e","timeout":{"s":1}}"#,
            "field `timeout`",
        ),
        (
            "evaluation:running",
            r#"{"eval_id":"e","timeout":"soon"}"#,
            "field `timeout`",
        ),
        (
            "evaluation:failed",
            r#"{"eval_id":"e","exit_code":"one"}"#,
            "field `exit_code`",
        ),
        (
            "evaluation:failed",
            r#"{"eval_id":"e","output":[1]}"#,
            "field `output`",
        ),
        (
            "evaluation:e:logs",
            r#"{"eval_id":"other","content":"x"}"#,
            "differs",
        ),
        (
            "evaluation:e:logs",
            r#"{"content":"x","is_final":"maybe"}"#,
            "field `is_final`",
        ),
        (
            "storage:evaluation:updated",
            r#"{"timestamp":"x"}"#,
            "no `eval_id`",
        ),
    ];
    for (channel, payload, expected) in cases {
        let reason = rejected_reason(channel, payload);
        assert!(reason.contains(expected), "{payload}: {reason}");
    }
}

#[test]
fn log_messages_decode_and_are_sanitised() {
    match decode_default(
        "evaluation:e:logs",
        r#"{"eval_id":"e","sequence":"3","content":"\u001b[31mred\r\n","is_heartbeat":false,"is_final":true}"#,
    ) {
        Some(Observation::RedisLog(m)) => {
            assert_eq!(m.eval_id, "e");
            assert_eq!(m.sequence, Some(3));
            assert_eq!(m.content, "red\n");
            assert!(m.is_final && !m.is_heartbeat);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ids_and_texts_are_sanitised_on_entry() {
    let (_, m) = status_message(
        "evaluation:failed",
        r#"{"eval_id":"e\u001b]52;c;aGk=\u0007x","error":"bad\u0000thing\nmore"}"#,
    );
    assert_eq!(m.eval_id, "ex");
    assert_eq!(m.error_excerpt.as_deref(), Some("bad␀thing more"));
}

#[test]
fn ids_are_read_alike_everywhere_and_never_empty_after_cleaning() {
    let (_, m) = status_message("evaluation:running", r#"{"eval_id":"  e1 \t"}"#);
    assert_eq!(m.eval_id, "e1", "trimmed as Docker's labels are");
    let reason = rejected_reason("evaluation:running", r#"{"eval_id":"\u001b[2J"}"#);
    assert!(reason.contains("empty"), "{reason}");
    let reason = rejected_reason("evaluation:\u{1b}[2J:logs", r#"{"content":"x"}"#);
    assert!(reason.contains("names no evaluation"), "{reason}");
}

#[test]
fn channels_outside_the_contract_are_ignored_not_rejected() {
    assert_eq!(decode_default("evaluation:stats", "garbage"), None);
}
