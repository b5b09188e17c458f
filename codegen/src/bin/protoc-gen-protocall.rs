//! `protoc-gen-protocall`: protocall's code generator as a protoc plugin.
//!
//! ```text
//! protoc --plugin=protoc-gen-protocall --protocall_out=gen --protocall_opt=bytes=.pkg x.proto
//! ```
//!
//! Reads a `CodeGeneratorRequest` on stdin, writes a `CodeGeneratorResponse`
//! on stdout: one `.rs` file per proto package, the same bytes `build.rs`
//! produces.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut request = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut request) {
        eprintln!("protoc-gen-protocall: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    let response = protocall_codegen::run_plugin(&request);
    if let Err(e) = std::io::stdout()
        .write_all(&response)
        .and_then(|()| std::io::stdout().flush())
    {
        eprintln!("protoc-gen-protocall: cannot write stdout: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
