//! HTTP/2 abuse against the server, each while a well-behaved probe client
//! keeps calling on another connection: a client that never sends the
//! preface (or stops halfway), and rapid reset (CVE-2023-44487: streams
//! opened and cancelled at once, over and over).

mod support;

use std::time::Duration;

use bytes::Bytes;
use protocall::Code;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A probe call on its own connection; it must succeed.
async fn probe(server: &TestServer) {
    let client = client(server).await;
    let reply = client
        .unary(protocall_tests::protocall::transport::Req {
            payload: "probe".into(),
            ..Default::default()
        })
        .await
        .expect("the probe call succeeds during the attack");
    assert_eq!(reply.get_ref().payload, "probe");
}

/// Reads until the server closes the connection; what it sent before.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return seen,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_preface_connections_are_dropped_at_the_handshake_timeout() {
    bounded(async {
        let svc = Svc::default();
        let server = protocall::Server::builder().handshake_timeout(Duration::from_millis(300));
        let server = spawn(router(server, &svc)).await;
        let mut silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        half.write_all(&b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..10])
            .await
            .unwrap();
        // Meanwhile, a real client is served.
        probe(&server).await;
        let started = tokio::time::Instant::now();
        within(
            Duration::from_secs(3),
            "the server to close the silent connection",
            read_until_closed(&mut silent),
        )
        .await;
        within(
            Duration::from_secs(3),
            "the server to close the half-preface connection",
            read_until_closed(&mut half),
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(3));
        probe(&server).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_finished_its_preface_is_not_timed_out() {
    bounded(async {
        let svc = Svc::default();
        let server = protocall::Server::builder().handshake_timeout(Duration::from_millis(200));
        let server = spawn(router(server, &svc)).await;
        let channel = protocall::Channel::connect(server.uri()).await.unwrap();
        let client =
            protocall_tests::protocall::transport::transport_client::TransportClient::new(channel);
        // Idle well past the handshake timeout, then call on the same connection.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let reply = client
            .unary(protocall_tests::protocall::transport::Req {
                payload: "later".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(reply.get_ref().payload, "later");
    })
    .await;
}

/// Streams the rapid-reset attacker opens and cancels.
const ATTACK_STREAMS: usize = 20_000;

/// A request for the transport test service's unary method.
fn unary_request(server: &TestServer) -> http::Request<()> {
    http::Request::post(format!(
        "{}/protocall.transport.Transport/Unary",
        server.uri()
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap()
}

/// A well-behaved client may cancel a burst of calls before the server got
/// to them (deadlines, user cancels): 100 at once must not cost it its
/// connection. With h2's old allowance of 20 such resets, this is what
/// made the soak's calls fail with UNAVAILABLE ("broken pipe") under load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_cancelled_calls_keeps_the_connection() {
    bounded(async {
        let (server, _svc) = start().await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (client, connection) = h2::client::handshake(tcp).await.unwrap();
        let connection = tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        for _ in 0..100 {
            let (response, body) = client.send_request(unary_request(&server), false).unwrap();
            drop((response, body));
        }
        // Then a whole call on the same connection: an empty `Req`.
        let (response, mut body) = client.send_request(unary_request(&server), false).unwrap();
        body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), true)
            .unwrap();
        let response = within(Duration::from_secs(5), "the call after the burst", response)
            .await
            .expect("the connection survived the burst");
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            chunk.expect("the reply arrives");
        }
        let trailers = body.trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0", "{trailers:?}");
        assert!(!connection.is_finished(), "the connection is still open");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_closes_the_attacker_and_others_are_served() {
    bounded(async {
        let (server, _svc) = start().await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (mut attacker, connection) = h2::client::handshake(tcp).await.unwrap();
        let connection = tokio::spawn(connection);
        // Open streams and cancel each at once, far past the server's
        // allowance of resets before accept (200).
        let mut refused = None;
        for i in 0..ATTACK_STREAMS {
            let request = unary_request(&server);
            let ready = match attacker.clone().ready().await {
                Ok(ready) => ready,
                Err(error) => {
                    refused = Some((i, error));
                    break;
                }
            };
            attacker = ready;
            match attacker.send_request(request, false) {
                // Dropping both halves resets the stream (RST_STREAM CANCEL).
                Ok((response, body)) => drop((response, body)),
                Err(error) => {
                    refused = Some((i, error));
                    break;
                }
            }
        }
        let (after, error) = refused.expect("the server let every rapid reset through");
        assert!(after < ATTACK_STREAMS);
        // The server ended the attacking connection with GOAWAY (h2 says
        // ENHANCE_YOUR_CALM for too many pending resets).
        let ended = within(
            Duration::from_secs(5),
            "the attacking connection to end",
            connection,
        )
        .await
        .unwrap();
        // The server ends the attacking connection with GOAWAY
        // ENHANCE_YOUR_CALM (h2's answer to too many pending resets); the
        // client sees that reason, or, when the socket closed before it
        // read the GOAWAY, a closed connection.
        let reason = error
            .reason()
            .or_else(|| ended.as_ref().err().and_then(|e| e.reason()));
        match reason {
            Some(reason) => assert_eq!(reason, h2::Reason::ENHANCE_YOUR_CALM, "{error:?}"),
            None => assert!(error.is_io() || error.is_go_away(), "{error:?}"),
        }
        probe(&server).await;
        let status = client(&server)
            .await
            .unary(protocall_tests::protocall::transport::Req {
                fail_code: Code::NotFound as i32,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::NotFound,
            "the server still answers statuses"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_are_closed_and_a_freed_slot_is_reused() {
    bounded(async {
        let svc = Svc::default();
        let server = protocall::Server::builder().max_connections(2);
        let server = spawn(router(server, &svc)).await;
        let first = client(&server).await;
        let second = client(&server).await;
        // The third connection is closed as it arrives: its call fails.
        let third = protocall::Channel::connect(server.uri()).await;
        let status = match third {
            Err(status) => status,
            Ok(channel) => {
                protocall_tests::protocall::transport::transport_client::TransportClient::new(
                    channel,
                )
                .unary(protocall_tests::protocall::transport::Req::default())
                .await
                .unwrap_err()
            }
        };
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        for client in [&first, &second] {
            let reply = client
                .unary(protocall_tests::protocall::transport::Req::default())
                .await;
            assert!(reply.is_ok(), "open connections keep working");
        }
        // Once one closes, a new one is served.
        drop(first);
        let mut served = None;
        for _ in 0..100 {
            if let Ok(channel) = protocall::Channel::connect(server.uri()).await {
                served = Some(channel);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(served.is_some(), "a freed slot was not reused");
    })
    .await;
}

/// An HTTP/2 frame: 9-byte header, then `payload` (RFC 9113 §4.1).
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const PING: u8 = 6;
const SETTINGS: u8 = 4;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Opens a raw connection, sends the preface, an empty SETTINGS and `flood`
/// without reading anything back, then reports whether the server closed
/// it (reading what it sent until then, at most `limit` of waiting).
async fn flood(server: &TestServer, flood: Vec<u8>) -> bool {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(PREFACE).await.unwrap();
    stream.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
    // The server may close mid-flood: a write error is an answer too.
    let _ = stream.write_all(&flood).await;
    tokio::time::timeout(Duration::from_secs(3), read_until_closed(&mut stream))
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_settings_floods_do_not_stop_other_calls() {
    bounded(async {
        let (server, _svc) = start().await;
        let pings: Vec<u8> = (0..20_000u64)
            .flat_map(|i| frame(PING, 0, 0, &i.to_be_bytes()))
            .collect();
        let settings: Vec<u8> = (0..20_000)
            .flat_map(|_| frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]))
            .collect();
        // The probe is served while both floods run; the server may cut a
        // flood off or answer it, and must keep serving either way.
        tokio::join!(
            flood(&server, pings),
            flood(&server, settings),
            probe(&server)
        );
        probe(&server).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_list_over_the_limit_is_refused_and_others_are_served() {
    bounded(async {
        let svc = Svc::default();
        let server = protocall::Server::builder().max_header_list_size(4 * 1024);
        let server = spawn(router(server, &svc)).await;
        let sender = raw_connect(server.addr).await;
        let big = "x".repeat(16 * 1024);
        let request = grpc_head(
            server.addr,
            "/protocall.transport.Transport/Unary",
            &[("x-big", &big)],
        );
        let refused = async {
            let mut sender = sender.clone().ready().await?;
            let (response, _body) = sender.send_request(request, true)?;
            response.await
        }
        .await;
        match refused {
            // h2 answers 431 for a header list over SETTINGS_MAX_HEADER_LIST_SIZE,
            Ok(response) => assert_eq!(
                response.status(),
                http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            ),
            // or, for one far over it, ends the connection with GOAWAY
            // ENHANCE_YOUR_CALM ("header_list_way_too_large").
            Err(error) => assert!(
                error.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) || error.is_io(),
                "{error:?}"
            ),
        }
        // Other connections are served.
        probe(&server).await;
    })
    .await;
}

// ---------------------------------------------------------------------
// More abuse, each on raw connections of its own while a probe is served
// on another, with the test process's memory watched: CONTINUATION
// floods, an HPACK bomb, empty DATA frames, readers that never read,
// stream IDs spent or reused, idle connections by the thousand and more
// streams than the server allows.
//
// The client side of every attack runs in this process too, so the RSS
// figures include it (a few MiB at most: the attackers hold no more than a
// chunk of frames each).

/// These tests measure the process's memory: one at a time, so that one
/// does not count another's. (The tests above this section do not take it
/// and may run beside one of these: the limits leave room for that.) Taken
/// outside `bounded`, so waiting for the others does not count against a
/// test's time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a probe call may take while an attack runs.
const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// How much the process's RSS may grow while an attack runs.
const RSS_LIMIT: u64 = 64 << 20;

/// How long the server has to close an attacking connection.
const CLOSE_LIMIT: Duration = Duration::from_secs(3);

const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const GOAWAY: u8 = 7;
const WINDOW_UPDATE: u8 = 8;
const CONTINUATION: u8 = 9;

const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 4;

/// The largest stream ID (RFC 9113 §5.1.1).
const LAST_STREAM_ID: u32 = 0x7fff_ffff;

/// A probe call, timed; it must succeed within [`PROBE_LIMIT`].
async fn timed_probe(server: &TestServer, when: &str) -> Duration {
    let started = tokio::time::Instant::now();
    within(
        PROBE_LIMIT,
        &format!("the probe call {when}"),
        probe(server),
    )
    .await;
    let took = started.elapsed();
    eprintln!("probe {when}: {took:?}");
    took
}

/// The process's resident set, in bytes (`VmRSS` of /proc/self/status).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS in kB");
    kib * 1024
}

/// Counts the live heap bytes of the whole process, and their peak: what
/// the RSS cannot show when an earlier test left freed memory with the
/// allocator (reused without growing the RSS).
struct CountingAllocator;

static HEAP_LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEAP_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn heap_grew(size: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let now = HEAP_LIVE.fetch_add(size, Relaxed) + size;
    HEAP_PEAK.fetch_max(now, Relaxed);
}

fn heap_shrank(size: usize) {
    HEAP_LIVE.fetch_sub(size, std::sync::atomic::Ordering::Relaxed);
}

unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let ptr = unsafe { std::alloc::System.alloc(layout) };
        if !ptr.is_null() {
            heap_grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        let ptr = unsafe { std::alloc::System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            heap_grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) };
        heap_shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            // Old and new both live for a moment: count the new first.
            heap_grew(new_size);
            heap_shrank(layout.size());
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Watches the process's memory while an attack runs: the RSS (sampled
/// every 2 ms on a thread of its own, so a busy runtime cannot starve it)
/// and the live heap (counted at every allocation), each as its peak.
struct RssWatch {
    before: u64,
    heap_before: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: Option<std::thread::JoinHandle<u64>>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let before = rss();
        let heap_before = HEAP_LIVE.load(std::sync::atomic::Ordering::Relaxed);
        HEAP_PEAK.store(heap_before, std::sync::atomic::Ordering::Relaxed);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(rss());
                std::thread::sleep(Duration::from_millis(2));
            }
            peak.max(rss())
        });
        RssWatch {
            before,
            heap_before,
            stop,
            sampler: Some(sampler),
        }
    }

    /// Stops watching; asserts the peak RSS, and the peak of live heap
    /// bytes, each grew by less than `limit` over the start. Returns both
    /// growths: RSS, heap.
    fn assert_growth_below(mut self, limit: u64, what: &str) -> (u64, u64) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let peak = self.sampler.take().unwrap().join().unwrap();
        let heap_peak = HEAP_PEAK.load(std::sync::atomic::Ordering::Relaxed);
        let after = rss();
        let growth = peak.saturating_sub(self.before);
        let heap_growth = heap_peak.saturating_sub(self.heap_before) as u64;
        eprintln!(
            "memory {what}: RSS before {} KiB, peak {} KiB, after {} KiB: peak growth {} KiB; \
             live heap peak growth {} KiB (limit {} KiB)",
            self.before >> 10,
            peak >> 10,
            after >> 10,
            growth >> 10,
            heap_growth >> 10,
            limit >> 10
        );
        assert!(
            growth < limit,
            "RSS grew by {growth} bytes {what} (limit {limit})"
        );
        assert!(
            heap_growth < limit,
            "the live heap grew by {heap_growth} bytes {what} (limit {limit})"
        );
        (growth, heap_growth)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An HPACK integer with an N-bit prefix (RFC 7541 §5.1).
fn hpack_int(out: &mut Vec<u8>, flags: u8, prefix_bits: u32, value: usize) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// A literal header field with a new name (RFC 7541 §6.2), without
/// indexing or, when `index`, with incremental indexing.
fn hpack_literal(out: &mut Vec<u8>, index: bool, name: &str, value: &[u8]) {
    out.push(if index { 0x40 } else { 0x00 });
    hpack_int(out, 0, 7, name.len());
    out.extend_from_slice(name.as_bytes());
    hpack_int(out, 0, 7, value.len());
    out.extend_from_slice(value);
}

/// The header block of a gRPC request for `path`, all literals (the
/// dynamic table is left empty).
fn request_block(server: &TestServer, path: &str) -> Vec<u8> {
    let authority = server.addr.to_string();
    let mut out = Vec::new();
    for (name, value) in [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", &authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ] {
        hpack_literal(&mut out, false, name, value.as_bytes());
    }
    out
}

/// `block` as HEADERS and as many CONTINUATION frames as its size needs,
/// the last with END_HEADERS.
fn header_frames(stream: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = block.chunks(16 * 1024).collect();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() {
            END_HEADERS
        } else {
            0
        };
        if i == 0 {
            out.extend(frame(HEADERS, flags | last, stream, chunk));
        } else {
            out.extend(frame(CONTINUATION, last, stream, chunk));
        }
    }
    out
}

/// A SETTINGS payload.
fn settings(values: &[(u16, u32)]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|(id, value)| {
            let mut entry = id.to_be_bytes().to_vec();
            entry.extend_from_slice(&value.to_be_bytes());
            entry
        })
        .collect()
}

/// A frame the server sent.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

/// A GOAWAY among `frames`: last stream ID, error code, debug data.
fn goaway(frames: &[Frame]) -> Option<(u32, h2::Reason, String)> {
    frames
        .iter()
        .find(|f| f.kind == GOAWAY && f.payload.len() >= 8)
        .map(|f| {
            let last = u32::from_be_bytes(f.payload[0..4].try_into().unwrap()) & LAST_STREAM_ID;
            let code = u32::from_be_bytes(f.payload[4..8].try_into().unwrap());
            let debug = String::from_utf8_lossy(&f.payload[8..]).into_owned();
            (last, h2::Reason::from(code), debug)
        })
}

/// A raw HTTP/2 connection: hand-written frames out, and the server's
/// frames read as they come (by a task, so a GOAWAY is read even while
/// the attack is still being written).
struct Raw {
    write: tokio::net::tcp::OwnedWriteHalf,
    frames: tokio::sync::mpsc::UnboundedReceiver<Frame>,
    reader: tokio::task::JoinHandle<()>,
}

impl Raw {
    /// Connects, sends the preface and a SETTINGS frame of `values`.
    async fn open(server: &TestServer, values: &[(u16, u32)]) -> Raw {
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (mut read, write) = tcp.into_split();
        let (tx, frames) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let mut head = [0u8; 9];
                if read.read_exact(&mut head).await.is_err() {
                    return;
                }
                let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
                let mut payload = vec![0; len];
                if read.read_exact(&mut payload).await.is_err() {
                    return;
                }
                let frame = Frame {
                    kind: head[3],
                    flags: head[4],
                    stream: u32::from_be_bytes(head[5..9].try_into().unwrap()) & LAST_STREAM_ID,
                    payload,
                };
                if tx.send(frame).is_err() {
                    return;
                }
            }
        });
        let mut raw = Raw {
            write,
            frames,
            reader,
        };
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &settings(values)));
        raw.send(&hello).await.unwrap();
        raw
    }

    async fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write.write_all(bytes).await
    }

    /// The server's frames until it closes the connection.
    async fn until_closed(&mut self) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.frames.recv().await {
            frames.push(frame);
        }
        frames
    }

    /// The server's frames until one `stop` accepts (included), or the
    /// connection closes; and whether one did.
    async fn until(&mut self, mut stop: impl FnMut(&Frame) -> bool) -> (Vec<Frame>, bool) {
        let mut frames = Vec::new();
        while let Some(frame) = self.frames.recv().await {
            let done = stop(&frame);
            frames.push(frame);
            if done {
                return (frames, true);
            }
        }
        (frames, false)
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // Drops the read half: with the write half, the socket closes.
        self.reader.abort();
    }
}

