//! [`Grpc`]: the four call kinds over any [`GrpcTransport`], used by
//! generated clients.

use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use http::{HeaderMap, HeaderValue, header};

use super::Channel;
use super::transport::GrpcTransport;
use crate::grpc::body::Body;
use crate::grpc::compression::{self, Encoding, SUPPORTED};
use crate::grpc::encode::RequestFrames;
use crate::grpc::errors;
use crate::grpc::frame::{Codec, FrameDecoder, encode};
use crate::grpc::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use crate::grpc::metadata::Metadata;
use crate::grpc::request::{Deadline, MessageCompression, Request, Response, ResponseCompressed};
use crate::grpc::server::Interceptor;
use crate::grpc::status::{Code, Status};
use crate::grpc::streaming::{Side, Streaming};
use crate::grpc::timeout;
use crate::grpc::web::client::UnaryCall;
use crate::message::Message;

/// A transport plus per-client call options: what every generated client
/// wraps. Cheap to clone; the transport is cloned for each call, so calls
/// take `&self` and run concurrently.
///
/// The transport is a [`Channel`] by default, or any tower `Service` of
/// HTTP requests — a `Channel` inside layers (timeouts, concurrency limits,
/// retries), or another HTTP/2 client entirely:
///
/// ```
/// # fn f(channel: protocall::Channel) {
/// use std::time::Duration;
/// use protocall::{client::Grpc, compression::Encoding};
/// let grpc = Grpc::new(channel.clone()).send_compressed(Encoding::Gzip).max_decoding_message_size(16 << 20);
/// let limited = Grpc::new(
///     tower::ServiceBuilder::new()
///         .concurrency_limit(64)
///         .timeout(Duration::from_secs(5))
///         .service(channel),
/// );
/// # let _ = (grpc, limited); }
/// ```
#[derive(Clone)]
pub struct Grpc<T = Channel> {
    transport: T,
    /// Scheme and authority put in front of each path (`None`: the
    /// transport fills them in, as a `Channel` does).
    origin: Option<(http::uri::Scheme, http::uri::Authority)>,
    codec: Codec,
    accept: Vec<Encoding>,
    /// `accept` as the `grpc-accept-encoding` value (`None`: empty).
    accept_header: Option<HeaderValue>,
    interceptors: Arc<[Arc<dyn Interceptor>]>,
}

impl<T> std::fmt::Debug for Grpc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc")
            .field("codec", &self.codec)
            .field("accept", &self.accept)
            .field("interceptors", &self.interceptors.len())
            .finish_non_exhaustive()
    }
}

impl<T> Grpc<T> {
    /// Calls over `transport` with the defaults: 4 MiB receive limit,
    /// uncompressed requests, every built-in encoding accepted.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(transport: T) -> Grpc<T> {
        Grpc {
            transport,
            origin: None,
            codec: Codec::default(),
            accept: SUPPORTED.to_vec(),
            accept_header: accept_header(SUPPORTED),
            interceptors: Arc::new([]),
        }
    }

    /// Calls over `transport`, sending absolute URIs under `origin`
    /// (`http://host:port`): for transports that, unlike [`Channel`], need
    /// the scheme and authority in each request.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let channel = Channel::connect_lazy("http://127.0.0.1:50051")?;
    /// let grpc = Grpc::with_origin(channel, "http://127.0.0.1:50051".parse().unwrap());
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn with_origin(transport: T, origin: http::Uri) -> Grpc<T> {
        let mut grpc = Grpc::new(transport);
        let parts = origin.into_parts();
        grpc.origin = parts.scheme.zip(parts.authority);
        grpc
    }

    /// Compresses request messages with `encoding`.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc, compression::Encoding};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).send_compressed(Encoding::Gzip);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn send_compressed(mut self, encoding: Encoding) -> Grpc<T> {
        self.codec.send = Some(encoding);
        self
    }

    /// The encodings accepted on responses (advertised in
    /// `grpc-accept-encoding`); those this build lacks are left out.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc, compression::Encoding};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).accept_compressed(&[Encoding::Gzip]);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn accept_compressed(mut self, encodings: &[Encoding]) -> Grpc<T> {
        self.accept = encodings
            .iter()
            .copied()
            .filter(|e| e.is_supported())
            .collect();
        self.accept_header = accept_header(&self.accept);
        self
    }

    /// Largest response message accepted (after decompression).
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).max_decoding_message_size(64 << 20);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn max_decoding_message_size(mut self, limit: usize) -> Grpc<T> {
        self.codec.max_decode = limit;
        self
    }

    /// The limits responses are decoded under (recursion limit, memory
    /// budget; [`DecodeOptions`](crate::DecodeOptions)), the defaults
    /// unless set.
    ///
    /// ```
    /// use protocall::{Channel, DecodeOptions, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?)
    ///     .decode_options(DecodeOptions::new().recursion_limit(32));
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn decode_options(mut self, options: crate::DecodeOptions) -> Grpc<T> {
        self.codec.decode = options;
        self
    }

    /// Largest request message sent.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).max_encoding_message_size(1 << 20);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn max_encoding_message_size(mut self, limit: usize) -> Grpc<T> {
        self.codec.max_encode = limit;
        self
    }

    /// Runs `interceptor` (after any earlier ones) on every call: it sees
    /// the call's metadata, extensions and timeout, may change them — e.g.
    /// add an authorization header fetched asynchronously — or fail the
    /// call with a status before anything is sent.
    ///
    /// ```
    /// use protocall::{Channel, Request, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?)
    ///     .with_interceptor(|mut request: Request<()>| async move {
    ///         request.metadata_mut().insert("authorization", "Bearer token").unwrap();
    ///         Ok(request)
    ///     });
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn with_interceptor(mut self, interceptor: impl Interceptor) -> Grpc<T> {
        let mut interceptors: Vec<Arc<dyn Interceptor>> = self.interceptors.to_vec();
        interceptors.push(Arc::new(interceptor));
        self.interceptors = interceptors.into();
        self
    }

    /// The transport.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?);
    /// let same_connection: Channel = grpc.transport().clone();
    /// # let _ = same_connection;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn transport(&self) -> &T {
        &self.transport
    }
}

