//! Reading fields into borrowed views ([`crate::view`]): the same checks as
//! the owned codecs, with strings, bytes and sub-messages left in the input.
//!
//! Generated views call these with the field's kind, e.g.
//! `view::merge_repeated::<Str, _>(wire_type, &mut self.names, decoder)`;
//! scalar and enum fields of a view are stored as in the owned message and
//! read with the owned codecs.

use super::enums::read_closed;
use super::{Bytes, Enum, FieldCodec, Msg, Str, wire_type_mismatch};
use crate::decoder::Decoder;
use crate::enumeration::{EnumValue, Enumeration};
use crate::error::DecodeError;
use crate::message::Message;
use crate::view::{MapView, MessageView, UnknownView};
use crate::wire::WireType;

/// How a field kind reads one value into a view's storage `T`.
pub trait ViewCodec<'a, T> {
    /// The wire type of a single value.
    const WIRE_TYPE: WireType;
    /// Whether repeated fields of this kind may come packed.
    const PACKABLE: bool = false;
    /// Bytes per value for fixed-width kinds, 0 for variable-width ones.
    const FIXED_SIZE: usize = 0;
    /// Heap bytes a default `T` holds (a boxed view's box).
    const DEFAULT_HEAP: usize = 0;
    /// Reads one value (its key already consumed) into `value`.
    fn merge_value(value: &mut T, decoder: &mut Decoder<'a>) -> Result<(), DecodeError>;
}

/// The kind of a sub-message field read as a view (`BarView<'a>`); a
/// sub-message without a view is read with [`Msg`] into its owned type.
#[derive(Clone, Copy, Debug, Default)]
pub struct MsgView;

/// Scalars, open enums and owned sub-messages are stored in a view as in
/// the owned message.
macro_rules! owned_storage {
    ($($kind:ty => $t:ty),* $(,)?) => {$(
        impl<'a> ViewCodec<'a, $t> for $kind {
            const WIRE_TYPE: WireType = <$kind as FieldCodec<$t>>::WIRE_TYPE;
            const PACKABLE: bool = <$kind as FieldCodec<$t>>::PACKABLE;
            const FIXED_SIZE: usize = <$kind as FieldCodec<$t>>::FIXED_SIZE;
            #[inline]
            fn merge_value(value: &mut $t, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
                <$kind as FieldCodec<$t>>::merge_value(value, decoder)
            }
        }
    )*};
}

owned_storage! {
    super::Int32 => i32, super::Int64 => i64, super::Uint32 => u32, super::Uint64 => u64,
    super::Sint32 => i32, super::Sint64 => i64, super::Fixed32 => u32, super::Fixed64 => u64,
    super::Sfixed32 => i32, super::Sfixed64 => i64, super::Float => f32, super::Double => f64,
    super::Bool => bool,
}

impl<'a, E: Enumeration> ViewCodec<'a, EnumValue<E>> for Enum {
    const WIRE_TYPE: WireType = WireType::Varint;
    const PACKABLE: bool = true;
    #[inline]
    fn merge_value(value: &mut EnumValue<E>, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
        <Enum as FieldCodec<EnumValue<E>>>::merge_value(value, decoder)
    }
}

impl<'a, M: Message> ViewCodec<'a, M> for Msg {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const DEFAULT_HEAP: usize = M::DEFAULT_HEAP;
    #[inline]
    fn merge_value(value: &mut M, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
        decoder.merge_message(value)
    }
}

impl<'a> ViewCodec<'a, &'a str> for Str {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    #[inline]
    fn merge_value(value: &mut &'a str, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
        *value = super::scalar::validate_utf8(decoder.read_bytes()?)?;
        Ok(())
    }
}

impl<'a> ViewCodec<'a, &'a [u8]> for Bytes {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    #[inline]
    fn merge_value(value: &mut &'a [u8], decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
        *value = decoder.read_bytes()?;
        Ok(())
    }
}

impl<'a, V: MessageView<'a>> ViewCodec<'a, V> for MsgView {
    const WIRE_TYPE: WireType = WireType::LengthDelimited;
    const DEFAULT_HEAP: usize = V::DEFAULT_HEAP;
    #[inline]
    fn merge_value(value: &mut V, decoder: &mut Decoder<'a>) -> Result<(), DecodeError> {
        decoder.merge_view(value)
    }
}

