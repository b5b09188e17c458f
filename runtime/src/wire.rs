//! Wire-format primitives: wire types, varints, zigzag, field keys.
//!
//! Everything here works on plain slices and `BufMut`; the message-level
//! logic lives in [`crate::__private::codec`] and [`crate::Message`].
//!
//! ```
//! use protocall::__private::wire::{self, WireType};
//! let mut buf = Vec::new();
//! wire::put_key(1, WireType::Varint, &mut buf);
//! wire::put_varint(wire::zigzag64(-2) as u64, &mut buf); // sint64 -2
//! assert_eq!(buf, [0x08, 0x03]);
//! ```

use bytes::BufMut;

/// The largest legal field number, `2^29 - 1`.
///
/// ```
/// use protocall::__private::wire::{MAX_FIELD_NUMBER, key_len};
/// assert_eq!(MAX_FIELD_NUMBER, 536_870_911);
/// assert_eq!(key_len(MAX_FIELD_NUMBER), 5);
/// ```
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// How a field's value is laid out on the wire (the low three bits of a key).
///
/// ```
/// use protocall::__private::WireType;
/// assert_eq!(WireType::LengthDelimited as u8, 2);
/// assert_eq!(WireType::from_key(0x0a), Some(WireType::LengthDelimited)); // field 1, wire type 2
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WireType {
    /// int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    Varint = 0,
    /// fixed64, sfixed64, double.
    Fixed64 = 1,
    /// string, bytes, messages, packed repeated fields.
    LengthDelimited = 2,
    /// Start of a proto2 group.
    StartGroup = 3,
    /// End of a proto2 group.
    EndGroup = 4,
    /// fixed32, sfixed32, float.
    Fixed32 = 5,
}

impl WireType {
    /// The wire type encoded in the low three bits of `key`, if legal.
    ///
    /// ```
    /// use protocall::__private::WireType;
    /// assert_eq!(WireType::from_key(0x08), Some(WireType::Varint));
    /// assert_eq!(WireType::from_key(0x0e), None); // wire type 6
    /// ```
    #[inline]
    pub fn from_key(key: u64) -> Option<WireType> {
        Some(match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::LengthDelimited,
            3 => WireType::StartGroup,
            4 => WireType::EndGroup,
            5 => WireType::Fixed32,
            _ => return None,
        })
    }
}

/// Number of bytes `value` takes as a varint (1 to 10).
///
/// ```
/// use protocall::__private::wire::varint_len;
/// assert_eq!(varint_len(0), 1);
/// assert_eq!(varint_len(300), 2);
/// assert_eq!(varint_len(u64::MAX), 10);
/// ```
#[inline]
pub const fn varint_len(value: u64) -> usize {
    // Each varint byte carries 7 bits; `| 1` makes zero take one byte.
    ((((value | 1).ilog2() + 1) * 9 + 64) / 64) as usize
}

/// Number of bytes a field key takes for `number`.
///
/// ```
/// use protocall::__private::wire::key_len;
/// assert_eq!(key_len(15), 1);
/// assert_eq!(key_len(16), 2);
/// ```
#[inline]
pub const fn key_len(number: u32) -> usize {
    varint_len((number as u64) << 3)
}

/// Writes `value` as a varint.
///
/// ```
/// let mut buf = Vec::new();
/// protocall::__private::wire::put_varint(300, &mut buf);
/// assert_eq!(buf, [0xac, 0x02]);
/// ```
#[inline]
pub fn put_varint<B: BufMut + ?Sized>(mut value: u64, buf: &mut B) {
    // Fast path: most varints on the wire are a single byte.
    if value < 0x80 {
        buf.put_u8(value as u8);
        return;
    }
    let mut scratch = [0u8; 10];
    let mut n = 0;
    while value >= 0x80 {
        scratch[n] = (value as u8) | 0x80;
        value >>= 7;
        n += 1;
    }
    scratch[n] = value as u8;
    buf.put_slice(&scratch[..=n]);
}

/// Writes the key of field `number` with `wire_type`.
///
/// ```
/// use protocall::__private::wire::{WireType, put_key};
/// let mut buf = Vec::new();
/// put_key(2, WireType::LengthDelimited, &mut buf);
/// assert_eq!(buf, [0x12]);
/// ```
#[inline]
pub fn put_key<B: BufMut + ?Sized>(number: u32, wire_type: WireType, buf: &mut B) {
    put_varint(((number as u64) << 3) | wire_type as u64, buf);
}

/// Zigzag-encodes a signed 32-bit value (sint32).
///
/// ```
/// use protocall::__private::wire::zigzag32;
/// assert_eq!([zigzag32(0), zigzag32(-1), zigzag32(1), zigzag32(-2)], [0, 1, 2, 3]);
/// ```
#[inline]
pub const fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// Zigzag-encodes a signed 64-bit value (sint64).
///
/// ```
/// use protocall::__private::wire::zigzag64;
/// assert_eq!(zigzag64(i64::MIN), u64::MAX);
/// ```
#[inline]
pub const fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Reverses [`zigzag32`].
///
/// ```
/// use protocall::__private::wire::{unzigzag32, zigzag32};
/// assert_eq!(unzigzag32(3), -2);
/// assert_eq!(unzigzag32(zigzag32(i32::MIN)), i32::MIN);
/// ```
#[inline]
pub const fn unzigzag32(value: u32) -> i32 {
    ((value >> 1) as i32) ^ (-((value & 1) as i32))
}

/// Reverses [`zigzag64`].
///
/// ```
/// use protocall::__private::wire::unzigzag64;
/// assert_eq!(unzigzag64(u64::MAX), i64::MIN);
/// ```
#[inline]
pub const fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ (-((value & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_len_matches_encoding() {
        for v in [0u64, 1, 127, 128, 16_383, 16_384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(v, &mut out);
            assert_eq!(out.len(), varint_len(v), "value {v}");
        }
        assert_eq!(varint_len(u64::MAX), 10);
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0i64, -1, 1, -2, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag64(zigzag64(v)), v);
        }
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        for v in [0i32, -1, 1, i32::MIN, i32::MAX] {
            assert_eq!(unzigzag32(zigzag32(v)), v);
        }
    }
}
