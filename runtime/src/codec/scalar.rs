//! The fifteen scalar kinds.

use bytes::BufMut;

use super::FieldCodec;
use crate::decoder::Decoder;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::wire::{self, WireType};

macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $kind;
    )*};
}

kinds! {
    /// `int32`: varint, negative values sign-extended to ten bytes.
    Int32;
    /// `int64`: varint.
    Int64;
    /// `uint32`: varint.
    Uint32;
    /// `uint64`: varint.
    Uint64;
    /// `sint32`: zigzag varint.
    Sint32;
    /// `sint64`: zigzag varint.
    Sint64;
    /// `fixed32`: four bytes little-endian.
    Fixed32;
    /// `fixed64`: eight bytes little-endian.
    Fixed64;
    /// `sfixed32`: four bytes little-endian.
    Sfixed32;
    /// `sfixed64`: eight bytes little-endian.
    Sfixed64;
    /// `float`: four bytes IEEE 754.
    Float;
    /// `double`: eight bytes IEEE 754.
    Double;
    /// `bool`: varint 0 or 1 (any non-zero reads as true).
    Bool;
    /// `string`: length-delimited UTF-8, validated on decode.
    Str;
    /// `bytes`: length-delimited, stored as `Vec<u8>` or `bytes::Bytes`.
    Bytes;
}

macro_rules! varint_kind {
    ($kind:ty, $t:ty, |$v:ident| $to_wire:expr, |$w:ident| $from_wire:expr) => {
        impl FieldCodec<$t> for $kind {
            const WIRE_TYPE: WireType = WireType::Varint;
            const PACKABLE: bool = true;

            #[inline]
            fn encode_value<B: BufMut + ?Sized>(value: &$t, buf: &mut B) {
                let $v = *value;
                wire::put_varint($to_wire, buf)
            }

            #[inline]
            fn value_len(value: &$t) -> usize {
                let $v = *value;
                wire::varint_len($to_wire)
            }

            #[inline]
            fn merge_value(value: &mut $t, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
                let $w = decoder.read_varint()?;
                *value = $from_wire;
                Ok(())
            }

            #[inline]
            fn is_default(value: &$t) -> bool {
                *value == <$t>::default()
            }
        }
    };
}

varint_kind!(Int32, i32, |v| v as i64 as u64, |w| w as i32);
varint_kind!(Int64, i64, |v| v as u64, |w| w as i64);
varint_kind!(Uint32, u32, |v| v as u64, |w| w as u32);
varint_kind!(Uint64, u64, |v| v, |w| w);
varint_kind!(Sint32, i32, |v| wire::zigzag32(v) as u64, |w| {
    wire::unzigzag32(w as u32)
});
varint_kind!(Sint64, i64, |v| wire::zigzag64(v), |w| wire::unzigzag64(w));
varint_kind!(Bool, bool, |v| v as u64, |w| w != 0);

macro_rules! fixed_kind {
    ($kind:ty, $t:ty, $wire:ident, $size:literal, $put:ident, $read:ident, |$v:ident| $to_wire:expr, |$w:ident| $from_wire:expr, |$d:ident| $is_default:expr) => {
        impl FieldCodec<$t> for $kind {
            const WIRE_TYPE: WireType = WireType::$wire;
            const PACKABLE: bool = true;
            const FIXED_SIZE: usize = $size;

            #[inline]
            fn encode_value<B: BufMut + ?Sized>(value: &$t, buf: &mut B) {
                let $v = *value;
                buf.$put($to_wire)
            }

            #[inline]
            fn value_len(_: &$t) -> usize {
                $size
            }

            #[inline]
            fn merge_value(value: &mut $t, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
                let $w = decoder.$read()?;
                *value = $from_wire;
                Ok(())
            }

            #[inline]
            fn is_default(value: &$t) -> bool {
                let $d = *value;
                $is_default
            }
        }
    };
}

fixed_kind!(
    Fixed32,
    u32,
    Fixed32,
    4,
    put_u32_le,
    read_fixed32,
    |v| v,
    |w| w,
    |d| d == 0
);
fixed_kind!(
    Fixed64,
    u64,
    Fixed64,
    8,
    put_u64_le,
    read_fixed64,
    |v| v,
    |w| w,
    |d| d == 0
);
fixed_kind!(
    Sfixed32,
    i32,
    Fixed32,
    4,
    put_u32_le,
    read_fixed32,
    |v| v as u32,
    |w| w as i32,
    |d| d == 0
);
fixed_kind!(
    Sfixed64,
    i64,
    Fixed64,
    8,
    put_u64_le,
    read_fixed64,
    |v| v as u64,
    |w| w as i64,
    |d| d == 0
);
// -0.0 is not the default: implicit presence compares bit patterns.
fixed_kind!(
    Float,
    f32,
    Fixed32,
    4,
    put_u32_le,
    read_fixed32,
    |v| v.to_bits(),
    |w| f32::from_bits(w),
    |d| d.to_bits() == 0
);
fixed_kind!(
    Double,
    f64,
    Fixed64,
    8,
    put_u64_le,
    read_fixed64,
    |v| v.to_bits(),
    |w| f64::from_bits(w),
    |d| d.to_bits() == 0
);

#[inline]
fn put_len_prefixed<B: BufMut + ?Sized>(bytes: &[u8], buf: &mut B) {
    wire::put_varint(bytes.len() as u64, buf);
    buf.put_slice(bytes);
}

