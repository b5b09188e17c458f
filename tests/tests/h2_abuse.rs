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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rapid_reset_closes_the_attacker_and_others_are_served() {
    bounded(async {
        let (server, _svc) = start().await;
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (mut attacker, connection) = h2::client::handshake(tcp).await.unwrap();
        let connection = tokio::spawn(connection);
        // Open streams and cancel each at once, far past the server's
        // allowance of resets before accept (20).
        let mut refused = None;
        for i in 0..5_000 {
            let request = http::Request::post(format!(
                "{}/protocall.transport.Transport/Unary",
                server.uri()
            ))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .unwrap();
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
        let (after, error) = refused.expect("the server let 5,000 rapid resets through");
        assert!(after < 5_000);
        // The server ended the attacking connection with GOAWAY (h2 says
        // ENHANCE_YOUR_CALM for too many pending resets).
        let ended = within(
            Duration::from_secs(5),
            "the attacking connection to end",
            connection,
        )
        .await
        .unwrap();
        let reason = error
            .reason()
            .or_else(|| ended.err().and_then(|e| e.reason()));
        assert_eq!(reason, Some(h2::Reason::ENHANCE_YOUR_CALM), "{error:?}");
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