impl<T: GrpcTransport> Grpc<T> {
    /// A unary call.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Channel, Request, client::Grpc};
    /// use protocall::health::{HealthCheckRequest, HealthCheckResponse, ServingStatus};
    /// // the health service is served on `uri`
    /// let grpc = Grpc::new(Channel::connect(&uri).await?);
    /// let mut request = Request::new(HealthCheckRequest::default());
    /// request.set_timeout(std::time::Duration::from_secs(1));
    /// let reply = grpc
    ///     .unary::<_, HealthCheckResponse>(request, "/grpc.health.v1.Health/Check")
    ///     .await?;
    /// assert_eq!(reply.into_inner().status, ServingStatus::Serving);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn unary<In, Out>(
        &self,
        request: Request<In>,
        path: &str,
    ) -> Result<Response<Out>, Status>
    where
        In: Message,
        Out: Message,
    {
        let (mut head, message) = split(request);
        let body = Body::once(encode(&message, &self.codec)?, None);
        head.extensions_mut().insert(UnaryCall {
            max_response: self.codec.max_decode,
        });
        let (metadata, mut stream) = self.call::<Out>(head, path, body).await?;
        single_response(metadata, &mut stream).await
    }

    /// A server-streaming call.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Channel, Request, client::Grpc};
    /// use protocall::health::{HealthCheckRequest, HealthCheckResponse, ServingStatus};
    /// // the health service is served on `uri`
    /// let grpc = Grpc::new(Channel::connect(&uri).await?);
    /// let request = Request::new(HealthCheckRequest::default());
    /// let mut updates = grpc
    ///     .server_streaming::<_, HealthCheckResponse>(request, "/grpc.health.v1.Health/Watch")
    ///     .await?
    ///     .into_inner();
    /// let first = updates.message().await?.unwrap();
    /// assert_eq!(first.status, ServingStatus::Serving);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn server_streaming<In, Out>(
        &self,
        request: Request<In>,
        path: &str,
    ) -> Result<Response<Streaming<Out>>, Status>
    where
        In: Message,
        Out: Message,
    {
        let (head, message) = split(request);
        let body = Body::once(encode(&message, &self.codec)?, None);
        let (metadata, stream) = self.call::<Out>(head, path, body).await?;
        Ok(Response::from_parts(metadata, stream, Metadata::new()))
    }

    /// A client-streaming call: `request` holds any `Stream` of messages.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, client_streaming};
    /// # use protocall::{Response, Streaming};
    /// # struct Counter;
    /// # impl NamedService for Counter { const NAME: &'static str = "demo.Counter"; }
    /// # impl GrpcService for Counter {
    /// #     fn call(&self, call: Call) -> ResponseFuture {
    /// #         client_streaming(call, |request: Request<Streaming<Int32Value>>| async move {
    /// #             let mut numbers = request.into_inner();
    /// #             let mut sum = 0;
    /// #             while let Some(n) = numbers.message().await? { sum += n.value; }
    /// #             Ok(Response::new(Int32Value::from(sum)))
    /// #         })
    /// #     }
    /// # }
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(Counter).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Channel, Request, client::Grpc, types::Int32Value};
    /// // a service summing the numbers it is sent is served on `uri`
    /// let grpc = Grpc::new(Channel::connect(&uri).await?);
    /// let numbers = tokio_stream::iter([1, 2, 3].map(Int32Value::from));
    /// let sum = grpc
    ///     .client_streaming::<_, _, Int32Value>(Request::new(numbers), "/demo.Counter/Sum")
    ///     .await?;
    /// assert_eq!(sum.into_inner().value, 6);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn client_streaming<S, In, Out>(
        &self,
        request: Request<S>,
        path: &str,
    ) -> Result<Response<Out>, Status>
    where
        S: Stream<Item = In> + Send + 'static,
        In: Message + 'static,
        Out: Message,
    {
        let (head, body, guard) = self.request_stream(request);
        let (metadata, mut stream) = self.call::<Out>(head, path, body).await?;
        // Dropping the call (or its end) cancels an open request stream.
        stream.cancel_on_drop(guard);
        single_response(metadata, &mut stream).await
    }

    /// A bidirectional-streaming call: requests are sent as the stream
    /// yields them while responses are read, concurrently.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(protocall::reflection::Builder::new().build_v1()).serve_with_listener(listener, std::future::pending()));
    /// use protocall::{Channel, Request, client::Grpc};
    /// use protocall::reflection::v1::{ServerReflectionRequest, ServerReflectionResponse};
    /// use protocall::reflection::v1::server_reflection_request::MessageRequest;
    /// // the reflection service is served on `uri`
    /// let grpc = Grpc::new(Channel::connect(&uri).await?);
    /// let list = ServerReflectionRequest {
    ///     message_request: Some(MessageRequest::ListServices(String::new())),
    ///     ..Default::default()
    /// };
    /// let requests = tokio_stream::iter([list.clone(), list]);
    /// let mut replies = grpc
    ///     .streaming::<_, _, ServerReflectionResponse>(
    ///         Request::new(requests),
    ///         "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    ///     )
    ///     .await?
    ///     .into_inner();
    /// let mut answers = 0;
    /// while replies.message().await?.is_some() {
    ///     answers += 1;
    /// }
    /// assert_eq!(answers, 2);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn streaming<S, In, Out>(
        &self,
        request: Request<S>,
        path: &str,
    ) -> Result<Response<Streaming<Out>>, Status>
    where
        S: Stream<Item = In> + Send + 'static,
        In: Message + 'static,
        Out: Message,
    {
        let (head, body, guard) = self.request_stream(request);
        let (metadata, mut stream) = self.call::<Out>(head, path, body).await?;
        // Dropping the response stream cancels the call, even while the
        // request stream is still open.
        stream.cancel_on_drop(guard);
        Ok(Response::from_parts(metadata, stream, Metadata::new()))
    }

    /// The frames of a request stream, and the guard whose drop cancels it.
    fn request_stream<S, In>(
        &self,
        request: Request<S>,
    ) -> (Request<()>, Body, tokio::sync::oneshot::Sender<()>)
    where
        S: Stream<Item = In> + Send + 'static,
        In: Message + 'static,
    {
        let (head, messages) = split(request);
        let per_message = head.extensions().get::<MessageCompression>().cloned();
        let (frames, guard) = RequestFrames::new(messages, self.codec);
        let frames = frames.with_message_compression(per_message);
        (head, Body::from_stream(Box::pin(frames)), guard)
    }

    /// The one call path of the four kinds: interceptors, the request head,
    /// the transport, the response head; the messages follow in the
    /// returned stream, which ends at the deadline.
    async fn call<Out>(
        &self,
        mut head: Request<()>,
        path: &str,
        body: Body,
    ) -> Result<(Metadata, Streaming<Out>), Status> {
        for interceptor in self.interceptors.iter() {
            head = interceptor.intercept(head).await?;
        }
        let (metadata, extensions, timeout, ()) = head.into_parts();
        let deadline = timeout.map(timeout::after);
        // Built in place: `http::request::Builder` moves its parts at
        // every step.
        let mut request = http::Request::new(body);
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.uri_for(path)?;
        *request.extensions_mut() = extensions;
        self.write_headers(request.headers_mut(), metadata, timeout);

        let mut transport = self.transport.clone();
        let send = async move {
            std::future::poll_fn(|cx| transport.poll_ready(cx))
                .await
                .map_err(|e| errors::from_box(e.into()))?;
            transport
                .call(request)
                .await
                .map_err(|e| errors::from_box(e.into()))
        };
        let response = match deadline {
            None => send.await?,
            Some(at) => tokio::time::timeout_at(at, send)
                .await
                .map_err(|_| Status::deadline_exceeded("deadline exceeded"))??,
        };
        let (parts, body) = response.into_parts();
        check_head(parts.status, &parts.headers)?;
        if let Some(status) = Status::from_headers(&parts.headers) {
            // Trailers-only: the status came with the headers.
            if status.code() != Code::Ok {
                return Err(status);
            }
            let trailers = Metadata::from_header_map(parts.headers);
            return Ok((Metadata::new(), Streaming::finished(trailers)));
        }
        let encoding = self.response_encoding(&parts.headers)?;
        // The method's service config may lower the limit.
        let max_decode = match parts.extensions.get::<super::limits::MaxResponse>() {
            Some(limit) => limit.0.min(self.codec.max_decode),
            None => self.codec.max_decode,
        };
        let decoder = FrameDecoder::new(encoding, max_decode).with_options(self.codec.decode);
        let mut stream = Streaming::new(Body::new(body), decoder, Side::Client);
        // The transport may have set a deadline of its own (a `Channel`'s
        // default timeout): the earlier one ends the stream.
        let transport_deadline = parts.extensions.get::<Deadline>().map(|d| d.0);
        if let Some(at) = deadline.into_iter().chain(transport_deadline).min() {
            stream.set_deadline(at);
        }
        Ok((Metadata::from_header_map(parts.headers), stream))
    }

    fn uri_for(&self, path: &str) -> Result<http::Uri, Status> {
        let mut parts = http::uri::Parts::default();
        if let Some((scheme, authority)) = &self.origin {
            parts.scheme = Some(scheme.clone());
            parts.authority = Some(authority.clone());
        }
        parts.path_and_query = Some(path.parse().map_err(|e| {
            Status::from_error(Code::Internal, format!("invalid method path {path:?}"), e)
        })?);
        http::Uri::from_parts(parts)
            .map_err(|e| Status::from_error(Code::Internal, format!("invalid path {path:?}"), e))
    }

    /// The gRPC request headers, after the call's metadata.
    fn write_headers(
        &self,
        headers: &mut HeaderMap,
        metadata: Metadata,
        timeout: Option<Duration>,
    ) {
        metadata.write_to(headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers
            .entry(header::USER_AGENT)
            .or_insert(HeaderValue::from_static(super::USER_AGENT));
        if let Some(accept) = &self.accept_header {
            headers.insert(GRPC_ACCEPT_ENCODING, accept.clone());
        }
        if let Some(encoding) = self.codec.send {
            headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
        }
        if let Some(timeout) = timeout {
            headers.insert(GRPC_TIMEOUT, timeout::header_value(timeout));
        }
    }

    /// The `grpc-encoding` of a response, which must be one we accept.
    fn response_encoding(&self, headers: &HeaderMap) -> Result<Option<Encoding>, Status> {
        match headers.get(GRPC_ENCODING).map(|v| v.to_str().unwrap_or("")) {
            None | Some("identity") => Ok(None),
            Some(name) => match Encoding::from_name(name).filter(|e| self.accept.contains(e)) {
                Some(encoding) => Ok(Some(encoding)),
                None => Err(Status::internal(format!(
                    "server used unsupported encoding {name:?}"
                ))),
            },
        }
    }
}

