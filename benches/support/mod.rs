//! What both benchmarks share: the platform's id shapes at a fixed time.

/// 2025-07-06T00:55:15Z.
pub const T0_MS: i64 = 1_751_763_315_000;

/// A well-spread 32-bit hash of `i`, for ids that look random.
pub fn mix(i: usize) -> u32 {
    (i as u32).wrapping_mul(0x9E37_79B9) ^ 0x529f_833e
}

/// An id in the platform's shape: `eval_20250706_005515_529f833e`.
pub fn eval_id(i: usize) -> String {
    format!("eval_20250706_{:06}_{:08x}", i % 1_000_000, mix(i))
}
