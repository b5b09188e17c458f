//! gRPC-Web and Connect from a real browser: connect-web in headless
//! Chromium against protocall's interop server
//! (`examples/src/bin/interop-server.rs`).
//!
//! `tests/web` is the browser side: a page (`page/main.ts`) that calls
//! `grpc.testing.TestService` through connect-web's three browser
//! transports — gRPC-Web (binary), Connect with protobuf and Connect with
//! JSON — and a driver (`run.mjs`, puppeteer-core) that serves the page
//! from an origin of its own, so every call is cross-origin and goes
//! through a real CORS preflight, and records `results.json` and a
//! screenshot. The cases per transport are [`CASES`]; `page/main.ts` says
//! what each checks.
//!
//! This test installs `tests/web` (pinned in its `package.json` and
//! `package-lock.json`) into `target/node-web` with `npm ci` when that
//! install is missing or stale (so does `scripts/setup-peers.sh`), builds
//! the page there (`build.mjs`: protoc-gen-es stubs from
//! `proto/grpc/testing`, tsc, esbuild), starts the interop server on a
//! free loopback port, runs the driver against it under a time bound, and
//! asserts that every case of `results.json` passed and that the
//! screenshot shows the page's green banner. The run's `results.json` and
//! `screenshot.png` stay in `target/web-chromium` for inspection.
//!
//! Chromium is `PROTOCALL_CHROMIUM`, else `chromium` on `PATH` (Debian's
//! `chromium` package). Without node, npm or Chromium, or when the npm
//! install fails, the test skips saying why, except with `CI=true`, where
//! it fails.

#[path = "support/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use peers::{Process, Server, binaries, collect, workspace_root};
use protocall_tests::harness::in_ci;

/// connect-web's transports, as the page names them.
const TRANSPORTS: &[&str] = &["grpc-web", "connect-proto", "connect-json"];
/// The page's cases, each run over every transport.
const CASES: &[&str] = &[
    "unary",
    "server_streaming",
    "custom_metadata",
    "error_details_metadata",
    "error_metadata_placement",
    "deadline",
    "deadline_server",
];
/// The unary case's `response_size`, which the page reports back.
const UNARY_RESPONSE_SIZE: u64 = 314_159;

/// How long `npm ci` may take (it downloads about 200 MB the first time).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// How long `build.mjs` may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(180);
/// The driver's own bound on the page (`--timeout-s`)…
const PAGE_TIMEOUT_S: u64 = 60;
/// …and ours on the driver, past its own watchdog (the bound plus 30 s).
const DRIVER_TIMEOUT: Duration = Duration::from_secs(PAGE_TIMEOUT_S + 60);

/// The banner block the screenshot must show, in device pixels (the page
/// is rendered at a device scale factor of 1): `index.html` keeps the
/// banner's top 120 × left 200 pixels free of text. A few pixels are left
/// out at each edge.
const BANNER_BLOCK: (std::ops::Range<u32>, std::ops::Range<u32>) = (4..196, 4..116);
/// The banner's colour when every case passed (`#00c000`).
const GREEN: [u8; 3] = [0x00, 0xc0, 0x00];

// ---------------------------------------------------------------- the peers

/// What the test needs besides the interop server.
struct Browser {
    chromium: PathBuf,
}

/// Node, npm and Chromium, with `tests/web` installed; `None` after saying
/// why something is missing (a failure in CI).
fn browser() -> Option<Browser> {
    let found = probe().and_then(|browser| {
        install()?;
        Ok(browser)
    });
    match found {
        Ok(browser) => Some(browser),
        Err(problem) => {
            let hint = "run scripts/setup-peers.sh (Debian chromium, npm ci of tests/web into \
                        target/node-web), or set PROTOCALL_CHROMIUM";
            if in_ci() {
                panic!("CI=true and the browser peer is unavailable: {problem} ({hint})");
            }
            eprintln!("skipping the Chromium web interop test: {problem} ({hint})");
            None
        }
    }
}

fn probe() -> Result<Browser, String> {
    for tool in ["node", "npm"] {
        let out = Command::new(tool)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {tool}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{tool} --version failed ({})", out.status));
        }
    }
    let chromium = match std::env::var_os("PROTOCALL_CHROMIUM") {
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(format!(
                    "PROTOCALL_CHROMIUM={} is not a file",
                    path.display()
                ));
            }
            path
        }
        None => on_path("chromium").ok_or("no chromium on PATH")?,
    };
    Ok(Browser { chromium })
}

/// The first file called `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// The directory `tests/web` is installed into.
fn install_dir() -> PathBuf {
    workspace_root().join("target/node-web")
}

