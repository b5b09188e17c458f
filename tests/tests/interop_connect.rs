//! gRPC-Web and Connect interop with third-party peers, against protocall's
//! interop server (`examples/src/bin/interop-server.rs`, which serves gRPC,
//! gRPC-Web and Connect on one port):
//!
//! * connect-node's client (`tests/connect/client.mjs`,
//!   `@connectrpc/connect-node`) runs the official interop cases (grpc/grpc
//!   `doc/interop-test-descriptions.md`) in one matrix per protocol, codec
//!   and HTTP version: Connect with the binary and the JSON codec, gRPC and
//!   gRPC-Web, over HTTP/2 cleartext; Connect and gRPC-Web over HTTP/1.1;
//! * `buf curl` (Buf's own Connect, gRPC and gRPC-Web client) calls
//!   UnaryCall (a success and an Echo Status error, whose code, message,
//!   detail and echoed metadata it prints), StreamingOutputCall and
//!   StreamingInputCall in every protocol, with JSON requests, the schema
//!   given as a descriptor set or found by server reflection
//!   (`grpc.reflection.v1`).
//!
//! As in `interop_node.rs` (whose process helpers, `support/peers.rs`, this
//! shares), each test starts its server on a free loopback port, runs every
//! case or call as its own bounded process, and reports each by name. The
//! peers come from `support/connect_peer.rs`: installed into
//! `target/node-connect` when missing; skipped, saying why, without node or
//! npm, except with `CI=true`, where that fails.
//!
//! # What connect-node cannot express
//!
//! * `client_compressed_streaming` is **partial** in every matrix:
//!   connect-node compresses all request messages of a call or none, so the
//!   spec's second message (`expect_compressed: false`, meant to go
//!   uncompressed) goes compressed too. The probe and the first, compressed
//!   message are exactly as the spec says.
//! * Over HTTP/1.1, connect-node cannot stream a request and a response at
//!   once: the four cases that are one bidirectional stream are
//!   **skipped**, and `custom_metadata` and `status_code_and_message` are
//!   **partial** (their UnaryCall half runs, their FullDuplexCall half
//!   cannot). gRPC itself needs HTTP/2, so it has no HTTP/1.1 matrix.
//!
//! The server compression cases run in full: the client reads the
//! compressed flag of every response envelope (and the Content-Encoding of
//! Connect unary responses) from the bytes on the wire.

#[path = "support/connect_peer.rs"]
mod connect_peer;
#[path = "support/peers.rs"]
mod peers;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use connect_peer::{ConnectPeer, connect_peer};
use peers::{CASES, Expect, Process, Server, binaries, collect, matrix};
use serde_json::{Value, json};

const SECOND_MESSAGE_COMPRESSED: &str = "connect-node compresses every request message of a call \
     or none, so the second message (expect_compressed=false) goes compressed too; the probe \
     and the compressed first message are as the spec says";
const BIDI_NEEDS_HTTP2: &str = "one bidirectional stream, which connect-node cannot run over \
     HTTP/1.1";
const UNARY_HALF_ONLY: &str = "over HTTP/1.1 only the UnaryCall half runs; the FullDuplexCall \
     half is a bidirectional stream";

/// Every matrix: the cases that are not plain passes.
const EVERY_MATRIX: &[(&str, Expect)] = &[(
    "client_compressed_streaming",
    Expect::Partial(SECOND_MESSAGE_COMPRESSED),
)];

/// The HTTP/1.1 matrices, in addition.
const HTTP1: &[(&str, Expect)] = &[
    ("ping_pong", Expect::Skip(BIDI_NEEDS_HTTP2)),
    ("empty_stream", Expect::Skip(BIDI_NEEDS_HTTP2)),
    (
        "cancel_after_first_response",
        Expect::Skip(BIDI_NEEDS_HTTP2),
    ),
    ("timeout_on_sleeping_server", Expect::Skip(BIDI_NEEDS_HTTP2)),
    ("custom_metadata", Expect::Partial(UNARY_HALF_ONLY)),
    ("status_code_and_message", Expect::Partial(UNARY_HALF_ONLY)),
];

