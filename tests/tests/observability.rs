//! Observability: the span of every call on both sides (OpenTelemetry's
//! RPC semantic conventions) captured with a test subscriber, trace
//! context propagated through protocall and through an OpenTelemetry-
//! instrumented Python `grpcio` server, and the A66 metrics read back as
//! Prometheus text, also through PyPI `prometheus-client`'s parser.

#[path = "support/peers.rs"]
mod peers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use protocall::client::{Endpoint, Grpc, ServiceConfig};
use protocall::metrics::Metrics;
use protocall::server::{
    Call, GrpcService, NamedService, ResponseFuture, server_streaming, unary, unimplemented,
};
use protocall::trace::TraceContext;
use protocall::types::StringValue;
use protocall::{Code, Message, Request, Response, Status};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

// ------------------------------------------------------------- the service

/// `demo.Echo`: `Say` answers its value with the trace context it runs in
/// (or asks `downstream` and answers that), `fail` is NOT_FOUND; `Count`
/// streams three messages; `Flaky` fails every other call UNAVAILABLE.
#[derive(Clone, Default)]
struct Echo {
    downstream: Option<Grpc>,
    flaky: Arc<AtomicUsize>,
}

impl NamedService for Echo {
    const NAME: &'static str = "demo.Echo";
}

impl GrpcService for Echo {
    fn call(&self, call: Call) -> ResponseFuture {
        let this = self.clone();
        match call.method() {
            "Say" => unary(call, move |request: Request<StringValue>| async move {
                let seen = request.extensions().get::<TraceContext>().cloned();
                assert_eq!(seen, TraceContext::current(), "extension and current agree");
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
                let trace = match TraceContext::current() {
                    Some(context) => {
                        format!("trace={} span={}", context.trace_id(), context.span_id())
                    }
                    None => "trace=none".to_owned(),
                };
                Ok(Response::new(StringValue::from(format!("{value} {trace}"))))
            }),
            "Count" => server_streaming(call, |_: Request<StringValue>| async move {
                let items = (0..3).map(|_| Ok(StringValue::from("item")));
                Ok(Response::new(futures_util::stream::iter(items)))
            }),
            "Flaky" => unary(call, move |request: Request<StringValue>| async move {
                if this.flaky.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                    return Err(Status::unavailable("try again"));
                }
                Ok(Response::new(request.into_inner()))
            }),
            _ => unimplemented(call),
        }
    }

    fn methods(&self) -> Option<&'static [&'static str]> {
        Some(&["Say", "Count", "Flaky"])
    }
}

struct Running {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(router: protocall::server::Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(router.serve_with_listener(listener, async move {
        let _ = stopped.await;
    }));
    Running { addr, _stop: stop }
}

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `test` on a runtime of its own, one test of this file at a time:
/// tracing caches which callsites are wanted process-wide, and a call made
/// on a thread with no subscriber while another test installs its own can
/// leave that test's spans unrecorded.
fn serially<F: std::future::Future>(test: F) -> F::Output {
    let _serial = serial();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
}

fn say(value: &str) -> Request<StringValue> {
    Request::new(StringValue::from(value))
}

// ------------------------------------------------------- a test subscriber

#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: &'static str,
    fields: BTreeMap<String, String>,
    events: Vec<BTreeMap<String, String>>,
}

/// Every span (by id) and the events inside each.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, SpanRecord>>>,
}

impl Capture {
    fn spans(&self, name: &str) -> Vec<SpanRecord> {
        let spans = self.spans.lock().unwrap();
        spans.values().filter(|s| s.name == name).cloned().collect()
    }

    fn everything(&self) -> String {
        format!("{:?}", self.spans.lock().unwrap())
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        let mut record = SpanRecord {
            name: attrs.metadata().name(),
            ..SpanRecord::default()
        };
        attrs.record(&mut Fields(&mut record.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), record);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        if let Some(record) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        if let Some(record) = self.spans.lock().unwrap().get_mut(&span.id().into_u64()) {
            record.events.push(fields);
        }
    }
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> &'a str {
    span.fields
        .get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("span {} has no {name}: {:?}", span.name, span.fields))
}

