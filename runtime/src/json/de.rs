//! Parsing: JSON read through serde, written straight into the binary
//! encoding of the message its descriptor describes.

use std::cell::{Cell, RefCell};
use std::fmt;

use base64::Engine as _;
use serde::de::{
    self, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::{Options, wkt};
use crate::reflect::raw::{self, Scalar};
use crate::reflect::{DescriptorPool, FieldInfo, MessageDescriptor, Ty, WellKnown};
use crate::wire::WireType;

/// Parses one message of type `descriptor` from `deserializer` into its
/// binary encoding; on error, also the path of the value at fault.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
    descriptor: &MessageDescriptor,
    options: &Options,
    deserializer: D,
) -> Result<Vec<u8>, (String, D::Error)> {
    deserialize_at(descriptor, options, 0, deserializer)
}

/// [`deserialize`] for a message nested `depth` messages deep.
fn deserialize_at<'de, D: Deserializer<'de>>(
    descriptor: &MessageDescriptor,
    options: &Options,
    depth: u32,
    deserializer: D,
) -> Result<Vec<u8>, (String, D::Error)> {
    let cx = Cx {
        pool: descriptor.pool(),
        options,
        path: RefCell::new(Vec::new()),
        depth: Cell::new(depth),
    };
    let mut out = Vec::new();
    match (MessageSeed {
        cx: &cx,
        message: descriptor.index(),
        out: &mut out,
    })
    .deserialize(deserializer)
    {
        Ok(()) => Ok(out),
        Err(e) => Err((cx.path_string(), e)),
    }
}

enum Seg<'a> {
    Field(&'a str),
    Index(usize),
    Key(String),
}

struct Cx<'a> {
    pool: &'a DescriptorPool,
    options: &'a Options,
    /// Where the parser is. Left as it is when an error unwinds, so it
    /// names the value at fault.
    path: RefCell<Vec<Seg<'a>>>,
    depth: Cell<u32>,
}

impl<'a> Cx<'a> {
    fn push(&self, seg: Seg<'a>) {
        self.path.borrow_mut().push(seg);
    }

    fn pop(&self) {
        self.path.borrow_mut().pop();
    }

    fn path_string(&self) -> String {
        let mut out = String::new();
        for seg in self.path.borrow().iter() {
            match seg {
                Seg::Field(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
                Seg::Key(key) => out.push_str(&format!("[{key:?}]")),
            }
        }
        out
    }

    fn enter<E: de::Error>(&self) -> Result<(), E> {
        let depth = self.depth.get() + 1;
        if depth > self.options.recursion_limit {
            return Err(E::custom(format_args!(
                "messages nest deeper than the limit of {}",
                self.options.recursion_limit
            )));
        }
        self.depth.set(depth);
        Ok(())
    }

    fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    fn info(&self, message: usize) -> &'a crate::reflect::MessageInfo {
        &self.pool_inner().messages[message]
    }

    fn pool_inner(&self) -> &'a crate::reflect::Inner {
        self.pool.inner()
    }
}

/// A whole message: its fields' encodings appended to `out`.
struct MessageSeed<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    message: usize,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.cx.enter()?;
        let info = self.cx.info(self.message);
        match info.well_known {
            None => deserializer.deserialize_map(MessageVisitor {
                cx: self.cx,
                message: self.message,
                out: self.out,
            })?,
            Some(kind) => well_known(self.cx, self.message, kind, self.out, deserializer)?,
        }
        self.cx.leave();
        Ok(())
    }
}

/// Which fields a message object has named so far.
struct Seen {
    bits: Vec<u64>,
}

impl Seen {
    fn new(fields: usize) -> Seen {
        Seen {
            bits: vec![0; fields.div_ceil(64)],
        }
    }

    /// Marks `index`; false when it was marked already.
    fn mark(&mut self, index: usize) -> bool {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        let fresh = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        fresh
    }
}

