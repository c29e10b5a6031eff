//! The `Plan`: the contract between compiler and runtime.
//!
//! A plan is everything the runtime needs to execute one graph without the
//! sources: buffers (sizes, memory kind, aliasing, ping-pong depth), pipelines
//! with embedded SPIR-V, the static dispatch order with barriers, graph
//! inputs/outputs with their sources and sinks, and the priority. It is
//! written as YAML by `ptc compile` and loaded by `ptc run plan.yaml`.
//!
//! A plan read from disk is untrusted: call [`Plan::validate`] (done by
//! [`Plan::from_yaml`]) before using it.
//!
//! This crate is the layer both sides share and nothing else: the compiler
//! (`ptc-compiler`) produces plans, the runtime (`ptc-runtime`) executes
//! them, and neither needs the other. Besides the plan types it holds the
//! std430 value types ([`types`]) and the one SPIR-V inspection module
//! ([`spirv`]) used by the compiler's kernel checker and by plan validation.

#![warn(missing_docs)]

pub mod limits;
mod spec;
pub mod spirv;
pub mod types;

mod consistency;
mod modules;
mod yaml;

pub use modules::{ModuleInfo, PlanInfo};
pub use yaml::read_plan_file;

use crate::types::{ElemType, PortType, Scalar, StructLayout, StructTable, Value};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Largest buffer a port (and so a plan buffer) may need: lavapipe's
/// `maxStorageBufferRange` (128 MiB), the smallest limit among the devices
/// ptc targets. The checker, lowering and plan validation all hold to it.
pub const MAX_BUFFER_BYTES: u64 = limits::DeviceLimits::BASELINE.max_storage_buffer_range;
/// Largest push-constant block a plan may carry (bytes).
pub const MAX_PUSH_CONSTANT_BYTES: u32 = 256;
/// Largest workgroup (invocations) ptc accepts
/// ([`limits::DeviceLimits::BASELINE`]'s `maxComputeWorkGroupInvocations`).
pub const MAX_INVOCATIONS: u64 =
    limits::DeviceLimits::BASELINE.max_compute_work_group_invocations as u64;
/// Largest `local_size_{x,y,z}` ([`limits::DeviceLimits::BASELINE`]'s
/// `maxComputeWorkGroupSize`).
pub const MAX_LOCAL_SIZE: [u32; 3] = limits::DeviceLimits::BASELINE.max_compute_work_group_size;

/// Largest plan text [`Plan::from_yaml`] accepts (64 MiB; a 10 000-ptask
/// plan is about 6 MB).
pub const MAX_PLAN_BYTES: usize = 64 << 20;
/// Deepest nesting of YAML flow collections (`[...]`, `{...}`) a plan may
/// have: ptc writes at most one level (`[]`); deeper text is refused before
/// it is parsed (see `Plan::from_yaml`). Block nesting (indentation) costs
/// nothing per level and is left to serde_yaml_ng's limit of 128.
pub const MAX_YAML_DEPTH: usize = 32;

/// The plan format version this build writes.
/// Version 2: SPIR-V lives once per kernel in [`Plan::modules`] (version 1
/// embedded a copy in every ptask). Version 3 adds, without changing
/// anything of version 2: the [`BufferRole::Constant`] role,
/// `requirements.shared_memory_bytes` / `uniform_buffer_bytes`, and a
/// ptask's `specialization` and `uniform_params`.
pub const PLAN_VERSION: u32 = 3;
/// The oldest plan format version this build reads: a version-2 plan is a
/// version-3 plan that uses none of the additions.
pub const MIN_PLAN_VERSION: u32 = 2;

