//! A small gRPC load generator over raw h2 (so neither server's client code
//! is involved) that reports latency percentiles, which h2load does not.
//!
//! ```text
//! grpc_load write-requests DIR
//!     writes DIR/getuser.bin, DIR/echo.bin, DIR/stream.bin: the request
//!     bodies (5-byte gRPC prefix + message) for h2load -d
//! grpc_load run PORT SCENARIO [-c CONNS] [-m STREAMS] [-D SECS | -n CALLS]
//!     calls SCENARIO (getuser, echo, stream) on 127.0.0.1:PORT with CONNS
//!     connections of STREAMS concurrent calls each (default 50 × 10),
//!     for SECS seconds (default 5) or CALLS calls in all, then prints
//!     one line of key=value pairs:
//!     calls errors secs rps msgs p50_us p90_us p99_us mean_us max_us
//! ```
//!
//! One thread (a current-thread tokio runtime), like `h2load -t1`. A call
//! counts as an error unless it ends with `grpc-status: 0` and brought
//! the scenario's number of response messages; latency is from sending the
//! request headers to receiving the trailers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocall_benches::grpc::Scenario;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// When the workers stop starting calls.
#[derive(Clone, Copy)]
enum Limit {
    Until(Instant),
    Calls(u64),
}

struct Settings {
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

/// One call: returns the response messages on `grpc-status: 0`.
async fn call(
    client: &mut h2::client::SendRequest<Bytes>,
    settings: &Settings,
) -> Result<u64, BoxError> {
    let request = http::Request::builder()
        .method(http::Method::POST)
        .uri(settings.uri.clone())
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers")
        .body(())?;
    let (response, mut send) = client.send_request(request, false)?;
    send.send_data(settings.body.clone(), true)?;
    let response = response.await?;
    let (parts, mut body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        return Err(format!("HTTP status {}", parts.status).into());
    }
    let mut status = parts.headers.get("grpc-status").cloned();
    let mut frames = FrameCounter::default();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        frames.feed(&chunk);
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    if let Some(trailers) = body.trailers().await? {
        status = trailers.get("grpc-status").cloned().or(status);
    }
    match status {
        Some(status) if status == "0" => Ok(frames.messages),
        Some(status) => Err(format!("grpc-status {status:?}").into()),
        None => Err("no grpc-status".into()),
    }
}

async fn worker(client: h2::client::SendRequest<Bytes>, settings: Arc<Settings>) -> Tally {
    let mut tally = Tally::default();
    let mut client = match client.ready().await {
        Ok(client) => client,
        Err(error) => {
            tally.errors += 1;
            tally.first_error = Some(error.to_string());
            return tally;
        }
    };
    while settings.may_start() {
        let start = Instant::now();
        let result = call(&mut client, &settings).await;
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
                if client.clone().ready().await.is_err() {
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
}

async fn run(args: RunArgs) -> Result<bool, BoxError> {
    let uri: http::Uri =
        format!("http://127.0.0.1:{}{}", args.port, args.scenario.path()).parse()?;
    let mut clients = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        clients.push(connect(args.port).await?);
    }
    let start = Instant::now();
    let limit = match args.limit_calls {
        Some(n) => Limit::Calls(n),
        None => Limit::Until(start + Duration::from_secs_f64(args.limit_secs)),
    };
    let settings = Arc::new(Settings {
        uri,
        body: Bytes::from(args.scenario.body()),
        messages: args.scenario.messages_per_call(),
        limit,
        started: AtomicU64::new(0),
    });
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
        "calls={calls} errors={} secs={secs:.3} rps={:.1} msgs={} p50_us={} p90_us={} p99_us={} mean_us={mean:.0} max_us={}",
        all.errors,
        calls as f64 / secs,
        all.messages,
        quantile(&latencies, 0.50),
        quantile(&latencies, 0.90),
        quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
    );
    if let Some(error) = all.first_error {
        eprintln!("grpc_load: {} failed calls, first: {error}", all.errors);
    }
    Ok(all.errors == 0)
}

fn usage() -> ! {
    eprintln!(
        "usage: grpc_load write-requests DIR\n       \
         grpc_load run PORT getuser|echo|stream [-c CONNS] [-m STREAMS] [-D SECS | -n CALLS]"
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
            };
            let mut rest = args[3..].iter();
            while let Some(flag) = rest.next() {
                match flag.as_str() {
                    "-c" => run_args.connections = parse(rest.next()),
                    "-m" => run_args.streams = parse(rest.next()),
                    "-D" => run_args.limit_secs = parse(rest.next()),
                    "-n" => run_args.limit_calls = Some(parse(rest.next())),
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
