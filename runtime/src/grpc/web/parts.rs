//! Reading a gRPC response as messages and a final status, and writing it
//! back as a gRPC (JSON codec), gRPC-Web or Connect stream.

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt as _;

use super::{Wire, connect, frame, grpc_web, transcode};
use crate::grpc::body::Body;
use crate::grpc::compression::Encoding;
use crate::grpc::headers::{
    GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS,
};
use crate::grpc::status::Status;
use crate::reflect::MessageDescriptor;

/// What a gRPC response carries, in order.
pub(super) enum Event {
    /// A response message, as it goes on the wire (compressed or not).
    Message { compressed: bool, payload: Bytes },
    /// The end: the status and the trailers it came in (metadata).
    End { status: Status, trailers: HeaderMap },
}

/// The messages of a gRPC response body, transcoded to JSON when the call
/// uses the JSON codec.
pub(super) struct Messages {
    body: Body,
    buf: BytesMut,
    /// The status of a trailers-only response, and its metadata (all of
    /// it trailing: a trailers-only response is its trailers).
    early: Option<(Status, HeaderMap)>,
    done: bool,
    /// The JSON output type, and the encoding of compressed messages.
    json: Option<(MessageDescriptor, Option<Encoding>)>,
}

impl Messages {
    /// Reads `body`; `head` loses the status headers of a trailers-only
    /// response (they come back as the [`Event::End`]) and, for JSON, gets
    /// the `grpc-encoding` this side compresses with.
    pub(super) fn new(
        head: &mut http::response::Parts,
        body: Body,
        output: Option<MessageDescriptor>,
    ) -> Messages {
        let early = take_status(&mut head.headers).map(|status| {
            let names: Vec<_> = super::custom_metadata(&head.headers)
                .map(|(name, _)| name.clone())
                .collect();
            let mut trailers = HeaderMap::new();
            for name in names {
                for value in head.headers.get_all(&name) {
                    trailers.append(name.clone(), value.clone());
                }
                head.headers.remove(&name);
            }
            (status, trailers)
        });
        let encoding = head
            .headers
            .get(GRPC_ENCODING)
            .and_then(|v| v.to_str().ok())
            .and_then(Encoding::from_name);
        let json = output.map(|output| (output, encoding));
        Messages {
            body,
            buf: BytesMut::new(),
            early,
            done: false,
            json,
        }
    }

    /// The next event; `None` after the end.
    pub(super) async fn next(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            if let Some((flag, payload)) = split_frame(&mut self.buf) {
                return Some(self.message(flag & 1 == 1, payload));
            }
            match self.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.buf.extend_from_slice(&data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            let status = Status::from_headers(&trailers).unwrap_or_else(|| {
                                Status::internal("the response ended without a grpc-status")
                            });
                            return Some(self.end(status, trailers));
                        }
                    }
                },
                Some(Err(status)) => return Some(self.end(status, HeaderMap::new())),
                None => {
                    let (status, trailers) = self.early.take().unwrap_or_else(|| {
                        let status = Status::internal("the response ended without a grpc-status");
                        (status, HeaderMap::new())
                    });
                    return Some(self.end(status, trailers));
                }
            }
        }
    }

    /// The end; the status's own metadata is dropped, as `trailers` holds
    /// it (written once, not twice).
    fn end(&mut self, mut status: Status, trailers: HeaderMap) -> Event {
        self.done = true;
        *status.metadata_mut() = crate::grpc::metadata::Metadata::new();
        Event::End { status, trailers }
    }

    fn message(&mut self, compressed: bool, payload: Bytes) -> Event {
        let Some((output, encoding)) = &self.json else {
            return Event::Message {
                compressed,
                payload,
            };
        };
        // The handler chose whether to compress; the JSON goes out the same way.
        let encoding = *encoding;
        let json = (|| {
            let binary = match (compressed, encoding) {
                (true, Some(encoding)) => {
                    encoding.decompress(&payload, u32::MAX as usize)?.freeze()
                }
                _ => payload,
            };
            let json = transcode::to_json(output, &binary)?;
            match (compressed, encoding) {
                (true, Some(encoding)) => {
                    let mut out = BytesMut::new();
                    encoding.compress(&json, &mut out)?;
                    Ok((true, out.freeze()))
                }
                _ => Ok((false, json)),
            }
        })();
        match json {
            Ok((compressed, payload)) => Event::Message {
                compressed,
                payload,
            },
            Err(status) => self.end(status, HeaderMap::new()),
        }
    }
}

/// Removes and returns the status of a trailers-only response.
fn take_status(headers: &mut HeaderMap) -> Option<Status> {
    let code = headers.remove(GRPC_STATUS)?;
    let mut only = HeaderMap::new();
    only.insert(GRPC_STATUS, code);
    for name in [GRPC_MESSAGE, GRPC_STATUS_DETAILS] {
        if let Some(value) = headers.remove(&name) {
            only.insert(name, value);
        }
    }
    Status::from_headers(&only)
}

/// Splits one whole frame off the front of `buf`.
fn split_frame(buf: &mut BytesMut) -> Option<(u8, Bytes)> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < 5 + len {
        return None;
    }
    let flag = buf[0];
    buf.advance(5);
    Some((flag, buf.split_to(len).freeze()))
}

/// A streaming response in the framing of `wire` (gRPC with JSON,
/// gRPC-Web, Connect streams).
pub(super) fn stream_response(
    mut head: http::response::Parts,
    messages: Messages,
    wire: Wire,
) -> http::Response<Body> {
    if wire == Wire::ConnectStream {
        for (from, to) in [
            (GRPC_ENCODING, connect::CONTENT_ENCODING),
            (GRPC_ACCEPT_ENCODING, connect::ACCEPT_ENCODING),
        ] {
            if let Some(value) = head.headers.remove(from) {
                head.headers.insert(to, value);
            }
        }
    }
    let stream = futures_util::stream::unfold(Some(messages), move |state| async move {
        let mut messages = state?;
        let event = messages.next().await?;
        let frame = match event {
            Event::Message {
                compressed,
                payload,
            } => http_body::Frame::data(encode_data(wire, frame(compressed as u8, &payload))),
            Event::End { status, trailers } => match wire {
                Wire::Grpc => {
                    let mut trailers = trailers;
                    status.write_to(&mut trailers);
                    http_body::Frame::trailers(trailers)
                }
                Wire::GrpcWeb { .. } => http_body::Frame::data(encode_data(
                    wire,
                    grpc_web::trailer_frame(&status, &trailers),
                )),
                _ => http_body::Frame::data(connect::end_stream(&status, &trailers)),
            },
        };
        Some((Ok(frame), Some(messages)))
    });
    http::Response::from_parts(head, Body::from_stream(Box::pin(stream)))
}

/// gRPC-Web-text sends every frame base64-encoded on its own.
fn encode_data(wire: Wire, frame: Bytes) -> Bytes {
    match wire {
        Wire::GrpcWeb { text: true } => grpc_web::encode_text(&frame),
        _ => frame,
    }
}
