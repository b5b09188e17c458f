//! Calls a fleet of `grpc.testing.TestService` servers and reports where
//! the calls went and how they ended: the client side of fleet tests
//! (load balancing, retries, hedging, failover).
//!
//! ```text
//! cargo run -p protocall-examples --bin fleet-client -- --target=TARGET \
//!     [--service_config=JSON] --calls=N --concurrency=C [--timeout_ms=5000] \
//!     [--wait_for_ready=false] [--metrics]
//! ```
//!
//! `TARGET` is any naming.md target (`dns:///host:port`,
//! `ipv4:127.0.0.1:p1,127.0.0.2:p2`, `unix:path`…). Each call is a
//! `UnaryCall` with `fill_server_id = true`. One JSON line is printed at the
//! end:
//!
//! ```text
//! {"ok": 2990, "failed": {"UNAVAILABLE": 10}, "by_server": {"a": 1000, "b": 995, "c": 995}}
//! ```
//!
//! With `--metrics`, the channel records gRFC A66 metrics and a per-method
//! summary (calls, attempts, statuses, p50/p99, bytes) goes to stderr at
//! exit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use protocall::Request;
use protocall::client::{Endpoint, ServiceConfig};
use protocall_examples::flags;
use protocall_examples::grpc::testing::SimpleRequest;
use protocall_examples::grpc::testing::test_service_client::TestServiceClient;

struct Args {
    target: String,
    service_config: Option<String>,
    calls: usize,
    concurrency: usize,
    timeout: Duration,
    wait_for_ready: bool,
    metrics: bool,
}

const USAGE: &str = "usage: fleet-client --target=TARGET [--service_config=JSON] --calls=N \
--concurrency=C [--timeout_ms=5000] [--wait_for_ready=false] [--metrics]";

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut target = None;
    let mut service_config = None;
    let mut calls = None;
    let mut concurrency = 1;
    let mut timeout = Duration::from_secs(5);
    let mut wait_for_ready = false;
    let mut metrics = false;
    let number = |flag: &str, value: &str| {
        value
            .parse::<usize>()
            .map_err(|_| format!("--{flag}: {value:?} is not a count"))
    };
    for (flag, value) in flags::parse(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        let (flag, value) = (flag.as_str(), value.as_str());
        match flag {
            "target" => target = Some(value.to_owned()),
            "service_config" => service_config = Some(value.to_owned()),
            "calls" => calls = Some(number(flag, value)?),
            "concurrency" => concurrency = number(flag, value)?.max(1),
            "timeout_ms" => timeout = Duration::from_millis(number(flag, value)? as u64),
            "wait_for_ready" => wait_for_ready = flags::parse_bool(flag, value)?,
            "metrics" => metrics = flags::parse_bool(flag, value)?,
            _ => flags::ignore(flag),
        }
    }
    Ok(Args {
        target: target.ok_or_else(|| format!("--target is required\n{USAGE}"))?,
        service_config,
        calls: calls.ok_or_else(|| format!("--calls is required\n{USAGE}"))?,
        concurrency,
        timeout,
        wait_for_ready,
        metrics,
    })
}

/// What the calls came to.
#[derive(Default)]
struct Tally {
    ok: usize,
    failed: BTreeMap<String, usize>,
    by_server: BTreeMap<String, usize>,
}

#[tokio::main]
async fn main() {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("fleet-client: {message}");
            std::process::exit(2);
        }
    };
    let endpoint = Endpoint::new(&args.target).and_then(|endpoint| match &args.service_config {
        Some(json) => endpoint.service_config(ServiceConfig::from_json(json)?),
        None => Ok(endpoint),
    });
    let endpoint = match endpoint {
        Ok(endpoint) => endpoint,
        Err(status) => {
            eprintln!("fleet-client: {}", status.message());
            std::process::exit(2);
        }
    };
    let metrics = args.metrics.then(protocall::metrics::Metrics::new);
    let endpoint = match &metrics {
        Some(metrics) => endpoint.metrics(metrics.clone()),
        None => endpoint,
    };
    let client = TestServiceClient::new(endpoint.connect_lazy());
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(std::sync::Mutex::new(Tally::default()));
    let workers: Vec<_> = (0..args.concurrency.min(args.calls.max(1)))
        .map(|_| {
            let (client, next, tally) = (client.clone(), next.clone(), tally.clone());
            let (calls, timeout, wait_for_ready) = (args.calls, args.timeout, args.wait_for_ready);
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < calls {
                    let mut request = Request::new(SimpleRequest {
                        fill_server_id: true,
                        ..Default::default()
                    });
                    request.set_timeout(timeout);
                    request.set_wait_for_ready(wait_for_ready);
                    let result = client.unary_call(request).await;
                    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                    match result {
                        Ok(response) => {
                            tally.ok += 1;
                            let server = response.into_inner().server_id;
                            *tally.by_server.entry(server).or_default() += 1;
                        }
                        Err(status) => {
                            let code = status.code().as_str().to_owned();
                            let failed = tally.failed.entry(code).or_default();
                            *failed += 1;
                            // The first few in full: what to read when a run fails.
                            if *failed <= 5 {
                                eprintln!("fleet-client: call failed: {status}");
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    // The keys in the order the contract writes them.
    let line = format!(
        r#"{{"ok": {}, "failed": {}, "by_server": {}}}"#,
        tally.ok,
        serde_json::Value::from_iter(
            tally
                .failed
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
        ),
        serde_json::Value::from_iter(
            tally
                .by_server
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(*v)))
        ),
    );
    println!("{line}");
    if let Some(metrics) = metrics {
        eprint!("{}", metrics.summary());
    }
}