#[inline]
fn len_prefixed_len(len: usize) -> usize {
    wire::varint_len(len as u64) + len
}

/// UTF-8 validation: the SIMD validator pays off on long strings, the
/// standard one on short ones.
#[inline]
fn validate_utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let valid = if bytes.len() < 64 {
        std::str::from_utf8(bytes).ok()
    } else {
        simdutf8::basic::from_utf8(bytes).ok()
    };
    valid.ok_or_else(|| DecodeError::new(DecodeErrorKind::InvalidUtf8))
}

impl FieldCodec<String> for Str {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    #[inline]
    fn encode_value<B: BufMut + ?Sized>(value: &String, buf: &mut B) {
        put_len_prefixed(value.as_bytes(), buf)
    }

    #[inline]
    fn value_len(value: &String) -> usize {
        len_prefixed_len(value.len())
    }

    #[inline]
    fn merge_value(value: &mut String, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        let bytes = decoder.read_bytes()?;
        let text = validate_utf8(bytes)?;
        if value.capacity() == 0 {
            // A fresh field: one exact allocation, no growth path.
            *value = String::from(text);
        } else {
            value.clear();
            value.push_str(text);
        }
        Ok(())
    }

    #[inline]
    fn is_default(value: &String) -> bool {
        value.is_empty()
    }
}

/// Storage types for `bytes` fields: `Vec<u8>` and `bytes::Bytes`.
pub trait BytesStorage: Default {
    /// The stored bytes.
    fn as_slice(&self) -> &[u8];
    /// Replaces the stored bytes with a copy of `bytes`.
    fn replace_with(&mut self, bytes: &[u8]);
}

impl BytesStorage for Vec<u8> {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn replace_with(&mut self, bytes: &[u8]) {
        if self.capacity() == 0 {
            *self = bytes.to_vec();
        } else {
            self.clear();
            self.extend_from_slice(bytes);
        }
    }
}

impl BytesStorage for bytes::Bytes {
    fn as_slice(&self) -> &[u8] {
        self
    }

    fn replace_with(&mut self, bytes: &[u8]) {
        *self = bytes::Bytes::copy_from_slice(bytes);
    }
}

impl<T: BytesStorage> FieldCodec<T> for Bytes {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    #[inline]
    fn encode_value<B: BufMut + ?Sized>(value: &T, buf: &mut B) {
        put_len_prefixed(value.as_slice(), buf)
    }

    #[inline]
    fn value_len(value: &T) -> usize {
        len_prefixed_len(value.as_slice().len())
    }

    #[inline]
    fn merge_value(value: &mut T, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        value.replace_with(decoder.read_bytes()?);
        Ok(())
    }

    #[inline]
    fn is_default(value: &T) -> bool {
        value.as_slice().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<K: FieldCodec<T>, T: Default + PartialEq + std::fmt::Debug>(value: T) -> Vec<u8> {
        let mut buf = Vec::new();
        K::encode_value(&value, &mut buf);
        assert_eq!(buf.len(), K::value_len(&value));
        let mut decoder = Decoder::new(&buf, 100);
        let mut back = T::default();
        K::merge_value(&mut back, &mut decoder).unwrap();
        assert!(decoder.is_empty());
        assert_eq!(back, value);
        buf
    }

    #[test]
    fn negative_int32_takes_ten_bytes() {
        assert_eq!(round_trip::<Int32, i32>(-1).len(), 10);
        assert_eq!(round_trip::<Sint32, i32>(-1), [1]);
        assert_eq!(round_trip::<Sint64, i64>(i64::MIN).len(), 10);
        round_trip::<Uint64, u64>(u64::MAX);
        round_trip::<Sfixed32, i32>(-5);
        round_trip::<Double, f64>(-0.0);
        round_trip::<Str, String>("héllo".into());
        round_trip::<Bytes, bytes::Bytes>(bytes::Bytes::from_static(b"\0\xff"));
    }

    #[test]
    fn int32_from_int64_wire_truncates() {
        // 2^32 + 5 decoded as int32 keeps the low 32 bits, as protobuf does.
        let mut buf = Vec::new();
        wire::put_varint((1u64 << 32) + 5, &mut buf);
        let mut v = 0i32;
        Int32::merge_value(&mut v, &mut Decoder::new(&buf, 100)).unwrap();
        assert_eq!(v, 5);
    }

    #[test]
    fn negative_zero_is_not_default() {
        assert!(!<Double as FieldCodec<f64>>::is_default(&-0.0));
        assert!(<Double as FieldCodec<f64>>::is_default(&0.0));
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut s = String::new();
        let err = Str::merge_value(&mut s, &mut Decoder::new(&[2, 0xc3, 0x28], 100)).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
    }

    #[test]
    fn packed_and_unpacked_both_decode() {
        let mut packed = Vec::new();
        Sint32::encode_packed(4, &[1, -2, 3], &mut packed);
        let mut unpacked = Vec::new();
        Sint32::encode_repeated(4, &[1, -2, 3], &mut unpacked);
        for bytes in [packed, unpacked] {
            let mut d = Decoder::new(&bytes, 100);
            let mut out = Vec::new();
            while !d.is_empty() {
                let (n, wt) = d.read_key().unwrap();
                assert_eq!(n, 4);
                Sint32::merge_repeated(wt, &mut out, &mut d).unwrap();
            }
            assert_eq!(out, [1, -2, 3]);
        }
    }
}
