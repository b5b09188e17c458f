//! A client that runs a fleet: targets, load balancing, resolution that
//! changes, wait-for-ready, retries, hedging and throttling (gRFC A6), with
//! real processes on loopback (the interop server on 127.0.0.1-3, the
//! `fleet-client` example) and with in-process backends whose faults a
//! test controls. Every run is bounded in time and stops what it starts.

#[path = "support/peers.rs"]
mod peers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use peers::{Server, build_binaries, run_client};
use protocall::client::{
    ConnectivityState, Endpoint, Grpc, ManualResolver, Resolution, ServiceConfig,
};
use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unary, unimplemented};
use protocall::types::StringValue;
use protocall::{Code, Request, Response, Status};

// ------------------------------------------------------------ processes

struct Fleet {
    servers: Vec<Option<Server>>,
}

fn fleet_binaries() -> &'static [std::path::PathBuf; 2] {
    static BUILT: std::sync::OnceLock<[std::path::PathBuf; 2]> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        build_binaries("protocall-examples", ["interop-server", "fleet-client"])
            .unwrap_or_else(|e| panic!("building the fleet binaries: {e}"))
    })
}

impl Fleet {
    /// `n` interop servers, server `i` on 127.0.0.`i+1` with id `s{i+1}`.
    fn start(n: usize) -> Fleet {
        let servers = (1..=n)
            .map(|i| {
                let mut command = Command::new(&fleet_binaries()[0]);
                command.args([format!("--host=127.0.0.{i}"), format!("--server_id=s{i}")]);
                Some(Server::start(&format!("interop-server s{i}"), command))
            })
            .collect();
        Fleet { servers }
    }

    fn target(&self) -> String {
        let addresses: Vec<String> = self
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| format!("127.0.0.{}:{}", i + 1, s.as_ref().expect("running").port))
            .collect();
        format!("ipv4:{}", addresses.join(","))
    }

    fn kill(&mut self, i: usize) {
        drop(self.servers[i].take());
    }
}

/// What `fleet-client` printed.
#[derive(Debug)]
struct Tally {
    ok: u64,
    failed: BTreeMap<String, u64>,
    by_server: BTreeMap<String, u64>,
    /// Everything the client printed (failed calls in full), shown by
    /// `Debug` when an assertion fails.
    #[allow(dead_code)]
    output: String,
}

fn fleet_client(
    target: &str,
    service_config: Option<&str>,
    calls: usize,
    concurrency: usize,
) -> Command {
    let mut command = Command::new(&fleet_binaries()[1]);
    command.args([
        format!("--target={target}"),
        format!("--calls={calls}"),
        format!("--concurrency={concurrency}"),
    ]);
    if let Some(config) = service_config {
        command.arg(format!("--service_config={config}"));
    }
    command
}

fn read_tally(output: &str) -> Tally {
    // The tally is the last line on stdout; failed calls are on stderr.
    let line = output
        .lines()
        .rfind(|l| l.starts_with('{'))
        .unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{e}: fleet-client printed {output:?}"));
    let counts = |key: &str| -> BTreeMap<String, u64> {
        json[key]
            .as_object()
            .unwrap_or_else(|| panic!("no {key:?} in {line}"))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().expect("a count")))
            .collect()
    };
    Tally {
        ok: json["ok"].as_u64().expect("ok count"),
        failed: counts("failed"),
        by_server: counts("by_server"),
        output: output.to_string(),
    }
}

const ROUND_ROBIN: &str = r#"{"loadBalancingConfig": [{"round_robin": {}}]}"#;

const RETRY_UNAVAILABLE: &str = r#"{
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": "grpc.testing.TestService"}],
        "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}
    }]
}"#;

#[test]
fn round_robin_spreads_3000_calls_over_3_backends_within_ten_percent() {
    let fleet = Fleet::start(3);
    let output = run_client(fleet_client(&fleet.target(), Some(ROUND_ROBIN), 3000, 8)).unwrap();
    let tally = read_tally(&output);
    assert_eq!((tally.ok, tally.failed.len()), (3000, 0), "{output}");
    assert_eq!(tally.by_server.len(), 3, "{output}");
    for (server, calls) in &tally.by_server {
        assert!(
            (900..=1100).contains(calls),
            "{server} got {calls} of 3000: {output}"
        );
    }
    // pick_first, the default: every call to the first address.
    let output = run_client(fleet_client(&fleet.target(), None, 300, 4)).unwrap();
    let tally = read_tally(&output);
    assert_eq!(
        tally.by_server,
        BTreeMap::from([("s1".to_owned(), 300)]),
        "{output}"
    );
}

/// Calls in a run with a kill: a few seconds' worth (well inside the
/// client's 30 s bound on a loaded CI machine).
const CALLS: usize = 30_000;

/// Runs `fleet-client` while the second backend is killed under it.
fn kill_during_run(service_config: &str) -> Tally {
    let mut fleet = Fleet::start(3);
    let command = fleet_client(&fleet.target(), Some(service_config), CALLS, 16);
    let client = std::thread::spawn(move || run_client(command));
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        !client.is_finished(),
        "the run ended before the kill: make it longer"
    );
    fleet.kill(1);
    let output = client.join().unwrap().unwrap();
    read_tally(&output)
}

