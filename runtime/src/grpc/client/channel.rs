//! [`Endpoint`] and [`Channel`]: one HTTP/2 connection, shared by every call,
//! re-established after it drops.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};

use super::connector::{BoxIo, Connector};
use crate::grpc::body::{Body, BoxError};
use crate::grpc::errors;
use crate::grpc::headers::GRPC_TIMEOUT;
use crate::grpc::request::{Deadline, TransportSecurityRequired};
use crate::grpc::status::{Code, Status};
use crate::grpc::timeout;
use crate::grpc::web::{Protocol, client as web};

/// Where and how to connect: the builder of a [`Channel`].
///
/// ```
/// # async fn f() -> Result<(), protocall::Status> {
/// use std::time::Duration;
/// let channel = protocall::client::Endpoint::new("http://127.0.0.1:50051")?
///     .connect_timeout(Duration::from_secs(1))
///     .timeout(Duration::from_secs(5))
///     .connect_lazy();
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Endpoint {
    uri: http::Uri,
    host: String,
    port: u16,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
    keepalive_while_idle: bool,
    initial_stream_window_size: Option<u32>,
    initial_connection_window_size: Option<u32>,
    user_agent: http::HeaderValue,
    protocol: Protocol,
    http1: bool,
    connector: Connector,
    #[cfg(feature = "tls")]
    tls: Option<crate::grpc::tls::TlsConnector>,
}

