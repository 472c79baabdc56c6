//! Sources and sinks: what sits at both ends of the pipeline.
//!
//! A source hands out framed records and can say how far it has got; a sink
//! takes serialized outputs and says what it has made durable. The two meet in
//! the acknowledgement protocol that gives at-least-once delivery end to end:
//!
//! 1. The driver pushes a source's records into the pipeline, and now and
//!    then asks it for a [`Source::mark`]: a token covering every record
//!    handed out so far, noted with the pipeline's record number at that time.
//! 2. When every output caused by records up to that number has reached every
//!    sink and each sink's [`Sink::flush`] has returned (the data is durable),
//!    the driver gives the mark back to [`Source::commit`].
//! 3. The source then makes the position permanent (a Kafka offset commit, a
//!    file offset in a checkpoint). After a crash it resumes there: records
//!    after it are read again, none before it are lost.
//!
//! Configuration is kept apart from the running component: a config is plain
//! data (parsed from a URL or a TOML file, validated, printable) and
//! [`Connect::connect`] turns it into a source or sink.

use std::fmt;
use std::io;
use std::time::Duration;

use bytes::Bytes;

/// One record from a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRecord {
    /// The record itself (a slice of a larger buffer, never copied again).
    pub payload: Bytes,
    /// The record key (a Kafka key, or the text before a TAB on a line).
    pub key: Option<Bytes>,
    /// Which stream of the source it came from: a Kafka partition, a socket
    /// connection, a file. Named by [`Source::stream_label`].
    pub stream: u32,
    /// Where in that stream: a line, a frame number or an offset.
    pub position: u64,
    /// The outputs of this record are durable already: an earlier reader of
    /// the stream (the member that owned a Kafka partition before a
    /// rebalance, or this one before a crash) wrote them, and the stream is
    /// read again from before it only to rebuild state (a commit held at
    /// the first event of a call still open). The pipeline applies it to its
    /// state and writes nothing for it.
    pub replayed: bool,
}

/// How a stream is named in record origins: `label` then `separator` then the
/// position (`calls.ndjson:42`, `voice-callthread/3@1207`, `10.0.0.7:5501:9`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamLabel {
    /// The stream's name.
    pub label: String,
    /// What goes between the name and the position.
    pub separator: char,
}

impl StreamLabel {
    /// A label written `label{separator}{position}`.
    pub fn new(label: impl Into<String>, separator: char) -> StreamLabel {
        StreamLabel { label: label.into(), separator }
    }

    /// The origin of the record at `position` in this stream.
    pub fn origin(&self, position: u64) -> String {
        format!("{}{}{position}", self.label, self.separator)
    }
}

/// What a poll of a source found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polled {
    /// This many records were handed out (at least one).
    Records(usize),
    /// Nothing arrived within the wait; more may come.
    Idle,
    /// The source has ended and will hand out nothing more (end of a file
    /// that is not followed).
    Ended,
}

/// A component's health, as a metrics endpoint or a check reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Working.
    Up,
    /// Working with a problem that may pass (a broker unreachable and being
    /// retried, a subscriber dropped).
    Degraded(String),
    /// Not working (closed, or failed for good).
    Down(String),
}

impl Health {
    /// Whether the component is working at all.
    pub fn is_up(&self) -> bool {
        !matches!(self, Health::Down(_))
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Health::Up => f.write_str("up"),
            Health::Degraded(why) => write!(f, "degraded: {why}"),
            Health::Down(why) => write!(f, "down: {why}"),
        }
    }
}

/// A record whose framing failed in a source (too long, cut off): the driver
/// sends it to the rejects output with its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReject {
    /// The stream it came from.
    pub stream: u32,
    /// Where in that stream.
    pub position: u64,
    /// Why it was refused, with where in the stream.
    pub reason: String,
    /// The reason without its position: rejects of one kind are counted
    /// together under it.
    pub class: String,
    /// The start of the record, when there is one.
    pub raw: Bytes,
}

/// Where a source puts what it read.
pub trait Intake {
    /// A framed record.
    fn record(&mut self, record: SourceRecord);

    /// A record the source could not frame.
    fn reject(&mut self, reject: SourceReject);
}

