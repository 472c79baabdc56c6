//! Endpoint URLs: `file:PATH[?follow=true]`, `tcp://HOST:PORT`,
//! `kafka://BOOTSTRAP/TOPIC[,TOPIC][?group=G]`, parsed into plain data that
//! says what to connect, checked before anything is opened.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use ctistream_adapters::kafka::{DEFAULT_GROUP, RESERVED_GROUP};
use ctistream_core::Framing;

/// Which way an endpoint faces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Records come in.
    Source,
    /// Outputs go out.
    Sink,
}

/// Where records come from or outputs go, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A file: read (optionally followed as it grows) or written.
    File {
        /// The path.
        path: PathBuf,
        /// Source: keep reading as the file grows and is rotated.
        follow: bool,
        /// Source: the framing (`None`: the format's own).
        framing: Option<Framing>,
        /// Sink: start a new file past this size.
        rotate_bytes: Option<u64>,
        /// Source: keep the committed byte position in this file and resume
        /// there in the next run.
        position: Option<PathBuf>,
    },
    /// A TCP listener: for a source, clients send records; for a sink,
    /// subscribers connect and receive outputs.
    Tcp {
        /// The address to listen on.
        listen: SocketAddr,
        /// Source: lines or length-prefixed frames.
        framing: Option<Framing>,
        /// Source: the token a client sends as its first frame.
        token: Option<String>,
        /// Source: connections beyond this are refused; sink: subscribers.
        max_connections: Option<usize>,
        /// Source: a connection silent this long is closed.
        idle_timeout: Option<Duration>,
    },
    /// Kafka topics (source: a consumer group member; sink: one topic).
    Kafka {
        /// Bootstrap servers, `host:port[,host:port]`.
        bootstrap: String,
        /// The topics (a sink has exactly one).
        topics: Vec<String>,
        /// Source: the consumer group.
        group: String,
        /// librdkafka properties given in the URL (options with a dot in
        /// their name, e.g. `session.timeout.ms=6000`).
        properties: Vec<(String, String)>,
    },
}

/// A URL that does not describe an endpoint, with what would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError {
    url: String,
    reason: String,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}': {}", self.url, self.reason)
    }
}

impl std::error::Error for EndpointError {}

impl Endpoint {
    /// What a checkpoint knows the endpoint by: where its data is (a file's
    /// path, a listener's address, a broker's topics and group), not how it
    /// is read (following, framing, rotation), which may change between runs.
    pub fn identity(&self) -> String {
        match self {
            Endpoint::File { path, .. } => format!("file:{}", path.display()),
            Endpoint::Tcp { listen, .. } => format!("tcp://{listen}"),
            Endpoint::Kafka { bootstrap, topics, group, .. } => {
                format!("kafka://{bootstrap}/{}?group={group}", topics.join(","))
            }
        }
    }

