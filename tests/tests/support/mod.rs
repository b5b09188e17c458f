//! Shared by the transport tests: the `protocall.transport` test service,
//! servers on loopback port 0, and a raw HTTP/2 client (the `h2` crate) for
//! what a well-behaved protocall client cannot send.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt as _;
use protocall::{
    Body, Code, Message, Request, Response, Status, Streaming, compression::RequestCompressed,
    metadata::MetadataValue, server::Router,
};
use protocall_tests::protocall::transport::other_server::{Other, OtherServer};
use protocall_tests::protocall::transport::transport_client::TransportClient;
use protocall_tests::protocall::transport::transport_server::{Transport, TransportServer};
use protocall_tests::protocall::transport::{Reply, Req};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ReplyStream = Pin<Box<dyn futures_util::Stream<Item = Result<Reply, Status>> + Send>>;

/// Every test runs under this bound: a hang fails the test.
pub const BOUND: Duration = Duration::from_secs(10);

/// Runs `future` under [`BOUND`].
pub async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .expect("test did not finish within its time bound")
}

/// Runs `future` under `limit`, panicking with `what` if it does not finish.
pub async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {limit:?}"))
}

/// What the server saw of each call, by tag.
#[derive(Clone, Default)]
pub struct Probe {
    events: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Probe {
    pub fn record(&self, tag: &str, event: impl Into<String>) {
        if tag.is_empty() {
            return;
        }
        self.events
            .lock()
            .unwrap()
            .entry(tag.to_string())
            .or_default()
            .push(event.into());
    }

    pub fn events(&self, tag: &str) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .get(tag)
            .cloned()
            .unwrap_or_default()
    }

    pub fn has(&self, tag: &str, event: &str) -> bool {
        self.events(tag).iter().any(|e| e == event)
    }

