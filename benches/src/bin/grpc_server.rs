//! One gRPC server for the server benchmark: `bench.Bench` from
//! `proto/bench.proto`, served by protocall or by tonic with the same
//! handlers and the same settings.
//!
//! ```text
//! grpc_server protocall|tonic PORT
//! ```
//!
//! Both run on a multi-thread tokio runtime with 2 workers, listen on
//! 127.0.0.1:PORT (h2c, TCP_NODELAY), allow 1024 concurrent streams per
//! connection with 1 MiB stream and 2 MiB connection windows (protocall's
//! defaults, set explicitly on tonic), and stop gracefully on SIGTERM or
//! SIGINT, so profilers such as callgrind see a normal exit.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use protocall_benches::grpc::{USER_EMAIL, USER_NAME, pc, tn};
use tokio_stream::Stream;

/// `count` items made by `make(seq, payload)`, each ready at once.
struct Items<T> {
    next: u32,
    count: u32,
    payload: Vec<u8>,
    make: fn(u32, &[u8]) -> T,
}

impl<T> Items<T> {
    fn new(count: u32, size: u32, make: fn(u32, &[u8]) -> T) -> Items<T> {
        Items {
            next: 0,
            count,
            payload: vec![0x5a; size as usize],
            make,
        }
    }
}

impl<T> Stream for Items<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        if this.next == this.count {
            return Poll::Ready(None);
        }
        let item = (this.make)(this.next, &this.payload);
        this.next += 1;
        Poll::Ready(Some(item))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.count - self.next) as usize;
        (left, Some(left))
    }
}

/// Upper bounds on what a `Stream` request may ask for.
const MAX_COUNT: u32 = 100_000;
const MAX_SIZE: u32 = 1 << 20;

struct ProtocallBench;

impl pc::bench_server::Bench for ProtocallBench {
    async fn get_user(
        &self,
        request: protocall::Request<pc::GetUserRequest>,
    ) -> Result<protocall::Response<pc::GetUserResponse>, protocall::Status> {
        Ok(protocall::Response::new(pc::GetUserResponse {
            id: request.into_inner().id,
            name: USER_NAME.into(),
            email: USER_EMAIL.into(),
            ..Default::default()
        }))
    }

    async fn echo(
        &self,
        request: protocall::Request<pc::EchoMessage>,
    ) -> Result<protocall::Response<pc::EchoMessage>, protocall::Status> {
        Ok(protocall::Response::new(request.into_inner()))
    }

    type StreamStream = Items<Result<pc::StreamItem, protocall::Status>>;

    async fn stream(
        &self,
        request: protocall::Request<pc::StreamRequest>,
    ) -> Result<protocall::Response<Self::StreamStream>, protocall::Status> {
        let request = request.into_inner();
        if request.count > MAX_COUNT || request.size > MAX_SIZE {
            return Err(protocall::Status::invalid_argument(
                "count or size too large",
            ));
        }
        Ok(protocall::Response::new(Items::new(
            request.count,
            request.size,
            |seq, payload| {
                Ok(pc::StreamItem {
                    seq,
                    payload: payload.to_vec(),
                    ..Default::default()
                })
            },
        )))
    }
}

struct TonicBench;

#[tonic::async_trait]
impl tn::bench_server::Bench for TonicBench {
    async fn get_user(
        &self,
        request: tonic::Request<tn::GetUserRequest>,
    ) -> Result<tonic::Response<tn::GetUserResponse>, tonic::Status> {
        Ok(tonic::Response::new(tn::GetUserResponse {
            id: request.into_inner().id,
            name: USER_NAME.into(),
            email: USER_EMAIL.into(),
        }))
    }

    async fn echo(
        &self,
        request: tonic::Request<tn::EchoMessage>,
    ) -> Result<tonic::Response<tn::EchoMessage>, tonic::Status> {
        Ok(tonic::Response::new(request.into_inner()))
    }

    type StreamStream = Items<Result<tn::StreamItem, tonic::Status>>;

    async fn stream(
        &self,
        request: tonic::Request<tn::StreamRequest>,
    ) -> Result<tonic::Response<Self::StreamStream>, tonic::Status> {
        let request = request.into_inner();
        if request.count > MAX_COUNT || request.size > MAX_SIZE {
            return Err(tonic::Status::invalid_argument("count or size too large"));
        }
        Ok(tonic::Response::new(Items::new(
            request.count,
            request.size,
            |seq, payload| {
                Ok(tn::StreamItem {
                    seq,
                    payload: payload.to_vec(),
                })
            },
        )))
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
    eprintln!("usage: grpc_server protocall|tonic PORT");
    std::process::exit(2);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, port] = args.as_slice() else {
        usage()
    };
    let port: u16 = port.parse().unwrap_or_else(|_| usage());
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match server.as_str() {
            "protocall" => {
                let listener = tokio::net::TcpListener::bind(addr).await?;
                eprintln!("protocall serving bench.Bench on {addr}");
                let mut server = protocall::Server::builder();
                // `PROTOCALL_PING_POLICY=off`: without keepalive enforcement,
                // to measure what watching the frames costs.
                if std::env::var("PROTOCALL_PING_POLICY").as_deref() == Ok("off") {
                    server = server.permit_keepalive_time(std::time::Duration::ZERO);
                }
                // `PROTOCALL_METRICS=on`: A66 metrics recorded for every
                // call, to measure what they cost.
                if std::env::var("PROTOCALL_METRICS").as_deref() == Ok("on") {
                    server = server.metrics(protocall::metrics::Metrics::new());
                }
                server
                    .add_service(pc::bench_server::BenchServer::new(ProtocallBench))
                    .serve_with_listener(listener, stop_signal())
                    .await?;
            }
            "tonic" => {
                eprintln!("tonic serving bench.Bench on {addr}");
                tonic::transport::Server::builder()
                    .tcp_nodelay(true)
                    .max_concurrent_streams(1024)
                    .initial_stream_window_size(1 << 20)
                    .initial_connection_window_size(2 << 20)
                    .add_service(tn::bench_server::BenchServer::new(TonicBench))
                    .serve_with_shutdown(addr, stop_signal())
                    .await?;
            }
            _ => usage(),
        }
        Ok(())
    })
}
