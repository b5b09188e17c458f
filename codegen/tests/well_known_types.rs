//! Drift check: the runtime's checked-in well-known types are exactly what
//! this generator produces today. `PROTOCALL_BLESS=1` rewrites them.

use std::path::PathBuf;

const FILES: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
    "google/protobuf/compiler/plugin.proto",
];

#[test]
fn well_known_types_are_up_to_date() {
    let out = tempfile::tempdir().unwrap();
    protocall_codegen::configure()
        .compile_well_known_types()
        .json_behind_feature()
        .emit_rerun_if_changed(false)
        .out_dir(out.path())
        .compile(FILES, &[concat!(env!("CARGO_MANIFEST_DIR"), "/../proto")])
        .unwrap();
    let checked_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/src/types");
    let bless = std::env::var_os("PROTOCALL_BLESS").is_some();
    let mut stale = Vec::new();
    for name in ["google.protobuf.rs", "google.protobuf.compiler.rs"] {
        let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
        let path = checked_in.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            if bless {
                std::fs::write(&path, fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (rerun with PROTOCALL_BLESS=1): {stale:?}"
    );
}

/// The same for the gRPC services the runtime implements (health,
/// reflection): their generated code is checked in under
/// `runtime/src/services`.
#[test]
fn runtime_services_are_up_to_date() {
    let out = tempfile::tempdir().unwrap();
    protocall_codegen::configure()
        .json_behind_feature()
        .emit_rerun_if_changed(false)
        .out_dir(out.path())
        .compile(
            &[
                "grpc/health/v1/health.proto",
                "grpc/reflection/v1/reflection.proto",
                "grpc/reflection/v1alpha/reflection.proto",
                "grpc/channelz/v1/channelz.proto",
                "grpc/binlog/v1/binarylog.proto",
            ],
            &[concat!(env!("CARGO_MANIFEST_DIR"), "/../proto")],
        )
        .unwrap();
    let checked_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/src/services");
    let bless = std::env::var_os("PROTOCALL_BLESS").is_some();
    let mut stale = Vec::new();
    for name in [
        "grpc.health.v1.rs",
        "grpc.reflection.v1.rs",
        "grpc.reflection.v1alpha.rs",
        "grpc.channelz.v1.rs",
        "grpc.binarylog.v1.rs",
    ] {
        let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
        let path = checked_in.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(fresh.as_str()) {
            if bless {
                std::fs::create_dir_all(&checked_in).unwrap();
                std::fs::write(&path, fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (rerun with PROTOCALL_BLESS=1): {stale:?}"
    );
}

/// The encoded descriptors of the runtime's services (what server
/// reflection answers about them), checked in as
/// `runtime/src/services/reflection.binpb` (the health service's set is
/// the generated `protocall::health::FILE_DESCRIPTOR_SET`).
#[test]
fn runtime_service_descriptors_are_up_to_date() {
    use protocall::Message as _;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let checked_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../runtime/src/services");
    let bless = std::env::var_os("PROTOCALL_BLESS").is_some();
    let mut stale = Vec::new();
    let sets: [(&str, &[&str]); 1] = [(
        "reflection.binpb",
        &[
            "grpc/reflection/v1/reflection.proto",
            "grpc/reflection/v1alpha/reflection.proto",
        ],
    )];
    for (name, files) in sets {
        let mut compiler = protox::Compiler::new([&root]).unwrap();
        compiler.include_imports(true).include_source_info(true);
        compiler.open_files(files).unwrap();
        let encoded = compiler.encode_file_descriptor_set();
        let set = protocall::types::FileDescriptorSet::decode(encoded.as_slice()).unwrap();
        let fresh = set.encode_to_vec();
        let path = checked_in.join(name);
        if std::fs::read(&path).ok() != Some(fresh.clone()) {
            if bless {
                std::fs::write(&path, fresh).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale descriptor sets (rerun with PROTOCALL_BLESS=1): {stale:?}"
    );
}
