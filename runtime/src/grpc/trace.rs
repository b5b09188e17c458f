//! Trace context as it crosses a call: W3C Trace Context (`traceparent`,
//! `tracestate`) and, for peers of the OpenCensus era, `grpc-trace-bin`.
//!
//! A server reads the caller's context from the request headers, gives
//! its call a span of the same trace, and makes that context current
//! while the handler runs; a client call made there (or given a context
//! in its request's extensions) sends a child of it. So a chain of calls
//! through protocall and other gRPC implementations that propagate W3C
//! context (grpc-go, grpc-java, Python's OpenTelemetry instrumentation)
//! keeps one trace id.

use std::fmt;

use http::{HeaderMap, HeaderName, HeaderValue};

/// `traceparent`: version, trace id, parent (span) id, flags.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
/// `tracestate`: vendor entries, passed on as they came.
const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
/// The binary context of OpenCensus-era gRPC (base64 in HTTP/2).
const GRPC_TRACE_BIN: HeaderName = HeaderName::from_static("grpc-trace-bin");

/// The trace a call belongs to: a trace id, the id of the span that sent
/// (or handles) it, the sampled flag and the vendors' `tracestate`.
///
/// ```
/// use protocall::trace::TraceContext;
/// let parent = TraceContext::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(parent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// assert!(parent.sampled());
/// let child = parent.child();
/// assert_eq!(child.trace_id(), parent.trace_id());
/// assert_ne!(child.span_id(), parent.span_id());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    state: Option<HeaderValue>,
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("trace_id", &self.trace_id())
            .field("span_id", &self.span_id())
            .field("sampled", &self.sampled())
            .finish_non_exhaustive()
    }
}

/// The `traceparent` of the context.
impl fmt::Display for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id(),
            self.span_id(),
            self.flags
        )
    }
}

tokio::task_local! {
    static CURRENT: TraceContext;
}

impl TraceContext {
    /// A new trace (random ids), sampled or not: where a chain of calls
    /// starts.
    ///
    /// ```
    /// let root = protocall::trace::TraceContext::new_root(true);
    /// assert_eq!(root.trace_id().len(), 32);
    /// ```
    pub fn new_root(sampled: bool) -> TraceContext {
        TraceContext {
            trace_id: nonzero(|| fastrand::u128(..).to_be_bytes()),
            span_id: new_span_id(),
            flags: u8::from(sampled),
            state: None,
        }
    }

