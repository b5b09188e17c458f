//! A soak test of one server: `soak server` serves `route.Route` (all four
//! call kinds, no state kept between calls) and writes a sample of its own
//! RSS, open file descriptors and live tokio tasks every second; `soak
//! client` drives mixed calls at it — all four kinds, gzip or none, some
//! with deadlines that expire, some cancelled by the client midway — and
//! fails on any status other than OK, DEADLINE_EXCEEDED or CANCELLED.
//! `scripts/soak.sh` runs the pair and checks that the samples come back
//! to their baseline.
//!
//! ```text
//! soak server --port=0 --samples=FILE         # prints "listening on ADDR"
//! soak client --target=http://ADDR --calls=N --concurrency=64 [--seed=S]
//! ```

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use protocall::compression::Encoding;
use protocall::{Code, Request, Response, Server, Status, Streaming};
use protocall_examples::route::route_client::RouteClient;
use protocall_examples::route::route_server::{Route, RouteServer};
use protocall_examples::route::{Feature, Point, Rectangle, RouteNote, RouteSummary};
use tokio_stream::{Stream, StreamExt};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Answers every kind without keeping anything between calls.
struct Soak;

impl Route for Soak {
    async fn get_feature(&self, request: Request<Point>) -> Result<Response<Feature>, Status> {
        Ok(Response::new(Feature {
            name: "soak".into(),
            location: Some(request.into_inner()),
            ..Default::default()
        }))
    }

    type ListFeaturesStream = BoxStream<Feature>;

    async fn list_features(
        &self,
        request: Request<Rectangle>,
    ) -> Result<Response<Self::ListFeaturesStream>, Status> {
        let count = request.get_ref().hi().latitude.clamp(0, 64);
        let features = (0..count).map(|i| {
            Ok(Feature {
                name: format!("feature {i}"),
                ..Default::default()
            })
        });
        // A little pause per message, so cancels and deadlines land midway.
        let stream =
            tokio_stream::iter(features.collect::<Vec<_>>()).throttle(Duration::from_micros(200));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn record_route(
        &self,
        request: Request<Streaming<Point>>,
    ) -> Result<Response<RouteSummary>, Status> {
        let mut points = request.into_inner();
        let mut summary = RouteSummary::default();
        while points.message().await?.is_some() {
            summary.point_count += 1;
        }
        Ok(Response::new(summary))
    }

    type RouteChatStream = BoxStream<RouteNote>;

    async fn route_chat(
        &self,
        request: Request<Streaming<RouteNote>>,
    ) -> Result<Response<Self::RouteChatStream>, Status> {
        // Echo each note back as it arrives.
        Ok(Response::new(Box::pin(request.into_inner())))
    }
}

fn flag<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let flags = protocall_examples::flags::parse(args)?;
    match mode.as_str() {
        "server" => serve(&flags).await,
        "client" => drive(&flags).await,
        _ => Err("usage: soak server --port=P --samples=FILE | soak client --target=URI --calls=N --concurrency=C".into()),
    }
}

async fn serve(flags: &[(String, String)]) -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = flag(flags, "port").unwrap_or("0").parse()?;
    let samples = flag(flags, "samples").ok_or("--samples=FILE is required")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut out = std::fs::File::create(samples)?;
    tokio::spawn(async move {
        use std::io::Write;
        let started = std::time::Instant::now();
        let _ = writeln!(out, "seconds\trss_kib\tfds\ttasks");
        loop {
            let tasks = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}",
                started.elapsed().as_secs(),
                rss_kib(),
                open_fds(),
                tasks
            );
            let _ = out.flush();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut server = Server::builder();
    if let Some(limit) = flag(flags, "max_pending_accept_reset_streams") {
        server = server.max_pending_accept_reset_streams(limit.parse()?);
    }
    if let Some(limit) = flag(flags, "max_local_error_reset_streams") {
        server = server.max_local_error_reset_streams(limit.parse()?);
    }
    server
        .add_service(RouteServer::new(Soak))
        .serve_with_listener(listener, std::future::pending())
        .await?;
    Ok(())
}

/// The resident set of this process, from `/proc/self/status`.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// A small deterministic generator (xorshift64*), so a run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the calls ended with.
#[derive(Default)]
struct Outcomes {
    ok: AtomicU64,
    deadline: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
}

