//! Messages generated from `.proto` files inside an inline service: calls
//! work, and the exported source imports their files instead of redefining
//! them.

#![allow(missing_docs)]

use protocall::{Request, Response, Status};
use protocall_tests::protocall::test::Everything;
use protocall_tests::protocall::test2::Legacy;

#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "mixed")]
pub struct Event {
    #[proto(tag = 1)]
    pub at: Option<protocall::types::Timestamp>,
    #[proto(tag = 2)]
    pub legacy: Option<Legacy>,
    #[proto(tag = 3)]
    pub color: protocall::EnumValue<protocall_tests::protocall::test::Color>,
}

#[protocall::service(package = "mixed")]
pub trait Events {
    async fn get(&self, request: Request<Everything>) -> Result<Response<Event>, Status>;
}

struct Service;

impl Events for Service {
    async fn get(&self, request: Request<Everything>) -> Result<Response<Event>, Status> {
        let seconds = request.into_inner().f_int64;
        Ok(Response::new(Event {
            at: Some(protocall::types::Timestamp {
                seconds,
                ..Default::default()
            }),
            ..Default::default()
        }))
    }
}

#[test]
fn export_imports_the_schemas_of_generated_types() {
    let source = EventsServer::<Service>::proto_source();
    for import in [
        "import \"google/protobuf/timestamp.proto\";",
        "import \"test/everything.proto\";",
        "import \"test/proto2.proto\";",
    ] {
        assert!(source.contains(import), "missing `{import}` in:\n{source}");
    }
    assert!(
        source.contains(".protocall.test2.Legacy legacy = 2;"),
        "{source}"
    );
    assert!(
        source.contains("rpc Get(.protocall.test.Everything) returns (.mixed.Event);"),
        "{source}"
    );
    assert!(!source.contains("message Everything"), "{source}");

    // It compiles against the original schemas.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mixed.proto"), &source).unwrap();
    let schemas = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
    protox::compile(["mixed.proto"], [dir.path().to_str().unwrap(), schemas])
        .unwrap_or_else(|e| panic!("{e:?}\n{source}"));
}

#[tokio::test]
async fn calls_with_generated_types_work() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        protocall::Server::builder()
            .add_service(EventsServer::new(Service))
            .serve_with_listener(listener, async {
                let _ = stopped.await;
            }),
    );
    let client = EventsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let reply = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        client.get(Everything {
            f_int64: 42,
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reply.get_ref().at.as_ref().unwrap().seconds, 42);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A derived message without a package, for the default pool naming.
#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
pub struct Tally {
    #[proto(tag = 1)]
    pub count: u64,
    #[proto(tag = 2)]
    pub events: Vec<Event>,
}

#[test]
fn derived_messages_reflect_their_descriptors() {
    use protocall::reflect::{DynamicMessage, ReflectMessage, Value};
    let descriptor = Event::descriptor();
    assert_eq!(descriptor.full_name(), "mixed.Event");
    let legacy = descriptor.field_by_name("legacy").unwrap();
    assert_eq!(legacy.json_name(), "legacy");
    let event = Event {
        at: Some(protocall::types::Timestamp {
            seconds: 1,
            nanos: 500_000_000,
            ..Default::default()
        }),
        legacy: Some(Legacy {
            id: Some(3),
            code: Some("c".into()),
            ..Default::default()
        }),
        color: protocall_tests::protocall::test::Color::Blue.into(),
    };
    // JSON through the descriptor, with the generated and well-known
    // types' special forms.
    let options = protocall::json::Options::default();
    let json = protocall::json::to_string(&event, &options).unwrap();
    assert_eq!(
        json,
        r#"{"at":"1970-01-01T00:00:01.500Z","legacy":{"id":3,"code":"c"},"color":"COLOR_BLUE"}"#
    );
    let back: Event = protocall::json::from_str(&json, &options).unwrap();
    assert_eq!(back, event);
    let text = protocall::text::to_string(&event);
    assert_eq!(protocall::text::from_str::<Event>(&text).unwrap(), event);
    // A dynamic message of the derived type reads the same bytes.
    let bytes = protocall::Message::encode_to_vec(&event);
    let dynamic = DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap();
    assert!(matches!(
        dynamic.get_by_name("legacy"),
        Some(Value::Message(_))
    ));
    assert_eq!(dynamic.encode_to_vec(), bytes);

    let tally = Tally {
        count: 2,
        events: vec![event.clone(), Event::default()],
    };
    assert_eq!(Tally::descriptor().full_name(), "Tally");
    let json = protocall::json::to_string(&tally, &options).unwrap();
    assert!(
        json.starts_with(r#"{"count":"2","events":[{"at":"#),
        "{json}"
    );
    assert_eq!(
        protocall::json::from_str::<Tally>(&json, &options).unwrap(),
        tally
    );
}
