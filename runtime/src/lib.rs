//! ptc's runtime: executes [`ptc_plan::Plan`]s on Vulkan.
//!
//! The API mirrors the PTask system calls (paper, Table 1):
//! [`Runtime::new`], [`Runtime::open_graph`] (allocates and records
//! everything once), [`Runtime::push`] / [`Runtime::pull`] on graph ports,
//! [`Runtime::step`] / [`Runtime::run_until_idle`] (fire every ready ptask of
//! every open graph), [`Runtime::set_priority`] and [`Runtime::terminate`].
//! Ptasks fire when their inputs hold data and their outputs have room;
//! internal channels are a single GPU buffer shared by producer and
//! consumers; when a whole frame is ready it is submitted as one
//! pre-recorded command buffer. A [`Session`] drives open graphs from their
//! sources to their sinks (what `ptc run` and the daemon do).
//!
//! ```no_run
//! use ptc_runtime::{Runtime, RuntimeOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plan = ptc_plan::Plan::from_yaml(&std::fs::read_to_string("saxpy2.yaml")?)?;
//! let mut rt = Runtime::new(&RuntimeOptions { validate: true, ..Default::default() })?;
//! let g = rt.open_graph(&plan)?;
//! let x: Vec<u8> = vec![0f32; 1 << 20].iter().flat_map(|v| v.to_le_bytes()).collect();
//! rt.push(g, "x", &x)?;
//! rt.push(g, "y", &x)?;
//! let z = rt.pull(g, "z")?; // fires scale, then add; waits for the GPU
//! assert_eq!(z.len(), 4 << 20);
//! rt.terminate(g)?;
//! # Ok(()) }
//! ```
//!
//! Every `unsafe` Vulkan call lives in the private `vk` module.

pub mod cpu;
mod error;
mod graph;
mod host;
pub mod io;
mod runtime;
pub mod session;
mod stats;
mod vk;

pub use error::{Result, RuntimeError};
pub use graph::{LentFrame, PortInfo};
pub use host::GraphHost;
pub use ptc_plan as plan;
pub use ptc_plan::Plan;
pub use runtime::{
    GraphFactory, GraphId, InputPort, OutputPort, PreparedGraph, Runtime, RuntimeOptions,
};
pub use session::{Drain, EndReason, Feed, RunId, RunLimits, RunSummary, Session};
pub use stats::{Latency, PtaskStats, PtaskSummary};
pub use vk::{
    default_device, list_devices, CounterSnapshot, DeviceInfo, DeviceKind, GlobalPriority,
    QueueFamilyInfo, ValidationLog,
};

pub mod sched;
