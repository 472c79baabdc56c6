//! Kafka source and sink configurations: plain data, checked in `connect`.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;

use super::error::Error;

/// The consumer group a [`KafkaSourceConfig`] joins unless told otherwise.
pub const DEFAULT_GROUP: &str = "ctistream-reducer";

/// The group name a source must never use: Genesys Voice Microservices'
/// own consumers of the voice-callthread topic are the `callthread` group, and
/// joining it would steal their partitions.
pub const RESERVED_GROUP: &str = "callthread";

/// Where a Kafka source reads from.
///
/// The source is a member of consumer group [`group`](Self::group): the
/// group's members share the topics' partitions, and the group's committed
/// offsets are where a restarted member resumes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSourceConfig {
    /// `host:port[,host:port…]` of brokers to bootstrap from.
    pub bootstrap: String,
    /// The topics to subscribe to (for example `voice-callthread`).
    pub topics: Vec<String>,
    /// The consumer group; default [`DEFAULT_GROUP`]. Never `callthread`
    /// ([`RESERVED_GROUP`], Genesys' own group): `connect` refuses it.
    pub group: String,
    /// Extra librdkafka properties (`security.protocol`, `session.timeout.ms`,
    /// `statistics.interval.ms`…). They cannot switch off what the
    /// acknowledgement protocol relies on: `group.id`, `enable.auto.commit`
    /// and `enable.auto.offset.store` are set after them.
    pub properties: BTreeMap<String, String>,
}

impl KafkaSourceConfig {
    /// Reads `topics` from `bootstrap` as a member of the default group.
    pub fn new<T: Into<String>>(
        bootstrap: impl Into<String>,
        topics: impl IntoIterator<Item = T>,
    ) -> KafkaSourceConfig {
        KafkaSourceConfig {
            bootstrap: bootstrap.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            group: DEFAULT_GROUP.to_owned(),
            properties: BTreeMap::new(),
        }
    }

    /// This config with consumer group `group`.
    pub fn with_group(mut self, group: impl Into<String>) -> KafkaSourceConfig {
        self.group = group.into();
        self
    }

    /// This config with librdkafka property `key` set to `value`.
    pub fn with_property(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> KafkaSourceConfig {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The source's name in messages: `kafka://BOOTSTRAP/TOPIC[,TOPIC…]?group=GROUP`.
    pub fn name(&self) -> String {
        format!("kafka://{}/{}?group={}", self.bootstrap, self.topics.join(","), self.group)
    }

    /// Checks the config and turns it into librdkafka's.
    pub(crate) fn client_config(&self) -> Result<ClientConfig, Error> {
        if self.bootstrap.trim().is_empty() {
            return Err(Error::new(format!("{}: no bootstrap brokers", self.name())));
        }
        if self.topics.is_empty() || self.topics.iter().any(|topic| topic.trim().is_empty()) {
            return Err(Error::new(format!("{}: a topic name is missing", self.name())));
        }
        if self.group.trim().is_empty() {
            return Err(Error::new(format!("{}: the consumer group is empty", self.name())));
        }
        if self.group == RESERVED_GROUP {
            return Err(Error::new(format!(
                "{}: group `{RESERVED_GROUP}` belongs to Genesys' own consumers; \
                 choose another (default `{DEFAULT_GROUP}`)",
                self.name()
            )));
        }
        let mut config = base_config(&self.bootstrap);
        config.set("auto.offset.reset", "earliest");
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            .set("group.id", &self.group)
            // Offsets are committed only for positions the pipeline has
            // acknowledged (Source::commit), never by librdkafka's timer.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        Ok(config)
    }

    /// The group that keeps, per partition, how far the outputs of this
    /// source's group are durable (see [`KafkaSource`](super::KafkaSource)).
    pub fn durable_group(&self) -> String {
        format!("{}{DURABLE_GROUP_SUFFIX}", self.group)
    }

    /// The config of the client that commits and reads
    /// [`durable_group`](Self::durable_group): the source's, under that group.
    pub(crate) fn durable_config(&self) -> Result<ClientConfig, Error> {
        let mut config = self.client_config()?;
        // Never polled for messages: no statistics to pile up in its queue
        // (the source's own client reports the brokers' health).
        config.set("group.id", self.durable_group()).set("statistics.interval.ms", "0");
        Ok(config)
    }
}

/// Appended to a source's group name to name the group that keeps how far
/// its outputs are durable.
pub const DURABLE_GROUP_SUFFIX: &str = ".ctistream-durable";

/// Where a Kafka sink writes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaSinkConfig {
    /// `host:port[,host:port…]` of brokers to bootstrap from.
    pub bootstrap: String,
    /// The topic outputs are produced to, partitioned by their keys.
    pub topic: String,
    /// Extra librdkafka properties (`linger.ms`, `compression.type`,
    /// `message.timeout.ms`…). `enable.idempotence=true` and `acks=all` are
    /// set after them: a flush acknowledges only what every in-sync replica
    /// has, written once.
    pub properties: BTreeMap<String, String>,
}

impl KafkaSinkConfig {
    /// Writes to `topic` through `bootstrap`.
    pub fn new(bootstrap: impl Into<String>, topic: impl Into<String>) -> KafkaSinkConfig {
        KafkaSinkConfig {
            bootstrap: bootstrap.into(),
            topic: topic.into(),
            properties: BTreeMap::new(),
        }
    }

