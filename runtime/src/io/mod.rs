//! Sources and sinks: the outside ends of graph channels.

pub mod camera;
pub mod hid;
pub mod jsonl;
pub mod preview;
