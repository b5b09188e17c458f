//! gRPC call metrics as gRFC A66 defines them (the OpenTelemetry metrics of
//! grpc-go, grpc-java and grpc-core), kept in memory and rendered in the
//! Prometheus text format.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use crate::grpc::status::Code;

/// A66's latency buckets, in seconds.
pub(crate) const LATENCY_BOUNDS: [f64; 41] = [
    0.0, 0.00001, 0.00005, 0.0001, 0.0003, 0.0006, 0.0008, 0.001, 0.002, 0.003, 0.004, 0.005,
    0.006, 0.008, 0.01, 0.013, 0.016, 0.02, 0.025, 0.03, 0.04, 0.05, 0.065, 0.08, 0.1, 0.13, 0.16,
    0.2, 0.25, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
];

/// A66's size buckets, in bytes.
pub(crate) const SIZE_BOUNDS: [f64; 14] = [
    0.0,
    1024.0,
    2048.0,
    4096.0,
    16384.0,
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    67108864.0,
    268435456.0,
    1073741824.0,
    4294967296.0,
];

/// The name recorded for methods a server does not know and targets
/// filtered out (A66: unregistered names would let a caller grow the
/// metrics without bound).
const OTHER_METHOD: &str = "other";

/// Call metrics of servers and channels (gRFC A66), shared by every
/// server and channel given a clone of it, read as Prometheus text or as a
/// per-method summary.
///
/// The instruments are A66's, with its attributes and bucket boundaries:
/// `grpc.server.call.started`, `.duration`,
/// `.sent_total_compressed_message_size`,
/// `.rcvd_total_compressed_message_size` (by `grpc.method`,
/// `grpc.status`); `grpc.client.attempt.started`, `.duration`, the two
/// attempt size histograms, and `grpc.client.call.duration` (by
/// `grpc.method`, `grpc.target`, `grpc.status`). Sizes are of the messages
/// as sent (compressed), without gRPC's 5-byte prefixes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::metrics::Metrics;
/// let metrics = Metrics::new();
/// let (_reporter, health) = protocall::health::health_service();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let uri = format!("http://{}", listener.local_addr()?);
/// let server = protocall::Server::builder().metrics(metrics.clone()).add_service(health);
/// tokio::spawn(server.serve_with_listener(listener, std::future::pending()));
///
/// let channel = protocall::client::Endpoint::new(&uri)?.metrics(metrics.clone()).connect().await?;
/// let client = protocall::health::health_client::HealthClient::new(channel);
/// client.check(protocall::health::HealthCheckRequest::default()).await?;
///
/// let text = metrics.prometheus();
/// assert!(text.contains(r#"grpc_server_call_duration_seconds_count{grpc_method="grpc.health.v1.Health/Check",grpc_status="OK"} 1"#));
/// assert!(text.contains("grpc_client_attempt_started_total{"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Metrics {
    registry: Arc<Registry>,
    filters: Filters,
    /// A66's instruments on the application's OpenTelemetry meter.
    #[cfg(feature = "opentelemetry")]
    otel: Option<Arc<crate::grpc::otel::Instruments>>,
}

/// Whether a name is recorded as it is.
type Keep = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A66's overrides of what the attributes record.
#[derive(Clone, Default)]
struct Filters {
    target: Option<Keep>,
    generic_method: Option<Keep>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Registry {
    server: RwLock<HashMap<Box<str>, Arc<ServerMethod>>>,
    client: RwLock<HashMap<Box<str>, Arc<TargetMethods>>>,
}

/// The instruments of one target's methods.
pub(crate) struct TargetMethods {
    methods: RwLock<HashMap<Box<str>, Arc<ClientMethod>>>,
    #[cfg(feature = "opentelemetry")]
    target: Box<str>,
    #[cfg(feature = "opentelemetry")]
    otel: Option<Arc<crate::grpc::otel::Instruments>>,
}

impl TargetMethods {
    /// The instruments of calls to `method`.
    pub(crate) fn method(&self, method: &str) -> Arc<ClientMethod> {
        entry(&self.methods, method, || {
            let instruments = ClientMethod {
                #[cfg(feature = "opentelemetry")]
                otel: self.otel.clone().map(|otel| {
                    crate::grpc::otel::MethodInstruments::client(otel, &self.target, method)
                }),
                ..ClientMethod::default()
            };
            (method.into(), instruments)
        })
    }
}

/// Looks `key` up, adding it on first use; the read lock is all a known
/// key costs.
fn entry<K, V, Q>(
    map: &RwLock<HashMap<K, Arc<V>>>,
    key: &Q,
    make: impl FnOnce() -> (K, V),
) -> Arc<V>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(found) = map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return found.clone();
    }
    let mut map = map.write().unwrap_or_else(|e| e.into_inner());
    if let Some(found) = map.get(key) {
        return found.clone();
    }
    let (key, value) = make();
    let value = Arc::new(value);
    map.insert(key, value.clone());
    value
}

