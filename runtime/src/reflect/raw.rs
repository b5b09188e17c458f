//! Reading and writing the wire format by descriptor: what the JSON and
//! text formats use to turn a message's binary encoding into fields and
//! back, without its Rust type.

use std::borrow::Cow;

use super::pool::{EnumInfo, FieldInfo, Inner, Ty};
use crate::decoder::Decoder;
use crate::error::DecodeError;
use crate::wire::{self, WireType};

/// One field record of an encoded message, its value not yet interpreted.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
    /// The bytes between a group's start and end keys.
    Group(&'a [u8]),
}

impl Raw<'_> {
    pub(crate) fn wire_type(&self) -> WireType {
        match self {
            Raw::Varint(_) => WireType::Varint,
            Raw::Fixed64(_) => WireType::Fixed64,
            Raw::Fixed32(_) => WireType::Fixed32,
            Raw::Len(_) => WireType::LengthDelimited,
            Raw::Group(_) => WireType::StartGroup,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Record<'a> {
    pub(crate) number: u32,
    pub(crate) raw: Raw<'a>,
}

/// The records of `bytes`, ordered by field number (records of one number
/// keep their order).
pub(crate) fn records(bytes: &[u8]) -> Result<Vec<Record<'_>>, DecodeError> {
    let mut out = Vec::new();
    // Groups nest; the decoder's own limit bounds how deep.
    let mut decoder = Decoder::new(bytes, crate::decoder::DEFAULT_RECURSION_LIMIT);
    while !decoder.is_empty() {
        let (number, wire_type) = decoder.read_key()?;
        let raw = match wire_type {
            WireType::Varint => Raw::Varint(decoder.read_varint()?),
            WireType::Fixed64 => Raw::Fixed64(decoder.read_fixed64()?),
            WireType::Fixed32 => Raw::Fixed32(decoder.read_fixed32()?),
            WireType::LengthDelimited => Raw::Len(decoder.read_bytes()?),
            WireType::StartGroup => {
                let start = decoder.remaining_slice();
                decoder.skip_field(number, wire_type, None)?;
                let used = start.len() - decoder.remaining();
                let end_key = wire::key_len(number);
                Raw::Group(&start[..used - end_key])
            }
            WireType::EndGroup => {
                return Err(DecodeError::new(
                    crate::error::DecodeErrorKind::GroupMismatch,
                ));
            }
        };
        out.push(Record { number, raw });
    }
    if !out.is_sorted_by_key(|r| r.number) {
        out.sort_by_key(|r| r.number);
    }
    Ok(out)
}

/// `records` split into runs of one field number.
pub(crate) fn runs<'r, 'a>(records: &'r [Record<'a>]) -> impl Iterator<Item = &'r [Record<'a>]> {
    records.chunk_by(|a, b| a.number == b.number)
}

/// A decoded value of a scalar, enum or message field.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scalar<'a> {
    I32(i32),
    I64(i64),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
    Bool(bool),
    /// Checked UTF-8 when the field asks for it; raw otherwise.
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    Enum(i32),
    Message(&'a [u8]),
}

/// The wire type values of `ty` take when not packed.
pub(crate) fn wire_type_of(ty: Ty) -> WireType {
    match ty {
        Ty::Double | Ty::Fixed64 | Ty::Sfixed64 => WireType::Fixed64,
        Ty::Float | Ty::Fixed32 | Ty::Sfixed32 => WireType::Fixed32,
        Ty::String | Ty::Bytes | Ty::Message(_) => WireType::LengthDelimited,
        Ty::Group(_) => WireType::StartGroup,
        _ => WireType::Varint,
    }
}

/// Whether `raw` can hold a value of `field`: its type's own wire type,
/// or, for a repeated field of a packable type, a packed run. (A packed
/// record for a singular field is an unknown field, as in protobuf's
/// parsers and in generated code.)
pub(crate) fn fits(field: &FieldInfo, raw: &Raw<'_>) -> bool {
    let wire_type = raw.wire_type();
    wire_type == wire_type_of(field.ty)
        || (wire_type == WireType::LengthDelimited && field.list && field.ty.packable())
}

