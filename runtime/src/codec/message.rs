//! Message kinds: length-delimited messages ([`Msg`]) and proto2 groups ([`Group`]).

use bytes::BufMut;

use super::{FieldCodec, wire_type_mismatch};
use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::message::Message;
use crate::wire::{self, WireType};

/// A message field (length-delimited), stored as `M` or `Box<M>`
/// (`Box<M>` is itself a [`Message`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Msg;

/// A proto2 group field (delimited by start/end keys), stored as `M` or `Box<M>`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Group;

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
    #[inline]
    pub fn encode<M: Message, B: BufMut + ?Sized>(number: u32, value: &M, buf: &mut B) {
        wire::put_key(number, WireType::StartGroup, buf);
        value.encode_raw(buf);
        wire::put_key(number, WireType::EndGroup, buf);
    }

    /// Writes group field `number` when set.
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
    #[inline]
    pub fn encode_repeated<M: Message, B: BufMut + ?Sized>(number: u32, values: &[M], buf: &mut B) {
        for value in values {
            Group::encode(number, value, buf)
        }
    }

    /// Bytes [`Group::encode`] writes.
    #[inline]
    pub fn encoded_len<M: Message>(number: u32, value: &M) -> usize {
        2 * wire::key_len(number) + value.encoded_len()
    }

    /// Bytes [`Group::encode_optional`] writes.
    #[inline]
    pub fn encoded_len_optional<M: Message>(number: u32, value: &Option<M>) -> usize {
        value
            .as_ref()
            .map_or(0, |value| Group::encoded_len(number, value))
    }

    /// Bytes [`Group::encode_repeated`] writes.
    #[inline]
    pub fn encoded_len_repeated<M: Message>(number: u32, values: &[M]) -> usize {
        values
            .iter()
            .map(|value| Group::encoded_len(number, value))
            .sum()
    }

    /// Reads a group (start key already read) into `value`.
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
        decoder.merge_group(number, value.get_or_insert_with(M::default))
    }

    /// Appends a group to a repeated field.
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
        values.push(M::default());
        decoder.merge_group(number, values.last_mut().expect("just pushed"))
    }
}
