//! Server settings shared by every call.

use std::sync::Arc;
use std::time::Duration;

use super::service::Interceptor;
use crate::grpc::compression::{Encoding, SUPPORTED};
use crate::grpc::frame::DEFAULT_MAX_DECODE;
use crate::grpc::web::Protocols;

/// Settings read by the call handlers.
#[derive(Clone)]
pub(crate) struct ServerConfig {
    pub(crate) max_decode: usize,
    /// Limits of decoding requests (recursion, memory budget).
    pub(crate) decode: crate::DecodeOptions,
    pub(crate) max_encode: usize,
    /// Encodings accepted on requests.
    pub(crate) accept: Vec<Encoding>,
    /// Encoding for responses, when the client accepts it.
    pub(crate) send: Option<Encoding>,
    pub(crate) interceptors: Vec<Arc<dyn Interceptor>>,
    /// Upper bound on any call's duration, client deadline or not.
    pub(crate) timeout: Option<Duration>,
    /// `grpc-accept-encoding` for `accept`, computed once.
    pub(crate) accept_header: http::HeaderValue,
    /// The protocols answered (gRPC, gRPC-Web, Connect).
    pub(crate) protocols: Protocols,
    /// Where calls' A66 metrics go, if anywhere.
    pub(crate) metrics: Option<crate::grpc::metrics::Metrics>,
    /// The binary log, if any.
    pub(crate) binary_log: Option<crate::binlog::BinaryLog>,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_decode", &self.max_decode)
            .field("decode", &self.decode)
            .field("max_encode", &self.max_encode)
            .field("accept", &self.accept)
            .field("send", &self.send)
            .field("interceptors", &self.interceptors.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_decode: DEFAULT_MAX_DECODE,
            decode: crate::DecodeOptions::new(),
            max_encode: usize::MAX,
            accept: SUPPORTED.to_vec(),
            send: None,
            interceptors: Vec::new(),
            timeout: None,
            accept_header: crate::grpc::compression::accept_value(SUPPORTED),
            protocols: Protocols::default(),
            metrics: None,
            binary_log: None,
        }
    }
}

/// HTTP/2 settings of the server's connections.
#[derive(Clone, Debug)]
pub(crate) struct Http2Config {
    pub(crate) max_concurrent_streams: Option<u32>,
    pub(crate) max_header_list_size: u32,
    pub(crate) initial_stream_window_size: Option<u32>,
    pub(crate) initial_connection_window_size: Option<u32>,
    pub(crate) keepalive_interval: Option<Duration>,
    pub(crate) keepalive_timeout: Duration,
    pub(crate) max_pending_accept_reset_streams: usize,
    pub(crate) max_local_error_reset_streams: usize,
    pub(crate) max_frame_size: Option<u32>,
    /// Response bytes h2 may queue per stream beyond what the socket took.
    pub(crate) max_send_buf_size: usize,
    /// How long a new connection may take to finish TLS (if any) and send
    /// the HTTP/2 preface.
    pub(crate) handshake_timeout: Duration,
    /// Connections served at once; more are closed as they arrive.
    pub(crate) max_connections: Option<usize>,
    /// HTTP/1.1 served beside HTTP/2 (gRPC-Web and Connect need it).
    pub(crate) accept_http1: bool,
    /// How long a connection lives before it is drained (±10% jitter).
    pub(crate) max_connection_age: Option<Duration>,
    /// How long a connection drained for its age may finish its calls.
    pub(crate) max_connection_age_grace: Option<Duration>,
    /// How long a connection may go without calls before it is drained.
    pub(crate) max_connection_idle: Option<Duration>,
    /// The keepalive pings clients may send (`None`: any).
    pub(crate) ping_policy: Option<super::ping_policy::PingPolicy>,
    /// Bytes of incomplete request messages one connection may hold
    /// across its streams (`None`: no limit but each message's own).
    pub(crate) max_buffered_message_bytes: Option<usize>,
}

impl Default for Http2Config {
    fn default() -> Self {
        Http2Config {
            // Bounded so one connection cannot open unlimited handlers.
            max_concurrent_streams: Some(1024),
            // gRPC's customary metadata limit is 8 KiB; leave headroom.
            max_header_list_size: 16 * 1024,
            initial_stream_window_size: Some(1024 * 1024),
            initial_connection_window_size: Some(2 * 1024 * 1024),
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            // Rapid-reset defence: a bounded number of streams reset before
            // being accepted; room for a legitimate burst of cancels.
            max_pending_accept_reset_streams: 200,
            // A lifetime count per connection (h2 never lowers it): h2's
            // 1024 ended healthy connections after ~150,000 mixed calls.
            max_local_error_reset_streams: 100_000,
            max_frame_size: None,
            // hyper's own default. With `max_concurrent_streams` it bounds
            // what a connection whose peer stops reading can hold queued.
            max_send_buf_size: 400 * 1024,
            // A connection that says nothing holds a socket and a task:
            // give it what a slow network needs, not forever.
            handshake_timeout: Duration::from_secs(10),
            max_connections: None,
            accept_http1: true,
            max_connection_age: None,
            max_connection_age_grace: None,
            max_connection_idle: None,
            // As grpc's servers: pings at most every 5 minutes, none
            // without calls.
            ping_policy: Some(super::ping_policy::PingPolicy::default()),
            // 16 messages of the default 4 MiB limit at once; without a
            // cap, 1,024 streams × 4 MiB = 4 GiB per connection.
            max_buffered_message_bytes: Some(64 << 20),
        }
    }
}
