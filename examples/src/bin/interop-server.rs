//! The gRPC interop test server: `grpc.testing.TestService` as grpc/grpc
//! `doc/interop-test-descriptions.md` ("Server") describes it.
//!
//! ```text
//! cargo run -p protocall-examples --bin interop-server -- --port=10000 [--use_tls=false]
//! ```
//!
//! It listens on 127.0.0.1 (loopback only; `--port=0` picks a free port)
//! and prints `interop-server listening on 127.0.0.1:PORT` once it accepts
//! calls. With `--use_tls=true` it serves TLS with the certificate and key
//! named by `--tls_cert_file` and `--tls_key_file` (PEM).
//!
//! Server features: EmptyCall, UnaryCall, CacheableUnaryCall (without the
//! caching proxy), StreamingOutputCall, StreamingInputCall, FullDuplexCall,
//! HalfDuplexCall, CompressedRequest, CompressedResponse, Echo Status, Echo
//! Metadata and `interval_us`. UnimplementedCall answers `UNIMPLEMENTED`.
//! The same port serves gRPC-Web and Connect (CORS open to any origin) and
//! server reflection (`grpc.reflection.v1` and `v1alpha`);
//! `--protocols=grpc,grpcweb,connect` names the protocols answered (all by
//! default), so a test can prove which one a client speaks.
//!
//! For fleet tests: `--host=127.0.0.2` listens on another loopback address
//! (loopback only), `--server_id=ID` is returned in `SimpleResponse.server_id`
//! when a request sets `fill_server_id` (the listening address by default),
//! and `grpc.health.v1.Health` reports the overall status (`""`) and
//! `grpc.testing.TestService`, which `grpc.testing.XdsUpdateHealthService`'s
//! `SetServing`/`SetNotServing` switch.
//!

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use protocall::tls::{Identity, ServerTlsConfig};
use protocall::web::{Cors, Protocol};
use protocall::{
    Code, Metadata, Request, Response, Server, Status, Streaming, compression::Encoding,
    compression::RequestCompressed, server::Stream,
};
use protocall_examples::flags;
use protocall_examples::grpc::testing::test_service_server::{TestService, TestServiceServer};
use protocall_examples::grpc::testing::xds_update_health_service_server::{
    XdsUpdateHealthService, XdsUpdateHealthServiceServer,
};
use protocall_examples::grpc::testing::{
    BoolValue, EchoStatus, Empty, Payload, PayloadType, ResponseParameters, SimpleRequest,
    SimpleResponse, StreamingInputCallRequest, StreamingInputCallResponse,
    StreamingOutputCallRequest, StreamingOutputCallResponse,
};

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";

/// The response stream of the streaming methods.
type ResponseStream =
    Pin<Box<dyn Stream<Item = Result<StreamingOutputCallResponse, Status>> + Send + 'static>>;

struct Interop {
    server_id: String,
}

/// `grpc.testing.XdsUpdateHealthService`: switches what the health service
/// reports, so a test can turn a backend unhealthy.
struct HealthSwitch(protocall::health::HealthReporter);

impl HealthSwitch {
    fn set(&self, status: protocall::health::ServingStatus) {
        self.0.set_status("", status);
        self.0.set_status("grpc.testing.TestService", status);
    }
}

impl XdsUpdateHealthService for HealthSwitch {
    async fn set_serving(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        self.set(protocall::health::ServingStatus::Serving);
        Ok(Response::new(Empty::default()))
    }

    async fn set_not_serving(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        self.set(protocall::health::ServingStatus::NotServing);
        Ok(Response::new(Empty::default()))
    }
}

/// Copies the echo keys of `request` into leading and trailing metadata.
fn echo_metadata(request: &Metadata, leading: &mut Metadata, trailing: &mut Metadata) {
    if let Some(value) = request.get(ECHO_INITIAL) {
        // The value came in as valid metadata, so it goes back out as such.
        let _ = leading.insert(ECHO_INITIAL, value);
    }
    if let Some(value) = request.get_bin(ECHO_TRAILING) {
        let _ = trailing.insert_bin(ECHO_TRAILING, value);
    }
}

/// The status a request's `response_status` asks for, if any (code 0 is OK).
fn requested_status(status: Option<&EchoStatus>) -> Option<Status> {
    status
        .filter(|s| s.code != 0)
        .map(|s| Status::new(Code::from_i32(s.code), s.message.clone()))
}

/// The request's `EchoStatus` as an error detail.
fn echo_detail(echo: Option<&EchoStatus>) -> Vec<protocall::types::Any> {
    use protocall::Message as _;
    echo.map(|echo| protocall::types::Any {
        type_url: "type.googleapis.com/grpc.testing.EchoStatus".into(),
        value: echo.encode_to_vec(),
        ..Default::default()
    })
    .into_iter()
    .collect()
}

