//! A small gRPC load generator that reports latency percentiles, which
//! h2load does not, and its own CPU time per call. By default it speaks raw
//! h2 (so no framework's client code is involved); `--client protocall` or
//! `--client tonic` makes the same calls through that framework's generated
//! client instead, for the client benchmark (`scripts/bench-grpc-client.sh`).
//!
//! ```text
//! grpc_load write-requests DIR
//!     writes DIR/getuser.bin, DIR/echo.bin, DIR/stream.bin: the request
//!     bodies (5-byte gRPC prefix + message) for h2load -d
//! grpc_load probe PORT SCENARIO
//!     makes one call over raw h2 and prints the reply, one `key=value`
//!     per line: HTTP status, content-type, grpc-status, message count and
//!     the body bytes in hex, so that two servers' answers can be compared
//! grpc_load run PORT SCENARIO [-c CONNS] [-m STREAMS] [-D SECS | -n CALLS]
//!               [--client raw|protocall|tonic]
//!     calls SCENARIO (getuser, echo, stream) on 127.0.0.1:PORT with CONNS
//!     connections of STREAMS concurrent calls each (default 50 × 10),
//!     for SECS seconds (default 5) or CALLS calls in all, then prints
//!     one line of key=value pairs:
//!     calls errors secs rps msgs p50_us p90_us p99_us mean_us max_us cpu_us
//!     (cpu_us: this process's CPU time per call while the calls ran)
//! ```
//!
//! One thread (a current-thread tokio runtime), like `h2load -t1`. A call
//! counts as an error unless it ends with `grpc-status: 0` and brought
//! the scenario's number of response messages (and, through a framework's
//! client, the expected reply); latency is from starting the call to
//! receiving the trailers. Every connection has 1 MiB stream and 2 MiB
//! connection windows and TCP_NODELAY, whichever client makes it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocall_benches::grpc::{ECHO_SIZE, STREAM_COUNT, STREAM_SIZE, Scenario, pc, tn};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// When the workers stop starting calls.
#[derive(Clone, Copy)]
enum Limit {
    Until(Instant),
    Calls(u64),
}

struct Settings {
    scenario: Scenario,
    uri: http::Uri,
    body: Bytes,
    messages: u64,
    limit: Limit,
    started: AtomicU64,
}

impl Settings {
    fn may_start(&self) -> bool {
        match self.limit {
            Limit::Until(deadline) => Instant::now() < deadline,
            Limit::Calls(n) => self.started.fetch_add(1, Ordering::Relaxed) < n,
        }
    }
}

/// What one worker (one stream slot) measured.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    messages: u64,
    first_error: Option<String>,
}

/// Counts gRPC messages in a response body split into arbitrary chunks.
#[derive(Default)]
struct FrameCounter {
    header: [u8; 5],
    have: usize,
    skip: usize,
    messages: u64,
}

impl FrameCounter {
    fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let n = (5 - self.have).min(data.len());
            self.header[self.have..self.have + n].copy_from_slice(&data[..n]);
            self.have += n;
            data = &data[n..];
            if self.have == 5 {
                self.messages += 1;
                let len = [
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ];
                self.skip = u32::from_be_bytes(len) as usize;
                self.have = 0;
            }
        }
    }
}

/// Whose client code makes the calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    Raw,
    Protocall,
    Tonic,
}

/// One connection, as the chosen client holds it (each clone shares it).
#[derive(Clone)]
enum Client {
    Raw(h2::client::SendRequest<Bytes>),
    Protocall(pc::bench_client::BenchClient),
    Tonic(tn::bench_client::BenchClient<tonic::transport::Channel>),
}

impl Client {
    async fn connect(kind: ClientKind, port: u16) -> Result<Client, BoxError> {
        let uri = format!("http://127.0.0.1:{port}");
        Ok(match kind {
            ClientKind::Raw => Client::Raw(connect(port).await?),
            ClientKind::Protocall => {
                let channel = protocall::client::Endpoint::new(&uri)?
                    .initial_stream_window_size(1 << 20)
                    .initial_connection_window_size(2 << 20)
                    .connect()
                    .await?;
                Client::Protocall(pc::bench_client::BenchClient::new(channel))
            }
            ClientKind::Tonic => {
                let channel = tonic::transport::Endpoint::from_shared(uri)?
                    .tcp_nodelay(true)
                    .initial_stream_window_size(1 << 20)
                    .initial_connection_window_size(2 << 20)
                    .connect()
                    .await?;
                Client::Tonic(tn::bench_client::BenchClient::new(channel))
            }
        })
    }

