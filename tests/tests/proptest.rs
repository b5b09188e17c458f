//! Property tests: random messages round-trip; random bytes never panic.

use std::collections::HashMap;

use proptest::prelude::*;
use protocall::{EnumValue, Message};
use protocall_tests::protocall::test::everything::{Choice, Nested};
use protocall_tests::protocall::test::{Color, Everything};
use protocall_tests::protocall::test2::Legacy;

fn color() -> impl Strategy<Value = EnumValue<Color>> {
    prop_oneof![
        Just(EnumValue::Known(Color::Unspecified)),
        Just(EnumValue::Known(Color::Red)),
        Just(EnumValue::Known(Color::Blue)),
        any::<i32>().prop_map(EnumValue::from_i32),
    ]
}

fn nested() -> impl Strategy<Value = Nested> {
    (any::<i32>(), ".*").prop_map(|(a, b)| Nested {
        a,
        b,
        ..Default::default()
    })
}

fn choice() -> impl Strategy<Value = Option<Choice>> {
    prop_oneof![
        Just(None),
        ".*".prop_map(|s| Some(Choice::CString(s))),
        any::<i64>().prop_map(|v| Some(Choice::CInt64(v))),
        nested().prop_map(|n| Some(Choice::CNested(Box::new(n)))),
        color().prop_map(|c| Some(Choice::CColor(c))),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|b| Some(Choice::CBytes(b.into()))),
    ]
}

prop_compose! {
    fn scalars()(
        f_int32 in any::<i32>(), f_int64 in any::<i64>(), f_uint32 in any::<u32>(),
        f_uint64 in any::<u64>(), f_sint32 in any::<i32>(), f_sint64 in any::<i64>(),
        f_fixed32 in any::<u32>(), f_fixed64 in any::<u64>(), f_sfixed32 in any::<i32>(),
        f_sfixed64 in any::<i64>(), f_float in -1e30f32..1e30, f_double in -1e300f64..1e300,
        f_bool in any::<bool>(), f_string in ".*",
        f_bytes in proptest::collection::vec(any::<u8>(), 0..16), f_color in color(),
    ) -> Everything {
        Everything {
            f_int32, f_int64, f_uint32, f_uint64, f_sint32, f_sint64, f_fixed32, f_fixed64,
            f_sfixed32, f_sfixed64, f_float, f_double, f_bool, f_string, f_bytes, f_color,
            ..Default::default()
        }
    }
}

prop_compose! {
    fn everything()(
        base in scalars(),
        r_int32 in proptest::collection::vec(any::<i32>(), 0..5),
        r_sint64 in proptest::collection::vec(any::<i64>(), 0..5),
        r_double in proptest::collection::vec(-1e10f64..1e10, 0..5),
        r_string in proptest::collection::vec(".*", 0..3),
        r_color in proptest::collection::vec(color(), 0..4),
        r_nested in proptest::collection::vec(nested(), 0..3),
        r_unpacked in proptest::collection::vec(any::<i32>(), 0..4),
        o_int32 in any::<Option<i32>>(),
        o_string in proptest::option::of(".*"),
        m_int32_string in proptest::collection::hash_map(any::<i32>(), ".*", 0..4),
        m_string_nested in proptest::collection::hash_map(".*", nested(), 0..3),
        m_sint64_bool in proptest::collection::hash_map(any::<i64>(), any::<bool>(), 0..3),
        choice in choice(),
        f_nested in proptest::option::of(nested().prop_map(Box::new)),
    ) -> Everything {
        Everything {
            r_int32, r_sint64, r_double, r_string, r_color, r_nested, r_unpacked, o_int32,
            o_string, m_int32_string, m_string_nested, m_sint64_bool, choice, f_nested,
            ..base
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_messages_round_trip(message in everything()) {
        let bytes = message.encode_to_vec();
        prop_assert_eq!(bytes.len(), message.encoded_len());
        let back = Everything::decode(bytes.as_slice()).unwrap();
        prop_assert_eq!(&back, &message);
        // Nested one level down as well.
        let outer = Everything { child: Some(Box::new(message.clone())), ..Default::default() };
        prop_assert_eq!(Everything::decode(outer.encode_to_vec().as_slice()).unwrap(), outer);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        // Whatever decodes must re-encode to something that decodes equal.
        if let Ok(m) = Everything::decode(bytes.as_slice()) {
            let again = Everything::decode(m.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(again.encoded_len(), m.encoded_len());
        }
        if let Ok(m) = Legacy::decode(bytes.as_slice()) {
            let again = Legacy::decode(m.encode_to_vec().as_slice()).unwrap();
            prop_assert_eq!(again.encoded_len(), m.encoded_len());
        }
        let _ = protocall::types::Value::decode(bytes.as_slice());
        let _ = protocall::types::FileDescriptorSet::decode(bytes.as_slice());
    }

    #[test]
    fn mutated_valid_messages_never_panic(message in everything(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut bytes = message.encode_to_vec();
        if bytes.is_empty() {
            return Ok(());
        }
        for (index, value) in flips {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        let _ = Everything::decode(bytes.as_slice());
        let cut = bytes.len() / 2;
        let _ = Everything::decode(&bytes[..cut]);
    }
}

#[test]
fn map_entries_with_missing_key_or_value_use_defaults() {
    // m_int32_string entry with only a value, and one with only a key.
    let bytes = [
        0x9a, 0x03, 0x03, 0x12, 0x01, b'v', 0x9a, 0x03, 0x02, 0x08, 0x05,
    ];
    let m = Everything::decode(&bytes[..]).unwrap();
    assert_eq!(
        m.m_int32_string,
        HashMap::from([(0, "v".to_string()), (5, String::new())])
    );
}
