//! Integration tests of this crate, in one binary (one link, not one per
//! file): `cargo test --test it [MODULE::]` runs them.
#![allow(clippy::unwrap_used)] // tests may panic on what they set up

mod examples;
mod prop_mutations;
mod robust;
mod sarif_schema;
