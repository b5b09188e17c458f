//! Message kinds: length-delimited messages ([`Msg`]) and proto2 groups ([`Group`]).

use bytes::BufMut;

use super::{FieldCodec, wire_type_mismatch};
use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::message::Message;
use crate::wire::{self, WireType};

/// A message field (length-delimited), stored as `M` or `Box<M>`
/// (`Box<M>` is itself a [`Message`]).
///
/// ```
/// use protocall::{__private::codec::Msg, types::Duration};
/// let mut buf = Vec::new();
/// Msg::encode(1, &Box::new(Duration { seconds: 1, ..Default::default() }), &mut buf);
/// assert_eq!(buf, [0x0a, 0x02, 0x08, 0x01]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Msg;

/// A proto2 group field (delimited by start/end keys), stored as `M` or `Box<M>`.
///
/// ```
/// use protocall::{__private::codec::Group, types::Duration};
/// let mut buf = Vec::new();
/// Group::encode(1, &Duration { seconds: 1, ..Default::default() }, &mut buf);
/// assert_eq!(buf, [0x0b, 0x08, 0x01, 0x0c]); // start key, field, end key
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Group;

/// A proto2 group whose field number the type carries: what the handle of
/// a group extension uses, since a value codec is not told the number and a
/// group's end key holds it.
///
/// ```
/// use protocall::__private::codec::{FieldCodec, GroupOf};
/// use protocall::types::Duration;
/// let mut buf = Vec::new();
/// GroupOf::<2>::encode_value(&Duration { seconds: 1, ..Default::default() }, &mut buf);
/// assert_eq!(buf, [0x08, 0x01, 0x14]); // no start key: `seconds: 1`, end of group 2
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupOf<const NUMBER: u32>;

impl<M: Message, const NUMBER: u32> FieldCodec<M> for GroupOf<NUMBER> {
    const WIRE_TYPE: WireType = WireType::StartGroup;
    const PACKABLE: bool = false;
    const DEFAULT_HEAP: usize = M::DEFAULT_HEAP;

    fn encode_value<B: BufMut + ?Sized>(value: &M, buf: &mut B) {
        value.encode_raw(buf);
        wire::put_key(NUMBER, WireType::EndGroup, buf);
    }

    fn value_len(value: &M) -> usize {
        value.encoded_len() + wire::key_len(NUMBER)
    }

    fn merge_value(value: &mut M, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        decoder.merge_group(NUMBER, value)
    }

    fn is_default(_: &M) -> bool {
        false
    }
}

impl<M: Message> FieldCodec<M> for Msg {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const PACKABLE: bool = false;

    #[inline]
    fn encode_value<B: BufMut + ?Sized>(value: &M, buf: &mut B) {
        wire::put_varint(value.encoded_len() as u64, buf);
        value.encode_raw(buf);
    }

    #[inline]
    fn value_len(value: &M) -> usize {
        let len = value.encoded_len();
        wire::varint_len(len as u64) + len
    }

    const DEFAULT_HEAP: usize = M::DEFAULT_HEAP;

    #[inline]
    fn merge_value(value: &mut M, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        decoder.merge_message(value)
    }

    #[inline]
    fn is_default(_: &M) -> bool {
        false
    }
}

impl Group {
    /// Writes group field `number`.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// let mut buf = Vec::new();
    /// Group::encode(2, &Duration { seconds: 1, ..Default::default() }, &mut buf);
    /// assert_eq!(buf, [0x13, 0x08, 0x01, 0x14]);
    /// ```
    #[inline]
    pub fn encode<M: Message, B: BufMut + ?Sized>(number: u32, value: &M, buf: &mut B) {
        wire::put_key(number, WireType::StartGroup, buf);
        value.encode_raw(buf);
        wire::put_key(number, WireType::EndGroup, buf);
    }

    /// Writes group field `number` when set.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// let mut buf = Vec::new();
    /// Group::encode_optional(2, &None::<Duration>, &mut buf);
    /// assert!(buf.is_empty());
    /// Group::encode_optional(2, &Some(Duration { seconds: 1, ..Default::default() }), &mut buf);
    /// assert_eq!(buf, [0x13, 0x08, 0x01, 0x14]);
    /// ```
    #[inline]
    pub fn encode_optional<M: Message, B: BufMut + ?Sized>(
        number: u32,
        value: &Option<M>,
        buf: &mut B,
    ) {
        if let Some(value) = value {
            Group::encode(number, value, buf)
        }
    }

