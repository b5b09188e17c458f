//! One function per fuzz target. Decode failures, protox errors and gRPC
//! error statuses are fine; a panic, a hang, a stack overflow or a round trip
//! that changes the message is a finding.

use std::fmt::Debug;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration as StdDuration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use protocall::types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use protocall::types::{Any, Duration, FieldMask, FileDescriptorSet, Struct, Timestamp, Value};
use protocall::{DecodeErrorKind, DecodeOptions, Message};
use tower_service::Service as _;

use crate::schemas::protocall::fuzz::Node;
use crate::schemas::protocall::test::Everything;
use crate::schemas::protocall::test2::Legacy;

/// Re-decoding what we printed or encoded: a correctness check, not a
/// budget check (our own encoding may be shorter than the input, say
/// packed where the input was not, with the same memory behind it).
const UNBOUNDED: DecodeOptions = DecodeOptions::new().memory_budget(0, usize::MAX);

/// Decodes `data` as `M` from a slice and from a `Bytes`; whatever decodes
/// must survive encode → decode unchanged.
fn round_trip<M: Message + PartialEq + Debug>(data: &[u8]) {
    let from_slice = M::decode(data);
    let from_bytes = M::decode(Bytes::copy_from_slice(data));
    match (&from_slice, &from_bytes) {
        (Ok(a), Ok(b)) => assert_same(a, b, "slice vs Bytes input"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "slice vs Bytes error"),
        _ => panic!("slice and Bytes input disagree: {from_slice:?} vs {from_bytes:?}"),
    }
    let Ok(first) = from_slice else { return };
    let encoded = first.encode_to_vec();
    assert_eq!(encoded.len(), first.encoded_len(), "encoded_len is wrong");
    let second = UNBOUNDED
        .decode::<M, _>(encoded.as_slice())
        .unwrap_or_else(|e| panic!("re-decoding our own encoding failed: {e}\n{first:?}"));
    assert_same(&first, &second, "decode → encode → decode");
    let third = UNBOUNDED
        .decode::<M, _>(Bytes::from(encoded))
        .unwrap_or_else(|e| panic!("re-decoding our own encoding from Bytes failed: {e}"));
    assert_same(&first, &third, "decode → encode → decode (Bytes)");
}

/// Equality of two decodes. A message holding a NaN is not equal to itself,
/// so for those only the encoded length is compared (maps may re-order, so
/// the bytes themselves are not comparable).
fn assert_same<M: Message + PartialEq + Debug>(a: &M, b: &M, what: &str) {
    #[allow(clippy::eq_op)]
    if a == a {
        assert_eq!(a, b, "{what} changed the message");
    } else {
        assert_eq!(a.encoded_len(), b.encoded_len(), "{what} changed the size");
    }
}

/// `protocall.test.Everything` (proto3, every field kind, `Bytes` fields)
/// and `protocall.test2.Legacy` (proto2: groups, closed enums, defaults).
pub fn decode_everything(data: &[u8]) {
    round_trip::<Everything>(data);
    round_trip::<Legacy>(data);
}

/// The well-known types, including their range checks on decode.
pub fn decode_wkt(data: &[u8]) {
    round_trip::<Any>(data);
    round_trip::<Struct>(data);
    round_trip::<Value>(data);
    round_trip::<Timestamp>(data);
    round_trip::<Duration>(data);
    round_trip::<FieldMask>(data);
    round_trip::<FileDescriptorSet>(data);
}

/// A self-recursive schema. The input decodes as is (and under a low
/// limit), and again wrapped in as many levels of nesting as its first two
/// bytes say, up to 511 (each level copies the buffer, so this is
/// quadratic: 20 000 levels ran at 12 inputs/s). Two bits of the third byte
/// (cycled) choose each level: singular field, repeated field, group
/// `Inner { node }`, group `Chain { node }`. Past the recursion limit (100)
/// the result must be `RecursionLimit`, never a stack overflow; well within
/// it, an empty innermost message must decode.
pub fn decode_recursive(data: &[u8]) {
    round_trip::<Node>(data);
    let limited = DecodeOptions::new().recursion_limit(8);
    let _ = limited.decode::<Node, _>(data);

    let [a, b, kind, rest @ ..] = data else {
        return;
    };
    let depth = usize::from(u16::from_le_bytes([*a, *b])) % 512;
    let mut bytes = rest.to_vec();
    for level in 0..depth {
        bytes = match (kind >> (level % 4 * 2)) & 3 {
            0 => wrap_len(1, &bytes),
            1 => wrap_len(2, &bytes),
            2 => wrap_group(3, &wrap_len(4, &bytes)),
            _ => wrap_group(6, &wrap_len(8, &bytes)),
        };
    }
    let result = Node::decode(bytes.as_slice());
    if depth > 100 {
        match result {
            Err(e) => assert!(
                matches!(e.kind(), DecodeErrorKind::RecursionLimit(_)),
                "{depth} levels: {e}"
            ),
            Ok(_) => panic!("{depth} levels of nesting decoded past the recursion limit"),
        }
    } else if depth <= 40 && rest.is_empty() {
        // at most two nesting levels per wrap: 80 < 100
        result.unwrap_or_else(|e| panic!("{depth} levels of empty nesting: {e}"));
    }
}

