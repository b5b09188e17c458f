//! The Connect protocol's own parts (connectrpc.com/docs/protocol): its
//! headers, unary requests and responses, `GET` queries, error JSON and the
//! end-of-stream message.

use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Map, Value, json};

use super::parts::{Event, Messages};
use super::{Codec, Dialect, Wire, frame};
use crate::grpc::body::Body;
use crate::grpc::compression::{Encoding, SUPPORTED};
use crate::grpc::headers::{GRPC_ACCEPT_ENCODING, GRPC_ENCODING, GRPC_TIMEOUT};
use crate::grpc::server::ServerConfig;
use crate::grpc::status::{Code, Status};
use crate::grpc::timeout;

pub(super) const CONTENT_ENCODING: HeaderName = HeaderName::from_static("connect-content-encoding");
pub(super) const ACCEPT_ENCODING: HeaderName = HeaderName::from_static("connect-accept-encoding");
pub(super) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("connect-protocol-version");
pub(super) const TIMEOUT: HeaderName = HeaderName::from_static("connect-timeout-ms");

/// Connect's name for a code (`canceled`, `invalid_argument`, …).
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The code Connect names `name`, if it names one.
pub(crate) fn code_from_name(name: &str) -> Option<Code> {
    (0..=16)
        .map(Code::from_i32)
        .find(|&code| code_name(code) == name)
}

/// The HTTP status of a unary error (the protocol's "Error Codes" table).
pub(crate) fn http_status(code: Code) -> StatusCode {
    let status = match code {
        Code::Ok => 200,
        Code::Cancelled => 499,
        Code::Unknown | Code::Internal | Code::DataLoss => 500,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => 400,
        Code::DeadlineExceeded => 504,
        Code::NotFound => 404,
        Code::AlreadyExists | Code::Aborted => 409,
        Code::PermissionDenied => 403,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::Unauthenticated => 401,
    };
    StatusCode::from_u16(status).expect("valid HTTP statuses")
}

/// The codec a `GET` query names (`encoding=proto|json`), if any.
pub(super) fn get_codec(query: &str) -> Option<Codec> {
    let (_, encoding) = query_params(query).find(|(key, _)| key == "encoding")?;
    match encoding.as_slice() {
        b"proto" => Some(Codec::Proto),
        b"json" if cfg!(feature = "json") => Some(Codec::Json),
        _ => None,
    }
}

/// Translates Connect's request headers into gRPC's; returns the encoding
/// of a unary body (`content-encoding`), which the caller applies.
pub(super) fn request_headers(
    headers: &mut HeaderMap,
    wire: Wire,
    config: &ServerConfig,
) -> Result<Option<Encoding>, Status> {
    if let Some(version) = headers.get(PROTOCOL_VERSION)
        && version != "1"
    {
        return Err(Status::invalid_argument(format!(
            "connect-protocol-version must be \"1\", not {version:?}"
        )));
    }
    if let Some(value) = headers.get(TIMEOUT) {
        let ms = value
            .to_str()
            .ok()
            .filter(|v| (1..=10).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                Status::invalid_argument(format!("malformed connect-timeout-ms {value:?}"))
            })?;
        headers.insert(
            GRPC_TIMEOUT,
            timeout::header_value(Duration::from_millis(ms)),
        );
    }
    let (content, accept) = match wire {
        Wire::ConnectStream => (CONTENT_ENCODING, ACCEPT_ENCODING),
        _ => (header::CONTENT_ENCODING, header::ACCEPT_ENCODING),
    };
    let encoding = match headers
        .get(&content)
        .map(|v| v.to_str().unwrap_or("?").trim())
    {
        None | Some("identity") => None,
        Some(name) => match Encoding::from_name(name).filter(|e| config.accept.contains(e)) {
            Some(encoding) => Some(encoding),
            None => {
                let supported: Vec<&str> = config.accept.iter().map(|e| e.as_str()).collect();
                return Err(Status::unimplemented(format!(
                    "content encoding {name:?} is not supported; supported: {}",
                    supported.join(",")
                )));
            }
        },
    };
    // The client's encodings in gRPC's spelling, quality values dropped;
    // without the header it accepts what it sent.
    let accepted = match headers.get(&accept).and_then(|v| v.to_str().ok()) {
        Some(list) => Some(
            list.split(',')
                .map(|token| token.split(';').next().unwrap_or("").trim())
                .filter(|token| SUPPORTED.iter().any(|e| e.as_str() == *token))
                .collect::<Vec<_>>()
                .join(","),
        ),
        None => encoding.map(|e| e.as_str().to_owned()),
    };
    // Protocol headers are not metadata.
    let protocol: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with("connect-"))
        .cloned()
        .collect();
    for name in protocol {
        headers.remove(name);
    }
    headers.remove(header::CONTENT_ENCODING);
    headers.remove(header::ACCEPT_ENCODING);
    headers.remove(header::CONTENT_LENGTH);
    if let Some(accepted) = accepted.and_then(|a| HeaderValue::from_str(&a).ok()) {
        headers.insert(GRPC_ACCEPT_ENCODING, accepted);
    }
    if wire == Wire::ConnectStream {
        if let Some(encoding) = encoding {
            headers.insert(GRPC_ENCODING, HeaderValue::from_static(encoding.as_str()));
        }
        return Ok(None);
    }
    Ok(encoding)
}

