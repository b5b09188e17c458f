//! `bench.Bench` from `../proto/bench.proto` served by connect-rust's
//! published `connectrpc` crate (0.9.1, buffa message types), the peer of
//! `grpc_server protocall PORT` in `scripts/bench-web.sh`.
//!
//! ```text
//! connectrpc_server PORT
//! ```
//!
//! The handlers answer as `benches/src/bin/grpc_server.rs` does: `GetUser`
//! echoes the request's `id` with the fixed `name` and `email` of
//! `benches/src/grpc.rs` (`USER_NAME`, `USER_EMAIL`, copied below), `Echo`
//! returns the request's payload, `Stream` sends `count` items of `size`
//! bytes of 0x5a (the same upper bounds, the same `invalid_argument` beyond
//! them).
//!
//! Settings, as grpc_server's: a multi-thread tokio runtime with 2 workers;
//! 127.0.0.1:PORT; HTTP/2 with prior knowledge (h2c) and HTTP/1.1 on the
//! same port (connectrpc's built-in hyper-util "auto" server); TCP_NODELAY
//! (connectrpc sets it on every accepted socket); 1024 concurrent streams
//! per connection; 1 MiB stream and 2 MiB connection flow-control windows
//! (set explicitly, which also turns off connectrpc's default adaptive BDP
//! window sizing); a graceful stop on SIGTERM or SIGINT. All of these can be
//! set through connectrpc's `BoundServer`; what differs and cannot be
//! aligned from here is connectrpc's own defaults elsewhere, which are left
//! as they are: its header-read timeout (HTTP/1.1 only), its default message
//! size limits, and its compression registry (gzip and zstd, both compiled
//! in; the benchmark's requests ask for neither).

// The handlers return concrete messages where the generated trait says
// `impl Encodable<_>`, as connectrpc's own examples do.
#![allow(refining_impl_trait)]

use std::net::SocketAddr;
use std::sync::Arc;

use connectrpc::{
    ConnectError, RequestContext, Response, ServiceRequest, ServiceResult, ServiceStream,
};

mod proto {
    connectrpc::include_generated!();
}

use proto::bench::{
    Bench, EchoMessage, GetUserRequest, GetUserResponse, StreamItem, StreamRequest,
};

/// `benches/src/grpc.rs`'s `USER_NAME`: keep the two equal.
const USER_NAME: &str = "Ada Lovelace";
/// `benches/src/grpc.rs`'s `USER_EMAIL`: keep the two equal.
const USER_EMAIL: &str = "ada@example.com";

/// Upper bounds on what a `Stream` request may ask for (as grpc_server's).
const MAX_COUNT: u32 = 100_000;
const MAX_SIZE: u32 = 1 << 20;

struct ConnectBench;

impl Bench for ConnectBench {
    async fn get_user(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, GetUserRequest>,
    ) -> ServiceResult<GetUserResponse> {
        Response::ok(GetUserResponse {
            id: request.id,
            name: USER_NAME.into(),
            email: USER_EMAIL.into(),
            ..Default::default()
        })
    }

    async fn echo(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, EchoMessage>,
    ) -> ServiceResult<EchoMessage> {
        Response::ok(EchoMessage {
            payload: request.payload.to_vec(),
            ..Default::default()
        })
    }

    async fn stream(
        &self,
        _ctx: RequestContext,
        request: ServiceRequest<'_, StreamRequest>,
    ) -> ServiceResult<ServiceStream<StreamItem>> {
        let (count, size) = (request.count, request.size);
        if count > MAX_COUNT || size > MAX_SIZE {
            return Err(ConnectError::invalid_argument("count or size too large"));
        }
        let payload = vec![0x5a_u8; size as usize];
        Response::stream_ok(futures::stream::iter((0..count).map(move |seq| {
            Ok(StreamItem {
                seq,
                payload: payload.clone(),
                ..Default::default()
            })
        })))
    }
}

/// Completes on SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

fn usage() -> ! {
    eprintln!("usage: connectrpc_server PORT");
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port] = args.as_slice() else { usage() };
    let port: u16 = port.parse().unwrap_or_else(|_| usage());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let router = connectrpc::Router::new().add_service(Arc::new(ConnectBench));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("connectrpc serving bench.Bench on {addr}");
        connectrpc::Server::from_listener(listener)
            .with_max_concurrent_streams(1024)
            .with_http2_initial_stream_window_size(1 << 20)
            .with_http2_initial_connection_window_size(2 << 20)
            .serve_with_graceful_shutdown(router, stop_signal())
            .await
    })
}
