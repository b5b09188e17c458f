//! [`Request`] and [`Response`]: a message with its metadata.

use std::net::SocketAddr;
use std::time::Duration;

use futures_core::Stream;

use super::compression::Encoding;
use super::metadata::Metadata;

/// A request message (or stream of messages) with its metadata.
///
/// ```
/// use protocall::{Request, types::StringValue};
/// let mut request = Request::new(StringValue::from("hi"));
/// request.metadata_mut().insert("x-user", "ada").unwrap();
/// request.set_timeout(std::time::Duration::from_secs(2));
/// assert_eq!(request.get_ref().value, "hi");
/// ```
#[derive(Debug)]
pub struct Request<T> {
    metadata: Metadata,
    message: T,
    extensions: http::Extensions,
    timeout: Option<Duration>,
}

/// The peer address of a call, in a server request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// The deadline the client set (`grpc-timeout`), in a server request's
/// extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub tokio::time::Instant);

/// Which messages of a stream to compress, by index (0 = first): see
/// [`Request::set_message_compression`] and
/// [`Response::set_message_compression`].
#[derive(Clone)]
pub struct MessageCompression(pub(crate) std::sync::Arc<dyn Fn(usize) -> bool + Send + Sync>);

impl std::fmt::Debug for MessageCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MessageCompression")
    }
}

impl MessageCompression {
    pub(crate) fn compress(&self, index: usize) -> bool {
        (self.0)(index)
    }
}

/// Whether the message of a unary or client-streaming response arrived
/// compressed, in a client response's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseCompressed(pub bool);

/// Whether the request message of a unary or server-streaming call arrived
/// compressed, in a server request's extensions (for request streams, see
/// [`Streaming::last_message_compressed`](super::Streaming::last_message_compressed)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestCompressed(pub bool);

impl<T> Request<T> {
    /// A request with empty metadata.
    pub fn new(message: T) -> Request<T> {
        Request {
            metadata: Metadata::new(),
            message,
            extensions: http::Extensions::new(),
            timeout: None,
        }
    }

    pub(crate) fn from_parts(
        metadata: Metadata,
        extensions: http::Extensions,
        message: T,
    ) -> Request<T> {
        Request {
            metadata,
            message,
            extensions,
            timeout: None,
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the request.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// The metadata (request headers).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Extensions: typed values attached by interceptors and the server
    /// ([`RemoteAddr`], [`Deadline`]).
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// Extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// The peer's address (server side).
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.extensions.get::<RemoteAddr>().map(|a| a.0)
    }

    /// Time left before the client's deadline (server side).
    pub fn time_remaining(&self) -> Option<Duration> {
        self.extensions
            .get::<Deadline>()
            .map(|d| d.0.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// Sets the call's timeout (client side): sent as `grpc-timeout`, and
    /// enforced locally as well.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// Client side, streaming requests: compresses only the messages for
    /// which `compress(index)` is true (index 0 is the first message). The
    /// algorithm is the client's (`send_compressed`); without one, nothing
    /// is compressed.
    pub fn set_message_compression(
        &mut self,
        compress: impl Fn(usize) -> bool + Send + Sync + 'static,
    ) {
        self.extensions
            .insert(MessageCompression(std::sync::Arc::new(compress)));
    }

    /// The timeout set with [`Request::set_timeout`].
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Replaces the message, keeping metadata and extensions.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Request<U> {
        Request {
            metadata: self.metadata,
            message: f(self.message),
            extensions: self.extensions,
            timeout: self.timeout,
        }
    }

    pub(crate) fn into_parts(self) -> (Metadata, http::Extensions, Option<Duration>, T) {
        (self.metadata, self.extensions, self.timeout, self.message)
    }
}

/// Anything a client method accepts as a request: the message itself or a
/// [`Request`] around it.
pub trait IntoRequest<T> {
    /// Wraps `self` in a request.
    fn into_request(self) -> Request<T>;
}

impl<T: crate::Message> IntoRequest<T> for T {
    fn into_request(self) -> Request<T> {
        Request::new(self)
    }
}

impl<T> IntoRequest<T> for Request<T> {
    fn into_request(self) -> Request<T> {
        self
    }
}

/// Anything a client-streaming method accepts: a `Stream` of messages or a
/// [`Request`] around one.
pub trait IntoStreamingRequest {
    /// The stream of messages.
    type Stream: Stream<Item = Self::Message> + Send + 'static;
    /// The message type.
    type Message;
    /// Wraps `self` in a request.
    fn into_streaming_request(self) -> Request<Self::Stream>;
}

impl<S> IntoStreamingRequest for S
where
    S: Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        Request::new(self)
    }
}

impl<S> IntoStreamingRequest for Request<S>
where
    S: Stream + Send + 'static,
{
    type Stream = S;
    type Message = S::Item;

    fn into_streaming_request(self) -> Request<S> {
        self
    }
}

/// A response message (or stream) with its metadata.
///
/// ```
/// use protocall::{Response, types::StringValue};
/// let mut response = Response::new(StringValue::from("ok"));
/// response.metadata_mut().insert("x-served-by", "a").unwrap();
/// response.trailers_mut().insert("x-cost", "3").unwrap();
/// assert_eq!(response.into_inner().value, "ok");
/// ```
#[derive(Debug)]
pub struct Response<T> {
    metadata: Metadata,
    message: T,
    trailers: Metadata,
    extensions: http::Extensions,
    compression: Option<Option<Encoding>>,
}

impl<T> Response<T> {
    /// A response with empty metadata.
    pub fn new(message: T) -> Response<T> {
        Response {
            metadata: Metadata::new(),
            message,
            trailers: Metadata::new(),
            extensions: http::Extensions::new(),
            compression: None,
        }
    }

