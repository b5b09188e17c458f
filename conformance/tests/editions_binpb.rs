//! `proto/conformance/editions.binpb` is what
//! `scripts/regen-conformance-editions.sh` makes of the editions schemas
//! now: the script is run into a temporary directory (with the protoc of
//! PyPI `grpcio-tools`) and its output compared byte for byte.
//!
//! The interpreter is `PROTOCALL_PYTHON`, else the venv `target/py` that
//! `scripts/setup-peers.sh` creates. Without one that imports
//! `grpc_tools.protoc` the test skips, except with `CI=true`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("PROTOCALL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/py/bin/python"));
    let probe = Command::new(&python)
        .args(["-c", "import grpc_tools.protoc"])
        .output();
    let reason = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{} cannot import grpc_tools.protoc: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("cannot run {}: {e}", python.display()),
    };
    let hint = "scripts/setup-peers.sh creates the venv; PROTOCALL_PYTHON picks the interpreter";
    if in_ci() {
        panic!("CI=true and no protoc for the editions schemas: {reason} ({hint})");
    }
    eprintln!("skipping: {reason} ({hint})");
    None
}

#[test]
fn editions_binpb_is_current() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("editions.binpb");
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts/regen-conformance-editions.sh"))
        .arg(&fresh)
        .env("PROTOCALL_PYTHON", &python)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "regen-conformance-editions.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let checked_in =
        std::fs::read(workspace_root().join("proto/conformance/editions.binpb")).unwrap();
    let fresh = std::fs::read(&fresh).unwrap();
    assert!(
        checked_in == fresh,
        "proto/conformance/editions.binpb is stale ({} bytes, regenerated {}): run \
         bash scripts/regen-conformance-editions.sh",
        checked_in.len(),
        fresh.len()
    );
}
