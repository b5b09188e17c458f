//! Runs one buffa codec operation N times, for instruction counts under
//! callgrind: the buffa counterpart of `benches/src/bin/codec_count.rs`
//! (`scripts/bench-codec.sh` with `BUFFA=1` runs it at N and 2N and takes
//! the difference, so start-up cancels out).
//!
//! ```text
//! buffa_count <OP> <m1p2|m1p3|m2|logs|media> <iterations>
//! OP: decode | view_decode | encode | encoded_len | encode_cached
//! buffa_count check           # the start-up check, on every dataset
//! buffa_count dump DIR        # DIR/NAME.payload, DIR/NAME.reencoded
//! ```
//!
//! Each op does what `codec_count` does for protocall and prost:
//! `decode` decodes the payload into a new owned message each time
//! (`Message::decode_from_slice`), `view_decode` into a new borrowed view
//! (`HasMessageView::decode_view`), `encode` encodes a message decoded once
//! up front into a reused `Vec` (`Message::encode`: buffa's two passes,
//! `compute_size` into a fresh `SizeCache`, then `write_to`), `encoded_len`
//! is `Message::encoded_len` of a decoded message. `encode_cached` (not in
//! the codec table) is `encode` with one `SizeCache` reused across
//! iterations (`Message::encode_with_cache`), buffa's API for hot loops.
//!
//! Before an op runs, the dataset's payload must decode, hold no unknown
//! fields at the top level, re-encode to the length every encoder writes
//! (the payload's own, 221 bytes for `m1p3`, see
//! [`Dataset::reencoded_len`]) and, where that is the payload's length, to
//! the payload's very bytes; `encoded_len` must match what is written, the
//! re-encoding must decode to the same message, and the view must convert
//! to it. Anything else fails loudly, before any counting.

use std::fmt::Debug;
use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use buffa::{HasMessageView, Message, MessageView, SizeCache};
use protocall_bench_buffa::{Dataset, TopLevelUnknown, with_type};

const USAGE: &str = "usage: buffa_count <decode|view_decode|encode|encoded_len|encode_cached> \
     <m1p2|m1p3|m2|logs|media> <iterations>\n       buffa_count check\n       buffa_count dump DIR";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Decode,
    ViewDecode,
    Encode,
    EncodedLen,
    EncodeCached,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["check"] => {
            for dataset in Dataset::ALL {
                if let Err(e) = with_type!(dataset, |M| check::<M>(dataset, &dataset.payload())) {
                    eprintln!("buffa check failed: {e}");
                    return ExitCode::FAILURE;
                }
                eprintln!("buffa check: {} ok", dataset.name());
            }
            return ExitCode::SUCCESS;
        }
        ["dump", dir] => return dump(Path::new(dir)),
        _ => {}
    }
    let parsed = (|| {
        let [op, dataset, iterations] = args.as_slice() else {
            return None;
        };
        let op = match op.as_str() {
            "decode" => Op::Decode,
            "view_decode" => Op::ViewDecode,
            "encode" => Op::Encode,
            "encoded_len" => Op::EncodedLen,
            "encode_cached" => Op::EncodeCached,
            _ => return None,
        };
        Some((
            op,
            Dataset::from_name(dataset)?,
            iterations.parse::<u64>().ok()?,
        ))
    })();
    let Some((op, dataset, iterations)) = parsed else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let payload = dataset.payload();
    with_type!(dataset, |M| {
        if let Err(e) = check::<M>(dataset, &payload) {
            eprintln!("buffa check failed: {e}");
            return ExitCode::FAILURE;
        }
        run::<M>(op, &payload, iterations);
    });
    ExitCode::SUCCESS
}

