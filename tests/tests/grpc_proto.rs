//! The official gRPC schemas (Debian `grpc-proto`) generate Rust that
//! compiles: `tests/build.rs` generates them into `protocall_tests::grpc_proto`,
//! so the build itself is the test. This checks the corpus was really there.

#[test]
fn grpc_proto_corpus_was_generated() {
    if !protocall_tests::GRPC_PROTO_COMPILED {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "grpc-proto is missing in CI: scripts/setup-peers.sh installs it"
        );
        eprintln!("skipped: /usr/share/grpc-proto not installed (apt-get install grpc-proto)");
    }
}

#[cfg(grpc_proto)]
#[test]
fn generated_grpc_messages_round_trip() {
    use protocall::Message;
    use protocall_tests::grpc_proto::grpc::testing::{Payload, SimpleRequest};
    let request = SimpleRequest {
        response_size: 10,
        payload: Some(Payload {
            body: vec![1, 2, 3],
            ..Default::default()
        }),
        ..Default::default()
    };
    let back = SimpleRequest::decode(request.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, request);
    assert_eq!(back.payload().body, [1, 2, 3]);
}

/// The interop schemas vendored under `proto/grpc/testing` are unchanged
/// copies of the installed package's files.
#[test]
fn vendored_interop_schemas_match_the_package() {
    let installed = std::path::Path::new("/usr/share/grpc-proto/grpc/testing");
    if !installed.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "grpc-proto is missing in CI"
        );
        return;
    }
    let vendored = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto/grpc/testing");
    for name in ["test.proto", "messages.proto", "empty.proto"] {
        let a = std::fs::read(installed.join(name)).unwrap();
        let b = std::fs::read(vendored.join(name)).unwrap();
        assert!(
            a == b,
            "proto/grpc/testing/{name} differs from the grpc-proto package"
        );
    }
}