#[test]
fn a_backend_killed_mid_run_fails_no_call_with_retries_and_only_unavailable_without() {
    let with_retries = kill_during_run(RETRY_UNAVAILABLE);
    assert_eq!(with_retries.ok, CALLS as u64, "{with_retries:?}");
    assert!(with_retries.failed.is_empty(), "{with_retries:?}");
    assert!(
        with_retries.by_server["s2"] > 0,
        "s2 served before the kill: {with_retries:?}"
    );
    let without = kill_during_run(ROUND_ROBIN);
    for code in without.failed.keys() {
        assert_eq!(code, "UNAVAILABLE", "{without:?}");
    }
    let failed: u64 = without.failed.values().sum();
    assert_eq!(without.ok + failed, CALLS as u64, "{without:?}");
}

// ------------------------------------------------------------ in process

/// An in-process backend whose behaviour a test sets.
#[derive(Clone, Default)]
struct Backend {
    id: String,
    /// Calls seen, each with its `grpc-previous-rpc-attempts`.
    seen: Arc<Mutex<Vec<Option<String>>>>,
    /// The next this many calls fail with UNAVAILABLE.
    fail_next: Arc<AtomicUsize>,
    /// Every call fails with UNAVAILABLE, with this pushback (if any).
    always_fail: Arc<Mutex<Option<Option<String>>>>,
    /// Each call takes this long.
    delay: Arc<Mutex<Duration>>,
}

impl NamedService for Backend {
    const NAME: &'static str = "fleet.Backend";
}

impl GrpcService for Backend {
    fn call(&self, call: Call) -> ResponseFuture {
        let backend = self.clone();
        match call.method() {
            "Who" => unary(call, move |request: Request<StringValue>| async move {
                let attempts = request
                    .metadata()
                    .get("grpc-previous-rpc-attempts")
                    .map(str::to_owned);
                backend.seen.lock().unwrap().push(attempts);
                let delay = *backend.delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                let always = backend.always_fail.lock().unwrap().clone();
                if let Some(pushback) = always {
                    let mut status = Status::unavailable("always failing");
                    if let Some(ms) = pushback {
                        status
                            .metadata_mut()
                            .insert("grpc-retry-pushback-ms", &ms)
                            .unwrap();
                    }
                    return Err(status);
                }
                let failing = backend
                    .fail_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return Err(Status::unavailable("failing this once"));
                }
                Ok(Response::new(StringValue::from(backend.id.clone())))
            }),
            "Count" => protocall::server::client_streaming(
                call,
                move |request: Request<protocall::Streaming<StringValue>>| async move {
                    let attempts = request
                        .metadata()
                        .get("grpc-previous-rpc-attempts")
                        .map(str::to_owned);
                    backend.seen.lock().unwrap().push(attempts);
                    let failing = backend
                        .fail_next
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        // Before any response headers: the call may be retried.
                        return Err(Status::unavailable("failing this once"));
                    }
                    let mut messages = request.into_inner();
                    let mut count = 0;
                    while messages.message().await?.is_some() {
                        count += 1;
                    }
                    Ok(Response::new(StringValue::from(count.to_string())))
                },
            ),
            _ => unimplemented(call),
        }
    }
}