impl Endpoint {
    /// An endpoint for `http://host:port` (h2c), a Unix-domain socket
    /// (`unix:path` or `unix:///absolute/path`, as grpc's naming.md spells
    /// them) or, with the `tls` feature, `https://host:port` (trusting the
    /// Mozilla roots unless `Endpoint::tls_config` says otherwise).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?;
    /// let local = Endpoint::new("unix:/run/app/grpc.sock")?;
    /// assert!(Endpoint::new("127.0.0.1:50051").is_err()); // no scheme
    /// assert!(Endpoint::new("unix://relative/path").is_err()); // unix:// needs an absolute path
    /// # let _ = (endpoint, local);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(uri: impl AsRef<str>) -> Result<Endpoint, Status> {
        let text = uri.as_ref();
        if let Some(path) = text.strip_prefix("unix:") {
            return Endpoint::unix(text, path);
        }
        let uri: http::Uri = text.parse().map_err(|e| {
            Status::from_error(Code::InvalidArgument, format!("invalid URI {text:?}"), e)
        })?;
        match uri.scheme_str() {
            Some("http") => {}
            #[cfg(feature = "tls")]
            Some("https") => {}
            #[cfg(not(feature = "tls"))]
            Some("https") => {
                return Err(Status::unimplemented(
                    "https endpoints need the `tls` feature of protocall",
                ));
            }
            _ => {
                return Err(Status::invalid_argument(format!(
                    "URI {text:?} must start with http://, https:// or unix:"
                )));
            }
        }
        let authority = uri
            .authority()
            .ok_or_else(|| Status::invalid_argument(format!("URI {text:?} has no host")))?;
        let https = uri.scheme_str() == Some("https");
        let (host, port) = host_and_port(authority, https);
        #[cfg(feature = "tls")]
        let tls = if https {
            Some(crate::grpc::tls::ClientTlsConfig::new().connector(&host)?)
        } else {
            None
        };
        Ok(Endpoint {
            uri,
            host,
            port,
            timeout: None,
            connect_timeout: Some(Duration::from_secs(20)),
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            keepalive_while_idle: false,
            initial_stream_window_size: Some(1024 * 1024),
            initial_connection_window_size: Some(2 * 1024 * 1024),
            user_agent: http::HeaderValue::from_static(super::USER_AGENT),
            protocol: Protocol::Grpc,
            http1: false,
            connector: Connector::Tcp,
            #[cfg(feature = "tls")]
            tls,
        })
    }

    /// A `unix:` target: `text` is the whole target, `path` what follows
    /// the scheme. The HTTP/2 authority is `localhost`, as grpc-go and
    /// grpc-java send for Unix sockets.
    fn unix(text: &str, path: &str) -> Result<Endpoint, Status> {
        let path = match path.strip_prefix("//") {
            Some(absolute) if absolute.starts_with('/') => absolute,
            Some(_) => {
                return Err(Status::invalid_argument(format!(
                    "target {text:?}: unix:// needs an absolute path (unix:///path), or write unix:path"
                )));
            }
            None => path,
        };
        if path.is_empty() {
            return Err(Status::invalid_argument(format!(
                "target {text:?} names no socket path"
            )));
        }
        #[cfg(unix)]
        {
            let mut endpoint = Endpoint::new("http://localhost")?;
            endpoint.connector = Connector::Unix(path.into());
            Ok(endpoint)
        }
        #[cfg(not(unix))]
        Err(Status::unimplemented(format!(
            "target {text:?}: Unix-domain sockets need a Unix platform"
        )))
    }

    /// Connects with TLS as `config` says (an `https://` URI is needed).
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::{client::Endpoint, tls::{Certificate, ClientTlsConfig}};
    /// let ca = Certificate::from_pem(std::fs::read("ca.pem")?)?;
    /// let channel = Endpoint::new("https://localhost:50051")?
    ///     .tls_config(ClientTlsConfig::new().ca_certificate(ca))?
    ///     .connect_lazy();
    /// # let _ = channel; Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls_config(
        mut self,
        config: crate::grpc::tls::ClientTlsConfig,
    ) -> Result<Endpoint, Status> {
        if self.uri.scheme_str() != Some("https") {
            return Err(Status::invalid_argument("TLS needs an https:// URI"));
        }
        self.tls = Some(config.connector(&self.host)?);
        Ok(self)
    }

    /// Default timeout of every call on the channel (a request's own
    /// timeout wins).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// use std::time::Duration;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?.timeout(Duration::from_secs(5));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Endpoint {
        self.timeout = Some(timeout);
        self
    }

    /// How long connecting may take (default 20 s).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// use std::time::Duration;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?.connect_timeout(Duration::from_secs(1));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Endpoint {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sends HTTP/2 PINGs at this interval to detect dead connections.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// use std::time::Duration;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?
    ///     .http2_keepalive_interval(Duration::from_secs(30));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn http2_keepalive_interval(mut self, interval: Duration) -> Endpoint {
        self.keepalive_interval = Some(interval);
        self
    }

    /// How long to wait for a PING's answer (default 20 s).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// use std::time::Duration;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?
    ///     .http2_keepalive_interval(Duration::from_secs(30))
    ///     .http2_keepalive_timeout(Duration::from_secs(5));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn http2_keepalive_timeout(mut self, timeout: Duration) -> Endpoint {
        self.keepalive_timeout = timeout;
        self
    }

    /// Keep pinging while no call is in flight.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// use std::time::Duration;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?
    ///     .http2_keepalive_interval(Duration::from_secs(30))
    ///     .http2_keepalive_while_idle(true);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn http2_keepalive_while_idle(mut self, on: bool) -> Endpoint {
        self.keepalive_while_idle = on;
        self
    }

    /// Initial HTTP/2 flow-control window of each stream.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?.initial_stream_window_size(4 << 20);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn initial_stream_window_size(mut self, bytes: u32) -> Endpoint {
        self.initial_stream_window_size = Some(bytes);
        self
    }

    /// Initial HTTP/2 flow-control window of the connection.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?.initial_connection_window_size(8 << 20);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn initial_connection_window_size(mut self, bytes: u32) -> Endpoint {
        self.initial_connection_window_size = Some(bytes);
        self
    }

    /// The `user-agent` sent with every call (after the given prefix).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// // sends `user-agent: my-app/1.2 protocall/<version>`
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?.user_agent("my-app/1.2")?;
    /// assert!(Endpoint::new("http://127.0.0.1:50051")?.user_agent("bad\nagent").is_err());
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn user_agent(mut self, prefix: &str) -> Result<Endpoint, Status> {
        let value = format!("{prefix} protocall/{}", env!("CARGO_PKG_VERSION"));
        self.user_agent = http::HeaderValue::from_str(&value)
            .map_err(|e| Status::from_error(Code::InvalidArgument, "invalid user agent", e))?;
        Ok(self)
    }

    /// The protocol calls are made in: gRPC (the default), or gRPC-Web or
    /// Connect, to reach a server behind a proxy or a stack that speaks
    /// only those. Calls and their results are the same in each; Connect
    /// sends unary calls as bare messages (with HTTP status codes and JSON
    /// errors) and the other kinds as its streams.
    ///
    /// ```
    /// use protocall::{client::Endpoint, web::Protocol};
    /// let channel = Endpoint::new("http://127.0.0.1:8080")?
    ///     .protocol(Protocol::Connect)
    ///     .http_version(http::Version::HTTP_11)?
    ///     .connect_lazy();
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn protocol(mut self, protocol: Protocol) -> Endpoint {
        self.protocol = protocol;
        self
    }

    /// The HTTP version: HTTP/2 (the default; prior knowledge on `http://`,
    /// ALPN `h2` on `https://`), or HTTP/1.1 (ALPN `http/1.1`), for
    /// gRPC-Web and Connect only. HTTP/1.1 carries one call at a time per
    /// connection, so the channel keeps a pool of them; a bidirectional
    /// stream over it is half-duplex.
    ///
    /// ```
    /// use protocall::{Code, client::Endpoint};
    /// let endpoint = Endpoint::new("http://127.0.0.1:8080")?.http_version(http::Version::HTTP_11)?;
    /// let err = Endpoint::new("http://127.0.0.1:8080")?.http_version(http::Version::HTTP_3).unwrap_err();
    /// assert_eq!(err.code(), Code::InvalidArgument);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn http_version(mut self, version: http::Version) -> Result<Endpoint, Status> {
        self.http1 = match version {
            http::Version::HTTP_11 => true,
            http::Version::HTTP_2 => false,
            other => {
                return Err(Status::invalid_argument(format!(
                    "HTTP version {other:?}: protocall clients speak HTTP/1.1 or HTTP/2"
                )));
            }
        };
        Ok(self)
    }

    /// Connects now; fails with `UNAVAILABLE` if the server cannot be reached.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Code, client::Endpoint};
    /// // a server is listening on `uri`
    /// let channel = Endpoint::new(&uri)?.connect().await?;
    /// # let _ = channel;
    /// // nothing listens on port 1
    /// let err = Endpoint::new("http://127.0.0.1:1")?.connect().await.unwrap_err();
    /// assert_eq!(err.code(), Code::Unavailable);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(&self) -> Result<Channel, Status> {
        let channel = self.connect_lazy();
        channel.warm_up().await?;
        Ok(channel)
    }

    /// A channel that connects on its first call.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// // no connection yet: nothing needs to listen there
    /// let channel = Endpoint::new("http://127.0.0.1:50051")?.connect_lazy();
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn connect_lazy(&self) -> Channel {
        Channel {
            inner: Arc::new(Inner {
                endpoint: self.clone(),
                sender: Mutex::new(None),
                connecting: tokio::sync::Mutex::new(()),
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Connects now through `connector`, any tower `Service` that takes the
    /// endpoint's URI and yields a connected byte stream (an in-memory pipe,
    /// a SOCKS proxy, a socket with options of your own). TLS, when the
    /// endpoint is `https://`, runs on top of it; every reconnect calls it
    /// again.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let addr = listener.local_addr()?;
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::client::Endpoint;
    /// // a server is listening on `addr`; connect by hand
    /// let connector = tower::service_fn(move |_uri: http::Uri| tokio::net::TcpStream::connect(addr));
    /// let channel = Endpoint::new("http://example.test")?.connect_with_connector(connector).await?;
    /// # let _ = channel;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with_connector<C>(&self, connector: C) -> Result<Channel, Status>
    where
        C: tower_service::Service<http::Uri> + Send + 'static,
        C::Response: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        C::Error: Into<BoxError>,
        C::Future: Send + 'static,
    {
        let channel = self.connect_with_connector_lazy(connector);
        channel.warm_up().await?;
        Ok(channel)
    }

    /// Like [`Endpoint::connect_with_connector`], connecting on the first call.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let connector = tower::service_fn(|_uri: http::Uri| tokio::net::TcpStream::connect("127.0.0.1:50051"));
    /// let channel = Endpoint::new("http://127.0.0.1:50051")?.connect_with_connector_lazy(connector);
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn connect_with_connector_lazy<C>(&self, connector: C) -> Channel
    where
        C: tower_service::Service<http::Uri> + Send + 'static,
        C::Response: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        C::Error: Into<BoxError>,
        C::Future: Send + 'static,
    {
        let mut endpoint = self.clone();
        endpoint.connector = Connector::custom(connector);
        endpoint.connect_lazy()
    }

    /// Where this endpoint connects, for messages.
    fn target(&self) -> String {
        match &self.connector {
            #[cfg(unix)]
            Connector::Unix(path) => format!("unix:{}", path.display()),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// A connected byte stream: TCP, Unix or the user's connector, then
    /// TLS when the endpoint is `https://`.
    async fn open(&self) -> Result<BoxIo, Status> {
        let connect = self.connector.connect(&self.uri, &self.host, self.port);
        let stream = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connect).await.map_err(|_| {
                Status::unavailable(format!("timed out connecting to {}", self.target()))
            })?,
            None => connect.await,
        }
        .map_err(|e| {
            let message = format!("cannot connect to {}: {e}", self.target());
            Status::from_boxed(Code::Unavailable, message, e)
        })?;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let tls = if self.http1 { tls.http1() } else { tls.clone() };
            let handshake = tls.connector().connect(tls.server_name.clone(), stream);
            // The connect timeout bounds the TLS handshake too: a server
            // that accepts and never answers must not hang the call.
            let handshake = match self.connect_timeout {
                Some(limit) => tokio::time::timeout(limit, handshake).await.map_err(|_| {
                    Status::unavailable(format!("TLS handshake with {} timed out", self.target()))
                })?,
                None => handshake.await,
            };
            let stream = handshake.map_err(|e| {
                let message = format!("TLS handshake with {} failed: {e}", self.target());
                Status::from_error(Code::Unavailable, message, e)
            })?;
            return Ok(Box::new(stream));
        }
        Ok(stream)
    }

    async fn handshake(&self) -> Result<SendRequest<Body>, Status> {
        let stream = self.open().await?;
        self.http2_handshake(stream).await
    }

    /// An HTTP/1.1 connection, running in its own task.
    async fn http1_handshake(&self) -> Result<http1::SendRequest<Body>, Status> {
        let stream = self.open().await?;
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(errors::from_hyper)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "client connection ended with an error");
            }
        });
        Ok(sender)
    }

    /// HTTP/2 over an established stream; the connection runs in its own task.
    async fn http2_handshake<I>(&self, stream: I) -> Result<SendRequest<Body>, Status>
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
    {
        let mut builder = hyper::client::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .initial_stream_window_size(self.initial_stream_window_size)
            .initial_connection_window_size(self.initial_connection_window_size)
            .keep_alive_interval(self.keepalive_interval)
            .keep_alive_timeout(self.keepalive_timeout)
            .keep_alive_while_idle(self.keepalive_while_idle);
        let (sender, connection) = builder
            .handshake(TokioIo::new(stream))
            .await
            .map_err(errors::from_hyper)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "client connection ended with an error");
            }
        });
        Ok(sender)
    }
}

