//! Watching calls go by: one `tracing` span per call (OpenTelemetry's RPC
//! semantic conventions), debug events per message, and the A66 metrics.
//!
//! The observation sits on the call's HTTP bodies, outside the handlers and
//! the codec, so every call is seen the same way — generated services,
//! health and reflection, gRPC-Web and Connect translated to gRPC — and a
//! call with no subscriber listening and no metrics costs nothing: nothing
//! is wrapped.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::Frame;
use tracing::Span;
use tracing::field::Empty;

use crate::channelz;
use crate::grpc::body::Body;
use crate::grpc::frame::Prefixes;
use crate::grpc::headers::GRPC_STATUS;
use crate::grpc::metrics::{ClientMethod, ServerMethod};
use crate::grpc::status::{Code, Status};
use crate::grpc::trace::TraceContext;

/// Where a finished call's figures go.
enum Sink {
    None,
    Server(Arc<ServerMethod>),
    Attempt(Arc<ClientMethod>),
    Call(Arc<ClientMethod>),
}

/// Which way a body's messages go, for the message events.
#[derive(Clone, Copy)]
enum Direction {
    Sent,
    Received,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Sent => "SENT",
            Direction::Received => "RECEIVED",
        }
    }
}

/// One call (or attempt) being watched, finished once: by its status
/// (trailers, a failed response, a body error) or, dropped unfinished, as
/// `CANCELLED`.
pub(crate) struct Observation {
    start: Instant,
    /// `None` when no subscriber wants the span.
    span: Option<Span>,
    sink: Sink,
    /// Channelz counters the call also counts in.
    tracked: Option<Tracked>,
    /// The request's message bytes and messages, counted by its body.
    request: Arc<Counts>,
    /// The response's message bytes.
    response_bytes: u64,
    response_messages: u64,
    /// Server spans mark only server-side faults as errors (semantic
    /// conventions); client spans every non-OK status.
    server: bool,
    done: bool,
}

/// A body's message count and bytes.
#[derive(Default)]
struct Counts {
    bytes: AtomicU64,
    messages: AtomicU64,
}

/// The channelz entities a call counts in.
pub(crate) enum Tracked {
    /// A server call: its server and the connection it came on.
    Server(channelz::CallSite),
    Channel(Arc<channelz::ChannelEntry>),
    /// A call on a subchannel, and the connection it went on.
    Subchannel(
        Arc<channelz::SubchannelEntry>,
        Option<Arc<channelz::Registered<channelz::SocketEntry>>>,
    ),
}

impl Tracked {
    fn started(&self) {
        match self {
            Tracked::Server(site) => {
                site.server.calls.started();
                site.socket.streams.started();
            }
            Tracked::Channel(channel) => channel.calls.started(),
            Tracked::Subchannel(subchannel, socket) => {
                subchannel.calls.started();
                if let Some(socket) = socket {
                    socket.streams.started();
                }
            }
        }
    }

    fn finished(&self, code: Code, sent: u64, received: u64) {
        match self {
            Tracked::Server(site) => {
                site.server.calls.finished(code);
                site.socket.streams.finished(code);
                site.socket.messages(sent, received);
            }
            Tracked::Channel(channel) => channel.calls.finished(code),
            Tracked::Subchannel(subchannel, socket) => {
                subchannel.calls.finished(code);
                if let Some(socket) = socket {
                    socket.streams.finished(code);
                    // What it sent is counted as it passes (`count_sent`).
                    socket.messages(0, received);
                }
            }
        }
    }
}

impl Observation {
    fn new(span: Span, sink: Sink, tracked: Option<Tracked>, server: bool) -> Option<Observation> {
        let span = (!span.is_disabled()).then_some(span);
        if span.is_none() && matches!(sink, Sink::None) && tracked.is_none() {
            return None;
        }
        match &sink {
            Sink::Server(method) => method.started(),
            Sink::Attempt(method) => method.attempt_started(),
            Sink::None | Sink::Call(_) => {}
        }
        if let Some(tracked) = &tracked {
            tracked.started();
        }
        Some(Observation {
            start: Instant::now(),
            span,
            sink,
            tracked,
            request: Arc::default(),
            response_bytes: 0,
            response_messages: 0,
            server,
            done: false,
        })
    }