/// A compiled graph, ready to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// [`MIN_PLAN_VERSION`]..=[`PLAN_VERSION`].
    pub version: u32,
    /// Graph name.
    pub graph: String,
    /// Graph priority, 1..=100.
    pub priority: u32,
    /// The `.pt` file the plan was compiled from (informational).
    #[serde(default)]
    pub source: Option<PathBuf>,
    /// Device features the plan needs.
    pub requirements: Requirements,
    /// Struct layouts used by buffers (std430).
    #[serde(default)]
    pub structs: Vec<StructLayout>,
    /// Every GPU buffer, allocated once when the graph is opened.
    pub buffers: Vec<Buffer>,
    /// Graph inputs (written by the host or a source).
    pub inputs: Vec<GraphInput>,
    /// Graph outputs (read by the host or a sink).
    pub outputs: Vec<GraphOutput>,
    /// The compiled kernels, each once, however many ptasks use it.
    pub modules: Vec<Module>,
    /// One compute pipeline per ptask.
    pub ptasks: Vec<PtaskPlan>,
    /// Static dispatch order (a topological order of the ptasks, back edges
    /// of seeded cycles removed) with the barriers each dispatch needs.
    pub schedule: Vec<Dispatch>,
}

/// Device features a plan needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// `storageBuffer8BitAccess` (a port of `u8` elements).
    #[serde(default)]
    pub storage_8bit: bool,
    /// `storageBuffer16BitAccess` (a port of `u16` elements).
    #[serde(default)]
    pub storage_16bit: bool,
    /// Largest single buffer in bytes (checked against `maxStorageBufferRange`).
    pub max_buffer_bytes: u64,
    /// Largest push-constant block in bytes.
    #[serde(default)]
    pub push_constant_bytes: u32,
    /// Largest workgroup count of any dispatch, per dimension (checked
    /// against `maxComputeWorkGroupCount`).
    #[serde(default = "one3")]
    pub max_workgroups: [u32; 3],
    /// `shaderInt8` (a kernel declares the `Int8` capability).
    #[serde(default)]
    pub shader_int8: bool,
    /// `shaderInt16` (a kernel declares the `Int16` capability).
    #[serde(default)]
    pub shader_int16: bool,
    /// `shaderInt64`.
    #[serde(default)]
    pub shader_int64: bool,
    /// `shaderFloat16`.
    #[serde(default)]
    pub shader_float16: bool,
    /// `shaderFloat64`.
    #[serde(default)]
    pub shader_float64: bool,
    /// Subgroup operations the kernels use in compute shaders
    /// (`VkSubgroupFeatureFlags` bits: 1 basic, 2 vote, 4 arithmetic, 8
    /// ballot, 16 shuffle, 32 shuffle relative, 64 clustered, 128 quad;
    /// checked against `VkPhysicalDeviceSubgroupProperties`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub subgroup_operations: u32,
    /// Largest `shared` (workgroup) memory of any kernel, in bytes, as
    /// specialized (checked against `maxComputeSharedMemorySize`; plan
    /// version 3).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shared_memory_bytes: u32,
    /// Largest uniform-buffer parameter block, in bytes (checked against
    /// `maxUniformBufferRange`; plan version 3).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub uniform_buffer_bytes: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn one3() -> [u32; 3] {
    [1, 1, 1]
}

impl Default for Requirements {
    fn default() -> Self {
        Requirements {
            storage_8bit: false,
            storage_16bit: false,
            max_buffer_bytes: 0,
            push_constant_bytes: 0,
            max_workgroups: one3(),
            shader_int8: false,
            shader_int16: false,
            shader_int64: false,
            shader_float16: false,
            shader_float64: false,
            subgroup_operations: 0,
            shared_memory_bytes: 0,
            uniform_buffer_bytes: 0,
        }
    }
}

/// What a buffer is for; decides its memory kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferRole {
    /// Fed by the host/source: host-visible (device-local where offered,
    /// else staged), `slots` deep so upload of frame n+1 overlaps compute of n.
    Input,
    /// Between ptasks only: device-local, never touched by the host.
    Internal,
    /// Read back by the host/sink (possibly also read by ptasks): host-visible.
    Output,
    /// The back edge of a seeded cycle: `slots` = 2, the consumer reads one
    /// slot while the producer writes the other; starts at `init`.
    State,
    /// A seeded `sticky` input no channel feeds: 1 slot, filled with `init`
    /// when the graph is opened, never written (plan version 3).
    Constant,
}

