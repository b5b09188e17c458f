//! The gRPC transport end to end over loopback: the four call kinds,
//! statuses, metadata, deadlines, cancellation, compression, limits,
//! interceptors, tower layers and transport failures, each asserted against
//! grpc/grpc `doc/PROTOCOL-HTTP2.md` and `doc/statuscodes.md`.
//!
//! Every test is bounded in time (a hang fails it), and servers listen on
//! port 0.

mod support;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use protocall::client::Grpc;
use protocall::{
    Body, Channel, Code, Message, Metadata, Request, Status, client::Endpoint,
    compression::Encoding,
};
use protocall_tests::protocall::transport::other_client::OtherClient;
use protocall_tests::protocall::transport::other_server::OtherServer;
use protocall_tests::protocall::transport::transport_client::TransportClient;
use protocall_tests::protocall::transport::transport_server::TransportServer;
use protocall_tests::protocall::transport::{Reply, Req};
use support::*;

const SHORT: Duration = Duration::from_secs(5);

fn req(payload: &str) -> Req {
    Req {
        payload: payload.to_string(),
        ..Default::default()
    }
}

fn tagged(tag: &str) -> Req {
    Req {
        tag: tag.to_string(),
        ..Default::default()
    }
}

/// A streaming request whose metadata carries `tag`.
fn stream_request<S>(tag: &str, stream: S) -> Request<S> {
    let mut request = Request::new(stream);
    request.metadata_mut().insert("x-tag", tag).unwrap();
    request
}

// ---------------------------------------------------------------------
// The four call kinds.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_round_trip() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let reply = client.unary(req("hello")).await.unwrap().into_inner();
        assert_eq!(reply.payload, "hello");
        assert!(reply.peer_port != 0, "the handler sees the peer address");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_streaming_returns_every_item_then_ok() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let request = Req {
            count: 25,
            ..tagged("ss")
        };
        let mut stream = client.server_stream(request).await.unwrap().into_inner();
        let mut seen = Vec::new();
        while let Some(reply) = stream.message().await.unwrap() {
            seen.push(reply.index);
        }
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
        assert!(stream.trailers().await.unwrap().is_some());
        assert!(svc.probe.has("ss", "completed"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_streaming_counts_every_request() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let items: Vec<Req> = (0..50).map(|i| req(&format!("{i},"))).collect();
        let expected: String = (0..50).map(|i| format!("{i},")).collect();
        let reply = client
            .client_stream(stream_request("cs", futures_util::stream::iter(items)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.count, 50);
        assert_eq!(reply.payload, expected);
        // An empty request stream is a valid client-streaming call.
        let reply = client
            .client_stream(futures_util::stream::iter(Vec::<Req>::new()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.count, 0);
    })
    .await;
}

/// Each side waits for the other: the client sends message n+1 only after
/// reply n arrived, so the call only completes if both directions flow
/// concurrently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bidi_ping_pong_is_truly_concurrent() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(req("ping 0")).unwrap();
        let response = client
            .bidi(stream_request("pingpong", channel_stream(rx)))
            .await
            .unwrap();
        let mut replies = response.into_inner();
        for i in 0..10u32 {
            let reply = within(SHORT, "a ping-pong reply", replies.message())
                .await
                .unwrap()
                .expect("a reply");
            assert_eq!(reply.index, i);
            assert_eq!(reply.payload, format!("ping {i}"));
            // The server cannot have seen a message the client has not sent.
            assert!(!svc.probe.has("pingpong", &format!("recv:{}", i + 2)));
            tx.send(req(&format!("ping {}", i + 1))).unwrap();
        }
        let last = replies.message().await.unwrap().unwrap();
        assert_eq!(last.payload, "ping 10");
        drop(tx);
        assert!(replies.message().await.unwrap().is_none());
        assert!(svc.probe.wait_for("pingpong", "recv_end", SHORT).await);
    })
    .await;
}

/// 200 calls in flight at once on one `Channel`: each handler sleeps 300
/// ms, so they only fit the bound if they overlap, and every call sees the
/// same peer address (one connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_calls_share_one_connection() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let calls = (0..200).map(|i| {
            let client = client.clone();
            async move {
                let request = Req {
                    sleep_ms: 300,
                    ..req(&i.to_string())
                };
                client.unary(request).await.map(|r| r.into_inner())
            }
        });
        let replies = within(
            Duration::from_secs(8),
            "200 concurrent 300 ms calls",
            futures_util::future::join_all(calls),
        )
        .await;
        let mut ports = HashSet::new();
        for (i, reply) in replies.into_iter().enumerate() {
            let reply = reply.unwrap_or_else(|s| panic!("call {i}: {s:?}"));
            assert_eq!(reply.payload, i.to_string());
            ports.insert(reply.peer_port);
        }
        assert_eq!(ports.len(), 1, "calls used several connections: {ports:?}");
    })
    .await;
}

// ---------------------------------------------------------------------
// Status.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_code_round_trips() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        for code in 1..=16 {
            let request = Req {
                fail_code: code,
                fail_message: format!("failing with {code}"),
                ..Default::default()
            };
            let status = client.unary(request.clone()).await.unwrap_err();
            assert_eq!(status.code(), Code::from_i32(code), "{status:?}");
            assert_eq!(status.code() as i32, code);
            assert_eq!(status.message(), format!("failing with {code}"));
            // The same status ends a stream.
            let stream_request = Req {
                count: 5,
                fail_after: 2,
                ..request
            };
            let mut stream = client
                .server_stream(stream_request)
                .await
                .unwrap()
                .into_inner();
            assert!(stream.message().await.unwrap().is_some());
            assert!(stream.message().await.unwrap().is_some());
            let status = stream.message().await.unwrap_err();
            assert_eq!(status.code() as i32, code);
            assert_eq!(status.message(), format!("failing with {code}"));
        }
        // OK is the status of every successful call.
        let response = client.unary(req("ok")).await.unwrap();
        assert_eq!(response.get_ref().payload, "ok");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_message_with_unicode_and_control_characters_survives() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let messages = [
            "\t\ntest with whitespace\r\nand Unicode BMP \u{263a} and non-BMP \u{1f608}\t\n",
            "100% sure: %41 is not A, %zz is not an escape, % at the end %",
            "nul \0 and del \u{7f} and bell \u{7} and \u{e9}",
            "",
        ];
        for message in messages {
            let request = Req {
                fail_code: Code::InvalidArgument as i32,
                fail_message: message.to_string(),
                ..Default::default()
            };
            let status = client.unary(request).await.unwrap_err();
            assert_eq!(status.code(), Code::InvalidArgument);
            assert_eq!(status.message(), message);
        }
        // On the wire: percent-encoded UTF-8 (PROTOCOL-HTTP2.md, Status-Message).
        let mut raw = raw_connect(server.addr).await;
        let request = Req {
            fail_code: 3,
            fail_message: "caf\u{e9} 100% \u{263a}\n".into(),
            ..Default::default()
        };
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[]),
            &[req_frame(&request)],
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.grpc_message(), "caf%C3%A9 100%25 %E2%98%BA%0A");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_details_and_trailing_metadata_survive() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let details: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
        let request = Req {
            fail_code: Code::FailedPrecondition as i32,
            fail_message: "with details".into(),
            fail_details: details.clone(),
            with_response_metadata: true,
            ..Default::default()
        };
        let status = client.unary(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.details(), &details[..]);
        assert_eq!(status.metadata().get("x-status-md"), Some("on-error"));
        assert!(
            !status.metadata().contains_key("grpc-status-details-bin"),
            "protocol headers are not metadata"
        );
        // Mid-stream too (the status in real trailers).
        let mut stream = client
            .server_stream(Req {
                count: 3,
                fail_after: 1,
                ..request
            })
            .await
            .unwrap()
            .into_inner();
        assert!(stream.message().await.unwrap().is_some());
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.details(), &details[..]);
        assert_eq!(status.metadata().get("x-status-md"), Some("on-error"));
    })
    .await;
}

