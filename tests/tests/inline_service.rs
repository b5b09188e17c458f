//! Inline services (`#[protocall::service]` and the derives, no `.proto`)
//! against the rest of the world:
//!
//! * export: the `.proto` source a service exports compiles with protox,
//!   with the protoc bundled in grpcio-tools and with Debian's
//!   `/usr/bin/protoc`, into descriptors equal to the service's own
//!   `file_descriptor_set()`;
//! * Python: grpcio stubs generated from that export call every method of
//!   the Rust server (`tests/python/inline_client.py`), both ways asserted
//!   value by value — negative sint values, open-enum unknowns, maps, oneof
//!   members, optional presence, recursion, kept unknown fields;
//! * same code: the macro path (the macros' own source files, compiled into
//!   this test) and the build.rs path emit identical service modules and
//!   `Message` / `Enumeration` / oneof impls for an equivalent schema
//!   (`proto/test/inline_equivalent.proto`), up to the documented
//!   [`KNOWN_DIVERGENCES`].
//!
//! Python comes from `PROTOCALL_PYTHON`, else the venv `target/py` that
//! `scripts/setup-peers.sh` creates, else `python3`. Without it (or without
//! grpcio / grpcio-tools / protoc) a test skips with the reason, except with
//! `CI=true`, where it fails.

// The schemas' fields are documented by their names in the exported source.
#![allow(missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use protocall::bytes::Bytes;
use protocall::server::Stream;
use protocall::types::{DescriptorProto, FileDescriptorSet};
use protocall::{
    EnumValue, Message, Request, Response, Server, Status, Streaming, UnknownFields, UnknownValue,
};
use protocall_tests::harness::{python, unavailable, workspace_root};

// ------------------------------------------------------------------ schema

/// A color: open, so numbers the schema does not declare survive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, protocall::Enumeration)]
#[proto(package = "protocall.test.inline")]
pub enum Color {
    #[default]
    Unspecified = 0,
    Red = 1,
    Green = 2,
    /// Below zero on purpose.
    Infrared = -1,
    #[proto(name = "ULTRA_VIOLET")]
    UltraViolet = 7,
}

/// A small message, for lists, maps and oneofs.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.inline")]
pub struct Leaf {
    #[proto(tag = 1)]
    pub name: String,
    #[proto(tag = 2, sint32)]
    pub weight: i32,
}

/// A linked list: `Option<Box<Self>>` recursion. Unknown fields are
/// dropped here (no `_unknown_fields`).
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.inline")]
pub struct Node {
    #[proto(tag = 1)]
    pub depth: u32,
    #[proto(tag = 2)]
    pub label: String,
    /// The rest of the list.
    #[proto(tag = 3)]
    pub next: Option<Box<Node>>,
}

/// One of several kinds.
#[derive(Clone, PartialEq, Debug, protocall::Oneof)]
pub enum Pick {
    /// Some text.
    #[proto(tag = 60)]
    Text(String),
    #[proto(tag = 61, sint64)]
    Number(i64),
    #[proto(tag = 62)]
    Item(Leaf),
    #[proto(tag = 63)]
    Raw(Vec<u8>),
    #[proto(tag = 64)]
    Shade(EnumValue<Color>),
    #[proto(tag = 65)]
    Tree(Box<Node>),
}

/// Every field kind an inline message supports.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.inline")]
pub struct Everything {
    #[proto(tag = 1)]
    pub v_int32: i32,
    #[proto(tag = 2)]
    pub v_int64: i64,
    #[proto(tag = 3)]
    pub v_uint32: u32,
    #[proto(tag = 4)]
    pub v_uint64: u64,
    #[proto(tag = 5)]
    pub v_float: f32,
    #[proto(tag = 6)]
    pub v_double: f64,
    #[proto(tag = 7)]
    pub v_bool: bool,
    #[proto(tag = 8)]
    pub v_string: String,
    #[proto(tag = 9)]
    pub v_bytes: Vec<u8>,
    /// `bytes::Bytes`, shared.
    #[proto(tag = 10)]
    pub v_shared: Bytes,
    #[proto(tag = 11, sint32)]
    pub v_sint32: i32,
    #[proto(tag = 12, sint64)]
    pub v_sint64: i64,
    #[proto(tag = 13, fixed32)]
    pub v_fixed32: u32,
    #[proto(tag = 14, fixed64)]
    pub v_fixed64: u64,
    #[proto(tag = 15, sfixed32)]
    pub v_sfixed32: i32,
    #[proto(tag = 16, sfixed64)]
    pub v_sfixed64: i64,
    #[proto(tag = 17)]
    pub color: EnumValue<Color>,

    #[proto(tag = 20)]
    pub o_int32: Option<i32>,
    #[proto(tag = 21)]
    pub o_string: Option<String>,
    #[proto(tag = 22)]
    pub o_bool: Option<bool>,
    #[proto(tag = 23, sint64)]
    pub o_sint64: Option<i64>,
    #[proto(tag = 24)]
    pub o_bytes: Option<Vec<u8>>,
    #[proto(tag = 25)]
    pub o_color: Option<EnumValue<Color>>,
    #[proto(tag = 26)]
    pub o_double: Option<f64>,