struct Running {
    addr: SocketAddr,
    backend: Backend,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves a backend `id` on `addr` with the router `serve` builds around it.
async fn serve_with(
    addr: SocketAddr,
    id: &str,
    serve: impl FnOnce(Backend) -> protocall::server::Router,
) -> Running {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = Backend {
        id: id.to_owned(),
        ..Default::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = serve(backend.clone());
    tokio::spawn(router.serve_with_listener(listener, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        backend,
        stop: Some(stop),
    }
}

async fn serve_on(addr: SocketAddr, id: &str) -> Running {
    serve_with(addr, id, |backend| {
        protocall::Server::builder().add_service(backend)
    })
    .await
}

async fn serve(ip: &str, id: &str) -> Running {
    serve_on(format!("{ip}:0").parse().unwrap(), id).await
}

async fn who(grpc: &Grpc, timeout: Duration) -> Result<String, Status> {
    let mut request = Request::new(StringValue::from("?"));
    request.set_timeout(timeout);
    let reply = grpc
        .unary::<_, StringValue>(request, "/fleet.Backend/Who")
        .await?;
    Ok(reply.into_inner().value)
}

fn endpoint_with(resolver: &ManualResolver, config: &str) -> Endpoint {
    Endpoint::new("dns:///fleet.test")
        .unwrap()
        .resolver(resolver.clone())
        .service_config(ServiceConfig::from_json(config).unwrap())
        .unwrap()
}

fn addresses(running: &[&Running]) -> Resolution {
    Resolution::addresses(running.iter().map(|r| r.addr))
}

#[tokio::test]
async fn a_backend_the_resolver_adds_receives_calls() {
    let (a, b) = (serve("127.0.0.1", "a").await, serve("127.0.0.2", "b").await);
    let resolver = ManualResolver::new(addresses(&[&a]));
    let grpc = Grpc::new(endpoint_with(&resolver, ROUND_ROBIN).connect_lazy());
    for _ in 0..10 {
        assert_eq!(who(&grpc, Duration::from_secs(5)).await.unwrap(), "a");
    }
    resolver.update(addresses(&[&a, &b]));
    let start = Instant::now();
    let mut seen_b = 0;
    while seen_b == 0 && start.elapsed() < Duration::from_secs(5) {
        if who(&grpc, Duration::from_secs(5)).await.unwrap() == "b" {
            seen_b += 1;
        }
    }
    assert_eq!(seen_b, 1, "the added backend got no call in 5 s");
    let mut counts = BTreeMap::new();
    for _ in 0..100 {
        *counts
            .entry(who(&grpc, Duration::from_secs(5)).await.unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(
        counts,
        BTreeMap::from([("a".to_owned(), 50), ("b".to_owned(), 50)])
    );
    // And one the resolver removes gets no more.
    resolver.update(addresses(&[&b]));
    settle(&grpc, &["b"]).await;
    for _ in 0..20 {
        assert_eq!(who(&grpc, Duration::from_secs(5)).await.unwrap(), "b");
    }
}

#[tokio::test]
async fn wait_for_ready_waits_for_a_server_that_starts_later() {
    // A free port, closed again: nothing listens there yet.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoint = Endpoint::new(format!("ipv4:{addr}"))
        .unwrap()
        .backoff(protocall::client::Backoff::default().initial(Duration::from_millis(100)));
    let channel = endpoint.connect_lazy();
    let grpc = Grpc::new(channel.clone());
    // Fails fast without wait-for-ready…
    let error = who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert_eq!(channel.state(false), ConnectivityState::TransientFailure);
    // …and waits with it, until the server is up.
    let waiting = tokio::spawn({
        let grpc = grpc.clone();
        async move {
            let mut request = Request::new(StringValue::from("?"));
            request.set_timeout(Duration::from_secs(10));
            request.set_wait_for_ready(true);
            grpc.unary::<_, StringValue>(request, "/fleet.Backend/Who")
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a wait-for-ready call returned before the server was up"
    );
    let _server = serve_on(addr, "late").await;
    let reply = tokio::time::timeout(Duration::from_secs(8), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.unwrap().into_inner().value, "late");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    // Wait-for-ready still ends at the deadline.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let grpc = Grpc::new(
        Endpoint::new(format!("ipv4:{addr}"))
            .unwrap()
            .connect_lazy(),
    );
    let mut request = Request::new(StringValue::from("?"));
    request.set_timeout(Duration::from_millis(300));
    request.set_wait_for_ready(true);
    let error = grpc
        .unary::<_, StringValue>(request, "/fleet.Backend/Who")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::DeadlineExceeded, "{error:?}");
}

fn retry_config(attempts: u32, throttling: &str) -> String {
    format!(
        r#"{{"methodConfig": [{{"name": [{{"service": "fleet.Backend"}}],
             "retryPolicy": {{"maxAttempts": {attempts}, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                              "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}}}]
             {throttling}}}"#
    )
}

#[tokio::test]
async fn retries_count_previous_attempts_and_stop_at_max_attempts() {
    let a = serve("127.0.0.1", "a").await;
    let resolver = ManualResolver::new(addresses(&[&a]));
    let grpc = Grpc::new(endpoint_with(&resolver, &retry_config(4, "")).connect_lazy());
    a.backend.fail_next.store(2, Ordering::SeqCst);
    assert_eq!(who(&grpc, Duration::from_secs(5)).await.unwrap(), "a");
    let seen = std::mem::take(&mut *a.backend.seen.lock().unwrap());
    assert_eq!(seen, [None, Some("1".into()), Some("2".into())]);
    // Four attempts, then the last failure is the call's.
    a.backend.fail_next.store(10, Ordering::SeqCst);
    let error = who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        (Code::Unavailable, "failing this once")
    );
    assert_eq!(a.backend.seen.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_client_stream_is_replayed_to_the_retry_before_the_call_commits() {
    let a = serve("127.0.0.1", "a").await;
    let resolver = ManualResolver::new(addresses(&[&a]));
    let grpc = Grpc::new(endpoint_with(&resolver, &retry_config(3, "")).connect_lazy());
    a.backend.fail_next.store(1, Ordering::SeqCst);
    let messages = futures_util::stream::iter(["x", "y", "z"].map(StringValue::from));
    let reply = grpc
        .client_streaming::<_, _, StringValue>(Request::new(messages), "/fleet.Backend/Count")
        .await
        .unwrap();
    assert_eq!(
        reply.into_inner().value,
        "3",
        "the second attempt got every message"
    );
    assert_eq!(
        *a.backend.seen.lock().unwrap(),
        [None, Some("1".to_owned())]
    );
}

#[tokio::test]
async fn server_pushback_delays_or_stops_retries() {
    let a = serve("127.0.0.1", "a").await;
    let resolver = ManualResolver::new(addresses(&[&a]));
    let grpc = Grpc::new(endpoint_with(&resolver, &retry_config(3, "")).connect_lazy());
    *a.backend.always_fail.lock().unwrap() = Some(Some("300".into()));
    let start = Instant::now();
    who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(a.backend.seen.lock().unwrap().len(), 3);
    assert!(
        took >= Duration::from_millis(600),
        "two 300 ms pushbacks took {took:?}"
    );
    // A negative pushback: no retry at all.
    a.backend.seen.lock().unwrap().clear();
    *a.backend.always_fail.lock().unwrap() = Some(Some("-1".into()));
    who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(a.backend.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retry_throttling_stops_a_retry_storm_when_every_backend_fails() {
    let (a, b) = (serve("127.0.0.1", "a").await, serve("127.0.0.2", "b").await);
    for backend in [&a.backend, &b.backend] {
        *backend.always_fail.lock().unwrap() = Some(None);
    }
    let resolver = ManualResolver::new(addresses(&[&a, &b]));
    let throttled = retry_config(
        5,
        r#", "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
        "loadBalancingConfig": [{"round_robin": {}}]"#,
    );
    let grpc = Grpc::new(endpoint_with(&resolver, &throttled).connect_lazy());
    for _ in 0..50 {
        who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    }
    let attempts = a.backend.seen.lock().unwrap().len() + b.backend.seen.lock().unwrap().len();
    // Unthrottled: 250 attempts. Throttled: the tokens fall from 10 to 5
    // within a few calls, and from then on each call is tried once.
    assert!(attempts < 60, "{attempts} attempts for 50 calls");
    assert!(
        attempts > 50,
        "some calls were retried before the throttle closed: {attempts}"
    );
}

/// The p99 latency of `calls` sequential calls.
async fn p99(grpc: &Grpc, calls: usize) -> Duration {
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        who(grpc, Duration::from_secs(5)).await.unwrap();
        latencies.push(start.elapsed());
    }
    latencies.sort();
    latencies[calls * 99 / 100]
}

#[tokio::test]
async fn hedging_against_one_slow_backend_cuts_the_p99() {
    let (fast, slow) = (
        serve("127.0.0.1", "fast").await,
        serve("127.0.0.2", "slow").await,
    );
    *slow.backend.delay.lock().unwrap() = Duration::from_millis(300);
    let resolver = ManualResolver::new(addresses(&[&fast, &slow]));
    let plain = Grpc::new(endpoint_with(&resolver, ROUND_ROBIN).connect_lazy());
    let hedged_config = r#"{"loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [{"name": [{"service": "fleet.Backend"}],
            "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.02s"}}]}"#;
    let hedged = Grpc::new(endpoint_with(&resolver, hedged_config).connect_lazy());
    let (without, with) = (p99(&plain, 40).await, p99(&hedged, 40).await);
    eprintln!("p99 against one 300 ms backend: {without:?} without hedging, {with:?} with");
    assert!(without >= Duration::from_millis(300), "{without:?}");
    assert!(with < Duration::from_millis(200), "{with:?}");
    // Each hedge after the first says how many went before it.
    let seen = fast.backend.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.as_deref() == Some("1")), "{seen:?}");
    let seen = slow.backend.seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|s| s.as_deref() != Some("2")),
        "two attempts at most: {seen:?}"
    );
}

