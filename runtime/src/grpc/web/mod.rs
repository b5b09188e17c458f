//! gRPC-Web and the Connect protocol, served by the same routes as gRPC.
//!
//! A request in another protocol is turned into the gRPC request it means
//! (content type, deadline, compression headers, message frames), routed
//! and handled like any gRPC call, and the gRPC response is turned back
//! into the caller's protocol. Handlers, interceptors and status codes are
//! the same whichever protocol called; only the bytes on the wire differ.
//!
//! * gRPC-Web (grpc/grpc `doc/PROTOCOL-WEB.md`): the gRPC framing, with the
//!   trailers as a last frame in the body (flag `0x80`), optionally base64
//!   (`application/grpc-web-text`);
//! * Connect (connectrpc.com/docs/protocol): unary calls as bare messages
//!   with HTTP status codes and JSON errors (POST, and GET for methods
//!   marked `NO_SIDE_EFFECTS`), streams in envelopes ending with a JSON
//!   end-of-stream message;
//! * the JSON codec (`+json`, `application/json`) of all three, transcoded
//!   by the service's descriptors.

pub(crate) mod client;
mod connect;
mod cors;
mod grpc_web;
mod parts;
mod transcode;

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

pub use cors::{Cors, CorsService};

use super::body::Body;
use super::headers::GRPC_ENCODING;
use super::server::{ResponseFuture, Routes, ServerConfig, status_response};
use super::status::Status;
use crate::reflect::MethodDescriptor;

/// An RPC protocol a server speaks and a client can call with.
///
/// ```
/// use protocall::web::Protocol;
/// let server = protocall::Server::builder().protocol(Protocol::GrpcWeb, false); // gRPC and Connect only
/// # let _ = server;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// gRPC over HTTP/2 (`application/grpc`).
    Grpc,
    /// gRPC-Web (`application/grpc-web`, `application/grpc-web-text`).
    GrpcWeb,
    /// Connect (`application/proto`, `application/json`,
    /// `application/connect+…`, and `GET` for side-effect-free methods).
    Connect,
}

/// The protocols a server answers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Protocols {
    grpc: bool,
    grpc_web: bool,
    connect: bool,
}

impl Default for Protocols {
    fn default() -> Protocols {
        Protocols {
            grpc: true,
            grpc_web: true,
            connect: true,
        }
    }
}

impl Protocols {
    pub(crate) fn set(&mut self, protocol: Protocol, on: bool) {
        match protocol {
            Protocol::Grpc => self.grpc = on,
            Protocol::GrpcWeb => self.grpc_web = on,
            Protocol::Connect => self.connect = on,
        }
    }

    fn has(self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::Grpc => self.grpc,
            Protocol::GrpcWeb => self.grpc_web,
            Protocol::Connect => self.connect,
        }
    }
}

/// How a call's messages are framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    Grpc,
    GrpcWeb { text: bool },
    ConnectUnary,
    ConnectGet,
    ConnectStream,
}

impl Wire {
    fn protocol(self) -> Protocol {
        match self {
            Wire::Grpc => Protocol::Grpc,
            Wire::GrpcWeb { .. } => Protocol::GrpcWeb,
            _ => Protocol::Connect,
        }
    }

    fn is_connect_unary(self) -> bool {
        matches!(self, Wire::ConnectUnary | Wire::ConnectGet)
    }
}

/// How messages are serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    Proto,
    Json,
}

/// A request's protocol: its framing and its codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dialect {
    wire: Wire,
    codec: Codec,
}

impl Dialect {
    /// Plain gRPC with protobuf: routed as it is.
    pub(crate) fn is_native(self) -> bool {
        self.wire == Wire::Grpc && self.codec == Codec::Proto
    }

    /// The dialect of `request`, or the response refusing it (an unknown
    /// or disabled content type, a method the protocol does not use).
    pub(crate) fn of<B>(
        request: &http::Request<B>,
        protocols: Protocols,
    ) -> Result<Dialect, Box<http::Response<Body>>> {
        let dialect = if request.method() == Method::GET {
            connect::get_codec(request.uri().query().unwrap_or(""))
                .map(|codec| Dialect {
                    wire: Wire::ConnectGet,
                    codec,
                })
                .filter(|_| protocols.has(Protocol::Connect))
        } else {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            Dialect::from_content_type(content_type).filter(|d| protocols.has(d.wire.protocol()))
        };
        let Some(dialect) = dialect else {
            return Err(Box::new(unsupported_media_type(request, protocols)));
        };
        if dialect.wire != Wire::ConnectGet && request.method() != Method::POST {
            return Err(Box::new(method_not_allowed(dialect, request.method())));
        }
        Ok(dialect)
    }

