//! The client's HTTP/2 connections, on h2 directly.
//!
//! A gRPC call is one HTTP/2 stream whose request is, most often, headers
//! and one DATA frame known before the call starts. Going through hyper's
//! client would add a dispatch task and channel per connection and a task
//! per request to pipe the body; here the call sends its headers and its
//! one frame itself, and only a streaming request body gets a task (which
//! must run beside the response). The connection future drives h2 and the
//! keepalive pings.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http_body::Body as _;

use super::connector::BoxIo;
use super::subchannel::SendError;
use crate::grpc::body::Body;
use crate::grpc::errors;
use crate::grpc::status::Status;

/// hyper's client defaults, kept so that moving onto h2 changed no window.
const DEFAULT_STREAM_WINDOW: u32 = 2 << 20;
const DEFAULT_CONNECTION_WINDOW: u32 = 5 << 20;
const MAX_SEND_BUFFER: usize = 1 << 20;
const MAX_HEADER_LIST: u32 = 16 << 10;

/// How a connection is set up.
pub(crate) struct Settings {
    pub(crate) stream_window: Option<u32>,
    pub(crate) connection_window: Option<u32>,
    pub(crate) keepalive: Option<Keepalive>,
}

/// PINGs `interval` after the previous answer; no answer within `timeout`
/// closes the connection. Without `while_idle`, only while calls are in
/// flight (as `in_flight` counts them).
pub(crate) struct Keepalive {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
    pub(crate) while_idle: bool,
    pub(crate) in_flight: Arc<AtomicUsize>,
}

/// Why a connection ended, when it did not end cleanly.
#[derive(Debug)]
pub(crate) enum Ended {
    H2(h2::Error),
    KeepaliveTimeout,
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ended::H2(error) => error.fmt(f),
            Ended::KeepaliveTimeout => f.write_str("keepalive ping not answered in time"),
        }
    }
}

impl Ended {
    /// A server's GOAWAY `ENHANCE_YOUR_CALM` with debug data
    /// `too_many_pings` (h2 shows the debug data only in its message).
    pub(crate) fn too_many_pings(&self) -> bool {
        match self {
            Ended::H2(h2) => {
                h2.is_go_away()
                    && h2.is_remote()
                    && h2.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM)
                    && h2.to_string().contains("too_many_pings")
            }
            Ended::KeepaliveTimeout => false,
        }
    }
}

/// Opens HTTP/2 on `io`: the sender of calls, and the connection's future,
/// which the caller runs until it ends.
pub(crate) async fn handshake(
    io: BoxIo,
    settings: Settings,
) -> Result<
    (
        Sender,
        impl Future<Output = Result<(), Ended>> + Send + 'static,
    ),
    Status,
> {
    let (sender, mut connection) = h2::client::Builder::new()
        .initial_window_size(settings.stream_window.unwrap_or(DEFAULT_STREAM_WINDOW))
        .initial_connection_window_size(
            settings
                .connection_window
                .unwrap_or(DEFAULT_CONNECTION_WINDOW),
        )
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .max_header_list_size(MAX_HEADER_LIST)
        .enable_push(false)
        // Calls this client cancels (deadlines, drops) are remembered
        // long enough that the server's frames still in flight for them
        // are ignored. With h2's small default, the forgotten ones made
        // h2 reset them "on its own", and after 1024 of those over the
        // connection's life it closed the connection, failing every call
        // on it with UNAVAILABLE (the soak, RELIABILITY.md).
        .max_concurrent_reset_streams(1024)
        .max_local_error_reset_streams(Some(100_000))
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|e| errors::from_h2_error(e, "HTTP/2 handshake failed"))?;
    let pings = settings
        .keepalive
        .and_then(|keepalive| Some((connection.ping_pong()?, keepalive)));
    let driver = async move {
        match pings {
            None => connection.await.map_err(Ended::H2),
            Some((pings, keepalive)) => {
                tokio::select! {
                    ended = &mut connection => ended.map_err(Ended::H2),
                    ended = keep_alive(pings, keepalive) => ended,
                }
            }
        }
    };
    Ok((Sender(sender), driver))
}

/// Pings until one goes unanswered (or the connection ends, which ends
/// the select around this).
async fn keep_alive(mut pings: h2::PingPong, keepalive: Keepalive) -> Result<(), Ended> {
    loop {
        tokio::time::sleep(keepalive.interval).await;
        if !keepalive.while_idle && keepalive.in_flight.load(Ordering::Relaxed) == 0 {
            continue;
        }
        match tokio::time::timeout(keepalive.timeout, pings.ping(h2::Ping::opaque())).await {
            Ok(Ok(_pong)) => {}
            // The connection failed: its own future reports why.
            Ok(Err(_)) => return std::future::pending().await,
            Err(_) => return Err(Ended::KeepaliveTimeout),
        }
    }
}

/// Sends calls on one HTTP/2 connection; clones share it.
#[derive(Clone)]
pub(crate) struct Sender(h2::client::SendRequest<Bytes>);

