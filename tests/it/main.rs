//! Integration tests of this crate, in one binary (one link, not one per
//! file): `cargo test --test it [MODULE::]` runs them.

mod common;
mod cli;
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
