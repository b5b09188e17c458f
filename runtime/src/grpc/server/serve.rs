//! Serving a service stack on connections: any stream of connected I/O
//! (TCP, Unix sockets, in-memory pipes), TLS when configured, HTTP/2 and
//! HTTP/1.1 from hyper (told apart by the HTTP/2 preface, or by ALPN under
//! TLS), graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};

use super::config::Http2Config;
use super::{ServiceStack, Tls, handler};
use crate::grpc::body::{Body, BoxError, Guarded};
use crate::grpc::request::RemoteAddr;
use crate::grpc::status::Status;

/// A connected byte stream the server can serve: what
/// [`Router::serve_with_incoming`](super::Router::serve_with_incoming)
/// takes. It tells the peer's address, if it has one, which handlers read
/// as [`Request::remote_addr`](crate::Request::remote_addr).
///
/// Implemented for TCP and Unix streams and tokio's in-memory `DuplexStream`;
/// for an I/O type of your own, `impl Connected for MyIo {}` (no address)
/// or return its address.
///
/// ```
/// use protocall::server::Connected;
/// let (client, server) = tokio::io::duplex(64);
/// assert_eq!(server.remote_addr(), None);
/// # drop(client);
/// ```
pub trait Connected: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    /// The peer's address, when the transport has one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// use protocall::server::Connected;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
    /// let (server, _) = listener.accept().await?;
    /// assert_eq!(server.remote_addr(), Some(client.local_addr()?));
    /// # Ok(())
    /// # }
    /// ```
    fn remote_addr(&self) -> Option<SocketAddr> {
        None
    }

    /// This end's address, when the transport has one (channelz shows it).
    ///
    /// ```
    /// use protocall::server::Connected;
    /// let (client, server) = tokio::io::duplex(64);
    /// assert_eq!(server.local_addr(), None);
    /// # drop(client);
    /// ```
    fn local_addr(&self) -> Option<SocketAddr> {
        None
    }
}

impl Connected for tokio::net::TcpStream {
    fn remote_addr(&self) -> Option<SocketAddr> {
        self.peer_addr().ok()
    }

    fn local_addr(&self) -> Option<SocketAddr> {
        tokio::net::TcpStream::local_addr(self).ok()
    }
}

#[cfg(unix)]
impl Connected for tokio::net::UnixStream {}

impl Connected for tokio::io::DuplexStream {}

