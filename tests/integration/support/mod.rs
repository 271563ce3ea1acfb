//! What the integration tests share: a redis-server on a free port, the
//! offline busybox test image, and containers labelled like the platform's.
//! Everything here cleans up what it created, and only that, on drop.

#![allow(dead_code)]

pub mod docker;
pub mod redis;