/// One GPU buffer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// A readable name: the producing endpoint, e.g. `xform.cloud` or `usbsrc`.
    pub name: String,
    /// Element type and shape.
    pub ty: PortType,
    /// Bytes per slot (= element count × std430 stride).
    pub size: u64,
    /// What the buffer is for (decides its memory).
    pub role: BufferRole,
    /// Number of slots (ping-pong depth); 1 for internal buffers.
    pub slots: u32,
    /// Every endpoint that aliases this buffer (`ptask.port` or graph port
    /// name): the producer's output *is* each consumer's input.
    pub aliases: Vec<String>,
    /// Initial value broadcast to every scalar component (seeded cycles,
    /// ports with `= v`).
    #[serde(default)]
    pub init: Option<Value>,
}

/// How a binding uses its buffer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// `in`: consumed once per firing.
    In,
    /// `sticky`: keeps its last value; does not block firing once filled.
    Sticky,
    /// `out`: written by each firing.
    Out,
}

/// A storage-buffer binding of a pipeline (set 0, binding = index in `bindings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    /// Port name.
    pub port: String,
    /// How the kernel uses the buffer.
    pub access: Access,
    /// Index into [`Plan::buffers`].
    pub buffer: usize,
}

/// One member of a ptask's push-constant block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConstant {
    /// Param name.
    pub name: String,
    /// Its scalar type.
    pub ty: Scalar,
    /// Byte offset (std430).
    pub offset: u32,
    /// Its value.
    pub value: Value,
}

/// One compiled kernel.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Kernel source path (informational).
    pub kernel: String,
    /// SPIR-V words, base64 of their little-endian bytes.
    pub spirv: String,
}

/// A ptask lowered to a compute pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PtaskPlan {
    /// Ptask name (unique in the plan).
    pub name: String,
    /// Kernel source path (informational).
    pub kernel: String,
    /// Its compiled kernel: index into [`Plan::modules`].
    pub module: usize,
    /// Entry point name.
    pub entry: String,
    /// Storage buffers, binding i = i-th `in`/`sticky`/`out` port.
    pub bindings: Vec<Binding>,
    /// Push constants in declaration order.
    #[serde(default)]
    pub push_constants: Vec<PushConstant>,
    /// Size of the push-constant block in bytes (0 if none).
    #[serde(default)]
    pub push_constant_size: u32,
    /// The kernel's `local_size_{x,y,z}`.
    pub local_size: [u32; 3],
    /// Workgroup counts for `vkCmdDispatch`.
    pub workgroups: [u32; 3],
    /// Per-ptask priority override (else the graph's).
    #[serde(default)]
    pub priority: Option<u32>,
    /// Values of the kernel's specialization constants (the others keep
    /// their defaults; plan version 3). `local_size` is as specialized.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialization: Vec<SpecValue>,
    /// The params in a uniform buffer instead of push constants (then
    /// `push_constants` is empty; plan version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uniform_params: Option<UniformParams>,
}

/// The value of one specialization constant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecValue {
    /// Its `constant_id` (SpecId).
    pub id: u32,
    /// Its name in the kernel (informational).
    pub name: String,
    /// Its value (a bool is `!u32 0` or `!u32 1`).
    pub value: Value,
}

/// A ptask's params in a uniform buffer: set 0, `binding` (the number of
/// storage bindings), std140 members, allocated and filled once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniformParams {
    /// Its binding in set 0 (= the number of ports).
    pub binding: u32,
    /// The buffer's size in bytes (a multiple of 16).
    pub size: u32,
    /// The params, with std140 offsets.
    pub members: Vec<PushConstant>,
}

/// A graph input: a buffer the host (or a source) fills.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphInput {
    /// Input name (unique among inputs and outputs).
    pub name: String,
    /// Index into [`Plan::buffers`].
    pub buffer: usize,
    /// Where its frames come from.
    pub source: Source,
}

/// A graph output: a buffer the host (or a sink) reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphOutput {
    /// Output name (unique among inputs and outputs).
    pub name: String,
    /// Index into [`Plan::buffers`].
    pub buffer: usize,
    /// Where its frames go.
    pub sink: Sink,
}

