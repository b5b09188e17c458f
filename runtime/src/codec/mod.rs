//! Field codecs: how each protobuf field kind is written and read.
//!
//! Each field kind is a unit struct (`Int32`, `Sint64`, `Str`, `Msg`, …)
//! implementing [`FieldCodec`] for the Rust type that stores it. Generated
//! code calls the kind's associated functions, one per field cardinality:
//!
//! ```
//! use protocall::__private::codec::{Int32, Str};
//! let mut buf = Vec::new();
//! Int32::encode_implicit(1, &150, &mut buf);        // singular, proto3
//! Str::encode_repeated(2, &["a".to_string()], &mut buf);
//! Int32::encode_packed(3, &[1, 2, 3], &mut buf);
//! assert_eq!(buf, [0x08, 0x96, 0x01, 0x12, 0x01, b'a', 0x1a, 0x03, 1, 2, 3]);
//! ```
//!
//! The functions are thin wrappers over one generic implementation, so every
//! kind has the same surface and the same semantics (packed and unpacked
//! accepted on decode for every packable kind, last value wins for scalars,
//! messages merge).

mod enums;
mod map;
mod message;
mod scalar;
pub mod view;

pub use enums::{ClosedEnum, Enum};
pub use map::{Map, MapStorage};
pub use message::{Group, GroupOf, Msg};
pub use scalar::{
    Bool, Bytes, BytesStorage, Double, Fixed32, Fixed64, Float, Int32, Int64, Sfixed32, Sfixed64,
    Sint32, Sint64, Str, Uint32, Uint64,
};

use bytes::BufMut;

use crate::decoder::Decoder;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{self, WireType};

/// How one field kind encodes a value stored as `T`.
///
/// ```
/// use protocall::__private::codec::{FieldCodec, Sint32};
/// fn describe<K: FieldCodec<T>, T>(value: &T) -> (protocall::__private::WireType, usize) {
///     (K::WIRE_TYPE, K::value_len(value))
/// }
/// assert_eq!(describe::<Sint32, i32>(&-1), (protocall::__private::WireType::Varint, 1));
/// ```
pub trait FieldCodec<T> {
    /// The wire type of a single value.
    ///
    /// ```
    /// use protocall::__private::{WireType, codec::{FieldCodec, Str}};
    /// assert_eq!(<Str as FieldCodec<String>>::WIRE_TYPE, WireType::LengthDelimited);
    /// ```
    const WIRE_TYPE: WireType;
    /// Whether repeated fields of this kind may use packed encoding.
    ///
    /// ```
    /// use protocall::__private::codec::{FieldCodec, Int32, Str};
    /// assert!(<Int32 as FieldCodec<i32>>::PACKABLE);
    /// assert!(!<Str as FieldCodec<String>>::PACKABLE);
    /// ```
    const PACKABLE: bool;
    /// Bytes per value for fixed-width kinds, 0 for variable-width ones.
    ///
    /// ```
    /// use protocall::__private::codec::{Fixed64, FieldCodec, Uint64};
    /// assert_eq!(<Fixed64 as FieldCodec<u64>>::FIXED_SIZE, 8);
    /// assert_eq!(<Uint64 as FieldCodec<u64>>::FIXED_SIZE, 0);
    /// ```
    const FIXED_SIZE: usize = 0;
    /// Heap bytes a default `T` holds (a boxed message's box), charged to
    /// the decode's memory budget when one is created.
    #[doc(hidden)]
    const DEFAULT_HEAP: usize = 0;

