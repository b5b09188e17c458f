//! Generates the schemas the targets decode: the test schemas with the same
//! options as `tests/build.rs`, the recursive schema of `proto/`, and the
//! echo service `h2_server` serves.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    protocall_codegen::configure()
        .include_file("fuzz_protos.rs")
        .btree_map([".protocall.test.Everything.m_bool_string"])
        .bytes([
            ".protocall.test.Everything.r_bytes",
            ".protocall.test.Everything.c_bytes",
        ])
        .discard_unknown_fields([".protocall.test.Result"])
        .compile(
            &[
                "../proto/test/everything.proto",
                "../proto/test/proto2.proto",
                "proto/recursive.proto",
                "proto/echo.proto",
            ],
            &["../proto", "proto"],
        )?;
    Ok(())
}
