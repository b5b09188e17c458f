//! gRPC interop with the official test service (`grpc.testing.TestService`,
//! grpc/grpc `doc/interop-test-descriptions.md`), in three matrices:
//!
//! * grpcio's client (`tests/python/interop_client.py`) against protocall's
//!   server (`examples/src/bin/interop-server.rs`);
//! * protocall's client (`examples/src/bin/interop-client.rs`) against
//!   grpcio's server (`tests/python/interop_server.py`);
//! * protocall's client against protocall's server.
//!
//! Each matrix starts its server on a free loopback port (the server prints
//! it), runs every case as its own client process, and reports every case
//! by name. The binaries are built with `cargo build -p protocall-examples`
//! on first use. Python comes from `PROTOCALL_PYTHON`, else the venv
//! `target/py` that `scripts/setup-peers.sh` creates; without it (or without
//! grpcio) the Python matrices skip, except with `CI=true`, where they fail.
//!
//! A case in [`EXPECTED_FAILURES`] documents a known gap: it is reported,
//! and the test fails if it starts passing, so the list cannot go stale.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Every case both clients implement.
const CASES: &[&str] = &[
    "empty_unary",
    "large_unary",
    "client_compressed_unary",
    "server_compressed_unary",
    "client_streaming",
    "client_compressed_streaming",
    "server_streaming",
    "server_compressed_streaming",
    "ping_pong",
    "empty_stream",
    "custom_metadata",
    "status_code_and_message",
    "special_status_message",
    "unimplemented_method",
    "unimplemented_service",
    "cancel_after_begin",
    "cancel_after_first_response",
    "timeout_on_sleeping_server",
];

/// Which server the clients talk to, for [`EXPECTED_FAILURES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerSide {
    Protocall,
    Grpcio,
}

/// Known failures: server, case, why.
const EXPECTED_FAILURES: &[(ServerSide, &str, &str)] = &[];

/// How long a server may take to print its port.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one client process may run.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

// ---------------------------------------------------------------- the peers

/// The two interop binaries of `protocall-examples`.
struct Binaries {
    server: PathBuf,
    client: PathBuf,
}

/// Builds the interop binaries once per test run, and finds them from
/// cargo's own report (so `CARGO_TARGET_DIR` and the like are honoured).
fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();
    let built = BINARIES.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let output = Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "-p",
                "protocall-examples",
                "--bin",
                "interop-server",
                "--bin",
                "interop-client",
                "--message-format=json-render-diagnostics",
            ])
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!("cargo build failed: {}", output.status));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let executable = |name: &str| {
            stdout
                .lines()
                .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
                .filter(|line| line.contains(&format!(r#""name":"{name}""#)))
                .find_map(json_executable)
                .ok_or_else(|| format!("cargo reported no executable for {name}"))
        };
        Ok(Binaries {
            server: executable("interop-server")?,
            client: executable("interop-client")?,
        })
    });
    match built {
        Ok(binaries) => binaries,
        Err(message) => panic!("building the interop binaries: {message}"),
    }
}

/// The `"executable"` path of one line of cargo's JSON messages.
fn json_executable(line: &str) -> Option<PathBuf> {
    let start = line.find(r#""executable":""#)? + r#""executable":""#.len();
    let mut path = String::new();
    let mut chars = line[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(path)),
            '\\' => path.push(chars.next()?),
            c => path.push(c),
        }
    }
    None
}

/// Python with grpcio and grpcio-tools, or `None` after saying why; in CI
/// a missing peer is a failure.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("PROTOCALL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/py/bin/python"));
    let probe = Command::new(&python)
        .args(["-c", "import grpc, grpc_tools.protoc"])
        .output();
    let problem = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => format!(
            "{} cannot import grpc and grpc_tools: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("cannot run {}: {e}", python.display()),
    };
    let hint = "run scripts/setup-peers.sh or set PROTOCALL_PYTHON";
    if in_ci() {
        panic!("{problem} ({hint})");
    }
    eprintln!("skipping the grpcio interop matrix: {problem} ({hint})");
    None
}

fn python_command(python: &Path, script: &str) -> Command {
    let mut command = Command::new(python);
    command
        .arg(workspace_root().join("tests/python").join(script))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    command
}

// ------------------------------------------------------------ the processes