/// Every case with what is expected of it: the first table naming a case wins.
fn plan(exceptions: &[&[(&'static str, Expect)]]) -> Vec<(&'static str, Expect)> {
    CASES
        .iter()
        .map(|&case| {
            let expect = exceptions
                .iter()
                .flat_map(|table| table.iter())
                .find(|(c, _)| *c == case)
                .map_or(Expect::Pass, |&(_, expect)| expect);
            (case, expect)
        })
        .collect()
}

// ------------------------------------------------ connect-node's client

/// One matrix of connect-node's client against a fresh protocall server.
fn client_matrix(protocol: &str, codec: &str, http_version: &str) {
    let Some(peer) = connect_peer() else { return };
    let mut exceptions = vec![EVERY_MATRIX];
    if http_version == "1.1" {
        exceptions.insert(0, HTTP1);
    }
    let server = Server::start("interop-server", Command::new(&binaries().server));
    matrix(
        &format!(
            "connect-node {} client ({protocol}, {codec}, HTTP/{http_version}) -> protocall server",
            peer.connect_node
        ),
        server,
        &plan(&exceptions),
        || {
            let mut command = peer.node("client.mjs");
            command.args([
                format!("--protocol={protocol}"),
                format!("--codec={codec}"),
                format!("--http_version={http_version}"),
            ]);
            command
        },
    );
}

#[test]
fn connect_node_connect_proto_http2() {
    client_matrix("connect", "proto", "2");
}

#[test]
fn connect_node_connect_json_http2() {
    client_matrix("connect", "json", "2");
}

#[test]
fn connect_node_grpc_http2() {
    client_matrix("grpc", "proto", "2");
}

#[test]
fn connect_node_grpc_web_http2() {
    client_matrix("grpcweb", "proto", "2");
}

#[test]
fn connect_node_connect_proto_http1() {
    client_matrix("connect", "proto", "1.1");
}

#[test]
fn connect_node_grpc_web_http1() {
    client_matrix("grpcweb", "proto", "1.1");
}

// ------------------------------------------------------------- buf curl

/// How long one `buf curl` may run.
const CURL_TIMEOUT: Duration = Duration::from_secs(30);

const TEST_SERVICE: &str = "grpc.testing.TestService";
const ECHO_INITIAL: &str = "x-grpc-test-echo-initial";
const ECHO_TRAILING: &str = "x-grpc-test-echo-trailing-bin";
/// 0xababab, base64 as `-bin` metadata travels.
const ECHO_TRAILING_VALUE: &str = "q6ur";
const STATUS_MESSAGE: &str = "test status message";
/// `grpc.testing.EchoStatus { code: 2, message: STATUS_MESSAGE }` encoded
/// (08 02, 12 13 "test status message"), in base64 without padding as buf
/// curl prints a detail's value.
const ECHO_STATUS_DETAIL: &str = "CAISE3Rlc3Qgc3RhdHVzIG1lc3NhZ2U";

/// What one `buf curl` did.
struct Curled {
    /// The exit code (`None`: killed after [`CURL_TIMEOUT`], or by a signal).
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Curled {
    fn describe(&self) -> String {
        format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout.trim(),
            self.stderr.trim()
        )
    }

    /// The JSON values printed on stdout (one per response message).
    fn messages(&self) -> Result<Vec<Value>, String> {
        serde_json::Deserializer::from_str(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("stdout is not JSON ({e}):\n{}", self.describe()))
    }

    /// The error buf curl prints on stderr: a JSON object starting on a
    /// line of its own, among `-v` log lines (`buf: …`; with reflection,
    /// the reflection stream's end is logged after it).
    fn error(&self) -> Result<Value, String> {
        let text: String = self
            .stderr
            .lines()
            .filter(|line| !line.starts_with("buf: "))
            .map(|line| format!("{line}\n"))
            .collect();
        let start = text
            .find("\n{")
            .map(|i| i + 1)
            .or_else(|| text.starts_with('{').then_some(0))
            .ok_or_else(|| format!("no error object on stderr:\n{}", self.describe()))?;
        serde_json::from_str(&text[start..]).map_err(|e| {
            format!(
                "the error on stderr is not JSON ({e}):\n{}",
                self.describe()
            )
        })
    }

    /// The response headers and trailers `-v` logged (`< (#1) name: value`
    /// lines), lower-cased; the status line and blank separators are left out.
    fn response_metadata(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|line| line.strip_prefix("buf: < "))
            .filter_map(|line| line.split_once(") ").map(|(_, rest)| rest))
            .filter(|rest| rest.contains(": "))
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

/// One protocol and HTTP version buf curl speaks, and where the schema comes from.
#[derive(Clone, Copy)]
struct Variant<'a> {
    protocol: &'static str,
    http2: bool,
    /// A descriptor set of `grpc/testing/*.proto`, or `None` for server
    /// reflection.
    schema: Option<&'a Path>,
}

impl Variant<'_> {
    fn name(&self) -> String {
        format!(
            "buf curl --protocol {} over HTTP/{}, schema from {}",
            self.protocol,
            if self.http2 { "2" } else { "1.1" },
            if self.schema.is_some() {
                "a descriptor set"
            } else {
                "server reflection"
            }
        )
    }

    /// Runs `buf curl` on `method` with request `data` and `extra` flags, bounded.
    fn curl(
        &self,
        peer: &ConnectPeer,
        port: u16,
        method: &str,
        data: &str,
        extra: &[&str],
    ) -> Curled {
        let mut command = peer.buf();
        command.args(["curl", "--protocol", self.protocol, "--data", data]);
        // gRPC and reflection imply HTTP/2 for an http URL; said anyway.
        if self.http2 {
            command.arg("--http2-prior-knowledge");
        }
        match self.schema {
            Some(schema) => command.arg("--schema").arg(schema),
            None => command.args(["--reflect", "--reflect-protocol", "grpc-v1"]),
        };
        command
            .args(extra)
            .arg(format!("http://127.0.0.1:{port}/{TEST_SERVICE}/{method}"));
        run_bounded(command)
    }
}

fn run_bounded(mut command: Command) -> Curled {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Curled {
                code: None,
                stdout: String::new(),
                stderr: format!("cannot start buf: {e}"),
            };
        }
    };
    let stdout = collect(child.stdout.take().expect("piped"));
    let stderr = collect(child.stderr.take().expect("piped"));
    let mut process = Process { child };
    let deadline = Instant::now() + CURL_TIMEOUT;
    let status = loop {
        match process.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => break None,
        }
    };
    drop(process);
    Curled {
        code: status.and_then(|s| s.code()),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// `size` zero bytes in base64, as ProtoJSON prints a `bytes` field.
fn zeros_base64(size: usize) -> String {
    let mut text = "AAAA".repeat(size / 3);
    text += ["", "AA==", "AAA="][size % 3];
    text
}

fn payload_json(size: usize) -> Value {
    // `type` is COMPRESSABLE, the enum's zero: ProtoJSON leaves it out.
    json!({ "payload": { "body": zeros_base64(size) } })
}

/// UnaryCall with a JSON request: the response's payload, printed as JSON.
fn unary_ok(peer: &ConnectPeer, port: u16, variant: &Variant<'_>) -> Result<(), String> {
    let data =
        r#"{"responseType": "COMPRESSABLE", "responseSize": 314, "payload": {"body": "AAAA"}}"#;
    let curled = variant.curl(peer, port, "UnaryCall", data, &[]);
    if curled.code != Some(0) {
        return Err(format!("UnaryCall failed:\n{}", curled.describe()));
    }
    let messages = curled.messages()?;
    if messages != [payload_json(314)] {
        return Err(format!(
            "UnaryCall printed {messages:?}, expected [{}]",
            payload_json(314)
        ));
    }
    Ok(())
}

/// UnaryCall with `response_status`: buf curl prints the code, the message
/// and the EchoStatus detail, exits with 8 × the code, and logs the echoed
/// metadata (with `-v`).
fn unary_error(peer: &ConnectPeer, port: u16, variant: &Variant<'_>) -> Result<(), String> {
    let data = format!(r#"{{"responseStatus": {{"code": 2, "message": "{STATUS_MESSAGE}"}}}}"#);
    let initial = format!("{ECHO_INITIAL}: echo-me");
    let trailing = format!("{ECHO_TRAILING}: {ECHO_TRAILING_VALUE}");
    let curled = variant.curl(
        peer,
        port,
        "UnaryCall",
        &data,
        &["-v", "-H", &initial, "-H", &trailing],
    );
    // buf curl: "If the RPC fails otherwise, this program will return an
    // exit code that is the gRPC code, shifted three bits to the left."
    if curled.code != Some(2 << 3) {
        return Err(format!(
            "UnaryCall with response_status UNKNOWN: expected exit code 16:\n{}",
            curled.describe()
        ));
    }
    let error = curled.error()?;
    let mut problems = Vec::new();
    if error["code"] != "unknown" {
        problems.push(format!("code {}, expected \"unknown\"", error["code"]));
    }
    if error["message"] != STATUS_MESSAGE {
        problems.push(format!(
            "message {}, expected {STATUS_MESSAGE:?}",
            error["message"]
        ));
    }
    let details = error["details"].as_array().cloned().unwrap_or_default();
    let echoed = details.iter().any(|detail| {
        detail["type"] == "grpc.testing.EchoStatus" && detail["value"] == ECHO_STATUS_DETAIL
    });
    if !echoed {
        problems.push(format!(
            "details {}, expected a grpc.testing.EchoStatus with value {ECHO_STATUS_DETAIL}",
            error["details"]
        ));
    }
    // A gRPC error is trailers-only, so all of its metadata (the echoed
    // initial value too) is trailing: Connect unary carries it as
    // `trailer-` prefixed headers, gRPC in the trailers-only headers, and
    // gRPC-Web in the body's trailer frame, which `-v` logs only as a byte
    // count (connect-node and connect-web check it there).
    let expected = match variant.protocol {
        "connect" => vec![
            format!("trailer-{ECHO_INITIAL}: echo-me"),
            format!("trailer-{ECHO_TRAILING}: {ECHO_TRAILING_VALUE}"),
        ],
        "grpc" => vec![
            format!("{ECHO_INITIAL}: echo-me"),
            format!("{ECHO_TRAILING}: {ECHO_TRAILING_VALUE}"),
        ],
        _ => Vec::new(),
    };
    let metadata = curled.response_metadata();
    for expected in expected {
        if !metadata.contains(&expected) {
            problems.push(format!(
                "no response metadata {expected:?} (got {metadata:?})"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "UnaryCall with response_status: {}:\n{}",
            problems.join("; "),
            curled.describe()
        ))
    }
}

/// StreamingOutputCall: one JSON object per response, the first compressed.
fn server_streaming(peer: &ConnectPeer, port: u16, variant: &Variant<'_>) -> Result<(), String> {
    let data = r#"{"responseType": "COMPRESSABLE", "responseParameters": [{"size": 31415, "compressed": {"value": true}}, {"size": 5}, {"size": 0}]}"#;
    let curled = variant.curl(peer, port, "StreamingOutputCall", data, &[]);
    if curled.code != Some(0) {
        return Err(format!(
            "StreamingOutputCall failed:\n{}",
            curled.describe()
        ));
    }
    let messages = curled.messages()?;
    // An empty payload prints as an empty `payload` object.
    let expected = vec![
        payload_json(31415),
        payload_json(5),
        json!({ "payload": {} }),
    ];
    if messages != expected {
        return Err(format!(
            "StreamingOutputCall printed {} messages, expected {}:\n{}",
            messages.len(),
            expected.len(),
            curled.describe()
        ));
    }
    Ok(())
}

/// StreamingInputCall: `--data` holds one JSON object per request message.
fn client_streaming(peer: &ConnectPeer, port: u16, variant: &Variant<'_>) -> Result<(), String> {
    let data = r#"{"payload": {"body": "AAAA"}} {"payload": {"body": "AAAAAAA="}} {}"#;
    let curled = variant.curl(peer, port, "StreamingInputCall", data, &[]);
    if curled.code != Some(0) {
        return Err(format!("StreamingInputCall failed:\n{}", curled.describe()));
    }
    let messages = curled.messages()?;
    if messages != [json!({ "aggregatedPayloadSize": 8 })] {
        return Err(format!(
            "StreamingInputCall printed {messages:?}, expected [{{\"aggregatedPayloadSize\": 8}}]"
        ));
    }
    Ok(())
}

/// Every call of every variant against one protocall server; one report
/// line per call, failing listing every failed call.
fn curl_matrix(title: &str, peer: &ConnectPeer, server: Server, variants: &[Variant<'_>]) {
    type Call = fn(&ConnectPeer, u16, &Variant<'_>) -> Result<(), String>;
    let calls: [(&str, Call); 4] = [
        ("UnaryCall", unary_ok),
        ("UnaryCall with response_status", unary_error),
        ("StreamingOutputCall", server_streaming),
        ("StreamingInputCall", client_streaming),
    ];
    let mut report = format!("{title} ({}):\n", peer.buf);
    let mut failures = Vec::new();
    for variant in variants {
        for (name, call) in calls {
            match call(peer, server.port, variant) {
                Ok(()) => report += &format!("  {}: {name}: pass\n", variant.name()),
                Err(error) => {
                    report += &format!("  {}: {name}: FAIL\n", variant.name());
                    failures.push(format!("{}: {name}: {error}", variant.name()));
                }
            }
        }
    }
    if let Err(error) = server.stop() {
        failures.push(error);
    }
    print!("{report}");
    assert!(
        failures.is_empty(),
        "{title}: {} failure(s):\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// `buf build` of `proto/grpc/testing` into a descriptor set in `dir`.
fn descriptor_set(peer: &ConnectPeer, dir: &Path) -> std::path::PathBuf {
    let out = dir.join("grpc-testing.binpb");
    let mut command = peer.buf();
    command
        .args(["build", "proto", "--path", "proto/grpc/testing", "-o"])
        .arg(&out);
    let built = run_bounded(command);
    assert_eq!(
        built.code,
        Some(0),
        "buf build failed:\n{}",
        built.describe()
    );
    out
}

#[test]
fn buf_curl_with_a_descriptor_set() {
    let Some(peer) = connect_peer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let schema = descriptor_set(peer, dir.path());
    let variant = |protocol, http2| Variant {
        protocol,
        http2,
        schema: Some(&schema),
    };
    let server = Server::start("interop-server", Command::new(&binaries().server));
    curl_matrix(
        "buf curl -> protocall server, --schema",
        peer,
        server,
        &[
            variant("grpc", true),
            variant("grpcweb", true),
            variant("grpcweb", false),
            variant("connect", true),
            variant("connect", false),
        ],
    );
}

#[test]
fn buf_curl_with_server_reflection() {
    let Some(peer) = connect_peer() else { return };
    let server = Server::start("interop-server", Command::new(&binaries().server));
    // First the reflection service itself, over gRPC (buf curl reflects in
    // the protocol of the call), so that its absence reads as such.
    let mut command = peer.buf();
    command.args([
        "curl",
        "--protocol",
        "grpc",
        "--list-services",
        "--reflect-protocol",
        "grpc-v1",
        "--http2-prior-knowledge",
    ]);
    command.arg(format!("http://127.0.0.1:{}", server.port));
    let listed = run_bounded(command);
    assert!(
        listed.code == Some(0)
            && listed
                .stdout
                .lines()
                .any(|line| line.trim() == TEST_SERVICE),
        "buf curl --list-services over grpc.reflection.v1 does not list {TEST_SERVICE}: \
         does the interop server serve reflection?\n{}",
        listed.describe()
    );
    // buf curl asks for the schema in the call's protocol, on a
    // bidirectional stream: every variant runs over HTTP/2.
    let variant = |protocol| Variant {
        protocol,
        http2: true,
        schema: None,
    };
    curl_matrix(
        "buf curl -> protocall server, server reflection",
        peer,
        server,
        &[variant("grpc"), variant("grpcweb"), variant("connect")],
    );
}

/// The exception tables name real cases, so a typo cannot hide a case.
#[test]
fn exceptions_name_known_cases() {
    for (case, _) in EVERY_MATRIX.iter().chain(HTTP1) {
        assert!(CASES.contains(case), "unknown case {case}");
    }
}
