//! Binary logs (`grpc.binarylog.v1`, gRFC A16): calls of a server
//! ([`Server::binary_log`](crate::Server::binary_log)) or a channel
//! ([`Endpoint::binary_log`](crate::client::Endpoint::binary_log)) written
//! as `GrpcLogEntry` records — client header, each message, half-close,
//! server header, trailer or cancel — for auditing and replay, chosen by
//! A16's filter strings (`*`, `Service/*`, `Service/Method{h:256;m:1024}`,
//! `-Service/Method`).
//!
//! ```
//! use protocall::binlog::{BinaryLog, FileSink};
//! # fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let log = BinaryLog::new("*{h:4096;m:1024},-grpc.health.v1.Health/Check", FileSink::create("/tmp/calls.binlog")?)?;
//! let server = protocall::Server::builder().binary_log(log);
//! # let _ = server; Ok(()) }
//! ```
//!
//! Messages are logged as the application sees them (decompressed);
//! metadata without gRPC's own headers, transport headers
//! and credentials (`authorization`, `cookie`), but always with
//! `grpc-trace-bin`.

use std::collections::HashMap;
use std::io::Write as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;

include!("services/grpc.binarylog.v1.rs");

use crate::Message as _;
use crate::enumeration::EnumValue;
use crate::grpc::Body;
use crate::grpc::Encoding;
use crate::grpc::Status;
use crate::grpc::frame::{Piece, Prefixes};
pub(crate) use grpc_log_entry::Logger;
use grpc_log_entry::{EventType, Payload};

/// How much of a call to log: header and message bytes (`None`: all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limits {
    header: Option<usize>,
    message: Option<usize>,
}

const ALL: Limits = Limits {
    header: None,
    message: None,
};

/// An A16 filter string, parsed.
#[derive(Clone, Debug, Default)]
struct Filter {
    default: Option<Limits>,
    services: HashMap<String, Limits>,
    methods: HashMap<String, Limits>,
    excluded: Vec<String>,
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let mut filter = Filter::default();
        for pattern in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(method) = pattern.strip_prefix('-') {
                if method.contains('{') || method.ends_with("/*") || !is_method(method) {
                    return Err(format!(
                        "{pattern:?}: an exclusion names one method, Service/Method"
                    ));
                }
                filter.excluded.push(method.to_owned());
                continue;
            }
            let (name, limits) = match pattern.find('{') {
                Some(at) => (
                    &pattern[..at],
                    limits(&pattern[at..]).map_err(|e| format!("{pattern:?}: {e}"))?,
                ),
                None => (pattern, ALL),
            };
            if name == "*" {
                if filter.default.replace(limits).is_some() {
                    return Err(format!("{pattern:?}: a second global default"));
                }
            } else if let Some(service) = name.strip_suffix("/*") {
                if service.is_empty() || service.contains('/') || service == "*" {
                    return Err(format!("{pattern:?}: not Service/*"));
                }
                filter.services.insert(service.to_owned(), limits);
            } else if is_method(name) {
                filter.methods.insert(name.to_owned(), limits);
            } else {
                return Err(format!(
                    "{pattern:?}: expected *, Service/*, Service/Method or -Service/Method"
                ));
            }
        }
        Ok(filter)
    }

    /// The limits for `service/method`, if it is logged: the most exact
    /// pattern wins.
    fn limits(&self, path: &str) -> Option<Limits> {
        let name = path.strip_prefix('/').unwrap_or(path);
        if self.excluded.iter().any(|m| m == name) {
            return None;
        }
        if let Some(limits) = self.methods.get(name) {
            return Some(*limits);
        }
        let service = name.split_once('/').map_or(name, |(s, _)| s);
        self.services.get(service).copied().or(self.default)
    }
}

fn is_method(name: &str) -> bool {
    matches!(name.split_once('/'), Some((s, m)) if !s.is_empty() && !m.is_empty() && s != "*" && m != "*" && !m.contains('/'))
}

