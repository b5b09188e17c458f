//! The client side of gRPC-Web and Connect: a gRPC request, as
//! [`Grpc`](crate::client::Grpc) builds it, rewritten for the protocol the
//! [`Endpoint`](crate::client::Endpoint) names, and the protocol's response
//! read back as the gRPC response it means (message frames, then trailers
//! with `grpc-status`), so the call path above does not know the difference.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body::Frame;
use http_body_util::BodyExt as _;
use serde_json::Value;

use super::connect::{self, ACCEPT_ENCODING, CONTENT_ENCODING, PROTOCOL_VERSION, TIMEOUT};
use super::{Protocol, frame, grpc_web};
use crate::grpc::body::Body;
use crate::grpc::compression::Encoding;
use crate::grpc::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use crate::grpc::status::{Code, Status};
use crate::grpc::timeout;

/// Marks a unary call (a request extension `Grpc::unary` sets): Connect
/// sends those as bare messages, every other kind in envelopes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnaryCall {
    /// The largest response message accepted: a bare body is read whole,
    /// so this bounds what is buffered.
    pub(crate) max_response: usize,
}

/// The largest trailer frame or end-of-stream message read: metadata, not
/// messages, so the HTTP/2 header-list default is plenty.
const MAX_TRAILERS: usize = 64 * 1024;

/// What reading the response needs to know of its request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exchange {
    protocol: Protocol,
    /// `Some(limit)` for a Connect unary call.
    unary: Option<usize>,
    /// `proto` or `json`: the codec of the gRPC content type.
    codec: &'static str,
}

/// Rewrites a gRPC request for `protocol`.
pub(crate) async fn request(
    protocol: Protocol,
    request: http::Request<Body>,
) -> Result<(http::Request<Body>, Exchange), Status> {
    if protocol == Protocol::Grpc {
        let exchange = Exchange {
            protocol,
            unary: None,
            codec: "proto",
        };
        return Ok((request, exchange));
    }
    let unary = match protocol {
        Protocol::Connect => request
            .extensions()
            .get::<UnaryCall>()
            .map(|call| call.max_response),
        _ => None,
    };
    let (mut head, body) = request.into_parts();
    let headers = &mut head.headers;
    let codec = match headers.get(header::CONTENT_TYPE).map(HeaderValue::as_bytes) {
        Some(b"application/grpc+json") => "json",
        _ => "proto",
    };
    headers.remove(header::TE);
    let exchange = Exchange {
        protocol,
        unary,
        codec,
    };
    let body = match protocol {
        Protocol::Grpc | Protocol::GrpcWeb => {
            headers.insert(
                header::CONTENT_TYPE,
                content_type("application/grpc-web+", codec),
            );
            headers.insert("x-grpc-web", HeaderValue::from_static("1"));
            body
        }
        Protocol::Connect => {
            headers.insert(PROTOCOL_VERSION, HeaderValue::from_static("1"));
            if let Some(value) = headers.remove(GRPC_TIMEOUT) {
                let limit = timeout::parse(value.as_bytes()).map_err(Status::internal)?;
                // Rounded up: a deadline of less than a millisecond is not zero.
                let millis = limit.as_nanos().div_ceil(1_000_000).min(9_999_999_999);
                headers.insert(TIMEOUT, HeaderValue::from(millis as u64));
            }
            let accept = headers.remove(GRPC_ACCEPT_ENCODING);
            let encoding = headers.remove(GRPC_ENCODING);
            if unary.is_some() {
                let (compressed, payload) = unary_message(body).await?;
                headers.insert(header::CONTENT_TYPE, content_type("application/", codec));
                if let (true, Some(encoding)) = (compressed, encoding) {
                    headers.insert(header::CONTENT_ENCODING, encoding);
                }
                if let Some(accept) = accept {
                    headers.insert(header::ACCEPT_ENCODING, accept);
                }
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(payload.len()));
                Body::once(payload, None)
            } else {
                headers.insert(
                    header::CONTENT_TYPE,
                    content_type("application/connect+", codec),
                );
                if let Some(encoding) = encoding {
                    headers.insert(CONTENT_ENCODING, encoding);
                }
                if let Some(accept) = accept {
                    headers.insert(ACCEPT_ENCODING, accept);
                }
                body
            }
        }
    };
    Ok((http::Request::from_parts(head, body), exchange))
}

