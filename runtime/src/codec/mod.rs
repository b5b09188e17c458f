//! Field codecs: how each protobuf field kind is written and read.
//!
//! Each field kind is a unit struct (`Int32`, `Sint64`, `Str`, `Msg`, …)
//! implementing [`FieldCodec`] for the Rust type that stores it. Generated
//! code calls the kind's associated functions, one per field cardinality:
//!
//! ```
//! use protocall::codec::{Int32, Str};
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

pub use enums::{ClosedEnum, Enum};
pub use map::{Map, MapStorage};
pub use message::{Group, Msg};
pub use scalar::{
    Bool, Bytes, BytesStorage, Double, Fixed32, Fixed64, Float, Int32, Int64, Sfixed32, Sfixed64,
    Sint32, Sint64, Str, Uint32, Uint64,
};

use bytes::BufMut;

use crate::decoder::Decoder;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{self, WireType};

/// How one field kind encodes a value stored as `T`.
pub trait FieldCodec<T> {
    /// The wire type of a single value.
    const WIRE_TYPE: WireType;
    /// Whether repeated fields of this kind may use packed encoding.
    const PACKABLE: bool;
    /// Bytes per value for fixed-width kinds, 0 for variable-width ones.
    const FIXED_SIZE: usize = 0;

    /// Writes the value (with its length prefix, for length-delimited kinds).
    fn encode_value<B: BufMut + ?Sized>(value: &T, buf: &mut B);
    /// Bytes [`FieldCodec::encode_value`] writes.
    fn value_len(value: &T) -> usize;
    /// Reads one value (its key already consumed) into `value`.
    fn merge_value(value: &mut T, decoder: &mut Decoder<'_>) -> Result<(), DecodeError>;
    /// True for the value implicit presence leaves off the wire.
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

#[inline]
fn encode_packed<K: FieldCodec<T>, T, B: BufMut + ?Sized>(number: u32, values: &[T], buf: &mut B) {
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
fn merge_repeated<K: FieldCodec<T>, T: Default>(
    wire_type: WireType,
    values: &mut Vec<T>,
    decoder: &mut Decoder<'_>,
) -> Result<(), DecodeError> {
    if wire_type == K::WIRE_TYPE {
        // Merge in place: messages can be large, moving them costs.
        values.push(T::default());
        let last = values.last_mut().expect("just pushed");
        return K::merge_value(last, decoder);
    }
    if wire_type != WireType::LengthDelimited || !K::PACKABLE {
        return Err(wire_type_mismatch());
    }
    let bytes = decoder.read_bytes()?;
    if let Some(count) = bytes.len().checked_div(K::FIXED_SIZE) {
        values.reserve(count);
    }
    let mut packed = decoder.sibling(bytes);
    while !packed.is_empty() {
        let mut value = T::default();
        K::merge_value(&mut value, &mut packed)?;
        values.push(value);
    }
    Ok(())
}

/// The encoding functions every field kind has; see the module docs.
macro_rules! encode_api {
    ($($kind:ty),* $(,)?) => {$(
        impl $kind {
            /// Writes field `number` unconditionally.
            #[inline]
            pub fn encode<T, B: BufMut + ?Sized>(number: u32, value: &T, buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                encode::<Self, T, B>(number, value, buf)
            }

            /// Writes field `number` unless it holds the default (implicit presence).
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
            #[inline]
            pub fn encode_packed<T, B: BufMut + ?Sized>(number: u32, values: &[T], buf: &mut B)
            where
                Self: FieldCodec<T>,
            {
                encode_packed::<Self, T, B>(number, values, buf)
            }

            /// Bytes [`Self::encode`] writes.
            #[inline]
            pub fn encoded_len<T>(number: u32, value: &T) -> usize
            where
                Self: FieldCodec<T>,
            {
                encoded_len::<Self, T>(number, value)
            }

            /// Bytes [`Self::encode_implicit`] writes.
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
            #[inline]
            pub fn encoded_len_optional<T>(number: u32, value: &Option<T>) -> usize
            where
                Self: FieldCodec<T>,
            {
                value.as_ref().map_or(0, |value| encoded_len::<Self, T>(number, value))
            }

            /// Bytes [`Self::encode_repeated`] writes.
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

            /// Bytes [`Self::encode_packed`] writes.
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
/// values need the message's unknown fields: see `enums.rs`).
macro_rules! merge_api {
    ($($kind:ty),* $(,)?) => {$(
        impl $kind {
            /// Reads one value into `value` (last one wins; messages merge).
            #[inline]
            pub fn merge<T>(wire_type: WireType, value: &mut T, decoder: &mut Decoder<'_>) -> Result<(), DecodeError>
            where
                Self: FieldCodec<T>,
            {
                merge::<Self, T>(wire_type, value, decoder)
            }

            /// Reads one value into an explicit-presence field, setting it.
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
                <Self as FieldCodec<T>>::merge_value(value.get_or_insert_with(T::default), decoder)
            }

            /// Appends one value, or a packed run of values, to a repeated field.
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

encode_api!(
    Int32, Int64, Uint32, Uint64, Sint32, Sint64, Fixed32, Fixed64, Sfixed32, Sfixed64, Float,
    Double, Bool, Str, Bytes, Enum, ClosedEnum, Msg,
);
merge_api!(
    Int32, Int64, Uint32, Uint64, Sint32, Sint64, Fixed32, Fixed64, Sfixed32, Sfixed64, Float,
    Double, Bool, Str, Bytes, Enum, Msg,
);
