//! Integration tests of the runtime, in one binary (one link, not one per
//! file): `cargo test -p ptc-runtime --test it [MODULE::]` runs them.
//! `per_frame.rs` and `npy_header.rs` stay binaries of their own: each
//! installs a counting global allocator, which must see only its own test.
#![allow(clippy::unwrap_used)] // tests may panic on what they set up

#[path = "../common/mod.rs"]
mod common;
mod examples;
mod saxpy;
mod sched;
mod sinks;