    /// Waits until `tag` has an event accepted by `accept`; returns it, or
    /// `None` after `limit`.
    pub async fn wait(
        &self,
        tag: &str,
        limit: Duration,
        accept: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let start = tokio::time::Instant::now();
        loop {
            if let Some(event) = self.events(tag).into_iter().find(|e| accept(e)) {
                return Some(event);
            }
            if start.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for exactly `event`.
    pub async fn wait_for(&self, tag: &str, event: &str, limit: Duration) -> bool {
        self.wait(tag, limit, |e| e == event).await.is_some()
    }
}

/// Records `event` under the tag when dropped while armed.
pub struct DropGuard {
    probe: Probe,
    tag: String,
    event: &'static str,
    armed: bool,
}

impl DropGuard {
    pub fn new(probe: &Probe, tag: &str, event: &'static str) -> DropGuard {
        DropGuard {
            probe: probe.clone(),
            tag: tag.to_string(),
            event,
            armed: true,
        }
    }

    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if self.armed {
            self.probe.record(&self.tag, self.event);
        }
    }
}

/// An extension the interceptor tests insert and the handler reports.
#[derive(Clone, Debug)]
pub struct Mark(pub String);

/// The test service.
#[derive(Clone, Default)]
pub struct Svc {
    pub probe: Probe,
}

fn failure(req: &Req) -> Status {
    let mut status = Status::new(Code::from_i32(req.fail_code), req.fail_message.clone());
    if !req.fail_details.is_empty() {
        status = status.with_details(req.fail_details.clone());
    }
    if req.with_response_metadata {
        status
            .metadata_mut()
            .insert("x-status-md", "on-error")
            .unwrap();
    }
    status
}

/// A reply describing what the handler saw of `request`.
fn describe<T>(request: &Request<T>, tag: &str) -> Reply {
    let mut reply = Reply {
        tag: tag.to_string(),
        ..Default::default()
    };
    for (key, value) in request.metadata().iter() {
        match value {
            MetadataValue::Ascii(v) => {
                let entry = reply.metadata.entry(key.to_string()).or_default();
                if !entry.is_empty() {
                    entry.push(',');
                }
                entry.push_str(v);
            }
            MetadataValue::Binary(v) => {
                reply.bin_metadata.insert(key.to_string(), v);
            }
        }
    }
    reply.time_remaining_ms = request.time_remaining().map(|d| d.as_millis() as u64);
    reply.request_compressed = request
        .extensions()
        .get::<RequestCompressed>()
        .is_some_and(|c| c.0);
    reply.peer_port = request.remote_addr().map_or(0, |a| a.port() as u32);
    reply.extension = request
        .extensions()
        .get::<Mark>()
        .map(|m| m.0.clone())
        .unwrap_or_default();
    reply
}

fn with_metadata<T>(mut response: Response<T>, on: bool) -> Response<T> {
    if on {
        response.metadata_mut().insert("x-head", "leading").unwrap();
        response
            .trailers_mut()
            .insert("x-tail", "trailing")
            .unwrap();
        response
            .trailers_mut()
            .insert_bin("x-tail-bin", [0u8, 1, 2, 255])
            .unwrap();
    }
    response
}

fn stream_tag<T>(request: &Request<T>) -> String {
    request.metadata().get("x-tag").unwrap_or("").to_string()
}

impl Transport for Svc {
    async fn unary(&self, request: Request<Req>) -> Result<Response<Reply>, Status> {
        let req = request.get_ref().clone();
        let mut guard = DropGuard::new(&self.probe, &req.tag, "dropped");
        self.probe.record(&req.tag, "started");
        let mut reply = describe(&request, &req.tag);
        if req.panic {
            panic!("the test asked for a panic");
        }
        if req.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(req.sleep_ms)).await;
        }
        guard.disarm();
        if req.fail_code != 0 {
            self.probe.record(&req.tag, "failed");
            return Err(failure(&req));
        }
        self.probe.record(&req.tag, "completed");
        reply.payload = if req.reply_size > 0 {
            "x".repeat(req.reply_size as usize)
        } else {
            req.payload.clone()
        };
        Ok(with_metadata(
            Response::new(reply),
            req.with_response_metadata,
        ))
    }

    type ServerStreamStream = ReplyStream;

    async fn server_stream(&self, request: Request<Req>) -> Result<Response<ReplyStream>, Status> {
        let req = request.get_ref().clone();
        self.probe.record(&req.tag, "started");
        let base = describe(&request, &req.tag);
        let guard = DropGuard::new(&self.probe, &req.tag, "stream dropped");
        let probe = self.probe.clone();
        let stream =
            futures_util::stream::unfold((0u32, guard, false), move |(index, mut guard, done)| {
                let req = req.clone();
                let base = base.clone();
                let probe = probe.clone();
                async move {
                    if done {
                        return None;
                    }
                    if req.panic && index == req.fail_after {
                        panic!("the test asked for a panic inside the stream");
                    }
                    if req.fail_code != 0 && index == req.fail_after {
                        guard.disarm();
                        probe.record(&req.tag, "failed");
                        return Some((Err(failure(&req)), (index, guard, true)));
                    }
                    if index == req.count {
                        guard.disarm();
                        probe.record(&req.tag, "completed");
                        return None;
                    }
                    if req.sleep_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(req.sleep_ms)).await;
                    }
                    let reply = Reply {
                        index,
                        payload: if req.reply_size > 0 {
                            "x".repeat(req.reply_size as usize)
                        } else {
                            req.payload.clone()
                        },
                        ..base
                    };
                    Some((Ok(reply), (index + 1, guard, false)))
                }
            });
        let stream: ReplyStream = Box::pin(stream);
        let on = request.get_ref().with_response_metadata;
        Ok(with_metadata(Response::new(stream), on))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<Req>>,
    ) -> Result<Response<Reply>, Status> {
        let tag = stream_tag(&request);
        let mut guard = DropGuard::new(&self.probe, &tag, "dropped");
        self.probe.record(&tag, "started");
        let mut reply = describe(&request, &tag);
        let mut stream = request.into_inner();
        let mut count = 0;
        let mut with_md = false;
        loop {
            match stream.message().await {
                Ok(Some(req)) => {
                    count += 1;
                    self.probe.record(&tag, format!("recv:{count}"));
                    with_md |= req.with_response_metadata;
                    if req.sleep_ms > 0 {
                        tokio::time::sleep(Duration::from_millis(req.sleep_ms)).await;
                    }
                    if req.fail_code != 0 {
                        guard.disarm();
                        return Err(failure(&req));
                    }
                    reply.payload.push_str(&req.payload);
                    reply.request_compressed |= stream.last_message_compressed();
                }
                Ok(None) => break,
                Err(status) => {
                    guard.disarm();
                    self.probe
                        .record(&tag, format!("recv_err:{}", status.code().as_str()));
                    return Err(status);
                }
            }
        }
        guard.disarm();
        self.probe.record(&tag, "completed");
        reply.count = count;
        Ok(with_metadata(Response::new(reply), with_md))
    }

    type BidiStream = ReplyStream;

    async fn bidi(
        &self,
        request: Request<Streaming<Req>>,
    ) -> Result<Response<ReplyStream>, Status> {
        let tag = stream_tag(&request);
        self.probe.record(&tag, "started");
        let base = describe(&request, &tag);
        let with_md = request.metadata().contains_key("x-want-metadata");
        let mut input = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Reply, Status>>();
        let probe = self.probe.clone();
        let reader_tag = tag.clone();
        // The requests are read by a task of their own, so what happens to
        // the request stream is observable after the response is dropped.
        tokio::spawn(async move {
            let tag = reader_tag;
            let mut index = 0;
            loop {
                match input.message().await {
                    Ok(Some(req)) => {
                        probe.record(&tag, format!("recv:{}", index + 1));
                        if req.sleep_ms > 0 {
                            tokio::time::sleep(Duration::from_millis(req.sleep_ms)).await;
                        }
                        if req.fail_code != 0 {
                            let _ = tx.send(Err(failure(&req)));
                            probe.record(&tag, "failed");
                            return;
                        }
                        let reply = Reply {
                            index,
                            payload: req.payload.clone(),
                            ..base.clone()
                        };
                        index += 1;
                        let _ = tx.send(Ok(reply));
                    }
                    Ok(None) => {
                        probe.record(&tag, "recv_end");
                        return;
                    }
                    Err(status) => {
                        probe.record(&tag, format!("recv_err:{}", status.code().as_str()));
                        return;
                    }
                }
            }
        });
        let guard = DropGuard::new(&self.probe, &tag, "out dropped");
        let stream = futures_util::stream::unfold((rx, guard), |(mut rx, mut guard)| async move {
            match rx.recv().await {
                Some(item) => Some((item, (rx, guard))),
                None => {
                    guard.disarm();
                    None
                }
            }
        });
        let stream: ReplyStream = Box::pin(stream);
        Ok(with_metadata(Response::new(stream), with_md))
    }
}

