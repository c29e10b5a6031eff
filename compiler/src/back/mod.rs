//! Back end: lowering a checked module to a [`Plan`](crate::plan::Plan).

pub mod lower;

#[cfg(test)]
pub(crate) mod testutil;