/// Reads the protocol's response as a gRPC response.
pub(crate) async fn response(
    exchange: Exchange,
    response: http::Response<Body>,
) -> Result<http::Response<Body>, Status> {
    match (exchange.protocol, exchange.unary) {
        (Protocol::Grpc, _) => Ok(response),
        (Protocol::GrpcWeb, _) => Ok(grpc_web_response(exchange, response)),
        (Protocol::Connect, Some(limit)) => connect_unary_response(exchange, limit, response).await,
        (Protocol::Connect, None) => connect_stream_response(exchange, response).await,
    }
}

fn content_type(prefix: &str, codec: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("{prefix}{codec}")).expect("a valid content type")
}

/// The one frame of a unary request body: its compressed flag and payload.
async fn unary_message(body: Body) -> Result<(bool, Bytes), Status> {
    let mut bytes = body.collect().await?.to_bytes();
    if bytes.len() < 5 {
        return Err(Status::internal("a unary request without a message"));
    }
    let compressed = bytes[0] & 1 == 1;
    let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
    bytes.advance(5);
    if bytes.len() != length {
        return Err(Status::internal(
            "a unary request must hold exactly one message",
        ));
    }
    Ok((compressed, bytes))
}

/// gRPC-Web: the same frames, the trailers as the body's last (flag
/// `0x80`), or the whole status in the headers (trailers-only).
fn grpc_web_response(exchange: Exchange, response: http::Response<Body>) -> http::Response<Body> {
    let (mut head, body) = response.into_parts();
    let text = match head
        .headers
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
    {
        Some(value) if value.starts_with(b"application/grpc-web-text") => true,
        Some(value) if value.starts_with(b"application/grpc-web") => false,
        // Not gRPC-Web: the gRPC checks of the head refuse it.
        _ => return http::Response::from_parts(head, body),
    };
    head.headers.insert(
        header::CONTENT_TYPE,
        content_type("application/grpc+", exchange.codec),
    );
    let encoding = response_encoding(head.headers.get(GRPC_ENCODING));
    let body = if text {
        grpc_web::decode_text(body)
    } else {
        body
    };
    let body = Envelopes::new(body, Terminal::GrpcWebTrailers, encoding);
    http::Response::from_parts(head, Body::new(body))
}

/// Connect unary: a bare message with `trailer-` headers, or an error as
/// JSON with an HTTP status.
async fn connect_unary_response(
    exchange: Exchange,
    limit: usize,
    response: http::Response<Body>,
) -> Result<http::Response<Body>, Status> {
    let (mut head, body) = response.into_parts();
    let mut trailers = take_trailer_headers(&mut head.headers);
    let encoding = head.headers.remove(header::CONTENT_ENCODING);
    let expected = format!("application/{}", exchange.codec);
    if head.status != StatusCode::OK {
        let error = read_limited(body, limit.max(MAX_TRAILERS)).await;
        let error =
            error.and_then(|bytes| decompress(response_encoding(encoding.as_ref()), bytes, limit));
        let status = error_status(head.status, error.ok().as_deref());
        head.headers.extend(trailers);
        return Ok(trailers_only(head, status));
    }
    if !is_content_type(&head.headers, &expected) {
        let status = unexpected_content_type(&head.headers, &expected);
        return Ok(trailers_only(head, status));
    }
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.insert(
        header::CONTENT_TYPE,
        content_type("application/grpc+", exchange.codec),
    );
    let encoding = encoding.filter(|e| e.as_bytes() != b"identity");
    let compressed = encoding.is_some();
    if let Some(encoding) = encoding {
        head.headers.insert(GRPC_ENCODING, encoding);
    }
    let stream = futures_util::stream::once(async move {
        let payload = read_limited(body, limit).await?;
        Ok(Frame::data(frame(compressed as u8, &payload)))
    });
    let end = futures_util::stream::once(async move {
        Status::new(Code::Ok, "").write_to(&mut trailers);
        Ok(Frame::trailers(trailers))
    });
    use futures_util::StreamExt as _;
    let body = Body::from_stream(Box::pin(stream.chain(end)));
    Ok(http::Response::from_parts(head, body))
}