impl Sender {
    /// Sends `request` and waits for the response head; the response body
    /// holds `guard` until it is dropped. A request refused before any of
    /// it was sent (the connection is closing) comes back as
    /// [`SendError::Unsent`].
    pub(crate) async fn send(
        &self,
        request: http::Request<Body>,
        guard: Option<Box<dyn Send + Sync>>,
    ) -> Result<http::Response<Body>, SendError> {
        let mut sender = match self.0.clone().ready().await {
            Ok(sender) => sender,
            Err(error) => {
                let status = errors::from_h2_error(error, "connection closed");
                return Err(SendError::Unsent(Box::new(request), status));
            }
        };
        let (parts, body) = request.into_parts();
        let mut head = http::Request::from_parts(parts, ());
        strip_connection_headers(head.headers_mut());
        let end = body.is_end_stream();
        // Once `send_request` has the head, the request is spent: a failure
        // here (the connection failing since `ready`) is not retried as
        // unsent.
        let (response, stream) = sender
            .send_request(head, end)
            .map_err(|e| SendError::Failed(errors::from_h2_error(e, "request not sent")))?;
        if !end {
            send_body(body, stream);
        }
        let response = response
            .await
            .map_err(|e| SendError::Failed(errors::from_h2_error(e, "no response")))?;
        Ok(response.map(|stream| Body::received(stream, guard)))
    }
}

/// Sends the request body: a one-frame body (a unary call's message) at
/// once, any other in a task of its own, since it runs beside the response.
fn send_body(mut body: Body, mut stream: h2::SendStream<Bytes>) {
    if let Some((data, trailers)) = body.take_once() {
        // h2 buffers what the window does not take yet.
        let sent = match trailers {
            None => stream.send_data(data, true),
            Some(trailers) => stream
                .send_data(data, false)
                .and_then(|()| stream.send_trailers(trailers)),
        };
        if let Err(error) = sent {
            tracing::debug!(%error, "request body not sent");
        }
        return;
    }
    tokio::spawn(async move {
        if let Err(error) = pipe(body, &mut stream).await {
            tracing::debug!(%error, "request body not sent");
        }
    });
}

/// Sends `body` on `stream` as the peer's flow-control window allows;
/// stops when the server resets the stream. A body that fails resets the
/// stream with `CANCEL`.
async fn pipe(mut body: Body, stream: &mut h2::SendStream<Bytes>) -> Result<(), h2::Error> {
    loop {
        let frame = std::future::poll_fn(|cx| {
            if let Poll::Ready(reset) = stream.poll_reset(cx) {
                return Poll::Ready(Err(reset));
            }
            Pin::new(&mut body).poll_frame(cx).map(Ok)
        })
        .await;
        let frame = match frame {
            Err(reset) => return reset.map(drop),
            Ok(None) => return stream.send_data(Bytes::new(), true),
            Ok(Some(Err(status))) => {
                tracing::debug!(%status, "request body failed: cancelling the stream");
                stream.send_reset(h2::Reason::CANCEL);
                return Ok(());
            }
            Ok(Some(Ok(frame))) => frame,
        };
        match frame.into_data() {
            Ok(mut data) => {
                while !data.is_empty() {
                    stream.reserve_capacity(data.len());
                    let granted = std::future::poll_fn(|cx| stream.poll_capacity(cx)).await;
                    let granted = match granted {
                        Some(granted) => granted?,
                        None => return Err(h2::Error::from(h2::Reason::STREAM_CLOSED)),
                    };
                    let chunk = data.split_to(granted.min(data.len()));
                    stream.send_data(chunk, false)?;
                }
            }
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    return stream.send_trailers(trailers);
                }
            }
        }
    }
}

/// HTTP/2 forbids connection-specific headers (RFC 9113 §8.2.2) and h2
/// refuses a request that has them: they are dropped, as hyper does.
fn strip_connection_headers(headers: &mut http::HeaderMap) {
    use http::header::{CONNECTION, TE, TRANSFER_ENCODING, UPGRADE};
    // One pass to see that there is nothing to do, the common case.
    let suspect = |(name, value): (&http::HeaderName, &http::HeaderValue)| {
        name == CONNECTION
            || name == TRANSFER_ENCODING
            || name == UPGRADE
            || (name == TE && value != "trailers")
            || name.as_str() == "keep-alive"
            || name.as_str() == "proxy-connection"
    };
    if !headers.iter().any(suspect) {
        return;
    }
    if headers.contains_key(CONNECTION) {
        // A `connection` header names more headers of its kind.
        let named: Vec<http::HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|name| http::HeaderName::try_from(name.trim()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
        headers.remove(CONNECTION);
    }
    for name in ["keep-alive", "proxy-connection"] {
        headers.remove(name);
    }
    headers.remove(TRANSFER_ENCODING);
    headers.remove(UPGRADE);
    if headers.get(TE).is_some_and(|te| te != "trailers") {
        headers.remove(TE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_headers_are_dropped() {
        let mut headers = http::HeaderMap::new();
        headers.insert("connection", "x-hop, keep-alive".parse().unwrap());
        headers.insert("x-hop", "1".parse().unwrap());
        headers.insert("keep-alive", "5".parse().unwrap());
        headers.insert("upgrade", "h2c".parse().unwrap());
        headers.insert("transfer-encoding", "chunked".parse().unwrap());
        headers.insert("te", "trailers".parse().unwrap());
        headers.insert("x-kept", "2".parse().unwrap());
        strip_connection_headers(&mut headers);
        let left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["te", "x-kept"]);
        let mut headers = http::HeaderMap::new();
        headers.insert("te", "gzip".parse().unwrap());
        strip_connection_headers(&mut headers);
        assert!(headers.is_empty());
    }
}
