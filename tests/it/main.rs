//! Integration tests of this crate, in one binary (one link, not one per
//! file): `cargo test --test it [MODULE::]` runs them.
#![allow(clippy::unwrap_used)] // tests may panic on what they set up

mod cli;
mod common;
mod compile;
mod daemon;
mod gesture;
mod kernel_ui;
mod lang;
mod lsp;
mod nothing_lost;
mod run;
mod sarif_cli;
mod sched_cli;
mod ui;
