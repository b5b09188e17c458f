//! Malformed input: every failure is a `DecodeError` naming the message and
//! field path, never a panic, never an allocation sized by a lying prefix.

use protocall::{DecodeErrorKind, Message};
use protocall_tests::protocall::test::Everything;
use protocall_tests::protocall::test2::Legacy;

fn decode_err(bytes: &[u8]) -> protocall::DecodeError {
    Everything::decode(bytes).unwrap_err()
}

#[test]
fn truncated_varint() {
    let err = decode_err(&[0x08, 0x80]);
    assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
    assert_eq!(
        err.to_string(),
        "failed to decode protocall.test.Everything.f_int32: input ended in the middle of a value"
    );
}

#[test]
fn truncated_fixed() {
    let err = decode_err(&[0x3d, 1, 2]); // f_fixed32 with two of four bytes
    assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
    assert!(err.to_string().contains("Everything.f_fixed32"), "{err}");
}

#[test]
fn truncated_key() {
    let err = decode_err(&[0x80]);
    assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
    assert!(
        err.to_string().contains("protocall.test.Everything"),
        "{err}"
    );
}

#[test]
fn varint_over_ten_bytes() {
    let mut bytes = vec![0x08];
    bytes.extend([0xff; 11]);
    assert_eq!(decode_err(&bytes).kind(), &DecodeErrorKind::VarintTooLong);
}

#[test]
fn length_prefix_past_the_end_of_the_buffer() {
    // f_string with a 2 GiB length and three bytes of data
    let err = decode_err(&[0x72, 0x80, 0x80, 0x80, 0x80, 0x08, b'a', b'b', b'c']);
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::LengthOutOfBounds {
            declared: 1 << 31,
            remaining: 3
        }
    );
    assert!(err.to_string().contains("Everything.f_string"), "{err}");
}

#[test]
fn lying_length_inside_a_nested_message() {
    // f_nested (17) of 3 bytes holding b (2) claiming 100 bytes
    let err = decode_err(&[0x8a, 0x01, 0x03, 0x12, 0x64, b'x']);
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::LengthOutOfBounds { declared: 100, .. }
    ));
    assert_eq!(
        err.path().collect::<Vec<_>>(),
        [
            ("protocall.test.Everything", "f_nested"),
            ("protocall.test.Everything.Nested", "b")
        ]
    );
    assert!(
        err.to_string()
            .contains("protocall.test.Everything.f_nested.b"),
        "{err}"
    );
}

#[test]
fn lying_packed_length() {
    // r_fixed64 (28) packed, 2^40 bytes declared
    let err = decode_err(&[0xe2, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::LengthOutOfBounds { .. }
    ));
}

#[test]
fn packed_run_ending_mid_value() {
    // r_fixed32 (27) packed with 5 bytes: one value and a stray byte
    let err = decode_err(&[0xda, 0x01, 0x05, 1, 0, 0, 0, 9]);
    assert_eq!(err.kind(), &DecodeErrorKind::Truncated);
}

#[test]
fn invalid_wire_types() {
    assert_eq!(
        decode_err(&[0x0e]).kind(),
        &DecodeErrorKind::InvalidWireType(6)
    );
    assert_eq!(
        decode_err(&[0x0f]).kind(),
        &DecodeErrorKind::InvalidWireType(7)
    );
}

#[test]
fn field_number_zero() {
    assert_eq!(
        decode_err(&[0x00, 0x01]).kind(),
        &DecodeErrorKind::FieldNumberZero
    );
    assert_eq!(
        decode_err(&[0x02, 0x00]).kind(),
        &DecodeErrorKind::FieldNumberZero
    );
}

#[test]
fn invalid_utf8_in_string_names_the_field() {
    let err = decode_err(&[0x72, 0x02, 0xc3, 0x28]);
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
    assert!(err.to_string().contains("Everything.f_string"), "{err}");
    // In a map value, too.
    let err = decode_err(&[0x9a, 0x03, 0x06, 0x08, 0x01, 0x12, 0x02, 0xff, 0xfe]);
    assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
    assert!(err.to_string().contains("m_int32_string"), "{err}");
}

#[test]
fn unterminated_and_mismatched_groups() {
    // Legacy.settings (20) opened, never closed.
    let err = Legacy::decode(&[0xa3, 0x01, 0xa8, 0x01, 0x01][..]).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::GroupMismatch);
    // Closed with the end key of another field (21).
    let err = Legacy::decode(&[0xa3, 0x01, 0xac, 0x01][..]).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::GroupMismatch);
    // A stray end-group key at top level.
    let err = Legacy::decode(&[0xa4, 0x01][..]).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::GroupMismatch);
    // An unknown group that never ends.
    let err = Everything::decode(&[0xfb, 0x07, 0x08, 0x01][..]).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::GroupMismatch);
}

#[test]
fn deeply_nested_unknown_groups_hit_the_limit() {
    // 10,000 nested start-group keys of field 1000 (unknown to Everything).
    let bytes: Vec<u8> = std::iter::repeat_n([0xc3, 0x3e], 10_000)
        .flatten()
        .collect();
    let err = Everything::decode(bytes.as_slice()).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::RecursionLimit(100));
}

#[test]
fn deeply_nested_messages_hit_the_limit_without_stack_overflow() {
    // 100,000 levels of `child` (90), each claiming the rest of the input.
    let mut bytes = Vec::new();
    for _ in 0..100_000 {
        let mut outer = vec![0xd2, 0x05];
        let mut len = Vec::new();
        protocall::__private::wire::put_varint(bytes.len() as u64, &mut len);
        outer.extend(len);
        outer.extend(bytes);
        bytes = outer;
        if bytes.len() > 1 << 16 {
            break;
        }
    }
    let err = Everything::decode(bytes.as_slice()).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::RecursionLimit(100));
}

#[test]
fn field_numbers_beyond_the_maximum() {
    // key for field 2^29 (one past the maximum), varint wire type
    let mut bytes = Vec::new();
    protocall::__private::wire::put_varint((1u64 << 29) << 3, &mut bytes);
    bytes.push(0);
    let err = decode_err(&bytes);
    assert!(matches!(err.kind(), DecodeErrorKind::Other(_)), "{err:?}");
}
