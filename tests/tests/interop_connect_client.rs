//! protocall's client (`examples/src/bin/interop-client.rs`) against
//! connect-node's interop server (`tests/connect/server.mjs`,
//! `@connectrpc/connect-node`), on the official interop cases (grpc/grpc
//! `doc/interop-test-descriptions.md`): one matrix per protocol and HTTP
//! version, each against a fresh server that answers only that protocol
//! (`--protocols`), so a client speaking another protocol fails (HTTP 415)
//! instead of passing.
//!
//! The peer comes from `support/connect_peer.rs` (installed into
//! `target/node-connect` when missing; skipped without node or npm, except
//! with `CI=true`); the processes from `support/peers.rs`, as in
//! `interop_node.rs`.
//!
//! # What connect-node's server cannot express
//!
//! The four compression cases are **skipped** in every matrix: a
//! connect-node handler sees request messages decompressed and cannot tell
//! whether each one was (so it cannot answer the CompressedRequest probe,
//! `expect_compressed`, with `INVALID_ARGUMENT`), and connect compresses
//! every response message of a call or none, as the client's
//! Accept-Encoding allows, never as a request's `response_compressed` asks
//! (CompressedResponse).

#[path = "support/connect_peer.rs"]
mod connect_peer;
#[path = "support/peers.rs"]
mod peers;

use std::process::Command;

use connect_peer::connect_peer;
use peers::{CASES, Expect, Server, binaries, matrix};

const REQUEST_FLAG_HIDDEN: &str = "a connect-node handler cannot tell whether a request message \
     arrived compressed, so it cannot implement CompressedRequest (expect_compressed)";
const NO_RESPONSE_CHOICE: &str = "connect-node compresses all response messages of a call or \
     none, by the client's accepted encodings, so it cannot implement CompressedResponse";
const BIDI_NEEDS_HTTP2: &str = "connect-node refuses a bidirectional stream over HTTP/1.1 \
     (HTTP 505 Version Not Supported): Connect and gRPC-Web carry one over HTTP/2 only";

/// Every matrix: the cases that are not plain passes.
const EVERY_MATRIX: &[(&str, Expect)] = &[
    ("client_compressed_unary", Expect::Skip(REQUEST_FLAG_HIDDEN)),
    (
        "client_compressed_streaming",
        Expect::Skip(REQUEST_FLAG_HIDDEN),
    ),
    ("server_compressed_unary", Expect::Skip(NO_RESPONSE_CHOICE)),
    (
        "server_compressed_streaming",
        Expect::Skip(NO_RESPONSE_CHOICE),
    ),
];

const DEADLINE_RACES_REFUSAL: &str = "a bidirectional stream with a 1 ms deadline: over HTTP/1.1 \
     connect-node refuses it (505) and the deadline may expire first, so the outcome is a race, \
     not a result";

/// The HTTP/1.1 matrices, in addition: connect-node refuses bidirectional
/// streams (the cases run, and must fail with its refusal).
const HTTP1: &[(&str, Expect)] = &[
    ("ping_pong", Expect::Fail(BIDI_NEEDS_HTTP2)),
    ("empty_stream", Expect::Fail(BIDI_NEEDS_HTTP2)),
    ("custom_metadata", Expect::Fail(BIDI_NEEDS_HTTP2)),
    ("status_code_and_message", Expect::Fail(BIDI_NEEDS_HTTP2)),
    (
        "cancel_after_first_response",
        Expect::Fail(BIDI_NEEDS_HTTP2),
    ),
    (
        "timeout_on_sleeping_server",
        Expect::Skip(DEADLINE_RACES_REFUSAL),
    ),
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

/// protocall's client speaking `protocol` (its spelling: `grpc`,
/// `grpc-web`, `connect`) over `http_version` to a connect-node server that
/// answers that protocol alone.
fn server_matrix(protocol: &str, http_version: &str) {
    let Some(peer) = connect_peer() else { return };
    let client = &binaries().client;
    let mut exceptions = vec![EVERY_MATRIX];
    if http_version == "1.1" {
        exceptions.push(HTTP1);
    }
    let mut command = peer.node("server.mjs");
    command.args([
        format!("--protocols={}", protocol.replace('-', "")),
        format!("--http_version={http_version}"),
    ]);
    let server = Server::start("connect-server", command);
    matrix(
        &format!(
            "protocall client ({protocol}, HTTP/{http_version}) -> connect-node {} server",
            peer.connect_node
        ),
        server,
        &plan(&exceptions),
        || {
            let mut command = Command::new(client);
            command.args([
                format!("--protocol={protocol}"),
                format!("--http_version={http_version}"),
            ]);
            command
        },
    );
}

#[test]
fn protocall_client_grpc_http2() {
    server_matrix("grpc", "2");
}

#[test]
fn protocall_client_grpc_web_http2() {
    server_matrix("grpc-web", "2");
}

#[test]
fn protocall_client_connect_http2() {
    server_matrix("connect", "2");
}

#[test]
fn protocall_client_grpc_web_http1() {
    server_matrix("grpc-web", "1.1");
}

#[test]
fn protocall_client_connect_http1() {
    server_matrix("connect", "1.1");
}

/// The exception tables name real cases, so a typo cannot hide a case.
#[test]
fn exceptions_name_known_cases() {
    for (case, _) in EVERY_MATRIX.iter().chain(HTTP1) {
        assert!(CASES.contains(case), "unknown case {case}");
    }
}