/// Connect streams: envelopes, the last (flag `0x02`) a JSON end-of-stream
/// message with the error and the trailing metadata.
async fn connect_stream_response(
    exchange: Exchange,
    response: http::Response<Body>,
) -> Result<http::Response<Body>, Status> {
    let (mut head, body) = response.into_parts();
    let encoding = head.headers.remove(CONTENT_ENCODING);
    let expected = format!("application/connect+{}", exchange.codec);
    if head.status != StatusCode::OK {
        let error = read_limited(body, MAX_TRAILERS).await.ok();
        let status = error_status(head.status, error.as_deref());
        return Ok(trailers_only(head, status));
    }
    if !is_content_type(&head.headers, &expected) {
        let status = unexpected_content_type(&head.headers, &expected);
        return Ok(trailers_only(head, status));
    }
    head.headers.insert(
        header::CONTENT_TYPE,
        content_type("application/grpc+", exchange.codec),
    );
    let encoding_name = response_encoding(encoding.as_ref());
    if let Some(encoding) = encoding {
        head.headers.insert(GRPC_ENCODING, encoding);
    }
    let body = Envelopes::new(body, Terminal::ConnectEndStream, encoding_name);
    Ok(http::Response::from_parts(head, Body::new(body)))
}

/// Moves Connect's `trailer-`-prefixed headers into trailers of their own.
fn take_trailer_headers(headers: &mut HeaderMap) -> HeaderMap {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("trailer-"))
        .cloned()
        .collect();
    let mut trailers = HeaderMap::new();
    for name in names {
        let Ok(bare) = HeaderName::from_bytes(&name.as_str().as_bytes()[8..]) else {
            continue;
        };
        for value in headers.get_all(&name) {
            trailers.append(bare.clone(), value.clone());
        }
        headers.remove(&name);
    }
    trailers
}

fn is_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|value| value.trim().eq_ignore_ascii_case(expected))
}

fn unexpected_content_type(headers: &HeaderMap, expected: &str) -> Status {
    Status::unknown(format!(
        "response content-type {:?} is not {expected}",
        headers.get(header::CONTENT_TYPE)
    ))
}

/// A response whose headers carry the status, as gRPC's trailers-only.
fn trailers_only(mut head: http::response::Parts, status: Status) -> http::Response<Body> {
    head.status = StatusCode::OK;
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    status.write_to(&mut head.headers);
    http::Response::from_parts(head, Body::empty())
}

/// The encoding a response names, if this build has it.
fn response_encoding(value: Option<&HeaderValue>) -> Option<Encoding> {
    value
        .and_then(|value| value.to_str().ok())
        .and_then(Encoding::from_name)
        .filter(|encoding| encoding.is_supported())
}