/// A running source of records.
///
/// Sources are polled from one thread, the driver's; they may run threads of
/// their own (a socket listener, librdkafka's) and hand over in `poll`.
pub trait Source: Send {
    /// The source as configured, for messages (`file:calls.ndjson`, `tcp://…`).
    fn name(&self) -> &str;

    /// Hands what has arrived to `intake`, waiting up to `wait` when nothing
    /// has. A source hands out at most a few thousand records per poll so the
    /// driver stays responsive.
    ///
    /// # Errors
    /// An error the source cannot recover from; passing trouble (a broker
    /// restarting) is retried inside and shows in [`health`](Self::health).
    fn poll(&mut self, wait: Duration, intake: &mut dyn Intake) -> io::Result<Polled>;

    /// How a stream of this source is named in origins.
    fn stream_label(&self, stream: u32) -> StreamLabel;

    /// A token covering every record handed out so far (see the module docs).
    fn mark(&mut self) -> u64;

    /// The outputs of every record covered by `mark` are durable: make the
    /// position permanent. Marks come back in the order they were taken.
    ///
    /// # Errors
    /// When the position could not be stored; the driver reports it and tries
    /// again with the next mark.
    fn commit(&mut self, mark: u64) -> io::Result<()>;

    /// Commits `mark` as [`commit`](Self::commit) does, except that no
    /// stream's position may pass its floor in `floors` (stream, position):
    /// records from the floor on are still needed to rebuild state that has
    /// no output yet (a call still open), and after a crash they must be read
    /// again. Sources that cannot read again from a position (sockets) or do
    /// not count positions in the same unit as their commits ignore the
    /// floors; the default does.
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    fn commit_within(&mut self, mark: u64, floors: &[(u32, u64)]) -> io::Result<()> {
        let _ = floors;
        self.commit(mark)
    }

    /// Whether stream `stream` was taken from this source by another reader
    /// that reads it again from the last commit (a Kafka partition revoked
    /// in a rebalance). Commits stop at the oldest open call
    /// ([`commit_within`](Self::commit_within)), so that reader rebuilds the
    /// calls still open here and writes them whole; the driver forgets them
    /// rather than write them open. The default: no stream is ever taken.
    fn released(&self, stream: u32) -> bool {
        let _ = stream;
        false
    }

    /// The driver dropped the state it built from these released streams
    /// ([`released`](Self::released)): the source no longer counts them as
    /// read, and [`save_position`](Self::save_position) leaves them out, so a
    /// checkpoint taken now does not skip what their new reader commits
    /// after. The default does nothing.
    fn forget_streams(&mut self, streams: &[u32]) {
        let _ = streams;
    }

    /// Where reading has got to — just after the last record handed out — as
    /// bytes a later run gives to [`resume_from`](Self::resume_from). A
    /// checkpoint keeps them beside the reducer state of those same records,
    /// so a restart goes on exactly where that state stops. `None` (the
    /// default) when the source cannot be read again from a place (a socket:
    /// its clients decide what they send again).
    fn save_position(&mut self) -> Option<Vec<u8>> {
        None
    }

    /// Goes to a position [`save_position`](Self::save_position) gave, in
    /// this or an earlier process, before the first [`poll`](Self::poll).
    ///
    /// # Errors
    /// When the bytes are not such a position, or the source cannot go there
    /// (the default: it cannot resume at all).
    fn resume_from(&mut self, saved: &[u8]) -> io::Result<()> {
        let _ = saved;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} cannot resume from a saved position", self.name()),
        ))
    }

    /// Whether the source is working.
    fn health(&self) -> Health;

    /// Stops reading and releases what the source holds (after the final
    /// commit).
    ///
    /// # Errors
    /// When releasing failed (reported, not fatal).
    fn close(&mut self) -> io::Result<()>;
}

/// A running sink of serialized outputs: NDJSON lines, each with a key.
///
/// A sink is driven from one thread of its own, so it may block in `write`
/// or `flush` without holding up the pipeline (the queue in front of it
/// absorbs the wait, and fills, and then backpressure reaches the sources).
pub trait Sink: Send {
    /// The sink as configured, for messages.
    fn name(&self) -> &str;