/// The host of `authority` (an IPv6 address without its brackets) and its
/// port, 443 or 80 when it names none.
pub(crate) fn host_and_port(authority: &http::uri::Authority, https: bool) -> (String, u16) {
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    (host.to_owned(), port)
}

/// A connection to one server, cheap to clone: clones share it, and calls
/// on it are multiplexed as HTTP/2 streams. When the connection drops, the
/// next call reconnects; calls made while the server is unreachable fail
/// with `UNAVAILABLE`.
///
/// ```no_run
/// # async fn f() -> Result<(), protocall::Status> {
/// let channel = protocall::Channel::connect("http://127.0.0.1:50051").await?;
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    sender: Mutex<Option<SendRequest<Body>>>,
    /// Serialises reconnects so concurrent calls share one handshake.
    connecting: tokio::sync::Mutex<()>,
    /// HTTP/1.1 connections between calls.
    idle: Mutex<Vec<http1::SendRequest<Body>>>,
}

/// The most idle HTTP/1.1 connections a channel keeps.
const MAX_IDLE_HTTP1: usize = 32;

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("uri", &self.inner.endpoint.uri)
            .finish()
    }
}

impl Channel {
    /// Connects to `uri` (`http://host:port`) with default settings.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Channel, health::health_client::HealthClient};
    /// // a server is listening on `uri`
    /// let channel = Channel::connect(&uri).await?;
    /// let client = HealthClient::new(channel.clone()); // clones share the connection
    /// client.check(protocall::health::HealthCheckRequest::default()).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect(uri: impl AsRef<str>) -> Result<Channel, Status> {
        Endpoint::new(uri)?.connect().await
    }

    /// A channel for `uri` that connects on its first call.
    ///
    /// ```
    /// use protocall::{Channel, Code, health::{HealthCheckRequest, health_client::HealthClient}};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), protocall::Status> {
    /// let client = HealthClient::new(Channel::connect_lazy("http://127.0.0.1:1")?);
    /// // the first call tries to connect; nothing listens on port 1
    /// let err = client.check(HealthCheckRequest::default()).await.unwrap_err();
    /// assert_eq!(err.code(), Code::Unavailable);
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect_lazy(uri: impl AsRef<str>) -> Result<Channel, Status> {
        Ok(Endpoint::new(uri)?.connect_lazy())
    }

    fn current(&self) -> Option<SendRequest<Body>> {
        let guard = self.inner.sender.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().filter(|s| !s.is_closed()).cloned()
    }

    /// Connects now, for [`Endpoint::connect`]: the HTTP/2 connection, or a
    /// first HTTP/1.1 one put in the pool.
    async fn warm_up(&self) -> Result<(), Status> {
        if self.inner.endpoint.http1 {
            let sender = self.inner.endpoint.http1_handshake().await?;
            self.release(sender);
        } else {
            self.sender().await?;
        }
        Ok(())
    }

    async fn sender(&self) -> Result<SendRequest<Body>, Status> {
        if let Some(sender) = self.current() {
            return Ok(sender);
        }
        let _connecting = self.inner.connecting.lock().await;
        if let Some(sender) = self.current() {
            return Ok(sender);
        }
        let sender = self.inner.endpoint.handshake().await?;
        *self.inner.sender.lock().unwrap_or_else(|e| e.into_inner()) = Some(sender.clone());
        Ok(sender)
    }

    fn forget(&self) {
        *self.inner.sender.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Sends one request: multiplexed on the HTTP/2 connection, or on an
    /// HTTP/1.1 connection of the pool.
    pub(crate) async fn send(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, Status> {
        if self.inner.endpoint.http1 {
            return self.send_http1(request).await;
        }
        Ok(self.send_http2(request).await?.map(Body::incoming))
    }

    async fn send_http2(
        &self,
        request: http::Request<Body>,
    ) -> Result<http::Response<Incoming>, Status> {
        let mut sender = self.sender().await?;
        if let Err(error) = sender.ready().await {
            // The connection died since we last used it: one fresh attempt.
            self.forget();
            tracing::debug!(%error, "connection not ready; reconnecting");
            sender = self.sender().await?;
            sender.ready().await.map_err(errors::from_hyper)?;
        }
        match sender.try_send_request(request).await {
            Ok(response) => Ok(response),
            Err(mut error) => {
                if sender.is_closed() {
                    self.forget();
                }
                // A request hyper handed back never reached the server (the
                // connection closed or went away first): retry it once on a
                // fresh connection rather than fail a call nobody saw.
                match error.take_message() {
                    Some(request) => {
                        tracing::debug!(error = %error.error(), "request not sent; retrying on a new connection");
                        let mut sender = self.sender().await?;
                        sender.ready().await.map_err(errors::from_hyper)?;
                        sender
                            .send_request(request)
                            .await
                            .map_err(errors::from_hyper)
                    }
                    None => Err(errors::from_hyper(error.into_error())),
                }
            }
        }
    }

    /// One call on an idle HTTP/1.1 connection or a new one; the connection
    /// goes back to the pool once the response body has been read.
    async fn send_http1(
        &self,
        mut request: http::Request<Body>,
    ) -> Result<http::Response<Body>, Status> {
        if self.inner.endpoint.protocol == Protocol::Grpc {
            return Err(Status::invalid_argument(
                "gRPC needs HTTP/2: choose Protocol::GrpcWeb or Protocol::Connect for HTTP/1.1",
            ));
        }
        // HTTP/1.1 names the server in `host` and sends the path alone.
        if let Some(authority) = request.uri().authority() {
            if let Ok(host) = http::HeaderValue::from_str(authority.as_str()) {
                request.headers_mut().insert(http::header::HOST, host);
            }
        }
        if let Some(path) = request.uri().path_and_query().cloned() {
            *request.uri_mut() = http::Uri::from(path);
        }
        let mut sender = match self.idle_http1() {
            Some(sender) => sender,
            None => self.inner.endpoint.http1_handshake().await?,
        };
        sender.ready().await.map_err(errors::from_hyper)?;
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            // Never sent (the idle connection had closed): once more on a
            // new one.
            Err(mut error) => match error.take_message() {
                Some(request) => {
                    tracing::debug!(error = %error.error(), "request not sent; retrying on a new connection");
                    sender = self.inner.endpoint.http1_handshake().await?;
                    sender.ready().await.map_err(errors::from_hyper)?;
                    sender
                        .send_request(request)
                        .await
                        .map_err(errors::from_hyper)?
                }
                None => return Err(errors::from_hyper(error.into_error())),
            },
        };
        let pool = Arc::downgrade(&self.inner);
        Ok(response.map(|body| {
            Body::new(Pooled {
                body,
                sender: Some(sender),
                pool,
            })
        }))
    }

    /// An idle HTTP/1.1 connection ready for a call; closed ones are dropped.
    fn idle_http1(&self) -> Option<http1::SendRequest<Body>> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.retain(|sender| !sender.is_closed());
        let ready = idle.iter().rposition(|sender| sender.is_ready())?;
        Some(idle.swap_remove(ready))
    }

    fn release(&self, sender: http1::SendRequest<Body>) {
        release(&self.inner, sender);
    }
}

