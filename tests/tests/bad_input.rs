//! Malformed gRPC requests from a raw HTTP/2 client (the `h2` crate)
//! against a protocall server: each is answered with the status
//! grpc/grpc `doc/statuscodes.md` names — never a panic (which would show
//! as a stream reset), never a hang, never an allocation sized by a lying
//! length prefix or a decompression bomb — and afterwards the server still
//! serves, on the same connection and on a new one.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use protocall::{Code, Message, compression::Encoding};
use protocall_tests::protocall::transport::{Reply, Req};
use support::*;

/// Records the largest single allocation of the whole test binary.
struct Tracking;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// No test in this binary needs a single allocation this large; a server
/// that trusted a length prefix or inflated a bomb would make one.
const ALLOCATION_CEILING: usize = 24 << 20;

fn assert_no_huge_allocation() {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < ALLOCATION_CEILING,
        "an allocation of {largest} bytes happened"
    );
}

const SHORT: Duration = Duration::from_secs(5);

fn normal_req() -> Req {
    Req {
        payload: "normal".into(),
        ..Default::default()
    }
}

/// Sends `body` (END_STREAM after it when `end`) to `path` with `extra`
/// headers, and expects a status answer — not a reset — with `code`; then
/// checks the server still serves on the same and on a new connection.
async fn expect_status(
    server: &TestServer,
    path: &str,
    extra: &[(&str, &str)],
    body: &[Bytes],
    end: bool,
    code: Code,
) -> RawResponse {
    let mut raw = raw_connect(server.addr).await;
    let response = within(
        SHORT,
        "the server's answer",
        raw_call(&mut raw, grpc_head(server.addr, path, extra), body, end),
    )
    .await
    .unwrap_or_else(|e| panic!("expected {code:?}, got a stream error: {e:?}"));
    assert_eq!(response.http_status, 200, "{response:?}");
    assert_eq!(
        response.grpc_status(),
        Some(code as i32),
        "expected {code:?}; got {response:?} ({})",
        response.grpc_message()
    );
    raw_ok(&mut raw, server.addr).await;
    new_connection_ok(server).await;
    response
}

async fn expect_unary_status(server: &TestServer, body: &[Bytes], end: bool, code: Code) {
    expect_status(server, TRANSPORT_UNARY, &[], body, end, code).await;
}

fn prefix(flag: u8, len: u32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_u8(flag);
    buf.put_u32(len);
    buf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frame_is_internal() {
    bounded(async {
        let (server, _svc) = start().await;
        // The prefix promises 100 bytes; the stream ends after 10.
        let mut body = prefix(0, 100);
        body.put_slice(&[0x12; 10]);
        expect_unary_status(&server, &[body.freeze()], true, Code::Internal).await;
        // A prefix cut short (3 of its 5 bytes).
        expect_unary_status(
            &server,
            &[Bytes::from_static(&[0, 0, 0])],
            true,
            Code::Internal,
        )
        .await;
        // The same in a client-streaming call, after a good message.
        let mut body = BytesMut::from(&req_frame(&normal_req())[..]);
        body.put_slice(&prefix(0, 100));
        body.put_slice(b"short");
        expect_status(
            &server,
            TRANSPORT_CLIENT_STREAM,
            &[],
            &[body.freeze()],
            true,
            Code::Internal,
        )
        .await;
    })
    .await;
}

/// A 4 GiB length prefix is refused from the prefix alone: the server
/// answers while the body is still open, without buffering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn length_prefix_over_the_limit_is_resource_exhausted_without_buffering() {
    bounded(async {
        let (server, _svc) = start().await;
        for len in [u32::MAX, 0x7fff_ffff, 4 * 1024 * 1024 + 1] {
            let mut body = prefix(0, len);
            body.put_slice(&[0; 16]);
            // No END_STREAM: the server must not wait for the rest.
            expect_unary_status(&server, &[body.freeze()], false, Code::ResourceExhausted).await;
        }
        // The same for a compressed message.
        let mut body = prefix(1, u32::MAX);
        body.put_slice(&[0; 16]);
        expect_status(
            &server,
            TRANSPORT_UNARY,
            &[("grpc-encoding", "gzip")],
            &[body.freeze()],
            false,
            Code::ResourceExhausted,
        )
        .await;
        assert_no_huge_allocation();
    })
    .await;
}

/// statuscodes.md: "Error parsing request proto: INTERNAL".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_that_is_not_a_protobuf_message_is_internal() {
    bounded(async {
        let (server, _svc) = start().await;
        let garbage: [&[u8]; 5] = [
            &[0xff; 16],               // a varint that never ends
            &[0x0a, 0x20, b'a', b'b'], // tag 1 (string), length 32, 2 bytes
            &[0x07],                   // field 0
            &[0x0b, 0x00],             // wire type 3 (start group) unclosed
            &[0x0a, 0x02, 0xc3, 0x28], // tag 1 (string): invalid UTF-8
        ];
        for bytes in garbage {
            expect_unary_status(&server, &[frame(0, bytes)], true, Code::Internal).await;
        }
    })
    .await;
}

/// PROTOCOL-HTTP2.md: Compressed-Flag → 0 / 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_flag_2_is_internal() {
    bounded(async {
        let (server, _svc) = start().await;
        let payload = normal_req().encode_to_vec();
        for flag in [2u8, 0x80, 0xff] {
            expect_unary_status(&server, &[frame(flag, &payload)], true, Code::Internal).await;
        }
        expect_status(
            &server,
            TRANSPORT_UNARY,
            &[("grpc-encoding", "gzip")],
            &[frame(2, &payload)],
            true,
            Code::Internal,
        )
        .await;
    })
    .await;
}

