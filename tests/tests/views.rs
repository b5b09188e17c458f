//! Borrowed views (`views(paths)`): decoding a view and making it owned
//! gives what owned decoding gives, for every input, valid or not; strings,
//! bytes and sub-messages borrow from the input; the limits hold.

use proptest::prelude::*;
use protocall::view::{HasView, MessageView};
use protocall::{DecodeErrorKind, DecodeOptions, EnumValue, Message};
use protocall_tests::protocall::test::everything::{Choice, ChoiceView, Nested};
use protocall_tests::protocall::test::{Color, Everything, EverythingView};
use protocall_tests::protocall::test2::{Legacy, LegacyView};

/// The view of `bytes` as `M`, made owned, is `M::decode(bytes)`; both fail
/// together, with the same kind of error.
fn same_as_owned<M: HasView + PartialEq + std::fmt::Debug>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let owned = M::decode(bytes);
    let viewed = M::View::decode(bytes).map(|v| v.to_owned_message());
    match (owned, viewed) {
        (Ok(owned), Ok(viewed)) => {
            prop_assert_eq!(&viewed, &owned);
        }
        (Err(a), Err(b)) => prop_assert_eq!(a.kind(), b.kind(), "{} / {}", a, b),
        (a, b) => prop_assert!(false, "owned {:?}, view {:?}", a, b),
    }
    Ok(())
}

fn nested() -> impl Strategy<Value = Nested> {
    (any::<i32>(), ".*").prop_map(|(a, b)| Nested {
        a,
        b,
        ..Default::default()
    })
}

