//! The four call kinds: one generic handler each. Generated dispatch code
//! calls these with a closure that invokes the user's trait method.

use crate::grpc::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_STATUS, GRPC_TIMEOUT};
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_core::Stream;
use futures_util::FutureExt as _;
use http::{HeaderMap, HeaderValue, header};

use super::service::{Call, ResponseFuture};
use crate::grpc::body::Body;
use crate::grpc::compression::{self, Encoding};
use crate::grpc::encode::ResponseFrames;
use crate::grpc::frame::{Codec, ConnectionBudget, FrameDecoder, encode};
use crate::grpc::metadata::Metadata;
use crate::grpc::request::{Deadline, MessageCompression, Request, RequestCompressed, Response};
use crate::grpc::status::{Code, Status};
use crate::grpc::streaming::{Side, Streaming};
use crate::grpc::timeout;
use crate::message::Message;

const GRPC_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/grpc");

/// What the handlers need to know of a call beyond its messages.
struct Context {
    /// Decompression of request messages.
    request_encoding: Option<Encoding>,
    /// Limits and the compression chosen for responses.
    codec: Codec,
    deadline: Option<tokio::time::Instant>,
    /// Encodings the client accepts for responses.
    client_accepts: Option<HeaderValue>,
}

impl Context {
    fn new(call: &Call) -> Result<Context, Box<Status>> {
        let headers = call.request.headers();
        let config = &call.config;
        let mut deadline = None;
        if let Some(value) = headers.get(GRPC_TIMEOUT) {
            let timeout =
                timeout::parse(value.as_bytes()).map_err(|e| Box::new(Status::internal(e)))?;
            deadline = Some(tokio::time::Instant::now() + timeout);
        }
        if let Some(limit) = config.timeout {
            let server_deadline = tokio::time::Instant::now() + limit;
            deadline = Some(deadline.map_or(server_deadline, |d| d.min(server_deadline)));
        }
        let request_encoding = match headers.get(GRPC_ENCODING).map(|v| v.to_str().unwrap_or("")) {
            None | Some("identity") => None,
            Some(name) => match Encoding::from_name(name).filter(|e| config.accept.contains(e)) {
                Some(encoding) => Some(encoding),
                None => {
                    return Err(Box::new(Status::unimplemented(format!(
                        "message encoding {name:?} is not supported"
                    ))));
                }
            },
        };
        let client_accepts = headers.get(GRPC_ACCEPT_ENCODING).cloned();
        let send = config
            .send
            .filter(|e| compression::accepts(client_accepts.as_ref(), *e));
        Ok(Context {
            request_encoding,
            codec: Codec {
                max_decode: config.max_decode,
                max_encode: config.max_encode,
                send,
                decode: config.decode,
            },
            deadline,
            client_accepts,
        })
    }

    /// The response codec, honouring a per-response compression choice.
    fn codec_for(&self, choice: Option<Option<Encoding>>) -> Codec {
        match choice {
            None => self.codec,
            Some(wanted) => Codec {
                send: wanted.filter(|e| compression::accepts(self.client_accepts.as_ref(), *e)),
                ..self.codec
            },
        }
    }

    /// A 200 response with the gRPC headers and `metadata`.
    fn response(&self, metadata: Metadata, codec: &Codec, body: Body) -> http::Response<Body> {
        // The metadata's own map becomes the headers: no copy.
        let mut headers = metadata.into_headers();
        headers.insert(header::CONTENT_TYPE, GRPC_CONTENT_TYPE);
        if let Some(encoding) = codec.send {
            headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
        }
        let mut response = http::Response::new(body);
        *response.headers_mut() = headers;
        response
    }
}

/// A trailers-only response carrying `status`.
pub(crate) fn status_response(
    status: &Status,
    accept: Option<&[Encoding]>,
) -> http::Response<Body> {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, GRPC_CONTENT_TYPE);
    if let Some(accept) = accept {
        headers.insert(GRPC_ACCEPT_ENCODING, compression::accept_value(accept));
    }
    status.write_to(&mut headers);
    let mut response = http::Response::new(Body::empty());
    *response.headers_mut() = headers;
    response
}

/// The `UNIMPLEMENTED` response for a method the service does not have.
pub(crate) fn unimplemented_response(call: &Call) -> http::Response<Body> {
    status_response(
        &Status::unimplemented(format!("method not found: {}", call.path())),
        None,
    )
}

