//! protocall-codegen: `.proto` schemas to Rust messages, server traits and
//! clients for the `protocall` runtime.
//!
//! From `build.rs` (protox compiles the schemas; no `protoc` needed):
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     protocall_codegen::configure().compile(&["proto/user.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate, `pub mod user { protocall::include_proto!("user"); }`.
//!
//! The pipeline is one model and one emitter for every way in:
//! descriptors → model → tokens (quote) → prettyplease; the model and the
//! emitter live in `protocall-codegen-core`, shared with the proc macros.

#[cfg(feature = "protox")]
mod compile;
mod config;
mod embed;
mod error;
use protocall::__private::features;
mod lower;
mod options;
mod paths;
mod plugin;

pub use config::{Builder, configure};
pub use error::Error;
pub use plugin::run_plugin;

/// One generated source file.
///
/// ```
/// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
/// #     use protocall::Message;
/// #     let dir = tempfile::tempdir().unwrap();
/// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
/// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
/// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
/// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
/// # }
/// use protocall_codegen::GeneratedFile;
/// let set = compile(r#"syntax = "proto3"; package demo.v1; message Ping {}"#);
/// let files: Vec<GeneratedFile> = protocall_codegen::configure().generate(&set, &["demo.proto".to_string()])?;
/// assert_eq!(files[0].name, "demo.v1.rs");
/// assert!(files[0].content.contains("pub struct Ping"));
/// # Ok::<(), protocall_codegen::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name relative to the output directory, e.g. `user.rs`.
    pub name: String,
    /// The formatted Rust source.
    pub content: String,
}
