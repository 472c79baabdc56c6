//! Where `ctistream gen` writes: a file or standard output, a Kafka topic (one
//! keyed message per line, as on the Voice Microservices topics), or a TCP
//! connection to a `ctistream run --from tcp://…` listener.

use std::io::{self, BufWriter, Write};
use std::net::TcpStream;

use anyhow::Context;
use ctistream_core::connect::Sink;

use crate::generate::GenDialect;
use crate::run::connect;
use crate::run::endpoint::{Direction, Endpoint};

/// How long a generated message may wait for the broker (ms) unless the URL
/// says otherwise (`?message.timeout.ms=…`).
const GEN_MESSAGE_TIMEOUT_MS: &str = "30000";

/// Opens `target` for the generated events of `dialect`: `-` (standard
/// output), `kafka://BOOTSTRAP/TOPIC[?property=value…]`,
/// `tcp://HOST:PORT[?token=T]`, else a file path.
///
/// # Errors
/// A URL that does not parse, a target that cannot be opened or reached, or
/// T-Server log text for Kafka (a log record spans lines; a message carries
/// one event).
pub fn open(target: &str, dialect: GenDialect) -> anyhow::Result<Box<dyn Write + Send>> {
    if target == "-" {
        return Ok(Box::new(io::stdout()));
    }
    if target.starts_with("kafka://") {
        if matches!(dialect, GenDialect::Tlog | GenDialect::Mixed) {
            anyhow::bail!(
                "--out {target}: a Kafka message carries one event, and a T-Server log record \
                 spans lines; use --dialect genesys, ors, sdk or ivr (T-Server logs go to a \
                 file or tcp://)"
            );
        }
        let mut endpoint = Endpoint::parse(target, Direction::Sink)?;
        if let Endpoint::Kafka { properties, .. } = &mut endpoint
            && !properties.iter().any(|(name, _)| name == "message.timeout.ms")
        {
            // librdkafka's default is five minutes: an unreachable broker
            // should fail a generator run sooner.
            properties.push(("message.timeout.ms".into(), GEN_MESSAGE_TIMEOUT_MS.into()));
        }
        return Ok(Box::new(KeyedMessages::new(connect::sink(&endpoint)?)));
    }
    if let Some(rest) = target.strip_prefix("tcp://") {
        return Ok(Box::new(connect_tcp(target, rest)?));
    }
    let file =
        std::fs::File::create(target).with_context(|| format!("cannot create output {target}"))?;
    Ok(Box::new(file))
}

/// Turns written bytes into one sink message per complete `KEY<TAB>VALUE`
/// line; `flush` waits until the sink has them durably.
struct KeyedMessages {
    sink: Box<dyn Sink>,
    /// The start of a line not yet complete.
    partial: Vec<u8>,
    line: u64,
}

impl KeyedMessages {
    fn new(sink: Box<dyn Sink>) -> KeyedMessages {
        KeyedMessages { sink, partial: Vec::new(), line: 0 }
    }

    fn send(&mut self, line: &[u8]) -> io::Result<()> {
        self.line += 1;
        let Some(tab) = memchr::memchr(b'\t', line) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("line {}: no KEY<TAB> before the event, no message key", self.line),
            ));
        };
        self.sink.write(&line[..tab], &line[tab + 1..])
    }
}

impl Write for KeyedMessages {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() {
                self.send(&rest[..end])?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.send(&line)?;
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.send(&line)?;
        }
        self.sink.flush()
    }
}

impl Drop for KeyedMessages {
    fn drop(&mut self) {
        let _ = self.sink.close();
    }
}

/// A connection to the TCP source at `rest` (`HOST:PORT[?token=T]`), the
/// token sent first if the URL has one; dropping it closes the connection,
/// which ends the source's stream.
fn connect_tcp(url: &str, rest: &str) -> anyhow::Result<BufWriter<TcpStream>> {
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut token = None;
    for option in query.split('&').filter(|o| !o.is_empty()) {
        match option.split_once('=') {
            Some(("token", value)) => token = Some(value.to_owned()),
            _ => anyhow::bail!("--out {url}: unknown option '{option}' (known: token)"),
        }
    }
    let stream =
        TcpStream::connect(address).with_context(|| format!("--out {url}: cannot connect"))?;
    let mut stream = BufWriter::with_capacity(256 * 1024, stream);
    if let Some(token) = token {
        stream.write_all(token.as_bytes())?;
        stream.write_all(b"\n")?;
    }
    Ok(stream)
}
