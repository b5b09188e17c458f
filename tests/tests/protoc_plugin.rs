//! `protoc-gen-protocall` under real `protoc` and real `buf`: the plugin
//! writes exactly what the build.rs path writes, reports bad parameters
//! through protoc, handles editions (checked against Python's protobuf on the
//! wire), and its output compiles in a crate that depends on protocall only.
//!
//! Two protocs: the one bundled with Python's grpcio-tools (`python -m
//! grpc_tools.protoc`, editions 2023 and 2024; interpreter from
//! `PROTOCALL_PYTHON`, else the venv `target/py`), and Debian's
//! `/usr/bin/protoc` (3.21, no editions). buf comes from npm
//! (`@bufbuild/buf`, installed into `target/node` when missing). Without one
//! of them the tests that need it skip, except with `CI=true`, where they
//! fail.
//!
//! The Rust code of the editions schemas (`proto/test/editions/`, which
//! protox cannot parse) is checked in under `tests/generated/`;
//! `PROTOCALL_BLESS=1` rewrites it.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use protocall::{EnumValue, Message, UnknownField, UnknownValue};
use protocall_codegen::Builder;
use protocall_tests::editions::e2023::{Color, Inner, Sample, Size, sample::Choice};
use protocall_tests::editions::e2024::{Leaf, Level, Mood, Node};
use protocall_tests::harness::{python, unavailable, workspace_root};

// ------------------------------------------------------------ environment

fn proto_root() -> PathBuf {
    workspace_root().join("proto")
}

/// Cargo's target directory: `CARGO_TARGET_DIR` (relative to the
/// workspace), else the workspace's `target/`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The plugin binary, built once per test process.
fn plugin() -> &'static Path {
    static PLUGIN: OnceLock<PathBuf> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let out = output(Command::new(cargo()).current_dir(workspace_root()).args([
            "build",
            "-q",
            "-p",
            "protocall-codegen",
            "--bin",
            "protoc-gen-protocall",
        ]));
        assert!(
            out.status.success(),
            "building protoc-gen-protocall failed:\n{}",
            stderr(&out)
        );
        let path = target_dir().join("debug").join(format!(
            "protoc-gen-protocall{}",
            std::env::consts::EXE_SUFFIX
        ));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    })
}

/// Generated files by name (relative to the output directory).
type Tree = BTreeMap<String, String>;

