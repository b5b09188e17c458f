//! The standard services of the runtime against real peers:
//!
//! * health (`protocall::health`) with PyPI `grpcio-health-checking`'s
//!   `HealthStub`: `Check` on the server, on services set serving / not
//!   serving and on unknown ones; `Watch` step by step — the Python watcher
//!   prints each status as it arrives and the test makes its next change
//!   only after reading it, so every change must arrive, in order, and
//!   no-op sets must not repeat a status;
//! * reflection (`protocall::reflection`, v1 and v1alpha) with PyPI
//!   `grpcio-reflection`: raw requests on one stream (errors answered in
//!   the stream, which goes on), then its `ProtoReflectionDescriptorDatabase`
//!   under a `DescriptorPool` resolving services, methods, well-known
//!   imports and extensions, and calling Echo with a message class built
//!   from the reflected descriptors (`tests/python/health_reflection_peer.py`);
//!   the schemas are the test schemas compiled by protox (with imports and
//!   source info) plus an inline service's `file_descriptor_set()`;
//! * `buf curl` (npm `@bufbuild/buf`, installed into `target/node` when
//!   missing) converting JSON through the reflected descriptors, over
//!   `grpc-v1` and `grpc-v1alpha` reflection.
//!
//! Python comes from `PROTOCALL_PYTHON`, else the venv `target/py` that
//! `scripts/setup-peers.sh` creates. Without it (or its packages, or npm) a
//! test skips with the reason, except with `CI=true`, where it fails.

#![allow(missing_docs)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use protocall::health::health_server::HealthServer;
use protocall::health::{HealthReporter, HealthService, ServingStatus, health_service};
use protocall::{Request, Response, Server, Status};
use protocall_tests::harness::{python_with, unavailable, workspace_root};
use protocall_tests::protocall::test::Everything;
use protocall_tests::protocall::test::echo_server::{Echo, EchoServer};

/// How long one peer process may run.
const PROCESS_LIMIT: Duration = Duration::from_secs(60);
/// How long the test waits for one line of a peer.
const LINE_LIMIT: Duration = Duration::from_secs(15);
/// How long a change that must not be reported gets to show up anyway.
const QUIET: Duration = Duration::from_millis(300);

// ------------------------------------------------------------------- peers

/// Python with grpcio, grpcio-health-checking and grpcio-reflection.
fn python() -> Option<PathBuf> {
    python_with(
        "grpc, grpc_health.v1.health_pb2_grpc, \
         grpc_reflection.v1alpha.proto_reflection_descriptor_database",
    )
}

/// The peer script with `args`.
fn peer(python: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(python);
    command
        .arg(workspace_root().join("tests/python/health_reflection_peer.py"))
        .args(args);
    command
}

/// A child process killed (and reaped) when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads `from` to its end on a thread of its own.
fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        bytes
    })
}

