//! Turning a stream of messages into body frames.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::HeaderMap;
use http_body::Frame;

use super::frame::{Codec, encode_into};
use super::metadata::Metadata;
use super::request::MessageCompression;
use super::status::Status;
use crate::message::Message;

pin_project_lite::pin_project! {
    /// Server side: messages, then trailers carrying the status.
    pub(crate) struct ResponseFrames<S> {
        #[pin]
        messages: S,
        codec: Codec,
        trailers: Option<Metadata>,
        deadline: Option<Pin<Box<tokio::time::Sleep>>>,
        finished: bool,
        per_message: Option<MessageCompression>,
        sent: usize,
        // Frames of the messages ready now, sent as one DATA frame.
        batch: BytesMut,
        // How the response ends, once known while a batch is still out.
        end: Option<Status>,
    }
}

impl<S> ResponseFrames<S> {
    pub(crate) fn new(
        messages: S,
        codec: Codec,
        trailers: Metadata,
        deadline: Option<tokio::time::Instant>,
    ) -> ResponseFrames<S> {
        ResponseFrames {
            messages,
            codec,
            trailers: Some(trailers),
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d))),
            finished: false,
            per_message: None,
            sent: 0,
            batch: BytesMut::new(),
            end: None,
        }
    }

    /// Compresses only the messages `policy` selects.
    pub(crate) fn with_message_compression(mut self, policy: Option<MessageCompression>) -> Self {
        self.per_message = policy;
        self
    }
}

/// The codec for message `index`: the call's, minus compression where the
/// per-message policy says no.
fn codec_for(codec: &Codec, policy: Option<&MessageCompression>, index: usize) -> Codec {
    match policy {
        Some(policy) if !policy.compress(index) => Codec {
            send: None,
            ..*codec
        },
        _ => *codec,
    }
}

/// The trailers frame ending a response with `status`.
pub(crate) fn status_trailers(status: &Status, extra: Option<Metadata>) -> Frame<Bytes> {
    let mut headers = HeaderMap::new();
    if let Some(extra) = extra {
        extra.write_to(&mut headers);
    }
    status.write_to(&mut headers);
    Frame::trailers(headers)
}

impl<S, M> Stream for ResponseFrames<S>
where
    S: Stream<Item = Result<M, Status>>,
    M: Message,
{
    type Item = Result<Frame<Bytes>, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if *this.finished {
            return Poll::Ready(None);
        }
        if let Some(deadline) = this.deadline
            && deadline.as_mut().poll(cx).is_ready()
        {
            *this.finished = true;
            let status = Status::deadline_exceeded("deadline exceeded");
            return Poll::Ready(Some(Ok(status_trailers(&status, this.trailers.take()))));
        }
        // Gather every message ready now into one DATA frame: per-frame
        // costs in h2 dominate small streamed messages otherwise.
        while this.end.is_none() && this.batch.len() < BATCH_LIMIT {
            // A panic in the handler's stream ends the call with a status,
            // as a panic in the handler itself does; the stream is not
            // polled again.
            let polled =
                std::panic::catch_unwind(AssertUnwindSafe(|| this.messages.as_mut().poll_next(cx)));
            let polled = polled.unwrap_or_else(|panic| {
                Poll::Ready(Some(Err(super::server::panic_status(panic.as_ref()))))
            });
            match polled {
                Poll::Ready(Some(Ok(message))) => {
                    let codec = codec_for(this.codec, this.per_message.as_ref(), *this.sent);
                    *this.sent += 1;
                    if let Err(status) = encode_into(&message, &codec, this.batch) {
                        *this.end = Some(status);
                    }
                }
                Poll::Ready(Some(Err(status))) => *this.end = Some(status),
                Poll::Ready(None) => *this.end = Some(Status::new(super::Code::Ok, "")),
                Poll::Pending if this.batch.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        if !this.batch.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(this.batch.split().freeze()))));
        }
        let status = this
            .end
            .take()
            .expect("the loop ends with a batch or an end");
        *this.finished = true;
        Poll::Ready(Some(Ok(status_trailers(&status, this.trailers.take()))))
    }
}

/// A DATA frame carries at most this much of a batch.
const BATCH_LIMIT: usize = 32 * 1024;

pin_project_lite::pin_project! {
    /// Client side: messages, and the end of the body ends the stream.
    pub(crate) struct RequestFrames<S> {
        #[pin]
        messages: S,
        codec: Codec,
        // Fires when the call's response side is dropped: the call is
        // cancelled, even if `messages` is still open.
        cancel: Option<tokio::sync::oneshot::Receiver<()>>,
        per_message: Option<MessageCompression>,
        sent: usize,
        batch: BytesMut,
        ended: bool,
    }
}

impl<S> RequestFrames<S> {
    /// The frames of `messages`, and the guard whose drop cancels them.
    pub(crate) fn new(
        messages: S,
        codec: Codec,
    ) -> (RequestFrames<S>, tokio::sync::oneshot::Sender<()>) {
        let (guard, cancel) = tokio::sync::oneshot::channel();
        let frames = RequestFrames {
            messages,
            codec,
            cancel: Some(cancel),
            per_message: None,
            sent: 0,
            batch: BytesMut::new(),
            ended: false,
        };
        (frames, guard)
    }

    /// Compresses only the messages `policy` selects.
    pub(crate) fn with_message_compression(mut self, policy: Option<MessageCompression>) -> Self {
        self.per_message = policy;
        self
    }
}

impl<S> Stream for RequestFrames<S>
where
    S: Stream,
    S::Item: Message,
{
    type Item = Result<Frame<Bytes>, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if let Some(cancel) = this.cancel
            && Pin::new(cancel).poll(cx).is_ready()
        {
            *this.cancel = None;
            // An error carrying CANCEL makes hyper reset the stream with
            // RST_STREAM(CANCEL): client cancellation (PROTOCOL-HTTP2.md).
            let reset = h2::Error::from(h2::Reason::CANCEL);
            let status = Status::from_error(super::Code::Cancelled, "the call was dropped", reset);
            return Poll::Ready(Some(Err(status)));
        }
        // As on the server: every message ready now goes in one DATA frame.
        let mut messages = this.messages;
        while !*this.ended && this.batch.len() < BATCH_LIMIT {
            match messages.as_mut().poll_next(cx) {
                Poll::Ready(Some(message)) => {
                    let codec = codec_for(this.codec, this.per_message.as_ref(), *this.sent);
                    *this.sent += 1;
                    if let Err(status) = encode_into(&message, &codec, this.batch) {
                        return Poll::Ready(Some(Err(status)));
                    }
                }
                Poll::Ready(None) => *this.ended = true,
                Poll::Pending if this.batch.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        if this.batch.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Ok(Frame::data(this.batch.split().freeze()))))
    }
}
