//! The cases the property tests generate: arbitrary and hostile text,
//! bytes and JSON in every field of the platform's payloads, keys and
//! labels, and what the real decoders make of them.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, ContainerSummary, EventMessage};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use serde_json::{Map, Value, json};

use crate::model::{
    CapturedLogs, EngineName, LatestLogKey, Observation, RedisSnapshot, RunningKey, Source, Ts,
};
use crate::names::Names;
use crate::protocol::decode;
use crate::sanitize::{DEFAULT_MAX_LINE, sanitize_bytes};
use crate::sources::docker::facts::{self, Scope};
use crate::sources::redis::keys;

/// The first observation's time.
pub(super) const T0: i64 = 1_751_763_315_000;

/// Characters that have broken terminal programs: escapes, C0 and C1
/// controls, bidi overrides, wide and combining characters, multi-byte
/// characters where a byte index would cut one.
const HOSTILE: &[char] = &[
    '\u{1b}', '\u{9b}', '\u{9d}', '\u{90}', '\u{7}', '\u{8}', '\r', '\n', '\t', '\u{0}', '\u{7f}',
    '\u{202e}', '\u{2066}', '\u{200f}', '\u{301}', '\u{200b}', '\u{feff}', 'é', '中', '🧪', '[',
    ']', ';', '"', '\\', '{', '}', ':', '0', '9', 'a', ' ',
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        3 => proptest::collection::vec(select(HOSTILE), 0..40)
            .prop_map(|chars| chars.into_iter().collect()),
        1 => Just("abcdefghijké12345".to_string()),
        1 => (any::<String>(), 0..3000usize).prop_map(|(s, n)| s.repeat(n.min(3000 / s.len().max(1)))),
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![any::<Vec<u8>>(), text().prop_map(String::into_bytes),]
}

pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every field name the platform's payloads use.
const FIELDS: &[&str] = &[
    "status",
    "code",
    "language",
    "engine",
    "executor_id",
    "container_id",
    "timeout",
    "output",
    "error",
    "exit_code",
    "completed_at",
    "failed_at",
    "metadata",
    "manual_update",
    "reason",
    "sequence",
    "timestamp",
    "content",
    "is_heartbeat",
    "is_final",
    "started_at",
    "submitted_at",
    "priority",
];

/// An evaluation id: one of the case's own (so that facts about it meet),
/// or anything at all.
#[derive(Clone, Debug)]
enum Id {
    Pool(Index),
    Any(Value),
}

impl Id {
    fn value(&self, pool: &[String]) -> Value {
        match self {
            Id::Pool(index) => Value::String(index.get(pool).clone()),
            Id::Any(value) => value.clone(),
        }
    }

