//! gRPC-Web and the Connect protocol on the same port as gRPC, over
//! HTTP/1.1 from a plain socket (what a browser or curl sends), byte by
//! byte as `doc/PROTOCOL-WEB.md` and connectrpc.com/docs/protocol write
//! them: framing, trailers, error JSON and HTTP status codes, JSON codec,
//! compression, deadlines, GET, CORS, and the per-protocol off switches.
//! Third-party clients (connect-web in Chromium, connect-node, buf curl)
//! run against the interop server in `web_chromium.rs` and
//! `interop_connect.rs`.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use protocall::Message;
use protocall::web::{Cors, Protocol};
use protocall_tests::protocall::transport::{Reply, Req};
use support::*;

/// A parsed HTTP/1.1 response.
struct Http1 {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Http1 {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request and reads the whole response (the
/// connection closes after it).
fn http1(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Http1 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v == "chunked")
    {
        body = dechunk(&body);
    }
    Http1 {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap().trim(), 16)
            .unwrap();
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Splits gRPC-style frames: (flag, payload).
fn split_frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn req(payload: &str) -> Req {
    Req {
        payload: payload.into(),
        ..Default::default()
    }
}

const UNARY: &str = "/protocall.transport.Transport/Unary";
const SERVER_STREAM: &str = "/protocall.transport.Transport/ServerStream";
const CLIENT_STREAM: &str = "/protocall.transport.Transport/ClientStream";

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    bounded(tokio::task::spawn_blocking(f)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_unary_proto_and_json_with_metadata_and_trailers() {
    let (server, _svc) = start().await;
    let addr = server.addr;
    let request = Req {
        payload: "hi".into(),
        with_response_metadata: true,
        ..Default::default()
    };
    let body = request.encode_to_vec();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("connect-protocol-version", "1"),
                ("x-user", "ada"),
            ],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/proto"));
    assert_eq!(response.header("x-head"), Some("leading"));
    assert_eq!(response.header("trailer-x-tail"), Some("trailing"));
    assert!(response.header("trailer-x-tail-bin").is_some());
    let reply = Reply::decode(&response.body[..]).unwrap();
    assert_eq!(reply.payload, "hi");
    assert_eq!(
        reply.metadata.get("x-user").map(String::as_str),
        Some("ada")
    );
    // Protocol headers are not metadata.
    assert!(
        !reply.metadata.keys().any(|k| k.starts_with("connect-")),
        "{:?}",
        reply.metadata
    );

    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/json; charset=utf-8")],
            br#"{"payload":"json","unknownField":1}"#,
        )
    })
    .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(json["payload"], "json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_unary_errors_are_json_with_the_codes_http_status() {
    let (server, _svc) = start().await;
    let addr = server.addr;
    let detail = protocall::types::Any {
        type_url: "type.googleapis.com/google.protobuf.StringValue".into(),
        value: protocall::types::StringValue::from("why").encode_to_vec(),
        ..Default::default()
    };
    let details = protocall::Status::not_found("x")
        .with_error_details([detail])
        .details()
        .to_vec();
    let body = Req {
        fail_code: 5,
        fail_message: "no such thing".into(),
        fail_details: details,
        with_response_metadata: true,
        ..Default::default()
    }
    .encode_to_vec();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/proto")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 404);
    assert_eq!(response.header("content-type"), Some("application/json"));
    // A gRPC error is trailers-only: its metadata is trailing.
    assert_eq!(response.header("trailer-x-status-md"), Some("on-error"));
    assert_eq!(response.header("x-status-md"), None);
    let error: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["message"], "no such thing");
    assert_eq!(error["details"][0]["type"], "google.protobuf.StringValue");
    // unpadded standard base64 of StringValue { value: "why" }
    assert_eq!(error["details"][0]["value"], "CgN3aHk");

