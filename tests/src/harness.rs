//! What the cross-language tests share: where the workspace is, whether
//! this run is CI, and the Python interpreter that holds the peers.
//!
//! Outside CI a missing peer skips the test (after saying why); with
//! `CI=true` it fails it, so CI can never pass by skipping.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `scripts/setup-peers.sh` puts the peers, and how to pick another.
pub const SETUP_HINT: &str =
    "scripts/setup-peers.sh installs the peers; PROTOCALL_PYTHON picks the interpreter";

/// The workspace's root directory.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// True when `CI` is set to anything but empty, `false` or `0`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A peer is missing: a failure in CI, else a skip (`None`, after saying why).
pub fn unavailable<T>(reason: impl std::fmt::Display) -> Option<T> {
    if in_ci() {
        panic!("CI=true and a peer is missing: {reason} ({SETUP_HINT})");
    }
    eprintln!("skipping: {reason} ({SETUP_HINT})");
    None
}

/// The interpreter: `PROTOCALL_PYTHON`, else the venv `target/py` that
/// `scripts/setup-peers.sh` creates, else `python3`.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("PROTOCALL_PYTHON") {
        return python.into();
    }
    let venv = workspace_root().join("target/py/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

/// [`python`] if it can import every module in `modules` (a Python
/// `import` list, e.g. `"grpc, grpc_tools.protoc"`), else [`unavailable`].
pub fn python_with(modules: &str) -> Option<PathBuf> {
    let python = python();
    let probe = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output();
    match probe {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => unavailable(format!(
            "{} cannot import {modules}: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => unavailable(format!("cannot run {}: {e}", python.display())),
    }
}
