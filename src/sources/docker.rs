//! Docker source (being written).