    fn text(&self, pool: &[String]) -> String {
        match self.value(pool) {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

fn id() -> impl Strategy<Value = Id> {
    prop_oneof![
        4 => any::<Index>().prop_map(Id::Pool),
        1 => json_value().prop_map(Id::Any),
    ]
}

/// A field's value: mostly text, often a value of another type.
fn field() -> impl Strategy<Value = Value> {
    prop_oneof![
        2 => text().prop_map(Value::String),
        2 => json_value(),
        1 => any::<i32>().prop_map(|n| json!(n)),
    ]
}

fn fields() -> impl Strategy<Value = BTreeMap<&'static str, Value>> {
    proptest::collection::btree_map(select(FIELDS), field(), 0..10)
}

#[derive(Clone, Debug)]
enum Channel {
    Known(&'static str),
    LogsOf(Id),
    Any(String),
}

const CHANNELS: &[&str] = &[
    "evaluation:submitted",
    "evaluation:queued",
    "evaluation:provisioning",
    "evaluation:running",
    "evaluation:completed",
    "evaluation:failed",
    "evaluation:timeout",
    "evaluation:cancelled",
    "storage:evaluation:submitted",
    "storage:evaluation:queued",
    "storage:evaluation:running",
    "storage:evaluation:updated",
    "executor:health",
    "queue:stats",
];

fn channel() -> impl Strategy<Value = Channel> {
    prop_oneof![
        6 => select(CHANNELS).prop_map(Channel::Known),
        3 => id().prop_map(Channel::LogsOf),
        1 => text().prop_map(Channel::Any),
    ]
}

#[derive(Clone, Debug)]
enum Payload {
    /// A JSON object: the eval id (maybe absent) and some fields.
    Object(Option<Id>, BTreeMap<&'static str, Value>),
    /// JSON, but not an object.
    Json(Value),
    /// Not JSON at all.
    Raw(Vec<u8>),
}

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        8 => (proptest::option::weighted(0.9, id()), fields())
            .prop_map(|(id, fields)| Payload::Object(id, fields)),
        1 => json_value().prop_map(Payload::Json),
        1 => bytes().prop_map(Payload::Raw),
    ]
}

impl Payload {
    fn bytes(&self, pool: &[String]) -> Vec<u8> {
        match self {
            Payload::Object(id, fields) => {
                let mut object: Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                if let Some(id) = id {
                    object.insert("eval_id".into(), id.value(pool));
                }
                serde_json::to_vec(&object).expect("a JSON object serialises")
            }
            Payload::Json(value) => serde_json::to_vec(value).expect("JSON serialises"),
            Payload::Raw(bytes) => bytes.clone(),
        }
    }
}

/// A container as the engine describes it, in the engine's own JSON.
#[derive(Clone, Debug)]
struct Container {
    id: String,
    eval_id: Id,
    labels: BTreeMap<&'static str, String>,
    state: &'static str,
    tty: bool,
    exit_code: i64,
    started_at: String,
    finished_at: String,
    action: String,
    attributes: BTreeMap<&'static str, String>,
    time_nano: i64,
    logs: Vec<u8>,
}

const LABELS: &[&str] = &["executor", "created_at", "timeout", "other"];
const STATES: &[&str] = &[
    "created",
    "running",
    "paused",
    "restarting",
    "removing",
    "exited",
    "dead",
    "",
];
const ACTIONS: &[&str] = &[
    "create", "start", "die", "kill", "oom", "stop", "destroy", "pause", "restart",
];

fn container() -> impl Strategy<Value = Container> {
    let hex = "[0-9a-f]{64}";
    (
        (
            prop_oneof![4 => hex.prop_map(String::from), 1 => text()],
            id(),
        ),
        proptest::collection::btree_map(select(LABELS), text(), 0..4),
        (select(STATES), any::<bool>(), any::<i64>()),
        (text(), text()),
        (
            prop_oneof![select(ACTIONS).prop_map(String::from), text()],
            proptest::collection::btree_map(
                select(&["exitCode", "signal", "image"][..]),
                text(),
                0..3,
            ),
            any::<i64>(),
        ),
        bytes(),
    )
        .prop_map(
            |(
                (id, eval_id),
                labels,
                (state, tty, exit_code),
                (started_at, finished_at),
                (action, attributes, time_nano),
                logs,
            )| {
                Container {
                    id,
                    eval_id,
                    labels,
                    state,
                    tty,
                    exit_code,
                    started_at,
                    finished_at,
                    action,
                    attributes,
                    time_nano,
                    logs,
                }
            },
        )
}

impl Container {
    fn labels(&self, pool: &[String]) -> Map<String, Value> {
        let mut labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
            .collect();
        labels.insert("eval_id".into(), Value::String(self.eval_id.text(pool)));
        labels
    }

    fn summary(&self, pool: &[String]) -> ContainerSummary {
        serde_json::from_value(json!({
            "Id": self.id, "Labels": self.labels(pool), "State": self.state,
        }))
        .expect("the engine's list entry")
    }

    fn inspect(&self, pool: &[String]) -> ContainerInspectResponse {
        serde_json::from_value(json!({
            "Id": self.id,
            "Config": {"Labels": self.labels(pool), "Tty": self.tty},
            "State": {
                "Status": self.state, "ExitCode": self.exit_code,
                "StartedAt": self.started_at, "FinishedAt": self.finished_at,
            },
        }))
        .expect("the engine's inspect")
    }

    fn event(&self, pool: &[String]) -> EventMessage {
        let mut attributes = self.labels(pool);
        for (k, v) in &self.attributes {
            attributes.insert(k.to_string(), Value::String(v.clone()));
        }
        serde_json::from_value(json!({
            "Type": "container", "Action": self.action,
            "Actor": {"ID": self.id, "Attributes": attributes},
            "timeNano": self.time_nano,
        }))
        .expect("the engine's event")
    }
}

/// The Redis keys: running set members, running keys, pending keys and
/// latest-log keys, each with an arbitrary key name and value.
#[derive(Clone, Debug)]
struct Keys {
    members: Vec<Vec<u8>>,
    running: Vec<(Id, Payload, Option<i64>)>,
    pending: Vec<(Id, Vec<u8>)>,
    latest: Vec<(Id, usize, Option<i64>)>,
}

fn redis_keys() -> impl Strategy<Value = Keys> {
    (
        proptest::collection::vec(bytes(), 0..3),
        proptest::collection::vec((id(), payload(), any::<Option<i64>>()), 0..3),
        proptest::collection::vec((id(), bytes()), 0..2),
        proptest::collection::vec((id(), any::<usize>(), any::<Option<i64>>()), 0..2),
    )
        .prop_map(|(members, running, pending, latest)| Keys {
            members,
            running,
            pending,
            latest,
        })
}

/// One generated case: ids, channel messages, containers and keys, when
/// the screen is looked at, what is typed into dialogs, and the size.
#[derive(Clone, Debug)]
pub(super) struct Case {
    pool: Vec<String>,
    messages: Vec<(Channel, Payload)>,
    containers: Vec<Container>,
    keys: Keys,
    /// Milliseconds from the first observation to the screen's `now`.
    pub(super) later_ms: u32,
    pub(super) typed: String,
    pub(super) size: (u16, u16),
}

pub(super) fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(text(), 1..4),
        proptest::collection::vec((channel(), payload()), 0..10),
        proptest::collection::vec(container(), 0..3),
        redis_keys(),
        0u32..600_000,
        text(),
        prop_oneof![
            Just((80, 24)),
            Just((40, 10)),
            Just((120, 40)),
            (1u16..250, 1u16..80),
        ],
    )
        .prop_map(
            |(pool, messages, containers, keys, later_ms, typed, size)| Case {
                pool,
                messages,
                containers,
                keys,
                later_ms,
                typed,
                size,
            },
        )
}

