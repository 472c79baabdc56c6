//! Endpoints turned into running sources and sinks (the adapters).

use anyhow::{Context, bail};
use ctistream_adapters::file::{FileSinkConfig, FileTailConfig};
use ctistream_adapters::kafka::{KafkaSinkConfig, KafkaSourceConfig};
use ctistream_adapters::socket::{TcpSinkConfig, TcpSourceConfig};
use ctistream_core::Framing;
use ctistream_core::connect::{Connect, Sink, Source};

use super::endpoint::Endpoint;
use super::plan::RunPlan;

/// Opens a source.
///
/// # Errors
/// When it cannot be opened, bound or connected; the message names it.
pub fn source(endpoint: &Endpoint, plan: &RunPlan) -> anyhow::Result<Box<dyn Source>> {
    let opened: Box<dyn Source> = match endpoint {
        Endpoint::File { path, follow, framing, position, .. } => {
            let framing = super::default_framing(*framing, plan);
            let mut config = FileTailConfig::new(path, framing).follow(*follow);
            config.max_record = plan.max_record;
            config.position_file.clone_from(position);
            Box::new(config.connect()?)
        }
        Endpoint::Tcp { listen, framing, token, max_connections, idle_timeout } => {
            let framing = framing.unwrap_or(Framing::Lines);
            if !matches!(framing, Framing::Lines | Framing::LengthPrefixed) {
                bail!("{endpoint}: a TCP source takes framing=lines or framing=length");
            }
            let mut config = TcpSourceConfig::new(listen.to_string(), framing);
            config.max_record = plan.max_record;
            config.token = token.clone().map(bytes::Bytes::from);
            if let Some(max) = max_connections {
                config.max_connections = *max;
            }
            if idle_timeout.is_some() {
                config.idle_timeout = *idle_timeout;
            }
            Box::new(config.connect().with_context(|| format!("source {endpoint}"))?)
        }
        Endpoint::Kafka { bootstrap, topics, group, properties } => {
            let mut config =
                KafkaSourceConfig::new(bootstrap.clone(), topics.clone()).with_group(group.clone());
            config.properties.extend(properties.iter().cloned());
            Box::new(config.connect().with_context(|| format!("source {endpoint}"))?)
        }
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
        Endpoint::Tcp { listen, max_connections, .. } => {
            let mut config = TcpSinkConfig::new(listen.to_string());
            if let Some(max) = max_connections {
                config.max_subscribers = *max;
            }
            Box::new(config.connect().with_context(|| format!("sink {endpoint}"))?)
        }
        Endpoint::Kafka { bootstrap, topics, properties, .. } => {
            let topic = topics.first().with_context(|| format!("sink {endpoint}: no topic"))?;
            let mut config = KafkaSinkConfig::new(bootstrap.clone(), topic.clone());
            config.properties.extend(properties.iter().cloned());
            Box::new(config.connect().with_context(|| format!("sink {endpoint}"))?)
        }
    };
    Ok(opened)
}