prop_compose! {
    fn everything()(
        f_int32 in any::<i32>(), f_sint64 in any::<i64>(), f_double in any::<f64>(),
        f_bool in any::<bool>(), f_string in ".*",
        f_bytes in proptest::collection::vec(any::<u8>(), 0..16),
        f_color in (0..4i32).prop_map(EnumValue::<Color>::from_i32),
        r_string in proptest::collection::vec(".*", 0..3),
        r_int32 in proptest::collection::vec(any::<i32>(), 0..5),
        r_nested in proptest::collection::vec(nested(), 0..3),
        o_string in proptest::option::of(".*"),
        m_int32_string in proptest::collection::hash_map(any::<i32>(), ".*", 0..4),
        m_string_nested in proptest::collection::hash_map(".*", nested(), 0..3),
        m_uint32_bytes in proptest::collection::hash_map(any::<u32>(), proptest::collection::vec(any::<u8>(), 0..4), 0..3),
        choice in proptest::option::of(prop_oneof![
            any::<i64>().prop_map(Choice::CInt64),
            ".*".prop_map(Choice::CString),
            nested().prop_map(|n| Choice::CNested(Box::new(n))),
            proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| Choice::CBytes(b.into())),
        ]),
        f_nested in proptest::option::of(nested().prop_map(Box::new)),
    ) -> Everything {
        Everything {
            f_int32, f_sint64, f_double, f_bool, f_string, f_bytes, f_color, r_string, r_int32,
            r_nested, o_string, m_int32_string, m_string_nested, m_uint32_bytes, choice, f_nested,
            ..Default::default()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn views_of_valid_messages_are_the_owned_messages(message in everything()) {
        let bytes = message.encode_to_vec();
        same_as_owned::<Everything>(&bytes)?;
        let outer = Everything { child: Some(Box::new(message)), ..Default::default() };
        same_as_owned::<Everything>(&outer.encode_to_vec())?;
    }

    #[test]
    fn views_of_any_bytes_are_the_owned_messages(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        // Unknown fields, wire-type misfits, closed enums' unnamed values,
        // groups, invalid UTF-8, truncation: views decide as owned decoding.
        same_as_owned::<Everything>(&bytes)?;
        same_as_owned::<Legacy>(&bytes)?;
    }

    #[test]
    fn views_of_mutated_messages_are_the_owned_messages(
        message in everything(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = message.encode_to_vec();
        if bytes.is_empty() {
            return Ok(());
        }
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        same_as_owned::<Everything>(&bytes)?;
        same_as_owned::<Everything>(&bytes[..bytes.len() / 2])?;
    }
}

/// True when `inner` lies inside `outer`.
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let range = outer.as_ptr_range();
    inner.is_empty() || (range.start <= inner.as_ptr() && inner.as_ptr_range().end <= range.end)
}

#[test]
fn strings_bytes_and_sub_messages_borrow_from_the_input() {
    let message = Everything {
        f_string: "hello".into(),
        f_bytes: vec![1, 2, 3],
        r_string: vec!["a".into(), "bc".into()],
        f_nested: Some(Box::new(Nested {
            b: "inner".into(),
            ..Default::default()
        })),
        m_int32_string: [(7, "seven".to_string())].into_iter().collect(),
        choice: Some(Choice::CString("picked".into())),
        ..Default::default()
    };
    let bytes = message.encode_to_vec();
    let view = EverythingView::decode(&bytes).unwrap();
    assert_eq!(view.f_string, "hello");
    assert!(within(&bytes, view.f_string.as_bytes()));
    assert!(within(&bytes, view.f_bytes));
    assert_eq!(view.r_string, ["a", "bc"]);
    assert!(view.r_string.iter().all(|s| within(&bytes, s.as_bytes())));
    let nested = view.f_nested.as_deref().unwrap();
    assert_eq!(nested.b, "inner");
    assert!(within(&bytes, nested.b.as_bytes()));
    assert_eq!(view.m_int32_string.get(&7), Some(&"seven"));
    match &view.choice {
        Some(ChoiceView::CString(s)) => assert!(within(&bytes, s.as_bytes())),
        other => panic!("{other:?}"),
    }
    assert_eq!(view.to_owned(), message);
}

#[test]
fn a_map_key_given_twice_keeps_its_last_value_in_the_view_and_the_owned_map() {
    // m_int32_string (51): {1: "a"}, then {1: "b"}.
    let bytes = [
        0x9a, 0x03, 0x05, 0x08, 0x01, 0x12, 0x01, b'a', //
        0x9a, 0x03, 0x05, 0x08, 0x01, 0x12, 0x01, b'b',
    ];
    let view = EverythingView::decode(&bytes).unwrap();
    assert_eq!(view.m_int32_string.entries().len(), 2);
    assert_eq!(view.m_int32_string.get(&1), Some(&"b"));
    assert_eq!(view.to_owned().m_int32_string[&1], "b");
    assert_eq!(view.to_owned(), Everything::decode(&bytes[..]).unwrap());
}

#[test]
fn proto2_views_keep_required_defaults_groups_and_unnamed_enum_values() {
    // Nothing set: as in the owned message, a required field with a
    // declared default is unset, and the getters read the default.
    let empty = LegacyView::decode(&[]).unwrap();
    assert_eq!(empty.code, None);
    assert_eq!(empty.code(), "abc");
    assert_eq!(empty.to_owned().code(), "abc");
    let set = LegacyView::decode(&[0x12, 0x02, b'x', b'y']).unwrap();
    assert_eq!(set.code(), "xy");
    assert_eq!(empty.to_owned(), Legacy::decode(&[][..]).unwrap());
    // Legacy has groups, closed enums and a oneof: a value the closed enum
    // `required_size` (60) does not name stays an unknown field.
    let bytes = [0xe0, 0x03, 0x63];
    let view = LegacyView::decode(&bytes).unwrap();
    assert!(!view._unknown_fields.is_empty());
    let owned = view.to_owned();
    assert_eq!(owned, Legacy::decode(&bytes[..]).unwrap());
    assert_eq!(owned.encode_to_vec(), bytes);
}

#[test]
fn views_check_utf8_recursion_and_the_memory_budget() {
    // f_string (14) with invalid UTF-8.
    let bad = [0x72, 0x01, 0xff];
    assert_eq!(
        EverythingView::decode(&bad).unwrap_err().kind(),
        &DecodeErrorKind::InvalidUtf8
    );
    // child (field 90) nested 10 deep, under a limit of 5.
    let mut deep = Everything::default();
    for _ in 0..10 {
        deep = Everything {
            child: Some(Box::new(deep)),
            ..Default::default()
        };
    }
    let bytes = deep.encode_to_vec();
    let limited = DecodeOptions::new().recursion_limit(5);
    let err = limited
        .decode_view::<EverythingView<'_>>(&bytes)
        .unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::RecursionLimit(5)),
        "{err}"
    );
    assert!(EverythingView::decode(&bytes).is_ok());
    // 10,000 empty r_nested (37) elements: three bytes each on the wire.
    let many: Vec<u8> = [0xaa, 0x02, 0x00].repeat(10_000);
    let tight = DecodeOptions::new().memory_budget(8, 0);
    assert_eq!(
        tight
            .decode_view::<EverythingView<'_>>(&many)
            .unwrap_err()
            .kind(),
        &DecodeErrorKind::MemoryBudget
    );
    assert_eq!(
        EverythingView::decode(&many).unwrap().r_nested.len(),
        10_000
    );
    // Unknown fields cost their slots too: 30,000 three-byte unknown fields (number 1007).
    let unknown: Vec<u8> = [0xf8, 0x3e, 0x01].repeat(30_000);
    assert_eq!(
        tight
            .decode_view::<EverythingView<'_>>(&unknown)
            .unwrap_err()
            .kind(),
        &DecodeErrorKind::MemoryBudget
    );
}

