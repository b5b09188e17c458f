//! The [`Message`] trait and the decode loop every message shares.

use std::borrow::Cow;
use std::fmt::Debug;

use bytes::{Buf, BufMut};

use crate::decoder::{DEFAULT_RECURSION_LIMIT, Decoder};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError};
use crate::unknown::UnknownFields;
use crate::wire::{self, WireType};

/// A protobuf message.
///
/// Generated code implements the required methods; the provided ones are the
/// API users call, with the names prost users know.
///
/// ```
/// use protocall::{Message, types::Timestamp};
/// let t = Timestamp { seconds: 1_700_000_000, nanos: 5, ..Default::default() };
/// let bytes = t.encode_to_vec();
/// assert_eq!(bytes.len(), t.encoded_len());
/// assert_eq!(Timestamp::decode(bytes.as_slice()).unwrap(), t);
/// assert_eq!(Timestamp::TYPE_URL, "type.googleapis.com/google.protobuf.Timestamp");
/// ```
pub trait Message: Default + Debug + Send + Sync {
    /// Full proto name, e.g. `user.GetUserRequest`.
    ///
    /// ```
    /// use protocall::{Message, types::Timestamp};
    /// assert_eq!(Timestamp::FULL_NAME, "google.protobuf.Timestamp");
    /// ```
    const FULL_NAME: &'static str;
    /// The type URL used by `google.protobuf.Any`.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// assert_eq!(Duration::TYPE_URL, "type.googleapis.com/google.protobuf.Duration");
    /// ```
    const TYPE_URL: &'static str;

    /// True when the message, or a message it contains, has a `bytes` field
    /// stored as `bytes::Bytes` (the `bytes(paths)` codegen option): decoding
    /// then takes the input as one `Bytes`, which those fields share instead
    /// of copying. Generated code sets it; hand-written impls keep `false`.
    #[doc(hidden)]
    const SHARES_BYTES: bool = false;

    /// Heap bytes a default instance holds: `size_of::<M>()` for a boxed
    /// `M`, 0 for anything stored inline. Decoding charges it to the memory
    /// budget when it creates one.
    #[doc(hidden)]
    const DEFAULT_HEAP: usize = 0;

    /// Writes the fields (no length prefix). The buffer must have room for
    /// [`Message::encoded_len`] bytes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::__private::codec::Int64;
    /// #[derive(Debug, Default, PartialEq)]
    /// struct Counter { count: i64 }
    /// impl Message for Counter {
    /// #     const FULL_NAME: &'static str = "demo.Counter";
    /// #     const TYPE_URL: &'static str = "type.googleapis.com/demo.Counter";
    ///     fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    ///         Int64::encode_implicit(1, &self.count, buf)
    ///     }
    /// #     fn encoded_len(&self) -> usize {
    /// #         Int64::encoded_len_implicit(1, &self.count)
    /// #     }
    /// #     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    /// #         -> Result<(), DecodeError> {
    /// #         match number {
    /// #             1 => Int64::merge(wire_type, &mut self.count, decoder),
    /// #             _ => decoder.skip_field(number, wire_type, None),
    /// #         }
    /// #     }
    /// }
    /// let mut buf = Vec::new();
    /// Counter { count: 3 }.encode_raw(&mut buf);
    /// assert_eq!(buf, [0x08, 0x03]);
    /// ```
    fn encode_raw<B: BufMut + ?Sized>(&self, buf: &mut B);

    /// The exact number of bytes [`Message::encode_raw`] writes.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::__private::codec::Int64;
    /// #[derive(Debug, Default, PartialEq)]
    /// struct Counter { count: i64 }
    /// impl Message for Counter {
    /// #     const FULL_NAME: &'static str = "demo.Counter";
    /// #     const TYPE_URL: &'static str = "type.googleapis.com/demo.Counter";
    /// #     fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #         Int64::encode_implicit(1, &self.count, buf)
    /// #     }
    ///     fn encoded_len(&self) -> usize {
    ///         Int64::encoded_len_implicit(1, &self.count)
    ///     }
    /// #     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    /// #         -> Result<(), DecodeError> {
    /// #         match number {
    /// #             1 => Int64::merge(wire_type, &mut self.count, decoder),
    /// #             _ => decoder.skip_field(number, wire_type, None),
    /// #         }
    /// #     }
    /// }
    /// assert_eq!(Counter { count: 3 }.encoded_len(), 2);
    /// assert_eq!(Counter::default().encoded_len(), 0);
    /// ```
    fn encoded_len(&self) -> usize;

