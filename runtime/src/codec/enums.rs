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
///
/// ```
/// use protocall::{EnumValue, __private::codec::Enum, types::Syntax};
/// let mut buf = Vec::new();
/// Enum::encode(1, &EnumValue::<Syntax>::Unknown(7), &mut buf);
/// assert_eq!(buf, [0x08, 0x07]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Enum;

/// A closed enum field, stored as the plain Rust enum: unknown numbers go to
/// the message's unknown fields, as the protobuf spec says.
///
/// ```
/// use protocall::__private::codec::ClosedEnum;
/// use protocall::types::field_descriptor_proto::Type;
/// let mut buf = Vec::new();
/// ClosedEnum::encode(1, &Type::Int64, &mut buf);
/// assert_eq!(buf, [0x08, 0x03]);
/// ```
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
/// Reads a closed enum's varint: the value, or the raw number when the
/// enum does not name it.
#[inline]
pub(super) fn read_closed<E: Enumeration>(
    decoder: &mut Decoder<'_>,
) -> Result<Result<E, u64>, DecodeError> {
    let raw = decoder.read_varint()?;
    Ok(E::from_i32(raw as i32).ok_or(raw))
}

/// [`read_closed`], an unnamed value kept in `unknown` as field `number`.
#[inline]
fn read_closed_or_keep<E: Enumeration>(
    number: u32,
    decoder: &mut Decoder<'_>,
    unknown: Option<&mut UnknownFields>,
) -> Result<Option<E>, DecodeError> {
    match read_closed(decoder)? {
        Ok(known) => Ok(Some(known)),
        Err(raw) => {
            if let Some(unknown) = unknown {
                unknown.push_varint(number, raw);
            }
            Ok(None)
        }
    }
}

fn push_closed<E: Enumeration>(
    number: u32,
    values: &mut Vec<E>,
    decoder: &mut Decoder<'_>,
    unknown: Option<&mut UnknownFields>,
) -> Result<(), DecodeError> {
    if let Some(value) = read_closed_or_keep::<E>(number, decoder, unknown)? {
        decoder.make_room(values)?;
        values.push(value);
    }
    Ok(())
}

impl ClosedEnum {
    /// Reads a singular closed enum field; an unknown number goes to
    /// `unknown`.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::UnknownFields;
    /// use protocall::__private::codec::ClosedEnum;
    /// use protocall::types::field_descriptor_proto::Type;
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Type, unknown: UnknownFields }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       ClosedEnum::encode(1, &self.value, buf);
    /// #       self.unknown.encode(buf);
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       ClosedEnum::encoded_len(1, &self.value) + self.unknown.encoded_len()
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => ClosedEnum::merge(1, wire_type, &mut self.value, decoder, Some(&mut self.unknown)),
    ///             _ => decoder.skip_field(number, wire_type, Some(&mut self.unknown)),
    ///         }
    ///     }
    /// }
    /// // field 1 = 3 (TYPE_INT64), then field 1 = 99 (no such Type)
    /// let holder = Holder::decode(&[0x08, 0x03, 0x08, 0x63][..]).unwrap();
    /// assert_eq!(holder.value, Type::Int64);
    /// assert_eq!(holder.unknown.as_bytes(), [0x08, 0x63]);
    /// ```
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
        if let Some(known) = read_closed_or_keep(number, decoder, unknown)? {
            *value = known;
        }
        Ok(())
    }

    /// Reads an explicit-presence closed enum field; an unknown number goes
    /// to `unknown` and leaves the field as it was.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::UnknownFields;
    /// use protocall::__private::codec::ClosedEnum;
    /// use protocall::types::field_descriptor_proto::Type;
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Option<Type>, unknown: UnknownFields }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       ClosedEnum::encode_optional(1, &self.value, buf);
    /// #       self.unknown.encode(buf);
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       ClosedEnum::encoded_len_optional(1, &self.value) + self.unknown.encoded_len()
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => ClosedEnum::merge_optional(1, wire_type, &mut self.value, decoder, Some(&mut self.unknown)),
    ///             _ => decoder.skip_field(number, wire_type, Some(&mut self.unknown)),
    ///         }
    ///     }
    /// }
    /// let holder = Holder::decode(&[0x08, 0x63][..]).unwrap();
    /// assert_eq!(holder.value, None);
    /// assert_eq!(holder.unknown.as_bytes(), [0x08, 0x63]);
    /// ```
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
        if let Some(known) = read_closed_or_keep(number, decoder, unknown)? {
            *value = Some(known);
        }
        Ok(())
    }

    /// Reads a repeated closed enum field, packed or not; unknown numbers
    /// go to `unknown`, one unpacked record each.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use protocall::UnknownFields;
    /// use protocall::__private::codec::ClosedEnum;
    /// use protocall::types::field_descriptor_proto::Type;
    /// #[derive(Debug, Default)]
    /// struct Holder { value: Vec<Type>, unknown: UnknownFields }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       ClosedEnum::encode_packed(1, &self.value, buf);
    /// #       self.unknown.encode(buf);
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       ClosedEnum::encoded_len_packed(1, &self.value) + self.unknown.encoded_len()
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => ClosedEnum::merge_repeated(1, wire_type, &mut self.value, decoder, Some(&mut self.unknown)),
    ///             _ => decoder.skip_field(number, wire_type, Some(&mut self.unknown)),
    ///         }
    ///     }
    /// }
    /// // field 1, packed: 3 (TYPE_INT64) and 99 (no such Type)
    /// let holder = Holder::decode(&[0x0a, 0x02, 0x03, 0x63][..]).unwrap();
    /// assert_eq!(holder.value, [Type::Int64]);
    /// assert_eq!(holder.unknown.as_bytes(), [0x08, 0x63]);
    /// ```
    pub fn merge_repeated<E: Enumeration>(
        number: u32,
        wire_type: WireType,
        values: &mut Vec<E>,
        decoder: &mut Decoder<'_>,
        mut unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError> {
        match wire_type {
            WireType::Varint => push_closed(number, values, decoder, unknown),
            WireType::LengthDelimited => {
                let bytes = decoder.read_bytes()?;
                let mut packed = decoder.sibling(bytes);
                while !packed.is_empty() {
                    push_closed(number, values, &mut packed, unknown.as_deref_mut())?;
                }
                decoder.take_budget(&packed);
                Ok(())
            }
            _ => Err(wire_type_mismatch()),
        }
    }
}
