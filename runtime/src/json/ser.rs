//! Printing: a message's binary encoding walked by its descriptor, into
//! any serde `Serializer`.

use std::cell::Cell;

use base64::Engine as _;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::Options;
use super::wkt;
use crate::reflect::raw::{self, Record, Scalar, Singular};
use crate::reflect::{DescriptorPool, FieldInfo, MessageDescriptor, Ty};

/// Prints the message `descriptor` whose encoding is `binary`, nested
/// `depth` messages deep.
pub(super) fn serialize_at<S: Serializer>(
    descriptor: &MessageDescriptor,
    binary: &[u8],
    options: &Options,
    depth: u32,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let cx = Cx {
        pool: descriptor.pool(),
        options,
        depth: Cell::new(depth),
    };
    MessageJson {
        cx: &cx,
        message: descriptor.index(),
        bytes: binary,
    }
    .serialize(serializer)
}

/// Prints the extensions of message `descriptor` found in `unknown` (the
/// encoding of its unknown fields) into `map`.
pub(super) fn extensions<M: SerializeMap>(
    descriptor: &MessageDescriptor,
    unknown: &[u8],
    options: &Options,
    depth: u32,
    map: &mut M,
) -> Result<(), M::Error> {
    let cx = Cx {
        pool: descriptor.pool(),
        options,
        depth: Cell::new(depth),
    };
    MessageJson {
        cx: &cx,
        message: descriptor.index(),
        bytes: unknown,
    }
    .extensions(map)
}

pub(super) struct Cx<'a> {
    pub(super) pool: &'a DescriptorPool,
    pub(super) options: &'a Options,
    depth: Cell<u32>,
}

impl Cx<'_> {
    /// The same print, in another pool's types.
    pub(super) fn with_pool<'p>(&'p self, pool: &'p DescriptorPool) -> Cx<'p> {
        Cx {
            pool,
            options: self.options,
            depth: Cell::new(self.depth.get()),
        }
    }

    fn enter<E: serde::ser::Error>(&self) -> Result<(), E> {
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

    /// The field name to print.
    fn key<'f>(&self, field: &'f FieldInfo) -> &'f str {
        if self.options.proto_field_names {
            &field.name
        } else {
            &field.json_name
        }
    }
}

/// A message: its encoding and its type.
pub(super) struct MessageJson<'a, 'b> {
    pub(super) cx: &'a Cx<'a>,
    pub(super) message: usize,
    pub(super) bytes: &'b [u8],
}

impl Serialize for MessageJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.cx.enter()?;
        let info = &self.cx.pool.inner().messages[self.message];
        let result = match info.well_known {
            None => {
                let mut map = serializer.serialize_map(None)?;
                self.fields(&mut map)?;
                map.end()
            }
            Some(kind) => wkt::serialize(self, kind, serializer),
        };
        self.cx.leave();
        result
    }
}

impl MessageJson<'_, '_> {
    /// Writes the message's fields into `map` (shared with `Any`, which
    /// writes `@type` first).
    pub(super) fn fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        self.walk(map, false)
    }

    /// Writes only the extensions among the message's records.
    fn extensions<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        self.walk(map, true)
    }

    fn walk<M: SerializeMap>(&self, map: &mut M, only_extensions: bool) -> Result<(), M::Error> {
        let pool = self.cx.pool.inner();
        let info = &pool.messages[self.message];
        let records = raw::records(self.bytes).map_err(M::Error::custom)?;
        let mut next_field = 0;
        for run in raw::runs(&records) {
            let number = run[0].number;
            let field = match info.field_index(number) {
                Some(_) if only_extensions => continue,
                Some(index) => {
                    if self.cx.options.emit_unpopulated {
                        self.defaults(map, &info.fields[next_field..index])?;
                        next_field = index + 1;
                    }
                    &info.fields[index]
                }
                None => match pool
                    .extensions_of(self.message)
                    .find(|e| e.number == number)
                {
                    Some(extension) => {
                        let key = format!("[{}]", extension.full_name);
                        let _ = self.entry(map, &key, extension, run)?;
                        continue;
                    }
                    // Unknown fields have no JSON form.
                    None => continue,
                },
            };
            let printed = self.entry(map, self.cx.key(field), field, run)?;
            if !printed && self.cx.options.emit_unpopulated && !field.presence {
                // Only records it cannot hold (unknown fields): unpopulated.
                self.defaults(map, std::slice::from_ref(field))?;
            }
        }
        if self.cx.options.emit_unpopulated && !only_extensions {
            self.defaults(map, &info.fields[next_field..])?;
        }
        Ok(())
    }

    fn entry<M: SerializeMap>(
        &self,
        map: &mut M,
        key: &str,
        field: &FieldInfo,
        run: &[Record<'_>],
    ) -> Result<bool, M::Error> {
        // What the field cannot hold is an unknown field, without JSON form.
        let (run, _) = raw::split(self.cx.pool.inner(), field, run).map_err(M::Error::custom)?;
        if run.is_empty() {
            return Ok(false);
        }
        map.serialize_entry(
            key,
            &FieldJson {
                cx: self.cx,
                field,
                run: &run,
            },
        )?;
        Ok(true)
    }

    /// The defaults of `fields` that have no presence (for `emit_unpopulated`).
    fn defaults<M: SerializeMap>(&self, map: &mut M, fields: &[FieldInfo]) -> Result<(), M::Error> {
        for field in fields.iter().filter(|f| !f.presence) {
            map.serialize_entry(self.cx.key(field), &DefaultJson { cx: self.cx, field })?;
        }
        Ok(())
    }
}