/// Asserts the server ended an attacking connection with GOAWAY `code`
/// and closed it within [`CLOSE_LIMIT`]; returns the GOAWAY.
async fn assert_goaway(raw: &mut Raw, code: h2::Reason, what: &str) -> (u32, h2::Reason, String) {
    let frames = within(
        CLOSE_LIMIT,
        &format!("the server to close the {what} connection"),
        raw.until_closed(),
    )
    .await;
    let goaway =
        goaway(&frames).unwrap_or_else(|| panic!("no GOAWAY on the {what} connection: {frames:?}"));
    eprintln!(
        "{what}: GOAWAY {:?} (last stream {}, debug {:?}), then closed",
        goaway.1, goaway.0, goaway.2
    );
    assert_eq!(goaway.1, code, "the GOAWAY on the {what} connection");
    goaway
}

/// Frames of CONTINUATION the big flood sends: 16 KiB each, 160 MiB in all.
const CONTINUATION_FRAMES: usize = 10_000;

/// A 16 KiB CONTINUATION payload of well-formed header fields (so the
/// server's HPACK decoder accepts every frame and only its flood defence
/// can stop the attack).
fn junk_fields() -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() + 109 <= 16 * 1024 {
        hpack_literal(&mut out, false, "x-junk", &[b'j'; 100]);
    }
    out
}

