//! The socket adapters against real TCP clients on 127.0.0.1.

#![cfg(feature = "socket")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ctistream_adapters::socket::{
    TcpSink, TcpSinkConfig, TcpSource, TcpSourceConfig, TcpSourceStats,
};
use ctistream_core::Framing;
use ctistream_core::connect::{CollectIntake, Connect, Polled, Sink, Source};

/// How long any wait in these tests may take before it counts as a failure.
const PATIENCE: Duration = Duration::from_secs(15);

fn listen(framing: Framing) -> TcpSourceConfig {
    TcpSourceConfig::new("127.0.0.1:0", framing)
}

/// Polls until `done` holds, failing the test after [`PATIENCE`].
fn poll_until(
    source: &mut TcpSource,
    intake: &mut CollectIntake,
    what: &str,
    mut done: impl FnMut(&CollectIntake, &TcpSourceStats) -> bool,
) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        source.poll(Duration::from_millis(20), intake).unwrap();
        if done(intake, &source.stats()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}, {} records, rejects {:?}",
            source.stats(),
            intake.records.len(),
            intake.rejects
        );
    }
}

/// Whether the server closed `client` within `within` (end of stream or reset).
fn closed_by_server(client: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 256];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        client.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match client.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
    false
}

fn length_prefixed(payload: &[u8]) -> Vec<u8> {
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}

/// The origin of the record or reject at `stream`/`position`.
fn origin(source: &TcpSource, stream: u32, position: u64) -> String {
    source.stream_label(stream).origin(position)
}

#[test]
fn lines_from_many_clients_keep_stream_position_and_key() {
    const CLIENTS: usize = 8;
    const LINES: usize = 500;
    let mut source = listen(Framing::Lines).connect().unwrap();
    let addr = source.local_addr();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            thread::spawn(move || {
                let mut socket = TcpStream::connect(addr).unwrap();
                let mut text = String::new();
                for line in 0..LINES {
                    // Every third line is bare JSON (no key); the rest are keyed.
                    if line % 3 == 0 {
                        text.push_str(&format!("{{\"client\":{client},\"line\":{line}}}\n"));
                    } else {
                        text.push_str(&format!(
                            "t{client}:call{line}\t{{\"client\":{client},\"line\":{line}}}\n"
                        ));
                    }
                }
                // Written in uneven pieces so lines straddle reads.
                for piece in text.as_bytes().chunks(777) {
                    socket.write_all(piece).unwrap();
                }
                socket.local_addr().unwrap()
            })
        })
        .collect();
    let peers: Vec<SocketAddr> = clients.into_iter().map(|c| c.join().unwrap()).collect();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "every line", |intake, _| {
        intake.records.len() >= CLIENTS * LINES
    });
    assert_eq!(intake.records.len(), CLIENTS * LINES);
    assert!(intake.rejects.is_empty(), "{:?}", intake.rejects);

    let mut seen: HashMap<u32, u64> = HashMap::new();
    for record in &intake.records {
        let label = source.stream_label(record.stream).label;
        let client = peers.iter().position(|peer| peer.to_string() == label).unwrap();
        // Records of one connection arrive in order, numbered from 1.
        let last = seen.entry(record.stream).or_insert(0);
        assert_eq!(record.position, *last + 1, "order on {label}");
        *last = record.position;
        let line = record.position as usize - 1;
        let payload = format!("{{\"client\":{client},\"line\":{line}}}");
        assert_eq!(record.payload, payload.as_bytes());
        let key = (line % 3 != 0).then(|| format!("t{client}:call{line}"));
        assert_eq!(record.key.as_deref(), key.as_ref().map(|key| key.as_bytes()));
        assert_eq!(
            origin(&source, record.stream, record.position),
            format!("{label}:{}", line + 1)
        );
    }
    assert_eq!(seen.len(), CLIENTS, "one stream per connection");
    let stats = source.stats();
    assert_eq!(stats.accepted, CLIENTS as u64);
    assert_eq!(stats.records, (CLIENTS * LINES) as u64);
    source.close().unwrap();
}

