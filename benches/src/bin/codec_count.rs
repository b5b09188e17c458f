//! Runs one codec operation N times, for instruction counts under callgrind
//! (see `scripts/bench-codec.sh`, which runs it at N and 2N and takes the
//! difference so start-up cancels out).
//!
//! ```text
//! codec_count <protocall|prost> <decode|encode|encoded_len> <m1p2|m1p3|m2> <iterations>
//! ```
//!
//! `decode` decodes the payload into a new message each time; `encode`
//! encodes a message decoded once up front into a reused `Vec`.

use std::hint::black_box;
use std::process::ExitCode;

use prost::Message as ProstMessage;
use protocall::Message as PcMessage;
use protocall_benches::{Dataset, with_types};

const USAGE: &str =
    "usage: codec_count <protocall|prost> <decode|encode|encoded_len> <m1p2|m1p3|m2> <iterations>";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Impl {
    Protocall,
    Prost,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Decode,
    Encode,
    EncodedLen,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        let [imp, op, dataset, iterations] = args.as_slice() else {
            return None;
        };
        let imp = match imp.as_str() {
            "protocall" => Impl::Protocall,
            "prost" => Impl::Prost,
            _ => return None,
        };
        let op = match op.as_str() {
            "decode" => Op::Decode,
            "encode" => Op::Encode,
            "encoded_len" => Op::EncodedLen,
            _ => return None,
        };
        Some((
            imp,
            op,
            Dataset::from_name(dataset)?,
            iterations.parse::<u64>().ok()?,
        ))
    })();
    let Some((imp, op, dataset, iterations)) = parsed else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let payload = dataset.payload();
    with_types!(dataset, |Pc, Pb| match imp {
        Impl::Protocall => run_protocall::<Pc>(op, &payload, iterations),
        Impl::Prost => run_prost::<Pb>(op, &payload, iterations),
    });
    ExitCode::SUCCESS
}

#[inline(never)]
fn run_protocall<M: PcMessage>(op: Op, payload: &[u8], iterations: u64) {
    match op {
        Op::Decode => {
            for _ in 0..iterations {
                black_box(M::decode(black_box(payload)).unwrap());
            }
        }
        Op::Encode => {
            let msg = M::decode(payload).unwrap();
            let mut buf = Vec::with_capacity(payload.len() * 2);
            for _ in 0..iterations {
                buf.clear();
                black_box(&msg).encode(&mut buf).unwrap();
                black_box(&buf);
            }
        }
        Op::EncodedLen => {
            let msg = M::decode(payload).unwrap();
            for _ in 0..iterations {
                black_box(black_box(&msg).encoded_len());
            }
        }
    }
}

#[inline(never)]
fn run_prost<M: ProstMessage + Default>(op: Op, payload: &[u8], iterations: u64) {
    match op {
        Op::Decode => {
            for _ in 0..iterations {
                black_box(M::decode(black_box(payload)).unwrap());
            }
        }
        Op::Encode => {
            let msg = M::decode(payload).unwrap();
            let mut buf = Vec::with_capacity(payload.len() * 2);
            for _ in 0..iterations {
                buf.clear();
                black_box(&msg).encode(&mut buf).unwrap();
                black_box(&buf);
            }
        }
        Op::EncodedLen => {
            let msg = M::decode(payload).unwrap();
            for _ in 0..iterations {
                black_box(black_box(&msg).encoded_len());
            }
        }
    }
}
