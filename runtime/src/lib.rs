//! protocall: a pure-Rust gRPC toolkit — this crate is its runtime.
//!
//! The protobuf layer is always present: the [`Message`] trait, typed enums
//! ([`Enumeration`], [`EnumValue`]), [`UnknownFields`] kept on every message,
//! the field codecs generated code calls ([`codec`]), and the well-known types
//! ([`types`]).
//!
//! Message code is generated from `.proto` files by `protocall-codegen` (from
//! `build.rs`, no `protoc` needed) and pulled in with [`include_proto!`]:
//!
//! ```ignore
//! pub mod user {
//!     protocall::include_proto!("user");
//! }
//! ```

// Generated code names this crate `::protocall`; the well-known types in
// `types` are generated code too, so the name must resolve here as well.
#[allow(unused_extern_crates)]
extern crate self as protocall;

pub mod codec;
mod decoder;
mod enumeration;
mod error;
mod message;
pub mod types;
mod unknown;
pub mod wire;

pub use decoder::{DEFAULT_RECURSION_LIMIT, Decoder};
pub use enumeration::{EnumValue, Enumeration};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use message::{DecodeOptions, Message};
pub use unknown::{UnknownField, UnknownFields, UnknownValue};
pub use wire::WireType;

/// The `bytes` crate, which generated code and `bytes` fields use.
pub use bytes;

/// Includes the code generated for a proto package by `protocall-codegen`
/// from `OUT_DIR` (`include_proto!("user")` reads `$OUT_DIR/user.rs`).
///
/// ```ignore
/// pub mod user {
///     protocall::include_proto!("user");
/// }
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}