/// CVE-2024-27316 and kin: a header block that never ends. h2 allows a
/// header block a bounded number of CONTINUATION frames (5 at the default
/// limits) and then sends GOAWAY ENHANCE_YOUR_CALM, whatever their size;
/// it does not keep what it read past `max_header_list_size`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_flood_gets_goaway_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let (server, _svc) = start().await;
        let watch = RssWatch::start();
        // Big: 10,000 frames of 16 KiB of header fields, written 16 at a
        // time (the whole flood never sits in this process's memory).
        let big = async {
            let mut raw = Raw::open(&server, &[]).await;
            let head = request_block(&server, TRANSPORT_UNARY);
            raw.send(&frame(HEADERS, 0, 1, &head)).await.unwrap();
            let fields = junk_fields();
            let chunk: Vec<u8> = (0..16)
                .flat_map(|_| frame(CONTINUATION, 0, 1, &fields))
                .collect();
            let mut written = 0;
            while written < CONTINUATION_FRAMES {
                // The server closes mid-flood: the write fails.
                if raw.send(&chunk).await.is_err() {
                    break;
                }
                written += 16;
            }
            let goaway = assert_goaway(&mut raw, h2::Reason::ENHANCE_YOUR_CALM, "big CONTINUATION flood").await;
            eprintln!(
                "big CONTINUATION flood: {written} of {CONTINUATION_FRAMES} frames written before the server closed"
            );
            assert!(
                written < CONTINUATION_FRAMES,
                "the server read the whole flood of {} MiB",
                (CONTINUATION_FRAMES * fields.len()) >> 20
            );
            goaway
        };
        // Tiny: 200,000 frames of one 5-byte field each.
        let tiny = async {
            let mut raw = Raw::open(&server, &[]).await;
            let head = request_block(&server, TRANSPORT_UNARY);
            raw.send(&frame(HEADERS, 0, 3, &head)).await.unwrap();
            let mut field = Vec::new();
            hpack_literal(&mut field, false, "x", b"y");
            let chunk: Vec<u8> = (0..1000)
                .flat_map(|_| frame(CONTINUATION, 0, 3, &field))
                .collect();
            for _ in 0..200 {
                if raw.send(&chunk).await.is_err() {
                    break;
                }
            }
            assert_goaway(&mut raw, h2::Reason::ENHANCE_YOUR_CALM, "tiny CONTINUATION flood").await
        };
        let (big, tiny, _) = tokio::join!(big, tiny, timed_probe(&server, "during the CONTINUATION floods"));
        // Nothing of either stream was processed.
        assert_eq!(big.0, 0, "last stream processed");
        assert_eq!(tiny.0, 0, "last stream processed");
        timed_probe(&server, "after the CONTINUATION floods").await;
        watch.assert_growth_below(RSS_LIMIT, "during the CONTINUATION floods");
    })
    .await;
}

