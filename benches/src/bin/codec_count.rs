//! Runs one codec operation N times, for instruction counts under callgrind
//! (see `scripts/bench-codec.sh`, which runs it at N and 2N and takes the
//! difference so start-up cancels out).
//!
//! ```text
//! codec_count <protocall|prost|pbjson> <OP> <m1p2|m1p3|m2> <iterations>
//! OP: decode | view_decode | encode | encoded_len | json_encode | json_to_vec | json_decode
//! ```
//!
//! `decode` decodes the payload into a new message each time, `view_decode`
//! into a new borrowed view (protocall only: `protocall::view`); `encode`
//! encodes a message decoded once up front into a reused `Vec`.
//!
//! The `json_*` ops are ProtoJSON (`scripts/bench-json.sh`, see
//! `protocall_benches::json`): `json_encode` writes the message as JSON into
//! a reused `Vec` (`serde_json::to_writer`), `json_to_vec` into a new one
//! (`protocall::json::to_vec`, `serde_json::to_vec`), `json_decode` parses
//! protocall's JSON text into a new message (`protocall::json::from_slice`,
//! `serde_json::from_slice`). On the prost side they use pbjson's serde
//! impls (`pbjson` is another name for `prost`). Before a `json_*` op runs,
//! `protocall_benches::json::check` makes sure both sides agree.

use std::hint::black_box;
use std::process::ExitCode;

use protocall::view::{HasView, MessageView};
use protocall_benches::json::{self, PbJson, PcJson};
use protocall_benches::{Dataset, with_types};

const USAGE: &str = "usage: codec_count <protocall|prost|pbjson> \
     <decode|view_decode|encode|encoded_len|json_encode|json_to_vec|json_decode> <m1p2|m1p3|m2> <iterations>";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Impl {
    Protocall,
    Prost,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Decode,
    ViewDecode,
    Encode,
    EncodedLen,
    JsonEncode,
    JsonToVec,
    JsonDecode,
}

impl Op {
    fn is_json(self) -> bool {
        matches!(self, Op::JsonEncode | Op::JsonToVec | Op::JsonDecode)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        let [imp, op, dataset, iterations] = args.as_slice() else {
            return None;
        };
        let imp = match imp.as_str() {
            "protocall" => Impl::Protocall,
            "prost" | "pbjson" => Impl::Prost,
            _ => return None,
        };
        let op = match op.as_str() {
            "decode" => Op::Decode,
            "view_decode" => Op::ViewDecode,
            "encode" => Op::Encode,
            "encoded_len" => Op::EncodedLen,
            "json_encode" => Op::JsonEncode,
            "json_to_vec" => Op::JsonToVec,
            "json_decode" => Op::JsonDecode,
            _ => return None,
        };
        if imp == Impl::Prost && op == Op::ViewDecode {
            return None;
        }
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
    with_types!(dataset, |Pc, Pb| {
        // The JSON ops parse protocall's text on both sides.
        let mut text = Vec::new();
        if op.is_json() {
            match json::check::<Pc, Pb>(dataset) {
                Ok(check) => text = check.json,
                Err(e) => {
                    eprintln!("JSON check failed: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        match imp {
            Impl::Protocall => run_protocall::<Pc>(op, &payload, &text, iterations),
            Impl::Prost => run_prost::<Pb>(op, &payload, &text, iterations),
        }
    });
    ExitCode::SUCCESS
}

#[inline(never)]
fn run_protocall<M: PcJson + HasView>(op: Op, payload: &[u8], text: &[u8], iterations: u64) {
    match op {
        Op::ViewDecode => {
            for _ in 0..iterations {
                black_box(M::View::decode(black_box(payload)).unwrap());
            }
        }
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
        Op::JsonEncode => {
            let msg = M::decode(payload).unwrap();
            let mut buf = Vec::with_capacity(text.len() * 2);
            for _ in 0..iterations {
                json::encode_protocall(black_box(&msg), &mut buf);
                black_box(&buf);
            }
        }
        Op::JsonToVec => {
            let msg = M::decode(payload).unwrap();
            for _ in 0..iterations {
                black_box(json::to_vec_protocall(black_box(&msg)));
            }
        }
        Op::JsonDecode => {
            for _ in 0..iterations {
                black_box(json::decode_protocall::<M>(black_box(text)));
            }
        }
    }
}

#[inline(never)]
fn run_prost<M: PbJson>(op: Op, payload: &[u8], text: &[u8], iterations: u64) {
    match op {
        Op::ViewDecode => unreachable!("prost has no views: refused in main"),
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
        Op::JsonEncode => {
            let msg = M::decode(payload).unwrap();
            let mut buf = Vec::with_capacity(text.len() * 2);
            for _ in 0..iterations {
                json::encode_pbjson(black_box(&msg), &mut buf);
                black_box(&buf);
            }
        }
        Op::JsonToVec => {
            let msg = M::decode(payload).unwrap();
            for _ in 0..iterations {
                black_box(json::to_vec_pbjson(black_box(&msg)));
            }
        }
        Op::JsonDecode => {
            for _ in 0..iterations {
                black_box(json::decode_pbjson::<M>(black_box(text)));
            }
        }
    }
}