    /// Writes the value (with its length prefix, for length-delimited kinds).
    ///
    /// ```
    /// use protocall::__private::codec::{FieldCodec, Str};
    /// let mut buf = Vec::new();
    /// Str::encode_value(&"hi".to_string(), &mut buf);
    /// assert_eq!(buf, [0x02, b'h', b'i']); // no key
    /// ```
    fn encode_value<B: BufMut + ?Sized>(value: &T, buf: &mut B);
    /// Bytes [`FieldCodec::encode_value`] writes.
    ///
    /// ```
    /// use protocall::__private::codec::{FieldCodec, Int32};
    /// assert_eq!(Int32::value_len(&1), 1);
    /// assert_eq!(Int32::value_len(&-1), 10);
    /// ```
    fn value_len(value: &T) -> usize;
    /// Reads one value (its key already consumed) into `value`.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::__private::codec::{FieldCodec, Uint32};
    /// #[derive(Debug, Default)]
    /// struct Holder { value: u32 }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match (number, wire_type) {
    ///             (1, WireType::Varint) => Uint32::merge_value(&mut self.value, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// assert_eq!(Holder::decode(&[0x08, 0x96, 0x01][..]).unwrap().value, 150);
    /// ```
    fn merge_value(value: &mut T, decoder: &mut Decoder<'_>) -> Result<(), DecodeError>;
    /// True for the value implicit presence leaves off the wire.
    ///
    /// ```
    /// use protocall::__private::codec::{FieldCodec, Str};
    /// assert!(Str::is_default(&String::new()));
    /// assert!(!Str::is_default(&"x".to_string()));
    /// ```
    fn is_default(value: &T) -> bool;
}

#[cold]
fn wire_type_mismatch() -> DecodeError {
    DecodeError::new(DecodeErrorKind::WireTypeMismatch)
}

#[inline]
fn encode<K: FieldCodec<T>, T, B: BufMut + ?Sized>(number: u32, value: &T, buf: &mut B) {
    wire::put_key(number, K::WIRE_TYPE, buf);
    K::encode_value(value, buf);
}

#[inline]
fn encoded_len<K: FieldCodec<T>, T>(number: u32, value: &T) -> usize {
    wire::key_len(number) + K::value_len(value)
}

#[inline]
fn packed_body_len<K: FieldCodec<T>, T>(values: &[T]) -> usize {
    if K::FIXED_SIZE > 0 {
        values.len() * K::FIXED_SIZE
    } else {
        values.iter().map(K::value_len).sum()
    }
}

// Kinds that cannot be packed (strings, bytes, messages) fall back to one
// record per value, the only encoding a parser accepts for them.
#[inline]
fn encode_packed<K: FieldCodec<T>, T, B: BufMut + ?Sized>(number: u32, values: &[T], buf: &mut B) {
    if !K::PACKABLE {
        return values
            .iter()
            .for_each(|value| encode::<K, T, B>(number, value, buf));
    }
    if values.is_empty() {
        return;
    }
    wire::put_key(number, WireType::LengthDelimited, buf);
    wire::put_varint(packed_body_len::<K, T>(values) as u64, buf);
    for value in values {
        K::encode_value(value, buf);
    }
}

#[inline]
fn encoded_len_packed<K: FieldCodec<T>, T>(number: u32, values: &[T]) -> usize {
    if !K::PACKABLE {
        return values
            .iter()
            .map(|value| encoded_len::<K, T>(number, value))
            .sum();
    }
    if values.is_empty() {
        return 0;
    }
    let body = packed_body_len::<K, T>(values);
    wire::key_len(number) + wire::varint_len(body as u64) + body
}

#[inline]
fn merge<K: FieldCodec<T>, T>(
    wire_type: WireType,
    value: &mut T,
    decoder: &mut Decoder<'_>,
) -> Result<(), DecodeError> {
    if wire_type != K::WIRE_TYPE {
        return Err(wire_type_mismatch());
    }
    K::merge_value(value, decoder)
}

#[inline]
pub(crate) fn merge_repeated<K: FieldCodec<T>, T: Default>(
    wire_type: WireType,
    values: &mut Vec<T>,
    decoder: &mut Decoder<'_>,
) -> Result<(), DecodeError> {
    let kind = Repeated {
        wire_type: K::WIRE_TYPE,
        packable: K::PACKABLE,
        fixed_size: K::FIXED_SIZE,
        heap: K::DEFAULT_HEAP,
    };
    merge_repeated_with(kind, wire_type, values, decoder, K::merge_value)
}

/// What reading a repeated field needs of its kind (owned `FieldCodec` or
/// view `ViewCodec`).
pub(crate) struct Repeated {
    pub(crate) wire_type: WireType,
    pub(crate) packable: bool,
    pub(crate) fixed_size: usize,
    pub(crate) heap: usize,
}

/// Appends one value of `kind`, or a packed run of them, to `values`,
/// reading each with `merge_value`: the one repeated-field reader of owned
/// messages and views.
#[inline]
pub(crate) fn merge_repeated_with<'a, T: Default>(
    kind: Repeated,
    wire_type: WireType,
    values: &mut Vec<T>,
    decoder: &mut Decoder<'a>,
    merge_value: impl Fn(&mut T, &mut Decoder<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    if wire_type == kind.wire_type {
        // Merge in place: messages can be large, moving them costs.
        let last = decoder.push_default(values, kind.heap)?;
        return merge_value(last, decoder);
    }
    if wire_type != WireType::LengthDelimited || !kind.packable {
        return Err(wire_type_mismatch());
    }
    let bytes = decoder.read_bytes()?;
    if let Some(count) = bytes.len().checked_div(kind.fixed_size) {
        decoder.charge(count.saturating_mul(core::mem::size_of::<T>()))?;
        values.reserve(count);
    }
    let mut packed = decoder.sibling(bytes);
    let result = merge_packed(values, &mut packed, merge_value);
    decoder.take_budget(&packed);
    result
}

/// Appends the values of a packed run.
#[inline]
fn merge_packed<'a, T: Default>(
    values: &mut Vec<T>,
    packed: &mut Decoder<'a>,
    merge_value: impl Fn(&mut T, &mut Decoder<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    while !packed.is_empty() {
        let mut value = T::default();
        merge_value(&mut value, packed)?;
        packed.make_room(values)?;
        values.push(value);
    }
    Ok(())
}

/// The text of a codec function's example: imports, `value` (the kind's
/// sample), then `lines` (which name the kind themselves).
macro_rules! example {
    ($kind:ident, $t:literal, $sample:literal, $imports:literal, $($line:expr),* $(,)?) => {
        concat!(
            "```\n",
            "use protocall::__private::codec::", stringify!($kind), ";\n",
            $imports,
            "let value: ", $t, " = ", $sample, ";\n",
            $($line, "\n",)*
            "```"
        )
    };
}

/// The text of a merge function's example: a hand-written message with one
/// field `value` of type `field` (written by `encode`), whose `merge_field`
/// reads field 1 with `merge`; then a round trip of `value`.
macro_rules! merge_example {
    ($kind:ident, $t:literal, $sample:literal, $imports:literal, $field:expr, $wrap:literal, $encode:literal, $len:literal, $merge:literal) => {
        concat!(
            "```\n",
            "# use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};\n",
            "use protocall::__private::codec::", stringify!($kind), ";\n",
            $imports,
            "#[derive(Debug, Default)]\n",
            "struct Holder { value: ", $field, " }\n",
            "impl Message for Holder {\n",
            "#   const FULL_NAME: &'static str = \"demo.Holder\";\n",
            "#   const TYPE_URL: &'static str = \"type.googleapis.com/demo.Holder\";\n",
            "#   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {\n",
            "#       ", stringify!($kind), "::", $encode, "(1, &self.value, buf)\n",
            "#   }\n",
            "#   fn encoded_len(&self) -> usize {\n",
            "#       ", stringify!($kind), "::", $len, "(1, &self.value)\n",
            "#   }\n",
            "    fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)\n",
            "        -> Result<(), DecodeError> {\n",
            "        match number {\n",
            "            1 => ", stringify!($kind), "::", $merge, "(wire_type, &mut self.value, decoder),\n",
            "            _ => decoder.skip_field(number, wire_type, None),\n",
            "        }\n",
            "    }\n",
            "}\n",
            "let value: ", $t, " = ", $sample, ";\n",
            "let bytes = Holder { value: ", $wrap, " }.encode_to_vec();\n",
            "assert_eq!(Holder::decode(bytes.as_slice()).unwrap().value, ", $wrap, ");\n",
            "```"
        )
    };
}

/// The encoding functions every field kind has; see the module docs. Each
/// kind is given with the Rust type and a sample value for its examples,
/// the imports the sample needs, and the bytes `encode_implicit` writes for
/// the type's default value (0 where implicit presence leaves it out) with
/// a note saying why.
macro_rules! encode_api {
    ($($kind:ident: $t:literal = $sample:literal, use $imports:literal, default_len $default_len:literal $note:literal;)*) => {$(
        impl $kind {
            /// Writes field `number` unconditionally.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode(1, &value, &mut buf);"),
                concat!("assert_eq!(buf.len(), ", stringify!($kind), "::encoded_len(1, &value));"),
            )]
            #[inline]
            pub fn encode<T, B: BufMut + ?Sized>(number: u32, value: &T, buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                encode::<Self, T, B>(number, value, buf)
            }

            /// Writes field `number` unless it holds the default (implicit presence).
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode_implicit(1, &value, &mut buf);"),
                concat!("assert_eq!(buf.len(), ", stringify!($kind), "::encoded_len_implicit(1, &value));"),
                concat!("let default: ", $t, " = Default::default();"),
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_implicit(1, &default), ", $default_len, "); // ", $note),
            )]
            #[inline]
            pub fn encode_implicit<T, B: BufMut + ?Sized>(number: u32, value: &T, buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                if !<Self as FieldCodec<T>>::is_default(value) {
                    encode::<Self, T, B>(number, value, buf)
                }
            }

            /// Writes field `number` when set (explicit presence).
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode_optional(1, &None::<", $t, ">, &mut buf);"),
                "assert!(buf.is_empty());",
                concat!(stringify!($kind), "::encode_optional(1, &Some(value.clone()), &mut buf);"),
                concat!("assert_eq!(buf.len(), ", stringify!($kind), "::encoded_len_optional(1, &Some(value)));"),
            )]
            #[inline]
            pub fn encode_optional<T, B: BufMut + ?Sized>(number: u32, value: &Option<T>, buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                if let Some(value) = value {
                    encode::<Self, T, B>(number, value, buf)
                }
            }

            /// Writes each value as its own field record (unpacked).
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                "let values = vec![value.clone(), value];",
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode_repeated(1, &values, &mut buf);"),
                concat!("assert_eq!(buf.len(), ", stringify!($kind), "::encoded_len_repeated(1, &values));"),
            )]
            #[inline]
            pub fn encode_repeated<T, B: BufMut + ?Sized>(number: u32, values: &[T], buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                for value in values {
                    encode::<Self, T, B>(number, value, buf)
                }
            }

            /// Writes all values in one length-delimited record (packed).
            /// Only numeric, `bool` and enum kinds can be packed
            /// ([`FieldCodec::PACKABLE`]); the others write one record per
            /// value, as [`Self::encode_repeated`] does.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                "let values = vec![value.clone(), value];",
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode_packed(1, &values, &mut buf);"),
                concat!("assert_eq!(buf.len(), ", stringify!($kind), "::encoded_len_packed(1, &values));"),
            )]
            #[inline]
            pub fn encode_packed<T, B: BufMut + ?Sized>(number: u32, values: &[T], buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                encode_packed::<Self, T, B>(number, values, buf)
            }

            /// Bytes [`Self::encode`] writes.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                concat!("let len = ", stringify!($kind), "::encoded_len(7, &value);"),
                "let mut buf = Vec::with_capacity(len);",
                concat!(stringify!($kind), "::encode(7, &value, &mut buf);"),
                "assert_eq!(buf.len(), len);",
            )]
            #[inline]
            pub fn encoded_len<T>(number: u32, value: &T) -> usize
            where
                Self: FieldCodec<T>,
            {
                encoded_len::<Self, T>(number, value)
            }

            /// Bytes [`Self::encode_implicit`] writes.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                concat!("let len = ", stringify!($kind), "::encoded_len_implicit(7, &value);"),
                concat!("assert_eq!(len, ", stringify!($kind), "::encoded_len(7, &value));"),
                concat!("let default: ", $t, " = Default::default();"),
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_implicit(7, &default), ", $default_len, "); // ", $note),
            )]
            #[inline]
            pub fn encoded_len_implicit<T>(number: u32, value: &T) -> usize
            where
                Self: FieldCodec<T>,
            {
                if <Self as FieldCodec<T>>::is_default(value) {
                    0
                } else {
                    encoded_len::<Self, T>(number, value)
                }
            }

            /// Bytes [`Self::encode_optional`] writes.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_optional(7, &None::<", $t, ">), 0);"),
                concat!("let len = ", stringify!($kind), "::encoded_len(7, &value);"),
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_optional(7, &Some(value)), len);"),
            )]
            #[inline]
            pub fn encoded_len_optional<T>(number: u32, value: &Option<T>) -> usize
            where
                Self: FieldCodec<T>,
            {
                value.as_ref().map_or(0, |value| encoded_len::<Self, T>(number, value))
            }

            /// Bytes [`Self::encode_repeated`] writes.
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                concat!("let one = ", stringify!($kind), "::encoded_len(7, &value);"),
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_repeated(7, &[value.clone(), value]), 2 * one);"),
            )]
            #[inline]
            pub fn encoded_len_repeated<T>(number: u32, values: &[T]) -> usize
            where
                Self: FieldCodec<T>,
            {
                if <Self as FieldCodec<T>>::FIXED_SIZE > 0 {
                    values.len() * (wire::key_len(number) + <Self as FieldCodec<T>>::FIXED_SIZE)
                } else {
                    values.iter().map(|value| encoded_len::<Self, T>(number, value)).sum()
                }
            }

            /// Bytes [`Self::encode_packed`] writes (0 for no values).
            ///
            #[doc = example!($kind, $t, $sample, $imports,
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_packed::<", $t, ">(7, &[]), 0);"),
                "let values = vec![value.clone(), value];",
                "let mut buf = Vec::new();",
                concat!(stringify!($kind), "::encode_packed(7, &values, &mut buf);"),
                concat!("assert_eq!(", stringify!($kind), "::encoded_len_packed(7, &values), buf.len());"),
            )]
            #[inline]
            pub fn encoded_len_packed<T>(number: u32, values: &[T]) -> usize
            where
                Self: FieldCodec<T>,
            {
                encoded_len_packed::<Self, T>(number, values)
            }
        }
    )*};
}