#[test]
fn errors_name_the_field_path() {
    // f_nested (17) holding invalid UTF-8 in `b`: the path names both.
    let message = Everything {
        f_nested: Some(Box::new(Nested {
            b: "x".into(),
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut bytes = message.encode_to_vec();
    let last = bytes.len() - 1;
    bytes[last] = 0xff;
    let owned = Everything::decode(&bytes[..]).unwrap_err();
    let viewed = EverythingView::decode(&bytes).unwrap_err();
    assert_eq!(viewed.to_string(), owned.to_string());
    assert_eq!(viewed.path().count(), 2, "{viewed}");
}

// ------------------------------------------------ views over gRPC (loopback)

mod grpc {
    use std::pin::Pin;
    use std::time::Duration;

    use protocall::view::ViewOf;
    use protocall::{Request, Response, Status, Streaming};
    use protocall_tests::protocall::views::logs_client::LogsClient;
    use protocall_tests::protocall::views::logs_server::{Logs, LogsServer};
    use protocall_tests::protocall::views::{Batch, Record, Stored};

    use super::within;

    type Records = Pin<Box<dyn futures_util::Stream<Item = Result<Record, Status>> + Send>>;

    #[derive(Clone, Default)]
    struct Svc;

    impl Logs for Svc {
        async fn put(&self, request: Request<ViewOf<Record>>) -> Result<Response<Stored>, Status> {
            let held = request.into_inner();
            // Held across an await: the view is 'static with its bytes.
            tokio::task::yield_now().await;
            let record = held.get();
            if !within(held.bytes(), record.body.as_bytes()) || !within(held.bytes(), record.blob) {
                return Err(Status::internal("the view copied its strings"));
            }
            Ok(Response::new(Stored {
                length: record.body.len() as u32,
                echo: Some(held.to_owned_message()),
                ..Default::default()
            }))
        }

        type TailStream = Records;

        async fn tail(&self, request: Request<ViewOf<Batch>>) -> Result<Response<Records>, Status> {
            let records: Vec<Result<Record, Status>> = request
                .get_ref()
                .get()
                .records
                .iter()
                .map(|r| Ok(r.to_owned()))
                .collect();
            Ok(Response::new(Box::pin(futures_util::stream::iter(records))))
        }

        async fn collect(
            &self,
            request: Request<Streaming<ViewOf<Record>>>,
        ) -> Result<Response<Stored>, Status> {
            let mut stream = request.into_inner();
            let mut length = 0;
            while let Some(record) = stream.message().await? {
                length += record.get().body.len() as u32;
            }
            Ok(Response::new(Stored {
                length,
                ..Default::default()
            }))
        }
    }

    fn record(body: &str) -> Record {
        Record {
            body: body.into(),
            blob: vec![1, 2, 3],
            tags: vec!["a".into(), "b".into()],
            ..Default::default()
        }
    }

    /// The Logs service on loopback under `builder`; its address, and the
    /// handle that stops it.
    async fn serve_logs(builder: protocall::Server) -> (std::net::SocketAddr, Serving) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            builder
                .add_service(LogsServer::new(Svc))
                .serve_with_listener(listener, async move {
                    let _ = stopped.await;
                }),
        );
        (addr, Serving { stop, task })
    }

    struct Serving {
        stop: tokio::sync::oneshot::Sender<()>,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Serving {
        /// Stops the server; it must end cleanly.
        async fn stop(self) {
            let _ = self.stop.send(());
            self.task.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn handlers_take_views_and_clients_return_them() {
        tokio::time::timeout(Duration::from_secs(20), async {
            let (addr, server) = serve_logs(protocall::Server::builder()).await;
            let client = LogsClient::connect(format!("http://{addr}")).await.unwrap();

            // Unary: a view in the handler, a view back in the client.
            let stored: ViewOf<Stored> =
                client.put(record("hello view")).await.unwrap().into_inner();
            let view = stored.get();
            assert_eq!(view.length, 10);
            let echo = view.echo.as_ref().unwrap();
            assert_eq!(echo.body, "hello view");
            assert_eq!(echo.tags, ["a", "b"]);
            assert!(within(stored.bytes(), echo.body.as_bytes()));
            assert_eq!(stored.to_owned_message().echo, Some(record("hello view")));

            // Server streaming, each response a view.
            let batch = Batch {
                records: (0..5).map(|i| record(&format!("r{i}"))).collect(),
                ..Default::default()
            };
            let mut stream = client.tail(batch).await.unwrap().into_inner();
            let mut bodies = Vec::new();
            while let Some(item) = stream.message().await.unwrap() {
                bodies.push(item.get().body.to_string());
            }
            assert_eq!(bodies, ["r0", "r1", "r2", "r3", "r4"]);

            // Client streaming into a handler reading views.
            let records = futures_util::stream::iter((0..4).map(|i| record(&"x".repeat(i + 1))));
            let stored = client.collect(records).await.unwrap().into_inner();
            assert_eq!(stored.length, 1 + 2 + 3 + 4);

            // A request the view rejects (invalid UTF-8 in `body`) fails
            // the call as owned decoding would, and the server goes on.
            let bad = protocall::client::Grpc::new(
                protocall::Channel::connect(format!("http://{addr}"))
                    .await
                    .unwrap(),
            );
            let raw = RawRecord(vec![0x0a, 0x01, 0xff]);
            let status = bad
                .unary::<RawRecord, Stored>(Request::new(raw), "/protocall.views.Logs/Put")
                .await
                .unwrap_err();
            assert_eq!(status.code(), protocall::Code::Internal, "{status:?}");
            assert!(client.put(record("again")).await.is_ok());

            server.stop().await;
        })
        .await
        .expect("bounded");
    }

    #[tokio::test]
    async fn servers_and_clients_decode_under_their_decode_options() {
        tokio::time::timeout(Duration::from_secs(20), async {
            // Slots for a few strings only: 100 tags do not fit.
            let tight = protocall::DecodeOptions::new().memory_budget(0, 256);
            let (addr, server) =
                serve_logs(protocall::Server::builder().decode_options(tight)).await;
            let uri = format!("http://{addr}");
            let client = LogsClient::connect(&uri).await.unwrap();
            let mut many = record("many");
            many.tags = (0..100).map(|i| i.to_string()).collect();
            let status = client.put(many.clone()).await.unwrap_err();
            assert_eq!(status.code(), protocall::Code::Internal, "{status:?}");
            assert!(status.message().contains("memory"), "{status:?}");
            // Small requests still pass the same server.
            assert!(client.put(record("few")).await.is_ok());
            // The client's own options bound the responses it decodes: the
            // echo of a 3-tag record fits a default server's reply, not a
            // client budget of 8 bytes.
            server.stop().await;

            let (addr, server) = serve_logs(protocall::Server::builder()).await;
            let channel = protocall::Channel::connect(format!("http://{addr}"))
                .await
                .unwrap();
            let strict = LogsClient::with_options(
                protocall::client::Grpc::new(channel.clone())
                    .decode_options(protocall::DecodeOptions::new().memory_budget(0, 8)),
            );
            let status = strict.put(record("echoed")).await.unwrap_err();
            assert_eq!(status.code(), protocall::Code::Internal, "{status:?}");
            let relaxed = LogsClient::new(channel);
            assert!(relaxed.put(record("echoed")).await.is_ok());
            server.stop().await;
        })
        .await
        .expect("bounded");
    }

    /// A request sent as given bytes.
    #[derive(Clone, Debug, Default, PartialEq)]
    struct RawRecord(Vec<u8>);

    impl protocall::Message for RawRecord {
        const FULL_NAME: &'static str = "protocall.views.Record";
        const TYPE_URL: &'static str = "type.googleapis.com/protocall.views.Record";
        fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
            buf.put_slice(&self.0);
        }
        fn encoded_len(&self) -> usize {
            self.0.len()
        }
        fn merge_field(
            &mut self,
            number: u32,
            wire_type: protocall::__private::WireType,
            decoder: &mut protocall::__private::Decoder<'_>,
        ) -> Result<(), protocall::DecodeError> {
            decoder.skip_field(number, wire_type, None)
        }
    }
}

#[test]
fn view_of_merges_as_concatenation_and_encodes_its_bytes() {
    use protocall::view::ViewOf;
    let a = Everything {
        f_string: "a".into(),
        r_string: vec!["x".into()],
        ..Default::default()
    };
    let b = Everything {
        f_int32: 5,
        r_string: vec!["y".into()],
        ..Default::default()
    };
    let mut held = ViewOf::<Everything>::new(a.encode_to_vec().into()).unwrap();
    held.merge(b.encode_to_vec().as_slice()).unwrap();
    let mut owned = a.clone();
    owned.merge(b.encode_to_vec().as_slice()).unwrap();
    assert_eq!(held.to_owned_message(), owned);
    assert_eq!(held.get().r_string, ["x", "y"]);
    assert_eq!(
        Everything::decode(held.encode_to_vec().as_slice()).unwrap(),
        owned
    );
    // Under chosen limits, as the owned message.
    let mut deep = Everything::default();
    for _ in 0..3 {
        deep = Everything {
            child: Some(Box::new(deep)),
            ..Default::default()
        };
    }
    let bytes = deep.encode_to_vec();
    let limited = protocall::DecodeOptions::new().recursion_limit(3);
    assert!(
        limited
            .decode::<ViewOf<Everything>, _>(bytes.as_slice())
            .is_ok()
    );
    let tighter = protocall::DecodeOptions::new().recursion_limit(2);
    assert!(
        tighter
            .decode::<ViewOf<Everything>, _>(bytes.as_slice())
            .is_err()
    );
    assert!(tighter.decode::<Everything, _>(bytes.as_slice()).is_err());
}
