//! Endpoints turned into running sources and sinks (the adapters).

use anyhow::bail;
use ctistream_core::connect::{Sink, Source};

use super::endpoint::Endpoint;
use super::plan::RunPlan;

/// Opens a source.
pub fn source(endpoint: &Endpoint, plan: &RunPlan) -> anyhow::Result<Box<dyn Source>> {
    let _ = plan;
    bail!("{endpoint}: not connected yet")
}

/// Opens a sink.
pub fn sink(endpoint: &Endpoint) -> anyhow::Result<Box<dyn Sink>> {
    bail!("{endpoint}: not connected yet")
}
