//! HTTP/2 abuse against the server, each while a well-behaved probe client
//! keeps calling on another connection: a client that never sends the
//! preface (or stops halfway), and rapid reset (CVE-2023-44487: streams
//! opened and cancelled at once, over and over).

mod support;

use std::time::Duration;

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