/// `{h[:N]}`, `{m[:N]}` or `{h[:N];m[:N]}`: what is named is logged (all of
/// it, or N bytes), what is not is left out.
fn limits(config: &str) -> Result<Limits, String> {
    let inner = config
        .strip_prefix('{')
        .and_then(|c| c.strip_suffix('}'))
        .ok_or("the config is not {…}")?;
    let mut limits = Limits {
        header: Some(0),
        message: Some(0),
    };
    let parts: Vec<&str> = inner.split(';').collect();
    if parts.len() > 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("{config:?}: expected h, m or h;m"));
    }
    for (i, part) in parts.iter().enumerate() {
        let (kind, size) = match part.split_once(':') {
            Some((kind, digits)) => (
                kind,
                Some(
                    digits
                        .parse::<usize>()
                        .map_err(|_| format!("{digits:?} is not a length"))?,
                ),
            ),
            None => (*part, None),
        };
        match (kind, i) {
            ("h", 0) => limits.header = size,
            ("m", _) => limits.message = size,
            _ => return Err(format!("{part:?}: expected h[:N] first, then m[:N]")),
        }
    }
    Ok(limits)
}

/// Where log entries go.
pub trait Sink: Send + Sync + 'static {
    /// Writes one entry.
    fn write(&self, entry: &GrpcLogEntry);
}

/// A file of length-delimited `GrpcLogEntry` records (each preceded by its
/// length as a varint, as protobuf's `writeDelimitedTo` and grpc-java's
/// sink write them), flushed after each entry.
#[derive(Debug)]
pub struct FileSink {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
}

impl FileSink {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<std::path::Path>) -> std::io::Result<FileSink> {
        Ok(FileSink {
            file: Mutex::new(std::io::BufWriter::new(std::fs::File::create(path)?)),
        })
    }
}

impl Sink for FileSink {
    fn write(&self, entry: &GrpcLogEntry) {
        let bytes = entry.encode_length_delimited_to_vec();
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = file.write_all(&bytes).and_then(|()| file.flush()) {
            tracing::warn!(%error, "binary log: writing an entry failed");
        }
    }
}

/// A binary log: a filter and a sink ([`Server::binary_log`](crate::Server::binary_log)).
#[derive(Clone)]
pub struct BinaryLog {
    filter: Arc<Filter>,
    sink: Arc<dyn Sink>,
    next_call: Arc<AtomicU64>,
}

impl std::fmt::Debug for BinaryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryLog")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl BinaryLog {
    /// Logs the calls `filter` (an A16 filter string) chooses into `sink`.
    /// A malformed filter is an error naming the pattern (A16: the process
    /// must refuse to start).
    ///
    /// ```
    /// use protocall::binlog::{BinaryLog, FileSink};
    /// # let sink = FileSink::create(std::env::temp_dir().join("protocall-doc.binlog")).unwrap();
    /// assert!(BinaryLog::new("*/Method", sink).is_err());
    /// ```
    pub fn new(filter: &str, sink: impl Sink) -> Result<BinaryLog, Status> {
        let filter = Filter::parse(filter)
            .map_err(|e| Status::invalid_argument(format!("binary log filter: {e}")))?;
        Ok(BinaryLog {
            filter: Arc::new(filter),
            sink: Arc::new(sink),
            next_call: Arc::new(AtomicU64::new(1)),
        })
    }

    /// Logs the call `request` starts (received by a server, or sent by a
    /// channel), if the filter chooses it: its client header now, the rest
    /// as its bodies pass.
    pub(crate) fn call(
        &self,
        request: http::Request<Body>,
        logger: Logger,
    ) -> (http::Request<Body>, Option<Arc<CallLog>>) {
        let Some(limits) = self.filter.limits(request.uri().path()) else {
            return (request, None);
        };
        let call = Arc::new(CallLog {
            log: self.clone(),
            limits,
            logger,
            id: self.next_call.fetch_add(1, Relaxed),
            sequence: AtomicU64::new(0),
        });
        let (parts, body) = request.into_parts();
        let timeout = parts
            .headers
            .get(crate::grpc::headers::GRPC_TIMEOUT)
            .and_then(|v| crate::grpc::timeout::parse(v.as_bytes()).ok())
            .and_then(|d| crate::types::Duration::try_from(d).ok());
        let (metadata, truncated) = metadata(&parts.headers, limits.header);
        // A server logs its peer on the client header; a channel would on
        // the server header, but which connection carries the call is not
        // known at the call's level.
        let peer = parts
            .extensions
            .get::<crate::grpc::RemoteAddr>()
            .filter(|_| logger == Logger::Server)
            .map(|a| address(a.0));
        call.write(
            EventType::ClientHeader,
            truncated,
            peer,
            Payload::ClientHeader(ClientHeader {
                metadata: Some(metadata),
                method_name: parts.uri.path().to_owned(),
                authority: parts
                    .uri
                    .authority()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                timeout,
                ..Default::default()
            }),
        );
        let body = Body::new(Logged::new(
            body,
            call.clone(),
            EventType::ClientMessage,
            &parts.headers,
        ));
        (http::Request::from_parts(parts, body), Some(call))
    }
}