/// Reads a unary request body, at most `limit` bytes (twice as much, or
/// 1 MiB, while still compressed).
pub(super) async fn read_unary(
    mut body: Body,
    encoding: Option<Encoding>,
    limit: usize,
) -> Result<Bytes, Status> {
    let limit = match encoding {
        Some(_) => limit.saturating_mul(2).max(1 << 20),
        None => limit,
    };
    let mut out = BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > limit {
                return Err(Status::resource_exhausted(format!(
                    "request message larger than the limit of {limit} bytes"
                )));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// The message of a `GET` query (`message`, `base64`, `compression`);
/// `encoding` becomes the query's compression.
pub(super) fn get_message(query: &str, encoding: &mut Option<Encoding>) -> Result<Bytes, Status> {
    let mut message = None;
    let mut base64 = false;
    for (key, value) in query_params(query) {
        match key.as_str() {
            "message" => message = Some(value),
            "base64" => base64 = value == b"1",
            "connect" if value != b"v1" => {
                return Err(Status::invalid_argument(format!(
                    "connect query parameter must be v1, not {:?}",
                    String::from_utf8_lossy(&value)
                )));
            }
            "compression" => {
                let name = String::from_utf8_lossy(&value).into_owned();
                *encoding = match name.as_str() {
                    "identity" => None,
                    _ => Some(
                        Encoding::from_name(&name)
                            .filter(|e| e.is_supported())
                            .ok_or_else(|| {
                                Status::unimplemented(format!(
                                    "compression {name:?} is not supported"
                                ))
                            })?,
                    ),
                };
            }
            _ => {}
        }
    }
    let message =
        message.ok_or_else(|| Status::invalid_argument("GET request without a message"))?;
    if !base64 {
        return Ok(Bytes::from(message));
    }
    // URL-safe alphabet; padding optional.
    let trimmed: Vec<u8> = message.into_iter().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&trimmed)
        .map(Bytes::from)
        .map_err(|e| Status::invalid_argument(format!("malformed base64 message: {e}")))
}

/// `key=value` pairs of a query, percent-decoded (`+` is a space).
fn query_params(query: &str) -> impl Iterator<Item = (String, Vec<u8>)> + '_ {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (
            String::from_utf8_lossy(&percent_decode(key)).into_owned(),
            percent_decode(value),
        )
    })
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    out
}

/// A unary response: the bare message with HTTP 200, or the error JSON
/// with the code's HTTP status; trailers as `trailer-` headers.
pub(super) async fn unary_response(
    mut head: http::response::Parts,
    mut messages: Messages,
    dialect: Dialect,
) -> http::Response<Body> {
    let mut message = None;
    let (mut status, trailers) = loop {
        match messages.next().await {
            Some(Event::Message {
                compressed,
                payload,
            }) if message.is_none() => {
                message = Some((compressed, payload));
            }
            Some(Event::Message { .. }) => {
                break (
                    Status::internal("a unary call answered with two messages"),
                    HeaderMap::new(),
                );
            }
            Some(Event::End { status, trailers }) => break (status, trailers),
            None => {
                break (
                    Status::internal("the response ended early"),
                    HeaderMap::new(),
                );
            }
        }
    };
    if status.code() == Code::Ok && message.is_none() {
        status = Status::internal("a unary call ended without a response message");
    }
    let encoding = head.headers.remove(GRPC_ENCODING);
    if let Some(accept) = head.headers.remove(GRPC_ACCEPT_ENCODING) {
        head.headers.insert(header::ACCEPT_ENCODING, accept);
    }
    for (name, value) in super::custom_metadata(&trailers) {
        if let Ok(prefixed) = HeaderName::from_bytes(format!("trailer-{name}").as_bytes()) {
            head.headers.append(prefixed, value.clone());
        }
    }
    let body = match message {
        Some((compressed, payload)) if status.code() == Code::Ok => {
            if compressed && let Some(encoding) = encoding {
                head.headers.insert(header::CONTENT_ENCODING, encoding);
            }
            head.headers
                .insert(header::CONTENT_TYPE, dialect.content_type());
            payload
        }
        _ => {
            head.status = http_status(status.code());
            head.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Bytes::from(error_json(&status).to_string())
        }
    };
    // A unary body is whole: say its length rather than chunk it.
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    http::Response::from_parts(head, Body::once(body, None))
}

