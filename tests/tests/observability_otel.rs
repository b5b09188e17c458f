//! The `opentelemetry` feature: A66's instruments read back through the
//! OpenTelemetry SDK's in-memory exporter and exported over OTLP/gRPC to a
//! Python receiver (PyPI `opentelemetry-proto` + `grpcio`), and call spans
//! joined into one OpenTelemetry trace across two protocall hops through
//! `tracing-opentelemetry`.

#[path = "support/peers.rs"]
mod peers;

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanKind, TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use protocall::client::{Endpoint, Grpc};
use protocall::metrics::Metrics;
use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unary, unimplemented};
use protocall::types::StringValue;
use protocall::{Request, Response, Status};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

/// `demo.Echo/Say`: echoes, `fail` is NOT_FOUND; with a downstream, asks it.
#[derive(Clone, Default)]
struct Echo {
    downstream: Option<Grpc>,
}

impl NamedService for Echo {
    const NAME: &'static str = "demo.Echo";
}

impl GrpcService for Echo {
    fn call(&self, call: Call) -> ResponseFuture {
        let this = self.clone();
        match call.method() {
            "Say" => unary(call, move |request: Request<StringValue>| async move {
                let value = request.into_inner().value;
                if value == "fail" {
                    return Err(Status::not_found("no such thing"));
                }
                if let Some(downstream) = &this.downstream {
                    let reply = downstream
                        .unary::<_, StringValue>(
                            Request::new(StringValue::from(value)),
                            "/demo.Echo/Say",
                        )
                        .await?;
                    return Ok(Response::new(reply.into_inner()));
                }
                Ok(Response::new(StringValue::from(value)))
            }),
            _ => unimplemented(call),
        }
    }

    fn methods(&self) -> Option<&'static [&'static str]> {
        Some(&["Say"])
    }
}

