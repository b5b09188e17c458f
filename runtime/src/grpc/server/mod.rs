//! The gRPC server: [`Server`] (settings), [`Router`] (services and tower
//! layers), and the per-call-kind handlers generated code dispatches to.

mod config;
mod handler;
mod router;
mod service;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower_layer::{Identity, Layer, Stack};

pub use handler::{client_streaming, server_streaming, streaming, unary, unimplemented};
pub use router::{Routes, RoutesFuture};
pub use service::{
    Call, GrpcService, Intercepted, Interceptor, NamedService, ResponseFuture, intercept,
};

use crate::grpc::body::Body;
use crate::grpc::compression::Encoding;
use crate::grpc::request::RemoteAddr;
use crate::grpc::status::Status;
use config::{Http2Config, ServerConfig};

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
#[derive(Debug, Default)]
pub struct Server {
    config: ServerConfig,
    http2: Http2Config,
    tls: Option<Tls>,
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

/// How long a client may take to finish the TLS handshake.
#[cfg(feature = "tls")]
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Server {
    /// A server with the defaults: 4 MiB receive limit, gzip and zstd
    /// accepted, uncompressed responses, at most 1024 concurrent streams per
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
    /// use protocall::{Encoding, Server};
    /// let server = Server::builder().send_compressed(Encoding::Gzip);
    /// # let _ = server;
    /// ```
    pub fn send_compressed(mut self, encoding: Encoding) -> Server {
        self.config.send = Some(encoding);
        self
    }

    /// The encodings accepted on requests (default: gzip and zstd); others
    /// are answered with `UNIMPLEMENTED`.
    ///
    /// ```
    /// use protocall::{Encoding, Server};
    /// let server = Server::builder().accept_compressed(&[Encoding::Gzip]); // no zstd
    /// let uncompressed_only = Server::builder().accept_compressed(&[]);
    /// # let _ = (server, uncompressed_only);
    /// ```
    pub fn accept_compressed(mut self, encodings: &[Encoding]) -> Server {
        self.config.accept = encodings.to_vec();
        self.config.accept_header = crate::grpc::compression::accept_value(encodings);
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
    /// connection (HTTP/2 rapid-reset defence; default 20).
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
    ) -> Result<Server, Status> {
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

type BoxError = Box<dyn std::error::Error + Send + Sync>;

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
    ///         self.0.poll_ready(cx)
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
        let listener = TcpListener::bind(addr).await?;
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
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()>
    where
        L: Layer<Routes>,
        L::Service: ServiceStack,
    {
        let routes = Routes::new(self.services, self.server.config);
        let service = self.layer.layer(routes);
        accept_loop(
            listener,
            service,
            self.server.http2,
            self.server.tls,
            signal,
        )
        .await
    }
}

async fn accept_loop<S>(
    listener: TcpListener,
    service: S,
    http2: Http2Config,
    tls: Option<Tls>,
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    S: ServiceStack,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(http2.max_concurrent_streams)
        .max_header_list_size(http2.max_header_list_size)
        .initial_stream_window_size(http2.initial_stream_window_size)
        .initial_connection_window_size(http2.initial_connection_window_size)
        .keep_alive_interval(http2.keepalive_interval)
        .keep_alive_timeout(http2.keepalive_timeout)
        .max_pending_accept_reset_streams(http2.max_pending_accept_reset_streams)
        .max_local_error_reset_streams(http2.max_local_error_reset_streams)
        .max_frame_size(http2.max_frame_size)
        // gRPC peers have no use for `date`; grpc-go and grpc-java send none.
        .auto_date_header(false);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let adapter = HyperService { service: service.clone(), peer, extensions: http::Extensions::new() };
                match tls.clone() {
                    None => {
                        let connection = builder.serve_connection(TokioIo::new(stream), adapter);
                        let connection = graceful.watch(connection);
                        tokio::spawn(async move {
                            if let Err(error) = connection.await {
                                tracing::debug!(%error, %peer, "connection ended with an error");
                            }
                        });
                    }
                    Some(tls) => {
                        // The handshake runs in the connection's task: a slow
                        // client must not hold up accepting others.
                        let builder = builder.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(async move {
                            serve_tls(tls, stream, builder, watcher, adapter).await;
                        });
                    }
                }
            }
            () = &mut signal => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Completes the TLS handshake, then serves the connection.
#[cfg(feature = "tls")]
async fn serve_tls<S>(
    tls: Tls,
    stream: tokio::net::TcpStream,
    builder: hyper::server::conn::http2::Builder<TokioExecutor>,
    watcher: hyper_util::server::graceful::Watcher,
    mut adapter: HyperService<S>,
) where
    S: ServiceStack,
{
    let peer = adapter.peer;
    let stream = match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, tls.0.accept(stream)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%error, %peer, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    if let Some(certs) = stream.get_ref().1.peer_certificates() {
        let certs = certs.iter().map(|c| c.clone().into_owned()).collect();
        adapter
            .extensions
            .insert(crate::grpc::tls::PeerCertificates(Arc::new(certs)));
    }
    let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), adapter));
    if let Err(error) = connection.await {
        tracing::debug!(%error, %peer, "connection ended with an error");
    }
}

#[cfg(not(feature = "tls"))]
async fn serve_tls<S>(
    tls: Tls,
    _: tokio::net::TcpStream,
    _: hyper::server::conn::http2::Builder<TokioExecutor>,
    _: hyper_util::server::graceful::Watcher,
    _: HyperService<S>,
) {
    match tls.0 {}
}

/// Bridges hyper's `Service` to the tower service stack.
#[derive(Clone)]
struct HyperService<S> {
    service: S,
    peer: SocketAddr,
    /// Per-connection values every request gets (TLS peer certificates).
    extensions: http::Extensions,
}

impl<S> hyper::service::Service<http::Request<Incoming>> for HyperService<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = HyperFuture<S::Future>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(RemoteAddr(self.peer));
        if !self.extensions.is_empty() {
            parts.extensions.extend(self.extensions.clone());
        }
        let request = http::Request::from_parts(parts, Body::incoming(body));
        let mut service = self.service.clone();
        // Most stacks are always ready: call at once, without boxing.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if let std::task::Poll::Ready(Ok(())) = service.poll_ready(&mut cx) {
            return HyperFuture::Direct {
                future: service.call(request),
            };
        }
        HyperFuture::Deferred {
            future: Box::pin(async move {
                let ready = std::future::poll_fn(|cx| service.poll_ready(cx))
                    .await
                    .map_err(Into::into);
                let result: Result<_, BoxError> = match ready {
                    Ok(()) => service.call(request).await.map_err(Into::into),
                    Err(error) => Err(error),
                };
                Ok(result.unwrap_or_else(layer_error))
            }),
        }
    }
}

/// The response for an error from a tower layer.
fn layer_error(error: BoxError) -> http::Response<Body> {
    let status = Status::unavailable(format!("service unavailable: {error}"));
    handler::status_response(&status, None)
}

pin_project_lite::pin_project! {
    /// The response future [`HyperService`] gives hyper.
    #[project = HyperFutureProjection]
    enum HyperFuture<F> {
        Direct { #[pin] future: F },
        Deferred { future: Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>> },
    }
}

impl<F, E> Future for HyperFuture<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<Body>, Infallible>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        match self.project() {
            HyperFutureProjection::Direct { future } => future
                .poll(cx)
                .map(|result| Ok(result.unwrap_or_else(|e| layer_error(e.into())))),
            HyperFutureProjection::Deferred { future } => future.as_mut().poll(cx),
        }
    }
}
