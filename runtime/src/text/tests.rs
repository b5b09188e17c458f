//! Text format of the runtime's own types. (Every field kind is covered by
//! protobuf's conformance suite, `scripts/conformance.sh`.)

use super::{Options, from_str, to_string, to_string_with};
use crate::types::{Any, BytesValue, Duration, FieldMask, StringValue, Struct, Value};

#[test]
fn strings_escape_what_is_not_printable() {
    let value = BytesValue {
        value: b"a\"\\\n\x01\xff\xe2\x82\xac".to_vec(),
        ..Default::default()
    };
    let printed = to_string(&value);
    assert_eq!(printed, "value: \"a\\\"\\\\\\n\\001\\377\u{20ac}\"\n");
    assert_eq!(from_str::<BytesValue>(&printed).unwrap(), value);
}

#[test]
fn parsing_takes_what_protobuf_takes() {
    let text = "# a comment\nvalue: 'it''s' \"\\x41\\101\\u00e9\" ;";
    let parsed: StringValue = from_str(text).unwrap();
    assert_eq!(parsed.value, "itsAAé");
    let mask: FieldMask = from_str("paths: [\"a\", \"b\"] paths: \"c\"").unwrap();
    assert_eq!(mask.paths, ["a", "b", "c"]);
    let d: Duration = from_str("seconds: -0x10 nanos: 010").unwrap();
    assert_eq!((d.seconds, d.nanos), (-16, 8));
}

#[test]
fn maps_print_as_entries_and_nest() {
    let s: Struct = crate::json::from_str(r#"{"k":{"n":[1,"x"]}}"#, &Default::default()).unwrap();
    let printed = to_string_with(&s, &Options::new().single_line(true));
    assert_eq!(
        printed,
        "fields { key: \"k\" value { struct_value { fields { key: \"n\" value { list_value { values { number_value: 1.0 } values { string_value: \"x\" } } } } } } }"
    );
    assert_eq!(from_str::<Struct>(&printed).unwrap(), s);
    assert_eq!(
        from_str::<Value>("null_value: NULL_VALUE").unwrap(),
        Value::null()
    );
}

#[test]
fn any_expands_known_types() {
    let any = Any::from_msg(&Duration::new(1, 5));
    let printed = to_string_with(&any, &Options::new().single_line(true));
    assert_eq!(
        printed,
        "[type.googleapis.com/google.protobuf.Duration] { seconds: 1 nanos: 5 }"
    );
    assert_eq!(from_str::<Any>(&printed).unwrap(), any);
    let unknown = Any {
        type_url: "type.googleapis.com/no.Such".into(),
        value: vec![8, 1],
        ..Default::default()
    };
    assert_eq!(
        to_string_with(&unknown, &Options::new().single_line(true)),
        "type_url: \"type.googleapis.com/no.Such\" value: \"\\010\\001\""
    );
}

#[test]
fn errors_point_at_the_place() {
    for (text, want) in [
        (
            "seconds: 1 seconds: 2",
            "1:12: field `seconds` is given twice",
        ),
        (
            "secs: 1",
            "1:1: google.protobuf.Duration has no field named `secs`",
        ),
        ("seconds: 99999999999999999999", "1:10: expected an integer"),
        ("nanos: 3000000000", "1:8: 3000000000 is out of range"),
        ("seconds: \"x", "1:10: a string is not closed"),
    ] {
        let err = from_str::<Duration>(text).unwrap_err();
        assert!(err.to_string().starts_with(want), "{text}: {err}");
    }
}

#[test]
fn unknown_fields_print_by_number_when_asked() {
    let mut d = Duration::new(1, 0);
    d._unknown_fields
        .push_raw(9, crate::wire::WireType::Varint, &[5]);
    assert_eq!(
        to_string_with(&d, &Options::new().single_line(true)),
        "seconds: 1"
    );
    let all = Options::new().single_line(true).print_unknown_fields(true);
    assert_eq!(to_string_with(&d, &all), "seconds: 1 9: 5");
}
