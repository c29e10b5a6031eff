//! The [`Runtime`]: a device, the open graphs, and one executor loop over
//! the ready work of all of them.
//!
//! This module holds the handle types and the runtime itself (creating it,
//! the device, opening graphs); `ports` moves frames in and out, `control`
//! holds, prioritizes and terminates graphs, `exec` is the executor loop
//! (step, reap, wait) and `report` the statistics.

mod control;
mod exec;
mod ports;
mod report;
#[cfg(test)]
mod tests;

use crate::error::{Result, RuntimeError};
use crate::graph::{Fired, GraphRt};
use crate::sched::arbiter::{Arbiter, ReadyItem};
use crate::sched::{GraphKey, GraphSpec, GroupKey, JobId, SchedConfig};
use crate::vk::{Context, CounterSnapshot, DeviceInfo, GlobalPriority, Gpu, ValidationLog};
use ptc_plan::Plan;
use std::sync::Arc;

/// How to create a [`Runtime`].
#[derive(Clone, Debug, Default)]
pub struct RuntimeOptions {
    /// Enable `VK_LAYER_KHRONOS_validation` with synchronization validation
    /// and record every WARNING/ERROR message (see [`Runtime::validation_log`]).
    pub validate: bool,
    /// Device by index or (substring of) name; default: first discrete GPU,
    /// else integrated, virtual, then CPU.
    pub device: Option<String>,
    /// Use staging buffers and copies for graph inputs/outputs even where the
    /// device offers device-local host-visible memory.
    pub force_staging: bool,
    /// Scheduling policy and its tunables (mode `priority` by default; see
    /// [`crate::sched`]). `queues` is overridden by what the device offers.
    pub sched: SchedConfig,
    /// System-wide queue priority to request where the device offers
    /// `VK_KHR_global_priority`/`VK_EXT_global_priority` (`None`: the
    /// driver's default). A level the process may not use is lowered until
    /// the driver accepts it; see [`Runtime::global_priority`].
    pub global_priority: Option<GlobalPriority>,
}

impl RuntimeOptions {
    /// Options from the environment: `PTC_VALIDATE=1` turns on validation,
    /// `PTC_DEVICE` selects the device, `PTC_FORCE_STAGING=1` forces staging.
    pub fn from_env() -> RuntimeOptions {
        let on = |k: &str| {
            std::env::var(k)
                .map(|v| !v.is_empty() && v != "0")
                .unwrap_or(false)
        };
        RuntimeOptions {
            validate: on("PTC_VALIDATE"),
            device: std::env::var("PTC_DEVICE").ok().filter(|s| !s.is_empty()),
            force_staging: on("PTC_FORCE_STAGING"),
            sched: SchedConfig::default(),
            global_priority: None,
        }
    }
}

/// Identifies an open graph of a [`Runtime`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GraphId(pub(crate) usize);

impl GraphId {
    /// The id as a number (unique for the runtime's lifetime).
    pub fn index(self) -> usize {
        self.0
    }

    /// The id numbered `index` (e.g. a graph id a daemon reported).
    pub fn from_index(index: usize) -> GraphId {
        GraphId(index)
    }
}

/// A graph input resolved once by name ([`Runtime::input_port`]): the
/// per-frame calls take it instead of looking the name up again.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct InputPort {
    graph: GraphId,
    /// Index into the graph's inputs.
    index: usize,
    /// The plan buffer behind it.
    buffer: usize,
}

/// A graph output resolved once by name ([`Runtime::output_port`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OutputPort {
    graph: GraphId,
    index: usize,
    buffer: usize,
}

impl InputPort {
    /// The graph the port belongs to.
    pub fn graph(self) -> GraphId {
        self.graph
    }
}

impl OutputPort {
    /// The graph the port belongs to.
    pub fn graph(self) -> GraphId {
        self.graph
    }
}

/// Opens graphs for one runtime's device on any thread (see
/// [`Runtime::factory`]).
#[derive(Clone)]
pub struct GraphFactory {
    gpu: Arc<Gpu>,
}

/// A graph with every Vulkan object allocated and recorded, not yet
/// scheduled: give it to [`Runtime::add_prepared`] (dropping it releases
/// everything).
pub struct PreparedGraph {
    graph: GraphRt,
    spec: GraphSpec,
}

impl GraphFactory {
    /// Validates `plan` and allocates and records everything it needs.
    pub fn prepare(&self, plan: &Plan) -> Result<PreparedGraph> {
        let graph = GraphRt::open(self.gpu.clone(), plan)?;
        Ok(PreparedGraph {
            graph,
            spec: GraphSpec {
                name: plan.graph.clone(),
                priority: plan.priority,
                rate_hz: plan.rate_hz(),
                ptasks: plan
                    .ptasks
                    .iter()
                    .map(|p| (p.name.clone(), p.priority))
                    .collect(),
                group: GroupKey::default(),
            },
        })
    }
}

/// A submission the scheduler is waiting on.
struct InFlight {
    graph: GraphId,
    job: JobId,
    fired: Fired,
}

