//! The two sources of truth. Each runs as its own task, reconnects by
//! itself, re-reads everything on every (re)connect and on a timer, and
//! sends owned, timestamped observations to the app loop. Only this module
//! and `effects` talk to bollard and redis.

pub mod docker;
pub mod liveness;
pub mod redis;

use tokio::sync::mpsc;

use crate::model::{Observation, Ts};

/// An observation with the local time it was received: the `now` that the
/// model applies it at, and what a recording stores.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Received {
    pub at: Ts,
    pub observation: Observation,
}

impl Received {
    pub fn now(observation: Observation) -> Self {
        Received {
            at: Ts::now(),
            observation,
        }
    }
}

/// Where sources send what they observe.
pub type Sink = mpsc::Sender<Received>;

/// Capped exponential backoff for reconnecting: 250 ms, doubling, at most
/// 10 s, reset after a connection that worked.
#[derive(Clone, Debug)]
pub struct Backoff {
    next_ms: u64,
}

impl Backoff {
    const FIRST_MS: u64 = 250;
    const MAX_MS: u64 = 10_000;

    pub fn new() -> Self {
        Backoff {
            next_ms: Self::FIRST_MS,
        }
    }

    pub fn reset(&mut self) {
        self.next_ms = Self::FIRST_MS;
    }

    /// The delay to wait now; the next one is longer.
    pub fn next_delay(&mut self) -> std::time::Duration {
        let delay = self.next_ms;
        self.next_ms = (self.next_ms * 2).min(Self::MAX_MS);
        std::time::Duration::from_millis(delay)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}