/// The `grpc-accept-encoding` value for `encodings`, if any.
fn accept_header(encodings: &[Encoding]) -> Option<HeaderValue> {
    (!encodings.is_empty()).then(|| compression::accept_value(encodings))
}

fn split<T>(request: Request<T>) -> (Request<()>, T) {
    let (metadata, extensions, timeout, message) = request.into_parts();
    let mut head = Request::from_parts(metadata, extensions, ());
    if let Some(timeout) = timeout {
        head.set_timeout(timeout);
    }
    (head, message)
}

/// Reads the one message of a unary or client-streaming response, then the
/// status. Another count of messages with an OK status is a cardinality
/// violation, `UNIMPLEMENTED` (statuscodes.md).
async fn single_response<Out: Message>(
    metadata: Metadata,
    stream: &mut Streaming<Out>,
) -> Result<Response<Out>, Status> {
    let message = stream.message().await?;
    let compressed = stream.last_message_compressed();
    if message.is_some() && stream.message().await?.is_some() {
        return Err(Status::unimplemented(
            "unary response has more than one message",
        ));
    }
    let trailers = stream.trailers().await?.unwrap_or_default();
    let message = message.ok_or_else(|| Status::unimplemented("response has no message"))?;
    let mut response = Response::from_parts(metadata, message, trailers);
    response
        .extensions_mut()
        .insert(ResponseCompressed(compressed));
    Ok(response)
}

/// The HTTP status and content type of a gRPC response.
fn check_head(status: http::StatusCode, headers: &HeaderMap) -> Result<(), Status> {
    if status != http::StatusCode::OK {
        if let Some(grpc) = Status::from_headers(headers)
            && grpc.code() != Code::Ok
        {
            return Err(grpc);
        }
        return Err(Status::new(
            Code::from_http(status),
            format!("HTTP status {status} from the server"),
        ));
    }
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"));
    if !grpc {
        return Err(Status::unknown(format!(
            "response content-type {:?} is not application/grpc",
            headers.get(header::CONTENT_TYPE)
        )));
    }
    Ok(())
}