#[test]
fn length_prefixed_frames_from_many_clients_arrive_intact() {
    const CLIENTS: usize = 6;
    const FRAMES: usize = 300;
    let mut source = listen(Framing::LengthPrefixed).connect().unwrap();
    let addr = source.local_addr();
    // Payloads hold newlines, TABs and every byte value: framing is by length only.
    let payload = |client: usize, frame: usize| -> Vec<u8> {
        let len = 1 + (client * 131 + frame * 17) % 3000;
        (0..len).map(|i| ((i + client + frame) % 256) as u8).collect()
    };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            thread::spawn(move || {
                let mut socket = TcpStream::connect(addr).unwrap();
                let mut bytes = Vec::new();
                for frame in 0..FRAMES {
                    bytes.extend(length_prefixed(&payload(client, frame)));
                }
                for piece in bytes.chunks(1001) {
                    socket.write_all(piece).unwrap();
                }
                socket.local_addr().unwrap().to_string()
            })
        })
        .collect();
    let peers: Vec<String> = clients.into_iter().map(|c| c.join().unwrap()).collect();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "every frame", |intake, _| {
        intake.records.len() >= CLIENTS * FRAMES
    });
    assert_eq!(intake.records.len(), CLIENTS * FRAMES);
    let mut next: HashMap<u32, u64> = HashMap::new();
    for record in &intake.records {
        let label = source.stream_label(record.stream).label;
        let client = peers.iter().position(|peer| *peer == label).unwrap();
        let expected = next.entry(record.stream).or_insert(1);
        assert_eq!(record.position, *expected);
        *expected += 1;
        assert_eq!(record.payload, payload(client, record.position as usize - 1));
        assert_eq!(record.key, None);
    }
    source.close().unwrap();
}

#[test]
fn oversized_line_closes_only_its_connection() {
    let mut config = listen(Framing::Lines);
    config.max_record = 64;
    let mut source = config.connect().unwrap();
    let mut good = TcpStream::connect(source.local_addr()).unwrap();
    let mut bad = TcpStream::connect(source.local_addr()).unwrap();
    good.write_all(b"t1:g\t{\"n\":1}\n").unwrap();
    let oversized = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(200));
    let sent = format!("{{\"n\":1}}\n{{\"n\":2}}\n{oversized}{{\"n\":4}}\n");
    bad.write_all(sent.as_bytes()).unwrap();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "the reject", |intake, stats| {
        !intake.rejects.is_empty() && stats.closed_bad_frame == 1
    });
    assert!(closed_by_server(&mut bad, PATIENCE), "the bad client is disconnected");
    let reject = &intake.rejects[0];
    assert_eq!(
        origin(&source, reject.stream, reject.position),
        format!("{}:3", bad.local_addr().unwrap())
    );
    assert!(reject.reason.contains("longer than the limit of 64 bytes"), "{}", reject.reason);
    assert!(oversized.as_bytes().starts_with(&reject.raw) && reject.raw.len() >= 64);

    // The records before the bad one are kept; the one after it is not read.
    let bad_stream = reject.stream;
    let from_bad: Vec<_> = intake
        .records
        .iter()
        .filter(|r| r.stream == bad_stream)
        .map(|r| r.payload.clone())
        .collect();
    assert_eq!(from_bad, [Bytes::from_static(b"{\"n\":1}"), Bytes::from_static(b"{\"n\":2}")]);

    // The good client goes on after the bad one was closed.
    good.write_all(b"t1:g\t{\"n\":2}\n").unwrap();
    poll_until(&mut source, &mut intake, "the good client's second line", |intake, _| {
        intake.records.iter().filter(|r| r.stream != bad_stream).count() == 2
    });
    let last = intake.records.last().unwrap();
    assert_eq!((last.position, &last.payload[..]), (2, &b"{\"n\":2}"[..]));
    assert_eq!(source.stats().open, 1);
    source.close().unwrap();
}

