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
///
/// ```
/// use protocall::{extensions::RemoteAddr, Request};
/// let mut request = Request::new(());
/// assert_eq!(request.remote_addr(), None); // set by the server on incoming calls
/// let peer = "10.0.0.7:40000".parse().unwrap();
/// request.extensions_mut().insert(RemoteAddr(peer));
/// assert_eq!(request.remote_addr(), Some(peer));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Marks a client call carrying credentials that must not cross a
/// plaintext connection: a [`Channel`](crate::Channel) without TLS refuses
/// to send it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TransportSecurityRequired;

/// Client side: whether a call waits for a ready connection instead of
/// failing fast with `UNAVAILABLE` while none can be made (gRPC's
/// wait-for-ready), set with [`Request::set_wait_for_ready`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaitForReady(pub(crate) bool);

/// The deadline the client set (`grpc-timeout`), in a server request's
/// extensions.
///
/// ```
/// use std::time::Duration;
/// use protocall::{extensions::Deadline, Request};
/// let mut request = Request::new(());
/// let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
/// request.extensions_mut().insert(Deadline(deadline)); // what the server does
/// assert!(request.time_remaining().unwrap() <= Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(pub tokio::time::Instant);

/// Which messages of a stream to compress, by index (0 = first): see
/// [`Request::set_message_compression`] and
/// [`Response::set_message_compression`].
///
/// ```
/// use protocall::{compression::MessageCompression, Request};
/// let mut request = Request::new(());
/// request.set_message_compression(|index| index % 2 == 0);
/// assert!(request.extensions().get::<MessageCompression>().is_some());
/// ```
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
///
/// ```
/// use protocall::{Response, compression::ResponseCompressed};
/// let mut response = Response::new(());
/// response.extensions_mut().insert(ResponseCompressed(true)); // what the client does
/// assert!(response.message_compressed());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseCompressed(pub bool);

/// Whether the request message of a unary or server-streaming call arrived
/// compressed, in a server request's extensions (for request streams, see
/// [`Streaming::last_message_compressed`](super::Streaming::last_message_compressed)).
///
/// ```
/// use protocall::{Request, compression::RequestCompressed, Response, Status, types::StringValue};
/// async fn handler(request: Request<StringValue>) -> Result<Response<StringValue>, Status> {
///     let compressed = request.extensions().get::<RequestCompressed>().is_some_and(|c| c.0);
///     Ok(Response::new(StringValue::from(format!("compressed: {compressed}"))))
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestCompressed(pub bool);

impl<T> Request<T> {
    /// A request with empty metadata.
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let request = Request::new(StringValue::from("hi"));
    /// assert!(request.metadata().is_empty());
    /// ```
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
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let request = Request::new(StringValue::from("hi"));
    /// assert_eq!(request.get_ref().value, "hi");
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let mut request = Request::new(StringValue::from("hi"));
    /// request.get_mut().value.push('!');
    /// assert_eq!(request.get_ref().value, "hi!");
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the request.
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let message = Request::new(StringValue::from("hi")).into_inner();
    /// assert_eq!(message.value, "hi");
    /// ```
    pub fn into_inner(self) -> T {
        self.message
    }