    /// Parses `url` for use as a source or a sink.
    ///
    /// # Errors
    /// When the scheme is unknown, a part is missing, an option is unknown
    /// for this kind of endpoint or its value is not understood.
    pub fn parse(url: &str, direction: Direction) -> Result<Endpoint, EndpointError> {
        let error = |reason: String| EndpointError { url: url.to_owned(), reason };
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut options = Options::parse(query).map_err(error)?;
        let endpoint = if let Some(path) = base.strip_prefix("file:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(error("no path: expected file:PATH".into()));
            }
            match direction {
                Direction::Source => Endpoint::File {
                    path: PathBuf::from(path),
                    follow: options.flag("follow").map_err(error)?.unwrap_or(false),
                    framing: options.framing().map_err(error)?,
                    rotate_bytes: None,
                    position: options.take("position").map(PathBuf::from),
                },
                Direction::Sink => Endpoint::File {
                    path: PathBuf::from(path),
                    follow: false,
                    framing: None,
                    rotate_bytes: options.number("rotate_bytes").map_err(error)?,
                    position: None,
                },
            }
        } else if let Some(address) = base.strip_prefix("tcp://") {
            let listen = resolve(address).map_err(error)?;
            match direction {
                Direction::Source => Endpoint::Tcp {
                    listen,
                    framing: options.framing().map_err(error)?,
                    token: options.take("token"),
                    max_connections: options.number("max_connections").map_err(error)?,
                    idle_timeout: options
                        .number("idle_timeout")
                        .map_err(error)?
                        .map(Duration::from_secs),
                },
                Direction::Sink => Endpoint::Tcp {
                    listen,
                    framing: None,
                    token: None,
                    max_connections: options.number("max_subscribers").map_err(error)?,
                    idle_timeout: None,
                },
            }
        } else if let Some(rest) = base.strip_prefix("kafka://") {
            let (bootstrap, topics) = rest.split_once('/').ok_or_else(|| {
                error("no topic: expected kafka://BOOTSTRAP/TOPIC[,TOPIC]".into())
            })?;
            if bootstrap.is_empty() {
                return Err(error("no bootstrap server: expected kafka://HOST:PORT/TOPIC".into()));
            }
            let topics: Vec<String> = topics.split(',').map(str::to_owned).collect();
            if topics.iter().any(|topic| !valid_topic(topic)) {
                return Err(error(
                    "a topic name is empty or has characters Kafka refuses \
                     (letters, digits, '.', '_' and '-' only)"
                        .into(),
                ));
            }
            if direction == Direction::Sink && topics.len() != 1 {
                return Err(error("a Kafka sink writes one topic".into()));
            }
            let group = match direction {
                Direction::Source => options.take("group").unwrap_or_else(|| DEFAULT_GROUP.into()),
                Direction::Sink => String::new(),
            };
            if group == RESERVED_GROUP {
                return Err(error(format!(
                    "the consumer group '{RESERVED_GROUP}' is reserved by Genesys Voice \
                     Microservices; choose another (default: {DEFAULT_GROUP})"
                )));
            }
            // Options with a dot are librdkafka's own (`session.timeout.ms`).
            let properties = options.take_dotted();
            Endpoint::Kafka { bootstrap: bootstrap.to_owned(), topics, group, properties }
        } else {
            return Err(error(
                "unknown kind of endpoint: expected file:PATH, tcp://HOST:PORT or \
                 kafka://BOOTSTRAP/TOPIC"
                    .into(),
            ));
        };
        options.finish().map_err(error)?;
        Ok(endpoint)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::File { path, follow, rotate_bytes, position, .. } => {
                write!(f, "file {}", path.display())?;
                if *follow {
                    f.write_str(" (followed)")?;
                }
                if let Some(kept) = position {
                    write!(f, " (position kept in {})", kept.display())?;
                }
                if let Some(bytes) = rotate_bytes {
                    write!(f, " (rotated past {bytes} bytes)")?;
                }
                Ok(())
            }
            Endpoint::Tcp { listen, token, .. } => {
                write!(f, "tcp listener {listen}")?;
                if token.is_some() {
                    f.write_str(" (token handshake)")?;
                }
                Ok(())
            }
            Endpoint::Kafka { bootstrap, topics, group, .. } => {
                write!(f, "kafka {bootstrap} topics {}", topics.join(","))?;
                if !group.is_empty() {
                    write!(f, " (group {group})")?;
                }
                Ok(())
            }
        }
    }
}

