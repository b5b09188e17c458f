//! Cross-implementation tests against Python's official `protobuf` package.
//!
//! `tests/python/protobuf_peer.py` builds messages in Python (`build CASE
//! OUT`) and checks bytes written by Rust (`check CASE IN`). Each case there
//! has a twin here, written out value by value, so both directions assert
//! exact values. The interpreter comes from `PROTOCALL_PYTHON`, else the
//! venv `target/py` that `scripts/setup-peers.sh` creates, else `python3`.
//! Without Python, `protobuf` or `grpcio-tools` the tests skip, except with
//! `CI=true`, where they fail.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use protocall::bytes::Bytes;
use protocall::types::{self as wkt, value::Kind};
use protocall::{EnumValue, Enumeration, Message, UnknownField, UnknownValue};
use protocall_tests::protocall::test::everything::{Choice, Nested};
use protocall_tests::protocall::test::{Color, Everything, EverythingSubset};
use protocall_tests::protocall::test2::legacy::{Entry, Pick, Settings};
use protocall_tests::protocall::test2::{Aliased, Legacy, Level, Size};

// ------------------------------------------------------------------ the peer

#[path = "support/protobuf_peer.rs"]
#[macro_use]
mod protobuf_peer;

use protobuf_peer::{Peer, hex};

fn decode<M: Message>(bytes: &[u8], what: &str) -> M {
    M::decode(bytes).unwrap_or_else(|e| {
        panic!(
            "Rust cannot decode Python's {what}: {e}\nbytes: {}",
            hex(bytes)
        )
    })
}

fn encode<M: Message>(message: &M) -> Vec<u8> {
    let bytes = message.encode_to_vec();
    assert_eq!(
        bytes.len(),
        message.encoded_len(),
        "encoded_len disagrees with encode for {message:?}"
    );
    bytes
}

/// `bytes` parsed as `google.protobuf.Empty`: every top-level record of it
/// lands, in order, in the unknown fields.
fn raw(bytes: &[u8]) -> wkt::Empty {
    decode(bytes, "bytes (as Empty)")
}

/// The field numbers of the top-level records of `bytes`, in order.
fn numbers(bytes: &[u8]) -> Vec<u32> {
    raw(bytes)
        ._unknown_fields
        .iter()
        .map(|f| f.number)
        .collect()
}

/// Wire shape of field `number` in `bytes`: "V" per varint record, "L" per
/// length-delimited one, "4"/"8" per fixed32/fixed64, "G" per group.
fn shape(bytes: &[u8], number: u32) -> String {
    raw(bytes)
        ._unknown_fields
        .iter()
        .filter(|f| f.number == number)
        .map(|f| match f.value {
            UnknownValue::Varint(_) => 'V',
            UnknownValue::Fixed64(_) => '8',
            UnknownValue::Fixed32(_) => '4',
            UnknownValue::LengthDelimited(_) => 'L',
            UnknownValue::Group(_) => 'G',
        })
        .collect()
}

// ------------------------------------------------------ comparing messages

/// The names of the fields of `got` and `want` that differ, with both values.
macro_rules! field_diffs {
    ($got:expr, $want:expr; $($field:ident),+ $(,)?) => {{
        let mut diffs = Vec::new();
        $(
            if $got.$field != $want.$field {
                diffs.push(format!(
                    "{}:\n    got:  {:?}\n    want: {:?}",
                    stringify!($field), $got.$field, $want.$field
                ));
            }
        )+
        diffs
    }};
}

/// Bit patterns of every float in `e` (and its children), since `==` says
/// -0.0 == 0.0.
fn float_bits(e: &Everything, path: &str, out: &mut Vec<String>) {
    out.push(format!("{path}.f_float={:08x}", e.f_float.to_bits()));
    out.push(format!("{path}.f_double={:016x}", e.f_double.to_bits()));
    out.push(format!(
        "{path}.o_double={:?}",
        e.o_double.map(f64::to_bits)
    ));
    out.push(format!(
        "{path}.r_float={:08x?}",
        e.r_float.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
    ));
    out.push(format!(
        "{path}.r_double={:016x?}",
        e.r_double.iter().map(|f| f.to_bits()).collect::<Vec<_>>()
    ));
    let doubles: BTreeMap<_, _> = e
        .m_uint64_double
        .iter()
        .map(|(k, v)| (k, v.to_bits()))
        .collect();
    out.push(format!("{path}.m_uint64_double={doubles:016x?}"));
    let floats: BTreeMap<_, _> = e
        .m_sint32_float
        .iter()
        .map(|(k, v)| (k, v.to_bits()))
        .collect();
    out.push(format!("{path}.m_sint32_float={floats:08x?}"));
    if let Some(child) = &e.child {
        float_bits(child, &format!("{path}.child"), out);
    }
    for (i, child) in e.children.iter().enumerate() {
        float_bits(child, &format!("{path}.children[{i}]"), out);
    }
    if let Some(back) = e.f_nested.as_ref().and_then(|n| n.back.as_ref()) {
        float_bits(back, &format!("{path}.f_nested.back"), out);
    }
}