async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, Status> {
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Err(Status::resource_exhausted(format!(
                    "response message larger than the limit of {limit} bytes"
                )));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

fn decompress(encoding: Option<Encoding>, bytes: Bytes, limit: usize) -> Result<Bytes, Status> {
    match encoding {
        Some(encoding) => Ok(encoding.decompress(&bytes, limit)?.freeze()),
        None => Ok(bytes),
    }
}

/// The status of a Connect error: its JSON (`code`, `message`, `details`),
/// or the HTTP status when the body is not one. The metadata stays in
/// the headers of the trailers-only response it becomes.
fn error_status(http: StatusCode, body: Option<&[u8]>) -> Status {
    let json = body.and_then(|body| serde_json::from_slice::<Value>(body).ok());
    match json.as_ref().filter(|json| json.get("code").is_some()) {
        Some(json) => error_from_json(json),
        None => Status::new(
            Code::from_http(http),
            format!("HTTP status {http} from the server"),
        ),
    }
}

/// Connect's error JSON as a status.
fn error_from_json(json: &Value) -> Status {
    let code = json
        .get("code")
        .and_then(Value::as_str)
        .and_then(connect::code_from_name)
        .unwrap_or(Code::Unknown);
    let message = json.get("message").and_then(Value::as_str).unwrap_or("");
    let details = json
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|detail| {
            let name = detail.get("type")?.as_str()?;
            let value = detail.get("value")?.as_str()?;
            let value = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(value.trim_end_matches('='))
                .ok()?;
            Some(crate::types::Any {
                type_url: format!("type.googleapis.com/{name}"),
                value,
                ..Default::default()
            })
        })
        .collect::<Vec<_>>();
    let status = Status::new(code, message);
    if details.is_empty() {
        status
    } else {
        status.with_error_details(details)
    }
}

/// The frame that ends a response body, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Terminal {
    /// gRPC-Web: flag `0x80`, the trailers as an HTTP/1 header block.
    GrpcWebTrailers,
    /// Connect: flag `0x02`, the end-of-stream JSON.
    ConnectEndStream,
}

impl Terminal {
    fn flag(self) -> u8 {
        match self {
            Terminal::GrpcWebTrailers => 0x80,
            Terminal::ConnectEndStream => 0x02,
        }
    }

    /// The trailers (with `grpc-status`) the frame's payload means.
    fn trailers(self, payload: &[u8]) -> Result<HeaderMap, Status> {
        match self {
            Terminal::GrpcWebTrailers => header_block(payload),
            Terminal::ConnectEndStream => end_stream(payload),
        }
    }
}

/// gRPC-Web's trailer block: `name: value` lines, `\r\n` after each.
fn header_block(block: &[u8]) -> Result<HeaderMap, Status> {
    let mut trailers = HeaderMap::new();
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| Status::internal("malformed gRPC-Web trailer line"))?;
        let name = HeaderName::from_bytes(line[..colon].trim_ascii()).map_err(|e| {
            Status::from_error(Code::Internal, "malformed gRPC-Web trailer name", e)
        })?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).map_err(|e| {
            Status::from_error(Code::Internal, "malformed gRPC-Web trailer value", e)
        })?;
        trailers.append(name, value);
    }
    Ok(trailers)
}

/// Connect's end-of-stream message: `{"error": …, "metadata": {name: [values]}}`.
fn end_stream(payload: &[u8]) -> Result<HeaderMap, Status> {
    let json: Value = serde_json::from_slice(payload).map_err(|e| {
        Status::from_error(Code::Internal, "malformed Connect end-of-stream message", e)
    })?;
    let mut trailers = HeaderMap::new();
    if let Some(metadata) = json.get("metadata").and_then(Value::as_object) {
        for (name, values) in metadata {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            for value in values.as_array().into_iter().flatten() {
                if let Some(Ok(value)) = value.as_str().map(HeaderValue::from_str) {
                    trailers.append(name.clone(), value);
                }
            }
        }
    }
    let status = match json.get("error") {
        Some(error) if !error.is_null() => error_from_json(error),
        _ => Status::new(Code::Ok, ""),
    };
    status.write_to(&mut trailers);
    Ok(trailers)
}

/// A body of envelopes read as gRPC: message frames pass through, and the
/// terminal frame becomes the trailers.
struct Envelopes {
    inner: Body,
    terminal: Terminal,
    encoding: Option<Encoding>,
    buffer: BytesMut,
    /// Bytes of the current message frame still to pass through.
    remaining: usize,
    /// The trailers read, sent once the body has ended.
    trailers: Option<HeaderMap>,
    done: bool,
}