#[test]
fn garbage_length_prefix_closes_only_its_connection() {
    let mut config = listen(Framing::LengthPrefixed);
    config.max_record = 1024;
    let mut source = config.connect().unwrap();
    let mut good = TcpStream::connect(source.local_addr()).unwrap();
    let mut bad = TcpStream::connect(source.local_addr()).unwrap();
    let mut garbage = length_prefixed(b"{\"ok\":true}");
    garbage.extend_from_slice(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    bad.write_all(&garbage).unwrap();
    good.write_all(&length_prefixed(b"first")).unwrap();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "the reject", |intake, _| !intake.rejects.is_empty());
    assert!(closed_by_server(&mut bad, PATIENCE));
    let reject = &intake.rejects[0];
    // "GET " read as a length is 1195725856 bytes: over the limit at once.
    assert_eq!(
        origin(&source, reject.stream, reject.position),
        format!("{}:2", bad.local_addr().unwrap())
    );
    assert!(reject.reason.contains("longer than the limit"), "{}", reject.reason);
    assert!(b"/ HTTP/1.1\r\nHost: x\r\n\r\n".starts_with(&reject.raw));
    assert!(
        intake.records.iter().any(|r| r.stream == reject.stream && r.payload == "{\"ok\":true}")
    );

    good.write_all(&length_prefixed(b"second")).unwrap();
    poll_until(&mut source, &mut intake, "the good client's frames", |intake, _| {
        intake.records.iter().any(|r| r.payload == "second")
    });
    let stats = source.stats();
    assert_eq!((stats.closed_bad_frame, stats.open), (1, 1));
    source.close().unwrap();
}

#[test]
fn wrong_token_closes_only_its_connection() {
    let mut config = listen(Framing::Lines);
    config.token = Some(Bytes::from_static(b"s3cret"));
    let mut source = config.connect().unwrap();
    let mut good = TcpStream::connect(source.local_addr()).unwrap();
    let mut bad = TcpStream::connect(source.local_addr()).unwrap();
    good.write_all(b"s3cret\n{\"n\":1}\n").unwrap();
    bad.write_all(b"s3cre\n{\"n\":666}\n").unwrap();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "the handshake reject", |intake, stats| {
        !intake.rejects.is_empty() && stats.bad_handshakes == 1 && !intake.records.is_empty()
    });
    assert!(closed_by_server(&mut bad, PATIENCE));
    let reject = &intake.rejects[0];
    assert_eq!(
        origin(&source, reject.stream, reject.position),
        format!("{}:1", bad.local_addr().unwrap())
    );
    assert!(reject.reason.contains("handshake"), "{}", reject.reason);
    assert!(reject.raw.is_empty(), "a wrong secret is not copied to the rejects");

    // The token frame is not a record; the good client's first record is line 2.
    good.write_all(b"{\"n\":2}\n").unwrap();
    poll_until(&mut source, &mut intake, "the good client's records", |intake, _| {
        intake.records.len() >= 2
    });
    let good_records: Vec<_> =
        intake.records.iter().map(|r| (r.position, r.payload.clone())).collect();
    assert_eq!(
        good_records,
        [(2, Bytes::from_static(b"{\"n\":1}")), (3, Bytes::from_static(b"{\"n\":2}"))]
    );
    assert_eq!(source.stats().closed_bad_frame, 0);
    source.close().unwrap();
}