/// Where a graph input's frames come from: the `from` clause of a `.pt`
/// input (the compiler's checked graph uses this type too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Source {
    /// No `from`: pushed by the caller (`Runtime::push`, `--input`).
    Host,
    /// `from camera(fps: N, script: "path")`: synthetic depth camera.
    Camera {
        /// Frames per second, if paced.
        #[serde(default)]
        fps: Option<f32>,
        /// Hand-trajectory script (relative to the graph), else the default.
        #[serde(default)]
        script: Option<PathBuf>,
    },
    /// `from file("x.npy")`: frames read from a `.npy` stack or raw file.
    File {
        /// The file, relative to the graph.
        path: PathBuf,
    },
    /// `from random(seed: S, fps: N)`: endless pseudo-random frames.
    Random {
        /// Generator seed.
        seed: u64,
        /// Frames per second, if paced.
        #[serde(default)]
        fps: Option<f32>,
    },
    /// `from zeros` / `from zeros(fps: N)`: endless zero frames.
    Zeros {
        /// Frames per second, if paced.
        #[serde(default)]
        fps: Option<f32>,
    },
    /// `from stdin`: raw frames from standard input.
    Stdin,
}

impl Source {
    /// The rate the source is paced at (`fps:`), if any.
    pub fn fps(&self) -> Option<f32> {
        match self {
            Source::Camera { fps, .. } | Source::Random { fps, .. } | Source::Zeros { fps } => *fps,
            Source::Host | Source::File { .. } | Source::Stdin => None,
        }
    }

    /// The clause's name, as in `.pt` (`from camera(...)`) and as the
    /// `kind:` tag of plan YAML: `host`, `camera`, `file`, `random`,
    /// `zeros`, `stdin`. The runtime's source factories are keyed by it.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Host => "host",
            Source::Camera { .. } => "camera",
            Source::File { .. } => "file",
            Source::Random { .. } => "random",
            Source::Zeros { .. } => "zeros",
            Source::Stdin => "stdin",
        }
    }

    /// The file the source reads, as the plan names it (relative to the
    /// graph unless absolute): a `file` input's path, a `camera`'s script.
    /// The process that runs `ptc run` opens it (see the runtime's
    /// `PortFiles::open`) and hands it to the source.
    pub fn file(&self) -> Option<&std::path::Path> {
        match self {
            Source::File { path } => Some(path),
            Source::Camera { script, .. } => script.as_deref(),
            Source::Host | Source::Random { .. } | Source::Zeros { .. } | Source::Stdin => None,
        }
    }
}

/// Where a graph output's frames go: the `to` clause of a `.pt` output (the
/// compiler's checked graph uses this type too).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Sink {
    /// No `to`: pulled by the caller (`Runtime::pull`, `--output`).
    Host,
    /// `to stdout`: JSON lines on standard output.
    Stdout,
    /// `to file("x.npy")`: every frame written to a `.npy` stack or raw file.
    File {
        /// The file, relative to the graph.
        path: PathBuf,
    },
    /// `to null`: discarded.
    Null,
    /// `to hid`: virtual pointer (Linux uinput).
    Hid,
}

impl Sink {
    /// The clause's name, as in `.pt` (`to stdout`) and as the `kind:` tag
    /// of plan YAML: `host`, `stdout`, `file`, `null`, `hid`. The runtime's
    /// sink factories are keyed by it.
    pub fn kind(&self) -> &'static str {
        match self {
            Sink::Host => "host",
            Sink::Stdout => "stdout",
            Sink::File { .. } => "file",
            Sink::Null => "null",
            Sink::Hid => "hid",
        }
    }
}

/// A buffer barrier: make `buffer`'s writes by an earlier dispatch visible
/// to this one (read-after-write), or order this dispatch's writes after
/// earlier reads (write-after-read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferBarrier {
    /// Index into [`Plan::buffers`].
    pub buffer: usize,
    /// Which hazard the barrier resolves.
    pub hazard: Hazard,
}

/// The kind of hazard a barrier resolves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// An earlier dispatch wrote the buffer; this one reads it.
    ReadAfterWrite,
    /// An earlier dispatch read the buffer; this one writes it.
    WriteAfterRead,
    /// An earlier dispatch wrote the buffer; this one writes it again.
    WriteAfterWrite,
}

/// One step of the static schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dispatch {
    /// Index into [`Plan::ptasks`].
    pub ptask: usize,
    /// Barriers to record before this dispatch.
    #[serde(default)]
    pub barriers: Vec<BufferBarrier>,
}