async fn drive(flags: &[(String, String)]) -> Result<(), Box<dyn std::error::Error>> {
    let target = flag(flags, "target").ok_or("--target=URI is required")?;
    let calls: u64 = flag(flags, "calls").unwrap_or("10000").parse()?;
    let concurrency: u64 = flag(flags, "concurrency").unwrap_or("64").parse()?;
    let seed: u64 = flag(flags, "seed").unwrap_or("1").parse()?;
    let channel = protocall::Channel::connect(target).await?;
    let plain = RouteClient::new(channel.clone());
    let gzip = RouteClient::new(channel).send_compressed(Encoding::Gzip);
    let next = Arc::new(AtomicU64::new(0));
    let outcomes = Arc::new(Outcomes::default());
    let workers = (0..concurrency).map(|worker| {
        let (plain, gzip) = (plain.clone(), gzip.clone());
        let (next, outcomes) = (next.clone(), outcomes.clone());
        tokio::spawn(async move {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (worker + 1));
            while next.fetch_add(1, Ordering::Relaxed) < calls {
                let client = if rng.below(2) == 0 { &plain } else { &gzip };
                let result = one_call(client, &mut rng).await;
                let counter = match result {
                    Ok(()) => &outcomes.ok,
                    Err(Code::DeadlineExceeded) => &outcomes.deadline,
                    Err(Code::Cancelled) => &outcomes.cancelled,
                    Err(_) => &outcomes.failed,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
    });
    for worker in workers.collect::<Vec<_>>() {
        worker.await?;
    }
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    println!(
        "{{\"ok\": {}, \"deadline_exceeded\": {}, \"cancelled\": {}, \"failed\": {}}}",
        load(&outcomes.ok),
        load(&outcomes.deadline),
        load(&outcomes.cancelled),
        load(&outcomes.failed)
    );
    if load(&outcomes.failed) > 0 {
        return Err("some calls failed".into());
    }
    Ok(())
}

/// One random call: kind, deadline (1 in 10 too short to finish) and
/// client cancel (1 in 20: dropped midway) chosen by `rng`.
async fn one_call(client: &RouteClient, rng: &mut Rng) -> Result<(), Code> {
    one_call_status(client, rng).await.map_err(|status| {
        if !matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled) {
            eprintln!("call failed: {status}");
        }
        status.code()
    })
}

async fn one_call_status(client: &RouteClient, rng: &mut Rng) -> Result<(), Status> {
    let kind = rng.below(4);
    let timeout = match rng.below(10) {
        0 => Duration::from_micros(200 + rng.below(2_000)),
        _ => Duration::from_secs(10),
    };
    let cancel_after = (rng.below(20) == 0).then(|| Duration::from_micros(rng.below(3_000)));
    let messages = 1 + rng.below(16) as i32;
    let call = async move {
        match kind {
            0 => {
                let mut request = Request::new(Point::default());
                request.set_timeout(timeout);
                client.get_feature(request).await.map(drop)
            }
            1 => {
                let mut request = Request::new(Rectangle {
                    hi: Some(Point {
                        latitude: messages,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                request.set_timeout(timeout);
                let mut stream = client.list_features(request).await?.into_inner();
                while stream.message().await?.is_some() {}
                Ok(())
            }
            2 => {
                let points = tokio_stream::iter((0..messages).map(|_| Point::default()));
                let mut request = Request::new(points);
                request.set_timeout(timeout);
                client.record_route(request).await.map(drop)
            }
            _ => {
                let notes = (0..messages).map(|i| RouteNote {
                    message: format!("note {i}"),
                    ..Default::default()
                });
                let mut request = Request::new(tokio_stream::iter(notes.collect::<Vec<_>>()));
                request.set_timeout(timeout);
                let mut replies = client.route_chat(request).await?.into_inner();
                while replies.message().await?.is_some() {}
                Ok(())
            }
        }
    };
    match cancel_after {
        // Dropping the call future cancels it (RST_STREAM CANCEL).
        Some(after) => match tokio::time::timeout(after, call).await {
            Ok(result) => result,
            Err(_) => Err(Status::cancelled("cancelled by the client")),
        },
        None => call.await,
    }
}
