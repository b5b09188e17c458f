//! `Debug` of generated messages: every field, as `#[derive(Debug)]` prints
//! them, and the unknown-fields member only when it holds something.

use protocall::Message;
use protocall_tests::protocall::test::{EverythingSubset, Result as Plain};

#[test]
fn debug_leaves_out_empty_unknown_fields() {
    let message = EverythingSubset {
        f_int32: 7,
        f_string: "seven".into(),
        ..Default::default()
    };
    assert_eq!(
        format!("{message:?}"),
        r#"EverythingSubset { f_int32: 7, f_string: "seven" }"#
    );
    let pretty = format!("{message:#?}");
    assert!(!pretty.contains("_unknown_fields"), "{pretty}");
    assert_eq!(
        format!("{:?}", EverythingSubset::default()),
        r#"EverythingSubset { f_int32: 0, f_string: "" }"#
    );
}

#[test]
fn debug_shows_unknown_fields_when_there_are_some() {
    // f_int32 = 7, then field 1000 (varint 5), which the schema lacks.
    let bytes = [0x08, 0x07, 0xc0, 0x3e, 0x05];
    let message = EverythingSubset::decode(&bytes[..]).unwrap();
    assert!(!message._unknown_fields.is_empty());
    let debug = format!("{message:?}");
    assert_eq!(
        debug,
        format!(
            r#"EverythingSubset {{ f_int32: 7, f_string: "", _unknown_fields: {:?} }}"#,
            message._unknown_fields
        )
    );
    assert!(debug.contains("1000"), "{debug}");
}

#[test]
fn messages_without_unknown_fields_keep_the_derived_debug() {
    // `Result` is generated with discard_unknown_fields: no member at all.
    assert_eq!(format!("{:?}", Plain { ok: 1 }), "Result { ok: 1 }");
}
