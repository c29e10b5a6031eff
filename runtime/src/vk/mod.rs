//! The thin unsafe layer: every `ash` call of the runtime lives here, behind
//! safe wrappers. Handles (`vk::Buffer`, `vk::Pipeline`, ...) are plain
//! `Copy` values; whoever creates one through [`Gpu`] destroys it through
//! [`Gpu`] before the `Gpu` is dropped (graphs hold an `Arc<Gpu>`).
//!
//! Laid out like wgpu-hal's Vulkan backend:
//!
//! - `instance`: the loader, the instance and the validation messenger
//!   ([`ValidationLog`]);
//! - `adapter`: physical devices — what they offer ([`DeviceInfo`]), which
//!   one is picked, system-wide queue priorities ([`GlobalPriority`]);
//! - `device`: the logical device [`Gpu`] — its queues, memory and buffers,
//!   counters;
//! - `pipeline`: compute pipelines, their layouts and descriptor sets (the
//!   one place pipelines are created);
//! - `command`: command pools and recording ([`Cmd`]);
//! - `queue`: submission, timeline semaphores and waits, timestamp queries;
//! - `conv`: conversions between ptc's types and Vulkan's, error mapping.
//!
//! Every `unsafe` block states why it is sound (`// SAFETY:`).

mod adapter;
mod command;
mod conv;
mod device;
mod instance;
mod pipeline;
mod queue;

pub use adapter::{
    default_device, list_devices, DeviceInfo, DeviceKind, GlobalPriority, QueueFamilyInfo,
};
pub(crate) use command::Cmd;
pub use device::CounterSnapshot;
pub(crate) use device::{BufferMem, Gpu};
pub(crate) use instance::Context;
pub use instance::ValidationLog;
pub(crate) use queue::QueuePoint;

/// A short list kept on the stack (waits, signals and command buffers of
/// one submission): the per-frame path does not touch the heap for them.
pub(crate) type Small<T> = smallvec::SmallVec<[T; 10]>;
