//! protocall: a pure-Rust gRPC toolkit — this crate is its runtime.
//!
//! The protobuf layer is always present: the [`Message`] trait, typed enums
//! ([`Enumeration`], [`EnumValue`]), [`UnknownFields`] kept on every message,
//! and the well-known types ([`types`]). With the default `transport`
//! feature comes gRPC: [`Server`] and its tower-native router
//! ([`server`]), [`Channel`] and the client side ([`client`]), and the
//! everyday call types ([`Request`], [`Response`], [`Status`],
//! [`Metadata`], [`Streaming`]).
//!
//! Message code is generated from `.proto` files by `protocall-codegen` (from
//! `build.rs`, no `protoc` needed) and pulled in with [`include_proto!`]:
//!
//! ```ignore
//! // Not compiled here: `include_proto!` reads `$OUT_DIR`, which only a crate
//! // whose build.rs ran protocall-codegen has.
//! pub mod user {
//!     protocall::include_proto!("user");
//! }
//! ```
//!
//! Messages can also be written in Rust, and the well-known types are real
//! messages:
//!
#![cfg_attr(feature = "macros", doc = "```")]
#![cfg_attr(not(feature = "macros"), doc = "```ignore")]
//! use protocall::{Message, types::Timestamp};
//!
//! #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
//! #[proto(package = "demo")]
//! struct Event {
//!     #[proto(tag = 1)]
//!     name: String,
//!     #[proto(tag = 2)]
//!     at: Option<Timestamp>,
//! }
//!
//! let event = Event { name: "boot".into(), at: Some(Timestamp::from(std::time::SystemTime::UNIX_EPOCH)) };
//! let bytes = event.encode_to_vec();
//! assert_eq!(Event::decode(bytes.as_slice()).unwrap(), event);
//! ```

// Generated code names this crate `::protocall`; the well-known types in
// `types` are generated code too, so the name must resolve here as well.
#[allow(unused_extern_crates)]
extern crate self as protocall;

#[cfg(feature = "transport")]
pub mod binlog;
#[cfg(feature = "transport")]
pub mod channelz;
mod codec;
mod decoder;
mod describe;
mod enumeration;
mod error;
mod extension;
#[cfg(feature = "transport")]
mod grpc;
#[cfg(feature = "transport")]
pub mod health;
#[cfg(feature = "json")]
pub mod json;
mod message;
pub mod options;
pub mod reflect;
#[cfg(feature = "transport")]
pub mod reflection;
pub mod text;
pub mod types;
mod unknown;
pub mod view;
mod wire;

pub use enumeration::{EnumValue, Enumeration};
pub use error::{DecodeError, DecodeErrorKind, EncodeError};
pub use extension::{Extendable, Extension, RepeatedExtension};
pub use message::{DecodeOptions, Message};
pub use unknown::{UnknownField, UnknownFields, UnknownValue};

/// `#[protocall::service]` on a trait: a gRPC service without a `.proto`.
///
/// It generates, beside the trait, `…Server<T>` (add it to a
/// [`Server`]), `…Client`, and the service's descriptors and
/// `.proto` source (`…Server::<T>::proto_source()`):
///
/// ```
/// use protocall::{Request, Response, Status};
///
/// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
/// #[proto(package = "demo")]
/// pub struct Ping {
///     #[proto(tag = 1)]
///     pub id: i64,
/// }
///
/// /// Answers pings.
/// #[protocall::service(package = "demo")]
/// pub trait Pinger {
///     /// Echoes the ping back.
///     async fn ping(&self, request: Request<Ping>) -> Result<Response<Ping>, Status>;
/// }
///
/// struct Echo;
/// impl Pinger for Echo {
///     async fn ping(&self, request: Request<Ping>) -> Result<Response<Ping>, Status> {
///         Ok(Response::new(request.into_inner()))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // `.proto` source for other languages
/// assert!(PingerServer::<Echo>::proto_source().contains("rpc Ping(.demo.Ping) returns (.demo.Ping);"));
/// // serve it and call it
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(PingerServer::new(Echo)).serve_with_listener(listener, std::future::pending()));
/// let client = PingerClient::connect(&uri).await?;
/// let reply = client.ping(Ping { id: 7 }).await?.into_inner();
/// assert_eq!(reply.id, 7);
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "macros")]
pub use protocall_macros::service;