/// Times the bomb's one dynamic-table entry is referenced: with ~4 KiB
/// per entry, ~240 MiB of decoded header list from ~64 KiB on the wire.
const BOMB_REFERENCES: usize = 60_000;

/// An HPACK bomb: one ~4 KiB header inserted into the dynamic table, then
/// referenced by its one-byte index tens of thousands of times. h2 counts
/// the decoded size as it decodes, stops past 4 × `max_header_list_size`
/// and sends GOAWAY ENHANCE_YOUR_CALM; the decoded list is never built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hpack_bomb_gets_goaway_without_decoding_it_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let (server, _svc) = start().await;
        let watch = RssWatch::start();
        let mut raw = Raw::open(&server, &[]).await;
        let mut block = request_block(&server, TRANSPORT_UNARY);
        // 6 + 4000 + 32 = 4038 bytes: fits the default 4096-byte table.
        let value = vec![b'b'; 4000];
        hpack_literal(&mut block, true, "x-bomb", &value);
        // Index 62: the first dynamic-table entry (RFC 7541 §2.3.3).
        block.extend(std::iter::repeat_n(0x80 | 62, BOMB_REFERENCES));
        let decoded = BOMB_REFERENCES * (6 + value.len() + 32);
        eprintln!(
            "HPACK bomb: {} KiB on the wire, {} MiB decoded",
            block.len() >> 10,
            decoded >> 20
        );
        let attack = async {
            // The server may close before the last CONTINUATION: fine.
            let _ = raw.send(&header_frames(1, END_STREAM, &block)).await;
            assert_goaway(&mut raw, h2::Reason::ENHANCE_YOUR_CALM, "HPACK bomb").await
        };
        let (goaway, _) = tokio::join!(attack, timed_probe(&server, "during the HPACK bomb"));
        assert_eq!(goaway.0, 0, "the bomb's stream was not processed");
        timed_probe(&server, "after the HPACK bomb").await;
        let (growth, heap_growth) = watch.assert_growth_below(RSS_LIMIT, "during the HPACK bomb");
        assert!(
            (growth.max(heap_growth) as usize) < decoded / 4,
            "the decoded header list was built"
        );
    })
    .await;
}