/// PROTOCOL-HTTP2.md: "Trailers-Only is permitted for calls that produce
/// an immediate error" — one HEADERS frame with END_STREAM, `:status 200`,
/// `content-type` and `grpc-status`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_handler_error_is_trailers_only() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let request = Req {
            fail_code: Code::NotFound as i32,
            fail_message: "no such thing".into(),
            ..Default::default()
        };
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[]),
            &[req_frame(&request)],
            true,
        )
        .await
        .unwrap();
        assert!(response.trailers_only, "{response:?}");
        assert_eq!(response.http_status, 200);
        assert!(
            response.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/grpc")
        );
        assert_eq!(response.headers["grpc-status"], "5");
        assert_eq!(response.headers["grpc-message"], "no such thing");
        assert!(response.data.is_empty());
        // A success has headers, one message, then trailers with grpc-status 0.
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[]),
            &[req_frame(&req("fine"))],
            true,
        )
        .await
        .unwrap();
        assert!(!response.trailers_only);
        assert!(response.headers.get("grpc-status").is_none());
        assert_eq!(response.trailers.as_ref().unwrap()["grpc-status"], "0");
        assert_eq!(response.messages::<Reply>()[0].payload, "fine");
    })
    .await;
}

/// statuscodes.md: "Server side application throws an exception … UNKNOWN".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_panic_is_unknown_and_server_keeps_serving() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let request = Req {
            panic: true,
            ..Default::default()
        };
        let status = client.unary(request).await.unwrap_err();
        assert_eq!(status.code(), Code::Unknown, "{status:?}");
        let reply = client.unary(req("after panic")).await.unwrap();
        assert_eq!(reply.get_ref().payload, "after panic");
    })
    .await;
}

/// A misbehaving gRPC server written with the `h2` crate: the path says
/// what to answer.
async fn fake_server() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut connection) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((request, respond))) = connection.accept().await {
                    fake_answer(request.uri().path(), respond);
                }
            });
        }
    });
    addr
}

fn fake_answer(path: &str, mut respond: h2::server::SendResponse<bytes::Bytes>) {
    let method = path.rsplit('/').next().unwrap_or("").to_string();
    let grpc_head = |status: u16| {
        http::Response::builder()
            .status(status)
            .header("content-type", "application/grpc")
            .body(())
            .unwrap()
    };
    let trailers = |status: &str| {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", status.parse().unwrap());
        trailers
    };
    let reply = frame(0, &Reply::default().encode_to_vec());
    if let Some(code) = method.strip_prefix("Reset") {
        respond.send_reset(h2::Reason::from(code.parse::<u32>().unwrap()));
        return;
    }
    if let Some(status) = method.strip_prefix("Http") {
        let response = http::Response::builder()
            .status(status.parse::<u16>().unwrap())
            .header("content-type", "text/html")
            .body(())
            .unwrap();
        let _ = respond.send_response(response, true);
        return;
    }
    if method == "TrailersOnlyOk" {
        let mut head = grpc_head(200);
        head.headers_mut()
            .insert("grpc-status", "0".parse().unwrap());
        let _ = respond.send_response(head, true);
        return;
    }
    let mut send = respond.send_response(grpc_head(200), false).unwrap();
    let (messages, status) = match method.as_str() {
        "Zero" => (0, Some("0")),
        "One" => (1, Some("0")),
        "Two" => (2, Some("0")),
        "BadStatus" => (1, Some("not a number")),
        "NoStatus" => (1, None),
        _ => (0, Some("12")),
    };
    for _ in 0..messages {
        let _ = send.send_data(reply.clone(), false);
    }
    match status {
        Some(status) => {
            let _ = send.send_trailers(trailers(status));
        }
        None => {
            let _ = send.send_data(bytes::Bytes::new(), true);
        }
    }
}

/// statuscodes.md: "Response cardinality violation (method requires
/// exactly one response but server sent some other number of responses):
/// UNIMPLEMENTED" at the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_response_cardinality_violation_is_unimplemented() {
    bounded(async {
        let addr = fake_server().await;
        let grpc = Grpc::new(Channel::connect(format!("http://{addr}")).await.unwrap());
        let call = |method: &'static str| {
            let grpc = grpc.clone();
            async move {
                grpc.unary::<Req, Reply>(Request::new(req("?")), &format!("/fake.Fake/{method}"))
                    .await
            }
        };
        call("One").await.expect("one message is right");
        for method in ["Zero", "Two", "TrailersOnlyOk"] {
            let status = call(method).await.unwrap_err();
            assert_eq!(status.code(), Code::Unimplemented, "{method}: {status:?}");
        }
        // Client streaming has a single response too.
        let status = grpc
            .client_streaming::<_, Req, Reply>(
                Request::new(futures_util::stream::iter(vec![req("?")])),
                "/fake.Fake/Two",
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    })
    .await;
}

/// PROTOCOL-HTTP2.md: a client must synthesize a status from what broken
/// servers send; statuscodes.md: "Error parsing returned status: UNKNOWN";
/// RST_STREAM codes map as in the "Errors" table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_synthesizes_statuses_for_broken_servers() {
    bounded(async {
        let addr = fake_server().await;
        let grpc = Grpc::new(Channel::connect(format!("http://{addr}")).await.unwrap());
        let cases = [
            ("BadStatus", Code::Unknown),
            ("Http404", Code::Unimplemented),
            ("Http503", Code::Unavailable),
            ("Http429", Code::Unavailable),
            ("Http401", Code::Unauthenticated),
            ("Http500", Code::Unknown),
            ("Reset7", Code::Unavailable),        // REFUSED_STREAM
            ("Reset8", Code::Cancelled),          // CANCEL
            ("Reset2", Code::Internal),           // INTERNAL_ERROR
            ("Reset0", Code::Internal),           // NO_ERROR without a status
            ("Reset11", Code::ResourceExhausted), // ENHANCE_YOUR_CALM
            ("Reset12", Code::PermissionDenied),  // INADEQUATE_SECURITY
        ];
        for (method, code) in cases {
            let status = grpc
                .unary::<Req, Reply>(Request::new(req("?")), &format!("/fake.Fake/{method}"))
                .await
                .unwrap_err();
            assert_eq!(status.code(), code, "{method}: {status:?}");
        }
        let status = grpc
            .unary::<Req, Reply>(Request::new(req("?")), "/fake.Fake/NoStatus")
            .await
            .unwrap_err();
        assert_ne!(status.code(), Code::Ok, "{status:?}");
    })
    .await;
}