fn messages(span: &SpanRecord, direction: &str) -> Vec<(String, String)> {
    span.events
        .iter()
        .filter(|e| e.get("rpc.message.type").map(String::as_str) == Some(direction))
        .map(|e| {
            (
                e["rpc.message.id"].clone(),
                e["rpc.message.compressed_size"].clone(),
            )
        })
        .collect()
}

// ------------------------------------------------------------------ spans

#[test]
fn every_call_has_a_span_on_each_side_named_and_attributed_by_the_semantic_conventions() {
    serially(async {
        let capture = Capture::default();
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
        let server = serve(protocall::Server::builder().add_service(Echo::default())).await;
        let channel = Endpoint::new(format!("http://{}", server.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let grpc = Grpc::new(channel);

        let mut request = say("secret-payload-text");
        request
            .metadata_mut()
            .insert("authorization", "Bearer secret-token-text")
            .unwrap();
        let reply = grpc
            .unary::<_, StringValue>(request, "/demo.Echo/Say")
            .await
            .unwrap();
        let reply_len = reply.get_ref().encoded_len().to_string();
        let status = grpc
            .unary::<_, StringValue>(say("fail"), "/demo.Echo/Say")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let mut stream = grpc
            .server_streaming::<_, StringValue>(say("x"), "/demo.Echo/Count")
            .await
            .unwrap()
            .into_inner();
        while stream.message().await.unwrap().is_some() {}
        drop(stream);
        // The server's spans close as its tasks finish their responses.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;

        let servers = capture.spans("grpc.server");
        let clients = capture.spans("grpc.client");
        assert_eq!(
            (servers.len(), clients.len()),
            (3, 3),
            "{}",
            capture.everything()
        );
        let port = server.addr.port().to_string();
        for (span, kind) in servers
            .iter()
            .map(|s| (s, "server"))
            .chain(clients.iter().map(|s| (s, "client")))
        {
            assert_eq!(field(span, "rpc.system"), "grpc");
            assert_eq!(field(span, "rpc.service"), "demo.Echo");
            assert_eq!(field(span, "otel.kind"), kind);
            assert_eq!(field(span, "server.address"), "127.0.0.1");
            assert_eq!(field(span, "server.port"), port);
        }
        for server in &servers {
            assert_eq!(field(server, "network.peer.address"), "127.0.0.1");
            assert!(field(server, "network.peer.port").parse::<u16>().is_ok());
        }

        let ok: Vec<_> = servers
            .iter()
            .filter(|s| field(s, "rpc.method") == "Say" && field(s, "rpc.grpc.status_code") == "0")
            .collect();
        assert_eq!(ok.len(), 1, "{servers:?}");
        assert_eq!(field(ok[0], "otel.name"), "demo.Echo/Say");
        // 2 + 19 bytes of StringValue on the wire, each way one message.
        assert_eq!(
            messages(ok[0], "RECEIVED"),
            [("1".to_owned(), "21".to_owned())]
        );
        assert_eq!(
            messages(ok[0], "SENT"),
            [("1".to_owned(), reply_len.clone())]
        );
        let ok_client = clients
            .iter()
            .find(|s| field(s, "rpc.grpc.status_code") == "0" && field(s, "rpc.method") == "Say")
            .unwrap();
        assert_eq!(
            messages(ok_client, "SENT"),
            [("1".to_owned(), "21".to_owned())]
        );
        assert_eq!(
            messages(ok_client, "RECEIVED"),
            [("1".to_owned(), reply_len)]
        );
        assert!(!ok_client.fields.contains_key("otel.status_code"));

        // NOT_FOUND: an error for the client; not a server fault.
        let failed_server = servers
            .iter()
            .find(|s| field(s, "rpc.grpc.status_code") == "5")
            .unwrap();
        assert!(
            !failed_server.fields.contains_key("otel.status_code"),
            "{failed_server:?}"
        );
        let failed_client = clients
            .iter()
            .find(|s| field(s, "rpc.grpc.status_code") == "5")
            .unwrap();
        assert_eq!(field(failed_client, "otel.status_code"), "ERROR");
        for span in [failed_server, failed_client] {
            let logged: Vec<_> = span
                .events
                .iter()
                .filter(|e| e.get("message").map(String::as_str) == Some("call failed"))
                .collect();
            assert_eq!(
                logged.len(),
                1,
                "one log line per failed call and side: {span:?}"
            );
            assert_eq!(logged[0]["status"], "NOT_FOUND");
        }

        let streamed = clients
            .iter()
            .find(|s| field(s, "rpc.method") == "Count")
            .unwrap();
        let received = messages(streamed, "RECEIVED");
        assert_eq!(
            received
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
            ["1", "2", "3"]
        );

        let everything = capture.everything();
        assert!(
            !everything.contains("secret-payload-text"),
            "a payload was logged: {everything}"
        );
        assert!(
            !everything.contains("secret-token-text"),
            "a credential was logged: {everything}"
        );
    });
}

#[test]
fn no_span_is_made_when_no_subscriber_wants_it() {
    serially(async {
        let capture = Capture::default();
        // A subscriber that wants nothing at INFO: the spans are disabled, and
        // calls still succeed. (A dynamic filter: a static one would cache
        // "never" for the callsites, process-wide, and blind the tests running
        // beside this one.)
        let filtered = tracing_subscriber::registry().with(tracing_subscriber::Layer::with_filter(
            capture.clone(),
            tracing_subscriber::filter::dynamic_filter_fn(|meta, _| {
                meta.level() > &tracing::Level::INFO
            }),
        ));
        let _guard = tracing::subscriber::set_default(filtered);
        let server = serve(protocall::Server::builder().add_service(Echo::default())).await;
        let grpc = Grpc::new(
            Endpoint::new(format!("http://{}", server.addr))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        grpc.unary::<_, StringValue>(say("hi"), "/demo.Echo/Say")
            .await
            .unwrap();
        assert!(capture.spans("grpc.server").is_empty() && capture.spans("grpc.client").is_empty());
    });
}

// ----------------------------------------------------------- trace context

#[test]
fn a_trace_context_crosses_two_hops_and_is_current_in_each_handler() {
    serially(async {
        let capture = Capture::default();
        let _guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
        let back = serve(protocall::Server::builder().add_service(Echo::default())).await;
        let back_channel = Endpoint::new(format!("http://{}", back.addr))
            .unwrap()
            .connect_lazy();
        let front = serve(protocall::Server::builder().add_service(Echo {
            downstream: Some(Grpc::new(back_channel)),
            ..Echo::default()
        }))
        .await;
        let channel = Endpoint::new(format!("http://{}", front.addr))
            .unwrap()
            .grpc_trace_bin(true)
            .connect()
            .await
            .unwrap();
        let grpc = Grpc::new(channel);

        let root = TraceContext::new_root(true);
        let mut request = say("hi");
        request.extensions_mut().insert(root.clone());
        let reply = grpc
            .unary::<_, StringValue>(request, "/demo.Echo/Say")
            .await
            .unwrap()
            .into_inner()
            .value;
        let trace = format!("trace={}", root.trace_id());
        assert!(reply.contains(&trace), "{reply}");
        let span_id = reply.rsplit_once("span=").unwrap().1;
        assert_ne!(span_id, root.span_id(), "each hop has its own span id");

        // Without a context, no trace headers go out and handlers see none.
        let reply = grpc
            .unary::<_, StringValue>(say("hi"), "/demo.Echo/Say")
            .await
            .unwrap()
            .into_inner()
            .value;
        assert!(reply.ends_with("trace=none"), "{reply}");

        let servers = capture.spans("grpc.server");
        let traced: Vec<_> = servers
            .iter()
            .filter(|s| s.fields.get("trace_id").map(String::as_str) == Some(&root.trace_id()[..]))
            .collect();
        assert_eq!(
            traced.len(),
            2,
            "both hops' server spans carry the trace id: {servers:?}"
        );
    });
}

// ---------------------------------------------------------------- metrics

fn line_value(text: &str, prefix: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix) && l[prefix.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
    line.rsplit_once(' ').unwrap().1.parse().unwrap()
}

#[test]
fn a66_metrics_count_calls_attempts_statuses_and_message_bytes() {
    serially(async {
        let metrics = Metrics::new();
        let server = serve(
            protocall::Server::builder()
                .metrics(metrics.clone())
                .add_service(Echo::default()),
        )
        .await;
        let config = ServiceConfig::from_json(
            r#"{"methodConfig": [{"name": [{"service": "demo.Echo", "method": "Flaky"}],
            "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.01s",
                            "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}"#,
        )
        .unwrap();
        let target = format!("http://{}", server.addr);
        let channel = Endpoint::new(&target)
            .unwrap()
            .metrics(metrics.clone())
            .service_config(config)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let grpc = Grpc::new(channel);
        for _ in 0..3 {
            grpc.unary::<_, StringValue>(say("hello"), "/demo.Echo/Say")
                .await
                .unwrap();
        }
        grpc.unary::<_, StringValue>(say("fail"), "/demo.Echo/Say")
            .await
            .unwrap_err();
        let status = grpc
            .unary::<_, StringValue>(say("x"), "/demo.Echo/Nope")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        let status = grpc
            .unary::<_, StringValue>(say("x"), "/demo.Nowhere/Nope")
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        let mut stream = grpc
            .server_streaming::<_, StringValue>(say("x"), "/demo.Echo/Count")
            .await
            .unwrap()
            .into_inner();
        while stream.message().await.unwrap().is_some() {}
        drop(stream);
        grpc.unary::<_, StringValue>(say("again"), "/demo.Echo/Flaky")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;

        let text = metrics.prometheus();
        let say_m = r#"grpc_method="demo.Echo/Say""#;
        let server_line =
            |name: &str, status: &str| format!("{name}{{{say_m},grpc_status=\"{status}\"}}");
        assert_eq!(
            line_value(&text, &format!("grpc_server_call_started_total{{{say_m}}}")),
            4.0
        );
        assert_eq!(
            line_value(
                &text,
                &server_line("grpc_server_call_duration_seconds_count", "OK")
            ),
            3.0
        );
        assert_eq!(
            line_value(
                &text,
                &server_line("grpc_server_call_duration_seconds_count", "NOT_FOUND")
            ),
            1.0
        );
        // "hello" is 7 bytes as a StringValue; "hello trace=none" 18.
        assert_eq!(
            line_value(
                &text,
                &server_line(
                    "grpc_server_call_rcvd_total_compressed_message_size_bytes_sum",
                    "OK"
                )
            ),
            21.0
        );
        assert_eq!(
            line_value(
                &text,
                &server_line(
                    "grpc_server_call_sent_total_compressed_message_size_bytes_sum",
                    "OK"
                )
            ),
            54.0
        );
        assert_eq!(
            line_value(
                &text,
                &server_line(
                    "grpc_server_call_sent_total_compressed_message_size_bytes_sum",
                    "NOT_FOUND"
                )
            ),
            0.0
        );
        assert_eq!(
            line_value(
                &text,
                &server_line("grpc_server_call_duration_seconds_bucket", "OK")
                    .replace('}', ",le=\"+Inf\"}")
            ),
            3.0
        );
        // Unknown methods and services are "other", never their names.
        assert_eq!(
            line_value(
                &text,
                r#"grpc_server_call_duration_seconds_count{grpc_method="other",grpc_status="UNIMPLEMENTED"}"#
            ),
            2.0
        );
        assert!(!text.contains(r#"grpc_server_call_started_total{grpc_method="demo.Echo/Nope"}"#));
        let count_sent = line_value(
            &text,
            r#"grpc_server_call_sent_total_compressed_message_size_bytes_sum{grpc_method="demo.Echo/Count",grpc_status="OK"}"#,
        );
        assert_eq!(count_sent, 18.0, "three 6-byte messages");

        // The client: one attempt per call, two for the retried one.
        let client = |name: &str, method: &str, status: Option<&str>| match status {
            Some(status) => format!(
                "{name}{{grpc_method=\"demo.Echo/{method}\",grpc_target=\"{target}\",grpc_status=\"{status}\"}}"
            ),
            None => {
                format!("{name}{{grpc_method=\"demo.Echo/{method}\",grpc_target=\"{target}\"}}")
            }
        };
        assert_eq!(
            line_value(
                &text,
                &client("grpc_client_attempt_started_total", "Say", None)
            ),
            4.0
        );
        assert_eq!(
            line_value(
                &text,
                &client("grpc_client_call_duration_seconds_count", "Say", Some("OK"))
            ),
            3.0
        );
        assert_eq!(
            line_value(
                &text,
                &client(
                    "grpc_client_attempt_sent_total_compressed_message_size_bytes_sum",
                    "Say",
                    Some("OK")
                )
            ),
            21.0
        );
        assert_eq!(
            line_value(
                &text,
                &client(
                    "grpc_client_attempt_rcvd_total_compressed_message_size_bytes_sum",
                    "Say",
                    Some("OK")
                )
            ),
            54.0
        );
        assert_eq!(
            line_value(
                &text,
                &client("grpc_client_attempt_started_total", "Flaky", None)
            ),
            2.0
        );
        assert_eq!(
            line_value(
                &text,
                &client(
                    "grpc_client_attempt_duration_seconds_count",
                    "Flaky",
                    Some("UNAVAILABLE")
                )
            ),
            1.0
        );
        assert_eq!(
            line_value(
                &text,
                &client(
                    "grpc_client_attempt_duration_seconds_count",
                    "Flaky",
                    Some("OK")
                )
            ),
            1.0
        );
        assert_eq!(
            line_value(
                &text,
                &client(
                    "grpc_client_call_duration_seconds_count",
                    "Flaky",
                    Some("OK")
                )
            ),
            1.0
        );
        assert!(!text.contains(&client(
            "grpc_client_call_duration_seconds_count",
            "Flaky",
            Some("UNAVAILABLE")
        )));

        let summary = metrics.summary();
        let flaky = summary
            .rows
            .iter()
            .find(|r| r.side == "client" && r.method == "demo.Echo/Flaky")
            .unwrap();
        assert_eq!((flaky.calls, flaky.attempts), (1, 2));
    });
}

#[test]
fn the_prometheus_endpoint_parses_with_prometheus_client() {
    let Some(python) = protocall_tests::harness::python_with("prometheus_client") else {
        return;
    };
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let metrics = Metrics::new();
    let addr = runtime.block_on(async {
        let routes = protocall::Server::builder()
            .metrics(metrics.clone())
            .add_service(Echo::default())
            .into_routes();
        let app = axum::Router::new()
            .route_service("/metrics", metrics.service())
            .fallback_service(routes);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let grpc = Grpc::new(
            Endpoint::new(format!("http://{addr}"))
                .unwrap()
                .metrics(metrics.clone())
                .connect()
                .await
                .unwrap(),
        );
        grpc.unary::<_, StringValue>(say("hello"), "/demo.Echo/Say")
            .await
            .unwrap();
        grpc.unary::<_, StringValue>(say("fail"), "/demo.Echo/Say")
            .await
            .unwrap_err();
        addr
    });
    let mut command = peers::python_command(&python, "prometheus_scrape.py");
    command.arg(format!("http://{addr}/metrics"));
    let out = peers::run_client(command).unwrap_or_else(|e| panic!("prometheus_scrape.py: {e}"));
    let parsed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        parsed["content_type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let families = parsed["families"].as_object().unwrap();
    for (name, kind) in [
        ("grpc_server_call_started", "counter"),
        ("grpc_server_call_duration_seconds", "histogram"),
        (
            "grpc_server_call_sent_total_compressed_message_size_bytes",
            "histogram",
        ),
        (
            "grpc_server_call_rcvd_total_compressed_message_size_bytes",
            "histogram",
        ),
        ("grpc_client_attempt_started", "counter"),
        ("grpc_client_attempt_duration_seconds", "histogram"),
        (
            "grpc_client_attempt_sent_total_compressed_message_size_bytes",
            "histogram",
        ),
        (
            "grpc_client_attempt_rcvd_total_compressed_message_size_bytes",
            "histogram",
        ),
        ("grpc_client_call_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            families.get(name).and_then(|k| k.as_str()),
            Some(kind),
            "{name} in {families:?}"
        );
    }
    let sample = |name: &str, status: &str| {
        parsed["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s[0] == name
                    && s[1]["grpc_method"] == "demo.Echo/Say"
                    && s[1]["grpc_status"] == status
            })
            .map(|s| s[2].as_f64().unwrap())
            .unwrap_or_else(|| panic!("no {name} {status}: {out}"))
    };
    assert_eq!(sample("grpc_server_call_duration_seconds_count", "OK"), 1.0);
    assert_eq!(
        sample("grpc_server_call_duration_seconds_count", "NOT_FOUND"),
        1.0
    );
    assert_eq!(
        sample("grpc_client_call_duration_seconds_count", "NOT_FOUND"),
        1.0
    );
    assert_eq!(
        sample(
            "grpc_server_call_rcvd_total_compressed_message_size_bytes_sum",
            "OK"
        ),
        7.0
    );
    let buckets: Vec<f64> = parsed["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s[0] == "grpc_server_call_duration_seconds_bucket" && s[1]["grpc_status"] == "OK"
        })
        .map(|s| s[1]["le"].as_str().unwrap().parse::<f64>().unwrap())
        .collect();
    assert_eq!(buckets.len(), 42, "A66's 41 latency bounds and +Inf");
    assert_eq!((buckets[1], buckets[40]), (0.00001, 100.0));
}

// ---------------------------------------------- across a Python grpcio hop

#[test]
fn one_trace_crosses_protocall_then_instrumented_grpcio_then_protocall() {
    let Some(python) = protocall_tests::harness::python_with(
        "grpc, opentelemetry.sdk.trace, opentelemetry.instrumentation.grpc",
    ) else {
        return;
    };
    let _serial = serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let back = runtime.block_on(serve(
        protocall::Server::builder().add_service(Echo::default()),
    ));
    let mut command = peers::python_command(&python, "otel_relay.py");
    command.arg(format!("--downstream=127.0.0.1:{}", back.addr.port()));
    let relay = peers::Server::start("otel_relay.py", command);
    let reply = runtime.block_on(async {
        let grpc = Grpc::new(
            Endpoint::new(format!("http://127.0.0.1:{}", relay.port))
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
        let root = TraceContext::new_root(true);
        let mut request = say("hi");
        request.extensions_mut().insert(root.clone());
        let reply = grpc
            .unary::<_, StringValue>(request, "/demo.Echo/Say")
            .await
            .unwrap();
        (root, reply.into_inner().value)
    });
    relay.stop().unwrap();
    let (root, reply) = reply;
    // "hi trace=T span=S relay_trace=T relay_span=R"
    let word = |key: &str| {
        reply
            .split(' ')
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {reply:?}"))
            .to_owned()
    };
    assert_eq!(
        word("relay_trace="),
        root.trace_id(),
        "grpcio continued the trace: {reply}"
    );
    assert_eq!(
        word("trace="),
        root.trace_id(),
        "the last protocall server saw the same trace: {reply}"
    );
    let (relay_span, last_span) = (word("relay_span="), word("span="));
    assert_ne!(relay_span, root.span_id());
    assert_ne!(last_span, relay_span);
}