    fn from_content_type(content_type: &str) -> Option<Dialect> {
        // Parameters (`; charset=utf-8`) do not change the protocol.
        let essence = content_type.split(';').next().unwrap_or("").trim();
        // Lowercased in a stack buffer: no allocation per request. Longer
        // than any name below means none of them.
        let mut lower = [0u8; 32];
        let buffer = lower.get_mut(..essence.len())?;
        buffer.copy_from_slice(essence.as_bytes());
        buffer.make_ascii_lowercase();
        let (wire, codec) = match &*buffer {
            b"application/grpc" | b"application/grpc+proto" => (Wire::Grpc, Codec::Proto),
            b"application/grpc+json" => (Wire::Grpc, Codec::Json),
            b"application/grpc-web" | b"application/grpc-web+proto" => {
                (Wire::GrpcWeb { text: false }, Codec::Proto)
            }
            b"application/grpc-web+json" => (Wire::GrpcWeb { text: false }, Codec::Json),
            b"application/grpc-web-text" | b"application/grpc-web-text+proto" => {
                (Wire::GrpcWeb { text: true }, Codec::Proto)
            }
            b"application/proto" => (Wire::ConnectUnary, Codec::Proto),
            b"application/json" => (Wire::ConnectUnary, Codec::Json),
            b"application/connect+proto" => (Wire::ConnectStream, Codec::Proto),
            b"application/connect+json" => (Wire::ConnectStream, Codec::Json),
            _ => return None,
        };
        if codec == Codec::Json && !cfg!(feature = "json") {
            return None;
        }
        Some(Dialect { wire, codec })
    }

    /// The response `Content-Type` of a successful call.
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match (self.wire, self.codec) {
            (Wire::Grpc, Codec::Proto) => "application/grpc",
            (Wire::Grpc, Codec::Json) => "application/grpc+json",
            (Wire::GrpcWeb { text: false }, Codec::Proto) => "application/grpc-web+proto",
            (Wire::GrpcWeb { text: false }, Codec::Json) => "application/grpc-web+json",
            (Wire::GrpcWeb { text: true }, _) => "application/grpc-web-text+proto",
            (Wire::ConnectUnary | Wire::ConnectGet, Codec::Proto) => "application/proto",
            (Wire::ConnectUnary | Wire::ConnectGet, Codec::Json) => "application/json",
            (Wire::ConnectStream, Codec::Proto) => "application/connect+proto",
            (Wire::ConnectStream, Codec::Json) => "application/connect+json",
        })
    }
}

/// What the response side needs to know of the request.
struct CallContext {
    dialect: Dialect,
    method: Option<MethodDescriptor>,
    config: Arc<ServerConfig>,
}

/// Serves a request in a non-native dialect through `routes`.
pub(crate) fn serve(
    routes: Routes,
    dialect: Dialect,
    request: http::Request<Body>,
) -> ResponseFuture {
    Box::pin(async move {
        let method = routes.method_descriptor(request.uri().path());
        if dialect.wire == Wire::ConnectGet && !side_effect_free(method.as_ref()) {
            // Only methods declared free of side effects may be fetched
            // (and cached) by GET.
            return method_not_allowed(dialect, &Method::GET);
        }
        let config = routes.config().clone();
        let cx = CallContext {
            dialect,
            method,
            config,
        };
        let request = if routes.routes(request.uri().path()) {
            request
        } else {
            drained(request, cx.config.max_decode).await
        };
        let response = match prepare(request, &cx).await {
            Ok(request) => routes.dispatch_native(request).await,
            Err(status) => status_response(&status, None),
        };
        respond(response, &cx).await
    })
}

