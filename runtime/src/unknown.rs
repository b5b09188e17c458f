//! [`UnknownFields`]: fields a message did not declare, kept verbatim.

use std::fmt;

use bytes::BufMut;

use crate::decoder::Decoder;
use crate::wire::{self, WireType};

/// Fields found on the wire that the message's schema does not declare.
///
/// They are kept as their original encoded records, in arrival order, and
/// written back after the known fields on encode, so a proxy or a
/// read-modify-write cycle built on an older schema loses nothing.
///
/// ```
/// use protocall::{Message, types::Empty, UnknownValue};
/// // field 7, varint 150: unknown to `Empty`
/// let bytes = [0x38, 0x96, 0x01];
/// let empty = Empty::decode(&bytes[..]).unwrap();
/// let field = empty._unknown_fields.iter().next().unwrap();
/// assert_eq!((field.number, field.value), (7, UnknownValue::Varint(150)));
/// assert_eq!(empty.encode_to_vec(), bytes);
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct UnknownFields {
    raw: Vec<u8>,
}

/// One unknown field: its number and value.
///
/// ```
/// use protocall::{Message, UnknownField, UnknownValue, types::Empty};
/// let empty = Empty::decode(&[0x0a, 0x01, b'x'][..]).unwrap();
/// let fields: Vec<UnknownField<'_>> = empty._unknown_fields.iter().collect();
/// assert_eq!(fields, [UnknownField { number: 1, value: UnknownValue::LengthDelimited(b"x") }]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownField<'a> {
    /// The field number.
    pub number: u32,
    /// The value as it was on the wire.
    pub value: UnknownValue<'a>,
}

/// The value of an [`UnknownField`], by wire type.
///
/// ```
/// use protocall::{Message, UnknownValue, types::Empty};
/// // field 1 fixed32, field 2 a group holding field 1 = 5
/// let empty = Empty::decode(&[0x0d, 1, 0, 0, 0, 0x13, 0x08, 0x05, 0x14][..]).unwrap();
/// let values: Vec<UnknownValue<'_>> = empty._unknown_fields.iter().map(|f| f.value).collect();
/// assert_eq!(values, [UnknownValue::Fixed32(1), UnknownValue::Group(&[0x08, 0x05])]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownValue<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: the bytes after the length prefix.
    LengthDelimited(&'a [u8]),
    /// Wire type 3: the encoded fields between the start and end keys.
    Group(&'a [u8]),
    /// Wire type 5.
    Fixed32(u32),
}

impl UnknownFields {
    /// No fields.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let unknown = UnknownFields::new();
    /// assert!(unknown.is_empty());
    /// ```
    pub fn new() -> UnknownFields {
        UnknownFields::default()
    }

    /// True when there are no unknown fields.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// assert!(unknown.is_empty());
    /// unknown.push_varint(9, 1);
    /// assert!(!unknown.is_empty());
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Drops every unknown field.
    ///
    /// ```
    /// use protocall::{Message, types::Empty};
    /// let mut empty = Empty::decode(&[0x08, 0x01][..]).unwrap();
    /// empty._unknown_fields.clear();
    /// assert!(empty.encode_to_vec().is_empty());
    /// ```
    pub fn clear(&mut self) {
        self.raw.clear();
    }

    /// The fields in their encoded form (keys and values).
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_varint(1, 150);
    /// assert_eq!(unknown.as_bytes(), [0x08, 0x96, 0x01]);
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The fields one by one, in arrival order.
    ///
    /// ```
    /// use protocall::{UnknownFields, UnknownValue};
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_varint(2, 7);
    /// unknown.push_bytes(1, b"ab");
    /// let numbers: Vec<u32> = unknown.iter().map(|field| field.number).collect();
    /// assert_eq!(numbers, [2, 1]);
    /// assert_eq!(unknown.iter().nth(1).unwrap().value, UnknownValue::LengthDelimited(b"ab"));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = UnknownField<'_>> {
        let mut decoder = Decoder::new(&self.raw, u32::MAX);
        std::iter::from_fn(move || {
            if decoder.is_empty() {
                return None;
            }
            // The records were validated when they were stored.
            let (number, wire_type) = decoder.read_key().ok()?;
            let value = match wire_type {
                WireType::Varint => UnknownValue::Varint(decoder.read_varint().ok()?),
                WireType::Fixed64 => UnknownValue::Fixed64(decoder.read_fixed64().ok()?),
                WireType::Fixed32 => UnknownValue::Fixed32(decoder.read_fixed32().ok()?),
                WireType::LengthDelimited => {
                    UnknownValue::LengthDelimited(decoder.read_bytes().ok()?)
                }
                WireType::StartGroup => {
                    let before = decoder.remaining();
                    let start = &self.raw[self.raw.len() - before..];
                    decoder.skip_field(number, wire_type, None).ok()?;
                    let consumed = before - decoder.remaining();
                    // Strip the end-group key from the group body.
                    let body = &start[..consumed - wire::key_len(number)];
                    UnknownValue::Group(body)
                }
                WireType::EndGroup => return None,
            };
            Some(UnknownField { number, value })
        })
    }

    /// Appends a varint field.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_varint(3, 1);
    /// assert_eq!(unknown.as_bytes(), [0x18, 0x01]);
    /// ```
    pub fn push_varint(&mut self, number: u32, value: u64) {
        wire::put_key(number, WireType::Varint, &mut self.raw);
        wire::put_varint(value, &mut self.raw);
    }

    /// Appends a length-delimited field.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_bytes(3, b"hi");
    /// assert_eq!(unknown.as_bytes(), [0x1a, 0x02, b'h', b'i']);
    /// ```
    pub fn push_bytes(&mut self, number: u32, value: &[u8]) {
        wire::put_key(number, WireType::LengthDelimited, &mut self.raw);
        wire::put_varint(value.len() as u64, &mut self.raw);
        self.raw.extend_from_slice(value);
    }

    /// Appends a field whose `value` bytes are already encoded for `wire_type`.
    /// Appends fields already encoded (keys and values).
    pub(crate) fn push_encoded(&mut self, encoded: &[u8]) {
        self.raw.extend_from_slice(encoded);
    }

    pub(crate) fn push_raw(&mut self, number: u32, wire_type: WireType, value: &[u8]) {
        wire::put_key(number, wire_type, &mut self.raw);
        self.raw.extend_from_slice(value);
    }

    /// Bytes [`UnknownFields::encode`] writes.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_varint(3, 1);
    /// assert_eq!(unknown.encoded_len(), 2);
    /// ```
    #[inline]
    pub fn encoded_len(&self) -> usize {
        self.raw.len()
    }

    /// Writes the fields back out verbatim.
    ///
    /// ```
    /// use protocall::UnknownFields;
    /// let mut unknown = UnknownFields::new();
    /// unknown.push_varint(3, 1);
    /// let mut buf = Vec::new();
    /// unknown.encode(&mut buf);
    /// assert_eq!(buf, [0x18, 0x01]);
    /// ```
    #[inline]
    pub fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) {
        if !self.raw.is_empty() {
            buf.put_slice(&self.raw);
        }
    }
}

impl fmt::Debug for UnknownFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|field| (field.number, field.value)))
            .finish()
    }
}