/// `npm ci` of `tests/web` into `target/node-web`, unless the manifests
/// there are the same as the ones in the repository (what setup-peers.sh
/// does too).
fn install() -> Result<(), String> {
    let source = workspace_root().join("tests/web");
    let dir = install_dir();
    let manifests = ["package.json", "package-lock.json"];
    let fresh = manifests.iter().all(|name| {
        matches!(
            (std::fs::read(source.join(name)), std::fs::read(dir.join(name))),
            (Ok(a), Ok(b)) if a == b
        )
    }) && dir
        .join("node_modules/puppeteer-core/package.json")
        .is_file();
    if fresh {
        return Ok(());
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for name in manifests {
        std::fs::copy(source.join(name), dir.join(name))
            .map_err(|e| format!("cannot copy tests/web/{name}: {e}"))?;
    }
    let mut npm = Command::new("npm");
    npm.arg("ci")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund", "--loglevel=error"]);
    let started = Instant::now();
    run_bounded(npm, INSTALL_TIMEOUT)
        .map_err(|e| format!("npm ci in {} failed: {e}", dir.display()))?;
    println!("npm ci of tests/web: {:.1?}", started.elapsed());
    Ok(())
}

/// Runs `command` to completion, killed after `limit`: `Ok` with what it
/// printed on exit 0, else `Err` with the status and what it printed.
fn run_bounded(mut command: Command, limit: Duration) -> Result<String, String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let stdout = collect(child.stdout.take().expect("piped"));
    let stderr = collect(child.stderr.take().expect("piped"));
    let mut process = Process { child };
    let deadline = Instant::now() + limit;
    let status = loop {
        match process.child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait: {e}")),
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
        Some(status) => Err(format!("{status}:\n{output}")),
        None => Err(format!("killed after {limit:?}:\n{output}")),
    }
}

fn node_script(script: &str) -> Command {
    let mut command = Command::new("node");
    command
        .arg(workspace_root().join("tests/web").join(script))
        .env("PROTOCALL_NODE_WEB", install_dir());
    command
}

// ---------------------------------------------------------------- the run

#[test]
fn connect_web_in_chromium_against_protocall_server() {
    let Some(browser) = browser() else { return };

    let started = Instant::now();
    if let Err(e) = run_bounded(node_script("build.mjs"), BUILD_TIMEOUT) {
        panic!("building the page (tests/web/build.mjs) failed: {e}");
    }
    println!("build.mjs: {:.1?}", started.elapsed());

    let out = workspace_root().join("target/web-chromium");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).expect("create target/web-chromium");

    let server = Server::start("interop-server", Command::new(&binaries().server));
    let mut driver = node_script("run.mjs");
    driver
        .arg(format!("--api=http://127.0.0.1:{}", server.port))
        .arg(format!("--out={}", out.display()))
        .arg(format!("--chromium={}", browser.chromium.display()))
        .arg(format!("--timeout-s={PAGE_TIMEOUT_S}"));
    let started = Instant::now();
    let run = run_bounded(driver, DRIVER_TIMEOUT);
    println!("run.mjs (Chromium): {:.1?}", started.elapsed());
    let mut problems = Vec::new();
    if let Err(e) = server.stop() {
        problems.push(e);
    }
    let driver_output = match &run {
        Ok(output) => output.clone(),
        Err(e) => {
            problems.push("the driver (tests/web/run.mjs) failed; its output is below".into());
            e.clone()
        }
    };
    problems.extend(check_results(&out.join("results.json")));
    problems.extend(
        check_banner(&out.join("screenshot.png"))
            .err()
            .map(|e| format!("screenshot: {e}")),
    );
    assert!(
        problems.is_empty(),
        "connect-web in Chromium -> protocall server: {} problem(s) (results and screenshot in {}):\n{}\n\n{driver_output}",
        problems.len(),
        out.display(),
        problems.join("\n"),
    );
    println!("{driver_output}");
}

