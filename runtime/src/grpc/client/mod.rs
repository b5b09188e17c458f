//! The gRPC client: [`Endpoint`] and [`Channel`] (the connection) and
//! [`Grpc`] (the call kinds generated clients use).

mod channel;
mod grpc;

pub use channel::{Channel, Endpoint};
pub use grpc::Grpc;