#[test]
fn connection_cap_refuses_the_extra_client() {
    let mut config = listen(Framing::Lines);
    config.max_connections = 2;
    let mut source = config.connect().unwrap();
    let addr = source.local_addr();
    let mut first = TcpStream::connect(addr).unwrap();
    let mut second = TcpStream::connect(addr).unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "two connections", |_, stats| stats.accepted == 2);

    let mut extra = TcpStream::connect(addr).unwrap();
    assert!(closed_by_server(&mut extra, PATIENCE), "the third client is closed at once");
    assert_eq!(source.stats().refused_over_cap, 1);

    first.write_all(b"{\"from\":1}\n").unwrap();
    second.write_all(b"{\"from\":2}\n").unwrap();
    poll_until(&mut source, &mut intake, "both clients' records", |intake, _| {
        intake.records.len() == 2
    });
    // A place frees up when a client leaves.
    drop(first);
    poll_until(&mut source, &mut intake, "the first client to leave", |_, stats| stats.open == 1);
    let mut third = TcpStream::connect(addr).unwrap();
    third.write_all(b"{\"from\":3}\n").unwrap();
    poll_until(&mut source, &mut intake, "the new client's record", |intake, _| {
        intake.records.len() == 3
    });
    assert_eq!(source.stats().refused_over_cap, 1);
    source.close().unwrap();
}

#[test]
fn idle_client_is_closed_while_a_chatty_one_stays() {
    // Long enough that a loaded machine's scheduling pauses (the chatty
    // client speaks every 100 ms) never look like silence.
    let idle = Duration::from_millis(1000);
    let mut config = listen(Framing::Lines);
    config.idle_timeout = Some(idle);
    let mut source = config.connect().unwrap();
    let mut silent = TcpStream::connect(source.local_addr()).unwrap();
    let mut chatty = TcpStream::connect(source.local_addr()).unwrap();
    silent.write_all(b"{\"hello\":1}\n").unwrap();

    let mut intake = CollectIntake::default();
    let start = Instant::now();
    let mut sent = 0;
    // The chatty client speaks every 100 ms for two idle timeouts.
    while start.elapsed() < idle * 2 {
        let tick = Instant::now();
        chatty.write_all(b"{\"tick\":1}\n").unwrap();
        sent += 1;
        source.poll(Duration::from_millis(100), &mut intake).unwrap();
        thread::sleep(Duration::from_millis(100).saturating_sub(tick.elapsed()));
    }
    poll_until(&mut source, &mut intake, "the idle close", |intake, stats| {
        stats.closed_idle == 1 && intake.records.len() == sent + 1
    });
    assert!(closed_by_server(&mut silent, PATIENCE));
    assert!(start.elapsed() >= idle, "not closed before the timeout");
    // The chatty connection is still open and served.
    chatty.write_all(b"{\"tick\":2}\n").unwrap();
    poll_until(&mut source, &mut intake, "the chatty client's last tick", |intake, _| {
        intake.records.last().is_some_and(|r| r.payload == "{\"tick\":2}")
    });
    let stats = source.stats();
    assert_eq!((stats.closed_idle, stats.open), (1, 1));
    source.close().unwrap();
}

#[test]
fn record_limit_closes_the_connection_after_n_records() {
    let mut config = listen(Framing::Lines);
    config.records_per_connection = Some(3);
    let mut source = config.connect().unwrap();
    let mut client = TcpStream::connect(source.local_addr()).unwrap();
    client.write_all(b"{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n").unwrap();

    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "the limit close", |_, stats| stats.closed_for_limit == 1);
    assert!(closed_by_server(&mut client, PATIENCE));
    // Drain what may still be in flight: exactly the first three records.
    while let Polled::Records(_) = source.poll(Duration::from_millis(50), &mut intake).unwrap() {}
    let positions: Vec<u64> = intake.records.iter().map(|r| r.position).collect();
    assert_eq!(positions, [1, 2, 3]);
    assert!(intake.rejects.is_empty());
    source.close().unwrap();
}

