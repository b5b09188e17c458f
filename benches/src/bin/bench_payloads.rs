//! Writes the payload of every codec dataset, and prost's re-encoding of
//! it, for peers outside the workspace to compare theirs with:
//! `scripts/bench-codec.sh` (`BUFFA=1`) checks that `benches/buffa`
//! measures the very bytes `codec_count` does.
//!
//! ```text
//! cargo run --release -p protocall-benches --bin bench_payloads -- DIR
//! ```
//!
//! Writes `DIR/NAME.payload` (`Dataset::payload`) and `DIR/NAME.reencoded`
//! (the payload decoded and encoded again by prost) for each dataset.

use std::path::PathBuf;
use std::process::ExitCode;

use protocall_benches::{Dataset, with_types};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: bench_payloads DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    for dataset in Dataset::ALL {
        let payload = dataset.payload();
        let reencoded = with_types!(dataset, |_Pc, Pb| {
            match <Pb as prost::Message>::decode(payload.as_slice()) {
                Ok(msg) => prost::Message::encode_to_vec(&msg),
                Err(e) => {
                    eprintln!("{}: prost decode: {e}", dataset.name());
                    return ExitCode::FAILURE;
                }
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
