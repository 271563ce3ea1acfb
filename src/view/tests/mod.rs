//! The view models' unit tests, one file per view model.

mod event_log;
mod filter;
mod find;
mod table;
