//! Printing generated messages straight from their fields.
//!
//! Generated code overrides `ReflectMessage::__print_json` with one line
//! per field (`Int32::json_implicit(p, &mut map, "fooBar", "foo_bar",
//! &self.foo_bar)?`), so printing reads the struct as it is instead of
//! encoding it to binary and walking that by descriptor. The walk
//! ([`super::ser`]) stays for what has no struct (dynamic messages), for
//! the well-known types' special forms, and for extensions, which live in
//! unknown fields. Both paths print the same JSON: the conformance suite
//! runs through each.

use std::cell::Cell;
use std::marker::PhantomData;

use base64::display::Base64Display;
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use super::{Options, ser};
use crate::Enumeration;
use crate::codec::{
    Bool, Bytes, BytesStorage, ClosedEnum, Double, Enum, FieldCodec, Fixed32, Fixed64, Float,
    Group, Int32, Int64, Map, MapStorage, Msg, Sfixed32, Sfixed64, Sint32, Sint64, Str, Uint32,
    Uint64,
};
use crate::enumeration::EnumValue;
use crate::reflect::{MessageDescriptor, ReflectMessage};
use crate::unknown::UnknownFields;

/// The options and the nesting depth of one print.
pub struct Printer<'a> {
    options: &'a Options,
    depth: Cell<u32>,
}

impl<'a> Printer<'a> {
    /// A print with `options`, at the top level.
    pub fn new(options: &'a Options) -> Printer<'a> {
        Printer {
            options,
            depth: Cell::new(0),
        }
    }

    /// Opens a message's object (counting its depth against the limit).
    pub fn begin<S: Serializer>(&self, serializer: S) -> Result<S::SerializeMap, S::Error> {
        let depth = self.depth.get() + 1;
        if depth > self.options.recursion_limit {
            return Err(S::Error::custom(format_args!(
                "messages nest deeper than the limit of {}",
                self.options.recursion_limit
            )));
        }
        self.depth.set(depth);
        serializer.serialize_map(None)
    }

    /// Closes what [`Printer::begin`] opened.
    pub fn end<M: SerializeMap>(&self, map: M) -> Result<M::Ok, M::Error> {
        self.depth.set(self.depth.get() - 1);
        map.end()
    }

    /// Prints the extensions among a message's unknown fields (`"[pkg.ext]"`
    /// keys); other unknown fields have no JSON form.
    pub fn extensions<M: SerializeMap>(
        &self,
        map: &mut M,
        descriptor: &MessageDescriptor,
        unknown: &UnknownFields,
    ) -> Result<(), M::Error> {
        if unknown.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        unknown.encode(&mut bytes);
        ser::extensions(descriptor, &bytes, self.options, self.depth.get(), map)
    }

    /// Prints `message` through its binary encoding and descriptor: the
    /// well-known types' special forms, and messages without generated
    /// printing.
    pub fn binary<T: ReflectMessage, S: Serializer>(
        &self,
        message: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        ser::serialize_at(
            &T::descriptor(),
            &message.encode_to_vec(),
            self.options,
            self.depth.get(),
            serializer,
        )
    }

    fn key(&self, json: &'static str, proto: &'static str) -> &'static str {
        if self.options.proto_field_names {
            proto
        } else {
            json
        }
    }

    fn emit_unpopulated(&self) -> bool {
        self.options.emit_unpopulated
    }
}

/// How a field kind prints one value stored as `T`.
pub trait PrintValue<T: ?Sized> {
    /// Prints `value`.
    fn print_value<S: Serializer>(
        value: &T,
        p: &Printer<'_>,
        serializer: S,
    ) -> Result<S::Ok, S::Error>;
}

/// How a map key kind prints a key stored as `T` (always a JSON string).
pub trait PrintKey<T> {
    /// Prints `key`.
    fn print_key<S: Serializer>(key: &T, serializer: S) -> Result<S::Ok, S::Error>;
}

macro_rules! print_as {
    ($($kind:ident: $t:ty => $method:ident;)*) => {$(
        impl PrintValue<$t> for $kind {
            #[inline]
            fn print_value<S: Serializer>(value: &$t, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
                s.$method(*value)
            }
        }
    )*};
}

print_as! {
    Int32: i32 => serialize_i32;
    Sint32: i32 => serialize_i32;
    Sfixed32: i32 => serialize_i32;
    Uint32: u32 => serialize_u32;
    Fixed32: u32 => serialize_u32;
    Bool: bool => serialize_bool;
}

// 64-bit integers are strings: JavaScript numbers lose precision past 2^53.
macro_rules! print_as_string {
    ($($kind:ident: $t:ty;)*) => {$(
        impl PrintValue<$t> for $kind {
            #[inline]
            fn print_value<S: Serializer>(value: &$t, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(itoa::Buffer::new().format(*value))
            }
        }
    )*};
}

print_as_string! {
    Int64: i64;
    Sint64: i64;
    Sfixed64: i64;
    Uint64: u64;
    Fixed64: u64;
}

impl PrintValue<f32> for Float {
    #[inline]
    fn print_value<S: Serializer>(value: &f32, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f32(*value)
        } else {
            s.serialize_str(ser::non_finite((*value).into()))
        }
    }
}