    #[proto(tag = 30)]
    pub leaf: Option<Leaf>,
    #[proto(tag = 31)]
    pub node: Option<Box<Node>>,

    #[proto(tag = 40)]
    pub r_int32: Vec<i32>,
    #[proto(tag = 41, sint64)]
    pub r_sint64: Vec<i64>,
    #[proto(tag = 42, fixed32)]
    pub r_fixed32: Vec<u32>,
    #[proto(tag = 43)]
    pub r_double: Vec<f64>,
    #[proto(tag = 44)]
    pub r_bool: Vec<bool>,
    #[proto(tag = 45)]
    pub r_color: Vec<EnumValue<Color>>,
    #[proto(tag = 46)]
    pub r_string: Vec<String>,
    #[proto(tag = 47)]
    pub r_bytes: Vec<Vec<u8>>,
    #[proto(tag = 48)]
    pub r_leaf: Vec<Leaf>,

    #[proto(tag = 50)]
    pub m_string_int32: HashMap<String, i32>,
    #[proto(tag = 51)]
    pub m_int64_string: BTreeMap<i64, String>,
    /// Keys are `sint32`.
    #[proto(tag = 52, sint32)]
    pub m_sint32_color: HashMap<i32, EnumValue<Color>>,
    #[proto(tag = 53)]
    pub m_uint32_leaf: BTreeMap<u32, Leaf>,
    #[proto(tag = 54)]
    pub m_bool_bytes: HashMap<bool, Vec<u8>>,

    /// The oneof.
    #[proto(oneof, tags = "60, 61, 62, 63, 64, 65")]
    pub pick: Option<Pick>,

    /// Called `label` in the schema.
    #[proto(tag = 70, name = "label")]
    pub title: String,

    pub _unknown_fields: UnknownFields,
}

/// What `Scan` streams.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.inline")]
pub struct Query {
    #[proto(tag = 1)]
    pub limit: u32,
}

/// What `Collect` answers; `Summary` in the schema.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.inline", name = "Summary")]
pub struct CollectSummary {
    #[proto(tag = 1)]
    pub count: u32,
    #[proto(tag = 2, sint64)]
    pub total_weight: i64,
    #[proto(tag = 3)]
    pub names: Vec<String>,
    #[proto(tag = 4)]
    pub by_name: BTreeMap<String, Leaf>,
}

/// Every call kind, over every field kind.
#[protocall::service(package = "protocall.test.inline", name = "KitchenSink")]
pub trait Kitchen {
    /// Answers the request as received, unknown fields included.
    async fn echo(&self, request: Request<Everything>) -> Result<Response<Everything>, Status>;

    /// The stream `Scan` returns.
    type ScanStream: Stream<Item = Result<Everything, Status>> + Send + 'static;

    /// The first `limit` samples.
    #[rpc(name = "Scan")]
    async fn list_samples(
        &self,
        request: Request<Query>,
    ) -> Result<Response<Self::ScanStream>, Status>;

    /// Sums the leaves it is sent.
    async fn collect(
        &self,
        request: Request<Streaming<Leaf>>,
    ) -> Result<Response<CollectSummary>, Status>;

    /// The stream `Chain` returns.
    type ChainStream: Stream<Item = Result<Node, Status>> + Send + 'static;

    /// Puts a new head on each list it is sent.
    async fn chain(
        &self,
        request: Request<Streaming<Node>>,
    ) -> Result<Response<Self::ChainStream>, Status>;
}

// ----------------------------------------------------------------- samples

/// A value in every field, negative where the type allows it.
fn full() -> Everything {
    Everything {
        v_int32: -7,
        v_int64: -8_000_000_000,
        v_uint32: 4_000_000_000,
        v_uint64: 18_000_000_000_000_000_000,
        v_float: 1.5,
        v_double: -0.25,
        v_bool: true,
        v_string: "héllo ✓".into(),
        v_bytes: vec![0, 1, 0xfe, 0xff],
        v_shared: Bytes::from_static(b"shared"),
        v_sint32: -5,
        v_sint64: -6_000_000_000,
        v_fixed32: 3_000_000_000,
        v_fixed64: 9_000_000_000_000_000_000,
        v_sfixed32: -100,
        v_sfixed64: -200,
        color: Color::Infrared.into(),
        o_int32: Some(0),
        o_string: Some(String::new()),
        o_bool: Some(false),
        o_sint64: Some(-1),
        o_bytes: Some(Vec::new()),
        o_color: Some(Color::Unspecified.into()),
        o_double: None,
        leaf: Some(Leaf {
            name: "only".into(),
            weight: -3,
        }),
        node: Some(Box::new(Node {
            depth: 1,
            label: "a".into(),
            next: Some(Box::new(Node {
                depth: 0,
                label: "b".into(),
                next: None,
            })),
        })),
        r_int32: vec![1, -2, 300],
        r_sint64: vec![-1, 0, 1, i64::MIN],
        r_fixed32: vec![0, u32::MAX],
        r_double: vec![0.5, -1e300],
        r_bool: vec![true, false, true],
        r_color: vec![
            Color::Red.into(),
            Color::UltraViolet.into(),
            Color::Infrared.into(),
        ],
        r_string: vec!["x".into(), String::new(), "z".into()],
        r_bytes: vec![vec![1], Vec::new()],
        r_leaf: vec![
            Leaf {
                name: "l1".into(),
                weight: 1,
            },
            Leaf {
                name: "l2".into(),
                weight: -2,
            },
        ],
        m_string_int32: HashMap::from([("a".into(), 1), ("b".into(), -2)]),
        m_int64_string: BTreeMap::from([(-1, "minus".into()), (i64::MAX, "max".into())]),
        m_sint32_color: HashMap::from([(-3, Color::Green.into()), (4, Color::UltraViolet.into())]),
        m_uint32_leaf: BTreeMap::from([(
            7,
            Leaf {
                name: "seven".into(),
                weight: -7,
            },
        )]),
        m_bool_bytes: HashMap::from([(true, vec![0xaa]), (false, Vec::new())]),
        pick: Some(Pick::Number(-42)),
        title: "titled".into(),
        _unknown_fields: UnknownFields::new(),
    }
}