/// Kafka's rule for topic names.
fn valid_topic(topic: &str) -> bool {
    !topic.is_empty()
        && topic.len() <= 249
        && topic.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn resolve(address: &str) -> Result<SocketAddr, String> {
    let address = address.trim_end_matches('/');
    if !address.contains(':') {
        return Err("no port: expected tcp://HOST:PORT".into());
    }
    address
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve {address}: {error}"))?
        .next()
        .ok_or_else(|| format!("{address} resolves to no address"))
}

/// The `?key=value&…` options of a URL; each must be used once.
struct Options {
    pairs: Vec<(String, String)>,
}

impl Options {
    fn parse(query: &str) -> Result<Options, String> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
            if pairs.iter().any(|(seen, _)| seen == key) {
                return Err(format!("option '{key}' is given twice"));
            }
            pairs.push((key.to_owned(), value.to_owned()));
        }
        Ok(Options { pairs })
    }

    fn take(&mut self, key: &str) -> Option<String> {
        let index = self.pairs.iter().position(|(k, _)| k == key)?;
        Some(self.pairs.remove(index).1)
    }

    fn take_dotted(&mut self) -> Vec<(String, String)> {
        let (dotted, rest) =
            std::mem::take(&mut self.pairs).into_iter().partition(|(k, _)| k.contains('.'));
        self.pairs = rest;
        dotted
    }

    fn flag(&mut self, key: &str) -> Result<Option<bool>, String> {
        self.take(key)
            .map(|value| match value.as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(format!("option '{key}={value}': expected true or false")),
            })
            .transpose()
    }

    fn number<T: std::str::FromStr>(&mut self, key: &str) -> Result<Option<T>, String> {
        self.take(key)
            .map(|value| {
                value.parse().map_err(|_| format!("option '{key}={value}': expected a number"))
            })
            .transpose()
    }

    fn framing(&mut self) -> Result<Option<Framing>, String> {
        self.take("framing")
            .map(|value| match value.as_str() {
                "lines" => Ok(Framing::Lines),
                "length" => Ok(Framing::LengthPrefixed),
                "tlog" => Ok(Framing::Tlog),
                "auto" => Ok(Framing::Auto),
                _ => Err(format!("option 'framing={value}': expected lines, length, tlog or auto")),
            })
            .transpose()
    }

    /// Fails on any option nobody asked for (a typo must not pass silently).
    fn finish(self) -> Result<(), String> {
        match self.pairs.first() {
            None => Ok(()),
            Some((key, _)) => Err(format!("unknown option '{key}' for this kind of endpoint")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str) -> Result<Endpoint, String> {
        Endpoint::parse(url, Direction::Source).map_err(|e| e.to_string())
    }

    fn sink(url: &str) -> Result<Endpoint, String> {
        Endpoint::parse(url, Direction::Sink).map_err(|e| e.to_string())
    }

    #[test]
    fn files_with_and_without_options() {
        assert_eq!(
            source("file:in/calls.ndjson?follow=true&framing=length&position=in/calls.pos")
                .unwrap(),
            Endpoint::File {
                path: "in/calls.ndjson".into(),
                follow: true,
                framing: Some(Framing::LengthPrefixed),
                rotate_bytes: None,
                position: Some("in/calls.pos".into()),
            }
        );
        assert_eq!(
            sink("file:///tmp/out.ndjson?rotate_bytes=1000").unwrap(),
            Endpoint::File {
                path: "/tmp/out.ndjson".into(),
                follow: false,
                framing: None,
                rotate_bytes: Some(1000),
                position: None,
            }
        );
    }

    #[test]
    fn kafka_topics_and_group() {
        let Endpoint::Kafka { bootstrap, topics, group, .. } =
            source("kafka://b1:9092,b2:9092/voice-callthread,voice-agentstate").unwrap()
        else {
            panic!("not kafka");
        };
        assert_eq!(bootstrap, "b1:9092,b2:9092");
        assert_eq!(topics, ["voice-callthread", "voice-agentstate"]);
        assert_eq!(group, DEFAULT_GROUP);
        let Endpoint::Kafka { group, properties, .. } =
            source("kafka://b:9092/t?group=ops&session.timeout.ms=6000").unwrap()
        else {
            panic!("not kafka");
        };
        assert_eq!(group, "ops");
        assert_eq!(properties, [("session.timeout.ms".to_owned(), "6000".to_owned())]);
    }

    #[test]
    fn tcp_source_options() {
        let Endpoint::Tcp { listen, token, max_connections, idle_timeout, .. } =
            source("tcp://127.0.0.1:7000?token=s3cret&max_connections=8&idle_timeout=30").unwrap()
        else {
            panic!("not tcp");
        };
        assert_eq!(listen, "127.0.0.1:7000".parse().unwrap());
        assert_eq!(token.as_deref(), Some("s3cret"));
        assert_eq!(max_connections, Some(8));
        assert_eq!(idle_timeout, Some(Duration::from_secs(30)));
    }

    #[test]
    fn mistakes_say_what_was_expected() {
        let cases = [
            ("calls.ndjson", "unknown kind of endpoint: expected file:PATH"),
            ("kafka://b:9092", "no topic: expected kafka://BOOTSTRAP/TOPIC"),
            ("kafka://b:9092/t?group=callthread", "reserved by Genesys"),
            ("kafka://b:9092/bad topic", "characters Kafka refuses"),
            ("tcp://127.0.0.1", "no port"),
            ("file:x?follow=perhaps", "expected true or false"),
            ("file:x?folow=true", "unknown option 'folow'"),
            ("file:x?follow=true&follow=false", "given twice"),
            ("file:", "no path"),
        ];
        for (url, expected) in cases {
            let message = source(url).unwrap_err();
            assert!(message.contains(expected), "{url}: {message}");
            assert!(message.starts_with(&format!("'{url}'")), "{message}");
        }
        assert!(sink("kafka://b:9092/a,b").unwrap_err().contains("one topic"));
        // Source options are not sink options.
        assert!(sink("file:x?follow=true").unwrap_err().contains("unknown option 'follow'"));
    }
}