/// Answers `UNIMPLEMENTED` for an unknown method of a known service.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Code, Request, types::StringValue};
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unimplemented};
///
/// struct Echo;
/// impl NamedService for Echo {
///     const NAME: &'static str = "demo.Echo";
/// }
/// impl GrpcService for Echo {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             _ => unimplemented(call),
///         }
///     }
/// }
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(Echo).serve_with_listener(listener, std::future::pending()));
/// // a Server with this service is listening on `uri`
/// let grpc = protocall::client::Grpc::new(protocall::Channel::connect(&uri).await?);
/// let request = Request::new(StringValue::from("hi"));
/// let status = grpc.unary::<_, StringValue>(request, "/demo.Echo/Shout").await.unwrap_err();
/// assert_eq!(status.code(), Code::Unimplemented);
/// # Ok(())
/// # }
/// ```
pub fn unimplemented(call: Call) -> ResponseFuture {
    Box::pin(async move { unimplemented_response(&call) })
}

/// Runs `future` under the call's deadline, turning a panic into `UNKNOWN`.
async fn guarded<T>(
    deadline: Option<tokio::time::Instant>,
    future: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let future = AssertUnwindSafe(future).catch_unwind();
    let result = match deadline {
        None => future.await,
        Some(deadline) => match tokio::time::timeout_at(deadline, future).await {
            Ok(result) => result,
            Err(_) => return Err(Status::deadline_exceeded("deadline exceeded")),
        },
    };
    result.unwrap_or_else(|panic| Err(panic_status(panic.as_ref())))
}

/// The status of a call whose handler (or its response stream) panicked,
/// logged once here.
pub(crate) fn panic_status(panic: &(dyn std::any::Any + Send)) -> Status {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "gRPC handler panicked");
    // statuscodes.md: an application that fails without returning a
    // status is UNKNOWN.
    Status::unknown("the handler panicked")
}

/// Splits the call into its metadata/extensions and a message stream.
fn open<In>(call: Call, context: &Context) -> (Metadata, http::Extensions, Streaming<In>) {
    let (parts, body) = call.request.into_parts();
    let mut decoder = FrameDecoder::new(context.request_encoding, context.codec.max_decode)
        .with_options(context.codec.decode);
    if let Some(budget) = parts.extensions.get::<ConnectionBudget>() {
        decoder = decoder.with_budget(budget.0.clone());
    }
    let mut extensions = parts.extensions;
    if let Some(deadline) = context.deadline {
        extensions.insert(Deadline(deadline));
    }
    (
        Metadata::from_header_map(parts.headers),
        extensions,
        Streaming::new(body, decoder, Side::Server),
    )
}

/// Reads the one message of a unary or server-streaming request; another
/// count is a cardinality violation, `UNIMPLEMENTED` (statuscodes.md).
async fn single<In: Message>(stream: &mut Streaming<In>) -> Result<In, Status> {
    let message = stream
        .message()
        .await?
        .ok_or_else(|| Status::unimplemented("request has no message"))?;
    if stream.message().await?.is_some() {
        return Err(Status::unimplemented(
            "unary request has more than one message",
        ));
    }
    Ok(message)
}

fn unary_response<Out: Message>(
    response: Response<Out>,
    context: &Context,
) -> http::Response<Body> {
    let codec = context.codec_for(response.compression());
    let (metadata, message, trailers) = response.into_parts();
    let frame = match encode(&message, &codec) {
        Ok(frame) => frame,
        Err(status) => return status_response(&status, None),
    };
    let mut trailer_headers = trailers.into_headers();
    trailer_headers.insert(GRPC_STATUS, HeaderValue::from_static("0"));
    context.response(metadata, &codec, Body::once(frame, Some(trailer_headers)))
}

fn streaming_response<S, Out>(response: Response<S>, context: &Context) -> http::Response<Body>
where
    S: Stream<Item = Result<Out, Status>> + Send + 'static,
    Out: Message + 'static,
{
    let codec = context.codec_for(response.compression());
    let per_message = response.extensions().get::<MessageCompression>().cloned();
    let (metadata, messages, trailers) = response.into_parts();
    let frames = ResponseFrames::new(messages, codec, trailers, context.deadline)
        .with_message_compression(per_message);
    context.response(metadata, &codec, Body::from_stream(Box::pin(frames)))
}

