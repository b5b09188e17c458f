//! Messages known only by their descriptor.

use std::collections::{BTreeMap, HashMap};

use super::pool::{FieldInfo, MessageInfo, Ty};
use super::raw::{self, Raw, Scalar};
use super::{FieldDescriptor, MessageDescriptor};
use crate::decoder::Decoder;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::unknown::UnknownFields;
use crate::wire::WireType;

/// A message of any type of a [`DescriptorPool`](super::DescriptorPool),
/// decoded and encoded from its descriptor alone: what a proxy, a CLI or a
/// reflection client uses for schemas it was not compiled with.
///
/// ```
/// use protocall::reflect::{DescriptorPool, DynamicMessage, Value};
/// let pool = DescriptorPool::decode(protocall::types::FILE_DESCRIPTOR_SET)?;
/// let duration = pool.message("google.protobuf.Duration").unwrap();
/// let mut message = DynamicMessage::new(duration.clone());
/// message.set_by_name("seconds", Value::I64(90)).unwrap();
/// assert_eq!(message.encode_to_vec(), [0x08, 90]);
/// let back = DynamicMessage::decode(duration, &[0x08, 90][..]).unwrap();
/// assert_eq!(back.get_by_name("seconds"), Some(Value::I64(90)));
/// # Ok::<(), protocall::reflect::DescriptorError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicMessage {
    descriptor: MessageDescriptor,
    /// Set fields by number (implicit-presence fields only when not default).
    fields: BTreeMap<u32, Value>,
    unknown: UnknownFields,
}

/// A field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `int32`, `sint32`, `sfixed32`
    I32(i32),
    /// `int64`, `sint64`, `sfixed64`
    I64(i64),
    /// `uint32`, `fixed32`
    U32(u32),
    /// `uint64`, `fixed64`
    U64(u64),
    /// `float`
    F32(f32),
    /// `double`
    F64(f64),
    /// `string`
    String(String),
    /// `bytes` (and `string` fields that do not check UTF-8)
    Bytes(Vec<u8>),
    /// An enum value by number.
    Enum(i32),
    /// A message.
    Message(DynamicMessage),
    /// A repeated field.
    List(Vec<Value>),
    /// A map field.
    Map(HashMap<MapKey, Value>),
}

/// A map key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MapKey {
    /// `bool` keys
    Bool(bool),
    /// 32-bit signed keys
    I32(i32),
    /// 64-bit signed keys
    I64(i64),
    /// 32-bit unsigned keys
    U32(u32),
    /// 64-bit unsigned keys
    U64(u64),
    /// `string` keys
    String(String),
}

/// Why a value does not fit a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetError(String);

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetError {}

impl DynamicMessage {
    /// An empty message of this type.
    pub fn new(descriptor: MessageDescriptor) -> DynamicMessage {
        DynamicMessage {
            descriptor,
            fields: BTreeMap::new(),
            unknown: UnknownFields::new(),
        }
    }

    /// Decodes a message of this type.
    pub fn decode(
        descriptor: MessageDescriptor,
        bytes: &[u8],
    ) -> Result<DynamicMessage, DecodeError> {
        let mut message = DynamicMessage::new(descriptor);
        message.merge(bytes)?;
        Ok(message)
    }

    /// Merges an encoded message into this one, as binary decoding does,
    /// with the default limits (recursion 100; memory budget
    /// [`DynamicMessage::BUDGET_SCALE`] times the default).
    pub fn merge(&mut self, bytes: &[u8]) -> Result<(), DecodeError> {
        self.merge_with(bytes, &crate::DecodeOptions::new())
    }

    /// How many times a generated message's budget a dynamic decode gets:
    /// each of its values is a whole [`Value`] (a one-byte varint in a
    /// packed field costs one), where a generated field stores the bare
    /// type.
    pub const BUDGET_SCALE: usize = 8;

