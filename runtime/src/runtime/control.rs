//! Controlling open graphs: priorities, group limits, holding, and
//! terminating (and forgetting) them.

use super::{GraphId, Runtime};
use crate::error::{Result, RuntimeError};
use crate::sched::{GraphKey, GroupKey};

impl Runtime {
    /// Sets the graph's priority (1..=100); used by the scheduling policy.
    pub fn set_priority(&mut self, id: GraphId, priority: u32) -> Result<()> {
        if !(1..=100).contains(&priority) {
            return Err(RuntimeError::InvalidPlan(format!(
                "priority {priority} is outside 1..=100"
            )));
        }
        self.graph_mut(id)?.priority = priority;
        self.arb
            .scheduler_mut()
            .set_priority(GraphKey(id.0 as u64), priority)?;
        Ok(())
    }

    /// Sets (or with `None` clears) the priority override of the graph's
    /// ptask named `ptask`.
    pub fn set_ptask_priority(
        &mut self,
        id: GraphId,
        ptask: &str,
        priority: Option<u32>,
    ) -> Result<()> {
        let g = self.graph_mut(id)?;
        let t = g
            .ptasks
            .iter()
            .position(|p| p.name == ptask)
            .ok_or_else(|| RuntimeError::InvalidPlan(format!("no ptask `{ptask}`")))?;
        self.arb
            .scheduler_mut()
            .set_ptask_priority(GraphKey(id.0 as u64), t, priority)?;
        if let Some(p) = self.graphs.get_mut(id.0).and_then(|g| g.as_mut()) {
            p.ptasks[t].priority = priority;
        }
        Ok(())
    }

    /// The graph's priority.
    pub fn priority(&self, id: GraphId) -> Result<u32> {
        Ok(self.graph(id)?.priority)
    }

    /// Turns the whole-frame command buffers on or off (on by default); off,
    /// every ptask is submitted separately. For benchmarks and tests.
    pub fn set_frame_path(&mut self, id: GraphId, on: bool) -> Result<()> {
        self.graph_mut(id)?.frame_path = on;
        Ok(())
    }

    /// Whole-frame submissions so far.
    pub fn frames_submitted(&self, id: GraphId) -> Result<u64> {
        Ok(self.graph(id)?.frames)
    }

    /// Caps the jobs scheduling group `group` may have in flight on the
    /// GPU (`None`: no cap); a group at its cap waits, others do not.
    pub fn set_group_inflight(&mut self, group: u64, cap: Option<usize>) -> Result<()> {
        self.arb
            .scheduler_mut()
            .set_group_limits(GroupKey(group), crate::sched::GroupLimits { inflight: cap })?;
        Ok(())
    }

    /// Forgets a terminated graph's scheduling statistics (a long-lived
    /// process reports them first, then calls this so it does not grow).
    pub fn forget(&mut self, id: GraphId) -> Result<()> {
        if self.graph(id).is_ok() {
            return Err(RuntimeError::InvalidPlan(format!(
                "graph #{} is still open: terminate it first",
                id.0
            )));
        }
        self.arb
            .scheduler_mut()
            .forget_graph(GraphKey(id.0 as u64))?;
        Ok(())
    }

    /// Holds graph `id` (`true`: none of its ptasks fires until released)
    /// or releases it. Work already submitted completes. Used to stop a
    /// graph that feeds itself (a seeded cycle) after its last frame.
    pub fn set_held(&mut self, id: GraphId, held: bool) -> Result<()> {
        self.graph(id)?;
        if let Some(h) = self.held.get_mut(id.0) {
            *h = held;
        }
        Ok(())
    }

    /// True if graph `id` has work on the GPU not yet observed complete
    /// (firings, or staged input uploads).
    pub fn graph_busy(&self, id: GraphId) -> Result<bool> {
        let g = self.graph(id)?;
        Ok(self.inflight.iter().any(|f| f.graph == id) || g.busy() || g.uploading()?)
    }

    /// True if a frame of graph `id` is lent out ([`Runtime::lend_port`])
    /// and its slot not yet given back: the graph may be waiting for it.
    pub fn graph_lending(&self, id: GraphId) -> Result<bool> {
        let g = self.graph(id)?;
        Ok(g.outputs.iter().any(|(_, b)| g.lent_out(*b)))
    }

    /// True if some ptask of graph `id` could fire now (false while held).
    pub fn graph_has_ready_work(&self, id: GraphId) -> Result<bool> {
        let g = self.graph(id)?;
        Ok(!self.is_held(id) && g.has_ready_work())
    }

    fn is_held(&self, id: GraphId) -> bool {
        self.held.get(id.0).copied().unwrap_or(false)
    }

    /// Waits for the graph's work and releases all its resources; the other
    /// graphs keep running.
    pub fn terminate(&mut self, id: GraphId) -> Result<()> {
        let slot = self
            .graphs
            .get_mut(id.0)
            .ok_or(RuntimeError::NoSuchGraph(id.0))?;
        let g = slot.take().ok_or(RuntimeError::NoSuchGraph(id.0))?;
        let r = g.wait_all();
        // Its submissions are complete now (or the device is lost): let the
        // scheduler account for them before the graph's resources go.
        let mut mine = Vec::new();
        let mut i = 0;
        while i < self.inflight.len() {
            if self.inflight[i].graph == id {
                mine.push(self.inflight.swap_remove(i));
            } else {
                i += 1;
            }
        }
        let mut g = g;
        for f in mine {
            let gpu_ns = if r.is_ok() {
                g.gpu_time(f.fired.ts)?
            } else {
                None
            };
            if gpu_ns.is_none() && !f.fired.sampled && r.is_ok() {
                self.arb.completed_estimated(f.job, f.fired.at)?;
            } else {
                self.arb.completed(f.job, f.fired.at, gpu_ns, None)?;
            }
        }
        self.arb.close(GraphKey(id.0 as u64))?;
        drop(g);
        r
    }
}
