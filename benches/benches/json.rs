//! protocall's ProtoJSON against prost + pbjson, side by side: JSON encode
//! (into a reused `Vec`), `to_vec` (a new `Vec` each time) and decode on
//! each benchmark dataset.
//!
//! ```text
//! cargo bench -p protocall-benches --bench json -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Benchmarks are named `{op}/{dataset}/{impl}`; throughput is the size of
//! protocall's JSON text, the same for both implementations (pbjson's text
//! has the same length, members in another order), so MB/s ratios are time
//! ratios. Both decoders read protocall's text. `protocall_benches::json::check`
//! runs first and stops the bench if the two sides disagree.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use protocall_benches::json::{self, PbJson, PcJson};
use protocall_benches::{Dataset, with_types};

fn json_benches(c: &mut Criterion) {
    for dataset in Dataset::ALL {
        with_types!(dataset, |Pc, Pb| bench_dataset::<Pc, Pb>(c, dataset));
    }
}

fn bench_dataset<C: PcJson, P: PbJson>(c: &mut Criterion, dataset: Dataset) {
    let check = json::check::<C, P>(dataset).unwrap_or_else(|e| panic!("{e}"));
    let name = dataset.name();
    let text = check.json.as_slice();
    let throughput = Throughput::Bytes(text.len() as u64);

    let mut group = c.benchmark_group("json_encode");
    group.throughput(throughput.clone());
    let mut buf = Vec::with_capacity(text.len() * 2);
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| {
            json::encode_protocall(black_box(&check.pc), &mut buf);
            black_box(buf.len())
        })
    });
    group.bench_function(BenchmarkId::new(name, "pbjson"), |b| {
        b.iter(|| {
            json::encode_pbjson(black_box(&check.pb), &mut buf);
            black_box(buf.len())
        })
    });
    group.finish();

    let mut group = c.benchmark_group("json_to_vec");
    group.throughput(throughput.clone());
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| json::to_vec_protocall(black_box(&check.pc)))
    });
    group.bench_function(BenchmarkId::new(name, "pbjson"), |b| {
        b.iter(|| json::to_vec_pbjson(black_box(&check.pb)))
    });
    group.finish();

    let mut group = c.benchmark_group("json_decode");
    group.throughput(throughput);
    group.bench_function(BenchmarkId::new(name, "protocall"), |b| {
        b.iter(|| json::decode_protocall::<C>(black_box(text)))
    });
    group.bench_function(BenchmarkId::new(name, "pbjson"), |b| {
        b.iter(|| json::decode_pbjson::<P>(black_box(text)))
    });
    group.finish();
}

criterion_group!(benches, json_benches);
criterion_main!(benches);
