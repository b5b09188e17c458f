//! ProtoJSON of the well-known types, which the runtime carries itself.
//! (Messages of every field kind are covered through protobuf's
//! conformance suite, `scripts/conformance.sh`, and `tests/tests/json.rs`.)

use super::{Options, from_str, to_string};
use crate::reflect::ReflectMessage;
use crate::types::value::Kind;
use crate::types::{
    Any, BoolValue, BytesValue, Duration, FieldMask, Int64Value, ListValue, Struct, Timestamp,
    UInt32Value, Value,
};

fn print<M: ReflectMessage>(message: &M) -> String {
    to_string(message, &Options::default()).unwrap()
}

fn parse<M: ReflectMessage>(json: &str) -> Result<M, super::Error> {
    from_str(json, &Options::default())
}

#[test]
fn timestamps_and_durations_print_as_strings() {
    let t = Timestamp::new(1, 20_000_000);
    assert_eq!(print(&t), r#""1970-01-01T00:00:01.020Z""#);
    assert_eq!(
        parse::<Timestamp>(r#""1970-01-01T00:00:01.020Z""#).unwrap(),
        t
    );
    let d = Duration::new(-1, -500_000_000);
    assert_eq!(print(&d), r#""-1.500s""#);
    assert_eq!(parse::<Duration>(r#""-1.5s""#).unwrap(), d);
    let err = parse::<Timestamp>(r#""1970-01-01T00:00:01""#).unwrap_err();
    assert!(err.to_string().contains("RFC 3339"), "{err}");
}

#[test]
fn wrappers_are_bare_values() {
    assert_eq!(
        print(&Int64Value {
            value: -5,
            ..Default::default()
        }),
        r#""-5""#
    );
    assert_eq!(print(&UInt32Value::default()), "0");
    assert_eq!(
        print(&BoolValue {
            value: true,
            ..Default::default()
        }),
        "true"
    );
    let bytes = BytesValue {
        value: b"\xff\x00".to_vec(),
        ..Default::default()
    };
    assert_eq!(print(&bytes), r#""/wA=""#);
    assert_eq!(parse::<BytesValue>(r#""_wA""#).unwrap(), bytes);
    assert_eq!(parse::<Int64Value>("7").unwrap().value, 7);
    assert_eq!(parse::<Int64Value>(r#""7""#).unwrap().value, 7);
}

#[test]
fn struct_and_value_are_plain_json() {
    let json = r#"{"a":[1.5,"x",true,null,{"b":{}}]}"#;
    let parsed: Struct = parse(json).unwrap();
    let list = match &parsed.fields["a"].kind {
        Some(Kind::ListValue(list)) => list,
        other => panic!("{other:?}"),
    };
    assert_eq!(list.values.len(), 5);
    assert_eq!(print(&parsed), json);
    assert_eq!(print(&Value::null()), "null");
    assert_eq!(print(&ListValue::default()), "[]");
    let nan = Value::from(Kind::NumberValue(f64::NAN));
    assert!(to_string(&nan, &Options::default()).is_err());
}

#[test]
fn field_masks_are_comma_separated_camel_case() {
    let mask = FieldMask::new(["user.display_name", "photo"]);
    assert_eq!(print(&mask), r#""user.displayName,photo""#);
    assert_eq!(
        parse::<FieldMask>(r#""user.displayName,photo""#).unwrap(),
        mask
    );
    assert!(to_string(&FieldMask::new(["Bad"]), &Options::default()).is_err());
}

#[test]
fn any_embeds_the_type_it_names() {
    let any = Any::from_msg(&Duration::new(3, 0));
    let json = print(&any);
    assert_eq!(
        json,
        r#"{"@type":"type.googleapis.com/google.protobuf.Duration","value":"3s"}"#
    );
    assert_eq!(parse::<Any>(&json).unwrap(), any);
    // `@type` may come last.
    let nested = Any::from_msg(&any);
    let printed = print(&nested);
    assert_eq!(parse::<Any>(&printed).unwrap(), nested);
    let unknown = r#"{"@type":"type.googleapis.com/no.Such","x":1}"#;
    let err = parse::<Any>(unknown).unwrap_err();
    assert!(err.to_string().contains("no.Such"), "{err}");
}

#[test]
fn errors_name_the_path() {
    let err = parse::<Struct>(r#"{"a":{"b":[1,{"c":nul}]}}"#).unwrap_err();
    assert!(err.to_string().starts_with(r#"["a"]"#), "{err}");
    let err = parse::<Duration>(r#"{"seconds":1}"#).unwrap_err();
    assert!(err.to_string().contains("expected a string"), "{err}");
}

#[test]
fn serde_sees_the_same_json() {
    let t = Timestamp::new(0, 0);
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        r#""1970-01-01T00:00:00Z""#
    );
    let back: Timestamp = serde_json::from_str(r#""1970-01-01T00:00:00Z""#).unwrap();
    assert_eq!(back, t);
    let value: Value = serde_json::from_str(r#"{"k":[1,2]}"#).unwrap();
    assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"k":[1.0,2.0]}"#);
}
