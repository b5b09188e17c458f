//! The open transport: the router as a tower `Service` over any body,
//! serving on any I/O (Unix sockets, in-memory pipes), clients generic over
//! tower `Service`s (layers stacked with `ServiceBuilder`, custom
//! connectors, a server's routes called in-process), and the axum example
//! serving plain HTTP and gRPC on one port.

#[path = "support/peers.rs"]
mod peers;
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt as _;
use protocall::client::{Endpoint, Grpc};
use protocall::health::{HealthCheckRequest, ServingStatus, health_client::HealthClient};
use protocall::server::Routes;
use protocall::{Body, Code, Message, Request};
use protocall_tests::protocall::transport::transport_client::TransportClient;
use protocall_tests::protocall::transport::transport_server::TransportServer;
use protocall_tests::protocall::transport::{Reply, Req};
use support::*;
use tower::ServiceBuilder;
use tower_service::Service;

fn req(payload: &str) -> Req {
    Req {
        payload: payload.to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_answer_a_foreign_body_type() {
    bounded(async {
        let mut routes = Routes::new(TransportServer::new(Svc::default()));
        // hyper-free: an http-body-util body, as axum or a test would send.
        let request = http::Request::post("/protocall.transport.Transport/Unary")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(http_body_util::Full::new(req_frame(&req("foreign"))))
            .unwrap();
        let response = routes.call(request).await.unwrap();
        assert_eq!(response.status(), http::StatusCode::OK);
        let collected = response.into_body().collect().await.unwrap();
        let trailers = collected.trailers().cloned().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0");
        let data = collected.to_bytes();
        assert_eq!(data[0], 0, "uncompressed");
        let reply = Reply::decode(&data[5..]).unwrap();
        assert_eq!(reply.payload, "foreign");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn router_into_service_keeps_settings_and_layers() {
    bounded(async {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let mut service = protocall::Server::builder()
            .max_decoding_message_size(16)
            .add_service(TransportServer::new(Svc::default()))
            .layer(tower::layer::layer_fn(move |inner| Counting {
                inner,
                seen: counter.clone(),
            }))
            .into_service();
        let request = |payload: &str| {
            http::Request::post("/protocall.transport.Transport/Unary")
                .header("content-type", "application/grpc")
                .body(http_body_util::Full::new(req_frame(&req(payload))))
                .unwrap()
        };
        let ok = service.call(request("small")).await.unwrap();
        let trailers = ok.into_body().collect().await.unwrap().trailers().cloned();
        assert_eq!(trailers.unwrap()["grpc-status"], "0");
        // The server's 16-byte limit applies to the routes it hands out.
        let big = service.call(request(&"x".repeat(64))).await.unwrap();
        let status = grpc_status(big).await;
        assert_eq!(status, Code::ResourceExhausted as i32);
        assert_eq!(seen.load(Ordering::SeqCst), 2, "the layer saw both calls");
    })
    .await;
}

/// The status code of a response, from its headers (trailers-only) or trailers.
async fn grpc_status(response: http::Response<Body>) -> i32 {
    if let Some(code) = response.headers().get("grpc-status") {
        return code.to_str().unwrap().parse().unwrap();
    }
    let collected = response.into_body().collect().await.unwrap();
    collected.trailers().unwrap()["grpc-status"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A layer's service that counts the requests it passes on.
#[derive(Clone)]
struct Counting<S> {
    inner: S,
    seen: Arc<AtomicUsize>,
}

impl<S, B> Service<http::Request<B>> for Counting<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> S::Future {
        self.seen.fetch_add(1, Ordering::SeqCst);
        self.inner.call(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_and_calls_over_a_unix_socket() {
    bounded(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("transport.sock");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let watch = Watch::default();
        let server = router(protocall::Server::builder(), &Svc::default()).layer(watch.layer());
        let server = tokio::spawn(server.serve_unix(path.clone(), async {
            let _ = stopped.await;
        }));
        // Both spellings of naming.md: unix:path and unix:///absolute/path.
        for target in [
            format!("unix:{}", path.display()),
            format!("unix://{}", path.display()),
        ] {
            let client = connect_when_listening(&target).await;
            let reply = client.unary(req("over unix")).await.unwrap().into_inner();
            assert_eq!(reply.payload, "over unix");
            // No peer address on a Unix socket.
            assert_eq!(reply.peer_port, 0);
            let mut stream = client
                .server_stream(Req {
                    count: 3,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            let mut count = 0;
            while stream.message().await.unwrap().is_some() {
                count += 1;
            }
            assert_eq!(count, 3);
        }
        // grpc-go and grpc-java send `localhost` as the authority on Unix sockets.
        let authorities = watch.authorities();
        assert!(!authorities.is_empty());
        assert!(
            authorities.iter().all(|a| a == "localhost"),
            "{authorities:?}"
        );
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    })
    .await;
}

/// A client for `target`, retried until the server task is listening.
async fn connect_when_listening(target: &str) -> TransportClient {
    loop {
        match Endpoint::new(target).unwrap().connect().await {
            Ok(channel) => return TransportClient::new(channel),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_over_a_duplex_pipe() {
    bounded(async {
        // Every connection the client opens is a fresh in-memory pipe whose
        // server end is handed to the server's incoming stream.
        let (ends, incoming) = tokio::sync::mpsc::unbounded_channel::<tokio::io::DuplexStream>();
        let incoming = futures_util::stream::unfold(incoming, |mut rx| async move {
            rx.recv().await.map(|io| (Ok::<_, std::io::Error>(io), rx))
        });
        let watch = Watch::default();
        let server = router(protocall::Server::builder(), &Svc::default()).layer(watch.layer());
        let server = tokio::spawn(server.serve_with_incoming(incoming));
        let opened = Arc::new(AtomicUsize::new(0));
        let count = opened.clone();
        let connector = tower::service_fn(move |uri: http::Uri| {
            assert_eq!(uri.host(), Some("in-process"));
            count.fetch_add(1, Ordering::SeqCst);
            let (client, server) = tokio::io::duplex(64 * 1024);
            let sent = ends
                .send(server)
                .map_err(|_| std::io::Error::other("server gone"));
            async move { sent.map(|()| client) }
        });
        let channel = Endpoint::new("http://in-process")
            .unwrap()
            .connect_with_connector(connector)
            .await
            .unwrap();
        let client = TransportClient::new(channel);
        for i in 0..3 {
            let reply = client
                .unary(req(&format!("pipe {i}")))
                .await
                .unwrap()
                .into_inner();
            assert_eq!(reply.payload, format!("pipe {i}"));
        }
        assert_eq!(watch.authorities(), ["in-process"; 3]);
        assert_eq!(opened.load(Ordering::SeqCst), 1, "one connection, reused");
        server.abort();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_connector_is_unavailable() {
    bounded(async {
        let connector = tower::service_fn(|_uri: http::Uri| async {
            Err::<tokio::io::DuplexStream, _>(std::io::Error::other("no route to the moon"))
        });
        let channel = Endpoint::new("http://moon")
            .unwrap()
            .connect_with_connector_lazy(connector);
        let status = TransportClient::new(channel)
            .unary(req("x"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(
            status.message().contains("no route to the moon"),
            "{status}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_over_the_servers_routes_without_a_network() {
    bounded(async {
        // The routes are a tower service of the same shape as a channel.
        let routes = Routes::new(TransportServer::new(Svc::default()));
        let client = TransportClient::new(routes);
        let reply = client.unary(req("no socket")).await.unwrap().into_inner();
        assert_eq!(reply.payload, "no socket");
        let mut replies = client
            .bidi(futures_util::stream::iter(vec![req("a"), req("b")]))
            .await
            .unwrap()
            .into_inner();
        let mut payloads = Vec::new();
        while let Some(reply) = replies.message().await.unwrap() {
            payloads.push(reply.payload);
        }
        assert_eq!(payloads, ["a", "b"]);
    })
    .await;
}

/// Adds `x-layer: added` to every request: a custom client layer.
#[derive(Clone)]
struct AddHeader<S>(S);

impl<S> Service<http::Request<Body>> for AddHeader<S>
where
    S: Service<http::Request<Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> S::Future {
        request
            .headers_mut()
            .insert("x-layer", http::HeaderValue::from_static("added"));
        self.0.call(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_layers_stack_on_the_client() {
    bounded(async {
        let watch = Watch::default();
        let server = router(protocall::Server::builder(), &Svc::default()).layer(watch.layer());
        let server = spawn(server).await;
        let channel = Endpoint::new(server.uri())
            .unwrap()
            .connect()
            .await
            .unwrap();
        let stack = ServiceBuilder::new()
            .layer(tower::layer::layer_fn(AddHeader))
            .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
                300,
            )))
            .layer(tower::limit::ConcurrencyLimitLayer::new(1))
            .service(channel);
        let client = TransportClient::new(stack);

        // The custom layer's header reaches the server as metadata.
        let reply = client.unary(req("layered")).await.unwrap().into_inner();
        assert_eq!(reply.metadata["x-layer"], "added");

        // The timeout layer: a call that outlives it fails with
        // DEADLINE_EXCEEDED (from tower's `Elapsed`), not UNKNOWN.
        let slow = Req {
            sleep_ms: 2_000,
            tag: "slow".into(),
            ..Default::default()
        };
        let status = client.unary(slow).await.unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");

        // The server drops the timed-out call once its reset arrives.
        while watch.in_flight.load(Ordering::SeqCst) != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        watch.max_in_flight.store(0, Ordering::SeqCst);

        // The concurrency limit: of four concurrent calls of 100 ms each,
        // never more than one runs on the server at a time.
        let calls = (0..4).map(|i| {
            let client = client.clone();
            async move {
                client
                    .unary(Req {
                        sleep_ms: 100,
                        tag: format!("limited-{i}"),
                        ..Default::default()
                    })
                    .await
            }
        });
        for result in futures_util::future::join_all(calls).await {
            result.unwrap();
        }
        assert_eq!(watch.max_in_flight.load(Ordering::SeqCst), 1);
    })
    .await;
}

/// Starts the `axum` example binary on a free port and kills it when dropped.
struct AxumExample {
    child: std::process::Child,
    port: u16,
}

impl AxumExample {
    fn start() -> AxumExample {
        use std::io::BufRead as _;
        let [binary] = peers::build_binaries("protocall-examples", ["axum"]).unwrap();
        let mut child = std::process::Command::new(binary)
            .arg("--port=0")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        // "listening on 127.0.0.1:PORT"
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        AxumExample { child, port }
    }
}

impl Drop for AxumExample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_example_serves_http_and_grpc_on_one_port() {
    let example = tokio::task::spawn_blocking(AxumExample::start)
        .await
        .unwrap();
    bounded(async {
        // Plain HTTP/1.1 to the axum route.
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut http = tokio::net::TcpStream::connect(("127.0.0.1", example.port))
            .await
            .unwrap();
        http.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        http.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("ok"), "{answer}");

        // gRPC (HTTP/2 prior knowledge) on the same port.
        let uri = format!("http://127.0.0.1:{}", example.port);
        let health = HealthClient::connect(&uri).await.unwrap();
        let reply = health
            .check(HealthCheckRequest {
                service: "user.UserService".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.status, ServingStatus::Serving);
        // An unknown gRPC service is a gRPC answer, not axum's 404 page.
        let grpc = Grpc::new(protocall::Channel::connect(&uri).await.unwrap());
        let status = grpc
            .unary::<_, protocall::types::Empty>(
                Request::new(protocall::types::Empty::default()),
                "/nobody.Home/Call",
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    })
    .await;
    drop(example);
}

/// A server layer that records what reaches the server: the request
/// authorities, and how many calls were in flight at most.
#[derive(Clone, Default)]
struct Watch {
    authorities: Arc<std::sync::Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Watch {
    fn layer(&self) -> impl tower_layer::Layer<Routes, Service = Watched> + Clone + use<> {
        let watch = self.clone();
        tower::layer::layer_fn(move |inner| Watched {
            inner,
            watch: watch.clone(),
        })
    }

    fn authorities(&self) -> Vec<String> {
        self.authorities.lock().unwrap().clone()
    }
}

/// One call in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
struct Watched {
    inner: Routes,
    watch: Watch,
}

impl Service<http::Request<Body>> for Watched {
    type Response = http::Response<Body>;
    type Error = std::convert::Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let authority = request.uri().authority().map(|a| a.to_string());
        self.watch
            .authorities
            .lock()
            .unwrap()
            .push(authority.unwrap_or_default());
        let now = self.watch.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.watch.max_in_flight.fetch_max(now, Ordering::SeqCst);
        // Decremented when the call ends, also when it is dropped (cancelled).
        let done = InFlight(self.watch.in_flight.clone());
        let call = self.inner.call(request);
        Box::pin(async move {
            let response = call.await;
            drop(done);
            response
        })
    }
}
