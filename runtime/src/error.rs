//! The runtime's typed errors.

use ash::vk;

/// Everything that can go wrong opening or running a graph.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No Vulkan loader (`libvulkan.so.1`) could be loaded.
    #[error(
        "Vulkan is not available: {0} (install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)"
    )]
    NoVulkan(String),
    /// Validation was requested but the layer is not installed.
    #[error("validation requested but VK_LAYER_KHRONOS_validation is not installed (apt install vulkan-validationlayers)")]
    NoValidationLayer,
    /// No (matching) device.
    #[error("no usable Vulkan device: {0}")]
    NoDevice(String),
    /// The device lacks something the plan needs.
    #[error("device `{device}` lacks {feature}")]
    MissingFeature {
        /// Device name.
        device: String,
        /// What is missing, with the numbers involved.
        feature: String,
    },
    /// The plan is invalid: `Plan::validate` refused it (its SPIR-V
    /// included), or it is inconsistent beyond what that checks.
    #[error("invalid plan: {0}")]
    InvalidPlan(String),
    /// No such graph input/output.
    #[error("graph `{graph}` has no {dir} port `{port}`{hint}")]
    UnknownPort {
        /// Graph name.
        graph: String,
        /// `input` or `output`.
        dir: &'static str,
        /// The name asked for.
        port: String,
        /// ` (it is an output)`-style hint, or the list of ports.
        hint: String,
    },
    /// Pushed/pulled bytes of the wrong size.
    #[error("port `{port}` takes {expected} bytes per frame ({ty}), got {got}")]
    WrongSize {
        /// Port name.
        port: String,
        /// Expected bytes.
        expected: u64,
        /// Given bytes.
        got: u64,
        /// The port type.
        ty: String,
    },
    /// Data of the wrong element type/shape (e.g. a `.npy` file).
    #[error("port `{port}`: {why}")]
    WrongType {
        /// Port name.
        port: String,
        /// What does not match.
        why: String,
    },
    /// An output cannot be produced because inputs have no data.
    #[error("output `{port}` has no data: missing input(s) {missing}")]
    MissingInput {
        /// The output asked for.
        port: String,
        /// Inputs with nothing pushed.
        missing: String,
    },
    /// An input's slots are all full and nothing can consume them.
    #[error("input `{port}` is full: all {slots} slot(s) hold frames no ptask can consume yet (pull the outputs first)")]
    InputFull {
        /// Port name.
        port: String,
        /// Ping-pong depth.
        slots: u32,
    },
    /// `read_buffer` named a buffer the graph does not have.
    #[error("graph `{graph}` has no buffer `{name}` (buffers: {known})")]
    UnknownBuffer {
        /// Graph name.
        graph: String,
        /// The name asked for.
        name: String,
        /// The graph's buffer names.
        known: String,
    },
    /// The graph id does not name an open graph.
    #[error("graph #{0} is not open")]
    NoSuchGraph(usize),
    /// A source or sink failed.
    #[error("{0}")]
    Io(String),
    /// The device was lost.
    #[error("the Vulkan device was lost")]
    DeviceLost,
    /// Device or host memory exhausted.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
    /// The GPU did not finish in time.
    #[error("timeout: {0}")]
    Timeout(String),
    /// Another Vulkan error.
    #[error("Vulkan error while {what}: {result:?}")]
    Vulkan {
        /// What the runtime was doing.
        what: &'static str,
        /// The result code.
        result: vk::Result,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("internal lock poisoned")]
    Poisoned,
    /// A daemon refused a request or went away (see the `ptc-daemon` crate).
    #[error("{message}")]
    Daemon {
        /// What happened, saying what to do.
        message: String,
        /// About the plan or data rather than usage.
        bad_input: bool,
    },
    /// The scheduler refused a call (bad priority, unknown graph or ptask).
    #[error("scheduler: {0}")]
    Sched(#[from] crate::sched::SchedError),
}

impl RuntimeError {
    /// True if the error is about the plan or the data (exit code 1), false
    /// for usage, IO and device problems (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        if let RuntimeError::Daemon { bad_input, .. } = self {
            return *bad_input;
        }
        matches!(
            self,
            RuntimeError::InvalidPlan(_)
                | RuntimeError::UnknownPort { .. }
                | RuntimeError::UnknownBuffer { .. }
                | RuntimeError::WrongSize { .. }
                | RuntimeError::WrongType { .. }
                | RuntimeError::MissingInput { .. }
                | RuntimeError::InputFull { .. }
        )
    }
}

/// Result alias.
pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;