/// Logs a cancel when dropped armed: a call whose handler never answered.
pub(crate) struct CancelOnDrop(Option<Arc<CallLog>>);

impl CancelOnDrop {
    pub(crate) fn new(call: Arc<CallLog>) -> CancelOnDrop {
        CancelOnDrop(Some(call))
    }

    pub(crate) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(call) = self.0.take() {
            call.cancel();
        }
    }
}

/// One logged call.
pub(crate) struct CallLog {
    log: BinaryLog,
    limits: Limits,
    logger: Logger,
    id: u64,
    sequence: AtomicU64,
}

impl CallLog {
    fn write(&self, kind: EventType, truncated: bool, peer: Option<Address>, payload: Payload) {
        self.entry(kind, truncated, peer, Some(payload));
    }

    /// Writes the call's next entry.
    fn entry(
        &self,
        kind: EventType,
        truncated: bool,
        peer: Option<Address>,
        payload: Option<Payload>,
    ) {
        let entry = GrpcLogEntry {
            timestamp: Some(std::time::SystemTime::now().into()),
            call_id: self.id,
            sequence_id_within_call: self.sequence.fetch_add(1, Relaxed) + 1,
            r#type: EnumValue::Known(kind),
            logger: EnumValue::Known(self.logger),
            payload_truncated: truncated,
            peer,
            payload,
            ..Default::default()
        };
        self.log.sink.write(&entry);
    }

    /// A call that ended before a response: the status the library gave
    /// the application, as its trailer (A16).
    pub(crate) fn failed(&self, status: &Status) {
        let mut headers = http::HeaderMap::new();
        status.write_to(&mut headers);
        self.trailer(&headers, None);
    }

    /// Logs the response's header (or, trailers-only, its trailer) and
    /// watches its body for messages and the trailer.
    pub(crate) fn response(
        self: Arc<Self>,
        response: http::Response<Body>,
    ) -> http::Response<Body> {
        let (parts, body) = response.into_parts();
        // A channel logs its peer on the first event from the server.
        let peer = parts
            .extensions
            .get::<crate::grpc::RemoteAddr>()
            .filter(|_| self.logger == Logger::Client)
            .map(|a| address(a.0));
        if parts
            .headers
            .contains_key(crate::grpc::headers::GRPC_STATUS)
        {
            self.trailer(&parts.headers, peer);
            return http::Response::from_parts(parts, body);
        }
        let (metadata, truncated) = metadata(&parts.headers, self.limits.header);
        self.write(
            EventType::ServerHeader,
            truncated,
            peer,
            Payload::ServerHeader(ServerHeader {
                metadata: Some(metadata),
                ..Default::default()
            }),
        );
        let body = Body::new(Logged::new(
            body,
            self,
            EventType::ServerMessage,
            &parts.headers,
        ));
        http::Response::from_parts(parts, body)
    }

    fn trailer(&self, headers: &http::HeaderMap, peer: Option<Address>) {
        let status =
            Status::from_headers(headers).unwrap_or_else(|| Status::unknown("no grpc-status"));
        let (metadata, truncated) = metadata(headers, self.limits.header);
        self.write(
            EventType::ServerTrailer,
            truncated,
            peer,
            Payload::Trailer(Trailer {
                metadata: Some(metadata),
                status_code: status.code() as u32,
                status_message: status.message().to_owned(),
                status_details: status.details().to_vec(),
                ..Default::default()
            }),
        );
    }

