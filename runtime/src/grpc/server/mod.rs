//! The gRPC server: [`Server`] (settings), [`Router`] (services and tower
//! layers), [`Routes`] (the services as one tower `Service`), serving on any
//! I/O, and the per-call-kind handlers generated code dispatches to.

mod config;
mod handler;
mod ping_policy;
mod router;
mod serve;
mod service;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use tower_layer::{Identity, Layer, Stack};

pub(crate) use config::ServerConfig;
pub use handler::{client_streaming, server_streaming, streaming, unary, unimplemented};
pub(crate) use handler::{panic_status, status_response};
pub use router::{Layered, Routes, RoutesFuture};
pub use serve::Connected;
pub use service::{
    Call, GrpcMethod, GrpcService, Intercepted, Interceptor, NamedService, ResponseFuture,
    intercept,
};

use crate::grpc::body::{Body, BoxError};
use crate::grpc::compression::Encoding;
use config::Http2Config;

/// A gRPC server over HTTP/2 (h2c): settings first, then services.
///
/// ```no_run
/// # async fn run<S: protocall::server::GrpcService + protocall::server::NamedService>(service: S) -> std::io::Result<()> {
/// protocall::Server::builder()
///     .max_decoding_message_size(16 << 20)
///     .add_service(service)
///     .serve("127.0.0.1:50051".parse().unwrap())
///     .await
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Server {
    config: ServerConfig,
    http2: Http2Config,
    tls: Option<Tls>,
    /// How long a shutdown waits for calls in flight (`None`: as long as
    /// they take).
    grace: Option<Duration>,
}

/// The TLS acceptor of a server (uninhabited without the `tls` feature).
#[derive(Clone)]
struct Tls(
    #[cfg(feature = "tls")] tokio_rustls::TlsAcceptor,
    #[cfg(not(feature = "tls"))] std::convert::Infallible,
);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls")
    }
}

impl Server {
    /// A server with the defaults: 4 MiB receive limit, every encoding
    /// built in (gzip; zstd with its feature) accepted, uncompressed responses, at most 1024 concurrent streams per
    /// connection, 16 KiB of headers.
    ///
    /// ```
    /// use protocall::Server;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let router = Server::builder().add_service(health);
    /// # let _ = router;
    /// ```
    pub fn builder() -> Server {
        Server::default()
    }

    /// Largest request message accepted (after decompression); larger ones
    /// fail with `RESOURCE_EXHAUSTED`.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_decoding_message_size(16 * 1024 * 1024);
    /// # let _ = server;
    /// ```
    pub fn max_decoding_message_size(mut self, limit: usize) -> Server {
        self.config.max_decode = limit;
        self
    }

    /// The limits requests are decoded under: recursion limit and memory
    /// budget ([`DecodeOptions`](crate::DecodeOptions); default
    /// `DecodeOptions::new()`). A request past them fails with `INTERNAL`,
    /// as any request that does not decode.
    ///
    /// ```
    /// use protocall::{DecodeOptions, Server};
    /// // Requests may nest 16 deep and take 8 bytes of slots per input byte.
    /// let server = Server::builder()
    ///     .decode_options(DecodeOptions::new().recursion_limit(16).memory_budget(8, 64 << 10));
    /// # let _ = server;
    /// ```
    pub fn decode_options(mut self, options: crate::DecodeOptions) -> Server {
        self.config.decode = options;
        self
    }

    /// Largest response message sent.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_encoding_message_size(1024 * 1024);
    /// # let _ = server;
    /// ```
    pub fn max_encoding_message_size(mut self, limit: usize) -> Server {
        self.config.max_encode = limit;
        self
    }

    /// Compresses responses with `encoding` when the client accepts it.
    ///
    /// ```
    /// use protocall::{compression::Encoding, Server};
    /// let server = Server::builder().send_compressed(Encoding::Gzip);
    /// # let _ = server;
    /// ```
    pub fn send_compressed(mut self, encoding: Encoding) -> Server {
        self.config.send = Some(encoding);
        self
    }

