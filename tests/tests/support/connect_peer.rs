//! The connect-node and buf peers (`tests/connect`), shared by
//! `interop_connect.rs` and `interop_connect_client.rs`.
//!
//! The npm packages, pinned in `tests/connect/package.json` and
//! `package-lock.json`, are installed into `target/node-connect` (never
//! into the repository) with `npm ci`, whose postinstall step generates the
//! `grpc.testing` stubs into `target/node-connect/gen` with protoc-gen-es.
//! When that install is missing or stale, [`connect_peer`] makes it (so
//! does `scripts/setup-peers.sh`). `PROTOCALL_CONNECT_DIR` names another
//! installed directory instead, used as it is. Without node, npm or the
//! packages the tests skip, saying why, except with `CI=true`, where they
//! fail.
//!
//! Included with `#[path = "support/connect_peer.rs"] mod connect_peer;`.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use protocall_tests::harness::{in_ci, workspace_root};

/// An installed connect-node peer.
pub struct ConnectPeer {
    /// The install directory: `node_modules/` and the stubs in `gen/`.
    pub dir: PathBuf,
    /// `@connectrpc/connect-node`'s version.
    pub connect_node: String,
    /// What `buf --version` prints.
    pub buf: String,
}

impl ConnectPeer {
    /// `node tests/connect/<script>`, loading the packages from [`Self::dir`].
    pub fn node(&self, script: &str) -> Command {
        let mut command = Command::new("node");
        command
            .arg(workspace_root().join("tests/connect").join(script))
            .env("PROTOCALL_CONNECT_DIR", &self.dir);
        command
    }

    /// The pinned `buf`, its cache kept in the install directory.
    pub fn buf(&self) -> Command {
        let mut command = Command::new(self.dir.join("node_modules/.bin/buf"));
        command
            .current_dir(workspace_root())
            .env("BUF_CACHE_DIR", self.dir.join("buf-cache"));
        command
    }
}

/// The directory `tests/connect` is installed into.
fn install_dir() -> PathBuf {
    workspace_root().join("target/node-connect")
}

/// The peer, installed on first use; `None` after saying why it is
/// missing (a failure in CI).
pub fn connect_peer() -> Option<&'static ConnectPeer> {
    static PEER: OnceLock<Result<ConnectPeer, String>> = OnceLock::new();
    let found = PEER.get_or_init(|| {
        let dir = match std::env::var_os("PROTOCALL_CONNECT_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => {
                install()?;
                install_dir()
            }
        };
        probe(&dir)
    });
    match found {
        Ok(peer) => Some(peer),
        Err(problem) => {
            let hint = "run scripts/setup-peers.sh, or set PROTOCALL_CONNECT_DIR";
            if in_ci() {
                panic!("CI=true and the connect-node peer is unavailable: {problem} ({hint})");
            }
            eprintln!("skipping the connect-node interop tests: {problem} ({hint})");
            None
        }
    }
}

/// What a complete install holds besides the manifests.
const INSTALLED: &[&str] = &[
    "node_modules/@connectrpc/connect-node/package.json",
    "node_modules/.bin/buf",
    "gen/grpc/testing/test_pb.js",
];

/// `npm ci` of `tests/connect` into `target/node-connect`, unless the
/// manifests there are the repository's and the install is complete (what
/// setup-peers.sh checks too).
fn install() -> Result<(), String> {
    let source = workspace_root().join("tests/connect");
    let dir = install_dir();
    let manifests = ["package.json", "package-lock.json"];
    let fresh = manifests.iter().all(|name| {
        matches!(
            (std::fs::read(source.join(name)), std::fs::read(dir.join(name))),
            (Ok(a), Ok(b)) if a == b
        )
    }) && INSTALLED.iter().all(|path| dir.join(path).exists());
    if fresh {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in manifests {
        std::fs::copy(source.join(name), dir.join(name))
            .map_err(|e| format!("cannot copy tests/connect/{name}: {e}"))?;
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

/// Checks that node loads the peers' packages and stubs from `dir` and
/// that buf runs; returns their versions.
fn probe(dir: &Path) -> Result<ConnectPeer, String> {
    let common = workspace_root().join("tests/connect/common.mjs");
    let out = Command::new("node")
        .args(["--input-type=module", "-e", "await import(process.argv[1])"])
        .arg(&common)
        .env("PROTOCALL_CONNECT_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "node cannot load the connect-node peer ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let manifest =
        std::fs::read_to_string(dir.join("node_modules/@connectrpc/connect-node/package.json"))
            .map_err(|e| format!("cannot read connect-node's package.json: {e}"))?;
    let connect_node = manifest
        .split_once(r#""version""#)
        .and_then(|(_, rest)| rest.split('"').nth(1))
        .unwrap_or("unknown version")
        .to_string();
    let out = Command::new(dir.join("node_modules/.bin/buf"))
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run buf: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "buf --version failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(ConnectPeer {
        dir: dir.to_path_buf(),
        connect_node,
        buf: String::from_utf8_lossy(&out.stdout).trim().to_string(),
    })
}