/// The decoding functions of every kind but closed enums (whose unknown
/// values need the message's unknown fields: see `enums.rs`). Each kind is
/// given with the Rust type and a sample value for its examples and the
/// imports the sample needs.
macro_rules! merge_api {
    ($($kind:ident: $t:literal = $sample:literal, use $imports:literal;)*) => {$(
        impl $kind {
            /// Reads one value into `value` (last one wins; messages merge).
            ///
            #[doc = merge_example!($kind, $t, $sample, $imports, $t, "value.clone()", "encode", "encoded_len", "merge")]
            #[inline]
            pub fn merge<T>(wire_type: WireType, value: &mut T, decoder: &mut Decoder<'_>) -> Result<(), DecodeError>
            where
                Self: FieldCodec<T>,
            {
                merge::<Self, T>(wire_type, value, decoder)
            }

            /// Reads one value into an explicit-presence field, setting it.
            ///
            #[doc = merge_example!($kind, $t, $sample, $imports, concat!("Option<", $t, ">"),
                "Some(value.clone())", "encode_optional", "encoded_len_optional", "merge_optional")]
            #[inline]
            pub fn merge_optional<T: Default>(
                wire_type: WireType,
                value: &mut Option<T>,
                decoder: &mut Decoder<'_>,
            ) -> Result<(), DecodeError>
            where
                Self: FieldCodec<T>,
            {
                if wire_type != <Self as FieldCodec<T>>::WIRE_TYPE {
                    return Err(wire_type_mismatch());
                }
                let value = decoder.get_or_default(value, <Self as FieldCodec<T>>::DEFAULT_HEAP)?;
                <Self as FieldCodec<T>>::merge_value(value, decoder)
            }

            /// Appends one value, or a packed run of values, to a repeated field.
            ///
            #[doc = merge_example!($kind, $t, $sample, $imports, concat!("Vec<", $t, ">"),
                "vec![value.clone(), value.clone()]", "encode_repeated", "encoded_len_repeated", "merge_repeated")]
            #[inline]
            pub fn merge_repeated<T: Default>(
                wire_type: WireType,
                values: &mut Vec<T>,
                decoder: &mut Decoder<'_>,
            ) -> Result<(), DecodeError>
            where
                Self: FieldCodec<T>,
            {
                merge_repeated::<Self, T>(wire_type, values, decoder)
            }
        }
    )*};
}

