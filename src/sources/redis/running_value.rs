//! The value of an `eval:{id}:running` key, decoded tolerantly: the
//! services write its fields as text or numbers, or leave them out.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::model::merge::parse_secs;
use crate::model::{RunningKey, Ts};
use crate::sanitize::clean_line;

/// Decodes `{executor_id, container_id, started_at, timeout}` tolerantly:
/// missing, null or unreadable fields are unknown. Only a value that is not
/// a JSON object is refused, with the reason.
pub(crate) fn decode_running(value: &[u8]) -> Result<RunningKey, String> {
    // An object is read straight into its four fields (no map of values,
    // no allocation per field left out); anything that way cannot read
    // (not an object, a field twice) takes the general way, which also
    // words the refusal.
    let object = value.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    match serde_json::from_slice::<RunningFields>(value) {
        Ok(fields) if object => Ok(running_key(
            fields.executor_id.0,
            fields.container_id.0,
            fields.started_at.0,
            fields.timeout.0,
        )),
        _ => decode_as_json(value),
    }
}

fn running_key(
    executor_id: Option<String>,
    container_id: Option<String>,
    started_at: Option<String>,
    timeout: Option<String>,
) -> RunningKey {
    RunningKey {
        eval_id: String::new(),
        executor_id: executor_id.map(|s| clean_line(&s)),
        container_id: container_id.map(|s| clean_line(&s)),
        started_at: started_at.and_then(|s| Ts::parse(&s)),
        timeout_secs: timeout.and_then(|s| parse_secs(&s)),
        ttl_ms: None,
        value_ok: true,
    }
}

/// The four fields, each as text when it is a non-blank string or a
/// number; other fields are skipped.
#[derive(Deserialize)]
struct RunningFields {
    #[serde(default)]
    executor_id: Loose,
    #[serde(default)]
    container_id: Loose,
    #[serde(default)]
    started_at: Loose,
    #[serde(default)]
    timeout: Loose,
}

/// A field as text: a non-blank string as it is, a number as JSON writes
/// it, anything else (null, a boolean, an array, an object) unknown.
#[derive(Default)]
struct Loose(Option<String>);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Loose, E> {
        Ok(Loose((!text.trim().is_empty()).then(|| text.to_string())))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Loose, E> {
        Ok(Loose(Some(serde_json::Number::from(n).to_string())))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Loose, E> {
        Ok(Loose(Some(serde_json::Number::from(n).to_string())))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Loose, E> {
        Ok(Loose(
            serde_json::Number::from_f64(n).map(|n| n.to_string()),
        ))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Loose, E> {
        Ok(Loose(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Loose, E> {
        Ok(Loose(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }
}

/// The general way: any JSON, its fields looked up in a map of values.
fn decode_as_json(value: &[u8]) -> Result<RunningKey, String> {
    let object = match serde_json::from_slice::<Json>(value) {
        Ok(Json::Object(object)) => object,
        Ok(other) => {
            return Err(format!(
                "value is JSON {}, not an object",
                json_type(&other)
            ));
        }
        Err(error) => return Err(format!("value is not JSON: {error}")),
    };
    let text = |name: &str| match object.get(name) {
        Some(Json::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Json::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(running_key(
        text("executor_id"),
        text("container_id"),
        text("started_at"),
        text("timeout"),
    ))
}

fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_values_decode_tolerantly() {
        let key = decode_running(
            br#"{"executor_id":"executor-2","container_id":"abc123def456",
                "started_at":"2025-07-06T00:55:16.182Z","timeout":"30"}"#,
        )
        .unwrap();
        assert_eq!(key.executor_id.as_deref(), Some("executor-2"));
        assert_eq!(key.container_id.as_deref(), Some("abc123def456"));
        assert_eq!(key.started_at, Some(Ts(1_751_763_316_182)));
        assert_eq!(key.timeout_secs, Some(30));
        assert!(key.value_ok);

        let key = decode_running(br#"{"timeout":45,"started_at":null,"extra":[1]}"#).unwrap();
        assert_eq!(key.timeout_secs, Some(45));
        assert_eq!((key.executor_id, key.started_at), (None, None));

        let key = decode_running(br#"{"started_at":"yesterday","timeout":[1]}"#).unwrap();
        assert_eq!((key.started_at, key.timeout_secs), (None, None));
    }

    #[test]
    fn running_values_that_are_not_objects_are_refused() {
        for (value, reason) in [
            (&b"not json"[..], "not JSON"),
            (b"[1,2]", "JSON array, not an object"),
            (b"\"text\"", "JSON string, not an object"),
            (b"\xff\xfe", "not JSON"),
        ] {
            let error = decode_running(value).unwrap_err();
            assert!(error.contains(reason), "{value:?}: {error}");
        }
    }

    #[test]
    fn untrusted_fields_are_sanitised() {
        let key = decode_running(br#"{"executor_id":"ex\u001b[31m-1\n"}"#).unwrap();
        assert_eq!(key.executor_id.as_deref(), Some("ex-1 "));
    }

    #[test]
    fn both_ways_agree() {
        for value in [
            &br#"{"executor_id":"executor-2","container_id":"abc123def456","started_at":"2025-07-06T00:55:16.182Z","timeout":30}"#[..],
            br#"{"timeout":30.5,"executor_id":"  ","container_id":null,"x":{"a":[1,{}]}}"#,
            br#"{"timeout":-3,"started_at":1751763316,"executor_id":true}"#,
            br#" {"timeout":"1e3","container_id":"\u00e9t\u001b[1m\u00e9"}"#,
            br#"{}"#,
        ] {
            let fast = decode_running(value).unwrap();
            let general = decode_as_json(value).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{value:?}");
        }
        // A field twice: the general way, where the last one stands.
        let key = decode_running(br#"{"timeout":1,"timeout":2}"#).unwrap();
        assert_eq!(key.timeout_secs, Some(2));
    }
}