/// Why a plan is invalid.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    /// Not YAML, or not the shape of a plan (a missing or unknown field).
    #[error("plan is not valid YAML for a ptc plan: {0}")]
    Syntax(String),
    /// The plan text is larger than [`MAX_PLAN_BYTES`].
    #[error("the plan is larger than {} MiB, the most ptc reads; is this a plan written by `ptc compile`?", limit >> 20)]
    TooLarge {
        /// Its size (at least; the reader stops one byte past the limit).
        bytes: usize,
        /// [`MAX_PLAN_BYTES`].
        limit: usize,
    },
    /// Flow collections nested deeper than [`MAX_YAML_DEPTH`].
    #[error("line {line}: YAML flow collections (`[`, `{{`) nested more than {limit} deep (plans written by `ptc compile` use one level)")]
    TooDeep {
        /// Where the level past the limit starts (1-based).
        line: usize,
        /// [`MAX_YAML_DEPTH`].
        limit: usize,
    },
    /// A YAML alias (`*name`): plans may not use anchors and aliases.
    #[error("line {line}: YAML aliases (`*name`) are not allowed in a plan; write the value out")]
    Alias {
        /// The alias's line (1-based).
        line: usize,
    },
    /// A plan format version this build does not read.
    #[error("plan version {found} is not supported (this ptc reads versions {MIN_PLAN_VERSION} to {expected}); recompile the graph with `ptc compile`")]
    Version {
        /// The plan's version.
        found: u32,
        /// [`PLAN_VERSION`].
        expected: u32,
    },
    /// A broken invariant, e.g. ``buffer #0 `x`: size is 12 bytes but ...``.
    #[error("{what}: {why}")]
    Invalid {
        /// The item, e.g. ``ptask `scale`: spirv``.
        what: String,
        /// What is wrong with it.
        why: String,
    },
    /// The plan holds something YAML cannot carry (e.g. a non-UTF-8 path
    /// set through the API).
    #[error("the plan cannot be written as YAML: {0}")]
    Serialize(String),
}

fn invalid(what: impl Into<String>, why: impl Into<String>) -> PlanError {
    PlanError::Invalid {
        what: what.into(),
        why: why.into(),
    }
}

impl Plan {
    /// Parses and validates a plan from YAML.
    ///
    /// The text is bounded first: at most [`MAX_PLAN_BYTES`], flow
    /// collections nested at most [`MAX_YAML_DEPTH`] deep, no aliases (see
    /// [`PlanError::TooLarge`], [`PlanError::TooDeep`], [`PlanError::Alias`]),
    /// so that parsing takes time and memory linear in the text.
    pub fn from_yaml(text: &str) -> Result<Plan, PlanError> {
        yaml::check_bounds(text)?;
        let plan: Plan =
            serde_yaml_ng::from_str(text).map_err(|e| PlanError::Syntax(e.to_string()))?;
        plan.validate()?;
        Ok(plan)
    }

    /// Serialises the plan as YAML. Fails only for values YAML cannot
    /// carry, such as a non-UTF-8 path in `source` or a source/sink path
    /// (lowering never produces one: it stores `source` lossily).
    pub fn to_yaml(&self) -> Result<String, PlanError> {
        serde_yaml_ng::to_string(self).map_err(|e| PlanError::Serialize(e.to_string()))
    }

    /// The graph's source rate in Hz: the fastest paced input, if any
    /// (deadlines and delivered-rate statistics are measured against it).
    pub fn rate_hz(&self) -> Option<f64> {
        self.inputs
            .iter()
            .filter_map(|i| i.source.fps())
            .map(f64::from)
            .fold(None, |a: Option<f64>, f| Some(a.map_or(f, |a| a.max(f))))
    }

    /// The base64 SPIR-V of ptask `p`'s module.
    fn spirv_text(&self, p: &PtaskPlan) -> Result<&str, PlanError> {
        self.modules
            .get(p.module)
            .map(|m| m.spirv.as_str())
            .ok_or_else(|| {
                invalid(
                    format!("ptask `{}`", p.name),
                    format!("module {} does not exist", p.module),
                )
            })
    }

