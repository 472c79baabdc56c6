//! Framing throughput: keyed lines cut into zero-copy records, next to the
//! byte-scan floor (memchr over the same bytes).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctistream_benches::genesys_corpus;
use ctistream_core::{FrameReader, Framing};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn lines(c: &mut Criterion) {
    let corpus = genesys_corpus(20_000, true);
    let mut group = c.benchmark_group("frame_lines");
    group.throughput(Throughput::Bytes(corpus.len() as u64));
    group.bench_function("frame_reader_keyed", |b| {
        b.iter(|| {
            let mut keys = 0usize;
            for frame in FrameReader::new(black_box(&corpus[..]), Framing::Lines) {
                keys += frame.expect("no errors").key.map_or(0, |k| k.len());
            }
            keys
        })
    });
    group.bench_function("memchr_floor", |b| b.iter(|| memchr_count(black_box(&corpus))));
    group.finish();
}

fn memchr_count(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', bytes).count()
}

criterion_group!(benches, lines);
criterion_main!(benches);
