//! The [`Runtime`]: a device, the open graphs, and one executor loop over
//! the ready work of all of them.

use crate::error::{Result, RuntimeError};
use crate::graph::{GraphRt, PortInfo};
use crate::stats::{Latency, PtaskSummary};
use crate::vk::{Context, CounterSnapshot, DeviceInfo, Gpu, ValidationLog};
use ptc_compiler::Plan;
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
        }
    }
}

/// Identifies an open graph of a [`Runtime`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct GraphId(pub(crate) usize);

/// A unit of ready work offered to the [`SchedulePolicy`].
#[derive(Copy, Clone, Debug)]
pub struct ReadyWork {
    /// The graph.
    pub graph: GraphId,
    /// `Some(i)`: ptask `i` fires alone; `None`: a whole frame of the graph
    /// (every ptask once, one command buffer).
    pub ptask: Option<usize>,
    /// Effective priority (the ptask's, else the graph's).
    pub priority: u32,
    /// When the work was first seen ready.
    pub ready_since: Instant,
}

/// Chooses which ready work to submit next. The runtime calls
/// [`SchedulePolicy::pick`] with every ready item of every open graph.
pub trait SchedulePolicy: Send {
    /// Returns the index in `ready` (non-empty) to submit next.
    fn pick(&mut self, ready: &[ReadyWork]) -> usize;
}

/// First come, first served: the work that has been ready longest.
#[derive(Clone, Debug, Default)]
pub struct Fifo;

impl SchedulePolicy for Fifo {
    fn pick(&mut self, ready: &[ReadyWork]) -> usize {
        ready
            .iter()
            .enumerate()
            .min_by_key(|(_, w)| w.ready_since)
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
}

/// A Vulkan device executing any number of open graphs.
pub struct Runtime {
    // Declared before `gpu`: graphs are destroyed first.
    graphs: Vec<Option<GraphRt>>,
    policy: Box<dyn SchedulePolicy>,
    gpu: Arc<Gpu>,
    log: ValidationLog,
}

impl Runtime {
    /// Loads Vulkan, picks the device and creates it.
    pub fn new(options: &RuntimeOptions) -> Result<Runtime> {
        let ctx = Arc::new(Context::new(options.validate)?);
        let log = ctx.log();
        let gpu = Gpu::new(ctx, options.device.as_deref(), options.force_staging)?;
        Ok(Runtime {
            graphs: Vec::new(),
            policy: Box::new(Fifo),
            gpu: Arc::new(gpu),
            log,
        })
    }