fn wrap_group(field: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![(field << 3) | 3];
    out.extend_from_slice(inner);
    out.push((field << 3) | 4);
    out
}

fn wrap_len(field: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![(field << 3) | 2];
    let mut len = inner.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(inner);
    out
}

/// An in-memory request body: the given chunks, then the end.
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(http_body::Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}

/// The gRPC frame decoder (5-byte prefixes, gzip, message limits) through
/// the public surface: a unary call to `grpc.health.v1.Health/Check` on
/// [`protocall::server::Routes`], the body being the input cut into chunks.
///
/// Byte 0: `grpc-encoding` (bits 0–1: none, identity, gzip, `bogus`) and, in
/// bits 2–4, how many of the next bytes are chunk sizes (cycled; 0 = one
/// chunk). The response must finish, with a `grpc-status`, within 5 s.
pub fn grpc_frames(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let encoding = match control & 3 {
        0 => None,
        1 => Some("identity"),
        2 => Some("gzip"),
        _ => Some("bogus"),
    };
    let sizes_len = usize::from((control >> 2) & 7).min(rest.len());
    let (sizes, body) = rest.split_at(sizes_len);
    let mut chunks = std::collections::VecDeque::new();
    let mut body = Bytes::copy_from_slice(body);
    let mut i = 0;
    while !body.is_empty() {
        let size = if sizes.is_empty() {
            body.len()
        } else {
            usize::from(sizes[i % sizes.len()]).max(1)
        };
        chunks.push_back(body.split_to(size.min(body.len())));
        i += 1;
    }

    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri("/grpc.health.v1.Health/Check")
        .header(http::header::CONTENT_TYPE, "application/grpc")
        .header(http::header::TE, "trailers");
    if let Some(encoding) = encoding {
        request = request.header("grpc-encoding", encoding);
    }
    let request = request.body(Chunks(chunks)).expect("a valid request");

    RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let mut routes = protocall::server::Routes::new(protocall::health::health_service().1);
            let call = async {
                let response = routes.call(request).await.expect("Routes is infallible");
                let (parts, body) = response.into_parts();
                let collected = body.collect().await.expect("the response body fails");
                let in_trailers = collected
                    .trailers()
                    .is_some_and(|t| t.contains_key("grpc-status"));
                assert!(
                    in_trailers || parts.headers.contains_key("grpc-status"),
                    "a response without grpc-status: {parts:?}"
                );
            };
            tokio::time::timeout(StdDuration::from_secs(5), call)
                .await
                .expect("the call did not finish within 5 s");
        })
    });
}

/// Arbitrary `.proto` text through protox, lowering and the emitter: an
/// error is fine, a panic is a finding.
pub fn codegen_proto(data: &[u8]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("fuzz.proto");
    std::fs::write(&file, data).expect("writing the schema");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("the output directory");
    let _ = protocall_codegen::configure()
        .out_dir(&out)
        .emit_rerun_if_changed(false)
        .compile(&[&file], &[dir.path()]);
}

/// Arbitrary bytes as a protoc plugin's `CodeGeneratorRequest`: the plugin
/// always answers with a response that decodes.
pub fn plugin_request(data: &[u8]) {
    let response = protocall_codegen::run_plugin(data);
    CodeGeneratorResponse::decode(response.as_slice())
        .unwrap_or_else(|e| panic!("the plugin's response does not decode: {e}"));
    // The request itself must round-trip too (it is what the plugin reads).
    round_trip::<CodeGeneratorRequest>(data);
}

