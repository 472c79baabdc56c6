//! The switch between std's synchronization primitives and loom's, so the
//! lock-free protocols can be model-checked (`RUSTFLAGS="--cfg loom"`).
//! Code uses `crate::loom::sync::atomic::*`, never `std::sync::atomic`.

#[cfg(all(test, loom))]
pub(crate) use loom::sync;

#[cfg(not(all(test, loom)))]
pub(crate) use std::sync;