    /// A server call: its span, `method`'s instruments when metrics are
    /// on, its channelz server and socket when channelz is.
    pub(crate) fn server(
        span: Span,
        method: Option<Arc<ServerMethod>>,
        site: Option<channelz::CallSite>,
    ) -> Option<Observation> {
        let sink = method.map_or(Sink::None, Sink::Server);
        Observation::new(span, sink, site.map(Tracked::Server), true)
    }

    /// A client call as the application sees it.
    pub(crate) fn client_call(
        span: Span,
        method: Option<Arc<ClientMethod>>,
        channel: Option<Arc<channelz::ChannelEntry>>,
    ) -> Option<Observation> {
        let sink = method.map_or(Sink::None, Sink::Call);
        Observation::new(span, sink, channel.map(Tracked::Channel), false)
    }

    /// One attempt of a client call (metrics only: the call has the span).
    pub(crate) fn client_attempt(method: Arc<ClientMethod>) -> Observation {
        Observation::new(Span::none(), Sink::Attempt(method), None, false).expect("a sink is set")
    }

    /// A call sent on a subchannel (channelz).
    pub(crate) fn subchannel_call(
        subchannel: Arc<channelz::SubchannelEntry>,
        socket: Option<Arc<channelz::Registered<channelz::SocketEntry>>>,
    ) -> Observation {
        let tracked = Some(Tracked::Subchannel(subchannel, socket));
        Observation::new(Span::none(), Sink::None, tracked, false).expect("tracked")
    }

    pub(crate) fn span(&self) -> Option<&Span> {
        self.span.as_ref()
    }

    /// The request body, its messages counted (and, with a span, logged).
    pub(crate) fn watch_request(&self, body: Body) -> Body {
        let counted = matches!(self.sink, Sink::Server(_) | Sink::Attempt(_))
            || matches!(self.tracked, Some(Tracked::Server(_)));
        if self.span.is_none() && !counted {
            // Nothing needs the request's messages (a call's metrics are
            // its duration, channelz counts calls).
            return body;
        }
        let direction = if self.server {
            Direction::Received
        } else {
            Direction::Sent
        };
        Body::new(Watched {
            body,
            prefixes: Prefixes::default(),
            messages: 0,
            direction,
            span: self.span.clone(),
            count: Count::Shared(self.request.clone()),
        })
    }

    /// The response body, finishing this observation at its end.
    pub(crate) fn watch_response(self, response: http::Response<Body>) -> http::Response<Body> {
        let (parts, body) = response.into_parts();
        if parts.headers.contains_key(GRPC_STATUS) {
            // Trailers-only: the call is over.
            let mut this = self;
            this.finish_with(&parts.headers);
            return http::Response::from_parts(parts, body);
        }
        let direction = if self.server {
            Direction::Sent
        } else {
            Direction::Received
        };
        let span = self.span.clone();
        let body = Body::new(Watched {
            body,
            prefixes: Prefixes::default(),
            messages: 0,
            direction,
            span,
            count: Count::Ends(self),
        });
        http::Response::from_parts(parts, body)
    }

    /// Records the call's end with `status`.
    pub(crate) fn finish(&mut self, status: &Status) {
        self.end(status.code(), || status.message().to_owned());
    }

    /// Records the call's end with the status in trailers (or
    /// trailers-only headers): only the code is read, and the message only
    /// for a failed call's log line.
    fn finish_with(&mut self, trailers: &http::HeaderMap) {
        let code = trailers
            .get(GRPC_STATUS)
            .and_then(crate::grpc::status::parse_code)
            .unwrap_or(Code::Unknown);
        self.end(code, || {
            Status::from_headers(trailers).map_or_else(
                || "trailers without grpc-status".to_owned(),
                |status| status.message().to_owned(),
            )
        });
    }