    /// This config with librdkafka property `key` set to `value`.
    pub fn with_property(
        mut self,
        key: impl Into<String>,
        value: impl Into<String>,
    ) -> KafkaSinkConfig {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The sink's name in messages: `kafka://BOOTSTRAP/TOPIC`.
    pub fn name(&self) -> String {
        format!("kafka://{}/{}", self.bootstrap, self.topic)
    }

    /// Checks the config and turns it into librdkafka's.
    pub(crate) fn client_config(&self) -> Result<ClientConfig, Error> {
        if self.bootstrap.trim().is_empty() {
            return Err(Error::new(format!("{}: no bootstrap brokers", self.name())));
        }
        if self.topic.trim().is_empty() {
            return Err(Error::new(format!("{}: the topic name is missing", self.name())));
        }
        let mut config = base_config(&self.bootstrap);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config.set("enable.idempotence", "true").set("acks", "all");
        Ok(config)
    }

    /// The config of a consumer reading the sink's topic back (a rewind):
    /// the brokers and the user's properties, without producer settings.
    pub(crate) fn reader_config(&self) -> ClientConfig {
        let mut config = base_config(&self.bootstrap);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }
}

/// What both ends set before the user's properties.
fn base_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        // Statistics are how health notices that brokers are back.
        .set("statistics.interval.ms", "1000");
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_genesys_group_is_refused() {
        let config = KafkaSourceConfig::new("localhost:9092", ["voice-callthread"]);
        assert_eq!(config.group, DEFAULT_GROUP);
        assert!(config.client_config().is_ok());
        let error = config.with_group("callthread").client_config().unwrap_err();
        assert!(error.to_string().contains("Genesys"), "{error}");
    }

    #[test]
    fn the_protocol_settings_win_over_extra_properties() {
        let config = KafkaSourceConfig::new("localhost:9092", ["t"])
            .with_property("enable.auto.commit", "true")
            .with_property("auto.offset.reset", "latest")
            .client_config()
            .unwrap();
        assert_eq!(config.get("enable.auto.commit"), Some("false"));
        assert_eq!(config.get("auto.offset.reset"), Some("latest"));
        let sink = KafkaSinkConfig::new("localhost:9092", "out").with_property("acks", "1");
        assert_eq!(sink.client_config().unwrap().get("acks"), Some("all"));
        assert!(KafkaSinkConfig::new("localhost:9092", "").client_config().is_err());
        assert!(KafkaSourceConfig::new("", ["t"]).client_config().is_err());
    }
}