encode_api! {
    Int32: "i32" = "-150", use "", default_len "0" "the default is left out";
    Int64: "i64" = "1 << 40", use "", default_len "0" "the default is left out";
    Uint32: "u32" = "150", use "", default_len "0" "the default is left out";
    Uint64: "u64" = "150", use "", default_len "0" "the default is left out";
    Sint32: "i32" = "-150", use "", default_len "0" "the default is left out";
    Sint64: "i64" = "-150", use "", default_len "0" "the default is left out";
    Fixed32: "u32" = "150", use "", default_len "0" "the default is left out";
    Fixed64: "u64" = "150", use "", default_len "0" "the default is left out";
    Sfixed32: "i32" = "-150", use "", default_len "0" "the default is left out";
    Sfixed64: "i64" = "-150", use "", default_len "0" "the default is left out";
    Float: "f32" = "1.5", use "", default_len "0" "the default is left out";
    Double: "f64" = "1.5", use "", default_len "0" "the default is left out";
    Bool: "bool" = "true", use "", default_len "0" "the default is left out";
    Str: "String" = "\"hello\".to_string()", use "", default_len "0" "the default is left out";
    Bytes: "Vec<u8>" = "vec![1, 2, 3]", use "", default_len "0" "the default is left out";
    Enum: "EnumValue<Syntax>" = "Syntax::Proto3.into()",
        use "use protocall::{EnumValue, types::Syntax};\n", default_len "0" "the default is left out";
    ClosedEnum: "Type" = "Type::Int64",
        use "use protocall::types::field_descriptor_proto::Type;\n",
        default_len "2" "closed enums have no implicit presence";
    Msg: "Duration" = "Duration { seconds: 90, ..Default::default() }",
        use "use protocall::types::Duration;\n",
        default_len "2" "message fields track presence";
}
merge_api! {
    Int32: "i32" = "-150", use "";
    Int64: "i64" = "1 << 40", use "";
    Uint32: "u32" = "150", use "";
    Uint64: "u64" = "150", use "";
    Sint32: "i32" = "-150", use "";
    Sint64: "i64" = "-150", use "";
    Fixed32: "u32" = "150", use "";
    Fixed64: "u64" = "150", use "";
    Sfixed32: "i32" = "-150", use "";
    Sfixed64: "i64" = "-150", use "";
    Float: "f32" = "1.5", use "";
    Double: "f64" = "1.5", use "";
    Bool: "bool" = "true", use "";
    Str: "String" = "\"hello\".to_string()", use "";
    Bytes: "Vec<u8>" = "vec![1, 2, 3]", use "";
    Enum: "EnumValue<Syntax>" = "Syntax::Proto3.into()", use "use protocall::{EnumValue, types::Syntax};\n";
    Msg: "Duration" = "Duration { seconds: 90, ..Default::default() }", use "use protocall::types::Duration;\n";
}
