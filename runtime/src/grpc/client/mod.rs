//! The gRPC client: [`Endpoint`] and [`Channel`] (the connection), and
//! [`Grpc`] (the four call kinds over any [`GrpcTransport`]).

mod channel;
mod connector;
mod grpc;
mod transport;

#[cfg(feature = "auth")]
pub(crate) use channel::host_and_port;
pub use channel::{Channel, Endpoint};
pub use grpc::Grpc;
pub use transport::GrpcTransport;

/// The `user-agent` of calls, unless the transport sets its own.
pub(crate) const USER_AGENT: &str = concat!("protocall/", env!("CARGO_PKG_VERSION"));