impl Metrics {
    /// An empty set of metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Metrics recorded both here and on `provider`'s meter (named
    /// `protocall`): A66's instruments with its names, units, attributes
    /// and bucket boundaries (as advice), exported however the
    /// application's OpenTelemetry SDK exports (OTLP, Prometheus…).
    ///
    /// ```
    /// let provider = opentelemetry::metrics::noop::NoopMeterProvider::new();
    /// let metrics = protocall::metrics::Metrics::with_meter_provider(&provider);
    /// let server = protocall::Server::builder().metrics(metrics);
    /// # let _ = server;
    /// ```
    #[cfg(feature = "opentelemetry")]
    pub fn with_meter_provider(provider: &dyn opentelemetry::metrics::MeterProvider) -> Metrics {
        Metrics {
            registry: Arc::default(),
            filters: Filters::default(),
            otel: Some(Arc::new(crate::grpc::otel::Instruments::new(provider))),
        }
    }

    /// Records a channel's target as `grpc.target` only when `keep` says
    /// so, else as `other` (A66: targets made of IP addresses would grow
    /// the metrics without bound). Channels made with these metrics after
    /// this call are affected.
    ///
    /// ```
    /// let metrics = protocall::metrics::Metrics::new().target_filter(|target| target.starts_with("dns:"));
    /// # let _ = metrics;
    /// ```
    pub fn target_filter(mut self, keep: impl Fn(&str) -> bool + Send + Sync + 'static) -> Metrics {
        self.filters.target = Some(Arc::new(keep));
        self
    }

