//! Where the loop's observations and its `now` come from: the live sources
//! (with the wall clock, optionally recorded to a file), or a recording
//! played back on its own clock.

use crate::console::{ReplayControl, ReplayStatus};
use crate::model::Ts;
use crate::sources::Received;

/// A stream of observations with its own notion of now.
pub trait Feed {
    /// The next observation; `None` when the feed has ended for good.
    fn next(&mut self) -> impl Future<Output = Option<Received>>;
    /// An observation that is ready now, without waiting.
    fn try_next(&mut self) -> Option<Received>;
    /// The time the model is evaluated at.
    fn now(&self) -> Ts;
    /// Called every second (e.g. to write a recording's clock line).
    fn tick(&mut self) {}
    /// Replay controls; live feeds ignore them.
    fn control(&mut self, _control: ReplayControl) {}
    /// The replay clock, for the header; `None` when live.
    fn status(&self) -> Option<ReplayStatus> {
        None
    }
}

/// The live sources, on the wall clock.
pub struct LiveFeed {
    pub sources: super::Sources,
}

impl Feed for LiveFeed {
    async fn next(&mut self) -> Option<Received> {
        self.sources.observations.recv().await
    }

    fn try_next(&mut self) -> Option<Received> {
        self.sources.observations.try_recv().ok()
    }

    fn now(&self) -> Ts {
        Ts::now()
    }
}