impl Envelopes {
    fn new(inner: Body, terminal: Terminal, encoding: Option<Encoding>) -> Envelopes {
        Envelopes {
            inner,
            terminal,
            encoding,
            buffer: BytesMut::new(),
            remaining: 0,
            trailers: None,
            done: false,
        }
    }

    /// The next frame the buffer holds, if it holds a whole one (or part of
    /// a message, which passes through as it comes).
    fn next_frame(&mut self) -> Result<Option<Frame<Bytes>>, Status> {
        if self.remaining > 0 {
            if self.buffer.is_empty() {
                return Ok(None);
            }
            let n = self.remaining.min(self.buffer.len());
            self.remaining -= n;
            return Ok(Some(Frame::data(self.buffer.split_to(n).freeze())));
        }
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        let flag = self.buffer[0];
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if flag & self.terminal.flag() == 0 {
            self.remaining = length;
            return Ok(Some(Frame::data(self.buffer.split_to(5).freeze())));
        }
        if length > MAX_TRAILERS {
            return Err(Status::internal(format!(
                "the server's trailers are larger than {MAX_TRAILERS} bytes"
            )));
        }
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        let payload = self.buffer.split_to(5 + length).split_off(5).freeze();
        let payload = if flag & 1 == 1 {
            let encoding = self
                .encoding
                .ok_or_else(|| Status::internal("compressed trailers without an encoding"))?;
            decompress(Some(encoding), payload, MAX_TRAILERS)?
        } else {
            payload
        };
        self.trailers = Some(self.terminal.trailers(&payload)?);
        Ok(None)
    }
}