/// Serves `service` on every connection `incoming` yields until `signal`
/// completes; then stops accepting, sends GOAWAY and waits for the calls
/// in flight — at most `grace`, after which the connections still open are
/// closed (their calls end with `UNAVAILABLE` at the client). When
/// `incoming` ends first, the open connections are served until they close
/// (or the signal comes).
pub(super) async fn serve_incoming<I, IO, E, S>(
    incoming: I,
    service: S,
    http2: Http2Config,
    tls: Option<Tls>,
    grace: Option<Duration>,
    listening: &[SocketAddr],
    signal: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    I: Stream<Item = Result<IO, E>>,
    IO: Connected,
    E: Into<BoxError>,
    S: ServiceStack,
{
    // In channelz while serving, when it is on.
    let channelz = crate::channelz::server(listening);
    // Tells every connection to drain (GOAWAY, then finish its calls).
    let drain = tokio::sync::watch::Sender::new(false);
    let builder = connection_builder(&http2);
    let mut signal = std::pin::pin!(signal);
    // Boxed, not pinned on the stack, so it can be dropped (closing a
    // listener) before the drain.
    let mut incoming = Box::pin(incoming);
    // One task per connection, reaped as they end, aborted after the grace.
    let mut connections = tokio::task::JoinSet::new();
    let signalled = loop {
        let io = tokio::select! {
            next = incoming.next() => match next {
                Some(Ok(io)) => io,
                Some(Err(error)) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    let error: BoxError = error.into();
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                None => break false,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = &mut signal => break true,
        };
        // Count only connections still open.
        while connections.try_join_next().is_some() {}
        if http2
            .max_connections
            .is_some_and(|limit| connections.len() >= limit)
        {
            tracing::warn!(
                open = connections.len(),
                "connection limit reached: closing a new connection"
            );
            drop(io);
            continue;
        }
        let lifetime = Lifetime::new(&http2, drain.subscribe());
        let mut adapter = HyperService {
            service: service.clone(),
            peer: io.remote_addr(),
            extensions: http::Extensions::new(),
            activity: lifetime.activity.clone(),
            budget: http2.max_buffered_message_bytes.map(|limit| {
                crate::grpc::frame::ConnectionBudget(crate::grpc::frame::MessageBudget::new(limit))
            }),
        };
        if let Some(server) = &channelz {
            let socket = crate::channelz::accepted(server, io.local_addr(), io.remote_addr());
            adapter.extensions.insert(crate::channelz::CallSite {
                server: (*server).clone(),
                socket: Arc::new(socket),
            });
        }
        let builder = builder.clone();
        let tls = tls.clone();
        let deadline = crate::grpc::timeout::after(http2.handshake_timeout);
        // The TLS handshake runs in the connection's task: a slow client
        // must not hold up accepting others.
        connections.spawn(async move {
            match tls {
                None => {
                    let io = PrefaceDeadline::new(io, deadline);
                    serve_connection(io, builder, lifetime, adapter).await
                }
                Some(tls) => serve_tls(tls, io, deadline, builder, lifetime, adapter).await,
            }
        });
    };
    drop(incoming);
    if !signalled {
        // No more connections will come, but those open go on being served
        // until they close or the signal asks for a drain.
        let all_closed = async { while connections.join_next().await.is_some() {} };
        tokio::select! {
            () = all_closed => return Ok(()),
            () = &mut signal => {}
        }
    }
    drain.send_replace(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    match grace {
        None => drain.await,
        Some(grace) => {
            if tokio::time::timeout(grace, drain).await.is_err() {
                tracing::info!(
                    open = connections.len(),
                    ?grace,
                    "grace period over: closing the connections still open"
                );
                connections.abort_all();
            }
        }
    }
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// The connection builder: HTTP/2 with the server's settings, and HTTP/1.1
/// (for gRPC-Web and Connect) unless turned off.
fn connection_builder(http2: &Http2Config) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    if !http2.accept_http1 {
        builder = builder.http2_only();
    }
    builder
        .http1()
        .timer(TokioTimer::new())
        // A client that opens a connection and dawdles over its request
        // head holds a socket: as long as the handshake allows, no more.
        .header_read_timeout(http2.handshake_timeout)
        // The same bound on request heads as HTTP/2's header list.
        .max_buf_size((http2.max_header_list_size as usize).max(8192))
        .auto_date_header(false);
    builder
        .http2()
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
        .max_send_buf_size(http2.max_send_buf_size)
        // gRPC peers have no use for `date`; grpc-go and grpc-java send none.
        .auto_date_header(false);
    builder
}

/// Serves one connection until it ends, or is drained: for the server's
/// shutdown, its age or its idleness.
async fn serve_connection<IO, S>(
    io: IO,
    builder: auto::Builder<TokioExecutor>,
    lifetime: Lifetime,
    adapter: HyperService<S>,
) where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    S: ServiceStack,
{
    let peer = adapter.peer;
    let io = PolicedIo::new(io, lifetime.ping_policy);
    let connection = builder.serve_connection(TokioIo::new(io), adapter);
    let mut connection = std::pin::pin!(connection);
    let ended = lifetime
        .run(connection.as_mut(), |c| c.graceful_shutdown())
        .await;
    match ended {
        Some(Err(error)) => tracing::debug!(%error, ?peer, "connection ended with an error"),
        Some(Ok(())) => {}
        None => tracing::debug!(?peer, "connection closed: its grace after draining is over"),
    }
}

/// A connection's I/O, under the ping policy when there is one.
type PolicedIo<IO> = super::ping_policy::PingPolicyIo<IO>;

/// When a connection is drained: the server's shutdown, the connection's
/// age (`max_connection_age`, jittered) or its idleness
/// (`max_connection_idle`), and how long it may then finish its calls.
struct Lifetime {
    drain: tokio::sync::watch::Receiver<bool>,
    age: Option<Duration>,
    age_grace: Option<Duration>,
    idle: Option<Duration>,
    /// Calls in flight, counted when `idle` is set.
    activity: Option<std::sync::Arc<Activity>>,
    ping_policy: Option<super::ping_policy::PingPolicy>,
}

/// The calls in flight on a connection, and when the last one ended.
#[derive(Debug)]
pub(super) struct Activity {
    active: std::sync::atomic::AtomicUsize,
    last: std::sync::Mutex<tokio::time::Instant>,
}

impl Activity {
    fn start(self: &std::sync::Arc<Self>) -> ActiveCall {
        self.active
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        ActiveCall(self.clone())
    }

    /// When the connection became idle, if it is.
    fn idle_since(&self) -> Option<tokio::time::Instant> {
        let last = *self.last.lock().unwrap_or_else(|e| e.into_inner());
        (self.active.load(std::sync::atomic::Ordering::Acquire) == 0).then_some(last)
    }
}

/// One call counted in its connection's [`Activity`] until dropped (with
/// the response body).
struct ActiveCall(std::sync::Arc<Activity>);

impl Drop for ActiveCall {
    fn drop(&mut self) {
        *self.0.last.lock().unwrap_or_else(|e| e.into_inner()) = tokio::time::Instant::now();
        self.0
            .active
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Lifetime {
    fn new(http2: &Http2Config, drain: tokio::sync::watch::Receiver<bool>) -> Lifetime {
        // ±10%, as grpc-go and grpc-java jitter the age.
        let age = http2.max_connection_age.map(|age| {
            crate::grpc::timeout::from_secs_f64(age.as_secs_f64() * (0.9 + 0.2 * fastrand::f64()))
        });
        Lifetime {
            drain,
            age,
            age_grace: http2.max_connection_age_grace,
            idle: http2.max_connection_idle,
            ping_policy: http2.ping_policy,
            activity: http2.max_connection_idle.map(|_| {
                std::sync::Arc::new(Activity {
                    active: std::sync::atomic::AtomicUsize::new(0),
                    last: std::sync::Mutex::new(tokio::time::Instant::now()),
                })
            }),
        }
    }

    /// Drives `connection` to its end; `None` if it was closed because its
    /// grace ran out.
    async fn run<C, T>(
        mut self,
        mut connection: Pin<&mut C>,
        graceful_shutdown: impl FnOnce(Pin<&mut C>),
    ) -> Option<T>
    where
        C: Future<Output = T>,
    {
        let born = tokio::time::Instant::now();
        let aged = crate::grpc::timeout::later(born, self.age.unwrap_or(Duration::MAX));
        let grace = tokio::select! {
            output = connection.as_mut() => return Some(output),
            _ = self.drain.wait_for(|drain| *drain) => None,
            _ = tokio::time::sleep_until(aged) => {
                tracing::debug!("connection reached its max age: draining");
                self.age_grace
            }
            () = Self::idle(self.idle, self.activity.as_deref()) => {
                tracing::debug!("connection idle too long: draining");
                None
            }
        };
        graceful_shutdown(connection.as_mut());
        // The server's own drain has its grace period, enforced by the
        // server; an aged connection has `max_connection_age_grace`.
        match grace {
            None => Some(connection.await),
            Some(grace) => tokio::time::timeout(grace, connection).await.ok(),
        }
    }

    /// Completes once no call has been in flight for `idle`.
    async fn idle(idle: Option<Duration>, activity: Option<&Activity>) {
        let (Some(idle), Some(activity)) = (idle, activity) else {
            return std::future::pending().await;
        };
        loop {
            match activity.idle_since() {
                Some(since)
                    if crate::grpc::timeout::later(since, idle) <= tokio::time::Instant::now() =>
                {
                    return;
                }
                Some(since) => {
                    tokio::time::sleep_until(crate::grpc::timeout::later(since, idle)).await
                }
                None => tokio::time::sleep(idle).await,
            }
        }
    }
}

/// Completes the TLS handshake, then serves the connection.
#[cfg(feature = "tls")]
async fn serve_tls<IO, S>(
    tls: Tls,
    io: IO,
    deadline: tokio::time::Instant,
    builder: auto::Builder<TokioExecutor>,
    lifetime: Lifetime,
    mut adapter: HyperService<S>,
) where
    IO: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    S: ServiceStack,
{
    let peer = adapter.peer;
    let stream = match tokio::time::timeout_at(deadline, tls.0.accept(io)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            tracing::debug!(%error, ?peer, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(?peer, "TLS handshake timed out");
            return;
        }
    };
    if let Some(certs) = stream.get_ref().1.peer_certificates() {
        let certs = certs.iter().map(|c| c.clone().into_owned()).collect();
        adapter
            .extensions
            .insert(crate::grpc::tls::PeerCertificates(std::sync::Arc::new(
                certs,
            )));
    }
    let stream = PrefaceDeadline::new(stream, deadline);
    serve_connection(stream, builder, lifetime, adapter).await
}

#[cfg(not(feature = "tls"))]
async fn serve_tls<IO, S>(
    tls: Tls,
    _: IO,
    _: tokio::time::Instant,
    _: auto::Builder<TokioExecutor>,
    _: Lifetime,
    _: HyperService<S>,
) {
    match tls.0 {}
}

/// The HTTP/2 client preface: 24 bytes of magic (RFC 9113 §3.4).
const PREFACE_LEN: usize = 24;

pin_project_lite::pin_project! {
    /// A connection that must deliver the HTTP/2 preface by a deadline:
    /// reads fail with `TimedOut` once it passes with fewer than
    /// [`PREFACE_LEN`] bytes received, so hyper drops the connection.
    /// After the preface it is the bare I/O.
    struct PrefaceDeadline<IO> {
        #[pin]
        io: IO,
        received: usize,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    }
}

impl<IO> PrefaceDeadline<IO> {
    fn new(io: IO, deadline: tokio::time::Instant) -> PrefaceDeadline<IO> {
        PrefaceDeadline {
            io,
            received: 0,
            deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }
}

impl<IO: AsyncRead> AsyncRead for PrefaceDeadline<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let result = this.io.poll_read(cx, buf);
        if this.deadline.is_none() {
            return result;
        }
        *this.received += buf.filled().len() - before;
        if *this.received >= PREFACE_LEN {
            *this.deadline = None;
            return result;
        }
        if result.is_pending()
            && let Some(deadline) = this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no HTTP/2 preface before the handshake timeout",
            )));
        }
        result
    }
}

