//! Generates the example schemas with protox: no protoc needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protocall_codegen::configure().compile(&["proto/user.proto"], &["proto"])?;
    Ok(())
}