fn assert_everything_eq(got: &Everything, want: &Everything, context: &str) {
    let diffs = field_diffs!(got, want;
        f_int32, f_int64, f_uint32, f_uint64, f_sint32, f_sint64, f_fixed32, f_fixed64,
        f_sfixed32, f_sfixed64, f_float, f_double, f_bool, f_string, f_bytes, f_color, f_nested,
        r_int32, r_int64, r_uint32, r_uint64, r_sint32, r_sint64, r_fixed32, r_fixed64,
        r_sfixed32, r_sfixed64, r_float, r_double, r_bool, r_string, r_bytes, r_color, r_nested,
        r_unpacked, o_int32, o_string, o_color, o_bytes, o_double,
        m_int32_string, m_int64_int64, m_uint32_bytes, m_uint64_double, m_sint32_float,
        m_sint64_bool, m_fixed32_color, m_fixed64_nested, m_sfixed32_uint32, m_sfixed64_sint64,
        m_bool_string, m_string_nested, choice,
        wk_timestamp, wk_duration, wk_any, wk_struct, wk_int32, wk_string,
        child, children, _unknown_fields,
    );
    assert!(
        diffs.is_empty(),
        "{context}: Everything differs in {} field(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(got, want, "{context}");
    let (mut got_bits, mut want_bits) = (Vec::new(), Vec::new());
    float_bits(got, "", &mut got_bits);
    float_bits(want, "", &mut want_bits);
    assert_eq!(
        got_bits, want_bits,
        "{context}: float bit patterns differ (e.g. -0.0 versus 0.0)"
    );
}

#[allow(deprecated)]
fn assert_legacy_eq(got: &Legacy, want: &Legacy, context: &str) {
    let diffs = field_diffs!(got, want;
        id, code, count, label, blob, ratio, scale, flag, size, plain_size, sizes, packed_sizes,
        numbers, packed_numbers, big, neg, aliased, level_map, settings, entry, child, pick,
        required_size, old, _unknown_fields,
    );
    assert!(
        diffs.is_empty(),
        "{context}: Legacy differs in {} field(s):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    assert_eq!(got, want, "{context}");
    assert_eq!(
        got.scale.map(f32::to_bits),
        want.scale.map(f32::to_bits),
        "{context}: scale bits"
    );
    assert_eq!(
        got.ratio.map(f64::to_bits),
        want.ratio.map(f64::to_bits),
        "{context}: ratio bits"
    );
}

/// Python-built `case` decodes in Rust to `want`; Rust's re-encoding of it,
/// and Rust's encoding of `want`, both parse in Python back to `case`.
fn everything_both_ways(peer: &Peer, case: &str, want: &Everything) -> Vec<u8> {
    let python = peer.build(case);
    let got: Everything = decode(&python, case);
    assert_everything_eq(&got, want, &format!("Python-built {case} decoded by Rust"));
    peer.check(case, &encode(&got));
    peer.check(case, &encode(want));
    python
}

fn legacy_both_ways(peer: &Peer, case: &str, want: &Legacy) -> Vec<u8> {
    let python = peer.build(case);
    let got: Legacy = decode(&python, case);
    assert_legacy_eq(&got, want, &format!("Python-built {case} decoded by Rust"));
    peer.check(case, &encode(&got));
    peer.check(case, &encode(want));
    python
}

// ------------------------------------------------------- expected values

fn nested(a: i32, b: &str, back: Option<Everything>) -> Nested {
    Nested {
        a,
        b: b.into(),
        back: back.map(Box::new),
        ..Default::default()
    }
}

fn value(kind: Kind) -> wkt::Value {
    wkt::Value {
        kind: Some(kind),
        ..Default::default()
    }
}

fn null() -> wkt::Value {
    value(Kind::NullValue(wkt::NullValue::NullValue.into()))
}

fn object(fields: Vec<(&str, wkt::Value)>) -> wkt::Struct {
    wkt::Struct {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        ..Default::default()
    }
}

fn list(values: Vec<wkt::Value>) -> wkt::Value {
    value(Kind::ListValue(wkt::ListValue {
        values,
        ..Default::default()
    }))
}

fn s(text: &str) -> String {
    text.to_string()
}

/// Twin of `fill_everything_full` in protobuf_peer.py.
fn everything_full() -> Everything {
    Everything {
        f_int32: -123456,
        f_int64: i64::MIN,
        f_uint32: u32::MAX,
        f_uint64: u64::MAX,
        f_sint32: i32::MIN,
        f_sint64: i64::MAX,
        f_fixed32: u32::MAX,
        f_fixed64: u64::MAX,
        f_sfixed32: i32::MIN,
        f_sfixed64: i64::MIN + 1,
        f_float: -f32::MAX,
        f_double: -0.0,
        f_bool: true,
        f_string: s("h\u{e9}llo w\u{f6}rld \u{2713} \u{1f680} \0 end"),
        f_bytes: vec![0x00, 0x01, 0xfe, 0xff],
        f_color: EnumValue::Unknown(99),
        f_nested: Some(Box::new(nested(
            -1,
            "nested",
            Some(Everything {
                f_int32: 7,
                f_string: s("back"),
                f_nested: Some(Box::new(nested(8, "", None))),
                ..Default::default()
            }),
        ))),
        r_int32: vec![0, -1, i32::MAX, i32::MIN, 1],
        r_int64: vec![-1, i64::MIN, i64::MAX, 0],
        r_uint32: vec![0, 1, u32::MAX],
        r_uint64: vec![u64::MAX, 0, 1 << 63],
        r_sint32: vec![-1, 1, i32::MIN, i32::MAX, 0],
        r_sint64: vec![i64::MIN, i64::MAX, -1],
        r_fixed32: vec![0, u32::MAX, 12345],
        r_fixed64: vec![u64::MAX, 0],
        r_sfixed32: vec![i32::MIN, -1, i32::MAX],
        r_sfixed64: vec![i64::MIN, i64::MAX],
        r_float: vec![
            0.0,
            -0.0,
            1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::from_bits(1),
        ],
        r_double: vec![-0.0, f64::from_bits(1), f64::MAX, f64::NEG_INFINITY, 0.1],
        r_bool: vec![true, false, true],
        r_string: vec![s(""), s("a"), s("\u{65e5}\u{672c}\u{8a9e}"), s("\u{1f680}")],
        r_bytes: vec![
            Bytes::new(),
            Bytes::from_static(b"\x00"),
            Bytes::from_static(b"\xff\xfe"),
        ],
        r_color: vec![
            Color::Red.into(),
            Color::Blue.into(),
            EnumValue::Unknown(99),
            Color::Unspecified.into(),
            EnumValue::Unknown(-100),
        ],
        r_nested: vec![
            nested(1, "", None),
            nested(0, "", None),
            nested(
                0,
                "x",
                Some(Everything {
                    r_int32: vec![1, 2],
                    ..Default::default()
                }),
            ),
        ],
        r_unpacked: vec![-5, 0, 5, 300],
        o_int32: Some(-1),
        o_string: Some(s("opt")),
        o_color: Some(Color::Blue.into()),
        o_bytes: Some(vec![0]),
        o_double: Some(2.5),
        m_int32_string: HashMap::from([
            (-1, s("minus one")),
            (0, s("")),
            (i32::MAX, s("max \u{2713}")),
        ]),
        m_int64_int64: HashMap::from([(i64::MIN, i64::MAX), (0, -1), (5, 0)]),
        m_uint32_bytes: HashMap::from([
            (0, vec![]),
            (1, vec![0x00, 0xff]),
            (u32::MAX, b"max".to_vec()),
        ]),
        m_uint64_double: HashMap::from([(u64::MAX, -0.0), (0, 1.5), (7, f64::NEG_INFINITY)]),
        m_sint32_float: HashMap::from([(i32::MIN, 1.5), (-1, -2.5), (0, 0.0)]),
        m_sint64_bool: HashMap::from([(i64::MIN, true), (i64::MAX, false), (-1, true)]),
        m_fixed32_color: HashMap::from([
            (0, Color::Red.into()),
            (1, EnumValue::Unknown(99)),
            (u32::MAX, Color::Blue.into()),
            (5, Color::Unspecified.into()),
        ]),
        m_fixed64_nested: HashMap::from([
            (u64::MAX, nested(1, "one", None)),
            (0, nested(0, "", None)),
            (
                9,
                nested(
                    0,
                    "",
                    Some(Everything {
                        f_bool: true,
                        ..Default::default()
                    }),
                ),
            ),
        ]),
        m_sfixed32_uint32: HashMap::from([(i32::MIN, u32::MAX), (-1, 0), (1, 1)]),
        m_sfixed64_sint64: HashMap::from([(i64::MIN, i64::MIN), (i64::MAX, -1)]),
        m_bool_string: BTreeMap::from([(true, s("yes")), (false, s("no"))]),
        m_string_nested: HashMap::from([
            (s(""), nested(-1, "", None)),
            (
                s("\u{43a}\u{43b}\u{44e}\u{447}"),
                nested(
                    0,
                    "\u{437}\u{43d}\u{430}\u{447}\u{435}\u{43d}\u{438}\u{435}",
                    None,
                ),
            ),
            (s("\u{1f680}"), nested(0, "", None)),
        ]),
        choice: Some(Choice::CNested(Box::new(nested(
            42,
            "chosen",
            Some(Everything {
                choice: Some(Choice::CString(s("inner"))),
                ..Default::default()
            }),
        )))),
        wk_timestamp: Some(wkt::Timestamp {
            seconds: -62135596800,
            nanos: 999999999,
            ..Default::default()
        }),
        wk_duration: Some(wkt::Duration {
            seconds: -315576000000,
            nanos: -999999999,
            ..Default::default()
        }),
        wk_any: Some(wkt::Any {
            type_url: s("type.googleapis.com/protocall.test.Everything.Nested"),
            value: b"\x08\x05\x12\x03any".to_vec(),
            ..Default::default()
        }),
        wk_struct: Some(object(vec![
            ("null", null()),
            ("num", value(Kind::NumberValue(-1.5))),
            ("str", value(Kind::StringValue(s("s")))),
            ("bool", value(Kind::BoolValue(true))),
            (
                "list",
                list(vec![
                    value(Kind::NumberValue(1.0)),
                    value(Kind::StringValue(s("two"))),
                    null(),
                    value(Kind::StructValue(object(vec![(
                        "k",
                        value(Kind::BoolValue(false)),
                    )]))),
                ]),
            ),
            (
                "obj",
                value(Kind::StructValue(object(vec![("inner", list(vec![]))]))),
            ),
        ])),
        wk_int32: Some(wkt::Int32Value {
            value: -7,
            ..Default::default()
        }),
        wk_string: Some(wkt::StringValue {
            value: s("wrapped \u{2713}"),
            ..Default::default()
        }),
        child: Some(Box::new(Everything {
            f_int32: 1,
            child: Some(Box::new(Everything {
                f_int32: 2,
                child: Some(Box::new(Everything {
                    f_string: s("deepest"),
                    r_color: vec![EnumValue::Unknown(99)],
                    ..Default::default()
                })),
                ..Default::default()
            })),
            ..Default::default()
        })),
        children: vec![
            Everything {
                f_sint64: -1,
                ..Default::default()
            },
            Everything {
                children: vec![Everything {
                    f_bool: true,
                    ..Default::default()
                }],
                ..Default::default()
            },
            Everything::default(),
        ],
        _unknown_fields: Default::default(),
    }
}

/// Twin of `fill_repeated_scalars`.
fn repeated_scalars() -> Everything {
    Everything {
        r_int32: vec![-1, 2],
        r_int64: vec![i64::MIN, 3],
        r_uint32: vec![u32::MAX],
        r_uint64: vec![u64::MAX, 4],
        r_sint32: vec![i32::MIN, 5],
        r_sint64: vec![i64::MAX, -6],
        r_fixed32: vec![7, u32::MAX],
        r_fixed64: vec![8],
        r_sfixed32: vec![-9],
        r_sfixed64: vec![-10, i64::MAX],
        r_float: vec![1.25, -0.0],
        r_double: vec![-2.5, f64::INFINITY],
        r_bool: vec![false, true, true],
        r_color: vec![
            Color::Green.into(),
            EnumValue::Unknown(99),
            Color::Blue.into(),
        ],
        r_unpacked: vec![11, -12, 0],
        ..Default::default()
    }
}

fn doubled<T: Clone>(v: &[T]) -> Vec<T> {
    [v, v].concat()
}

/// Twin of `fill_legacy_full`.
#[allow(deprecated)]
fn legacy_full() -> Legacy {
    Legacy {
        id: Some(-1),
        code: Some(s("\u{df}code")),
        count: Some(-7),
        label: Some(s("label \u{2713}")),
        blob: Some(b"\x00\xffblob".to_vec()),
        ratio: Some(2.5e-300),
        scale: Some(-0.25),
        flag: Some(false),
        size: Some(Size::Small),
        plain_size: Some(Size::Large),
        sizes: vec![Size::Large, Size::Small, Size::Medium],
        packed_sizes: vec![Size::Medium, Size::Medium, Size::Large],
        numbers: vec![0, -1, i32::MAX],
        packed_numbers: vec![i32::MIN, 1, 300],
        big: Some(0),
        neg: Some(i32::MIN),
        aliased: Some(Aliased::Two),
        level_map: HashMap::from([
            (s("a"), Level::One),
            (s(""), Level::Two),
            (s("\u{fc}"), Level::Zero),
        ]),
        settings: Some(Settings {
            level: Some(-3),
            name: Some(s("cfg")),
            ..Default::default()
        }),
        entry: vec![
            Entry {
                key: Some(1),
                nested: Some(Legacy {
                    id: Some(2),
                    code: Some(s("n")),
                    required_size: Some(Size::Small),
                    settings: Some(Settings {
                        level: Some(9),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            Entry {
                key: Some(2),
                ..Default::default()
            },
            Entry::default(),
        ],
        child: Some(Box::new(Legacy {
            id: Some(3),
            code: Some(s("child")),
            required_size: Some(Size::Medium),
            entry: vec![Entry {
                key: Some(7),
                ..Default::default()
            }],
            child: Some(Box::new(Legacy {
                id: Some(4),
                code: Some(s("grandchild")),
                required_size: Some(Size::Large),
                ..Default::default()
            })),
            ..Default::default()
        })),
        pick: Some(Pick::PickString(s("pick"))),
        required_size: Some(Size::Small),
        old: Some(61),
        _unknown_fields: Default::default(),
    }
}

// ------------------------------------------------------------------- proto3

#[test]
fn everything_python_to_rust() {
    let peer = peer!();
    let python = peer.build("everything_full");
    let got: Everything = decode(&python, "everything_full");
    assert_everything_eq(
        &got,
        &everything_full(),
        "Python-built everything_full decoded by Rust",
    );
    // Spot checks that do not lean on the twin being right.
    assert_eq!(got.f_color, EnumValue::<Color>::Unknown(99));
    assert_eq!(got.f_double.to_bits(), (-0.0f64).to_bits());
    assert_eq!(got.r_color[1], Color::Blue);
    assert_eq!(got.child().child().child().f_string, "deepest");
    assert!(
        matches!(&got.choice, Some(Choice::CNested(n)) if n.a == 42 && n.back().choice == Some(Choice::CString(s("inner"))))
    );
    // Decoding Python's bytes and encoding again loses nothing.
    peer.check("everything_full", &encode(&got));
}

#[test]
fn everything_rust_to_python() {
    let peer = peer!();
    peer.check("everything_full", &encode(&everything_full()));
}

#[test]
fn empty_message_is_empty_both_ways() {
    let peer = peer!();
    let python = everything_both_ways(&peer, "empty", &Everything::default());
    assert!(
        python.is_empty(),
        "Python wrote {} for an empty Everything",
        hex(&python)
    );
    assert!(encode(&Everything::default()).is_empty());
}

#[test]
fn proto3_optional_and_empty_messages_keep_presence() {
    let peer = peer!();
    let want = Everything {
        o_int32: Some(0),
        o_string: Some(s("")),
        o_color: Some(Color::Unspecified.into()),
        o_bytes: Some(vec![]),
        o_double: Some(0.0),
        f_nested: Some(Box::default()),
        wk_int32: Some(wkt::Int32Value::default()),
        wk_string: Some(wkt::StringValue::default()),
        wk_timestamp: Some(wkt::Timestamp::default()),
        child: Some(Box::default()),
        children: vec![Everything::default()],
        r_nested: vec![Nested::default()],
        ..Default::default()
    };
    everything_both_ways(&peer, "optional_zero", &want);
    // Each present field is on the wire: 5 optionals, 4 empty messages, 2
    // empty repeated elements.
    let mut sorted = numbers(&encode(&want));
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [17, 37, 41, 42, 43, 44, 45, 81, 85, 86, 90, 91],
        "fields Rust wrote"
    );
}

macro_rules! oneof_test {
    ($name:ident, $case:literal, $choice:expr) => {
        #[test]
        fn $name() {
            let peer = peer!();
            let want = Everything {
                choice: Some($choice),
                ..Default::default()
            };
            let python = everything_both_ways(&peer, $case, &want);
            // A member set to its default value is still set, and written.
            assert_eq!(numbers(&python).len(), 1, "Python wrote {}", hex(&python));
            assert_eq!(
                numbers(&encode(&want)).len(),
                1,
                "Rust wrote {}",
                hex(&encode(&want))
            );
        }
    };
}

oneof_test!(
    oneof_string,
    "oneof_c_string",
    Choice::CString(s("\u{fc}n\u{ef}c\u{f6}d\u{e9} \u{1f680}"))
);
oneof_test!(
    oneof_string_empty,
    "oneof_c_string_empty",
    Choice::CString(s(""))
);
oneof_test!(oneof_int64, "oneof_c_int64", Choice::CInt64(i64::MIN));
oneof_test!(oneof_int64_zero, "oneof_c_int64_zero", Choice::CInt64(0));
oneof_test!(
    oneof_nested,
    "oneof_c_nested",
    Choice::CNested(Box::new(nested(
        -5,
        "n",
        Some(Everything {
            choice: Some(Choice::CInt64(1)),
            ..Default::default()
        })
    )))
);
oneof_test!(
    oneof_nested_empty,
    "oneof_c_nested_empty",
    Choice::CNested(Box::default())
);
oneof_test!(
    oneof_color_negative,
    "oneof_c_color_blue",
    Choice::CColor(Color::Blue.into())
);
oneof_test!(
    oneof_color_unknown,
    "oneof_c_color_unknown",
    Choice::CColor(EnumValue::Unknown(99))
);
oneof_test!(
    oneof_color_zero,
    "oneof_c_color_zero",
    Choice::CColor(Color::Unspecified.into())
);
oneof_test!(
    oneof_bytes,
    "oneof_c_bytes",
    Choice::CBytes(Bytes::from_static(b"\x00\xff\x80"))
);
oneof_test!(
    oneof_bytes_empty,
    "oneof_c_bytes_empty",
    Choice::CBytes(Bytes::new())
);

// ------------------------------------------------------------ packed/unpacked

#[test]
fn proto3_packed_and_unpacked_both_accepted() {
    let peer = peer!();
    let want = repeated_scalars();
    let packed = everything_both_ways(&peer, "repeated_scalars", &want);
    let unpacked = everything_both_ways(&peer, "repeated_scalars_flipped", &want);

    // The encodings really differ: one record per packed field, one per
    // element unpacked (and the other way round for r_unpacked).
    assert_eq!(shape(&packed, 21), "L");
    assert_eq!(shape(&unpacked, 21), "VV");
    assert_eq!(shape(&packed, 31), "L");
    assert_eq!(shape(&unpacked, 31), "44");
    assert_eq!(shape(&packed, 36), "L");
    assert_eq!(shape(&unpacked, 36), "VVV");
    assert_eq!(shape(&packed, 38), "VVV");
    assert_eq!(shape(&unpacked, 38), "L");
    // Rust writes what the schema says.
    let rust = encode(&want);
    assert_eq!((shape(&rust, 21), shape(&rust, 38)), (s("L"), s("VVV")));

    // Both encodings of one field in one message: the elements add up.
    let mixed: Everything = decode(
        &[packed.as_slice(), unpacked.as_slice()].concat(),
        "packed ++ unpacked",
    );
    let twice = Everything {
        r_int32: doubled(&want.r_int32),
        r_int64: doubled(&want.r_int64),
        r_uint32: doubled(&want.r_uint32),
        r_uint64: doubled(&want.r_uint64),
        r_sint32: doubled(&want.r_sint32),
        r_sint64: doubled(&want.r_sint64),
        r_fixed32: doubled(&want.r_fixed32),
        r_fixed64: doubled(&want.r_fixed64),
        r_sfixed32: doubled(&want.r_sfixed32),
        r_sfixed64: doubled(&want.r_sfixed64),
        r_float: doubled(&want.r_float),
        r_double: doubled(&want.r_double),
        r_bool: doubled(&want.r_bool),
        r_color: doubled(&want.r_color),
        r_unpacked: doubled(&want.r_unpacked),
        ..Default::default()
    };
    assert_everything_eq(&mixed, &twice, "packed ++ unpacked decoded by Rust");
    peer.check("repeated_scalars_doubled", &encode(&mixed));
}

#[test]
fn proto3_full_message_with_flipped_packing() {
    let peer = peer!();
    let python = peer.build("everything_full_flipped");
    assert_eq!(
        shape(&python, 22),
        "VVVV",
        "Python's flipped schema writes r_int64 unpacked"
    );
    let got: Everything = decode(&python, "everything_full_flipped");
    assert_everything_eq(
        &got,
        &everything_full(),
        "Python-written unpacked Everything decoded by Rust",
    );
    // And Python, declaring the fields unpacked, reads Rust's packed ones.
    peer.check("everything_full_flipped", &encode(&everything_full()));
}

// ------------------------------------------------------------ unknown fields

#[test]
fn unknown_fields_survive_an_older_schema() {
    let peer = peer!();
    let python = peer.build("everything_full");
    let subset: EverythingSubset = decode(&python, "everything_full as EverythingSubset");
    assert_eq!(subset.f_int32, -123456);
    assert_eq!(
        subset.f_string,
        "h\u{e9}llo w\u{f6}rld \u{2713} \u{1f680} \0 end"
    );
    let unknown: BTreeSet<u32> = subset._unknown_fields.iter().map(|f| f.number).collect();
    let expected: BTreeSet<u32> = (2..=13)
        .chain(15..=17)
        .chain(21..=38)
        .chain(41..=45)
        .chain(51..=62)
        .chain([73])
        .chain(81..=86)
        .chain([90, 91])
        .collect();
    assert_eq!(unknown, expected, "field numbers kept as unknown");

    let rust = encode(&subset);
    assert_eq!(rust.len(), python.len(), "re-encoding changes the size");
    // Python reads the full message back out of what the subset wrote.
    peer.check("everything_full", &rust);
    // The unknown records are kept verbatim and in arrival order: Rust's
    // bytes are Python's with fields 1 and 14 moved to the front.
    let (python_raw, rust_raw) = (raw(&python), raw(&rust));
    let known = |f: &UnknownField<'_>| f.number == 1 || f.number == 14;
    let moved: Vec<UnknownField<'_>> = python_raw
        ._unknown_fields
        .iter()
        .filter(known)
        .chain(python_raw._unknown_fields.iter().filter(|f| !known(f)))
        .collect();
    assert_eq!(rust_raw._unknown_fields.iter().collect::<Vec<_>>(), moved);
}

#[test]
fn unknown_fields_reencode_byte_exact() {
    let peer = peer!();
    // Fields 1 and 14 set, nothing else below 15: Python's field-number
    // order puts the subset's known fields first, so re-encoding (known
    // fields, then unknown ones as they came) must give the same bytes.
    let python = peer.build("subset_exact");
    let order = numbers(&python);
    assert_eq!(
        &order[..2],
        [1, 14],
        "the construction puts fields 1 and 14 first"
    );
    assert!(order[2..].iter().all(|n| *n > 14));

    let subset: EverythingSubset = decode(&python, "subset_exact as EverythingSubset");
    assert_eq!(subset.f_int32, -2);
    assert_eq!(subset.f_string, "subset \u{2713}");
    let rust = encode(&subset);
    assert!(
        rust == python,
        "re-encoding is not byte-exact\n python: {}\n rust:   {}",
        hex(&python),
        hex(&rust)
    );
    peer.check("subset_exact", &rust);

    // Decoding twice (merge) appends the unknown fields twice, as Python does.
    let mut merged = subset.clone();
    merged.merge(python.as_slice()).unwrap();
    assert_eq!(
        merged._unknown_fields.as_bytes(),
        [subset._unknown_fields.as_bytes(); 2].concat()
    );
}

// ------------------------------------------------------------------- proto2

#[test]
fn proto2_full_message_with_groups_both_ways() {
    let peer = peer!();
    let python = legacy_both_ways(&peer, "legacy_full", &legacy_full());
    // Groups are groups on the wire (wire types 3/4), from both sides.
    assert_eq!(shape(&python, 20), "G");
    assert_eq!(shape(&python, 30), "GGG");
    let rust = encode(&legacy_full());
    assert_eq!((shape(&rust, 20), shape(&rust, 30)), (s("G"), s("GGG")));
}

#[test]
#[allow(deprecated)]
fn proto2_fields_set_to_their_defaults_stay_present() {
    let peer = peer!();
    let want = Legacy {
        id: Some(0),
        code: Some(s("abc")),
        count: Some(7),
        label: Some(s("hello \"world\"")),
        blob: Some(b"\x01\x02\x7fz".to_vec()),
        ratio: Some(f64::NEG_INFINITY),
        scale: Some(1.5),
        flag: Some(true),
        size: Some(Size::Medium),
        plain_size: Some(Size::Small),
        big: Some(u64::MAX),
        neg: Some(-42),
        aliased: Some(Aliased::One), // set as ALIASED_UNO
        settings: Some(Settings::default()),
        child: Some(Box::new(Legacy {
            id: Some(0),
            code: Some(s("abc")),
            required_size: Some(Size::Large),
            ..Default::default()
        })),
        pick: Some(Pick::PickInt(0)),
        required_size: Some(Size::Large),
        old: Some(0),
        ..Default::default()
    };
    let python = legacy_both_ways(&peer, "legacy_defaults_explicit", &want);
    let expected_numbers = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17, 20, 40, 50, 60, 61,
    ];
    assert_eq!(numbers(&python), expected_numbers, "fields Python wrote");
    assert_eq!(
        numbers(&encode(&want)),
        expected_numbers,
        "fields Rust wrote"
    );
}

#[test]
fn proto2_unset_fields_read_as_declared_defaults() {
    let peer = peer!();
    // Python sets the required fields (at their declared defaults): set,
    // they are written; the getters of unset ones give the same defaults.
    let want = Legacy {
        id: Some(5),
        code: Some(s("abc")),
        required_size: Some(Size::Large),
        ..Default::default()
    };
    assert_eq!(
        (Legacy::default().code(), Legacy::default().required_size()),
        ("abc", Size::Large),
        "required defaults"
    );
    let python = peer.build("legacy_minimal");
    let got: Legacy = decode(&python, "legacy_minimal");
    assert_legacy_eq(&got, &want, "Python-built legacy_minimal decoded by Rust");
    for (what, l) in [("decoded", &got), ("default", &Legacy::default())] {
        assert_eq!(l.count, None, "{what}");
        assert_eq!(l.count(), 7, "{what}");
        assert_eq!(l.label(), "hello \"world\"", "{what}");
        assert_eq!(l.blob(), b"\x01\x02\x7fz", "{what}");
        assert_eq!(l.ratio(), f64::NEG_INFINITY, "{what}");
        assert_eq!(l.scale(), 1.5, "{what}");
        assert!(l.flag(), "{what}");
        assert_eq!(l.size(), Size::Medium, "{what}");
        assert_eq!(l.plain_size(), Size::Small, "{what}");
        assert_eq!(l.big(), u64::MAX, "{what}");
        assert_eq!(l.neg(), -42, "{what}");
        assert_eq!(
            l.aliased(),
            Aliased::One,
            "{what}: ALIASED_UNO is an alias of ALIASED_ONE"
        );
        assert_eq!(l.settings().level(), 0, "{what}");
        assert_eq!(l.child().id, None, "{what}");
    }
    assert_eq!(Aliased::from_str_name("ALIASED_UNO"), Some(Aliased::One));
    // Rust writes the set (required) fields only; Python sees every optional unset.
    let rust = encode(&want);
    assert_eq!(numbers(&rust), [1, 2, 60]);
    peer.check("legacy_minimal", &rust);
    peer.check("legacy_minimal", &encode(&got));
}

#[test]
fn proto2_closed_enum_unknown_values_go_to_unknown_fields() {
    let peer = peer!();
    // Written with a newer schema in which Size has SIZE_HUGE = 4 and Level
    // has LEVEL_THREE = 3.
    let python = peer.build("legacy_newer_enum");
    let got: Legacy = decode(&python, "legacy_newer_enum");
    assert_eq!(got.size, None, "size = 4 is not a Size");
    assert_eq!(got.size(), Size::Medium);
    assert_eq!(got.plain_size, Some(Size::Small));
    assert_eq!(got.sizes, [Size::Small, Size::Medium]);
    assert_eq!(got.packed_sizes, [Size::Large]);
    assert_eq!(got.level_map, HashMap::from([(s("y"), Level::One)]));
    assert_eq!(got.pick, None);
    assert_eq!(got.required_size, Some(Size::Medium));
    let unknown: Vec<UnknownField<'_>> = got._unknown_fields.iter().collect();
    let field = |number, value| UnknownField { number, value };
    assert_eq!(
        unknown,
        [
            field(9, UnknownValue::Varint(4)),
            field(11, UnknownValue::Varint(4)),
            // An unknown value inside a packed run is kept as a lone varint.
            field(12, UnknownValue::Varint(4)),
            // A map entry with an unknown value is kept whole.
            field(18, UnknownValue::LengthDelimited(b"\x0a\x01x\x10\x03")),
            field(51, UnknownValue::Varint(4)),
        ],
        "unknown fields of {got:?}"
    );
    // Re-emitted: the newer schema reads every 4 back (after the known
    // values, as Python itself does; the peer verifies that too).
    peer.check("legacy_newer_enum_roundtripped", &encode(&got));
}

#[test]
fn proto2_packed_and_unpacked_both_accepted() {
    let peer = peer!();
    let python = legacy_both_ways(&peer, "legacy_full", &legacy_full());
    let flipped = legacy_both_ways(&peer, "legacy_full_flipped", &legacy_full());
    // 11/13 are unpacked in the schema, 12/14 packed; the flipped schema
    // writes the opposite.
    let shapes = |bytes: &[u8]| [11, 12, 13, 14].map(|n| shape(bytes, n));
    assert_eq!(shapes(&python), ["VVV", "L", "VVV", "L"]);
    assert_eq!(shapes(&flipped), ["L", "VVV", "L", "VVV"]);
    assert_eq!(shapes(&encode(&legacy_full())), ["VVV", "L", "VVV", "L"]);

    let mixed: Legacy = decode(
        &[python.as_slice(), flipped.as_slice()].concat(),
        "packed ++ unpacked",
    );
    assert_eq!(mixed.sizes, doubled(&legacy_full().sizes));
    assert_eq!(mixed.packed_sizes, doubled(&legacy_full().packed_sizes));
    assert_eq!(mixed.numbers, doubled(&legacy_full().numbers));
    assert_eq!(mixed.packed_numbers, doubled(&legacy_full().packed_numbers));
}

// -------------------------------------------------------------------- merge

/// Rust decodes Python's `first` ++ `second` (and merges `second` into a
/// decoded `first`); Python checks both against what it parses from the same
/// concatenation.
fn merge_like_python<M: Message + PartialEq>(
    peer: &Peer,
    first: &str,
    second: &str,
    case: &str,
) -> M {
    let (a, b) = (peer.build(first), peer.build(second));
    let concatenated: M = decode(&[a.as_slice(), b.as_slice()].concat(), case);
    let mut merged: M = decode(&a, first);
    merged.merge(b.as_slice()).unwrap();
    assert_eq!(
        merged, concatenated,
        "merge() and decoding the concatenation disagree"
    );
    peer.check(case, &encode(&concatenated));
    concatenated
}

#[test]
fn proto3_merge_matches_python() {
    let peer = peer!();
    // Repeated fields append, maps replace by key, messages merge, and the
    // oneof member message merges into itself.
    let twice: Everything = merge_like_python(
        &peer,
        "everything_full",
        "everything_full",
        "merge_full_full",
    );
    let full = everything_full();
    assert_eq!(twice.r_int32, doubled(&full.r_int32));
    assert_eq!(twice.m_string_nested, full.m_string_nested);
    assert_eq!(
        twice.child().child().child().r_color,
        doubled(&full.child().child().child().r_color)
    );
    assert_eq!(twice.choice, full.choice);
    // A later oneof member replaces the earlier one.
    let replaced: Everything = merge_like_python(
        &peer,
        "everything_full",
        "oneof_c_string",
        "merge_full_oneof_string",
    );
    let want = Everything {
        choice: Some(Choice::CString(s("\u{fc}n\u{ef}c\u{f6}d\u{e9} \u{1f680}"))),
        ..everything_full()
    };
    assert_everything_eq(&replaced, &want, "everything_full ++ oneof_c_string");
    let _: Everything = merge_like_python(
        &peer,
        "oneof_c_nested",
        "everything_full",
        "merge_oneof_nested_full",
    );
}

#[test]
fn proto2_merge_matches_python() {
    let peer = peer!();
    // Groups: the optional one merges, the repeated one appends.
    let twice: Legacy = merge_like_python(
        &peer,
        "legacy_full",
        "legacy_full",
        "merge_legacy_full_full",
    );
    assert_eq!(twice.entry, doubled(&legacy_full().entry));
    assert_eq!(twice.settings, legacy_full().settings);
    // Required fields set again replace the first values.
    let then_minimal: Legacy = merge_like_python(
        &peer,
        "legacy_full",
        "legacy_minimal",
        "merge_legacy_full_minimal",
    );
    assert_eq!(
        (
            then_minimal.id,
            then_minimal.code.as_deref(),
            then_minimal.required_size
        ),
        (Some(5), Some("abc"), Some(Size::Large))
    );
    assert_eq!(then_minimal.count, Some(-7));
}

// ------------------------------------------------------- hand-written bytes

#[test]
fn unusual_scalar_encodings_decode_like_python() {
    let peer = peer!();
    let raw = peer.build("raw_scalars");
    let got: Everything = decode(&raw, "raw_scalars");
    let want = Everything {
        f_int32: 5,
        f_uint32: 1,
        f_bool: true,
        f_string: s("b"),
        f_nested: Some(Box::new(nested(1, "hi", None))),
        r_int32: vec![1, 2, 3],
        f_color: EnumValue::Unknown(-1),
        o_int32: Some(0),
        choice: Some(Choice::CInt64(7)),
        ..Default::default()
    };
    assert_everything_eq(&got, &want, "raw_scalars decoded by Rust");
    peer.check("raw_scalars", &encode(&got));
}

#[test]
fn unusual_map_entries_decode_like_python() {
    let peer = peer!();
    let raw = peer.build("raw_maps");
    let got: Everything = decode(&raw, "raw_maps");
    let want = Everything {
        m_int32_string: HashMap::from([(0, s("v")), (5, s("r")), (8, s("d")), (9, s("second"))]),
        m_string_nested: HashMap::from([
            (s("n"), Nested::default()),
            (s("m"), nested(1, "x", None)),
        ]),
        m_fixed32_color: HashMap::from([(1, Color::Unspecified.into())]),
        m_bool_string: BTreeMap::from([(false, s(""))]),
        ..Default::default()
    };
    assert_everything_eq(&got, &want, "raw_maps decoded by Rust");
    peer.check("raw_maps", &encode(&got));
}

#[test]
fn proto2_unknown_fields_inside_groups_are_kept() {
    let peer = peer!();
    let raw = peer.build("raw_legacy_groups");
    let got: Legacy = decode(&raw, "raw_legacy_groups");
    assert_eq!(
        (got.id, got.code.as_deref(), got.required_size),
        (Some(1), Some("c"), Some(Size::Medium))
    );
    let settings = got.settings.as_ref().expect("settings group");
    assert_eq!(settings.level, Some(5));
    assert_eq!(
        settings._unknown_fields.iter().collect::<Vec<_>>(),
        [
            UnknownField {
                number: 99,
                value: UnknownValue::Varint(7)
            },
            UnknownField {
                number: 98,
                value: UnknownValue::Group(b"\x08\x01")
            },
        ]
    );
    assert_eq!(
        got._unknown_fields.iter().collect::<Vec<_>>(),
        [UnknownField {
            number: 150,
            value: UnknownValue::Group(b"\x08\x2a")
        }]
    );
    let rust = encode(&got);
    assert!(
        rust == raw,
        "re-encoding is not byte-exact\n raw:  {}\n rust: {}",
        hex(&raw),
        hex(&rust)
    );
    peer.check("raw_legacy_groups", &rust);
}

#[test]
fn proto2_map_entries_with_a_missing_part() {
    let peer = peer!();
    let raw = peer.build("raw_legacy_map");
    let got: Legacy = decode(&raw, "raw_legacy_map");
    assert_eq!(
        got.level_map,
        HashMap::from([(s("k"), Level::Zero), (s(""), Level::Two)])
    );
    assert!(got._unknown_fields.is_empty(), "{:?}", got._unknown_fields);
    peer.check("raw_legacy_map", &encode(&got));
}