    /// Makes one call; returns the response messages on `grpc-status: 0`.
    async fn call(&mut self, settings: &Settings) -> Result<u64, BoxError> {
        match self {
            Client::Raw(client) => raw_call(client, settings).await,
            Client::Protocall(client) => protocall_call(client, settings.scenario).await,
            Client::Tonic(client) => tonic_call(client, settings.scenario).await,
        }
    }

    /// Whether the connection still takes calls (after a failed one).
    async fn alive(&self) -> bool {
        match self {
            Client::Raw(client) => client.clone().ready().await.is_ok(),
            // Both channels reconnect on their own.
            Client::Protocall(_) | Client::Tonic(_) => true,
        }
    }
}

/// The echo scenario's payload, as `Scenario::body` sends it: made once,
/// cloned per call, so its making is not counted as the client's work.
fn echo_payload() -> Vec<u8> {
    static PAYLOAD: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PAYLOAD
        .get_or_init(|| (0..ECHO_SIZE).map(|i| (i % 251) as u8).collect())
        .clone()
}

async fn protocall_call(
    client: &pc::bench_client::BenchClient,
    scenario: Scenario,
) -> Result<u64, BoxError> {
    match scenario {
        Scenario::GetUser => {
            let reply = client
                .get_user(pc::GetUserRequest {
                    id: 42,
                    ..Default::default()
                })
                .await?;
            expect(reply.get_ref().id == 42, "GetUser: wrong id")?;
            Ok(1)
        }
        Scenario::Echo => {
            let reply = client
                .echo(pc::EchoMessage {
                    payload: echo_payload(),
                    ..Default::default()
                })
                .await?;
            expect(
                reply.get_ref().payload.len() == ECHO_SIZE,
                "Echo: wrong payload",
            )?;
            Ok(1)
        }
        Scenario::Stream => {
            let request = pc::StreamRequest {
                count: STREAM_COUNT,
                size: STREAM_SIZE,
                ..Default::default()
            };
            let mut stream = client.stream(request).await?.into_inner();
            let mut messages = 0;
            while let Some(item) = stream.message().await? {
                expect(
                    item.payload.len() == STREAM_SIZE as usize,
                    "Stream: wrong item",
                )?;
                messages += 1;
            }
            Ok(messages)
        }
    }
}

async fn tonic_call(
    client: &mut tn::bench_client::BenchClient<tonic::transport::Channel>,
    scenario: Scenario,
) -> Result<u64, BoxError> {
    match scenario {
        Scenario::GetUser => {
            let reply = client.get_user(tn::GetUserRequest { id: 42 }).await?;
            expect(reply.get_ref().id == 42, "GetUser: wrong id")?;
            Ok(1)
        }
        Scenario::Echo => {
            let reply = client
                .echo(tn::EchoMessage {
                    payload: echo_payload(),
                })
                .await?;
            expect(
                reply.get_ref().payload.len() == ECHO_SIZE,
                "Echo: wrong payload",
            )?;
            Ok(1)
        }
        Scenario::Stream => {
            let request = tn::StreamRequest {
                count: STREAM_COUNT,
                size: STREAM_SIZE,
            };
            let mut stream = client.stream(request).await?.into_inner();
            let mut messages = 0;
            while let Some(item) = stream.message().await? {
                expect(
                    item.payload.len() == STREAM_SIZE as usize,
                    "Stream: wrong item",
                )?;
                messages += 1;
            }
            Ok(messages)
        }
    }
}

fn expect(ok: bool, what: &'static str) -> Result<(), BoxError> {
    if ok { Ok(()) } else { Err(what.into()) }
}

/// One call over raw h2: returns the response messages on `grpc-status: 0`.
async fn raw_call(
    client: &mut h2::client::SendRequest<Bytes>,
    settings: &Settings,
) -> Result<u64, BoxError> {
    let reply = raw_exchange(client, settings, |chunk, frames| frames.feed(chunk)).await?;
    match reply.status {
        Some(status) if status == "0" => Ok(reply.messages),
        Some(status) => Err(format!("grpc-status {status:?}").into()),
        None => Err("no grpc-status".into()),
    }
}

