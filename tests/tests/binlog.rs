//! Binary logs (gRFC A16): a server's calls written as
//! `grpc.binarylog.v1.GrpcLogEntry` records and read back by Python
//! protobuf with modules generated from binarylog.proto.

#[path = "support/peers.rs"]
mod peers;

use std::time::Duration;

use protocall::binlog::{BinaryLog, FileSink};
use protocall::client::{Endpoint, Grpc};
use protocall::server::{
    Call, GrpcService, NamedService, ResponseFuture, server_streaming, unary, unimplemented,
};
use protocall::types::StringValue;
use protocall::{Request, Response, Status};
use serde_json::Value;

/// `demo.Echo`: `Say` echoes (`fail` is NOT_FOUND), `Count` streams three
/// messages, `Skip` echoes (the filter leaves it out).
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "demo.Echo";
}

impl GrpcService for Echo {
    fn call(&self, call: Call) -> ResponseFuture {
        match call.method() {
            "Say" | "Skip" => unary(call, |request: Request<StringValue>| async move {
                let value = request.into_inner().value;
                if value == "fail" {
                    return Err(Status::not_found("no such thing"));
                }
                let mut response = Response::new(StringValue::from(value));
                response
                    .metadata_mut()
                    .insert("x-served-by", "echo")
                    .unwrap();
                Ok(response)
            }),
            "Count" => server_streaming(call, |_: Request<StringValue>| async move {
                let items = (0..3).map(|i| Ok(StringValue::from(format!("item {i}"))));
                Ok(Response::new(futures_util::stream::iter(items)))
            }),
            _ => unimplemented(call),
        }
    }
}

