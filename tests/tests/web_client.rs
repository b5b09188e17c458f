//! protocall's client in gRPC-Web and Connect (`Endpoint::protocol`) over
//! HTTP/2 and HTTP/1.1 (`Endpoint::http_version`), against protocall's
//! server: what the interop matrices (`interop.rs`, and against
//! connect-node in `interop_connect_client.rs`) do not show — the four call
//! kinds on the transport test service with their metadata, typed error
//! details, the HTTP/1.1 connection pool, HTTP/1.1 over TLS by ALPN, and
//! the refusals.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use protocall::client::Endpoint;
use protocall::compression::Encoding;
use protocall::http::Version;
use protocall::web::Protocol;
use protocall::{Code, Request, Status};
use protocall_tests::protocall::transport::Req;
use protocall_tests::protocall::transport::transport_client::TransportClient;
use support::*;

const PROTOCOLS: [Protocol; 2] = [Protocol::GrpcWeb, Protocol::Connect];
const VERSIONS: [Version; 2] = [Version::HTTP_2, Version::HTTP_11];

/// A server that answers `protocol` alone, so a pass proves the protocol.
async fn serve_only(protocol: Protocol) -> (TestServer, Svc) {
    let svc = Svc::default();
    let mut server = protocall::Server::builder();
    for other in [Protocol::Grpc, Protocol::GrpcWeb, Protocol::Connect] {
        server = server.protocol(other, other == protocol);
    }
    (spawn(router(server, &svc)).await, svc)
}

fn endpoint(server: &TestServer, protocol: Protocol, version: Version) -> Endpoint {
    Endpoint::new(server.uri())
        .unwrap()
        .protocol(protocol)
        .http_version(version)
        .unwrap()
}