/// Every record of one field.
pub(super) struct FieldJson<'a, 'b> {
    pub(super) cx: &'a Cx<'a>,
    pub(super) field: &'a FieldInfo,
    pub(super) run: &'b [Record<'b>],
}

impl Serialize for FieldJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (cx, field) = (self.cx, self.field);
        if field.map {
            let Ty::Message(entry) = field.ty else {
                unreachable!("map fields are messages")
            };
            let entry = &cx.pool.inner().messages[entry];
            let (key_field, value_field) = (&entry.fields[0], &entry.fields[1]);
            let mut map = serializer.serialize_map(Some(self.run.len()))?;
            for record in self.run {
                let raw::Raw::Len(bytes) = record.raw else {
                    continue;
                };
                let (key, value) = raw::entry(bytes).map_err(S::Error::custom)?;
                let key = match key.last().filter(|r| raw::fits(key_field, &r.raw)) {
                    Some(_) => match raw::singular(key_field.ty, &key).map_err(S::Error::custom)? {
                        Singular::One(scalar) => map_key(scalar)?,
                        Singular::Merged(_) => unreachable!("keys are scalars"),
                    },
                    None => default_map_key(key_field.ty),
                };
                let value: Vec<Record<'_>> = value
                    .into_iter()
                    .filter(|r| raw::fits(value_field, &r.raw))
                    .collect();
                if value.is_empty() {
                    map.serialize_entry(
                        &key,
                        &DefaultJson {
                            cx,
                            field: value_field,
                        },
                    )?;
                } else {
                    let value = raw::singular(value_field.ty, &value).map_err(S::Error::custom)?;
                    map.serialize_entry(
                        &key,
                        &SingularJson {
                            cx,
                            field: value_field,
                            value: &value,
                        },
                    )?;
                }
            }
            return map.end();
        }
        if field.list {
            let values = raw::values(field.ty, self.run).map_err(S::Error::custom)?;
            let mut seq = serializer.serialize_seq(Some(values.len()))?;
            for value in values {
                seq.serialize_element(&ScalarJson { cx, field, value })?;
            }
            return seq.end();
        }
        let value = raw::singular(field.ty, self.run).map_err(S::Error::custom)?;
        SingularJson {
            cx,
            field,
            value: &value,
        }
        .serialize(serializer)
    }
}

fn map_key<E: serde::ser::Error>(scalar: Scalar<'_>) -> Result<String, E> {
    Ok(match scalar {
        Scalar::I32(v) => v.to_string(),
        Scalar::I64(v) => v.to_string(),
        Scalar::U32(v) => v.to_string(),
        Scalar::U64(v) => v.to_string(),
        Scalar::Bool(v) => v.to_string(),
        Scalar::Str(b) => std::str::from_utf8(b)
            .map_err(|_| E::custom("a map key is not valid UTF-8"))?
            .to_string(),
        _ => return Err(E::custom("a map key of a type maps cannot have")),
    })
}

fn default_map_key(ty: Ty) -> String {
    match ty {
        Ty::Bool => "false".into(),
        Ty::String => String::new(),
        _ => "0".into(),
    }
}