    /// Reads the value of field `number` (its key already consumed).
    ///
    /// Generated code dispatches on `number` and hands fields it does not
    /// know to [`Decoder::skip_field`].
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::__private::codec::Int64;
    /// #[derive(Debug, Default, PartialEq)]
    /// struct Counter { count: i64 }
    /// impl Message for Counter {
    /// #     const FULL_NAME: &'static str = "demo.Counter";
    /// #     const TYPE_URL: &'static str = "type.googleapis.com/demo.Counter";
    /// #     fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #         Int64::encode_implicit(1, &self.count, buf)
    /// #     }
    /// #     fn encoded_len(&self) -> usize {
    /// #         Int64::encoded_len_implicit(1, &self.count)
    /// #     }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Int64::merge(wire_type, &mut self.count, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// assert_eq!(Counter::decode(&[0x08, 0x03][..]).unwrap(), Counter { count: 3 });
    /// ```
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError>;

    /// The unknown fields kept by this message, if it keeps them.
    ///
    /// ```
    /// use protocall::{Message, types::Empty};
    /// let mut empty = Empty::default();
    /// empty.unknown_fields_mut().unwrap().push_varint(5, 1);
    /// assert_eq!(empty.encode_to_vec(), [0x28, 0x01]);
    /// ```
    fn unknown_fields_mut(&mut self) -> Option<&mut UnknownFields> {
        None
    }

