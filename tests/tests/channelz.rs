//! Channelz read by a Python `grpcio` client generated from channelz.proto:
//! a server's calls, listen socket and connections (addresses, streams,
//! messages), a channel's calls, state and subchannels. One test: the
//! registry is the process's.

#[path = "support/peers.rs"]
mod peers;

use std::net::SocketAddr;

use protocall::client::{Endpoint, Grpc};
use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unary, unimplemented};
use protocall::types::StringValue;
use protocall::{Request, Response, Status};
use serde_json::Value;

/// `demo.Echo/Say`: echoes; `fail` is NOT_FOUND.
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "demo.Echo";
}

impl GrpcService for Echo {
    fn call(&self, call: Call) -> ResponseFuture {
        match call.method() {
            "Say" => unary(call, |request: Request<StringValue>| async move {
                let value = request.into_inner().value;
                if value == "fail" {
                    return Err(Status::not_found("no such thing"));
                }
                Ok(Response::new(StringValue::from(value)))
            }),
            _ => unimplemented(call),
        }
    }
}

async fn serve(router: protocall::server::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(router.serve_with_listener(listener, std::future::pending()));
    addr
}

#[test]
fn channelz_shows_servers_sockets_channels_and_subchannels_to_grpcio() {
    let Some(python) = protocall_tests::harness::python_with("grpc, grpc_tools.protoc") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (admin, backend, channel) = runtime.block_on(async {
        // The admin server serves channelz (which turns tracking on) before
        // the backend and the channel exist.
        let admin =
            serve(protocall::Server::builder().add_service(protocall::channelz::service())).await;
        let backend = serve(protocall::Server::builder().add_service(Echo)).await;
        let channel = Endpoint::new(format!("http://{backend}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let grpc = Grpc::new(channel.clone());
        for value in ["a", "b", "c", "fail"] {
            let _ = grpc
                .unary::<_, StringValue>(Request::new(StringValue::from(value)), "/demo.Echo/Say")
                .await;
        }
        (admin, backend, channel)
    });
    let mut command = peers::python_command(&python, "channelz_client.py");
    command.arg(format!("--target=127.0.0.1:{}", admin.port()));
    let out = peers::run_client(command).unwrap_or_else(|e| panic!("channelz_client.py: {e}"));
    let seen: Value = serde_json::from_str(out.trim()).unwrap();

    assert_eq!(seen["not_found"], "NOT_FOUND", "an unknown id is NOT_FOUND");
    let servers = seen["servers"].as_array().unwrap();
    let listening_on = |server: &Value, port: u16| {
        server["listen"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["port"] == port && a["ip"] == "127.0.0.1")
    };
    let server = servers
        .iter()
        .find(|s| listening_on(s, backend.port()))
        .unwrap_or_else(|| panic!("no server listening on {backend}: {out}"));
    assert_eq!(server["calls_started"], 4, "{server}");
    assert_eq!(server["calls_succeeded"], 3);
    assert_eq!(server["calls_failed"], 1);
    assert!(server["last_call"].as_i64().unwrap() > 1_700_000_000);
    let sockets = server["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 1, "one connection: {server}");
    let socket = &sockets[0];
    assert_eq!(socket["local"]["port"], backend.port());
    assert_eq!(socket["remote"]["ip"], "127.0.0.1");
    assert_eq!(socket["streams_started"], 4);
    assert_eq!(
        (
            socket["streams_succeeded"].clone(),
            socket["streams_failed"].clone()
        ),
        (3.into(), 1.into())
    );
    assert_eq!(socket["messages_received"], 4);
    assert_eq!(
        socket["messages_sent"], 3,
        "the failed call answered no message"
    );
    assert!(
        servers.iter().any(|s| listening_on(s, admin.port())),
        "the admin server too: {out}"
    );

    let target = format!("http://{backend}");
    let channel_seen = seen["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == target.as_str())
        .unwrap_or_else(|| panic!("no channel to {target}: {out}"));
    assert_eq!(channel_seen["state"], "READY");
    assert_eq!(channel_seen["calls_started"], 4);
    assert_eq!(channel_seen["calls_succeeded"], 3);
    assert_eq!(channel_seen["calls_failed"], 1);
    let subchannels = channel_seen["subchannels"].as_array().unwrap();
    assert_eq!(subchannels.len(), 1, "pick_first: {channel_seen}");
    assert_eq!(subchannels[0]["state"], "READY");
    assert_eq!(subchannels[0]["target"], backend.to_string());
    assert_eq!(subchannels[0]["calls_started"], 4);
    assert_eq!(subchannels[0]["calls_failed"], 1);
    // The subchannel's connection, seen from the client's end.
    let sockets = subchannels[0]["sockets"].as_array().unwrap();
    assert_eq!(sockets.len(), 1, "{channel_seen}");
    let client_socket = &sockets[0];
    assert_eq!(client_socket["remote"]["port"], backend.port());
    assert_eq!(client_socket["local"]["ip"], "127.0.0.1");
    assert_eq!(client_socket["streams_started"], 4);
    assert_eq!(
        (
            client_socket["streams_succeeded"].clone(),
            client_socket["streams_failed"].clone()
        ),
        (3.into(), 1.into())
    );
    assert_eq!(client_socket["messages_sent"], 4);
    assert_eq!(client_socket["messages_received"], 3);
    // The same connection from the server's end.
    assert_eq!(socket["remote"]["port"], client_socket["local"]["port"]);

    // A channel dropped leaves channelz.
    drop(channel);
    let out = {
        let mut command = peers::python_command(&python, "channelz_client.py");
        command.arg(format!("--target=127.0.0.1:{}", admin.port()));
        peers::run_client(command).unwrap()
    };
    let seen: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        !seen["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["target"] == target.as_str()),
        "{out}"
    );
}