/// A resolver that answers what it is set to, without telling the channel
/// of changes (as DNS does): the channel learns of them only when it
/// resolves again, after losing a connection.
#[derive(Clone, Default)]
struct Silent(Arc<Mutex<Vec<SocketAddr>>>);

impl protocall::client::Resolver for Silent {
    fn resolve(&self) -> protocall::client::ResolveFuture {
        let addresses = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(Resolution::addresses(addresses)) })
    }
}

async fn serve_aging(ip: &str, id: &str, age: Duration) -> Running {
    let addr = format!("{ip}:0").parse().unwrap();
    serve_with(addr, id, |backend| {
        protocall::Server::builder()
            .max_connection_age(age)
            .add_service(backend)
    })
    .await
}

#[tokio::test]
async fn max_connection_age_moves_load_to_a_backend_started_later_without_failing_a_call() {
    let a = serve_aging("127.0.0.1", "a", Duration::from_millis(400)).await;
    let resolver = Silent::default();
    resolver.0.lock().unwrap().push(a.addr);
    let endpoint = Endpoint::new("dns:///fleet.test")
        .unwrap()
        .resolver(resolver.clone())
        .min_resolution_interval(Duration::from_millis(50))
        .service_config(ServiceConfig::from_json(ROUND_ROBIN).unwrap())
        .unwrap();
    let grpc = Grpc::new(endpoint.connect_lazy());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let start = Instant::now();
    let mut b = None;
    while start.elapsed() < Duration::from_secs(3) {
        if b.is_none() && start.elapsed() > Duration::from_millis(100) {
            // A scale-up: DNS now names both, but nobody tells the client.
            let started = serve("127.0.0.2", "b").await;
            resolver.0.lock().unwrap().push(started.addr);
            b = Some(started);
        }
        let server = who(&grpc, Duration::from_secs(5)).await.unwrap();
        *counts.entry(server).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        counts.get("b").copied().unwrap_or(0) > counts["a"] / 4,
        "{counts:?}"
    );
}

#[tokio::test]
async fn max_connection_idle_drains_a_connection_without_calls_and_the_next_call_reconnects() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = Backend {
        id: "idle".into(),
        ..Default::default()
    };
    *backend.delay.lock().unwrap() = Duration::from_millis(400);
    let server = protocall::Server::builder()
        .max_connection_idle(Duration::from_millis(200))
        .add_service(backend);
    tokio::spawn(server.serve_with_listener(listener, std::future::pending()));
    let channel = Endpoint::new(format!("ipv4:{addr}"))
        .unwrap()
        .connect_lazy();
    let grpc = Grpc::new(channel.clone());
    // A call longer than the idle limit keeps the connection.
    assert_eq!(who(&grpc, Duration::from_secs(5)).await.unwrap(), "idle");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
    let state = tokio::time::timeout(
        Duration::from_secs(2),
        channel.state_changed(ConnectivityState::Ready),
    )
    .await
    .expect("the idle connection is drained");
    assert_eq!(state, ConnectivityState::Idle);
    assert_eq!(who(&grpc, Duration::from_secs(5)).await.unwrap(), "idle");
}

const HEALTH_CHECKED: &str = r#"{"loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": "fleet.Backend"}}"#;

async fn serve_with_health(ip: &str, id: &str) -> (Running, protocall::health::HealthReporter) {
    let (reporter, health) = protocall::health::health_service();
    reporter.set_serving::<Backend>();
    let addr = format!("{ip}:0").parse().unwrap();
    let running = serve_with(addr, id, |backend| {
        protocall::Server::builder()
            .add_service(backend)
            .add_service(health)
    })
    .await;
    (running, reporter)
}