impl Other for Svc {
    async fn ping(&self, request: Request<Req>) -> Result<Response<Reply>, Status> {
        let tag = request.get_ref().tag.clone();
        let mut reply = describe(&request, &tag);
        reply.payload = "pong".to_string();
        Ok(Response::new(reply))
    }
}

/// The default router: both services over one probe.
pub fn router(server: protocall::Server, svc: &Svc) -> Router {
    server
        .add_service(TransportServer::new(svc.clone()))
        .add_service(OtherServer::new(svc.clone()))
}

/// A server running on a task of the test's runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts graceful shutdown (does not wait).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on 127.0.0.1, port 0.
pub async fn spawn<L>(router: Router<L>) -> TestServer
where
    L: tower_layer::Layer<protocall::server::Routes> + Send + 'static,
    L::Service: tower_service::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as tower_service::Service<http::Request<Body>>>::Future: Send + 'static,
    <L::Service as tower_service::Service<http::Request<Body>>>::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(router.serve_with_listener(listener, async move {
        let _ = rx.await;
    }));
    TestServer {
        addr,
        shutdown: Some(tx),
        task,
    }
}

/// The default server over a fresh probe.
pub async fn start() -> (TestServer, Svc) {
    let svc = Svc::default();
    let server = spawn(router(protocall::Server::builder(), &svc)).await;
    (server, svc)
}

/// A client on a fresh channel to `server`.
pub async fn client(server: &TestServer) -> TransportClient {
    TransportClient::connect(server.uri()).await.unwrap()
}

