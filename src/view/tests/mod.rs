//! The view models' unit tests, one file per view model.

mod event_log;
mod filter;
mod find;
mod follow;
mod log_excerpt;
mod table;

use crate::model::{Settings, SourceHealth, State, Ts};

/// A state whose sources have both been watched, without a gap, since long
/// before any record: what it does not show was not there. Silence is not
/// flagged (these records carry no heartbeats; silence has its own tests).
pub(crate) fn watched_state() -> State {
    let watched = SourceHealth {
        connected: true,
        connected_since: Some(Ts(0)),
        last_sync_at: Some(Ts(0)),
        watch_started: Some(Ts(0)),
        ..SourceHealth::default()
    };
    State {
        engines: vec![(crate::model::EngineName::default(), watched.clone())],
        redis: watched,
        ..State::new(Settings {
            silent_after_ms: i64::MAX / 4,
            ..Settings::default()
        })
    }
}
