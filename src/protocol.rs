//! Decoding the platform's pub/sub payloads (PROTOCOL.md) into observations.
//! Tolerant where the platform is sloppy (missing or null fields, `timeout`
//! as "30" or 30, unknown fields), strict where a payload cannot be used (not
//! JSON, no `eval_id`, a field of an impossible type): those are rejected
//! with a reason that names the field, and counted.

use std::borrow::Cow;

use json::Json;

use crate::model::merge::parse_secs;
use crate::model::{
    LogMessage, Observation, Rejection, Source, Status, StatusMessage, StorageMessage, Ts,
};
use crate::names::Names;
use crate::sanitize::{clean, clean_id, clean_line};

/// How much of an error text a record keeps to show.
const ERROR_EXCERPT_CHARS: usize = 160;

/// What a channel is, by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    Status(Status),
    Logs(String),
    Storage(String),
    /// Under a watched pattern but not part of the contract (e.g.
    /// `evaluation:stats`): ignored, not rejected.
    Other,
}

pub fn classify(names: &Names, channel: &str) -> ChannelKind {
    if let Some(kind) = channel.strip_prefix(names.storage_prefix.as_str()) {
        return ChannelKind::Storage(kind.to_string());
    }
    let Some(rest) = channel.strip_prefix(names.channel_prefix.as_str()) else {
        return ChannelKind::Other;
    };
    if let Some(id) = rest.strip_suffix(":logs")
        && !id.is_empty()
    {
        return ChannelKind::Logs(id.to_string());
    }
    match Status::parse(rest) {
        Some(status) if !rest.contains(':') => ChannelKind::Status(status),
        _ => ChannelKind::Other,
    }
}

/// Decodes one message. `None` for channels that are not part of the
/// contract; `Observation::Rejected` for payloads that cannot be used.
pub fn decode(names: &Names, channel: &str, payload: &[u8]) -> Option<Observation> {
    let kind = classify(names, channel);
    if kind == ChannelKind::Other {
        return None;
    }
    let reject = |reason: String| {
        Some(Observation::Rejected(Rejection {
            source: Source::Redis,
            channel: clean_line(channel),
            reason,
        }))
    };
    let object = match Json::parse(payload) {
        Ok(Json::Object(object)) => object,
        Ok(other) => {
            return reject(format!(
                "payload is JSON {}, not an object",
                other.type_name()
            ));
        }
        Err(error) => return reject(format!("payload is not JSON: {error}")),
    };
    let fields = Fields(&object);
    let result = match kind {
        ChannelKind::Status(status) => {
            decode_status(&fields).map(|message| Observation::RedisStatus {
                channel_status: status,
                message,
            })
        }
        ChannelKind::Logs(channel_id) => {
            decode_log(&fields, &channel_id).map(Observation::RedisLog)
        }
        ChannelKind::Storage(kind) => decode_storage(&fields, kind).map(Observation::RedisStorage),
        ChannelKind::Other => unreachable!("returned above"),
    };
    match result {
        Ok(observation) => Some(observation),
        Err(reason) => reject(reason),
    }
}

fn decode_status(fields: &Fields) -> Result<StatusMessage, String> {
    let eval_id = fields.eval_id()?;
    // An unknown status word does not void the event: the channel says
    // what happened.
    let status = fields
        .string("status")?
        .and_then(|text| Status::parse(&text));
    let metadata = fields.object("metadata")?;
    let timeout_secs = match fields.seconds("timeout")? {
        Some(secs) => Some(secs),
        None => metadata
            .as_ref()
            .map(|m| m.seconds("timeout"))
            .transpose()?
            .flatten(),
    };
    let output = fields.string("output")?;
    let error = fields.string("error")?;
    let reason = fields.string("reason")?;
    let excerpt = error
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .or(reason.as_deref())
        .map(excerpt);
    let reported_at = ["completed_at", "failed_at", "timestamp"]
        .into_iter()
        .find_map(|name| fields.time(name))
        .or_else(|| {
            metadata
                .as_ref()
                .and_then(|m| m.time("failed_at").or_else(|| m.time("submitted_at")))
        });
    Ok(StatusMessage {
        eval_id,
        status,
        executor_id: fields.string("executor_id")?.map(|s| clean_line(&s)),
        container_id: fields.string("container_id")?.map(|s| clean_line(&s)),
        timeout_secs,
        exit_code: fields.integer("exit_code")?,
        output_len: output.map(|s| s.trim().len()),
        error_len: error.map(|s| s.trim().len()),
        error_excerpt: excerpt,
        manual_update: fields.boolean("manual_update")?.unwrap_or(false),
        reported_at,
    })
}