#[test]
fn server_calls_are_logged_as_grpc_log_entries() {
    let Some(python) = protocall_tests::harness::python_with("grpc, grpc_tools.protoc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.binlog");
    // Headers in full, the first 4 bytes of each message; Skip not at all.
    let log = BinaryLog::new("*{h;m:4},-demo.Echo/Skip", FileSink::create(&path).unwrap()).unwrap();
    let client_path = dir.path().join("client.binlog");
    let client_log =
        BinaryLog::new("demo.Echo/Say", FileSink::create(&client_path).unwrap()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let port = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = protocall::Server::builder()
            .binary_log(log)
            .add_service(Echo);
        tokio::spawn(server.serve_with_listener(listener, std::future::pending()));
        let grpc = Grpc::new(
            Endpoint::new(format!("http://{addr}"))
                .unwrap()
                .binary_log(client_log.clone())
                .connect()
                .await
                .unwrap(),
        );
        let mut request = Request::new(StringValue::from("hello"));
        request.metadata_mut().insert("x-user", "ada").unwrap();
        request
            .metadata_mut()
            .insert("authorization", "Bearer secret")
            .unwrap();
        request.set_timeout(Duration::from_secs(7));
        grpc.unary::<_, StringValue>(request, "/demo.Echo/Say")
            .await
            .unwrap();
        grpc.unary::<_, StringValue>(Request::new(StringValue::from("fail")), "/demo.Echo/Say")
            .await
            .unwrap_err();
        grpc.unary::<_, StringValue>(Request::new(StringValue::from("x")), "/demo.Echo/Skip")
            .await
            .unwrap();
        let mut stream = grpc
            .server_streaming::<_, StringValue>(
                Request::new(StringValue::from("n")),
                "/demo.Echo/Count",
            )
            .await
            .unwrap()
            .into_inner();
        while stream.message().await.unwrap().is_some() {}
        // A compressed call: its messages are logged decompressed.
        grpc.clone()
            .send_compressed(protocall::compression::Encoding::Gzip)
            .unary::<_, StringValue>(Request::new(StringValue::from("hello")), "/demo.Echo/Say")
            .await
            .unwrap();
        // A call that never reaches a server: its header, then the status
        // the library gave the application, as its trailer.
        let nowhere = Grpc::new(
            Endpoint::new("http://127.0.0.1:1")
                .unwrap()
                .binary_log(client_log)
                .connect_lazy(),
        );
        nowhere
            .unary::<_, StringValue>(Request::new(StringValue::from("x")), "/demo.Echo/Say")
            .await
            .unwrap_err();
        tokio::time::sleep(Duration::from_millis(100)).await;
        addr.port()
    });
    let mut command = peers::python_command(&python, "binlog_read.py");
    command.arg(&path);
    let out = peers::run_client(command).unwrap_or_else(|e| panic!("binlog_read.py: {e}"));
    let entries: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
    let mut calls: Vec<u64> = entries
        .iter()
        .map(|e| e["call_id"].as_u64().unwrap())
        .collect();
    calls.dedup();
    assert_eq!(
        calls.len(),
        4,
        "Say three times and Count; Skip is excluded: {out}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["logger"] == "LOGGER_SERVER" && e["has_timestamp"] == true)
    );
    assert!(
        !out.contains("secret"),
        "credentials are never logged: {out}"
    );

    let of = |call: u64| {
        entries
            .iter()
            .filter(|e| e["call_id"] == call)
            .collect::<Vec<_>>()
    };
    let say = of(calls[0]);
    let kinds: Vec<&str> = say.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "EVENT_TYPE_CLIENT_HEADER",
            "EVENT_TYPE_CLIENT_MESSAGE",
            "EVENT_TYPE_CLIENT_HALF_CLOSE",
            "EVENT_TYPE_SERVER_HEADER",
            "EVENT_TYPE_SERVER_MESSAGE",
            "EVENT_TYPE_SERVER_TRAILER",
        ],
        "{out}"
    );
    let seqs: Vec<u64> = say.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let header = say[0];
    assert_eq!(header["method"], "/demo.Echo/Say");
    assert_eq!(header["authority"], format!("127.0.0.1:{port}"));
    assert_eq!(header["timeout_s"], 7, "the grpc-timeout the client sent");
    assert_eq!(header["metadata"], serde_json::json!([["x-user", "ada"]]));
    assert_eq!(header["peer"]["type"], "TYPE_IPV4");
    assert_eq!(header["peer"]["address"], "127.0.0.1");
    // "hello" is 7 bytes as a StringValue (0a 05 68 65 6c 6c 6f): 4 kept.
    assert_eq!(
        (say[1]["length"].clone(), say[1]["data"].clone()),
        (7.into(), "0a056865".into())
    );
    assert_eq!(say[1]["truncated"], true);
    assert_eq!(
        say[3]["metadata"],
        serde_json::json!([["x-served-by", "echo"]])
    );
    assert_eq!(say[5]["status_code"], 0);

    let failed = of(calls[1]);
    let last = failed.last().unwrap();
    assert_eq!(
        last["type"], "EVENT_TYPE_SERVER_TRAILER",
        "trailers-only: {failed:?}"
    );
    assert_eq!(
        (last["status_code"].clone(), last["status_message"].clone()),
        (5.into(), "no such thing".into())
    );
    assert!(
        !failed
            .iter()
            .any(|e| e["type"] == "EVENT_TYPE_SERVER_HEADER")
    );

    let count = of(calls[2]);
    let messages = count
        .iter()
        .filter(|e| e["type"] == "EVENT_TYPE_SERVER_MESSAGE")
        .count();
    assert_eq!(messages, 3, "{count:?}");
    let gzipped = of(calls[3]);
    assert_eq!(gzipped[1]["type"], "EVENT_TYPE_CLIENT_MESSAGE");
    assert_eq!(
        (gzipped[1]["length"].clone(), gzipped[1]["data"].clone()),
        (7.into(), "0a056865".into()),
        "logged decompressed, then cut to 4 bytes: {gzipped:?}"
    );

    // The channel's own log of the same calls.
    let mut command = peers::python_command(&python, "binlog_read.py");
    command.arg(&client_path);
    let out = peers::run_client(command).unwrap_or_else(|e| panic!("binlog_read.py: {e}"));
    let entries: Vec<Value> = serde_json::from_str(out.trim()).unwrap();
    assert!(
        entries.iter().all(|e| e["logger"] == "LOGGER_CLIENT"),
        "{out}"
    );
    let mut calls: Vec<u64> = entries
        .iter()
        .map(|e| e["call_id"].as_u64().unwrap())
        .collect();
    calls.dedup();
    assert_eq!(
        calls.len(),
        4,
        "three Say calls and the unreachable one; Count is not chosen: {out}"
    );
    let of = |call: u64| {
        entries
            .iter()
            .filter(|e| e["call_id"] == call)
            .collect::<Vec<_>>()
    };
    let kinds: Vec<&str> = of(calls[0])
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "EVENT_TYPE_CLIENT_HEADER",
            "EVENT_TYPE_CLIENT_MESSAGE",
            "EVENT_TYPE_CLIENT_HALF_CLOSE",
            "EVENT_TYPE_SERVER_HEADER",
            "EVENT_TYPE_SERVER_MESSAGE",
            "EVENT_TYPE_SERVER_TRAILER",
        ],
        "{out}"
    );
    assert_eq!(
        of(calls[0])[1]["data"],
        "0a0568656c6c6f",
        "the whole message: no limit in this filter"
    );
    // The client logs its peer on the server header (A16), not on its own.
    assert!(of(calls[0])[0].get("peer").is_none());
    assert_eq!(of(calls[0])[3]["peer"]["port"], port);
    assert_eq!(of(calls[0])[3]["peer"]["address"], "127.0.0.1");
    assert_eq!(
        of(calls[2])[1]["data"],
        "0a0568656c6c6f",
        "decompressed on the client too"
    );
    let unreachable = of(calls[3]);
    assert_eq!(unreachable[0]["type"], "EVENT_TYPE_CLIENT_HEADER");
    let last = unreachable.last().unwrap();
    assert_eq!(
        (last["type"].clone(), last["status_code"].clone()),
        ("EVENT_TYPE_SERVER_TRAILER".into(), 14.into()),
        "{unreachable:?}"
    );
}
