//! Shared corpus and baselines for the ctistream benches.
