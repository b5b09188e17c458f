//! Generates the example schemas with protox: no protoc needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protocall_codegen::configure()
        .compile(&["proto/user.proto", "proto/route.proto"], &["proto"])?;
    // The official gRPC interop schemas (copies of Debian's grpc-proto).
    protocall_codegen::configure().compile(&["../proto/grpc/testing/test.proto"], &["../proto"])?;
    Ok(())
}
