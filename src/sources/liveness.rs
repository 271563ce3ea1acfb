//! A source's liveness clock: a probe every period, each with a deadline of
//! 1.8 periods, on its own clock whatever the resync does. A probe
//! that answers proves the source live at the moment it was sent; one that
//! misses its deadline means the source stopped answering.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Interval, MissedTickBehavior};

use crate::model::Ts;

/// The default period (`--liveness`).
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(1);
/// A period shorter than this would make the probes themselves a load.
const MIN_PERIOD: Duration = Duration::from_millis(100);

type Probe<E> = Pin<Box<dyn Future<Output = Result<(), E>> + Send>>;

/// What one probe found.
#[derive(Debug)]
pub enum Verdict<E> {
    /// Answered: live at the moment the probe was sent.
    Live(Ts),
    /// No answer within the deadline.
    NoAnswer(Duration),
    /// Answered with an error.
    Failed(E),
}

/// The probe clock. `next` is cancel-safe: a probe in flight survives a
/// `select!` that picked another branch.
pub struct Liveness<E> {
    ticker: Interval,
    deadline: Duration,
    make: Box<dyn FnMut() -> Probe<E> + Send>,
    /// The probe in flight: when it was sent, and by when it must answer.
    inflight: Option<(Ts, tokio::time::Instant, Probe<E>)>,
}

impl<E: Send + 'static> Liveness<E> {
    /// Probes with `make` every `period` (at least 100 ms), the first one
    /// a period from now.
    pub fn new<F>(period: Duration, make: impl FnMut() -> F + Send + 'static) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let period = period.max(MIN_PERIOD);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        // A probe late because the loop was busy is sent once, not in a burst.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut make = make;
        Liveness {
            ticker,
            deadline: deadline(period),
            make: Box::new(move || Box::pin(make()) as Probe<E>),
            inflight: None,
        }
    }

    /// Waits for the next probe's verdict.
    pub async fn next(&mut self) -> Verdict<E> {
        loop {
            if let Some((sent, due, probe)) = &mut self.inflight {
                let sent = *sent;
                let answer = tokio::time::timeout_at(*due, probe).await;
                self.inflight = None;
                return match answer {
                    Ok(Ok(())) => Verdict::Live(sent),
                    Ok(Err(error)) => Verdict::Failed(error),
                    Err(_elapsed) => Verdict::NoAnswer(self.deadline),
                };
            }
            self.ticker.tick().await;
            let due = tokio::time::Instant::now() + self.deadline;
            self.inflight = Some((Ts::now(), due, (self.make)()));
        }
    }
}

/// How long a probe may take: 1.8 periods (1.8 s by default). A source that
/// freezes right after an answer is called silent when the next probe,
/// sent a period later, runs out: 2.8 periods after its last answer, which
/// leaves the default a fifth of a second to be on screen within 3 s.
pub fn deadline(period: Duration) -> Duration {
    period.max(MIN_PERIOD).mul_f64(1.8)
}