    /// Records calls to methods a server does not have under their own
    /// names when `keep` says so (A66's generic-method option), instead
    /// of `other`.
    ///
    /// ```
    /// let metrics = protocall::metrics::Metrics::new().generic_method_filter(|method| method.starts_with("proxy."));
    /// # let _ = metrics;
    /// ```
    pub fn generic_method_filter(
        mut self,
        keep: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Metrics {
        self.filters.generic_method = Some(Arc::new(keep));
        self
    }

    /// The instruments of a server call to `method` (`service/method`),
    /// named `other` when the server does not have it and the generic
    /// method filter does not keep it.
    pub(crate) fn server_call(&self, method: &str, registered: bool) -> Arc<ServerMethod> {
        let keep = registered
            || self
                .filters
                .generic_method
                .as_ref()
                .is_some_and(|keep| keep(method));
        self.server(if keep { method } else { OTHER_METHOD })
    }

    /// The name a channel's target is recorded under.
    pub(crate) fn target_name<'a>(&self, target: &'a str) -> &'a str {
        match &self.filters.target {
            Some(keep) if !keep(target) => OTHER_METHOD,
            _ => target,
        }
    }

    /// The instruments of server calls to `method` (`service/method`).
    pub(crate) fn server(&self, method: &str) -> Arc<ServerMethod> {
        entry(&self.registry.server, method, || {
            let instruments = ServerMethod {
                #[cfg(feature = "opentelemetry")]
                otel: self
                    .otel
                    .clone()
                    .map(|otel| crate::grpc::otel::MethodInstruments::server(otel, method)),
                ..ServerMethod::default()
            };
            (method.into(), instruments)
        })
    }

    /// The instruments of the calls through `target` (a channel takes
    /// this once).
    pub(crate) fn target(&self, target: &str) -> Arc<TargetMethods> {
        entry(&self.registry.client, target, || {
            let methods = TargetMethods {
                methods: RwLock::default(),
                #[cfg(feature = "opentelemetry")]
                target: target.into(),
                #[cfg(feature = "opentelemetry")]
                otel: self.otel.clone(),
            };
            (target.into(), methods)
        })
    }

    /// The metrics in the Prometheus text exposition format (version
    /// 0.0.4), named as OpenTelemetry's Prometheus exporter names A66's
    /// instruments: `grpc.server.call.duration` (seconds) becomes
    /// `grpc_server_call_duration_seconds`, a counter gains `_total`, sizes
    /// `_bytes`, and attributes become `grpc_method`, `grpc_status`,
    /// `grpc_target` labels.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        let server = self
            .registry
            .server
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let mut servers: Vec<_> = server.iter().collect();
        servers.sort_by(|a, b| a.0.cmp(b.0));
        let server_rows: Vec<Row<'_>> = servers
            .iter()
            .map(|(method, m)| (vec![("grpc_method", &***method)], &m.started, &m.finished))
            .collect();
        render_calls(&mut out, "grpc_server_call", "RPCs", &server_rows);

        let clients = self.clients();
        let client_rows: Vec<Row<'_>> = clients
            .iter()
            .map(|(target, method, m)| {
                let labels = vec![("grpc_method", &**method), ("grpc_target", &**target)];
                (labels, &m.attempts_started, &m.attempts)
            })
            .collect();
        render_calls(
            &mut out,
            "grpc_client_attempt",
            "RPC attempts",
            &client_rows,
        );
        let name = "grpc_client_call_duration_seconds";
        header(
            &mut out,
            name,
            "histogram",
            "End-to-end time the library takes to complete an RPC from the application's perspective.",
        );
        for ((labels, _, _), (_, _, m)) in client_rows.iter().zip(&clients) {
            for (code, duration) in m.calls.statuses() {
                let mut labels = labels.clone();
                labels.push(("grpc_status", code.as_str()));
                duration.render(&mut out, name, &labels);
            }
        }
        out
    }

    /// A per-method summary: calls by status, latency percentiles (from
    /// the histogram buckets), bytes. `Display` prints it as a table.
    pub fn summary(&self) -> Summary {
        let mut rows = Vec::new();
        let server = self
            .registry
            .server
            .read()
            .unwrap_or_else(|e| e.into_inner());
        for (method, m) in server.iter() {
            rows.push(m.finished.summary("server", None, method));
        }
        drop(server);
        for (target, method, m) in self.clients() {
            let mut row = m.attempts.summary("client", Some(&target), &method);
            // The call's duration, not the attempts', is what callers saw.
            let calls = StatusSet::summed(&m.calls);
            row.calls = calls.count();
            row.p50 = calls.quantile(0.5);
            row.p99 = calls.quantile(0.99);
            row.attempts = m.attempts_started.load(Relaxed);
            rows.push(row);
        }
        rows.sort_by(|a, b| (a.side, &a.target, &a.method).cmp(&(b.side, &b.target, &b.method)));
        Summary { rows }
    }
}

impl Metrics {
    /// Every (target, method) with its instruments, sorted.
    fn clients(&self) -> Vec<(String, String, Arc<ClientMethod>)> {
        let targets = self
            .registry
            .client
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let mut all = Vec::new();
        for (target, methods) in targets.iter() {
            let methods = methods.methods.read().unwrap_or_else(|e| e.into_inner());
            for (method, m) in methods.iter() {
                all.push((target.to_string(), method.to_string(), m.clone()));
            }
        }
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        all
    }
}

impl Metrics {
    /// A tower service answering `GET` with [`Metrics::prometheus`]: mount
    /// it at `/metrics` next to the gRPC services (axum's
    /// `Router::route_service("/metrics", metrics.service())`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use tower::ServiceExt;
    /// let metrics = protocall::metrics::Metrics::new();
    /// let request = http::Request::get("/metrics").body(protocall::Body::empty()).unwrap();
    /// let response = metrics.service().oneshot(request).await.unwrap();
    /// assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    /// # }
    /// ```
    pub fn service(&self) -> MetricsService {
        MetricsService {
            metrics: self.clone(),
        }
    }
}

