//! The gRPC interop test client written with tonic: the test cases of
//! grpc/grpc `doc/interop-test-descriptions.md` ("Client"), run against any
//! `grpc.testing.TestService` server.
//!
//! ```text
//! cargo run -p protocall-peer-tonic --bin tonic-interop-client -- \
//!     --server_host=127.0.0.1 --server_port=10000 --test_case=large_unary
//! ```
//!
//! Exits 0 when the case passes, 1 with a message when it fails, 2 on a bad
//! command line; prints `CASE: PASS` or `CASE: FAIL: why`. `--test_case=all`
//! runs every case in turn. Plaintext only: `--use_tls=true` is refused
//! (exit 2). Other `--flag=value` arguments (`--server_host_override`,
//! `--use_test_ca`, …) are ignored.
//!
//! Every call advertises `grpc-accept-encoding: gzip`. The compressed flag
//! of each response message, and which metadata arrived as headers and
//! which as trailers on a unary call, are read by the wire tap
//! (`protocall_peer_tonic::wire::ClientTap`), since tonic does not show
//! them. Two gaps remain:
//!
//! * tonic compresses every message of a call or none, so
//!   `client_compressed_streaming` sends its second message (the one the
//!   spec wants uncompressed, `expect_compressed: false`) compressed too;
//! * tonic's channel times a call out itself only until the response
//!   headers arrive, and reports that as `CANCELLED` "Timeout expired";
//!   `timeout_on_sleeping_server` accepts that report (saying so on stdout)
//!   besides the server's `DEADLINE_EXCEEDED`. Once the headers are in, the
//!   deadline is the server's to enforce; the case gives up after 10 s.

use std::future::Future;
use std::time::{Duration, Instant};

use protocall_peer_tonic::grpc::testing::test_service_client::TestServiceClient;
use protocall_peer_tonic::grpc::testing::unimplemented_service_client::UnimplementedServiceClient;
use protocall_peer_tonic::grpc::testing::{
    BoolValue, EchoStatus, Empty, Payload, ResponseParameters, SimpleRequest,
    StreamingInputCallRequest, StreamingOutputCallRequest, StreamingOutputCallResponse,
};
use protocall_peer_tonic::wire::{ClientTap, Wire};
use protocall_peer_tonic::{ECHO_INITIAL, ECHO_TRAILING, flags, parse_bool};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Status, Streaming};

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

/// What tonic's channel reports when a call's deadline passes before the
/// response headers arrive (with `CANCELLED`).
const TONIC_TIMEOUT: &str = "Timeout expired";

const ECHO_INITIAL_VALUE: &str = "test_initial_metadata_value";
const ECHO_TRAILING_VALUE: [u8; 3] = [0xab, 0xab, 0xab];

/// A failed assertion or an unexpected status.
type Outcome = Result<(), String>;

/// The generated client over the tapped channel.
type Service = TestServiceClient<ClientTap<Channel>>;

macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

fn call_failed(what: &str, status: Status) -> String {
    format!("{what} failed: {:?}: {:?}", status.code(), status.message())
}

fn zeros(len: usize) -> Option<Payload> {
    Some(Payload {
        body: vec![0; len],
        ..Default::default()
    })
}

fn flag(value: bool) -> Option<BoolValue> {
    Some(BoolValue { value })
}