/// A Vulkan device executing any number of open graphs.
pub struct Runtime {
    // Declared before `gpu`: graphs are destroyed first.
    graphs: Vec<Option<GraphRt>>,
    /// Graphs whose ptasks must not fire (see [`Runtime::set_held`]), by id.
    held: Vec<bool>,
    arb: Arbiter,
    /// Submissions not yet seen complete, in submission order.
    inflight: Vec<InFlight>,
    /// `step`'s ready set and slices per job, kept between calls so that
    /// the per-frame path does not allocate.
    ready: Vec<ReadyItem>,
    steps: Vec<u32>,
    gpu: Arc<Gpu>,
    log: ValidationLog,
    /// Tests only: slice every sliceable dispatch into jobs of this many
    /// slices, whatever the scheduler says.
    #[cfg(test)]
    slice_step_override: Option<u32>,
}

impl Runtime {
    /// Loads Vulkan, picks the device and creates it.
    pub fn new(options: &RuntimeOptions) -> Result<Runtime> {
        let ctx = Arc::new(Context::new(options.validate)?);
        let log = ctx.log();
        let gpu = Gpu::new(
            ctx,
            options.device.as_deref(),
            options.force_staging,
            options.global_priority,
        )?;
        let arb = Arbiter::new(SchedConfig {
            queues: gpu.sched_queue_count(),
            ..options.sched.clone()
        })?;
        Ok(Runtime {
            graphs: Vec::new(),
            held: Vec::new(),
            arb,
            inflight: Vec::new(),
            ready: Vec::new(),
            steps: Vec::new(),
            gpu: Arc::new(gpu),
            log,
            #[cfg(test)]
            slice_step_override: None,
        })
    }

    /// Nanoseconds on the scheduler's clock (for pacing sources).
    pub fn clock_ns(&self) -> u64 {
        self.arb.now()
    }

    /// Number of scheduler queues (compute queues of the graphs' family).
    pub fn sched_queue_count(&self) -> usize {
        self.gpu.sched_queue_count()
    }

    /// The global priority the device queues were created with: `None`
    /// where none was requested or the device does not offer the extension
    /// (`ptc devices` shows which do); otherwise the requested level, or a
    /// lower one if the driver refused it (`VK_ERROR_NOT_PERMITTED_KHR`).
    pub fn global_priority(&self) -> Option<GlobalPriority> {
        self.gpu.global_priority
    }

    /// The chosen device.
    pub fn device(&self) -> &DeviceInfo {
        &self.gpu.info
    }

    /// Number of compute queues the runtime created.
    pub fn queue_count(&self) -> usize {
        self.gpu.queue_count()
    }

    /// True if graph inputs/outputs go through staging buffers.
    pub fn uses_staging(&self) -> bool {
        self.gpu.staging
    }

    /// The validation messages (empty unless validation is on); the log
    /// stays readable after the runtime is dropped.
    pub fn validation_log(&self) -> ValidationLog {
        self.log.clone()
    }

    /// Vulkan allocation / recording / submission counters.
    pub fn counters(&self) -> CounterSnapshot {
        self.gpu.snapshot()
    }

    /// Opens a graph: allocates every buffer, pipeline, descriptor set and
    /// command buffer it will ever use.
    pub fn open_graph(&mut self, plan: &Plan) -> Result<GraphId> {
        // In-process: one group, every graph shares by priority alone.
        self.open_graph_in(plan, 0)
    }

    /// [`Runtime::open_graph`] in scheduling group `group`: the device is
    /// shared fairly between groups first, then between a group's graphs
    /// by priority (the daemon puts each user in a group of their own).
    pub fn open_graph_in(&mut self, plan: &Plan, group: u64) -> Result<GraphId> {
        let p = self.factory().prepare(plan)?;
        self.add_prepared(p, group)
    }

    /// A handle that opens graphs for this runtime's device on any thread
    /// (allocation, pipeline compilation and recording take long on some
    /// drivers; the daemon does them off its scheduling thread).
    pub fn factory(&self) -> GraphFactory {
        GraphFactory {
            gpu: self.gpu.clone(),
        }
    }

    /// Schedules a graph [`GraphFactory::prepare`] opened, in group `group`.
    pub fn add_prepared(&mut self, p: PreparedGraph, group: u64) -> Result<GraphId> {
        if !Arc::ptr_eq(&self.gpu, &p.graph.gpu) {
            return Err(RuntimeError::InvalidPlan(
                "the graph was prepared for another runtime's device".into(),
            ));
        }
        let id = GraphId(self.graphs.len());
        self.arb.open(
            GraphKey(id.0 as u64),
            GraphSpec {
                group: GroupKey(group),
                ..p.spec
            },
        )?;
        // Ids are never reused: a stale id or port handle finds no graph.
        self.graphs.push(Some(p.graph));
        self.held.push(false);
        Ok(id)
    }

    fn graph(&self, id: GraphId) -> Result<&GraphRt> {
        self.graphs
            .get(id.0)
            .and_then(|g| g.as_ref())
            .ok_or(RuntimeError::NoSuchGraph(id.0))
    }

    fn graph_mut(&mut self, id: GraphId) -> Result<&mut GraphRt> {
        self.graphs
            .get_mut(id.0)
            .and_then(|g| g.as_mut())
            .ok_or(RuntimeError::NoSuchGraph(id.0))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Graphs first (they wait for their own work), then the device.
        self.graphs.clear();
    }
}

// The daemon prepares graphs on connection threads.
const _: () = {
    const fn send<T: Send>() {}
    send::<PreparedGraph>();
    send::<GraphFactory>();
};