struct MessageVisitor<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    message: usize,
    out: &'o mut Vec<u8>,
}

enum Key {
    Field(usize),
    Extension(usize),
    Unknown(String),
}

impl<'de> Visitor<'de> for MessageVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object ({})", self.cx.info(self.message).full_name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let cx = self.cx;
        let info = cx.info(self.message);
        let mut seen = Seen::new(info.fields.len() + info.extensions.len());
        let mut oneofs = vec![false; info.oneofs.len()];
        while let Some(key) = map.next_key_seed(KeySeed {
            cx,
            message: self.message,
        })? {
            let (field, index) = match key {
                Key::Field(i) => (&info.fields[i], i),
                Key::Extension(e) => (
                    &cx.pool_inner().extensions[info.extensions[e]],
                    info.fields.len() + e,
                ),
                Key::Unknown(name) => {
                    if cx.options.ignore_unknown_fields {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    return Err(A::Error::custom(format_args!(
                        "{} has no field named `{name}`",
                        info.full_name
                    )));
                }
            };
            cx.push(Seg::Field(&field.json_name));
            if !seen.mark(index) {
                return Err(A::Error::custom("the field is given twice"));
            }
            let set = map.next_value_seed(FieldSeed {
                cx,
                field,
                out: self.out,
            })?;
            if set && let Some(oneof) = field.oneof {
                if oneofs[oneof] {
                    return Err(A::Error::custom(format_args!(
                        "a second member of oneof `{}`",
                        info.oneofs[oneof]
                    )));
                }
                oneofs[oneof] = true;
            }
            cx.pop();
        }
        Ok(())
    }
}

struct KeySeed<'c, 'a> {
    cx: &'c Cx<'a>,
    message: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        let info = self.cx.info(self.message);
        if let Some(index) = info.field_by_name(name) {
            return Ok(Key::Field(index));
        }
        if let Some(full_name) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']'))
            && let Some(e) = self
                .cx
                .pool_inner()
                .extensions_of(self.message)
                .position(|e| e.full_name == full_name)
        {
            return Ok(Key::Extension(e));
        }
        Ok(Key::Unknown(name.to_string()))
    }
}

/// One field's value; answers whether it set the field (`null` does not,
/// except for `google.protobuf.Value` and `NullValue`).
struct FieldSeed<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    field: &'a FieldInfo,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_, '_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        if !self.field.list && null_is_a_value(self.cx, self.field.ty) {
            let seed = ValueSeed {
                cx: self.cx,
                number: self.field.number,
                ty: self.field.ty,
                out: self.out,
            };
            return seed.deserialize(deserializer);
        }
        deserializer.deserialize_option(self)
    }
}

/// Whether JSON `null` is a value of this type rather than "unset".
fn null_is_a_value(cx: &Cx<'_>, ty: Ty) -> bool {
    let inner = cx.pool_inner();
    match ty {
        Ty::Message(m) => inner.messages[m].well_known == Some(WellKnown::Value),
        Ty::Enum(e) => inner.enums[e].full_name == "google.protobuf.NullValue",
        _ => false,
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field value")
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        let (cx, field) = (self.cx, self.field);
        if field.map {
            deserializer.deserialize_map(MapVisitor {
                cx,
                field,
                out: self.out,
            })?;
            return Ok(true);
        }
        if field.list {
            deserializer.deserialize_seq(ListVisitor {
                cx,
                field,
                out: self.out,
            })?;
            return Ok(true);
        }
        ValueSeed {
            cx,
            number: field.number,
            ty: field.ty,
            out: self.out,
        }
        .deserialize(deserializer)
    }
}