    fn end(&mut self, code: Code, message: impl FnOnce() -> String) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let elapsed = self.start.elapsed();
        let (request, requests) = (
            self.request.bytes.load(Relaxed),
            self.request.messages.load(Relaxed),
        );
        if let Some(tracked) = &self.tracked {
            let (sent, received) = if self.server {
                (self.response_messages, requests)
            } else {
                (requests, self.response_messages)
            };
            tracked.finished(code, sent, received);
        }
        match &self.sink {
            Sink::None => {}
            Sink::Server(m) => m.finished(code, elapsed, self.response_bytes, request),
            Sink::Attempt(m) => m.attempt_finished(code, elapsed, request, self.response_bytes),
            Sink::Call(m) => m.call_finished(code, elapsed),
        }
        if let Some(span) = self.span.take() {
            span.record("rpc.grpc.status_code", code as i32);
            let fault = !self.server
                || matches!(
                    code,
                    Code::Unknown
                        | Code::DeadlineExceeded
                        | Code::Unimplemented
                        | Code::Internal
                        | Code::Unavailable
                        | Code::DataLoss
                );
            if code != Code::Ok && fault {
                span.record("otel.status_code", "ERROR");
            }
            if code != Code::Ok {
                // The one log line of a failed call; the status message, never
                // a payload or a credential.
                span.in_scope(|| {
                    tracing::debug!(
                        rpc.grpc.status_code = code as i32,
                        status = code.as_str(),
                        error = message(),
                        "call failed"
                    )
                });
            }
        }
    }
}

impl Drop for Observation {
    fn drop(&mut self) {
        if !self.done {
            self.end(Code::Cancelled, || "the call was cancelled".to_owned());
        }
    }
}

/// Where a body's message bytes go.
enum Count {
    /// A request: into the observation's counter.
    Shared(Arc<Counts>),
    /// The response: into the observation, which the body finishes.
    Ends(Observation),
}