    /// Replaces the scheduling policy (default [`Fifo`]).
    pub fn set_policy(&mut self, policy: Box<dyn SchedulePolicy>) {
        self.policy = policy;
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
        let g = GraphRt::open(self.gpu.clone(), plan)?;
        // Reuse a terminated graph's id slot only at the end: ids stay unique.
        self.graphs.push(Some(g));
        Ok(GraphId(self.graphs.len() - 1))
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

    /// Writes one frame to input `port`. Runs ready work first if the
    /// input's slots are full; fails with [`RuntimeError::InputFull`] if
    /// they stay full.
    pub fn push(&mut self, id: GraphId, port: &str, bytes: &[u8]) -> Result<()> {
        let (i, b) = self.graph(id)?.input(port)?;
        {
            let g = self.graph(id)?;
            let info = &g.inputs[i].0;
            if bytes.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: port.to_string(),
                    expected: info.bytes,
                    got: bytes.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        if !self.graph(id)?.input_has_room(b) {
            self.step()?;
        }
        let g = self.graph_mut(id)?;
        if !g.input_has_room(b) {
            return Err(RuntimeError::InputFull {
                port: port.to_string(),
                slots: g.inputs[i].0.slots,
            });
        }
        g.write_input(b, bytes)
    }

    /// True if input `port` can take a frame without running anything.
    pub fn can_push(&self, id: GraphId, port: &str) -> Result<bool> {
        let g = self.graph(id)?;
        let (_, b) = g.input(port)?;
        Ok(g.input_has_room(b))
    }

    /// True if output `port` has a frame produced (submitted) and not yet pulled.
    pub fn has_output(&self, id: GraphId, port: &str) -> Result<bool> {
        let g = self.graph(id)?;
        let (_, b) = g.output(port)?;
        Ok(g.output_available(b))
    }

    /// Reads the next frame of output `port`, running ready work and waiting
    /// for the GPU as needed.
    pub fn pull(&mut self, id: GraphId, port: &str) -> Result<Vec<u8>> {
        let (i, _) = self.graph(id)?.output(port)?;
        let mut v = vec![0u8; self.graph(id)?.outputs[i].0.bytes as usize];
        self.pull_into(id, port, &mut v)?;
        Ok(v)
    }

    /// Like [`Runtime::pull`], into a caller buffer of exactly the port's size.
    pub fn pull_into(&mut self, id: GraphId, port: &str, dst: &mut [u8]) -> Result<()> {
        let (i, b) = self.graph(id)?.output(port)?;
        {
            let info = &self.graph(id)?.outputs[i].0;
            if dst.len() as u64 != info.bytes {
                return Err(RuntimeError::WrongSize {
                    port: port.to_string(),
                    expected: info.bytes,
                    got: dst.len() as u64,
                    ty: info.ty.to_string(),
                });
            }
        }
        self.ensure_output(id, port, b)?;
        let g = self.graph_mut(id)?;
        g.read_output(b, dst)?;
        g.poll()
    }

    /// Drops the next frame of output `port` (for `to null` sinks).
    pub fn discard(&mut self, id: GraphId, port: &str) -> Result<()> {
        let (_, b) = self.graph(id)?.output(port)?;
        self.ensure_output(id, port, b)?;
        let g = self.graph_mut(id)?;
        g.discard_output(b)?;
        g.poll()
    }

    fn ensure_output(&mut self, id: GraphId, port: &str, b: usize) -> Result<()> {
        if !self.graph(id)?.output_available(b) {
            self.step()?;
        }
        let g = self.graph(id)?;
        if !g.output_available(b) {
            let missing = g.starved_inputs(b);
            return Err(RuntimeError::MissingInput {
                port: port.to_string(),
                missing: if missing.is_empty() {
                    "(none: a ptask is blocked by an output nobody pulls)".to_string()
                } else {
                    missing.join(", ")
                },
            });
        }
        Ok(())
    }

    /// Submits ready work of every open graph until none is ready; returns
    /// the number of submissions. Does not wait for the GPU.
    pub fn step(&mut self) -> Result<usize> {
        let mut n = 0;
        let mut ready = Vec::new();
        loop {
            ready.clear();
            let now = Instant::now();
            for (gi, slot) in self.graphs.iter_mut().enumerate() {
                let Some(g) = slot else { continue };
                if g.frame_ready() {
                    let mut since = now;
                    for p in &mut g.ptasks {
                        let s = *p.ready_since.get_or_insert(now);
                        since = since.min(s);
                    }
                    ready.push(ReadyWork {
                        graph: GraphId(gi),
                        ptask: None,
                        priority: g.priority,
                        ready_since: since,
                    });
                    continue;
                }
                for t in 0..g.ptasks.len() {
                    if g.ptask_ready(t) {
                        let p = &mut g.ptasks[t];
                        let since = *p.ready_since.get_or_insert(now);
                        ready.push(ReadyWork {
                            graph: GraphId(gi),
                            ptask: Some(t),
                            priority: p.priority.unwrap_or(g.priority),
                            ready_since: since,
                        });
                    }
                }
            }
            if ready.is_empty() {
                break;
            }
            let k = self.policy.pick(&ready).min(ready.len() - 1);
            let w = ready[k];
            let g = self.graph_mut(w.graph)?;
            match w.ptask {
                Some(t) => g.fire_ptask(t)?,
                None => g.fire_frame()?,
            }
            n += 1;
        }
        for g in self.graphs.iter_mut().flatten() {
            g.poll()?;
        }
        Ok(n)
    }

    /// Submits all ready work and waits until the GPU finished everything
    /// submitted (of all graphs).
    pub fn run_until_idle(&mut self) -> Result<usize> {
        let n = self.step()?;
        for g in self.graphs.iter_mut().flatten() {
            g.wait_all()?;
            g.poll()?;
        }
        Ok(n)
    }

    /// True if any graph has submitted work not yet observed complete.
    pub fn busy(&self) -> bool {
        self.graphs.iter().flatten().any(|g| g.busy())
    }

    /// Waits for the graph's work and releases all its resources.
    pub fn terminate(&mut self, id: GraphId) -> Result<()> {
        let slot = self
            .graphs
            .get_mut(id.0)
            .ok_or(RuntimeError::NoSuchGraph(id.0))?;
        let g = slot.take().ok_or(RuntimeError::NoSuchGraph(id.0))?;
        let r = g.wait_all();
        drop(g);
        r
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
                    ready_to_submit: Latency::of(&p.stats.ready_to_submit),
                    submit_to_done: Latency::of(&p.stats.submit_to_done),
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