/// Parses `data` as ProtoJSON into `M`; whatever parses must print (both
/// from its fields and by the descriptor walk of its encoding, to the same
/// JSON value), and what it prints must parse back to an equal message.
fn json_round_trip<M: protocall::reflect::ReflectMessage + PartialEq + Debug>(data: &[u8]) {
    use protocall::json;
    let options = json::Options::new();
    let Ok(first) = json::from_slice::<M>(data, &options) else {
        return;
    };
    for printing in [options.clone(), json::Options::new().emit_unpopulated(true)] {
        let printed = json::to_vec(&first, &printing)
            .unwrap_or_else(|e| panic!("parsed JSON does not print: {e}\n{first:?}"));
        let walked = json::binary_to_json(&M::descriptor(), &first.encode_to_vec(), &printing)
            .unwrap_or_else(|e| panic!("the descriptor walk does not print: {e}\n{first:?}"));
        let value = |bytes: &[u8]| -> serde_json::Value {
            serde_json::from_slice(bytes).expect("printed JSON is JSON")
        };
        assert_eq!(value(&printed), value(&walked), "the two printers disagree");
        let unbounded = options.clone().memory_budget(0, usize::MAX);
        let second = json::from_slice::<M>(&printed, &unbounded).unwrap_or_else(|e| {
            panic!(
                "our own JSON does not parse: {e}\n{}",
                String::from_utf8_lossy(&printed)
            )
        });
        assert_same(&first, &second, "JSON parse → print → parse");
    }
}

/// ProtoJSON parsing of arbitrary text: the test schemas, the recursive
/// one and the well-known types with special forms.
pub fn json_parse(data: &[u8]) {
    json_round_trip::<Everything>(data);
    json_round_trip::<Legacy>(data);
    json_round_trip::<Node>(data);
    json_round_trip::<Any>(data);
    json_round_trip::<Struct>(data);
    json_round_trip::<Value>(data);
    json_round_trip::<Timestamp>(data);
    json_round_trip::<Duration>(data);
    json_round_trip::<FieldMask>(data);
}

/// Parses `data` as text format into `M`; what parses must print, and the
/// printed text must parse back to an equal message.
fn text_round_trip<M: protocall::reflect::ReflectMessage + PartialEq + Debug>(text: &str) {
    use protocall::text;
    let Ok(first) = text::from_str::<M>(text) else {
        return;
    };
    let single_line = text::Options::new().single_line(true);
    for printed in [
        text::to_string(&first),
        text::to_string_with(&first, &single_line),
    ] {
        let unbounded = text::Options::new().memory_budget(0, usize::MAX);
        let second = text::from_str_with::<M>(&printed, &unbounded)
            .unwrap_or_else(|e| panic!("our own text does not parse: {e}\n{printed}"));
        assert_same(&first, &second, "text parse → print → parse");
    }
}

/// Text-format parsing of arbitrary text (input that is not UTF-8 is
/// skipped: the text format is a string).
pub fn text_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    text_round_trip::<Everything>(text);
    text_round_trip::<Legacy>(text);
    text_round_trip::<Node>(text);
    text_round_trip::<Any>(text);
    text_round_trip::<Struct>(text);
}

/// The bounds of the fuzzed connection, in the runtime's paused clock
/// (which moves on only while every task waits, so none of them is a
/// sleep): the client writing its input (the server reading it or closing),
/// the server getting a PING answered, and closing after the client's EOF.
const H2_FEED: StdDuration = StdDuration::from_secs(5);
const H2_CLOSE: StdDuration = StdDuration::from_secs(2);
/// After the input, how long the client waits (for the server to answer
/// the calls it opened) before its PING and EOF: in the paused clock, until
/// the server has nothing left to do, plus any timer of its due by then.
const H2_SETTLE: StdDuration = StdDuration::from_millis(100);
/// A connection still open after [`H2_CLOSE`] must be idle: in this much
/// more time the server may write less than [`H2_IDLE_BYTES`].
const H2_QUIET: StdDuration = StdDuration::from_secs(1);
const H2_IDLE_BYTES: usize = 16 * 1024;
/// The well-behaved call on a second connection must finish within this.
const H2_CALL: StdDuration = StdDuration::from_secs(2);
/// The whole input, in real time.
const H2_WALL: StdDuration = StdDuration::from_secs(5);

