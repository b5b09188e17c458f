//! Generates buffa's owned and view types for the benchmark schemas (the
//! copies in `../data`, or `$BENCH_DATA_DIR` as for `protocall-benches`)
//! and for `../proto/payloads.proto`, into `$OUT_DIR/buffa/`.
//! buffa-build runs `protoc` (on PATH, or `$PROTOC`).

use std::path::PathBuf;

/// The same schemas as `../build.rs`'s `SCHEMAS`.
const SCHEMAS: [&str; 4] = [
    "benchmarks.proto",
    "google_message1/proto2/benchmark_message1_proto2.proto",
    "google_message1/proto3/benchmark_message1_proto3.proto",
    "google_message2/benchmark_message2.proto",
];

const PAYLOADS: &str = "../proto/payloads.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=BENCH_DATA_DIR");
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let data = match std::env::var_os("BENCH_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => manifest.join("../data"),
    };
    if !data.join(SCHEMAS[0]).is_file() {
        return Err(format!(
            "benchmark data not found in {}: set BENCH_DATA_DIR to protobuf's benchmark data folder",
            data.display()
        )
        .into());
    }
    let data = data.canonicalize()?;
    println!("cargo:rustc-env=BENCH_DATA_DIR={}", data.display());

    let payloads = manifest.join(PAYLOADS).canonicalize()?;
    let mut files: Vec<PathBuf> = SCHEMAS.iter().map(|s| data.join(s)).collect();
    files.push(payloads.clone());
    let proto_dir = payloads
        .parent()
        .ok_or("payloads.proto has no folder")?
        .to_path_buf();

    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?).join("buffa");
    std::fs::create_dir_all(&out)?;
    buffa_build::Config::new()
        .files(&files)
        .includes(&[data, proto_dir])
        .out_dir(&out)
        .include_file("mod.rs")
        .compile()?;
    Ok(())
}