/// The response rejecting a call whose headers are unacceptable.
fn reject(call: &Call, status: &Status) -> http::Response<Body> {
    let accept = (status.code() == Code::Unimplemented).then_some(&call.config.accept[..]);
    status_response(status, accept)
}

/// One call, whatever its kind: `read` turns the request stream into the
/// handler's request, `respond` the handler's response into HTTP.
fn handle<In, Req, Resp, Read, ReadFut, F, Fut>(
    call: Call,
    read: Read,
    handler: F,
    respond: fn(Response<Resp>, &Context) -> http::Response<Body>,
) -> ResponseFuture
where
    In: Message + 'static,
    Read: FnOnce(Metadata, http::Extensions, Streaming<In>) -> ReadFut + Send + 'static,
    ReadFut: Future<Output = Result<Request<Req>, Status>> + Send,
    F: FnOnce(Request<Req>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<Resp>, Status>> + Send + 'static,
    Req: Send,
    Resp: Send + 'static,
{
    Box::pin(async move {
        let context = match Context::new(&call) {
            Ok(context) => context,
            Err(status) => return reject(&call, &status),
        };
        let (metadata, extensions, stream) = open::<In>(call, &context);
        let result = guarded(context.deadline, async move {
            handler(read(metadata, extensions, stream).await?).await
        })
        .await;
        match result {
            Ok(response) => respond(response, &context),
            Err(status) => status_response(&status, None),
        }
    })
}

/// The request of a unary or server-streaming call: its one message.
async fn read_single<In: Message>(
    metadata: Metadata,
    mut extensions: http::Extensions,
    mut stream: Streaming<In>,
) -> Result<Request<In>, Status> {
    let message = single(&mut stream).await?;
    extensions.insert(RequestCompressed(stream.last_message_compressed()));
    Ok(Request::from_parts(metadata, extensions, message))
}

/// The request of a client- or bidi-streaming call: the stream itself.
async fn read_stream<In>(
    metadata: Metadata,
    extensions: http::Extensions,
    stream: Streaming<In>,
) -> Result<Request<Streaming<In>>, Status> {
    Ok(Request::from_parts(metadata, extensions, stream))
}

/// Handles a unary call: one request message, one response message.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Request, Response, server::unary, types::StringValue};
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unimplemented};
///
/// struct Echo;
/// impl NamedService for Echo {
///     const NAME: &'static str = "demo.Echo";
/// }
/// impl GrpcService for Echo {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             "Say" => unary(call, |request: Request<StringValue>| async move {
///                 Ok(Response::new(request.into_inner()))
///             }),
///             _ => unimplemented(call),
///         }
///     }
/// }
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(Echo).serve_with_listener(listener, std::future::pending()));
/// // a Server with this service is listening on `uri`
/// let grpc = protocall::client::Grpc::new(protocall::Channel::connect(&uri).await?);
/// let request = Request::new(StringValue::from("hi"));
/// let reply = grpc.unary::<_, StringValue>(request, "/demo.Echo/Say").await?;
/// assert_eq!(reply.into_inner().value, "hi");
/// # Ok(())
/// # }
/// ```
pub fn unary<In, Out, F, Fut>(call: Call, handler: F) -> ResponseFuture
where
    In: Message + 'static,
    Out: Message + 'static,
    F: FnOnce(Request<In>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    handle(call, read_single::<In>, handler, unary_response::<Out>)
}

/// Handles a server-streaming call: one request message, a stream back.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Request, Response, server::server_streaming, types::Int32Value};
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unimplemented};
///
/// struct Counter;
/// impl NamedService for Counter {
///     const NAME: &'static str = "demo.Counter";
/// }
/// impl GrpcService for Counter {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             "CountTo" => server_streaming(call, |request: Request<Int32Value>| async move {
///                 let n = request.into_inner().value;
///                 Ok(Response::new(tokio_stream::iter((1..=n).map(|i| Ok(Int32Value::from(i))))))
///             }),
///             _ => unimplemented(call),
///         }
///     }
/// }
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(Counter).serve_with_listener(listener, std::future::pending()));
/// // a Server with this service is listening on `uri`
/// let grpc = protocall::client::Grpc::new(protocall::Channel::connect(&uri).await?);
/// let request = Request::new(Int32Value::from(3));
/// let mut numbers = grpc.server_streaming::<_, Int32Value>(request, "/demo.Counter/CountTo").await?.into_inner();
/// let mut got = Vec::new();
/// while let Some(number) = numbers.message().await? {
///     got.push(number.value);
/// }
/// assert_eq!(got, [1, 2, 3]);
/// # Ok(())
/// # }
/// ```
pub fn server_streaming<In, Out, S, F, Fut>(call: Call, handler: F) -> ResponseFuture
where
    In: Message + 'static,
    Out: Message + 'static,
    S: Stream<Item = Result<Out, Status>> + Send + 'static,
    F: FnOnce(Request<In>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    handle(
        call,
        read_single::<In>,
        handler,
        streaming_response::<S, Out>,
    )
}