/// Waits (at most 5 s) until calls reach exactly the backends `ids`, as
/// health answers and connections settle.
async fn settle(grpc: &Grpc, ids: &[&str]) {
    let start = Instant::now();
    loop {
        let seen = spread(grpc, 10).await;
        if seen.keys().map(String::as_str).eq(ids.iter().copied()) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "calls still reach {seen:?}, not {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn spread(grpc: &Grpc, calls: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..calls {
        *counts
            .entry(who(grpc, Duration::from_secs(5)).await.unwrap())
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn a_backend_that_turns_unhealthy_stops_getting_calls_until_it_recovers() {
    let ((a, _a_health), (b, b_health)) = (
        serve_with_health("127.0.0.1", "a").await,
        serve_with_health("127.0.0.2", "b").await,
    );
    let resolver = ManualResolver::new(addresses(&[&a, &b]));
    let grpc = Grpc::new(endpoint_with(&resolver, HEALTH_CHECKED).connect_lazy());
    // Calls wait for the first health answers (CONNECTING until then).
    let both = BTreeMap::from([("a".to_owned(), 50), ("b".to_owned(), 50)]);
    settle(&grpc, &["a", "b"]).await;
    assert_eq!(spread(&grpc, 100).await, both);
    b_health.set_not_serving::<Backend>();
    settle(&grpc, &["a"]).await;
    assert_eq!(
        spread(&grpc, 100).await,
        BTreeMap::from([("a".to_owned(), 100)])
    );
    b_health.set_serving::<Backend>();
    settle(&grpc, &["a", "b"]).await;
    assert_eq!(spread(&grpc, 100).await, both);
    // A server without the health service counts as healthy.
    let c = serve("127.0.0.3", "c").await;
    resolver.update(addresses(&[&c]));
    settle(&grpc, &["c"]).await;
    assert_eq!(
        spread(&grpc, 10).await,
        BTreeMap::from([("c".to_owned(), 10)])
    );
}

#[test]
fn fleet_client_skips_an_interop_server_set_not_serving() {
    let fleet = Fleet::start(3);
    let port = fleet.servers[1].as_ref().unwrap().port;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let channel = Endpoint::new(format!("http://127.0.0.2:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let request = Request::new(protocall::types::Empty::default());
        Grpc::new(channel)
            .unary::<_, protocall::types::Empty>(
                request,
                "/grpc.testing.XdsUpdateHealthService/SetNotServing",
            )
            .await
            .unwrap();
    });
    let config = r#"{"loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": "grpc.testing.TestService"}}"#;
    let output = run_client(fleet_client(&fleet.target(), Some(config), 300, 4)).unwrap();
    let tally = read_tally(&output);
    assert_eq!(tally.ok, 300, "{output}");
    assert_eq!(
        tally.by_server.keys().collect::<Vec<_>>(),
        ["s1", "s3"],
        "{output}"
    );
}

// ------------------------------------------------------------ differential

/// One backend of a mixed fleet: the interop server (protocall) or
/// `tests/python/fleet_server.py` (grpcio) with fault flags.
enum Spec {
    Protocall,
    Python(&'static [&'static str]),
}

/// What a differential case expects of both clients' tallies.
type Check = fn(&Tally) -> Result<(), String>;

/// Starts `specs`, backend `i` on 127.0.0.`i+1` with id `s{i+1}` (protocall)
/// or `p{i+1}` (grpcio); returns them and their `ipv4:` target.
fn mixed_fleet(python: &std::path::Path, specs: &[Spec]) -> (Vec<Server>, String) {
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let host = format!("127.0.0.{}", i + 1);
        let server = match spec {
            Spec::Protocall => {
                let mut command = Command::new(&fleet_binaries()[0]);
                command.args([format!("--host={host}"), format!("--server_id=s{}", i + 1)]);
                Server::start(&format!("interop-server s{}", i + 1), command)
            }
            Spec::Python(flags) => {
                let mut command = peers::python_command(python, "fleet_server.py");
                command.args([format!("--host={host}"), format!("--server_id=p{}", i + 1)]);
                command.args(*flags);
                Server::start(&format!("fleet_server.py p{}", i + 1), command)
            }
        };
        addresses.push(format!("{host}:{}", server.port));
        servers.push(server);
    }
    (servers, format!("ipv4:{}", addresses.join(",")))
}

fn retry_on(codes: &str, extra: &str) -> String {
    format!(
        r#"{{"loadBalancingConfig": [{{"round_robin": {{}}}}],
            "methodConfig": [{{"name": [{{"service": "grpc.testing.TestService"}}],
                "retryPolicy": {{"maxAttempts": 5, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
                                 "backoffMultiplier": 2, "retryableStatusCodes": [{codes}]}}}}]
            {extra}}}"#
    )
}

