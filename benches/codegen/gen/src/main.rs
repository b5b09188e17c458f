//! `bench-codegen-gen PROTO_ROOT OUT_DIR`: generates the grpc-proto corpus
//! twice, everything on (messages, servers, clients), for
//! scripts/bench-codegen.sh:
//!
//! - `OUT_DIR/protocall/`: `protocall_codegen::configure()` with
//!   `build_server(true)`, `build_client(true)` and its other defaults
//!   (descriptors, reflection, JSON), compiling with protox itself;
//! - `OUT_DIR/tonic/`: `tonic_prost_build::configure()` with
//!   `build_server(true)`, `build_client(true)`, `build_transport(false)`,
//!   fed the protox `FileDescriptorSet` through `compile_fds` (no protoc),
//!   as benches/build.rs does;
//! - `OUT_DIR/corpus.tsv`: per file, its package and how many services,
//!   RPCs, messages (nested ones included, map entries not) and enums it
//!   declares.
//!
//! Both sides write one `.rs` file per package and an include file
//! `mod.rs` (the package modules, `include!`ing those files), which the
//! bench-codegen-protocall and bench-codegen-tonic crates include. PROTO_ROOT
//! is the folder holding `grpc/` (the repo's `proto/`, or Debian's
//! `/usr/share/grpc-proto`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prost_types::DescriptorProto;

/// The corpus: the interop test service with its imports, health and
/// reflection, relative to PROTO_ROOT.
const FILES: [&str; 5] = [
    "grpc/testing/test.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/empty.proto",
    "grpc/health/v1/health.proto",
    "grpc/reflection/v1/reflection.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [root, out] = args.as_slice() else {
        return Err("usage: bench-codegen-gen PROTO_ROOT OUT_DIR".into());
    };
    let protos: Vec<PathBuf> = FILES.iter().map(|f| root.join(f)).collect();
    for proto in &protos {
        if !proto.is_file() {
            return Err(format!("{} not found", proto.display()).into());
        }
    }

    let fds = protox::compile(&protos, [root])?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("corpus.tsv"), corpus_tsv(&fds))?;

    let protocall_out = fresh_dir(&out.join("protocall"))?;
    protocall_codegen::configure()
        .out_dir(&protocall_out)
        .include_file("mod.rs")
        .emit_rerun_if_changed(false)
        .build_server(true)
        .build_client(true)
        .compile(&protos, &[root])?;

    let tonic_out = fresh_dir(&out.join("tonic"))?;
    tonic_prost_build::configure()
        .out_dir(&tonic_out)
        .include_file("mod.rs")
        .build_server(true)
        .build_client(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}

/// `dir`, emptied: files left from an earlier corpus must not be counted.
fn fresh_dir(dir: &Path) -> std::io::Result<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_path_buf())
}

/// `file package services rpcs messages enums`, one line per corpus file,
/// with a header line.
fn corpus_tsv(fds: &prost_types::FileDescriptorSet) -> String {
    let mut tsv = String::from("file\tpackage\tservices\trpcs\tmessages\tenums\n");
    for file in &fds.file {
        let rpcs: usize = file.service.iter().map(|s| s.method.len()).sum();
        let (mut messages, mut enums) = (0, file.enum_type.len());
        for message in &file.message_type {
            count_message(message, &mut messages, &mut enums);
        }
        let _ = writeln!(
            tsv,
            "{}\t{}\t{}\t{}\t{}\t{}",
            file.name(),
            file.package(),
            file.service.len(),
            rpcs,
            messages,
            enums
        );
    }
    tsv
}

/// Counts `message` and its nested messages and enums; map entries (the
/// synthetic `FooEntry` messages of `map<K, V>` fields) are not messages of
/// the schema and are left out.
fn count_message(message: &DescriptorProto, messages: &mut usize, enums: &mut usize) {
    if message.options.as_ref().is_some_and(|o| o.map_entry()) {
        return;
    }
    *messages += 1;
    *enums += message.enum_type.len();
    for nested in &message.nested_type {
        count_message(nested, messages, enums);
    }
}
