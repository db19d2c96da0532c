//! Latency summaries.

use serde::Serialize;

/// Percentiles of a set of durations, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Summary {
    /// Number of samples.
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Summary {
    /// Summarizes durations given in nanoseconds. Sorts `samples` in place.
    pub fn from_nanos(samples: &mut [u64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let to_ms = |nanos: u64| nanos as f64 / 1e6;
        let total: u128 = samples.iter().map(|&nanos| u128::from(nanos)).sum();
        Self {
            count: samples.len(),
            p50_ms: to_ms(percentile(samples, 0.50)),
            p99_ms: to_ms(percentile(samples, 0.99)),
            max_ms: to_ms(samples[samples.len() - 1]),
            mean_ms: total as f64 / samples.len() as f64 / 1e6,
        }
    }
}

/// Returns the nearest-rank percentile `quantile` (0 to 1) of sorted samples.
fn percentile(sorted: &[u64], quantile: f64) -> u64 {
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_nearest_rank() {
        let mut samples: Vec<u64> = (1..=100).rev().map(|ms| ms * 1_000_000).collect();
        let summary = Summary::from_nanos(&mut samples);
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ms, 50.0);
        assert_eq!(summary.p99_ms, 99.0);
        assert_eq!(summary.max_ms, 100.0);
        assert_eq!(summary.mean_ms, 50.5);
    }

    #[test]
    fn summary_of_nothing_is_zero() {
        let summary = Summary::from_nanos(&mut []);
        assert_eq!(summary.count, 0);
        assert_eq!(summary.p99_ms, 0.0);
    }
}
