//! The gRPC interop test server written with tonic: `grpc.testing.TestService`
//! as grpc/grpc `doc/interop-test-descriptions.md` ("Server") describes it.
//!
//! ```text
//! cargo run -p protocall-peer-tonic --bin tonic-interop-server -- --port=10000 [--use_tls=false]
//! ```
//!
//! It listens on 127.0.0.1 (loopback only; `--port=0` picks a free port)
//! and prints `tonic-interop-server listening on 127.0.0.1:PORT` once it
//! accepts calls. Plaintext only: `--use_tls=true` is refused (exit 2).
//! Other `--flag=value` arguments are ignored; anything else is a usage
//! error (exit 2).
//!
//! Server features: EmptyCall, UnaryCall, CacheableUnaryCall (without the
//! caching proxy), StreamingOutputCall, StreamingInputCall, FullDuplexCall,
//! HalfDuplexCall, CompressedRequest, Echo Status, Echo Metadata and
//! `interval_us`; UnimplementedCall and unknown services answer
//! `UNIMPLEMENTED`. CompressedResponse holds for unary calls (gzip when
//! `response_compressed` is true, uncompressed otherwise); a response
//! stream is compressed as a whole whenever the client accepts gzip, since
//! tonic has no per-message switch. CompressedRequest and the echoed
//! trailing metadata go through the wire tap (`protocall_peer_tonic::wire`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use protocall_peer_tonic::grpc::testing::test_service_server::{TestService, TestServiceServer};
use protocall_peer_tonic::grpc::testing::{
    BoolValue, EchoStatus, Empty, Payload, PayloadType, ResponseParameters, SimpleRequest,
    SimpleResponse, StreamingInputCallRequest, StreamingInputCallResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use protocall_peer_tonic::wire::{ServerTapLayer, Wire};
use protocall_peer_tonic::{ECHO_INITIAL, flags, parse_bool};
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Request, Response, Status, Streaming};

/// The response stream of the streaming methods.
type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<StreamingOutputCallResponse, Status>> + Send + 'static>>;

struct Interop;

/// Echo Metadata, initial half: `x-grpc-test-echo-initial` goes back as
/// initial metadata (the wire tap echoes the trailing key).
fn echo_initial(request: &MetadataMap) -> MetadataMap {
    let mut leading = MetadataMap::new();
    if let Some(value) = request.get(ECHO_INITIAL) {
        leading.insert(ECHO_INITIAL, value.clone());
    }
    leading
}

/// The status a request's `response_status` asks for (code 0 is OK).
fn requested_status(status: Option<&EchoStatus>) -> Option<Status> {
    status
        .filter(|s| s.code != 0)
        .map(|s| Status::new(Code::from_i32(s.code), s.message.clone()))
}

/// A payload of `size` zero bytes of the requested type.
fn payload(kind: i32, size: i32) -> Result<Payload, Status> {
    if PayloadType::try_from(kind) != Ok(PayloadType::Compressable) {
        return Err(Status::invalid_argument(format!(
            "unsupported response_type {kind}"
        )));
    }
    let size = usize::try_from(size)
        .map_err(|_| Status::invalid_argument(format!("negative response size {size}")))?;
    Ok(Payload {
        r#type: kind,
        body: vec![0; size],
    })
}

fn wants(flag: Option<&BoolValue>) -> bool {
    flag.is_some_and(|b| b.value)
}

/// The call's wire record (the tap puts one in every request).
fn wire<T>(request: &Request<T>) -> Wire {
    request
        .extensions()
        .get::<Wire>()
        .cloned()
        .unwrap_or_default()
}

/// CompressedRequest: `INVALID_ARGUMENT` when the client promised a
/// compressed message that arrived uncompressed.
fn check_compressed(expected: Option<&BoolValue>, compressed: Option<bool>) -> Result<(), Status> {
    if wants(expected) && compressed != Some(true) {
        return Err(Status::invalid_argument(
            "expected a compressed request message, got an uncompressed one",
        ));
    }
    Ok(())
}

/// One streamed response, after its `interval_us`.
async fn respond(
    kind: i32,
    params: &ResponseParameters,
) -> Result<StreamingOutputCallResponse, Status> {
    if params.interval_us > 0 {
        tokio::time::sleep(Duration::from_micros(params.interval_us as u64)).await;
    }
    Ok(StreamingOutputCallResponse {
        payload: Some(payload(kind, params.size)?),
    })
}

/// Sends the responses `request` asks for; `false` once the call is over
/// (the client went away, or a response failed).
async fn respond_all(
    responses: &mpsc::Sender<Result<StreamingOutputCallResponse, Status>>,
    request: &StreamingOutputCallRequest,
) -> bool {
    for params in &request.response_parameters {
        let response = respond(request.response_type, params).await;
        let failed = response.is_err();
        if responses.send(response).await.is_err() || failed {
            return false;
        }
    }
    true
}