// ---------------------------------------------------------------------
// Metadata.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_metadata_reaches_the_handler() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let mut request = Request::new(req("md"));
        let md = request.metadata_mut();
        md.insert("x-user", "ada lovelace").unwrap();
        md.append("x-multi", "a").unwrap();
        md.append("x-multi", "b").unwrap();
        md.insert_bin("x-trace-bin", [0u8, 1, 2, 254, 255]).unwrap();
        md.insert_bin("x-empty-bin", []).unwrap();
        let reply = client.unary(request).await.unwrap().into_inner();
        assert_eq!(reply.metadata["x-user"], "ada lovelace");
        assert_eq!(reply.metadata["x-multi"], "a,b");
        assert_eq!(reply.bin_metadata["x-trace-bin"], [0u8, 1, 2, 254, 255]);
        for reserved in ["te", "content-type", "grpc-accept-encoding", "grpc-timeout"] {
            assert!(
                !reply.metadata.contains_key(reserved),
                "{reserved} leaked into metadata"
            );
        }
        // Streaming calls carry metadata too.
        let mut request = stream_request("md-stream", futures_util::stream::iter(vec![req("x")]));
        request
            .metadata_mut()
            .insert_bin("x-key-bin", b"\x00bin")
            .unwrap();
        let reply = client.client_stream(request).await.unwrap().into_inner();
        assert_eq!(reply.metadata["x-tag"], "md-stream");
        assert_eq!(reply.bin_metadata["x-key-bin"], b"\x00bin");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_headers_and_trailers_reach_the_client() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let request = Req {
            with_response_metadata: true,
            ..req("md")
        };
        // Unary.
        let response = client.unary(request.clone()).await.unwrap();
        assert_eq!(response.metadata().get("x-head"), Some("leading"));
        assert_eq!(response.trailers().get("x-tail"), Some("trailing"));
        assert_eq!(
            response.trailers().get_bin("x-tail-bin"),
            Some(vec![0, 1, 2, 255])
        );
        assert!(!response.trailers().contains_key("grpc-status"));
        assert!(!response.metadata().contains_key("content-type"));
        // Server streaming.
        let response = client
            .server_stream(Req {
                count: 3,
                ..request.clone()
            })
            .await
            .unwrap();
        assert_eq!(response.metadata().get("x-head"), Some("leading"));
        let mut stream = response.into_inner();
        let mut n = 0;
        while stream.message().await.unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 3);
        let trailers = stream.trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers.get("x-tail"), Some("trailing"));
        assert_eq!(trailers.get_bin("x-tail-bin"), Some(vec![0, 1, 2, 255]));
        // Client streaming.
        let response = client
            .client_stream(futures_util::stream::iter(vec![request.clone()]))
            .await
            .unwrap();
        assert_eq!(response.metadata().get("x-head"), Some("leading"));
        assert_eq!(response.trailers().get("x-tail"), Some("trailing"));
        // Bidi.
        let mut bidi = stream_request("md-bidi", futures_util::stream::iter(vec![req("a")]));
        bidi.metadata_mut().insert("x-want-metadata", "1").unwrap();
        let response = client.bidi(bidi).await.unwrap();
        assert_eq!(response.metadata().get("x-head"), Some("leading"));
        let mut stream = response.into_inner();
        assert_eq!(stream.message().await.unwrap().unwrap().payload, "a");
        let trailers = stream.trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers.get("x-tail"), Some("trailing"));
    })
    .await;
}

#[test]
fn reserved_metadata_keys_are_refused() {
    let mut md = Metadata::new();
    for key in [
        "grpc-status",
        "grpc-message",
        "grpc-timeout",
        "grpc-encoding",
        "grpc-accept-encoding",
        "grpc-future-use",
        "GRPC-Status",
        "content-type",
        "te",
        "connection",
        ":path",
        ":authority",
    ] {
        assert!(md.insert(key, "v").is_err(), "{key} accepted");
        assert!(md.append(key, "v").is_err(), "{key} accepted");
    }
    assert!(md.insert_bin("grpc-status-details-bin", [1]).is_err());
    assert!(md.insert("x-ok", "v").is_ok());
    // Values outside %x20-%x7E are refused, keys are checked for -bin.
    assert!(md.insert("x-ok", "line\nbreak").is_err());
    assert!(md.insert("x-ok-bin", "v").is_err());
    assert!(md.insert_bin("x-not-binary", [1]).is_err());
    assert_eq!(md.len(), 1);
    // The same checks guard response metadata and trailers.
    let mut response = protocall::Response::new(());
    assert!(response.metadata_mut().insert("grpc-status", "0").is_err());
    assert!(response.trailers_mut().insert("grpc-message", "x").is_err());
    assert!(
        Status::internal("x")
            .metadata_mut()
            .insert("content-type", "text/plain")
            .is_err()
    );
}

// ---------------------------------------------------------------------
// Deadlines.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_timeout_is_deadline_exceeded() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let mut request = Request::new(Req {
            sleep_ms: 30_000,
            ..tagged("client-deadline")
        });
        request.set_timeout(Duration::from_millis(200));
        let status = within(SHORT, "the deadline", client.unary(request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(
            svc.probe
                .wait_for("client-deadline", "dropped", SHORT)
                .await,
            "handler still running after the deadline: {:?}",
            svc.probe.events("client-deadline")
        );
        // The channel's default timeout applies too.
        let channel = Endpoint::new(server.uri())
            .unwrap()
            .timeout(Duration::from_millis(200))
            .connect()
            .await
            .unwrap();
        let status = within(
            SHORT,
            "the channel deadline",
            TransportClient::new(channel).unary(Req {
                sleep_ms: 30_000,
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::DeadlineExceeded);
        // And a streaming call whose items come too slowly.
        let mut request = Request::new(Req {
            count: 100,
            sleep_ms: 100,
            ..Default::default()
        });
        request.set_timeout(Duration::from_millis(350));
        let mut stream = client.server_stream(request).await.unwrap().into_inner();
        let status = within(SHORT, "the stream deadline", async {
            loop {
                match stream.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("stream ended without an error"),
                    Err(status) => break status,
                }
            }
        })
        .await;
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sees_the_grpc_timeout() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let mut request = Request::new(req("t"));
        request.set_timeout(Duration::from_secs(5));
        let reply = client.unary(request).await.unwrap().into_inner();
        let left = reply.time_remaining_ms.expect("the server saw no deadline");
        assert!((3_000..=5_000).contains(&left), "{left} ms left");
        let reply = client.unary(req("no timeout")).await.unwrap().into_inner();
        assert_eq!(reply.time_remaining_ms, None);
    })
    .await;
}