/// Waits for `child` at most `limit`; kills it then.
fn wait_bounded(child: &mut Killed, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.0.kill();
            panic!("{what}: still running after {limit:?}, killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `command` to its end, at most `limit`.
fn run_bounded(mut command: Command, limit: Duration, what: &str) -> Output {
    let mut child = Killed(
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: cannot start: {e}")),
    );
    let stdout = drain(child.0.stdout.take().unwrap());
    let stderr = drain(child.0.stderr.take().unwrap());
    let status = wait_bounded(&mut child, limit, what);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Runs `command`, asserting success; its stdout's lines.
fn lines_of(command: Command, what: &str) -> Vec<String> {
    let out = run_bounded(command, PROCESS_LIMIT, what);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what}: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_string).collect()
}

/// A running peer whose stdout is read line by line as it comes.
struct LinePeer {
    child: Killed,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<Vec<u8>>>,
    /// Lines read while looking for another prefix.
    held: VecDeque<String>,
    what: String,
}

impl LinePeer {
    fn start(mut command: Command, what: &str) -> LinePeer {
        let mut child = Killed(
            command
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{what}: cannot start: {e}")),
        );
        let stdout = child.0.stdout.take().unwrap();
        let stderr = drain(child.0.stderr.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        LinePeer {
            child,
            lines,
            stderr: Some(stderr),
            held: VecDeque::new(),
            what: what.to_string(),
        }
    }

    fn stderr(&mut self) -> String {
        let _ = self.child.0.kill();
        match self.stderr.take() {
            Some(thread) => String::from_utf8_lossy(&thread.join().unwrap()).into_owned(),
            None => String::new(),
        }
    }

    /// The next line starting with `prefix` (other lines are held for
    /// later); fails after [`LINE_LIMIT`].
    fn next(&mut self, prefix: &str) -> String {
        if let Some(i) = self.held.iter().position(|l| l.starts_with(prefix)) {
            return self.held.remove(i).unwrap();
        }
        let deadline = Instant::now() + LINE_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(line) => self.held.push_back(line),
                Err(e) => {
                    let stderr = self.stderr();
                    panic!(
                        "{}: no line `{prefix}…` ({e:?}); held {:?}\n--- stderr\n{stderr}",
                        self.what, self.held
                    );
                }
            }
        }
    }

    /// Asserts that nothing arrives within [`QUIET`].
    fn quiet(&mut self) {
        if let Ok(line) = self.lines.recv_timeout(QUIET) {
            self.held.push_back(line);
        }
        assert!(
            self.held.is_empty(),
            "{}: unexpected {:?}",
            self.what,
            self.held
        );
    }

    /// Waits for the process to exit on its own, successfully, having
    /// printed nothing more.
    fn finish(mut self) {
        let status = wait_bounded(&mut self.child, PROCESS_LIMIT, &self.what);
        let rest: Vec<String> = self.held.drain(..).chain(self.lines.try_iter()).collect();
        let stderr = self.stderr();
        assert!(
            status.success(),
            "{}: {status}\n--- stderr\n{stderr}",
            self.what
        );
        assert!(rest.is_empty(), "{}: unexpected lines {rest:?}", self.what);
    }
}

// ----------------------------------------------------------------- servers

/// Echoes the request.
struct Echoer;

impl Echo for Echoer {
    async fn echo(&self, request: Request<Everything>) -> Result<Response<Everything>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// A tick of the inline service.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.reflected")]
pub struct Tick {
    #[proto(tag = 1)]
    pub at: Option<protocall::types::Timestamp>,
    #[proto(tag = 2)]
    pub label: String,
}

/// An inline service (no `.proto`), its messages referring to generated
/// ones and to a well-known type.
#[protocall::service(package = "protocall.test.reflected")]
pub trait Clock {
    async fn now(&self, request: Request<Everything>) -> Result<Response<Tick>, Status>;

    type TicksStream: protocall::server::Stream<Item = Result<Tick, Status>> + Send + 'static;

