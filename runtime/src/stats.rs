//! Per-ptask statistics: firings and latencies (host clocks).

use crate::sched::hist::Histogram;
use std::time::Duration;

/// Latencies and counts of one ptask, as samples (for callers keeping
/// their own; the runtime keeps `PtaskLatencies`, constant-size
/// histograms, so that its per-frame path allocates nothing).
#[derive(Clone, Debug, Default)]
pub struct PtaskStats {
    /// Firings observed complete.
    pub firings: u64,
    /// Time from "ready" (first seen ready by the executor) to submission.
    pub ready_to_submit: Vec<Duration>,
    /// Time from submission to completion as observed by the host (an upper
    /// bound: completion is observed when the runtime polls or waits).
    pub submit_to_done: Vec<Duration>,
}

/// What the runtime records per ptask: firings and latency histograms
/// (constant memory; percentiles within 1/64).
#[derive(Clone, Debug, Default)]
pub(crate) struct PtaskLatencies {
    /// Firings observed complete.
    pub(crate) firings: u64,
    /// "Ready" (first seen ready by the executor) → submitted, ns.
    pub(crate) ready_to_submit: Histogram,
    /// Submitted → completion observed by the host, ns (an upper bound).
    pub(crate) submit_to_done: Histogram,
}

impl PtaskLatencies {
    /// Records a ready → submitted latency.
    pub(crate) fn submitted(&mut self, d: Duration) {
        self.ready_to_submit.record(d.as_nanos() as u64);
    }

    /// Records a completion observed `d` after its submission.
    pub(crate) fn completed(&mut self, d: Duration) {
        self.submit_to_done.record(d.as_nanos() as u64);
        self.firings += 1;
    }
}

/// Summary of a latency sample.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct Latency {
    /// Mean in microseconds.
    pub mean_us: f64,
    /// 99th percentile in microseconds.
    pub p99_us: f64,
}

impl Latency {
    /// Summarises durations (zero if empty).
    pub fn of(samples: &[Duration]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(|a, b| a.total_cmp(b));
        let mean = us.iter().sum::<f64>() / us.len() as f64;
        let idx = ((us.len() as f64 * 0.99).ceil() as usize).clamp(1, us.len()) - 1;
        Latency {
            mean_us: mean,
            p99_us: us[idx],
        }
    }

    /// Summarises a histogram of nanoseconds (zero if empty).
    pub(crate) fn of_histogram(h: &Histogram) -> Latency {
        let s = h.summary();
        Latency {
            mean_us: s.mean as f64 / 1e3,
            p99_us: s.p99 as f64 / 1e3,
        }
    }
}

/// A ptask's summary row, as `ptc run` prints it.
#[derive(Clone, Debug)]
pub struct PtaskSummary {
    /// Graph name.
    pub graph: String,
    /// Ptask name.
    pub ptask: String,
    /// Completed firings.
    pub firings: u64,
    /// Ready → submitted.
    pub ready_to_submit: Latency,
    /// Submitted → done.
    pub submit_to_done: Latency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_mean_and_p99() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let l = Latency::of(&s);
        assert!((l.mean_us - 50.5).abs() < 1e-9);
        assert!((l.p99_us - 99.0).abs() < 1e-9);
        assert_eq!(Latency::of(&[]), Latency::default());
    }
}