    /// Merges an encoded message into this one under `options`' limits,
    /// with [`DynamicMessage::BUDGET_SCALE`] times its memory budget. Each
    /// stored value is charged at the size of a [`Value`] (a map entry at
    /// a key and a value).
    ///
    /// ```
    /// use protocall::{DecodeErrorKind, DecodeOptions};
    /// use protocall::reflect::{DescriptorPool, DynamicMessage};
    /// let pool = DescriptorPool::decode(protocall::types::FILE_DESCRIPTOR_SET)?;
    /// let list = pool.message("google.protobuf.ListValue").unwrap();
    /// let bytes: Vec<u8> = [0x0a, 0x00].repeat(1000); // 1,000 empty values
    /// let mut message = DynamicMessage::new(list);
    /// let tight = DecodeOptions::new().memory_budget(1, 0);
    /// assert_eq!(message.merge_with(&bytes, &tight).unwrap_err().kind(), &DecodeErrorKind::MemoryBudget);
    /// message.merge_with(&bytes, &DecodeOptions::new()).unwrap();
    /// # Ok::<(), protocall::reflect::DescriptorError>(())
    /// ```
    pub fn merge_with(
        &mut self,
        bytes: &[u8],
        options: &crate::DecodeOptions,
    ) -> Result<(), DecodeError> {
        let budget = options
            .budget_for(bytes.len())
            .saturating_mul(Self::BUDGET_SCALE);
        let mut decoder = Decoder::new(bytes, options.recursion()).with_budget(budget);
        self.merge_from(&mut decoder, None)
    }

    /// The message's type.
    pub fn descriptor(&self) -> &MessageDescriptor {
        &self.descriptor
    }

    /// Fields the schema does not have, in their encoded form.
    pub fn unknown_fields(&self) -> &UnknownFields {
        &self.unknown
    }

    /// Whether the field is set (for fields without presence: not default).
    pub fn has(&self, field: &FieldDescriptor) -> bool {
        self.fields.contains_key(&field.number())
    }

    /// The field's value: its default when it is not set.
    pub fn get(&self, field: &FieldDescriptor) -> Value {
        self.get_info(field.info())
    }

    /// The value of the field of this name, if the type has one.
    pub fn get_by_name(&self, name: &str) -> Option<Value> {
        let field = self.descriptor.field_by_name(name)?;
        Some(self.get(&field))
    }

    /// Sets a field, checking that the value is of its type. Setting a
    /// oneof member clears the others.
    pub fn set(&mut self, field: &FieldDescriptor, value: Value) -> Result<(), SetError> {
        if field.containing_message() != self.descriptor {
            return Err(SetError(format!(
                "{field:?} is not a field of {}",
                self.descriptor.full_name()
            )));
        }
        check(&self.descriptor, field.info(), &value)?;
        self.put(field.info(), value);
        Ok(())
    }

    /// Sets the field of this name.
    pub fn set_by_name(&mut self, name: &str, value: Value) -> Result<(), SetError> {
        let field = self.descriptor.field_by_name(name).ok_or_else(|| {
            SetError(format!(
                "{} has no field `{name}`",
                self.descriptor.full_name()
            ))
        })?;
        self.set(&field, value)
    }

    /// Clears a field.
    pub fn clear_field(&mut self, field: &FieldDescriptor) {
        self.fields.remove(&field.number());
    }

    fn put(&mut self, field: &FieldInfo, value: Value) {
        if let Some(oneof) = field.oneof {
            let info = self.descriptor.info();
            for other in info.fields.iter().filter(|f| f.oneof == Some(oneof)) {
                self.fields.remove(&other.number);
            }
        }
        if !field.presence && !field.list && is_default(&value) {
            self.fields.remove(&field.number);
            return;
        }
        self.fields.insert(field.number, value);
    }

    /// Parses canonical JSON into a message of this type.
    #[cfg(feature = "json")]
    pub fn from_json(
        descriptor: MessageDescriptor,
        json: &str,
        options: &crate::json::Options,
    ) -> Result<DynamicMessage, crate::json::Error> {
        let binary = crate::json::json_to_binary(&descriptor, json.as_bytes(), options)?;
        let mut message = DynamicMessage::new(descriptor);
        message
            .merge_with(&binary, &options.decode_options(json.len()))
            .map_err(|e| crate::json::Error::of_decode(&message.descriptor, e))?;
        Ok(message)
    }

