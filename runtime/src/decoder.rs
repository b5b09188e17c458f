//! [`Decoder`]: a cursor over the bytes of one message.

use crate::error::{DecodeError, DecodeErrorKind};
use crate::message::Message;
use crate::unknown::UnknownFields;
use crate::wire::{MAX_FIELD_NUMBER, WireType};

/// The default limit on message nesting, as in protobuf's own runtimes.
///
/// ```
/// use protocall::{__private::DEFAULT_RECURSION_LIMIT, DecodeOptions, Message, types::Value};
/// assert_eq!(DEFAULT_RECURSION_LIMIT, 100);
/// let mut value = Value::default();
/// for _ in 0..60 {
///     value = Value::from(vec![value]); // two levels each: Value, then ListValue
/// }
/// let bytes = value.encode_to_vec();
/// assert!(Value::decode(bytes.as_slice()).is_err());
/// assert!(DecodeOptions::new().recursion_limit(200).decode::<Value, _>(bytes.as_slice()).is_ok());
/// ```
pub const DEFAULT_RECURSION_LIMIT: u32 = 100;

/// A cursor over the encoded bytes of one message.
///
/// Decoding always works on one contiguous slice: a length prefix is checked
/// against the bytes actually present before anything is allocated, so a
/// lying prefix costs nothing. Generated `merge_field` code receives a
/// `Decoder` and hands it to the functions in [`crate::__private::codec`].
///
/// A hand-written [`Message`] reading its fields straight off the decoder:
///
/// ```
/// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
/// #[derive(Debug, Default)]
/// struct Raw { values: Vec<u64> }
/// impl Message for Raw {
/// #   const FULL_NAME: &'static str = "demo.Raw";
/// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
/// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
/// #   fn encoded_len(&self) -> usize { 0 }
///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
///         -> Result<(), DecodeError> {
///         match (number, wire_type) {
///             (1, WireType::Varint) => self.values.push(decoder.read_varint()?),
///             (2, WireType::Fixed64) => self.values.push(decoder.read_fixed64()?),
///             _ => decoder.skip_field(number, wire_type, None)?,
///         }
///         Ok(())
///     }
/// }
/// // field 1 = 150, field 2 = 7 (fixed64), field 3 = "x" (skipped)
/// let bytes = [0x08, 0x96, 0x01, 0x11, 7, 0, 0, 0, 0, 0, 0, 0, 0x1a, 0x01, b'x'];
/// assert_eq!(Raw::decode(&bytes[..]).unwrap().values, [150, 7]);
/// ```
pub struct Decoder<'a> {
    buf: &'a [u8],
    depth_left: u32,
    limit: u32,
    /// Bytes of element slots and boxed messages this decode may still
    /// allocate (see [`crate::DecodeOptions::memory_budget`]). Nested
    /// decoders take it over and hand back what they left.
    budget: usize,
    /// The `Bytes` that `buf` lies in, when decoding from one: `bytes`
    /// fields stored as `Bytes` then share it instead of copying.
    shared: Option<&'a bytes::Bytes>,
}

impl<'a> Decoder<'a> {
    /// A decoder over `buf` with the default memory budget for its length.
    pub(crate) fn new(buf: &'a [u8], recursion_limit: u32) -> Decoder<'a> {
        Decoder {
            buf,
            depth_left: recursion_limit,
            limit: recursion_limit,
            budget: crate::message::DecodeOptions::new().budget_for(buf.len()),
            shared: None,
        }
    }

    /// The same decoder with `budget` bytes to allocate.
    pub(crate) fn with_budget(self, budget: usize) -> Decoder<'a> {
        Decoder { budget, ..self }
    }

