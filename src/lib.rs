//! evaltop: a terminal console that reconciles the Docker engine and Redis
//! into one live picture of every evaluation, and flags what is wrong.

pub mod actions;
pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod effects;
pub mod engines;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod names;
pub mod options;
pub mod protocol;
pub mod record;
pub mod sanitize;
pub mod sources;
pub mod ui;
pub mod view;

#[cfg(test)]
mod tests;
