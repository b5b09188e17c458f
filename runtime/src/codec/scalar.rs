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
    ///
    /// ```
    /// use protocall::__private::codec::Int32;
    /// let mut buf = Vec::new();
    /// Int32::encode(1, &-1, &mut buf);
    /// assert_eq!(buf.len(), 11); // key, then ten bytes
    /// ```
    Int32;
    /// `int64`: varint.
    ///
    /// ```
    /// use protocall::__private::codec::Int64;
    /// let mut buf = Vec::new();
    /// Int64::encode(1, &300i64, &mut buf);
    /// assert_eq!(buf, [0x08, 0xac, 0x02]);
    /// ```
    Int64;
    /// `uint32`: varint.
    ///
    /// ```
    /// use protocall::__private::codec::Uint32;
    /// let mut buf = Vec::new();
    /// Uint32::encode(1, &150u32, &mut buf);
    /// assert_eq!(buf, [0x08, 0x96, 0x01]);
    /// ```
    Uint32;
    /// `uint64`: varint.
    ///
    /// ```
    /// use protocall::__private::codec::Uint64;
    /// let mut buf = Vec::new();
    /// Uint64::encode(1, &u64::MAX, &mut buf);
    /// assert_eq!(buf.len(), 11);
    /// ```
    Uint64;
    /// `sint32`: zigzag varint.
    ///
    /// ```
    /// use protocall::__private::codec::Sint32;
    /// let mut buf = Vec::new();
    /// Sint32::encode(1, &-1, &mut buf);
    /// assert_eq!(buf, [0x08, 0x01]);
    /// ```
    Sint32;
    /// `sint64`: zigzag varint.
    ///
    /// ```
    /// use protocall::__private::codec::Sint64;
    /// let mut buf = Vec::new();
    /// Sint64::encode(1, &-2i64, &mut buf);
    /// assert_eq!(buf, [0x08, 0x03]);
    /// ```
    Sint64;
    /// `fixed32`: four bytes little-endian.
    ///
    /// ```
    /// use protocall::__private::codec::Fixed32;
    /// let mut buf = Vec::new();
    /// Fixed32::encode(1, &1u32, &mut buf);
    /// assert_eq!(buf, [0x0d, 1, 0, 0, 0]);
    /// ```
    Fixed32;
    /// `fixed64`: eight bytes little-endian.
    ///
    /// ```
    /// use protocall::__private::codec::Fixed64;
    /// let mut buf = Vec::new();
    /// Fixed64::encode(1, &1u64, &mut buf);
    /// assert_eq!(buf, [0x09, 1, 0, 0, 0, 0, 0, 0, 0]);
    /// ```
    Fixed64;
    /// `sfixed32`: four bytes little-endian.
    ///
    /// ```
    /// use protocall::__private::codec::Sfixed32;
    /// let mut buf = Vec::new();
    /// Sfixed32::encode(1, &-1i32, &mut buf);
    /// assert_eq!(buf, [0x0d, 0xff, 0xff, 0xff, 0xff]);
    /// ```
    Sfixed32;
    /// `sfixed64`: eight bytes little-endian.
    ///
    /// ```
    /// use protocall::__private::codec::Sfixed64;
    /// let mut buf = Vec::new();
    /// Sfixed64::encode(1, &-1i64, &mut buf);
    /// assert_eq!(buf, [0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    /// ```
    Sfixed64;
    /// `float`: four bytes IEEE 754.
    ///
    /// ```
    /// use protocall::__private::codec::Float;
    /// let mut buf = Vec::new();
    /// Float::encode(1, &1.0f32, &mut buf);
    /// assert_eq!(buf, [0x0d, 0, 0, 0x80, 0x3f]);
    /// ```
    Float;
    /// `double`: eight bytes IEEE 754.
    ///
    /// ```
    /// use protocall::__private::codec::Double;
    /// let mut buf = Vec::new();
    /// Double::encode(1, &1.0f64, &mut buf);
    /// assert_eq!(buf, [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    /// ```
    Double;
    /// `bool`: varint 0 or 1 (any non-zero reads as true).
    ///
    /// ```
    /// use protocall::__private::codec::Bool;
    /// let mut buf = Vec::new();
    /// Bool::encode(1, &true, &mut buf);
    /// assert_eq!(buf, [0x08, 0x01]);
    /// ```
    Bool;
    /// `string`: length-delimited UTF-8, validated on decode.
    ///
    /// ```
    /// use protocall::__private::codec::Str;
    /// let mut buf = Vec::new();
    /// Str::encode(1, &"hi".to_string(), &mut buf);
    /// assert_eq!(buf, [0x0a, 0x02, b'h', b'i']);
    /// ```
    Str;
    /// `bytes`: length-delimited, stored as `Vec<u8>` or `bytes::Bytes`.
    ///
    /// ```
    /// use protocall::__private::codec::Bytes;
    /// let mut buf = Vec::new();
    /// Bytes::encode(1, &protocall::bytes::Bytes::from_static(&[7, 8]), &mut buf);
    /// assert_eq!(buf, [0x0a, 0x02, 7, 8]);
    /// ```
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

