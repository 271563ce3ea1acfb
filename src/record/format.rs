//! The recording format: one JSON object per line, a header first, then
//! observations with their receive time and clock lines. Described for
//! people in docs/recording-format.md; this is its only definition in code.

use serde::{Deserialize, Serialize};

use crate::cli::SourceArgs;
use crate::engines::EngineSpec;
use crate::model::{EngineName, Settings, Ts};
use crate::sources::Received;

/// What the header's `format` field holds: tells a recording from any
/// other JSON-lines file.
pub const FORMAT_NAME: &str = "evaltop-recording";

/// The version this evaltop writes, and whose major version it reads.
/// Minor versions only add (optional fields, line types a reader may skip);
/// a new major version may change anything, so it is refused.
pub const FORMAT_VERSION: (u32, u32) = (1, 1);

/// One line of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Line {
    Header(Header),
    /// A normalised observation, with the local time evaltop received it:
    /// the `now` the model applied it at.
    Observed(Received),
    /// Nothing happened up to `at`: written at least once a second while
    /// the sources are quiet, so that a recording knows how far it got.
    Clock {
        at: Ts,
    },
}

/// The serialising twin of `Line`, borrowing, so that recording does not
/// clone observations.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum LineRef<'a> {
    Header(&'a Header),
    Observed(&'a Received),
    Clock { at: Ts },
}

/// The first line: what the file is and where it was recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always `evaltop-recording`.
    pub format: String,
    /// `MAJOR.MINOR` of the format.
    pub version: String,
    /// The version of the evaltop that recorded it.
    pub evaltop: String,
    /// When recording began (local clock).
    pub started_at: Ts,
    pub sources: RecordedSources,
    /// The settings the recorder judged with; a replay uses them unless
    /// told otherwise, so that it shows the same flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<RecordedSettings>,
    /// Free text, e.g. how the recording was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The sources a recording was made from (passwords redacted).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordedSources {
    /// The first engine's URL (the only one before format 1.1).
    pub docker: String,
    /// Every engine watched, by name (format 1.1); absent in older
    /// recordings, which watched the one engine `docker` names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engines: Vec<RecordedEngine>,
    pub redis: String,
    /// The executor filter (empty: every executor).
    #[serde(default)]
    pub executors: Vec<String>,
}

impl RecordedSources {
    /// The sources named on the command line; the Redis password, if any,
    /// never reaches the file.
    pub fn from_args(args: &SourceArgs, engines: &[EngineSpec]) -> Self {
        RecordedSources {
            docker: engines.first().map_or_else(
                || crate::engines::LOCAL_SOCKET.to_string(),
                |e| e.redacted_url(),
            ),
            engines: engines
                .iter()
                .map(|e| RecordedEngine {
                    name: e.name.clone(),
                    url: e.redacted_url(),
                })
                .collect(),
            redis: crate::sources::redis::redact_url(&args.redis),
            executors: args.executors.clone(),
        }
    }
}

/// One engine of a recording.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEngine {
    pub name: EngineName,
    pub url: String,
}

impl RecordedSources {
    /// The engines recorded, as specs (an older recording: its one engine).
    pub fn engine_specs(&self) -> Vec<EngineSpec> {
        match self.engines.as_slice() {
            [] => vec![EngineSpec {
                name: self.default_engine(),
                url: self.docker.clone(),
            }],
            engines => engines
                .iter()
                .map(|e| EngineSpec {
                    name: e.name.clone(),
                    url: e.url.clone(),
                })
                .collect(),
        }
    }

    /// The engine an unnamed Docker observation belongs to: the one engine
    /// of an older recording, named after its URL as `--docker URL` would.
    pub fn default_engine(&self) -> EngineName {
        match self.engines.as_slice() {
            [only] => only.name.clone(),
            _ => EngineName::new(&crate::engines::default_name(&self.docker)),
        }
    }
}

/// The model settings that change flags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedSettings {
    pub grace_ms: i64,
    pub silent_after_ms: i64,
}

impl Header {
    /// A header for a recording that starts at `started_at`, written by
    /// this evaltop in the current format version.
    pub fn new(sources: RecordedSources, settings: &Settings, started_at: Ts) -> Self {
        Header {
            format: FORMAT_NAME.to_string(),
            version: format!("{}.{}", FORMAT_VERSION.0, FORMAT_VERSION.1),
            evaltop: env!("CARGO_PKG_VERSION").to_string(),
            started_at,
            sources,
            settings: Some(RecordedSettings {
                grace_ms: settings.grace_ms,
                silent_after_ms: settings.silent_after_ms,
            }),
            note: None,
        }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// The settings to replay with: the recorded ones (defaults for what a
    /// header does not say), scoped to the recorded executors.
    pub fn settings(&self) -> Settings {
        let mut settings = Settings {
            executors: self.sources.executors.clone(),
            ..Settings::default()
        };
        if let Some(recorded) = &self.settings {
            settings.grace_ms = recorded.grace_ms;
            settings.silent_after_ms = recorded.silent_after_ms;
        }
        settings
    }
}

/// `MAJOR.MINOR` as numbers; `None` when it is not that shape.
pub(crate) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}