fn release(inner: &Inner, sender: http1::SendRequest<Body>) {
    let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
    if idle.len() < MAX_IDLE_HTTP1 && !sender.is_closed() {
        idle.push(sender);
    }
}

/// An HTTP/1.1 response body that returns its connection to the pool when
/// it has been read to the end (dropped early, the connection closes).
struct Pooled {
    body: Incoming,
    sender: Option<http1::SendRequest<Body>>,
    pool: std::sync::Weak<Inner>,
}

impl http_body::Body for Pooled {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        let frame = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        if frame.is_none() || self.body.is_end_stream() {
            if let (Some(sender), Some(inner)) = (self.sender.take(), self.pool.upgrade()) {
                release(&inner, sender);
            }
        }
        Poll::Ready(frame.map(|frame| frame.map_err(errors::from_hyper)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The future of a [`Channel`] call as a tower service.
type ChannelFuture = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Status>> + Send>>;

/// A `Channel` is a tower `Service`: wrap it in layers, or call it with a
/// hand-built request. It fills in the scheme and authority when the
/// request has only a path, sets the endpoint's `user-agent`, and applies
/// the endpoint's default timeout to requests that carry no `grpc-timeout`
/// (the response then carries a [`Deadline`] extension).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let (_reporter, health) = protocall::health::health_service();
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
/// use tower::ServiceExt;
/// let channel = protocall::Channel::connect(&uri).await?;
/// let request = http::Request::post("/grpc.health.v1.Health/Check")
///     .header("content-type", "application/grpc")
///     .header("te", "trailers")
///     .body(protocall::Body::new(http_body_util::Full::new(protocall::bytes::Bytes::from_static(&[0; 5]))))?;
/// let response = channel.oneshot(request).await?;
/// assert_eq!(response.status(), http::StatusCode::OK);
/// # Ok(())
/// # }
/// ```
impl tower_service::Service<http::Request<Body>> for Channel {
    type Response = http::Response<Body>;
    type Error = Status;
    type Future = ChannelFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        // Connecting happens in the call, so a call waits for the connection
        // instead of failing `poll_ready` for all.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> ChannelFuture {
        let endpoint = &self.inner.endpoint;
        if request.uri().scheme().is_none() {
            let mut parts = request.uri().clone().into_parts();
            parts.scheme = endpoint.uri.scheme().cloned();
            parts.authority = endpoint.uri.authority().cloned();
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
        let headers = request.headers_mut();
        headers.insert(http::header::USER_AGENT, endpoint.user_agent.clone());
        let deadline = match endpoint.timeout {
            Some(limit) if !headers.contains_key(GRPC_TIMEOUT) => {
                headers.insert(GRPC_TIMEOUT, timeout::header_value(limit));
                Some(tokio::time::Instant::now() + limit)
            }
            _ => None,
        };
        if request
            .extensions()
            .get::<TransportSecurityRequired>()
            .is_some()
            && endpoint.uri.scheme_str() != Some("https")
        {
            return Box::pin(std::future::ready(Err(Status::unauthenticated(
                "credentials need a TLS channel (https://); allow_plaintext() on the credentials sends them anyway",
            ))));
        }
        let channel = self.clone();
        let protocol = endpoint.protocol;
        Box::pin(async move {
            let send = async {
                if protocol == Protocol::Grpc {
                    return channel.send(request).await;
                }
                let (request, exchange) = web::request(protocol, request).await?;
                web::response(exchange, channel.send(request).await?).await
            };
            let mut response = match deadline {
                None => send.await?,
                Some(at) => tokio::time::timeout_at(at, send)
                    .await
                    .map_err(|_| Status::deadline_exceeded("deadline exceeded"))??,
            };
            if let Some(at) = deadline {
                response.extensions_mut().insert(Deadline(at));
            }
            Ok(response)
        })
    }
}
