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
    // declared default is unset, and the owned getter reads the default.
    let empty = LegacyView::decode(&[]).unwrap();
    assert_eq!(empty.code, None);
    assert_eq!(empty.to_owned().code(), "abc");
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
