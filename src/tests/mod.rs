//! The crate's own cross-module tests: properties over every entry point
//! and every screen.

pub(crate) mod cases;
mod properties;

use proptest::prelude::ProptestConfig;

/// Cases per property: `PROPTEST_CASES`, or `default`.
pub(crate) fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