    /// The proto name of field `number`, for error messages.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// assert_eq!(Duration::field_name(2), Some("nanos"));
    /// assert_eq!(Duration::field_name(9), None);
    /// ```
    fn field_name(number: u32) -> Option<&'static str> {
        let _ = number;
        None
    }

    /// Resets every field to its default.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let mut d = Duration { seconds: 5, ..Default::default() };
    /// d.clear();
    /// assert_eq!(d, Duration::default());
    /// ```
    fn clear(&mut self) {
        *self = Self::default();
    }

    /// Encodes into `buf`, failing without writing if it lacks room.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let d = Duration { seconds: 1, ..Default::default() };
    /// let mut buf = Vec::new();
    /// d.encode(&mut buf).unwrap();
    /// assert_eq!(buf, [0x08, 0x01]);
    /// let mut full = [0u8; 1];
    /// assert!(d.encode(&mut &mut full[..]).is_err());
    /// ```
    fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) -> Result<(), EncodeError> {
        // A buffer that grows (`Vec`, `BytesMut`: room up to `isize::MAX`
        // or more) cannot lack room for a message that fits in memory, so
        // the size pass that would only prove it is skipped.
        if buf.remaining_mut() < GROWABLE {
            let required = self.encoded_len();
            if required > buf.remaining_mut() {
                return Err(EncodeError::new(required, buf.remaining_mut()));
            }
        }
        self.encode_raw(buf);
        Ok(())
    }

    /// Encodes into a new vector of exactly the right size.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let bytes = Duration { seconds: 1, ..Default::default() }.encode_to_vec();
    /// assert_eq!(bytes, [0x08, 0x01]);
    /// ```
    fn encode_to_vec(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.encode_raw(&mut buf);
        buf
    }

    /// Encodes with a varint length prefix.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let mut buf = Vec::new();
    /// Duration { seconds: 1, ..Default::default() }.encode_length_delimited(&mut buf).unwrap();
    /// assert_eq!(buf, [0x02, 0x08, 0x01]);
    /// ```
    fn encode_length_delimited<B: BufMut + ?Sized>(&self, buf: &mut B) -> Result<(), EncodeError> {
        let len = self.encoded_len();
        let required = len + wire::varint_len(len as u64);
        if required > buf.remaining_mut() {
            return Err(EncodeError::new(required, buf.remaining_mut()));
        }
        wire::put_varint(len as u64, buf);
        self.encode_raw(buf);
        Ok(())
    }

    /// Encodes with a varint length prefix into a new vector.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let bytes = Duration { seconds: 1, ..Default::default() }.encode_length_delimited_to_vec();
    /// assert_eq!(bytes, [0x02, 0x08, 0x01]);
    /// ```
    fn encode_length_delimited_to_vec(&self) -> Vec<u8> {
        let len = self.encoded_len();
        let mut buf = Vec::with_capacity(len + wire::varint_len(len as u64));
        wire::put_varint(len as u64, &mut buf);
        self.encode_raw(&mut buf);
        buf
    }

    /// Decodes a message from all of `buf`.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let d = Duration::decode(&[0x08, 0x01][..]).unwrap();
    /// assert_eq!(d.seconds, 1);
    /// ```
    fn decode<B: Buf>(buf: B) -> Result<Self, DecodeError> {
        DecodeOptions::new().decode(buf)
    }

    /// Decodes a length-prefixed message from the front of `buf`.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// // two messages back to back, each with its length in front
    /// let bytes = [0x02, 0x08, 0x01, 0x02, 0x08, 0x02];
    /// let mut buf = &bytes[..];
    /// assert_eq!(Duration::decode_length_delimited(&mut buf).unwrap().seconds, 1);
    /// assert_eq!(Duration::decode_length_delimited(&mut buf).unwrap().seconds, 2);
    /// ```
    fn decode_length_delimited<B: Buf>(buf: B) -> Result<Self, DecodeError> {
        let mut message = Self::default();
        message.merge_length_delimited(buf)?;
        Ok(message)
    }

    /// Merges all of `buf` into `self`: scalars are replaced, messages
    /// merged, repeated fields appended, map entries replaced by key.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let mut d = Duration { seconds: 1, nanos: 5, ..Default::default() };
    /// d.merge(&[0x08, 0x02][..]).unwrap(); // seconds = 2
    /// assert_eq!((d.seconds, d.nanos), (2, 5));
    /// ```
    fn merge<B: Buf>(&mut self, buf: B) -> Result<(), DecodeError> {
        DecodeOptions::new().merge(self, buf)
    }

    /// Merges a length-prefixed message from the front of `buf` into `self`.
    ///
    /// ```
    /// use protocall::{Message, types::Duration};
    /// let mut d = Duration { nanos: 5, ..Default::default() };
    /// d.merge_length_delimited(&[0x02, 0x08, 0x02][..]).unwrap();
    /// assert_eq!((d.seconds, d.nanos), (2, 5));
    /// ```
    fn merge_length_delimited<B: Buf>(&mut self, mut buf: B) -> Result<(), DecodeError> {
        let len = read_length_prefix(&mut buf)?;
        DecodeOptions::new().merge(self, buf.take(len))
    }

    /// What every whole-input decode and merge comes to
    /// ([`DecodeOptions::merge`], and through it [`Message::decode`],
    /// [`Message::merge`], gRPC payloads): the fields of `buf` read one by
    /// one. A type decoded another way overrides it
    /// ([`crate::view::ViewOf`] decodes a view of all of `buf` at once).
    #[doc(hidden)]
    fn merge_with_options<B: Buf>(
        &mut self,
        buf: B,
        options: &DecodeOptions,
    ) -> Result<(), DecodeError>
    where
        Self: Sized,
    {
        options.merge_fields_of(self, buf)
    }
}

/// Room that only a growable buffer reports (`Vec<u8>` reports
/// `isize::MAX - len`, `BytesMut` `usize::MAX - len`): no encoding in
/// memory comes near it.
const GROWABLE: usize = (isize::MAX as usize) / 2;

/// Reads a varint length prefix through the `Buf` API and checks it against
/// the bytes present.
fn read_length_prefix<B: Buf>(buf: &mut B) -> Result<usize, DecodeError> {
    let mut len = 0u64;
    for i in 0..10 {
        if !buf.has_remaining() {
            return Err(DecodeError::new(DecodeErrorKind::Truncated));
        }
        let byte = buf.get_u8();
        len |= ((byte & 0x7f) as u64) << (7 * i);
        if byte < 0x80 {
            if len > buf.remaining() as u64 {
                return Err(DecodeError::new(DecodeErrorKind::LengthOutOfBounds {
                    declared: len,
                    remaining: buf.remaining(),
                }));
            }
            return Ok(len as usize);
        }
    }
    Err(DecodeError::new(DecodeErrorKind::VarintTooLong))
}

