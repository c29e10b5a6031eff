//! Statistics of the runtime and its scheduler: per-graph counters, the
//! scheduler's report and trace, per-ptask summaries.

use super::{GraphId, Runtime};
use crate::error::Result;
use crate::sched::stats::StatsReport;
use crate::sched::GraphKey;
use crate::stats::{Latency, PtaskSummary};

impl Runtime {
    /// The scheduler's statistics so far (`--stats`; schema in
    /// [`crate::sched::stats`]).
    pub fn sched_report(&self) -> StatsReport {
        self.arb.scheduler().report(self.arb.now())
    }

    /// The scheduler's Chrome trace so far (enable with
    /// `RuntimeOptions::sched.trace_limit`).
    pub fn trace_json(&self) -> serde_json::Value {
        self.arb.scheduler().trace_json()
    }

    /// Counts a frame a paced source dropped because the graph's input was full.
    pub fn frame_dropped(&mut self, id: GraphId) {
        self.arb
            .scheduler_mut()
            .frame_dropped(GraphKey(id.0 as u64));
    }

    /// Device memory graph `id`'s buffers hold (every slot, staging and
    /// read-back buffers included), bytes.
    pub fn memory_bytes(&self, id: GraphId) -> Result<u64> {
        Ok(self.graph(id)?.memory_bytes())
    }

    /// GPU time charged to graph `id` so far, ns (also after it closed,
    /// until [`Runtime::forget`]).
    pub fn gpu_ns(&self, id: GraphId) -> u64 {
        self.arb.scheduler().stats().gpu_ns(GraphKey(id.0 as u64))
    }

    /// Frames graph `id` completed so far.
    pub fn frames_done(&self, id: GraphId) -> u64 {
        self.arb.scheduler().stats().frames(GraphKey(id.0 as u64))
    }

    /// True until graph `id`'s statistics are forgotten ([`Runtime::forget`]).
    pub(crate) fn has_stats(&self, id: GraphId) -> bool {
        self.arb
            .scheduler()
            .stats()
            .has_graph(GraphKey(id.0 as u64))
    }

    /// Per-ptask statistics of every open graph.
    pub fn stats(&self) -> Vec<PtaskSummary> {
        let mut out = Vec::new();
        for g in self.graphs.iter().flatten() {
            for p in &g.ptasks {
                out.push(PtaskSummary {
                    graph: g.name.clone(),
                    ptask: p.name.clone(),
                    firings: p.stats.firings,
                    ready_to_submit: Latency::of_histogram(&p.stats.ready_to_submit),
                    submit_to_done: Latency::of_histogram(&p.stats.submit_to_done),
                });
            }
        }
        out
    }
}