/// Handles a client-streaming call: a stream of requests, one response.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Request, Response, Streaming, server::client_streaming, types::Int32Value};
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unimplemented};
///
/// struct Counter;
/// impl NamedService for Counter {
///     const NAME: &'static str = "demo.Counter";
/// }
/// impl GrpcService for Counter {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             "Sum" => client_streaming(call, |request: Request<Streaming<Int32Value>>| async move {
///                 let mut numbers = request.into_inner();
///                 let mut sum = 0;
///                 while let Some(number) = numbers.message().await? {
///                     sum += number.value;
///                 }
///                 Ok(Response::new(Int32Value::from(sum)))
///             }),
///             _ => unimplemented(call),
///         }
///     }
/// }
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(Counter).serve_with_listener(listener, std::future::pending()));
/// // a Server with this service is listening on `uri`
/// let grpc = protocall::client::Grpc::new(protocall::Channel::connect(&uri).await?);
/// let numbers = tokio_stream::iter([1, 2, 3].map(Int32Value::from));
/// let reply = grpc.client_streaming::<_, _, Int32Value>(Request::new(numbers), "/demo.Counter/Sum").await?;
/// assert_eq!(reply.into_inner().value, 6);
/// # Ok(())
/// # }
/// ```
pub fn client_streaming<In, Out, F, Fut>(call: Call, handler: F) -> ResponseFuture
where
    In: Message + 'static,
    Out: Message + 'static,
    F: FnOnce(Request<Streaming<In>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
{
    handle(call, read_stream::<In>, handler, unary_response::<Out>)
}

/// Handles a bidirectional-streaming call: streams both ways, concurrently.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Request, Response, Status, Streaming, server::streaming, types::Int32Value};
/// use tokio_stream::StreamExt;
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unimplemented};
///
/// struct Doubler;
/// impl NamedService for Doubler {
///     const NAME: &'static str = "demo.Doubler";
/// }
/// impl GrpcService for Doubler {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             "Double" => streaming(call, |request: Request<Streaming<Int32Value>>| async move {
///                 // each answer goes out as soon as its request arrives
///                 let doubled = request.into_inner().map(|n| n.map(|n| Int32Value::from(2 * n.value)));
///                 Ok(Response::new(doubled))
///             }),
///             _ => unimplemented(call),
///         }
///     }
/// }
/// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// # let uri = format!("http://{}", listener.local_addr()?);
/// # tokio::spawn(protocall::Server::builder().add_service(Doubler).serve_with_listener(listener, std::future::pending()));
/// // a Server with this service is listening on `uri`
/// let grpc = protocall::client::Grpc::new(protocall::Channel::connect(&uri).await?);
/// let numbers = tokio_stream::iter([1, 2, 3].map(Int32Value::from));
/// let replies = grpc.streaming::<_, _, Int32Value>(Request::new(numbers), "/demo.Doubler/Double").await?;
/// let doubled: Vec<i32> = replies.into_inner().map(|n| n.map(|n| n.value)).collect::<Result<_, Status>>().await?;
/// assert_eq!(doubled, [2, 4, 6]);
/// # Ok(())
/// # }
/// ```
pub fn streaming<In, Out, S, F, Fut>(call: Call, handler: F) -> ResponseFuture
where
    In: Message + 'static,
    Out: Message + 'static,
    S: Stream<Item = Result<Out, Status>> + Send + 'static,
    F: FnOnce(Request<Streaming<In>>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Response<S>, Status>> + Send + 'static,
{
    handle(
        call,
        read_stream::<In>,
        handler,
        streaming_response::<S, Out>,
    )
}
