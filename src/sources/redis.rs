//! Redis source (being written).
