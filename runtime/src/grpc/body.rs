//! [`Body`]: the HTTP/2 body type of every gRPC request and response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::HeaderMap;
use http_body::{Frame, SizeHint};

use super::status::Status;

/// A boxed error, as tower and hyper pass them around.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Any HTTP body with `Bytes` data, boxed.
type BoxBody = Pin<Box<dyn http_body::Body<Data = Bytes, Error = Status> + Send>>;

/// A stream of body frames (data, then optionally trailers).
pub(crate) type FrameStream = Pin<Box<dyn Stream<Item = Result<Frame<Bytes>, Status>> + Send>>;

/// The body of a gRPC request or response as it crosses the HTTP/2 layer:
/// what tower layers around a [`Server`](crate::Server) see.
///
/// ```
/// use http_body::Body as _;
/// let body = protocall::Body::empty();
/// assert!(body.is_end_stream());
/// ```
pub struct Body {
    inner: Inner,
}

enum Inner {
    Empty,
    Once {
        data: Option<Bytes>,
        trailers: Option<HeaderMap>,
    },
    Stream(FrameStream),
    Incoming(hyper::body::Incoming),
    /// A response the client read from h2 itself; `data_done` once its
    /// DATA frames have ended (the trailers are next). `_guard` lives as
    /// long as the body (a call counted in flight on its connection).
    Received {
        stream: h2::RecvStream,
        data_done: bool,
        _guard: Option<Box<dyn Send + Sync>>,
    },
    Boxed(BoxBody),
}

impl Body {
    /// A body with no frames (a trailers-only response or an empty request).
    ///
    /// ```
    /// use http_body::Body as _;
    /// let request = http::Request::new(protocall::Body::empty());
    /// assert_eq!(request.body().size_hint().exact(), Some(0));
    /// ```
    pub fn empty() -> Body {
        Body {
            inner: Inner::Empty,
        }
    }