    /// The message as canonical JSON.
    #[cfg(feature = "json")]
    pub fn to_json(&self, options: &crate::json::Options) -> Result<String, crate::json::Error> {
        let json = crate::json::binary_to_json(&self.descriptor, &self.encode_to_vec(), options)?;
        Ok(String::from_utf8(json).expect("JSON is UTF-8"))
    }

    /// Parses text format into a message of this type.
    pub fn from_text(
        descriptor: MessageDescriptor,
        text: &str,
        options: &crate::text::Options,
    ) -> Result<DynamicMessage, crate::text::Error> {
        let binary = crate::text::text_to_binary(&descriptor, text, options)?;
        let mut message = DynamicMessage::new(descriptor);
        message
            .merge_with(&binary, &options.decode_options(text.len()))
            .map_err(|e| crate::text::Error::plain(e.to_string()))?;
        Ok(message)
    }

    /// The message in text format.
    pub fn to_text(&self, options: &crate::text::Options) -> String {
        crate::text::binary_to_text(&self.descriptor, &self.encode_to_vec(), options)
            .expect("a message's own encoding prints")
    }

    /// The binary encoding.
    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let info = self.descriptor.info();
        for (number, value) in &self.fields {
            let Some(index) = info.field_index(*number) else {
                continue;
            };
            let field = &info.fields[index];
            match value {
                Value::List(values) if field.packed => {
                    if values.is_empty() {
                        continue;
                    }
                    raw::put_key(out, field.number, WireType::LengthDelimited);
                    let start = raw::begin_len(out);
                    for v in values {
                        raw::put_scalar(out, field.ty, scalar_of(v));
                    }
                    raw::end_len(out, start);
                }
                Value::List(values) => {
                    for v in values {
                        put_value(out, field.number, field.ty, v);
                    }
                }
                Value::Map(entries) => {
                    let Ty::Message(entry) = field.ty else {
                        continue;
                    };
                    let entry_info = &self.descriptor.pool().inner().messages[entry];
                    let (key_ty, value_ty) = (entry_info.fields[0].ty, entry_info.fields[1].ty);
                    let mut keys: Vec<&MapKey> = entries.keys().collect();
                    keys.sort();
                    for key in keys {
                        raw::put_key(out, field.number, WireType::LengthDelimited);
                        let start = raw::begin_len(out);
                        put_value(out, 1, key_ty, &key.to_value());
                        put_value(out, 2, value_ty, &entries[key]);
                        raw::end_len(out, start);
                    }
                }
                v => put_value(out, field.number, field.ty, v),
            }
        }
        out.extend_from_slice(self.unknown.as_bytes());
    }

    fn merge_from(
        &mut self,
        decoder: &mut Decoder<'_>,
        group: Option<u32>,
    ) -> Result<(), DecodeError> {
        let descriptor = self.descriptor.clone();
        let pool = descriptor.pool();
        let info = descriptor.info();
        loop {
            if decoder.is_empty() {
                if group.is_some() {
                    return Err(DecodeError::new(DecodeErrorKind::GroupMismatch));
                }
                return Ok(());
            }
            let start = decoder.remaining_slice();
            let (number, wire_type) = decoder.read_key()?;
            if wire_type == WireType::EndGroup {
                return match group {
                    Some(n) if n == number => Ok(()),
                    _ => Err(DecodeError::new(DecodeErrorKind::GroupMismatch)),
                };
            }
            let field = info.field_index(number).map(|i| &info.fields[i]);
            let raw = match (field, wire_type) {
                (
                    Some(
                        field @ FieldInfo {
                            ty: Ty::Group(m), ..
                        },
                    ),
                    WireType::StartGroup,
                ) => {
                    let mut message = self.take_message(field, *m, decoder)?;
                    decoder.enter()?;
                    message
                        .merge_from(decoder, Some(number))
                        .map_err(|e| in_field(e, info, field))?;
                    decoder.leave();
                    self.merge_message(field, message);
                    continue;
                }
                (_, WireType::Varint) => Raw::Varint(decoder.read_varint()?),
                (_, WireType::Fixed64) => Raw::Fixed64(decoder.read_fixed64()?),
                (_, WireType::Fixed32) => Raw::Fixed32(decoder.read_fixed32()?),
                (_, WireType::LengthDelimited) => Raw::Len(decoder.read_bytes()?),
                (_, WireType::StartGroup) => {
                    decoder.skip_field(number, wire_type, Some(&mut self.unknown))?;
                    continue;
                }
                (_, WireType::EndGroup) => unreachable!("handled above"),
            };
            let consumed = &start[..start.len() - decoder.remaining()];
            let Some(field) = field.filter(|f| raw::fits(f, &raw)) else {
                self.unknown.push_encoded(consumed);
                continue;
            };
            self.merge_raw(pool, field, raw, consumed, decoder)
                .map_err(|e| in_field(e, info, field))?;
        }
    }

    fn merge_raw(
        &mut self,
        pool: &super::DescriptorPool,
        field: &FieldInfo,
        raw: Raw<'_>,
        consumed: &[u8],
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        if field.map {
            let Raw::Len(bytes) = raw else { return Ok(()) };
            let Ty::Message(entry) = field.ty else {
                return Ok(());
            };
            let entry_descriptor = pool.message_at(entry);
            decoder.charge(core::mem::size_of::<(MapKey, Value)>())?;
            let mut nested = decoder.nested(bytes)?;
            let mut entry_message = DynamicMessage::new(entry_descriptor.clone());
            entry_message.merge_from(&mut nested, None)?;
            decoder.take_budget(&nested);
            let entry_info = entry_descriptor.info();
            let key = entry_message.get_info(&entry_info.fields[0]);
            let value = entry_message.get_info(&entry_info.fields[1]);
            // A closed enum value the schema does not know keeps the whole
            // entry among the unknown fields.
            if let (Ty::Enum(e), Value::Enum(n)) = (entry_info.fields[1].ty, &value) {
                let info = &pool.inner().enums[e];
                if info.closed && info.name_of(*n).is_none() {
                    self.unknown.push_encoded(consumed);
                    return Ok(());
                }
            }
            let map = self
                .fields
                .entry(field.number)
                .or_insert_with(|| Value::Map(HashMap::new()));
            if let Value::Map(map) = map {
                map.insert(MapKey::from_value(key), value);
            }
            return Ok(());
        }
        if let Ty::Message(m) = field.ty {
            let Raw::Len(bytes) = raw else { return Ok(()) };
            let mut message = self.take_message(field, m, decoder)?;
            let mut nested = decoder.nested(bytes)?;
            message.merge_from(&mut nested, None)?;
            decoder.take_budget(&nested);
            self.merge_message(field, message);
            return Ok(());
        }
        let values = raw::values(
            field.ty,
            &[raw::Record {
                number: field.number,
                raw,
            }],
        )?;
        for scalar in values {
            if let (Ty::Enum(e), Scalar::Enum(n)) = (field.ty, scalar) {
                let info = &pool.inner().enums[e];
                if info.closed && info.name_of(n).is_none() {
                    let mut encoded = Vec::new();
                    raw::put_field(&mut encoded, field.number, Ty::Int32, Scalar::I32(n));
                    self.unknown.push_encoded(&encoded);
                    continue;
                }
            }
            decoder.charge(core::mem::size_of::<Value>())?;
            let value = value_of(field, scalar)?;
            if field.list {
                let list = self
                    .fields
                    .entry(field.number)
                    .or_insert_with(|| Value::List(Vec::new()));
                if let Value::List(list) = list {
                    list.push(value);
                }
            } else {
                self.put(field, value);
            }
        }
        Ok(())
    }

    fn get_info(&self, field: &FieldInfo) -> Value {
        match self.fields.get(&field.number) {
            Some(v) => v.clone(),
            None => default_value(&self.descriptor, field),
        }
    }

    /// The message a singular or repeated message field merges into next.
    /// The message a record of `field` merges into: the one set, or a new
    /// one (charged to the budget).
    fn take_message(
        &mut self,
        field: &FieldInfo,
        message: usize,
        decoder: &mut Decoder<'_>,
    ) -> Result<DynamicMessage, DecodeError> {
        if !field.list
            && let Some(Value::Message(m)) = self.fields.remove(&field.number)
        {
            return Ok(m);
        }
        decoder.charge(core::mem::size_of::<Value>())?;
        Ok(DynamicMessage::new(
            self.descriptor.pool().message_at(message),
        ))
    }

    fn merge_message(&mut self, field: &FieldInfo, message: DynamicMessage) {
        if field.list {
            let list = self
                .fields
                .entry(field.number)
                .or_insert_with(|| Value::List(Vec::new()));
            if let Value::List(list) = list {
                list.push(Value::Message(message));
            }
        } else {
            self.put(field, Value::Message(message));
        }
    }
}

