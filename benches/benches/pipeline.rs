//! Pipeline scaling: the same coherent contact-center traffic (keyed Voice
//! Microservices lines: 4,000 agents, 100,000 calls, 508,000 records) reduced
//! on 1 and 2 shards, next to the single-threaded reducer (decode + reduce on
//! one thread). `Throughput::Elements` is records per second; the ratio of the
//! two shard counts is the scaling figure.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ctistream_benches::call_traffic;
use ctistream_core::pipeline::{Origin, Pipeline, PipelineConfig};
use ctistream_core::state::{NoOutputs, Reducer};
use ctistream_core::{Decoder, Format, Frame, FrameReader, Framing, Timestamp};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn frames() -> Vec<Frame> {
    let corpus = Bytes::from(call_traffic(4_000, 100_000));
    FrameReader::new(&corpus[..], Framing::Lines)
        .map(|frame| frame.expect("valid corpus"))
        .collect()
}

fn scaling(c: &mut Criterion) {
    let frames = frames();
    let mut group = c.benchmark_group("pipeline_reduce");
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("single_thread_reducer", |b| {
        b.iter(|| {
            let decoder = Decoder::new(Format::Genesys);
            let mut reducer = Reducer::default();
            for frame in &frames {
                let event = decoder.decode(&frame.payload, frame.key.as_deref()).expect("valid");
                reducer.apply(&event, Timestamp(0), &mut NoOutputs);
            }
            reducer.finish(&mut NoOutputs);
            black_box(reducer.counters())
        })
    });
    for shards in [1, 2] {
        group.bench_function(format!("shards_{shards}"), |b| {
            b.iter(|| {
                let config =
                    PipelineConfig { shards, format: Format::Genesys, ..PipelineConfig::default() };
                let mut pipeline = Pipeline::start(config, NoOutputs);
                for (line, frame) in frames.iter().enumerate() {
                    let origin = Origin { source: 0, line: line as u64 };
                    pipeline.push(frame.payload.clone(), frame.key.clone(), origin, Timestamp(0));
                }
                black_box(pipeline.finish().counters())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scaling);
criterion_main!(benches);