impl PrintValue<f64> for Double {
    #[inline]
    fn print_value<S: Serializer>(value: &f64, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        if value.is_finite() {
            s.serialize_f64(*value)
        } else {
            s.serialize_str(ser::non_finite(*value))
        }
    }
}

impl PrintValue<String> for Str {
    #[inline]
    fn print_value<S: Serializer>(
        value: &String,
        _: &Printer<'_>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(value)
    }
}

impl<T: BytesStorage> PrintValue<T> for Bytes {
    #[inline]
    fn print_value<S: Serializer>(value: &T, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        let engine = &base64::engine::general_purpose::STANDARD;
        s.collect_str(&Base64Display::new(value.as_slice(), engine))
    }
}

/// A `string` field kept as bytes because its UTF-8 is not checked on
/// decode (editions' `utf8_validation = NONE`): a string in JSON, an error
/// when the bytes are not UTF-8. On the wire it is [`Bytes`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Utf8Bytes;

impl<T: BytesStorage> FieldCodec<T> for Utf8Bytes {
    const WIRE_TYPE: crate::wire::WireType = <Bytes as FieldCodec<T>>::WIRE_TYPE;
    const PACKABLE: bool = false;

    fn encode_value<B: bytes::BufMut + ?Sized>(value: &T, buf: &mut B) {
        Bytes::encode_value(value, buf)
    }

    fn value_len(value: &T) -> usize {
        <Bytes as FieldCodec<T>>::value_len(value)
    }

    fn merge_value(
        value: &mut T,
        decoder: &mut crate::decoder::Decoder<'_>,
    ) -> Result<(), crate::DecodeError> {
        Bytes::merge_value(value, decoder)
    }

    fn is_default(value: &T) -> bool {
        <Bytes as FieldCodec<T>>::is_default(value)
    }
}

impl<T: BytesStorage> PrintValue<T> for Utf8Bytes {
    #[inline]
    fn print_value<S: Serializer>(value: &T, _: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        Utf8Bytes::print_key(value, s)
    }
}

impl<T: BytesStorage> PrintKey<T> for Utf8Bytes {
    #[inline]
    fn print_key<S: Serializer>(key: &T, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(key.as_slice()) {
            Ok(text) => s.serialize_str(text),
            Err(_) => Err(S::Error::custom("a string field holds invalid UTF-8")),
        }
    }
}

/// An enum value by name (by number when asked, or when the number is not
/// declared); `google.protobuf.NullValue` is `null`.
fn print_enum<E: Enumeration, S: Serializer>(
    number: i32,
    known: Option<E>,
    p: &Printer<'_>,
    s: S,
) -> Result<S::Ok, S::Error> {
    if E::FULL_NAME == "google.protobuf.NullValue" {
        return s.serialize_unit();
    }
    match known {
        Some(value) if !p.options.enums_as_ints => s.serialize_str(value.as_str_name()),
        _ => s.serialize_i32(number),
    }
}

impl<E: Enumeration> PrintValue<EnumValue<E>> for Enum {
    #[inline]
    fn print_value<S: Serializer>(
        value: &EnumValue<E>,
        p: &Printer<'_>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        print_enum(value.to_i32(), value.known(), p, s)
    }
}

impl<E: Enumeration> PrintValue<E> for ClosedEnum {
    #[inline]
    fn print_value<S: Serializer>(value: &E, p: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        print_enum(value.to_i32(), Some(*value), p, s)
    }
}

impl<M: ReflectMessage> PrintValue<M> for Msg {
    #[inline]
    fn print_value<S: Serializer>(value: &M, p: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        value.__print_json(p, s)
    }
}

impl<M: ReflectMessage> PrintValue<M> for Group {
    #[inline]
    fn print_value<S: Serializer>(value: &M, p: &Printer<'_>, s: S) -> Result<S::Ok, S::Error> {
        value.__print_json(p, s)
    }
}

impl PrintKey<String> for Str {
    #[inline]
    fn print_key<S: Serializer>(key: &String, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(key)
    }
}

macro_rules! print_key_as_string {
    ($($kind:ident: $t:ty;)*) => {$(
        impl PrintKey<$t> for $kind {
            #[inline]
            fn print_key<S: Serializer>(key: &$t, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(itoa::Buffer::new().format(*key))
            }
        }
    )*};
}

print_key_as_string! {
    Int32: i32; Sint32: i32; Sfixed32: i32;
    Int64: i64; Sint64: i64; Sfixed64: i64;
    Uint32: u32; Fixed32: u32;
    Uint64: u64; Fixed64: u64;
}

impl PrintKey<bool> for Bool {
    #[inline]
    fn print_key<S: Serializer>(key: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if *key { "true" } else { "false" })
    }
}

/// One value, as serde sees it.
struct Value<'p, 'v, K, T> {
    p: &'p Printer<'p>,
    value: &'v T,
    kind: PhantomData<K>,
}

impl<K: PrintValue<T>, T> Serialize for Value<'_, '_, K, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        K::print_value(self.value, self.p, s)
    }
}

