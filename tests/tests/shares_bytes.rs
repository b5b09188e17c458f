//! `Message::SHARES_BYTES` of generated and derived messages: true for a
//! message with a `bytes::Bytes` field (the `bytes(paths)` option, or a
//! derived struct's `Bytes` field) and for every generated message that
//! contains one, at any depth, recursion included.

use protocall::Message;
use protocall::bytes::Bytes;
use protocall_tests::protocall::test::everything::Nested;
use protocall_tests::protocall::test::{Box as BoxMessage, Everything, EverythingSubset};

fn shares<M: Message>() -> bool {
    M::SHARES_BYTES
}

#[test]
fn generated_messages_share_bytes_through_what_they_hold() {
    // `r_bytes` / `c_bytes` are `Bytes` (tests/build.rs).
    assert!(shares::<Everything>());
    // `Nested` holds an `Everything` (which holds `Nested`: a cycle).
    assert!(shares::<Nested>());
    assert!(shares::<std::boxed::Box<Everything>>());
    assert!(!shares::<EverythingSubset>());
    assert!(!shares::<BoxMessage>());
}

#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.shares")]
struct Shared {
    #[proto(tag = 1)]
    data: Bytes,
}

#[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
#[proto(package = "protocall.test.shares")]
struct Copied {
    #[proto(tag = 1)]
    data: Vec<u8>,
}

#[test]
fn derived_messages_share_their_own_bytes_fields() {
    assert!(shares::<Shared>());
    assert!(!shares::<Copied>());
    let message = Shared {
        data: Bytes::from_static(b"abc"),
    };
    assert_eq!(
        Shared::decode(message.encode_to_vec().as_slice()).unwrap(),
        message
    );
}

/// True when `part` lies inside `whole`'s memory.
fn within(part: &[u8], whole: &Bytes) -> bool {
    let whole = whole.as_ptr_range();
    let part = part.as_ptr_range();
    whole.start <= part.start && part.end <= whole.end
}

#[test]
fn decoding_generated_messages_from_bytes_shares_the_buffer() {
    use protocall_tests::protocall::test::everything::Choice;
    let message = Everything {
        r_bytes: vec![Bytes::from_static(b"first"), Bytes::from_static(b"second")],
        choice: Some(Choice::CBytes(Bytes::from_static(b"in the oneof"))),
        ..Default::default()
    };
    // What a gRPC frame's payload is: a `Bytes`.
    let input = Bytes::from(message.encode_to_vec());
    let decoded = Everything::decode(input.clone()).unwrap();
    assert_eq!(decoded, message);
    for part in &decoded.r_bytes {
        assert!(within(part, &input), "repeated bytes copied");
    }
    let Some(Choice::CBytes(one)) = &decoded.choice else {
        panic!("oneof lost: {decoded:?}");
    };
    assert!(within(one, &input), "oneof bytes copied");

    // A `&[u8]` input still decodes (into one copy of the input).
    let slice = message.encode_to_vec();
    let decoded = Everything::decode(slice.as_slice()).unwrap();
    assert_eq!(decoded, message);
    assert!(!slice.as_ptr_range().contains(&decoded.r_bytes[0].as_ptr()));
}