    /// A new span of the same trace, its parent this one: what a call
    /// sent from here carries.
    pub fn child(&self) -> TraceContext {
        TraceContext {
            span_id: new_span_id(),
            ..self.clone()
        }
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span_id)
    }

    /// The sampled flag: the caller records this trace.
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }

    /// The vendors' `tracestate`, as received.
    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_ref().and_then(|v| v.to_str().ok())
    }

    /// Parses a W3C `traceparent`. Versions after 00 are read by their
    /// version-00 part, as the W3C spec asks; all-zero ids, upper-case hex
    /// and version `ff` are invalid.
    ///
    /// ```
    /// use protocall::trace::TraceContext;
    /// assert!(TraceContext::parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
    /// assert!(TraceContext::parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some());
    /// ```
    pub fn parse_traceparent(text: &str) -> Option<TraceContext> {
        let b = text.as_bytes();
        if b.len() < 55 || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let version = unhex::<1>(&b[0..2])?[0];
        let well_sized = match version {
            0xff => false,
            0 => b.len() == 55,
            _ => b.len() == 55 || b[55] == b'-',
        };
        if !well_sized {
            return None;
        }
        let trace_id = unhex::<16>(&b[3..35]).filter(|id| *id != [0; 16])?;
        let span_id = unhex::<8>(&b[36..52]).filter(|id| *id != [0; 8])?;
        let flags = unhex::<1>(&b[53..55])?[0];
        Some(TraceContext {
            trace_id,
            span_id,
            flags,
            state: None,
        })
    }

    /// Parses `grpc-trace-bin` (already base64-decoded): version 0, then
    /// fields 0 (trace id), 1 (span id) and 2 (options) in that order.
    pub fn from_grpc_trace_bin(bytes: &[u8]) -> Option<TraceContext> {
        let rest = bytes.strip_prefix(&[0])?;
        let rest = rest.strip_prefix(&[0])?;
        let trace_id: [u8; 16] = rest.get(..16)?.try_into().ok()?;
        let rest = rest[16..].strip_prefix(&[1])?;
        let span_id: [u8; 8] = rest.get(..8)?.try_into().ok()?;
        let flags = match rest[8..].strip_prefix(&[2]) {
            Some(options) => *options.first()?,
            None => 0,
        };
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceContext {
            trace_id,
            span_id,
            flags,
            state: None,
        })
    }

    /// The context as `grpc-trace-bin` bytes (before base64).
    pub fn to_grpc_trace_bin(&self) -> [u8; 29] {
        let mut out = [0; 29];
        out[2..18].copy_from_slice(&self.trace_id);
        out[18] = 1;
        out[19..27].copy_from_slice(&self.span_id);
        out[27] = 2;
        out[28] = self.flags & 1;
        out
    }

    /// The caller's context in request headers: `traceparent` (with its
    /// `tracestate`), else `grpc-trace-bin`.
    pub fn from_headers(headers: &HeaderMap) -> Option<TraceContext> {
        if let Some(parent) = headers.get(TRACEPARENT) {
            let mut context = TraceContext::parse_traceparent(parent.to_str().ok()?.trim())?;
            context.state = headers.get(TRACESTATE).cloned();
            return Some(context);
        }
        let binary = headers.get(GRPC_TRACE_BIN)?;
        let bytes = crate::grpc::metadata::decode_base64(binary.as_bytes()).ok()?;
        TraceContext::from_grpc_trace_bin(&bytes)
    }

    /// Writes `traceparent` and `tracestate` (and `grpc-trace-bin` when
    /// `binary`) into request headers.
    pub fn write_to(&self, headers: &mut HeaderMap, binary: bool) {
        if let Ok(value) = HeaderValue::from_str(&self.to_string()) {
            headers.insert(TRACEPARENT, value);
        }
        match &self.state {
            Some(state) => headers.insert(TRACESTATE, state.clone()),
            None => headers.remove(TRACESTATE),
        };
        if binary {
            let value = crate::grpc::metadata::encode_base64(&self.to_grpc_trace_bin());
            headers.insert(GRPC_TRACE_BIN, value);
        }
    }

    #[cfg(feature = "opentelemetry")]
    pub(crate) fn trace_id_bytes(&self) -> [u8; 16] {
        self.trace_id
    }

    #[cfg(feature = "opentelemetry")]
    pub(crate) fn span_id_bytes(&self) -> [u8; 8] {
        self.span_id
    }

    /// A context from its parts (an OpenTelemetry span's).
    #[cfg(feature = "opentelemetry")]
    pub(crate) fn from_parts(
        trace_id: [u8; 16],
        span_id: [u8; 8],
        flags: u8,
        state: Option<String>,
    ) -> TraceContext {
        TraceContext {
            trace_id,
            span_id,
            flags,
            state: state.and_then(|s| HeaderValue::from_str(&s).ok()),
        }
    }

    /// The context of the server call being handled on this task, if its
    /// caller sent one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use protocall::trace::TraceContext;
    /// assert!(TraceContext::current().is_none());
    /// let root = TraceContext::new_root(true);
    /// let seen = root.clone().scope(async { TraceContext::current() }).await;
    /// assert_eq!(seen, Some(root));
    /// # }
    /// ```
    pub fn current() -> Option<TraceContext> {
        CURRENT.try_with(|context| context.clone()).ok()
    }

    /// Runs `future` with this context current: calls it sends carry a
    /// child of it. (A task it spawns starts without one.)
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
    }
}

fn new_span_id() -> [u8; 8] {
    nonzero(|| fastrand::u64(..).to_be_bytes())
}

/// A random id that is not all zeros (which W3C reserves as invalid).
fn nonzero<const N: usize>(random: impl Fn() -> [u8; N]) -> [u8; N] {
    loop {
        let id = random();
        if id != [0; N] {
            return id;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Lowercase hex (W3C rejects upper case) into `N` bytes.
fn unhex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    if digits.len() != 2 * N {
        return None;
    }
    let value = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut out = [0; N];
    for (i, pair) in digits.chunks_exact(2).enumerate() {
        out[i] = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_round_trips() {
        let context = TraceContext::parse_traceparent(PARENT).unwrap();
        assert_eq!(context.to_string(), PARENT);
        assert_eq!(context.span_id(), "00f067aa0ba902b7");
    }

    #[test]
    fn invalid_traceparents_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            assert!(TraceContext::parse_traceparent(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn grpc_trace_bin_round_trips() {
        let context = TraceContext::parse_traceparent(PARENT).unwrap();
        let bytes = context.to_grpc_trace_bin();
        assert_eq!(&bytes[..2], &[0, 0]);
        assert_eq!(TraceContext::from_grpc_trace_bin(&bytes), Some(context));
        assert!(TraceContext::from_grpc_trace_bin(&bytes[..20]).is_none());
        assert!(TraceContext::from_grpc_trace_bin(&[1; 29]).is_none());
    }

    #[test]
    fn headers_carry_traceparent_tracestate_and_the_binary_form() {
        let mut headers = HeaderMap::new();
        headers.insert(TRACEPARENT, HeaderValue::from_static(PARENT));
        headers.insert(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
        let context = TraceContext::from_headers(&headers).unwrap();
        assert_eq!(context.tracestate(), Some("congo=t61rcWkgMzE"));

        let child = context.child();
        let mut out = HeaderMap::new();
        child.write_to(&mut out, true);
        let sent = TraceContext::from_headers(&out).unwrap();
        assert_eq!(sent, child);
        out.remove(TRACEPARENT);
        let binary = TraceContext::from_headers(&out).unwrap();
        assert_eq!(binary.span_id(), child.span_id());
        assert_eq!(binary.trace_id(), context.trace_id());
    }
}
