//! Integration tests of this crate, in one binary (one link, not one per
//! file): `cargo test --test it [MODULE::]` runs them.

mod bounds;
mod spec;
mod spirv;
mod validate;
