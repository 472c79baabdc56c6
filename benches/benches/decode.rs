//! Decoder throughput per dialect, with serde_json into a borrowed struct as the
//! baseline on the same genesys records (`Throughput::Bytes`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctistream_benches::{
    genesys_corpus, ivr_corpus, ors_corpus, payloads, sdk_corpus, serde_baseline, tlog_corpus,
};
use ctistream_core::{Attr, Decoder, Format, Frame, FrameReader, Framing};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn genesys(c: &mut Criterion) {
    let corpus = genesys_corpus(10_000, false);
    let records = payloads(&corpus);
    let bytes: usize = records.iter().map(|r| r.len()).sum();
    let mut group = c.benchmark_group("decode_genesys");
    group.throughput(Throughput::Bytes(bytes as u64));
    let decoder = Decoder::new(Format::Genesys);
    group.bench_function("ctistream", |b| {
        b.iter(|| {
            let mut dns = 0usize;
            for record in &records {
                let event = decoder.decode(black_box(record), None).expect("valid corpus");
                dns += event.raw(Attr::ThisDN).map_or(0, <[u8]>::len);
            }
            dns
        })
    });
    let auto = Decoder::new(Format::Auto);
    group.bench_function("ctistream_auto", |b| {
        b.iter(|| {
            for record in &records {
                black_box(auto.decode(black_box(record), None).expect("valid corpus"));
            }
        })
    });
    group.bench_function("serde_json_borrowed", |b| {
        b.iter(|| {
            let mut dns = 0usize;
            for record in &records {
                let event = serde_baseline::decode(black_box(record)).expect("valid corpus");
                dns += event.ThisDN.map_or(0, |dn| dn.len());
            }
            dns
        })
    });
    group.bench_function("validate_only", |b| {
        b.iter(|| {
            for record in &records {
                ctistream_core::validate_json(black_box(record), 128).expect("valid corpus");
            }
        })
    });
    group.finish();
}

/// Decodes every record with ctistream and with a serde_json borrowed struct.
fn json_dialect(
    c: &mut Criterion,
    group_name: &str,
    format: Format,
    corpus: &[u8],
    serde: fn(&[u8]) -> serde_json::Result<usize>,
) {
    let records = payloads(corpus);
    let bytes: usize = records.iter().map(|r| r.len()).sum();
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Bytes(bytes as u64));
    let decoder = Decoder::new(format);
    group.bench_function("ctistream", |b| {
        b.iter(|| {
            for record in &records {
                black_box(decoder.decode(black_box(record), None).expect("valid corpus"));
            }
        })
    });
    group.bench_function("serde_json_borrowed", |b| {
        b.iter(|| {
            for record in &records {
                black_box(serde(black_box(record)).expect("valid corpus"));
            }
        })
    });
    group.finish();
}

fn ors(c: &mut Criterion) {
    json_dialect(c, "decode_ors", Format::Ors, &ors_corpus(10_000), |record| {
        serde_json::from_slice::<serde_baseline::OrsRecord<'_>>(record)
            .map(|r| black_box(r).name.len())
    });
}

fn sdk(c: &mut Criterion) {
    json_dialect(c, "decode_sdk", Format::Sdk, &sdk_corpus(10_000), |record| {
        serde_json::from_slice::<serde_baseline::SdkRecord<'_>>(record)
            .map(|r| black_box(r).eventType.len())
    });
}

/// Decodes framed records of a non-JSON dialect; the baseline is the cost of
/// framing alone (what any decoder pays before it starts).
fn framed_dialect(
    c: &mut Criterion,
    group_name: &str,
    format: Format,
    framing: Framing,
    corpus: &[u8],
) {
    let frames: Vec<Frame> =
        FrameReader::new(corpus, framing).map(|frame| frame.expect("valid corpus")).collect();
    let bytes: usize = frames.iter().map(|f| f.payload.len()).sum();
    let mut group = c.benchmark_group(group_name);
    group.throughput(Throughput::Bytes(bytes as u64));
    let decoder = Decoder::new(format);
    group.bench_function("ctistream", |b| {
        b.iter(|| {
            for frame in &frames {
                black_box(decoder.decode(black_box(&frame.payload), None).expect("valid corpus"));
            }
        })
    });
    group.finish();
}

fn ivr(c: &mut Criterion) {
    let corpus = ivr_corpus(10_000);
    framed_dialect(c, "decode_ivr", Format::Ivr, Framing::Lines, &corpus);
    let records = payloads(&corpus);
    let bytes: usize = records.iter().map(|r| r.len()).sum();
    let mut group = c.benchmark_group("decode_ivr");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("quick_xml_events_only", |b| {
        b.iter(|| {
            for record in &records {
                let mut reader = quick_xml::Reader::from_reader(black_box(*record));
                loop {
                    match reader.read_event() {
                        Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                        Ok(event) => {
                            black_box(event);
                        }
                    }
                }
            }
        })
    });
    group.finish();
}

fn tlog(c: &mut Criterion) {
    framed_dialect(c, "decode_tlog", Format::Tlog, Framing::Tlog, &tlog_corpus(10_000));
}

criterion_group!(benches, genesys, ors, sdk, ivr, tlog);
criterion_main!(benches);