/// A server on a runtime of its own (in its own thread), so killing it
/// closes every connection at once, as a crashed process would.
pub struct IsolatedServer {
    pub addr: SocketAddr,
    pub svc: Svc,
    kill: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl IsolatedServer {
    /// Serves the default router on `addr` (port 0 for any).
    pub fn start(addr: SocketAddr) -> IsolatedServer {
        let svc = Svc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
        let server_svc = svc.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            let listener = runtime.block_on(TcpListener::bind(addr)).unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            runtime.spawn(
                router(protocall::Server::builder(), &server_svc)
                    .serve_with_listener(listener, std::future::pending()),
            );
            let _ = kill_rx.recv();
            // Shutting the runtime down drops every task (and waits until
            // they are dropped): the listener and all connections close
            // without a GOAWAY, as when a process dies.
            runtime.shutdown_timeout(Duration::from_secs(2));
        });
        let addr = addr_rx.recv().unwrap();
        IsolatedServer {
            addr,
            svc,
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

impl Drop for IsolatedServer {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------
// The raw HTTP/2 client.

pub const TRANSPORT_UNARY: &str = "/protocall.transport.Transport/Unary";
pub const TRANSPORT_CLIENT_STREAM: &str = "/protocall.transport.Transport/ClientStream";

/// An HTTP/2 connection driven by the `h2` crate.
pub async fn raw_connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

/// A gRPC request head for `path`, plus `extra` headers (which replace
/// defaults of the same name).
pub fn grpc_head(addr: SocketAddr, path: &str, extra: &[(&str, &str)]) -> http::Request<()> {
    let mut request = http::Request::post(format!("http://{addr}{path}"))
        .body(())
        .unwrap();
    let headers = request.headers_mut();
    headers.insert("content-type", "application/grpc".parse().unwrap());
    headers.insert("te", "trailers".parse().unwrap());
    for (name, value) in extra {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.insert(name, value.parse().unwrap());
    }
    request
}

/// A length-prefixed message with `flag` and an honest length.
pub fn frame(flag: u8, payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(5 + payload.len());
    buf.put_u8(flag);
    buf.put_u32(payload.len() as u32);
    buf.put_slice(payload);
    buf.freeze()
}

/// The frame of an uncompressed `Req`.
pub fn req_frame(req: &Req) -> Bytes {
    frame(0, &req.encode_to_vec())
}

/// What came back on one raw stream.
#[derive(Debug)]
pub struct RawResponse {
    pub http_status: http::StatusCode,
    pub headers: http::HeaderMap,
    /// The response HEADERS frame carried END_STREAM.
    pub trailers_only: bool,
    pub data: Vec<u8>,
    pub trailers: Option<http::HeaderMap>,
}

impl RawResponse {
    /// `grpc-status` from the trailers, or from the headers when
    /// trailers-only.
    pub fn grpc_status(&self) -> Option<i32> {
        let headers = if self.trailers_only {
            Some(&self.headers)
        } else {
            self.trailers.as_ref()
        };
        headers
            .and_then(|h| h.get("grpc-status"))
            .map(|v| v.to_str().unwrap().parse().unwrap())
    }

    pub fn grpc_message(&self) -> String {
        let headers = if self.trailers_only {
            Some(&self.headers)
        } else {
            self.trailers.as_ref()
        };
        headers
            .and_then(|h| h.get("grpc-message"))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default()
    }

    /// The messages of the body (uncompressed frames only).
    pub fn messages<M: Message>(&self) -> Vec<M> {
        let mut out = Vec::new();
        let mut rest = &self.data[..];
        while rest.len() >= 5 {
            assert_eq!(rest[0], 0, "compressed response frame");
            let len = u32::from_be_bytes(rest[1..5].try_into().unwrap()) as usize;
            out.push(M::decode(&rest[5..5 + len]).unwrap());
            rest = &rest[5 + len..];
        }
        assert!(rest.is_empty(), "partial frame in the response");
        out
    }
}

/// Sends `head`, then each chunk of `body` as a DATA frame; the last one
/// carries END_STREAM when `end` (an empty body with `end` is an empty
/// DATA frame with END_STREAM). Reads the whole response. Errors are
/// stream resets (with their reason) or connection failures.
pub async fn raw_call(
    sender: &mut h2::client::SendRequest<Bytes>,
    head: http::Request<()>,
    body: &[Bytes],
    end: bool,
) -> Result<RawResponse, h2::Error> {
    let mut ready = sender.clone().ready().await?;
    let (response, mut stream) = ready.send_request(head, false)?;
    if body.is_empty() {
        if end {
            // The server may have answered already; a failed send shows in
            // the response.
            let _ = stream.send_data(Bytes::new(), true);
        }
    } else {
        for (i, chunk) in body.iter().enumerate() {
            let last = end && i + 1 == body.len();
            let _ = stream.send_data(chunk.clone(), last);
        }
    }
    let response = response.await?;
    let (parts, mut recv) = response.into_parts();
    let trailers_only = recv.is_end_stream();
    let mut data = Vec::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        data.extend_from_slice(&chunk);
    }
    let trailers = recv.trailers().await?;
    drop(stream);
    Ok(RawResponse {
        http_status: parts.status,
        headers: parts.headers,
        trailers_only,
        data,
        trailers,
    })
}

/// A normal unary call over a raw connection; asserts it succeeds.
pub async fn raw_ok(sender: &mut h2::client::SendRequest<Bytes>, addr: SocketAddr) {
    let req = Req {
        payload: "still serving".into(),
        ..Default::default()
    };
    let response = raw_call(
        sender,
        grpc_head(addr, TRANSPORT_UNARY, &[]),
        &[req_frame(&req)],
        true,
    )
    .await
    .expect("normal call on the same connection");
    assert_eq!(response.grpc_status(), Some(0), "{response:?}");
    let replies: Vec<Reply> = response.messages();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].payload, "still serving");
}

/// A normal unary call on a new protocall channel; asserts it succeeds.
pub async fn new_connection_ok(server: &TestServer) {
    let reply = client(server)
        .await
        .unary(Req {
            payload: "fresh".into(),
            ..Default::default()
        })
        .await
        .expect("normal call on a new connection")
        .into_inner();
    assert_eq!(reply.payload, "fresh");
}

/// A stream of `items` that then stays open forever (never sends
/// END_STREAM).
pub fn open_stream(items: Vec<Req>) -> impl futures_util::Stream<Item = Req> + Send + 'static {
    futures_util::stream::iter(items).chain(futures_util::stream::pending())
}

/// A stream fed by an unbounded channel.
pub fn channel_stream(
    rx: tokio::sync::mpsc::UnboundedReceiver<Req>,
) -> impl futures_util::Stream<Item = Req> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}
