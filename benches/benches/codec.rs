//! protocall against prost, side by side: decode, encode (into a reused
//! `Vec`) and `encoded_len` on each benchmark dataset.
//!
//! ```text
//! cargo bench -p protocall-benches --bench codec -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Benchmarks are named `{op}/{dataset}/{impl}`; throughput is the payload
//! size in bytes, the same for both implementations, so MB/s ratios are
//! time ratios.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message as ProstMessage;
use protocall::Message as PcMessage;
use protocall_benches::{Dataset, with_types};

fn codec(c: &mut Criterion) {
    for dataset in Dataset::ALL {
        with_types!(dataset, |Pc, Pb| bench_dataset::<Pc, Pb>(c, dataset));
    }
}

fn bench_dataset<C: PcMessage, P: ProstMessage + Default>(c: &mut Criterion, dataset: Dataset) {
    let payload = dataset.payload();
    let pc_msg = C::decode(payload.as_slice()).expect("protocall decodes the payload");
    let pb_msg = P::decode(payload.as_slice()).expect("prost decodes the payload");
    let name = dataset.name();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| C::decode(black_box(payload.as_slice())).unwrap())
    });
    group.bench_function(BenchmarkId::new(name, "prost"), |b| {
        b.iter(|| P::decode(black_box(payload.as_slice())).unwrap())
    });
    group.finish();

    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    let mut buf = Vec::with_capacity(payload.len() * 2);
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| {
            buf.clear();
            black_box(&pc_msg).encode(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
    group.bench_function(BenchmarkId::new(name, "prost"), |b| {
        b.iter(|| {
            buf.clear();
            black_box(&pb_msg).encode(&mut buf).unwrap();
            black_box(buf.len())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("encoded_len");
    group.throughput(Throughput::Bytes(payload.len() as u64));
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| black_box(&pc_msg).encoded_len())
    });
    group.bench_function(BenchmarkId::new(name, "prost"), |b| {
        b.iter(|| black_box(&pb_msg).encoded_len())
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