fn value_of(field: &FieldInfo, scalar: Scalar<'_>) -> Result<Value, DecodeError> {
    Ok(match scalar {
        Scalar::I32(v) => Value::I32(v),
        Scalar::I64(v) => Value::I64(v),
        Scalar::U32(v) => Value::U32(v),
        Scalar::U64(v) => Value::U64(v),
        Scalar::F32(v) => Value::F32(v),
        Scalar::F64(v) => Value::F64(v),
        Scalar::Bool(v) => Value::Bool(v),
        Scalar::Enum(v) => Value::Enum(v),
        Scalar::Str(b) if field.utf8 => Value::String(
            simdutf8::basic::from_utf8(b)
                .map_err(|_| DecodeError::new(DecodeErrorKind::InvalidUtf8))?
                .to_string(),
        ),
        Scalar::Str(b) | Scalar::Bytes(b) | Scalar::Message(b) => Value::Bytes(b.to_vec()),
    })
}

fn scalar_of(value: &Value) -> Scalar<'_> {
    match value {
        Value::Bool(v) => Scalar::Bool(*v),
        Value::I32(v) => Scalar::I32(*v),
        Value::I64(v) => Scalar::I64(*v),
        Value::U32(v) => Scalar::U32(*v),
        Value::U64(v) => Scalar::U64(*v),
        Value::F32(v) => Scalar::F32(*v),
        Value::F64(v) => Scalar::F64(*v),
        Value::String(s) => Scalar::Str(s.as_bytes()),
        Value::Bytes(b) => Scalar::Bytes(b),
        Value::Enum(v) => Scalar::Enum(*v),
        Value::Message(_) | Value::List(_) | Value::Map(_) => Scalar::Bytes(b""),
    }
}