/// statuscodes.md: "Could not decompress, but compression algorithm
/// supported (Client -> Server): INTERNAL".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_compressed_message_is_internal() {
    bounded(async {
        let (server, _svc) = start().await;
        for encoding in ["gzip", "zstd"] {
            expect_status(
                &server,
                TRANSPORT_UNARY,
                &[("grpc-encoding", encoding)],
                &[frame(1, b"this is not compressed data at all")],
                true,
                Code::Internal,
            )
            .await;
        }
    })
    .await;
}

fn bomb(encoding: Encoding, size: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    match encoding {
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            for _ in 0..size >> 20 {
                encoder.write_all(&zeros).unwrap();
            }
            encoder.finish().unwrap()
        }
        Encoding::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
            for _ in 0..size >> 20 {
                encoder.write_all(&zeros).unwrap();
            }
            encoder.finish().unwrap()
        }
    }
}

/// A small compressed message that inflates far past the limit:
/// RESOURCE_EXHAUSTED ("larger than configured limit"), and the server
/// never holds the inflated size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decompression_bomb_is_resource_exhausted_without_a_huge_allocation() {
    bounded(async {
        let svc = Svc::default();
        // A 1 MiB limit keeps the legitimate work small; the bombs inflate
        // to 48 MiB.
        let server = spawn(router(
            protocall::Server::builder().max_decoding_message_size(1 << 20),
            &svc,
        ))
        .await;
        for encoding in [Encoding::Gzip, Encoding::Zstd] {
            let compressed = bomb(encoding, 48 << 20);
            assert!(compressed.len() < 256 << 10, "{}", compressed.len());
            // The tracker works: building the bomb used 1 MiB buffers.
            assert!(LARGEST.load(Ordering::Relaxed) >= 1 << 20);
            expect_status(
                &server,
                TRANSPORT_UNARY,
                &[("grpc-encoding", encoding.as_str())],
                &[frame(1, &compressed)],
                true,
                Code::ResourceExhausted,
            )
            .await;
        }
        assert_no_huge_allocation();
    })
    .await;
}

/// statuscodes.md: "Request cardinality violation (method requires exactly
/// one request but client sent some other number of requests):
/// UNIMPLEMENTED".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_request_without_a_message_is_unimplemented() {
    bounded(async {
        let (server, _svc) = start().await;
        expect_unary_status(&server, &[], true, Code::Unimplemented).await;
        expect_status(
            &server,
            "/protocall.transport.Transport/ServerStream",
            &[],
            &[],
            true,
            Code::Unimplemented,
        )
        .await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_request_with_two_messages_is_unimplemented() {
    bounded(async {
        let (server, svc) = start().await;
        let two = Req {
            tag: "two".into(),
            ..normal_req()
        };
        let mut body = BytesMut::from(&req_frame(&two)[..]);
        body.put_slice(&req_frame(&two));
        expect_unary_status(&server, &[body.freeze()], true, Code::Unimplemented).await;
        assert!(svc.probe.events("two").is_empty(), "the handler ran");
    })
    .await;
}

/// Frames split at every awkward place still decode: DATA frame
/// boundaries have no relation to message boundaries (PROTOCOL-HTTP2.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_split_across_data_frames_are_reassembled() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let mut whole = BytesMut::new();
        for i in 0..3 {
            whole.put_slice(&req_frame(&Req {
                payload: format!("part {i}"),
                ..Default::default()
            }));
        }
        let whole = whole.freeze();
        let chunks: Vec<Bytes> = whole.chunks(3).map(Bytes::copy_from_slice).collect();
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_CLIENT_STREAM, &[]),
            &chunks,
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.grpc_status(), Some(0), "{response:?}");
        let reply = &response.messages::<Reply>()[0];
        assert_eq!(reply.count, 3);
        assert_eq!(reply.payload, "part 0part 1part 2");
    })
    .await;
}

/// Binary metadata that is not base64 does not break the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_base64_in_binary_metadata_is_not_fatal() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let response = raw_call(
            &mut raw,
            grpc_head(
                server.addr,
                TRANSPORT_UNARY,
                &[("x-broken-bin", "!!!not base64!!!"), ("x-fine", "yes")],
            ),
            &[req_frame(&normal_req())],
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.grpc_status(), Some(0), "{response:?}");
        assert_eq!(response.messages::<Reply>()[0].metadata["x-fine"], "yes");
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}

/// RFC 1952: "A gzip file consists of a series of members". A message
/// compressed as two members (as a streaming compressor may emit) must
/// decode whole — not silently lose the second member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_message_of_several_members_decodes_whole() {
    bounded(async {
        let (server, _svc) = start().await;
        let req = Req {
            payload: "first half, then second half".into(),
            tag: "members".into(),
            ..Default::default()
        };
        let plain = req.encode_to_vec();
        let (a, b) = plain.split_at(plain.len() / 2);
        let mut compressed = Vec::new();
        for part in [a, b] {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(part).unwrap();
            compressed.extend(encoder.finish().unwrap());
        }
        let mut raw = raw_connect(server.addr).await;
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[("grpc-encoding", "gzip")]),
            &[frame(1, &compressed)],
            true,
        )
        .await
        .unwrap();
        assert_eq!(
            response.grpc_status(),
            Some(0),
            "{response:?} ({})",
            response.grpc_message()
        );
        let reply = &response.messages::<Reply>()[0];
        assert_eq!(reply.payload, req.payload);
        assert_eq!(reply.tag, "members");
    })
    .await;
}