fn req(payload: &str) -> Req {
    Req {
        payload: payload.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_kind_with_metadata_in_each_protocol_and_http_version() {
    for protocol in PROTOCOLS {
        let (server, _svc) = serve_only(protocol).await;
        for version in VERSIONS {
            let what = format!("{protocol:?} over {version:?}");
            let client = TransportClient::new(endpoint(&server, protocol, version).connect_lazy())
                .send_compressed(Encoding::Gzip);

            let mut request = Request::new(Req {
                with_response_metadata: true,
                ..req("hi")
            });
            request.metadata_mut().insert("x-user", "ada").unwrap();
            request
                .metadata_mut()
                .insert_bin("x-raw-bin", [0, 255])
                .unwrap();
            let reply = bounded(client.unary(request)).await.unwrap();
            assert_eq!(reply.metadata().get("x-head"), Some("leading"), "{what}");
            assert_eq!(reply.trailers().get("x-tail"), Some("trailing"), "{what}");
            assert_eq!(
                reply.trailers().get_bin("x-tail-bin"),
                Some(vec![0, 1, 2, 255]),
                "{what}"
            );
            let reply = reply.into_inner();
            assert_eq!(reply.payload, "hi", "{what}");
            assert!(reply.request_compressed, "{what}: gzip reached the handler");
            assert_eq!(reply.metadata["x-user"], "ada", "{what}");
            assert_eq!(reply.bin_metadata["x-raw-bin"], [0, 255], "{what}");

            let mut replies = bounded(client.server_stream(Req {
                count: 3,
                ..req("s")
            }))
            .await
            .unwrap()
            .into_inner();
            let mut indexes = Vec::new();
            while let Some(reply) = bounded(replies.message()).await.unwrap() {
                indexes.push(reply.index);
            }
            assert_eq!(indexes, [0, 1, 2], "{what}");

            let requests = futures_util::stream::iter(vec![req("a"), req("b"), req("c")]);
            let reply = bounded(client.client_stream(requests)).await.unwrap();
            assert_eq!(reply.into_inner().count, 3, "{what}");

            let requests = futures_util::stream::iter(vec![req("x"), req("y")]);
            let mut replies = bounded(client.bidi(requests)).await.unwrap().into_inner();
            let mut payloads = Vec::new();
            while let Some(reply) = bounded(replies.message()).await.unwrap() {
                payloads.push(reply.payload);
            }
            assert_eq!(payloads, ["x", "y"], "{what}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_code_message_details_and_metadata() {
    let detail = protocall::types::Any {
        type_url: "type.googleapis.com/google.protobuf.Duration".into(),
        value: vec![8, 5],
        ..Default::default()
    };
    let details = Status::unavailable("busy")
        .with_error_details([detail.clone()])
        .details()
        .to_vec();
    for protocol in PROTOCOLS {
        let (server, _svc) = serve_only(protocol).await;
        for version in VERSIONS {
            let what = format!("{protocol:?} over {version:?}");
            let client = TransportClient::new(endpoint(&server, protocol, version).connect_lazy());
            let failing = Req {
                fail_code: Code::Unavailable as i32,
                fail_message: "busy: 100% full".into(),
                fail_details: details.clone(),
                with_response_metadata: true,
                ..req("")
            };
            let status = bounded(client.unary(failing.clone())).await.unwrap_err();
            assert_eq!(status.code(), Code::Unavailable, "{what}");
            assert_eq!(status.message(), "busy: 100% full", "{what}");
            assert_eq!(
                status.error_details(),
                std::slice::from_ref(&detail),
                "{what}"
            );
            assert_eq!(
                status.metadata().get("x-status-md"),
                Some("on-error"),
                "{what}"
            );

            // A stream failing after two messages: both arrive, then the status.
            let stream = Req {
                count: 5,
                fail_after: 2,
                ..failing
            };
            let mut replies = bounded(client.server_stream(stream))
                .await
                .unwrap()
                .into_inner();
            assert!(
                bounded(replies.message()).await.unwrap().is_some(),
                "{what}"
            );
            assert!(
                bounded(replies.message()).await.unwrap().is_some(),
                "{what}"
            );
            let status = bounded(replies.message()).await.unwrap_err();
            assert_eq!(status.code(), Code::Unavailable, "{what}");
            assert_eq!(
                status.error_details(),
                std::slice::from_ref(&detail),
                "{what}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_travel_as_each_protocol_spells_them() {
    for protocol in PROTOCOLS {
        let (server, _svc) = serve_only(protocol).await;
        for version in VERSIONS {
            let client = TransportClient::new(endpoint(&server, protocol, version).connect_lazy());
            let mut request = Request::new(req("t"));
            request.set_timeout(std::time::Duration::from_secs(30));
            let remaining = bounded(client.unary(request))
                .await
                .unwrap()
                .into_inner()
                .time_remaining_ms
                .expect("the server saw a deadline");
            assert!(remaining > 25_000 && remaining <= 30_000, "{remaining} ms");

            let mut request = Request::new(Req {
                sleep_ms: 2_000,
                ..req("slow")
            });
            request.set_timeout(std::time::Duration::from_millis(100));
            let status = bounded(client.unary(request)).await.unwrap_err();
            assert_eq!(
                status.code(),
                Code::DeadlineExceeded,
                "{protocol:?} {version:?}"
            );
        }
    }
}

/// A connector counting the connections it opens.
fn counting(
    addr: std::net::SocketAddr,
    count: Arc<AtomicUsize>,
) -> impl tower::Service<
    http::Uri,
    Response = tokio::net::TcpStream,
    Error = std::io::Error,
    Future = impl Send,
> + Send
+ 'static {
    tower::service_fn(move |_uri: http::Uri| {
        count.fetch_add(1, Ordering::SeqCst);
        tokio::net::TcpStream::connect(addr)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_connections_are_pooled_and_reused() {
    let (server, _svc) = serve_only(Protocol::Connect).await;
    let opened = Arc::new(AtomicUsize::new(0));
    let channel = endpoint(&server, Protocol::Connect, Version::HTTP_11)
        .connect_with_connector_lazy(counting(server.addr, opened.clone()));
    let client = TransportClient::new(channel);
    for _ in 0..5 {
        bounded(client.unary(req("again"))).await.unwrap();
    }
    assert_eq!(
        opened.load(Ordering::SeqCst),
        1,
        "one call at a time: one connection"
    );

    // Three streams open at once need three connections; once read to
    // the end, they serve the next calls.
    let mut streams = Vec::new();
    for _ in 0..3 {
        let stream = Req {
            count: 2,
            ..req("s")
        };
        streams.push(
            bounded(client.server_stream(stream))
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let during = opened.load(Ordering::SeqCst);
    assert!(
        (3..=4).contains(&during),
        "{during} connections for three open streams"
    );
    for stream in &mut streams {
        while bounded(stream.message()).await.unwrap().is_some() {}
    }
    for _ in 0..3 {
        bounded(client.unary(req("reuse"))).await.unwrap();
    }
    assert_eq!(
        opened.load(Ordering::SeqCst),
        during,
        "the pooled connections were reused"
    );

    // A stream dropped half-read takes its connection with it, not the
    // pool's next call.
    let stream = Req {
        count: 100,
        reply_size: 1000,
        ..req("s")
    };
    let mut replies = bounded(client.server_stream(stream))
        .await
        .unwrap()
        .into_inner();
    assert!(bounded(replies.message()).await.unwrap().is_some());
    drop(replies);
    bounded(client.unary(req("after a dropped stream")))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_needs_http2_and_a_refusing_server_is_reported() {
    let (server, _svc) = serve_only(Protocol::Grpc).await;
    let channel = endpoint(&server, Protocol::Grpc, Version::HTTP_11).connect_lazy();
    let status = bounded(TransportClient::new(channel).unary(req("x")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("HTTP/2"), "{status}");

    // A gRPC-only server refuses Connect (HTTP 415, not Connect's error JSON).
    for version in VERSIONS {
        let channel = endpoint(&server, Protocol::Connect, version).connect_lazy();
        let status = bounded(TransportClient::new(channel).unary(req("x")))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unknown, "{status}");
        assert!(status.message().contains("415"), "{status}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_over_tls_is_chosen_by_alpn() {
    use rcgen::{CertificateParams, KeyPair};
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let identity = protocall::tls::Identity::from_pem(cert.pem(), key.serialize_pem()).unwrap();
    let svc = Svc::default();
    let builder = protocall::Server::builder()
        .tls_config(protocall::tls::ServerTlsConfig::new(identity))
        .unwrap();
    // The server records the HTTP version of each request it is sent.
    let versions = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = versions.clone();
    let router = router(builder, &svc).layer(tower::layer::layer_fn(move |inner| {
        let seen = seen.clone();
        tower::util::MapRequest::new(inner, move |request: http::Request<protocall::Body>| {
            seen.lock().unwrap().push(request.version());
            request
        })
    }));
    let server = spawn(router).await;
    let ca = protocall::tls::Certificate::from_pem(cert.pem()).unwrap();
    for (version, expected) in [
        (Version::HTTP_11, Version::HTTP_11),
        (Version::HTTP_2, Version::HTTP_2),
    ] {
        let channel = Endpoint::new(format!("https://localhost:{}", server.addr.port()))
            .unwrap()
            .tls_config(protocall::tls::ClientTlsConfig::new().ca_certificate(ca.clone()))
            .unwrap()
            .protocol(Protocol::GrpcWeb)
            .http_version(version)
            .unwrap()
            .connect_lazy();
        let reply = bounded(TransportClient::new(channel).unary(req("tls")))
            .await
            .unwrap();
        assert_eq!(reply.into_inner().payload, "tls");
        assert_eq!(versions.lock().unwrap().pop(), Some(expected));
    }
}
