//! Wire taps: tower middleware around tonic's channel ([`ClientTap`]) and
//! server ([`ServerTapLayer`]) that watch a call's HTTP/2 body go by and
//! note what tonic does not tell its users (see the crate docs).
//!
//! A tap never changes a message: it reads the 5-byte gRPC message prefix
//! (compressed flag, length) of every message in the body, and the header
//! and trailer blocks, into the call's [`Wire`]. The server tap also
//! appends the echoed `x-grpc-test-echo-trailing-bin` to the trailers,
//! which tonic cannot do for a successful call.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use tower_layer::Layer;
use tower_service::Service;

use crate::ECHO_TRAILING;

/// What a tap saw of one call, shared between the tap and the code making
/// or serving the call.
///
/// On the client, put a `Wire` in the request's extensions
/// (`tonic::Request::extensions_mut`) and a [`ClientTap`] fills it in with
/// the response; on the server, a [`ServerTapLayer`] puts one in every
/// request's extensions, filled in as the request body arrives.
#[derive(Clone, Debug, Default)]
pub struct Wire(Arc<Mutex<Seen>>);

#[derive(Debug, Default)]
struct Seen {
    compressed: Vec<bool>,
    headers: Option<HeaderMap>,
    trailers: Option<HeaderMap>,
}

impl Wire {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        // A panic elsewhere cannot leave the record half-written.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The compressed flag of every message seen so far, in order.
    pub fn compressed_flags(&self) -> Vec<bool> {
        self.seen().compressed.clone()
    }

    /// The compressed flag of message `index` (0-based), once its prefix
    /// has gone by.
    pub fn compressed(&self, index: usize) -> Option<bool> {
        self.seen().compressed.get(index).copied()
    }

    /// The response's header block (its initial metadata), on the client.
    pub fn headers(&self) -> Option<HeaderMap> {
        self.seen().headers.clone()
    }

    /// The trailer block, once it has gone by.
    pub fn trailers(&self) -> Option<HeaderMap> {
        self.seen().trailers.clone()
    }
}

/// Splits a body's bytes into gRPC messages, whatever the chunking, and
/// notes each message's compressed flag.
#[derive(Debug, Default)]
struct Framing {
    prefix: [u8; 5],
    /// Bytes of `prefix` filled so far.
    filled: usize,
    /// Bytes of the current message still to skip.
    remaining: usize,
}

impl Framing {
    fn feed(&mut self, mut data: &[u8], wire: &Wire) {
        while !data.is_empty() {
            if self.remaining > 0 {
                let skip = self.remaining.min(data.len());
                self.remaining -= skip;
                data = &data[skip..];
                continue;
            }
            let take = (self.prefix.len() - self.filled).min(data.len());
            self.prefix[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled == self.prefix.len() {
                self.filled = 0;
                wire.seen().compressed.push(self.prefix[0] & 1 == 1);
                let [_, a, b, c, d] = self.prefix;
                self.remaining = u32::from_be_bytes([a, b, c, d]) as usize;
            }
        }
    }
}

/// A body passed through unchanged, noting its messages and trailers in a
/// [`Wire`], and adding `extra_trailers` to its trailers.
#[derive(Debug)]
pub struct TapBody<B> {
    inner: B,
    wire: Option<Wire>,
    framing: Framing,
    extra_trailers: Option<HeaderMap>,
    inner_done: bool,
}

impl<B> TapBody<B> {
    fn new(inner: B, wire: Option<Wire>, extra_trailers: Option<HeaderMap>) -> Self {
        TapBody {
            inner,
            wire,
            framing: Framing::default(),
            extra_trailers,
            inner_done: false,
        }
    }
}

impl<B> Body for TapBody<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if this.inner_done {
            // The inner body ended without trailers: send the extra ones.
            return Poll::Ready(this.extra_trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => {
                this.inner_done = true;
                return Poll::Ready(this.extra_trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
        };
        let frame = match frame.into_trailers() {
            Ok(mut trailers) => {
                if let Some(extra) = this.extra_trailers.take() {
                    trailers.extend(extra);
                }
                if let Some(wire) = &this.wire {
                    wire.seen().trailers = Some(trailers.clone());
                }
                Frame::trailers(trailers)
            }
            Err(frame) => {
                if let (Some(data), Some(wire)) = (frame.data_ref(), &this.wire) {
                    this.framing.feed(data, wire);
                }
                frame
            }
        };
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        (self.inner_done || self.inner.is_end_stream()) && self.extra_trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        if self.inner_done {
            SizeHint::with_exact(0)
        } else {
            self.inner.size_hint()
        }
    }
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Wraps a tonic channel: for a request carrying a [`Wire`] in its
/// extensions, notes the response's headers, the compressed flag of each
/// response message, and the trailers.
#[derive(Clone, Debug)]
pub struct ClientTap<S> {
    inner: S,
}

impl<S> ClientTap<S> {
    /// Taps `inner` (a `tonic::transport::Channel`).
    pub fn new(inner: S) -> Self {
        ClientTap { inner }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for ClientTap<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<TapBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let wire = request.extensions().get::<Wire>().cloned();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            if let Some(wire) = &wire {
                wire.seen().headers = Some(response.headers().clone());
            }
            Ok(response.map(|body| TapBody::new(body, wire, None)))
        })
    }
}

/// The server's tap, for `tonic::transport::Server::builder().layer(…)`:
/// see [`ServerTap`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerTapLayer;

impl<S> Layer<S> for ServerTapLayer {
    type Service = ServerTap<S>;

