//! Generates the benchmark schemas twice: once with protocall's generator
//! (into `$OUT_DIR/protocall/`) and once with prost-build (into
//! `$OUT_DIR/prost/`), both from protox, so no `protoc` is needed.
//!
//! The schemas and datasets are the copies in `benches/data` (protobuf's
//! benchmark data, byte for byte, see its README), or `$BENCH_DATA_DIR` when
//! set. None of the three schemas needs editing: they have no `extensions`
//! ranges.
//!
//! The prost types also get pbjson's serde impls (pbjson-build, from the
//! same `FileDescriptorSet`), written beside prost's files as
//! `PACKAGE.serde.rs` and included into the same modules, for the JSON
//! benchmark against protocall's own ProtoJSON (`benches/json.rs`).
//!
//! The gRPC server benchmark's schema, `proto/bench.proto`, is generated
//! twice as well: by protocall (server and client, into `$OUT_DIR/grpc/protocall/`)
//! and by tonic-prost-build from the same protox `FileDescriptorSet`
//! (server and client, into `$OUT_DIR/grpc/tonic/`).

use std::path::{Path, PathBuf};

const SCHEMAS: [&str; 4] = [
    "benchmarks.proto",
    "google_message1/proto2/benchmark_message1_proto2.proto",
    "google_message1/proto3/benchmark_message1_proto3.proto",
    "google_message2/benchmark_message2.proto",
];

const PAYLOADS: &str = "proto/payloads.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=BENCH_DATA_DIR");
    let data = bench_data_dir()?;
    println!("cargo:rustc-env=BENCH_DATA_DIR={}", data.display());

    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    // The datasets' schemas, and the string- and bytes-heavy payloads of
    // `proto/payloads.proto`.
    println!("cargo:rerun-if-changed={PAYLOADS}");
    let mut protos: Vec<PathBuf> = SCHEMAS.iter().map(|s| data.join(s)).collect();
    protos.push(PathBuf::from(PAYLOADS));
    let includes = [data.clone(), PathBuf::from("proto")];

    protocall_codegen::configure()
        .out_dir(out.join("protocall"))
        .include_file("mod.rs")
        .build_server(false)
        .build_client(false)
        .views([".benchmarks", ".payloads"])
        .compile(&protos, &includes)?;

    let fds = protox::compile(&protos, includes)?;
    let descriptors = prost::Message::encode_to_vec(&fds);
    let prost_out = out.join("prost");
    std::fs::create_dir_all(&prost_out)?;
    prost_build::Config::new()
        .out_dir(&prost_out)
        .include_file("mod.rs")
        .compile_fds(fds)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .out_dir(&prost_out)
        .build(&[".benchmarks", ".payloads"])?;
    include_serde(&prost_out.join("mod.rs"))?;

    grpc_schema(&out)?;
    Ok(())
}

/// Adds `include!("PACKAGE.serde.rs");` (pbjson's impls) after each
/// `include!("PACKAGE.rs");` of prost's include file whose package pbjson
/// generated, so the impls land in the module that holds their types.
fn include_serde(mod_rs: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let dir = mod_rs.parent().ok_or("the include file has no folder")?;
    let text = std::fs::read_to_string(mod_rs)?;
    let mut patched = String::with_capacity(text.len() * 2);
    for line in text.lines() {
        patched.push_str(line);
        patched.push('\n');
        let trimmed = line.trim();
        let Some(file) = trimmed
            .strip_prefix("include!(\"")
            .and_then(|rest| rest.strip_suffix(".rs\");"))
        else {
            continue;
        };
        let serde = format!("{file}.serde.rs");
        if dir.join(&serde).is_file() {
            let indent = &line[..line.len() - line.trim_start().len()];
            patched.push_str(&format!("{indent}include!(\"{serde}\");\n"));
        }
    }
    std::fs::write(mod_rs, patched)?;
    Ok(())
}

/// `proto/bench.proto` for the gRPC server benchmark, for both servers.
fn grpc_schema(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    const PROTO: &str = "proto/bench.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    protocall_codegen::configure()
        .out_dir(out.join("grpc/protocall"))
        .compile(&[PROTO], &["proto"])?;

    let fds = protox::compile([PROTO], ["proto"])?;
    let tonic_out = out.join("grpc/tonic");
    std::fs::create_dir_all(&tonic_out)?;
    tonic_prost_build::configure()
        .out_dir(&tonic_out)
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}

/// `$BENCH_DATA_DIR`, else the vendored `benches/data`.
fn bench_data_dir() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = match std::env::var_os("BENCH_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let manifest = PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?,
            );
            manifest.join("data")
        }
    };
    if !dir.join(SCHEMAS[0]).is_file() {
        return Err(format!(
            "benchmark data not found in {}: set BENCH_DATA_DIR to protobuf's benchmark data folder",
            dir.display()
        )
        .into());
    }
    Ok(absolute(&dir))
}

fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}