    /// The encodings accepted on requests (default: every one built in);
    /// others are answered with `UNIMPLEMENTED`.
    ///
    /// ```
    /// use protocall::{compression::Encoding, Server};
    /// let server = Server::builder().accept_compressed(&[Encoding::Gzip]); // no zstd
    /// let uncompressed_only = Server::builder().accept_compressed(&[]);
    /// # let _ = (server, uncompressed_only);
    /// ```
    pub fn accept_compressed(mut self, encodings: &[Encoding]) -> Server {
        // An encoding this build lacks cannot be accepted.
        self.config.accept = encodings
            .iter()
            .copied()
            .filter(|e| e.is_supported())
            .collect();
        self.config.accept_header = crate::grpc::compression::accept_value(&self.config.accept);
        self
    }

    /// Records every call's A66 metrics (`grpc.server.call.*`) into
    /// `metrics`; methods the server does not have are counted as `other`.
    ///
    /// ```
    /// let metrics = protocall::metrics::Metrics::new();
    /// let server = protocall::Server::builder().metrics(metrics.clone());
    /// // serve it, then publish `metrics.prometheus()` at /metrics
    /// # let _ = server;
    /// ```
    pub fn metrics(mut self, metrics: crate::grpc::metrics::Metrics) -> Server {
        self.config.metrics = Some(metrics);
        self
    }

    /// Writes the calls `log`'s filter chooses to its sink, in gRFC A16's
    /// `grpc.binarylog.v1` format (see [`crate::binlog`]).
    ///
    /// ```
    /// use protocall::binlog::{BinaryLog, FileSink};
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let log = BinaryLog::new("*", FileSink::create("/tmp/calls.binlog")?)?;
    /// let server = protocall::Server::builder().binary_log(log);
    /// # let _ = server; Ok(()) }
    /// ```
    pub fn binary_log(mut self, log: crate::binlog::BinaryLog) -> Server {
        self.config.binary_log = Some(log);
        self
    }

    /// Caps every call's duration, whatever deadline the client sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder().timeout(Duration::from_secs(30));
    /// # let _ = server;
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Server {
        self.config.timeout = Some(limit);
        self
    }