/// `#[derive(protocall::Message)]`: a struct as a protobuf message, each
/// field numbered with `#[proto(tag = N)]` (`#[proto(sint64)]` and the like
/// pick another encoding of the same Rust type).
///
/// ```
/// use protocall::Message;
///
/// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
/// #[proto(package = "demo")]
/// struct User {
///     #[proto(tag = 1)]
///     name: String,
///     #[proto(tag = 2, sint64)]
///     balance: i64,
///     #[proto(tag = 3)]
///     tags: Vec<String>,
/// }
///
/// assert_eq!(User::FULL_NAME, "demo.User");
/// let user = User { name: "ada".into(), balance: -1, tags: vec!["admin".into()] };
/// assert_eq!(User::decode(user.encode_to_vec().as_slice()).unwrap(), user);
/// ```
#[cfg(feature = "macros")]
pub use protocall_macros::Message;

/// `#[derive(protocall::Enumeration)]`: a fieldless enum as a protobuf enum;
/// the first variant must be 0. Open-enum fields hold it as
/// [`EnumValue<E>`](crate::EnumValue).
///
/// ```
/// use protocall::{EnumValue, Enumeration, Message};
///
/// #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, protocall::Enumeration)]
/// #[proto(package = "demo")]
/// enum Role {
///     #[default]
///     Guest = 0,
///     Admin = 1,
/// }
///
/// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
/// #[proto(package = "demo")]
/// struct User {
///     #[proto(tag = 1)]
///     role: EnumValue<Role>,
/// }
///
/// assert_eq!(Role::from_i32(1), Some(Role::Admin));
/// let user = User { role: Role::Admin.into() };
/// assert_eq!(user.encode_to_vec(), [0x08, 0x01]);
/// ```
#[cfg(feature = "macros")]
pub use protocall_macros::Enumeration;

/// `#[derive(protocall::Oneof)]`: an enum of one-value variants, each
/// `#[proto(tag = N)]`, as a oneof field of a derived message (declared
/// there with `#[proto(oneof, tags = "…")]`).
///
/// ```
/// use protocall::Message;
///
/// #[derive(Clone, PartialEq, Debug, protocall::Oneof)]
/// enum Contact {
///     #[proto(tag = 2)]
///     Phone(String),
///     #[proto(tag = 3)]
///     Email(String),
/// }
///
/// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
/// #[proto(package = "demo")]
/// struct User {
///     #[proto(tag = 1)]
///     name: String,
///     #[proto(oneof, tags = "2, 3")]
///     contact: Option<Contact>,
/// }
///
/// let user = User { name: "ada".into(), contact: Some(Contact::Email("ada@example.com".into())) };
/// assert_eq!(User::decode(user.encode_to_vec().as_slice()).unwrap(), user);
/// ```
#[cfg(feature = "macros")]
pub use protocall_macros::Oneof;

/// The `bytes` crate, which generated code and `bytes` fields use.
pub use bytes;

#[cfg(feature = "transport")]
pub use grpc::{Body, Channel, Code, Metadata, Request, Response, Server, Status, Streaming};

/// The server side: [`Server`]'s router, the services as a tower `Service`
/// ([`server::Routes`]), serving on any I/O ([`server::Connected`]),
/// interceptors, and the call-kind handlers generated `…Server` types
/// dispatch to.
///
/// ```
/// use protocall::{Request, Server, Status, server::intercept};
/// let (_reporter, health) = protocall::health::health_service();
/// // one service behind a check of its own; every call to it needs `x-user`
/// let guarded = intercept(health, |request: Request<()>| async move {
///     match request.metadata().contains_key("x-user") {
///         true => Ok(request),
///         false => Err(Status::unauthenticated("who are you?")),
///     }
/// });
/// let _router = Server::builder().add_service(guarded);
/// ```
#[cfg(feature = "transport")]
pub mod server {
    pub use crate::grpc::server::{
        Call, Connected, GrpcService, Intercepted, Interceptor, Layered, NamedService,
        ResponseFuture, Router, Routes, RoutesFuture, ServiceStack, client_streaming, intercept,
        server_streaming, streaming, unary, unimplemented,
    };
    /// Streams (`futures_core::Stream`): what server-streaming methods return.
    pub use futures_core::Stream;
}

