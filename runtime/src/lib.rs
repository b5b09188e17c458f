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
#[cfg(feature = "transport")]
mod grpc;
#[cfg(feature = "transport")]
pub mod health;
mod message;
pub mod reflect;
#[cfg(feature = "transport")]
pub mod reflection;
pub mod types;
mod unknown;
pub mod wire;

pub use decoder::{DEFAULT_RECURSION_LIMIT, Decoder};
pub use enumeration::{EnumValue, Enumeration};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use message::{DecodeOptions, Message};
pub use unknown::{UnknownField, UnknownFields, UnknownValue};
pub use wire::WireType;

/// `#[protocall::service]` on a trait: a gRPC service without a `.proto`.
#[cfg(feature = "macros")]
pub use protocall_macros::service;
/// Derive macros: `#[derive(protocall::Message)]` and friends.
#[cfg(feature = "macros")]
pub use protocall_macros::{Enumeration, Message, Oneof};

/// The `bytes` crate, which generated code and `bytes` fields use.
pub use bytes;

#[cfg(feature = "transport")]
pub use grpc::client::{Channel, Endpoint};
#[cfg(feature = "transport")]
pub use grpc::server::{Router, Server};
#[cfg(feature = "transport")]
pub use grpc::{
    Body, Code, Deadline, Encoding, IntoRequest, IntoStreamingRequest, InvalidMetadata,
    MessageCompression, Metadata, MetadataValue, RemoteAddr, Request, RequestCompressed, Response,
    ResponseCompressed, Status, Streaming,
};

/// TLS configuration (feature `tls`): identities, trusted roots, mutual TLS.
#[cfg(feature = "tls")]
pub use grpc::tls;

/// The server side: routing, interceptors and the call-kind handlers that
/// generated `…Server` types dispatch to.
#[cfg(feature = "transport")]
pub mod server {
    pub use crate::grpc::server::{
        Call, GrpcService, Intercepted, Interceptor, NamedService, ResponseFuture, Routes,
        RoutesFuture, ServiceStack, client_streaming, intercept, server_streaming, streaming,
        unary, unimplemented,
    };
}

/// The client side: the call kinds generated clients use.
#[cfg(feature = "transport")]
pub mod client {
    pub use crate::grpc::client::{Channel, Endpoint, Grpc};
}

/// Streams, re-exported for generated code and users of streaming calls.
#[cfg(feature = "transport")]
pub use futures_core::Stream;

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