    fn layer(&self, inner: S) -> ServerTap<S> {
        ServerTap { inner }
    }
}

/// Puts a fresh [`Wire`] in every request's extensions and notes the
/// compressed flag of each request message in it as the body arrives, so a
/// handler that has received message `i` can ask `wire.compressed(i)`.
/// Echoes `x-grpc-test-echo-trailing-bin` in the trailers (in the headers
/// of a trailers-only response).
#[derive(Clone, Debug)]
pub struct ServerTap<S> {
    inner: S,
}

impl<S, ResBody> Service<http::Request<tonic::body::Body>> for ServerTap<S>
where
    S: Service<http::Request<tonic::body::Body>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<TapBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let wire = Wire::default();
        let echo: Option<HeaderValue> = request.headers().get(ECHO_TRAILING).cloned();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(wire.clone());
        let body = tonic::body::Body::new(TapBody::new(body, Some(wire), None));
        let response = self.inner.call(http::Request::from_parts(parts, body));
        Box::pin(async move {
            let mut response = response.await?;
            let mut extra = None;
            if let Some(value) = echo {
                if response.headers().contains_key("grpc-status") {
                    // Trailers-only: the headers are the trailers.
                    response.headers_mut().insert(ECHO_TRAILING, value);
                } else {
                    let mut trailers = HeaderMap::new();
                    trailers.insert(ECHO_TRAILING, value);
                    extra = Some(trailers);
                }
            }
            Ok(response.map(|body| TapBody::new(body, None, extra)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(compressed: bool, len: usize) -> Vec<u8> {
        let mut bytes = vec![u8::from(compressed)];
        bytes.extend_from_slice(&(len as u32).to_be_bytes());
        bytes.resize(5 + len, 7);
        bytes
    }

    #[test]
    fn framing_finds_every_prefix_whatever_the_chunking() {
        let mut body = message(true, 300);
        body.extend(message(false, 0));
        body.extend(message(false, 1));
        body.extend(message(true, 70_000));
        for chunk in [1, 2, 3, 5, 7, 64, 1 << 20] {
            let wire = Wire::default();
            let mut framing = Framing::default();
            for piece in body.chunks(chunk) {
                framing.feed(piece, &wire);
            }
            assert_eq!(
                wire.compressed_flags(),
                [true, false, false, true],
                "chunk {chunk}"
            );
            assert_eq!((framing.filled, framing.remaining), (0, 0));
        }
    }
}
