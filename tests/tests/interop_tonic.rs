//! gRPC interop with [tonic](https://docs.rs/tonic) 0.14, on the official
//! test service (`grpc.testing.TestService`, grpc/grpc
//! `doc/interop-test-descriptions.md`), in three matrices:
//!
//! * tonic's client (`peers/tonic`, `tonic-interop-client`) against
//!   protocall's server (`examples/src/bin/interop-server.rs`);
//! * protocall's client (`examples/src/bin/interop-client.rs`) against
//!   tonic's server (`tonic-interop-server`);
//! * tonic's client against tonic's server: a check of the peer itself, so
//!   that a failure above can be told a peer bug or a protocall bug.
//!
//! As in `interop.rs` (whose process helpers, `support/peers.rs`, this
//! shares), each matrix starts its server on a free loopback port, runs
//! every case as its own client process under a time bound, and reports
//! every case by name; peers are killed when dropped. The tonic peer is a
//! workspace crate, built with `cargo build -p protocall-peer-tonic` on
//! first use, so it is always available: nothing here skips for want of it.
//!
//! # What tonic cannot express
//!
//! The peer reads what tonic hides (each message's compressed flag, which
//! metadata came as headers and which as trailers) and echoes trailing
//! metadata through small tower taps around tonic's channel and server
//! (`peers/tonic/src/wire.rs`), so CompressedRequest, CompressedResponse
//! and Echo Metadata are checked in full. What remains:
//!
//! * tonic compresses every message of a call or none. Its client sends
//!   the second message of `client_compressed_streaming` (uncompressed in
//!   the spec, with `expect_compressed: false`) compressed too: **partial**
//!   in [`TONIC_CLIENT`], the server still has to reject the uncompressed
//!   probe and accept the compressed first message. Its server cannot send
//!   `server_compressed_streaming`'s compressed-then-uncompressed pair:
//!   **skipped** in [`TONIC_SERVER`].
//! * tonic's channel times a call out itself only until the response
//!   headers arrive, and reports that as `CANCELLED` "Timeout expired", not
//!   `DEADLINE_EXCEEDED`. Its client takes that report as the deadline
//!   firing in `timeout_on_sleeping_server` (**partial** in
//!   [`TONIC_CLIENT`]): when protocall's server answers the headers within
//!   the 1 ms, which is usual, the `DEADLINE_EXCEEDED` must come from
//!   protocall's server; when it does not, tonic's timer ends the call
//!   first and the server's deadline goes unchecked.
//! * tonic's server bounds only the handler's future by `grpc-timeout`, not
//!   a response stream, so against it the deadline of
//!   `timeout_on_sleeping_server` is enforced by the client alone: protocall
//!   passes by its own timer; tonic's client, which has none once the
//!   headers are in, would wait forever (**skipped** tonic -> tonic).
//!
//! A case in [`EXPECTED_FAILURES`] is a known protocall bug: it is
//! reported, and the test fails if it starts passing, so the list cannot go
//! stale.

#[path = "support/peers.rs"]
mod peers;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use peers::{CASES, Expect, Server, binaries, build_binaries, matrix, workspace_root};

const ALL_OR_NOTHING_REQUESTS: &str = "tonic compresses every request message of a call or \
     none: the second message, uncompressed in the spec (expect_compressed=false), goes \
     compressed too; the uncompressed probe and the compressed first message are checked";
const TONIC_CLIENT_DEADLINE: &str = "tonic reports its own deadline, when it fires before the \
     response headers arrive, as CANCELLED \"Timeout expired\" and the client accepts that; \
     otherwise DEADLINE_EXCEEDED must come from the server";
const ALL_OR_NOTHING_RESPONSES: &str = "tonic compresses every message of a response stream \
     or none, so a tonic server cannot send a compressed message and then an uncompressed one";
const NOBODY_TIMES_STREAMS: &str = "neither tonic's server (which bounds only the handler's \
     future, not the response stream) nor tonic's client (whose timer stops once the response \
     headers are in) ends a streaming call at its deadline";

/// tonic client -> protocall server: the cases that are not plain passes.
const TONIC_CLIENT: &[(&str, Expect)] = &[
    (
        "client_compressed_streaming",
        Expect::Partial(ALL_OR_NOTHING_REQUESTS),
    ),
    (
        "timeout_on_sleeping_server",
        Expect::Partial(TONIC_CLIENT_DEADLINE),
    ),
];

