//! The Kafka adapter's error: what failed, and librdkafka's error when there is one.

use std::fmt;
use std::io;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A Kafka source or sink failure.
///
/// The adapters hand errors to the driver as [`io::Error`] (the
/// [`Source`](ctistream_core::connect::Source) and [`Sink`](ctistream_core::connect::Sink)
/// traits are transport-neutral); this type rides inside it, so the librdkafka
/// code stays reachable:
///
/// ```
/// # use ctistream_adapters::kafka::Error;
/// fn code(error: &std::io::Error) -> Option<rdkafka::error::RDKafkaErrorCode> {
///     error.get_ref()?.downcast_ref::<Error>()?.rdkafka_error_code()
/// }
/// ```
#[derive(Debug)]
pub struct Error {
    what: String,
    cause: Option<KafkaError>,
}

impl Error {
    /// An error described by `what` alone.
    pub(crate) fn new(what: impl Into<String>) -> Error {
        Error { what: what.into(), cause: None }
    }

    /// `what` failed because of `cause`.
    pub(crate) fn kafka(what: impl Into<String>, cause: KafkaError) -> Error {
        Error { what: what.into(), cause: Some(cause) }
    }

    /// librdkafka's error, when it caused this one.
    pub fn kafka_error(&self) -> Option<&KafkaError> {
        self.cause.as_ref()
    }

    /// librdkafka's error code, when it gave one.
    pub fn rdkafka_error_code(&self) -> Option<RDKafkaErrorCode> {
        self.cause.as_ref().and_then(KafkaError::rdkafka_error_code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cause {
            Some(cause) => write!(f, "{}: {cause}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

/// The cause is part of the message already, so it is not also a `source`:
/// error reports that walk the chain would print it once per level (the
/// librdkafka error and its code repeat the same words). It stays reachable
/// through [`Error::kafka_error`].
impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(error: Error) -> io::Error {
        let kind =
            if error.cause.is_some() { io::ErrorKind::Other } else { io::ErrorKind::InvalidInput };
        io::Error::new(kind, error)
    }
}
