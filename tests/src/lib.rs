//! Generated code for the test schemas, shared by the tests in `tests/`.

#![allow(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/test_protos.rs"));

/// Every schema of Debian's `grpc-proto` package, generated: this compiling
/// is the test.
#[cfg(grpc_proto)]
pub mod grpc_proto {
    include!(concat!(env!("OUT_DIR"), "/grpc_protos.rs"));
}

/// True when the `grpc-proto` corpus was found and generated.
pub const GRPC_PROTO_COMPILED: bool = cfg!(grpc_proto);