/// A client that sends `grpc-timeout` and then just waits (it never
/// cancels): the server must stop the handler at the deadline by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_drops_the_handler_at_the_deadline() {
    bounded(async {
        let (server, svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let unary = Req {
            sleep_ms: 60_000,
            ..tagged("server-deadline")
        };
        let call = (TRANSPORT_UNARY, "200m", "dropped");
        expect_deadline(&mut raw, &server, &svc, &unary, call).await;
        // A streaming response is cut at the deadline too.
        let stream = Req {
            count: 1000,
            sleep_ms: 50,
            ..tagged("server-deadline-stream")
        };
        let path = "/protocall.transport.Transport/ServerStream";
        let call = (path, "300m", "stream dropped");
        expect_deadline(&mut raw, &server, &svc, &stream, call).await;
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}

/// Calls `path` with `grpc-timeout: timeout` and a request that outlives
/// it: the call ends at the deadline and the handler logs `event`.
async fn expect_deadline(
    raw: &mut h2::client::SendRequest<protocall::bytes::Bytes>,
    server: &TestServer,
    svc: &Svc,
    request: &Req,
    (path, timeout, event): (&str, &str, &str),
) {
    let result = within(
        SHORT,
        "the server's deadline",
        raw_call(
            raw,
            grpc_head(server.addr, path, &[("grpc-timeout", timeout)]),
            &[req_frame(request)],
            true,
        ),
    )
    .await;
    // PROTOCOL-HTTP2.md lets the server either end the call with a
    // DEADLINE_EXCEEDED status or reset it with CANCEL.
    match result {
        Ok(response) => assert_eq!(response.grpc_status(), Some(4), "{response:?}"),
        Err(error) => assert_eq!(error.reason(), Some(h2::Reason::CANCEL), "{error:?}"),
    }
    let tag = &request.tag;
    assert!(
        svc.probe.wait_for(tag, event, SHORT).await,
        "{:?}",
        svc.probe.events(tag)
    );
}

/// PROTOCOL-HTTP2.md: TimeoutValue is a positive integer of at most 8
/// digits with a unit in H M S m u n. The spec names no status for a bad
/// value; grpc-go answers INTERNAL ("malformed grpc-timeout"), as we expect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_grpc_timeout_is_internal_and_server_keeps_serving() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        for bad in [
            "1x",
            "123456789S",
            "abc",
            "-1S",
            "1.5S",
            "S",
            "1s",
            "99999999999999999999H",
        ] {
            let response = raw_call(
                &mut raw,
                grpc_head(server.addr, TRANSPORT_UNARY, &[("grpc-timeout", bad)]),
                &[req_frame(&req("x"))],
                true,
            )
            .await
            .unwrap_or_else(|e| panic!("grpc-timeout {bad:?}: {e:?}"));
            assert!(response.trailers_only, "{bad:?}: {response:?}");
            assert_eq!(response.grpc_status(), Some(13), "{bad:?}: {response:?}");
        }
        raw_ok(&mut raw, server.addr).await;
        new_connection_ok(&server).await;
    })
    .await;
}

// ---------------------------------------------------------------------
// Cancellation.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_unary_call_drops_the_handler() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let call = tokio::spawn(async move {
            client
                .unary(Req {
                    sleep_ms: 60_000,
                    ..tagged("cancel-unary")
                })
                .await
        });
        assert!(svc.probe.wait_for("cancel-unary", "started", SHORT).await);
        call.abort();
        assert!(
            svc.probe.wait_for("cancel-unary", "dropped", SHORT).await,
            "handler not dropped: {:?}",
            svc.probe.events("cancel-unary")
        );
    })
    .await;
}

/// The client drops a client-streaming call whose request stream is still
/// open: the server's handler is dropped, or its `Streaming` fails with
/// CANCELLED — never INTERNAL, never left running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_client_streaming_call_cancels_the_server() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let items = vec![req("a"), req("b")];
        let call = tokio::spawn(async move {
            client
                .client_stream(stream_request("cancel-cs", open_stream(items)))
                .await
        });
        assert!(svc.probe.wait_for("cancel-cs", "recv:2", SHORT).await);
        call.abort();
        let outcome = svc
            .probe
            .wait("cancel-cs", SHORT, |e| {
                e == "dropped" || e.starts_with("recv_err")
            })
            .await;
        assert!(
            matches!(outcome.as_deref(), Some("dropped" | "recv_err:CANCELLED")),
            "{outcome:?}; events {:?}",
            svc.probe.events("cancel-cs")
        );
    })
    .await;
}

/// The client drops a bidi call (response stream and call) while its
/// request stream is still open: the server's request `Streaming` must end
/// with CANCELLED, and its response stream must be dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_bidi_call_is_cancelled_on_the_server() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let response = client
            .bidi(stream_request("cancel-bidi", open_stream(vec![req("one")])))
            .await
            .unwrap();
        let mut replies = response.into_inner();
        assert_eq!(replies.message().await.unwrap().unwrap().payload, "one");
        drop(replies);
        drop(client);
        let outcome = svc
            .probe
            .wait("cancel-bidi", SHORT, |e| e.starts_with("recv_"))
            .await;
        assert_eq!(
            outcome.as_deref(),
            Some("recv_err:CANCELLED"),
            "events {:?}",
            svc.probe.events("cancel-bidi")
        );
        assert!(
            svc.probe
                .wait_for("cancel-bidi", "out dropped", SHORT)
                .await
        );
    })
    .await;
}