/// The start-up check (see the module docs).
fn check<M>(dataset: Dataset, payload: &[u8]) -> Result<(), String>
where
    M: Message + HasMessageView + TopLevelUnknown + Debug,
{
    let name = dataset.name();
    let msg = M::decode_from_slice(payload).map_err(|e| format!("{name}: decode: {e}"))?;
    let unknown = msg.unknown_fields();
    if unknown != 0 {
        return Err(format!(
            "{name}: {unknown} unknown fields at the top level: buffa did not recognise part of the payload"
        ));
    }
    let bytes = msg.encode_to_vec();
    let mut buf = Vec::new();
    msg.encode(&mut buf);
    if buf != bytes {
        return Err(format!("{name}: encode and encode_to_vec differ"));
    }
    let len = msg.encoded_len() as usize;
    if len != bytes.len() {
        return Err(format!(
            "{name}: encoded_len {len}, but {} bytes written",
            bytes.len()
        ));
    }
    let want = dataset.reencoded_len(payload.len());
    if bytes.len() != want {
        return Err(format!(
            "{name}: re-encodes the {}-byte payload to {} bytes, not {want}",
            payload.len(),
            bytes.len()
        ));
    }
    if want == payload.len() && bytes != payload {
        let at = bytes.iter().zip(payload).position(|(a, b)| a != b);
        return Err(format!(
            "{name}: re-encodes to the payload's length but other bytes (first difference at {at:?})"
        ));
    }
    let again = M::decode_from_slice(&bytes)
        .map_err(|e| format!("{name}: decode of the re-encoding: {e}"))?;
    if again != msg {
        return Err(format!(
            "{name}: the re-encoding decodes to another message"
        ));
    }
    let view = M::decode_view(payload).map_err(|e| format!("{name}: view decode: {e}"))?;
    let owned = view
        .to_owned_message()
        .map_err(|e| format!("{name}: view to_owned_message: {e}"))?;
    if owned != msg {
        return Err(format!(
            "{name}: the view converts to another message than decode gives"
        ));
    }
    Ok(())
}

/// Writes each dataset's payload and buffa's re-encoding of it, for
/// `scripts/bench-codec.sh` to compare with protocall-benches' (prost's).
fn dump(dir: &Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for dataset in Dataset::ALL {
        let payload = dataset.payload();
        let reencoded = with_type!(dataset, |M| match M::decode_from_slice(&payload) {
            Ok(msg) => msg.encode_to_vec(),
            Err(e) => {
                eprintln!("{}: decode: {e}", dataset.name());
                return ExitCode::FAILURE;
            }
        });
        for (ext, bytes) in [("payload", &payload), ("reencoded", &reencoded)] {
            let path = dir.join(format!("{}.{ext}", dataset.name()));
            if let Err(e) = std::fs::write(&path, bytes) {
                eprintln!("cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

#[inline(never)]
fn run<M: Message + HasMessageView>(op: Op, payload: &[u8], iterations: u64) {
    match op {
        Op::Decode => {
            for _ in 0..iterations {
                black_box(M::decode_from_slice(black_box(payload)).unwrap());
            }
        }
        Op::ViewDecode => {
            for _ in 0..iterations {
                black_box(M::decode_view(black_box(payload)).unwrap());
            }
        }
        Op::Encode => {
            let msg = M::decode_from_slice(payload).unwrap();
            let mut buf = Vec::with_capacity(payload.len() * 2);
            for _ in 0..iterations {
                buf.clear();
                black_box(&msg).encode(&mut buf);
                black_box(&buf);
            }
        }
        Op::EncodedLen => {
            let msg = M::decode_from_slice(payload).unwrap();
            for _ in 0..iterations {
                black_box(black_box(&msg).encoded_len());
            }
        }
        Op::EncodeCached => {
            let msg = M::decode_from_slice(payload).unwrap();
            let mut buf = Vec::with_capacity(payload.len() * 2);
            let mut cache = SizeCache::new();
            for _ in 0..iterations {
                buf.clear();
                black_box(&msg).encode_with_cache(&mut cache, &mut buf);
                black_box(&buf);
            }
        }
    }
}
