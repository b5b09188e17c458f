//! [`Body`]: the HTTP/2 body type of every gRPC request and response.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http::HeaderMap;
use http_body::{Frame, SizeHint};

use super::status::Status;

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

    /// One data frame, then optional trailers.
    pub(crate) fn once(data: Bytes, trailers: Option<HeaderMap>) -> Body {
        Body {
            inner: Inner::Once {
                data: Some(data),
                trailers,
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
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Inner::Empty => true,
            Inner::Once { data, trailers } => data.is_none() && trailers.is_none(),
            Inner::Stream(_) => false,
            Inner::Incoming(body) => body.is_end_stream(),
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
        }
    }
}