/// Asserts `payload` is `len` zero bytes.
fn check_payload(what: &str, payload: Option<&Payload>, len: usize) -> Outcome {
    let payload = payload.ok_or_else(|| format!("{what}: no payload"))?;
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
        Ok(_) => Err(format!("{what}: succeeded, expected {code:?}")),
        Err(status) => {
            ensure!(
                status.code() == code,
                "{what}: got {:?} ({:?}), expected {code:?}",
                status.code(),
                status.message()
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

/// `message` in a request whose response the wire tap records.
fn tapped<T>(message: T) -> (Request<T>, Wire) {
    let wire = Wire::default();
    let mut request = Request::new(message);
    request.extensions_mut().insert(wire.clone());
    (request, wire)
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
        check_payload(
            &format!("{what} response {i}"),
            response.payload.as_ref(),
            size,
        )?;
    }
    Ok(())
}

/// Runs `call` until `cancel` fires. Dropping a tonic call cancels it (its
/// HTTP/2 stream is reset); the application sees that as `CANCELLED`.
async fn cancellable<T>(
    call: impl Future<Output = Result<T, Status>>,
    cancel: impl Future<Output = ()>,
) -> Result<T, Status> {
    tokio::select! {
        result = call => result,
        () = cancel => Err(Status::cancelled("cancelled by the client")),
    }
}

/// Checks the echoed metadata: the initial value in `leading`, the
/// trailing one in `trailing`.
fn check_echo(what: &str, leading: &MetadataMap, trailing: &MetadataMap) -> Outcome {
    let initial = leading
        .get(ECHO_INITIAL)
        .map(|v| v.to_str().unwrap_or("<not ASCII>"));
    ensure!(
        initial == Some(ECHO_INITIAL_VALUE),
        "{what}: initial metadata {ECHO_INITIAL} = {initial:?}, expected {ECHO_INITIAL_VALUE:?}"
    );
    let trailer = trailing.get_bin(ECHO_TRAILING).map(|v| v.to_bytes());
    ensure!(
        matches!(&trailer, Some(Ok(bytes)) if bytes[..] == ECHO_TRAILING_VALUE),
        "{what}: trailing metadata {ECHO_TRAILING} = {trailer:?}, expected 0xababab"
    );
    Ok(())
}

fn echo_request<T>(message: T) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    metadata.insert(
        ECHO_INITIAL,
        ECHO_INITIAL_VALUE.parse().expect("valid metadata"),
    );
    metadata.insert_bin(
        ECHO_TRAILING,
        MetadataValue::from_bytes(&ECHO_TRAILING_VALUE),
    );
    request
}

struct Client {
    channel: Channel,
    service: Service,
}

impl Client {
    fn service(&self) -> Service {
        self.service.clone()
    }

    /// A client that compresses every request message with gzip.
    fn compressed(&self) -> Service {
        self.service().send_compressed(CompressionEncoding::Gzip)
    }

    /// The connection still serves calls (after a cancelled one).
    async fn still_healthy(&self, what: &str) -> Outcome {
        self.service()
            .empty_call(Empty {})
            .await
            .map_err(|status| call_failed(&format!("EmptyCall after {what}"), status))?;
        Ok(())
    }

    async fn empty_unary(&self) -> Outcome {
        let response = self
            .service()
            .empty_call(Empty {})
            .await
            .map_err(|s| call_failed("EmptyCall", s))?;
        ensure!(
            *response.get_ref() == Empty {},
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
            .service()
            .unary_call(Self::large_request())
            .await
            .map_err(|s| call_failed("UnaryCall", s))?;
        check_payload("UnaryCall", response.get_ref().payload.as_ref(), 314_159)
    }

    async fn client_compressed_unary(&self) -> Outcome {
        let probe = SimpleRequest {
            expect_compressed: flag(true),
            ..Self::large_request()
        };
        // The probe: an uncompressed message that claims to be compressed.
        expect_status(
            "UnaryCall probe (uncompressed, expect_compressed=true)",
            self.service().unary_call(probe.clone()).await,
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
            response.get_ref().payload.as_ref(),
            314_159,
        )?;
        let plain = SimpleRequest {
            expect_compressed: flag(false),
            ..Self::large_request()
        };
        let response = self
            .service()
            .unary_call(plain)
            .await
            .map_err(|s| call_failed("uncompressed UnaryCall", s))?;
        check_payload(
            "uncompressed UnaryCall",
            response.get_ref().payload.as_ref(),
            314_159,
        )
    }

    async fn server_compressed_unary(&self) -> Outcome {
        for compressed in [true, false] {
            let what = format!("UnaryCall with response_compressed={compressed}");
            let (request, wire) = tapped(SimpleRequest {
                response_compressed: flag(compressed),
                ..Self::large_request()
            });
            let response = self
                .service()
                .unary_call(request)
                .await
                .map_err(|s| call_failed(&what, s))?;
            let flags = wire.compressed_flags();
            ensure!(
                flags == [compressed],
                "{what}: compressed flags of the response messages {flags:?}, expected [{compressed}]"
            );
            check_payload(&what, response.get_ref().payload.as_ref(), 314_159)?;
        }
        Ok(())
    }

    async fn client_streaming(&self) -> Outcome {
        let requests = [27_182, 8, 1_828, 45_904].map(|len| StreamingInputCallRequest {
            payload: zeros(len),
            ..Default::default()
        });
        let response = self
            .service()
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
        };
        expect_status(
            "StreamingInputCall probe (uncompressed, expect_compressed=true)",
            self.service()
                .streaming_input_call(tokio_stream::iter([first.clone()]))
                .await,
            Code::InvalidArgument,
            None,
        )?;
        // tonic compresses every message of the call: the second one too,
        // which the spec sends uncompressed (it expects nothing of it).
        let second = StreamingInputCallRequest {
            expect_compressed: flag(false),
            payload: zeros(45_904),
        };
        let response = self
            .compressed()
            .streaming_input_call(tokio_stream::iter([first, second]))
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
        let what = "StreamingOutputCall";
        let mut stream = self
            .service()
            .streaming_output_call(output_request(&[31_415, 9, 2_653, 58_979]))
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        let responses = drain(what, &mut stream).await?;
        check_sizes(what, &responses, &[31_415, 9, 2_653, 58_979])
    }

    async fn server_compressed_streaming(&self) -> Outcome {
        let what = "StreamingOutputCall";
        let mut message = output_request(&[31_415, 92_653]);
        message.response_parameters[0].compressed = flag(true);
        message.response_parameters[1].compressed = flag(false);
        let (request, wire) = tapped(message);
        let mut stream = self
            .service()
            .streaming_output_call(request)
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        let responses = drain(what, &mut stream).await?;
        check_sizes(what, &responses, &[31_415, 92_653])?;
        let flags = wire.compressed_flags();
        ensure!(
            flags == [true, false],
            "{what}: compressed flags {flags:?}, expected [true, false]"
        );
        Ok(())
    }

    async fn ping_pong(&self) -> Outcome {
        let what = "FullDuplexCall";
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let sizes = [(31_415, 27_182), (9, 8), (2_653, 1_828), (58_979, 45_904)];
        let send = |(size, len): (i32, usize)| {
            let mut request = output_request(&[size]);
            request.payload = zeros(len);
            let sender = sender.clone();
            async move {
                sender
                    .send(request)
                    .await
                    .map_err(|_| format!("{what}: the call stopped taking requests"))
            }
        };
        // The first request goes before the call waits for the headers.
        send(sizes[0]).await?;
        let mut stream = self
            .service()
            .full_duplex_call(ReceiverStream::new(receiver))
            .await
            .map_err(|s| call_failed(what, s))?
            .into_inner();
        for (i, &(size, _)) in sizes.iter().enumerate() {
            if i > 0 {
                send(sizes[i]).await?;
            }
            let response = stream
                .message()
                .await
                .map_err(|s| call_failed(what, s))?
                .ok_or_else(|| format!("{what}: stream ended after {i} responses"))?;
            check_payload(
                &format!("{what} response {i}"),
                response.payload.as_ref(),
                size as usize,
            )?;
        }
        // Half-close.
        drop(sender);
        let rest = drain(what, &mut stream).await?;
        ensure!(rest.is_empty(), "{what}: {} responses too many", rest.len());
        Ok(())
    }

    async fn empty_stream(&self) -> Outcome {
        let what = "FullDuplexCall";
        let mut stream = self
            .service()
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

    async fn custom_metadata(&self) -> Outcome {
        // Unary: tonic merges headers and trailers into one map, so the
        // tap says which arrived where.
        let what = "UnaryCall";
        let mut request = echo_request(Self::large_request());
        let wire = Wire::default();
        request.extensions_mut().insert(wire.clone());
        let response = self
            .service()
            .unary_call(request)
            .await
            .map_err(|s| call_failed(what, s))?;
        check_payload(what, response.get_ref().payload.as_ref(), 314_159)?;
        let seen =
            |map: Option<http::HeaderMap>| MetadataMap::from_headers(map.unwrap_or_default());
        check_echo(what, &seen(wire.headers()), &seen(wire.trailers()))?;

        let what = "FullDuplexCall";
        let mut message = output_request(&[314_159]);
        message.payload = zeros(271_828);
        let response = self
            .service()
            .full_duplex_call(echo_request(tokio_stream::iter([message])))
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
        check_echo(what, &leading, &trailing)
    }

    async fn echo_status(&self, message: &str, duplex_too: bool) -> Outcome {
        let status = Some(EchoStatus {
            code: 2,
            message: message.to_string(),
        });
        let request = SimpleRequest {
            response_status: status.clone(),
            ..Default::default()
        };
        expect_status(
            "UnaryCall",
            self.service().unary_call(request).await,
            Code::Unknown,
            Some(message),
        )?;
        if duplex_too {
            let request = StreamingOutputCallRequest {
                response_status: status,
                ..Default::default()
            };
            let outcome = async {
                let mut stream = self
                    .service()
                    .full_duplex_call(tokio_stream::iter([request]))
                    .await?
                    .into_inner();
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
            self.service().unimplemented_call(Empty {}).await,
            Code::Unimplemented,
            None,
        )
    }

    async fn unimplemented_service(&self) -> Outcome {
        let mut client = UnimplementedServiceClient::new(self.channel.clone());
        expect_status(
            "UnimplementedService/UnimplementedCall",
            client.unimplemented_call(Empty {}).await,
            Code::Unimplemented,
            None,
        )
    }

    async fn cancel_after_begin(&self) -> Outcome {
        // Start the call with no message to send, then cancel it.
        let mut service = self.service();
        let call =
            service.streaming_input_call(tokio_stream::pending::<StreamingInputCallRequest>());
        let result = cancellable(call, tokio::time::sleep(Duration::from_millis(20))).await;
        expect_status("StreamingInputCall", result, Code::Cancelled, None)?;
        self.still_healthy("a cancelled call").await
    }

    async fn cancel_after_first_response(&self) -> Outcome {
        let what = "FullDuplexCall";
        let (sender, receiver) = tokio::sync::mpsc::channel(4);
        let mut request = output_request(&[31_415]);
        request.payload = zeros(27_182);
        sender
            .send(request)
            .await
            .map_err(|_| format!("{what}: the call stopped taking requests"))?;
        let (got_first, first) = tokio::sync::oneshot::channel::<()>();
        let mut service = self.service();
        let call = async {
            let mut stream = service
                .full_duplex_call(ReceiverStream::new(receiver))
                .await?
                .into_inner();
            let response = stream
                .message()
                .await?
                .ok_or_else(|| Status::internal("the stream ended without a response"))?;
            let len = response.payload.map_or(0, |p| p.body.len());
            if len != 31_415 {
                return Err(Status::internal(format!(
                    "first response has {len} bytes, expected 31415"
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
        drop(sender);
        expect_status(what, result, Code::Cancelled, None)?;
        self.still_healthy("a cancelled call").await
    }

    async fn timeout_on_sleeping_server(&self) -> Outcome {
        let what = "FullDuplexCall";
        let message = StreamingOutputCallRequest {
            payload: zeros(27_182),
            ..Default::default()
        };
        // One message, then the stream stays open: the client waits.
        let requests = tokio_stream::iter([message]).chain(tokio_stream::pending());
        let mut request = Request::new(requests);
        request.set_timeout(Duration::from_millis(1));
        let mut service = self.service();
        let started = Instant::now();
        let outcome = async {
            let mut stream = service.full_duplex_call(request).await?.into_inner();
            while stream.message().await?.is_some() {}
            Ok::<(), Status>(())
        };
        // Bounded: a deadline nobody enforced would hang here.
        let result = tokio::time::timeout(Duration::from_secs(10), outcome)
            .await
            .map_err(|_| format!("{what}: still running 10 s after a 1 ms deadline"))?;
        match result {
            // tonic's channel times the call out itself until the response
            // headers arrive, and reports that as CANCELLED "Timeout
            // expired" (its `TimeoutExpired`), not DEADLINE_EXCEEDED.
            Err(status)
                if status.code() == Code::Cancelled
                    && status.message() == TONIC_TIMEOUT
                    && started.elapsed() >= Duration::from_millis(1) =>
            {
                println!(
                    "note: tonic's own deadline timer ended the call before the server's \
                     headers arrived (tonic reports it as CANCELLED {TONIC_TIMEOUT:?})"
                );
                Ok(())
            }
            result => expect_status(what, result, Code::DeadlineExceeded, None),
        }
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
}

const USAGE: &str = "usage: tonic-interop-client --server_host=HOST --server_port=PORT \
--test_case=NAME|all [--use_tls=false]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut host = "localhost".to_string();
    let mut port = None;
    let mut cases = None;
    for (flag, value) in flags(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        match flag.as_str() {
            "server_host" => host = value,
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
            "test_case" if CASES.contains(&value.as_str()) => cases = Some(vec![value]),
            "test_case" => {
                return Err(format!(
                    "unknown test case {value:?}; known: all, {}",
                    CASES.join(", ")
                ));
            }
            "use_tls" if parse_bool(&flag, &value)? => {
                return Err(format!(
                    "--use_tls=true: this peer speaks plaintext only\n{USAGE}"
                ));
            }
            "use_tls" => {}
            _ => eprintln!("tonic-interop-client: ignoring --{flag}={value}"),
        }
    }
    Ok(Args {
        host,
        port: port.ok_or_else(|| format!("--server_port is required\n{USAGE}"))?,
        cases: cases.ok_or_else(|| format!("--test_case is required\n{USAGE}"))?,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("tonic-interop-client: {message}");
            std::process::exit(2);
        }
    };
    let host = if args.host.contains(':') {
        format!("[{}]", args.host)
    } else {
        args.host.clone()
    };
    let endpoint = match Endpoint::from_shared(format!("http://{host}:{}", args.port)) {
        Ok(endpoint) => endpoint.connect_timeout(Duration::from_secs(5)),
        Err(error) => {
            eprintln!("tonic-interop-client: bad server address: {error}");
            std::process::exit(2);
        }
    };
    let channel = endpoint.connect_lazy();
    let client = Client {
        service: TestServiceClient::new(ClientTap::new(channel.clone()))
            .accept_compressed(CompressionEncoding::Gzip),
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