/// The client side: [`client::Endpoint`] (where and how to connect, the
/// builder of a [`Channel`]), [`client::Grpc`] (the call kinds generated
/// clients use, over any [`client::GrpcTransport`]) and the conversions
/// into requests generated clients accept.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (_reporter, health) = protocall::health::health_service();
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
/// use protocall::health::{HealthCheckRequest, HealthCheckResponse};
/// use protocall::{Request, client::{Endpoint, Grpc}};
/// // what a generated client does for a unary method, the health service on `uri`
/// let grpc = Grpc::new(Endpoint::new(&uri)?.connect().await?);
/// let request = Request::new(HealthCheckRequest::default());
/// let reply = grpc.unary::<_, HealthCheckResponse>(request, "/grpc.health.v1.Health/Check").await?;
/// # let _ = reply;
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "transport")]
pub mod client {
    pub use crate::grpc::client::{
        Address, Backoff, Candidate, ChangedFuture, ConnectivityState, Endpoint, Grpc,
        GrpcTransport, LoadBalancer, ManualResolver, PickFirst, Resolution, ResolveFuture,
        Resolver, RoundRobin, ServiceConfig,
    };
    pub use crate::grpc::{IntoRequest, IntoStreamingRequest};
}

/// Request and response metadata: [`Metadata`] holds [`metadata::MetadataValue`]s.
///
/// ```
/// use protocall::{Metadata, metadata::MetadataValue};
/// let mut metadata = Metadata::new();
/// metadata.insert("x-trace", "abc").unwrap();
/// let (name, value) = metadata.iter().next().unwrap();
/// assert_eq!((name, value), ("x-trace", MetadataValue::Ascii("abc")));
/// ```
#[cfg(feature = "transport")]
pub mod metadata {
    pub use crate::grpc::{InvalidMetadata, MetadataValue};
}

/// Message compression: the algorithms ([`compression::Encoding`]; gzip
/// with the default `gzip` feature, zstd with `zstd`), per-message choices
/// on streams, and the extensions that say whether a message arrived
/// compressed.
///
/// ```
/// use protocall::compression::Encoding;
/// assert_eq!(Encoding::from_name("gzip"), Some(Encoding::Gzip));
/// ```
#[cfg(feature = "transport")]
pub mod compression {
    pub use crate::grpc::{Encoding, MessageCompression, RequestCompressed, ResponseCompressed};
}

/// Values the runtime puts in request extensions for handlers and
/// interceptors: the peer's address, the call's deadline and, with TLS,
/// the client's certificates.
///
/// ```
/// use protocall::{Request, extensions::RemoteAddr};
/// let mut request = Request::new(());
/// request.extensions_mut().insert(RemoteAddr("127.0.0.1:4000".parse().unwrap()));
/// assert_eq!(request.remote_addr(), Some("127.0.0.1:4000".parse().unwrap()));
/// ```
#[cfg(feature = "transport")]
pub mod extensions {
    pub use crate::grpc::server::GrpcMethod;
    #[cfg(feature = "tls")]
    pub use crate::grpc::tls::PeerCertificates;
    pub use crate::grpc::{Deadline, RemoteAddr};
}

/// Call metrics by gRFC A66 (the OpenTelemetry metrics of gRPC), for
/// servers ([`Server::metrics`]) and channels
/// ([`Endpoint::metrics`](client::Endpoint::metrics)), read as Prometheus
/// text or a per-method summary.
#[cfg(feature = "transport")]
pub mod metrics {
    pub use crate::grpc::metrics::{MethodSummary, Metrics, MetricsService, Summary};
}

/// Trace context propagation: W3C `traceparent`/`tracestate` and
/// `grpc-trace-bin`, read by servers and sent by channels.
#[cfg(feature = "transport")]
pub mod trace {
    pub use crate::grpc::trace::TraceContext;
}

#[cfg(feature = "auth")]
pub mod auth;

/// gRPC-Web and the Connect protocol: the [`Protocol`](web::Protocol)s a
/// server answers and a channel calls with, and the [`Cors`](web::Cors)
/// layer browsers need.
#[cfg(feature = "transport")]
pub mod web {
    pub use crate::grpc::web::{Cors, CorsService, Protocol};
}

/// TLS configuration (feature `tls`): identities, trusted roots, mutual TLS.
#[cfg(feature = "tls")]
pub mod tls {
    pub use crate::grpc::tls::{
        Certificate, ClientTlsConfig, Identity, PeerIdentity, ServerTlsConfig,
    };
}

/// The `http` crate, whose types appear in this API (`Code::from_http`,
/// `Request::extensions`), so users need not pin a matching version.
///
/// ```
/// use protocall::{Code, http::StatusCode};
/// assert_eq!(Code::from_http(StatusCode::NOT_FOUND), Code::Unimplemented);
/// ```
#[cfg(feature = "transport")]
pub use http;