impl<IO: AsyncWrite> AsyncWrite for PrefaceDeadline<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.project().io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.project().io.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.project().io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// The connections of a TCP listener, with `TCP_NODELAY` set (gRPC sends
/// small frames that must not wait for Nagle).
pub(super) fn tcp_incoming(
    listener: tokio::net::TcpListener,
) -> impl Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| {
            let _ = stream.set_nodelay(true);
            stream
        });
        Some((accepted, listener))
    })
}

/// The connections of a Unix-domain listener.
#[cfg(unix)]
pub(super) fn unix_incoming(
    listener: tokio::net::UnixListener,
) -> impl Stream<Item = std::io::Result<tokio::net::UnixStream>> {
    futures_util::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

/// Bridges hyper's `Service` to the tower service stack.
#[derive(Clone)]
struct HyperService<S> {
    service: S,
    peer: Option<SocketAddr>,
    /// Per-connection values every request gets (TLS peer certificates).
    extensions: http::Extensions,
    /// Counts the calls in flight (for `max_connection_idle`).
    activity: Option<std::sync::Arc<Activity>>,
    /// What the connection's incomplete request messages may hold.
    budget: Option<crate::grpc::frame::ConnectionBudget>,
}

impl<S> hyper::service::Service<http::Request<Incoming>> for HyperService<S>
where
    S: ServiceStack,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = HyperFuture<S::Future>;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        if let Some(peer) = self.peer {
            parts.extensions.insert(RemoteAddr(peer));
        }
        if let Some(budget) = &self.budget {
            parts.extensions.insert(budget.clone());
        }
        if !self.extensions.is_empty() {
            parts.extensions.extend(self.extensions.clone());
        }
        let request = http::Request::from_parts(parts, Body::incoming(body));
        let mut service = self.service.clone();
        if let Some(activity) = &self.activity {
            // The call lasts until its response body is done.
            let call = activity.start();
            return HyperFuture::Deferred {
                future: Box::pin(async move {
                    let response = call_when_ready(service, request).await;
                    Ok(response.map(|body| Guarded::wrap(body, call)))
                }),
            };
        }
        // Most stacks are always ready: call at once, without boxing.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        if let Poll::Ready(Ok(())) = service.poll_ready(&mut cx) {
            return HyperFuture::Direct {
                future: service.call(request),
            };
        }
        HyperFuture::Deferred {
            future: Box::pin(async move { Ok(call_when_ready(service, request).await) }),
        }
    }
}

/// Waits for the stack to be ready, then calls it; a layer's error is
/// answered as a gRPC status.
async fn call_when_ready<S: ServiceStack>(
    mut service: S,
    request: http::Request<Body>,
) -> http::Response<Body> {
    let ready = std::future::poll_fn(|cx| service.poll_ready(cx))
        .await
        .map_err(Into::into);
    let result: Result<_, BoxError> = match ready {
        Ok(()) => service.call(request).await.map_err(Into::into),
        Err(error) => Err(error),
    };
    result.unwrap_or_else(layer_error)
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            HyperFutureProjection::Direct { future } => future
                .poll(cx)
                .map(|result| Ok(result.unwrap_or_else(|e| layer_error(e.into())))),
            HyperFutureProjection::Deferred { future } => future.as_mut().poll(cx),
        }
    }
}