/// FullDuplexCall (answer each request as it comes) and HalfDuplexCall
/// (read every request, then answer them in order).
fn duplex(
    request: Request<Streaming<StreamingOutputCallRequest>>,
    buffer_all: bool,
) -> Response<ResponseStream> {
    let leading = echo_initial(request.metadata());
    let mut requests = request.into_inner();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut buffered = Vec::new();
        loop {
            let request = match requests.message().await {
                Ok(Some(request)) => request,
                Ok(None) => break,
                Err(status) => {
                    let _ = tx.send(Err(status)).await;
                    return;
                }
            };
            // Echo Status: end the call with it, reading nothing more.
            if let Some(status) = requested_status(request.response_status.as_ref()) {
                let _ = tx.send(Err(status)).await;
                return;
            }
            if buffer_all {
                buffered.push(request);
            } else if !respond_all(&tx, &request).await {
                return;
            }
        }
        for request in &buffered {
            if !respond_all(&tx, request).await {
                return;
            }
        }
    });
    let mut response = Response::new(Box::pin(ReceiverStream::new(rx)) as ResponseStream);
    *response.metadata_mut() = leading;
    response
}

#[tonic::async_trait]
impl TestService for Interop {
    async fn empty_call(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let mut response = Response::new(Empty {});
        *response.metadata_mut() = echo_initial(request.metadata());
        Ok(response)
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        let wire = wire(&request);
        let leading = echo_initial(request.metadata());
        let message = request.into_inner();
        check_compressed(message.expect_compressed.as_ref(), wire.compressed(0))?;
        if let Some(status) = requested_status(message.response_status.as_ref()) {
            return Err(status);
        }
        let mut response = Response::new(SimpleResponse {
            payload: Some(payload(message.response_type, message.response_size)?),
            ..Default::default()
        });
        // Compressed (when the client accepts gzip) only if asked for.
        if !wants(message.response_compressed.as_ref()) {
            response.disable_compression();
        }
        *response.metadata_mut() = leading;
        Ok(response)
    }

    async fn cacheable_unary_call(
        &self,
        _request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        // A payload that differs per call: the time in nanoseconds.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut response = Response::new(SimpleResponse {
            payload: Some(Payload {
                r#type: PayloadType::Compressable as i32,
                body: now.to_string().into_bytes(),
            }),
            ..Default::default()
        });
        response.metadata_mut().insert(
            "cache-control",
            "max-age=60, public".parse().expect("ASCII"),
        );
        Ok(response)
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let leading = echo_initial(request.metadata());
        let message = request.into_inner();
        if let Some(status) = requested_status(message.response_status.as_ref()) {
            return Err(status);
        }
        let kind = message.response_type;
        let stream = futures_util::stream::unfold(
            message.response_parameters.into_iter(),
            move |mut params| async move {
                let next = params.next()?;
                Some((respond(kind, &next).await, params))
            },
        );
        let mut response = Response::new(Box::pin(stream) as ResponseStream);
        *response.metadata_mut() = leading;
        Ok(response)
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let wire = wire(&request);
        let leading = echo_initial(request.metadata());
        let mut requests = request.into_inner();
        let mut total: usize = 0;
        let mut index = 0;
        while let Some(message) = requests.message().await? {
            // The tap has seen this message's prefix before tonic decoded it.
            check_compressed(message.expect_compressed.as_ref(), wire.compressed(index))?;
            total += message.payload.as_ref().map_or(0, |p| p.body.len());
            index += 1;
        }
        let total = i32::try_from(total)
            .map_err(|_| Status::out_of_range("aggregated payload size overflows int32"))?;
        let mut response = Response::new(StreamingInputCallResponse {
            aggregated_payload_size: total,
        });
        *response.metadata_mut() = leading;
        Ok(response)
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(duplex(request, false))
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(duplex(request, true))
    }

    async fn unimplemented_call(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<Empty>, Status> {
        Err(Status::unimplemented(
            "grpc.testing.TestService/UnimplementedCall is not implemented, on purpose",
        ))
    }
}

const USAGE: &str = "usage: tonic-interop-server --port=PORT [--use_tls=false]";

/// The port to listen on.
fn parse_args(args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = None;
    for (flag, value) in flags(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        match flag.as_str() {
            "port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| format!("--port: invalid port {value:?}"))?,
                )
            }
            "use_tls" if parse_bool(&flag, &value)? => {
                return Err(format!(
                    "--use_tls=true: this peer serves plaintext only\n{USAGE}"
                ));
            }
            "use_tls" => {}
            _ => eprintln!("tonic-interop-server: ignoring --{flag}={value}"),
        }
    }
    port.ok_or_else(|| format!("--port is required\n{USAGE}"))
}

#[tokio::main]
async fn main() {
    let port = match parse_args(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("tonic-interop-server: {message}");
            std::process::exit(2);
        }
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tonic-interop-server: cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    // Tests wait for this line; print it only once the socket accepts.
    println!("tonic-interop-server listening on {local}");
    let service = TestServiceServer::new(Interop)
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip);
    let serve = tonic::transport::Server::builder()
        .layer(ServerTapLayer)
        .add_service(service)
        .serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true)));
    if let Err(error) = serve.await {
        eprintln!("tonic-interop-server: {error}");
        std::process::exit(1);
    }
}
