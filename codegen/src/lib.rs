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
mod error;
mod features;
mod lower;
mod paths;
mod plugin;

pub use config::{Builder, configure};
pub use error::Error;
pub use plugin::run_plugin;

/// One generated source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    /// File name relative to the output directory, e.g. `user.rs`.
    pub name: String,
    /// The formatted Rust source.
    pub content: String,
}
