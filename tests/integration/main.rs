//! Integration tests against the real Docker engine and a real redis-server
//! that the tests start themselves. One test binary, so that it links once.

mod support;

mod check_cli;
mod docker_source;
mod effects_docker;
mod effects_redis;
mod fleet;
mod liveness;
mod record;
mod redis_source;
mod scenarios;
mod tui_console;
mod tui_e2e;
mod tui_flags;
mod tui_logs;
