//! `tests/python/protobuf_peer.py`, Python's official `protobuf` package
//! behind a small CLI: `build CASE OUT` writes the bytes Python serializes
//! for a case, `check CASE IN` parses bytes Rust wrote and compares them
//! with the case. Shared by `python_protobuf.rs` and `protoc_plugin.rs`;
//! `python_differential.rs` uses [`run_script`] for its own script.
//!
//! Included with `#[path = "support/protobuf_peer.rs"] #[macro_use] mod protobuf_peer;`.

#![allow(dead_code, unreachable_pub)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use protocall_tests::harness::{python_with, workspace_root};

/// The Python peer, with its generated modules in a directory of its own.
pub struct Peer {
    python: PathBuf,
    dir: tempfile::TempDir,
    files: AtomicUsize,
}

impl Peer {
    /// The peer, or `None` (after saying why) when Python or its packages are
    /// missing outside CI. In CI a missing peer is a failure.
    pub fn start() -> Option<Peer> {
        let python = python_with("google.protobuf, grpc_tools.protoc")?;
        let peer = Peer {
            python,
            dir: tempfile::tempdir().expect("temp dir"),
            files: AtomicUsize::new(0),
        };
        peer.run(&["gen"])
            .unwrap_or_else(|e| panic!("generating the Python modules failed:\n{e}"));
        Some(peer)
    }

    /// Runs the peer script with `args`: its stdout, or why it failed.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut all = vec![self.dir.path().as_os_str()];
        all.extend(args.iter().map(OsStr::new));
        run_script(&self.python, "protobuf_peer.py", &all)
    }

    fn file(&self, what: &str) -> PathBuf {
        let n = self.files.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{n}-{what}.bin"))
    }

    /// The bytes Python's `SerializeToString` writes for `case`.
    pub fn build(&self, case: &str) -> Vec<u8> {
        let path = self.file(case);
        self.run(&["build", case, path.to_str().unwrap()])
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::read(&path).unwrap()
    }

    /// Python parses `bytes` as `case`'s message type; panics with Python's
    /// diff unless it equals `case`.
    pub fn check(&self, case: &str, bytes: &[u8]) {
        let path = self.file(&format!("rust-{case}"));
        std::fs::write(&path, bytes).unwrap();
        if let Err(e) = self.run(&["check", case, path.to_str().unwrap()]) {
            panic!("Python rejects the bytes Rust wrote for {case}:\n{e}");
        }
    }
}

/// Runs `tests/python/{script}` under `python` with `args`: its stdout, or
/// why it failed (exit status, stdout and stderr).
pub fn run_script(python: &Path, script: &str, args: &[&OsStr]) -> Result<String, String> {
    let out = Command::new(python)
        .arg(workspace_root().join("tests/python").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        Err(format!(
            "{script} {} exited with {}\n{stdout}{}",
            shown.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The peer, or return from the test (outside CI) when it is missing.
macro_rules! peer {
    () => {
        match $crate::protobuf_peer::Peer::start() {
            Some(peer) => peer,
            None => return,
        }
    };
}

/// Lower-case hex, for messages that show bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