struct SingularJson<'a, 'b> {
    cx: &'a Cx<'a>,
    field: &'a FieldInfo,
    value: &'b Singular<'b>,
}

impl Serialize for SingularJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value = match self.value {
            Singular::One(scalar) => *scalar,
            Singular::Merged(bytes) => Scalar::Message(bytes),
        };
        ScalarJson {
            cx: self.cx,
            field: self.field,
            value,
        }
        .serialize(serializer)
    }
}

/// One value of a field.
pub(super) struct ScalarJson<'a, 'b> {
    pub(super) cx: &'a Cx<'a>,
    pub(super) field: &'a FieldInfo,
    pub(super) value: Scalar<'b>,
}

impl Serialize for ScalarJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        scalar(self.cx, self.field.ty, self.value, serializer)
    }
}

/// Prints one value of type `ty`.
pub(super) fn scalar<S: Serializer>(
    cx: &Cx<'_>,
    ty: Ty,
    value: Scalar<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Scalar::I32(v) => serializer.serialize_i32(v),
        Scalar::U32(v) => serializer.serialize_u32(v),
        Scalar::I64(v) => serializer.collect_str(&v),
        Scalar::U64(v) => serializer.collect_str(&v),
        Scalar::F32(v) if v.is_finite() => serializer.serialize_f32(v),
        Scalar::F64(v) if v.is_finite() => serializer.serialize_f64(v),
        Scalar::F32(v) => serializer.serialize_str(non_finite(v.into())),
        Scalar::F64(v) => serializer.serialize_str(non_finite(v)),
        Scalar::Bool(v) => serializer.serialize_bool(v),
        Scalar::Str(b) => match std::str::from_utf8(b) {
            Ok(s) => serializer.serialize_str(s),
            Err(_) => Err(S::Error::custom("a string field holds invalid UTF-8")),
        },
        Scalar::Bytes(b) => {
            serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
        }
        Scalar::Enum(number) => {
            let Ty::Enum(index) = ty else {
                unreachable!("enum values have enum types")
            };
            let info = &cx.pool.inner().enums[index];
            if info.full_name == "google.protobuf.NullValue" {
                return serializer.serialize_unit();
            }
            match info.name_of(number) {
                Some(name) if !cx.options.enums_as_ints => serializer.serialize_str(name),
                _ => serializer.serialize_i32(number),
            }
        }
        Scalar::Message(bytes) => {
            let (Ty::Message(message) | Ty::Group(message)) = ty else {
                unreachable!("message values have message types")
            };
            MessageJson { cx, message, bytes }.serialize(serializer)
        }
    }
}

pub(super) fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Prints the default value of `field`.
pub(super) fn default_value<S: Serializer>(
    cx: &Cx<'_>,
    field: &FieldInfo,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    DefaultJson { cx, field }.serialize(serializer)
}

/// The default value of a field without presence (`emit_unpopulated`).
struct DefaultJson<'a> {
    cx: &'a Cx<'a>,
    field: &'a FieldInfo,
}

impl Serialize for DefaultJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let field = self.field;
        if field.map {
            return serializer.serialize_map(Some(0))?.end();
        }
        if field.list {
            return serializer.serialize_seq(Some(0))?.end();
        }
        let value = match field.ty {
            Ty::Int32 | Ty::Sint32 | Ty::Sfixed32 => Scalar::I32(0),
            Ty::Int64 | Ty::Sint64 | Ty::Sfixed64 => Scalar::I64(0),
            Ty::Uint32 | Ty::Fixed32 => Scalar::U32(0),
            Ty::Uint64 | Ty::Fixed64 => Scalar::U64(0),
            Ty::Float => Scalar::F32(0.0),
            Ty::Double => Scalar::F64(0.0),
            Ty::Bool => Scalar::Bool(false),
            Ty::String => Scalar::Str(b""),
            Ty::Bytes => Scalar::Bytes(b""),
            Ty::Enum(index) => {
                let first = self.cx.pool.inner().enums[index].values.first();
                Scalar::Enum(first.map_or(0, |(_, n)| *n))
            }
            Ty::Message(_) | Ty::Group(_) => Scalar::Message(b""),
        };
        scalar(self.cx, field.ty, value, serializer)
    }
}
