//! The crate's own cross-module tests: properties over every entry point
//! and every screen.

mod cases;
mod properties;
