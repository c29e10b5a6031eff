//! A constant-memory latency histogram (log-linear buckets, ≤ 1.6 % error).
//!
//! Values below 128 ns are counted exactly; above, each power of two is split
//! into 64 equal sub-buckets, so a reported percentile is within 1/64 of the
//! true sample. The maximum and the sum are kept exactly.

use serde::{Deserialize, Serialize};

const EXACT: u64 = 128;
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// 128 exact buckets, then 64 per power of two from 2^7 to 2^63.
const BUCKETS: usize = EXACT as usize + (64 - 7) * SUB;

/// A histogram of nanosecond durations.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Allocated on the first sample (many ptasks never record anything).
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < EXACT {
        return v as usize;
    }
    let e = 63 - v.leading_zeros(); // >= 7
    let sub = ((v >> (e - SUB_BITS)) as usize) & (SUB - 1);
    EXACT as usize + (e as usize - 7) * SUB + sub
}

/// Lowest and highest value of bucket `b` (inclusive).
fn bucket_range(b: usize) -> (u64, u64) {
    if b < EXACT as usize {
        return (b as u64, b as u64);
    }
    let e = ((b - EXACT as usize) / SUB) as u32 + 7;
    let sub = ((b - EXACT as usize) % SUB) as u64;
    let width = 1u64 << (e - SUB_BITS);
    let lo = (1u64 << e) + sub * width;
    (lo, lo.saturating_add(width - 1))
}

/// Percentiles of a [`Histogram`], in nanoseconds (the JSON `latency` objects).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest sample (exact).
    pub max: u64,
}

impl Histogram {
    /// Adds one sample.
    pub fn record(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
        }
        let b = bucket_of(v);
        if let Some(c) = self.counts.get_mut(b) {
            *c += 1;
        }
        self.count += 1;
        self.sum += u128::from(v);
        self.max = self.max.max(v);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The smallest recorded-bucket value `v` such that at least `q` (0..=1)
    /// of the samples are ≤ `v` (midpoint of the bucket, capped at the max).
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bucket_range(b);
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }

    /// Count, mean, p50, p99 and max.
    pub fn summary(&self) -> Summary {
        Summary {
            count: self.count,
            mean: if self.count == 0 {
                0
            } else {
                (self.sum / u128::from(self.count)) as u64
            },
            p50: self.quantile(0.50),
            p99: self.quantile(0.99),
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_without_gaps() {
        let mut prev_hi = None;
        for b in 0..BUCKETS {
            let (lo, hi) = bucket_range(b);
            assert!(lo <= hi);
            if let Some(p) = prev_hi {
                assert_eq!(lo, p + 1, "gap before bucket {b}");
            }
            assert_eq!(bucket_of(lo), b);
            assert_eq!(bucket_of(hi), b);
            prev_hi = Some(hi);
        }
        assert_eq!(prev_hi, Some(u64::MAX));
    }

    #[test]
    fn percentiles_match_a_sorted_reference_within_two_percent() {
        // A deterministic, skewed sample set (LCG), compared with exact ranks.
        let mut x: u64 = 12345;
        let mut samples = Vec::new();
        let mut h = Histogram::default();
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = 1000 + (x >> 40) % 5_000_000 * ((x >> 20) % 4 + 1);
            samples.push(v);
            h.record(v);
        }
        samples.sort_unstable();
        for q in [0.5, 0.9, 0.99] {
            let exact = samples[((q * samples.len() as f64).ceil() as usize).max(1) - 1];
            let got = h.quantile(q);
            let err = (got as f64 - exact as f64).abs() / exact as f64;
            assert!(err < 0.02, "q{q}: got {got}, exact {exact}");
        }
        let s = h.summary();
        assert_eq!(s.max, *samples.last().unwrap_or(&0));
        assert_eq!(s.count, 20_000);
        let mean = samples.iter().map(|&v| u128::from(v)).sum::<u128>() / 20_000;
        assert_eq!(u128::from(s.mean), mean);
    }

    #[test]
    fn small_values_are_exact_and_empty_is_zero() {
        let mut h = Histogram::default();
        assert_eq!(h.summary(), Summary::default());
        for v in [3, 5, 7, 9] {
            h.record(v);
        }
        assert_eq!(h.quantile(0.5), 5);
        assert_eq!(h.quantile(1.0), 9);
    }
}
