//! [`GraphHost`]: the verbs of the PTask system calls over any executor —
//! a [`crate::Runtime`] in this process, or a daemon's client (the
//! `ptc-daemon` crate) — so an application chooses neither at compile time.

use crate::error::Result;
use crate::runtime::{GraphId, Runtime};
use ptc_plan::Plan;

/// Opens graphs and moves frames through them.
pub trait GraphHost {
    /// Opens a graph (allocates and records everything once).
    fn open_graph(&mut self, plan: &Plan) -> Result<GraphId>;
    /// Writes one frame to input `port`.
    fn push(&mut self, graph: GraphId, port: &str, bytes: &[u8]) -> Result<()>;
    /// Reads the next frame of output `port` (runs what it needs, waits).
    fn pull(&mut self, graph: GraphId, port: &str) -> Result<Vec<u8>>;
    /// Sets the graph's priority (1..=100).
    fn set_priority(&mut self, graph: GraphId, priority: u32) -> Result<()>;
    /// Waits for the graph's work and releases everything it holds.
    fn terminate(&mut self, graph: GraphId) -> Result<()>;
}

impl GraphHost for Runtime {
    fn open_graph(&mut self, plan: &Plan) -> Result<GraphId> {
        Runtime::open_graph(self, plan)
    }
    fn push(&mut self, graph: GraphId, port: &str, bytes: &[u8]) -> Result<()> {
        Runtime::push(self, graph, port, bytes)
    }
    fn pull(&mut self, graph: GraphId, port: &str) -> Result<Vec<u8>> {
        Runtime::pull(self, graph, port)
    }
    fn set_priority(&mut self, graph: GraphId, priority: u32) -> Result<()> {
        Runtime::set_priority(self, graph, priority)
    }
    fn terminate(&mut self, graph: GraphId) -> Result<()> {
        Runtime::terminate(self, graph)
    }
}
