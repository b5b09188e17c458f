//! The gRPC layer: status, metadata, framing, compression, server and client.

mod body;
pub(crate) mod client;
mod compression;
mod encode;
mod errors;
pub(crate) mod frame;
pub(crate) mod headers;
pub(crate) mod metadata;
pub(crate) mod metrics;
mod observe;
#[cfg(feature = "opentelemetry")]
mod otel;
mod request;
pub(crate) mod server;
mod status;
mod streaming;
pub(crate) mod timeout;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub(crate) mod trace;
pub(crate) mod web;

pub use body::Body;
pub use client::Channel;
pub use compression::Encoding;
pub use metadata::{InvalidMetadata, Metadata, MetadataValue};
#[cfg(feature = "auth")]
pub(crate) use request::TransportSecurityRequired;
pub use request::{
    Deadline, IntoRequest, IntoStreamingRequest, MessageCompression, RemoteAddr, Request,
    RequestCompressed, Response, ResponseCompressed,
};
pub use server::Server;
pub use status::{Code, Status};
pub use streaming::Streaming;