/// Every observation the case's inputs give, through the real decoders.
pub(super) fn observations(case: &Case) -> Vec<Observation> {
    let names = Names::default();
    let pool = &case.pool;
    let mut out = vec![
        Observation::SourceUp {
            source: Source::Docker(EngineName::default()),
            detail: "property".into(),
        },
        Observation::SourceUp {
            source: Source::Redis,
            detail: "property".into(),
        },
    ];
    let scope = Scope::new(&[]);
    let listed = case
        .containers
        .iter()
        .filter_map(|c| facts::from_summary(&names, &c.summary(pool)))
        .collect();
    out.push(Observation::DockerList {
        engine: EngineName::default(),
        containers: listed,
        requested_at: Ts(T0),
    });
    for (channel, payload) in &case.messages {
        let channel = match channel {
            Channel::Known(name) => name.to_string(),
            Channel::LogsOf(id) => format!("evaluation:{}:logs", id.text(pool)),
            Channel::Any(text) => text.clone(),
        };
        out.extend(decode(&names, &channel, &payload.bytes(pool)));
    }
    for container in &case.containers {
        out.extend(
            facts::from_event(&names, &scope, &container.event(pool)).map(Observation::DockerEvent),
        );
        if let Some(inspected) = facts::from_inspect(&names, &container.inspect(pool)) {
            let (container_id, eval_id) =
                (inspected.container_id.clone(), inspected.eval_id.clone());
            out.push(Observation::DockerInspect(inspected));
            out.push(Observation::DockerLogs {
                engine: EngineName::default(),
                container_id,
                eval_id,
                logs: captured(&container.logs, container.tty),
            });
        }
    }
    let keys = snapshot(case, &mut out);
    out.push(Observation::RedisKeys(keys));
    out
}

/// The snapshot a key read gives; values it refuses become rejections.
fn snapshot(case: &Case, out: &mut Vec<Observation>) -> RedisSnapshot {
    let names = Names::default();
    let pool = &case.pool;
    let key = |pattern: &str, id: &Id| pattern.replace("{id}", &id.text(pool)).into_bytes();
    let mut snapshot = RedisSnapshot {
        running_set: case
            .keys
            .members
            .iter()
            .filter_map(|m| keys::member_id(m))
            .collect(),
        ..RedisSnapshot::default()
    };
    for (id, value, ttl_ms) in &case.keys.running {
        let Some(eval_id) = keys::key_id(&names.running_key, &key(&names.running_key, id)) else {
            continue;
        };
        let mut running = keys::decode_running(&value.bytes(pool)).unwrap_or_else(|reason| {
            out.push(Observation::Rejected(crate::model::Rejection {
                source: Source::Redis,
                channel: "key".into(),
                reason: crate::sanitize::clean_line(&reason),
            }));
            RunningKey::default()
        });
        running.eval_id = eval_id;
        running.ttl_ms = *ttl_ms;
        snapshot.running_keys.push(running);
    }
    for (id, value) in &case.keys.pending {
        if let Some(eval_id) = keys::key_id(&names.pending_key, &key(&names.pending_key, id)) {
            snapshot
                .pending
                .push((eval_id, keys::pending_status(value)));
        }
    }
    for (id, bytes, ttl_ms) in &case.keys.latest {
        if let Some(eval_id) = keys::key_id(&names.latest_log_key, &key(&names.latest_log_key, id))
        {
            snapshot.latest_logs.push(LatestLogKey {
                eval_id,
                bytes: *bytes,
                ttl_ms: *ttl_ms,
            });
        }
    }
    snapshot
}

/// Logs as the Docker source captures them: each stream sanitised whole.
pub(super) fn captured(bytes: &[u8], tty: bool) -> CapturedLogs {
    CapturedLogs {
        tty,
        stdout: sanitize_bytes(bytes, DEFAULT_MAX_LINE),
        stderr: if tty {
            String::new()
        } else {
            sanitize_bytes(bytes, DEFAULT_MAX_LINE)
        },
        total_bytes: bytes.len() as u64,
        truncated: false,
        captured_at: Ts(T0 + 500),
    }
}
