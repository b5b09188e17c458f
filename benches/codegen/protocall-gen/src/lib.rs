//! The grpc-proto corpus as protocall-codegen generates it (messages,
//! servers, clients), written by `bench-codegen-gen` into
//! `target/bench-codegen/generated/protocall/` before this crate is built:
//! building it times rustc on the generated code alone
//! (scripts/bench-codegen.sh).
#![allow(missing_docs, unreachable_pub, clippy::all)]

include!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../target/bench-codegen/generated/protocall/mod.rs"
));