/// A payload of `size` zero bytes of the requested type.
fn payload(kind: protocall::EnumValue<PayloadType>, size: i32) -> Result<Payload, Status> {
    if kind.known() != Some(PayloadType::Compressable) {
        return Err(Status::invalid_argument(format!(
            "unsupported response_type {}",
            kind.to_i32()
        )));
    }
    let size = usize::try_from(size)
        .map_err(|_| Status::invalid_argument(format!("negative response size {size}")))?;
    Ok(Payload {
        r#type: kind,
        body: vec![0; size],
        ..Default::default()
    })
}

fn wants(flag: Option<&BoolValue>) -> bool {
    flag.is_some_and(|b| b.value)
}

/// `INVALID_ARGUMENT` when the client promised a compressed message that
/// arrived uncompressed (the CompressedRequest feature).
fn check_compressed(expected: Option<&BoolValue>, compressed: bool) -> Result<(), Status> {
    if wants(expected) && !compressed {
        return Err(Status::invalid_argument(
            "expected a compressed request message, got an uncompressed one",
        ));
    }
    Ok(())
}

/// One response of a streaming method, after its `interval_us`.
async fn respond(
    kind: protocall::EnumValue<PayloadType>,
    params: &ResponseParameters,
) -> Result<StreamingOutputCallResponse, Status> {
    if params.interval_us > 0 {
        tokio::time::sleep(Duration::from_micros(params.interval_us as u64)).await;
    }
    Ok(StreamingOutputCallResponse {
        payload: Some(payload(kind, params.size)?),
        ..Default::default()
    })
}

/// Gzip for the stream when any message asks for compression; which
/// messages are compressed is set per message.
fn stream_compression(params: &[ResponseParameters]) -> Option<Encoding> {
    params
        .iter()
        .any(|p| wants(p.compressed.as_ref()))
        .then_some(Encoding::Gzip)
}

/// What a duplex stream does next.
struct Duplex {
    requests: Streaming<StreamingOutputCallRequest>,
    /// Responses due before the next request is read.
    pending: VecDeque<(protocall::EnumValue<PayloadType>, ResponseParameters)>,
    /// HalfDuplexCall: read every request before answering any.
    buffer_all: bool,
    done: bool,
}

impl Duplex {
    fn into_stream(self) -> ResponseStream {
        Box::pin(futures_util::stream::unfold(self, |mut state| async move {
            let item = state.next().await?;
            if item.is_err() {
                state.done = true;
            }
            Some((item, state))
        }))
    }

    async fn next(&mut self) -> Option<Result<StreamingOutputCallResponse, Status>> {
        loop {
            if self.done {
                return None;
            }
            if !self.buffer_all
                && let Some((kind, params)) = self.pending.pop_front()
            {
                return Some(respond(kind, &params).await);
            }
            match self.requests.message().await {
                Err(status) => return Some(Err(status)),
                Ok(None) if self.buffer_all => self.buffer_all = false,
                Ok(None) if self.pending.is_empty() => return None,
                Ok(None) => {}
                Ok(Some(request)) => {
                    // Echo Status: close the stream with the status asked for,
                    // reading nothing more.
                    if let Some(status) = requested_status(request.response_status.as_ref()) {
                        return Some(Err(status));
                    }
                    let kind = request.response_type;
                    self.pending
                        .extend(request.response_parameters.into_iter().map(|p| (kind, p)));
                }
            }
        }
    }
}