    /// Any HTTP body whose data is `Bytes`: what a request from another
    /// server framework (axum, hyper) or a custom client transport carries.
    /// A `protocall::Body` or hyper's `Incoming` is kept as it is, anything
    /// else boxed; body errors become `CANCELLED`/`UNAVAILABLE`/`INTERNAL`
    /// statuses as gRPC's HTTP/2 mapping says.
    ///
    /// ```
    /// use http_body::Body as _;
    /// let body = protocall::Body::new(http_body_util::Full::new(protocall::bytes::Bytes::from_static(b"hi")));
    /// assert!(!body.is_end_stream());
    /// ```
    pub fn new<B>(body: B) -> Body
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        // Known bodies need no box: try them first.
        let mut slot = Some(body);
        let any = &mut slot as &mut dyn std::any::Any;
        if let Some(body) = any.downcast_mut::<Option<Body>>() {
            return body.take().expect("set above");
        }
        if let Some(body) = any.downcast_mut::<Option<hyper::body::Incoming>>() {
            return Body::incoming(body.take().expect("set above"));
        }
        let body = slot.take().expect("set above");
        Body {
            inner: Inner::Boxed(Box::pin(http_body_util::BodyExt::map_err(body, |error| {
                super::errors::from_box(error.into())
            }))),
        }
    }

    /// One data frame, then optional trailers.
    pub(crate) fn once(data: Bytes, trailers: Option<HeaderMap>) -> Body {
        Body {
            inner: Inner::Once {
                data: Some(data),
                trailers,
            },
        }
    }

    /// The data of a one-frame body not yet read (a unary request).
    pub(crate) fn single_data(&self) -> Option<&Bytes> {
        match &self.inner {
            Inner::Once { data, .. } => data.as_ref(),
            _ => None,
        }
    }

    /// The data and trailers of a one-frame body not yet read, taken out
    /// (the body is then empty); `None` for any other body.
    pub(crate) fn take_once(&mut self) -> Option<(Bytes, Option<HeaderMap>)> {
        match std::mem::replace(&mut self.inner, Inner::Empty) {
            Inner::Once {
                data: Some(data),
                trailers,
            } => Some((data, trailers)),
            other => {
                self.inner = other;
                None
            }
        }
    }

    /// A response body received on an h2 stream, holding `guard` until it
    /// is dropped.
    pub(crate) fn received(stream: h2::RecvStream, guard: Option<Box<dyn Send + Sync>>) -> Body {
        Body {
            inner: Inner::Received {
                stream,
                data_done: false,
                _guard: guard,
            },
        }
    }

    /// Frames from a stream.
    pub(crate) fn from_stream(stream: FrameStream) -> Body {
        Body {
            inner: Inner::Stream(stream),
        }
    }

    /// A body received by hyper.
    pub(crate) fn incoming(body: hyper::body::Incoming) -> Body {
        Body {
            inner: Inner::Incoming(body),
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Empty => "empty",
            Inner::Once { .. } => "once",
            Inner::Stream(_) => "stream",
            Inner::Incoming(_) => "incoming",
            Inner::Received { .. } => "received",
            Inner::Boxed(_) => "boxed",
        };
        f.debug_tuple("Body").field(&kind).finish()
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match &mut self.inner {
            Inner::Empty => Poll::Ready(None),
            Inner::Once { data, trailers } => {
                if let Some(data) = data.take() {
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(trailers.take().map(|t| Ok(Frame::trailers(t))))
            }
            Inner::Stream(stream) => stream.as_mut().poll_next(cx),
            Inner::Incoming(body) => Pin::new(body)
                .poll_frame(cx)
                .map(|frame| frame.map(|result| result.map_err(super::errors::from_hyper))),
            Inner::Received {
                stream, data_done, ..
            } => poll_received(stream, data_done, cx),
            Inner::Boxed(body) => body.as_mut().poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Empty => true,
            Inner::Once { data, trailers } => data.is_none() && trailers.is_none(),
            Inner::Stream(_) => false,
            Inner::Incoming(body) => body.is_end_stream(),
            Inner::Received { stream, .. } => stream.is_end_stream(),
            Inner::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Inner::Empty => SizeHint::with_exact(0),
            // Not exact: an exact size makes hyper add `content-length`,
            // which gRPC does not use.
            Inner::Once { data, .. } => {
                let mut hint = SizeHint::new();
                hint.set_lower(data.as_ref().map_or(0, |d| d.len() as u64));
                hint
            }
            Inner::Stream(_) => SizeHint::default(),
            Inner::Incoming(body) => body.size_hint(),
            Inner::Received { .. } => SizeHint::default(),
            Inner::Boxed(body) => body.size_hint(),
        }
    }
}

/// The next frame of an h2 response: its DATA frames, each given back to
/// the flow-control window as it is read, then its trailers.
fn poll_received(
    stream: &mut h2::RecvStream,
    data_done: &mut bool,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
    let failed = |e| super::errors::from_h2_error(e, "response body failed");
    if !*data_done {
        match std::task::ready!(stream.poll_data(cx)) {
            Some(Ok(data)) => {
                // Releasing can fail only on a stream already closed.
                let _ = stream.flow_control().release_capacity(data.len());
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            Some(Err(error)) => return Poll::Ready(Some(Err(failed(error)))),
            None => *data_done = true,
        }
    }
    match std::task::ready!(stream.poll_trailers(cx)) {
        Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
        Ok(None) => Poll::Ready(None),
        Err(error) => Poll::Ready(Some(Err(failed(error)))),
    }
}

pin_project_lite::pin_project! {
    /// A body that holds `guard` until it is dropped: a call stays counted
    /// (in flight on a connection) as long as its response is being read.
    pub(crate) struct Guarded<G> {
        #[pin]
        body: Body,
        guard: G,
    }
}

impl<G: Send + 'static> Guarded<G> {
    /// `body`, holding `guard`.
    pub(crate) fn wrap(body: Body, guard: G) -> Body {
        Body::new(Guarded { body, guard })
    }
}

impl<G> http_body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
