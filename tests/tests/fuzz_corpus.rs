//! Replays the fuzz corpus on stable: every file of `fuzz/corpus/<target>/`
//! and `fuzz/regressions/<target>/` through the same check the cargo-fuzz
//! target runs (`fuzz/src/checks.rs`, shared as the `protocall-fuzz`
//! library without libFuzzer). A check that panics fails this test.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_none_or(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let mut count = 0;
    for kind in ["corpus", "regressions"] {
        for file in files(&fuzz_dir().join(kind).join(target)) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| protocall_fuzz::run(target, &data));
            match outcome {
                Ok(known) => assert!(known, "no check named {target}"),
                Err(_) => panic!("{target}: {} fails its check", file.display()),
            }
            count += 1;
        }
    }
    assert!(count > 0, "{target} has no seed corpus");
}

#[test]
fn every_target_has_a_test() {
    let mut dirs: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut targets: Vec<String> = protocall_fuzz::TARGETS
        .iter()
        .map(|t| t.to_string())
        .collect();
    targets.sort();
    assert_eq!(dirs, targets);
}

#[test]
fn decode_everything() {
    replay("decode_everything");
}

#[test]
fn decode_wkt() {
    replay("decode_wkt");
}

#[test]
fn decode_recursive() {
    replay("decode_recursive");
}

#[test]
fn grpc_frames() {
    replay("grpc_frames");
}

#[test]
fn codegen_proto() {
    replay("codegen_proto");
}

#[test]
fn plugin_request() {
    replay("plugin_request");
}

#[test]
fn json_parse() {
    replay("json_parse");
}

#[test]
fn text_parse() {
    replay("text_parse");
}

#[test]
fn h2_server() {
    replay("h2_server");
}