    async fn ticks(&self, request: Request<Tick>) -> Result<Response<Self::TicksStream>, Status>;
}

struct Clocks;

impl Clock for Clocks {
    async fn now(&self, request: Request<Everything>) -> Result<Response<Tick>, Status> {
        Ok(Response::new(Tick {
            at: Some(protocall::types::Timestamp {
                seconds: request.into_inner().f_int64,
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    type TicksStream = futures_util::stream::Iter<std::vec::IntoIter<Result<Tick, Status>>>;

    async fn ticks(&self, request: Request<Tick>) -> Result<Response<Self::TicksStream>, Status> {
        let tick = request.into_inner();
        Ok(Response::new(futures_util::stream::iter(vec![Ok(tick)])))
    }
}

/// A server on loopback port 0, on a runtime of its own.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    runtime: tokio::runtime::Runtime,
}

impl Running {
    fn start(build: impl FnOnce() -> protocall::server::Router) -> Running {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = build();
        let task = runtime.spawn(router.serve_with_listener(listener, async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            task: Some(task),
            runtime,
        }
    }

    fn target(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let done = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
            if !std::thread::panicking() {
                let result = done.expect("the server did not stop within 5s");
                result.unwrap().unwrap();
            }
        }
    }
}

// ------------------------------------------------------------------ health

const ECHO: &str = "protocall.test.Echo";

fn health_server() -> (Running, HealthReporter) {
    let (reporter, health) = health_service();
    let server = Running::start(|| {
        Server::builder()
            .add_service(health)
            .add_service(EchoServer::new(Echoer))
    });
    (server, reporter)
}

fn check(python: &Path, server: &Running, services: &[&str]) -> Vec<String> {
    let target = server.target();
    let mut args = vec!["check", target.as_str()];
    args.extend_from_slice(services);
    lines_of(peer(python, &args), "health check")
}

fn expect_check(services: &[(&str, &str)]) -> Vec<String> {
    services
        .iter()
        .map(|(service, status)| format!("check '{service}': {status}"))
        .collect()
}

#[test]
fn health_check_with_grpcio_health_checking() {
    let Some(python) = python() else { return };
    let (server, reporter) = health_server();
    reporter.set_serving::<EchoServer<Echoer>>();
    reporter.set_status("test.Down", ServingStatus::NotServing);
    reporter.set_not_serving::<HealthServer<HealthService>>();
    reporter.set_status("test.Cleared", ServingStatus::Serving);
    reporter.clear("test.Cleared");

    assert_eq!(
        check(
            &python,
            &server,
            &[
                "",
                ECHO,
                "test.Down",
                "grpc.health.v1.Health",
                "test.Unknown",
                "test.Cleared",
            ]
        ),
        expect_check(&[
            ("", "SERVING"),
            (ECHO, "SERVING"),
            ("test.Down", "NOT_SERVING"),
            ("grpc.health.v1.Health", "NOT_SERVING"),
            ("test.Unknown", "NOT_FOUND"),
            ("test.Cleared", "NOT_FOUND"),
        ])
    );

    // Changes show in the next check; the whole server can go down too.
    reporter.set_not_serving::<EchoServer<Echoer>>();
    reporter.set_status("", ServingStatus::NotServing);
    reporter.set_status("test.Unknown", ServingStatus::Serving);
    assert_eq!(
        check(&python, &server, &["", ECHO, "test.Unknown"]),
        expect_check(&[
            ("", "NOT_SERVING"),
            (ECHO, "NOT_SERVING"),
            ("test.Unknown", "SERVING"),
        ])
    );
}

#[test]
fn health_watch_with_grpcio_health_checking() {
    let Some(python) = python() else { return };
    let (server, reporter) = health_server();
    reporter.set_serving::<EchoServer<Echoer>>();

    let target = server.target();
    let mut watcher = LinePeer::start(
        peer(
            &python,
            &["watch", &target, &format!("{ECHO}=6"), "test.Later=2", "=1"],
        ),
        "health watch",
    );
    let echo = format!("watch '{ECHO}': ");
    let later = "watch 'test.Later': ";
    let expect = |watcher: &mut LinePeer, prefix: &str, status: &str| {
        assert_eq!(watcher.next(prefix), format!("{prefix}{status}"));
    };

    // First, each watch gets the current status: known, unknown, overall.
    expect(&mut watcher, &echo, "SERVING");
    expect(&mut watcher, later, "SERVICE_UNKNOWN");
    expect(&mut watcher, "watch '': ", "SERVING");
    watcher.quiet();

    // Then every change, one at a time; setting the current status again
    // is no change and reports nothing.
    reporter.set_serving::<EchoServer<Echoer>>();
    watcher.quiet();
    reporter.set_not_serving::<EchoServer<Echoer>>();
    expect(&mut watcher, &echo, "NOT_SERVING");

    reporter.set_not_serving::<EchoServer<Echoer>>();
    reporter.set_status(ECHO, ServingStatus::NotServing);
    watcher.quiet();
    reporter.set_status(ECHO, ServingStatus::Serving);
    expect(&mut watcher, &echo, "SERVING");

    reporter.clear(ECHO);
    expect(&mut watcher, &echo, "SERVICE_UNKNOWN");
    // A cleared service is unknown to Check again, watched or not; so is
    // one only watched.
    assert_eq!(
        check(&python, &server, &[ECHO, "test.Later"]),
        expect_check(&[(ECHO, "NOT_FOUND"), ("test.Later", "NOT_FOUND")])
    );
    reporter.clear(ECHO);
    watcher.quiet();
    reporter.set_status(ECHO, ServingStatus::NotServing);
    expect(&mut watcher, &echo, "NOT_SERVING");
    reporter.set_serving::<EchoServer<Echoer>>();
    expect(&mut watcher, &echo, "SERVING");

    // The unknown service becomes known.
    reporter.set_status("test.Later", ServingStatus::Serving);
    expect(&mut watcher, later, "SERVING");

    // Each watch ended after its count, with nothing more printed.
    watcher.finish();
}

// -------------------------------------------------------------- reflection

/// An extension file, so extension lookups have something to find.
const EXT_PROTO: &str = r#"
syntax = "proto2";
package protocall.test.ext;
import "test/proto2.proto";

// A top-level extension.
extend protocall.test2.Legacy {
  optional int32 ext_tag = 100;
}

message Holder {
  extend protocall.test2.Legacy {
    optional string nested_ext = 101;
  }
}
"#;

/// The test schemas, the extension file and the health schema — and, with
/// `with_reflection`, the reflection schemas — compiled by protox with
/// imports and source info, encoded.
fn schema_set(with_reflection: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("reflected")).unwrap();
    std::fs::write(dir.path().join("reflected/ext.proto"), EXT_PROTO).unwrap();
    let proto = workspace_root().join("proto");
    let mut compiler = protox::Compiler::new([dir.path(), proto.as_path()]).unwrap();
    compiler.include_imports(true).include_source_info(true);
    let mut files = vec![
        "test/everything.proto",
        "test/proto2.proto",
        "test/transport.proto",
        "reflected/ext.proto",
        "grpc/health/v1/health.proto",
    ];
    if with_reflection {
        files.extend([
            "grpc/reflection/v1/reflection.proto",
            "grpc/reflection/v1alpha/reflection.proto",
        ]);
    }
    compiler
        .open_files(files)
        .unwrap_or_else(|e| panic!("{e:?}"));
    compiler.encode_file_descriptor_set()
}

/// Which reflection services a server runs.
#[derive(Clone, Copy, PartialEq)]
enum Versions {
    Both,
    V1alphaOnly,
}

/// Echo, the inline Clock, health and reflection; reflection knows the
/// schema set (with the reflection schemas when `Both`) and Clock's
/// `file_descriptor_set()`.
fn reflection_server(versions: Versions) -> Running {
    let reflection = protocall::reflection::Builder::new()
        .register_encoded_file_descriptor_set(&schema_set(versions == Versions::Both))
        .unwrap()
        .register_file_descriptor_set(ClockServer::<Clocks>::file_descriptor_set());
    let (_reporter, health) = health_service();
    Running::start(move || {
        let server = Server::builder();
        let server = match versions {
            Versions::Both => server
                .add_service(reflection.clone().build_v1())
                .add_service(reflection.build_v1alpha()),
            Versions::V1alphaOnly => server.add_service(reflection.build_v1alpha()),
        };
        server
            .add_service(health)
            .add_service(EchoServer::new(Echoer))
            .add_service(ClockServer::new(Clocks))
    })
}

const WELL_KNOWN_OF_EVERYTHING: &str = "google/protobuf/any.proto,google/protobuf/duration.proto,\
     google/protobuf/struct.proto,google/protobuf/timestamp.proto,google/protobuf/wrappers.proto";

fn expected_reflection_lines() -> Vec<String> {
    let services = "grpc.health.v1.Health,grpc.reflection.v1.ServerReflection,\
         grpc.reflection.v1alpha.ServerReflection,protocall.test.Echo,\
         protocall.test.reflected.Clock,protocall.transport.Other,protocall.transport.Transport";
    let everything = format!("files: test/everything.proto + {WELL_KNOWN_OF_EVERYTHING}");
    let inline = "files: protocall/test/reflected.proto + google/protobuf/any.proto,\
         google/protobuf/duration.proto,google/protobuf/struct.proto,\
         google/protobuf/timestamp.proto,google/protobuf/wrappers.proto,test/everything.proto";
    let everything_methods = "Echo(protocall.test.Everything) returns (protocall.test.Everything)";
    let clock_methods = "Now(protocall.test.Everything) returns (protocall.test.reflected.Tick); \
         Ticks(protocall.test.reflected.Tick) returns (stream protocall.test.reflected.Tick)";
    [
        format!("list: services: {services}"),
        format!("symbol service: {everything}"),
        format!("symbol method: {everything}"),
        format!("symbol message: {everything}"),
        format!("symbol nested message: {everything}"),
        format!("symbol enum value: {everything}"),
        "symbol nested enum value: files: grpc/health/v1/health.proto + ".into(),
        format!("symbol field: {everything}"),
        "symbol well-known: files: google/protobuf/timestamp.proto + ".into(),
        format!("symbol inline service: {inline}"),
        "symbol unknown: error: NOT_FOUND".into(),
        format!("file: {everything}"),
        "file unknown: error: NOT_FOUND".into(),
        "extension: files: reflected/ext.proto + test/proto2.proto".into(),
        "extension unknown: error: NOT_FOUND".into(),
        "extension numbers: extension numbers of protocall.test2.Legacy: 100,101".into(),
        format!("list again: services: {services}"),
        format!("db services: {services}"),
        "every listed service resolves: grpc.health.v1.Health/2,\
         grpc.reflection.v1.ServerReflection/1,grpc.reflection.v1alpha.ServerReflection/1,\
         protocall.test.Echo/1,protocall.test.reflected.Clock/2,protocall.transport.Other/1,\
         protocall.transport.Transport/4"
            .into(),
        format!("pool protocall.test.Echo in test/everything.proto: {everything_methods}"),
        format!(
            "pool protocall.test.reflected.Clock in protocall/test/reflected.proto: {clock_methods}"
        ),
        "pool field wk_timestamp: google.protobuf.Timestamp from google/protobuf/timestamp.proto"
            .into(),
        "pool field wk_any: google.protobuf.Any from google/protobuf/any.proto".into(),
        "pool field wk_struct: google.protobuf.Struct from google/protobuf/struct.proto".into(),
        "pool field f_nested: protocall.test.Everything.Nested from test/everything.proto".into(),
        "pool field f_color: protocall.test.Color from test/everything.proto".into(),
        format!("pool dependencies of test/everything.proto: {WELL_KNOWN_OF_EVERYTHING}"),
        "db extension numbers: 100,101".into(),
        "pool extension protocall.test.ext.ext_tag: protocall.test2.Legacy 100 in reflected/ext.proto"
            .into(),
        "pool extension protocall.test.ext.Holder.nested_ext: protocall.test2.Legacy 101 in reflected/ext.proto"
            .into(),
        "pool extensions of protocall.test2.Legacy: 100,101".into(),
        "pool unknown: KeyError".into(),
        "comment of the first enum: A color, open enum.".into(),
        "comment of the first message: Every scalar once, repeated, optional and in maps.".into(),
        r#"echo: {"fInt32": 7, "fNested": {"b": "nested"}, "rColor": ["COLOR_BLUE"], "wkTimestamp": "1970-01-01T00:00:05Z"}"#.into(),
    ]
    .into_iter()
    .collect()
}

fn reflect_with_grpcio(version: &str) {
    let Some(python) = python() else { return };
    let server = reflection_server(Versions::Both);
    let got = lines_of(
        peer(&python, &["reflect", &server.target(), version]),
        &format!("reflection {version}"),
    );
    let want = expected_reflection_lines();
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        assert_eq!(got, want, "line {i} of reflection {version}");
    }
    assert_eq!(got.len(), want.len(), "{got:#?}");
}

#[test]
fn reflection_v1_with_grpcio_reflection() {
    reflect_with_grpcio("v1");
}

#[test]
fn reflection_v1alpha_with_grpcio_reflection() {
    reflect_with_grpcio("v1alpha");
}

// --------------------------------------------------------------- buf curl

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

/// buf from npm, installed into `target/node` when missing (as
/// protoc_plugin.rs does), once per test run.
fn buf() -> Option<PathBuf> {
    static BUF: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    match BUF.get_or_init(install_buf) {
        Ok(bin) => Some(bin.clone()),
        Err(reason) => unavailable(reason),
    }
}

fn install_buf() -> Result<PathBuf, String> {
    let dir = target_dir().join("node");
    let wrapper = dir.join("node_modules/.bin/buf");
    if !wrapper.exists() {
        let mut npm = Command::new("npm");
        npm.arg("install").arg("--prefix").arg(&dir).args([
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "@bufbuild/buf@^1",
        ]);
        match npm.output() {
            Err(e) => return Err(format!("cannot run npm to install buf: {e}")),
            Ok(out) if !out.status.success() => {
                return Err(format!(
                    "npm install @bufbuild/buf failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(_) => {}
        }
    }
    // The platform package's binary itself, when there is one: the wrapper
    // is a node script running it as a child, which killing the wrapper
    // (on timeout) would leave behind.
    let native = std::fs::read_dir(dir.join("node_modules/@bufbuild"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("buf-"))
        .map(|entry| entry.path().join("bin/buf"))
        .find(|bin| bin.is_file());
    let bin = native.unwrap_or(wrapper);
    match Command::new(&bin).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(bin),
        Ok(out) => Err(format!(
            "{} does not work: {}",
            bin.display(),
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => Err(format!("cannot run {}: {e}", bin.display())),
    }
}

/// `buf curl` of `path` on `server` with `args`; its stdout with all
/// whitespace removed.
fn buf_curl(buf: &Path, server: &Running, path: &str, args: &[&str]) -> String {
    let mut command = Command::new(buf);
    command
        .arg("curl")
        .args(["--protocol", "grpc", "--http2-prior-knowledge"])
        .args(args)
        .arg(format!("http://{}{path}", server.target()));
    let what = format!("buf curl {args:?} {path}");
    let out = run_bounded(command, PROCESS_LIMIT, &what);
    assert!(
        out.status.success(),
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

const ECHO_REQUEST: &str = r#"{"fInt32": 7, "fColor": "COLOR_BLUE", "wkTimestamp": "1970-01-01T00:00:05Z", "fNested": {"b": "x"}}"#;

/// The echo of [`ECHO_REQUEST`], as buf prints it (whitespace removed).
fn assert_echoed(reply: &str, context: &str) {
    for part in [
        r#""fInt32":7"#,
        r#""fColor":"COLOR_BLUE""#,
        r#""wkTimestamp":"1970-01-01T00:00:05Z""#,
        r#""fNested":{"b":"x"}"#,
    ] {
        assert!(reply.contains(part), "{context}: no {part} in {reply}");
    }
}

#[test]
fn buf_curl_through_reflection() {
    let Some(buf) = buf() else { return };
    let server = reflection_server(Versions::Both);
    for protocol in ["grpc-v1", "grpc-v1alpha"] {
        let reply = buf_curl(
            &buf,
            &server,
            "/protocall.test.Echo/Echo",
            &["--reflect-protocol", protocol, "--data", ECHO_REQUEST],
        );
        assert_echoed(&reply, protocol);
        // Every listed service resolves, so every method is listed.
        let methods = buf_curl(
            &buf,
            &server,
            "",
            &["--reflect-protocol", protocol, "--list-methods"],
        );
        for method in [
            "grpc.health.v1.Health/Watch",
            "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            "protocall.test.Echo/Echo",
            "protocall.test.reflected.Clock/Ticks",
            "protocall.transport.Transport/Bidi",
        ] {
            assert!(
                methods.contains(method),
                "{protocol}: no {method} in {methods}"
            );
        }
    }
    // The inline service, through its own `file_descriptor_set()`.
    let tick = buf_curl(
        &buf,
        &server,
        "/protocall.test.reflected.Clock/Now",
        &["--data", r#"{"fInt64": "86400"}"#],
    );
    assert!(tick.contains(r#""at":"1970-01-02T00:00:00Z""#), "{tick}");
}

/// Only v1alpha served: buf falls back to v1alpha by itself, and fails when
/// told to use v1.
#[test]
fn buf_curl_through_v1alpha_only() {
    let Some(buf) = buf() else { return };
    let server = reflection_server(Versions::V1alphaOnly);
    let reply = buf_curl(
        &buf,
        &server,
        "/protocall.test.Echo/Echo",
        &["--data", ECHO_REQUEST],
    );
    assert_echoed(&reply, "fallback to v1alpha");
    // The reflection schemas come registered: listed, and resolvable.
    let methods = buf_curl(&buf, &server, "", &["--list-methods"]);
    assert!(methods.contains("protocall.test.Echo/Echo"), "{methods}");
    assert!(
        methods.contains("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
        "{methods}"
    );

    let mut command = Command::new(&buf);
    command
        .args(["curl", "--protocol", "grpc", "--http2-prior-knowledge"])
        .args(["--reflect-protocol", "grpc-v1", "--data", ECHO_REQUEST])
        .arg(format!(
            "http://{}/protocall.test.Echo/Echo",
            server.target()
        ));
    let out = run_bounded(command, PROCESS_LIMIT, "buf curl over v1 only");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "v1 is not served, yet: {stderr}");
    // buf reports the v1 call's UNIMPLEMENTED as a schema without Echo.
    assert!(stderr.contains("protocall.test.Echo"), "{stderr}");
}