fn put_value(out: &mut Vec<u8>, number: u32, ty: Ty, value: &Value) {
    match (ty, value) {
        (Ty::Message(_), Value::Message(m)) => {
            raw::put_key(out, number, WireType::LengthDelimited);
            let start = raw::begin_len(out);
            m.encode_into(out);
            raw::end_len(out, start);
        }
        (Ty::Group(_), Value::Message(m)) => {
            raw::put_key(out, number, WireType::StartGroup);
            m.encode_into(out);
            raw::put_key(out, number, WireType::EndGroup);
        }
        _ => raw::put_field(out, number, ty, scalar_of(value)),
    }
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Bool(v) => !v,
        Value::I32(v) | Value::Enum(v) => *v == 0,
        Value::I64(v) => *v == 0,
        Value::U32(v) => *v == 0,
        Value::U64(v) => *v == 0,
        // -0.0 is kept: it is not the default's bits.
        Value::F32(v) => v.to_bits() == 0,
        Value::F64(v) => v.to_bits() == 0,
        Value::String(s) => s.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::Message(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
    }
}

/// A field's default: its declared `[default = …]`, else zero, empty or
/// the enum's first value.
fn default_value(message: &MessageDescriptor, field: &FieldInfo) -> Value {
    if field.map {
        return Value::Map(HashMap::new());
    }
    if field.list {
        return Value::List(Vec::new());
    }
    let declared = field.default.as_deref();
    let pool = message.pool();
    let parse = |f: fn(&str) -> Option<Value>, zero: Value| declared.and_then(f).unwrap_or(zero);
    match field.ty {
        Ty::Bool => parse(|d| d.parse().ok().map(Value::Bool), Value::Bool(false)),
        Ty::Int32 | Ty::Sint32 | Ty::Sfixed32 => {
            parse(|d| d.parse().ok().map(Value::I32), Value::I32(0))
        }
        Ty::Int64 | Ty::Sint64 | Ty::Sfixed64 => {
            parse(|d| d.parse().ok().map(Value::I64), Value::I64(0))
        }
        Ty::Uint32 | Ty::Fixed32 => parse(|d| d.parse().ok().map(Value::U32), Value::U32(0)),
        Ty::Uint64 | Ty::Fixed64 => parse(|d| d.parse().ok().map(Value::U64), Value::U64(0)),
        Ty::Float => parse(
            |d| super::defaults::parse_float_default(d).map(|v| Value::F32(v as f32)),
            Value::F32(0.0),
        ),
        Ty::Double => parse(
            |d| super::defaults::parse_float_default(d).map(Value::F64),
            Value::F64(0.0),
        ),
        Ty::String if field.utf8 => Value::String(declared.unwrap_or_default().to_string()),
        Ty::String => Value::Bytes(declared.unwrap_or_default().as_bytes().to_vec()),
        Ty::Bytes => Value::Bytes(
            declared
                .map(super::defaults::unescape_bytes)
                .unwrap_or_default(),
        ),
        Ty::Enum(e) => {
            let info = &pool.inner().enums[e];
            let number = declared
                .and_then(|d| info.number_of(d))
                .or_else(|| info.values.first().map(|(_, n)| *n))
                .unwrap_or(0);
            Value::Enum(number)
        }
        Ty::Message(m) | Ty::Group(m) => Value::Message(DynamicMessage::new(pool.message_at(m))),
    }
}