/// The Prometheus endpoint of a [`Metrics`] ([`Metrics::service`]).
#[derive(Clone, Debug)]
pub struct MetricsService {
    metrics: Metrics,
}

impl<B> tower_service::Service<http::Request<B>> for MetricsService {
    type Response = http::Response<crate::grpc::Body>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let response = if matches!(*request.method(), http::Method::GET | http::Method::HEAD) {
            let text = bytes::Bytes::from(self.metrics.prometheus());
            let mut response = http::Response::new(crate::grpc::Body::once(text, None));
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        } else {
            let mut response = http::Response::new(crate::grpc::Body::empty());
            *response.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
            response
        };
        std::future::ready(Ok(response))
    }
}

/// One of a finished call's histograms.
type Pick = fn(&Finished) -> &Histogram;

/// A method's labels (without the status), its started counter and its
/// finished calls or attempts.
type Row<'a> = (
    Vec<(&'static str, &'a str)>,
    &'a AtomicU64,
    &'a StatusSet<Finished>,
);

/// `{prefix}.started` and the three histograms of finished calls (A66
/// names them alike on both sides: `grpc.server.call.*`,
/// `grpc.client.attempt.*`).
fn render_calls(out: &mut String, prefix: &str, what: &str, rows: &[Row<'_>]) {
    let started = format!("{prefix}_started_total");
    let help =
        format!("The total number of {what} started, including those that have not completed.");
    header(out, &started, "counter", &help);
    for (labels, count, _) in rows {
        sample(out, &started, labels, count.load(Relaxed));
    }
    let histograms: [(&str, &str, Pick); 3] = [
        (
            "duration_seconds",
            "End-to-end time, from the first headers to the status.",
            |f| &f.duration,
        ),
        (
            "sent_total_compressed_message_size_bytes",
            "Compressed message bytes sent, without gRPC framing.",
            |f| &f.sent,
        ),
        (
            "rcvd_total_compressed_message_size_bytes",
            "Compressed message bytes received, without gRPC framing.",
            |f| &f.rcvd,
        ),
    ];
    for (suffix, help, pick) in histograms {
        let name = format!("{prefix}_{suffix}");
        header(out, &name, "histogram", help);
        for (labels, _, finished) in rows {
            for (code, f) in finished.statuses() {
                let mut labels = labels.clone();
                labels.push(("grpc_status", code.as_str()));
                pick(f).render(out, &name, &labels);
            }
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl fmt::Display) {
    out.push_str(name);
    write_labels(out, labels, None);
    let _ = writeln!(out, " {value}");
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<&str>) {
    out.push('{');
    let all = labels.iter().copied().chain(le.map(|le| ("le", le)));
    for (i, (name, value)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
}

/// One value per status code, made on first use.
struct StatusSet<T> {
    by_code: [OnceLock<Box<T>>; 17],
}

impl<T> Default for StatusSet<T> {
    fn default() -> StatusSet<T> {
        StatusSet {
            by_code: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

impl<T: Default> StatusSet<T> {
    fn get(&self, code: Code) -> &T {
        self.by_code[code as usize].get_or_init(Box::default)
    }

    fn statuses(&self) -> impl Iterator<Item = (Code, &T)> {
        self.by_code
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| Some((Code::from_i32(i as i32), &**slot.get()?)))
    }
}

impl StatusSet<Histogram> {
    /// All statuses' observations in one histogram.
    fn summed(set: &StatusSet<Histogram>) -> Histogram {
        let total = Histogram::default();
        for (_, h) in set.statuses() {
            total.add(h);
        }
        total
    }
}

/// What a finished call or attempt records.
struct Finished {
    duration: Histogram,
    sent: Histogram,
    rcvd: Histogram,
}

impl Finished {
    fn record(&self, duration: Duration, sent: u64, rcvd: u64) {
        self.duration.record(duration.as_nanos() as u64);
        self.sent.record(sent);
        self.rcvd.record(rcvd);
    }
}

impl Default for Finished {
    fn default() -> Finished {
        Finished {
            duration: Histogram::default(),
            sent: Histogram::size(),
            rcvd: Histogram::size(),
        }
    }
}

impl StatusSet<Finished> {
    fn summary(&self, side: &'static str, target: Option<&str>, method: &str) -> MethodSummary {
        let duration = Histogram::default();
        let (mut sent, mut rcvd) = (0, 0);
        let mut statuses = Vec::new();
        for (code, finished) in self.statuses() {
            duration.add(&finished.duration);
            sent += finished.sent.sum.load(Relaxed);
            rcvd += finished.rcvd.sum.load(Relaxed);
            statuses.push((code, finished.duration.count()));
        }
        MethodSummary {
            side,
            target: target.map(str::to_owned),
            method: method.to_owned(),
            calls: duration.count(),
            attempts: 0,
            statuses,
            p50: duration.quantile(0.5),
            p99: duration.quantile(0.99),
            sent_bytes: sent,
            rcvd_bytes: rcvd,
        }
    }
}

/// The instruments of one server method.
#[derive(Default)]
pub(crate) struct ServerMethod {
    started: AtomicU64,
    finished: StatusSet<Finished>,
    #[cfg(feature = "opentelemetry")]
    otel: Option<crate::grpc::otel::MethodInstruments>,
}

impl ServerMethod {
    /// `grpc.server.call.started`.
    pub(crate) fn started(&self) {
        self.started.fetch_add(1, Relaxed);
        #[cfg(feature = "opentelemetry")]
        if let Some(otel) = &self.otel {
            otel.server_started();
        }
    }

    /// The call's duration and sizes, by its status.
    pub(crate) fn finished(&self, code: Code, duration: Duration, sent: u64, rcvd: u64) {
        self.finished.get(code).record(duration, sent, rcvd);
        #[cfg(feature = "opentelemetry")]
        if let Some(otel) = &self.otel {
            otel.server_finished(code, duration, sent, rcvd);
        }
    }
}

/// The instruments of one method called through one target.
#[derive(Default)]
pub(crate) struct ClientMethod {
    attempts_started: AtomicU64,
    attempts: StatusSet<Finished>,
    calls: StatusSet<Histogram>,
    #[cfg(feature = "opentelemetry")]
    otel: Option<crate::grpc::otel::MethodInstruments>,
}

impl ClientMethod {
    /// `grpc.client.attempt.started`.
    pub(crate) fn attempt_started(&self) {
        self.attempts_started.fetch_add(1, Relaxed);
        #[cfg(feature = "opentelemetry")]
        if let Some(otel) = &self.otel {
            otel.attempt_started();
        }
    }

    /// An attempt's duration and sizes, by its status.
    pub(crate) fn attempt_finished(&self, code: Code, duration: Duration, sent: u64, rcvd: u64) {
        self.attempts.get(code).record(duration, sent, rcvd);
        #[cfg(feature = "opentelemetry")]
        if let Some(otel) = &self.otel {
            otel.attempt_finished(code, duration, sent, rcvd);
        }
    }

    /// `grpc.client.call.duration`.
    pub(crate) fn call_finished(&self, code: Code, duration: Duration) {
        self.calls.get(code).record(duration.as_nanos() as u64);
        #[cfg(feature = "opentelemetry")]
        if let Some(otel) = &self.otel {
            otel.call_finished(code, duration);
        }
    }
}

/// An explicit-bucket histogram of atomics: bucket `i` counts values in
/// `(bound[i-1], bound[i]]`, the last one those above every bound. Values
/// are recorded as integers (nanoseconds, bytes), `scale` of them to a
/// bound's unit.
struct Histogram {
    bounds: &'static [f64],
    scale: f64,
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// Latencies (the default), in nanoseconds against bounds in seconds.
impl Default for Histogram {
    fn default() -> Histogram {
        Histogram::new(&LATENCY_BOUNDS, 1e9)
    }
}

impl Histogram {
    fn new(bounds: &'static [f64], scale: f64) -> Histogram {
        Histogram {
            bounds,
            scale,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Sizes, in bytes.
    fn size() -> Histogram {
        Histogram::new(&SIZE_BOUNDS, 1.0)
    }

    fn record(&self, value: u64) {
        let scaled = value as f64 / self.scale;
        let bucket = self.bounds.partition_point(|bound| *bound < scaled);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum.fetch_add(value, Relaxed);
    }

    fn add(&self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter().zip(other.buckets.iter()) {
            mine.fetch_add(theirs.load(Relaxed), Relaxed);
        }
        self.sum.fetch_add(other.sum.load(Relaxed), Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// The upper bound of the bucket holding quantile `q`, in seconds for
    /// latencies (an estimate no finer than the buckets).
    fn quantile(&self, q: f64) -> Duration {
        let count = self.count();
        if count == 0 {
            return Duration::ZERO;
        }
        let rank = ((count as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Relaxed);
            if seen >= rank {
                let bound = self.bounds.get(i).copied().unwrap_or(f64::INFINITY);
                return Duration::try_from_secs_f64(bound * 1e9 / self.scale)
                    .unwrap_or(Duration::MAX);
            }
        }
        Duration::MAX
    }

    fn render(&self, out: &mut String, name: &str, labels: &[(&str, &str)]) {
        let mut cumulative = 0;
        let bucket_name = format!("{name}_bucket");
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let le = match self.bounds.get(i) {
                Some(bound) => format!("{bound}"),
                None => "+Inf".to_owned(),
            };
            out.push_str(&bucket_name);
            write_labels(out, labels, Some(&le));
            let _ = writeln!(out, " {cumulative}");
        }
        let sum = self.sum.load(Relaxed) as f64 / self.scale;
        sample(out, &format!("{name}_sum"), labels, sum);
        sample(out, &format!("{name}_count"), labels, cumulative);
    }
}

/// [`Metrics::summary`]: one row per method (per target, for clients).
#[derive(Clone, Debug)]
pub struct Summary {
    /// The rows, by side (client, server), target and method.
    pub rows: Vec<MethodSummary>,
}

/// One method's calls in a [`Summary`].
#[derive(Clone, Debug)]
pub struct MethodSummary {
    /// `"server"` or `"client"`.
    pub side: &'static str,
    /// The channel's target (clients).
    pub target: Option<String>,
    /// `service/method`, or `other` for methods a server does not know.
    pub method: String,
    /// Calls finished.
    pub calls: u64,
    /// Attempts started (clients; more than `calls` when calls were retried
    /// or hedged).
    pub attempts: u64,
    /// Calls (attempts, for clients) finished with each status.
    pub statuses: Vec<(Code, u64)>,
    /// Median call duration, as the upper bound of its histogram bucket.
    pub p50: Duration,
    /// 99th-percentile call duration, likewise.
    pub p99: Duration,
    /// Compressed message bytes sent.
    pub sent_bytes: u64,
    /// Compressed message bytes received.
    pub rcvd_bytes: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<6} {:<40} {:>8} {:>9} {:>9}  {:>10} {:>10}  statuses",
            "side", "method", "calls", "p50", "p99", "sent", "received"
        )?;
        for row in &self.rows {
            let statuses: Vec<String> = row
                .statuses
                .iter()
                .map(|(code, n)| format!("{}={n}", code.as_str()))
                .collect();
            let mut method = row.method.clone();
            if let Some(target) = &row.target {
                method = format!("{method} @ {target}");
            }
            writeln!(
                f,
                "{:<6} {:<40} {:>8} {:>9} {:>9}  {:>10} {:>10}  {}",
                row.side,
                method,
                row.calls,
                format!("{:?}", row.p50),
                format!("{:?}", row.p99),
                row.sent_bytes,
                row.rcvd_bytes,
                statuses.join(" ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_values_up_to_their_bound() {
        let h = Histogram::size();
        for v in [0, 1, 1024, 1025, 5_000_000_000] {
            h.record(v);
        }
        let counts: Vec<u64> = h.buckets.iter().map(|b| b.load(Relaxed)).collect();
        assert_eq!(counts[0], 1, "0 is in the le=0 bucket");
        assert_eq!(counts[1], 2, "1 and 1024 are in le=1024");
        assert_eq!(counts[2], 1, "1025 is in le=2048");
        assert_eq!(counts[SIZE_BOUNDS.len()], 1, "above every bound: +Inf");
        assert_eq!(h.sum.load(Relaxed), 5_000_002_050);
    }

    #[test]
    fn latency_quantiles_read_the_bucket_bounds() {
        let h = Histogram::default();
        for _ in 0..99 {
            h.record(700_000); // 0.7 ms: the le=0.0008 bucket
        }
        h.record(3_000_000_000); // 3 s: le=5
        assert_eq!(h.quantile(0.5), Duration::from_micros(800));
        assert_eq!(h.quantile(0.99), Duration::from_micros(800));
        assert_eq!(h.quantile(1.0), Duration::from_secs(5));
    }

    #[test]
    fn prometheus_text_has_cumulative_buckets_sum_and_count() {
        let metrics = Metrics::new();
        let m = metrics.server("demo.Echo/Say");
        m.started();
        m.finished(Code::Ok, Duration::from_millis(2), 10, 20);
        m.started();
        m.finished(Code::NotFound, Duration::from_millis(30), 0, 5);
        let text = metrics.prometheus();
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .to_owned()
        };
        assert_eq!(
            line("grpc_server_call_started_total{"),
            r#"grpc_server_call_started_total{grpc_method="demo.Echo/Say"} 2"#
        );
        assert_eq!(
            line(
                r#"grpc_server_call_duration_seconds_bucket{grpc_method="demo.Echo/Say",grpc_status="OK",le="0.002"}"#
            ),
            r#"grpc_server_call_duration_seconds_bucket{grpc_method="demo.Echo/Say",grpc_status="OK",le="0.002"} 1"#
        );
        assert!(text.contains(
            r#"grpc_server_call_duration_seconds_bucket{grpc_method="demo.Echo/Say",grpc_status="OK",le="0.001"} 0"#
        ));
        assert!(text.contains(
            r#"grpc_server_call_duration_seconds_count{grpc_method="demo.Echo/Say",grpc_status="NOT_FOUND"} 1"#
        ));
        assert!(text.contains(
            r#"grpc_server_call_rcvd_total_compressed_message_size_bytes_sum{grpc_method="demo.Echo/Say",grpc_status="OK"} 20"#
        ));
        assert!(text.contains(r#"grpc_server_call_duration_seconds_sum{grpc_method="demo.Echo/Say",grpc_status="OK"} 0.002"#));
    }

    #[test]
    fn unknown_methods_and_filtered_targets_are_other() {
        let metrics = Metrics::new()
            .target_filter(|target| target.starts_with("dns:"))
            .generic_method_filter(|method| method.starts_with("proxy."));
        metrics.server_call("demo.Echo/Say", true).started();
        metrics.server_call("made.Up/Name", false).started();
        metrics.server_call("proxy.Any/Thing", false).started();
        let text = metrics.prometheus();
        for method in ["demo.Echo/Say", "other", "proxy.Any/Thing"] {
            let line = format!("grpc_server_call_started_total{{grpc_method=\"{method}\"}} 1");
            assert!(text.contains(&line), "{line} in\n{text}");
        }
        assert!(!text.contains("made.Up"));
        assert_eq!(metrics.target_name("ipv4:10.0.0.1:443"), "other");
        assert_eq!(metrics.target_name("dns:///svc:443"), "dns:///svc:443");
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        write_labels(&mut out, &[("grpc_target", "a\"b\\c\nd")], None);
        assert_eq!(out, r#"{grpc_target="a\"b\\c\nd"}"#);
    }

    #[test]
    fn the_summary_counts_calls_and_attempts() {
        let metrics = Metrics::new();
        let m = metrics.target("dns:///svc:443").method("demo.Echo/Say");
        for code in [Code::Unavailable, Code::Ok] {
            m.attempt_started();
            m.attempt_finished(code, Duration::from_millis(1), 3, 4);
        }
        m.call_finished(Code::Ok, Duration::from_millis(3));
        let summary = metrics.summary();
        let row = &summary.rows[0];
        assert_eq!((row.calls, row.attempts), (1, 2));
        assert_eq!(row.p50, Duration::from_millis(3));
        assert_eq!(row.sent_bytes, 6);
        assert!(
            summary
                .to_string()
                .contains("demo.Echo/Say @ dns:///svc:443")
        );
    }
}