/// Empty DATA frames the flood sends.
const EMPTY_DATA_FRAMES: usize = 100_000;

/// Empty DATA frames without END_STREAM cost the server a frame each and
/// carry nothing: h2 allows a connection 100 of them in its lifetime, then
/// sends GOAWAY ENHANCE_YOUR_CALM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_data_flood_gets_goaway_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let (server, svc) = start().await;
        let watch = RssWatch::start();
        let mut raw = Raw::open(&server, &[]).await;
        // A real call, tagged, whose request never comes: only empty DATA.
        let mut block = request_block(&server, TRANSPORT_CLIENT_STREAM);
        hpack_literal(&mut block, false, "x-tag", b"empty-data");
        raw.send(&header_frames(1, 0, &block)).await.unwrap();
        let attack = async {
            let chunk: Vec<u8> = (0..1000).flat_map(|_| frame(DATA, 0, 1, &[])).collect();
            let mut written = 0;
            while written < EMPTY_DATA_FRAMES {
                if raw.send(&chunk).await.is_err() {
                    break;
                }
                written += 1000;
            }
            eprintln!("empty DATA flood: {written} of {EMPTY_DATA_FRAMES} frames written");
            assert_goaway(&mut raw, h2::Reason::ENHANCE_YOUR_CALM, "empty DATA flood").await
        };
        let (goaway, _) = tokio::join!(attack, timed_probe(&server, "during the empty DATA flood"));
        // The stream had been accepted: the GOAWAY says it was processed.
        assert_eq!(goaway.0, 1, "last stream processed");
        // The handler, if it got to start before the connection ended
        // (h2 may end it before hyper takes the stream), saw no request
        // and no end of one: the call fails, it does not complete.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let events = svc.probe.events("empty-data");
        eprintln!("empty DATA flood: the handler saw {events:?}");
        assert!(!svc.probe.has("empty-data", "completed"), "{events:?}");
        assert!(
            !events.iter().any(|e| e.starts_with("recv:")),
            "an empty DATA frame made a message: {events:?}"
        );
        timed_probe(&server, "after the empty DATA flood").await;
        watch.assert_growth_below(RSS_LIMIT, "during the empty DATA flood");
    })
    .await;
}

/// What each slow reader asks of the server-streaming method: 16 GiB.
fn endless_stream(tag: &str) -> Bytes {
    req_frame(&protocall_tests::protocall::transport::Req {
        tag: tag.into(),
        count: 1_000_000,
        reply_size: 16 * 1024,
        ..Default::default()
    })
}