    /// Runs `interceptor` before every call; see [`Interceptor`].
    ///
    /// ```
    /// use protocall::{Request, Server};
    /// let server = Server::builder().interceptor(|request: Request<()>| async move {
    ///     println!("call from {:?}", request.remote_addr());
    ///     Ok(request)
    /// });
    /// # let _ = server;
    /// ```
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Server {
        self.config.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Turns one of the protocols the server answers on or off (all three
    /// are on by default, on the same port). A request in a protocol that
    /// is off is refused as an unsupported media type (HTTP 415).
    ///
    /// ```
    /// use protocall::{Server, web::Protocol};
    /// let grpc_only = Server::builder()
    ///     .protocol(Protocol::GrpcWeb, false)
    ///     .protocol(Protocol::Connect, false);
    /// # let _ = grpc_only;
    /// ```
    pub fn protocol(mut self, protocol: crate::grpc::web::Protocol, on: bool) -> Server {
        self.config.protocols.set(protocol, on);
        self
    }

    /// Serves HTTP/1.1 beside HTTP/2 (default: on). Browsers' gRPC-Web and
    /// Connect calls often arrive over HTTP/1.1; gRPC itself needs HTTP/2.
    ///
    /// ```
    /// let http2_only = protocall::Server::builder().accept_http1(false);
    /// # let _ = http2_only;
    /// ```
    pub fn accept_http1(mut self, on: bool) -> Server {
        self.http2.accept_http1 = on;
        self
    }

    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS` per connection (`None`: no limit).
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_concurrent_streams(Some(100));
    /// # let _ = server;
    /// ```
    pub fn max_concurrent_streams(mut self, limit: Option<u32>) -> Server {
        self.http2.max_concurrent_streams = limit;
        self
    }

    /// HTTP/2 `SETTINGS_MAX_HEADER_LIST_SIZE`: bounds request metadata.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_header_list_size(64 * 1024);
    /// # let _ = server;
    /// ```
    pub fn max_header_list_size(mut self, bytes: u32) -> Server {
        self.http2.max_header_list_size = bytes;
        self
    }

    /// Response bytes HTTP/2 may queue per stream beyond what the socket
    /// has taken (default 400 KiB, hyper's): past it the handler's stream
    /// waits. A connection whose peer opens its windows and then stops
    /// reading holds at most `max_concurrent_streams ×` this much, so lower
    /// one or the other to cap a connection's memory.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_send_buf_size(64 * 1024);
    /// # let _ = server;
    /// ```
    pub fn max_send_buf_size(mut self, bytes: usize) -> Server {
        self.http2.max_send_buf_size = bytes;
        self
    }

    /// Initial HTTP/2 flow-control window of each stream.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().initial_stream_window_size(1 << 20);
    /// # let _ = server;
    /// ```
    pub fn initial_stream_window_size(mut self, bytes: u32) -> Server {
        self.http2.initial_stream_window_size = Some(bytes);
        self
    }

    /// Initial HTTP/2 flow-control window of each connection.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().initial_connection_window_size(4 << 20);
    /// # let _ = server;
    /// ```
    pub fn initial_connection_window_size(mut self, bytes: u32) -> Server {
        self.http2.initial_connection_window_size = Some(bytes);
        self
    }

    /// Sends HTTP/2 PINGs at this interval; a connection whose peer does
    /// not answer within [`Server::http2_keepalive_timeout`] is closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder().http2_keepalive_interval(Duration::from_secs(60));
    /// # let _ = server;
    /// ```
    pub fn http2_keepalive_interval(mut self, interval: Duration) -> Server {
        self.http2.keepalive_interval = Some(interval);
        self
    }

    /// How long to wait for a keepalive PING's answer (default 20 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder()
    ///     .http2_keepalive_interval(Duration::from_secs(60))
    ///     .http2_keepalive_timeout(Duration::from_secs(5));
    /// # let _ = server;
    /// ```
    pub fn http2_keepalive_timeout(mut self, timeout: Duration) -> Server {
        self.http2.keepalive_timeout = timeout;
        self
    }

    /// Streams a client may reset before the server accepts them, per
    /// connection, before the server ends the connection with GOAWAY
    /// `ENHANCE_YOUR_CALM` (HTTP/2 rapid-reset defence; default 200).
    ///
    /// A well-behaved client cancels calls too (deadlines, user cancels),
    /// and under load a burst of them arrives before the server got to the
    /// streams: h2's default of 20 closed such clients' connections, failing
    /// their other calls with `UNAVAILABLE`. 200 still stops a rapid-reset
    /// flood within its first few hundred streams.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_pending_accept_reset_streams(50);
    /// # let _ = server;
    /// ```
    pub fn max_pending_accept_reset_streams(mut self, limit: usize) -> Server {
        self.http2.max_pending_accept_reset_streams = limit;
        self
    }

    /// How long a shutdown (`serve_with_shutdown` and the other `…_shutdown`
    /// forms) waits for the calls in flight after sending GOAWAY. When it
    /// is over, the connections still open are closed: their calls end with
    /// `UNAVAILABLE` at the client, and their handlers are dropped. Without
    /// it (the default), a shutdown waits as long as the calls take — a
    /// stream that never ends then keeps the server from stopping.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder().shutdown_grace_period(Duration::from_secs(30));
    /// # let _ = server;
    /// ```
    pub fn shutdown_grace_period(mut self, grace: Duration) -> Server {
        self.grace = Some(grace);
        self
    }

    /// How long a new connection may take to finish the TLS handshake (with
    /// TLS) and send the HTTP/2 connection preface (default 10 s); a client
    /// that connects and then says nothing is disconnected after it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder().handshake_timeout(Duration::from_secs(3));
    /// # let _ = server;
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Server {
        self.http2.handshake_timeout = timeout;
        self
    }

    /// Bytes of incomplete request messages one connection may hold across
    /// all its streams (default 64 MiB; `None`: only each message's
    /// `max_decoding_message_size`). A stream whose buffered message would
    /// pass it fails with `RESOURCE_EXHAUSTED`; the others go on. Without
    /// it, 1,024 streams each sending most of a 4 MiB message hold 4 GiB.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_buffered_message_bytes_per_connection(Some(16 << 20));
    /// # let _ = server;
    /// ```
    pub fn max_buffered_message_bytes_per_connection(mut self, bytes: Option<usize>) -> Server {
        self.http2.max_buffered_message_bytes = bytes;
        self
    }

    /// Serves at most `limit` connections at once: a connection arriving
    /// while that many are open is closed at once (default: no limit; the
    /// process's file-descriptor limit applies). Each connection costs a
    /// task, its buffers and up to `max_concurrent_streams` handlers.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_connections(10_000);
    /// # let _ = server;
    /// ```
    pub fn max_connections(mut self, limit: usize) -> Server {
        self.http2.max_connections = Some(limit);
        self
    }

    /// Drains each connection after it has lived about this long (±10%
    /// jitter, so a fleet's connections do not all go at once): the server
    /// sends GOAWAY, the client opens a new connection — perhaps to another
    /// backend — for new calls, and the calls in flight finish. That is how
    /// load spreads again after a rolling deploy or a scale-up (grpc's
    /// `MAX_CONNECTION_AGE`). Default: connections live until closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder()
    ///     .max_connection_age(Duration::from_secs(300))
    ///     .max_connection_age_grace(Duration::from_secs(30));
    /// # let _ = server;
    /// ```
    pub fn max_connection_age(mut self, age: Duration) -> Server {
        self.http2.max_connection_age = Some(age);
        self
    }

    /// How long a connection drained for its age may take to finish its
    /// calls before it is closed (grpc's `MAX_CONNECTION_AGE_GRACE`;
    /// default: as long as they take).
    pub fn max_connection_age_grace(mut self, grace: Duration) -> Server {
        self.http2.max_connection_age_grace = Some(grace);
        self
    }

    /// Drains a connection that has had no call in flight for this long
    /// (grpc's `MAX_CONNECTION_IDLE`; default: idle connections stay).
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder().max_connection_idle(Duration::from_secs(600));
    /// # let _ = server;
    /// ```
    pub fn max_connection_idle(mut self, idle: Duration) -> Server {
        self.http2.max_connection_idle = Some(idle);
        self
    }

    /// The least time between two keepalive pings a client may send
    /// (default 5 minutes, as grpc's servers). A client that pings sooner
    /// three times in a row — while the server sends nothing back — gets
    /// GOAWAY `ENHANCE_YOUR_CALM` with `too_many_pings` and is
    /// disconnected; gRPC clients then ping less. `Duration::ZERO` permits
    /// any rate.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::Server;
    /// let server = Server::builder()
    ///     .permit_keepalive_time(Duration::from_secs(20))
    ///     .permit_keepalive_without_calls(true);
    /// # let _ = server;
    /// ```
    pub fn permit_keepalive_time(mut self, min_time: Duration) -> Server {
        self.http2.ping_policy = match (min_time.is_zero(), self.http2.ping_policy) {
            (true, _) => None,
            (false, policy) => Some(ping_policy::PingPolicy {
                min_time,
                without_calls: policy.is_some_and(|p| p.without_calls),
            }),
        };
        self
    }

    /// Whether clients may ping while no call is in flight (default
    /// `false`: such pings count against the policy unless two hours
    /// apart).
    pub fn permit_keepalive_without_calls(mut self, permit: bool) -> Server {
        if let Some(policy) = &mut self.http2.ping_policy {
            policy.without_calls = permit;
        }
        self
    }

    /// Streams h2 may reset on its own over a connection's lifetime before
    /// it ends the connection with GOAWAY `ENHANCE_YOUR_CALM` (the defence
    /// against clients that provoke resets, CVE-2025-8671; default
    /// 100,000). The count never goes down over the connection's life.
    ///
    /// Healthy traffic provokes such resets too: frames still in flight for
    /// a call the server already ended arrive after h2 forgot the stream.
    /// h2's default of 1024 ended a healthy connection after about 150,000
    /// mixed calls with deadlines and cancels (the soak), failing the calls
    /// in flight with `UNAVAILABLE`. A reset stream's handler is dropped, so
    /// a higher count does not let a client pile up work; it bounds the
    /// reset frames a client can make the server queue.
    ///
    /// ```
    /// use protocall::Server;
    /// let server = Server::builder().max_local_error_reset_streams(10_000);
    /// # let _ = server;
    /// ```
    pub fn max_local_error_reset_streams(mut self, limit: usize) -> Server {
        self.http2.max_local_error_reset_streams = limit;
        self
    }

    /// Serves TLS (HTTP/2 over TLS, ALPN `h2`) instead of h2c.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::tls::{Identity, ServerTlsConfig};
    /// let identity = Identity::from_pem(std::fs::read("server.pem")?, std::fs::read("server.key")?)?;
    /// let server = protocall::Server::builder().tls_config(ServerTlsConfig::new(identity))?;
    /// # let _ = server; Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_config(
        mut self,
        config: crate::grpc::tls::ServerTlsConfig,
    ) -> Result<Server, crate::grpc::status::Status> {
        self.tls = Some(Tls(config.acceptor()?));
        Ok(self)
    }

    /// Adds a service; see [`Router::add_service`].
    ///
    /// ```
    /// use protocall::Server;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let router = Server::builder().add_service(health);
    /// # let _ = router;
    /// ```
    pub fn add_service<S: GrpcService + NamedService>(self, service: S) -> Router {
        Router {
            server: self,
            services: HashMap::new(),
            layer: Identity::new(),
        }
        .add_service(service)
    }
}

/// A [`Server`] with its services, optionally wrapped in tower layers.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Server, health::health_service, reflection};
/// let (_reporter, health) = health_service();
/// let router = Server::builder()
///     .add_service(health)
///     .add_service(reflection::Builder::new().build_v1());
/// let stop = async {}; // e.g. a ctrl-c future; here: stop at once
/// router.serve_with_shutdown("127.0.0.1:0".parse()?, stop).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Router<L = Identity> {
    server: Server,
    services: HashMap<&'static str, Arc<dyn GrpcService>>,
    layer: L,
}