    /// The metadata (request headers).
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let request = Request::new(StringValue::from("hi"));
    /// assert_eq!(request.metadata().get("x-user"), None);
    /// ```
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The metadata, mutably.
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let mut request = Request::new(StringValue::from("hi"));
    /// request.metadata_mut().insert("authorization", "Bearer secret").unwrap();
    /// assert_eq!(request.metadata().get("authorization"), Some("Bearer secret"));
    /// ```
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Extensions: typed values attached by interceptors and the server
    /// ([`RemoteAddr`], [`Deadline`]).
    ///
    /// ```
    /// use protocall::Request;
    /// #[derive(Clone)]
    /// struct User(String);
    /// let mut request = Request::new(());
    /// request.extensions_mut().insert(User("ada".into())); // e.g. in an interceptor
    /// assert_eq!(request.extensions().get::<User>().unwrap().0, "ada");
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// Extensions, mutably.
    ///
    /// ```
    /// use protocall::Request;
    /// let mut request = Request::new(());
    /// request.extensions_mut().insert(42u32);
    /// assert_eq!(request.extensions().get::<u32>(), Some(&42));
    /// ```
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// The peer's address (server side).
    ///
    /// ```
    /// use protocall::{Request, Response, Status};
    /// async fn handler(request: Request<()>) -> Result<Response<()>, Status> {
    ///     if let Some(peer) = request.remote_addr() {
    ///         println!("call from {peer}");
    ///     }
    ///     Ok(Response::new(()))
    /// }
    /// ```
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.extensions.get::<RemoteAddr>().map(|a| a.0)
    }

    /// Time left before the client's deadline (server side).
    ///
    /// ```
    /// use protocall::{Request, Response, Status};
    /// async fn handler(request: Request<()>) -> Result<Response<()>, Status> {
    ///     if request.time_remaining().is_some_and(|left| left.as_millis() < 10) {
    ///         return Err(Status::deadline_exceeded("no time left to start"));
    ///     }
    ///     Ok(Response::new(()))
    /// }
    /// ```
    pub fn time_remaining(&self) -> Option<Duration> {
        self.extensions
            .get::<Deadline>()
            .map(|d| d.0.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// Sets the call's timeout (client side): sent as `grpc-timeout`, and
    /// enforced locally as well.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::{Request, types::StringValue};
    /// let mut request = Request::new(StringValue::from("hi"));
    /// request.set_timeout(Duration::from_millis(250));
    /// assert_eq!(request.timeout(), Some(Duration::from_millis(250)));
    /// ```
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = Some(timeout);
    }

    /// Client side: with `true`, the call waits (until its deadline) for
    /// the channel to connect instead of failing with `UNAVAILABLE` when no
    /// server can be reached now — for a server that is starting, or a
    /// fleet being replaced. Overrides the service config's `waitForReady`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::{Request, types::StringValue};
    /// let mut request = Request::new(StringValue::from("hi"));
    /// request.set_wait_for_ready(true);
    /// request.set_timeout(Duration::from_secs(5)); // how long it may wait
    /// ```
    pub fn set_wait_for_ready(&mut self, wait: bool) {
        self.extensions.insert(WaitForReady(wait));
    }

    /// Client side, streaming requests: compresses only the messages for
    /// which `compress(index)` is true (index 0 is the first message). The
    /// algorithm is the client's (`send_compressed`); without one, nothing
    /// is compressed.
    ///
    /// ```
    /// use protocall::{Request, server::Stream, types::StringValue};
    /// fn only_first<S: Stream<Item = StringValue>>(messages: S) -> Request<S> {
    ///     let mut request = Request::new(messages);
    ///     request.set_message_compression(|index| index == 0);
    ///     request
    /// }
    /// ```
    pub fn set_message_compression(
        &mut self,
        compress: impl Fn(usize) -> bool + Send + Sync + 'static,
    ) {
        self.extensions
            .insert(MessageCompression(std::sync::Arc::new(compress)));
    }

    /// The timeout set with [`Request::set_timeout`].
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// assert_eq!(Request::new(StringValue::from("hi")).timeout(), None);
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Replaces the message, keeping metadata and extensions.
    ///
    /// ```
    /// use protocall::{Request, types::StringValue};
    /// let mut request = Request::new("hi");
    /// request.metadata_mut().insert("x-user", "ada").unwrap();
    /// let request = request.map(StringValue::from);
    /// assert_eq!(request.get_ref().value, "hi");
    /// assert_eq!(request.metadata().get("x-user"), Some("ada"));
    /// ```
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
///
/// ```
/// use protocall::{client::IntoRequest, Request, types::StringValue};
/// fn send(request: impl IntoRequest<StringValue>) -> Request<StringValue> {
///     request.into_request()
/// }
/// send(StringValue::from("bare message"));
/// send(Request::new(StringValue::from("with metadata")));
/// ```
pub trait IntoRequest<T> {
    /// Wraps `self` in a request.
    ///
    /// ```
    /// use protocall::{client::IntoRequest, Request, types::StringValue};
    /// let request: Request<StringValue> = StringValue::from("hi").into_request();
    /// assert!(request.metadata().is_empty());
    /// ```
    fn into_request(self) -> Request<T>;
}

impl<T: crate::message::Message> IntoRequest<T> for T {
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
///
/// ```
/// use protocall::{client::IntoStreamingRequest, Request, types::StringValue};
/// fn send<R: IntoStreamingRequest<Message = StringValue>>(requests: R) -> Request<R::Stream> {
///     requests.into_streaming_request()
/// }
/// let messages = tokio_stream::iter(vec![StringValue::from("a"), StringValue::from("b")]);
/// let request = send(messages);
/// assert!(request.metadata().is_empty());
/// ```
pub trait IntoStreamingRequest {
    /// The stream of messages.
    ///
    /// ```
    /// use protocall::client::IntoStreamingRequest;
    /// fn stream_of<R: IntoStreamingRequest>(requests: R) -> R::Stream {
    ///     requests.into_streaming_request().into_inner()
    /// }
    /// let _stream = stream_of(tokio_stream::iter([1, 2, 3]));
    /// ```
    type Stream: Stream<Item = Self::Message> + Send + 'static;
    /// The message type.
    ///
    /// ```
    /// use protocall::{client::IntoStreamingRequest, types::StringValue};
    /// fn check<R: IntoStreamingRequest<Message = StringValue>>(_: R) {}
    /// check(tokio_stream::iter([StringValue::from("a")]));
    /// ```
    type Message;
    /// Wraps `self` in a request.
    ///
    /// ```
    /// use std::time::Duration;
    /// use protocall::{client::IntoStreamingRequest, Request};
    /// let mut request = Request::new(tokio_stream::iter([1, 2, 3]));
    /// request.set_timeout(Duration::from_secs(1));
    /// // a Request is passed through as it is, its timeout kept
    /// assert_eq!(request.into_streaming_request().timeout(), Some(Duration::from_secs(1)));
    /// ```
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
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let response = Response::new(StringValue::from("ok"));
    /// assert!(response.metadata().is_empty() && response.trailers().is_empty());
    /// ```
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
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let response = Response::new(StringValue::from("ok"));
    /// assert_eq!(response.get_ref().value, "ok");
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.message
    }

    /// The message, mutably.
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let mut response = Response::new(StringValue::from("ok"));
    /// response.get_mut().value = "fine".into();
    /// assert_eq!(response.get_ref().value, "fine");
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.message
    }

    /// The message, consuming the response.
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// assert_eq!(Response::new(StringValue::from("ok")).into_inner().value, "ok");
    /// ```
    pub fn into_inner(self) -> T {
        self.message
    }

    /// Leading metadata (response headers).
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// assert_eq!(Response::new(StringValue::from("ok")).metadata().get("x-served-by"), None);
    /// ```
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Leading metadata, mutably.
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let mut response = Response::new(StringValue::from("ok"));
    /// response.metadata_mut().insert("x-served-by", "a").unwrap();
    /// assert_eq!(response.metadata().get("x-served-by"), Some("a"));
    /// ```
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.metadata
    }

    /// Trailing metadata: sent after the last message (server side), or
    /// received with the status (client side, unary calls).
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// assert!(Response::new(StringValue::from("ok")).trailers().is_empty());
    /// ```
    pub fn trailers(&self) -> &Metadata {
        &self.trailers
    }

    /// Trailing metadata, mutably.
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let mut response = Response::new(StringValue::from("ok"));
    /// response.trailers_mut().insert("x-cost", "3").unwrap();
    /// assert_eq!(response.trailers().get("x-cost"), Some("3"));
    /// ```
    pub fn trailers_mut(&mut self) -> &mut Metadata {
        &mut self.trailers
    }

    /// Extensions.
    ///
    /// ```
    /// use protocall::Response;
    /// assert!(Response::new(()).extensions().get::<u32>().is_none());
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.extensions
    }

    /// Extensions, mutably.
    ///
    /// ```
    /// use protocall::Response;
    /// let mut response = Response::new(());
    /// response.extensions_mut().insert(7u32);
    /// assert_eq!(response.extensions().get::<u32>(), Some(&7));
    /// ```
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.extensions
    }

    /// Server side: compresses this response's messages with `encoding`
    /// (`None`: uncompressed), overriding the server default. Ignored if
    /// the client did not list the encoding in `grpc-accept-encoding`.
    ///
    /// ```
    /// use protocall::{compression::Encoding, Response, Status, types::BytesValue};
    /// async fn handler() -> Result<Response<BytesValue>, Status> {
    ///     let mut response = Response::new(BytesValue::from(vec![0; 1 << 20]));
    ///     response.set_compression(Some(Encoding::Zstd)); // large and compressible
    ///     Ok(response)
    /// }
    /// ```
    pub fn set_compression(&mut self, encoding: Option<Encoding>) {
        self.compression = Some(encoding);
    }

    /// Server side, streaming responses: compresses only the messages for
    /// which `compress(index)` is true (index 0 is the first message), with
    /// the response's encoding ([`Response::set_compression`] or the
    /// server's default).
    ///
    /// ```
    /// use protocall::{compression::Encoding, Response};
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
    ///
    /// ```
    /// use protocall::Response;
    /// assert!(!Response::new(()).message_compressed()); // not received over the wire
    /// ```
    pub fn message_compressed(&self) -> bool {
        self.extensions
            .get::<ResponseCompressed>()
            .is_some_and(|c| c.0)
    }

    pub(crate) fn compression(&self) -> Option<Option<Encoding>> {
        self.compression
    }

    /// Replaces the message, keeping metadata.
    ///
    /// ```
    /// use protocall::{Response, types::StringValue};
    /// let mut response = Response::new("ok");
    /// response.trailers_mut().insert("x-cost", "3").unwrap();
    /// let response = response.map(StringValue::from);
    /// assert_eq!(response.get_ref().value, "ok");
    /// assert_eq!(response.trailers().get("x-cost"), Some("3"));
    /// ```
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
