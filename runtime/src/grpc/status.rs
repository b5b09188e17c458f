//! [`Status`] and [`Code`]: the outcome of a gRPC call.

use super::headers::{GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS};
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;

use super::metadata::Metadata;

/// The 17 gRPC status codes (grpc/grpc `doc/statuscodes.md`).
///
/// ```
/// use protocall::{Code, Status};
/// let status = Status::new(Code::NotFound, "no user 42");
/// assert_eq!(status.code() as i32, 5);
/// assert_eq!(status.code().to_string(), "NOT_FOUND");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Code {
    /// Not an error.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// Unknown error, e.g. an error from another address space.
    Unknown = 2,
    /// The client specified an invalid argument.
    InvalidArgument = 3,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded = 4,
    /// Some requested entity was not found.
    NotFound = 5,
    /// The entity the client tried to create already exists.
    AlreadyExists = 6,
    /// The caller lacks permission for the operation.
    PermissionDenied = 7,
    /// Some resource has been exhausted (quota, message size, …).
    ResourceExhausted = 8,
    /// The system is not in a state required for the operation.
    FailedPrecondition = 9,
    /// The operation was aborted, typically due to a concurrency issue.
    Aborted = 10,
    /// The operation was attempted past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or supported.
    Unimplemented = 12,
    /// An invariant expected by the system was broken.
    Internal = 13,
    /// The service is currently unavailable; retrying may succeed.
    Unavailable = 14,
    /// Unrecoverable data loss or corruption.
    DataLoss = 15,
    /// The request lacks valid authentication credentials.
    Unauthenticated = 16,
}