    fn cancel(&self) {
        self.entry(EventType::Cancel, false, None, None);
    }
}

/// The application's metadata in `headers`, within `limit` bytes of keys
/// and values (then truncated).
fn metadata(headers: &http::HeaderMap, limit: Option<usize>) -> (Metadata, bool) {
    let mut entries = Vec::new();
    let mut size = 0;
    let mut truncated = false;
    for (name, value) in headers {
        let key = name.as_str();
        if key == "grpc-trace-bin" {
            // Always logged, never counted (A16).
            entries.push(entry(key, value));
            continue;
        }
        let transport = matches!(
            key,
            "content-type"
                | "te"
                | "user-agent"
                | "content-encoding"
                | "content-length"
                | "host"
                | "authorization"
                | "cookie"
        );
        if key.starts_with("grpc-") || transport {
            continue;
        }
        size += key.len() + value.len();
        if limit.is_some_and(|limit| size > limit) {
            truncated = true;
            continue;
        }
        entries.push(entry(key, value));
    }
    (
        Metadata {
            entry: entries,
            ..Default::default()
        },
        truncated,
    )
}

fn entry(key: &str, value: &http::HeaderValue) -> MetadataEntry {
    let value = if key.ends_with("-bin") {
        crate::grpc::metadata::decode_base64(value.as_bytes())
            .unwrap_or_else(|_| value.as_bytes().to_vec())
    } else {
        value.as_bytes().to_vec()
    };
    MetadataEntry {
        key: key.to_owned(),
        value,
        ..Default::default()
    }
}

fn address(addr: std::net::SocketAddr) -> Address {
    let kind = if addr.is_ipv4() {
        address::Type::Ipv4
    } else {
        address::Type::Ipv6
    };
    Address {
        r#type: EnumValue::Known(kind),
        address: addr.ip().to_string(),
        ip_port: u32::from(addr.port()),
        ..Default::default()
    }
}

pin_project_lite::pin_project! {
    /// A body whose messages are logged as they complete, and its end: the
    /// request's half-close, the response's trailer, or a cancel.
    struct Logged {
        #[pin]
        body: Body,
        call: Arc<CallLog>,
        kind: EventType,
        prefixes: Prefixes,
        // The body's grpc-encoding, for its compressed messages.
        encoding: Option<Encoding>,
        // The message being read: its length, whether it is compressed,
        // and the bytes kept of it.
        length: usize,
        compressed: bool,
        kept: Vec<u8>,
        ended: bool,
    }

    impl PinnedDrop for Logged {
        fn drop(this: Pin<&mut Self>) {
            if !this.ended && this.kind == EventType::ServerMessage {
                this.call.cancel();
            }
        }
    }
}

impl Logged {
    fn new(body: Body, call: Arc<CallLog>, kind: EventType, headers: &http::HeaderMap) -> Logged {
        let encoding = headers
            .get(crate::grpc::headers::GRPC_ENCODING)
            .and_then(|v| Encoding::from_name(v.to_str().ok()?));
        Logged {
            body,
            call,
            kind,
            prefixes: Prefixes::default(),
            encoding,
            length: 0,
            compressed: false,
            kept: Vec::new(),
            ended: false,
        }
    }
}

/// The most compressed bytes kept to log a message uncompressed; a larger
/// one is logged as it came, truncated.
const MAX_COMPRESSED: usize = 16 << 20;

/// A finished message as logged: decompressed when it came compressed
/// (A16 logs messages as the application sees them), then cut to `limit`.
/// Returns its length, the bytes logged, and whether they are all of it.
fn logged_message(
    kept: Vec<u8>,
    wire_length: usize,
    compressed: Option<Encoding>,
    limit: usize,
) -> (usize, Vec<u8>, bool) {
    let whole = kept.len() == wire_length;
    if let (Some(encoding), true) = (compressed, whole)
        && let Ok(plain) = encoding.decompress(&kept, MAX_COMPRESSED * 8)
    {
        let length = plain.len();
        let data = plain[..length.min(limit)].to_vec();
        let truncated = data.len() < length;
        return (length, data, truncated);
    }
    let mut data = kept;
    data.truncate(limit);
    let truncated = data.len() < wire_length;
    (wire_length, data, truncated)
}

