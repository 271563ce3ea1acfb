//! The reconciled model: observations in, one record per evaluation out,
//! with health flags. Pure: no IO, no clock reads.

pub mod blind;
pub mod changes;
pub mod fleet;
pub mod health;
pub mod live_logs;
pub mod merge;
pub mod observation;
pub mod progress;
pub mod record;
pub mod state;
pub mod time;

pub use changes::Changes;
pub use health::{Flag, FlagKind, HealthContext, Severity, assess, assess_until};
pub use observation::*;
pub use progress::ReadProgress;
pub use record::{ContainerSide, EvalRecord, Happening, RedisSide, Timeline, TimelineEntry};
pub use state::{BlindWindow, Lag, Settings, SourceHealth, State};
pub use time::{Ts, human_duration};

#[cfg(test)]
pub(crate) mod tests;
