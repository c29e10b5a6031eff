//! ptc's compiler: `.pt` source → checked [`ir::Module`] → [`plan::Plan`].
//!
//! Stages mirror the folder layout: `front` (grammar, parser, AST), `valid`
//! (name/type/shape checking, kernel reflection), `back` (lowering to a plan).

pub mod diag;
pub mod ir;
pub mod plan;
pub mod types;

pub use plan::{Plan, PlanError, PLAN_VERSION};
