//! [`Grpc`]: the four call kinds on a [`Channel`], used by generated clients.

use crate::grpc::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use futures_core::Stream;
use http::{HeaderMap, HeaderValue, header};

use super::channel::Channel;
use crate::Message;
use crate::grpc::body::Body;
use crate::grpc::compression::{self, Encoding, SUPPORTED};
use crate::grpc::encode::RequestFrames;
use crate::grpc::frame::{Codec, FrameDecoder, encode};
use crate::grpc::metadata::Metadata;
use crate::grpc::request::{MessageCompression, Request, Response, ResponseCompressed};
use crate::grpc::status::{Code, Status};
use crate::grpc::streaming::{Side, Streaming};
use crate::grpc::timeout;

/// A channel plus per-client call options: what every generated client
/// wraps. Cheap to clone.
///
/// ```
/// # fn f(channel: protocall::Channel) {
/// use protocall::{Encoding, client::Grpc};
/// let grpc = Grpc::new(channel).send_compressed(Encoding::Gzip).max_decoding_message_size(16 << 20);
/// # let _ = grpc; }
/// ```
#[derive(Clone, Debug)]
pub struct Grpc {
    channel: Channel,
    codec: Codec,
    accept: Vec<Encoding>,
}

impl Grpc {
    /// Calls over `channel` with the defaults: 4 MiB receive limit,
    /// uncompressed requests, gzip and zstd accepted.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(channel: Channel) -> Grpc {
        Grpc {
            channel,
            codec: Codec::default(),
            accept: SUPPORTED.to_vec(),
        }
    }

    /// Compresses request messages with `encoding`.
    ///
    /// ```
    /// use protocall::{Channel, Encoding, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).send_compressed(Encoding::Zstd);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn send_compressed(mut self, encoding: Encoding) -> Grpc {
        self.codec.send = Some(encoding);
        self
    }

    /// The encodings accepted on responses (advertised in `grpc-accept-encoding`).
    ///
    /// ```
    /// use protocall::{Channel, Encoding, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?).accept_compressed(&[Encoding::Gzip]);
    /// # let _ = grpc;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn accept_compressed(mut self, encodings: &[Encoding]) -> Grpc {
        self.accept = encodings.to_vec();
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
    pub fn max_decoding_message_size(mut self, limit: usize) -> Grpc {
        self.codec.max_decode = limit;
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
    pub fn max_encoding_message_size(mut self, limit: usize) -> Grpc {
        self.codec.max_encode = limit;
        self
    }

    /// The channel.
    ///
    /// ```
    /// use protocall::{Channel, client::Grpc};
    /// let grpc = Grpc::new(Channel::connect_lazy("http://127.0.0.1:50051")?);
    /// let same_connection: Channel = grpc.channel().clone();
    /// # let _ = same_connection;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn channel(&self) -> &Channel {
        &self.channel
    }

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
        let (head, timeout, message) = split(request);
        let frame = encode(&message, &self.codec)?;
        let deadline = self.deadline(timeout);
        with_deadline(deadline, async {
            let (metadata, mut stream) = self
                .start::<Out>(head, path, Body::once(frame, None), deadline)
                .await?;
            single_response(metadata, &mut stream).await
        })
        .await
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
        let (head, timeout, message) = split(request);
        let frame = encode(&message, &self.codec)?;
        let deadline = self.deadline(timeout);
        let (metadata, stream) = with_deadline(
            deadline,
            self.start::<Out>(head, path, Body::once(frame, None), deadline),
        )
        .await?;
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
        let (head, timeout, messages) = split(request);
        let per_message = head.extensions().get::<MessageCompression>().cloned();
        let (frames, guard) = RequestFrames::new(messages, self.codec);
        let frames = frames.with_message_compression(per_message);
        let body = Body::from_stream(Box::pin(frames));
        let deadline = self.deadline(timeout);
        with_deadline(deadline, async {
            let (metadata, mut stream) = self.start::<Out>(head, path, body, deadline).await?;
            // Dropping the call (or its end) cancels an open request stream.
            stream.cancel_on_drop(guard);
            single_response(metadata, &mut stream).await
        })
        .await
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
        let (head, timeout, messages) = split(request);
        let per_message = head.extensions().get::<MessageCompression>().cloned();
        let (frames, guard) = RequestFrames::new(messages, self.codec);
        let frames = frames.with_message_compression(per_message);
        let body = Body::from_stream(Box::pin(frames));
        let deadline = self.deadline(timeout);
        let (metadata, mut stream) =
            with_deadline(deadline, self.start::<Out>(head, path, body, deadline)).await?;
        // Dropping the response stream cancels the call, even while the
        // request stream is still open.
        stream.cancel_on_drop(guard);
        Ok(Response::from_parts(metadata, stream, Metadata::new()))
    }

    fn deadline(&self, timeout: Option<std::time::Duration>) -> Option<tokio::time::Instant> {
        timeout
            .or(self.channel.endpoint().timeout)
            .map(|t| tokio::time::Instant::now() + t)
    }

    /// Sends the request and checks the response head; the messages follow
    /// in the returned stream.
    async fn start<Out>(
        &self,
        head: Request<()>,
        path: &str,
        body: Body,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(Metadata, Streaming<Out>), Status> {
        let mut head = head;
        for interceptor in self.channel.interceptors.iter() {
            head = interceptor.intercept(head).await?;
        }
        let (metadata, extensions, _, ()) = head.into_parts();
        let mut request = http::Request::post(self.channel.uri_for(path)?)
            .body(body)
            .map_err(|e| Status::from_error(Code::Internal, "cannot build request", e))?;
        *request.extensions_mut() = extensions;
        let headers = request.headers_mut();
        metadata.write_to(headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(
            header::USER_AGENT,
            self.channel.endpoint().user_agent.clone(),
        );
        if !self.accept.is_empty() {
            headers.insert(
                GRPC_ACCEPT_ENCODING,
                compression::accept_value(&self.accept),
            );
        }
        if let Some(encoding) = self.codec.send {
            headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let value = HeaderValue::from_str(&timeout::format(left)).expect("digits and a unit");
            headers.insert(GRPC_TIMEOUT, value);
        }

        let response = self.channel.send(request).await?;
        let (parts, body) = response.into_parts();
        check_head(parts.status, &parts.headers)?;
        if let Some(status) = Status::from_headers(&parts.headers) {
            // Trailers-only: the status came with the headers.
            if status.code() != Code::Ok {
                return Err(status);
            }
            return Ok((
                Metadata::new(),
                Streaming::finished(Metadata::from_header_map(parts.headers)),
            ));
        }
        let encoding = match parts
            .headers
            .get(GRPC_ENCODING)
            .map(|v| v.to_str().unwrap_or(""))
        {
            None | Some("identity") => None,
            Some(name) => match Encoding::from_name(name).filter(|e| self.accept.contains(e)) {
                Some(encoding) => Some(encoding),
                None => {
                    return Err(Status::internal(format!(
                        "server used unsupported encoding {name:?}"
                    )));
                }
            },
        };
        let decoder = FrameDecoder::new(encoding, self.codec.max_decode);
        let mut stream = Streaming::new(Body::incoming(body), decoder, Side::Client);
        if let Some(deadline) = deadline {
            stream.set_deadline(deadline);
        }
        Ok((Metadata::from_header_map(parts.headers), stream))
    }
}

fn split<T>(request: Request<T>) -> (Request<()>, Option<std::time::Duration>, T) {
    let (metadata, extensions, timeout, message) = request.into_parts();
    (
        Request::from_parts(metadata, extensions, ()),
        timeout,
        message,
    )
}

async fn with_deadline<T>(
    deadline: Option<tokio::time::Instant>,
    future: impl std::future::Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match deadline {
        None => future.await,
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .unwrap_or_else(|_| Err(Status::deadline_exceeded("deadline exceeded"))),
    }
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
        if let Some(grpc) = Status::from_headers(headers) {
            if grpc.code() != Code::Ok {
                return Err(grpc);
            }
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