#[test]
fn marks_count_records_and_close_takes_the_source_down() {
    let mut source = listen(Framing::Lines).connect().unwrap();
    assert!(source.health().is_up());
    assert_eq!(source.name(), format!("tcp://{}", source.local_addr()));
    let mut client = TcpStream::connect(source.local_addr()).unwrap();
    client.write_all(b"{\"n\":1}\n\n{\"n\":2}\n").unwrap();
    let mut intake = CollectIntake::default();
    poll_until(&mut source, &mut intake, "two records", |intake, _| intake.records.len() == 2);
    let mark = source.mark();
    assert_eq!(mark, 2);
    source.commit(mark).unwrap();
    let stats = source.stats();
    assert_eq!((stats.committed, stats.records, stats.bytes), (2, 2, 17));

    source.close().unwrap();
    assert!(!source.health().is_up());
    assert_eq!(source.poll(Duration::from_millis(10), &mut intake).unwrap(), Polled::Ended);
    assert!(closed_by_server(&mut client, PATIENCE), "close ends the connections");
    assert!(TcpStream::connect(source.local_addr()).is_err(), "no longer listening");
}

#[test]
fn source_config_refuses_unusable_settings() {
    let mut tlog = listen(Framing::Tlog);
    assert_eq!(tlog.connect().unwrap_err().kind(), ErrorKind::InvalidInput);
    tlog.framing = Framing::Lines;
    tlog.token = Some(Bytes::from_static(b"two\nlines"));
    assert_eq!(tlog.connect().unwrap_err().kind(), ErrorKind::InvalidInput);
    let taken = listen(Framing::Lines).connect().unwrap();
    let error =
        TcpSourceConfig::new(taken.local_addr().to_string(), Framing::Lines).connect().unwrap_err();
    assert!(error.to_string().contains("cannot listen on"), "{error}");
}

// ---- sink ----

fn sink(buffer: usize, flush_timeout: Duration) -> TcpSink {
    let mut config = TcpSinkConfig::new("127.0.0.1:0");
    config.subscriber_buffer = buffer;
    config.flush_timeout = flush_timeout;
    config.connect().unwrap()
}

fn wait_for_subscribers(sink: &TcpSink, count: usize) {
    let deadline = Instant::now() + PATIENCE;
    while sink.subscribers() != count {
        assert!(Instant::now() < deadline, "{:?}", sink.stats());
        thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a subscriber's stream to its end, checking that it is the numbered
/// lines 0, 1, 2, … in order; returns how many there were.
fn read_numbered_lines(socket: TcpStream) -> usize {
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    let mut count = 0;
    while reader.read_line(&mut line).unwrap() > 0 {
        assert_eq!(line, numbered_line(count), "line {count}");
        count += 1;
        line.clear();
    }
    count
}

fn numbered_line(n: usize) -> String {
    format!("{{\"seq\":{n},\"pad\":\"{}\"}}\n", "p".repeat(64))
}

#[test]
fn sink_subscribers_receive_every_line_in_order() {
    const LINES: usize = 20_000;
    let mut sink = sink(8 << 20, Duration::from_secs(5));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let socket = TcpStream::connect(sink.local_addr()).unwrap();
            thread::spawn(move || read_numbered_lines(socket))
        })
        .collect();
    wait_for_subscribers(&sink, 2);
    for n in 0..LINES {
        // One line without its newline: the sink adds it.
        let line = numbered_line(n);
        let line = if n == 7 { line.trim_end() } else { &line };
        sink.write(b"t1:a1", line.as_bytes()).unwrap();
        if n % 1000 == 999 {
            sink.flush().unwrap();
        }
    }
    sink.flush().unwrap();
    let stats = sink.stats();
    assert_eq!(stats.lines_written, LINES as u64);
    assert_eq!(stats.lines_sent, 2 * LINES as u64, "flush returns once handed to the kernel");
    sink.close().unwrap();
    for reader in readers {
        assert_eq!(reader.join().unwrap(), LINES);
    }
    assert!(!sink.health().is_up());
}