    /// Writes each value as a group.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// let mut buf = Vec::new();
    /// Group::encode_repeated(2, &[Duration::default(), Duration::default()], &mut buf);
    /// assert_eq!(buf, [0x13, 0x14, 0x13, 0x14]);
    /// ```
    #[inline]
    pub fn encode_repeated<M: Message, B: BufMut + ?Sized>(number: u32, values: &[M], buf: &mut B) {
        for value in values {
            Group::encode(number, value, buf)
        }
    }

    /// Bytes [`Group::encode`] writes.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// assert_eq!(Group::encoded_len(2, &Duration { seconds: 1, ..Default::default() }), 4);
    /// ```
    #[inline]
    pub fn encoded_len<M: Message>(number: u32, value: &M) -> usize {
        2 * wire::key_len(number) + value.encoded_len()
    }

    /// Bytes [`Group::encode_optional`] writes.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// assert_eq!(Group::encoded_len_optional(2, &None::<Duration>), 0);
    /// assert_eq!(Group::encoded_len_optional(2, &Some(Duration::default())), 2);
    /// ```
    #[inline]
    pub fn encoded_len_optional<M: Message>(number: u32, value: &Option<M>) -> usize {
        value
            .as_ref()
            .map_or(0, |value| Group::encoded_len(number, value))
    }

    /// Bytes [`Group::encode_repeated`] writes.
    ///
    /// ```
    /// use protocall::{__private::codec::Group, types::Duration};
    /// assert_eq!(Group::encoded_len_repeated(2, &[Duration::default(), Duration::default()]), 4);
    /// ```
    #[inline]
    pub fn encoded_len_repeated<M: Message>(number: u32, values: &[M]) -> usize {
        values
            .iter()
            .map(|value| Group::encoded_len(number, value))
            .sum()
    }

    /// Reads a group (start key already read) into `value`.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::{__private::codec::Group, types::Duration};
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Duration }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       Group::encode(1, &self.value, buf)
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       Group::encoded_len(1, &self.value)
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Group::merge(number, wire_type, &mut self.value, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// let value = Duration { seconds: 1, ..Default::default() };
    /// let bytes = Holder { value: value.clone() }.encode_to_vec();
    /// assert_eq!(Holder::decode(bytes.as_slice()).unwrap().value, value.clone());
    /// ```
    #[inline]
    pub fn merge<M: Message>(
        number: u32,
        wire_type: WireType,
        value: &mut M,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        if wire_type != WireType::StartGroup {
            return Err(wire_type_mismatch());
        }
        decoder.merge_group(number, value)
    }

    /// Reads a group into an optional field, setting it.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::{__private::codec::Group, types::Duration};
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Option<Duration> }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       Group::encode_optional(1, &self.value, buf)
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       Group::encoded_len_optional(1, &self.value)
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Group::merge_optional(number, wire_type, &mut self.value, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// let value = Duration { seconds: 1, ..Default::default() };
    /// let bytes = Holder { value: Some(value.clone()) }.encode_to_vec();
    /// assert_eq!(Holder::decode(bytes.as_slice()).unwrap().value, Some(value.clone()));
    /// ```
    #[inline]
    pub fn merge_optional<M: Message>(
        number: u32,
        wire_type: WireType,
        value: &mut Option<M>,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        if wire_type != WireType::StartGroup {
            return Err(wire_type_mismatch());
        }
        let value = decoder.get_or_default(value, M::DEFAULT_HEAP)?;
        decoder.merge_group(number, value)
    }

    /// Appends a group to a repeated field.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::{__private::codec::Group, types::Duration};
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Vec<Duration> }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       Group::encode_repeated(1, &self.value, buf)
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       Group::encoded_len_repeated(1, &self.value)
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Group::merge_repeated(number, wire_type, &mut self.value, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// let value = Duration { seconds: 1, ..Default::default() };
    /// let bytes = Holder { value: vec![value.clone(), value.clone()] }.encode_to_vec();
    /// assert_eq!(Holder::decode(bytes.as_slice()).unwrap().value, vec![value.clone(), value.clone()]);
    /// ```
    #[inline]
    pub fn merge_repeated<M: Message>(
        number: u32,
        wire_type: WireType,
        values: &mut Vec<M>,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError> {
        if wire_type != WireType::StartGroup {
            return Err(wire_type_mismatch());
        }
        let value = decoder.push_default(values, M::DEFAULT_HEAP)?;
        decoder.merge_group(number, value)
    }
}