fn decode_log(fields: &Fields, channel_id: &str) -> Result<LogMessage, String> {
    // The channel names the evaluation; a payload that names another one
    // is suspicious, but the channel is what the executor addressed.
    let channel_id = clean_id(channel_id);
    let eval_id = match fields.string("eval_id")?.map(|id| clean_id(&id)) {
        Some(id) if !id.is_empty() => id,
        _ => channel_id.clone(),
    };
    if eval_id != channel_id {
        return Err(format!(
            "field `eval_id` {eval_id:?} differs from the channel's id"
        ));
    }
    if eval_id.is_empty() {
        return Err("the channel names no evaluation".to_string());
    }
    Ok(LogMessage {
        eval_id,
        sequence: fields.integer("sequence")?,
        content: clean(&fields.string("content")?.unwrap_or_default()),
        is_heartbeat: fields.boolean("is_heartbeat")?.unwrap_or(false),
        is_final: fields.boolean("is_final")?.unwrap_or(false),
        executor_id: fields.string("executor_id")?.map(|s| clean_line(&s)),
    })
}

fn decode_storage(fields: &Fields, kind: String) -> Result<StorageMessage, String> {
    let status = fields.string("status")?.and_then(|s| Status::parse(&s));
    Ok(StorageMessage {
        eval_id: fields.eval_id()?,
        kind: clean_line(&kind),
        status,
        executor_id: fields.string("executor_id")?.map(|s| clean_line(&s)),
    })
}

fn excerpt(text: &str) -> String {
    let line = clean_line(text.trim());
    match line.char_indices().nth(ERROR_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Typed, tolerant access to a payload's fields. Missing and null are the
/// same; a field of a type that cannot be read is an error naming it.
struct Fields<'p, 'a>(&'p [(Cow<'a, str>, Json<'a>)]);

impl<'a> Fields<'_, 'a> {
    /// The field's value; of a name given twice, the last (as a JSON
    /// object's reader keeps it).
    fn get(&self, name: &str) -> Option<&Json<'a>> {
        self.0
            .iter()
            .rev()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
            .filter(|value| !matches!(value, Json::Null))
    }

    fn wrong(name: &str, expected: &str, value: &Json) -> String {
        format!(
            "field `{name}`: expected {expected}, got {}",
            value.type_name()
        )
    }

    fn eval_id(&self) -> Result<String, String> {
        match self.get("eval_id") {
            None => Err("no `eval_id`".to_string()),
            Some(Json::String(id)) => {
                let id = clean_id(id);
                if id.is_empty() {
                    return Err("field `eval_id` is empty".to_string());
                }
                Ok(id)
            }
            Some(other) => Err(Self::wrong("eval_id", "string", other)),
        }
    }

    /// A text field, borrowed from the payload where it can be: the
    /// caller cleans it (a copy) or only measures it.
    fn string(&self, name: &str) -> Result<Option<Cow<'_, str>>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::String(s)) => Ok(Some(Cow::Borrowed(s))),
            // Numbers and booleans are written as text by some services.
            Some(Json::Number(n)) => Ok(Some(Cow::Owned(n.to_string()))),
            Some(Json::Bool(b)) => Ok(Some(Cow::Borrowed(if *b { "true" } else { "false" }))),
            Some(other) => Err(Self::wrong(name, "string", other)),
        }
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(n)) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Some)
                .ok_or_else(|| format!("field `{name}`: {n} is not a whole number")),
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => {
                s.trim().parse::<i64>().map(Some).map_err(|_| {
                    format!("field `{name}`: {:?} is not a whole number", clean_line(s))
                })
            }
            Some(other) => Err(Self::wrong(name, "integer", other)),
        }
    }

    fn seconds(&self, name: &str) -> Result<Option<u32>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Number(n)) => parse_secs(&n.to_string())
                .map(Some)
                .ok_or_else(|| format!("field `{name}`: {n} is not a number of seconds")),
            Some(Json::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Json::String(s)) => parse_secs(s).map(Some).ok_or_else(|| {
                format!(
                    "field `{name}`: {:?} is not a number of seconds",
                    clean_line(s)
                )
            }),
            Some(other) => Err(Self::wrong(name, "seconds", other)),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(Json::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(Some(true)),
                "false" | "0" | "no" | "" => Ok(Some(false)),
                _ => Err(format!(
                    "field `{name}`: {:?} is not a boolean",
                    clean_line(s)
                )),
            },
            Some(Json::Number(n)) => Ok(Some(n.as_f64() != Some(0.0))),
            Some(other) => Err(Self::wrong(name, "boolean", other)),
        }
    }

    /// A time field; an unparseable time is unknown, not an error.
    fn time(&self, name: &str) -> Option<Ts> {
        match self.get(name)? {
            Json::String(s) => Ts::parse(s),
            _ => None,
        }
    }

    fn object(&self, name: &str) -> Result<Option<Fields<'_, 'a>>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Json::Object(map)) => Ok(Some(Fields(map))),
            Some(other) => Err(Self::wrong(name, "object", other)),
        }
    }
}

mod json;
#[cfg(test)]
mod tests;