#[test]
fn grpcio_with_the_same_service_config_has_the_same_outcomes() {
    let Some(python) = protocall_tests::harness::python_with("grpc") else {
        return;
    };
    const CALLS: usize = 40;
    let always_unavailable: &[&str] = &["--fail_every=1"];
    let mut cases: Vec<(&str, Vec<Spec>, String, Check)> = vec![
        (
            "retried past a failing backend",
            vec![Spec::Protocall, Spec::Python(always_unavailable)],
            retry_on(r#""UNAVAILABLE""#, ""),
            |t| {
                expect(
                    t.ok == CALLS as u64 && t.by_server.keys().eq(["s1"]),
                    "every call served by s1",
                )
            },
        ),
        (
            "no retry policy: the failing backend's calls fail",
            vec![Spec::Protocall, Spec::Python(always_unavailable)],
            ROUND_ROBIN.to_owned(),
            |t| {
                expect(
                    half_failed(t, "UNAVAILABLE"),
                    "about half failed UNAVAILABLE",
                )
            },
        ),
        (
            "a code the policy does not retry",
            vec![
                Spec::Protocall,
                Spec::Python(&["--fail_every=1", "--fail_code=INTERNAL"]),
            ],
            retry_on(r#""UNAVAILABLE""#, ""),
            |t| expect(half_failed(t, "INTERNAL"), "about half failed INTERNAL"),
        ),
        (
            "a pushback that says stop",
            vec![
                Spec::Protocall,
                Spec::Python(&["--fail_every=1", "--pushback_ms=-1"]),
            ],
            retry_on(r#""UNAVAILABLE""#, ""),
            |t| {
                expect(
                    half_failed(t, "UNAVAILABLE"),
                    "about half failed UNAVAILABLE",
                )
            },
        ),
        (
            "every other call fails once",
            vec![Spec::Python(&["--fail_every=2"])],
            retry_on(r#""UNAVAILABLE""#, ""),
            |t| expect(t.ok == CALLS as u64, "every call retried to success"),
        ),
        (
            "all failing, throttled",
            vec![
                Spec::Python(always_unavailable),
                Spec::Python(always_unavailable),
            ],
            retry_on(
                r#""UNAVAILABLE""#,
                r#", "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}"#,
            ),
            |t| {
                expect(
                    t.failed.get("UNAVAILABLE") == Some(&(CALLS as u64)),
                    "every call failed UNAVAILABLE",
                )
            },
        ),
    ];
    // gRPC C-core (grpcio) does not implement hedging: it reads the same
    // config and sends each call once, so only the outcome is compared
    // here; tests above measure protocall's hedging itself.
    cases.push((
        "hedged around a slow backend",
        vec![Spec::Python(&["--delay_ms=200"]), Spec::Protocall],
        r#"{"loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [{"name": [{"service": "grpc.testing.TestService"}],
                "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "0.02s"}}]}"#
            .to_owned(),
        |t| expect(t.ok == CALLS as u64, "every call answered"),
    ));
    let mut report = Vec::new();
    for (name, specs, config, check) in cases {
        let (servers, target) = mixed_fleet(&python, &specs);
        let ours = read_tally(&run_client(fleet_client(&target, Some(&config), CALLS, 1)).unwrap());
        let mut command = peers::python_command(&python, "fleet_client.py");
        command.args([
            format!("--target={target}"),
            format!("--service_config={config}"),
            format!("--calls={CALLS}"),
            "--concurrency=1".to_owned(),
        ]);
        let theirs = read_tally(&run_client(command).unwrap());
        for server in servers {
            server.stop().unwrap();
        }
        for (who, tally) in [("protocall", &ours), ("grpcio", &theirs)] {
            if let Err(why) = check(tally) {
                report.push(format!("{name}: {who}: expected {why}, got {tally:?}"));
            }
        }
        eprintln!("{name}: protocall {ours:?}, grpcio {theirs:?}");
    }
    assert!(report.is_empty(), "outcomes differ:\n{}", report.join("\n"));
}

fn expect(holds: bool, what: &str) -> Result<(), String> {
    if holds { Ok(()) } else { Err(what.to_owned()) }
}

/// Round robin over one good and one failing backend, calls one at a time:
/// every other call fails (give or take where the rotation starts).
fn half_failed(tally: &Tally, code: &str) -> bool {
    let failed = tally.failed.get(code).copied().unwrap_or(0);
    tally.failed.len() == 1 && (15..=25).contains(&failed) && tally.ok + failed == 40
}

#[tokio::test]
async fn the_method_config_limits_message_sizes_both_ways() {
    let long = serve("127.0.0.1", "a-backend-with-a-long-name").await;
    let resolver = ManualResolver::new(addresses(&[&long]));
    let config = r#"{"methodConfig": [
        {"name": [{"service": "fleet.Backend", "method": "Who"}], "maxResponseMessageBytes": 10},
        {"name": [{"service": "fleet.Backend", "method": "Count"}], "maxRequestMessageBytes": 8}]}"#;
    let grpc = Grpc::new(endpoint_with(&resolver, config).connect_lazy());
    let error = who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    // Streamed requests: small messages pass, a large one fails the call.
    let small = futures_util::stream::iter(["a", "b"].map(StringValue::from));
    let reply = grpc
        .client_streaming::<_, _, StringValue>(Request::new(small), "/fleet.Backend/Count")
        .await
        .unwrap();
    assert_eq!(reply.into_inner().value, "2");
    let large =
        futures_util::stream::iter(["a".to_owned(), "x".repeat(100)].map(StringValue::from));
    let error = grpc
        .client_streaming::<_, _, StringValue>(Request::new(large), "/fleet.Backend/Count")
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert!(
        error.message().contains("maxRequestMessageBytes"),
        "{error:?}"
    );
    // A unary request over the limit is refused before it is sent.
    let reached = long.backend.seen.lock().unwrap().len();
    let config = r#"{"methodConfig": [{"name": [{}], "maxRequestMessageBytes": 2}]}"#;
    let grpc = Grpc::new(endpoint_with(&resolver, config).connect_lazy());
    let error = who(&grpc, Duration::from_secs(5)).await.unwrap_err();
    assert_eq!(error.code(), Code::ResourceExhausted, "{error:?}");
    assert_eq!(
        long.backend.seen.lock().unwrap().len(),
        reached,
        "the refused call never reached the server"
    );
}

// ------------------------------------------------------------ DNS

/// A DNS server on loopback UDP that answers A queries for `name` with
/// `ips` and TXT queries for `_grpc_config.<name>` with `txt` (every other
/// query gets no answer records). Enough of RFC 1035 for hickory.
async fn dns_server(name: &'static str, ips: Vec<std::net::Ipv4Addr>, txt: String) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                return;
            };
            let query = &buf[..len];
            // The question: labels up to a zero byte, then type and class.
            let mut at = 12;
            let mut labels = Vec::new();
            while at < len && query[at] != 0 {
                let n = query[at] as usize;
                labels.push(String::from_utf8_lossy(&query[at + 1..at + 1 + n]).to_lowercase());
                at += 1 + n;
            }
            let question_end = at + 5;
            let qtype = u16::from_be_bytes([query[at + 1], query[at + 2]]);
            let qname = labels.join(".");
            let mut answers: Vec<(u16, Vec<u8>)> = Vec::new();
            if qtype == 1 && qname == name {
                answers.extend(ips.iter().map(|ip| (1, ip.octets().to_vec())));
            }
            if qtype == 16 && qname == format!("_grpc_config.{name}") {
                let mut rdata = Vec::new();
                for chunk in txt.as_bytes().chunks(255) {
                    rdata.push(chunk.len() as u8);
                    rdata.extend_from_slice(chunk);
                }
                answers.push((16, rdata));
            }
            let mut reply = Vec::new();
            reply.extend_from_slice(&query[..2]); // the id
            reply.extend_from_slice(&[0x81, 0x80, 0, 1]); // a response, one question
            reply.extend_from_slice(&(answers.len() as u16).to_be_bytes());
            reply.extend_from_slice(&[0, 0, 0, 0]); // no authority, no additional
            reply.extend_from_slice(&query[12..question_end]);
            for (rtype, rdata) in answers {
                reply.extend_from_slice(&[0xc0, 12]); // the question's name
                reply.extend_from_slice(&rtype.to_be_bytes());
                reply.extend_from_slice(&[0, 1, 0, 0, 0, 1]); // IN, TTL 1 s
                reply.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                reply.extend_from_slice(&rdata);
            }
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    addr
}

/// Backends on 127.0.0.1 and 127.0.0.2 with the same port (DNS names
/// hosts; the port is the target's).
async fn same_port_pair() -> (Running, Running) {
    for _ in 0..20 {
        let a = serve("127.0.0.1", "a").await;
        let second: SocketAddr = format!("127.0.0.2:{}", a.addr.port()).parse().unwrap();
        if tokio::net::TcpListener::bind(second).await.is_ok() {
            // Free a moment ago: take it for real.
            return (a, serve_on(second, "b").await);
        }
    }
    panic!("no port free on both 127.0.0.1 and 127.0.0.2");
}

#[tokio::test]
async fn a_dns_server_named_in_the_target_and_its_txt_service_config() {
    let (a, b) = same_port_pair().await;
    let txt = r#"grpc_config=[{"clientLanguage": ["go"], "serviceConfig": {}},
        {"serviceConfig": {"loadBalancingConfig": [{"round_robin": {}}]}}]"#;
    let ips = vec![[127, 0, 0, 1].into(), [127, 0, 0, 2].into()];
    let dns = dns_server("fleet.test", ips, txt.to_owned()).await;
    let target = format!("dns://{dns}/fleet.test:{}", a.addr.port());
    // The TXT record's round_robin: both backends.
    let grpc = Grpc::new(
        Endpoint::new(&target)
            .unwrap()
            .dns_service_config(true)
            .connect_lazy(),
    );
    let counts = spread(&grpc, 100).await;
    assert_eq!(
        counts,
        BTreeMap::from([("a".to_owned(), 50), ("b".to_owned(), 50)])
    );
    // Without TXT lookups: pick_first, every call to one of them.
    let grpc = Grpc::new(Endpoint::new(&target).unwrap().connect_lazy());
    let counts = spread(&grpc, 20).await;
    assert_eq!(counts.len(), 1, "{counts:?}");
    let _ = b;
    // A name the server does not know: UNAVAILABLE, naming it.
    let grpc = Grpc::new(
        Endpoint::new(format!("dns://{dns}/nowhere.test:1"))
            .unwrap()
            .connect_lazy(),
    );
    let error = who(&grpc, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(error.message().contains("nowhere.test"), "{error:?}");
}

// ------------------------------------------------------------ keepalive

/// Pings from a raw h2 client, `gap` apart; the connection's end, if it
/// came within a few seconds.
async fn ping_server(
    server: protocall::Server,
    pings: usize,
    gap: Duration,
) -> Option<Result<(), h2::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = server.add_service(Backend::default());
    tokio::spawn(router.serve_with_listener(listener, std::future::pending()));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (_client, mut connection) = h2::client::handshake(tcp).await.unwrap();
    let mut ping_pong = connection.ping_pong().expect("the first ping_pong");
    let mut connection = tokio::spawn(connection);
    for _ in 0..pings {
        tokio::time::sleep(gap).await;
        if ping_pong.ping(h2::Ping::opaque()).await.is_err() {
            break;
        }
    }
    match tokio::time::timeout(Duration::from_secs(2), &mut connection).await {
        Ok(ended) => Some(ended.unwrap()),
        Err(_) => {
            connection.abort();
            None
        }
    }
}

