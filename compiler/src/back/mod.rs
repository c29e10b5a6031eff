//! Back end: lowering a checked module to a [`Plan`](ptc_plan::Plan).

pub mod lower;

#[cfg(any(test, feature = "testutil"))]
#[doc(hidden)]
pub mod testutil;
