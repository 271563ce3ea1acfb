//! A payload parsed once, borrowing from its bytes: field names and strings
//! without escapes are not copied, arrays are skipped, and the fields are
//! kept in the order they came. `serde_json::Value` would allocate a string
//! for every name and value and sort them into a map, which at Redis's
//! rate cost more than everything evaltop then does with the message.
//!
//! The platform's payloads are read by [`reader`]; what it does not take
//! (a float, a payload that is not JSON) is read by serde_json, whose
//! answer stands.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

mod reader;

/// A JSON value as the decoder reads it.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    /// Its elements are not kept: no field of the contract is an array.
    Array,
    /// Fields in the order given; a name given twice is looked up last.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    pub(super) fn parse(payload: &'a [u8]) -> serde_json::Result<Json<'a>> {
        match reader::read(payload) {
            Some(json) => Ok(json),
            None => serde_json::from_slice(payload),
        }
    }

    /// What kind of value it is, for a refusal's wording.
    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(_) => "number",
            Json::String(_) => "string",
            Json::Array => "array",
            Json::Object(_) => "object",
        }
    }
}

/// A string, borrowed when the payload holds it without escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // JSON has no NaN or infinity: a finite number always converts.
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some((Text(name), value)) = map.next_entry::<Text<'de>, Json<'de>>()? {
            fields.push((name, value));
        }
        Ok(Json::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Whether `json` holds every field `value` keeps (the last of a name
    /// given twice), with the same type and value.
    fn same(json: &Json, value: &Value) -> bool {
        match (json, value) {
            (Json::Null, Value::Null) | (Json::Array, Value::Array(_)) => true,
            (Json::Bool(a), Value::Bool(b)) => a == b,
            (Json::Number(a), Value::Number(b)) => a == b,
            (Json::String(a), Value::String(b)) => a == b,
            (Json::Object(fields), Value::Object(map)) => {
                map.len() <= fields.len()
                    && map.iter().all(|(name, value)| {
                        let last = fields.iter().rev().find(|(n, _)| n == name);
                        last.is_some_and(|(_, json)| same(json, value))
                    })
            }
            _ => false,
        }
    }

    /// The same payload read both ways.
    fn agrees(payload: &str) {
        let json = Json::parse(payload.as_bytes()).expect("valid JSON");
        let value: Value = serde_json::from_str(payload).expect("valid JSON");
        assert!(same(&json, &value), "{payload}: {json:?} vs {value:?}");
    }

    /// Whether a value has a number serde_json holds as a float (which the
    /// reader leaves to it).
    fn has_float(value: &Value) -> bool {
        match value {
            Value::Number(n) => n.is_f64(),
            Value::Array(items) => items.iter().any(has_float),
            Value::Object(map) => map.values().any(has_float),
            _ => false,
        }
    }

    /// A byte that matters to JSON's grammar, or breaks UTF-8.
    fn telling_byte() -> impl proptest::strategy::Strategy<Value = u8> {
        proptest::sample::select(b"\"\\,:{}[]0-9eE.+ \tnu\x01\x7f\xff\xc3".to_vec())
    }

    proptest::proptest! {
        #![proptest_config(crate::tests::config(512))]

        /// Any JSON the property tests make, hostile text in names and
        /// strings included, reads as `serde_json` reads it.
        #[test]
        fn any_json_reads_as_serde_json_reads_it(value in crate::tests::cases::json_value()) {
            agrees(&value.to_string());
        }

        /// The reader itself takes all of it but floats, and reads it as
        /// serde_json does.
        #[test]
        fn the_reader_takes_what_has_no_float(value in crate::tests::cases::json_value()) {
            let text = value.to_string();
            match reader::read(text.as_bytes()) {
                Some(json) => proptest::prop_assert!(same(&json, &value), "{text}: {json:?}"),
                None => proptest::prop_assert!(has_float(&value), "{text} refused"),
            }
        }

        /// Broken JSON: a byte changed, put in or cut, or the end cut off.
        /// What the reader still takes, serde_json takes too, and reads the
        /// same way.
        #[test]
        fn the_reader_takes_nothing_serde_json_refuses(
            value in crate::tests::cases::json_value(),
            at in proptest::prelude::any::<proptest::sample::Index>(),
            byte in telling_byte(),
            edit in 0..4u8,
        ) {
            let mut bytes = value.to_string().into_bytes();
            let i = at.index(bytes.len() + 1);
            match edit {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                2 if i < bytes.len() => { bytes.remove(i); }
                _ => bytes.truncate(i),
            }
            if let Some(json) = reader::read(&bytes) {
                let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    proptest::test_runner::TestCaseError::fail(format!(
                        "{:?} read, but serde_json: {e}",
                        String::from_utf8_lossy(&bytes)
                    ))
                })?;
                proptest::prop_assert!(same(&json, &value));
            }
        }
    }

    #[test]
    fn reads_what_serde_json_reads() {
        for payload in [
            r#"{"eval_id":"e1","status":"running","timeout":30,"exit_code":-1,"ok":true}"#,
            r#"{"eval_id":"e\u00e9\n","x":null,"n":1.5e3,"big":18446744073709551615}"#,
            r#"{"metadata":{"timeout":"30","failed_at":"2025-07-06T00:55:15Z"},"tags":[1,[2],{"a":3}]}"#,
            r#"{"a":1,"a":"two"}"#,
            r#" { "esc" : "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00" , "n" : -9223372036854775808 } "#,
            r#"{"zero":0,"neg":-1,"max":18446744073709551615,"t":true,"f":false}"#,
            r#"[1,2]"#,
            r#""text""#,
            r#"12"#,
            r#"null"#,
        ] {
            agrees(payload);
        }
    }

    #[test]
    fn the_reader_leaves_floats_and_oddities_to_serde_json() {
        for payload in [
            r#"{"escaped":"\u00e9\ud83d\ude00","n":-9223372036854775808}"#,
            r#"{"eval_id":"e1","status":"running","timeout":30,"exit_code":-1}"#,
            r#"[{"a":[null,true,false,"x"]},{}]"#,
        ] {
            assert!(reader::read(payload.as_bytes()).is_some(), "{payload}");
        }
        for payload in [
            "1.5",
            "1e3",
            "-0",
            "01",
            "18446744073709551616",
            "-9223372036854775809",
            r#""\ud83d""#,
            r#""\ude00""#,
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "[1 2]",
            "tru",
            "\"tab\tinside\"",
            "{} {}",
            "",
        ] {
            assert!(reader::read(payload.as_bytes()).is_none(), "{payload}");
        }
        assert!(reader::read(b"\"\xff\"").is_none());
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let payload = br#"{"eval_id":"e1","content":"line\n"}"#;
        let Json::Object(fields) = Json::parse(payload).expect("valid") else {
            panic!("an object");
        };
        assert!(matches!(fields[0].0, Cow::Borrowed("eval_id")));
        assert!(matches!(fields[0].1, Json::String(Cow::Borrowed("e1"))));
        assert!(matches!(&fields[1].1, Json::String(Cow::Owned(s)) if s == "line\n"));
    }

    #[test]
    fn refuses_what_is_not_json() {
        assert!(Json::parse(b"{\"a\":").is_err());
        assert!(Json::parse(b"{\"a\":01}").is_err());
        assert!(Json::parse(b"").is_err());
    }
}
