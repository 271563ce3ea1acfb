//! The screens and the console without Docker or Redis: states built from
//! observations (or the demo recording), drawn into ratatui's TestBackend.
//! One test binary, so that the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod console;
mod demo;
mod detail;
mod find;
mod fleet;
mod help;
mod hostile_output;
mod log_view;
mod logs;
mod sizes;
mod table;