#[test]
fn sink_disconnects_a_subscriber_that_never_reads() {
    let flush_timeout = Duration::from_millis(300);
    // The buffer is well above what is written between two flushes, so the
    // fast subscriber, caught up at every flush, is never behind by that much.
    let mut sink = sink(4 << 20, flush_timeout);
    let sleeper = TcpStream::connect(sink.local_addr()).unwrap();
    let fast = TcpStream::connect(sink.local_addr()).unwrap();
    let reader = thread::spawn(move || read_numbered_lines(fast));
    wait_for_subscribers(&sink, 2);

    // Write until the sleeper is dropped (kernel buffers hold a few MB first).
    let mut written = 0;
    let mut slowest_flush = Duration::ZERO;
    while sink.stats().disconnected_slow == 0 {
        assert!(written < 2_000_000, "never dropped: {:?}", sink.stats());
        for _ in 0..1000 {
            sink.write(b"k", numbered_line(written).as_bytes()).unwrap();
            written += 1;
        }
        let start = Instant::now();
        sink.flush().unwrap();
        slowest_flush = slowest_flush.max(start.elapsed());
    }
    // Writes go on for the fast subscriber.
    for _ in 0..5 {
        for _ in 0..1000 {
            sink.write(b"k", numbered_line(written).as_bytes()).unwrap();
            written += 1;
        }
        sink.flush().unwrap();
    }
    let stats = sink.stats();
    assert_eq!((stats.disconnected_slow, stats.subscribers), (1, 1), "{stats:?}");
    // The sleeper held up one flush, for no longer than the timeout.
    assert!(slowest_flush < flush_timeout + Duration::from_secs(2), "{slowest_flush:?}");
    sink.close().unwrap();
    assert_eq!(reader.join().unwrap(), written);
    drop(sleeper);
}

#[test]
fn sink_drops_a_subscriber_over_its_buffer_without_waiting() {
    // A flush would wait a minute for the sleeper: the buffer limit must drop
    // it first, in `write`, which never waits.
    let mut sink = sink(256 << 10, Duration::from_secs(60));
    let sleeper = TcpStream::connect(sink.local_addr()).unwrap();
    wait_for_subscribers(&sink, 1);
    let start = Instant::now();
    let (mut written, mut bytes) = (0, 0);
    while sink.stats().disconnected_slow == 0 {
        assert!(written < 2_000_000, "never dropped: {:?}", sink.stats());
        let line = numbered_line(written);
        sink.write(b"k", line.as_bytes()).unwrap();
        written += 1;
        bytes += line.len();
    }
    sink.flush().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20), "{:?}", start.elapsed());
    let stats = sink.stats();
    assert_eq!((stats.disconnected_slow, stats.subscribers), (1, 0), "{stats:?}");
    // Not before more than the buffer limit was written.
    assert!(bytes > 256 << 10, "{bytes} bytes: {stats:?}");
    // The sleeper's stream ends (or is reset) after the lines it was sent.
    let mut sleeper = BufReader::new(sleeper);
    let mut count = 0;
    let mut line = String::new();
    while matches!(sleeper.read_line(&mut line), Ok(n) if n > 0) {
        if line.ends_with('\n') {
            assert_eq!(line, numbered_line(count));
            count += 1;
        }
        line.clear();
    }
    assert!(count < written, "{count} of {written}");
    sink.close().unwrap();
}

#[test]
fn sink_refuses_subscribers_over_the_cap() {
    let mut config = TcpSinkConfig::new("127.0.0.1:0");
    config.max_subscribers = 1;
    let mut sink = config.connect().unwrap();
    let first = TcpStream::connect(sink.local_addr()).unwrap();
    wait_for_subscribers(&sink, 1);
    let mut extra = TcpStream::connect(sink.local_addr()).unwrap();
    assert!(closed_by_server(&mut extra, PATIENCE));
    assert_eq!(sink.stats().refused_over_cap, 1);
    sink.write(b"k", b"{\"n\":1}\n").unwrap();
    sink.close().unwrap();
    let mut received = String::new();
    BufReader::new(first).read_to_string(&mut received).unwrap();
    assert_eq!(received, "{\"n\":1}\n");
}