    /// Writes one output: `line` is one JSON object followed by a newline;
    /// `key` is what a keyed transport partitions by (`tenant:agent` or
    /// `tenant:call thread`).
    ///
    /// # Errors
    /// When the output could not be taken; the driver stops committing until
    /// a flush succeeds again.
    fn write(&mut self, key: &[u8], line: &[u8]) -> io::Result<()>;

    /// Makes everything written so far durable (fsync, broker acknowledgement)
    /// and returns only then: this is the sink's acknowledgement.
    ///
    /// # Errors
    /// When durability could not be reached; nothing written since the last
    /// successful flush is acknowledged.
    fn flush(&mut self) -> io::Result<()>;

    /// Whether the sink is working.
    fn health(&self) -> Health;

    /// Whether every output given since the last successful flush is still
    /// held after a failed `write` or `flush`, so that a later flush can
    /// still make all of it durable: the failure was the destination's (a
    /// disk full), not the outputs'. A runner then waits and flushes again,
    /// holding back new outputs meanwhile, instead of giving up.
    ///
    /// The default is `false`: a failure may have lost outputs, and no later
    /// flush may acknowledge them.
    fn keeps_unwritten(&self) -> bool {
        false
    }

    /// What the last successful [`flush`](Self::flush) made durable, as
    /// bytes a later run gives to [`rewind_to`](Self::rewind_to): a
    /// checkpoint keeps them so that a restart can drop what was written
    /// after the checkpoint, which the restarted run writes again. `None`
    /// (the default) when the sink cannot take back what it wrote (a topic,
    /// a socket): after a restart its consumers may see those outputs twice.
    fn durable_position(&self) -> Option<Vec<u8>> {
        None
    }

    /// Drops everything written after `saved` (from
    /// [`durable_position`](Self::durable_position)), before the first write.
    ///
    /// # Errors
    /// When the bytes are not such a position or the outputs after it cannot
    /// be dropped (the default: the sink cannot rewind).
    fn rewind_to(&mut self, saved: &[u8]) -> io::Result<()> {
        let _ = saved;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} cannot take back what it wrote", self.name()),
        ))
    }

    /// Flushes and releases what the sink holds.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    fn close(&mut self) -> io::Result<()>;
}

/// A configuration that can be turned into a running component.
pub trait Connect {
    /// What it connects to.
    type Running;

    /// Opens, binds or connects.
    ///
    /// # Errors
    /// When the component cannot start; the message names the component and
    /// the cause.
    fn connect(&self) -> io::Result<Self::Running>;
}

/// An intake that collects everything, for tests and small tools.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CollectIntake {
    /// The records, in the order handed out.
    pub records: Vec<SourceRecord>,
    /// The framing rejects.
    pub rejects: Vec<SourceReject>,
}

impl Intake for CollectIntake {
    fn record(&mut self, record: SourceRecord) {
        self.records.push(record);
    }

    fn reject(&mut self, reject: SourceReject) {
        self.rejects.push(reject);
    }
}

/// Polls `source` until it ends or `idle_for` passes with nothing new,
/// collecting everything (tests and small tools).
///
/// # Errors
/// The source's error.
pub fn drain(source: &mut dyn Source, idle_for: Duration) -> io::Result<CollectIntake> {
    let mut intake = CollectIntake::default();
    let mut quiet = std::time::Instant::now();
    loop {
        match source.poll(Duration::from_millis(20), &mut intake)? {
            Polled::Records(_) => quiet = std::time::Instant::now(),
            Polled::Ended => return Ok(intake),
            Polled::Idle if quiet.elapsed() >= idle_for => return Ok(intake),
            Polled::Idle => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_name_the_stream_and_position() {
        assert_eq!(StreamLabel::new("calls.ndjson", ':').origin(42), "calls.ndjson:42");
        assert_eq!(
            StreamLabel::new("voice-callthread/3", '@').origin(1207),
            "voice-callthread/3@1207"
        );
    }

    #[test]
    fn health_reads_as_a_person_would_say_it() {
        assert!(Health::Degraded("broker down".into()).is_up());
        assert!(!Health::Down("closed".into()).is_up());
        assert_eq!(Health::Degraded("broker down".into()).to_string(), "degraded: broker down");
    }
}
