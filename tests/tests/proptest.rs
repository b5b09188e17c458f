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

/// Every option combination of printing.
fn print_options() -> Vec<protocall::json::Options> {
    let mut all = Vec::new();
    for bits in 0..8u8 {
        all.push(
            protocall::json::Options::new()
                .emit_unpopulated(bits & 1 != 0)
                .enums_as_ints(bits & 2 != 0)
                .proto_field_names(bits & 4 != 0),
        );
    }
    all
}

/// Generated messages print JSON from their fields; the same JSON must come
/// from the descriptor walk of their binary encoding (what dynamic messages
/// use), under every option.
fn prints_as_its_encoding<M: protocall::reflect::ReflectMessage>(
    message: &M,
) -> Result<(), TestCaseError> {
    use protocall::json;
    let descriptor = M::descriptor();
    let binary = message.encode_to_vec();
    for options in print_options() {
        let direct = json::to_vec(message, &options);
        let walked = json::binary_to_json(&descriptor, &binary, &options);
        match (direct, walked) {
            (Ok(direct), Ok(walked)) => {
                let direct: serde_json::Value = serde_json::from_slice(&direct).unwrap();
                let walked: serde_json::Value = serde_json::from_slice(&walked).unwrap();
                prop_assert_eq!(direct, walked, "{:?}", options);
            }
            (Err(_), Err(_)) => {}
            (direct, walked) => {
                prop_assert!(
                    false,
                    "{:?}: printed {:?}, walked {:?}",
                    options,
                    direct,
                    walked
                )
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn json_from_fields_is_json_from_the_encoding(message in everything()) {
        prints_as_its_encoding(&message)?;
        let outer = Everything { child: Some(Box::new(message)), ..Default::default() };
        prints_as_its_encoding(&outer)?;
    }

    #[test]
    fn json_from_fields_of_decoded_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        // Unknown fields, closed enums' unknown values, groups, NaN floats.
        if let Ok(m) = Legacy::decode(bytes.as_slice()) {
            prints_as_its_encoding(&m)?;
        }
        if let Ok(m) = Everything::decode(bytes.as_slice()) {
            prints_as_its_encoding(&m)?;
        }
    }
}

#[test]
fn a_packed_record_for_a_singular_field_stays_unknown_in_json() {
    // Everything.f_sint32 (5) as a length-delimited run of varints: the
    // generated decoder keeps it as an unknown field; the descriptor walk
    // of the encoding used to read it as the field's value (found by
    // `json_from_fields_of_decoded_bytes`).
    let bytes = [0x2a, 0x02, 0x2f, 0x2f];
    let message = Everything::decode(&bytes[..]).unwrap();
    assert_eq!(message.f_sint32, 0);
    prints_as_its_encoding(&message).unwrap();
    let json = protocall::json::to_string(&message, &Default::default()).unwrap();
    assert_eq!(json, "{}");
}

#[test]
fn closed_enum_values_the_enum_does_not_name_stay_unknown_in_json_and_text() {
    // Legacy.sizes (11) = 0, Legacy.packed_sizes (12) = packed [2, 65],
    // Legacy.size (9) = 4, Legacy.level_map (18) = {"k": 9}: Size and
    // Level are closed and name none of 0, 65, 4 or 9. Generated code keeps
    // those as unknown fields; the descriptor walk used to print them
    // (found by `json_from_fields_of_decoded_bytes`).
    let bytes = [
        0x58, 0x00, 0x62, 0x02, 0x02, 0x41, 0x48, 0x04, 0x92, 0x01, 0x05, 0x0a, 0x01, b'k', 0x10,
        0x09,
    ];
    let message = Legacy::decode(&bytes[..]).unwrap();
    assert!(message.sizes.is_empty());
    assert_eq!(message.packed_sizes.len(), 1);
    assert!(message.level_map.is_empty());
    prints_as_its_encoding(&message).unwrap();
    let json = protocall::json::to_string(&message, &Default::default()).unwrap();
    assert_eq!(json, r#"{"packedSizes":["SIZE_MEDIUM"]}"#);
    let options = protocall::text::Options::new().print_unknown_fields(true);
    let text = protocall::text::to_string_with(&message, &options);
    for line in ["packed_sizes: SIZE_MEDIUM", "9: 4", "11: 0", "12: 65"] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
    assert!(!text.contains("level_map"), "{text}");
}

#[test]
fn an_any_of_the_well_known_pool_holds_a_message_of_another_pool() {
    use protocall::reflect::ReflectMessage;
    use protocall::types::Any;
    // Registers the test schema's pool, where `Any` (the runtime's) finds it.
    let _ = Everything::descriptor();
    let inner = Everything {
        f_int32: 7,
        f_string: "x".into(),
        r_nested: vec![Nested {
            a: 1,
            ..Default::default()
        }],
        ..Default::default()
    };
    let any = Any {
        type_url: format!("type.googleapis.com/{}", <Everything as Message>::FULL_NAME),
        value: inner.encode_to_vec(),
        ..Default::default()
    };
    let options = protocall::json::Options::default();
    let json = protocall::json::to_string(&any, &options).unwrap();
    assert_eq!(
        json,
        r#"{"@type":"type.googleapis.com/protocall.test.Everything","fInt32":7,"fString":"x","rNested":[{"a":1}]}"#
    );
    let back: Any = protocall::json::from_str(&json, &options).unwrap();
    assert_eq!(Everything::decode(back.value.as_slice()).unwrap(), inner);
    let text = protocall::text::to_string(&any);
    assert!(
        text.contains("[type.googleapis.com/protocall.test.Everything]"),
        "{text}"
    );
    let back: Any = protocall::text::from_str(&text).unwrap();
    assert_eq!(
        Everything::decode(back.value.as_slice()).unwrap(),
        inner,
        "{text}"
    );
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
