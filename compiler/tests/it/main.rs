//! Integration tests of this crate, in one binary (one link, not one per
//! file): `cargo test --test it [MODULE::]` runs them.

mod examples;
mod prop_mutations;
mod robust;
mod sarif_schema;