/// The records of `run` that `field` holds, and those that stay unknown
/// fields: records of a wire type the field cannot take, and closed enum
/// values the enum does not name. Protobuf's parsers and generated code
/// keep such values among the unknown fields (a packed run's value by
/// value, a map entry whole), so the walks over an encoding must too.
pub(crate) fn split<'r, 'a>(
    pool: &Inner,
    field: &FieldInfo,
    run: &'r [Record<'a>],
) -> Result<(Cow<'r, [Record<'a>]>, Vec<Record<'a>>), DecodeError> {
    let closed = closed_values(pool, field);
    if closed.is_none() && run.iter().all(|r| fits(field, &r.raw)) {
        return Ok((Cow::Borrowed(run), Vec::new()));
    }
    let (mut held, mut unknown) = (Vec::new(), Vec::new());
    for record in run {
        if !fits(field, &record.raw) {
            unknown.push(*record);
            continue;
        }
        let Some((value_field, info)) = closed else {
            held.push(*record);
            continue;
        };
        if field.map {
            let Raw::Len(bytes) = record.raw else {
                unreachable!("a map entry that fits is length-delimited")
            };
            let (_, value) = entry(bytes)?;
            let last = value.iter().rev().find(|r| fits(value_field, &r.raw));
            let named = match last.map(|r| r.raw) {
                Some(Raw::Varint(n)) => info.name_of(n as i32).is_some(),
                _ => true,
            };
            if named { &mut held } else { &mut unknown }.push(*record);
            continue;
        }
        for value in values(field.ty, std::slice::from_ref(record))? {
            let Scalar::Enum(n) = value else {
                unreachable!("enum fields hold enum values")
            };
            let varint = Record {
                number: record.number,
                raw: Raw::Varint(n as i64 as u64),
            };
            if info.name_of(n).is_some() {
                &mut held
            } else {
                &mut unknown
            }
            .push(varint);
        }
    }
    Ok((Cow::Owned(held), unknown))
}

/// For a field of a closed enum, or a map whose values are one: the field
/// holding the enum values, and the enum.
fn closed_values<'p>(
    pool: &'p Inner,
    field: &'p FieldInfo,
) -> Option<(&'p FieldInfo, &'p EnumInfo)> {
    let value_field = match field.ty {
        Ty::Message(entry) if field.map => &pool.messages[entry].fields[1],
        _ => field,
    };
    let Ty::Enum(e) = value_field.ty else {
        return None;
    };
    let info = &pool.enums[e];
    info.closed.then_some((value_field, info))
}

fn scalar_of(ty: Ty, raw: Raw<'_>) -> Scalar<'_> {
    let varint = match raw {
        Raw::Varint(v) => v,
        Raw::Fixed64(v) => v,
        Raw::Fixed32(v) => v.into(),
        Raw::Len(b) | Raw::Group(b) => {
            return match ty {
                Ty::String => Scalar::Str(b),
                Ty::Bytes => Scalar::Bytes(b),
                _ => Scalar::Message(b),
            };
        }
    };
    match ty {
        Ty::Int32 => Scalar::I32(varint as i32),
        Ty::Sint32 => Scalar::I32(wire::unzigzag32(varint as u32)),
        Ty::Sfixed32 => Scalar::I32(varint as u32 as i32),
        Ty::Int64 | Ty::Sfixed64 => Scalar::I64(varint as i64),
        Ty::Sint64 => Scalar::I64(wire::unzigzag64(varint)),
        Ty::Uint32 | Ty::Fixed32 => Scalar::U32(varint as u32),
        Ty::Uint64 | Ty::Fixed64 => Scalar::U64(varint),
        Ty::Float => Scalar::F32(f32::from_bits(varint as u32)),
        Ty::Double => Scalar::F64(f64::from_bits(varint)),
        Ty::Bool => Scalar::Bool(varint != 0),
        Ty::Enum(_) => Scalar::Enum(varint as i32),
        Ty::String | Ty::Bytes | Ty::Message(_) | Ty::Group(_) => Scalar::U64(varint),
    }
}

/// Every value of `ty` in `records` (packed runs expanded), in order.
pub(crate) fn values<'a>(ty: Ty, records: &[Record<'a>]) -> Result<Vec<Scalar<'a>>, DecodeError> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        match record.raw {
            Raw::Len(bytes) if ty.packable() => unpack(ty, bytes, &mut out)?,
            raw => out.push(scalar_of(ty, raw)),
        }
    }
    Ok(out)
}

fn unpack<'a>(ty: Ty, bytes: &'a [u8], out: &mut Vec<Scalar<'a>>) -> Result<(), DecodeError> {
    let mut decoder = Decoder::new(bytes, 0);
    while !decoder.is_empty() {
        let raw = match wire_type_of(ty) {
            WireType::Fixed64 => Raw::Fixed64(decoder.read_fixed64()?),
            WireType::Fixed32 => Raw::Fixed32(decoder.read_fixed32()?),
            _ => Raw::Varint(decoder.read_varint()?),
        };
        out.push(scalar_of(ty, raw));
    }
    Ok(())
}

/// The value a singular field holds: the last record's, except that
/// messages met more than once merge (their encodings concatenated).
pub(crate) enum Singular<'a> {
    One(Scalar<'a>),
    Merged(Vec<u8>),
}