impl http_body::Body for Envelopes {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if this.trailers.is_some() {
                // Read the body to its end before the trailers are handed
                // on: an HTTP/1.1 connection is reused only once its
                // response is read whole. What follows the last frame is
                // not the protocol's, and is dropped.
                match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                    Some(Ok(_)) => continue,
                    Some(Err(status)) => {
                        this.done = true;
                        return Poll::Ready(Some(Err(status)));
                    }
                    None => {
                        this.done = true;
                        return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
                    }
                }
            }
            match this.next_frame() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if this.trailers.is_some() => continue,
                Ok(None) => {}
                Err(status) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(status)));
                }
            }
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => this.buffer.extend_from_slice(&data),
                    // Real trailers (a gRPC-Web server over HTTP/2 may send
                    // them) end the body as they are.
                    Err(frame) => {
                        this.done = true;
                        return Poll::Ready(
                            frame.into_trailers().ok().map(|t| Ok(Frame::trailers(t))),
                        );
                    }
                },
                Some(Err(status)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(status)));
                }
                None => {
                    this.done = true;
                    let missing = match this.terminal {
                        Terminal::GrpcWebTrailers => "the gRPC-Web response ended without trailers",
                        Terminal::ConnectEndStream => {
                            "the Connect stream ended without an end-of-stream message"
                        }
                    };
                    let status = if this.buffer.is_empty() && this.remaining == 0 {
                        Status::internal(missing)
                    } else {
                        Status::internal("the response ended inside a message")
                    };
                    return Poll::Ready(Some(Err(status)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn drain(
        body: impl http_body::Body<Data = Bytes, Error = Status> + Unpin,
    ) -> (Vec<u8>, Result<HeaderMap, Status>) {
        let mut body = body;
        let mut data = Vec::new();
        loop {
            match body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(bytes) => data.extend_from_slice(&bytes),
                    Err(frame) => return (data, Ok(frame.into_trailers().unwrap())),
                },
                Some(Err(status)) => return (data, Err(status)),
                None => return (data, Err(Status::internal("no trailers"))),
            }
        }
    }

    fn chunked(chunks: Vec<Vec<u8>>) -> Body {
        let stream =
            futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Frame::data(Bytes::from(c)))));
        Body::from_stream(Box::pin(stream))
    }

    #[tokio::test]
    async fn grpc_web_trailers_become_http_trailers_across_chunk_boundaries() {
        let mut wire = frame(0, b"hello").to_vec();
        wire.extend_from_slice(&frame(0x80, b"grpc-status: 0\r\nx-tail: a\r\n"));
        // every split point: frames arrive in arbitrary pieces
        for split in 0..wire.len() {
            let body = chunked(vec![wire[..split].to_vec(), wire[split..].to_vec()]);
            let (data, trailers) =
                drain(Envelopes::new(body, Terminal::GrpcWebTrailers, None)).await;
            assert_eq!(data, frame(0, b"hello").to_vec(), "split at {split}");
            let trailers = trailers.unwrap();
            assert_eq!(trailers["grpc-status"], "0");
            assert_eq!(trailers["x-tail"], "a");
        }
    }

    #[tokio::test]
    async fn connect_end_stream_carries_the_error_and_metadata() {
        let end = br#"{"error":{"code":"resource_exhausted","message":"slow down","details":[{"type":"grpc.testing.EchoStatus","value":"CAI"}]},"metadata":{"x-tail":["a","b"]}}"#;
        let mut wire = frame(0, b"m1").to_vec();
        wire.extend_from_slice(&frame(0x02, end));
        let body = chunked(vec![wire]);
        let (data, trailers) = drain(Envelopes::new(body, Terminal::ConnectEndStream, None)).await;
        assert_eq!(data, frame(0, b"m1").to_vec());
        let status = Status::from_headers(&trailers.unwrap()).unwrap();
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(status.message(), "slow down");
        assert_eq!(
            status.error_details()[0].type_url,
            "type.googleapis.com/grpc.testing.EchoStatus"
        );
        assert_eq!(status.error_details()[0].value, vec![8, 2]);
        assert_eq!(
            status.metadata().get_all("x-tail").collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[tokio::test]
    async fn a_stream_without_its_end_is_an_error() {
        let body = chunked(vec![frame(0, b"m1").to_vec()]);
        let (_, trailers) = drain(Envelopes::new(body, Terminal::ConnectEndStream, None)).await;
        assert!(trailers.unwrap_err().message().contains("end-of-stream"));
        let body = chunked(vec![frame(0, b"m1")[..4].to_vec()]);
        let (_, trailers) = drain(Envelopes::new(body, Terminal::GrpcWebTrailers, None)).await;
        assert!(trailers.unwrap_err().message().contains("inside a message"));
    }

    #[test]
    fn connect_errors_without_json_take_the_http_status() {
        let status = error_status(StatusCode::SERVICE_UNAVAILABLE, Some(b"<html>"));
        assert_eq!(status.code(), Code::Unavailable);
        let status = error_status(StatusCode::NOT_FOUND, None);
        assert_eq!(status.code(), Code::Unimplemented);
        let json = br#"{"code":"not_a_code","message":"m"}"#;
        let status = error_status(StatusCode::BAD_REQUEST, Some(json));
        assert_eq!(status.code(), Code::Unknown);
    }

    #[tokio::test]
    async fn unary_requests_lose_their_envelope_and_keep_their_compression() {
        let mut request = http::Request::new(Body::once(frame(1, b"zz"), None));
        request
            .extensions_mut()
            .insert(UnaryCall { max_response: 100 });
        let headers = request.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(GRPC_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(
            GRPC_ACCEPT_ENCODING,
            HeaderValue::from_static("gzip,identity"),
        );
        headers.insert(GRPC_TIMEOUT, HeaderValue::from_static("1500u"));
        let (request, _) = super::request(Protocol::Connect, request).await.unwrap();
        let headers = request.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/proto");
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
        assert_eq!(headers[header::ACCEPT_ENCODING], "gzip,identity");
        assert_eq!(headers["connect-timeout-ms"], "2");
        assert_eq!(headers["connect-protocol-version"], "1");
        assert!(!headers.contains_key(header::TE) && !headers.contains_key(GRPC_ENCODING));
        let body = request.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"zz");
    }
}