    pub(crate) fn from_parts(metadata: Metadata, message: T, trailers: Metadata) -> Response<T> {
        Response {
            metadata,
            message,
            trailers,
            extensions: http::Extensions::new(),
            compression: None,
        }
    }

    /// The message.
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the response.
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Leading metadata (response headers).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Leading metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Trailing metadata: sent after the last message (server side), or
    /// received with the status (client side, unary calls).
    pub fn trailers(&self) -> &Metadata {
        &self.trailers
    }

    /// Trailing metadata, mutably.
    pub fn trailers_mut(&mut self) -> &mut Metadata {
        &mut self.trailers
    }

    /// Extensions.
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// Extensions, mutably.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// Server side: compresses this response's messages with `encoding`
    /// (`None`: uncompressed), overriding the server default. Ignored if
    /// the client did not list the encoding in `grpc-accept-encoding`.
    pub fn set_compression(&mut self, encoding: Option<Encoding>) {
        self.compression = Some(encoding);
    }

    /// Server side, streaming responses: compresses only the messages for
    /// which `compress(index)` is true (index 0 is the first message), with
    /// the response's encoding ([`Response::set_compression`] or the
    /// server's default).
    ///
    /// ```
    /// use protocall::{Encoding, Response};
    /// let mut response = Response::new(());
    /// response.set_compression(Some(Encoding::Gzip));
    /// response.set_message_compression(|index| index == 0); // only the first
    /// ```
    pub fn set_message_compression(
        &mut self,
        compress: impl Fn(usize) -> bool + Send + Sync + 'static,
    ) {
        self.extensions
            .insert(MessageCompression(std::sync::Arc::new(compress)));
    }

    /// Client side, unary and client-streaming calls: whether the response
    /// message arrived compressed.
    pub fn message_compressed(&self) -> bool {
        self.extensions
            .get::<ResponseCompressed>()
            .is_some_and(|c| c.0)
    }

    pub(crate) fn compression(&self) -> Option<Option<Encoding>> {
        self.compression
    }

    /// Replaces the message, keeping metadata.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            metadata: self.metadata,
            message: f(self.message),
            trailers: self.trailers,
            extensions: self.extensions,
            compression: self.compression,
        }
    }

    pub(crate) fn into_parts(self) -> (Metadata, T, Metadata) {
        (self.metadata, self.message, self.trailers)
    }
}
