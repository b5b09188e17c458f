//! gRPC interop with Node's `@grpc/grpc-js`, on the official test service
//! (`grpc.testing.TestService`, grpc/grpc `doc/interop-test-descriptions.md`),
//! in two matrices:
//!
//! * grpc-js's client (`tests/node/interop_client.js`) against protocall's
//!   server (`examples/src/bin/interop-server.rs`);
//! * protocall's client (`examples/src/bin/interop-client.rs`) against
//!   grpc-js's server (`tests/node/interop_server.js`).
//!
//! As in `interop.rs` (whose process helpers, `support/peers.rs`, this
//! shares), each matrix starts its server on a free loopback port, runs
//! every case as its own client process under a time bound, and reports
//! every case by name; peers are killed when dropped.
//!
//! The Node peers load `@grpc/grpc-js` and `@grpc/proto-loader`, pinned in
//! `tests/node/package.json` and `package-lock.json`, from
//! `target/node-grpc/node_modules` (never from the repository). When that
//! install is missing or stale, this test installs it with `npm ci` (so does
//! `scripts/setup-peers.sh`). `PROTOCALL_NODE_MODULES` names another
//! `node_modules` instead, used as it is. Without node, npm or the packages
//! the matrices skip, saying why, except with `CI=true`, where they fail.
//!
//! # What grpc-js cannot express
//!
//! grpc-js compresses requests per channel (`grpc.default_compression_algorithm`,
//! with a per-write NoCompress flag), decompresses received messages before
//! the application sees them, removes `grpc-encoding` from the metadata it
//! hands over, and its server never compresses a response. So:
//!
//! * grpc-js client -> protocall server: `server_compressed_unary` and
//!   `server_compressed_streaming` are **partial** ([`GRPC_JS_CLIENT`]):
//!   they run and check the payloads (gzip responses from protocall are
//!   decoded by grpc-js), but whether each response arrived compressed, the
//!   point of the case, cannot be seen. The client compression cases run in
//!   full: the compressed calls use a gzip channel, and the uncompressed
//!   second message of `client_compressed_streaming` uses NoCompress.
//! * protocall client -> grpc-js server: all four compression cases are
//!   **skipped** ([`GRPC_JS_SERVER`]): the server cannot tell whether a
//!   request message was compressed (CompressedRequest: the
//!   `expect_compressed` probe cannot be answered with `INVALID_ARGUMENT`)
//!   and cannot compress a response (CompressedResponse).
//!
//! grpc-node's own interop client and server leave all four compression
//! cases out (grpc/grpc's `run_interop_tests.py` skips them for Node).

#[path = "support/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use peers::{CASES, Expect, Server, binaries, matrix, workspace_root};
use protocall_tests::harness::in_ci;

const RESPONSE_FLAG_HIDDEN: &str = "grpc-js decompresses responses before the application \
     sees them and hides grpc-encoding, so the compressed flag of each response cannot be \
     checked; the calls run and their payloads are checked";
const REQUEST_FLAG_HIDDEN: &str = "a grpc-js server cannot tell whether a request message \
     arrived compressed (it decompresses first and strips grpc-encoding), so it cannot \
     implement CompressedRequest (expect_compressed)";
const NO_RESPONSE_COMPRESSION: &str = "a grpc-js server never compresses a response message, \
     so it cannot implement CompressedResponse";

/// grpc-js client -> protocall server: the cases that are not plain passes.
const GRPC_JS_CLIENT: &[(&str, Expect)] = &[
    (
        "server_compressed_unary",
        Expect::Partial(RESPONSE_FLAG_HIDDEN),
    ),
    (
        "server_compressed_streaming",
        Expect::Partial(RESPONSE_FLAG_HIDDEN),
    ),
];

/// protocall client -> grpc-js server: the cases that are not plain passes.
const GRPC_JS_SERVER: &[(&str, Expect)] = &[
    ("client_compressed_unary", Expect::Skip(REQUEST_FLAG_HIDDEN)),
    (
        "client_compressed_streaming",
        Expect::Skip(REQUEST_FLAG_HIDDEN),
    ),
    (
        "server_compressed_unary",
        Expect::Skip(NO_RESPONSE_COMPRESSION),
    ),
    (
        "server_compressed_streaming",
        Expect::Skip(NO_RESPONSE_COMPRESSION),
    ),
];

/// Every case with what is expected of it, given the exceptions.
fn plan(exceptions: &[(&str, Expect)]) -> Vec<(&'static str, Expect)> {
    CASES
        .iter()
        .map(|&case| {
            let expect = exceptions
                .iter()
                .find(|(c, _)| *c == case)
                .map_or(Expect::Pass, |&(_, expect)| expect);
            (case, expect)
        })
        .collect()
}