/// One value with its key; answers false when it was skipped (an unknown
/// enum name under `ignore_unknown_fields`), leaving `out` as it was.
struct ValueSeed<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    number: u32,
    ty: Ty,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        let (cx, out) = (self.cx, self.out);
        match self.ty {
            Ty::Message(message) => {
                raw::put_key(out, self.number, WireType::LengthDelimited);
                let start = raw::begin_len(out);
                MessageSeed {
                    cx,
                    message,
                    out: &mut *out,
                }
                .deserialize(deserializer)?;
                raw::end_len(out, start);
                Ok(true)
            }
            Ty::Group(message) => {
                raw::put_key(out, self.number, WireType::StartGroup);
                MessageSeed {
                    cx,
                    message,
                    out: &mut *out,
                }
                .deserialize(deserializer)?;
                raw::put_key(out, self.number, WireType::EndGroup);
                Ok(true)
            }
            ty => {
                let mark = out.len();
                raw::put_key(out, self.number, raw::wire_type_of(ty));
                let written = ScalarSeed {
                    cx,
                    ty,
                    out: &mut *out,
                }
                .deserialize(deserializer)?;
                if !written {
                    out.truncate(mark);
                }
                Ok(written)
            }
        }
    }
}

struct ListVisitor<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    field: &'a FieldInfo,
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for ListVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let (cx, field, out) = (self.cx, self.field, self.out);
        let packed = field.packed.then(|| {
            let mark = out.len();
            raw::put_key(out, field.number, WireType::LengthDelimited);
            (mark, raw::begin_len(out))
        });
        let mut index = 0;
        loop {
            cx.push(Seg::Index(index));
            let more = if packed.is_some() {
                seq.next_element_seed(NotNull(ScalarSeed {
                    cx,
                    ty: field.ty,
                    out: &mut *out,
                }))?
                .is_some()
            } else {
                seq.next_element_seed(NotNull(ValueSeed {
                    cx,
                    number: field.number,
                    ty: field.ty,
                    out: &mut *out,
                }))?
                .is_some()
            };
            if !more {
                break;
            }
            cx.pop();
            index += 1;
        }
        cx.pop();
        if let Some((mark, start)) = packed {
            if out.len() == start {
                out.truncate(mark);
            } else {
                raw::end_len(out, start);
            }
        }
        Ok(())
    }
}

/// Rejects `null` (in lists and as map values) unless it is a value of the
/// element type.
struct NotNull<S>(S);

trait ElementType {
    fn null_is_a_value(&self) -> bool;
}

impl ElementType for ScalarSeed<'_, '_, '_> {
    fn null_is_a_value(&self) -> bool {
        null_is_a_value(self.cx, self.ty)
    }
}

impl ElementType for ValueSeed<'_, '_, '_> {
    fn null_is_a_value(&self) -> bool {
        null_is_a_value(self.cx, self.ty)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = bool> + ElementType> DeserializeSeed<'de> for NotNull<S> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        if self.0.null_is_a_value() {
            return self.0.deserialize(deserializer);
        }
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = bool> + ElementType> Visitor<'de> for NotNull<S> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Err(E::custom("null is not a value here"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Err(E::custom("null is not a value here"))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        self.0.deserialize(deserializer)
    }
}

struct MapVisitor<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    field: &'a FieldInfo,
    out: &'o mut Vec<u8>,
}

impl<'de> Visitor<'de> for MapVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (cx, field, out) = (self.cx, self.field, self.out);
        let Ty::Message(entry) = field.ty else {
            unreachable!("map fields are messages")
        };
        let entry = cx.info(entry);
        let (key_field, value_field) = (&entry.fields[0], &entry.fields[1]);
        while let Some(key) = map.next_key::<String>()? {
            let mark = out.len();
            raw::put_key(out, field.number, WireType::LengthDelimited);
            let start = raw::begin_len(out);
            map_key(key_field, &key, out).map_err(A::Error::custom)?;
            cx.push(Seg::Key(key));
            let written = map.next_value_seed(NotNull(ValueSeed {
                cx,
                number: 2,
                ty: value_field.ty,
                out: &mut *out,
            }))?;
            cx.pop();
            if written {
                raw::end_len(out, start);
            } else {
                out.truncate(mark);
            }
        }
        Ok(())
    }
}

