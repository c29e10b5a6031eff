//! The [`Runtime`]: a device, the open graphs, and one executor loop over
//! the ready work of all of them.

use crate::error::{Result, RuntimeError};
use crate::graph::{Fired, GraphRt, PortInfo};
use crate::sched::arbiter::{Arbiter, ReadyItem};
use crate::sched::stats::StatsReport;
use crate::sched::{GraphKey, GraphSpec, GroupKey, JobId, SchedConfig};
use crate::stats::{Latency, PtaskSummary};
use crate::vk::{Context, CounterSnapshot, DeviceInfo, GlobalPriority, Gpu, ValidationLog};
use ptc_plan::Plan;
use std::sync::Arc;
use std::time::Instant;

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

    /// The graph's input ports.
    pub fn inputs(&self, id: GraphId) -> Result<Vec<PortInfo>> {
        Ok(self
            .graph(id)?
            .inputs
            .iter()
            .map(|(p, _)| p.clone())
            .collect())
    }

    /// The graph's output ports.
    pub fn outputs(&self, id: GraphId) -> Result<Vec<PortInfo>> {
        Ok(self
            .graph(id)?
            .outputs
            .iter()
            .map(|(p, _)| p.clone())
            .collect())
    }

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

    /// Resolves input `port` of graph `id` once (typed error naming the
    /// graph's inputs if there is none).
    pub fn input_port(&self, id: GraphId, port: &str) -> Result<InputPort> {
        let (index, buffer) = self.graph(id)?.input(port)?;
        Ok(InputPort {
            graph: id,
            index,
            buffer,
        })
    }

    /// Resolves output `port` of graph `id` once.
    pub fn output_port(&self, id: GraphId, port: &str) -> Result<OutputPort> {
        let (index, buffer) = self.graph(id)?.output(port)?;
        Ok(OutputPort {
            graph: id,
            index,
            buffer,
        })
    }

    /// Name, type and size of an input port.
    pub fn input_info(&self, port: InputPort) -> Result<&PortInfo> {
        Ok(&self.graph(port.graph)?.inputs[port.index].0)
    }

    /// Name, type and size of an output port.
    pub fn output_info(&self, port: OutputPort) -> Result<&PortInfo> {
        Ok(&self.graph(port.graph)?.outputs[port.index].0)
    }

    /// Writes one frame to input `port`. Runs ready work first if the
    /// input's slots are full; fails with [`RuntimeError::InputFull`] if
    /// they stay full.
    pub fn push(&mut self, id: GraphId, port: &str, bytes: &[u8]) -> Result<()> {
        let p = self.input_port(id, port)?;
        self.push_port(p, bytes)
    }

    /// [`Runtime::push`] through a resolved port.
    pub fn push_port(&mut self, port: InputPort, bytes: &[u8]) -> Result<()> {
        let id = port.graph;
        let b = port.buffer;
        {
            let info = self.input_info(port)?;
            if bytes.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: info.name.clone(),
                    expected: info.bytes,
                    got: bytes.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        self.progress_until(|rt| Ok(rt.graph(id)?.input_has_room(b)))?;
        let g = self.graph_mut(id)?;
        if !g.input_has_room(b) {
            return Err(RuntimeError::InputFull {
                port: g.inputs[port.index].0.name.clone(),
                slots: g.inputs[port.index].0.slots,
            });
        }
        g.write_input(b, bytes)
    }

    /// True if input `port` can take a frame without running anything.
    pub fn can_push(&self, id: GraphId, port: &str) -> Result<bool> {
        self.can_push_port(self.input_port(id, port)?)
    }

    /// [`Runtime::can_push`] through a resolved port.
    pub fn can_push_port(&self, port: InputPort) -> Result<bool> {
        Ok(self.graph(port.graph)?.input_has_room(port.buffer))
    }

    /// True if input `port` can take a frame now without the host waiting
    /// for the GPU (see [`Runtime::can_push`]; this also needs the GPU work
    /// that used the slot's previous frame to be complete).
    pub fn can_push_now(&self, id: GraphId, port: &str) -> Result<bool> {
        self.can_push_port_now(self.input_port(id, port)?)
    }

    /// [`Runtime::can_push_now`] through a resolved port.
    pub fn can_push_port_now(&self, port: InputPort) -> Result<bool> {
        self.graph(port.graph)?.input_writable(port.buffer)
    }

    /// Frames written to input `port` that a ptask has not consumed yet.
    pub fn unconsumed(&self, port: InputPort) -> Result<u64> {
        Ok(self.graph(port.graph)?.unconsumed(port.buffer))
    }

    /// True if output `port` has a frame produced (submitted) and not yet pulled.
    pub fn has_output(&self, id: GraphId, port: &str) -> Result<bool> {
        let p = self.output_port(id, port)?;
        Ok(self.graph(id)?.output_available(p.buffer))
    }

    /// True if output `port` has a finished frame: pulling it will not wait
    /// for the GPU.
    pub fn output_ready(&self, id: GraphId, port: &str) -> Result<bool> {
        self.output_port_ready(self.output_port(id, port)?)
    }

    /// [`Runtime::output_ready`] through a resolved port.
    pub fn output_port_ready(&self, port: OutputPort) -> Result<bool> {
        self.graph(port.graph)?.output_complete(port.buffer)
    }

    /// Reads the next frame of output `port`, running ready work and waiting
    /// for the GPU as needed.
    pub fn pull(&mut self, id: GraphId, port: &str) -> Result<Vec<u8>> {
        let p = self.output_port(id, port)?;
        let mut v = vec![0u8; self.output_info(p)?.bytes as usize];
        self.pull_port(p, &mut v)?;
        Ok(v)
    }

    /// Like [`Runtime::pull`], into a caller buffer of exactly the port's size.
    pub fn pull_into(&mut self, id: GraphId, port: &str, dst: &mut [u8]) -> Result<()> {
        let p = self.output_port(id, port)?;
        self.pull_port(p, dst)
    }

    /// [`Runtime::pull_into`] through a resolved port.
    pub fn pull_port(&mut self, port: OutputPort, dst: &mut [u8]) -> Result<()> {
        {
            let info = self.output_info(port)?;
            if dst.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: info.name.clone(),
                    expected: info.bytes,
                    got: dst.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        g.read_output(port.buffer, dst)?;
        g.poll();
        self.reap_known()?;
        Ok(())
    }

    /// Hands the next frame of output `port` to `f` where it lies (mapped
    /// memory, no copy), running ready work and waiting for the GPU as
    /// needed: what a sink writing the frame somewhere uses instead of
    /// [`Runtime::pull_port`]. `f` must not keep the slice.
    pub fn pull_port_with<R>(&mut self, port: OutputPort, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        self.output_info(port)?;
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        let r = g.read_output_with(port.buffer, f)?;
        g.poll();
        self.reap_known()?;
        Ok(r)
    }

    /// Drops the next frame of output `port` (for `to null` sinks).
    pub fn discard(&mut self, id: GraphId, port: &str) -> Result<()> {
        let p = self.output_port(id, port)?;
        self.discard_port(p)
    }

    /// [`Runtime::discard`] through a resolved port.
    pub fn discard_port(&mut self, port: OutputPort) -> Result<()> {
        self.ensure_output(port)?;
        let g = self.graph_mut(port.graph)?;
        g.discard_output(port.buffer)?;
        g.poll();
        self.reap_known()?;
        Ok(())
    }

    fn ensure_output(&mut self, port: OutputPort) -> Result<()> {
        let (id, b) = (port.graph, port.buffer);
        self.progress_until(|rt| Ok(rt.graph(id)?.output_available(b)))?;
        let g = self.graph(id)?;
        if !g.output_available(b) {
            let missing = g.starved_inputs(b);
            return Err(RuntimeError::MissingInput {
                port: g.outputs[port.index].0.name.clone(),
                missing: if missing.is_empty() {
                    "(none: a ptask is blocked by an output nobody pulls)".to_string()
                } else {
                    missing.join(", ")
                },
            });
        }
        Ok(())
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

    /// True if some ptask of graph `id` could fire now (false while held).
    pub fn graph_has_ready_work(&self, id: GraphId) -> Result<bool> {
        let g = self.graph(id)?;
        Ok(!self.is_held(id) && g.has_ready_work())
    }

    fn is_held(&self, id: GraphId) -> bool {
        self.held.get(id.0).copied().unwrap_or(false)
    }

    /// Runs [`Runtime::step`] and waits for completions until `cond` holds
    /// or no progress is possible (nothing ready that may be submitted and
    /// nothing in flight).
    fn progress_until(&mut self, cond: impl Fn(&Runtime) -> Result<bool>) -> Result<()> {
        loop {
            if cond(self)? {
                return Ok(());
            }
            let n = self.step()?;
            if cond(self)? || (n == 0 && self.inflight.is_empty()) {
                return Ok(());
            }
            if n == 0 {
                // The scheduler holds ready work back until something completes.
                self.wait_any(u64::MAX)?;
            }
        }
    }

    /// Observes completed submissions, in submission order: charges their
    /// GPU time (timestamp queries; the scheduler's estimate for jobs left
    /// untimed on purpose; the host-observed time where neither exists) to
    /// the scheduler. One counter query per queue with work in flight.
    fn reap(&mut self) -> Result<usize> {
        if self.inflight.is_empty() {
            return Ok(0);
        }
        let mut seen: crate::vk::Small<usize> = crate::vk::Small::new();
        for f in &self.inflight {
            let q = f.fired.point.queue;
            if !seen.contains(&q) {
                seen.push(q);
                self.gpu.refresh(q)?;
            }
        }
        self.reap_known()
    }

    /// [`Runtime::reap`] without querying the device: the submissions the
    /// runtime already knows are complete (e.g. because the host waited for
    /// them to read an output), so that the scheduler's statistics never
    /// lag behind what the host has seen.
    fn reap_known(&mut self) -> Result<usize> {
        let mut done = 0;
        let mut i = 0;
        while i < self.inflight.len() {
            let p = self.inflight[i].fired.point;
            if p.value > self.gpu.done(p.queue) {
                i += 1;
                continue;
            }
            let f = self.inflight.remove(i);
            self.charge(&f)?;
            done += 1;
        }
        Ok(done)
    }

    /// Reports completed submission `f` to the scheduler.
    fn charge(&mut self, f: &InFlight) -> Result<()> {
        let gpu_ns = match self.graphs.get_mut(f.graph.0).and_then(|g| g.as_mut()) {
            Some(g) => g.gpu_time(f.fired.ts)?,
            None => None,
        };
        if gpu_ns.is_none() && !f.fired.sampled {
            self.arb.completed_estimated(f.job, f.fired.at)?;
        } else {
            self.arb.completed(f.job, f.fired.at, gpu_ns, None)?;
        }
        Ok(())
    }

    /// Blocks until some submitted work completes or `timeout_ns` passes;
    /// returns the number of completions observed (0: nothing in flight or
    /// timed out).
    ///
    /// It waits, blocking in the driver, on one value per queue: the
    /// oldest submission in flight there (work on one queue completes in
    /// submission order, see `crate::vk`), so with one queue (lavapipe) a
    /// single timeline value: a wait for any of several values is a busy
    /// loop in Mesa's drivers.
    pub fn wait_any(&mut self, timeout_ns: u64) -> Result<usize> {
        let n = self.reap()?;
        if n > 0 || self.inflight.is_empty() {
            return Ok(n);
        }
        let mut oldest: crate::vk::Small<crate::vk::QueuePoint> = crate::vk::Small::new();
        for f in &self.inflight {
            let p = f.fired.point;
            match oldest.iter_mut().find(|o| o.queue == p.queue) {
                Some(o) => o.value = o.value.min(p.value),
                None => oldest.push(p),
            }
        }
        self.gpu.wait_any(&oldest, timeout_ns)?;
        self.reap()
    }

    /// Tests only: a fixed number of slices per job (see `slice_step_override`).
    #[cfg(test)]
    fn forced_slice_step(&self) -> Option<u32> {
        self.slice_step_override
    }

    #[cfg(not(test))]
    fn forced_slice_step(&self) -> Option<u32> {
        None
    }

    /// Submits the ready work of every open graph that the scheduler lets
    /// through now (see [`crate::sched`]; it may hold work back until
    /// earlier submissions complete); returns the number of submissions.
    /// Does not wait for the GPU.
    pub fn step(&mut self) -> Result<usize> {
        let mut n = 0;
        let mut ready = std::mem::take(&mut self.ready);
        // Per ready item: slices per job (ptask items of sliceable dispatches).
        let mut steps = std::mem::take(&mut self.steps);
        let r = self.submit_ready(&mut ready, &mut steps, &mut n);
        self.ready = ready;
        self.steps = steps;
        r?;
        for g in self.graphs.iter_mut().flatten() {
            g.poll();
        }
        Ok(n)
    }

    /// `step`'s loop: offers the ready set to the scheduler and submits
    /// what it picks until it picks nothing; counts submissions in `n`.
    fn submit_ready(
        &mut self,
        ready: &mut Vec<ReadyItem>,
        steps: &mut Vec<u32>,
        n: &mut usize,
    ) -> Result<()> {
        // A graph alone times only a sample of its jobs (see graph::timing).
        let shared = self.graphs.iter().flatten().nth(1).is_some();
        self.reap()?;
        loop {
            ready.clear();
            steps.clear();
            let now = Instant::now();
            let clock = self.arb.at(now);
            let sched = self.arb.scheduler();
            let forced = self.forced_slice_step();
            for (gi, slot) in self.graphs.iter_mut().enumerate() {
                let Some(g) = slot else { continue };
                if self.held.get(gi).copied().unwrap_or(false) {
                    continue;
                }
                let key = GraphKey(gi as u64);
                // A background graph whose frames take longer than the
                // scheduler's max batch runs ptask by ptask, so that its
                // sliceable dispatches can be split (see `slices_per_job`).
                let split = (0..g.ptasks.len()).any(|t| g.slices(t) > 1)
                    && (forced.is_some() || sched.should_split(key, None, clock));
                if !split && g.frame_ready() {
                    let mut since = now;
                    for p in &mut g.ptasks {
                        let s = *p.ready_since.get_or_insert(now);
                        since = since.min(s);
                    }
                    ready.push(ReadyItem {
                        graph: key,
                        ptask: None,
                        since,
                        ends_frame: true,
                        fraction: 1.0,
                    });
                    steps.push(1);
                    continue;
                }
                for t in 0..g.ptasks.len() {
                    if g.ptask_ready(t) {
                        let step = forced.unwrap_or_else(|| {
                            sched.slices_per_job(key, Some(t), g.slices(t), clock)
                        });
                        let (first, count, total) = g.next_slices(t, step);
                        let ends_frame = g.ptask_ends_frame(t) && first + count >= total;
                        let p = &mut g.ptasks[t];
                        let since = *p.ready_since.get_or_insert(now);
                        ready.push(ReadyItem {
                            graph: key,
                            ptask: Some(t),
                            since,
                            ends_frame,
                            fraction: f64::from(count) / f64::from(total),
                        });
                        steps.push(step);
                    }
                }
            }
            if ready.is_empty() {
                return Ok(());
            }
            let Some((i, pick)) = self.arb.pick(ready)? else {
                return Ok(());
            };
            let step = steps.get(i).copied().unwrap_or(u32::MAX);
            let gid = GraphId(pick.graph.0 as usize);
            let g = self.graph_mut(gid)?;
            let timed = g.timing_wanted(pick.ptask, shared);
            let fired = match pick.ptask {
                Some(t) => g.fire_ptask_slices(t, pick.queue, step, timed),
                None => g.fire_frame(pick.queue, timed),
            };
            match fired {
                Ok(fired) => self.inflight.push(InFlight {
                    graph: gid,
                    job: pick.job,
                    fired,
                }),
                Err(e) => {
                    self.arb.submit_failed(pick.job)?;
                    return Err(e);
                }
            }
            *n += 1;
        }
    }

    /// Submits all ready work (as the scheduler allows) and waits until the
    /// GPU finished everything submitted (of all graphs).
    pub fn run_until_idle(&mut self) -> Result<usize> {
        let mut n = 0;
        loop {
            n += self.step()?;
            if self.inflight.is_empty() {
                break;
            }
            self.wait_any(u64::MAX)?;
        }
        for g in self.graphs.iter_mut().flatten() {
            g.wait_all()?;
        }
        self.reap()?;
        for g in self.graphs.iter_mut().flatten() {
            g.poll();
        }
        Ok(n)
    }

    /// True if any graph has submitted work not yet observed complete.
    pub fn busy(&self) -> bool {
        !self.inflight.is_empty() || self.graphs.iter().flatten().any(|g| g.busy())
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

    /// The latest completed contents of buffer `name` of graph `id` (any
    /// buffer of the plan, e.g. the internal `xform.cloud`; names as in
    /// `Plan::buffers`). A debugging/preview path: it waits until every
    /// submitted firing of the graph is done, then copies the buffer's
    /// newest version through a staging buffer allocated on the first call.
    /// `Ok(None)` if nothing has written the buffer yet.
    pub fn read_buffer(&mut self, id: GraphId, name: &str) -> Result<Option<Vec<u8>>> {
        let g = self.graph_mut(id)?;
        let names = g.buffer_names();
        let Some(b) = names.iter().position(|n| n == name) else {
            return Err(RuntimeError::UnknownBuffer {
                graph: g.name.clone(),
                name: name.to_string(),
                known: names.join(", "),
            });
        };
        g.read_buffer(b)
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

#[cfg(test)]
mod tests {
    use super::{Runtime, RuntimeOptions};
    use crate::error::RuntimeError;

    /// Several slices in one submission (the pipelined case the scheduler
    /// may choose): saxpy2's two 4096-workgroup dispatches run as jobs of
    /// 3 + 3 + 2 slices each; the results match the CPU, and validation
    /// (with synchronization checks) stays clean.
    #[test]
    fn several_slices_per_submission_compute_the_same_result() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("repo root")
            .to_path_buf();
        let report = ptc_compiler::check_file(
            &root.join("graphs/saxpy2.pt"),
            &ptc_compiler::Options::default(),
        );
        let plan = report.plan.expect("saxpy2 compiles");
        let opts = RuntimeOptions {
            validate: true,
            ..Default::default()
        };
        let mut rt = match Runtime::new(&opts) {
            Ok(rt) => rt,
            Err(e @ (RuntimeError::NoVulkan(_) | RuntimeError::NoDevice(_))) => {
                if std::env::var("PTC_REQUIRE_VULKAN").is_ok_and(|v| v == "1") {
                    panic!("PTC_REQUIRE_VULKAN=1 but there is no Vulkan device: {e}");
                }
                println!("SKIP: no Vulkan device ({e})");
                return;
            }
            Err(e) => panic!("runtime: {e}"),
        };
        rt.slice_step_override = Some(3);
        let log = rt.validation_log();
        let g = rt.open_graph(&plan).expect("open");
        let n = 1 << 20;
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
        let frames = 3u64;
        for _ in 0..frames {
            let x: Vec<f32> = (0..n).map(|_| rand()).collect();
            let y: Vec<f32> = (0..n).map(|_| rand()).collect();
            rt.push(g, "x", &bytes(&x)).expect("push x");
            rt.push(g, "y", &bytes(&y)).expect("push y");
            while !rt.output_ready(g, "z").expect("output") {
                if rt.step().expect("step") == 0 {
                    rt.wait_any(100_000_000).expect("wait");
                }
            }
            let z = rt.pull(g, "z").expect("pull");
            for (i, c) in z.chunks_exact(4).enumerate() {
                let got = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                let want = 2.0 * x[i] + y[i];
                assert!((got - want).abs() <= 1e-6, "z[{i}] = {got}, want {want}");
            }
        }
        let report = rt.sched_report();
        let jobs: u64 = report
            .graph("saxpy2")
            .expect("in stats")
            .ptasks
            .iter()
            .map(|p| p.firings)
            .sum();
        assert_eq!(
            jobs,
            2 * 3 * frames,
            "each dispatch ran as 3 jobs of 3, 3, 2 slices"
        );
        rt.terminate(g).expect("terminate");
        drop(rt);
        assert!(log.messages().is_empty(), "{:?}", log.messages());
    }
}
