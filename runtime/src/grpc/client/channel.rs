//! [`Endpoint`] and [`Channel`]: a target resolved to addresses, a
//! connection per address as the load-balancing policy wants, calls
//! spread over them and retried or hedged as the service config says.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::backoff::Backoff;
use super::balancer::{Candidate, ConnectivityState, LoadBalancer, PickFirst, RoundRobin};
use super::connector::{BoxIo, Connector, Ends};
use super::limits;
use super::resolver::{DnsResolver, FixedResolver, Resolution, Resolver};
use super::retry::{self, Throttle};
use super::service_config::{MethodConfig, ServiceConfig};
use super::subchannel::{Events, SendError, Subchannel};
use super::target::{self, Address, Target};
use crate::grpc::body::{Body, BoxError};
use crate::grpc::errors;
use crate::grpc::headers::GRPC_TIMEOUT;
use crate::grpc::metrics::{Metrics, TargetMethods};
use crate::grpc::observe::{self, Observation};
use crate::grpc::request::{Deadline, TransportSecurityRequired, WaitForReady};
use crate::grpc::status::{Code, Status};
use crate::grpc::timeout;
use crate::grpc::trace::TraceContext;
use crate::grpc::web::{Protocol, client as web};
use tracing::Instrument as _;

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
#[derive(Clone)]
pub struct Endpoint {
    /// Scheme and authority of the calls' URIs.
    uri: http::Uri,
    /// The authority's host (the TLS server name) and port.
    host: String,
    port: u16,
    target: Target,
    /// The target was an `http://` URI: plaintext by its own words.
    #[cfg(feature = "tls")]
    http_uri: bool,
    resolver: Option<Arc<dyn Resolver>>,
    balancer: Option<Arc<dyn LoadBalancer>>,
    service_config: Option<Arc<ServiceConfig>>,
    pub(crate) backoff: Backoff,
    min_resolution_interval: Duration,
    /// Look up service configs in DNS TXT records (feature `dns`).
    #[cfg(feature = "dns")]
    dns_service_config: bool,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
    keepalive_while_idle: bool,
    initial_stream_window_size: Option<u32>,
    initial_connection_window_size: Option<u32>,
    user_agent: http::HeaderValue,
    protocol: Protocol,
    pub(crate) http1: bool,
    connector: Connector,
    #[cfg(feature = "tls")]
    tls: Option<crate::grpc::tls::TlsConnector>,
    /// The target as A66's `grpc.target` names it (with its scheme).
    target_name: Arc<str>,
    binary_log: Option<crate::binlog::BinaryLog>,
    metrics: Option<Metrics>,
    /// Send `grpc-trace-bin` beside `traceparent`.
    grpc_trace_bin: bool,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("uri", &self.uri)
            .field("target", &self.target)
            .field("protocol", &self.protocol)
            .field("http1", &self.http1)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// An endpoint for a target as grpc's `doc/naming.md` spells it:
    ///
    /// - `dns:[//server/]host[:port]`, or just `host[:port]`: every address
    ///   the name resolves to (port 443 when none is given);
    /// - `ipv4:a[:port][,a[:port]…]` and `ipv6:[a]:port,…`: these addresses;
    /// - `unix:path`, `unix:///absolute/path`, `unix-abstract:name`: a
    ///   Unix-domain socket;
    /// - `http://host:port` (h2c) and, with the `tls` feature,
    ///   `https://host:port` (trusting the Mozilla roots unless
    ///   `Endpoint::tls_config` says otherwise).
    ///
    /// Calls are spread over the addresses by the load-balancing policy
    /// (`pick_first` unless the service config or
    /// [`Endpoint::load_balancer`] says otherwise).
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("http://127.0.0.1:50051")?;
    /// let fleet = Endpoint::new("dns:///backends.default.svc.cluster.local:50051")?;
    /// let listed = Endpoint::new("ipv4:127.0.0.1:50051,127.0.0.2:50051")?;
    /// let local = Endpoint::new("unix:/run/app/grpc.sock")?;
    /// assert!(Endpoint::new("ipv4:::1").is_err()); // not an IPv4 address
    /// assert!(Endpoint::new("unix://relative/path").is_err()); // unix:// needs an absolute path
    /// # let _ = (endpoint, fleet, listed, local);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(target: impl AsRef<str>) -> Result<Endpoint, Status> {
        let text = target.as_ref();
        let parsed = target::parse(text)?;
        #[cfg(not(feature = "tls"))]
        if parsed.https {
            return Err(Status::unimplemented(
                "https endpoints need the `tls` feature of protocall",
            ));
        }
        let scheme = if parsed.https { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{}", parsed.authority)
            .parse()
            .map_err(|e| {
                Status::from_error(
                    Code::InvalidArgument,
                    format!(
                        "target {text:?}: {:?} is not a valid authority",
                        parsed.authority
                    ),
                    e,
                )
            })?;
        let authority = uri.authority().expect("built with an authority");
        let (host, port) = host_and_port(authority, parsed.https);
        #[cfg(feature = "tls")]
        let tls = if parsed.https {
            Some(crate::grpc::tls::ClientTlsConfig::new().connector(&host)?)
        } else {
            None
        };
        let connector = match &parsed.target {
            Target::Fixed(addresses) if !addresses.is_empty() => match &addresses[0] {
                #[cfg(not(unix))]
                Address::Unix(_) | Address::UnixAbstract(_) => {
                    return Err(Status::unimplemented(format!(
                        "target {text:?}: Unix-domain sockets need a Unix platform"
                    )));
                }
                _ => Connector::Direct,
            },
            _ => Connector::Direct,
        };
        Ok(Endpoint {
            uri,
            host,
            port,
            target: parsed.target,
            #[cfg(feature = "tls")]
            http_uri: text
                .get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("http://")),
            resolver: None,
            balancer: None,
            service_config: None,
            backoff: Backoff::default(),
            min_resolution_interval: Duration::from_secs(30),
            #[cfg(feature = "dns")]
            dns_service_config: false,
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
            connector,
            #[cfg(feature = "tls")]
            tls,
            target_name: target::canonical(text).into(),
            metrics: None,
            grpc_trace_bin: false,
            binary_log: None,
        })
    }

    /// Writes the calls `log`'s filter chooses to its sink, in gRFC A16's
    /// `grpc.binarylog.v1` format, as the application makes them (one call
    /// however many attempts its retries take).
    ///
    /// ```
    /// use protocall::binlog::{BinaryLog, FileSink};
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// let log = BinaryLog::new("*{h;m:256}", FileSink::create("/tmp/client.binlog")?)?;
    /// let endpoint = protocall::client::Endpoint::new("http://127.0.0.1:50051")?.binary_log(log);
    /// # let _ = endpoint; Ok(()) }
    /// ```
    pub fn binary_log(mut self, log: crate::binlog::BinaryLog) -> Endpoint {
        self.binary_log = Some(log);
        self
    }

    /// Records the channel's calls' A66 metrics (`grpc.client.attempt.*`,
    /// `grpc.client.call.duration`) into `metrics`, with the target (its
    /// scheme added when it had none, `dns:///host:port`) as
    /// `grpc.target`.
    ///
    /// ```
    /// let metrics = protocall::metrics::Metrics::new();
    /// let endpoint = protocall::client::Endpoint::new("http://127.0.0.1:50051")?.metrics(metrics.clone());
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn metrics(mut self, metrics: Metrics) -> Endpoint {
        self.metrics = Some(metrics);
        self
    }

    /// Sends the trace context as `grpc-trace-bin` too (for peers of the
    /// OpenCensus era), beside W3C `traceparent`. Off by default.
    ///
    /// ```
    /// let endpoint = protocall::client::Endpoint::new("http://127.0.0.1:50051")?.grpc_trace_bin(true);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn grpc_trace_bin(mut self, on: bool) -> Endpoint {
        self.grpc_trace_bin = on;
        self
    }

    /// Resolves the target with `resolver` instead of what its scheme
    /// says; the target still names the calls' authority.
    ///
    /// ```
    /// use protocall::client::{Endpoint, ManualResolver, Resolution};
    /// let backends = ManualResolver::new(Resolution::addresses([
    ///     "127.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap(),
    /// ]));
    /// let channel = Endpoint::new("dns:///backends.internal")?.resolver(backends).connect_lazy();
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn resolver(mut self, resolver: impl Resolver) -> Endpoint {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The load-balancing policy, unless the service config names another
    /// one the channel knows (`pick_first`, `round_robin`, or this one by
    /// its [`name`](LoadBalancer::name)).
    ///
    /// ```
    /// use protocall::client::{Endpoint, RoundRobin};
    /// let channel = Endpoint::new("dns:///backends.internal:50051")?
    ///     .load_balancer(RoundRobin::default())
    ///     .connect_lazy();
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn load_balancer(mut self, policy: impl LoadBalancer) -> Endpoint {
        self.balancer = Some(Arc::new(policy));
        self
    }

    /// The channel's default service config (a resolver's own config,
    /// if it gives one, replaces it). Refused if its load-balancing
    /// policies are all unknown to this channel.
    ///
    /// ```
    /// use protocall::client::{Endpoint, ServiceConfig};
    /// let config = ServiceConfig::from_json(r#"{"loadBalancingConfig": [{"round_robin": {}}]}"#)?;
    /// let endpoint = Endpoint::new("dns:///backends.internal:50051")?.service_config(config)?;
    /// let unknown = ServiceConfig::from_json(r#"{"loadBalancingConfig": [{"grpclb": {}}]}"#)?;
    /// let error = Endpoint::new("dns:///backends.internal:50051")?.service_config(unknown).unwrap_err();
    /// assert!(error.message().contains("grpclb"));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn service_config(mut self, config: ServiceConfig) -> Result<Endpoint, Status> {
        if !config.load_balancing.is_empty() && self.policy_named(&config.load_balancing).is_none()
        {
            return Err(Status::invalid_argument(format!(
                "service config: no known load-balancing policy in {:?} (known: pick_first, round_robin{})",
                config.load_balancing,
                self.balancer
                    .as_ref()
                    .map(|b| format!(", {}", b.name()))
                    .unwrap_or_default()
            )));
        }
        self.service_config = Some(Arc::new(config));
        Ok(self)
    }

    /// The first policy of `names` this endpoint knows.
    fn policy_named(&self, names: &[String]) -> Option<Arc<dyn LoadBalancer>> {
        names
            .iter()
            .find_map(|name| -> Option<Arc<dyn LoadBalancer>> {
                match name.as_str() {
                    _ if self.balancer.as_ref().is_some_and(|b| b.name() == name) => {
                        self.balancer.clone()
                    }
                    "pick_first" => Some(Arc::new(PickFirst)),
                    "round_robin" => Some(Arc::new(RoundRobin::default())),
                    _ => None,
                }
            })
    }

    /// Looks up the target's service config in DNS, in the TXT record
    /// `_grpc_config.<host>` (grpc's `doc/service_config.md`: `grpc_config=`
    /// and a list of choices; the first whose `clientLanguage` includes
    /// `rust`, `clientHostname` this host and `percentage` this client
    /// wins). Off by default, as in grpc-java and grpc-go: whoever controls
    /// the zone then steers the client. It replaces the default service
    /// config while the record lasts. Feature `dns`; `dns:` targets only.
    ///
    /// ```
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("dns:///backends.example.com:50051")?.dns_service_config(true);
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    #[cfg(feature = "dns")]
    pub fn dns_service_config(mut self, on: bool) -> Endpoint {
        self.dns_service_config = on;
        self
    }

    /// How reconnection attempts are spaced (connection-backoff.md's
    /// defaults: 1 s, ×1.6, jitter 0.2, 120 s at most, 20 s minimum
    /// connect timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::client::{Backoff, Endpoint};
    /// let endpoint = Endpoint::new("dns:///backends.internal:50051")?
    ///     .backoff(Backoff::default().initial(Duration::from_millis(200)));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn backoff(mut self, backoff: Backoff) -> Endpoint {
        self.backoff = backoff;
        self
    }

    /// The least time between two resolutions asked for by lost or failed
    /// connections (default 30 s, as grpc's DNS resolver). A resolver's
    /// own change notices are not held back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::client::Endpoint;
    /// let endpoint = Endpoint::new("dns:///backends.internal:50051")?
    ///     .min_resolution_interval(Duration::from_secs(5));
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn min_resolution_interval(mut self, interval: Duration) -> Endpoint {
        self.min_resolution_interval = interval;
        self
    }

    /// Connects with TLS as `config` says, to the target's host as server
    /// name: for `https://` targets and naming.md's (`dns:`, `ipv4:`…),
    /// not for `http://`, which says plaintext.
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
        if self.http_uri {
            return Err(Status::invalid_argument(
                "TLS needs an https:// URI (or a dns:, ipv4: or ipv6: target), not http://",
            ));
        }
        self.tls = Some(config.connector(&self.host)?);
        let mut parts = self.uri.clone().into_parts();
        parts.scheme = Some(http::uri::Scheme::HTTPS);
        self.uri = http::Uri::from_parts(parts).map_err(|e| {
            Status::from_error(Code::InvalidArgument, "cannot make the URI https", e)
        })?;
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
        Channel::new(self.clone())
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

    /// The scheme and authority of the calls.
    pub(crate) fn uri(&self) -> &http::Uri {
        &self.uri
    }

    /// The keepalive interval set, before any doubling.
    pub(crate) fn keepalive_interval(&self) -> Option<Duration> {
        self.keepalive_interval
    }

    /// The resolver of this endpoint's target.
    fn target_resolver(&self) -> Arc<dyn Resolver> {
        if let Some(resolver) = &self.resolver {
            return resolver.clone();
        }
        if let Connector::Custom(_) = self.connector {
            // The user's connector decides where the bytes go.
            return Arc::new(FixedResolver(vec![Address::Host(
                self.host.clone(),
                self.port,
            )]));
        }
        #[cfg(feature = "dns")]
        if let Target::Dns { host, port, server } = &self.target
            && (server.is_some() || self.dns_service_config)
        {
            let txt = self.dns_service_config;
            return match super::dns::HickoryResolver::new(host, *port, server.as_deref(), txt) {
                Ok(resolver) => Arc::new(resolver),
                Err(error) => Arc::new(Unresolvable(error)),
            };
        }
        match &self.target {
            Target::Fixed(addresses) => Arc::new(FixedResolver(addresses.clone())),
            Target::Dns {
                host,
                port,
                server: None,
            } => Arc::new(DnsResolver {
                host: host.clone(),
                port: *port,
            }),
            Target::Dns {
                server: Some(server),
                host,
                ..
            } => Arc::new(Unresolvable(Status::unimplemented(format!(
                "target names DNS server {server:?} for {host:?}: that needs the `dns` feature of protocall (or write dns:///{host} for the system resolver)"
            )))),
        }
    }

    /// A connected byte stream to `address`: TCP, Unix or the user's
    /// connector, then TLS when the endpoint has it.
    async fn open(&self, address: &Address) -> Result<(BoxIo, Ends), Status> {
        let connect = self.connector.connect(&self.uri, address);
        let stream = match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, connect)
                .await
                .map_err(|_| Status::unavailable(format!("timed out connecting to {address}")))?,
            None => connect.await,
        }
        .map_err(|e| {
            let message = format!("cannot connect to {address}: {e}");
            Status::from_boxed(Code::Unavailable, message, e)
        })?;
        let (stream, ends) = stream;
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let tls = if self.http1 { tls.http1() } else { tls.clone() };
            let handshake = tls.connector().connect(tls.server_name.clone(), stream);
            // The connect timeout bounds the TLS handshake too: a server
            // that accepts and never answers must not hang the call.
            let handshake = match self.connect_timeout {
                Some(limit) => tokio::time::timeout(limit, handshake).await.map_err(|_| {
                    Status::unavailable(format!("TLS handshake with {address} timed out"))
                })?,
                None => handshake.await,
            };
            let stream = handshake.map_err(|e| {
                let message = format!("TLS handshake with {address} failed: {e}");
                Status::from_error(Code::Unavailable, message, e)
            })?;
            return Ok((Box::new(stream), ends));
        }
        Ok((stream, ends))
    }

    /// An HTTP/1.1 connection to `address`, running in its own task.
    pub(crate) async fn http1_handshake(
        &self,
        address: &Address,
    ) -> Result<http1::SendRequest<Body>, Status> {
        let (stream, _) = self.open(address).await?;
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

    /// An HTTP/2 connection to `address`; the caller runs the connection.
    /// Keepalive pings, when on, go out only while `in_flight` counts
    /// calls, unless the endpoint keeps them up while idle.
    pub(crate) async fn http2_handshake(
        &self,
        address: &Address,
        keepalive_interval: Option<Duration>,
        in_flight: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Result<
        (
            super::http2::Sender,
            impl Future<Output = Result<(), super::http2::Ended>> + Send + 'static,
            Ends,
        ),
        Status,
    > {
        let (stream, ends) = self.open(address).await?;
        let keepalive = keepalive_interval.map(|interval| super::http2::Keepalive {
            interval,
            timeout: self.keepalive_timeout,
            while_idle: self.keepalive_while_idle,
            in_flight,
        });
        let settings = super::http2::Settings {
            stream_window: self.initial_stream_window_size,
            connection_window: self.initial_connection_window_size,
            keepalive,
        };
        let (sender, connection) = super::http2::handshake(stream, settings).await?;
        Ok((sender, connection, ends))
    }
}

/// A resolver that always fails (a target protocall cannot resolve).
struct Unresolvable(Status);

impl Resolver for Unresolvable {
    fn resolve(&self) -> super::resolver::ResolveFuture {
        Box::pin(std::future::ready(Err(self.0.clone())))
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

/// A channel: cheap to clone (clones share it), and every call made on it
/// goes to one of the target's servers, over connections the channel opens,
/// keeps and re-establishes as its load-balancing policy says. Calls on a
/// connection are multiplexed as HTTP/2 streams. Calls made while no server
/// can be reached fail with `UNAVAILABLE`, or wait for one with
/// [`Request::set_wait_for_ready`](crate::Request::set_wait_for_ready).
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
    endpoint: Arc<Endpoint>,
    resolver: Arc<dyn Resolver>,
    events: Arc<Events>,
    balancing: Mutex<Balancing>,
    /// The resolver task runs (started by the first call).
    started: std::sync::atomic::AtomicBool,
    /// Bytes held for replay by all of this channel's retried calls.
    replay_budget: Arc<retry::Budget>,
    /// The A66 instruments of this channel's target, when metrics are on.
    metrics: Option<Arc<TargetMethods>>,
    /// This channel in channelz, when channelz was on as it was made.
    channelz: Option<crate::channelz::Registered<crate::channelz::ChannelEntry>>,
}

/// What the last resolution made of the channel.
struct Balancing {
    subchannels: Vec<Arc<Subchannel>>,
    policy: Arc<dyn LoadBalancer>,
    config: Arc<ServiceConfig>,
    /// `None` until the first resolution; its error while it has given no
    /// address.
    resolution: Option<Result<(), Status>>,
    throttle: Option<Arc<Throttle>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.events.closed.send_replace(true);
        let balancing = self.balancing.get_mut().unwrap_or_else(|e| e.into_inner());
        for subchannel in &balancing.subchannels {
            subchannel.shut_down();
        }
    }
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("uri", &self.inner.endpoint.uri)
            .field("state", &self.state(false))
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

    fn new(endpoint: Endpoint) -> Channel {
        let config = endpoint.service_config.clone().unwrap_or_default();
        let policy = endpoint
            .policy_named(&config.load_balancing)
            .or_else(|| endpoint.balancer.clone())
            .unwrap_or_else(|| Arc::new(PickFirst));
        let throttle = config.retry_throttling.map(|t| Arc::new(Throttle::new(t)));
        let metrics = endpoint
            .metrics
            .as_ref()
            .map(|metrics| metrics.target(metrics.target_name(&endpoint.target_name)));
        Channel {
            inner: Arc::new_cyclic(|weak: &std::sync::Weak<Inner>| Inner {
                channelz: {
                    let weak = weak.clone();
                    crate::channelz::channel(&endpoint.target_name, move || {
                        weak.upgrade().map_or(ConnectivityState::Shutdown, |inner| {
                            Channel { inner }.state(false)
                        })
                    })
                },
                resolver: endpoint.target_resolver(),
                endpoint: Arc::new(endpoint),
                events: Arc::new(Events::new()),
                balancing: Mutex::new(Balancing {
                    subchannels: Vec::new(),
                    policy,
                    config,
                    resolution: None,
                    throttle,
                }),
                started: std::sync::atomic::AtomicBool::new(false),
                replay_budget: Arc::new(retry::Budget::new(retry::CHANNEL_REPLAY_LIMIT)),
                metrics,
            }),
        }
    }

    fn balancing(&self) -> std::sync::MutexGuard<'_, Balancing> {
        self.inner
            .balancing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The channel's connectivity state: `READY` if a connection is,
    /// else `CONNECTING` if one is being made, `TRANSIENT_FAILURE` if all
    /// are failing, `IDLE` before the first call (or after connections
    /// ended with nothing to send). With `connect`, an idle channel starts
    /// connecting (inside a Tokio runtime).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), protocall::Status> {
    /// use protocall::{Channel, client::ConnectivityState};
    /// let channel = Channel::connect_lazy("http://127.0.0.1:1")?;
    /// assert_eq!(channel.state(false), ConnectivityState::Idle);
    /// channel.state(true); // start connecting; nothing listens on port 1
    /// let state = channel.state_changed(ConnectivityState::Idle).await;
    /// assert!(matches!(state, ConnectivityState::Connecting | ConnectivityState::TransientFailure));
    /// # Ok(())
    /// # }
    /// ```
    pub fn state(&self, connect: bool) -> ConnectivityState {
        if connect {
            self.start();
            self.kick(&self.balancing());
        }
        let balancing = self.balancing();
        match &balancing.resolution {
            Some(Err(_)) if balancing.subchannels.is_empty() => ConnectivityState::TransientFailure,
            _ => {
                ConnectivityState::aggregate(balancing.subchannels.iter().map(|s| s.connectivity()))
            }
        }
    }

    /// Waits until the state is no longer `from`, and returns the new one.
    /// Bound it with a timeout to wait no longer than a deadline.
    pub async fn state_changed(&self, from: ConnectivityState) -> ConnectivityState {
        let mut changed = self.inner.events.changed.subscribe();
        loop {
            let state = self.state(false);
            if state != from {
                return state;
            }
            if changed.changed().await.is_err() {
                return ConnectivityState::Shutdown;
            }
        }
    }

    /// Starts the resolver task, once.
    fn start(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::downgrade(&self.inner);
        let resolver = self.inner.resolver.clone();
        let events = self.inner.events.clone();
        let min_interval = self.inner.endpoint.min_resolution_interval;
        tokio::spawn(async move {
            let mut closed = events.closed.subscribe();
            loop {
                let changed = resolver.changed();
                let result = tokio::select! {
                    result = resolver.resolve() => result,
                    _ = Events::closed(&mut closed) => return,
                };
                match inner.upgrade() {
                    Some(inner) => Channel { inner }.apply(result),
                    None => return,
                }
                let resolved_at = tokio::time::Instant::now();
                tokio::select! {
                    _ = changed => {}
                    _ = events.reresolve.notified() => {
                        tokio::select! {
                            _ = tokio::time::sleep_until(timeout::later(resolved_at, min_interval)) => {}
                            _ = Events::closed(&mut closed) => return,
                        }
                    }
                    _ = Events::closed(&mut closed) => return,
                }
            }
        });
    }

    /// Takes a resolution in: the service config it brings (or the
    /// default), its policy, and a subchannel per address (kept where the
    /// address was already known).
    fn apply(&self, result: Result<Resolution, Status>) {
        let endpoint = &self.inner.endpoint;
        let mut balancing = self.balancing();
        let resolution = match result {
            Ok(resolution) if resolution.addresses.is_empty() => {
                Err(Status::unavailable("the resolver returned no addresses"))
            }
            other => other,
        };
        let resolution = match resolution {
            Ok(resolution) => resolution,
            Err(error) => {
                tracing::debug!(%error, "resolution failed");
                // Known addresses stay in use; only a channel with none fails.
                if balancing.subchannels.is_empty() {
                    balancing.resolution = Some(Err(error));
                }
                drop(balancing);
                self.inner.events.bump();
                return;
            }
        };
        if let Some(config) = resolution.service_config {
            match endpoint.policy_named(&config.load_balancing) {
                None if !config.load_balancing.is_empty() => tracing::warn!(
                    policies = ?config.load_balancing,
                    "resolver's service config names no known load-balancing policy; ignored"
                ),
                _ => balancing.config = Arc::new(config),
            }
        }
        let policy = endpoint
            .policy_named(&balancing.config.load_balancing)
            .or_else(|| endpoint.balancer.clone())
            .unwrap_or_else(|| Arc::new(PickFirst));
        if policy.name() != balancing.policy.name() {
            for subchannel in balancing.subchannels.drain(..) {
                subchannel.shut_down();
            }
            balancing.policy = policy;
        }
        let throttling = balancing.config.retry_throttling;
        if balancing.throttle.as_ref().map(|t| t.settings()) != throttling {
            balancing.throttle = throttling.map(|t| Arc::new(Throttle::new(t)));
        }
        let addresses = resolution.addresses;
        let single = balancing.policy.single_connection();
        let make = |addresses: Vec<Address>| {
            let subchannel = Subchannel::new(
                endpoint.clone(),
                self.inner.events.clone(),
                addresses,
                !single,
            );
            if let Some(channel) = &self.inner.channelz {
                subchannel.track(channel);
            }
            subchannel
        };
        if single {
            match balancing.subchannels.first() {
                Some(subchannel) => subchannel.set_addresses(addresses),
                None => balancing.subchannels.push(make(addresses)),
            }
        } else {
            let mut old = std::mem::take(&mut balancing.subchannels);
            for address in addresses {
                match old.iter().position(|s| s.addresses() == [address.clone()]) {
                    Some(i) => balancing.subchannels.push(old.swap_remove(i)),
                    None if balancing
                        .subchannels
                        .iter()
                        .any(|s| s.addresses() == [address.clone()]) => {}
                    None => balancing.subchannels.push(make(vec![address])),
                }
            }
            for gone in old {
                gone.shut_down();
            }
        }
        // Health checking is for policies that balance over many
        // connections; pick_first has one, and uses it as it is.
        let health = (!single)
            .then(|| balancing.config.health_check_service.clone())
            .flatten();
        for subchannel in &balancing.subchannels {
            subchannel.set_eager(!single);
            subchannel.set_health_service(health.clone());
        }
        balancing.resolution = Some(Ok(()));
        self.kick(&balancing);
        drop(balancing);
        self.inner.events.bump();
    }

    /// Starts the connections the policy wants: every address, or (for a
    /// single-connection policy) the one subchannel.
    fn kick(&self, balancing: &Balancing) {
        for subchannel in &balancing.subchannels {
            if subchannel.connectivity() == ConnectivityState::Idle {
                subchannel.connect();
            }
        }
    }

    /// The connection for the next call: a ready one chosen by the policy,
    /// waiting while connections are being made. Fails with `UNAVAILABLE`
    /// when all have failed, unless `wait_for_ready`.
    async fn pick(&self, wait_for_ready: bool) -> Result<Arc<Subchannel>, Status> {
        self.start();
        loop {
            let mut changed = self.inner.events.changed.subscribe();
            {
                let balancing = self.balancing();
                let ready: Vec<&Arc<Subchannel>> = balancing
                    .subchannels
                    .iter()
                    .filter(|s| s.connectivity() == ConnectivityState::Ready)
                    .collect();
                match ready.len() {
                    0 => {}
                    // One ready connection (pick_first's, always): no choice.
                    1 => return Ok(ready[0].clone()),
                    n => {
                        let candidates: Vec<Candidate<'_>> = ready
                            .iter()
                            .map(|s| Candidate {
                                address: s.first_address(),
                                in_flight: s.in_flight(),
                            })
                            .collect();
                        let picked = balancing.policy.pick(&candidates).min(n - 1);
                        return Ok(ready[picked].clone());
                    }
                }
                self.kick(&balancing);
                if !wait_for_ready && let Some(error) = self.failure(&balancing) {
                    return Err(error);
                }
            }
            if changed.changed().await.is_err() {
                return Err(Status::unavailable("channel shut down"));
            }
        }
    }

    /// Why no call can be sent now: resolution failed, or every
    /// connection is failing. `None` while there is hope (connecting).
    fn failure(&self, balancing: &Balancing) -> Option<Status> {
        match &balancing.resolution {
            None => return None,
            Some(Err(error)) if balancing.subchannels.is_empty() => {
                return Some(unavailable(error));
            }
            _ => {}
        }
        let all_failing = balancing
            .subchannels
            .iter()
            .all(|s| s.connectivity() == ConnectivityState::TransientFailure);
        if !all_failing {
            return None;
        }
        let error = balancing.subchannels.iter().find_map(|s| s.last_error());
        Some(match error {
            Some(error) => unavailable(&error),
            None => Status::unavailable("no connection to any address"),
        })
    }

    /// Connects now, for [`Endpoint::connect`]: fails if no address can be
    /// reached.
    async fn warm_up(&self) -> Result<(), Status> {
        self.pick(false).await.map(drop)
    }

    /// Sends one request on a connection the policy picks; a request
    /// refused before it left (the connection was closing) goes to
    /// another pick.
    async fn send(
        &self,
        mut request: http::Request<Body>,
        wait_for_ready: bool,
    ) -> Result<http::Response<Body>, Status> {
        if self.inner.endpoint.http1 {
            if self.inner.endpoint.protocol == Protocol::Grpc {
                return Err(Status::invalid_argument(
                    "gRPC needs HTTP/2: choose Protocol::GrpcWeb or Protocol::Connect for HTTP/1.1",
                ));
            }
            // HTTP/1.1 names the server in `host` and sends the path alone.
            if let Some(authority) = request.uri().authority()
                && let Ok(host) = http::HeaderValue::from_str(authority.as_str())
            {
                request.headers_mut().insert(http::header::HOST, host);
            }
            if let Some(path) = request.uri().path_and_query().cloned() {
                *request.uri_mut() = http::Uri::from(path);
            }
        }
        // Each refusal marks its connection lost, so this ends.
        const MAX_UNSENT: usize = 4;
        for _ in 1..MAX_UNSENT {
            let subchannel = self.pick(wait_for_ready).await?;
            match self.send_on(&subchannel, request).await {
                Ok(response) => return Ok(response),
                Err(SendError::Failed(status)) => return Err(status),
                Err(SendError::Unsent(unsent, status)) => {
                    tracing::debug!(error = %status, "request not sent; picking again");
                    request = *unsent;
                }
            }
        }
        let subchannel = self.pick(wait_for_ready).await?;
        match self.send_on(&subchannel, request).await {
            Ok(response) => Ok(response),
            Err(SendError::Failed(status) | SendError::Unsent(_, status)) => Err(status),
        }
    }

    /// Sends `request` on `subchannel`, counted in channelz and told its
    /// peer when the channel's observers need them.
    async fn send_on(
        &self,
        subchannel: &Arc<Subchannel>,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, SendError> {
        let (request, socket) = counted(subchannel, request);
        let sent = self.with_peer(subchannel, subchannel.send(request).await);
        tracked(subchannel, socket, sent)
    }

    /// The response, told which server answered (a binary log records
    /// it); only when the channel has a binary log.
    fn with_peer(
        &self,
        subchannel: &Subchannel,
        sent: Result<http::Response<Body>, SendError>,
    ) -> Result<http::Response<Body>, SendError> {
        match (sent, &self.inner.endpoint.binary_log) {
            (Ok(mut response), Some(_)) => {
                if let Address::Tcp(addr) = subchannel.address() {
                    response
                        .extensions_mut()
                        .insert(crate::grpc::RemoteAddr(addr));
                }
                Ok(response)
            }
            (sent, _) => sent,
        }
    }

    /// One attempt of a call, its A66 attempt metrics recorded when the
    /// channel has metrics.
    pub(crate) async fn attempt(
        &self,
        request: http::Request<Body>,
        wait_for_ready: bool,
    ) -> Result<http::Response<Body>, Status> {
        let Some(metrics) = &self.inner.metrics else {
            return self.attempt_unwatched(request, wait_for_ready).await;
        };
        let method = metrics.method(request.uri().path().trim_start_matches('/'));
        let mut observation = Observation::client_attempt(method);
        let request = request.map(|body| observation.watch_request(body));
        match self.attempt_unwatched(request, wait_for_ready).await {
            Ok(response) => Ok(observation.watch_response(response)),
            Err(status) => {
                observation.finish(&status);
                Err(status)
            }
        }
    }

    /// One attempt of a call: translated to the endpoint's protocol, sent,
    /// and its response read back as gRPC.
    async fn attempt_unwatched(
        &self,
        request: http::Request<Body>,
        wait_for_ready: bool,
    ) -> Result<http::Response<Body>, Status> {
        let protocol = self.inner.endpoint.protocol;
        if protocol == Protocol::Grpc {
            return self.send(request, wait_for_ready).await;
        }
        let (request, exchange) = web::request(protocol, request).await?;
        web::response(exchange, self.send(request, wait_for_ready).await?).await
    }

    /// The throttle of retries and hedges, if the service config has one.
    pub(crate) fn throttle(&self) -> Option<Arc<Throttle>> {
        self.balancing().throttle.clone()
    }

    pub(crate) fn replay_budget(&self) -> &Arc<retry::Budget> {
        &self.inner.replay_budget
    }

    fn service_config(&self) -> Arc<ServiceConfig> {
        self.balancing().config.clone()
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
            let mut parts = std::mem::take(request.uri_mut()).into_parts();
            parts.scheme = endpoint.uri.scheme().cloned();
            parts.authority = endpoint.uri.authority().cloned();
            if let Ok(uri) = http::Uri::from_parts(parts) {
                *request.uri_mut() = uri;
            }
        }
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
        let config = self.service_config();
        let method = config.method(request.uri().path());
        let headers = request.headers_mut();
        headers.insert(http::header::USER_AGENT, endpoint.user_agent.clone());
        let deadline = apply_timeout(headers, endpoint.timeout, method);
        let wait_for_ready = request
            .extensions()
            .get::<WaitForReady>()
            .map(|w| w.0)
            .or(method.and_then(|m| m.wait_for_ready))
            .unwrap_or(false);
        let policy = method.and_then(|m| m.policy.clone());
        let max_response = method.and_then(|m| m.max_response_bytes);
        if let (Some(limit), Some(unary)) = (
            max_response,
            request.extensions_mut().get_mut::<web::UnaryCall>(),
        ) {
            unary.max_response = unary.max_response.min(limit);
        }
        let mut broken = None;
        if let Some(limit) = method.and_then(|m| m.max_request_bytes) {
            let (parts, body) = request.into_parts();
            match limits::limit_request(body, limit) {
                Ok((body, slot)) => {
                    request = http::Request::from_parts(parts, body);
                    broken = slot;
                }
                Err(status) => return Box::pin(std::future::ready(Err(status))),
            }
        }
        // The binary log sees the call as the application made it (A16:
        // not the attempts of retries and hedges).
        let mut logged = None;
        if let Some(log) = &endpoint.binary_log {
            let (logged_request, call) = log.call(request, crate::binlog::Logger::Client);
            request = logged_request;
            logged = call;
        }
        let observation = self.observe(&mut request);
        let span = observation
            .as_ref()
            .and_then(|o| o.span().cloned())
            .unwrap_or_else(tracing::Span::none);
        let channel = self.clone();
        let call: ChannelFuture = Box::pin(async move {
            let send = async {
                match policy {
                    None => channel.attempt(request, wait_for_ready).await,
                    // Boxed: the retry machinery's state is large, and
                    // calls without a policy should not carry it.
                    Some(policy) => {
                        Box::pin(retry::run(&channel, request, policy, wait_for_ready)).await
                    }
                }
            };
            let result = match deadline {
                None => send.await,
                Some(at) => tokio::time::timeout_at(at, send)
                    .await
                    .unwrap_or_else(|_| Err(Status::deadline_exceeded("deadline exceeded"))),
            };
            // A request that broke its size limit failed for that reason.
            let broke = || {
                broken
                    .as_ref()?
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
            };
            let mut response = result.map_err(|error| broke().unwrap_or(error))?;
            if let Some(at) = deadline {
                response.extensions_mut().insert(Deadline(at));
            }
            if let Some(limit) = max_response {
                response.extensions_mut().insert(limits::MaxResponse(limit));
            }
            Ok(response)
        });
        let call: ChannelFuture = match logged {
            None => call,
            Some(log) => Box::pin(async move {
                let cancelled = crate::binlog::CancelOnDrop::new(log.clone());
                let result = call.await;
                cancelled.disarm();
                match result {
                    Ok(response) => Ok(log.response(response)),
                    Err(status) => {
                        log.failed(&status);
                        Err(status)
                    }
                }
            }),
        };
        let Some(mut observation) = observation else {
            return call;
        };
        Box::pin(
            async move {
                match call.await {
                    Ok(response) => Ok(observation.watch_response(response)),
                    Err(status) => {
                        observation.finish(&status);
                        Err(status)
                    }
                }
            }
            .instrument(span),
        )
    }
}

impl Channel {
    /// Sends the call's trace context (a child of the one in the request's
    /// extensions, or of the server call being handled) and starts
    /// watching the call, if a subscriber wants its span or the channel
    /// has metrics.
    fn observe(&self, request: &mut http::Request<Body>) -> Option<Observation> {
        let endpoint = &self.inner.endpoint;
        let path = request.uri().path();
        let span = observe::client_span(path, &endpoint.host, endpoint.port);
        let parent = request
            .extensions()
            .get::<TraceContext>()
            .cloned()
            .or_else(TraceContext::current);
        let method = self
            .inner
            .metrics
            .as_ref()
            .map(|metrics| metrics.method(path.trim_start_matches('/')));
        let trace = observe::call_context(&span, parent);
        if let Some(trace) = &trace {
            trace.write_to(request.headers_mut(), endpoint.grpc_trace_bin);
        }
        let channelz = self.inner.channelz.as_ref().map(|entry| (**entry).clone());
        let observation = Observation::client_call(span, method, channelz)?;
        if let (Some(span), Some(trace)) = (observation.span(), &trace) {
            observe::record_trace(span, trace);
        }
        let body = std::mem::take(request.body_mut());
        *request.body_mut() = observation.watch_request(body);
        Some(observation)
    }
}

/// A call's outcome on `subchannel`, counted in channelz (when tracked)
/// once it left: a request that never did is not a call of the subchannel.
fn tracked(
    subchannel: &Subchannel,
    socket: Option<Arc<crate::channelz::Registered<crate::channelz::SocketEntry>>>,
    sent: Result<http::Response<Body>, SendError>,
) -> Result<http::Response<Body>, SendError> {
    let Some(entry) = subchannel.channelz() else {
        return sent;
    };
    match sent {
        Ok(response) => {
            let observation = Observation::subchannel_call(entry.clone(), socket);
            Ok(observation.watch_response(response))
        }
        Err(SendError::Failed(status)) => {
            Observation::subchannel_call(entry.clone(), socket).finish(&status);
            Err(SendError::Failed(status))
        }
        Err(unsent) => Err(unsent),
    }
}

/// `request`, its messages counted on the subchannel's connection (when
/// channelz tracks it), and that connection.
fn counted(
    subchannel: &Subchannel,
    request: http::Request<Body>,
) -> (
    http::Request<Body>,
    Option<Arc<crate::channelz::Registered<crate::channelz::SocketEntry>>>,
) {
    if subchannel.channelz().is_none() {
        return (request, None);
    }
    let socket = subchannel.socket();
    let request = match &socket {
        Some(socket) => request.map(|body| crate::channelz::count_sent(socket.clone(), body)),
        None => request,
    };
    (request, socket)
}

/// `error` as the `UNAVAILABLE` of a call that found no connection (its
/// cause kept as the source when it already is one).
fn unavailable(error: &Status) -> Status {
    match error.code() {
        Code::Unavailable => error.clone(),
        _ => Status::new(Code::Unavailable, error.message().to_owned()),
    }
}

/// Applies the endpoint's default timeout and the method config's one to
/// a request: the shorter of them replaces a longer (or no) `grpc-timeout`.
/// Returns the deadline this set, if any.
fn apply_timeout(
    headers: &mut http::HeaderMap,
    default: Option<Duration>,
    method: Option<&MethodConfig>,
) -> Option<tokio::time::Instant> {
    let configured = method.and_then(|m| m.timeout);
    let asked = headers
        .get(GRPC_TIMEOUT)
        .and_then(|v| timeout::parse(v.as_bytes()).ok());
    // A call's own timeout wins over the endpoint's default, not over the
    // method config's.
    let limit = match (asked, default, configured) {
        (Some(_), _, configured) => configured?,
        (None, Some(a), Some(b)) => a.min(b),
        (None, a, b) => a.or(b)?,
    };
    match asked {
        Some(asked) if asked <= limit => None,
        _ => {
            headers.insert(GRPC_TIMEOUT, timeout::header_value(limit));
            Some(timeout::after(limit))
        }
    }
}