/// Writes a map entry's key (field 1) from its JSON object key.
fn map_key(field: &FieldInfo, key: &str, out: &mut Vec<u8>) -> Result<(), String> {
    let bad = || format!("`{key}` is not a map key of this type");
    let scalar = match field.ty {
        Ty::String => Scalar::Str(key.as_bytes()),
        Ty::Bool => match key {
            "true" => Scalar::Bool(true),
            "false" => Scalar::Bool(false),
            _ => return Err(bad()),
        },
        Ty::Int32 | Ty::Sint32 | Ty::Sfixed32 => Scalar::I32(parse_int(key).ok_or_else(bad)?),
        Ty::Int64 | Ty::Sint64 | Ty::Sfixed64 => Scalar::I64(parse_int(key).ok_or_else(bad)?),
        Ty::Uint32 | Ty::Fixed32 => Scalar::U32(parse_int(key).ok_or_else(bad)?),
        Ty::Uint64 | Ty::Fixed64 => Scalar::U64(parse_int(key).ok_or_else(bad)?),
        _ => return Err(bad()),
    };
    raw::put_field(out, 1, field.ty, scalar);
    Ok(())
}

/// An integer written as a JSON string: an optional `-`, then digits.
fn parse_int<T: std::str::FromStr>(text: &str) -> Option<T> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A scalar or enum value's payload (no key); answers false when skipped.
struct ScalarSeed<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    ty: Ty,
    out: &'o mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for ScalarSeed<'_, '_, '_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        match self.ty {
            Ty::Bool => deserializer.deserialize_bool(self),
            Ty::String | Ty::Bytes => deserializer.deserialize_str(self),
            _ => deserializer.deserialize_any(self),
        }
    }
}

/// Integer kinds by range.
#[derive(Clone, Copy)]
enum IntKind {
    I32,
    I64,
    U32,
    U64,
}

fn int_kind(ty: Ty) -> Option<IntKind> {
    Some(match ty {
        Ty::Int32 | Ty::Sint32 | Ty::Sfixed32 | Ty::Enum(_) => IntKind::I32,
        Ty::Int64 | Ty::Sint64 | Ty::Sfixed64 => IntKind::I64,
        Ty::Uint32 | Ty::Fixed32 => IntKind::U32,
        Ty::Uint64 | Ty::Fixed64 => IntKind::U64,
        _ => return None,
    })
}

fn int_scalar(kind: IntKind, value: i128) -> Option<Scalar<'static>> {
    Some(match kind {
        IntKind::I32 => Scalar::I32(i32::try_from(value).ok()?),
        IntKind::I64 => Scalar::I64(i64::try_from(value).ok()?),
        IntKind::U32 => Scalar::U32(u32::try_from(value).ok()?),
        IntKind::U64 => Scalar::U64(u64::try_from(value).ok()?),
    })
}

impl ScalarSeed<'_, '_, '_> {
    fn put(self, value: Scalar<'_>) -> bool {
        raw::put_scalar(self.out, self.ty, value);
        true
    }

    fn integer<E: de::Error>(self, value: i128) -> Result<bool, E> {
        if let Ty::Enum(e) = self.ty {
            let info = &self.cx.pool_inner().enums[e];
            let number = i32::try_from(value)
                .map_err(|_| E::custom(format_args!("{value} is out of range for an enum")))?;
            if info.closed && info.name_of(number).is_none() {
                return Err(E::custom(format_args!(
                    "{number} is not a value of the closed enum {}",
                    info.full_name
                )));
            }
            return Ok(self.put(Scalar::Enum(number)));
        }
        let kind = int_kind(self.ty).ok_or_else(|| E::custom("expected a floating-point value"))?;
        match int_scalar(kind, value) {
            Some(scalar) => Ok(self.put(scalar)),
            None => Err(E::custom(format_args!("{value} is out of range"))),
        }
    }

    fn float<E: de::Error>(self, value: f64) -> Result<bool, E> {
        match self.ty {
            Ty::Double => Ok(self.put(Scalar::F64(value))),
            Ty::Float => {
                if value.is_finite() && value.abs() > f64::from(f32::MAX) {
                    return Err(E::custom(format_args!(
                        "{value} is out of range for a float"
                    )));
                }
                Ok(self.put(Scalar::F32(value as f32)))
            }
            _ => {
                // An integer written with a fraction or exponent (`1e5`,
                // `5.0`) is still an integer.
                if value.fract() != 0.0 || !value.is_finite() || value.abs() >= 1.9e19 {
                    return Err(E::custom(format_args!("{value} is not an integer")));
                }
                self.integer(value as i128)
            }
        }
    }
}