    /// Takes `bytes` from the memory budget.
    #[inline]
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.budget.checked_sub(bytes) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(DecodeError::new(DecodeErrorKind::MemoryBudget)),
        }
    }

    /// Takes from the budget what one default `M` holds on the heap (a
    /// boxed message's box): for a field that is about to be created.
    ///
    /// Generated code calls this before it sets a new oneof member.
    #[doc(hidden)]
    #[inline]
    pub fn charge_new<M: Message>(&mut self) -> Result<(), DecodeError> {
        if M::DEFAULT_HEAP == 0 {
            return Ok(());
        }
        self.charge(M::DEFAULT_HEAP)
    }

    /// [`Decoder::charge_new`] for a view about to be created.
    #[doc(hidden)]
    #[inline]
    pub fn charge_new_view<V: crate::view::MessageView<'a>>(&mut self) -> Result<(), DecodeError> {
        if V::DEFAULT_HEAP == 0 {
            return Ok(());
        }
        self.charge(V::DEFAULT_HEAP)
    }

    /// Appends a default element to `values`, charging the budget for the
    /// growth of the vector and for `heap` bytes the element itself holds.
    #[inline]
    pub(crate) fn push_default<'v, T: Default>(
        &mut self,
        values: &'v mut Vec<T>,
        heap: usize,
    ) -> Result<&'v mut T, DecodeError> {
        self.make_room(values)?;
        if heap != 0 {
            self.charge(heap)?;
        }
        values.push(T::default());
        Ok(values.last_mut().expect("just pushed"))
    }

    /// The value of an optional field, created when unset, charging the
    /// budget for `heap` bytes it holds (a boxed message's box).
    #[inline]
    pub(crate) fn get_or_default<'v, T: Default>(
        &mut self,
        value: &'v mut Option<T>,
        heap: usize,
    ) -> Result<&'v mut T, DecodeError> {
        if value.is_none() && heap != 0 {
            self.charge(heap)?;
        }
        Ok(value.get_or_insert_with(T::default))
    }

    /// Makes room for one more element in `values`, charging the budget
    /// when the vector has to grow.
    #[inline]
    pub(crate) fn make_room<T>(&mut self, values: &mut Vec<T>) -> Result<(), DecodeError> {
        if values.len() == values.capacity() {
            self.grow(values)?;
        }
        Ok(())
    }

    /// Grows a full vector as `Vec` would (doubling, at least 4 slots),
    /// after charging the slots it adds: the budget then covers the
    /// vector's whole capacity (and the old and new buffers together while
    /// it moves are at most 1.5 times that).
    #[cold]
    #[inline(never)]
    fn grow<T>(&mut self, values: &mut Vec<T>) -> Result<(), DecodeError> {
        let size = core::mem::size_of::<T>();
        if size == 0 {
            return Ok(());
        }
        let capacity = (values.capacity() * 2).max(4);
        self.charge((capacity - values.capacity()).saturating_mul(size))?;
        values.reserve_exact(capacity - values.len());
        Ok(())
    }

    /// A decoder over all of `bytes`, whose `Bytes` fields share it.
    pub(crate) fn new_shared(bytes: &'a bytes::Bytes, recursion_limit: u32) -> Decoder<'a> {
        Decoder {
            shared: Some(bytes),
            ..Decoder::new(bytes, recursion_limit)
        }
    }

    /// Reads a length-delimited value as `Bytes`: a slice of the input
    /// when the decoder reads from a `Bytes`, a copy otherwise.
    #[inline]
    pub(crate) fn read_shared_bytes(&mut self) -> Result<bytes::Bytes, DecodeError> {
        let slice = self.read_bytes()?;
        Ok(match self.shared {
            Some(shared) => shared.slice_ref(slice),
            None => bytes::Bytes::copy_from_slice(slice),
        })
    }

    /// True when every byte has been consumed.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         decoder.skip_field(number, wire_type, None)?;
    ///         self.values.push(decoder.is_empty() as u64); // 1 after the last field
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x08, 0x01, 0x08, 0x02][..]).unwrap().values, [0, 1]);
    /// ```
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes not yet consumed.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         self.values.push(decoder.remaining() as u64);
    ///         decoder.skip_field(number, wire_type, None)
    ///     }
    /// }
    /// // each field sees the bytes after its own key
    /// assert_eq!(Raw::decode(&[0x08, 0x01, 0x08, 0x02][..]).unwrap().values, [3, 1]);
    /// ```
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Reads a varint of up to ten bytes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         self.values.push(decoder.read_varint()?);
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x08, 0xac, 0x02][..]).unwrap().values, [300]);
    /// ```
    #[inline]
    pub fn read_varint(&mut self) -> Result<u64, DecodeError> {
        // Fast paths: one and two bytes cover most keys, lengths and values.
        match *self.buf {
            [b0, ref rest @ ..] if b0 < 0x80 => {
                self.buf = rest;
                Ok(b0 as u64)
            }
            [b0, b1, ref rest @ ..] if b1 < 0x80 => {
                self.buf = rest;
                Ok((b0 & 0x7f) as u64 | (b1 as u64) << 7)
            }
            _ => self.read_varint_slow(),
        }
    }

    #[inline(never)]
    fn read_varint_slow(&mut self) -> Result<u64, DecodeError> {
        if let Some(bytes) = self.buf.first_chunk::<10>() {
            // Ten bytes present: unrolled, without bounds checks. The first
            // two bytes are known to have their continuation bits set.
            let mut value = (bytes[0] & 0x7f) as u64 | ((bytes[1] & 0x7f) as u64) << 7;
            for (i, &byte) in bytes.iter().enumerate().skip(2) {
                // Bits past the 64th (in the tenth byte) are dropped, as
                // protobuf's C++ and upb parsers do.
                value |= ((byte & 0x7f) as u64) << (7 * i);
                if byte < 0x80 {
                    self.buf = &self.buf[i + 1..];
                    return Ok(value);
                }
            }
            return Err(DecodeError::new(DecodeErrorKind::VarintTooLong));
        }
        let mut value = 0u64;
        for (i, &byte) in self.buf.iter().enumerate() {
            value |= ((byte & 0x7f) as u64) << (7 * i);
            if byte < 0x80 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        Err(DecodeError::new(DecodeErrorKind::Truncated))
    }

    /// Reads four little-endian bytes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         self.values.push(decoder.read_fixed32()?.into());
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x0d, 1, 1, 0, 0][..]).unwrap().values, [257]);
    /// ```
    #[inline]
    pub fn read_fixed32(&mut self) -> Result<u32, DecodeError> {
        match self.buf.split_first_chunk::<4>() {
            Some((bytes, rest)) => {
                self.buf = rest;
                Ok(u32::from_le_bytes(*bytes))
            }
            None => Err(DecodeError::new(DecodeErrorKind::Truncated)),
        }
    }

    /// Reads eight little-endian bytes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         self.values.push(decoder.read_fixed64()?);
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x09, 2, 0, 0, 0, 0, 0, 0, 0][..]).unwrap().values, [2]);
    /// ```
    #[inline]
    pub fn read_fixed64(&mut self) -> Result<u64, DecodeError> {
        match self.buf.split_first_chunk::<8>() {
            Some((bytes, rest)) => {
                self.buf = rest;
                Ok(u64::from_le_bytes(*bytes))
            }
            None => Err(DecodeError::new(DecodeErrorKind::Truncated)),
        }
    }

    /// Reads a length prefix and returns that many bytes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         self.values.push(decoder.read_bytes()?.len() as u64);
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x0a, 0x02, b'h', b'i'][..]).unwrap().values, [2]);
    /// // a length running past the end is an error, before anything is allocated
    /// assert!(Raw::decode(&[0x0a, 0x7f, 0][..]).is_err());
    /// ```
    #[inline]
    pub fn read_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.read_varint()?;
        if len > self.buf.len() as u64 {
            return Err(DecodeError::new(DecodeErrorKind::LengthOutOfBounds {
                declared: len,
                remaining: self.buf.len(),
            }));
        }
        let (bytes, rest) = self.buf.split_at(len as usize);
        self.buf = rest;
        Ok(bytes)
    }

    /// Reads a field key: its number and wire type.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// #[derive(Debug, Default)]
    /// struct Raw { values: Vec<u64> }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         decoder.read_varint()?; // field 1's value
    ///         // then read the next key by hand, here while still inside field 1
    ///         if !decoder.is_empty() {
    ///             let (next, next_type) = decoder.read_key()?;
    ///             self.values.push(next.into());
    ///             decoder.skip_field(next, next_type, None)?;
    ///         }
    ///         let _ = (number, wire_type);
    ///         Ok(())
    ///     }
    /// }
    /// assert_eq!(Raw::decode(&[0x08, 0x01, 0x18, 0x02][..]).unwrap().values, [3]);
    /// ```
    #[inline]
    pub fn read_key(&mut self) -> Result<(u32, WireType), DecodeError> {
        let key = self.read_varint()?;
        // Wire types 6 and 7 and field number 0 are the only invalid keys
        // below 2^32; check them with one comparison each.
        match WireType::from_key(key) {
            Some(wire_type) if key >= 8 && key >> 3 <= MAX_FIELD_NUMBER as u64 => {
                Ok(((key >> 3) as u32, wire_type))
            }
            _ => Err(invalid_key(key)),
        }
    }

    /// The bytes not read yet.
    pub(crate) fn remaining_slice(&self) -> &'a [u8] {
        self.buf
    }

    /// A decoder over `bytes` one nesting level deeper than `self`, with
    /// the budget `self` has left (hand back what it leaves with
    /// [`Decoder::take_budget`]).
    #[inline]
    pub(crate) fn nested(&self, bytes: &'a [u8]) -> Result<Decoder<'a>, DecodeError> {
        if self.depth_left == 0 {
            return Err(DecodeError::new(DecodeErrorKind::RecursionLimit(
                self.limit,
            )));
        }
        Ok(Decoder {
            buf: bytes,
            depth_left: self.depth_left - 1,
            limit: self.limit,
            budget: self.budget,
            shared: self.shared,
        })
    }

    /// A decoder over `bytes` at the same nesting level (packed runs, map entries).
    #[inline]
    pub(crate) fn sibling(&self, bytes: &'a [u8]) -> Decoder<'a> {
        Decoder {
            buf: bytes,
            depth_left: self.depth_left,
            limit: self.limit,
            budget: self.budget,
            shared: self.shared,
        }
    }

    /// Takes back the budget a nested or sibling decoder has left.
    #[inline]
    pub(crate) fn take_budget(&mut self, inner: &Decoder<'_>) {
        self.budget = inner.budget;
    }

    /// Merges a length-delimited message into `msg`.
    #[inline]
    pub(crate) fn merge_message<M: Message>(&mut self, msg: &mut M) -> Result<(), DecodeError> {
        let bytes = self.read_bytes()?;
        let mut inner = self.nested(bytes)?;
        let result = crate::message::merge_fields(msg, &mut inner, None);
        self.take_budget(&inner);
        result
    }

    /// Merges a group (its start key already read) into `msg`.
    pub(crate) fn merge_group<M: Message>(
        &mut self,
        number: u32,
        msg: &mut M,
    ) -> Result<(), DecodeError> {
        self.descend()?;
        let result = crate::message::merge_fields(msg, self, Some(number));
        self.depth_left += 1;
        result
    }

    /// Merges a length-delimited message into the view `view`.
    #[inline]
    pub(crate) fn merge_view<V: crate::view::MessageView<'a>>(
        &mut self,
        view: &mut V,
    ) -> Result<(), DecodeError> {
        let bytes = self.read_bytes()?;
        let mut inner = self.nested(bytes)?;
        let result = crate::message::merge_fields(&mut crate::view::Viewed(view), &mut inner, None);
        self.take_budget(&inner);
        result
    }

    /// Merges a group (its start key already read) into the view `view`.
    pub(crate) fn merge_view_group<V: crate::view::MessageView<'a>>(
        &mut self,
        number: u32,
        view: &mut V,
    ) -> Result<(), DecodeError> {
        self.descend()?;
        let result =
            crate::message::merge_fields(&mut crate::view::Viewed(view), self, Some(number));
        self.depth_left += 1;
        result
    }

    /// One level deeper, for a group read in place (see [`Decoder::leave`]).
    pub(crate) fn enter(&mut self) -> Result<(), DecodeError> {
        self.descend()
    }

    /// Back up a level after [`Decoder::enter`].
    pub(crate) fn leave(&mut self) {
        self.depth_left += 1;
    }

    fn descend(&mut self) -> Result<(), DecodeError> {
        if self.depth_left == 0 {
            return Err(DecodeError::new(DecodeErrorKind::RecursionLimit(
                self.limit,
            )));
        }
        self.depth_left -= 1;
        Ok(())
    }

    /// Skips the value of a field whose key was just read, keeping its bytes
    /// in `unknown` when given.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::UnknownFields;
    /// #[derive(Debug, Default)]
    /// struct Raw { unknown: UnknownFields }
    /// impl Message for Raw {
    /// #   const FULL_NAME: &'static str = "demo.Raw";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Raw";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, _: &mut B) {}
    /// #   fn encoded_len(&self) -> usize { 0 }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         decoder.skip_field(number, wire_type, Some(&mut self.unknown))
    ///     }
    /// }
    /// let raw = Raw::decode(&[0x0a, 0x01, b'x', 0x10, 0x05][..]).unwrap();
    /// assert_eq!(raw.unknown.as_bytes(), [0x0a, 0x01, b'x', 0x10, 0x05]);
    /// ```
    pub fn skip_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError> {
        let start = self.buf;
        match wire_type {
            WireType::Varint => {
                self.read_varint()?;
            }
            WireType::Fixed64 => {
                self.read_fixed64()?;
            }
            WireType::Fixed32 => {
                self.read_fixed32()?;
            }
            WireType::LengthDelimited => {
                self.read_bytes()?;
            }
            WireType::StartGroup => self.skip_group(number)?,
            WireType::EndGroup => return Err(DecodeError::new(DecodeErrorKind::GroupMismatch)),
        }
        if let Some(unknown) = unknown {
            let value = &start[..start.len() - self.buf.len()];
            unknown.push_raw(number, wire_type, value);
        }
        Ok(())
    }

    fn skip_group(&mut self, number: u32) -> Result<(), DecodeError> {
        self.descend()?;
        loop {
            if self.buf.is_empty() {
                return Err(DecodeError::new(DecodeErrorKind::GroupMismatch));
            }
            let (inner, wire_type) = self.read_key()?;
            if wire_type == WireType::EndGroup {
                if inner != number {
                    return Err(DecodeError::new(DecodeErrorKind::GroupMismatch));
                }
                self.depth_left += 1;
                return Ok(());
            }
            self.skip_field(inner, wire_type, None)?;
        }
    }
}

