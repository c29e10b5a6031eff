//! Validation: name/type/shape checking of the graph, kernel reflection.

pub mod check;
pub mod kernel;