const TRANSPORT_SERVER_STREAM: &str = "/protocall.transport.Transport/ServerStream";

/// Two readers that take nothing of a 16 GiB response stream: one that
/// advertises a stream window of 0 (h2 client), one that opens every
/// window to 2^31-1 and never reads its socket (raw). Flow control and
/// h2's per-stream send buffer hold the handler back; memory stays
/// bounded, the probe is served, and closing the readers ends the calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_never_read_hold_back_the_stream_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let (server, svc) = start().await;
        let watch = RssWatch::start();
        // Window 0: the server may send headers, no data.
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (client, connection) = h2::client::Builder::new()
            .initial_window_size(0)
            .handshake::<_, Bytes>(tcp)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        let (response, mut body) = client
            .send_request(grpc_head(server.addr, TRANSPORT_SERVER_STREAM, &[]), false)
            .unwrap();
        body.send_data(endless_stream("zero-window"), true).unwrap();
        let response = within(
            Duration::from_secs(2),
            "the zero-window reader's response headers",
            response,
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        // Wide open, never read: only TCP holds the server back.
        let mut deaf = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(
            SETTINGS,
            0,
            0,
            &settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, LAST_STREAM_ID)]),
        ));
        hello.extend(frame(
            WINDOW_UPDATE,
            0,
            0,
            &(LAST_STREAM_ID - 65_535).to_be_bytes(),
        ));
        let mut block = request_block(&server, TRANSPORT_SERVER_STREAM);
        hpack_literal(&mut block, false, "x-tag", b"never-reads");
        hello.extend(header_frames(1, 0, &block));
        hello.extend(frame(DATA, END_STREAM, 1, &endless_stream("never-reads")));
        deaf.write_all(&hello).await.unwrap();
        for tag in ["zero-window", "never-reads"] {
            assert!(
                svc.probe
                    .wait_for(tag, "started", Duration::from_secs(2))
                    .await,
                "the {tag} call started"
            );
        }
        // Hold both for two seconds, probing meanwhile.
        let mut slowest = Duration::ZERO;
        for i in 0..4 {
            tokio::time::sleep(Duration::from_millis(500)).await;
            slowest =
                slowest.max(timed_probe(&server, &format!("while the readers stall ({i})")).await);
        }
        eprintln!("slow readers: slowest probe {slowest:?}");
        for tag in ["zero-window", "never-reads"] {
            assert!(
                !svc.probe.has(tag, "completed"),
                "the {tag} stream cannot have been sent"
            );
        }
        watch.assert_growth_below(RSS_LIMIT, "while two readers stall a 16 GiB stream each");
        // The zero-window reader got no data at all.
        let mut stalled = response.into_body();
        assert!(
            tokio::time::timeout(Duration::from_millis(100), stalled.data())
                .await
                .is_err(),
            "DATA past a zero window"
        );
        // The deaf reader's socket holds what the server got to send
        // before TCP stopped it (read here only as far as it is queued,
        // at most 64 MiB).
        let mut queued = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        while queued < 64 << 20 {
            match deaf.try_read(&mut buf) {
                Ok(0) => panic!("the server closed the deaf reader's connection"),
                Ok(n) => queued += n,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(error) => panic!("the deaf reader's connection failed: {error}"),
            }
        }
        eprintln!(
            "slow readers: {} KiB queued for the deaf reader",
            queued >> 10
        );
        assert!(queued > 0, "the server sent the deaf reader nothing");
        // Closing the readers ends their calls on the server.
        drop((stalled, body, client));
        connection.abort();
        drop(deaf);
        for tag in ["zero-window", "never-reads"] {
            assert!(
                svc.probe
                    .wait_for(tag, "stream dropped", Duration::from_secs(3))
                    .await,
                "the {tag} stream was dropped once its reader left: {:?}",
                svc.probe.events(tag)
            );
        }
        timed_probe(&server, "after the slow readers").await;
    })
    .await;
}

/// RFC 9113 §5.1.1: stream IDs only grow, and a client that used
/// 2^31-1 has no more. A HEADERS frame on a lower ID is a connection
/// error PROTOCOL_ERROR: the server sends GOAWAY (naming the last stream
/// it processed) and closes; the call on 2^31-1 itself is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ids_past_the_last_or_going_back_get_protocol_error() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let (server, _svc) = start().await;
        let watch = RssWatch::start();
        let request = req_frame(&protocall_tests::protocall::transport::Req {
            payload: "last".into(),
            ..Default::default()
        });
        // The last stream ID, a whole unary call.
        let mut spent = Raw::open(&server, &[]).await;
        let mut call = header_frames(LAST_STREAM_ID, 0, &request_block(&server, TRANSPORT_UNARY));
        call.extend(frame(DATA, END_STREAM, LAST_STREAM_ID, &request));
        spent.send(&call).await.unwrap();
        let (frames, ended) = within(
            Duration::from_secs(2),
            "the reply on stream 2^31-1",
            spent.until(|f| f.stream == LAST_STREAM_ID && f.flags & END_STREAM != 0),
        )
        .await;
        assert!(ended, "stream 2^31-1 was served: {frames:?}");
        assert!(
            frames
                .iter()
                .any(|f| f.kind == DATA && f.stream == LAST_STREAM_ID && !f.payload.is_empty()),
            "a reply message on stream 2^31-1: {frames:?}"
        );
        assert!(!frames.iter().any(|f| f.kind == RST_STREAM), "{frames:?}");
        // Then another stream: there is none left.
        let _ = spent
            .send(&header_frames(
                1,
                END_STREAM,
                &request_block(&server, TRANSPORT_UNARY),
            ))
            .await;
        // A fresh connection: stream 5, then 3 (lower than one used).
        let mut back = Raw::open(&server, &[]).await;
        let mut call = header_frames(5, 0, &request_block(&server, TRANSPORT_UNARY));
        call.extend(frame(DATA, END_STREAM, 5, &request));
        call.extend(header_frames(
            3,
            END_STREAM,
            &request_block(&server, TRANSPORT_UNARY),
        ));
        back.send(&call).await.unwrap();
        let (spent_goaway, back_goaway, _) = tokio::join!(
            assert_goaway(
                &mut spent,
                h2::Reason::PROTOCOL_ERROR,
                "stream ID after 2^31-1"
            ),
            assert_goaway(
                &mut back,
                h2::Reason::PROTOCOL_ERROR,
                "stream ID going back"
            ),
            timed_probe(&server, "during the stream-ID abuse"),
        );
        assert_eq!(spent_goaway.0, LAST_STREAM_ID, "last stream processed");
        assert_eq!(back_goaway.0, 5, "last stream processed");
        timed_probe(&server, "after the stream-ID abuse").await;
        watch.assert_growth_below(RSS_LIMIT, "during the stream-ID abuse");
    })
    .await;
}