    // Unknown methods, malformed bodies, a bad protocol version.
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            "/protocall.transport.Transport/Nope",
            &[("content-type", "application/json")],
            b"{}",
        )
    })
    .await;
    assert_eq!(response.status, 501);
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/json")],
            b"{\"payload\": 7}",
        )
    })
    .await;
    assert_eq!(
        response.status,
        400,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let error: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(error["code"], "invalid_argument");
    assert!(
        error["message"].as_str().unwrap().contains("payload"),
        "{error}"
    );
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("connect-protocol-version", "2"),
            ],
            b"",
        )
    })
    .await;
    assert_eq!(response.status, 400);
    let response =
        blocking(move || http1(addr, "POST", UNARY, &[("content-type", "text/plain")], b"")).await;
    assert_eq!(response.status, 415);
    let response = blocking(move || {
        http1(
            addr,
            "PUT",
            UNARY,
            &[("content-type", "application/proto")],
            b"",
        )
    })
    .await;
    assert_eq!(response.status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_timeout_becomes_the_deadline() {
    let (server, _svc) = start().await;
    let addr = server.addr;
    let body = req("slow").encode_to_vec();
    let fast = body.clone();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("connect-timeout-ms", "5000"),
            ],
            &fast,
        )
    })
    .await;
    let reply = Reply::decode(&response.body[..]).unwrap();
    let left = reply.time_remaining_ms.expect("the handler saw a deadline");
    assert!((1000..=5000).contains(&left), "{left}");
    let slow = Req {
        sleep_ms: 2000,
        ..req("slow")
    }
    .encode_to_vec();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("connect-timeout-ms", "100"),
            ],
            &slow,
        )
    })
    .await;
    assert_eq!(response.status, 504);
    let error: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(error["code"], "deadline_exceeded");
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("connect-timeout-ms", "12345678901"),
            ],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_unary_compression_both_ways() {
    use std::io::Write as _;
    let svc = Svc::default();
    let server = spawn(router(
        protocall::Server::builder().send_compressed(protocall::compression::Encoding::Gzip),
        &svc,
    ))
    .await;
    let addr = server.addr;
    let plain = Req {
        reply_size: 2000,
        ..req("z")
    }
    .encode_to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let compressed = gz.finish().unwrap();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("content-encoding", "gzip"),
                ("accept-encoding", "gzip"),
            ],
            &compressed,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    let mut body = Vec::new();
    flate2::read::GzDecoder::new(&response.body[..])
        .read_to_end(&mut body)
        .unwrap();
    let reply = Reply::decode(&body[..]).unwrap();
    assert_eq!(reply.payload.len(), 2000);
    assert!(reply.request_compressed);
    // Without accept-encoding (and an uncompressed request) the reply is plain.
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/proto")],
            &plain,
        )
    })
    .await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(
        Reply::decode(&response.body[..]).unwrap().payload.len(),
        2000
    );
    // An encoding the server does not know is unimplemented.
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("content-type", "application/proto"),
                ("content-encoding", "br"),
            ],
            b"xx",
        )
    })
    .await;
    assert_eq!(response.status, 501);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_streams_end_with_the_end_stream_message() {
    let (server, _svc) = start().await;
    let addr = server.addr;
    let body = frame(
        0,
        &Req {
            count: 3,
            with_response_metadata: true,
            ..req("s")
        }
        .encode_to_vec(),
    );
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            SERVER_STREAM,
            &[("content-type", "application/connect+proto")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/connect+proto")
    );
    let frames = split_frames(&response.body);
    assert_eq!(frames.len(), 4, "three replies and the end");
    for (i, (flag, payload)) in frames[..3].iter().enumerate() {
        assert_eq!(*flag, 0);
        assert_eq!(Reply::decode(&payload[..]).unwrap().index, i as u32);
    }
    let (flag, end) = &frames[3];
    assert_eq!(*flag, 2);
    let end: serde_json::Value = serde_json::from_slice(end).unwrap();
    assert!(end.get("error").is_none(), "{end}");
    assert_eq!(end["metadata"]["x-tail"], serde_json::json!(["trailing"]));

    // JSON envelopes, client streaming, and an error mid-stream.
    let mut body = Vec::new();
    for payload in ["a", "b"] {
        body.extend(frame(
            0,
            format!("{{\"payload\":\"{payload}\"}}").as_bytes(),
        ));
    }
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            CLIENT_STREAM,
            &[("content-type", "application/connect+json")],
            &body,
        )
    })
    .await;
    let frames = split_frames(&response.body);
    let reply: serde_json::Value = serde_json::from_slice(&frames[0].1).unwrap();
    assert_eq!(reply["count"], 2);
    assert_eq!(frames[1], (2, b"{}".to_vec()));
    let body = frame(
        0,
        &Req {
            count: 3,
            fail_after: 1,
            fail_code: 9,
            fail_message: "stop".into(),
            ..req("f")
        }
        .encode_to_vec(),
    );
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            SERVER_STREAM,
            &[("content-type", "application/connect+proto")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    let frames = split_frames(&response.body);
    assert_eq!(frames.len(), 2);
    let end: serde_json::Value = serde_json::from_slice(&frames[1].1).unwrap();
    assert_eq!(end["error"]["code"], "failed_precondition");
    assert_eq!(end["error"]["message"], "stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_binary_and_text_carry_trailers_in_the_body() {
    let (server, _svc) = start().await;
    let addr = server.addr;
    let body = frame(
        0,
        &Req {
            count: 2,
            with_response_metadata: true,
            ..req("w")
        }
        .encode_to_vec(),
    );
    let text_body = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .encode(&body)
            .into_bytes()
    };
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            SERVER_STREAM,
            &[
                ("content-type", "application/grpc-web+proto"),
                ("x-grpc-web", "1"),
            ],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("application/grpc-web+proto")
    );
    assert_eq!(response.header("x-head"), Some("leading"));
    let frames = split_frames(&response.body);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[2].0, 0x80);
    let trailers = String::from_utf8(frames[2].1.clone()).unwrap();
    assert!(trailers.contains("grpc-status: 0\r\n"), "{trailers}");
    assert_eq!(
        trailers.matches("x-tail: trailing\r\n").count(),
        1,
        "{trailers}"
    );
    assert_eq!(trailers.matches("x-tail-bin: ").count(), 1, "{trailers}");

    // Text: every frame base64 on its own; decoding the chunks in turn
    // gives the same frames.
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            SERVER_STREAM,
            &[("content-type", "application/grpc-web-text")],
            &text_body,
        )
    })
    .await;
    assert_eq!(
        response.header("content-type"),
        Some("application/grpc-web-text+proto")
    );
    let text = String::from_utf8(response.body).unwrap();
    let mut decoded = Vec::new();
    // Padded runs end at frame boundaries; decode run by run.
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let end = rest
            .find('=')
            .map(|i| rest[i..].find(|c| c != '=').map_or(rest.len(), |j| i + j))
            .unwrap_or(rest.len());
        use base64::Engine as _;
        decoded.extend(
            base64::engine::general_purpose::STANDARD
                .decode(&rest[..end])
                .unwrap(),
        );
        rest = &rest[end..];
    }
    let frames_text = split_frames(&decoded);
    assert_eq!(frames_text.len(), 3);
    assert_eq!(frames_text[2].0, 0x80);

    // Errors, trailers-only in gRPC, arrive as a trailer frame.
    let body = frame(
        0,
        &Req {
            fail_code: 7,
            fail_message: "nope".into(),
            with_response_metadata: true,
            ..req("e")
        }
        .encode_to_vec(),
    );
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/grpc-web")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    let frames = split_frames(&response.body);
    assert_eq!(frames.len(), 1);
    let trailers = String::from_utf8(frames[0].1.clone()).unwrap();
    assert!(
        trailers.contains("grpc-status: 7\r\n") && trailers.contains("grpc-message: nope\r\n"),
        "{trailers}"
    );
    // A gRPC error is trailers-only: its metadata goes in the trailer frame, once.
    assert_eq!(response.header("x-status-md"), None);
    assert_eq!(
        trailers.matches("x-status-md: on-error\r\n").count(),
        1,
        "{trailers}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflights_and_exposes_headers() {
    let svc = Svc::default();
    let cors = Cors::origins(["http://page.test"])
        .allow_headers(["x-user"])
        .expose_metadata(["x-head"]);
    let server = spawn(router(protocall::Server::builder(), &svc).layer(cors)).await;
    let addr = server.addr;
    let preflight = blocking(move || {
        http1(
            addr,
            "OPTIONS",
            UNARY,
            &[
                ("origin", "http://page.test"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "content-type, x-user, connect-protocol-version, x-secret",
                ),
            ],
            b"",
        )
    })
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://page.test")
    );
    let allowed = preflight.header("access-control-allow-headers").unwrap();
    assert!(
        allowed.contains("x-user") && allowed.contains("connect-protocol-version"),
        "{allowed}"
    );
    assert!(!allowed.contains("x-secret"), "{allowed}");
    let body = Req {
        with_response_metadata: true,
        ..req("c")
    }
    .encode_to_vec();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[
                ("origin", "http://page.test"),
                ("content-type", "application/proto"),
            ],
            &body,
        )
    })
    .await;
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://page.test")
    );
    let exposed = response.header("access-control-expose-headers").unwrap();
    for name in [
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
        "x-head",
        "trailer-x-head",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
    // Another origin gets no CORS headers.
    let response = blocking(move || {
        http1(
            addr,
            "OPTIONS",
            UNARY,
            &[
                ("origin", "http://evil.test"),
                ("access-control-request-method", "POST"),
            ],
            b"",
        )
    })
    .await;
    assert!(response.header("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocols_can_be_turned_off() {
    let svc = Svc::default();
    let server = spawn(router(
        protocall::Server::builder().protocol(Protocol::Connect, false),
        &svc,
    ))
    .await;
    let addr = server.addr;
    let body = req("x").encode_to_vec();
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/proto")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 415);
    let body = frame(0, &req("x").encode_to_vec());
    let response = blocking(move || {
        http1(
            addr,
            "POST",
            UNARY,
            &[("content-type", "application/grpc-web")],
            &body,
        )
    })
    .await;
    assert_eq!(response.status, 200);
    // gRPC keeps working over HTTP/2.
    let client = client(&server).await;
    assert_eq!(
        client
            .unary(req("grpc"))
            .await
            .unwrap()
            .into_inner()
            .payload,
        "grpc"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_get_for_methods_without_side_effects() {
    use base64::Engine as _;
    let (server, _svc) = start().await;
    let addr = server.addr;
    const PING: &str = "/protocall.transport.Other/Ping";
    let path = format!("{PING}?encoding=json&message=%7B%22tag%22%3A%22g%22%7D&connect=v1");
    let response = blocking(move || http1(addr, "GET", &path, &[], b"")).await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert_eq!(response.header("content-type"), Some("application/json"));
    let reply: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        (&reply["tag"], &reply["payload"]),
        (&"g".into(), &"pong".into())
    );

    let message = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(req("p").encode_to_vec());
    let path = format!("{PING}?message={message}&base64=1&encoding=proto&unknown=1");
    let response = blocking(move || http1(addr, "GET", &path, &[], b"")).await;
    assert_eq!(response.status, 200);
    assert_eq!(Reply::decode(&response.body[..]).unwrap().payload, "pong");

    // A method with side effects is POST only; an unknown codec is 415.
    let path = format!("{UNARY}?encoding=json&message=%7B%7D");
    let response = blocking(move || http1(addr, "GET", &path, &[], b"")).await;
    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    let path = format!("{PING}?encoding=xml&message=x");
    let response = blocking(move || http1(addr, "GET", &path, &[], b"")).await;
    assert_eq!(response.status, 415);
}
