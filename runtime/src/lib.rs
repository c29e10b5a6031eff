//! ptc's runtime: executes [`ptc_compiler::Plan`]s on Vulkan.

pub use ptc_compiler::Plan;

pub mod gesture_ref;
pub mod io;
pub mod sched;
