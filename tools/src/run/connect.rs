//! Endpoints turned into running sources and sinks (the adapters).

use anyhow::{Context, bail};
use ctistream_adapters::file::{FileSinkConfig, FileTailConfig};
use ctistream_core::connect::{Connect, Sink, Source};

use super::endpoint::Endpoint;
use super::plan::RunPlan;

/// Opens a source.
///
/// # Errors
/// When it cannot be opened, bound or connected; the message names it.
pub fn source(endpoint: &Endpoint, plan: &RunPlan) -> anyhow::Result<Box<dyn Source>> {
    let opened: Box<dyn Source> = match endpoint {
        Endpoint::File { path, follow, framing, .. } => {
            let framing = super::default_framing(*framing, plan);
            let mut config = FileTailConfig::new(path, framing).follow(*follow);
            config.max_record = plan.max_record;
            Box::new(config.connect()?)
        }
        Endpoint::Tcp { .. } | Endpoint::Kafka { .. } => bail!("{endpoint}: not in this build"),
    };
    Ok(opened)
}

/// Opens a sink.
///
/// # Errors
/// When it cannot be opened, bound or connected; the message names it.
pub fn sink(endpoint: &Endpoint) -> anyhow::Result<Box<dyn Sink>> {
    let opened: Box<dyn Sink> = match endpoint {
        Endpoint::File { path, rotate_bytes, .. } => {
            let mut config = FileSinkConfig::new(path);
            config.rotate_bytes = *rotate_bytes;
            Box::new(config.connect().with_context(|| format!("sink {endpoint}"))?)
        }
        Endpoint::Tcp { .. } | Endpoint::Kafka { .. } => bail!("{endpoint}: not in this build"),
    };
    Ok(opened)
}