/// Limits applied while decoding.
///
/// ```
/// use protocall::{DecodeOptions, types::Value};
/// let opts = DecodeOptions::new().recursion_limit(8);
/// let v: Value = opts.decode(&[][..]).unwrap();
/// assert_eq!(v, Value::default());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions {
    recursion_limit: u32,
    budget_per_byte: usize,
    budget_base: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions::new()
    }
}

impl DecodeOptions {
    /// The default memory budget: for each input byte, this many bytes…
    pub const DEFAULT_BUDGET_PER_BYTE: usize = 32;
    /// …plus this many (1 MiB).
    pub const DEFAULT_BUDGET_BASE: usize = 1 << 20;

    /// The defaults: recursion limit 100, memory budget 32 bytes per input
    /// byte plus 1 MiB.
    ///
    /// ```
    /// use protocall::{DecodeOptions, types::Duration};
    /// let d: Duration = DecodeOptions::new().decode(&[0x08, 0x01][..]).unwrap();
    /// assert_eq!(d.seconds, 1);
    /// ```
    pub const fn new() -> DecodeOptions {
        DecodeOptions {
            recursion_limit: DEFAULT_RECURSION_LIMIT,
            budget_per_byte: Self::DEFAULT_BUDGET_PER_BYTE,
            budget_base: Self::DEFAULT_BUDGET_BASE,
        }
    }

    /// How deeply messages and groups may nest.
    ///
    /// ```
    /// use protocall::{DecodeOptions, Message, types::Value};
    /// // a Value holding a list holding a Value holding an empty list: 3 levels deep
    /// let bytes = Value::from(vec![Value::from(Vec::new())]).encode_to_vec();
    /// let shallow = DecodeOptions::new().recursion_limit(2);
    /// assert!(shallow.decode::<Value, _>(bytes.as_slice()).is_err());
    /// assert!(DecodeOptions::new().decode::<Value, _>(bytes.as_slice()).is_ok());
    /// ```
    pub const fn recursion_limit(mut self, limit: u32) -> DecodeOptions {
        self.recursion_limit = limit;
        self
    }

    /// How much memory decoding `n` bytes may spend on the slots of
    /// repeated fields, map entries and boxed messages:
    /// `per_input_byte · n + base` bytes (default
    /// [`DecodeOptions::DEFAULT_BUDGET_PER_BYTE`] · n +
    /// [`DecodeOptions::DEFAULT_BUDGET_BASE`], i.e.
    /// 32 · n + 1 MiB). Past it, decoding fails with
    /// [`DecodeErrorKind::MemoryBudget`](crate::DecodeErrorKind::MemoryBudget).
    ///
    /// This is what stops a few bytes from becoming a lot of memory: an
    /// empty sub-message is two bytes on the wire but a whole struct in
    /// memory. Each vector growth is charged at its full new allocation,
    /// each map entry at its key and value, each boxed message at its size.
    /// The rest of what a decode allocates is bounded by the input itself
    /// (string and bytes contents, unknown fields kept as their encoded
    /// bytes), so decoding `n` bytes allocates at most about
    /// `4 · budget + 5 · n` bytes at any moment (the factor 4 covers a hash
    /// table's spare buckets during a resize); README "Memory budgets" has
    /// the measured figures.
    ///
    /// ```
    /// use protocall::{DecodeErrorKind, DecodeOptions, types::ListValue};
    /// // 10,000 empty `Value`s: 20,000 bytes on the wire
    /// let bytes: Vec<u8> = [0x0a, 0x00].repeat(10_000);
    /// let tight = DecodeOptions::new().memory_budget(8, 0);
    /// let err = tight.decode::<ListValue, _>(bytes.as_slice()).unwrap_err();
    /// assert_eq!(err.kind(), &DecodeErrorKind::MemoryBudget);
    /// assert_eq!(DecodeOptions::new().decode::<ListValue, _>(bytes.as_slice()).unwrap().values.len(), 10_000);
    /// ```
    pub const fn memory_budget(mut self, per_input_byte: usize, base: usize) -> DecodeOptions {
        self.budget_per_byte = per_input_byte;
        self.budget_base = base;
        self
    }

    /// The recursion limit.
    pub(crate) const fn recursion(&self) -> u32 {
        self.recursion_limit
    }

    /// These options with the budget for `len` bytes of source text (JSON,
    /// text format) made absolute, to decode the binary the text became.
    pub(crate) const fn budget_of_source(self, len: usize) -> DecodeOptions {
        let budget = self.budget_for(len);
        self.memory_budget(0, budget)
    }