fn value<'p, 'v, K, T>(p: &'p Printer<'p>, value: &'v T) -> Value<'p, 'v, K, T> {
    Value {
        p,
        value,
        kind: PhantomData,
    }
}

/// A repeated field's values.
struct List<'p, 'v, K, T> {
    p: &'p Printer<'p>,
    values: &'v [T],
    kind: PhantomData<K>,
}

impl<K: PrintValue<T>, T> Serialize for List<'_, '_, K, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.values.len()))?;
        for v in self.values {
            seq.serialize_element(&value::<K, T>(self.p, v))?;
        }
        seq.end()
    }
}

/// A map field's entries.
struct Entries<'p, 'v, KC, VC, K, V, M> {
    p: &'p Printer<'p>,
    map: &'v M,
    kinds: PhantomData<(KC, VC, K, V)>,
}

/// A map key, as serde sees it.
struct Key<'k, KC, K>(&'k K, PhantomData<KC>);

impl<KC: PrintKey<K>, K> Serialize for Key<'_, KC, K> {
    #[inline]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        KC::print_key(self.0, s)
    }
}

impl<KC: PrintKey<K>, VC: PrintValue<V>, K, V, M: MapStorage<K, V>> Serialize
    for Entries<'_, '_, KC, VC, K, V, M>
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(self.map.entry_count()))?;
        let mut failed = None;
        self.map.for_each_entry(|k, v| {
            if failed.is_none() {
                let key = Key::<KC, K>(k, PhantomData);
                failed = out.serialize_entry(&key, &value::<VC, V>(self.p, v)).err();
            }
        });
        match failed {
            Some(e) => Err(e),
            None => out.end(),
        }
    }
}

/// The printing functions of every field kind, one per cardinality (a
/// packed field prints as a repeated one).
macro_rules! print_api {
    ($($kind:ident)*) => {$(
        impl $kind {
            /// Prints a field unconditionally (a oneof member, a required field).
            #[inline]
            pub fn json<T, M: SerializeMap>(
                p: &Printer<'_>,
                map: &mut M,
                json: &'static str,
                proto: &'static str,
                value: &T,
            ) -> Result<(), M::Error>
            where
                Self: PrintValue<T>,
            {
                map.serialize_entry(p.key(json, proto), &self::value::<Self, T>(p, value))
            }

            /// Prints a field with implicit presence unless it holds its
            /// default (and `emit_unpopulated` is off).
            #[inline]
            pub fn json_implicit<T, M: SerializeMap>(
                p: &Printer<'_>,
                map: &mut M,
                json: &'static str,
                proto: &'static str,
                value: &T,
            ) -> Result<(), M::Error>
            where
                Self: PrintValue<T> + FieldCodec<T>,
            {
                if <Self as FieldCodec<T>>::is_default(value) && !p.emit_unpopulated() {
                    return Ok(());
                }
                Self::json(p, map, json, proto, value)
            }

            /// Prints a field with explicit presence when it is set.
            #[inline]
            pub fn json_optional<T, M: SerializeMap>(
                p: &Printer<'_>,
                map: &mut M,
                json: &'static str,
                proto: &'static str,
                value: &Option<T>,
            ) -> Result<(), M::Error>
            where
                Self: PrintValue<T>,
            {
                match value {
                    Some(value) => Self::json(p, map, json, proto, value),
                    None => Ok(()),
                }
            }

            /// Prints a repeated field unless it is empty (and
            /// `emit_unpopulated` is off).
            #[inline]
            pub fn json_repeated<T, M: SerializeMap>(
                p: &Printer<'_>,
                map: &mut M,
                json: &'static str,
                proto: &'static str,
                values: &[T],
            ) -> Result<(), M::Error>
            where
                Self: PrintValue<T>,
            {
                if values.is_empty() && !p.emit_unpopulated() {
                    return Ok(());
                }
                let list = List::<Self, T> { p, values, kind: PhantomData };
                map.serialize_entry(p.key(json, proto), &list)
            }
        }
    )*};
}

print_api! {
    Int32 Int64 Uint32 Uint64 Sint32 Sint64 Fixed32 Fixed64 Sfixed32 Sfixed64
    Float Double Bool Str Bytes Utf8Bytes Enum ClosedEnum Msg Group
}

impl Map {
    /// Prints a map field unless it is empty (and `emit_unpopulated` is
    /// off); keys are strings, as JSON objects need.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn json<KC, VC, K, V, S, M>(
        _key: KC,
        _value: VC,
        p: &Printer<'_>,
        map: &mut M,
        json: &'static str,
        proto: &'static str,
        entries: &S,
    ) -> Result<(), M::Error>
    where
        KC: PrintKey<K>,
        VC: PrintValue<V>,
        S: MapStorage<K, V>,
        M: SerializeMap,
    {
        if entries.entry_count() == 0 && !p.emit_unpopulated() {
            return Ok(());
        }
        let entries = Entries::<KC, VC, K, V, S> {
            p,
            map: entries,
            kinds: PhantomData,
        };
        map.serialize_entry(p.key(json, proto), &entries)
    }
}