/// The soft limit on open files of this process (/proc/self/limits).
fn open_files_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("Max open files in /proc/self/limits");
    line.split_whitespace()
        .nth(3)
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Idle connections the test opens (fewer when the open-file limit is
/// lower: each takes two descriptors here, client end and server end).
const IDLE_CONNECTIONS: u64 = 1_000;

/// What one idle connection may cost, client end and server end together.
const RSS_PER_IDLE_CONNECTION: u64 = 64 << 10;

/// Connections that finish the preface and then say nothing are served
/// as connections (no idle limit is set by default): they cost memory
/// per connection, bounded, and the probe is served among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_connections_cost_bounded_memory_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let limit = open_files_limit();
        let count = IDLE_CONNECTIONS.min(limit.saturating_sub(256) / 2);
        eprintln!("idle connections: {count} (open-file limit {limit})");
        assert!(
            count >= 100,
            "the open-file limit {limit} leaves too few connections"
        );
        let (server, _svc) = start().await;
        let watch = RssWatch::start();
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &[]));
        let mut idle = Vec::new();
        for _ in 0..count {
            let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
            tcp.write_all(&hello).await.unwrap();
            idle.push(tcp);
        }
        // Each is served: the server's SETTINGS arrive on every one.
        for tcp in &mut idle {
            let mut head = [0u8; 9];
            within(
                Duration::from_secs(2),
                "the server's SETTINGS",
                tcp.read_exact(&mut head),
            )
            .await
            .expect("the server's SETTINGS");
            assert_eq!(head[3], SETTINGS);
        }
        let latency = timed_probe(&server, "among the idle connections").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        // All still open (only what the server sent to read, no EOF).
        let mut buf = [0u8; 1024];
        for tcp in &idle {
            loop {
                match tcp.try_read(&mut buf) {
                    Ok(0) => panic!("the server closed an idle connection"),
                    Ok(_) => continue,
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(error) => panic!("an idle connection failed: {error}"),
                }
            }
        }
        let (growth, heap_growth) = watch.assert_growth_below(
            count * RSS_PER_IDLE_CONNECTION,
            &format!("with {count} idle connections"),
        );
        eprintln!(
            "idle connections: {} bytes of RSS and {} of heap each (both ends), probe {latency:?}",
            growth / count,
            heap_growth / count
        );
        drop(idle);
        timed_probe(&server, "after the idle connections closed").await;
    })
    .await;
}