    /// The budget for decoding `len` bytes.
    pub(crate) const fn budget_for(&self, len: usize) -> usize {
        len.saturating_mul(self.budget_per_byte)
            .saturating_add(self.budget_base)
    }

    /// Decodes a message from all of `buf`.
    ///
    /// ```
    /// use protocall::{DecodeOptions, types::Duration};
    /// let opts = DecodeOptions::new().recursion_limit(10);
    /// let d: Duration = opts.decode(&[0x10, 0x07][..]).unwrap();
    /// assert_eq!(d.nanos, 7);
    /// ```
    pub fn decode<M: Message, B: Buf>(&self, buf: B) -> Result<M, DecodeError> {
        let mut message = M::default();
        self.merge(&mut message, buf)?;
        Ok(message)
    }

    /// Merges all of `buf` into `message`.
    ///
    /// ```
    /// use protocall::{DecodeOptions, types::Duration};
    /// let mut d = Duration { seconds: 1, ..Default::default() };
    /// DecodeOptions::new().merge(&mut d, &[0x10, 0x07][..]).unwrap();
    /// assert_eq!((d.seconds, d.nanos), (1, 7));
    /// ```
    pub fn merge<M: Message, B: Buf>(&self, message: &mut M, buf: B) -> Result<(), DecodeError> {
        message.merge_with_options(buf, self)
    }

    /// [`Message::merge_with_options`]' default: field by field.
    fn merge_fields_of<M: Message, B: Buf>(
        &self,
        message: &mut M,
        mut buf: B,
    ) -> Result<(), DecodeError> {
        if M::SHARES_BYTES {
            // One `Bytes` for the whole input, which `Bytes` fields then
            // slice: free for `Bytes` input (every gRPC message), one copy
            // of the input otherwise instead of one per field.
            let bytes = buf.copy_to_bytes(buf.remaining());
            let mut decoder = Decoder::new_shared(&bytes, self.recursion_limit)
                .with_budget(self.budget_for(bytes.len()));
            return merge_fields(message, &mut decoder, None);
        }
        with_contiguous(&mut buf, |bytes| {
            let decoder = Decoder::new(bytes, self.recursion_limit);
            merge_fields(
                message,
                &mut decoder.with_budget(self.budget_for(bytes.len())),
                None,
            )
        })
    }
}

/// Runs `f` over all the bytes of `buf` as one slice (copying only when
/// `buf` is split into several chunks), then consumes them.
fn with_contiguous<B: Buf>(
    buf: &mut B,
    f: impl FnOnce(&[u8]) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    if buf.chunk().len() == buf.remaining() {
        f(buf.chunk())?;
        buf.advance(buf.remaining());
        Ok(())
    } else {
        f(&buf.copy_to_bytes(buf.remaining()))
    }
}

/// What [`merge_fields`] reads into: a message, or a view of one.
pub(crate) trait Fields<'a> {
    /// The message's full name, for error paths.
    const FULL_NAME: &'static str;
    /// The proto name of field `number`, for error paths.
    fn field_name(number: u32) -> Option<&'static str>;
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError>;
    /// Skips a field `merge_field` did not take (its key already read;
    /// `record` starts at the key), keeping it as an unknown field.
    fn skip(
        &mut self,
        number: u32,
        wire_type: WireType,
        record: &'a [u8],
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError>;
}

impl<'a, M: Message> Fields<'a> for M {
    const FULL_NAME: &'static str = M::FULL_NAME;

    #[inline]
    fn field_name(number: u32) -> Option<&'static str> {
        M::field_name(number)
    }

    #[inline]
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError> {
        Message::merge_field(self, number, wire_type, decoder)
    }

    #[inline]
    fn skip(
        &mut self,
        number: u32,
        wire_type: WireType,
        _: &'a [u8],
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError> {
        decoder.skip_field(number, wire_type, self.unknown_fields_mut())
    }
}

impl<'a, V: crate::view::MessageView<'a>> Fields<'a> for crate::view::Viewed<'_, V> {
    const FULL_NAME: &'static str = <V::Owned as Message>::FULL_NAME;