/// `request` with its body read and dropped: a call no service answers is
/// refused only once the client has sent it, since an HTTP/1.1 client
/// still writing its body when the connection closes sees a broken pipe,
/// not the refusal. At most `limit` bytes and 5 s are spent on it.
async fn drained(request: http::Request<Body>, limit: usize) -> http::Request<Body> {
    use http_body_util::BodyExt as _;
    let (parts, mut body) = request.into_parts();
    let drain = async {
        let mut read = 0;
        while let Some(Ok(frame)) = body.frame().await {
            read += frame.data_ref().map_or(0, |d| d.len());
            if read > limit {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), drain).await;
    http::Request::from_parts(parts, Body::empty())
}

/// True for a method marked `idempotency_level = NO_SIDE_EFFECTS`.
fn side_effect_free(method: Option<&MethodDescriptor>) -> bool {
    use crate::types::method_options::IdempotencyLevel;
    method.is_some_and(|m| m.options().idempotency_level() == IdempotencyLevel::NoSideEffects)
}

/// Turns a request into the gRPC request it means.
async fn prepare(
    request: http::Request<Body>,
    cx: &CallContext,
) -> Result<http::Request<Body>, Status> {
    let (mut parts, body) = request.into_parts();
    let headers = &mut parts.headers;
    let wire = cx.dialect.wire;
    let mut unary_encoding = None;
    if matches!(
        wire,
        Wire::ConnectUnary | Wire::ConnectGet | Wire::ConnectStream
    ) {
        unary_encoding = connect::request_headers(headers, wire, &cx.config)?;
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    let json = cx.dialect.codec == Codec::Json;
    let input = match (json, &cx.method) {
        (true, Some(method)) => Some(method.input()),
        (true, None) => return Err(transcode::no_descriptor(parts.uri.path())),
        (false, _) => None,
    };
    let body = match wire {
        Wire::ConnectUnary | Wire::ConnectGet => {
            let message = if wire == Wire::ConnectGet {
                connect::get_message(parts.uri.query().unwrap_or(""), &mut unary_encoding)?
            } else {
                connect::read_unary(body, unary_encoding, cx.config.max_decode).await?
            };
            let frame = match &input {
                Some(input) => match unary_encoding {
                    // Compressed JSON goes to the handler as compressed
                    // binary, so it sees what the client sent.
                    Some(encoding) if !message.is_empty() => {
                        let plain = encoding.decompress(&message, cx.config.max_decode)?;
                        let binary = transcode::from_json(input, &plain)?;
                        let mut compressed = BytesMut::new();
                        encoding.compress(&binary, &mut compressed)?;
                        headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
                        frame(1, &compressed)
                    }
                    _ => frame(0, &transcode::from_json(input, &message)?),
                },
                None => match unary_encoding {
                    // A zero-length body is never decompressed.
                    Some(encoding) if !message.is_empty() => {
                        headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
                        frame(1, &message)
                    }
                    _ => frame(0, &message),
                },
            };
            Body::once(frame, None)
        }
        Wire::GrpcWeb { text: true } => grpc_web::decode_text(body),
        _ => body,
    };
    let body = match input {
        Some(input) if !wire.is_connect_unary() => {
            let encoding = headers.get(GRPC_ENCODING).cloned();
            transcode::request_stream(body, encoding, input, &cx.config)?
        }
        _ => body,
    };
    Ok(http::Request::from_parts(parts, body))
}

/// Turns a gRPC response into the caller's protocol.
async fn respond(response: http::Response<Body>, cx: &CallContext) -> http::Response<Body> {
    let (mut head, body) = response.into_parts();
    head.status = StatusCode::OK;
    head.headers
        .insert(header::CONTENT_TYPE, cx.dialect.content_type());
    let output = if cx.dialect.codec == Codec::Json {
        cx.method.as_ref().map(MethodDescriptor::output)
    } else {
        None
    };
    let wire = cx.dialect.wire;
    if wire == Wire::Grpc && head.headers.contains_key(super::headers::GRPC_STATUS) {
        // Trailers-only stays trailers-only in gRPC, whatever the codec.
        return http::Response::from_parts(head, body);
    }
    let messages = parts::Messages::new(&mut head, body, output);
    if wire.is_connect_unary() {
        connect::unary_response(head, messages, cx.dialect).await
    } else {
        parts::stream_response(head, messages, wire)
    }
}

/// One gRPC-style frame: a flag byte, the length, the payload.
fn frame(flag: u8, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(5 + payload.len());
    out.put_u8(flag);
    out.put_u32(payload.len() as u32);
    out.put_slice(payload);
    out.freeze()
}

/// The refusal of a request whose content type no enabled protocol uses.
fn unsupported_media_type<B>(
    request: &http::Request<B>,
    protocols: Protocols,
) -> http::Response<Body> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let served: Vec<&str> = [
        (Protocol::Grpc, "application/grpc"),
        (Protocol::GrpcWeb, "application/grpc-web"),
        (
            Protocol::Connect,
            "application/proto, application/json, application/connect+proto",
        ),
    ]
    .into_iter()
    .filter(|&(protocol, _)| protocols.has(protocol))
    .map(|(_, types)| types)
    .collect();
    let status = Status::internal(format!(
        "content-type {content_type:?} is not served here: expected {}",
        served.join(", ")
    ));
    let mut response = status_response(&status, None);
    *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response
}

/// The refusal of a request with the wrong HTTP method.
fn method_not_allowed(dialect: Dialect, method: &Method) -> http::Response<Body> {
    let status = Status::internal(format!(
        "method {method} not allowed: {} uses POST (GET only for methods without side effects)",
        match dialect.wire.protocol() {
            Protocol::Grpc => "gRPC",
            Protocol::GrpcWeb => "gRPC-Web",
            Protocol::Connect => "Connect",
        }
    ));
    let mut response = status_response(&status, None);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Metadata of `headers` as it goes on the wire: protocol headers left out.
fn custom_metadata(headers: &HeaderMap) -> impl Iterator<Item = (&http::HeaderName, &HeaderValue)> {
    headers
        .iter()
        .filter(|(name, _)| !super::metadata::is_reserved(name.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_without_case_or_parameters() {
        let of = |ct: &str| Dialect::from_content_type(ct).map(|d| (d.wire, d.codec));
        assert_eq!(of("application/grpc"), Some((Wire::Grpc, Codec::Proto)));
        assert_eq!(
            of("Application/GRPC+Proto"),
            Some((Wire::Grpc, Codec::Proto))
        );
        assert_eq!(
            of("application/grpc-web-text+proto; charset=utf-8"),
            Some((Wire::GrpcWeb { text: true }, Codec::Proto))
        );
        assert_eq!(
            of(" application/connect+proto "),
            Some((Wire::ConnectStream, Codec::Proto))
        );
        assert_eq!(of("application/grpcx"), None);
        assert_eq!(of(""), None);
        // Longer than any known name, ASCII or not.
        assert_eq!(of(&"application/grpc".repeat(4)), None);
        assert_eq!(of("application/grpç"), None);
    }
}