/// What came back on one raw call.
struct RawReply {
    head: http::response::Parts,
    status: Option<http::HeaderValue>,
    messages: u64,
}

/// Sends the scenario's request over raw h2 and reads the whole reply,
/// handing each DATA chunk to `on_chunk`.
async fn raw_exchange(
    client: &mut h2::client::SendRequest<Bytes>,
    settings: &Settings,
    mut on_chunk: impl FnMut(&[u8], &mut FrameCounter),
) -> Result<RawReply, BoxError> {
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(settings.uri.clone())
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .body(())?;
    let (response, mut send) = client.send_request(request, false)?;
    send.send_data(settings.body.clone(), true)?;
    let response = response.await?;
    let (head, mut body) = response.into_parts();
    if head.status != http::StatusCode::OK {
        return Err(format!("HTTP status {}", head.status).into());
    }
    let mut status = head.headers.get("grpc-status").cloned();
    let mut frames = FrameCounter::default();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        on_chunk(&chunk, &mut frames);
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    if let Some(trailers) = body.trailers().await? {
        status = trailers.get("grpc-status").cloned().or(status);
    }
    Ok(RawReply {
        head,
        status,
        messages: frames.messages,
    })
}

async fn worker(client: Client, settings: Arc<Settings>) -> Tally {
    let mut tally = Tally::default();
    let mut client = match client {
        Client::Raw(raw) => match raw.ready().await {
            Ok(raw) => Client::Raw(raw),
            Err(error) => {
                tally.errors += 1;
                tally.first_error = Some(error.to_string());
                return tally;
            }
        },
        other => other,
    };
    while settings.may_start() {
        let start = Instant::now();
        let result = client.call(&settings).await;
        let elapsed = start.elapsed();
        match result {
            Ok(messages) if messages == settings.messages => {
                tally.messages += messages;
                tally
                    .latencies_us
                    .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
            }
            Ok(messages) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| {
                    format!("{messages} messages, expected {}", settings.messages)
                });
            }
            Err(error) => {
                tally.errors += 1;
                tally.first_error.get_or_insert_with(|| error.to_string());
                if !client.alive().await {
                    break; // the connection is gone
                }
            }
        }
    }
    tally
}

async fn connect(port: u16) -> Result<h2::client::SendRequest<Bytes>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.set_nodelay(true)?;
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(2 << 20)
        .max_concurrent_streams(1024)
        .handshake::<_, Bytes>(tcp)
        .await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// `grpc_load probe`: one raw call, its reply printed for comparison.
async fn probe(port: u16, scenario: Scenario) -> Result<(), BoxError> {
    let mut client = connect(port).await?.ready().await?;
    let settings = Settings::new(port, scenario, Limit::Calls(1))?;
    let mut body = Vec::new();
    let reply = raw_exchange(&mut client, &settings, |chunk, frames| {
        frames.feed(chunk);
        body.extend_from_slice(chunk);
    })
    .await?;
    let header = |name: &str| {
        reply
            .head
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    println!("status={}", reply.head.status);
    println!("content-type={:?}", header("content-type"));
    println!("grpc-status={:?}", reply.status);
    println!("messages={}", reply.messages);
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    println!("body={hex}");
    Ok(())
}

/// This process's CPU time (user + system), in microseconds.
fn cpu_time_us() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return f64::NAN;
    }
    now.tv_sec as f64 * 1e6 + now.tv_nsec as f64 / 1e3
}

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

struct RunArgs {
    port: u16,
    scenario: Scenario,
    connections: usize,
    streams: usize,
    limit_secs: f64,
    limit_calls: Option<u64>,
    client: ClientKind,
}

impl Settings {
    fn new(port: u16, scenario: Scenario, limit: Limit) -> Result<Settings, BoxError> {
        Ok(Settings {
            scenario,
            uri: format!("http://127.0.0.1:{port}{}", scenario.path()).parse()?,
            body: Bytes::from(scenario.body()),
            messages: scenario.messages_per_call(),
            limit,
            started: AtomicU64::new(0),
        })
    }
}