impl Interop {
    fn unary(&self, request: Request<SimpleRequest>) -> Result<Response<SimpleResponse>, Status> {
        let compressed = request
            .extensions()
            .get::<RequestCompressed>()
            .is_some_and(|c| c.0);
        let mut leading = Metadata::new();
        let mut trailing = Metadata::new();
        echo_metadata(request.metadata(), &mut leading, &mut trailing);
        let message = request.into_inner();
        check_compressed(message.expect_compressed.as_ref(), compressed)?;
        if let Some(status) = requested_status(message.response_status.as_ref()) {
            // An error is trailers-only: the echoed leading metadata goes
            // with the trailing, and the request's EchoStatus comes back as
            // the error's detail (what web clients' detail decoding is
            // tested with).
            for (key, value) in leading.iter() {
                let _ = match value {
                    protocall::metadata::MetadataValue::Ascii(v) => trailing.insert(key, v),
                    protocall::metadata::MetadataValue::Binary(v) => trailing.insert_bin(key, &v),
                };
            }
            let details = echo_detail(message.response_status.as_ref());
            return Err(status.with_metadata(trailing).with_error_details(details));
        }
        let mut response = Response::new(SimpleResponse {
            payload: Some(payload(message.response_type, message.response_size)?),
            server_id: if message.fill_server_id {
                self.server_id.clone()
            } else {
                String::new()
            },
            ..Default::default()
        });
        if let Some(flag) = &message.response_compressed {
            response.set_compression(flag.value.then_some(Encoding::Gzip));
        }
        *response.metadata_mut() = leading;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    fn duplex(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
        buffer_all: bool,
    ) -> Response<ResponseStream> {
        let mut leading = Metadata::new();
        let mut trailing = Metadata::new();
        echo_metadata(request.metadata(), &mut leading, &mut trailing);
        let stream = Duplex {
            requests: request.into_inner(),
            pending: VecDeque::new(),
            buffer_all,
            done: false,
        }
        .into_stream();
        let mut response = Response::new(stream);
        *response.metadata_mut() = leading;
        *response.trailers_mut() = trailing;
        response
    }
}

impl TestService for Interop {
    async fn empty_call(&self, request: Request<Empty>) -> Result<Response<Empty>, Status> {
        let mut response = Response::new(Empty::default());
        let (mut leading, mut trailing) = (Metadata::new(), Metadata::new());
        echo_metadata(request.metadata(), &mut leading, &mut trailing);
        *response.metadata_mut() = leading;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    async fn unary_call(
        &self,
        request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        self.unary(request)
    }

    async fn cacheable_unary_call(
        &self,
        _request: Request<SimpleRequest>,
    ) -> Result<Response<SimpleResponse>, Status> {
        // A payload that differs per call: the current time in nanoseconds.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut response = Response::new(SimpleResponse {
            payload: Some(Payload {
                body: now.to_string().into_bytes(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let _ = response
            .metadata_mut()
            .insert("cache-control", "max-age=60, public");
        Ok(response)
    }

    type StreamingOutputCallStream = ResponseStream;

    async fn streaming_output_call(
        &self,
        request: Request<StreamingOutputCallRequest>,
    ) -> Result<Response<ResponseStream>, Status> {
        let mut leading = Metadata::new();
        let mut trailing = Metadata::new();
        echo_metadata(request.metadata(), &mut leading, &mut trailing);
        let message = request.into_inner();
        if let Some(status) = requested_status(message.response_status.as_ref()) {
            return Err(status.with_metadata(trailing));
        }
        let compression = stream_compression(&message.response_parameters);
        let compressed: Vec<bool> = message
            .response_parameters
            .iter()
            .map(|p| wants(p.compressed.as_ref()))
            .collect();
        let kind = message.response_type;
        let params: VecDeque<ResponseParameters> = message.response_parameters.into();
        let stream = futures_util::stream::unfold(params, move |mut params| async move {
            let next = params.pop_front()?;
            Some((respond(kind, &next).await, params))
        });
        let mut response = Response::new(Box::pin(stream) as ResponseStream);
        response.set_compression(compression);
        response
            .set_message_compression(move |index| compressed.get(index).copied().unwrap_or(false));
        *response.metadata_mut() = leading;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    async fn streaming_input_call(
        &self,
        request: Request<Streaming<StreamingInputCallRequest>>,
    ) -> Result<Response<StreamingInputCallResponse>, Status> {
        let mut leading = Metadata::new();
        let mut trailing = Metadata::new();
        echo_metadata(request.metadata(), &mut leading, &mut trailing);
        let mut requests = request.into_inner();
        let mut total: usize = 0;
        while let Some(message) = requests.message().await? {
            check_compressed(
                message.expect_compressed.as_ref(),
                requests.last_message_compressed(),
            )?;
            total += message.payload().body.len();
        }
        let total = i32::try_from(total)
            .map_err(|_| Status::out_of_range("aggregated payload size overflows int32"))?;
        let mut response = Response::new(StreamingInputCallResponse {
            aggregated_payload_size: total,
            ..Default::default()
        });
        *response.metadata_mut() = leading;
        *response.trailers_mut() = trailing;
        Ok(response)
    }

    type FullDuplexCallStream = ResponseStream;

    async fn full_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.duplex(request, false))
    }

    type HalfDuplexCallStream = ResponseStream;

    async fn half_duplex_call(
        &self,
        request: Request<Streaming<StreamingOutputCallRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Ok(self.duplex(request, true))
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

const PROTOCOLS: [Protocol; 3] = [Protocol::Grpc, Protocol::GrpcWeb, Protocol::Connect];

struct Args {
    port: u16,
    /// `--host`: a loopback address (127.0.0.1 by default).
    host: std::net::IpAddr,
    /// `--server_id`, filled in when a request asks.
    server_id: Option<String>,
    /// PEM certificate chain and key, with `--use_tls=true`.
    tls: Option<(String, String)>,
    /// `--protocols=grpc,grpcweb,connect` (all by default): the others are
    /// refused.
    protocols: Vec<Protocol>,
}

const USAGE: &str = "usage: interop-server --port=PORT [--use_tls=false | --use_tls=true \
--tls_cert_file=PEM --tls_key_file=PEM] [--protocols=grpc,grpcweb,connect] [--host=127.0.0.N] \
[--server_id=ID]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut port = None;
    let mut use_tls = false;
    let (mut cert, mut key) = (None, None);
    let mut protocols = PROTOCOLS.to_vec();
    let mut host = std::net::IpAddr::from([127, 0, 0, 1]);
    let mut server_id = None;
    for (flag, value) in flags::parse(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        let (flag, value) = (flag.as_str(), value.as_str());
        match flag {
            "port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| format!("--port: invalid port {value:?}"))?,
                )
            }
            "use_tls" => use_tls = flags::parse_bool(flag, value)?,
            "host" => {
                host = value
                    .parse()
                    .ok()
                    .filter(|ip: &std::net::IpAddr| ip.is_loopback())
                    .ok_or_else(|| format!("--host: {value:?} is not a loopback address"))?
            }
            "server_id" => server_id = Some(value.to_string()),
            "tls_cert_file" => cert = Some(value.to_string()),
            "tls_key_file" => key = Some(value.to_string()),
            "protocols" => {
                protocols = value
                    .split(',')
                    .map(|name| match name.trim() {
                        "grpc" => Ok(Protocol::Grpc),
                        "grpcweb" | "grpc-web" => Ok(Protocol::GrpcWeb),
                        "connect" => Ok(Protocol::Connect),
                        other => Err(format!("--protocols: unknown protocol {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            _ => flags::ignore(flag),
        }
    }
    let port = port.ok_or_else(|| format!("--port is required\n{USAGE}"))?;
    // grpc's own servers fall back to built-in test certificates; protocall
    // ships none, so TLS needs them named.
    let tls = match (use_tls, cert, key) {
        (false, _, _) => None,
        (true, Some(cert), Some(key)) => Some((cert, key)),
        (true, _, _) => {
            return Err(format!(
                "--use_tls=true needs --tls_cert_file and --tls_key_file\n{USAGE}"
            ));
        }
    };
    Ok(Args {
        port,
        host,
        server_id,
        tls,
        protocols,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop-server: {message}");
            std::process::exit(2);
        }
    };
    let addr = SocketAddr::new(args.host, args.port);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("interop-server: cannot listen on {addr}: {error}");
            std::process::exit(1);
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    // Tests wait for this line; print it only once the socket accepts.
    println!("interop-server listening on {local}");
    let mut server = Server::builder();
    for protocol in PROTOCOLS {
        server = server.protocol(protocol, args.protocols.contains(&protocol));
    }
    if let Some((cert, key)) = &args.tls {
        let identity = std::fs::read(cert)
            .and_then(|cert| Ok((cert, std::fs::read(key)?)))
            .map_err(|e| e.to_string())
            .and_then(|(cert, key)| Identity::from_pem(cert, key).map_err(|e| e.to_string()));
        server = match identity.and_then(|id| {
            server
                .tls_config(ServerTlsConfig::new(id))
                .map_err(|e| e.to_string())
        }) {
            Ok(server) => server,
            Err(message) => {
                eprintln!("interop-server: TLS: {message}");
                std::process::exit(2);
            }
        };
    }
    // gRPC-Web and Connect on the same port, callable from any page: the
    // preflights allow what the interop cases send, and the responses
    // expose the echoed metadata.
    let cors = Cors::any_origin()
        .allow_headers([ECHO_INITIAL, ECHO_TRAILING])
        .expose_metadata([ECHO_INITIAL, ECHO_TRAILING]);
    // Server reflection, so tools (grpcurl, `buf curl`) need no schema.
    let reflection = protocall::reflection::Builder::new()
        .register_encoded_file_descriptor_set(
            protocall_examples::grpc::testing::FILE_DESCRIPTOR_SET,
        )
        .expect("the generated descriptors decode");
    let (reporter, health) = protocall::health::health_service();
    let switch = HealthSwitch(reporter);
    switch.set(protocall::health::ServingStatus::Serving);
    let interop = Interop {
        server_id: args.server_id.unwrap_or_else(|| local.to_string()),
    };
    let serve = server
        .add_service(TestServiceServer::new(interop))
        .add_service(health)
        .add_service(XdsUpdateHealthServiceServer::new(switch))
        .add_service(reflection.clone().build_v1())
        .add_service(reflection.build_v1alpha())
        .layer(cors)
        .serve_with_listener(listener, std::future::pending());
    if let Err(error) = serve.await {
        eprintln!("interop-server: {error}");
        std::process::exit(1);
    }
}