/// What a view's `merge_field` returns for a field it does not declare: the
/// decode then keeps the record as an unknown field.
#[cold]
pub fn not_mine() -> DecodeError {
    wire_type_mismatch()
}

/// Reads a singular value (last one wins; sub-messages merge).
#[inline]
pub fn merge<'a, K: ViewCodec<'a, T>, T>(
    wire_type: WireType,
    value: &mut T,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    if wire_type != K::WIRE_TYPE {
        return Err(wire_type_mismatch());
    }
    K::merge_value(value, decoder)
}

/// Reads a value into an explicit-presence field, setting it.
#[inline]
pub fn merge_optional<'a, K: ViewCodec<'a, T>, T: Default>(
    wire_type: WireType,
    value: &mut Option<T>,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    if wire_type != K::WIRE_TYPE {
        return Err(wire_type_mismatch());
    }
    let value = decoder.get_or_default(value, K::DEFAULT_HEAP)?;
    K::merge_value(value, decoder)
}

/// Appends one value, or a packed run of values, to a repeated field.
#[inline]
pub fn merge_repeated<'a, K: ViewCodec<'a, T>, T: Default>(
    wire_type: WireType,
    values: &mut Vec<T>,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    let kind = super::Repeated {
        wire_type: K::WIRE_TYPE,
        packable: K::PACKABLE,
        fixed_size: K::FIXED_SIZE,
        heap: K::DEFAULT_HEAP,
    };
    super::merge_repeated_with(kind, wire_type, values, decoder, K::merge_value)
}

/// Reads a group (its start key already read) into a view.
#[inline]
pub fn merge_group<'a, V: MessageView<'a>>(
    number: u32,
    wire_type: WireType,
    value: &mut V,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    if wire_type != WireType::StartGroup {
        return Err(wire_type_mismatch());
    }
    decoder.merge_view_group(number, value)
}

/// Reads a group into an explicit-presence view field, setting it.
#[inline]
pub fn merge_group_optional<'a, V: MessageView<'a>>(
    number: u32,
    wire_type: WireType,
    value: &mut Option<V>,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    if wire_type != WireType::StartGroup {
        return Err(wire_type_mismatch());
    }
    let value = decoder.get_or_default(value, V::DEFAULT_HEAP)?;
    decoder.merge_view_group(number, value)
}

/// Appends a group to a repeated view field.
#[inline]
pub fn merge_group_repeated<'a, V: MessageView<'a>>(
    number: u32,
    wire_type: WireType,
    values: &mut Vec<V>,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError> {
    if wire_type != WireType::StartGroup {
        return Err(wire_type_mismatch());
    }
    let value = decoder.push_default(values, V::DEFAULT_HEAP)?;
    decoder.merge_view_group(number, value)
}

/// Reads a closed enum; a value the enum does not name becomes an unknown
/// field, as in the owned message.
#[inline]
pub fn merge_closed<'a, E: Enumeration>(
    number: u32,
    wire_type: WireType,
    value: &mut E,
    decoder: &mut Decoder<'a>,
    unknown: Option<&mut UnknownView<'a>>,
) -> Result<(), DecodeError> {
    if let Some(known) = closed_field(number, wire_type, decoder, unknown)? {
        *value = known;
    }
    Ok(())
}

/// [`merge_closed`] for an explicit-presence field.
#[inline]
pub fn merge_closed_optional<'a, E: Enumeration>(
    number: u32,
    wire_type: WireType,
    value: &mut Option<E>,
    decoder: &mut Decoder<'a>,
    unknown: Option<&mut UnknownView<'a>>,
) -> Result<(), DecodeError> {
    if let Some(known) = closed_field(number, wire_type, decoder, unknown)? {
        *value = Some(known);
    }
    Ok(())
}

/// A singular closed-enum record: its value, or `None` when the enum does
/// not name it (then kept in `unknown`).
#[inline]
fn closed_field<'a, E: Enumeration>(
    number: u32,
    wire_type: WireType,
    decoder: &mut Decoder<'a>,
    unknown: Option<&mut UnknownView<'a>>,
) -> Result<Option<E>, DecodeError> {
    if wire_type != WireType::Varint {
        return Err(wire_type_mismatch());
    }
    closed_or_unknown(number, decoder, unknown)
}

