//! The gRPC interop test client: the test cases of grpc/grpc
//! `doc/interop-test-descriptions.md` ("Client"), run against any
//! `grpc.testing.TestService` server.
//!
//! ```text
//! cargo run -p protocall-examples --bin interop-client -- \
//!     --server_host=127.0.0.1 --server_port=10000 --test_case=large_unary
//! ```
//!
//! Exits 0 when the case passes, 1 with a message when it fails, 2 on a bad
//! command line. `--test_case=all` runs every case in turn. With
//! `--use_tls=true` it connects over TLS, trusting `--ca_file` (PEM; the
//! Mozilla roots without it) and verifying `--server_host_override` when
//! given (protocall ships no copy of grpc's test CA, so `--use_test_ca` is
//! accepted and unused).
//!
//! `--protocol=grpc-web|connect` calls in gRPC-Web or Connect instead of
//! gRPC, and `--http_version=1.1` over HTTP/1.1 (HTTP/2 by default), as
//! connect's interop clients take them.
//!
//! `client_compressed_streaming` compresses the first request message and
//! not the second (`Request::set_message_compression`), as the procedure
//! says.

use std::future::Future;
use std::time::Duration;

use protocall::client::Grpc;
use protocall::http;
use protocall::tls::{Certificate, ClientTlsConfig};
use protocall::web::Protocol;
use protocall::{
    Channel, Code, Request, Status, Streaming, client::Endpoint, compression::Encoding,
};
use protocall_examples::flags;
use protocall_examples::grpc::testing::test_service_client::TestServiceClient;
use protocall_examples::grpc::testing::unimplemented_service_client::UnimplementedServiceClient;
use protocall_examples::grpc::testing::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest,
    StreamingInputCallRequest, StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

/// Every test case, in the order the spec lists them.
const CASES: &[&str] = &[
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
];

const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];

/// A failed assertion or an unexpected status.
type Outcome = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

fn call_failed(what: &str, status: Status) -> String {
    format!("{what} failed: {status}")
}

fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        body: vec![0; len],
        ..Default::default()
    })
}

fn flag(value: bool) -> Option<BoolValue> {
    Some(BoolValue {
        value,
        ..Default::default()
    })
}

/// Asserts `payload` is `len` zero bytes.
fn check_payload(what: &str, payload: &Payload, len: usize) -> Outcome {
    ensure!(
        payload.body.len() == len,
        "{what}: payload of {} bytes, expected {len}",
        payload.body.len()
    );
    ensure!(
        payload.body.iter().all(|&b| b == 0),
        "{what}: payload is not all zeros"
    );
    Ok(())
}

/// Asserts a call failed with `code` (and `message`, when given).
fn expect_status<T>(
    what: &str,
    result: Result<T, Status>,
    code: Code,
    message: Option<&str>,
) -> Outcome {
    match result {
        Ok(_) => Err(format!("{what}: succeeded, expected {code}")),
        Err(status) => {
            ensure!(
                status.code() == code,
                "{what}: got {status}, expected {code}"
            );
            if let Some(message) = message {
                ensure!(
                    status.message() == message,
                    "{what}: status message {:?}, expected {message:?}",
                    status.message()
                );
            }
            Ok(())
        }
    }
}

/// Requests for a duplex call, sent one at a time; dropping it half-closes.
struct Sender(tokio::sync::mpsc::Sender<StreamingOutputCallRequest>);

fn duplex_channel() -> (Sender, ReceiverStream<StreamingOutputCallRequest>) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    (Sender(tx), ReceiverStream::new(rx))
}

impl Sender {
    async fn send(&self, request: StreamingOutputCallRequest) -> Outcome {
        self.0
            .send(request)
            .await
            .map_err(|_| "the call stopped taking requests".to_string())
    }
}

