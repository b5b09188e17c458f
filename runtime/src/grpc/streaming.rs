//! [`Streaming`]: a stream of messages arriving over an HTTP/2 body.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use http_body::Body as _;

use super::body::Body;
use super::frame::{FrameDecoder, decode_message};
use super::metadata::Metadata;
use super::status::{Code, Status};
use crate::message::Message;

/// Which side of the call the stream is read on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    /// A server reading the request stream: the end of the body is the end.
    Server,
    /// A client reading the response stream: trailers carry the status.
    Client,
}

/// Messages arriving one by one: a client-streaming request on the server,
/// or a server-streaming response on the client. It is a
/// [`Stream`](futures_core::Stream) of `Result<T, Status>`; a failed call
/// ends with one `Err` carrying the status.
///
/// ```no_run
/// # async fn f(mut stream: protocall::Streaming<protocall::types::StringValue>) -> Result<(), protocall::Status> {
/// while let Some(message) = stream.message().await? {
///     println!("{}", message.value);
/// }
/// # Ok(()) }
/// ```
pub struct Streaming<T> {
    body: Body,
    decoder: FrameDecoder,
    side: Side,
    done: bool,
    /// Set once the status (from trailers or trailers-only headers) is known.
    status_seen: bool,
    trailers: Option<Metadata>,
    last_compressed: bool,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Client side: dropped with the stream, it cancels the request body.
    _cancel_guard: Option<tokio::sync::oneshot::Sender<()>>,
    _message: PhantomData<fn() -> T>,
}

impl<T> Streaming<T> {
    pub(crate) fn new(body: Body, decoder: FrameDecoder, side: Side) -> Streaming<T> {
        Streaming {
            body,
            decoder,
            side,
            done: false,
            status_seen: false,
            trailers: None,
            last_compressed: false,
            deadline: None,
            _cancel_guard: None,
            _message: PhantomData,
        }
    }

    /// A client stream whose status already arrived in the headers
    /// (trailers-only OK): it yields nothing.
    pub(crate) fn finished(trailers: Metadata) -> Streaming<T> {
        let mut stream = Streaming::new(Body::empty(), FrameDecoder::new(None, 0), Side::Client);
        stream.done = true;
        stream.status_seen = true;
        stream.trailers = Some(trailers);
        stream
    }

    /// Ends the stream with `DEADLINE_EXCEEDED` at `deadline`.
    pub(crate) fn set_deadline(&mut self, deadline: tokio::time::Instant) {
        self.deadline = Some(Box::pin(tokio::time::sleep_until(deadline)));
    }

    /// Cancels the call's request stream when this stream is dropped.
    pub(crate) fn cancel_on_drop(&mut self, guard: tokio::sync::oneshot::Sender<()>) {
        self._cancel_guard = Some(guard);
    }

    /// Whether the last message returned arrived compressed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::health::{HealthCheckRequest, health_client::HealthClient};
    /// // the health service is served on `uri`
    /// let client = HealthClient::connect(&uri).await?;
    /// let mut updates = client.watch(HealthCheckRequest::default()).await?.into_inner();
    /// updates.message().await?;
    /// assert!(!updates.last_message_compressed()); // the server sends uncompressed by default
    /// # Ok(())
    /// # }
    /// ```
    pub fn last_message_compressed(&self) -> bool {
        self.last_compressed
    }
}

impl<T: Message> Streaming<T> {
    /// The next message, `None` at the end, `Err` if the call failed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let (_reporter, health) = protocall::health::health_service();
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(health).serve_with_listener(listener, std::future::pending()));
    /// use protocall::health::{HealthCheckRequest, health_client::HealthClient};
    /// // the health service is served on `uri`
    /// let client = HealthClient::connect(&uri).await?;
    /// let mut updates = client.watch(HealthCheckRequest::default()).await?.into_inner();
    /// let first = updates.message().await?.expect("Watch answers at once");
    /// assert_eq!(first.status, protocall::health::ServingStatus::Serving);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }

    /// Trailing metadata (client side), once every message has been read.
    /// Messages not yet read are discarded.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// # let uri = format!("http://{}", listener.local_addr()?);
    /// # tokio::spawn(protocall::Server::builder().add_service(protocall::reflection::Builder::new().build_v1()).serve_with_listener(listener, std::future::pending()));
    /// use protocall::reflection::v1::{ServerReflectionRequest, server_reflection_client::ServerReflectionClient};
    /// // the reflection service is served on `uri`; its answers end with the requests
    /// let client = ServerReflectionClient::connect(&uri).await?;
    /// let requests = tokio_stream::iter([ServerReflectionRequest::default()]);
    /// let mut replies = client.server_reflection_info(requests).await?.into_inner();
    /// let trailers = replies.trailers().await?;
    /// assert!(trailers.is_some_and(|metadata| metadata.is_empty()));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn trailers(&mut self) -> Result<Option<Metadata>, Status> {
        while self.message().await?.is_some() {}
        Ok(self.trailers.take())
    }

    fn fail(&mut self, status: Status) -> Poll<Option<Result<T, Status>>> {
        self.done = true;
        Poll::Ready(Some(Err(status)))
    }
}

impl<T: Message> Stream for Streaming<T> {
    type Item = Result<T, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.decoder.next() {
                Ok(Some((payload, compressed))) => {
                    this.last_compressed = compressed;
                    return match decode_message::<T>(payload, this.decoder.options()) {
                        Ok(message) => Poll::Ready(Some(Ok(message))),
                        Err(status) => this.fail(status),
                    };
                }
                Ok(None) => {}
                Err(status) => return this.fail(status),
            }
            if let Some(deadline) = &mut this.deadline
                && deadline.as_mut().poll(cx).is_ready()
            {
                return this.fail(Status::deadline_exceeded(
                    "deadline exceeded while streaming",
                ));
            }
            match ready!(Pin::new(&mut this.body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.decoder.push(data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers()
                            && this.side == Side::Client
                        {
                            this.status_seen = true;
                            // An OK status needs no `Status` built (which
                            // copies the map): read the code alone first.
                            let code = trailers
                                .get(crate::grpc::headers::GRPC_STATUS)
                                .map(crate::grpc::status::parse_code);
                            if code == Some(Some(Code::Ok)) {
                                this.trailers = Some(Metadata::from_header_map(trailers));
                            } else {
                                let status = Status::from_headers(&trailers).unwrap_or_else(|| {
                                    Status::internal("trailers without grpc-status")
                                });
                                return this.fail(status);
                            }
                        }
                    }
                },
                Some(Err(status)) => {
                    let status = match this.side {
                        // The client went away: the call is cancelled,
                        // whatever the transport said.
                        Side::Server => Status::from_error(
                            Code::Cancelled,
                            "the client cancelled the call",
                            status,
                        ),
                        Side::Client => status,
                    };
                    return this.fail(status);
                }
                None => {
                    if this.decoder.has_partial() {
                        return this.fail(Status::internal("stream ended inside a message"));
                    }
                    if this.side == Side::Client && !this.status_seen {
                        return this.fail(Status::internal("stream ended without a grpc-status"));
                    }
                    this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("side", &self.side)
            .field("done", &self.done)
            .finish()
    }
}