    /// Checks every invariant the runtime relies on: version, indices in
    /// range, sizes consistent with types, SPIR-V decodable with the right
    /// magic number and matching its ptasks, schedule covers each ptask
    /// exactly once, and so on.
    ///
    /// Each module's SPIR-V is decoded and reflected once; what that found
    /// (decoded words, entry point, local size, `gl_NumWorkGroups`,
    /// capabilities, bindings, push-constant size) is returned as a
    /// [`PlanInfo`] for whoever runs the plan, so nothing parses it again.
    pub fn validate(&self) -> Result<PlanInfo, PlanError> {
        if !(MIN_PLAN_VERSION..=PLAN_VERSION).contains(&self.version) {
            return Err(PlanError::Version {
                found: self.version,
                expected: PLAN_VERSION,
            });
        }
        if !(1..=100).contains(&self.priority) {
            return Err(invalid(
                "priority",
                format!("{} is outside 1..=100", self.priority),
            ));
        }
        for s in &self.structs {
            let fields: Vec<(String, ElemType)> = s
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.ty.clone()))
                .collect();
            match StructLayout::std430(&s.name, &fields) {
                Some(l) if l == *s => {}
                _ => {
                    return Err(invalid(
                        format!("struct `{}`", s.name),
                        "layout does not match std430",
                    ))
                }
            }
        }
        let mut max_bytes = 0u64;
        for (i, b) in self.buffers.iter().enumerate() {
            let what = format!("buffer #{i} `{}`", b.name);
            if b.ty.shape.is_empty() || b.ty.shape.contains(&0) {
                return Err(invalid(what, "shape must have only positive dimensions"));
            }
            if let ElemType::Struct(n) = &b.ty.elem {
                if self.structs.struct_layout(n).is_none() {
                    return Err(invalid(what, format!("unknown struct `{n}`")));
                }
            }
            let want =
                b.ty.byte_size(&self.structs)
                    .ok_or_else(|| invalid(what.clone(), "size overflows"))?;
            if want != b.size {
                return Err(invalid(
                    what,
                    format!(
                        "size is {} bytes but its type {} needs {want}",
                        b.size, b.ty
                    ),
                ));
            }
            if b.size > MAX_BUFFER_BYTES {
                return Err(invalid(
                    what,
                    format!(
                        "size is {} bytes, more than a storage buffer may hold ({MAX_BUFFER_BYTES} bytes, {} MiB)",
                        b.size,
                        MAX_BUFFER_BYTES >> 20
                    ),
                ));
            }
            if b.role == BufferRole::Constant && self.version < 3 {
                return Err(invalid(what, "the constant role needs plan version 3"));
            }
            if b.slots == 0 || b.slots > 8 {
                return Err(invalid(
                    what,
                    format!("slots = {} (must be 1..=8)", b.slots),
                ));
            }
            max_bytes = max_bytes.max(b.size);
        }
        if max_bytes > self.requirements.max_buffer_bytes {
            return Err(invalid(
                "requirements.max_buffer_bytes",
                format!(
                    "{} is smaller than the largest buffer ({max_bytes})",
                    self.requirements.max_buffer_bytes
                ),
            ));
        }
        let nb = self.buffers.len();
        for g in &self.inputs {
            if g.buffer >= nb {
                return Err(invalid(
                    format!("input `{}`", g.name),
                    format!("buffer {} out of range", g.buffer),
                ));
            }
        }
        for g in &self.outputs {
            if g.buffer >= nb {
                return Err(invalid(
                    format!("output `{}`", g.name),
                    format!("buffer {} out of range", g.buffer),
                ));
            }
        }
        let mut words: Vec<Option<Vec<u32>>> = vec![None; self.modules.len()];
        for p in &self.ptasks {
            let what = format!("ptask `{}`", p.name);
            // Ptasks sharing a kernel share its module: decode each once,
            // reporting a bad one at its first user.
            let text = self.spirv_text(p)?;
            if words[p.module].is_none() {
                let w = spirv::from_base64(text)
                    .map_err(|why| invalid(format!("{what}: spirv"), why))?;
                // Before anything else reads the module (spirq's reflection
                // here, the driver later): a module the validator refuses
                // can crash either.
                spirv::validate(&w).map_err(|why| {
                    let kernel = self
                        .modules
                        .get(p.module)
                        .map_or("?", |m| m.kernel.as_str());
                    invalid(
                        format!("{what}: module {} (`{kernel}`)", p.module),
                        format!("{why}; recompile the graph with `ptc compile`"),
                    )
                })?;
                words[p.module] = Some(w);
            }
            for b in &p.bindings {
                let buf = self.buffers.get(b.buffer).ok_or_else(|| {
                    invalid(
                        what.clone(),
                        format!(
                            "binding `{}` names buffer {} which does not exist",
                            b.port, b.buffer
                        ),
                    )
                })?;
                if buf.role == BufferRole::Input && b.access == Access::Out {
                    return Err(invalid(
                        what,
                        format!(
                            "port `{}` writes the graph input buffer `{}`",
                            b.port, buf.name
                        ),
                    ));
                }
            }
            if p.local_size.contains(&0) || p.workgroups.contains(&0) {
                return Err(invalid(what, "local_size and workgroups must be positive"));
            }
            let mut end = 0u32;
            for c in &p.push_constants {
                if c.offset % c.ty.size() != 0 {
                    return Err(invalid(
                        what,
                        format!("push constant `{}` is misaligned", c.name),
                    ));
                }
                end = end.max(c.offset.saturating_add(c.ty.size()));
            }
            if end > p.push_constant_size || p.push_constant_size > MAX_PUSH_CONSTANT_BYTES {
                return Err(invalid(
                    what,
                    format!(
                        "push_constant_size does not cover its members (or exceeds {MAX_PUSH_CONSTANT_BYTES} bytes)"
                    ),
                ));
            }
        }
        let mut seen = vec![false; self.ptasks.len()];
        for d in &self.schedule {
            match seen.get_mut(d.ptask) {
                Some(s) if !*s => *s = true,
                Some(_) => {
                    return Err(invalid(
                        "schedule",
                        format!("ptask {} is dispatched twice", d.ptask),
                    ))
                }
                None => {
                    return Err(invalid(
                        "schedule",
                        format!("ptask {} does not exist", d.ptask),
                    ))
                }
            }
            for b in &d.barriers {
                if b.buffer >= nb {
                    return Err(invalid(
                        "schedule",
                        format!("barrier on buffer {} which does not exist", b.buffer),
                    ));
                }
            }
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(invalid(
                "schedule",
                format!("ptask `{}` is never dispatched", self.ptasks[i].name),
            ));
        }
        self.validate_consistency()?;
        let info = self.inspect_modules(words)?;
        self.validate_schedule()?;
        Ok(info)
    }
}

