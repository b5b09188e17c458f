//! Shared by the interop tests (`interop.rs`, `interop_node.rs`,
//! `interop_tls.rs`, `interop_tonic.rs`): the protocall interop binaries
//! (and [`build_binaries`] for another package's), peer processes that are
//! killed when dropped, servers that report their port, bounded client runs,
//! and the matrix that runs every case as its own client process and
//! reports each by name.
//!
//! Included with `#[path = "support/peers.rs"] mod peers;`.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a server may take to print its port.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one client process may run.
pub const CASE_TIMEOUT: Duration = Duration::from_secs(30);

pub use protocall_tests::harness::workspace_root;

/// `python` running `tests/python/SCRIPT`, unbuffered, writing no bytecode.
pub fn python_command(python: &std::path::Path, script: &str) -> Command {
    let mut command = Command::new(python);
    command
        .arg(workspace_root().join("tests/python").join(script))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1");
    command
}

/// Every case of the interop spec the matrices run, in the order
/// `doc/interop-test-descriptions.md` lists them.
pub const CASES: &[&str] = &[
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

// ---------------------------------------------------------------- the peers

/// The two interop binaries of `protocall-examples`.
pub struct Binaries {
    pub server: PathBuf,
    pub client: PathBuf,
}

/// Builds the interop binaries once per test run, and finds them from
/// cargo's own report (so `CARGO_TARGET_DIR` and the like are honoured).
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Result<Binaries, String>> = OnceLock::new();
    let built = BINARIES.get_or_init(|| {
        let [server, client] =
            build_binaries("protocall-examples", ["interop-server", "interop-client"])?;
        Ok(Binaries { server, client })
    });
    match built {
        Ok(binaries) => binaries,
        Err(message) => panic!("building the interop binaries: {message}"),
    }
}

/// Builds the binaries `names` of the workspace package `package` (with
/// `cargo build`, in the profile's usual place) and returns their paths, in
/// the order asked, from cargo's own report.
pub fn build_binaries<const N: usize>(
    package: &str,
    names: [&str; N],
) -> Result<[PathBuf; N], String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args(["build", "-p", package]);
    // Cargo gives this test process the package's own variables; build
    // scripts that watch them (ring's watches `CARGO_MANIFEST_DIR`,
    // `CARGO_PKG_NAME`, `OUT_DIR`…) would otherwise rebuild on every switch
    // between this build and the outer `cargo test`.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || key.starts_with("CARGO_BIN_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref())
        {
            command.env_remove(key.as_ref());
        }
    }
    for name in names {
        command.args(["--bin", name]);
    }
    let output = command
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build -p {package} failed: {}",
            output.status
        ));
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
    let mut paths = Vec::with_capacity(N);
    for name in names {
        paths.push(executable(name)?);
    }
    Ok(paths.try_into().expect("one path per name"))
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

// ------------------------------------------------------------ the processes

/// A child process, killed and reaped when dropped, whatever happened.
pub struct Process {
    pub child: Child,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Collects a pipe's bytes on a thread.
pub fn collect(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A running interop server and the port it listens on.
pub struct Server {
    process: Process,
    pub port: u16,
    name: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    /// Starts `command --port=0` and waits (bounded) for its
    /// `… listening on HOST:PORT` line.
    pub fn start(name: &str, mut command: Command) -> Server {
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
            .rsplit_once(':')
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
    pub fn stop(mut self) -> Result<(), String> {
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

/// Runs one client process to completion (bounded): `Ok` with what it
/// printed on exit 0, else `Err` with what it printed.
pub fn run_client(mut command: Command) -> Result<String, String> {
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
    let output = output.trim().to_string();
    match status {
        Some(status) if status.success() => Ok(output),
        Some(status) => Err(format!("{status}: {output}")),
        None => Err(format!("killed after {CASE_TIMEOUT:?}: {output}")),
    }
}

// ---------------------------------------------------------------- the runs

/// What a matrix expects of one case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The case runs and passes.
    Pass,
    /// The case runs and must pass, but a peer can check less than the
    /// spec asks (why); reported as a partial pass.
    Partial(&'static str),
    /// The case is not run, because a peer cannot express it (why).
    Skip(&'static str),
    /// A known failure (why): reported, and the matrix fails if the case
    /// starts passing, so the list cannot go stale.
    Fail(&'static str),
}

/// Runs every case of `cases`, each in a fresh `client()` process given
/// the official client's flags, against `server`; prints one line per case
/// and fails listing every unexpected result.
pub fn matrix(title: &str, server: Server, cases: &[(&str, Expect)], client: impl Fn() -> Command) {
    let mut unexpected = Vec::new();
    // One report per matrix, printed whole: the matrices run in parallel.
    let mut report = format!("{title}:\n");
    for &(case, expect) in cases {
        if let Expect::Skip(why) = expect {
            report += &format!("  {case}: skipped ({why})\n");
            continue;
        }
        let mut command = client();
        command.args([
            "--server_host=127.0.0.1".to_string(),
            format!("--server_port={}", server.port),
            format!("--test_case={case}"),
            "--use_tls=false".to_string(),
        ]);
        let result = run_client(command);
        match (&result, expect) {
            (Ok(_), Expect::Pass) => report += &format!("  {case}: pass\n"),
            (Ok(_), Expect::Partial(why)) => {
                report += &format!("  {case}: pass (partial: {why})\n")
            }
            (Err(error), Expect::Fail(why)) => {
                report += &format!("  {case}: expected failure ({why}): {error}\n")
            }
            (Err(error), _) => {
                report += &format!("  {case}: FAIL: {error}\n");
                unexpected.push(format!("{case}: {error}"));
            }
            (Ok(_), Expect::Fail(_)) => {
                report += &format!("  {case}: UNEXPECTED PASS\n");
                unexpected.push(format!(
                    "{case}: passes now; remove it from the known failures"
                ));
            }
            (Ok(_), Expect::Skip(_)) => unreachable!("skipped cases do not run"),
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
