//! One criterion group per pipeline stage not covered by `decode`, `frame` and
//! `pipeline`: routing, ring handoff (one item at a time and in batches),
//! reducing (next to decoding alone, so the difference is the reducers),
//! output serialization and latency recording. All on the same coherent call
//! traffic as the `pipeline` bench; `Throughput::Elements` is per record.

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossbeam::queue::ArrayQueue;
use ctistream_benches::call_traffic;
use ctistream_core::pipeline::Router;
use ctistream_core::state::{CollectOutputs, NoOutputs, Reducer, write_agent_snapshots};
use ctistream_core::{Decoder, Dialect, Format, Frame, FrameReader, Framing, Timestamp};
use hdrhistogram::Histogram;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn frames() -> Vec<Frame> {
    let corpus = Bytes::from(call_traffic(1_000, 20_000));
    FrameReader::new(&corpus[..], Framing::Lines)
        .map(|frame| frame.expect("valid corpus"))
        .collect()
}

fn route(c: &mut Criterion, frames: &[Frame]) {
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("keyed_genesys_2_shards", |b| {
        let mut router = Router::new(2, 1 << 20);
        b.iter(|| {
            for frame in frames {
                black_box(router.route(
                    &frame.payload,
                    frame.key.as_deref(),
                    Some(Dialect::Genesys),
                ));
            }
        })
    });
    group.bench_function("keyless_genesys_2_shards", |b| {
        let mut router = Router::new(2, 1 << 20);
        b.iter(|| {
            for frame in frames {
                black_box(router.route(&frame.payload, None, Some(Dialect::Genesys)));
            }
        })
    });
    group.finish();
}

/// Moves `items` from this thread to another through a bounded queue, one at
/// a time or in batches (the pipeline's rings hold batches of 256).
fn ring(c: &mut Criterion) {
    const ITEMS: u64 = 1 << 20;
    let mut group = c.benchmark_group("ring_handoff_1_to_1");
    group.throughput(Throughput::Elements(ITEMS));
    group.sample_size(20);
    group.bench_function("single_items", |b| {
        b.iter(|| {
            let queue = Arc::new(ArrayQueue::<u64>::new(64 * 256));
            let consumer = {
                let queue = Arc::clone(&queue);
                std::thread::spawn(move || {
                    let (mut seen, mut sum) = (0, 0u64);
                    while seen < ITEMS {
                        match queue.pop() {
                            Some(item) => {
                                sum = sum.wrapping_add(item);
                                seen += 1;
                            }
                            None => std::hint::spin_loop(),
                        }
                    }
                    sum
                })
            };
            for item in 0..ITEMS {
                let mut item = item;
                while let Err(back) = queue.push(item) {
                    item = back;
                    std::hint::spin_loop();
                }
            }
            black_box(consumer.join().unwrap())
        })
    });
    group.bench_function("batches_of_256", |b| {
        b.iter(|| {
            let queue = Arc::new(ArrayQueue::<Vec<u64>>::new(64));
            let spent = Arc::new(ArrayQueue::<Vec<u64>>::new(64));
            let consumer = {
                let (queue, spent) = (Arc::clone(&queue), Arc::clone(&spent));
                std::thread::spawn(move || {
                    let (mut seen, mut sum) = (0, 0u64);
                    while seen < ITEMS {
                        match queue.pop() {
                            Some(mut batch) => {
                                seen += batch.len() as u64;
                                sum = batch.iter().fold(sum, |s, i| s.wrapping_add(*i));
                                batch.clear();
                                let _ = spent.push(batch);
                            }
                            None => std::hint::spin_loop(),
                        }
                    }
                    sum
                })
            };
            let mut batch = Vec::with_capacity(256);
            for item in 0..ITEMS {
                batch.push(item);
                if batch.len() == 256 {
                    let next = spent.pop().unwrap_or_else(|| Vec::with_capacity(256));
                    let mut full = std::mem::replace(&mut batch, next);
                    while let Err(back) = queue.push(full) {
                        full = back;
                        std::hint::spin_loop();
                    }
                }
            }
            black_box(consumer.join().unwrap())
        })
    });
    group.finish();
}

fn reduce(c: &mut Criterion, frames: &[Frame]) {
    let mut group = c.benchmark_group("reduce");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.sample_size(20);
    let decoder = Decoder::new(Format::Genesys);
    group.bench_function("decode_only", |b| {
        b.iter(|| {
            for frame in frames {
                black_box(decoder.decode(&frame.payload, frame.key.as_deref()).expect("valid"));
            }
        })
    });
    group.bench_function("decode_and_reduce", |b| {
        b.iter(|| {
            let mut reducer = Reducer::default();
            for frame in frames {
                let event = decoder.decode(&frame.payload, frame.key.as_deref()).expect("valid");
                reducer.apply(&event, Timestamp(0), &mut NoOutputs);
            }
            reducer.finish(&mut NoOutputs);
            black_box(reducer.counters())
        })
    });
    group.finish();
}

fn serialize(c: &mut Criterion, frames: &[Frame]) {
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::default();
    let mut outputs = CollectOutputs::default();
    for frame in frames {
        let event = decoder.decode(&frame.payload, frame.key.as_deref()).expect("valid");
        reducer.apply(&event, Timestamp(0), &mut outputs);
    }
    reducer.finish(&mut outputs);
    let mut group = c.benchmark_group("serialize");
    group.throughput(Throughput::Elements(outputs.records.len() as u64));
    group.bench_function("call_records", |b| {
        let mut out = Vec::with_capacity(1 << 24);
        b.iter(|| {
            out.clear();
            for record in &outputs.records {
                record.write_json(&mut out);
            }
            black_box(out.len())
        })
    });
    group.throughput(Throughput::Elements(reducer.agents().len() as u64));
    group.bench_function("agent_snapshots", |b| {
        let mut out = Vec::with_capacity(1 << 22);
        b.iter(|| {
            out.clear();
            write_agent_snapshots(&[reducer.agent_side()], &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

fn histogram(c: &mut Criterion) {
    const VALUES: u64 = 1 << 16;
    let mut group = c.benchmark_group("histogram");
    group.throughput(Throughput::Elements(VALUES));
    group.bench_function("record", |b| {
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).unwrap();
        b.iter(|| {
            // Latencies from 100 ns to about 6.5 ms.
            for i in 0..VALUES {
                histogram.record(black_box(100 + i * 100)).unwrap();
            }
        })
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    let frames = frames();
    route(c, &frames);
    ring(c);
    reduce(c, &frames);
    serialize(c, &frames);
    histogram(c);
}

criterion_group!(benches, stages);
criterion_main!(benches);
