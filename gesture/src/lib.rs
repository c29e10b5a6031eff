//! The gesture pipeline demo of ptc (`graphs/gesture.pt`, the paper's case
//! study), kept out of the runtime's core:
//!
//! - [`camera`]: the deterministic synthetic depth camera behind
//!   `from camera(fps: N, script: "path")`, and [`camera::CameraFactory`],
//!   the source factory that plugs it into the runtime;
//! - [`reference`](mod@reference): the CPU reference of the pipeline's kernels (xform's
//!   bilateral filter and back-projection, detect's plane fit, hand
//!   segmentation and gesture state machine) at any frame size;
//! - [`preview`]: the PNG `ptc run --preview` writes from a point cloud read
//!   back from the GPU.
//!
//! The runtime knows none of this. A program that runs graphs with a
//! camera registers it (the `ptc` binary and `ptc daemon` do):
//!
//! ```
//! let io = ptc_gesture::io_registry();
//! assert_eq!(io.source_kinds(), ["camera"]);
//! // then: let (feeds, drains) = io.attach(&plan, files)?;
//! ```
//!
//! The events the pipeline emits (`Event { kind: u32, x: f32, y: f32,
//! t: f32 }`) are the runtime's pointer-event protocol
//! ([`ptc_runtime::io::event`]), which its `to hid` and `to stdout` sinks
//! understand; [`Event`] and [`EventKind`] are re-exported here.

#![warn(missing_docs)]

pub mod camera;
pub mod preview;
pub mod reference;

pub use ptc_runtime::io::event::{Event, EventKind};

use ptc_runtime::io::IoRegistry;

/// Adds the gesture pipeline's sources to `io`: `from camera(...)`
/// ([`camera::CameraFactory`]).
pub fn register(io: &mut IoRegistry) -> &mut IoRegistry {
    io.register_source(camera::CameraFactory)
}

/// The runtime's built-in sources and sinks plus the gesture pipeline's
/// (see [`register`]): what `ptc run` and `ptc daemon` use.
pub fn io_registry() -> IoRegistry {
    let mut io = IoRegistry::new();
    register(&mut io);
    io
}
