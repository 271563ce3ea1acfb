//! What the integration tests share: a redis-server on a free port, the
//! offline busybox test image, containers labelled like the platform's, and
//! evaltop's sources running in the test process. Everything here cleans up
//! what it created, and only that, on drop.

#![allow(dead_code)]

pub mod docker;
pub mod effects;
pub mod evaltop;
pub mod platform;
pub mod redis;
pub mod second_engine;
pub mod socket_proxy;
pub mod stream_proxy;
pub mod tmux;