#[cfg(test)]
mod kind_tests {
    use super::{Sink, Source};
    use std::path::PathBuf;

    /// `kind()` is the `kind:` tag plan YAML writes (factories are keyed by
    /// the same name users read in plans).
    #[test]
    fn kinds_are_the_yaml_tags() {
        let tag = |yaml: String| -> String {
            let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
            v["kind"].as_str().expect("a kind tag").to_string()
        };
        let sources = [
            Source::Host,
            Source::Camera {
                fps: Some(30.0),
                script: Some(PathBuf::from("s.txt")),
            },
            Source::File {
                path: PathBuf::from("x.npy"),
            },
            Source::Random { seed: 1, fps: None },
            Source::Zeros { fps: None },
            Source::Stdin,
        ];
        for s in &sources {
            assert_eq!(s.kind(), tag(serde_yaml_ng::to_string(s).expect("ser")));
        }
        let sinks = [
            Sink::Host,
            Sink::Stdout,
            Sink::File {
                path: PathBuf::from("y.npy"),
            },
            Sink::Null,
            Sink::Hid,
        ];
        for s in &sinks {
            assert_eq!(s.kind(), tag(serde_yaml_ng::to_string(s).expect("ser")));
        }
        assert_eq!(
            sources[1].file(),
            Some(std::path::Path::new("s.txt")),
            "a camera reads its script"
        );
        assert_eq!(sources[2].file(), Some(std::path::Path::new("x.npy")));
        assert_eq!(sources[3].file(), None);
    }
}
