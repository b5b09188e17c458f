//! Encoding and merge semantics of generated messages, as the protobuf
//! encoding guide specifies them.

use std::collections::HashMap;

use protocall::{DecodeErrorKind, DecodeOptions, EnumValue, Enumeration, Message, UnknownValue};
use protocall_tests::protocall::test::everything::{Choice, Nested};
use protocall_tests::protocall::test::{Color, Everything, EverythingSubset};
use protocall_tests::protocall::test2::{Aliased, Legacy, Size, legacy};

fn round_trip<M: Message + PartialEq>(message: &M) -> M {
    let bytes = message.encode_to_vec();
    assert_eq!(bytes.len(), message.encoded_len());
    M::decode(bytes.as_slice()).unwrap()
}

#[test]
fn implicit_presence_skips_defaults_but_not_negative_zero() {
    assert!(Everything::default().encode_to_vec().is_empty());
    let m = Everything {
        f_double: -0.0,
        ..Default::default()
    };
    assert_eq!(m.encode_to_vec(), [0x61, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    assert!(round_trip(&m).f_double.is_sign_negative());
}

#[test]
fn explicit_presence_keeps_defaults() {
    let m = Everything {
        o_int32: Some(0),
        o_string: Some(String::new()),
        ..Default::default()
    };
    let back = round_trip(&m);
    assert_eq!(back.o_int32, Some(0));
    assert_eq!(back.o_string.as_deref(), Some(""));
    assert_eq!(back.o_color, None);
}

#[test]
fn last_scalar_wins_messages_merge_repeated_appends_maps_replace() {
    let first = Everything {
        f_int32: 1,
        f_string: "first".into(),
        f_nested: Some(Box::new(Nested {
            a: 5,
            ..Default::default()
        })),
        r_int32: vec![1, 2],
        m_int32_string: HashMap::from([(1, "one".into()), (2, "two".into())]),
        ..Default::default()
    };
    let second = Everything {
        f_int32: 2,
        f_nested: Some(Box::new(Nested {
            b: "b".into(),
            ..Default::default()
        })),
        r_int32: vec![3],
        m_int32_string: HashMap::from([(2, "TWO".into())]),
        ..Default::default()
    };
    let mut bytes = first.encode_to_vec();
    bytes.extend(second.encode_to_vec());
    let merged = Everything::decode(bytes.as_slice()).unwrap();
    assert_eq!(merged.f_int32, 2);
    assert_eq!(merged.f_string, "first");
    assert_eq!(
        merged.f_nested,
        Some(Box::new(Nested {
            a: 5,
            b: "b".into(),
            ..Default::default()
        }))
    );
    assert_eq!(merged.r_int32, [1, 2, 3]);
    assert_eq!(merged.m_int32_string[&1], "one");
    assert_eq!(merged.m_int32_string[&2], "TWO");

    // merge() into an existing value behaves the same way.
    let mut target = first.clone();
    target.merge(second.encode_to_vec().as_slice()).unwrap();
    assert_eq!(target, merged);
}

#[test]
fn oneof_last_member_wins_and_message_members_merge() {
    let a = Everything {
        choice: Some(Choice::CString("x".into())),
        ..Default::default()
    };
    let b = Everything {
        choice: Some(Choice::CInt64(-9)),
        ..Default::default()
    };
    let mut bytes = a.encode_to_vec();
    bytes.extend(b.encode_to_vec());
    assert_eq!(
        Everything::decode(bytes.as_slice()).unwrap().choice,
        Some(Choice::CInt64(-9))
    );

    let n1 = Everything {
        choice: Some(Choice::CNested(Box::new(Nested {
            a: 1,
            ..Default::default()
        }))),
        ..Default::default()
    };
    let n2 = Everything {
        choice: Some(Choice::CNested(Box::new(Nested {
            b: "z".into(),
            ..Default::default()
        }))),
        ..Default::default()
    };
    let mut bytes = n1.encode_to_vec();
    bytes.extend(n2.encode_to_vec());
    let merged = Everything::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        merged.choice,
        Some(Choice::CNested(Box::new(Nested {
            a: 1,
            b: "z".into(),
            ..Default::default()
        })))
    );
}

#[test]
fn oneof_member_with_wrong_wire_type_is_unknown_and_keeps_value() {
    let set = Everything {
        choice: Some(Choice::CString("keep".into())),
        ..Default::default()
    };
    let mut bytes = set.encode_to_vec();
    // field 72 (c_int64) as fixed32 instead of varint
    bytes.extend([0xc5, 0x04, 1, 2, 3, 4]);
    let back = Everything::decode(bytes.as_slice()).unwrap();
    assert_eq!(back.choice, Some(Choice::CString("keep".into())));
    assert_eq!(
        back._unknown_fields.iter().next().unwrap().value,
        UnknownValue::Fixed32(0x04030201)
    );
    assert_eq!(back.encode_to_vec(), bytes);
}

#[test]
fn open_enum_keeps_unknown_values() {
    let bytes = [0x80, 0x01, 99]; // f_color = 99
    let m = Everything::decode(&bytes[..]).unwrap();
    assert_eq!(m.f_color, EnumValue::Unknown(99));
    assert_eq!(m.encode_to_vec(), bytes);
    assert_eq!(
        Everything {
            f_color: Color::Blue.into(),
            ..Default::default()
        }
        .f_color
        .to_i32(),
        -3
    );
    assert_eq!(Color::from_str_name("COLOR_BLUE"), Some(Color::Blue));
    assert_eq!(Color::Green.as_str_name(), "COLOR_GREEN");
}

#[test]
fn closed_enum_unknown_values_go_to_unknown_fields() {
    // plain_size (10) = 9, sizes (11) = [1, 9, 3] unpacked, required fields present.
    let bytes = [
        0x08, 0x00, 0x12, 0x00, 0x50, 0x09, 0x58, 0x01, 0x58, 0x09, 0x58, 0x03, 0xe0, 0x03, 0x03,
    ];
    let m = Legacy::decode(&bytes[..]).unwrap();
    assert_eq!(m.plain_size, None);
    assert_eq!(m.sizes, [Size::Small, Size::Large]);
    let unknown: Vec<_> = m
        ._unknown_fields
        .iter()
        .map(|f| (f.number, f.value))
        .collect();
    assert_eq!(
        unknown,
        [(10, UnknownValue::Varint(9)), (11, UnknownValue::Varint(9))]
    );
    // Re-encoded: known fields first, the unknown values after them.
    let again = Legacy::decode(m.encode_to_vec().as_slice()).unwrap();
    assert_eq!(again, m);
}

#[test]
fn proto2_defaults_and_getters() {
    let m = Legacy::default();
    // Required fields are `Option`s whose getters give the declared default.
    assert_eq!(m.code, None);
    assert_eq!(m.code(), "abc");
    assert_eq!(m.required_size(), Size::Large);
    assert_eq!(m.count(), 7);
    assert_eq!(m.label(), "hello \"world\"");
    assert_eq!(m.blob(), b"\x01\x02\x7fz");
    assert_eq!(m.ratio(), f64::NEG_INFINITY);
    assert_eq!(m.scale(), 1.5);
    assert!(m.flag());
    assert_eq!(m.size(), Size::Medium);
    assert_eq!(m.plain_size(), Size::Small);
    assert_eq!(m.big(), u64::MAX);
    assert_eq!(m.neg(), -42);
    assert_eq!(m.aliased(), Aliased::One);
    assert_eq!(Aliased::UNO, Aliased::One);
    assert_eq!(Aliased::from_str_name("ALIASED_UNO"), Some(Aliased::One));
    // Message getters return a shared default instance when unset.
    assert_eq!(m.settings(), &legacy::Settings::default());
    assert!(std::ptr::eq(m.child(), Legacy::default_instance()));
    // A missing required field stays missing through a round trip (peers
    // check for it); a set one is written even at its default.
    assert!(m.encode_to_vec().is_empty());
    let set = Legacy {
        id: Some(0),
        code: Some("abc".into()),
        ..Default::default()
    };
    let back = Legacy::decode(set.encode_to_vec().as_slice()).unwrap();
    assert_eq!((back.id, back.code.as_deref()), (Some(0), Some("abc")));
    assert_eq!((back.required_size, back.count), (None, None));
}

#[test]
fn proto2_explicit_defaults_survive() {
    let m = Legacy {
        count: Some(7),
        flag: Some(true),
        size: Some(Size::Medium),
        ..Default::default()
    };
    let back = round_trip(&m);
    assert_eq!(back.count, Some(7));
    assert_eq!(back.flag, Some(true));
    assert_eq!(back.size, Some(Size::Medium));
}

#[test]
fn groups_round_trip() {
    let m = Legacy {
        settings: Some(legacy::Settings {
            level: Some(3),
            name: Some("s".into()),
            ..Default::default()
        }),
        entry: vec![
            legacy::Entry {
                key: Some(1),
                ..Default::default()
            },
            legacy::Entry {
                key: Some(2),
                nested: Some(Legacy {
                    id: Some(9),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let bytes = m.encode_to_vec();
    // Settings is field 20: start group key 0xa3 0x01, end group key 0xa4 0x01.
    assert!(bytes.windows(2).any(|w| w == [0xa3, 0x01]));
    assert!(bytes.windows(2).any(|w| w == [0xa4, 0x01]));
    assert_eq!(round_trip(&m), m);
}

#[test]
fn packed_and_unpacked_are_both_accepted() {
    // r_int32 (21, declared packed) sent unpacked, r_unpacked (38) sent packed.
    let bytes = [
        0xa8, 0x01, 0x05, 0xa8, 0x01, 0x06, 0xb2, 0x02, 0x02, 0x07, 0x08,
    ];
    let m = Everything::decode(&bytes[..]).unwrap();
    assert_eq!(m.r_int32, [5, 6]);
    assert_eq!(m.r_unpacked, [7, 8]);
    // And written back in the declared form.
    let out = m.encode_to_vec();
    assert_eq!(
        out,
        [
            0xaa, 0x01, 0x02, 0x05, 0x06, 0xb0, 0x02, 0x07, 0xb0, 0x02, 0x08
        ]
    );
}

#[test]
fn unknown_fields_round_trip_and_can_be_discarded() {
    let full = Everything {
        f_int32: 7,
        f_string: "s".into(),
        f_uint64: 3,
        r_string: vec!["a".into()],
        f_nested: Some(Box::new(Nested {
            a: 1,
            ..Default::default()
        })),
        ..Default::default()
    };
    let bytes = full.encode_to_vec();
    let subset = EverythingSubset::decode(bytes.as_slice()).unwrap();
    assert_eq!(subset.f_int32, 7);
    assert!(!subset._unknown_fields.is_empty());
    let back = Everything::decode(subset.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, full);

    // `Result` is generated with discard_unknown_fields: no member, dropped.
    let result =
        protocall_tests::protocall::test::Result::decode(&[0x08, 0x01, 0x10, 0x02][..]).unwrap();
    assert_eq!(result.ok, 1);
    assert_eq!(result.encode_to_vec(), [0x08, 0x01]);
}

#[test]
fn recursion_limit_applies_and_is_configurable() {
    let mut m = Everything::default();
    for _ in 0..150 {
        m = Everything {
            child: Some(Box::new(m)),
            ..Default::default()
        };
    }
    let bytes = m.encode_to_vec();
    let err = Everything::decode(bytes.as_slice()).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::RecursionLimit(100));
    let deep: Everything = DecodeOptions::new()
        .recursion_limit(200)
        .decode(bytes.as_slice())
        .unwrap();
    assert_eq!(deep, m);
}

#[test]
fn length_delimited_stream() {
    let a = Everything {
        f_int32: 1,
        ..Default::default()
    };
    let b = Everything {
        f_string: "b".into(),
        ..Default::default()
    };
    let mut buf = a.encode_length_delimited_to_vec();
    b.encode_length_delimited(&mut buf).unwrap();
    let mut cursor = buf.as_slice();
    assert_eq!(Everything::decode_length_delimited(&mut cursor).unwrap(), a);
    assert_eq!(Everything::decode_length_delimited(&mut cursor).unwrap(), b);
    assert!(cursor.is_empty());
}

#[test]
fn chunked_buffers_decode_like_contiguous_ones() {
    use bytes::Buf;
    let m = Everything {
        f_string: "hello".into(),
        r_int64: vec![1, -1],
        ..Default::default()
    };
    let bytes = m.encode_to_vec();
    let (front, back) = bytes.split_at(3);
    let chained = front.chain(back);
    assert_eq!(Everything::decode(chained).unwrap(), m);
}

#[test]
fn keyword_and_std_names_work() {
    use protocall_tests::protocall::test::{
        Box as PBox, Option as POption, Self_, String as PString, Vec as PVec,
    };
    let m = Self_ {
        r#box: Some(PBox {
            option: Some(POption {
                r#type: 1,
                self_: "me".into(),
                r#async: true,
                r#match: Some(protocall_tests::protocall::test::Result { ok: 2 }),
                r#loop: Some(PString {
                    value: "v".into(),
                    ..Default::default()
                }),
                vec: Some(PVec {
                    value: vec![1],
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(round_trip(&m), m);
    assert_eq!(<Self_ as Message>::FULL_NAME, "protocall.test.Self");
}

#[test]
fn well_known_types_nest() {
    let m = Everything {
        wk_timestamp: Some(protocall::types::Timestamp {
            seconds: 5,
            nanos: 6,
            ..Default::default()
        }),
        wk_int32: Some(protocall::types::Int32Value {
            value: 0,
            ..Default::default()
        }),
        ..Default::default()
    };
    let back = round_trip(&m);
    assert_eq!(back.wk_int32.as_ref().unwrap().value, 0);
    assert_eq!(back.wk_timestamp().seconds, 5);
    assert_eq!(
        Everything::default().wk_duration(),
        protocall::types::Duration::default_instance()
    );
}