// ---------------------------------------------------------------- the peers

/// Node with grpc-js installed: `node_modules` and grpc-js's version.
struct Node {
    modules: PathBuf,
    grpc_js: String,
}

/// The directory `tests/node` is installed into.
fn install_dir() -> PathBuf {
    workspace_root().join("target/node-grpc")
}

/// Node and the pinned packages, installed on first use; `None` after
/// saying why they are missing (a failure in CI).
fn node() -> Option<&'static Node> {
    static NODE: OnceLock<Result<Node, String>> = OnceLock::new();
    let found = NODE.get_or_init(|| {
        let modules = match std::env::var_os("PROTOCALL_NODE_MODULES") {
            Some(dir) => PathBuf::from(dir),
            None => {
                install()?;
                install_dir().join("node_modules")
            }
        };
        probe(&modules)
    });
    match found {
        Ok(node) => Some(node),
        Err(problem) => {
            let hint = "run scripts/setup-peers.sh, or set PROTOCALL_NODE_MODULES";
            if in_ci() {
                panic!("CI=true and the grpc-js peer is unavailable: {problem} ({hint})");
            }
            eprintln!("skipping the grpc-js interop matrix: {problem} ({hint})");
            None
        }
    }
}

/// `npm ci` of `tests/node` into `target/node-grpc`, unless the manifests
/// there are the same as the ones in the repository (what setup-peers.sh
/// does too).
fn install() -> Result<(), String> {
    let source = workspace_root().join("tests/node");
    let dir = install_dir();
    let manifests = ["package.json", "package-lock.json"];
    let fresh = manifests.iter().all(|name| {
        matches!(
            (std::fs::read(source.join(name)), std::fs::read(dir.join(name))),
            (Ok(a), Ok(b)) if a == b
        )
    }) && dir
        .join("node_modules/@grpc/grpc-js/package.json")
        .is_file();
    if fresh {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in manifests {
        std::fs::copy(source.join(name), dir.join(name))
            .map_err(|e| format!("cannot copy tests/node/{name}: {e}"))?;
    }
    let out = Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "npm ci in {} failed ({}): {}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Checks that node loads the peers' dependencies and the schemas from
/// `modules`; returns grpc-js's version.
fn probe(modules: &Path) -> Result<Node, String> {
    let common = workspace_root().join("tests/node/interop_common.js");
    let out = Command::new("node")
        .args(["-e", "require(process.argv[1]).loadTesting()"])
        .arg(&common)
        .env("PROTOCALL_NODE_MODULES", modules)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "node cannot load the grpc-js peer ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let manifest = std::fs::read_to_string(modules.join("@grpc/grpc-js/package.json"))
        .map_err(|e| format!("cannot read grpc-js's package.json: {e}"))?;
    let grpc_js = manifest
        .split_once(r#""version""#)
        .and_then(|(_, rest)| rest.split('"').nth(1))
        .unwrap_or("unknown version")
        .to_string();
    Ok(Node {
        modules: modules.to_path_buf(),
        grpc_js,
    })
}

fn node_command(node: &Node, script: &str) -> Command {
    let mut command = Command::new("node");
    command
        .arg(workspace_root().join("tests/node").join(script))
        .env("PROTOCALL_NODE_MODULES", &node.modules);
    command
}

// ---------------------------------------------------------------- the runs

#[test]
fn grpc_js_client_against_protocall_server() {
    let Some(node) = node() else { return };
    let server = Server::start("interop-server", Command::new(&binaries().server));
    matrix(
        &format!("grpc-js {} client -> protocall server", node.grpc_js),
        server,
        &plan(GRPC_JS_CLIENT),
        || node_command(node, "interop_client.js"),
    );
}

#[test]
fn protocall_client_against_grpc_js_server() {
    let Some(node) = node() else { return };
    let client = &binaries().client;
    let server = Server::start("interop_server.js", node_command(node, "interop_server.js"));
    matrix(
        &format!("protocall client -> grpc-js {} server", node.grpc_js),
        server,
        &plan(GRPC_JS_SERVER),
        || Command::new(client),
    );
}

/// The exception tables name real cases, so a typo cannot hide a case.
#[test]
fn exceptions_name_known_cases() {
    for (case, _) in GRPC_JS_CLIENT.iter().chain(GRPC_JS_SERVER) {
        assert!(CASES.contains(case), "unknown case {case}");
    }
}