pub(crate) fn singular<'a>(ty: Ty, records: &[Record<'a>]) -> Result<Singular<'a>, DecodeError> {
    if matches!(ty, Ty::Message(_) | Ty::Group(_)) && records.len() > 1 {
        let mut merged = Vec::new();
        for record in records {
            if let Raw::Len(b) | Raw::Group(b) = record.raw {
                merged.extend_from_slice(b);
            }
        }
        return Ok(Singular::Merged(merged));
    }
    let all = values(ty, records)?;
    Ok(Singular::One(*all.last().expect("a run has a record")))
}

/// A map entry's key and value records (last wins), from its encoding.
pub(crate) fn entry(bytes: &[u8]) -> Result<(Vec<Record<'_>>, Vec<Record<'_>>), DecodeError> {
    let records = records(bytes)?;
    let mut key = Vec::new();
    let mut value = Vec::new();
    for record in records {
        match record.number {
            1 => key.push(record),
            2 => value.push(record),
            _ => {}
        }
    }
    Ok((key, value))
}

// ---- writing ----

pub(crate) fn put_key(out: &mut Vec<u8>, number: u32, wire_type: WireType) {
    wire::put_key(number, wire_type, out);
}

pub(crate) fn put_varint(out: &mut Vec<u8>, value: u64) {
    wire::put_varint(value, out);
}

/// Starts a length-delimited value: returns where its content starts. One
/// byte is reserved for the length; [`end_len`] makes room if it needs more.
pub(crate) fn begin_len(out: &mut Vec<u8>) -> usize {
    out.push(0);
    out.len()
}

pub(crate) fn end_len(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    let needed = wire::varint_len(len as u64);
    if needed > 1 {
        let old = out.len();
        out.resize(old + needed - 1, 0);
        out.copy_within(start..old, start + needed - 1);
    }
    let mut prefix = Vec::with_capacity(needed);
    wire::put_varint(len as u64, &mut prefix);
    out[start - 1..start - 1 + needed].copy_from_slice(&prefix);
}

/// Writes `bytes` as a length-delimited field.
pub(crate) fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_key(out, number, WireType::LengthDelimited);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Writes a scalar value's payload (no key) as `ty` encodes it.
pub(crate) fn put_scalar(out: &mut Vec<u8>, ty: Ty, value: Scalar<'_>) {
    match (ty, value) {
        (Ty::Sint32, Scalar::I32(v)) => put_varint(out, wire::zigzag32(v).into()),
        (Ty::Sint64, Scalar::I64(v)) => put_varint(out, wire::zigzag64(v)),
        (Ty::Sfixed32, Scalar::I32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Ty::Sfixed64, Scalar::I64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Ty::Fixed32, Scalar::U32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (Ty::Fixed64, Scalar::U64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (_, Scalar::I32(v) | Scalar::Enum(v)) => put_varint(out, v as i64 as u64),
        (_, Scalar::I64(v)) => put_varint(out, v as u64),
        (_, Scalar::U32(v)) => put_varint(out, v.into()),
        (_, Scalar::U64(v)) => put_varint(out, v),
        (_, Scalar::F32(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (_, Scalar::F64(v)) => out.extend_from_slice(&v.to_le_bytes()),
        (_, Scalar::Bool(v)) => out.push(v as u8),
        (_, Scalar::Str(b) | Scalar::Bytes(b) | Scalar::Message(b)) => {
            put_varint(out, b.len() as u64);
            out.extend_from_slice(b);
        }
    }
}

/// Writes one field: key and value.
pub(crate) fn put_field(out: &mut Vec<u8>, number: u32, ty: Ty, value: Scalar<'_>) {
    if let (Ty::Group(_), Scalar::Message(b)) = (ty, value) {
        put_key(out, number, WireType::StartGroup);
        out.extend_from_slice(b);
        put_key(out, number, WireType::EndGroup);
        return;
    }
    put_key(out, number, wire_type_of(ty));
    put_scalar(out, ty, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_longer_than_one_byte_make_room() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let mut out = vec![0xaa];
            let start = begin_len(&mut out);
            out.extend(std::iter::repeat_n(7u8, len));
            end_len(&mut out, start);
            let mut expected = vec![0xaa];
            wire::put_varint(len as u64, &mut expected);
            expected.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(out, expected, "len {len}");
        }
    }

    #[test]
    fn records_are_ordered_and_groups_cut_at_their_end_key() {
        // field 3 varint 1, field 1 group { field 2 varint 5 }, field 3 varint 2
        let bytes = [0x18, 0x01, 0x0b, 0x10, 0x05, 0x0c, 0x18, 0x02];
        let got = records(&bytes).unwrap();
        let numbers: Vec<u32> = got.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 3, 3]);
        assert!(matches!(got[0].raw, Raw::Group(&[0x10, 0x05])));
        assert!(matches!(got[1].raw, Raw::Varint(1)));
        assert!(matches!(got[2].raw, Raw::Varint(2)));
    }
}