async fn serve(
    router: protocall::server::Router,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(router.serve_with_listener(listener, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// One test at a time: tracing's callsite cache is process-wide.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Three OK calls and a NOT_FOUND through a server and a channel that
/// share `metrics`.
async fn make_calls(metrics: &Metrics) -> String {
    let (addr, _stop) = serve(
        protocall::Server::builder()
            .metrics(metrics.clone())
            .add_service(Echo::default()),
    )
    .await;
    let target = format!("http://{addr}");
    let channel = Endpoint::new(&target)
        .unwrap()
        .metrics(metrics.clone())
        .connect()
        .await
        .unwrap();
    let grpc = Grpc::new(channel);
    for _ in 0..3 {
        grpc.unary::<_, StringValue>(Request::new(StringValue::from("hello")), "/demo.Echo/Say")
            .await
            .unwrap();
    }
    grpc.unary::<_, StringValue>(Request::new(StringValue::from("fail")), "/demo.Echo/Say")
        .await
        .unwrap_err();
    tokio::time::sleep(Duration::from_millis(50)).await;
    target
}

fn attributes(
    kvs: impl Iterator<Item = impl std::borrow::Borrow<opentelemetry::KeyValue>>,
) -> Vec<(String, String)> {
    let mut out: Vec<_> = kvs
        .map(|kv| {
            let kv = kv.borrow();
            (kv.key.to_string(), kv.value.to_string())
        })
        .collect();
    out.sort();
    out
}

fn find<'a>(
    metrics: &'a [ResourceMetrics],
    name: &str,
) -> &'a opentelemetry_sdk::metrics::data::Metric {
    metrics
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .filter(|sm| sm.scope().name() == "protocall")
        .flat_map(|sm| sm.metrics())
        .find(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no {name} exported"))
}

#[test]
fn a66_instruments_reach_the_opentelemetry_sdk() {
    let _serial = serial();
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(exporter.clone()).build())
        .build();
    let metrics = Metrics::with_meter_provider(&provider);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let target = runtime.block_on(make_calls(&metrics));
    provider.force_flush().unwrap();
    let exported = exporter.get_finished_metrics().unwrap();

    let duration = find(&exported, "grpc.server.call.duration");
    assert_eq!(duration.unit(), "s");
    let AggregatedMetrics::F64(MetricData::Histogram(histogram)) = duration.data() else {
        panic!("grpc.server.call.duration is {:?}", duration.data());
    };
    let ok = histogram
        .data_points()
        .find(|p| attributes(p.attributes()).contains(&("grpc.status".to_owned(), "OK".to_owned())))
        .expect("an OK point");
    assert_eq!(
        attributes(ok.attributes()),
        [
            ("grpc.method".to_owned(), "demo.Echo/Say".to_owned()),
            ("grpc.status".to_owned(), "OK".to_owned())
        ]
    );
    assert_eq!(ok.count(), 3);
    let bounds: Vec<f64> = ok.bounds().collect();
    assert_eq!(bounds.len(), 41, "A66's latency buckets: {bounds:?}");
    assert_eq!((bounds[1], bounds[40]), (0.00001, 100.0));

    let rcvd = find(
        &exported,
        "grpc.server.call.rcvd_total_compressed_message_size",
    );
    assert_eq!(rcvd.unit(), "By");
    let AggregatedMetrics::U64(MetricData::Histogram(rcvd)) = rcvd.data() else {
        panic!("rcvd is {:?}", rcvd.data());
    };
    let ok = rcvd
        .data_points()
        .find(|p| attributes(p.attributes()).contains(&("grpc.status".to_owned(), "OK".to_owned())))
        .unwrap();
    assert_eq!((ok.count(), ok.sum()), (3, 21), "three 7-byte requests");
    assert_eq!(ok.bounds().count(), 14, "A66's size buckets");

    let started = find(&exported, "grpc.client.attempt.started");
    assert_eq!(started.unit(), "{attempt}");
    let AggregatedMetrics::U64(MetricData::Sum(sum)) = started.data() else {
        panic!("attempt.started is {:?}", started.data());
    };
    let point = sum.data_points().next().unwrap();
    assert_eq!(point.value(), 4);
    assert_eq!(
        attributes(point.attributes()),
        [
            ("grpc.method".to_owned(), "demo.Echo/Say".to_owned()),
            ("grpc.target".to_owned(), target)
        ]
    );
    for name in [
        "grpc.client.attempt.duration",
        "grpc.client.attempt.sent_total_compressed_message_size",
        "grpc.client.attempt.rcvd_total_compressed_message_size",
        "grpc.client.call.duration",
        "grpc.server.call.started",
        "grpc.server.call.sent_total_compressed_message_size",
    ] {
        find(&exported, name);
    }
}

#[test]
fn otlp_export_reaches_a_grpcio_receiver() {
    let _serial = serial();
    let Some(python) =
        protocall_tests::harness::python_with("grpc, opentelemetry.proto.collector.metrics.v1")
    else {
        return;
    };
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut command = peers::python_command(&python, "otlp_receiver.py");
    command.arg(format!("--out={}", out.path().display()));
    let receiver = peers::Server::start("otlp_receiver.py", command);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let provider = runtime.block_on(async {
        // tonic's channel lives on this runtime; the reader's thread exports
        // through it.
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(format!("http://127.0.0.1:{}", receiver.port))
            .build()
            .unwrap();
        let provider = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        make_calls(&Metrics::with_meter_provider(&provider)).await;
        provider
    });
    let flushed = std::thread::spawn(move || {
        let result = provider.force_flush();
        (provider, result)
    });
    let (provider, result) = flushed.join().unwrap();
    result.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let exported = loop {
        let text = std::fs::read_to_string(out.path()).unwrap_or_default();
        if text.contains("grpc.server.call.duration") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(provider);
    receiver.stop().unwrap();
    let exports: Vec<serde_json::Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let metrics: Vec<&serde_json::Value> =
        exports.iter().flat_map(|e| e.as_array().unwrap()).collect();
    let duration = metrics
        .iter()
        .find(|m| m["name"] == "grpc.server.call.duration")
        .unwrap_or_else(|| panic!("the receiver got no grpc.server.call.duration: {exported}"));
    assert_eq!(duration["scope"], "protocall");
    assert_eq!(duration["unit"], "s");
    assert_eq!(duration["kind"], "histogram");
    let not_found = duration["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["attributes"]["grpc.status"] == "NOT_FOUND")
        .unwrap();
    assert_eq!(not_found["attributes"]["grpc.method"], "demo.Echo/Say");
    assert_eq!(
        not_found["count"],
        "1".parse::<serde_json::Value>().unwrap()
    );
    assert_eq!(not_found["bounds"].as_array().unwrap().len(), 41);
    let started = metrics
        .iter()
        .find(|m| m["name"] == "grpc.client.attempt.started")
        .unwrap();
    assert_eq!(started["kind"], "sum");
    assert_eq!(started["points"][0]["value"], 4);
}

#[test]
fn call_spans_join_one_opentelemetry_trace_across_two_hops() {
    let _serial = serial();
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app_trace = runtime.block_on(async {
        let (back, _stop_back) =
            serve(protocall::Server::builder().add_service(Echo::default())).await;
        let back = Grpc::new(
            Endpoint::new(format!("http://{back}"))
                .unwrap()
                .connect_lazy(),
        );
        let (front, _stop_front) = serve(protocall::Server::builder().add_service(Echo {
            downstream: Some(back),
        }))
        .await;
        let grpc = Grpc::new(
            Endpoint::new(format!("http://{front}"))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        let app = tracing::info_span!("app");
        let app_trace = app.context().span().span_context().trace_id();
        let call =
            grpc.unary::<_, StringValue>(Request::new(StringValue::from("hi")), "/demo.Echo/Say");
        tracing::Instrument::instrument(call, app).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        app_trace
    });
    drop(runtime);
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let calls: Vec<_> = spans.iter().filter(|s| s.name == "demo.Echo/Say").collect();
    assert_eq!(
        calls.len(),
        4,
        "two hops, a client and a server span each: {spans:#?}"
    );
    for span in &calls {
        assert_eq!(
            span.span_context.trace_id(),
            app_trace,
            "one trace: {span:#?}"
        );
        assert!(
            attributes(span.attributes.iter())
                .contains(&("rpc.system".to_owned(), "grpc".to_owned()))
        );
    }
    let by_id = |id| calls.iter().find(|s| s.span_context.span_id() == id);
    let clients: Vec<_> = calls
        .iter()
        .filter(|s| s.span_kind == SpanKind::Client)
        .collect();
    let servers: Vec<_> = calls
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!((clients.len(), servers.len()), (2, 2));
    // Each server span's parent is a client span, received over the wire.
    for server in &servers {
        let parent = by_id(server.parent_span_id).expect("a server's parent is a client span");
        assert_eq!(parent.span_kind, SpanKind::Client);
        assert!(server.parent_span_is_remote);
    }
    // The second hop's client span is the first server span's child.
    let inner_client = clients
        .iter()
        .find(|c| by_id(c.parent_span_id).is_some())
        .expect("a nested client span");
    assert_eq!(
        by_id(inner_client.parent_span_id).unwrap().span_kind,
        SpanKind::Server
    );
}