/// [`merge_closed`] for a repeated field, packed or not.
pub fn merge_closed_repeated<'a, E: Enumeration>(
    number: u32,
    wire_type: WireType,
    values: &mut Vec<E>,
    decoder: &mut Decoder<'a>,
    mut unknown: Option<&mut UnknownView<'a>>,
) -> Result<(), DecodeError> {
    let mut push = |decoder: &mut Decoder<'a>, unknown: Option<&mut UnknownView<'a>>| {
        if let Some(value) = closed_or_unknown(number, decoder, unknown)? {
            decoder.make_room(values)?;
            values.push(value);
        }
        Ok(())
    };
    match wire_type {
        WireType::Varint => push(decoder, unknown),
        WireType::LengthDelimited => {
            let bytes = decoder.read_bytes()?;
            let mut packed = decoder.sibling(bytes);
            let mut result = Ok(());
            while !packed.is_empty() && result.is_ok() {
                result = push(&mut packed, unknown.as_deref_mut());
            }
            decoder.take_budget(&packed);
            result
        }
        _ => Err(wire_type_mismatch()),
    }
}

fn closed_or_unknown<'a, E: Enumeration>(
    number: u32,
    decoder: &mut Decoder<'a>,
    unknown: Option<&mut UnknownView<'a>>,
) -> Result<Option<E>, DecodeError> {
    match read_closed::<E>(decoder)? {
        Ok(known) => Ok(Some(known)),
        Err(raw) => {
            if let Some(unknown) = unknown {
                unknown.push_varint(number, raw, decoder)?;
            }
            Ok(None)
        }
    }
}

/// Reads one map entry into a view's map.
pub fn merge_map<'a, KC, VC, K, V>(
    wire_type: WireType,
    map: &mut MapView<K, V>,
    decoder: &mut Decoder<'a>,
) -> Result<(), DecodeError>
where
    KC: ViewCodec<'a, K>,
    VC: ViewCodec<'a, V>,
    K: Default,
    V: Default,
{
    if wire_type != WireType::LengthDelimited {
        return Err(wire_type_mismatch());
    }
    let bytes = decoder.read_bytes()?;
    let mut entry = decoder.nested(bytes)?;
    decoder.make_room(map.entries_mut())?;
    entry.charge(VC::DEFAULT_HEAP)?;
    let (mut key, mut value) = (K::default(), V::default());
    while !entry.is_empty() {
        match entry.read_key()? {
            (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
            (2, wt) if wt == VC::WIRE_TYPE => VC::merge_value(&mut value, &mut entry)?,
            (n, wt) => entry.skip_field(n, wt, None)?,
        }
    }
    decoder.take_budget(&entry);
    map.entries_mut().push((key, value));
    Ok(())
}

/// Reads one entry of a map whose values are a closed enum; an entry whose
/// value the enum does not name becomes an unknown field, whole.
pub fn merge_map_closed<'a, KC, K, E>(
    number: u32,
    wire_type: WireType,
    map: &mut MapView<K, E>,
    decoder: &mut Decoder<'a>,
    unknown: Option<&mut UnknownView<'a>>,
) -> Result<(), DecodeError>
where
    KC: ViewCodec<'a, K>,
    K: Default,
    E: Enumeration,
{
    if wire_type != WireType::LengthDelimited {
        return Err(wire_type_mismatch());
    }
    let bytes = decoder.read_bytes()?;
    let mut entry = decoder.nested(bytes)?;
    decoder.make_room(map.entries_mut())?;
    let (mut key, mut value) = (K::default(), Some(E::default()));
    while !entry.is_empty() {
        match entry.read_key()? {
            (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
            (2, WireType::Varint) => value = read_closed::<E>(&mut entry)?.ok(),
            (n, wt) => entry.skip_field(n, wt, None)?,
        }
    }
    decoder.take_budget(&entry);
    match value {
        Some(value) => map.entries_mut().push((key, value)),
        None => {
            if let Some(unknown) = unknown {
                unknown.push_delimited(number, bytes, decoder)?;
            }
        }
    }
    Ok(())
}

/// A view's `bytes` field as the owned message stores it (`Vec<u8>` or
/// `Bytes`).
#[inline]
pub fn owned_bytes<T: super::BytesStorage + Default>(bytes: &&[u8]) -> T {
    let mut owned = T::default();
    owned.replace_with(bytes);
    owned
}

/// A view's `string` field as the owned message stores it.
#[inline]
pub fn owned_str(text: &&str) -> String {
    String::from(*text)
}