/// The `tower` traits [`server::Router::layer`] composes with: a `Layer`
/// wraps a `Service`.
///
/// ```
/// use protocall::tower::Layer;
/// /// A layer that leaves the service as it is.
/// struct Nothing;
/// impl<S> Layer<S> for Nothing {
///     type Service = S;
///     fn layer(&self, inner: S) -> S { inner }
/// }
/// let (_reporter, health) = protocall::health::health_service();
/// let _router = protocall::Server::builder().add_service(health).layer(Nothing);
/// ```
#[cfg(feature = "transport")]
pub mod tower {
    pub use tower_layer::Layer;
    pub use tower_service::Service;
}

/// What generated code (and `#[derive(protocall::Message)]`) calls: the
/// field codecs, the decoder, wire types, descriptor glue. **Not a stable
/// API**: it changes with the generator, which is why generated code
/// checks [`__private::VERSION_0_1`] first.
#[doc(hidden)]
pub mod __private {
    pub use crate::decoder::{DEFAULT_RECURSION_LIMIT, Decoder};
    pub use crate::wire::WireType;

    /// Field codecs.
    pub mod codec {
        pub use crate::codec::*;
    }
    /// Reading fields into borrowed views.
    pub mod view {
        pub use crate::codec::view::*;
    }
    /// Wire-format primitives.
    pub mod wire {
        pub use crate::wire::*;
    }
    /// Descriptor glue of `#[protocall::service]` and derived messages.
    pub mod reflect {
        pub use crate::describe::*;
    }
    /// Resolved protobuf features (syntax, edition, `features` options),
    /// shared with the code generator.
    pub mod features {
        pub use crate::reflect::features::*;
    }

    /// The lowerCamelCase JSON name protoc gives a field without `json_name`.
    pub fn json_name(name: &str) -> std::string::String {
        crate::reflect::json_name(name)
    }

    /// True for the well-known types whose JSON has a special form.
    pub fn has_special_json(full_name: &str) -> bool {
        crate::reflect::WellKnown::of(full_name).is_some()
    }

    /// ProtoJSON glue of generated `Serialize`/`Deserialize` impls.
    #[cfg(feature = "json")]
    pub use crate::json::__private as json;
    #[cfg(feature = "json")]
    pub use serde;

    /// The descriptor of `full_name` in the pool of an embedded
    /// `FILE_DESCRIPTOR_SET` (built once per set, then registered for `Any`).
    pub fn message_descriptor(
        file_descriptor_set: &'static [u8],
        full_name: &str,
    ) -> crate::reflect::MessageDescriptor {
        crate::reflect::embedded_pool(file_descriptor_set)
            .message(full_name)
            .unwrap_or_else(|| panic!("{full_name} is not in its embedded descriptors"))
    }

    /// The descriptor of a derived message, from what its `Describe` impl
    /// writes (what derived `ReflectMessage` impls return).
    pub fn described_message<M: crate::Message + crate::describe::Describe>()
    -> crate::reflect::MessageDescriptor {
        let mut descriptors = crate::describe::Descriptors::new();
        M::describe(&mut descriptors);
        let pool = descriptors
            .pool()
            .unwrap_or_else(|e| panic!("{} does not describe a valid pool: {e}", M::FULL_NAME));
        crate::reflect::register(&pool);
        pool.message(M::FULL_NAME)
            .unwrap_or_else(|| panic!("{} is not among its own descriptors", M::FULL_NAME))
    }

    /// The descriptor of service `full_name` in an embedded set (what
    /// generated `GrpcService::descriptor` impls return).
    pub fn service_descriptor(
        file_descriptor_set: &'static [u8],
        full_name: &str,
    ) -> crate::reflect::ServiceDescriptor {
        crate::reflect::embedded_pool(file_descriptor_set)
            .service(full_name)
            .unwrap_or_else(|| panic!("{full_name} is not in its embedded descriptors"))
    }

    /// How descriptors spell defaults (for the generator; `DynamicMessage`
    /// reads them the same way).
    pub use crate::reflect::defaults::{parse_float_default, unescape_bytes};

    /// Generated code names this constant, so code generated by a
    /// `protocall-codegen` 0.1.x fails to compile against any other runtime
    /// minor version with an error naming it, instead of failing somewhere
    /// inside the generated items.
    pub const VERSION_0_1: () = ();
}

/// Includes the code generated for a proto package by `protocall-codegen`
/// from `OUT_DIR` (`include_proto!("user")` reads `$OUT_DIR/user.rs`).
///
/// ```ignore
/// // Not compiled here: it needs the `$OUT_DIR` of a crate whose build.rs
/// // ran `protocall_codegen::configure().compile(&["proto/user.proto"], &["proto"])`.
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
