//! How the figures are printed: each line with the load average at the
//! moment it was measured (the machine is shared, and the load moves the
//! figures), percentiles over samples, and thousands separators.

use std::time::Duration;

use crate::procfs;

/// Prints a figure's line, followed by the load average now.
pub fn line(text: impl AsRef<str>) {
    println!("  {}   [load {}]", text.as_ref(), procfs::loadavg());
}

/// Prints a note (no load average: not a measurement).
pub fn note(text: impl AsRef<str>) {
    println!("  {}", text.as_ref());
}

pub fn title(number: u32, text: &str) {
    println!("\n== {number}. {text}");
}

/// The value at quantile `q` (nearest rank) of sorted `samples`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn sorted(mut samples: Vec<f64>) -> Vec<f64> {
    samples.sort_by(f64::total_cmp);
    samples
}

pub fn median(samples: &[f64]) -> f64 {
    quantile(&sorted(samples.to_vec()), 0.5)
}

/// "p50 12.0 / p90 20.1 / p99 31.5 ms (n=50)".
pub fn percentiles_ms(samples: &[f64]) -> String {
    let s = sorted(samples.to_vec());
    format!(
        "p50 {:.1} / p90 {:.1} / p99 {:.1} ms (n={}, max {:.1})",
        quantile(&s, 0.5),
        quantile(&s, 0.9),
        quantile(&s, 0.99),
        s.len(),
        s.last().copied().unwrap_or(f64::NAN)
    )
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// 12340 as "12,340".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.2}x", a / b)
    } else {
        "n/a".to_string()
    }
}