#[tokio::test]
async fn a_client_pinging_too_often_gets_goaway_enhance_your_calm() {
    // The default policy: pings 5 minutes apart at most, none without calls.
    let ended = ping_server(protocall::Server::builder(), 5, Duration::ZERO).await;
    let error = ended
        .expect("the server closed the connection")
        .unwrap_err();
    assert!(error.is_go_away() && error.is_remote(), "{error:?}");
    assert_eq!(
        error.reason(),
        Some(h2::Reason::ENHANCE_YOUR_CALM),
        "{error:?}"
    );
    // Within a permissive policy, the same pings are fine.
    let permissive = protocall::Server::builder()
        .permit_keepalive_time(Duration::from_millis(50))
        .permit_keepalive_without_calls(true);
    let ended = ping_server(permissive, 5, Duration::from_millis(100)).await;
    assert!(ended.is_none(), "the connection stays open: {ended:?}");
    // And with enforcement off, any rate.
    let off = protocall::Server::builder().permit_keepalive_time(Duration::ZERO);
    assert!(ping_server(off, 10, Duration::ZERO).await.is_none());
}

#[tokio::test]
async fn a_client_told_too_many_pings_doubles_its_keepalive_interval() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = protocall::Server::builder()
        .permit_keepalive_time(Duration::from_millis(300))
        .permit_keepalive_without_calls(true)
        .add_service(Backend::default());
    tokio::spawn(server.serve_with_listener(listener, std::future::pending()));
    let opened = Arc::new(AtomicUsize::new(0));
    let connector = {
        let opened = opened.clone();
        tower::service_fn(move |_: http::Uri| {
            opened.fetch_add(1, Ordering::SeqCst);
            tokio::net::TcpStream::connect(addr)
        })
    };
    // round_robin reconnects as soon as a connection ends.
    let channel = Endpoint::new(format!("http://{addr}"))
        .unwrap()
        .http2_keepalive_interval(Duration::from_millis(100))
        .http2_keepalive_while_idle(true)
        .backoff(protocall::client::Backoff::default().initial(Duration::from_millis(50)))
        .service_config(ServiceConfig::from_json(ROUND_ROBIN).unwrap())
        .unwrap()
        .connect_with_connector_lazy(connector);
    channel.state(true);
    tokio::time::sleep(Duration::from_secs(4)).await;
    // Pings 100 ms apart against a 300 ms minimum: GOAWAY after the third
    // early one; then 200 ms apart, GOAWAY again; then 400 ms, within the
    // policy. Without the doubling: a new connection every ~0.4 s.
    let opened = opened.load(Ordering::SeqCst);
    assert_eq!(opened, 3, "connections opened in 4 s");
    assert_eq!(channel.state(false), ConnectivityState::Ready);
}