/// Same, but the client drops the whole call from a task it aborts: the
/// outcome on the server must be the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborted_bidi_task_is_cancelled_on_the_server() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let call = tokio::spawn(async move {
            let response = client
                .bidi(stream_request("abort-bidi", open_stream(vec![req("one")])))
                .await?;
            let mut replies = response.into_inner();
            while replies.message().await?.is_some() {}
            Ok::<_, Status>(())
        });
        assert!(svc.probe.wait_for("abort-bidi", "recv:1", SHORT).await);
        call.abort();
        let outcome = svc
            .probe
            .wait("abort-bidi", SHORT, |e| e.starts_with("recv_"))
            .await;
        assert_eq!(
            outcome.as_deref(),
            Some("recv_err:CANCELLED"),
            "events {:?}",
            svc.probe.events("abort-bidi")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_server_streaming_call_drops_the_response_stream() {
    bounded(async {
        let (server, svc) = start().await;
        let client = client(&server).await;
        let request = Req {
            count: 100_000,
            sleep_ms: 10,
            ..tagged("cancel-ss")
        };
        let mut stream = client.server_stream(request).await.unwrap().into_inner();
        stream.message().await.unwrap().unwrap();
        stream.message().await.unwrap().unwrap();
        drop(stream);
        assert!(
            svc.probe
                .wait_for("cancel-ss", "stream dropped", SHORT)
                .await,
            "{:?}",
            svc.probe.events("cancel-ss")
        );
    })
    .await;
}

// ---------------------------------------------------------------------
// Errors mid-stream.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_mid_stream_ends_the_stream_with_that_status() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        // Server streaming: three items, then ABORTED.
        let request = Req {
            count: 10,
            fail_after: 3,
            fail_code: Code::Aborted as i32,
            fail_message: "mid-stream".into(),
            ..Default::default()
        };
        let mut stream = client.server_stream(request).await.unwrap().into_inner();
        for i in 0..3 {
            assert_eq!(stream.message().await.unwrap().unwrap().index, i);
        }
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::Aborted);
        assert_eq!(status.message(), "mid-stream");
        assert!(stream.message().await.unwrap().is_none());
        // Bidi: two replies, then the third request fails the call.
        let requests = vec![
            req("a"),
            req("b"),
            Req {
                fail_code: Code::OutOfRange as i32,
                fail_message: "third".into(),
                ..Default::default()
            },
            req("never"),
        ];
        let mut stream = client
            .bidi(stream_request("", open_stream(requests)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(stream.message().await.unwrap().unwrap().payload, "a");
        assert_eq!(stream.message().await.unwrap().unwrap().payload, "b");
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::OutOfRange);
        assert_eq!(status.message(), "third");
        // Client streaming: the handler fails on the second request.
        let requests = vec![
            req("a"),
            Req {
                fail_code: Code::DataLoss as i32,
                fail_message: "second".into(),
                ..Default::default()
            },
        ];
        let status = client
            .client_stream(stream_request("", open_stream(requests)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::DataLoss);
        assert_eq!(status.message(), "second");
    })
    .await;
}

// ---------------------------------------------------------------------
// Compression.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_zstd_in_both_directions() {
    bounded(async {
        for encoding in [Encoding::Gzip, Encoding::Zstd] {
            let svc = Svc::default();
            let server = spawn(router(
                protocall::Server::builder().send_compressed(encoding),
                &svc,
            ))
            .await;
            let channel = Channel::connect(server.uri()).await.unwrap();
            let client = TransportClient::new(channel).send_compressed(encoding);
            let payload = "compressible ".repeat(500);
            // Client → server, unary and client streaming.
            let reply = client.unary(req(&payload)).await.unwrap().into_inner();
            assert!(reply.request_compressed, "{encoding:?}");
            assert_eq!(reply.payload, payload);
            let reply = client
                .client_stream(futures_util::stream::iter(vec![req(&payload), req("x")]))
                .await
                .unwrap()
                .into_inner();
            assert!(reply.request_compressed, "{encoding:?}");
            assert_eq!(reply.payload, format!("{payload}x"));
            // Server → client.
            let mut stream = client
                .server_stream(Req {
                    count: 3,
                    ..req(&payload)
                })
                .await
                .unwrap()
                .into_inner();
            let mut n = 0;
            while let Some(reply) = stream.message().await.unwrap() {
                assert!(stream.last_message_compressed(), "{encoding:?}");
                assert_eq!(reply.payload, payload);
                n += 1;
            }
            assert_eq!(n, 3);
            // Uncompressed requests still work on a compressing server.
            let plain = TransportClient::connect(server.uri()).await.unwrap();
            let reply = plain.unary(req(&payload)).await.unwrap().into_inner();
            assert!(!reply.request_compressed);
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_compresses_only_what_the_client_accepts() {
    bounded(async {
        let svc = Svc::default();
        let server = spawn(router(
            protocall::Server::builder().send_compressed(Encoding::Gzip),
            &svc,
        ))
        .await;
        let channel = Channel::connect(server.uri()).await.unwrap();
        let payload = "compressible ".repeat(500);
        for accept in [&[][..], &[Encoding::Zstd][..]] {
            let client =
                TransportClient::with_options(Grpc::new(channel.clone()).accept_compressed(accept));
            let mut stream = client
                .server_stream(Req {
                    count: 2,
                    ..req(&payload)
                })
                .await
                .unwrap()
                .into_inner();
            let mut n = 0;
            while let Some(reply) = stream.message().await.unwrap() {
                assert!(!stream.last_message_compressed(), "accepting {accept:?}");
                assert_eq!(reply.payload, payload);
                n += 1;
            }
            assert_eq!(n, 2);
        }
        // On the wire: no grpc-encoding, flag 0, when the client sends no
        // grpc-accept-encoding.
        let mut raw = raw_connect(server.addr).await;
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[]),
            &[req_frame(&req(&payload))],
            true,
        )
        .await
        .unwrap();
        assert!(response.headers.get("grpc-encoding").is_none());
        assert_eq!(response.messages::<Reply>()[0].payload, payload);
        // And gzip when it is accepted.
        let response = raw_call(
            &mut raw,
            grpc_head(
                server.addr,
                TRANSPORT_UNARY,
                &[("grpc-accept-encoding", "identity, gzip")],
            ),
            &[req_frame(&req(&payload))],
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.headers["grpc-encoding"], "gzip");
        assert_eq!(response.data[0], 1, "compressed flag");
    })
    .await;
}

/// statuscodes.md: "Compression mechanism used by client not supported at
/// server: UNIMPLEMENTED"; the response lists what is supported in
/// grpc-accept-encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_request_encoding_is_unimplemented_with_accept_encoding() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[("grpc-encoding", "snappy")]),
            &[frame(1, b"whatever snappy would be")],
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.grpc_status(), Some(12), "{response:?}");
        let accept = response
            .headers
            .get("grpc-accept-encoding")
            .expect("grpc-accept-encoding in the response")
            .to_str()
            .unwrap()
            .to_string();
        let listed: Vec<&str> = accept.split(',').map(str::trim).collect();
        assert!(
            listed.contains(&"gzip") && listed.contains(&"zstd"),
            "{accept}"
        );
        raw_ok(&mut raw, server.addr).await;
        // A server that accepts gzip only refuses zstd the same way.
        let svc = Svc::default();
        let server = spawn(router(
            protocall::Server::builder().accept_compressed(&[Encoding::Gzip]),
            &svc,
        ))
        .await;
        let channel = Channel::connect(server.uri()).await.unwrap();
        let status = TransportClient::new(channel.clone())
            .send_compressed(Encoding::Zstd)
            .unary(req("z"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        let reply = TransportClient::new(channel)
            .send_compressed(Encoding::Gzip)
            .unary(req("g"))
            .await
            .unwrap();
        assert!(reply.get_ref().request_compressed);
    })
    .await;
}

/// PROTOCOL-HTTP2.md: "If the Message-Encoding header is omitted then the
/// Compressed-Flag must be 0."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_flag_without_grpc_encoding_is_internal() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &req("x").encode_to_vec()).unwrap();
        let compressed = gz.finish().unwrap();
        let response = raw_call(
            &mut raw,
            grpc_head(server.addr, TRANSPORT_UNARY, &[]),
            &[frame(1, &compressed)],
            true,
        )
        .await
        .unwrap();
        assert_eq!(response.grpc_status(), Some(13), "{response:?}");
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}