pin_project_lite::pin_project! {
    /// A body whose gRPC messages are counted as they pass.
    struct Watched {
        #[pin]
        body: Body,
        prefixes: Prefixes,
        messages: u64,
        direction: Direction,
        span: Option<Span>,
        count: Count,
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = self.project();
        let _entered = this.span.as_ref().map(Span::enter);
        let frame = std::task::ready!(this.body.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let (direction, messages) = (*this.direction, &mut *this.messages);
                    let logged = this.span.is_some();
                    let (mut bytes, first) = (0, *messages);
                    let _ = this.prefixes.scan::<()>(data, |compressed, length| {
                        *messages += 1;
                        bytes += length as u64;
                        if logged {
                            tracing::debug!(
                                rpc.message.type = direction.as_str(),
                                rpc.message.id = *messages,
                                rpc.message.compressed_size = length,
                                compressed,
                                "message"
                            );
                        }
                        Ok(())
                    });
                    let new = *messages - first;
                    match this.count {
                        Count::Shared(total) => {
                            total.bytes.fetch_add(bytes, Relaxed);
                            total.messages.fetch_add(new, Relaxed);
                        }
                        Count::Ends(observation) => {
                            observation.response_bytes += bytes;
                            observation.response_messages += new;
                        }
                    }
                }
                if let (Some(trailers), Count::Ends(observation)) =
                    (frame.trailers_ref(), this.count)
                {
                    observation.finish_with(trailers);
                }
            }
            Some(Err(status)) => {
                if let Count::Ends(observation) = this.count {
                    observation.finish(status);
                }
            }
            None => {
                if let Count::Ends(observation) = this.count {
                    observation.end(Code::Internal, || {
                        "the response ended without a status".to_owned()
                    });
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The span of a server call to `path` (`/service/method`).
pub(crate) fn server_span(request: &http::Request<Body>) -> Span {
    let path = request.uri().path();
    let (service, method) = split(path);
    let span = tracing::info_span!(
        "grpc.server",
        otel.name = path.trim_start_matches('/'),
        otel.kind = "server",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        server.address = Empty,
        server.port = Empty,
        network.peer.address = Empty,
        network.peer.port = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let authority = request.uri().authority().cloned().or_else(|| {
        request
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok()?.parse().ok())
    });
    if let Some(authority) = authority {
        span.record("server.address", authority.host());
        if let Some(port) = authority.port_u16() {
            span.record("server.port", port);
        }
    }
    if let Some(peer) = request.extensions().get::<crate::grpc::RemoteAddr>() {
        span.record("network.peer.address", peer.0.ip().to_string());
        span.record("network.peer.port", peer.0.port());
    }
    span
}

/// The span of a client call to `path` on the server at `authority`.
pub(crate) fn client_span(path: &str, host: &str, port: u16) -> Span {
    let (service, method) = split(path);
    tracing::info_span!(
        "grpc.client",
        otel.name = path.trim_start_matches('/'),
        otel.kind = "client",
        otel.status_code = Empty,
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
        rpc.grpc.status_code = Empty,
        server.address = host,
        server.port = port,
        trace_id = Empty,
        span_id = Empty,
    )
}

/// Joins `span` to OpenTelemetry (feature `opentelemetry`, when a
/// `tracing-opentelemetry` layer records it), under `parent` if given;
/// its own context then is the call's. `None` without OpenTelemetry.
pub(crate) fn join(span: &Span, parent: Option<&TraceContext>) -> Option<TraceContext> {
    #[cfg(feature = "opentelemetry")]
    return super::otel::join(span, parent);
    #[cfg(not(feature = "opentelemetry"))]
    {
        let _ = (span, parent);
        None
    }
}

/// The context a call runs in: its OpenTelemetry span's, else a child of
/// `parent` (the caller's), else none.
pub(crate) fn call_context(span: &Span, parent: Option<TraceContext>) -> Option<TraceContext> {
    join(span, parent.as_ref()).or_else(|| parent.map(|parent| parent.child()))
}

/// Records the call's trace context on its span.
pub(crate) fn record_trace(span: &Span, context: &TraceContext) {
    span.record("trace_id", context.trace_id());
    span.record("span_id", context.span_id());
}

/// `/service/method` as its two names.
fn split(path: &str) -> (&str, &str) {
    path.trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path, ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grpc::metrics::Metrics;

    fn frame(len: usize) -> Vec<u8> {
        let mut f = vec![0];
        f.extend_from_slice(&(len as u32).to_be_bytes());
        f.extend(std::iter::repeat_n(7, len));
        f
    }

    async fn drain(body: Body) {
        use http_body_util::BodyExt as _;
        let _ = body.collect().await;
    }

    #[tokio::test]
    async fn a_server_call_counts_message_bytes_without_prefixes() {
        let metrics = Metrics::new();
        let method = metrics.server("demo.Echo/Say");
        let observation = Observation::server(Span::none(), Some(method), None).unwrap();
        let request = observation.watch_request(Body::once(frame(10).into(), None));
        drain(request).await;
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("5"));
        let mut bytes = frame(3);
        bytes.extend(frame(4));
        let response = http::Response::new(Body::once(bytes.into(), Some(trailers)));
        drain(observation.watch_response(response).into_body()).await;
        let text = metrics.prometheus();
        for line in [
            r#"grpc_server_call_started_total{grpc_method="demo.Echo/Say"} 1"#,
            r#"grpc_server_call_sent_total_compressed_message_size_bytes_sum{grpc_method="demo.Echo/Say",grpc_status="NOT_FOUND"} 7"#,
            r#"grpc_server_call_rcvd_total_compressed_message_size_bytes_sum{grpc_method="demo.Echo/Say",grpc_status="NOT_FOUND"} 10"#,
        ] {
            assert!(text.contains(line), "no {line} in\n{text}");
        }
    }

    #[tokio::test]
    async fn a_response_dropped_unfinished_is_cancelled() {
        let metrics = Metrics::new();
        let observation =
            Observation::server(Span::none(), Some(metrics.server("demo.Echo/Say")), None).unwrap();
        let response = http::Response::new(Body::once(frame(3).into(), None));
        drop(observation.watch_response(response));
        assert!(metrics.prometheus().contains(
            r#"grpc_server_call_duration_seconds_count{grpc_method="demo.Echo/Say",grpc_status="CANCELLED"} 1"#
        ));
    }

    #[test]
    fn nothing_is_watched_without_a_subscriber_or_metrics() {
        assert!(Observation::server(Span::none(), None, None).is_none());
    }
}