/// RFC 9113 §5.1.2: HEADERS past the advertised SETTINGS_MAX_CONCURRENT_STREAMS
/// are a stream error (PROTOCOL_ERROR or REFUSED_STREAM). With a limit of
/// 10 and 50 opened at once, h2 refuses the last 40 with RST_STREAM
/// REFUSED_STREAM, keeps the connection and the 10, and takes a new stream
/// once one of them ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_past_max_concurrent_streams_are_refused_and_others_are_served() {
    let _serial = ONE_AT_A_TIME.lock().await;
    bounded(async {
        let svc = Svc::default();
        let server = protocall::Server::builder().max_concurrent_streams(Some(10));
        let server = spawn(router(server, &svc)).await;
        let watch = RssWatch::start();
        let mut raw = Raw::open(&server, &[]).await;
        // 50 calls whose requests never come: each holds its stream.
        let head = request_block(&server, TRANSPORT_UNARY);
        let ids: Vec<u32> = (0..50).map(|i| 2 * i + 1).collect();
        let burst: Vec<u8> = ids
            .iter()
            .flat_map(|&id| header_frames(id, 0, &head))
            .collect();
        raw.send(&burst).await.unwrap();
        let mut refused = std::collections::BTreeMap::new();
        let (frames, _) = within(
            Duration::from_secs(3),
            "40 refusals",
            raw.until(|f| {
                if f.kind == RST_STREAM && f.payload.len() == 4 {
                    let code = u32::from_be_bytes(f.payload[..4].try_into().unwrap());
                    refused.insert(f.stream, h2::Reason::from(code));
                }
                refused.len() == 40
            }),
        )
        .await;
        assert!(goaway(&frames).is_none(), "no GOAWAY: {frames:?}");
        eprintln!("concurrent streams: refused {:?}", refused.values().next());
        let expected: Vec<u32> = ids[10..].to_vec();
        assert_eq!(
            refused.keys().copied().collect::<Vec<_>>(),
            expected,
            "the streams past the first 10 are refused"
        );
        assert!(
            refused.values().all(|&r| r == h2::Reason::REFUSED_STREAM),
            "{refused:?}"
        );
        timed_probe(&server, "while 10 streams are held").await;
        // Stream 1 ends: it is served, and a new stream takes its place.
        let request = req_frame(&protocall_tests::protocall::transport::Req {
            payload: "held".into(),
            ..Default::default()
        });
        raw.send(&frame(DATA, END_STREAM, 1, &request))
            .await
            .unwrap();
        let (frames, ended) = within(
            Duration::from_secs(2),
            "the reply on stream 1",
            raw.until(|f| f.stream == 1 && f.flags & END_STREAM != 0),
        )
        .await;
        assert!(
            ended && frames.iter().all(|f| f.kind != RST_STREAM),
            "{frames:?}"
        );
        let mut call = header_frames(101, 0, &head);
        call.extend(frame(DATA, END_STREAM, 101, &request));
        raw.send(&call).await.unwrap();
        let (frames, ended) = within(
            Duration::from_secs(2),
            "the reply on stream 101",
            raw.until(|f| f.stream == 101 && (f.flags & END_STREAM != 0 || f.kind == RST_STREAM)),
        )
        .await;
        assert!(ended, "{frames:?}");
        assert_ne!(
            frames.last().unwrap().kind,
            RST_STREAM,
            "stream 101 was served: {frames:?}"
        );
        drop(raw);
        timed_probe(&server, "after the concurrent-streams abuse").await;
        watch.assert_growth_below(RSS_LIMIT, "during the concurrent-streams abuse");
    })
    .await;
}

/// A stream sending most of a 1 MiB `Req` (600 KiB of it) and then
/// nothing: its message stays incomplete on the server.
fn half_sent_message(client: &mut h2::client::SendRequest<Bytes>, server: &TestServer) -> Held {
    const CLAIMED: usize = 1 << 20;
    // `Req { payload }`: tag 0x0a, a 3-byte varint length, then the string.
    let text = CLAIMED - 4;
    let mut bytes = vec![0];
    bytes.extend_from_slice(&(CLAIMED as u32).to_be_bytes());
    bytes.extend_from_slice(&[
        0x0a,
        (text & 0x7f) as u8 | 0x80,
        ((text >> 7) & 0x7f) as u8 | 0x80,
        (text >> 14) as u8,
    ]);
    bytes.resize(5 + 600 * 1024, b'a');
    let (response, mut body) = client.send_request(unary_request(server), false).unwrap();
    body.send_data(Bytes::from(bytes), false).unwrap();
    Held {
        response,
        _body: body,
    }
}

struct Held {
    response: h2::client::ResponseFuture,
    _body: h2::SendStream<Bytes>,
}

/// How many of `held` the server answered within `wait`, each with
/// `grpc-status: 8`; the others are given back unanswered.
async fn answered(held: Vec<Held>, wait: Duration) -> (usize, Vec<Held>) {
    let mut waiting = Vec::new();
    let mut refused = 0;
    let answers = futures_util::future::join_all(held.into_iter().map(|mut held| async move {
        let answer = tokio::time::timeout(wait, &mut held.response).await;
        (held, answer)
    }))
    .await;
    for (held, answer) in answers {
        match answer {
            Err(_) => waiting.push(held),
            Ok(response) => {
                let response = response.expect("an answer, not a reset");
                let status = response.headers().get("grpc-status").cloned();
                assert_eq!(
                    status.as_ref().map(|s| s.as_bytes()),
                    Some(&b"8"[..]),
                    "{response:?}"
                );
                refused += 1;
            }
        }
    }
    (refused, waiting)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_messages_past_the_connection_budget_are_refused_and_others_are_served() {
    bounded(async {
        let svc = Svc::default();
        let server =
            protocall::Server::builder().max_buffered_message_bytes_per_connection(Some(2 << 20));
        let server = spawn(router(server, &svc)).await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (client, connection) = h2::client::Builder::new()
            .initial_window_size(4 << 20)
            .initial_connection_window_size(16 << 20)
            .handshake::<_, Bytes>(tcp)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        let mut client = client.ready().await.unwrap();
        // Six streams of 600 KiB each against 2 MiB: at most three fit.
        let held: Vec<Held> = (0..6)
            .map(|_| half_sent_message(&mut client, &server))
            .collect();
        let (refused, waiting) = answered(held, Duration::from_secs(3)).await;
        assert!((3..=5).contains(&refused), "{refused} of 6 streams refused");
        probe(&server).await;
        // The streams given up give their bytes back: three more fit.
        drop(waiting);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let held: Vec<Held> = (0..3)
            .map(|_| half_sent_message(&mut client, &server))
            .collect();
        let (refused, waiting) = answered(held, Duration::from_secs(1)).await;
        assert_eq!(refused, 0, "the budget came back");
        assert_eq!(waiting.len(), 3);
        assert!(!connection.is_finished(), "the connection stays open");
    })
    .await;
}
