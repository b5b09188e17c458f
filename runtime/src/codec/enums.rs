//! Enum kinds: open (proto3, [`EnumValue`]) and closed (proto2, plain enum).

use bytes::BufMut;

use super::{FieldCodec, wire_type_mismatch};
use crate::decoder::Decoder;
use crate::enumeration::{EnumValue, Enumeration};
use crate::error::DecodeError;
use crate::unknown::UnknownFields;
use crate::wire::{self, WireType};

/// An open enum field, stored as [`EnumValue<E>`]: unknown numbers are kept
/// in the field itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Enum;

/// A closed enum field, stored as the plain Rust enum: unknown numbers go to
/// the message's unknown fields, as the protobuf spec says.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClosedEnum;

#[inline]
fn int_to_wire(value: i32) -> u64 {
    value as i64 as u64
}

impl<E: Enumeration> FieldCodec<EnumValue<E>> for Enum {
    const WIRE_TYPE: WireType = WireType::Varint;
    const PACKABLE: bool = true;

    #[inline]
    fn encode_value<B: BufMut + ?Sized>(value: &EnumValue<E>, buf: &mut B) {
        wire::put_varint(int_to_wire(value.to_i32()), buf)
    }

    #[inline]
    fn value_len(value: &EnumValue<E>) -> usize {
        wire::varint_len(int_to_wire(value.to_i32()))
    }

    #[inline]
    fn merge_value(value: &mut EnumValue<E>, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        *value = EnumValue::from_i32(decoder.read_varint()? as i32);
        Ok(())
    }

    #[inline]
    fn is_default(value: &EnumValue<E>) -> bool {
        value.to_i32() == 0
    }
}

impl<E: Enumeration> FieldCodec<E> for ClosedEnum {
    const WIRE_TYPE: WireType = WireType::Varint;
    const PACKABLE: bool = true;

    #[inline]
    fn encode_value<B: BufMut + ?Sized>(value: &E, buf: &mut B) {
        wire::put_varint(int_to_wire(value.to_i32()), buf)
    }

    #[inline]
    fn value_len(value: &E) -> usize {
        wire::varint_len(int_to_wire(value.to_i32()))
    }

    /// Sets known values; an unknown one leaves `value` unchanged. Callers
    /// that can keep unknown fields use [`ClosedEnum::merge`] instead.
    #[inline]
    fn merge_value(value: &mut E, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
        if let Some(known) = E::from_i32(decoder.read_varint()? as i32) {
            *value = known;
        }
        Ok(())
    }

    #[inline]
    fn is_default(_: &E) -> bool {
        false
    }
}

/// Reads one varint; returns the known variant, or records the number as an
/// unknown field and returns `None`.
#[inline]
fn read_closed<E: Enumeration>(
    number: u32,
    decoder: &mut Decoder<'_>,
    unknown: Option<&mut UnknownFields>,
) -> Result<Option<E>, DecodeError> {
    let raw = decoder.read_varint()?;
    match E::from_i32(raw as i32) {
        Some(known) => Ok(Some(known)),
        None => {
            if let Some(unknown) = unknown {
                unknown.push_varint(number, raw);
            }
            Ok(None)
        }
    }
}

impl ClosedEnum {
    /// Reads a singular closed enum field.
    #[inline]
    pub fn merge<E: Enumeration>(
        number: u32,
        wire_type: WireType,
        value: &mut E,
        decoder: &mut Decoder<'_>,
        unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError> {
        if wire_type != WireType::Varint {
            return Err(wire_type_mismatch());
        }
        if let Some(known) = read_closed(number, decoder, unknown)? {
            *value = known;
        }
        Ok(())
    }

    /// Reads an explicit-presence closed enum field.
    #[inline]
    pub fn merge_optional<E: Enumeration>(
        number: u32,
        wire_type: WireType,
        value: &mut Option<E>,
        decoder: &mut Decoder<'_>,
        unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError> {
        if wire_type != WireType::Varint {
            return Err(wire_type_mismatch());
        }
        if let Some(known) = read_closed(number, decoder, unknown)? {
            *value = Some(known);
        }
        Ok(())
    }

    /// Reads a repeated closed enum field, packed or not.
    pub fn merge_repeated<E: Enumeration>(
        number: u32,
        wire_type: WireType,
        values: &mut Vec<E>,
        decoder: &mut Decoder<'_>,
        mut unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError> {
        match wire_type {
            WireType::Varint => {
                values.extend(read_closed::<E>(number, decoder, unknown)?);
                Ok(())
            }
            WireType::LengthDelimited => {
                let bytes = decoder.read_bytes()?;
                let mut packed = decoder.sibling(bytes);
                while !packed.is_empty() {
                    values.extend(read_closed::<E>(
                        number,
                        &mut packed,
                        unknown.as_deref_mut(),
                    )?);
                }
                Ok(())
            }
            _ => Err(wire_type_mismatch()),
        }
    }
}
