//! Decoder throughput per dialect, with serde_json into a borrowed struct as the
//! baseline on the same genesys records (`Throughput::Bytes`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctistream_benches::{genesys_corpus, payloads, serde_baseline};
use ctistream_core::{Attr, Decoder, Format};

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

criterion_group!(benches, genesys);
criterion_main!(benches);