/// Numbers the schema does not declare, and the recursive oneof member.
fn open() -> Everything {
    Everything {
        color: EnumValue::Unknown(77),
        o_color: Some(EnumValue::Unknown(-9)),
        r_color: vec![Color::Green.into(), EnumValue::Unknown(99)],
        m_sint32_color: HashMap::from([(0, EnumValue::Unknown(1000))]),
        pick: Some(Pick::Tree(Box::new(Node {
            depth: 5,
            label: "t".into(),
            next: None,
        }))),
        ..Default::default()
    }
}

/// The other oneof members, one per sample.
fn picks() -> Vec<Everything> {
    [
        Pick::Text(String::new()),
        Pick::Item(Leaf::default()),
        Pick::Raw(vec![9, 8]),
        Pick::Shade(EnumValue::Unknown(12)),
    ]
    .into_iter()
    .map(|pick| Everything {
        pick: Some(pick),
        ..Default::default()
    })
    .collect()
}

/// What `Scan` streams, in order.
fn samples() -> Vec<Everything> {
    let mut samples = vec![full(), Everything::default(), open()];
    samples.extend(picks());
    samples
}

// ------------------------------------------------------------------ server

/// What the server was sent, per method.
#[derive(Clone, Default)]
struct Seen {
    echo: Arc<Mutex<Vec<Everything>>>,
    scan: Arc<Mutex<Vec<Query>>>,
    collect: Arc<Mutex<Vec<Leaf>>>,
    chain: Arc<Mutex<Vec<Node>>>,
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl Kitchen for Seen {
    async fn echo(&self, request: Request<Everything>) -> Result<Response<Everything>, Status> {
        let message = request.into_inner();
        self.echo.lock().unwrap().push(message.clone());
        Ok(Response::new(message))
    }

    type ScanStream = BoxStream<Everything>;

    async fn list_samples(
        &self,
        request: Request<Query>,
    ) -> Result<Response<Self::ScanStream>, Status> {
        let query = request.into_inner();
        self.scan.lock().unwrap().push(query.clone());
        let samples = samples().into_iter().take(query.limit as usize).map(Ok);
        Ok(Response::new(Box::pin(futures_util::stream::iter(samples))))
    }

    async fn collect(
        &self,
        request: Request<Streaming<Leaf>>,
    ) -> Result<Response<CollectSummary>, Status> {
        let mut leaves = request.into_inner();
        let mut summary = CollectSummary::default();
        while let Some(leaf) = leaves.message().await? {
            self.collect.lock().unwrap().push(leaf.clone());
            summary.count += 1;
            summary.total_weight += i64::from(leaf.weight);
            summary.names.push(leaf.name.clone());
            summary.by_name.insert(leaf.name.clone(), leaf);
        }
        Ok(Response::new(summary))
    }

    type ChainStream = BoxStream<Node>;

    async fn chain(
        &self,
        request: Request<Streaming<Node>>,
    ) -> Result<Response<Self::ChainStream>, Status> {
        let seen = self.chain.clone();
        let replies = request.into_inner().map(move |node| {
            let node = node?;
            seen.lock().unwrap().push(node.clone());
            Ok(Node {
                depth: node.depth + 1,
                label: format!("re:{}", node.label),
                next: Some(Box::new(node)),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

// ----------------------------------------------------------------- helpers

/// Python, if it has grpcio and grpcio-tools.
fn python_with_grpc() -> Option<PathBuf> {
    let python = python();
    let probe = try_run(
        Command::new(&python).args(["-c", "import grpc, grpc_tools.protoc, google.protobuf"]),
        Duration::from_secs(60),
    );
    match probe {
        Err(e) => unavailable(format!("cannot run {}: {e}", python.display())),
        Ok(out) if !out.status.success() => unavailable(format!(
            "{} lacks grpcio/grpcio-tools: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => Some(python),
    }
}

/// Runs `command` to completion, killing it after `limit`.
fn run(command: &mut Command, limit: Duration) -> Output {
    try_run(command, limit).unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"))
}

/// [`run`], or the error starting `command`.
fn try_run(command: &mut Command, limit: Duration) -> std::io::Result<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Drain the pipes on threads so a chatty child cannot block.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
        buf
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "{command:?} did not finish within {limit:?}; stderr:\n{}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    })
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ------------------------------------------------------------------ export

/// The exported schema, written where its file name says, under a temp dir.
struct Exported {
    dir: tempfile::TempDir,
    /// Relative to `dir`, e.g. `protocall/test/inline.proto`.
    file: String,
}

fn export() -> Exported {
    let set = KitchenServer::<Seen>::file_descriptor_set();
    assert_eq!(set.file.len(), 1, "one package, one file");
    let file = set.file[0].name().to_string();
    assert_eq!(file, "protocall/test/inline.proto");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(&file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, KitchenServer::<Seen>::proto_source()).unwrap();
    Exported { dir, file }
}

/// What must agree between two descriptor sets, one line per item: names,
/// numbers, types, labels, type names, json names, proto3 optional, oneof
/// membership, map entries, enum values, methods and streaming flags.
fn outline(set: &FileDescriptorSet) -> Vec<String> {
    fn message(out: &mut Vec<String>, m: &DescriptorProto, scope: &str) {
        let full = format!("{scope}.{}", m.name());
        let map_entry = m.options.as_ref().is_some_and(|o| o.map_entry());
        out.push(format!(
            "message {full}{}",
            if map_entry { " (map entry)" } else { "" }
        ));
        for f in &m.field {
            let oneof = f
                .oneof_index
                .map(|i| format!(" oneof={}", m.oneof_decl[i as usize].name()))
                .unwrap_or_default();
            out.push(format!(
                "  {} = {} {:?} {:?} type_name={:?} json={:?} proto3_optional={}{oneof}",
                f.name(),
                f.number(),
                f.label(),
                f.r#type(),
                f.type_name.as_deref().unwrap_or(""),
                f.json_name.as_deref().unwrap_or(""),
                f.proto3_optional(),
            ));
        }
        for o in &m.oneof_decl {
            out.push(format!("  oneof {}", o.name()));
        }
        for nested in &m.nested_type {
            message(out, nested, &full);
        }
        for e in &m.enum_type {
            out.push(format!("  enum {}", e.name()));
        }
    }
    let mut out = Vec::new();
    for file in &set.file {
        out.push(format!(
            "file {} package={} syntax={} deps={:?}",
            file.name(),
            file.package(),
            file.syntax(),
            file.dependency
        ));
        let scope = format!(".{}", file.package());
        for m in &file.message_type {
            message(&mut out, m, &scope);
        }
        for e in &file.enum_type {
            let values: Vec<String> = e
                .value
                .iter()
                .map(|v| format!("{}={}", v.name(), v.number()))
                .collect();
            out.push(format!("enum {scope}.{} {}", e.name(), values.join(" ")));
        }
        for s in &file.service {
            out.push(format!("service {scope}.{}", s.name()));
            for m in &s.method {
                out.push(format!(
                    "  rpc {}({}{}) returns ({}{})",
                    m.name(),
                    if m.client_streaming() { "stream " } else { "" },
                    m.input_type(),
                    if m.server_streaming() { "stream " } else { "" },
                    m.output_type(),
                ));
            }
        }
    }
    out
}

fn assert_same_outline(got: &FileDescriptorSet, compiler: &str) {
    let want = outline(&KitchenServer::<Seen>::file_descriptor_set());
    let got = outline(got);
    if got != want {
        let mut report = String::new();
        for i in 0..got.len().max(want.len()) {
            let (g, w) = (got.get(i), want.get(i));
            if g != w {
                report.push_str(&format!(
                    "  line {i}\n    {compiler}: {g:?}\n    export: {w:?}\n"
                ));
            }
        }
        panic!("{compiler} compiles the exported source into different descriptors:\n{report}");
    }
}

#[test]
fn exported_source_is_the_schema() {
    insta::assert_snapshot!(KitchenServer::<Seen>::proto_source());
}

#[test]
fn exported_source_compiles_with_protox_into_the_same_descriptors() {
    let exported = export();
    let bytes = protox::Compiler::new([exported.dir.path()])
        .expect("protox compiler")
        .open_file(&exported.file)
        .unwrap_or_else(|e| panic!("protox rejects the exported source: {e:?}"))
        .encode_file_descriptor_set();
    let set = FileDescriptorSet::decode(&bytes[..]).expect("protox's descriptor set");
    assert_same_outline(&set, "protox");
}

/// A protoc: `python -m grpc_tools.protoc` or a binary.
fn protoc_descriptors(
    mut command: Command,
    exported: &Exported,
) -> Result<FileDescriptorSet, String> {
    let out_file = exported.dir.path().join("set.bin");
    let out = run(
        command
            .arg(format!("-I{}", exported.dir.path().display()))
            .arg(format!("--descriptor_set_out={}", out_file.display()))
            .arg(&exported.file),
        Duration::from_secs(60),
    );
    if !out.status.success() {
        return Err(format!("{}{}", text(&out.stdout), text(&out.stderr)));
    }
    let bytes = std::fs::read(&out_file).expect("protoc wrote the set");
    Ok(FileDescriptorSet::decode(&bytes[..]).expect("protoc's descriptor set"))
}

#[test]
fn exported_source_compiles_with_grpc_tools_protoc_into_the_same_descriptors() {
    let Some(python) = python_with_grpc() else {
        return;
    };
    let exported = export();
    let mut command = Command::new(python);
    command.args(["-m", "grpc_tools.protoc"]);
    let set = protoc_descriptors(command, &exported)
        .unwrap_or_else(|e| panic!("grpc_tools.protoc rejects the exported source:\n{e}"));
    assert_same_outline(&set, "grpc_tools.protoc");
}

#[test]
fn exported_source_compiles_with_system_protoc_into_the_same_descriptors() {
    let protoc = Path::new("/usr/bin/protoc");
    if !protoc.exists() {
        unavailable::<()>("/usr/bin/protoc is not installed (apt-get install protobuf-compiler)");
        return;
    }
    let exported = export();
    let set = protoc_descriptors(Command::new(protoc), &exported)
        .unwrap_or_else(|e| panic!("/usr/bin/protoc rejects the exported source:\n{e}"));
    assert_same_outline(&set, "/usr/bin/protoc");
}
// ------------------------------------------------------------------ Python

/// The Rust server on a loopback port, in its own runtime; stopped on drop.
struct Running {
    runtime: tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    fn start(seen: Seen) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(
            Server::builder()
                .add_service(KitchenServer::new(seen))
                .serve_with_listener(listener, async {
                    let _ = stopped.await;
                }),
        );
        Running {
            runtime,
            addr,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Stops the server and waits (bounded) for it to finish.
    fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let served = self.served.take().unwrap();
        self.runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), served).await })
            .expect("the server stops within 10s")
            .expect("the server task")
            .expect("the server ran without error");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[test]
fn grpcio_client_calls_every_method() {
    let Some(python) = python_with_grpc() else {
        return;
    };
    let exported = export();
    let gen_dir = exported.dir.path().join("gen");
    std::fs::create_dir_all(&gen_dir).unwrap();
    let out = run(
        Command::new(&python)
            .args(["-m", "grpc_tools.protoc"])
            .arg(format!("-I{}", exported.dir.path().display()))
            .arg(format!("--python_out={}", gen_dir.display()))
            .arg(format!("--grpc_python_out={}", gen_dir.display()))
            .arg(&exported.file),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "grpc_tools.protoc cannot generate Python from the export:\n{}",
        text(&out.stderr)
    );

    let seen = Seen::default();
    let server = Running::start(seen.clone());
    let out = run(
        Command::new(&python)
            .arg(workspace_root().join("tests/python/inline_client.py"))
            .arg(&gen_dir)
            .arg(server.addr.to_string()),
        Duration::from_secs(60),
    );
    server.stop();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "inline_client.py failed ({}):\n{stdout}\n{}",
        out.status,
        text(&out.stderr)
    );

    // What Python saw, message by message.
    let got = sections(&stdout);
    let want: Vec<(String, String)> = [
        ("echo full", FULL_TEXT),
        ("echo empty", ""),
        ("echo open", OPEN_TEXT),
        (
            "echo unknown",
            "v_int32: 1\n\
             unknown: [999 varint 12345, 1000 bytes 0x6b657074, 1001 fixed32 7]",
        ),
        ("scan 0", FULL_TEXT),
        ("scan 1", ""),
        ("scan 2", OPEN_TEXT),
        ("scan 3", "pick: text = \"\""),
        ("scan 4", "pick: item = {}"),
        ("scan 5", "pick: raw = 0x0908"),
        ("scan 6", "pick: shade = 12(unknown)"),
        (
            "collect",
            "count: 3\n\
             total_weight: -6\n\
             names: [\"a\", \"b\", \"a\"]\n\
             by_name: {\"a\": {name: \"a\", weight: -10}, \"b\": {name: \"b\", weight: 5}}",
        ),
        ("collect nothing", ""),
        ("chain 0", "depth: 1\nlabel: \"re:x\"\nnext: {label: \"x\"}"),
        (
            "chain 1",
            "depth: 4\n\
             label: \"re:y\"\n\
             next: {depth: 3, label: \"y\", next: {depth: 2, label: \"z\"}}",
        ),
        // Node keeps no unknown fields: the ones Python sent are gone.
        (
            "chain 2",
            "depth: 10\nlabel: \"re:u\"\nnext: {depth: 9, label: \"u\"}",
        ),
        ("done", ""),
    ]
    .into_iter()
    .map(|(title, body)| (title.to_string(), body.to_string()))
    .collect();
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "message {i} as grpcio sees it");
    }
    assert_eq!(got.len(), want.len(), "messages grpcio saw:\n{stdout}");

    // What Rust was sent, value by value.
    let echoed = seen.echo.lock().unwrap().clone();
    assert_eq!(echoed.len(), 4, "Echo calls");
    assert_eq!(echoed[0], full());
    assert_eq!(echoed[1], Everything::default());
    assert_eq!(echoed[2], open());
    let mut with_unknown = echoed[3].clone();
    let unknown: Vec<(u32, UnknownValue<'_>)> = echoed[3]
        ._unknown_fields
        .iter()
        .map(|f| (f.number, f.value))
        .collect();
    assert_eq!(
        unknown,
        [
            (999, UnknownValue::Varint(12345)),
            (1000, UnknownValue::LengthDelimited(b"kept")),
            (1001, UnknownValue::Fixed32(7)),
        ]
    );
    with_unknown._unknown_fields.clear();
    assert_eq!(
        with_unknown,
        Everything {
            v_int32: 1,
            ..Default::default()
        }
    );
    assert_eq!(*seen.scan.lock().unwrap(), [Query { limit: 100 }]);
    let leaf = |name: &str, weight| Leaf {
        name: name.into(),
        weight,
    };
    assert_eq!(
        *seen.collect.lock().unwrap(),
        [leaf("a", -1), leaf("b", 5), leaf("a", -10)]
    );
    let node = |depth, label: &str, next: Option<Node>| Node {
        depth,
        label: label.into(),
        next: next.map(Box::new),
    };
    assert_eq!(
        *seen.chain.lock().unwrap(),
        [
            node(0, "x", None),
            node(3, "y", Some(node(2, "z", None))),
            node(9, "u", None),
        ]
    );
}

/// `== title` sections of the client's output, bodies without the final
/// newline.
fn sections(stdout: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in stdout.lines() {
        match line.strip_prefix("== ") {
            Some(title) => out.push((title.to_string(), String::new())),
            None => {
                let (_, body) = out
                    .last_mut()
                    .unwrap_or_else(|| panic!("output before the first section: {line}"));
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(line);
            }
        }
    }
    out
}

/// [`full`] as grpcio prints it: every field set, presence kept for
/// `optional` fields at their default (`o_int32: 0`), `o_double` absent.
const FULL_TEXT: &str = r#"v_int32: -7
v_int64: -8000000000
v_uint32: 4000000000
v_uint64: 18000000000000000000
v_float: 1.5
v_double: -0.25
v_bool: true
v_string: "héllo ✓"
v_bytes: 0x0001feff
v_shared: 0x736861726564
v_sint32: -5
v_sint64: -6000000000
v_fixed32: 3000000000
v_fixed64: 9000000000000000000
v_sfixed32: -100
v_sfixed64: -200
color: COLOR_INFRARED
o_int32: 0
o_string: ""
o_bool: false
o_sint64: -1
o_bytes: 0x
o_color: COLOR_UNSPECIFIED
leaf: {name: "only", weight: -3}
node: {depth: 1, label: "a", next: {label: "b"}}
r_int32: [1, -2, 300]
r_sint64: [-1, 0, 1, -9223372036854775808]
r_fixed32: [0, 4294967295]
r_double: [0.5, -1e+300]
r_bool: [true, false, true]
r_color: [COLOR_RED, ULTRA_VIOLET, COLOR_INFRARED]
r_string: ["x", "", "z"]
r_bytes: [0x01, 0x]
r_leaf: [{name: "l1", weight: 1}, {name: "l2", weight: -2}]
m_string_int32: {"a": 1, "b": -2}
m_int64_string: {-1: "minus", 9223372036854775807: "max"}
m_sint32_color: {-3: COLOR_GREEN, 4: ULTRA_VIOLET}
m_uint32_leaf: {7: {name: "seven", weight: -7}}
m_bool_bytes: {false: 0x, true: 0xaa}
label: "titled"
pick: number = -42"#;

/// [`open`] as grpcio prints it: the undeclared enum numbers survive.
const OPEN_TEXT: &str = r#"color: 77(unknown)
o_color: -9(unknown)
r_color: [COLOR_GREEN, 99(unknown)]
m_sint32_color: {0: 1000(unknown)}
pick: tree = {depth: 5, label: "t"}"#;

// --------------------------------------------------------------- same code

/// Defines the items and keeps their tokens as text, so the test can run
/// the macros' own model-building code on exactly what the compiler
/// expanded.
macro_rules! schema {
    ($($tokens:tt)*) => {
        $($tokens)*
        /// The tokens above, as text.
        pub const SCHEMA: &str = stringify!($($tokens)*);
    };
}

/// The inline twin of `proto/test/inline_equivalent.proto`.
pub mod equivalent {
    use protocall::{EnumValue, UnknownFields};
    use std::collections::HashMap;

    schema! {
        /// A greeting request.
        #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
        #[proto(package = "protocall.test.equivalent")]
        pub struct Hello {
            #[proto(tag = 1)]
            pub name: String,
            #[proto(tag = 2, sint32)]
            pub times: i32,
            #[proto(tag = 3)]
            pub ids: Vec<i64>,
            #[proto(tag = 4)]
            pub loud: Option<bool>,
            #[proto(tag = 5)]
            pub moods: HashMap<String, EnumValue<Mood>>,
            #[proto(tag = 6)]
            pub last: Option<Reply>,
            #[proto(tag = 7, fixed64)]
            pub at: u64,
            #[proto(oneof, tags = "8, 9, 10")]
            pub kind: Option<hello::Kind>,
            pub _unknown_fields: UnknownFields,
        }

        /// `Hello`'s oneof, where generated code puts it.
        pub mod hello {
            /// The `kind` oneof.
            #[derive(Clone, PartialEq, Debug, protocall::Oneof)]
            pub enum Kind {
                #[proto(tag = 8)]
                Text(String),
                #[proto(tag = 9)]
                Reply(super::Reply),
                #[proto(tag = 10)]
                Mood(protocall::EnumValue<super::Mood>),
            }
        }

        /// A greeting.
        #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
        #[proto(package = "protocall.test.equivalent")]
        pub struct Reply {
            #[proto(tag = 1)]
            pub text: String,
            #[proto(tag = 2)]
            pub mood: EnumValue<Mood>,
            #[proto(tag = 3)]
            pub data: Vec<u8>,
            #[proto(tag = 4)]
            pub history: Vec<Reply>,
            #[proto(tag = 5)]
            pub parent: Option<Box<Reply>>,
            #[proto(tag = 6)]
            pub by_id: HashMap<u32, Reply>,
            pub _unknown_fields: UnknownFields,
        }

        /// How a greeting feels.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, protocall::Enumeration)]
        #[proto(package = "protocall.test.equivalent")]
        pub enum Mood {
            #[default]
            Unspecified = 0,
            Happy = 1,
            Grumpy = 2,
        }

        /// Greets in every call kind.
        #[protocall::service(package = "protocall.test.equivalent")]
        pub trait Greeter {
            /// One hello, one reply.
            async fn say_hello(
                &self,
                request: protocall::Request<Hello>,
            ) -> Result<protocall::Response<Reply>, protocall::Status>;

            /// Not part of the comparison: the emitter writes its own.
            type SayHellosStream: protocall::server::Stream<Item = Result<Reply, protocall::Status>>
                + Send
                + 'static;

            /// One hello, many replies.
            async fn say_hellos(
                &self,
                request: protocall::Request<Hello>,
            ) -> Result<protocall::Response<Self::SayHellosStream>, protocall::Status>;

            /// Many hellos, one reply.
            async fn count_hellos(
                &self,
                request: protocall::Request<protocall::Streaming<Hello>>,
            ) -> Result<protocall::Response<Reply>, protocall::Status>;

            /// Not part of the comparison: the emitter writes its own.
            type ChatStream: protocall::server::Stream<Item = Result<Reply, protocall::Status>>
                + Send
                + 'static;

            /// Many hellos, many replies.
            async fn chat(
                &self,
                request: protocall::Request<protocall::Streaming<Hello>>,
            ) -> Result<protocall::Response<Self::ChatStream>, protocall::Status>;
        }
    }
}

// The macros' own model-building code, compiled here as plain functions (a
// proc-macro crate can export nothing else): the very source files the
// `protocall-macros` crate is built from.
#[allow(dead_code)]
#[path = "../../macros/src/attrs.rs"]
mod attrs;
#[allow(dead_code)]
#[path = "../../macros/src/derive.rs"]
mod derive;
#[allow(dead_code)]
#[path = "../../macros/src/service.rs"]
mod service;
#[allow(dead_code)]
#[path = "../../macros/src/types.rs"]
mod types;

/// Items by what they are: `mod greeter_server`, `impl ::protocall::Message
/// for Hello`, …, each pretty-printed.
type Items = BTreeMap<String, String>;

fn pretty(item: &syn::Item) -> String {
    prettyplease::unparse(&syn::File {
        shebang: None,
        attrs: Vec::new(),
        items: vec![item.clone()],
    })
}

/// The service modules and the impls (trait or inherent) among `items`,
/// walking into other modules.
fn collect(items: &[syn::Item], scope: &str, out: &mut Items) {
    for item in items {
        match item {
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                if name.ends_with("_server") || name.ends_with("_client") {
                    out.insert(format!("mod {scope}{name}"), pretty(item));
                } else if let Some((_, inner)) = &m.content {
                    collect(inner, &format!("{scope}{name}::"), out);
                }
            }
            syn::Item::Impl(i) => {
                let text =
                    |t: &dyn quote::ToTokens| t.to_token_stream().to_string().replace(' ', "");
                let ty = format!("{scope}{}", text(&i.self_ty));
                let mut key = match &i.trait_ {
                    Some((_, trait_path, _)) => format!("impl {} for {ty}", text(trait_path)),
                    None => format!("impl {ty}"),
                };
                while out.contains_key(&key) {
                    key.push('+');
                }
                out.insert(key, pretty(item));
            }
            _ => {}
        }
    }
}

fn is_protocall_attr(attr: &syn::Attribute, name: &str) -> bool {
    let path = attr.path();
    path.segments.len() == 2
        && path.segments[0].ident == "protocall"
        && path.segments[1].ident == name
}

fn derives(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let mut found = false;
            a.parse_nested_meta(|meta| {
                found |= meta.path.segments.last().is_some_and(|s| s.ident == name);
                Ok(())
            })
            .unwrap();
            found
        })
}

/// Expands every item of `schema` as the macros would, through their own
/// code, and collects what came out.
fn macro_path(items: &[syn::Item], scope: &str, out: &mut Items) {
    for item in items {
        let expanded = match item {
            syn::Item::Trait(t) => {
                let Some(attr) = t.attrs.iter().find(|a| is_protocall_attr(a, "service")) else {
                    continue;
                };
                let args: service::ServiceArgs = attr.parse_args().expect("service arguments");
                let mut t = t.clone();
                t.attrs.retain(|a| !is_protocall_attr(a, "service"));
                service::service(args, t)
            }
            syn::Item::Struct(s) if derives(&s.attrs, "Message") => {
                derive::message(syn::DeriveInput::from(s.clone()))
            }
            syn::Item::Enum(e) if derives(&e.attrs, "Enumeration") => {
                derive::enumeration(syn::DeriveInput::from(e.clone()))
            }
            syn::Item::Enum(e) if derives(&e.attrs, "Oneof") => {
                derive::oneof(syn::DeriveInput::from(e.clone()))
            }
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                macro_path(
                    &m.content.as_ref().unwrap().1,
                    &format!("{scope}{name}::"),
                    out,
                );
                continue;
            }
            _ => continue,
        };
        let expanded = expanded.unwrap_or_else(|e| panic!("the macro rejects the schema: {e}"));
        let file: syn::File = syn::parse2(expanded).expect("macro output parses");
        collect(&file.items, scope, out);
    }
}

/// What build.rs generates for `proto/test/inline_equivalent.proto`: the
/// same `compile` call, into a temp dir instead of `OUT_DIR`.
fn build_rs_path() -> Items {
    let out = tempfile::tempdir().expect("temp dir");
    let proto_root = workspace_root().join("proto");
    // Without embedded descriptors, as the macros have none (their
    // services' `descriptor()` is the default `None`).
    protocall_codegen::configure()
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .descriptors(false)
        .compile(
            &[proto_root.join("test/inline_equivalent.proto")],
            &[&proto_root],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let source = std::fs::read_to_string(out.path().join("protocall.test.equivalent.rs"))
        .expect("build.rs path output");
    let file = syn::parse_file(&source).expect("generated code parses");
    let mut out = Items::new();
    collect(&file.items, "", &mut out);
    out
}

#[test]
fn macro_and_build_rs_emit_the_same_code() {
    let schema: syn::File = syn::parse_str(equivalent::SCHEMA).expect("the schema parses");
    let mut from_macros = Items::new();
    macro_path(&schema.items, "", &mut from_macros);
    let from_build_rs = build_rs_path();

    // The descriptor code is the macros' alone (generated code embeds the
    // descriptor instead): the `Describe` and `ReflectMessage` impls
    // (build.rs here embeds none), and the server's
    // `descriptors()` / `proto_source()`; so is the oneof's `TAGS` (the
    // compile-time check of the message's `tags`, `impl hello::Kind+`).
    // Everything else must be the same.
    from_macros.retain(|key, _| {
        !key.contains("::reflect::Describe")
            && !key.contains("::reflect::ReflectMessage")
            && key != "impl GreeterServer<T>"
            && key != "impl hello::Kind+"
    });
    let keys: Vec<&String> = from_macros.keys().collect();
    assert_eq!(
        keys,
        [
            "impl ::protocall::Enumeration for Mood",
            "impl ::protocall::Message for Hello",
            "impl ::protocall::Message for Reply",
            "impl hello::Kind",
            "mod greeter_client",
            "mod greeter_server",
        ],
        "what the macros emit"
    );
    for (key, from_macro) in &from_macros {
        let generated = from_build_rs.get(key).unwrap_or_else(|| {
            panic!(
                "build.rs generates no `{key}`; it has {:?}",
                from_build_rs.keys()
            )
        });
        let mut from_macro = from_macro.clone();
        for (item, in_macro, in_build_rs, why) in KNOWN_DIVERGENCES {
            if item == key {
                assert!(
                    from_macro.contains(in_macro),
                    "`{key}` no longer has `{in_macro}`: remove it from KNOWN_DIVERGENCES ({why})"
                );
                from_macro = from_macro.replace(in_macro, in_build_rs);
            }
        }
        assert_eq!(
            from_macro, *generated,
            "`{key}`: macro path (left) vs build.rs path (right)"
        );
    }

    // The comparison sees naming: an `#[rpc(name)]` the schema lacks shows.
    let mut renamed = schema.clone();
    for item in &mut renamed.items {
        if let syn::Item::Trait(t) = item
            && let Some(syn::TraitItem::Fn(f)) = t.items.first_mut()
        {
            f.attrs.push(syn::parse_quote!(#[rpc(name = "SayHi")]));
        }
    }
    let mut from_renamed = Items::new();
    macro_path(&renamed.items, "", &mut from_renamed);
    for module in ["mod greeter_server", "mod greeter_client"] {
        assert_ne!(
            from_renamed[module], from_build_rs[module],
            "{module} of a renamed method"
        );
    }
}

/// Known differences between the two paths: item, text in the macro
/// path's output, the build.rs path's text there instead, and why. The test
/// fails when one goes away, so the list cannot go stale.
const KNOWN_DIVERGENCES: &[(&str, &str, &str, &str)] = &[];
