//! The two servers of the gRPC benchmark answer every scenario with the
//! same bytes: `grpc_server protocall` and `grpc_server tonic` are started
//! on loopback ports and called over raw h2.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use protocall_benches::grpc::Scenario;

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr").port()
}

fn start(implementation: &str) -> (Server, u16) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_grpc_server"))
        .args([implementation, &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start grpc_server");
    let server = Server(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{implementation} server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

/// The response body and `grpc-status` of one call.
async fn call(port: u16, scenario: Scenario) -> (Vec<u8>, String) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = client.ready().await.expect("ready");
    let request = http::Request::post(format!("http://127.0.0.1:{port}{}", scenario.path()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (response, mut send) = client.send_request(request, false).expect("send");
    send.send_data(Bytes::from(scenario.body()), true)
        .expect("data");
    let response = response.await.expect("response");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let trailers = body
        .trailers()
        .await
        .expect("trailers")
        .expect("no trailers");
    let status = trailers
        .get("grpc-status")
        .map(|v| v.to_str().unwrap_or("?").to_string())
        .unwrap_or_default();
    (bytes, status)
}

#[tokio::test]
async fn protocall_and_tonic_send_the_same_replies() {
    let (_protocall, protocall_port) = start("protocall");
    let (_tonic, tonic_port) = start("tonic");
    for scenario in Scenario::ALL {
        let (ours, our_status) = call(protocall_port, scenario).await;
        let (theirs, their_status) = call(tonic_port, scenario).await;
        assert_eq!(our_status, "0", "{scenario:?} on protocall");
        assert_eq!(their_status, "0", "{scenario:?} on tonic");
        assert_eq!(ours, theirs, "{scenario:?}: the replies differ");
        let mut frames = 0;
        let mut rest = &ours[..];
        while rest.len() >= 5 {
            let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
            rest = &rest[5 + len..];
            frames += 1;
        }
        assert!(rest.is_empty(), "{scenario:?}: trailing bytes");
        assert_eq!(frames, scenario.messages_per_call(), "{scenario:?}");
    }
}
