//! gRPC interop with the official test service (`grpc.testing.TestService`,
//! grpc/grpc `doc/interop-test-descriptions.md`), in three matrices:
//!
//! * grpcio's client (`tests/python/interop_client.py`) against protocall's
//!   server (`examples/src/bin/interop-server.rs`);
//! * protocall's client (`examples/src/bin/interop-client.rs`) against
//!   grpcio's server (`tests/python/interop_server.py`);
//! * protocall's client against protocall's server, in gRPC and, against
//!   a server answering that protocol alone, in gRPC-Web and Connect over
//!   HTTP/2 and HTTP/1.1.
//!
//! Each matrix starts its server on a free loopback port (the server prints
//! it), runs every case as its own client process, and reports every case
//! by name. The binaries are built with `cargo build -p protocall-examples`
//! on first use. Python comes from `PROTOCALL_PYTHON`, else the venv
//! `target/py` that `scripts/setup-peers.sh` creates; without it (or without
//! grpcio) the Python matrices skip, except with `CI=true`, where they fail.
//!
//! A case in [`EXPECTED_FAILURES`] documents a known gap: it is reported,
//! and the test fails if it starts passing, so the list cannot go stale.

#[path = "support/peers.rs"]
mod peers;

use std::path::PathBuf;
use std::process::Command;

use peers::{CASES, Expect, Server, binaries, matrix, python_command};
use protocall_tests::harness::python_with;

/// Which server the clients talk to, for [`EXPECTED_FAILURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerSide {
    Protocall,
    Grpcio,
}

/// Known failures: server, case, why.
const EXPECTED_FAILURES: &[(ServerSide, &str, &str)] = &[];

// ---------------------------------------------------------------- the peers

/// Python with grpcio and grpcio-tools, or `None` after saying why; in CI
/// a missing peer is a failure.
fn python() -> Option<PathBuf> {
    python_with("grpc, grpc_tools.protoc")
}

/// The cases with what `side`'s server is expected to do with them.
fn plan(side: ServerSide) -> Vec<(&'static str, Expect)> {
    CASES
        .iter()
        .map(|&case| {
            let expect = EXPECTED_FAILURES
                .iter()
                .find(|(s, c, _)| *s == side && *c == case)
                .map_or(Expect::Pass, |&(_, _, why)| Expect::Fail(why));
            (case, expect)
        })
        .collect()
}

#[test]
fn grpcio_client_against_protocall_server() {
    let Some(python) = python() else { return };
    let server = Server::start("interop-server", Command::new(&binaries().server));
    matrix(
        "grpcio client -> protocall server",
        server,
        &plan(ServerSide::Protocall),
        || python_command(&python, "interop_client.py"),
    );
}

#[test]
fn protocall_client_against_grpcio_server() {
    let Some(python) = python() else { return };
    let client = &binaries().client;
    let server = Server::start(
        "interop_server.py",
        python_command(&python, "interop_server.py"),
    );
    matrix(
        "protocall client -> grpcio server",
        server,
        &plan(ServerSide::Grpcio),
        || Command::new(client),
    );
}

#[test]
fn protocall_client_against_protocall_server() {
    let binaries = binaries();
    let server = Server::start("interop-server", Command::new(&binaries.server));
    matrix(
        "protocall client -> protocall server",
        server,
        &plan(ServerSide::Protocall),
        || Command::new(&binaries.client),
    );
}

/// protocall's client in gRPC-Web and Connect, over HTTP/2 and HTTP/1.1,
/// against protocall's server answering that protocol alone (a client
/// speaking another is refused with HTTP 415, so a pass proves the
/// protocol): every case, bidirectional streams over HTTP/1.1 included
/// (hyper reads the response while the request body is still being sent).
fn web_matrix(protocol: &str, http_version: &str) {
    let binaries = binaries();
    let mut command = Command::new(&binaries.server);
    command.arg(format!("--protocols={}", protocol.replace('-', "")));
    let server = Server::start("interop-server", command);
    matrix(
        &format!("protocall client ({protocol}, HTTP/{http_version}) -> protocall server"),
        server,
        &plan(ServerSide::Protocall),
        || {
            let mut command = Command::new(&binaries.client);
            command.args([
                format!("--protocol={protocol}"),
                format!("--http_version={http_version}"),
            ]);
            command
        },
    );
}

#[test]
fn protocall_client_grpc_web_http2_against_protocall_server() {
    web_matrix("grpc-web", "2");
}

#[test]
fn protocall_client_grpc_web_http1_against_protocall_server() {
    web_matrix("grpc-web", "1.1");
}

#[test]
fn protocall_client_connect_http2_against_protocall_server() {
    web_matrix("connect", "2");
}

#[test]
fn protocall_client_connect_http1_against_protocall_server() {
    web_matrix("connect", "1.1");
}