fn output_request(sizes: &[i32]) -> StreamingOutputCallRequest {
    StreamingOutputCallRequest {
        response_parameters: sizes
            .iter()
            .map(|&size| ResponseParameters {
                size,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Reads every remaining response; fails on an error status.
async fn drain(
    what: &str,
    stream: &mut Streaming<StreamingOutputCallResponse>,
) -> Result<Vec<StreamingOutputCallResponse>, String> {
    let mut responses = Vec::new();
    while let Some(response) = stream
        .message()
        .await
        .map_err(|status| call_failed(what, status))?
    {
        responses.push(response);
    }
    Ok(responses)
}

fn check_sizes(what: &str, responses: &[StreamingOutputCallResponse], sizes: &[usize]) -> Outcome {
    ensure!(
        responses.len() == sizes.len(),
        "{what}: {} responses, expected {}",
        responses.len(),
        sizes.len()
    );
    for (i, (response, &size)) in responses.iter().zip(sizes).enumerate() {
        check_payload(&format!("{what} response {i}"), response.payload(), size)?;
    }
    Ok(())
}

/// Runs `call` until `cancel` fires; a cancelled call is `CANCELLED`, as
/// the application sees it (dropping the call's future resets its stream).
async fn cancellable<T>(
    call: impl Future<Output = Result<T, Status>>,
    cancel: impl Future<Output = ()>,
) -> Result<T, Status> {
    tokio::select! {
        result = call => result,
        () = cancel => Err(Status::cancelled("cancelled by the client")),
    }
}

struct Client {
    channel: Channel,
    service: TestServiceClient,
}

impl Client {
    fn compressed(&self) -> TestServiceClient {
        TestServiceClient::with_options(
            Grpc::new(self.channel.clone()).send_compressed(Encoding::Gzip),
        )
    }

    /// The connection still serves calls (after a cancelled one).
    async fn still_healthy(&self, what: &str) -> Outcome {
        self.service
            .empty_call(Empty::default())
            .await
            .map_err(|status| call_failed(&format!("EmptyCall after {what}"), status))?;
        Ok(())
    }

    async fn empty_unary(&self) -> Outcome {
        let response = self
            .service
            .empty_call(Empty::default())
            .await
            .map_err(|s| call_failed("EmptyCall", s))?;
        ensure!(
            *response.get_ref() == Empty::default(),
            "EmptyCall: non-empty response {:?}",
            response.get_ref()
        );
        Ok(())
    }

    fn large_request() -> SimpleRequest {
        SimpleRequest {
            response_size: 314_159,
            payload: zeros(271_828),
            ..Default::default()
        }
    }

    async fn large_unary(&self) -> Outcome {
        let response = self
            .service
            .unary_call(Self::large_request())
            .await
            .map_err(|s| call_failed("UnaryCall", s))?;
        check_payload("UnaryCall", response.get_ref().payload(), 314_159)
    }

    async fn client_compressed_unary(&self) -> Outcome {
        let probe = SimpleRequest {
            expect_compressed: flag(true),
            ..Self::large_request()
        };
        // The probe: an uncompressed message that claims to be compressed.
        expect_status(
            "UnaryCall probe (uncompressed, expect_compressed=true)",
            self.service.unary_call(probe.clone()).await,
            Code::InvalidArgument,
            None,
        )?;
        let response = self
            .compressed()
            .unary_call(probe)
            .await
            .map_err(|s| call_failed("compressed UnaryCall", s))?;
        check_payload(
            "compressed UnaryCall",
            response.get_ref().payload(),
            314_159,
        )?;
        let plain = SimpleRequest {
            expect_compressed: flag(false),
            ..Self::large_request()
        };
        let response = self
            .service
            .unary_call(plain)
            .await
            .map_err(|s| call_failed("uncompressed UnaryCall", s))?;
        check_payload(
            "uncompressed UnaryCall",
            response.get_ref().payload(),
            314_159,
        )
    }

    async fn server_compressed_unary(&self) -> Outcome {
        for compressed in [true, false] {
            let what = format!("UnaryCall with response_compressed={compressed}");
            let request = SimpleRequest {
                response_compressed: flag(compressed),
                ..Self::large_request()
            };
            let response = self
                .service
                .unary_call(request)
                .await
                .map_err(|s| call_failed(&what, s))?;
            ensure!(
                response.message_compressed() == compressed,
                "{what}: the response's compressed flag is {}",
                response.message_compressed()
            );
            check_payload(&what, response.get_ref().payload(), 314_159)?;
        }
        Ok(())
    }

    async fn client_streaming(&self) -> Outcome {
        let requests = [27_182, 8, 1_828, 45_904].map(|len| StreamingInputCallRequest {
            payload: zeros(len),
            ..Default::default()
        });
        let response = self
            .service
            .streaming_input_call(tokio_stream::iter(requests))
            .await
            .map_err(|s| call_failed("StreamingInputCall", s))?;
        let size = response.get_ref().aggregated_payload_size;
        ensure!(
            size == 74_922,
            "aggregated_payload_size {size}, expected 74922"
        );
        Ok(())
    }

    async fn client_compressed_streaming(&self) -> Outcome {
        let first = StreamingInputCallRequest {
            expect_compressed: flag(true),
            payload: zeros(27_182),
            ..Default::default()
        };
        expect_status(
            "StreamingInputCall probe (uncompressed, expect_compressed=true)",
            self.service
                .streaming_input_call(tokio_stream::iter([first.clone()]))
                .await,
            Code::InvalidArgument,
            None,
        )?;
        // The first message compressed, the second not, as the spec says.
        let second = StreamingInputCallRequest {
            expect_compressed: flag(false),
            payload: zeros(45_904),
            ..Default::default()
        };
        let mut request = Request::new(tokio_stream::iter([first, second]));
        request.set_message_compression(|index| index == 0);
        let response = self
            .compressed()
            .streaming_input_call(request)
            .await
            .map_err(|s| call_failed("compressed StreamingInputCall", s))?;
        let size = response.get_ref().aggregated_payload_size;
        ensure!(
            size == 73_086,
            "aggregated_payload_size {size}, expected 73086"
        );
        Ok(())
    }

    async fn server_streaming(&self) -> Outcome {
        let mut stream = self
            .service
            .streaming_output_call(output_request(&[31_415, 9, 2_653, 58_979]))
            .await
            .map_err(|s| call_failed("StreamingOutputCall", s))?
            .into_inner();
        let responses = drain("StreamingOutputCall", &mut stream).await?;
        check_sizes(
            "StreamingOutputCall",
            &responses,
            &[31_415, 9, 2_653, 58_979],
        )
    }

    async fn server_compressed_streaming(&self) -> Outcome {
        let mut request = output_request(&[31_415, 92_653]);
        request.response_parameters[0].compressed = flag(true);
        request.response_parameters[1].compressed = flag(false);
        let what = "StreamingOutputCall";
        let mut stream = self
            .service
            .streaming_output_call(request)
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        let mut flags = Vec::new();
        let mut responses = Vec::new();
        while let Some(response) = stream.message().await.map_err(|s| call_failed(what, s))? {
            flags.push(stream.last_message_compressed());
            responses.push(response);
        }
        check_sizes(what, &responses, &[31_415, 92_653])?;
        ensure!(
            flags == [true, false],
            "{what}: compressed flags {flags:?}, expected [true, false]"
        );
        Ok(())
    }

    async fn ping_pong(&self) -> Outcome {
        let what = "FullDuplexCall";
        let (sender, requests) = duplex_channel();
        let sizes = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)];
        let mut request = output_request(&[sizes[0].0]);
        request.payload = zeros(sizes[0].1);
        sender.send(request).await?;
        let mut stream = self
            .service
            .full_duplex_call(requests)
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        for (i, &(size, _)) in sizes.iter().enumerate() {
            if i > 0 {
                let mut request = output_request(&[size]);
                request.payload = zeros(sizes[i].1);
                sender.send(request).await?;
            }
            let response = stream
                .message()
                .await
                .map_err(|s| call_failed(what, s))?
                .ok_or_else(|| format!("{what}: stream ended after {i} responses"))?;
            check_payload(
                &format!("{what} response {i}"),
                response.payload(),
                size as usize,
            )?;
        }
        drop(sender);
        let rest = drain(what, &mut stream).await?;
        ensure!(rest.is_empty(), "{what}: {} responses too many", rest.len());
        Ok(())
    }

    async fn empty_stream(&self) -> Outcome {
        let what = "FullDuplexCall";
        let mut stream = self
            .service
            .full_duplex_call(tokio_stream::empty::<StreamingOutputCallRequest>())
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        let responses = drain(what, &mut stream).await?;
        ensure!(
            responses.is_empty(),
            "{what}: {} responses, expected none",
            responses.len()
        );
        Ok(())
    }

    fn echo_request<T>(message: T) -> Request<T> {
        let mut request = Request::new(message);
        let metadata = request.metadata_mut();
        metadata
            .insert(ECHO_INITIAL, ECHO_INITIAL_VALUE)
            .expect("valid metadata");
        metadata
            .insert_bin(ECHO_TRAILING, ECHO_TRAILING_VALUE)
            .expect("valid metadata");
        request
    }

    fn check_echo(
        what: &str,
        leading: &protocall::Metadata,
        trailing: &protocall::Metadata,
    ) -> Outcome {
        ensure!(
            leading.get(ECHO_INITIAL) == Some(ECHO_INITIAL_VALUE),
            "{what}: initial metadata {ECHO_INITIAL} = {:?}, expected {ECHO_INITIAL_VALUE:?}",
            leading.get(ECHO_INITIAL)
        );
        ensure!(
            trailing.get_bin(ECHO_TRAILING).as_deref() == Some(&ECHO_TRAILING_VALUE[..]),
            "{what}: trailing metadata {ECHO_TRAILING} = {:?}, expected 0xababab",
            trailing.get_bin(ECHO_TRAILING)
        );
        Ok(())
    }

    async fn custom_metadata(&self) -> Outcome {
        let response = self
            .service
            .unary_call(Self::echo_request(Self::large_request()))
            .await
            .map_err(|s| call_failed("UnaryCall", s))?;
        check_payload("UnaryCall", response.get_ref().payload(), 314_159)?;
        Self::check_echo("UnaryCall", response.metadata(), response.trailers())?;

        let what = "FullDuplexCall";
        let mut request = output_request(&[314_159]);
        request.payload = zeros(271_828);
        let response = self
            .service
            .full_duplex_call(Self::echo_request(tokio_stream::iter([request])))
            .await
            .map_err(|s| call_failed(what, s))?;
        let leading = response.metadata().clone();
        let mut stream = response.into_inner();
        let responses = drain(what, &mut stream).await?;
        check_sizes(what, &responses, &[314_159])?;
        let trailing = stream
            .trailers()
            .await
            .map_err(|s| call_failed(what, s))?
            .unwrap_or_default();
        Self::check_echo(what, &leading, &trailing)
    }

    async fn echo_status(&self, message: &str, duplex_too: bool) -> Outcome {
        let status = Some(EchoStatus {
            code: 2,
            message: message.to_string(),
            ..Default::default()
        });
        let request = SimpleRequest {
            response_status: status.clone(),
            ..Default::default()
        };
        expect_status(
            "UnaryCall",
            self.service.unary_call(request).await,
            Code::Unknown,
            Some(message),
        )?;
        if duplex_too {
            let request = StreamingOutputCallRequest {
                response_status: status,
                ..Default::default()
            };
            let outcome = async {
                let response = self
                    .service
                    .full_duplex_call(tokio_stream::iter([request]))
                    .await?;
                let mut stream = response.into_inner();
                while stream.message().await?.is_some() {}
                Ok::<(), Status>(())
            }
            .await;
            expect_status("FullDuplexCall", outcome, Code::Unknown, Some(message))?;
        }
        Ok(())
    }

    async fn status_code_and_message(&self) -> Outcome {
        self.echo_status("test status message", true).await
    }

    async fn special_status_message(&self) -> Outcome {
        self.echo_status(
            "\t\ntest with whitespace\r\nand Unicode BMP \u{263a} and non-BMP \u{1f608}\t\n",
            false,
        )
        .await
    }

    async fn unimplemented_method(&self) -> Outcome {
        expect_status(
            "TestService/UnimplementedCall",
            self.service.unimplemented_call(Empty::default()).await,
            Code::Unimplemented,
            None,
        )
    }

    async fn unimplemented_service(&self) -> Outcome {
        let client = UnimplementedServiceClient::new(self.channel.clone());
        expect_status(
            "UnimplementedService/UnimplementedCall",
            client.unimplemented_call(Empty::default()).await,
            Code::Unimplemented,
            None,
        )
    }

    async fn cancel_after_begin(&self) -> Outcome {
        // Start the call with no message to send, then cancel it at once.
        let call = self
            .service
            .streaming_input_call(tokio_stream::pending::<StreamingInputCallRequest>());
        let result = cancellable(call, tokio::time::sleep(Duration::from_millis(20))).await;
        expect_status("StreamingInputCall", result, Code::Cancelled, None)?;
        self.still_healthy("a cancelled call").await
    }

    async fn cancel_after_first_response(&self) -> Outcome {
        let what = "FullDuplexCall";
        let (sender, requests) = duplex_channel();
        let mut request = output_request(&[31_415]);
        request.payload = zeros(27_182);
        sender.send(request).await?;
        let (got_first, first) = tokio::sync::oneshot::channel::<()>();
        let call = async {
            let mut stream = self.service.full_duplex_call(requests).await?.into_inner();
            let response = stream
                .message()
                .await?
                .ok_or_else(|| Status::internal("the stream ended without a response"))?;
            if response.payload().body.len() != 31_415 {
                return Err(Status::internal(format!(
                    "first response has {} bytes, expected 31415",
                    response.payload().body.len()
                )));
            }
            let _ = got_first.send(());
            // Keep reading: only the cancellation may end the call.
            while stream.message().await?.is_some() {}
            Ok(())
        };
        let result = cancellable(call, async {
            let _ = first.await;
        })
        .await;
        // The call's HTTP/2 stream is reset (RST_STREAM CANCEL) once both
        // halves are gone: the response was dropped with the call future,
        // the request side goes now.
        drop(sender);
        expect_status(what, result, Code::Cancelled, None)?;
        self.still_healthy("a cancelled call").await
    }

    async fn timeout_on_sleeping_server(&self) -> Outcome {
        let what = "FullDuplexCall";
        let request = StreamingOutputCallRequest {
            payload: zeros(27_182),
            ..Default::default()
        };
        // One message, then the stream stays open: the client waits.
        let requests = tokio_stream::iter([request]).chain(tokio_stream::pending());
        let mut request = Request::new(requests);
        request.set_timeout(Duration::from_millis(1));
        let outcome = async {
            let mut stream = self.service.full_duplex_call(request).await?.into_inner();
            while stream.message().await?.is_some() {}
            Ok::<(), Status>(())
        };
        // Bounded: a client that ignored its deadline would hang here.
        let result = tokio::time::timeout(Duration::from_secs(10), outcome)
            .await
            .map_err(|_| format!("{what}: still running 10 s after a 1 ms deadline"))?;
        expect_status(what, result, Code::DeadlineExceeded, None)
    }

    async fn run(&self, case: &str) -> Outcome {
        match case {
            "empty_unary" => self.empty_unary().await,
            "large_unary" => self.large_unary().await,
            "client_compressed_unary" => self.client_compressed_unary().await,
            "server_compressed_unary" => self.server_compressed_unary().await,
            "client_streaming" => self.client_streaming().await,
            "client_compressed_streaming" => self.client_compressed_streaming().await,
            "server_streaming" => self.server_streaming().await,
            "server_compressed_streaming" => self.server_compressed_streaming().await,
            "ping_pong" => self.ping_pong().await,
            "empty_stream" => self.empty_stream().await,
            "custom_metadata" => self.custom_metadata().await,
            "status_code_and_message" => self.status_code_and_message().await,
            "special_status_message" => self.special_status_message().await,
            "unimplemented_method" => self.unimplemented_method().await,
            "unimplemented_service" => self.unimplemented_service().await,
            "cancel_after_begin" => self.cancel_after_begin().await,
            "cancel_after_first_response" => self.cancel_after_first_response().await,
            "timeout_on_sleeping_server" => self.timeout_on_sleeping_server().await,
            other => Err(format!("unknown test case {other:?}")),
        }
    }
}

struct Args {
    host: String,
    port: u16,
    cases: Vec<String>,
    /// With `--use_tls=true`: the CA file and the name to verify.
    tls: Option<(Option<String>, Option<String>)>,
    /// `--protocol=grpc|grpc-web|connect`.
    protocol: Protocol,
    /// `--http_version=2|1.1`.
    http_version: http::Version,
}

const USAGE: &str = "usage: interop-client --server_host=HOST --server_port=PORT \
--test_case=NAME|all [--use_tls=false | --use_tls=true [--ca_file=PEM] [--server_host_override=HOST]] \
[--protocol=grpc|grpc-web|connect] [--http_version=2|1.1]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut host = "localhost".to_string();
    let mut port = None;
    let mut cases = None;
    let mut use_tls = false;
    let (mut ca_file, mut host_override) = (None, None);
    let mut protocol = Protocol::Grpc;
    let mut http_version = http::Version::HTTP_2;
    for (flag, value) in flags::parse(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        let (flag, value) = (flag.as_str(), value.as_str());
        match flag {
            "server_host" => host = value.to_string(),
            "server_port" => {
                port = Some(
                    value
                        .parse::<u16>()
                        .map_err(|_| format!("--server_port: invalid port {value:?}"))?,
                )
            }
            "test_case" if value == "all" => {
                cases = Some(CASES.iter().map(|c| c.to_string()).collect())
            }
            "test_case" if CASES.contains(&value) => cases = Some(vec![value.to_string()]),
            "test_case" => {
                return Err(format!(
                    "unknown test case {value:?}; known: all, {}",
                    CASES.join(", ")
                ));
            }
            "use_tls" => use_tls = flags::parse_bool(flag, value)?,
            "ca_file" => ca_file = Some(value.to_string()),
            "server_host_override" => host_override = Some(value.to_string()),
            "protocol" => {
                protocol = match value {
                    "grpc" => Protocol::Grpc,
                    "grpc-web" | "grpcweb" => Protocol::GrpcWeb,
                    "connect" => Protocol::Connect,
                    _ => {
                        return Err(format!(
                            "--protocol: {value:?} is not grpc, grpc-web or connect"
                        ));
                    }
                }
            }
            "http_version" => {
                http_version = match value {
                    "2" => http::Version::HTTP_2,
                    "1.1" => http::Version::HTTP_11,
                    _ => return Err(format!("--http_version: {value:?} is not 2 or 1.1")),
                }
            }
            // Cloud credentials, service configs and the like.
            _ => flags::ignore(flag),
        }
    }
    Ok(Args {
        host,
        port: port.ok_or_else(|| format!("--server_port is required\n{USAGE}"))?,
        cases: cases.ok_or_else(|| format!("--test_case is required\n{USAGE}"))?,
        tls: use_tls.then_some((ca_file, host_override)),
        protocol,
        http_version,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop-client: {message}");
            std::process::exit(2);
        }
    };
    let host = if args.host.contains(':') {
        format!("[{}]", args.host)
    } else {
        args.host.clone()
    };
    let scheme = if args.tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::new(format!("{scheme}://{host}:{}", args.port)).and_then(|endpoint| {
        let Some((ca_file, host_override)) = &args.tls else {
            return Ok(endpoint);
        };
        let mut config = ClientTlsConfig::new();
        if let Some(ca_file) = ca_file {
            let pem = std::fs::read(ca_file)
                .map_err(|e| Status::invalid_argument(format!("--ca_file {ca_file}: {e}")))?;
            config = config.ca_certificate(Certificate::from_pem(pem)?);
        }
        if let Some(name) = host_override {
            config = config.domain_name(name.clone());
        }
        endpoint.tls_config(config)
    });
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(5))
            .protocol(args.protocol)
            .http_version(args.http_version)
            .expect("HTTP/1.1 or HTTP/2"),
        Err(status) => {
            eprintln!("interop-client: {status}");
            std::process::exit(2);
        }
    };
    let channel = endpoint.connect_lazy();
    let client = Client {
        service: TestServiceClient::new(channel.clone()),
        channel,
    };
    let mut failed = false;
    for case in &args.cases {
        match client.run(case).await {
            Ok(()) => println!("{case}: PASS"),
            Err(message) => {
                failed = true;
                println!("{case}: FAIL: {message}");
            }
        }
    }
    std::process::exit(i32::from(failed));
}