/// Everything wrong with `results.json`: a case that failed, is missing or
/// is not one of ours, a wrong unary payload length, no CORS preflight.
fn check_results(path: &Path) -> Vec<String> {
    let record: serde_json::Value = match std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(record) => record,
        Err(e) => return vec![format!("cannot read {}: {e}", path.display())],
    };
    let mut problems = Vec::new();
    let results = record["report"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut seen = Vec::new();
    for result in &results {
        let transport = result["transport"].as_str().unwrap_or("?");
        let case = result["case"].as_str().unwrap_or("?");
        let detail = result["detail"].as_str().unwrap_or("");
        if !TRANSPORTS.contains(&transport) || !CASES.contains(&case) {
            problems.push(format!(
                "{transport} {case}: not a case this test knows; update TRANSPORTS/CASES"
            ));
        } else if result["pass"] != serde_json::Value::Bool(true) {
            problems.push(format!("{transport} {case}: FAIL: {detail}"));
        }
        seen.push((transport.to_string(), case.to_string()));
    }
    for transport in TRANSPORTS {
        for case in CASES {
            let runs = seen
                .iter()
                .filter(|(t, c)| t == transport && c == case)
                .count();
            if runs != 1 {
                problems.push(format!("{transport} {case}: ran {runs} times, not once"));
            }
        }
        let length = &record["report"]["unaryPayloadLength"][transport];
        if length.as_u64() != Some(UNARY_RESPONSE_SIZE) {
            problems.push(format!(
                "{transport}: unary reply payload length {length}, not {UNARY_RESPONSE_SIZE}"
            ));
        }
    }
    if record["preflights"].as_array().is_none_or(Vec::is_empty) {
        problems.push("Chromium sent no CORS preflight".into());
    }
    for problem in record["problems"].as_array().into_iter().flatten() {
        problems.push(format!("driver: {}", problem.as_str().unwrap_or("?")));
    }
    if record["ok"] != serde_json::Value::Bool(true) && problems.is_empty() {
        problems.push("results.json is not ok, for no reason found here".into());
    }
    problems
}

/// Checks that every pixel of [`BANNER_BLOCK`] of the PNG at `path` is
/// [`GREEN`].
fn check_banner(path: &Path) -> Result<(), String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    banner_is_green(std::io::BufReader::new(file))
}

fn banner_is_green(png_bytes: impl std::io::BufRead + std::io::Seek) -> Result<(), String> {
    let mut decoder = png::Decoder::new(png_bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let mut pixels = vec![0; reader.output_buffer_size().ok_or("PNG too large")?];
    let frame = reader
        .next_frame(&mut pixels)
        .map_err(|e| format!("cannot decode: {e}"))?;
    let channels = match frame.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => return Err(format!("unexpected colour type {other:?}")),
    };
    let (xs, ys) = BANNER_BLOCK;
    if frame.width < xs.end || frame.height < ys.end {
        return Err(format!(
            "{}x{} is smaller than the banner block",
            frame.width, frame.height
        ));
    }
    let mut off = 0usize;
    let mut first = None;
    for y in ys.clone() {
        for x in xs.clone() {
            let at = y as usize * frame.line_size + x as usize * channels;
            let rgb = [pixels[at], pixels[at + 1], pixels[at + 2]];
            if rgb != GREEN {
                off += 1;
                first.get_or_insert((x, y, rgb));
            }
        }
    }
    match first {
        None => Ok(()),
        Some((x, y, [r, g, b])) => Err(format!(
            "{off} pixel(s) of the banner block (x {xs:?}, y {ys:?}) are not #00c000; \
             the first, at ({x}, {y}), is #{r:02x}{g:02x}{b:02x} (#c00000: a case failed, \
             #808080: the page never finished)"
        )),
    }
}

/// The banner check itself can fail: a red banner, a stray pixel and a
/// screenshot too small are all caught.
#[test]
fn banner_check_rejects_what_is_not_a_green_banner() {
    fn image(
        width: u32,
        height: u32,
        paint: impl Fn(u32, u32) -> [u8; 3],
    ) -> std::io::Cursor<Vec<u8>> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("header");
        let data: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .flat_map(|(x, y)| paint(x, y))
            .collect();
        writer.write_image_data(&data).expect("data");
        writer.finish().expect("finish");
        std::io::Cursor::new(bytes)
    }
    let banner = |x: u32, y: u32| if x < 200 && y < 120 { GREEN } else { [0xff; 3] };
    assert_eq!(banner_is_green(image(400, 300, banner)), Ok(()));
    let red = banner_is_green(image(400, 300, |_, _| [0xc0, 0, 0])).unwrap_err();
    assert!(red.contains("#c00000"), "{red}");
    let stray = banner_is_green(image(400, 300, |x, y| {
        if (x, y) == (100, 60) {
            [0, 0xbf, 0]
        } else {
            banner(x, y)
        }
    }))
    .unwrap_err();
    assert!(
        stray.starts_with("1 pixel(s)") && stray.contains("(100, 60)"),
        "{stray}"
    );
    let small = banner_is_green(image(100, 100, banner)).unwrap_err();
    assert!(small.contains("smaller"), "{small}");
}
