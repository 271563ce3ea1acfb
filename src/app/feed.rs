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
    /// True once after the feed started over (a replay's seek backwards):
    /// the caller empties its state before applying what comes next.
    fn take_reset(&mut self) -> bool {
        false
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

/// A recording played back on its own clock: `now` is the replay cursor,
/// never the wall clock, so the flags at a recorded moment are the same on
/// any machine.
pub struct ReplayFeed {
    recording: crate::record::Recording,
    player: crate::record::Player,
    pending: std::collections::VecDeque<Received>,
    tick: tokio::time::Interval,
    last: tokio::time::Instant,
    /// A seek went backwards: the state must start again empty.
    reset: bool,
}

/// How often the replay cursor moves.
const REPLAY_STEP: std::time::Duration = std::time::Duration::from_millis(50);

impl ReplayFeed {
    pub fn new(recording: crate::record::Recording, speed: f64) -> Self {
        let mut player = crate::record::Player::new(&recording);
        while player.speed().factor() < speed && player.speed() != player.speed().faster() {
            player.set_speed(player.speed().faster());
        }
        while player.speed().factor() > speed && player.speed() != player.speed().slower() {
            player.set_speed(player.speed().slower());
        }
        let mut tick = tokio::time::interval(REPLAY_STEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ReplayFeed {
            recording,
            player,
            pending: std::collections::VecDeque::new(),
            tick,
            last: tokio::time::Instant::now(),
            reset: false,
        }
    }

    /// Starts at `at` instead of the recording's start: everything before
    /// is applied at once, then it plays on.
    pub fn starting_at(mut self, at: crate::model::Ts) -> Self {
        let seek = self.player.seek(at);
        self.seek(seek);
        self
    }

    fn queue(&mut self, range: std::ops::Range<usize>) {
        self.pending
            .extend(self.recording.lines[range].iter().cloned());
    }

    fn seek(&mut self, seek: crate::record::Seek) {
        match seek {
            crate::record::Seek::Forward(range) => self.queue(range),
            crate::record::Seek::Restart(range) => {
                self.pending.clear();
                self.reset = true;
                self.queue(range);
            }
        }
    }
}

impl Feed for ReplayFeed {
    async fn next(&mut self) -> Option<Received> {
        loop {
            if let Some(received) = self.pending.pop_front() {
                return Some(received);
            }
            self.tick.tick().await;
            let now = tokio::time::Instant::now();
            let range = self.player.advance(now - self.last);
            self.last = now;
            self.queue(range);
        }
    }

    fn try_next(&mut self) -> Option<Received> {
        self.pending.pop_front()
    }

    fn now(&self) -> Ts {
        self.player.cursor()
    }

    fn control(&mut self, control: ReplayControl) {
        match control {
            ReplayControl::PauseResume => self.player.set_paused(!self.player.paused()),
            ReplayControl::Faster => self.player.set_speed(self.player.speed().faster()),
            ReplayControl::Slower => self.player.set_speed(self.player.speed().slower()),
            ReplayControl::SeekStart => {
                let seek = self.player.seek_start();
                self.seek(seek);
            }
            ReplayControl::SeekEnd => {
                let seek = self.player.seek_end();
                self.seek(seek);
            }
        }
        self.last = tokio::time::Instant::now();
    }

    fn status(&self) -> Option<ReplayStatus> {
        Some(ReplayStatus {
            cursor: self.player.cursor(),
            start: self.player.start(),
            end: self.player.end(),
            speed: self.player.speed().factor(),
            paused: self.player.paused(),
        })
    }

    fn take_reset(&mut self) -> bool {
        std::mem::take(&mut self.reset)
    }
}