#[cold]
fn invalid_key(key: u64) -> DecodeError {
    if WireType::from_key(key).is_none() {
        return DecodeError::new(DecodeErrorKind::InvalidWireType((key & 7) as u8));
    }
    if key >> 3 == 0 {
        return DecodeError::new(DecodeErrorKind::FieldNumberZero);
    }
    DecodeError::new(DecodeErrorKind::Other(
        format!(
            "field number {} exceeds the maximum {MAX_FIELD_NUMBER}",
            key >> 3
        )
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_edges() {
        let mut d = Decoder::new(
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            100,
        );
        assert_eq!(d.read_varint().unwrap(), u64::MAX);
        assert!(d.is_empty());
        let mut d = Decoder::new(&[0xff; 11], 100);
        assert_eq!(
            d.read_varint().unwrap_err().kind(),
            &DecodeErrorKind::VarintTooLong
        );
        let mut d = Decoder::new(&[0xff, 0xff], 100);
        assert_eq!(
            d.read_varint().unwrap_err().kind(),
            &DecodeErrorKind::Truncated
        );
    }

    #[test]
    fn lying_length_prefix_is_rejected_before_allocation() {
        // 2 GiB declared, three bytes present.
        let mut d = Decoder::new(&[0x80, 0x80, 0x80, 0x80, 0x08, 1, 2, 3], 100);
        match d.read_bytes().unwrap_err().kind() {
            DecodeErrorKind::LengthOutOfBounds {
                declared,
                remaining,
            } => {
                assert_eq!(*declared, 1 << 31);
                assert_eq!(*remaining, 3);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn keys_are_validated() {
        assert_eq!(
            Decoder::new(&[0x00], 100).read_key().unwrap_err().kind(),
            &DecodeErrorKind::FieldNumberZero
        );
        assert_eq!(
            Decoder::new(&[0x0e], 100).read_key().unwrap_err().kind(),
            &DecodeErrorKind::InvalidWireType(6)
        );
    }

    #[test]
    fn skipped_fields_are_kept_verbatim() {
        // field 3 group containing field 1 varint 5, then field 4 fixed32
        let bytes = [0x1b, 0x08, 0x05, 0x1c, 0x25, 1, 2, 3, 4];
        let mut d = Decoder::new(&bytes, 100);
        let mut unknown = UnknownFields::default();
        while !d.is_empty() {
            let (n, wt) = d.read_key().unwrap();
            d.skip_field(n, wt, Some(&mut unknown)).unwrap();
        }
        assert_eq!(unknown.as_bytes(), &bytes);
    }

    #[test]
    fn deep_groups_hit_the_recursion_limit() {
        let bytes: Vec<u8> = std::iter::repeat_n(0x0b, 200).collect();
        let mut d = Decoder::new(&bytes, 100);
        let (n, wt) = d.read_key().unwrap();
        let err = d.skip_field(n, wt, None).unwrap_err();
        assert_eq!(err.kind(), &DecodeErrorKind::RecursionLimit(100));
    }
}