/// The end-of-stream envelope (flag `0x02`): the error, if any, and the
/// trailing metadata.
pub(super) fn end_stream(status: &Status, trailers: &HeaderMap) -> Bytes {
    let mut end = Map::new();
    if status.code() != Code::Ok {
        end.insert("error".into(), error_json(status));
    }
    let mut metadata = Map::new();
    for (name, value) in super::custom_metadata(trailers) {
        let values = metadata
            .entry(name.as_str())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let (Value::Array(values), Ok(value)) = (values, value.to_str()) {
            values.push(Value::String(value.to_owned()));
        }
    }
    if !metadata.is_empty() {
        end.insert("metadata".into(), Value::Object(metadata));
    }
    frame(0x02, Value::Object(end).to_string().as_bytes())
}

/// Connect's error JSON: code, message and the details of
/// `grpc-status-details-bin` (a `google.rpc.Status`) as `type`/`value`.
pub(crate) fn error_json(status: &Status) -> Value {
    let mut error = Map::new();
    error.insert("code".into(), json!(code_name(status.code())));
    if !status.message().is_empty() {
        error.insert("message".into(), json!(status.message()));
    }
    let details: Vec<Value> = status
        .error_details()
        .into_iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or(&any.type_url);
            json!({
                "type": name,
                "value": base64::engine::general_purpose::STANDARD_NO_PAD.encode(&any.value),
            })
        })
        .collect();
    if !details.is_empty() {
        error.insert("details".into(), Value::Array(details));
    }
    Value::Object(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_name_and_an_http_status() {
        assert_eq!(code_name(Code::Cancelled), "canceled");
        assert_eq!(http_status(Code::Cancelled).as_u16(), 499);
        assert_eq!(
            http_status(Code::ResourceExhausted),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            http_status(Code::Unimplemented),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(http_status(Code::Unauthenticated), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn queries_decode_percent_and_plus() {
        let params: Vec<_> =
            query_params("message=%7B%22a%22%3A1%7D&encoding=json&x=a+b").collect();
        assert_eq!(params[0], ("message".into(), b"{\"a\":1}".to_vec()));
        assert_eq!(params[2], ("x".into(), b"a b".to_vec()));
        assert_eq!(get_codec("encoding=proto&message=").unwrap(), Codec::Proto);
        assert!(get_codec("encoding=xml").is_none());
        let mut encoding = None;
        assert_eq!(
            &get_message("base64=1&message=CgJoaQ", &mut encoding).unwrap()[..],
            b"\n\x02hi"
        );
        assert_eq!(
            &get_message("message=CgJoaQ%3D%3D&base64=1", &mut encoding).unwrap()[..],
            b"\n\x02hi"
        );
    }

    #[test]
    fn errors_carry_details_by_type_name() {
        let any = crate::types::Any {
            type_url: "type.googleapis.com/grpc.testing.EchoStatus".into(),
            value: vec![8, 2],
            ..Default::default()
        };
        let status = Status::unknown("boom").with_error_details([any]);
        assert_eq!(
            error_json(&status),
            json!({"code": "unknown", "message": "boom", "details": [{"type": "grpc.testing.EchoStatus", "value": "CAI"}]})
        );
        let end = end_stream(&Status::new(Code::Ok, ""), &HeaderMap::new());
        assert_eq!(&end[..], b"\x02\0\0\0\x02{}");
    }
}
