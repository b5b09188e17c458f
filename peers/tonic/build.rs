//! Generates `grpc.testing` (the official interop schemas `test.proto`,
//! `messages.proto` and `empty.proto`) for tonic: protox parses them into a
//! `FileDescriptorSet`, tonic-prost-build generates messages, clients and
//! servers from it, so no `protoc` is needed.
//!
//! The schemas come from `$GRPC_PROTO_DIR`, else Debian's `grpc-proto`
//! (`/usr/share/grpc-proto`, installed by `scripts/setup-peers.sh`), else
//! the byte-identical copies in the repository's `proto/`.

use std::path::{Path, PathBuf};

const SCHEMAS: [&str; 3] = [
    "grpc/testing/test.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/empty.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-env-changed=GRPC_PROTO_DIR");
    let root = schema_root()?;
    let protos: Vec<PathBuf> = SCHEMAS.iter().map(|s| root.join(s)).collect();
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    let fds = protox::compile(&protos, [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_fds(fds)?;
    Ok(())
}

/// The include directory holding `grpc/testing/*.proto`.
fn schema_root() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let has_schemas = |dir: &Path| SCHEMAS.iter().all(|s| dir.join(s).is_file());
    if let Some(dir) = std::env::var_os("GRPC_PROTO_DIR") {
        let dir = PathBuf::from(dir);
        if !has_schemas(&dir) {
            return Err(format!(
                "GRPC_PROTO_DIR={} lacks grpc/testing/{{test,messages,empty}}.proto",
                dir.display()
            )
            .into());
        }
        return Ok(dir);
    }
    let debian = PathBuf::from("/usr/share/grpc-proto");
    if has_schemas(&debian) {
        return Ok(debian);
    }
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").ok_or("no CARGO_MANIFEST_DIR")?);
    let vendored = manifest.join("../../proto");
    if has_schemas(&vendored) {
        return Ok(vendored);
    }
    Err(
        "the gRPC interop schemas were not found: install Debian's grpc-proto \
         (scripts/setup-peers.sh) or set GRPC_PROTO_DIR"
            .into(),
    )
}