/// The whole server (`protocall::Server` with the echo service of
/// `proto/echo.proto` and the health service, on a current-thread runtime
/// of its own with a paused clock) over an in-memory duplex, fed the
/// HTTP/2 frames the input decodes to ([`crate::h2::Input`], through
/// `arbitrary`), while what the server writes is read, parsed into frames
/// and checked ([`crate::h2::ServerOutput`]: well-formed, SETTINGS first,
/// within the client's frame size). After the input the client waits for
/// the server to settle, sends a PING (when its frames ended on a frame
/// boundary, so the server reads a PING), then EOF. Findings:
///
/// - the client cannot write its input (or the PING) within 5 s: the
///   server neither reads nor closes;
/// - the PING is neither acknowledged nor the connection closed within 5 s;
/// - after the client's EOF the server neither closes the connection within
///   2 s nor goes quiet (16 KiB or more written in the next second; a
///   connection left open and idle is fine — h2 closes on EOF, so this
///   never happened in the runs);
/// - a panic anywhere on the runtime's thread (the server's tasks
///   included, counted by a panic hook), the server's task ending;
/// - on a second connection, a well-behaved client (protocall's own
///   channel) not getting its unary and bidi echoes within 2 s;
/// - the whole input taking 5 s of real time (a task that never yields is
///   left to libFuzzer's `-timeout`).
pub fn h2_server(data: &[u8]) {
    let Ok(input) = crate::h2::decode(data) else {
        return;
    };
    let wire = input.to_wire();
    let panics = panics_on_this_thread();
    let started = std::time::Instant::now();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(h2_session(&wire));
    drop(runtime);
    assert_eq!(
        panics_on_this_thread(),
        panics,
        "a panic on the server's runtime (printed above)"
    );
    let took = started.elapsed();
    assert!(took < H2_WALL, "the input took {took:?} of real time");
}