/// A child process, killed and reaped when dropped, whatever happened.
struct Process {
    child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a pipe's bytes on a thread.
fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A running interop server and the port it listens on.
struct Server {
    process: Process,
    port: u16,
    name: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    /// Starts `command --port=0` and waits (bounded) for its
    /// `… listening on 127.0.0.1:PORT` line.
    fn start(name: &str, mut command: Command) -> Server {
        command
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped");
        let stderr = collect(child.stderr.take().expect("piped"));
        let process = Process { child };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining so the server never blocks on a full pipe.
            lines.for_each(drop);
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => {
                drop(process);
                panic!(
                    "{name} exited before listening:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
            Err(_) => {
                drop(process);
                panic!(
                    "{name} did not report its port within {READY_TIMEOUT:?}:\n{}",
                    stderr.join().unwrap_or_default()
                );
            }
        };
        let port = line
            .rsplit_once("127.0.0.1:")
            .and_then(|(_, port)| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not its port"));
        Server {
            process,
            port,
            name: name.to_string(),
            stderr,
        }
    }

    /// Stops the server; fails if it had died on its own.
    fn stop(mut self) -> Result<(), String> {
        let exited = self.process.child.try_wait().ok().flatten();
        drop(self.process);
        let stderr = self.stderr.join().unwrap_or_default();
        match exited {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} exited during the run ({status}):\n{stderr}",
                self.name
            )),
        }
    }
}

/// Runs one client process to completion (bounded): `Ok` on exit 0, else
/// `Err` with what it printed.
fn run_client(mut command: Command) -> Result<(), String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let stdout = collect(child.stdout.take().expect("piped"));
    let stderr = collect(child.stderr.take().expect("piped"));
    let mut process = Process { child };
    let deadline = Instant::now() + CASE_TIMEOUT;
    let status = loop {
        match process.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("cannot wait for the client: {e}")),
        }
    };
    drop(process);
    let output = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    let output = output.trim();
    match status {
        Some(status) if status.success() => Ok(()),
        Some(status) => Err(format!("{status}: {output}")),
        None => Err(format!("killed after {CASE_TIMEOUT:?}: {output}")),
    }
}

// ---------------------------------------------------------------- the runs

/// Runs every case, each in a fresh `client()` process, against `server`;
/// prints one line per case and fails listing every unexpected result.
fn matrix(title: &str, side: ServerSide, server: Server, client: impl Fn() -> Command) {
    let mut unexpected = Vec::new();
    // One report per matrix, printed whole: the matrices run in parallel.
    let mut report = format!("{title}:\n");
    for &case in CASES {
        let mut command = client();
        command.args([
            "--server_host=127.0.0.1".to_string(),
            format!("--server_port={}", server.port),
            format!("--test_case={case}"),
            "--use_tls=false".to_string(),
        ]);
        let result = run_client(command);
        let known = EXPECTED_FAILURES
            .iter()
            .find(|(s, c, _)| *s == side && *c == case)
            .map(|(_, _, why)| *why);
        match (&result, known) {
            (Ok(()), None) => report += &format!("  {case}: pass\n"),
            (Err(error), Some(why)) => {
                report += &format!("  {case}: expected failure ({why}): {error}\n")
            }
            (Err(error), None) => {
                report += &format!("  {case}: FAIL: {error}\n");
                unexpected.push(format!("{case}: {error}"));
            }
            (Ok(()), Some(_)) => {
                report += &format!("  {case}: UNEXPECTED PASS\n");
                unexpected.push(format!(
                    "{case}: passes now; remove it from EXPECTED_FAILURES"
                ));
            }
        }
    }
    if let Err(error) = server.stop() {
        unexpected.push(error);
    }
    print!("{report}");
    assert!(
        unexpected.is_empty(),
        "{title}: {} unexpected result(s):\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn grpcio_client_against_protocall_server() {
    let Some(python) = python() else { return };
    let server = Server::start("interop-server", Command::new(&binaries().server));
    matrix(
        "grpcio client -> protocall server",
        ServerSide::Protocall,
        server,
        || python_command(&python, "interop_client.py"),
    );
}

#[test]
fn protocall_client_against_grpcio_server() {
    let Some(python) = python() else { return };
    let client = &binaries().client;
    let server = Server::start(
        "interop_server.py",
        python_command(&python, "interop_server.py"),
    );
    matrix(
        "protocall client -> grpcio server",
        ServerSide::Grpcio,
        server,
        || Command::new(client),
    );
}

#[test]
fn protocall_client_against_protocall_server() {
    let binaries = binaries();
    let server = Server::start("interop-server", Command::new(&binaries.server));
    matrix(
        "protocall client -> protocall server",
        ServerSide::Protocall,
        server,
        || Command::new(&binaries.client),
    );
}