fn read_tree(dir: &Path) -> Tree {
    fn walk(root: &Path, dir: &Path, tree: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, tree);
            } else {
                let name = path.strip_prefix(root).unwrap().to_string_lossy();
                tree.insert(name.into_owned(), std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut tree = Tree::new();
    walk(dir, dir, &mut tree);
    tree
}

/// Panics naming every file that differs, with its first differing line.
fn assert_same_files(got: &Tree, want: &Tree, context: &str) {
    let mut problems = Vec::new();
    for name in want.keys().filter(|n| !got.contains_key(*n)) {
        problems.push(format!("{name}: missing"));
    }
    for name in got.keys().filter(|n| !want.contains_key(*n)) {
        problems.push(format!("{name}: not expected"));
    }
    for (name, text) in got {
        let Some(expected) = want.get(name) else {
            continue;
        };
        if text != expected {
            let line = text
                .lines()
                .zip(expected.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| text.lines().count().min(expected.lines().count()));
            let (a, b) = (
                text.lines().nth(line).unwrap_or("<end>"),
                expected.lines().nth(line).unwrap_or("<end>"),
            );
            let at = a
                .bytes()
                .zip(b.bytes())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            let from = at.saturating_sub(60);
            problems.push(format!(
                "{name}: differs from line {} at column {at}:\n    got:  …{:?}\n    want: …{:?}",
                line + 1,
                a.get(from..(at + 200).min(a.len())).unwrap_or(a),
                b.get(from..(at + 200).min(b.len())).unwrap_or(b),
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{context}: {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ------------------------------------------------------------------ protoc

#[derive(Clone, Debug)]
struct Protoc {
    name: &'static str,
    program: PathBuf,
    /// Arguments before protoc's own (`-m grpc_tools.protoc`).
    prefix: Vec<&'static str>,
}

impl Protoc {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.prefix);
        command
    }

    fn probe(self) -> Option<Protoc> {
        let what = format!("{} ({})", self.name, self.program.display());
        match self.command().arg("--version").output() {
            Ok(out) if out.status.success() => Some(self),
            Ok(out) => unavailable(format!("{what} does not work: {}", stderr(&out).trim())),
            Err(e) => unavailable(format!("cannot run {what}: {e}")),
        }
    }

    /// The plugin's output for `files` (names relative to `include`), or
    /// protoc's stderr when it fails.
    fn generate(&self, include: &Path, files: &[String], options: &[&str]) -> Result<Tree, String> {
        let out = tempfile::tempdir().unwrap();
        let mut command = self.command();
        command
            .arg(format!("-I{}", include.display()))
            .arg(format!(
                "--plugin=protoc-gen-protocall={}",
                plugin().display()
            ))
            .arg(format!("--protocall_out={}", out.path().display()));
        for option in options {
            command.arg(format!("--protocall_opt={option}"));
        }
        let result = output(command.args(files));
        if result.status.success() {
            Ok(read_tree(out.path()))
        } else {
            Err(stderr(&result))
        }
    }

    /// `--descriptor_set_out` with imports and source info, encoded.
    fn descriptor_set(&self, include: &Path, files: &[String]) -> Vec<u8> {
        let out = tempfile::tempdir().unwrap();
        let set = out.path().join("set.binpb");
        let result = output(
            self.command()
                .arg(format!("-I{}", include.display()))
                .arg(format!("--descriptor_set_out={}", set.display()))
                .args(["--include_imports", "--include_source_info"])
                .args(files),
        );
        assert!(
            result.status.success(),
            "{} --descriptor_set_out failed:\n{}",
            self.name,
            stderr(&result)
        );
        std::fs::read(set).unwrap()
    }
}

/// The protoc bundled with grpcio-tools: editions 2023 and 2024, and the
/// `google/protobuf` includes.
fn bundled_protoc() -> Option<Protoc> {
    Protoc {
        name: "grpc_tools.protoc",
        program: python(),
        prefix: vec!["-m", "grpc_tools.protoc"],
    }
    .probe()
}

/// Debian's protoc 3.21 (no editions).
fn debian_protoc() -> Option<Protoc> {
    Protoc {
        name: "/usr/bin/protoc",
        program: PathBuf::from("/usr/bin/protoc"),
        prefix: Vec::new(),
    }
    .probe()
}

fn protocs() -> Vec<Protoc> {
    [bundled_protoc(), debian_protoc()]
        .into_iter()
        .flatten()
        .collect()
}

/// What build.rs writes for `files` (relative to `include`).
fn build_rs(builder: Builder, include: &Path, files: &[String]) -> Tree {
    let out = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = files.iter().map(|f| include.join(f)).collect();
    builder
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile(&paths, &[include])
        .unwrap_or_else(|e| panic!("build.rs path failed for {files:?}: {e}"));
    read_tree(out.path())
}

/// `.proto` files under `dir` (relative to `root`), sorted; recursive or not.
fn protos(root: &Path, dir: &str, recursive: bool) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, recursive: bool, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if recursive {
                    walk(root, &path, recursive, out);
                }
            } else if path.extension().is_some_and(|e| e == "proto") {
                let name = path.strip_prefix(root).unwrap();
                out.push(name.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &root.join(dir), recursive, &mut out);
    out.sort();
    out
}

/// `files` grouped by proto package (as protox reads them).
fn by_package(include: &Path, files: &[String]) -> BTreeMap<String, Vec<String>> {
    let set = protox::compile(files, [include]).unwrap();
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &set.file {
        if files.iter().any(|f| f == file.name()) {
            packages
                .entry(file.package().to_string())
                .or_default()
                .push(file.name().to_string());
        }
    }
    packages
}

/// Every package of `files` through `protoc` with the plugin, one
/// invocation per package (protoc generates only the files it is given, and
/// the plugin writes one `.rs` per package, so a package's files go
/// together), then all of them at once: each time the same files as build.rs.
fn corpus_matches_build_rs(protoc: &Protoc, include: &Path, files: &[String]) {
    for (package, files) in by_package(include, files) {
        let got = protoc
            .generate(include, &files, &[])
            .unwrap_or_else(|e| panic!("{} failed on {files:?}:\n{e}", protoc.name));
        let want = build_rs(protocall_codegen::configure(), include, &files);
        assert_same_files(&got, &want, &format!("{} package {package}", protoc.name));
    }
    let got = protoc
        .generate(include, files, &["include_file=all.rs"])
        .unwrap_or_else(|e| panic!("{} failed on the whole corpus:\n{e}", protoc.name));
    let want = build_rs(
        protocall_codegen::configure().include_file("all.rs"),
        include,
        files,
    );
    assert_same_files(&got, &want, &format!("{} whole corpus", protoc.name));
}

/// Every parameter, as `--protocall_opt` text; [`with_options`] is the same
/// as build.rs calls.
const OPTIONS: &[&str] = &[
    "include_file=all.rs",
    "bytes=.protocall.test.Everything.r_bytes",
    "bytes=Everything.c_bytes",
    "btree_map=.protocall.test.Everything.m_bool_string",
    r"type_attribute=.protocall.test.Color=#[derive(PartialOrd\, Ord)]",
    "message_attribute=.protocall.test2.Legacy=#[non_exhaustive]",
    "enum_attribute=Size=#[allow(clippy::enum_variant_names)]",
    "field_attribute=.protocall.test.Everything.f_int32=#[allow(unused)]",
    "disable_comments=.protocall.test2",
    "discard_unknown_fields=.protocall.test.Result",
    "views=.protocall.test2",
    "views=.protocall.views",
    "view_requests=.protocall.views.Logs",
    "view_responses=.protocall.views.Logs.Put",
    "extern_path=.google.protobuf.Timestamp=::my_types::Timestamp",
    "build_client=false",
    "build_server=true",
];

fn with_options() -> Builder {
    protocall_codegen::configure()
        .include_file("all.rs")
        .bytes([".protocall.test.Everything.r_bytes", "Everything.c_bytes"])
        .btree_map([".protocall.test.Everything.m_bool_string"])
        .type_attribute(".protocall.test.Color", "#[derive(PartialOrd, Ord)]")
        .message_attribute(".protocall.test2.Legacy", "#[non_exhaustive]")
        .enum_attribute("Size", "#[allow(clippy::enum_variant_names)]")
        .field_attribute(".protocall.test.Everything.f_int32", "#[allow(unused)]")
        .disable_comments([".protocall.test2"])
        .discard_unknown_fields([".protocall.test.Result"])
        .views([".protocall.test2", ".protocall.views"])
        .view_requests([".protocall.views.Logs"])
        .view_responses([".protocall.views.Logs.Put"])
        .extern_path(".google.protobuf.Timestamp", "::my_types::Timestamp")
        .build_client(false)
        .build_server(true)
}

// ---------------------------------------------------- same output as build.rs

#[test]
fn test_schemas_same_output_as_build_rs() {
    let root = proto_root();
    let files = protos(&root, "test", false);
    assert!(files.len() >= 2, "{files:?}");
    for protoc in protocs() {
        corpus_matches_build_rs(&protoc, &root, &files);
        let got = protoc
            .generate(&root, &files, OPTIONS)
            .unwrap_or_else(|e| panic!("{} failed with options:\n{e}", protoc.name));
        let want = build_rs(with_options(), &root, &files);
        assert_same_files(&got, &want, &format!("{} with every option", protoc.name));
        assert!(got["protocall.test.rs"].contains("::my_types::Timestamp"));
    }
}

#[test]
fn grpc_proto_corpus_same_output_as_build_rs() {
    let root = std::env::var_os("GRPC_PROTO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/grpc-proto"));
    if !root.join("grpc").is_dir() {
        let _: Option<()> =
            unavailable(format!("{} is missing (Debian grpc-proto)", root.display()));
        return;
    }
    let mut files = protos(&root, "grpc", true);
    // These two import googleapis/envoy schemas the package lacks.
    files.retain(|f| {
        !f.ends_with("service_config/service_config.proto")
            && !f.ends_with("tls/provider/meshca/experimental/config.proto")
    });
    assert!(files.len() > 20, "{files:?}");
    for protoc in protocs() {
        corpus_matches_build_rs(&protoc, &root, &files);
    }
}

// ------------------------------------------------------------- parameters

#[test]
fn bad_parameters_fail_protoc_naming_the_parameter() {
    let root = proto_root();
    let files = ["test/everything.proto".to_string()];
    for protoc in protocs() {
        for (option, needle) in [
            ("frobnicate=1", "unknown parameter `frobnicate`"),
            ("bytes", "parameter `bytes` is not of the form key=value"),
            (
                "build_client=maybe",
                "`build_client=maybe`: expected true or false",
            ),
            (
                "extern_path=.a",
                "`extern_path=.a`: expected extern_path=PROTO_PATH=VALUE",
            ),
            (
                "type_attribute=.a",
                "expected type_attribute=PROTO_PATH=VALUE",
            ),
            ("include_file=", "`include_file=` needs a file name"),
            (
                "bytes=.no.such.Message",
                "`bytes(\".no.such.Message\")` matches nothing",
            ),
            (
                "field_attribute=.protocall.test.Nope.x=#[allow(unused)]",
                "`field_attribute(\".protocall.test.Nope.x\")` matches nothing",
            ),
        ] {
            let err = protoc
                .generate(&root, &files, &[option])
                .err()
                .unwrap_or_else(|| panic!("{}: `{option}` was accepted", protoc.name));
            assert!(
                err.contains("protoc-gen-protocall") && err.contains(needle),
                "{}: `{option}` should fail naming itself ({needle}), got:\n{err}",
                protoc.name
            );
        }
        // Commas separate parameters; an escaped one belongs to the value.
        let err = protoc
            .generate(
                &root,
                &files,
                &["bytes=.protocall.test.Everything.r_bytes,nope=1"],
            )
            .unwrap_err();
        assert!(err.contains("unknown parameter `nope`"), "{err}");
    }
}

// --------------------------------------------------------------- editions

const EDITIONS_FILES: &[&str] = &[
    "test/editions/editions2023.proto",
    "test/editions/editions2024.proto",
];

fn editions_files() -> Vec<String> {
    EDITIONS_FILES.iter().map(|f| f.to_string()).collect()
}

fn generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("generated")
}

/// The plugin's output for the editions schemas is what `tests/generated/`
/// holds (and `src/lib.rs` compiles), and what `protoc --descriptor_set_out`
/// + `compile_fds_encoded` writes.
#[test]
fn editions_code_is_checked_in_and_same_as_descriptor_set_path() {
    let Some(protoc) = bundled_protoc() else {
        return;
    };
    let root = proto_root();
    let files = editions_files();
    let got = protoc
        .generate(&root, &files, &[])
        .unwrap_or_else(|e| panic!("{} failed on the editions schemas:\n{e}", protoc.name));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        [
            "protocall.test.editions.rs",
            "protocall.test.editions2024.rs"
        ]
    );

    let out = tempfile::tempdir().unwrap();
    protocall_codegen::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile_fds_encoded(&protoc.descriptor_set(&root, &files))
        .unwrap();
    assert_same_files(
        &read_tree(out.path()),
        &got,
        "compile_fds_encoded versus the plugin",
    );

    let bless = std::env::var_os("PROTOCALL_BLESS").is_some();
    let mut stale = Vec::new();
    for (name, text) in &got {
        let path = generated_dir().join(name);
        if std::fs::read_to_string(&path).ok().as_ref() != Some(text) {
            if bless {
                std::fs::write(&path, text).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files (rerun with PROTOCALL_BLESS=1): {stale:?}"
    );
}

/// Editions files through protox fail with a clear error (the reason the
/// editions code is generated by the plugin and checked in); if protox ever
/// learns editions, the build.rs path must agree with the plugin too.
#[test]
fn editions_through_protox_error_or_agree() {
    let root = proto_root();
    let out = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = EDITIONS_FILES.iter().map(|f| root.join(f)).collect();
    match protocall_codegen::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile(&paths, &[&root])
    {
        Err(e) => assert!(e.to_string().contains("edition"), "{e}"),
        Ok(()) => {
            let checked_in: Tree = read_tree(&generated_dir());
            assert_same_files(&read_tree(out.path()), &checked_in, "protox editions");
        }
    }
}

// ------------------------------------------------- editions on the wire

// tests/python/protobuf_peer.py (see python_protobuf.rs), for its
// `ed2023_*` and `ed2024_*` cases.
#[path = "support/protobuf_peer.rs"]
#[macro_use]
mod protobuf_peer;

use protobuf_peer::{Peer, hex};

fn encode<M: Message>(message: &M) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    assert_eq!(bytes.len(), message.encoded_len(), "{message:?}");
    bytes
}

fn decode<M: Message>(bytes: &[u8], what: &str) -> M {
    M::decode(bytes)
        .unwrap_or_else(|e| panic!("Rust cannot decode Python's {what}: {e}\n{}", hex(bytes)))
}

/// The top-level records of `bytes`, as the unknown fields of an empty message.
fn records(bytes: &[u8]) -> protocall::types::Empty {
    decode(bytes, "bytes (as Empty)")
}

fn numbers(bytes: &[u8]) -> Vec<u32> {
    records(bytes)
        ._unknown_fields
        .iter()
        .map(|f| f.number)
        .collect()
}

/// Wire shape of field `number`: "V" varint, "L" length-delimited, "4"/"8"
/// fixed, "G" group, one letter per record.
fn shape(bytes: &[u8], number: u32) -> String {
    records(bytes)
        ._unknown_fields
        .iter()
        .filter(|f| f.number == number)
        .map(|f| match f.value {
            UnknownValue::Varint(_) => 'V',
            UnknownValue::Fixed64(_) => '8',
            UnknownValue::Fixed32(_) => '4',
            UnknownValue::LengthDelimited(_) => 'L',
            UnknownValue::Group(_) => 'G',
        })
        .collect()
}

/// Python's bytes for `case` are exactly Rust's for `want`, decode to
/// `want`, and Rust's bytes parse in Python back to `case`.
fn same_bytes_both_ways<M: Message + PartialEq>(peer: &Peer, case: &str, want: &M) -> Vec<u8> {
    let python = peer.build(case);
    let rust = encode(want);
    assert!(
        python == rust,
        "{case}: Python and Rust write different bytes\n python: {}\n rust:   {}",
        hex(&python),
        hex(&rust)
    );
    let got: M = decode(&python, case);
    assert_eq!(&got, want, "{case}: Python's bytes decoded by Rust");
    peer.check(case, &rust);
    python
}

fn s(text: &str) -> String {
    text.to_string()
}

fn inner(a: i32, b: &str) -> Inner {
    Inner {
        a,
        b: s(b),
        ..Default::default()
    }
}

/// Twin of `fill_ed2023_full` in protobuf_peer.py.
fn ed2023_full() -> Sample {
    Sample {
        i_int32: -5,
        i_string: s("implicit \u{2713}"),
        i_bytes: vec![0x00, 0xff],
        i_color: EnumValue::Unknown(99),
        i_double: -0.0,
        i_bool: true,
        e_int32: Some(7),
        e_string: Some(s("explicit")),
        e_color: Some(Color::Green.into()),
        e_size: Some(Size::Large),
        e_default: Some(42),
        e_inner: Some(inner(1, "")),
        r_id: Some(i32::MIN),
        packed_int32: vec![1, -1, 300],
        expanded_int32: vec![2, -2, 400],
        packed_size: vec![Size::Small, Size::Large],
        expanded_size: vec![Size::Medium, Size::Small],
        packed_color: vec![
            Color::Red.into(),
            EnumValue::Unknown(99),
            Color::Unspecified.into(),
        ],
        expanded_double: vec![1.5, -0.0],
        delimited: Some(inner(3, "group")),
        delimited_list: vec![inner(4, ""), inner(0, "five")],
        prefixed_list: vec![inner(6, ""), Inner::default()],
        inner_map: HashMap::from([(s("k"), inner(8, ""))]),
        raw_string: "raw \u{2713}".into(),
        raw_strings: vec![b"".to_vec(), b"two".to_vec()],
        raw_map: HashMap::from([(1, b"one".to_vec())]),
        choice: Some(Choice::CDelimited(inner(0, "oneof group"))),
        _unknown_fields: Default::default(),
    }
}

#[test]
fn edition_2023_presence_matches_python() {
    let peer = peer!();
    // Twin of `fill_ed2023_zeros`: implicit fields at zero are not written;
    // explicit ones are, as is the required one.
    let zeros = Sample {
        e_int32: Some(0),
        e_string: Some(s("")),
        e_color: Some(Color::Unspecified.into()),
        e_size: Some(Size::Small),
        e_default: Some(0),
        e_inner: Some(Inner::default()),
        r_id: Some(0),
        ..Default::default()
    };
    let python = same_bytes_both_ways(&peer, "ed2023_zeros", &zeros);
    assert_eq!(numbers(&python), [10, 11, 12, 13, 14, 15, 20]);
    // Unset explicit fields read as their defaults, `[default = 42]` included.
    let empty = Sample::default();
    assert_eq!((empty.e_default, empty.e_default()), (None, 42));
    assert_eq!(empty.e_size(), Size::Small);
    // A required field that is not set is not written (before, it was, at 0).
    assert!(numbers(&encode(&empty)).is_empty());
}

#[test]
fn edition_2023_encodings_match_python() {
    let peer = peer!();
    let python = same_bytes_both_ways(&peer, "ed2023_full", &ed2023_full());
    let shapes = |bytes: &[u8]| {
        [5, 30, 31, 32, 33, 34, 35, 40, 41, 42, 43, 52].map(|n| (n, shape(bytes, n)))
    };
    let want = [
        (5, "8"), // i_double = -0.0 is not the default: written
        (30, "L"),
        (31, "VVV"),
        (32, "L"),
        (33, "VV"),
        (34, "L"),
        (35, "88"),
        (40, "G"),
        (41, "GG"),
        (42, "LL"),
        (43, "L"),
        (52, "G"),
    ]
    .map(|(n, s)| (n, s.to_string()));
    assert_eq!(shapes(&python), want, "Python's bytes");
    assert_eq!(shapes(&encode(&ed2023_full())), want, "Rust's bytes");
}

#[test]
fn edition_2023_closed_enum_unknown_values_go_to_unknown_fields() {
    let peer = peer!();
    let raw = peer.build("ed2023_closed_unknown");
    let got: Sample = decode(&raw, "ed2023_closed_unknown");
    let field = |number| UnknownField {
        number,
        value: UnknownValue::Varint(9),
    };
    assert_eq!(
        got._unknown_fields.iter().collect::<Vec<_>>(),
        [field(13), field(32), field(33), field(51)]
    );
    assert_eq!(
        got,
        Sample {
            i_color: EnumValue::Unknown(99),
            r_id: Some(1),
            packed_size: vec![Size::Small, Size::Medium],
            packed_color: vec![Color::Red.into(), EnumValue::Unknown(99)],
            _unknown_fields: got._unknown_fields.clone(),
            ..Default::default()
        }
    );
    peer.check("ed2023_closed_unknown", &encode(&got));
}

#[test]
fn edition_2023_unchecked_strings_hold_raw_bytes() {
    let peer = peer!();
    // `utf8_validation = NONE`: `Vec<u8>` fields that take what Python takes.
    let raw = peer.build("ed2023_not_utf8");
    let got: Sample = decode(&raw, "ed2023_not_utf8");
    let want = Sample {
        raw_string: vec![0xff, 0xfe],
        raw_strings: vec![b"ok".to_vec(), vec![0xc3, 0x28]],
        raw_map: HashMap::from([(1, vec![0x80])]),
        r_id: Some(0),
        ..Default::default()
    };
    assert_eq!(got, want);
    assert_eq!(encode(&got), raw, "byte-exact round trip");
    peer.check("ed2023_not_utf8", &encode(&got));
    // The same bytes in a checked field (11, `e_string`) are an error naming it.
    let checked = [0x5a, 0x02, 0xff, 0xfe];
    let error = Sample::decode(&checked[..]).unwrap_err().to_string();
    assert!(error.contains("e_string"), "{error}");
}

/// Twin of `fill_ed2024_full`.
fn ed2024_full() -> Node {
    let leaf = |name: &str| Leaf {
        name: Some(s(name)),
        ..Default::default()
    };
    Node {
        id: Some(0),
        level: Some(Level::Zero),
        mood: Mood::Happy.into(),
        values: vec![1, 2],
        packed_values: vec![3, 4],
        levels: vec![Level::Two, Level::Zero],
        moods: vec![Mood::Happy.into(), EnumValue::Unknown(7)],
        child: Some(Box::new(Node {
            label: Some(s("child")),
            child: Some(Box::new(Node {
                label: Some(s("grandchild")),
                values: vec![5],
                ..Default::default()
            })),
            ..Default::default()
        })),
        children: vec![
            Node {
                id: Some(1),
                label: Some(s("first")),
                ..Default::default()
            },
            // Python must set the required label to write the node.
            Node {
                label: Some(s("")),
                ..Default::default()
            },
        ],
        leaf: Some(leaf("leaf")),
        leaves: HashMap::from([(s("a"), leaf("leaf a"))]),
        levels_by_id: HashMap::from([(9, Level::One)]),
        label: Some(s("root")),
        _unknown_fields: Default::default(),
    }
}

#[test]
fn edition_2024_file_features_match_python() {
    let peer = peer!();
    let python = same_bytes_both_ways(&peer, "ed2024_full", &ed2024_full());
    let shapes = |bytes: &[u8]| (1..=13).map(|n| shape(bytes, n)).collect::<Vec<_>>();
    let want = [
        "V", "V", "V", "VV", "L", "VV", "VV", "G", "GG", "L", "L", "L", "L",
    ];
    assert_eq!(shapes(&python), want, "Python's bytes");
    assert_eq!(shapes(&encode(&ed2024_full())), want, "Rust's bytes");
    // Implicit presence at zero: not written; a set required field: written.
    let zero = Node {
        label: Some(s("")),
        ..Default::default()
    };
    let python = same_bytes_both_ways(&peer, "ed2024_implicit_zero", &zero);
    assert_eq!(numbers(&python), [13]);
}

#[test]
fn edition_2024_closed_enum_unknown_values_go_to_unknown_fields() {
    let peer = peer!();
    let raw = peer.build("ed2024_closed_unknown");
    let got: Node = decode(&raw, "ed2024_closed_unknown");
    assert_eq!((got.level, &got.levels[..]), (None, &[Level::One][..]));
    assert!(got.levels_by_id.is_empty(), "{:?}", got.levels_by_id);
    assert_eq!(got.label.as_deref(), Some("x"));
    assert_eq!(
        got._unknown_fields.iter().collect::<Vec<_>>(),
        [
            UnknownField {
                number: 2,
                value: UnknownValue::Varint(7)
            },
            UnknownField {
                number: 6,
                value: UnknownValue::Varint(7)
            },
            // A map entry with an unknown value is kept whole.
            UnknownField {
                number: 12,
                value: UnknownValue::LengthDelimited(b"\x08\x05\x10\x07")
            },
        ]
    );
    peer.check("ed2024_closed_unknown", &encode(&got));
}

// -------------------------------------------------------------------- buf

/// buf from npm, installed into `target/node` when missing.
fn buf() -> Option<PathBuf> {
    let dir = target_dir().join("node");
    let bin = dir.join("node_modules/.bin/buf");
    if !bin.exists() {
        let out = Command::new("npm")
            .arg("install")
            .arg("--prefix")
            .arg(&dir)
            .args([
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "@bufbuild/buf@^1",
            ])
            .output();
        match out {
            Err(e) => return unavailable(format!("cannot run npm to install buf: {e}")),
            Ok(out) if !out.status.success() => {
                return unavailable(format!(
                    "npm install @bufbuild/buf failed: {}",
                    stderr(&out)
                ));
            }
            Ok(_) => {}
        }
    }
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => Some(bin),
        Ok(out) => unavailable(format!("{} does not work: {}", bin.display(), stderr(&out))),
        Err(e) => unavailable(format!("cannot run {}: {e}", bin.display())),
    }
}

/// `buf generate` with the plugin as a local plugin writes the build.rs
/// output for the proto2/proto3 schemas, the checked-in code for the
/// editions ones, and what `buf build` + `compile_fds_encoded` writes.
#[test]
fn buf_generate_same_output_as_build_rs() {
    let Some(buf) = buf() else {
        return;
    };
    let root = proto_root();
    let classic = protos(&root, "test", false);
    let dir = tempfile::tempdir().unwrap();
    for name in classic.iter().chain(&editions_files()) {
        let to = dir.path().join("proto").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(name), to).unwrap();
    }
    std::fs::write(
        dir.path().join("buf.yaml"),
        "version: v2\nmodules:\n  - path: proto\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("buf.gen.yaml"),
        format!(
            "version: v2\n\
             plugins:\n  \
               - local: {}\n    \
                 out: gen\n    \
                 strategy: all\n    \
                 opt:\n      \
                   - include_file=all.rs\n      \
                   - build_client=true\n",
            plugin().display()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = output(Command::new(&buf).current_dir(dir.path()).args(args));
        assert!(
            out.status.success(),
            "buf {} failed:\n{}",
            args.join(" "),
            stderr(&out)
        );
    };
    run(&["generate"]);
    run(&["build", "-o", "image.binpb"]);
    let got = read_tree(&dir.path().join("gen"));

    let out = tempfile::tempdir().unwrap();
    protocall_codegen::configure()
        .include_file("all.rs")
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile_fds_encoded(&std::fs::read(dir.path().join("image.binpb")).unwrap())
        .unwrap();
    assert_same_files(
        &got,
        &read_tree(out.path()),
        "buf generate versus buf build + compile_fds_encoded",
    );

    let mut want = build_rs(protocall_codegen::configure(), &root, &classic);
    want.extend(read_tree(&generated_dir()));
    let mut got = got;
    got.remove("all.rs");
    assert_same_files(
        &got,
        &want,
        "buf generate versus build.rs and tests/generated",
    );
}

// ------------------------------------------------------ the output compiles

const E2E_MAIN: &str = r#"//! Serves user.UserService on a loopback port and calls it once.
use plugin_e2e::user::user_service_client::UserServiceClient;
use plugin_e2e::user::user_service_server::{UserService, UserServiceServer};
use plugin_e2e::user::{GetUserRequest, GetUserResponse};
use protocall::{Request, Response, Server, Status};

struct Users;

impl UserService for Users {
    async fn get_user(
        &self,
        request: Request<GetUserRequest>,
    ) -> Result<Response<GetUserResponse>, Status> {
        let id = request.into_inner().id;
        Ok(Response::new(GetUserResponse {
            id,
            name: format!("user {id}"),
            ..Default::default()
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::builder()
            .add_service(UserServiceServer::new(Users))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let client = UserServiceClient::connect(format!("http://{addr}")).await?;
    let reply = client
        .get_user(GetUserRequest { id: 42, ..Default::default() })
        .await?
        .into_inner();
    assert_eq!((reply.id, reply.name.as_str()), (42, "user 42"));
    let _ = stop.send(());
    server.await??;
    println!("call completed: {reply:?}");
    Ok(())
}
"#;

/// The plugin's output for a service schema, in a fresh crate that depends
/// on protocall (and tokio) only, compiles without warnings, and its
/// generated server and client complete a call over loopback.
#[test]
fn plugin_output_compiles_alone_and_completes_a_call() {
    let Some(protoc) = debian_protoc().or_else(bundled_protoc) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    std::fs::create_dir_all(&proto).unwrap();
    std::fs::copy(
        workspace_root().join("examples/proto/user.proto"),
        proto.join("user.proto"),
    )
    .unwrap();
    let files = ["user.proto".to_string()];
    let generated = protoc
        .generate(&proto, &files, &["include_file=mod.rs"])
        .unwrap_or_else(|e| panic!("{}: {e}", protoc.name));
    assert_same_files(
        &generated,
        &build_rs(
            protocall_codegen::configure().include_file("mod.rs"),
            &proto,
            &files,
        ),
        "user.proto",
    );
    let gen_dir = dir.path().join("src/gen");
    std::fs::create_dir_all(&gen_dir).unwrap();
    for (name, text) in &generated {
        std::fs::write(gen_dir.join(name), text).unwrap();
    }
    std::fs::write(
        dir.path().join("Cargo.toml"),
        format!(
            "[package]\n\
             name = \"plugin-e2e\"\n\
             version = \"0.0.0\"\n\
             edition = \"2024\"\n\
             publish = false\n\n\
             [dependencies]\n\
             protocall = {{ path = {:?} }}\n\
             tokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"net\", \"time\", \"sync\", \"macros\", \"io-util\"] }}\n\n\
             [workspace]\n",
            workspace_root().join("runtime").display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "//! protoc-gen-protocall's output for user.proto, and nothing else.\n\
         #![deny(warnings)]\n\
         include!(\"gen/mod.rs\");\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/main.rs"), E2E_MAIN).unwrap();
    // The workspace's lock file: the same dependency versions, all already
    // downloaded, so `--offline` works and compiled crates are reused.
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();

    let run = |offline: bool| {
        let mut command = Command::new(cargo());
        command
            .current_dir(dir.path())
            .args(["run", "-q"])
            .args(offline.then_some("--offline"))
            .env("CARGO_TARGET_DIR", target_dir().join("protoc-plugin-e2e"))
            // Its own target directory, so no debug info: disk, not speed,
            // is what CI machines lack.
            .env("CARGO_PROFILE_DEV_DEBUG", "false");
        output(&mut command)
    };
    let mut out = run(true);
    if !out.status.success() && stderr(&out).contains("offline") {
        out = run(false);
    }
    assert!(
        out.status.success(),
        "the crate built from the plugin's output failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("call completed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