thread_local! {
    static PANICS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Panics so far on this thread, counted by a hook installed on the first
/// call (before the hook already there, which still runs: under libFuzzer
/// it aborts). A current-thread runtime runs every task on its thread, so
/// a panic in a task the server spawned, which tokio would keep to its
/// `JoinHandle`, is counted here.
fn panics_on_this_thread() -> usize {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(|p| p.get())
}

async fn h2_session(wire: &[u8]) {
    use crate::h2::{EchoService, Incoming, PipeConnector};
    use crate::schemas::protocall::fuzz::echo_server::EchoServer;

    let (connections, incoming) = tokio::sync::mpsc::unbounded_channel();
    let (_reporter, health) = protocall::health::health_service();
    let server = protocall::Server::builder()
        .add_service(EchoServer::new(EchoService))
        .add_service(health)
        .serve_with_incoming(Incoming(incoming));
    let server = tokio::spawn(server);

    let (client, server_end) = tokio::io::duplex(64 * 1024);
    connections.send(server_end).expect("the server's incoming");
    fuzzed_connection(client, wire).await;

    tokio::time::timeout(H2_CALL, well_behaved_call(PipeConnector(connections)))
        .await
        .expect("a well-behaved call on a second connection did not finish within 2 s");
    if server.is_finished() {
        match server.await {
            Ok(Ok(())) => panic!("the server stopped serving with its incoming open"),
            Ok(Err(error)) => panic!("the server failed: {error}"),
            Err(error) => panic!("the server's task: {error}"),
        }
    }
}

/// The client's reading end of the fuzzed connection.
struct H2Reader {
    reader: tokio::io::ReadHalf<tokio::io::DuplexStream>,
    output: crate::h2::ServerOutput,
    buf: Vec<u8>,
    /// The server's end reached EOF (or failed).
    closed: bool,
}

impl H2Reader {
    /// Reads what the server writes while driving `future`: its output, or
    /// `None` if `deadline` came first.
    async fn drive<F: std::future::Future>(
        &mut self,
        future: F,
        deadline: tokio::time::Instant,
    ) -> Option<F::Output> {
        use tokio::io::AsyncReadExt as _;
        let mut future = std::pin::pin!(future);
        loop {
            tokio::select! {
                out = &mut future => return Some(out),
                read = self.reader.read(&mut self.buf), if !self.closed => match read {
                    Ok(0) | Err(_) => self.closed = true,
                    Ok(n) => self.output.feed(&self.buf[..n]),
                },
                () = tokio::time::sleep_until(deadline) => return None,
            }
        }
    }

    /// Reads until `done` holds (`true`), the server closes (`done` is
    /// asked then too) or `deadline` passes (`false`).
    async fn until(
        &mut self,
        done: impl Fn(&crate::h2::ServerOutput) -> bool,
        deadline: tokio::time::Instant,
    ) -> bool {
        use tokio::io::AsyncReadExt as _;
        while !done(&self.output) {
            if self.closed {
                return false;
            }
            tokio::select! {
                read = self.reader.read(&mut self.buf) => match read {
                    Ok(0) | Err(_) => self.closed = true,
                    Ok(n) => self.output.feed(&self.buf[..n]),
                },
                () = tokio::time::sleep_until(deadline) => return false,
            }
        }
        true
    }
}

/// Writes `wire` into the connection, a PING and EOF, reading what the
/// server writes all along; see [`h2_server`] for what must happen.
async fn fuzzed_connection(client: tokio::io::DuplexStream, wire: &[u8]) {
    use crate::h2::{LIVENESS, ServerOutput};
    use tokio::io::AsyncWriteExt as _;
    use tokio::time::Instant;

    let (reader, mut writer) = tokio::io::split(client);
    let mut conn = H2Reader {
        reader,
        output: ServerOutput::new(crate::h2::max_frame_size(wire)),
        buf: vec![0u8; 16 * 1024],
        closed: false,
    };
    // An error writing: the server closed its end, which is fine.
    let wrote = conn
        .drive(writer.write_all(wire), Instant::now() + H2_FEED)
        .await;
    assert!(
        wrote.is_some(),
        "the client could not write its {} bytes within 5 s: the server stopped reading \
         without closing ({:?})",
        wire.len(),
        conn.output
    );
    conn.drive(tokio::time::sleep(H2_SETTLE), Instant::now() + H2_FEED)
        .await;

    if !conn.closed && crate::h2::ends_on_frame_boundary(wire) {
        let acks = conn.output.liveness_acks;
        let ping = crate::h2::ping_frame(LIVENESS);
        let sent = conn
            .drive(writer.write_all(&ping), Instant::now() + H2_FEED)
            .await;
        assert!(
            sent.is_some(),
            "the client could not write a PING within 5 s: the server stopped reading without \
             closing ({:?})",
            conn.output
        );
        let answered = conn
            .until(
                |o: &ServerOutput| o.liveness_acks > acks,
                Instant::now() + H2_FEED,
            )
            .await;
        assert!(
            answered || conn.closed,
            "the server neither answered a PING nor closed the connection within 5 s ({:?})",
            conn.output
        );
    }

    conn.drive(writer.shutdown(), Instant::now() + H2_FEED)
        .await;
    if conn.until(|_| false, Instant::now() + H2_CLOSE).await || conn.closed {
        return;
    }
    // Still open 2 s after the client's EOF: fine if idle.
    let before = conn.output.bytes;
    let noisy = conn
        .until(
            |o: &ServerOutput| o.bytes - before >= H2_IDLE_BYTES,
            Instant::now() + H2_QUIET,
        )
        .await;
    assert!(
        !noisy,
        "the server still writes ({} bytes in {H2_QUIET:?}) {H2_CLOSE:?} after the client's EOF \
         ({:?})",
        conn.output.bytes - before,
        conn.output
    );
}

/// A unary and a bidi echo over protocall's channel on a fresh connection.
async fn well_behaved_call(connector: crate::h2::PipeConnector) {
    use crate::schemas::protocall::fuzz::Payload;
    use crate::schemas::protocall::fuzz::echo_client::EchoClient;

    let channel = protocall::client::Endpoint::new("http://fuzz.test")
        .expect("an endpoint")
        .connect_with_connector(connector)
        .await
        .expect("connecting a second connection");
    let client = EchoClient::new(channel);
    let payload = |data: &[u8]| Payload {
        data: data.to_vec(),
        ..Default::default()
    };
    let reply = client
        .unary(payload(b"well-behaved"))
        .await
        .expect("a well-behaved unary call")
        .into_inner();
    assert_eq!(reply.data, b"well-behaved", "the unary echo");
    let sent: Vec<&[u8]> = vec![b"one", b"two", b"three"];
    let requests = crate::h2::Items(sent.iter().map(|d| payload(d)).collect());
    let mut replies = client
        .bidi(requests)
        .await
        .expect("a well-behaved bidi call")
        .into_inner();
    for expected in sent {
        let reply = replies
            .message()
            .await
            .expect("a bidi echo")
            .expect("the bidi stream ended early");
        assert_eq!(reply.data, expected, "the bidi echo");
    }
    let end = replies.message().await.expect("the bidi stream's end");
    assert!(end.is_none(), "more bidi replies than requests: {end:?}");
}