// ---------------------------------------------------------------------
// Message size limits.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_over_the_server_limit_is_resource_exhausted_and_connection_survives() {
    bounded(async {
        let svc = Svc::default();
        let server = spawn(router(
            protocall::Server::builder().max_decoding_message_size(1024),
            &svc,
        ))
        .await;
        let client = client(&server).await;
        let before = client.unary(req("small")).await.unwrap().into_inner();
        let status = client.unary(req(&"x".repeat(4000))).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let status = client
            .client_stream(futures_util::stream::iter(vec![
                req("ok"),
                req(&"x".repeat(4000)),
            ]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        // Compressed: the limit applies to the decompressed size.
        let status = TransportClient::new(client_channel(&server).await)
            .send_compressed(Encoding::Gzip)
            .unary(req(&"x".repeat(4000)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let after = client.unary(req("small")).await.unwrap().into_inner();
        assert_eq!(after.payload, "small");
        assert_eq!(
            before.peer_port, after.peer_port,
            "the connection was replaced"
        );
    })
    .await;
}

async fn client_channel(server: &TestServer) -> Channel {
    Channel::connect(server.uri()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_over_a_limit_is_resource_exhausted() {
    bounded(async {
        let (server, _svc) = start().await;
        let client =
            TransportClient::new(client_channel(&server).await).max_decoding_message_size(1024);
        let big = Req {
            reply_size: 4096,
            ..Default::default()
        };
        let status = client.unary(big.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let mut stream = client
            .server_stream(Req {
                count: 2,
                ..big.clone()
            })
            .await
            .unwrap()
            .into_inner();
        let status = stream.message().await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        // The default client limit is 4 MiB.
        let client = TransportClient::new(client_channel(&server).await);
        let status = client
            .unary(Req {
                reply_size: 4 * 1024 * 1024 + 1,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(
            client
                .unary(Req {
                    reply_size: 1000,
                    ..Default::default()
                })
                .await
                .unwrap()
                .get_ref()
                .payload
                .len(),
            1000
        );
        // A server send limit: "Sent … message was larger than configured
        // limit: RESOURCE_EXHAUSTED".
        let svc = Svc::default();
        let limited = spawn(router(
            protocall::Server::builder().max_encoding_message_size(1024),
            &svc,
        ))
        .await;
        let client = TransportClient::new(client_channel(&limited).await);
        let status = client.unary(big.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        // A client send limit.
        let client = TransportClient::with_options(
            Grpc::new(client_channel(&server).await).max_encoding_message_size(100),
        );
        let status = client.unary(req(&"x".repeat(200))).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    })
    .await;
}

// ---------------------------------------------------------------------
// Interceptors and layers.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_server_interceptor_accepts_rejects_and_adds_extensions() {
    bounded(async {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let auth = move |mut request: Request<()>| {
            let counter = counter.clone();
            async move {
                // Awaiting inside an interceptor is the point.
                tokio::time::sleep(Duration::from_millis(20)).await;
                counter.fetch_add(1, Ordering::SeqCst);
                match request.metadata().get("authorization") {
                    Some("Bearer good") => {
                        request
                            .extensions_mut()
                            .insert(Mark("authenticated".into()));
                        request
                            .metadata_mut()
                            .insert("x-added-by-interceptor", "yes")
                            .unwrap();
                        request.metadata_mut().remove("authorization");
                        Ok(request)
                    }
                    _ => Err(Status::unauthenticated("bad token")),
                }
            }
        };
        let svc = Svc::default();
        let server = spawn(router(protocall::Server::builder().interceptor(auth), &svc)).await;
        let client = client(&server).await;
        let status = client.unary(tagged("rejected")).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "bad token");
        assert!(svc.probe.events("rejected").is_empty(), "handler ran");
        let mut request = Request::new(req("in"));
        request
            .metadata_mut()
            .insert("authorization", "Bearer good")
            .unwrap();
        let reply = client.unary(request).await.unwrap().into_inner();
        assert_eq!(reply.extension, "authenticated");
        assert_eq!(reply.metadata["x-added-by-interceptor"], "yes");
        assert!(!reply.metadata.contains_key("authorization"));
        // Streaming calls pass through it as well.
        let mut request = Request::new(Req {
            count: 1,
            ..Default::default()
        });
        request
            .metadata_mut()
            .insert("authorization", "Bearer good")
            .unwrap();
        let mut stream = client.server_stream(request).await.unwrap().into_inner();
        assert_eq!(
            stream.message().await.unwrap().unwrap().extension,
            "authenticated"
        );
        let status = client
            .bidi(futures_util::stream::iter(vec![req("no token")]))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(seen.load(Ordering::SeqCst), 4);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_interceptor_adds_metadata() {
    bounded(async {
        let (server, _svc) = start().await;
        let channel = client_channel(&server).await;
        let intercepted =
            Grpc::new(channel.clone()).with_interceptor(|mut request: Request<()>| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                request
                    .metadata_mut()
                    .insert("x-client-interceptor", "first")
                    .unwrap();
                Ok(request)
            });
        let twice = intercepted
            .clone()
            .with_interceptor(|mut request: Request<()>| async move {
                let first = request
                    .metadata()
                    .get("x-client-interceptor")
                    .unwrap_or("")
                    .to_string();
                request
                    .metadata_mut()
                    .insert("x-second", &format!("after {first}"))
                    .unwrap();
                Ok(request)
            });
        let reply = TransportClient::with_options(intercepted.clone())
            .unary(req("i"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.metadata["x-client-interceptor"], "first");
        let reply = TransportClient::with_options(twice)
            .server_stream(Req {
                count: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .message()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.metadata["x-second"], "after first");
        // The original channel is unchanged.
        let reply = TransportClient::new(channel)
            .unary(req("i"))
            .await
            .unwrap()
            .into_inner();
        assert!(!reply.metadata.contains_key("x-client-interceptor"));
        // A client interceptor that fails stops the call locally.
        let failing = intercepted
            .clone()
            .with_interceptor(|_request: Request<()>| async move {
                Err(Status::unauthenticated("no credentials"))
            });
        let status = TransportClient::with_options(failing)
            .unary(req("i"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        // Interceptors see the call's timeout and may change it: this one
        // doubles it, and the server sees the doubled deadline.
        let stretch = intercepted.with_interceptor(|mut request: Request<()>| async move {
            let timeout = request.timeout().expect("the call's timeout");
            assert_eq!(timeout, Duration::from_secs(7));
            request.set_timeout(timeout * 2);
            Ok(request)
        });
        let mut call = Request::new(req("i"));
        call.set_timeout(Duration::from_secs(7));
        let reply = TransportClient::with_options(stretch)
            .unary(call)
            .await
            .unwrap()
            .into_inner();
        let left = reply.time_remaining_ms.expect("the server saw no deadline");
        assert!((12_000..=14_000).contains(&left), "{left} ms left");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_service_interceptor_applies_to_that_service_only() {
    bounded(async {
        let svc = Svc::default();
        let guarded = protocall::server::intercept(
            OtherServer::new(svc.clone()),
            |mut request: Request<()>| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                if request.metadata().get("x-let-me-in").is_none() {
                    return Err(Status::permission_denied("other is closed"));
                }
                request.extensions_mut().insert(Mark("other".into()));
                Ok(request)
            },
        );
        let server = spawn(
            protocall::Server::builder()
                .add_service(TransportServer::new(svc.clone()))
                .add_service(guarded),
        )
        .await;
        let channel = client_channel(&server).await;
        let other = OtherClient::new(channel.clone());
        let status = other.ping(req("p")).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        let mut request = Request::new(req("p"));
        request.metadata_mut().insert("x-let-me-in", "1").unwrap();
        let reply = other.ping(request).await.unwrap().into_inner();
        assert_eq!(reply.payload, "pong");
        assert_eq!(reply.extension, "other");
        let reply = TransportClient::new(channel)
            .unary(req("t"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.payload, "t");
        assert_eq!(reply.extension, "");
    })
    .await;
}

/// A layer that records its name on the way in and appends it to the
/// `x-layer` response header on the way out.
#[derive(Clone)]
struct NameLayer {
    name: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
}

#[derive(Clone)]
struct Named<S> {
    inner: S,
    name: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl<S> tower_layer::Layer<S> for NameLayer {
    type Service = Named<S>;

    fn layer(&self, inner: S) -> Named<S> {
        Named {
            inner,
            name: self.name,
            log: self.log.clone(),
        }
    }
}

impl<S> tower_service::Service<http::Request<Body>> for Named<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        self.log.lock().unwrap().push(self.name);
        let name = self.name;
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            response
                .headers_mut()
                .append("x-layer", http::HeaderValue::from_static(name));
            Ok(response)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tower_layers_compose_on_the_server() {
    bounded(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let svc = Svc::default();
        let router = router(protocall::Server::builder(), &svc)
            .layer(NameLayer {
                name: "first",
                log: log.clone(),
            })
            .layer(NameLayer {
                name: "second",
                log: log.clone(),
            });
        let server = spawn(router).await;
        let client = client(&server).await;
        let response = client.unary(req("l")).await.unwrap();
        let names: Vec<&str> = response.metadata().get_all("x-layer").collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // tower's convention (ServiceBuilder): the layer added first is the
        // outermost — it sees the request first and the response last.
        assert_eq!(*log.lock().unwrap(), ["first", "second"]);
        assert_eq!(names, ["second", "first"]);
        let response = client
            .server_stream(Req {
                count: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(response.metadata().get_all("x-layer").count(), 2);
        assert_eq!(
            log.lock().unwrap().len(),
            4,
            "each call passes each layer once"
        );
        // Layers see calls that fail routing as well.
        let status = Grpc::new(client_channel(&server).await)
            .unary::<Req, Reply>(
                Request::new(req("?")),
                "/protocall.transport.Transport/Nope",
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
        assert_eq!(log.lock().unwrap().len(), 6);
    })
    .await;
}

// ---------------------------------------------------------------------
// Transport failures, reconnects and shutdown.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_closed_port_is_unavailable() {
    bounded(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let uri = format!("http://{addr}");
        let status = Channel::connect(&uri).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.source_error().is_some(), "the io error is kept");
        let lazy = Channel::connect_lazy(&uri).unwrap();
        let status = TransportClient::new(lazy.clone())
            .unary(req("x"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let status = TransportClient::new(lazy)
            .server_stream(req("x"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_call_is_unavailable() {
    bounded(async {
        let mut server = IsolatedServer::start("127.0.0.1:0".parse().unwrap());
        let probe = server.svc.probe.clone();
        let client = TransportClient::connect(server.uri()).await.unwrap();
        let unary = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .unary(Req {
                        sleep_ms: 60_000,
                        ..tagged("killed")
                    })
                    .await
            }
        });
        let mut stream = client
            .server_stream(Req {
                count: 1_000_000,
                sleep_ms: 20,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().unwrap();
        assert!(probe.wait_for("killed", "started", SHORT).await);
        tokio::task::block_in_place(|| server.kill());
        let status = within(SHORT, "the unary call to fail", unary)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let status = within(SHORT, "the stream to fail", async {
            loop {
                match stream.message().await {
                    Ok(Some(_)) => continue,
                    Ok(None) => panic!("stream ended cleanly"),
                    Err(status) => break status,
                }
            }
        })
        .await;
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_reconnects_after_a_server_restart() {
    bounded(async {
        let mut first = IsolatedServer::start("127.0.0.1:0".parse().unwrap());
        let addr = first.addr;
        let client = TransportClient::new(Channel::connect_lazy(first.uri()).unwrap());
        assert_eq!(
            client.unary(req("one")).await.unwrap().get_ref().payload,
            "one"
        );
        tokio::task::block_in_place(|| first.kill());
        let status = client.unary(req("down")).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let _second = IsolatedServer::start(addr);
        // The failed reconnect put the channel in TRANSIENT_FAILURE: calls
        // fail fast until the backoff's next attempt (connection-backoff.md,
        // 1 s), so this one waits for it.
        let mut request = protocall::Request::new(req("two"));
        request.set_wait_for_ready(true);
        request.set_timeout(std::time::Duration::from_secs(5));
        let reply = client
            .unary(request)
            .await
            .expect("the same channel after a restart");
        assert_eq!(reply.get_ref().payload, "two");
    })
    .await;
}

/// A server restarted while a channel is idle: the first call after the
/// restart must not fail with the dead connection's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_channel_survives_a_server_restart() {
    bounded(async {
        let mut first = IsolatedServer::start("127.0.0.1:0".parse().unwrap());
        let addr = first.addr;
        let client = TransportClient::connect(first.uri()).await.unwrap();
        assert_eq!(
            client.unary(req("one")).await.unwrap().get_ref().payload,
            "one"
        );
        tokio::task::block_in_place(|| first.kill());
        // Idle: the client has time to see the connection close.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _second = IsolatedServer::start(addr);
        let reply = client
            .unary(req("two"))
            .await
            .expect("the first call after a restart");
        assert_eq!(reply.get_ref().payload, "two");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_calls_and_refuses_new_ones() {
    bounded(async {
        let (mut server, svc) = start().await;
        let client = client(&server).await;
        let in_flight = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .unary(Req {
                        sleep_ms: 1_000,
                        ..tagged("in-flight")
                    })
                    .await
            }
        });
        assert!(svc.probe.wait_for("in-flight", "started", SHORT).await);
        server.begin_shutdown();
        tokio::time::sleep(Duration::from_millis(200)).await;
        // statuscodes.md: "Server shutting down: UNAVAILABLE".
        let status = client.unary(tagged("during")).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            svc.probe.events("during").is_empty(),
            "a new call was served"
        );
        let reply = in_flight
            .await
            .unwrap()
            .expect("the in-flight call completes");
        assert_eq!(reply.get_ref().tag, "in-flight");
        within(SHORT, "the server to stop", &mut server.task)
            .await
            .unwrap()
            .unwrap();
        let status = client.unary(req("after")).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_inside_a_response_stream_is_a_status_and_the_connection_lives() {
    bounded(async {
        let (server, _svc) = start().await;
        let client = client(&server).await;
        let mut stream = client
            .server_stream(Req {
                count: 10,
                fail_after: 2,
                panic: true,
                ..tagged("stream-panic")
            })
            .await
            .unwrap()
            .into_inner();
        let mut received = 0;
        let status = loop {
            match stream.message().await {
                Ok(Some(_)) => received += 1,
                Ok(None) => panic!("the stream ended cleanly"),
                Err(status) => break status,
            }
        };
        assert_eq!(received, 2);
        assert_eq!(status.code(), Code::Unknown, "{status:?}");
        assert_eq!(status.message(), "the handler panicked");
        // The same connection goes on serving.
        let reply = client.unary(req("after")).await.unwrap();
        assert_eq!(reply.get_ref().payload, "after");
    })
    .await;
}

/// A server-streaming request that never ends by itself.
fn endless(tag: &str) -> Req {
    Req {
        count: u32::MAX,
        sleep_ms: 20,
        ..tagged(tag)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_grace_period_closes_calls_that_outlive_it() {
    bounded(async {
        let svc = Svc::default();
        let grace = Duration::from_millis(400);
        let server = protocall::Server::builder().shutdown_grace_period(grace);
        let mut server = spawn(router(server, &svc)).await;
        let client = client(&server).await;
        let mut stream = client
            .server_stream(endless("endless"))
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().expect("a first message");
        // A call that ends within the grace period completes normally.
        let quick = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .unary(Req {
                        sleep_ms: 100,
                        ..tagged("quick")
                    })
                    .await
            }
        });
        assert!(svc.probe.wait_for("quick", "started", SHORT).await);
        let asked = tokio::time::Instant::now();
        server.begin_shutdown();
        within(
            SHORT,
            "the server to stop after its grace period",
            &mut server.task,
        )
        .await
        .unwrap()
        .unwrap();
        assert!(asked.elapsed() >= grace, "stopped before the grace period");
        quick.await.unwrap().expect("the quick call completes");
        // The stream that outlived the grace period ends with UNAVAILABLE,
        // and its handler is dropped.
        let status = loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("the endless stream ended cleanly"),
                Err(status) => break status,
            }
        };
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(svc.probe.wait_for("endless", "stream dropped", SHORT).await);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grace_period_shutdown_waits_for_the_calls() {
    bounded(async {
        let (mut server, svc) = start().await;
        let client = client(&server).await;
        let mut stream = client
            .server_stream(endless("waited-for"))
            .await
            .unwrap()
            .into_inner();
        stream.message().await.unwrap().expect("a first message");
        server.begin_shutdown();
        // The server keeps serving the stream it has…
        let still_running =
            tokio::time::timeout(Duration::from_millis(500), &mut server.task).await;
        assert!(
            still_running.is_err(),
            "the server stopped with a call in flight"
        );
        stream.message().await.unwrap().expect("the stream goes on");
        // …until the client ends it.
        drop(stream);
        within(SHORT, "the server to stop", &mut server.task)
            .await
            .unwrap()
            .unwrap();
        assert!(
            svc.probe
                .wait_for("waited-for", "stream dropped", SHORT)
                .await
        );
    })
    .await;
}

// ---------------------------------------------------------------------
// Routing and HTTP-level checks.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_service_and_method_are_unimplemented() {
    bounded(async {
        let svc = Svc::default();
        let server =
            spawn(protocall::Server::builder().add_service(TransportServer::new(svc))).await;
        let channel = client_channel(&server).await;
        let status = OtherClient::new(channel.clone())
            .ping(req("?"))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        let grpc = Grpc::new(channel);
        let status = grpc
            .unary::<Req, Reply>(
                Request::new(req("?")),
                "/protocall.transport.Transport/Nope",
            )
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
        let status = grpc
            .server_streaming::<Req, Reply>(
                Request::new(req("?")),
                "/protocall.transport.Transport/unary",
            )
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::Unimplemented,
            "paths are case-sensitive"
        );
        // Raw: trailers-only UNIMPLEMENTED, also for malformed paths.
        let mut raw = raw_connect(server.addr).await;
        for path in [
            "/protocall.transport.Transport/Nope",
            "/nope",
            "/a/b/c",
            "/",
        ] {
            let response = raw_call(
                &mut raw,
                grpc_head(server.addr, path, &[]),
                &[req_frame(&req("?"))],
                true,
            )
            .await
            .unwrap();
            assert_eq!(response.http_status, 200, "{path}");
            assert!(response.trailers_only, "{path}: {response:?}");
            assert_eq!(response.grpc_status(), Some(12), "{path}: {response:?}");
        }
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}

/// PROTOCOL-HTTP2.md: a content-type not beginning with "application/grpc"
/// SHOULD get HTTP 415 (unless another protocol the server speaks uses it:
/// `application/json` and `application/proto` are Connect's, see
/// `web_protocols.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_http_415() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        for content_type in ["application/xml", "text/plain", "application/grp"] {
            let response = raw_call(
                &mut raw,
                grpc_head(
                    server.addr,
                    TRANSPORT_UNARY,
                    &[("content-type", content_type)],
                ),
                &[req_frame(&req("x"))],
                true,
            )
            .await
            .unwrap();
            assert_eq!(response.http_status, 415, "{content_type}");
        }
        let mut head = grpc_head(server.addr, TRANSPORT_UNARY, &[]);
        head.headers_mut().remove("content-type");
        let response = raw_call(&mut raw, head, &[req_frame(&req("x"))], true)
            .await
            .unwrap();
        assert_eq!(response.http_status, 415, "no content-type");
        for content_type in ["application/grpc+proto", "application/grpc;charset=utf-8"] {
            let response = raw_call(
                &mut raw,
                grpc_head(
                    server.addr,
                    TRANSPORT_UNARY,
                    &[("content-type", content_type)],
                ),
                &[req_frame(&req("x"))],
                true,
            )
            .await
            .unwrap();
            assert_eq!(response.grpc_status(), Some(0), "{content_type}");
        }
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_post_is_not_200() {
    bounded(async {
        let (server, _svc) = start().await;
        let mut raw = raw_connect(server.addr).await;
        for method in [http::Method::GET, http::Method::PUT, http::Method::DELETE] {
            let mut head = grpc_head(server.addr, TRANSPORT_UNARY, &[]);
            *head.method_mut() = method.clone();
            let response = raw_call(&mut raw, head, &[], true).await.unwrap();
            assert_ne!(response.http_status, 200, "{method}");
            assert!(
                response.http_status.is_client_error(),
                "{method}: {response:?}"
            );
        }
        raw_ok(&mut raw, server.addr).await;
    })
    .await;
}