#[tokio::test]
async fn a_connection_whose_pings_go_unanswered_is_dropped_and_made_again() {
    // A server that completes the HTTP/2 handshake and then stops reading:
    // its connections never answer a PING.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn({
        let accepted = accepted.clone();
        async move {
            let mut held = Vec::new();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                accepted.fetch_add(1, Ordering::SeqCst);
                if let Ok(connection) = h2::server::handshake(tcp).await {
                    held.push(connection);
                }
            }
        }
    });
    let channel = Endpoint::new(format!("http://{addr}"))
        .unwrap()
        .http2_keepalive_interval(Duration::from_millis(100))
        .http2_keepalive_timeout(Duration::from_millis(200))
        .http2_keepalive_while_idle(true)
        .backoff(protocall::client::Backoff::default().initial(Duration::from_millis(50)))
        .service_config(ServiceConfig::from_json(ROUND_ROBIN).unwrap())
        .unwrap()
        .connect_lazy();
    channel.state(true);
    // Each connection is dropped ~300 ms after it opens; round_robin opens
    // the next at once (after the backoff).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let accepted = accepted.load(Ordering::SeqCst);
    server.abort();
    assert!(
        (2..=8).contains(&accepted),
        "connections accepted in 1.5 s: {accepted}"
    );
}

#[tokio::test]
async fn a_hedge_the_throttle_stops_while_it_waits_ends_with_the_last_failure() {
    let a = serve("127.0.0.1", "a").await;
    *a.backend.always_fail.lock().unwrap() = Some(Some("200".into()));
    let resolver = ManualResolver::new(addresses(&[&a]));
    let config = r#"{"methodConfig": [{"name": [{"service": "fleet.Backend"}],
            "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "1s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}],
        "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}}"#;
    let grpc = Grpc::new(endpoint_with(&resolver, config).connect_lazy());
    // The first call's hedge waits out a 200 ms pushback; meanwhile five
    // more calls fail and close the throttle.
    let first = tokio::spawn({
        let grpc = grpc.clone();
        async move { who(&grpc, Duration::from_secs(5)).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let others: Vec<_> = (0..5)
        .map(|_| {
            let grpc = grpc.clone();
            tokio::spawn(async move { who(&grpc, Duration::from_secs(5)).await })
        })
        .collect();
    let error = first.await.expect("no panic").unwrap_err();
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    for other in others {
        assert_eq!(other.await.unwrap().unwrap_err().code(), Code::Unavailable);
    }
}

#[tokio::test]
async fn a_pushback_of_u64_max_ms_waits_until_the_deadline_and_panics_nothing() {
    let a = serve("127.0.0.1", "a").await;
    *a.backend.always_fail.lock().unwrap() = Some(Some(u64::MAX.to_string()));
    let resolver = ManualResolver::new(addresses(&[&a]));
    let hedging = r#"{"methodConfig": [{"name": [{"service": "fleet.Backend"}],
        "hedgingPolicy": {"maxAttempts": 3, "hedgingDelay": "0.01s", "nonFatalStatusCodes": ["UNAVAILABLE"]}}]}"#;
    for config in [hedging.to_owned(), retry_config(3, "")] {
        let grpc = Grpc::new(endpoint_with(&resolver, &config).connect_lazy());
        let error = who(&grpc, Duration::from_millis(300)).await.unwrap_err();
        assert_eq!(error.code(), Code::DeadlineExceeded, "{config}: {error:?}");
    }
}