    #[inline]
    fn field_name(number: u32) -> Option<&'static str> {
        <V::Owned as Message>::field_name(number)
    }

    #[inline]
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError> {
        self.0.merge_field(number, wire_type, decoder)
    }

    #[inline]
    fn skip(
        &mut self,
        number: u32,
        wire_type: WireType,
        record: &'a [u8],
        decoder: &mut Decoder<'a>,
    ) -> Result<(), DecodeError> {
        decoder.skip_field(number, wire_type, None)?;
        match self.0.unknown_fields_mut() {
            Some(unknown) => {
                let taken = &record[..record.len() - decoder.remaining()];
                unknown.push_records(taken, decoder)
            }
            None => Ok(()),
        }
    }
}

/// Reads fields into `message` until the decoder is empty or, for a group,
/// until the end key of field `group`.
pub(crate) fn merge_fields<'a, F: Fields<'a>>(
    message: &mut F,
    decoder: &mut Decoder<'a>,
    group: Option<u32>,
) -> Result<(), DecodeError> {
    while !decoder.is_empty() {
        let record = decoder.remaining_slice();
        let (number, wire_type) = decoder
            .read_key()
            .map_err(|e| e.push(F::FULL_NAME, Cow::Borrowed("")))?;
        if wire_type == WireType::EndGroup {
            return if group == Some(number) {
                Ok(())
            } else {
                Err(DecodeError::new(DecodeErrorKind::GroupMismatch)
                    .push(F::FULL_NAME, Cow::Borrowed("")))
            };
        }
        match message.merge_field(number, wire_type, decoder) {
            Ok(()) => {}
            // A known number with a foreign wire type is an unknown field,
            // as protobuf's own parsers treat it.
            Err(e) if e.is_wire_type_mismatch() => message
                .skip(number, wire_type, record, decoder)
                .map_err(|e| field_error::<F>(e, number))?,
            Err(e) => return Err(field_error::<F>(e, number)),
        }
    }
    match group {
        None => Ok(()),
        Some(_) => {
            Err(DecodeError::new(DecodeErrorKind::GroupMismatch)
                .push(F::FULL_NAME, Cow::Borrowed("")))
        }
    }
}

#[cold]
fn field_error<'a, F: Fields<'a>>(error: DecodeError, number: u32) -> DecodeError {
    let field = match F::field_name(number) {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(number.to_string()),
    };
    error.push(F::FULL_NAME, field)
}

/// A boxed message is a message: recursive fields are stored boxed.
impl<M: Message> Message for Box<M> {
    const FULL_NAME: &'static str = M::FULL_NAME;
    const TYPE_URL: &'static str = M::TYPE_URL;
    const SHARES_BYTES: bool = M::SHARES_BYTES;
    const DEFAULT_HEAP: usize = core::mem::size_of::<M>() + M::DEFAULT_HEAP;

    #[inline]
    fn encode_raw<B: BufMut + ?Sized>(&self, buf: &mut B) {
        (**self).encode_raw(buf)
    }

    #[inline]
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }

    #[inline]
    fn merge_field(
        &mut self,
        number: u32,
        wire_type: WireType,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        (**self).merge_field(number, wire_type, decoder)
    }

    fn unknown_fields_mut(&mut self) -> Option<&mut UnknownFields> {
        (**self).unknown_fields_mut()
    }

    fn field_name(number: u32) -> Option<&'static str> {
        M::field_name(number)
    }

    fn clear(&mut self) {
        (**self).clear()
    }
}

#[cfg(test)]
mod shared_bytes_tests {
    use bytes::{BufMut, Bytes};

    use crate::codec::{self, Msg};
    use crate::decoder::Decoder;
    use crate::error::DecodeError;
    use crate::message::Message;
    use crate::wire::WireType;

    /// `bytes` fields stored as `Bytes`, one of them nested and repeated.
    #[derive(Debug, Default, PartialEq)]
    struct Blob {
        data: Bytes,
        parts: Vec<Bytes>,
        inner: Option<Box<Blob>>,
    }

    impl Message for Blob {
        const FULL_NAME: &'static str = "test.Blob";
        const TYPE_URL: &'static str = "type.googleapis.com/test.Blob";
        const SHARES_BYTES: bool = true;

        fn encode_raw<B: BufMut + ?Sized>(&self, buf: &mut B) {
            codec::Bytes::encode_implicit(1, &self.data, buf);
            codec::Bytes::encode_repeated(2, &self.parts, buf);
            Msg::encode_optional(3, &self.inner, buf);
        }