impl<L> std::fmt::Debug for Router<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&&str> = self.services.keys().collect();
        names.sort();
        f.debug_struct("Router")
            .field("server", &self.server)
            .field("services", &names)
            .finish()
    }
}

/// What a server runs: [`Routes`] wrapped in any tower layers, taking
/// `http::Request<Body>` to `http::Response<Body>`. Implemented for every
/// service that fits; it only names the bounds once.
///
/// ```
/// use protocall::server::{Routes, ServiceStack};
/// fn assert_stack<S: ServiceStack>() {}
/// assert_stack::<Routes>(); // the innermost service, what layers wrap
/// ```
pub trait ServiceStack:
    tower_service::Service<
        http::Request<Body>,
        Response = http::Response<Body>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> ServiceStack for S where
    S: tower_service::Service<
            http::Request<Body>,
            Response = http::Response<Body>,
            Error: Into<BoxError>,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

impl<L> Router<L> {
    /// Adds a service, routed by its full proto name. A second service of
    /// the same name replaces the first.
    ///
    /// ```
    /// use protocall::{Server, health::health_service, reflection};
    /// let (_reporter, health) = health_service();
    /// let reflection = reflection::Builder::new().register_encoded_file_descriptor_set(protocall::health::FILE_DESCRIPTOR_SET)?;
    /// let router = Server::builder()
    ///     .add_service(health)
    ///     .add_service(reflection.clone().build_v1())
    ///     .add_service(reflection.build_v1alpha());
    /// # let _ = router;
    /// # Ok::<(), protocall::DecodeError>(())
    /// ```
    pub fn add_service<S: GrpcService + NamedService>(mut self, service: S) -> Router<L> {
        self.services.insert(S::NAME, Arc::new(service));
        self
    }