/// protocall client -> tonic server: the cases that are not plain passes.
const TONIC_SERVER: &[(&str, Expect)] = &[(
    "server_compressed_streaming",
    Expect::Skip(ALL_OR_NOTHING_RESPONSES),
)];

/// tonic client -> tonic server, beyond the two lists above.
const TONIC_BOTH: &[(&str, Expect)] = &[(
    "timeout_on_sleeping_server",
    Expect::Skip(NOBODY_TIMES_STREAMS),
)];

/// Which matrix a known failure belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    /// tonic's client against protocall's server.
    ProtocallServer,
    /// protocall's client against tonic's server.
    ProtocallClient,
}

/// Known protocall failures: matrix, case, why.
const EXPECTED_FAILURES: &[(Side, &str, &str)] = &[];

/// Every case with what is expected of it: a known protocall failure
/// first, else the first peer exception that names it, else a pass.
fn plan(side: Option<Side>, exceptions: &[&[(&str, Expect)]]) -> Vec<(&'static str, Expect)> {
    CASES
        .iter()
        .map(|&case| {
            let failure = EXPECTED_FAILURES
                .iter()
                .find(|(s, c, _)| Some(*s) == side && *c == case)
                .map(|&(_, _, why)| Expect::Fail(why));
            let exception = exceptions
                .iter()
                .flat_map(|list| list.iter())
                .find(|(c, _)| *c == case)
                .map(|&(_, expect)| expect);
            (case, failure.or(exception).unwrap_or(Expect::Pass))
        })
        .collect()
}

// ---------------------------------------------------------------- the peer

/// The tonic interop binaries.
struct Tonic {
    server: PathBuf,
    client: PathBuf,
    /// tonic's version, from `Cargo.lock`.
    version: String,
}

/// Builds the tonic peer once per test run.
fn tonic() -> &'static Tonic {
    static TONIC: OnceLock<Result<Tonic, String>> = OnceLock::new();
    let built = TONIC.get_or_init(|| {
        let [server, client] = build_binaries(
            "protocall-peer-tonic",
            ["tonic-interop-server", "tonic-interop-client"],
        )?;
        Ok(Tonic {
            server,
            client,
            version: locked_version("tonic").unwrap_or_else(|| "0.14".to_string()),
        })
    });
    match built {
        Ok(tonic) => tonic,
        Err(message) => panic!("building the tonic peer: {message}"),
    }
}

/// The version of `package` in the workspace's `Cargo.lock`.
fn locked_version(package: &str) -> Option<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).ok()?;
    let entry = format!("name = \"{package}\"\nversion = \"");
    let (_, rest) = lock.split_once(&entry)?;
    Some(rest.split('"').next()?.to_string())
}

// ---------------------------------------------------------------- the runs

#[test]
fn tonic_client_against_protocall_server() {
    let tonic = tonic();
    let server = Server::start("interop-server", Command::new(&binaries().server));
    matrix(
        &format!("tonic {} client -> protocall server", tonic.version),
        server,
        &plan(Some(Side::ProtocallServer), &[TONIC_CLIENT]),
        || Command::new(&tonic.client),
    );
}

#[test]
fn protocall_client_against_tonic_server() {
    let tonic = tonic();
    let client = &binaries().client;
    let server = Server::start("tonic-interop-server", Command::new(&tonic.server));
    matrix(
        &format!("protocall client -> tonic {} server", tonic.version),
        server,
        &plan(Some(Side::ProtocallClient), &[TONIC_SERVER]),
        || Command::new(client),
    );
}

#[test]
fn tonic_client_against_tonic_server() {
    let tonic = tonic();
    let server = Server::start("tonic-interop-server", Command::new(&tonic.server));
    matrix(
        &format!("tonic {0} client -> tonic {0} server", tonic.version),
        server,
        &plan(None, &[TONIC_BOTH, TONIC_SERVER, TONIC_CLIENT]),
        || Command::new(&tonic.client),
    );
}

/// The exception tables name real cases, so a typo cannot hide a case.
#[test]
fn exceptions_name_known_cases() {
    let failures = EXPECTED_FAILURES.iter().map(|(_, case, _)| case);
    let exceptions = [TONIC_CLIENT, TONIC_SERVER, TONIC_BOTH]
        .into_iter()
        .flatten()
        .map(|(case, _)| case);
    for case in failures.chain(exceptions) {
        assert!(CASES.contains(case), "unknown case {case}");
    }
}