        fn encoded_len(&self) -> usize {
            codec::Bytes::encoded_len_implicit(1, &self.data)
                + codec::Bytes::encoded_len_repeated(2, &self.parts)
                + Msg::encoded_len_optional(3, &self.inner)
        }

        fn merge_field(
            &mut self,
            number: u32,
            wire_type: WireType,
            decoder: &mut Decoder<'_>,
        ) -> Result<(), DecodeError> {
            match number {
                1 => codec::Bytes::merge(wire_type, &mut self.data, decoder),
                2 => codec::Bytes::merge_repeated(wire_type, &mut self.parts, decoder),
                3 => Msg::merge_optional(wire_type, &mut self.inner, decoder),
                _ => decoder.skip_field(number, wire_type, None),
            }
        }

        fn clear(&mut self) {
            *self = Blob::default();
        }
    }

    fn sample() -> Blob {
        Blob {
            data: Bytes::from_static(b"outer data"),
            parts: vec![Bytes::from_static(b"p0"), Bytes::from_static(b"part one")],
            inner: Some(Box::new(Blob {
                data: Bytes::from_static(b"inner data"),
                ..Blob::default()
            })),
        }
    }

    /// True when `part` lies inside `whole`'s memory.
    fn within(part: &Bytes, whole: &Bytes) -> bool {
        let range = whole.as_ptr_range();
        let part = part.as_ptr_range();
        range.start <= part.start && part.end <= range.end
    }

    #[test]
    fn encode_writes_the_same_bytes_into_growable_and_fixed_buffers() {
        let expected = sample().encode_to_vec();
        assert_eq!(expected.len(), sample().encoded_len());
        // Growable: no size pass, same bytes, appended after what is there.
        let mut vec = vec![0xaa];
        sample().encode(&mut vec).unwrap();
        assert_eq!(vec[1..], expected[..]);
        let mut bytes = bytes::BytesMut::new();
        sample().encode(&mut bytes).unwrap();
        assert_eq!(bytes[..], expected[..]);
        // Fixed: exactly enough works, one byte less fails and writes nothing.
        let mut exact = vec![0u8; expected.len()];
        sample().encode(&mut exact.as_mut_slice()).unwrap();
        assert_eq!(exact, expected);
        let mut short = vec![0u8; expected.len() - 1];
        let err = sample().encode(&mut short.as_mut_slice()).unwrap_err();
        assert_eq!(err.required(), expected.len());
        assert!(short.iter().all(|&b| b == 0));
    }

    #[test]
    fn decoding_a_bytes_input_shares_its_buffer() {
        let input = Bytes::from(sample().encode_to_vec());
        let decoded = Blob::decode(input.clone()).unwrap();
        assert_eq!(decoded, sample());
        assert!(within(&decoded.data, &input));
        assert!(decoded.parts.iter().all(|p| within(p, &input)));
        assert!(within(&decoded.inner.as_ref().unwrap().data, &input));
    }

    #[test]
    fn decoding_a_slice_copies_once_and_still_works() {
        let input = sample().encode_to_vec();
        let decoded = Blob::decode(input.as_slice()).unwrap();
        assert_eq!(decoded, sample());
        // Not in the caller's buffer: the input was copied (once) first.
        let range = input.as_ptr_range();
        assert!(!range.contains(&decoded.data.as_ptr()));
        // The fields share that one copy: they lie as far apart as in the input.
        let offset = |needle: &[u8]| {
            input
                .windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
        };
        let in_input = offset(b"part one") as isize - offset(b"outer data") as isize;
        let decoded_gap = decoded.parts[1].as_ptr() as isize - decoded.data.as_ptr() as isize;
        assert_eq!(decoded_gap, in_input);
    }

    #[test]
    fn a_length_delimited_bytes_input_shares_too() {
        let mut framed = Vec::new();
        sample().encode_length_delimited(&mut framed).unwrap();
        framed.extend_from_slice(b"trailing");
        let input = Bytes::from(framed);
        let mut rest = input.clone();
        let decoded = Blob::decode_length_delimited(&mut rest).unwrap();
        assert_eq!(decoded, sample());
        assert!(within(&decoded.data, &input));
        assert_eq!(&rest[..], b"trailing");
    }
}