/// Whether `value` is of the field's type.
fn check(message: &MessageDescriptor, field: &FieldInfo, value: &Value) -> Result<(), SetError> {
    let mismatch = || SetError(format!("a {value:?} does not fit field `{}`", field.name));
    if field.map {
        return match value {
            Value::Map(_) => Ok(()),
            _ => Err(mismatch()),
        };
    }
    if field.list {
        let Value::List(values) = value else {
            return Err(mismatch());
        };
        let element = FieldInfo {
            list: false,
            ..field.clone()
        };
        return values.iter().try_for_each(|v| check(message, &element, v));
    }
    let fits = match (field.ty, value) {
        (Ty::Bool, Value::Bool(_)) => true,
        (Ty::Int32 | Ty::Sint32 | Ty::Sfixed32, Value::I32(_)) => true,
        (Ty::Int64 | Ty::Sint64 | Ty::Sfixed64, Value::I64(_)) => true,
        (Ty::Uint32 | Ty::Fixed32, Value::U32(_)) => true,
        (Ty::Uint64 | Ty::Fixed64, Value::U64(_)) => true,
        (Ty::Float, Value::F32(_)) | (Ty::Double, Value::F64(_)) => true,
        (Ty::String, Value::String(_)) => true,
        (Ty::String, Value::Bytes(_)) => !field.utf8,
        (Ty::Bytes, Value::Bytes(_)) => true,
        (Ty::Enum(_), Value::Enum(_)) => true,
        (Ty::Message(m) | Ty::Group(m), Value::Message(inner)) => {
            inner.descriptor == message.pool().message_at(m)
        }
        _ => false,
    };
    if fits { Ok(()) } else { Err(mismatch()) }
}

impl MapKey {
    fn from_value(value: Value) -> MapKey {
        match value {
            Value::Bool(v) => MapKey::Bool(v),
            Value::I32(v) => MapKey::I32(v),
            Value::I64(v) => MapKey::I64(v),
            Value::U32(v) => MapKey::U32(v),
            Value::U64(v) => MapKey::U64(v),
            Value::String(v) => MapKey::String(v),
            Value::Bytes(v) => MapKey::String(String::from_utf8_lossy(&v).into_owned()),
            _ => MapKey::Bool(false),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            MapKey::Bool(v) => Value::Bool(*v),
            MapKey::I32(v) => Value::I32(*v),
            MapKey::I64(v) => Value::I64(*v),
            MapKey::U32(v) => Value::U32(*v),
            MapKey::U64(v) => Value::U64(*v),
            MapKey::String(v) => Value::String(v.clone()),
        }
    }
}

/// `error` with the field it happened in added to its path.
#[cold]
fn in_field(error: DecodeError, message: &MessageInfo, field: &FieldInfo) -> DecodeError {
    error.push_owned(message.full_name.clone(), field.name.clone())
}