async fn run(args: RunArgs) -> Result<bool, BoxError> {
    let mut clients = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        clients.push(Client::connect(args.client, args.port).await?);
    }
    let start = Instant::now();
    let cpu_start = cpu_time_us();
    let limit = match args.limit_calls {
        Some(n) => Limit::Calls(n),
        None => Limit::Until(start + Duration::from_secs_f64(args.limit_secs)),
    };
    let settings = Arc::new(Settings::new(args.port, args.scenario, limit)?);
    let mut tasks = Vec::with_capacity(args.connections * args.streams);
    for client in &clients {
        for _ in 0..args.streams {
            tasks.push(tokio::spawn(worker(client.clone(), Arc::clone(&settings))));
        }
    }
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await?;
        all.latencies_us.extend_from_slice(&tally.latencies_us);
        all.errors += tally.errors;
        all.messages += tally.messages;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu_us = cpu_time_us() - cpu_start;
    drop(clients);

    let mut latencies = all.latencies_us;
    latencies.sort_unstable();
    let calls = latencies.len() as u64;
    let mean = if calls == 0 {
        0.0
    } else {
        latencies.iter().map(|&l| f64::from(l)).sum::<f64>() / calls as f64
    };
    println!(
        "calls={calls} errors={} secs={secs:.3} rps={:.1} msgs={} p50_us={} p90_us={} p99_us={} mean_us={mean:.0} max_us={} cpu_us={:.2}",
        all.errors,
        calls as f64 / secs,
        all.messages,
        quantile(&latencies, 0.50),
        quantile(&latencies, 0.90),
        quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        if calls == 0 {
            f64::NAN
        } else {
            cpu_us / calls as f64
        },
    );
    if let Some(error) = all.first_error {
        eprintln!("grpc_load: {} failed calls, first: {error}", all.errors);
    }
    Ok(all.errors == 0)
}

fn usage() -> ! {
    eprintln!(
        "usage: grpc_load write-requests DIR\n       \
         grpc_load probe PORT getuser|echo|stream\n       \
         grpc_load run PORT getuser|echo|stream [-c CONNS] [-m STREAMS] [-D SECS | -n CALLS] \
         [--client raw|protocall|tonic]"
    );
    std::process::exit(2);
}

fn parse<T: std::str::FromStr>(value: Option<&String>) -> T {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| usage())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("write-requests") => {
            let dir = std::path::PathBuf::from(args.get(1).unwrap_or_else(|| usage()));
            std::fs::create_dir_all(&dir)?;
            for scenario in Scenario::ALL {
                std::fs::write(
                    dir.join(format!("{}.bin", scenario.name())),
                    scenario.body(),
                )?;
            }
            Ok(())
        }
        Some("probe") => {
            let port = parse(args.get(1));
            let scenario = args
                .get(2)
                .and_then(|s| Scenario::from_name(s))
                .unwrap_or_else(|| usage());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(probe(port, scenario))
        }
        Some("run") => {
            let mut run_args = RunArgs {
                port: parse(args.get(1)),
                scenario: args
                    .get(2)
                    .and_then(|s| Scenario::from_name(s))
                    .unwrap_or_else(|| usage()),
                connections: 50,
                streams: 10,
                limit_secs: 5.0,
                limit_calls: None,
                client: ClientKind::Raw,
            };
            let mut rest = args[3..].iter();
            while let Some(flag) = rest.next() {
                match flag.as_str() {
                    "-c" => run_args.connections = parse(rest.next()),
                    "-m" => run_args.streams = parse(rest.next()),
                    "-D" => run_args.limit_secs = parse(rest.next()),
                    "-n" => run_args.limit_calls = Some(parse(rest.next())),
                    "--client" => {
                        run_args.client = match rest.next().map(String::as_str) {
                            Some("raw") => ClientKind::Raw,
                            Some("protocall") => ClientKind::Protocall,
                            Some("tonic") => ClientKind::Tonic,
                            _ => usage(),
                        }
                    }
                    _ => usage(),
                }
            }
            if run_args.connections == 0 || run_args.streams == 0 {
                usage();
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let ok = runtime.block_on(run(run_args))?;
            if !ok {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => usage(),
    }
}