impl<'de> Visitor<'de> for ScalarSeed<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.ty {
            Ty::Bool => "true or false",
            Ty::String => "a string",
            Ty::Bytes => "a base64 string",
            Ty::Enum(_) => "an enum name or number",
            Ty::Float | Ty::Double => "a number",
            _ => "an integer",
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        // `null` is the one value of google.protobuf.NullValue.
        if null_is_a_value(self.cx, self.ty) {
            return Ok(self.put(Scalar::Enum(0)));
        }
        Err(E::invalid_type(de::Unexpected::Unit, &self))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        match self.ty {
            Ty::Bool => Ok(self.put(Scalar::Bool(v))),
            _ => Err(E::invalid_type(de::Unexpected::Bool(v), &self)),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.visit_i128(v.into())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.visit_i128(v.into())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<bool, E> {
        match self.ty {
            Ty::Float | Ty::Double => self.float(v as f64),
            Ty::Bool | Ty::String | Ty::Bytes => {
                Err(E::invalid_type(de::Unexpected::Other("a number"), &self))
            }
            _ => self.integer(v),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        match self.ty {
            Ty::Bool | Ty::String | Ty::Bytes => {
                Err(E::invalid_type(de::Unexpected::Float(v), &self))
            }
            Ty::Enum(_) => Err(E::custom(format_args!("{v} is not an enum number"))),
            _ => self.float(v),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match self.ty {
            Ty::String => Ok(self.put(Scalar::Str(v.as_bytes()))),
            Ty::Bytes => {
                let bytes = decode_base64(v)
                    .ok_or_else(|| E::custom(format_args!("`{v}` is not base64")))?;
                Ok(self.put(Scalar::Bytes(&bytes)))
            }
            Ty::Bool => Err(E::invalid_type(de::Unexpected::Str(v), &self)),
            Ty::Enum(e) => {
                let info = &self.cx.pool_inner().enums[e];
                match info.number_of(v) {
                    Some(number) => Ok(self.put(Scalar::Enum(number))),
                    None if self.cx.options.ignore_unknown_fields => Ok(false),
                    None => Err(E::custom(format_args!(
                        "`{v}` is not a value of {}",
                        info.full_name
                    ))),
                }
            }
            Ty::Float | Ty::Double => {
                let value = match v {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => parse_json_number(v)
                        .ok_or_else(|| E::custom(format_args!("`{v}` is not a number")))?,
                };
                self.float(value)
            }
            _ => {
                if let Some(value) = parse_int::<i128>(v) {
                    return self.integer(value);
                }
                match parse_json_number(v) {
                    Some(value) => self.float(value),
                    None => Err(E::custom(format_args!("`{v}` is not an integer"))),
                }
            }
        }
    }
}

/// A number in JSON's grammar (no `+`, no leading zeros, no bare `.`),
/// written inside a string.
fn parse_json_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_len = i - int_start;
    if int_len == 0 || (int_len > 1 && b[int_start] == b'0') {
        return None;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Standard or URL-safe base64, padded or not.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let url_safe = text.contains(['-', '_']);
    let alphabet = if url_safe {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config).decode(text).ok()
}

// ---- well-known types ----

fn well_known<'de, D: Deserializer<'de>>(
    cx: &Cx<'_>,
    message: usize,
    kind: WellKnown,
    out: &mut Vec<u8>,
    deserializer: D,
) -> Result<(), D::Error> {
    let info = cx.info(message);
    match kind {
        WellKnown::Timestamp | WellKnown::Duration => {
            let text = deserializer.deserialize_str(Text)?;
            let parsed = if kind == WellKnown::Timestamp {
                wkt::parse_timestamp(&text)
            } else {
                wkt::parse_duration(&text)
            };
            let (seconds, nanos) = parsed.map_err(D::Error::custom)?;
            if seconds != 0 {
                raw::put_field(out, 1, Ty::Int64, Scalar::I64(seconds));
            }
            if nanos != 0 {
                raw::put_field(out, 2, Ty::Int32, Scalar::I32(nanos));
            }
            Ok(())
        }
        WellKnown::FieldMask => {
            let text = deserializer.deserialize_str(Text)?;
            for path in text.split(',').filter(|p| !p.is_empty()) {
                let path = wkt::mask_path_from_json(path).map_err(D::Error::custom)?;
                raw::put_bytes(out, 1, path.as_bytes());
            }
            Ok(())
        }
        WellKnown::Wrapper => {
            let field = &info.fields[0];
            ValueSeed {
                cx,
                number: field.number,
                ty: field.ty,
                out,
            }
            .deserialize(deserializer)
            .map(drop)
        }
        WellKnown::Struct | WellKnown::ListValue => {
            let field = &info.fields[0];
            let seed = FieldSeed { cx, field, out };
            // `null` is no Struct or list; FieldSeed would read it as unset.
            deserializer
                .deserialize_any(NotNullContainer(seed))
                .map(drop)
        }
        WellKnown::Value => deserializer.deserialize_any(ValueVisitor { cx, message, out }),
        WellKnown::Any => any(cx, out, deserializer),
    }
}

/// An owned string.
struct Text;

impl Visitor<'_> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// A Struct (object) or ListValue (array) body.
struct NotNullContainer<'c, 'a, 'o>(FieldSeed<'c, 'a, 'o>);

impl<'de> Visitor<'de> for NotNullContainer<'_, '_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.field.map {
            "an object"
        } else {
            "an array"
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<bool, A::Error> {
        let seed = self.0;
        if !seed.field.map {
            return Err(A::Error::invalid_type(
                de::Unexpected::Map,
                &NotNullContainer(seed),
            ));
        }
        MapVisitor {
            cx: seed.cx,
            field: seed.field,
            out: seed.out,
        }
        .visit_map(map)?;
        Ok(true)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<bool, A::Error> {
        let seed = self.0;
        if seed.field.map {
            return Err(A::Error::invalid_type(
                de::Unexpected::Seq,
                &NotNullContainer(seed),
            ));
        }
        ListVisitor {
            cx: seed.cx,
            field: seed.field,
            out: seed.out,
        }
        .visit_seq(seq)?;
        Ok(true)
    }
}

/// `google.protobuf.Value`: whatever JSON value.
struct ValueVisitor<'c, 'a, 'o> {
    cx: &'c Cx<'a>,
    message: usize,
    out: &'o mut Vec<u8>,
}

impl ValueVisitor<'_, '_, '_> {
    fn number(self, value: f64) -> Result<(), String> {
        raw::put_field(self.out, 2, Ty::Double, Scalar::F64(value));
        Ok(())
    }

    /// Field `number` (struct_value, list_value) of Value: its message.
    fn container(&self, number: u32) -> (u32, usize) {
        let info = self.cx.info(self.message);
        let field = &info.fields[info.field_index(number).expect("Value fields")];
        let Ty::Message(message) = field.ty else {
            unreachable!("Value's containers are messages")
        };
        (number, message)
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        raw::put_field(self.out, 1, Ty::Int32, Scalar::Enum(0));
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        raw::put_field(self.out, 4, Ty::Bool, Scalar::Bool(v));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.number(v as f64).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.number(v as f64).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.number(v).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        raw::put_bytes(self.out, 3, v.as_bytes());
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let (number, list) = self.container(6);
        let (cx, out) = (self.cx, self.out);
        raw::put_key(out, number, WireType::LengthDelimited);
        let start = raw::begin_len(out);
        cx.enter()?;
        let info = cx.info(list);
        ListVisitor {
            cx,
            field: &info.fields[0],
            out: &mut *out,
        }
        .visit_seq(seq)?;
        cx.leave();
        raw::end_len(out, start);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let (number, object) = self.container(5);
        let (cx, out) = (self.cx, self.out);
        raw::put_key(out, number, WireType::LengthDelimited);
        let start = raw::begin_len(out);
        cx.enter()?;
        let info = cx.info(object);
        MapVisitor {
            cx,
            field: &info.fields[0],
            out: &mut *out,
        }
        .visit_map(map)?;
        cx.leave();
        raw::end_len(out, start);
        Ok(())
    }
}

/// The `value` member of an `Any` holding a well-known type, the only
/// member besides `@type`.
fn any_value<E: de::Error>(
    embedded: &MessageDescriptor,
    mut object: serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Value, E> {
    let Some(value) = object.remove("value") else {
        return Err(E::custom(format_args!(
            "a google.protobuf.Any holding {} needs a `value`",
            embedded.full_name()
        )));
    };
    if let Some(extra) = object.keys().next() {
        return Err(E::custom(format_args!(
            "unexpected `{extra}` in google.protobuf.Any"
        )));
    }
    Ok(value)
}

/// `google.protobuf.Any`: `@type` may come anywhere in the object, so the
/// object is read whole first.
fn any<'de, D: Deserializer<'de>>(
    cx: &Cx<'_>,
    out: &mut Vec<u8>,
    deserializer: D,
) -> Result<(), D::Error> {
    let value: serde_json::Value = serde::Deserialize::deserialize(deserializer)?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(D::Error::custom("expected an object (google.protobuf.Any)"));
    };
    let Some(type_url) = object.remove("@type") else {
        if object.is_empty() {
            return Ok(());
        }
        return Err(D::Error::custom("a google.protobuf.Any without `@type`"));
    };
    let serde_json::Value::String(type_url) = type_url else {
        return Err(D::Error::custom("`@type` is not a string"));
    };
    let embedded = super::any_type(cx.options, cx.pool, &type_url).map_err(D::Error::custom)?;
    if !embedded.pool().same(cx.pool) {
        // A type of another pool (a registry) is parsed in that pool.
        let value = if embedded.info().well_known.is_some() {
            any_value(&embedded, object)?
        } else {
            serde_json::Value::Object(object)
        };
        let inner = deserialize_at(&embedded, cx.options, cx.depth.get(), value)
            .map_err(|(path, e)| D::Error::custom(format_args!("{path}: {e}")))?;
        raw::put_bytes(out, 1, type_url.as_bytes());
        raw::put_bytes(out, 2, &inner);
        return Ok(());
    }
    let mut inner = Vec::new();
    let seed = MessageSeed {
        cx,
        message: embedded.index(),
        out: &mut inner,
    };
    let result = if embedded.info().well_known.is_some() {
        seed.deserialize(any_value(&embedded, object)?)
    } else {
        seed.deserialize(serde_json::Value::Object(object))
    };
    result.map_err(D::Error::custom)?;
    raw::put_bytes(out, 1, type_url.as_bytes());
    raw::put_bytes(out, 2, &inner);
    Ok(())
}
