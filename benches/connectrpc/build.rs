//! Generates the buffa message types and the connectrpc service stubs for
//! `../proto/bench.proto` (the proto protocall's `grpc_server` serves).
//! connectrpc-build runs `protoc` (on PATH, or `$PROTOC`).

fn main() {
    connectrpc_build::Config::new()
        .files(&["../proto/bench.proto"])
        .includes(&["../proto/"])
        .include_file("_connectrpc.rs")
        .compile()
        .expect("connectrpc-build: generating code for ../proto/bench.proto");
}
