//! Table-driven tests of the model: sequences of observations in, records
//! and health flags out, including duplicates, replays, stale reads and
//! what a crash-only start must still see.

pub(crate) mod support;

mod crash_only;
mod fleet;
mod fleet_view;
mod health;
mod health_actions;
mod health_lost;
mod liveness;
mod merge_docker;
mod merge_redis;
mod timeline;