    /// Wraps every call in a tower layer, e.g. a
    /// concurrency limit or tracing. The first layer added is the
    /// outermost (it sees requests first), as with tower's
    /// `ServiceBuilder`. The layered service sees
    /// `http::Request<protocall::Body>` and returns `http::Response<protocall::Body>`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::task::{Context, Poll};
    /// use protocall::{Body, server::{Routes, RoutesFuture}};
    /// use tower_service::Service;
    ///
    /// /// Prints the path of every call, then routes it.
    /// #[derive(Clone)]
    /// struct Log(Routes);
    ///
    /// impl Service<http::Request<Body>> for Log {
    ///     type Response = http::Response<Body>;
    ///     type Error = std::convert::Infallible;
    ///     type Future = RoutesFuture;
    ///     fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
    ///         Service::<http::Request<Body>>::poll_ready(&mut self.0, cx)
    ///     }
    ///     fn call(&mut self, request: http::Request<Body>) -> RoutesFuture {
    ///         println!("{}", request.uri().path());
    ///         self.0.call(request)
    ///     }
    /// }
    ///
    /// let (_reporter, health) = protocall::health::health_service();
    /// let router = protocall::Server::builder()
    ///     .add_service(health)
    ///     .layer(tower_layer::layer_fn(Log));
    /// router.serve_with_shutdown("127.0.0.1:0".parse()?, async {}).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn layer<N>(self, layer: N) -> Router<Stack<N, L>> {
        Router {
            server: self.server,
            services: self.services,
            layer: Stack::new(layer, self.layer),
        }
    }

    /// The services with the server's settings (message limits,
    /// compression, interceptors, timeout), without the layers: a tower
    /// `Service` over any request body, to mount in another server.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::{Body, server::Routes};
    /// use tower_service::Service;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let mut routes: Routes = protocall::Server::builder().add_service(health).into_routes();
    /// // not a gRPC request (no content-type): refused before routing
    /// let response = routes.call(http::Request::new(Body::empty())).await?;
    /// assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_routes(self) -> Routes {
        Routes::with_config(self.services, self.server.config)
    }

    /// The services inside the router's layers, as one tower `Service` over
    /// any request body: what the server runs, ready to be mounted in axum
    /// or hyper, or driven directly in a test.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_service::Service;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let mut service = protocall::Server::builder()
    ///     .add_service(health)
    ///     .layer(tower_layer::Identity::new())
    ///     .into_service();
    /// let request = http::Request::post("/grpc.health.v1.Health/Check")
    ///     .header("content-type", "application/grpc")
    ///     .body(http_body_util::Full::new(protocall::bytes::Bytes::from_static(&[0, 0, 0, 0, 0])))?;
    /// let response = service.call(request).await?;
    /// assert_eq!(response.status(), http::StatusCode::OK);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_service(self) -> Layered<L::Service>
    where
        L: Layer<Routes>,
    {
        let routes = Routes::with_config(self.services, self.server.config);
        Layered::new(self.layer.layer(routes))
    }

    /// Serves on `addr` until the process ends.
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// let (_reporter, health) = protocall::health::health_service();
    /// protocall::Server::builder()
    ///     .add_service(health)
    ///     .serve("0.0.0.0:50051".parse().unwrap())
    ///     .await
    /// # }
    /// ```
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()>
    where
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        self.serve_with_shutdown(addr, std::future::pending()).await
    }

    /// Serves on `addr` until `signal` completes, then stops accepting,
    /// sends GOAWAY on every connection and waits for in-flight calls.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let (_reporter, health) = protocall::health::health_service();
    /// let server = tokio::spawn(
    ///     protocall::Server::builder()
    ///         .add_service(health)
    ///         .serve_with_shutdown("127.0.0.1:0".parse()?, async { stopped.await.ok(); }),
    /// );
    /// stop.send(()).ok(); // e.g. on SIGTERM
    /// server.await??;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_with_shutdown(
        self,
        addr: SocketAddr,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        self.serve_with_listener(listener, signal).await
    }

    /// Like [`Router::serve_with_shutdown`] on a listener the caller bound
    /// (e.g. to port 0, reading the port back first).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::health::{HealthCheckRequest, ServingStatus, health_client::HealthClient};
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let addr = listener.local_addr()?;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = tokio::spawn(
    ///     protocall::Server::builder()
    ///         .add_service(health)
    ///         .serve_with_listener(listener, async { stopped.await.ok(); }),
    /// );
    /// let client = HealthClient::connect(format!("http://{addr}")).await?;
    /// let reply = client.check(HealthCheckRequest::default()).await?.into_inner();
    /// assert_eq!(reply.status, ServingStatus::Serving);
    /// stop.send(()).ok();
    /// server.await??;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_with_listener(
        self,
        listener: tokio::net::TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        let listening: Vec<_> = listener.local_addr().into_iter().collect();
        self.serve_listening(serve::tcp_incoming(listener), &listening, signal)
            .await
    }

    /// Serves every connection `incoming` yields (TCP, Unix, TLS you
    /// terminate yourself, in-memory pipes…). Errors from the stream are
    /// logged and serving goes on; when it ends, the connections already
    /// open are served until they close, then this returns.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::health::{HealthCheckRequest, health_client::HealthClient};
    /// // one in-memory connection: no port, no socket
    /// let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    /// let (_reporter, health) = protocall::health::health_service();
    /// let incoming = futures_util::stream::iter([Ok::<_, std::io::Error>(server_io)]);
    /// tokio::spawn(protocall::Server::builder().add_service(health).serve_with_incoming(incoming));
    /// let mut client_io = Some(client_io);
    /// let channel = protocall::client::Endpoint::new("http://in-process")?
    ///     .connect_with_connector(tower::service_fn(move |_| {
    ///         let io = client_io.take().ok_or_else(|| std::io::Error::other("used"));
    ///         async move { io }
    ///     }))
    ///     .await?;
    /// HealthClient::new(channel).check(HealthCheckRequest::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_with_incoming<I, IO, E>(self, incoming: I) -> std::io::Result<()>
    where
        I: Stream<Item = Result<IO, E>>,
        IO: Connected,
        E: Into<BoxError>,
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        self.serve_with_incoming_shutdown(incoming, std::future::pending())
            .await
    }

    /// Like [`Router::serve_with_incoming`], until `signal` completes (then
    /// as [`Router::serve_with_shutdown`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (_reporter, health) = protocall::health::health_service();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let incoming = futures_util::stream::unfold(listener, |l| async move {
    ///     Some((l.accept().await.map(|(stream, _)| stream), l))
    /// });
    /// protocall::Server::builder()
    ///     .add_service(health)
    ///     .serve_with_incoming_shutdown(incoming, async {})
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn serve_with_incoming_shutdown<I, IO, E>(
        self,
        incoming: I,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        I: Stream<Item = Result<IO, E>>,
        IO: Connected,
        E: Into<BoxError>,
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        self.serve_listening(incoming, &[], signal).await
    }

    /// Serves `incoming`, accepted on the `listening` addresses.
    async fn serve_listening<I, IO, E>(
        self,
        incoming: I,
        listening: &[std::net::SocketAddr],
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        I: Stream<Item = Result<IO, E>>,
        IO: Connected,
        E: Into<BoxError>,
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        let http2 = self.server.http2.clone();
        let tls = self.server.tls.clone();
        let grace = self.server.grace;
        let service = self.into_service().into_inner();
        serve::serve_incoming(incoming, service, http2, tls, grace, listening, signal).await
    }

    /// Serves on a Unix-domain socket at `path` (created; it must not
    /// exist) until `signal` completes. Clients reach it with an
    /// `Endpoint::new("unix:/path")` target; requests have no
    /// [`Request::remote_addr`](crate::Request::remote_addr).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::health::{HealthCheckRequest, health_client::HealthClient};
    /// let dir = std::env::temp_dir().join(format!("protocall-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("health.sock");
    /// # let _ = std::fs::remove_file(&path);
    /// let (_reporter, health) = protocall::health::health_service();
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let server = protocall::Server::builder().add_service(health);
    /// let server = tokio::spawn(server.serve_unix(path.clone(), async { stopped.await.ok(); }));
    /// # tokio::task::yield_now().await;
    /// let client = HealthClient::connect(format!("unix:{}", path.display())).await?;
    /// client.check(HealthCheckRequest::default()).await?;
    /// stop.send(()).ok();
    /// server.await??;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(unix)]
    pub async fn serve_unix(
        self,
        path: impl AsRef<std::path::Path>,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        let listener = tokio::net::UnixListener::bind(path)?;
        self.serve_with_incoming_shutdown(serve::unix_incoming(listener), signal)
            .await
    }
}