impl Code {
    /// The code for a numeric value; unknown numbers map to `Unknown`, as the
    /// spec requires.
    ///
    /// ```
    /// use protocall::Code;
    /// assert_eq!(Code::from_i32(14), Code::Unavailable);
    /// assert_eq!(Code::from_i32(99), Code::Unknown);
    /// ```
    pub fn from_i32(value: i32) -> Code {
        match value {
            0 => Code::Ok,
            1 => Code::Cancelled,
            2 => Code::Unknown,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The canonical name, e.g. `DEADLINE_EXCEEDED`.
    ///
    /// ```
    /// use protocall::Code;
    /// assert_eq!(Code::DeadlineExceeded.as_str(), "DEADLINE_EXCEEDED");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The code a client reports for a non-200 HTTP status without
    /// `grpc-status` (grpc/grpc `doc/http-grpc-status-mapping.md`).
    ///
    /// ```
    /// use protocall::Code;
    /// assert_eq!(Code::from_http(http::StatusCode::NOT_FOUND), Code::Unimplemented);
    /// assert_eq!(Code::from_http(http::StatusCode::SERVICE_UNAVAILABLE), Code::Unavailable);
    /// ```
    pub fn from_http(status: http::StatusCode) -> Code {
        match status.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a gRPC call: a code, a message, optional binary details
/// (`grpc-status-details-bin`), trailing metadata, and the error that
/// caused it when there was one.
///
/// ```
/// use protocall::{Code, Status};
/// let status = Status::not_found("no user 42");
/// assert_eq!(status.code(), Code::NotFound);
/// assert_eq!(status.message(), "no user 42");
/// assert_eq!(status.to_string(), "NOT_FOUND: no user 42");
/// ```
#[derive(Clone)]
pub struct Status {
    // Boxed: results carrying a status stay one pointer wide on the error side.
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    details: Bytes,
    metadata: Metadata,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {$(
        $(#[$doc])*
        ///
        #[doc = concat!(
            "```\n",
            "use protocall::{Code, Status};\n",
            "let status = Status::", stringify!($name), "(\"what happened\");\n",
            "assert_eq!(status.code(), Code::", stringify!($code), ");\n",
            "assert_eq!(status.message(), \"what happened\");\n",
            "```",
        )]
        pub fn $name(message: impl Into<String>) -> Status {
            Status::new(Code::$code, message)
        }
    )*};
}

impl Status {
    /// A status with `code` and `message`.
    ///
    /// ```
    /// use protocall::{Code, Status};
    /// let status = Status::new(Code::Aborted, format!("retry in {}s", 3));
    /// assert_eq!(status.to_string(), "ABORTED: retry in 3s");
    /// ```
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status {
            inner: Box::new(Inner {
                code,
                message: message.into(),
                details: Bytes::new(),
                metadata: Metadata::new(),
                source: None,
            }),
        }
    }

    constructors! {
        /// `CANCELLED`.
        cancelled => Cancelled,
        /// `UNKNOWN`.
        unknown => Unknown,
        /// `INVALID_ARGUMENT`.
        invalid_argument => InvalidArgument,
        /// `DEADLINE_EXCEEDED`.
        deadline_exceeded => DeadlineExceeded,
        /// `NOT_FOUND`.
        not_found => NotFound,
        /// `ALREADY_EXISTS`.
        already_exists => AlreadyExists,
        /// `PERMISSION_DENIED`.
        permission_denied => PermissionDenied,
        /// `RESOURCE_EXHAUSTED`.
        resource_exhausted => ResourceExhausted,
        /// `FAILED_PRECONDITION`.
        failed_precondition => FailedPrecondition,
        /// `ABORTED`.
        aborted => Aborted,
        /// `OUT_OF_RANGE`.
        out_of_range => OutOfRange,
        /// `UNIMPLEMENTED`.
        unimplemented => Unimplemented,
        /// `INTERNAL`.
        internal => Internal,
        /// `UNAVAILABLE`.
        unavailable => Unavailable,
        /// `DATA_LOSS`.
        data_loss => DataLoss,
        /// `UNAUTHENTICATED`.
        unauthenticated => Unauthenticated,
    }

    /// A status carrying the error that caused it (see [`Status::source_error`]).
    ///
    /// ```
    /// use protocall::{Code, Status};
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let status = Status::from_error(Code::Unavailable, "connect failed", io);
    /// assert!(status.source_error().unwrap().to_string().contains("refused"));
    /// ```
    pub fn from_error(
        code: Code,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Status {
        let mut status = Status::new(code, message);
        status.inner.source = Some(Arc::new(source));
        status
    }

    /// Like [`Status::from_error`] with an already boxed source.
    pub(crate) fn from_boxed(
        code: Code,
        message: impl Into<String>,
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    ) -> Status {
        let mut status = Status::new(code, message);
        status.inner.source = Some(Arc::from(source));
        status
    }

    /// Attaches binary details (sent as `grpc-status-details-bin`, usually an
    /// encoded `google.rpc.Status`).
    ///
    /// ```
    /// use protocall::Status;
    /// let status = Status::internal("boom").with_details(vec![0x08, 0x0d]);
    /// assert_eq!(status.details(), [0x08, 0x0d]);
    /// ```
    pub fn with_details(mut self, details: impl Into<Bytes>) -> Status {
        self.inner.details = details.into();
        self
    }

    /// Attaches typed error details: `details` become the `details` of a
    /// `google.rpc.Status` with this status's code and message, sent as
    /// `grpc-status-details-bin` (gRPC, gRPC-Web) or as the `details` of
    /// Connect's error JSON.
    ///
    /// ```
    /// use protocall::{Message, Status, types::{Any, Duration}};
    /// let retry = Any {
    ///     type_url: "type.googleapis.com/google.protobuf.Duration".into(),
    ///     value: Duration { seconds: 5, ..Default::default() }.encode_to_vec(),
    ///     ..Default::default()
    /// };
    /// let status = Status::unavailable("busy").with_error_details([retry.clone()]);
    /// assert_eq!(status.error_details(), [retry]);
    /// ```
    pub fn with_error_details(
        self,
        details: impl IntoIterator<Item = crate::types::Any>,
    ) -> Status {
        use crate::message::Message as _;
        use crate::wire::{WireType, put_key, put_varint};
        let mut out = Vec::new();
        put_key(1, WireType::Varint, &mut out);
        put_varint(self.inner.code as i32 as u64, &mut out);
        let mut put_len = |number: u32, bytes: &[u8]| {
            put_key(number, WireType::LengthDelimited, &mut out);
            put_varint(bytes.len() as u64, &mut out);
            out.extend_from_slice(bytes);
        };
        if !self.inner.message.is_empty() {
            put_len(2, self.inner.message.as_bytes());
        }
        for detail in details {
            put_len(3, &detail.encode_to_vec());
        }
        self.with_details(out)
    }

    /// The typed error details: the `details` of the `google.rpc.Status`
    /// in [`Status::details`] (none when the details are not one).
    ///
    /// ```
    /// use protocall::Status;
    /// assert!(Status::internal("boom").error_details().is_empty());
    /// ```
    pub fn error_details(&self) -> Vec<crate::types::Any> {
        use crate::message::Message as _;
        use crate::wire::WireType;
        let mut out = Vec::new();
        let mut decoder = crate::decoder::Decoder::new(
            &self.inner.details,
            crate::decoder::DEFAULT_RECURSION_LIMIT,
        );
        while !decoder.is_empty() {
            let Ok((number, wire_type)) = decoder.read_key() else {
                return Vec::new();
            };
            if number == 3 && wire_type == WireType::LengthDelimited {
                match decoder.read_bytes().map(crate::types::Any::decode) {
                    Ok(Ok(any)) => out.push(any),
                    _ => return Vec::new(),
                }
            } else if decoder.skip_field(number, wire_type, None).is_err() {
                return Vec::new();
            }
        }
        out
    }

    /// Attaches trailing metadata.
    ///
    /// ```
    /// use protocall::{Metadata, Status};
    /// let mut metadata = Metadata::new();
    /// metadata.insert("retry-after", "5").unwrap();
    /// let status = Status::unavailable("busy").with_metadata(metadata);
    /// assert_eq!(status.metadata().get("retry-after"), Some("5"));
    /// ```
    pub fn with_metadata(mut self, metadata: Metadata) -> Status {
        self.inner.metadata = metadata;
        self
    }

    /// The status code.
    ///
    /// ```
    /// use protocall::{Code, Status};
    /// assert_eq!(Status::data_loss("gone").code(), Code::DataLoss);
    /// ```
    pub fn code(&self) -> Code {
        self.inner.code
    }

    /// The human-readable message.
    ///
    /// ```
    /// use protocall::Status;
    /// assert_eq!(Status::not_found("no user 42").message(), "no user 42");
    /// ```
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The binary details, empty when none were sent.
    ///
    /// ```
    /// use protocall::Status;
    /// assert!(Status::internal("boom").details().is_empty());
    /// ```
    pub fn details(&self) -> &[u8] {
        &self.inner.details
    }

    /// Trailing metadata sent with the status.
    ///
    /// ```
    /// use protocall::Status;
    /// assert!(Status::internal("boom").metadata().is_empty());
    /// ```
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// Trailing metadata, for adding entries.
    ///
    /// ```
    /// use protocall::Status;
    /// let mut status = Status::resource_exhausted("quota");
    /// status.metadata_mut().insert("x-quota", "0").unwrap();
    /// assert_eq!(status.metadata().get("x-quota"), Some("0"));
    /// ```
    pub fn metadata_mut(&mut self) -> &mut Metadata {
        &mut self.inner.metadata
    }

    /// The error this status was made from, if any.
    ///
    /// ```
    /// use protocall::{Code, Status};
    /// assert!(Status::internal("boom").source_error().is_none());
    /// let io = std::io::Error::other("disk full");
    /// let status = Status::from_error(Code::Internal, "write failed", io);
    /// assert_eq!(status.source_error().unwrap().to_string(), "disk full");
    /// ```
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// Writes `grpc-status`, `grpc-message`, `grpc-status-details-bin` and
    /// the status metadata into `headers`.
    pub(crate) fn write_to(&self, headers: &mut HeaderMap) {
        let inner = &self.inner;
        inner.metadata.write_to(headers);
        headers.insert(GRPC_STATUS, http::HeaderValue::from(inner.code as i32));
        if !inner.message.is_empty()
            && let Ok(value) = http::HeaderValue::from_str(&percent_encode(&inner.message))
        {
            headers.insert(GRPC_MESSAGE, value);
        }
        if !inner.details.is_empty() {
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&inner.details);
            if let Ok(value) = http::HeaderValue::from_str(&encoded) {
                headers.insert(GRPC_STATUS_DETAILS, value);
            }
        }
    }

    /// Reads a status from trailers (or trailers-only headers), if
    /// `grpc-status` is present.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<Status> {
        let value = headers.get(GRPC_STATUS)?;
        let code = match parse_code(value) {
            Some(code) => code,
            None => {
                return Some(Status::unknown(format!(
                    "malformed grpc-status header: {value:?}"
                )));
            }
        };
        let message = headers
            .get(GRPC_MESSAGE)
            .map(|v| percent_decode(v.as_bytes()))
            .unwrap_or_default();
        let details = headers
            .get(GRPC_STATUS_DETAILS)
            .and_then(|v| super::metadata::decode_base64(v.as_bytes()).ok())
            .map(Bytes::from)
            .unwrap_or_default();
        let mut status = Status::new(code, message).with_details(details);
        status.inner.metadata = Metadata::from_headers(headers);
        Some(status)
    }
}

/// The code a `grpc-status` value carries; `None` when it is not a number.
pub(crate) fn parse_code(value: &http::HeaderValue) -> Option<Code> {
    let code = value.to_str().ok()?.trim().parse::<i32>().ok()?;
    Some(Code::from_i32(code))
}

/// Percent-encodes a `grpc-message`: bytes outside printable ASCII and `%`
/// itself become `%XX` (grpc/grpc `doc/PROTOCOL-HTTP2.md`).
pub(crate) fn percent_encode(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for &byte in message.as_bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Reverses [`percent_encode`]; malformed escapes are kept as written, and
/// invalid UTF-8 is replaced, as the spec asks of receivers.
pub(crate) fn percent_decode(encoded: &[u8]) -> String {
    let mut out = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        if encoded[i] == b'%' && i + 2 < encoded.len() {
            let hex = std::str::from_utf8(&encoded[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(encoded[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut debug = f.debug_struct("Status");
        debug
            .field("code", &inner.code)
            .field("message", &inner.message);
        if !inner.details.is_empty() {
            debug.field("details", &inner.details);
        }
        if !inner.metadata.is_empty() {
            debug.field("metadata", &inner.metadata);
        }
        if let Some(source) = &inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inner.message.is_empty() {
            write!(f, "{}", self.inner.code)
        } else {
            write!(f, "{}: {}", self.inner.code, self.inner.message)
        }
    }
}

impl std::error::Error for Status {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<crate::error::DecodeError> for Status {
    fn from(error: crate::error::DecodeError) -> Status {
        Status::from_error(Code::Internal, error.to_string(), error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_percent_encoding_round_trips_unicode_and_controls() {
        let message = "\t\ntest with whitespace\r\nand Unicode BMP ☺ and non-BMP 😈\t\n 100%";
        let encoded = percent_encode(message);
        assert!(encoded.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert!(encoded.contains("%25"));
        assert_eq!(percent_decode(encoded.as_bytes()), message);
    }

    #[test]
    fn malformed_escapes_are_kept() {
        assert_eq!(percent_decode(b"a%zz%4"), "a%zz%4");
        assert_eq!(percent_decode(b"%41%"), "A%");
    }

    #[test]
    fn status_round_trips_through_headers() {
        let mut metadata = Metadata::new();
        metadata.insert("x-extra", "1").unwrap();
        let status = Status::new(Code::Aborted, "née ✓")
            .with_details(&b"\x00\x01"[..])
            .with_metadata(metadata);
        let mut headers = HeaderMap::new();
        status.write_to(&mut headers);
        let back = Status::from_headers(&headers).unwrap();
        assert_eq!(back.code(), Code::Aborted);
        assert_eq!(back.message(), "née ✓");
        assert_eq!(back.details(), b"\x00\x01");
        assert_eq!(back.metadata().get("x-extra"), Some("1"));
    }

    #[test]
    fn http_status_mapping() {
        assert_eq!(
            Code::from_http(http::StatusCode::NOT_FOUND),
            Code::Unimplemented
        );
        assert_eq!(
            Code::from_http(http::StatusCode::SERVICE_UNAVAILABLE),
            Code::Unavailable
        );
        assert_eq!(
            Code::from_http(http::StatusCode::IM_A_TEAPOT),
            Code::Unknown
        );
    }
}
