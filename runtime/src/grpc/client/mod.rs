//! The gRPC client: [`Endpoint`] and [`Channel`] (resolution, load
//! balancing, connections, retries), and
//! [`Grpc`] (the four call kinds over any [`GrpcTransport`]).

mod backoff;
mod balancer;
mod channel;
mod connector;
#[cfg(feature = "dns")]
mod dns;
mod grpc;
mod http2;
mod limits;
mod resolver;
mod retry;
mod service_config;
mod subchannel;
mod target;
mod transport;

pub use backoff::Backoff;
pub use balancer::{Candidate, ConnectivityState, LoadBalancer, PickFirst, RoundRobin};
#[cfg(feature = "auth")]
pub(crate) use channel::host_and_port;
pub use channel::{Channel, Endpoint};
pub use grpc::Grpc;
pub use resolver::{ChangedFuture, ManualResolver, Resolution, ResolveFuture, Resolver};
pub use service_config::ServiceConfig;
pub use target::Address;
pub use transport::GrpcTransport;

/// The `user-agent` of calls, unless the transport sets its own.
pub(crate) const USER_AGENT: &str = concat!("protocall/", env!("CARGO_PKG_VERSION"));