/// UTF-8 validation: the SIMD validator pays off on long strings; short
/// ones (most field values) are usually ASCII, which one pass of 8-byte
/// words settles before the standard validator would have set up.
#[inline]
pub(super) fn validate_utf8(bytes: &[u8]) -> Result<&str, DecodeError> {
    let valid = if bytes.len() >= 64 {
        simdutf8::basic::from_utf8(bytes).ok()
    } else if is_ascii(bytes) {
        // SAFETY: every byte is below 0x80, and ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    };
    valid.ok_or_else(|| DecodeError::new(DecodeErrorKind::InvalidUtf8))
}

/// True when no byte has its high bit set, read eight bytes at a time; the
/// bytes past the last whole word are read as the last eight (overlapping),
/// and strings under eight bytes as two overlapping halves, so no byte is
/// read alone.
#[inline]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let len = bytes.len();
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"));
    let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    match len {
        8.. => {
            let mut seen = word(len - 8);
            let mut at = 0;
            while at + 8 <= len {
                seen |= word(at);
                at += 8;
            }
            seen & HIGH == 0
        }
        4.. => (half(0) | half(len - 4)) & 0x8080_8080 == 0,
        _ => bytes.iter().all(|&b| b < 0x80),
    }
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
///
/// ```
/// use protocall::{bytes::Bytes, __private::codec::BytesStorage};
/// fn store<S: BytesStorage>(bytes: &[u8]) -> S {
///     let mut stored = S::default();
///     stored.replace_with(bytes);
///     stored
/// }
/// assert_eq!(store::<Vec<u8>>(b"ab"), b"ab");
/// assert_eq!(store::<Bytes>(b"ab"), &b"ab"[..]);
/// ```
pub trait BytesStorage: Default {
    /// The stored bytes.
    ///
    /// ```
    /// use protocall::{bytes::Bytes, __private::codec::BytesStorage};
    /// let stored = Bytes::from_static(b"ab");
    /// assert_eq!(BytesStorage::as_slice(&stored), b"ab");
    /// ```
    fn as_slice(&self) -> &[u8];
    /// Replaces the stored bytes with a copy of `bytes`.
    ///
    /// ```
    /// use protocall::__private::codec::BytesStorage;
    /// let mut stored = vec![1, 2, 3];
    /// stored.replace_with(&[9]);
    /// assert_eq!(stored, [9]);
    /// ```
    fn replace_with(&mut self, bytes: &[u8]);

    /// Replaces the stored bytes with the next length-delimited value of
    /// `decoder` (`Bytes` shares the decoder's input when it can).
    #[doc(hidden)]
    fn merge_from(&mut self, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        self.replace_with(decoder.read_bytes()?);
        Ok(())
    }
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

    fn merge_from(&mut self, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        *self = decoder.read_shared_bytes()?;
        Ok(())
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
        value.merge_from(decoder)
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
    fn ascii_check_reads_every_byte() {
        for len in 0..64 {
            let text = vec![b'a'; len];
            assert!(is_ascii(&text), "{len}");
            for i in 0..len {
                let mut bad = text.clone();
                bad[i] = 0x80;
                assert!(!is_ascii(&bad), "{len} {i}");
            }
        }
        // Short strings: ASCII, valid multi-byte, invalid.
        assert_eq!(validate_utf8(b"plain").unwrap(), "plain");
        assert_eq!(
            validate_utf8("h\u{e9}llo".as_bytes()).unwrap(),
            "h\u{e9}llo"
        );
        assert!(validate_utf8(&[b'a', 0xc3]).is_err());
        assert!(validate_utf8(&[0xff; 9]).is_err());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut s = String::new();
        let err = Str::merge_value(&mut s, &mut Decoder::new(&[2, 0xc3, 0x28], 100)).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::InvalidUtf8);
    }

    #[test]
    fn kinds_that_cannot_be_packed_write_one_record_per_value() {
        let values = ["a".to_string(), String::new()];
        let (mut packed, mut repeated) = (Vec::new(), Vec::new());
        Str::encode_packed(2, &values, &mut packed);
        Str::encode_repeated(2, &values, &mut repeated);
        assert_eq!(packed, [0x12, 1, b'a', 0x12, 0]);
        assert_eq!(packed, repeated);
        assert_eq!(Str::encoded_len_packed(2, &values), packed.len());
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
