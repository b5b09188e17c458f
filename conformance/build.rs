//! Generates the conformance schemas of `proto/conformance/`:
//!
//! - `conformance.proto` and the proto2 and proto3 test messages, with
//!   protox, into `protox_protos.rs` (modules `conformance`,
//!   `protobuf_test_messages::{proto2, proto3}`);
//! - the three edition 2023 schemas, which protox cannot parse, from the
//!   descriptor set protoc built of them (`proto/conformance/editions.binpb`,
//!   rebuilt by `scripts/regen-conformance-editions.sh`), into
//!   `editions_protos.rs` (module `protobuf_test_messages::editions`).

use protocall::Message as _;
use protocall::types::FileDescriptorSet;

/// The editions files of `editions.binpb` to generate (its other files are
/// the well-known types they import, which are `protocall::types`).
const EDITIONS_FILES: [&str; 3] = [
    "conformance/test_messages_edition2023.proto",
    "conformance/test_messages_proto2_editions.proto",
    "conformance/test_messages_proto3_editions.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Views for the test messages: `--views` answers binary requests
    // through them.
    protocall_codegen::configure()
        .include_file("protox_protos.rs")
        .views([".protobuf_test_messages"])
        .compile(
            &[
                "../proto/conformance/conformance.proto",
                "../proto/conformance/test_messages_proto2.proto",
                "../proto/conformance/test_messages_proto3.proto",
            ],
            &["../proto"],
        )?;

    let binpb = "../proto/conformance/editions.binpb";
    println!("cargo:rerun-if-changed={binpb}");
    let set = FileDescriptorSet::decode(std::fs::read(binpb)?.as_slice())?;
    for name in EDITIONS_FILES {
        if !set.file.iter().any(|f| f.name() == name) {
            return Err(format!("{binpb} lacks {name}").into());
        }
    }
    let names: Vec<String> = EDITIONS_FILES.iter().map(|s| s.to_string()).collect();
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR unset")?);
    for file in protocall_codegen::configure()
        .include_file("editions_protos.rs")
        .views([".protobuf_test_messages"])
        .generate(&set, &names)?
    {
        std::fs::write(out_dir.join(&file.name), file.content)?;
    }
    Ok(())
}