impl http_body::Body for Logged {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let mut this = self.project();
        let frame = std::task::ready!(this.body.as_mut().poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    let limit = this.call.limits.message.unwrap_or(usize::MAX);
                    let (call, kind, encoding) = (&*this.call, *this.kind, *this.encoding);
                    let (length, kept) = (&mut *this.length, &mut *this.kept);
                    let compressed = &mut *this.compressed;
                    let _ = this.prefixes.walk::<()>(data, |piece| {
                        match piece {
                            Piece::Start {
                                length: n,
                                compressed: c,
                            } => {
                                *length = n;
                                *compressed = c && encoding.is_some();
                                kept.clear();
                            }
                            Piece::Payload(bytes) => {
                                // A compressed message is kept whole (to
                                // be decompressed), within a bound.
                                let room = if *compressed { MAX_COMPRESSED } else { limit };
                                let keep = bytes.len().min(room.saturating_sub(kept.len()));
                                kept.extend_from_slice(&bytes[..keep]);
                            }
                            Piece::End => {
                                let encoding = encoding.filter(|_| *compressed);
                                let (n, data, truncated) =
                                    logged_message(std::mem::take(kept), *length, encoding, limit);
                                call.write(
                                    kind,
                                    truncated,
                                    None,
                                    Payload::Message(Message {
                                        length: n as u32,
                                        data,
                                        ..Default::default()
                                    }),
                                );
                            }
                        }
                        Ok(())
                    });
                }
                // A sender's body may say it has ended without a last poll
                // (hyper sends END_STREAM with the last data then).
                if *this.kind == EventType::ClientMessage
                    && !*this.ended
                    && this.body.is_end_stream()
                {
                    *this.ended = true;
                    this.call
                        .entry(EventType::ClientHalfClose, false, None, None);
                }
                if let Some(trailers) = frame.trailers_ref()
                    && *this.kind == EventType::ServerMessage
                {
                    *this.ended = true;
                    this.call.trailer(trailers, None);
                }
            }
            Some(Err(_)) => {}
            None => {
                if *this.kind == EventType::ClientMessage && !*this.ended {
                    *this.ended = true;
                    this.call
                        .entry(EventType::ClientHalfClose, false, None, None);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_pick_the_most_exact_pattern() {
        let filter = Filter::parse("*{h:10},Foo/*{m:256},Foo/Bar,-Foo/Baz").unwrap();
        let all = ALL;
        assert_eq!(filter.limits("/Foo/Bar"), Some(all));
        assert_eq!(
            filter.limits("/Foo/Qux"),
            Some(Limits {
                header: Some(0),
                message: Some(256)
            })
        );
        assert_eq!(filter.limits("/Foo/Baz"), None);
        assert_eq!(
            filter.limits("/Other/Method"),
            Some(Limits {
                header: Some(10),
                message: Some(0)
            })
        );
        assert_eq!(Filter::parse("").unwrap().limits("/Foo/Bar"), None);
        assert_eq!(Filter::parse("*{h;m}").unwrap().limits("/A/B"), Some(all));
    }

    #[test]
    fn malformed_filters_are_refused() {
        for bad in [
            "*/Bar",
            "-Foo/*",
            "Foo",
            "Foo/Bar{x}",
            "Foo/Bar{m;h}",
            "*,*",
            "Foo/Bar{h:ten}",
            "-Foo/Bar{h}",
        ] {
            assert!(Filter::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metadata_leaves_out_grpc_transport_and_credentials_but_keeps_trace_bin() {
        let mut headers = http::HeaderMap::new();
        for (k, v) in [
            ("content-type", "application/grpc"),
            ("grpc-timeout", "1S"),
            ("authorization", "Bearer x"),
            ("x-user", "ada"),
            ("grpc-trace-bin", "AAE"),
            ("x-big", "0123456789"),
        ] {
            headers.insert(k, http::HeaderValue::from_static(v));
        }
        let (metadata, truncated) = metadata(&headers, Some(12));
        let keys: Vec<&str> = metadata.entry.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["x-user", "grpc-trace-bin"]);
        assert!(truncated, "x-big is over the 12-byte limit");
        assert_eq!(metadata.entry[1].value, [0, 1]);
    }
}
