//! proto2 extensions (and custom options, which are extensions of the
//! `*Options` messages): typed handles the generator emits for every
//! `extend` block, read from and written to an extendable message's
//! unknown fields, so values survive any round trip either way.

use std::marker::PhantomData;

use crate::codec::FieldCodec;
use crate::decoder::{DEFAULT_RECURSION_LIMIT, Decoder};
use crate::error::DecodeError;
use crate::message::Message;
use crate::unknown::UnknownFields;
use crate::wire::{self, WireType};

/// Carries the type parameters without owning them (so handles are `Send`,
/// `Sync` and `const`).
type Types<M, K, T> = PhantomData<fn() -> (M, K, T)>;

/// A singular extension of `M` holding a `T` encoded as the codec `K`
/// (`Int32`, `Str`, `Msg`, … of `protocall::__private::codec`).
///
/// ```
/// use protocall::{Extendable, Extension, types::MethodOptions};
/// use protocall::__private::codec::Str;
/// // What the generator emits for `extend google.protobuf.MethodOptions { string route = 50001; }`:
/// const ROUTE: Extension<MethodOptions, Str, String> = Extension::new(50001, "demo.route");
/// let mut options = MethodOptions::default();
/// options.set_extension(&ROUTE, "/users".to_string());
/// assert_eq!(options.extension(&ROUTE)?, Some("/users".to_string()));
/// options.clear_extension(&ROUTE);
/// assert!(!options.has_extension(&ROUTE));
/// # Ok::<(), protocall::DecodeError>(())
/// ```
pub struct Extension<M, K, T> {
    number: u32,
    full_name: &'static str,
    _types: Types<M, K, T>,
}

/// A repeated extension of `M`.
pub struct RepeatedExtension<M, K, T> {
    number: u32,
    full_name: &'static str,
    packed: bool,
    _types: Types<M, K, T>,
}

impl<M, K, T> Extension<M, K, T> {
    /// The extension of this field number and full name (`pkg.name`).
    pub const fn new(number: u32, full_name: &'static str) -> Self {
        Extension {
            number,
            full_name,
            _types: PhantomData,
        }
    }

    /// Its field number.
    pub const fn number(&self) -> u32 {
        self.number
    }

    /// `pkg.name`, as JSON writes it between brackets.
    pub const fn full_name(&self) -> &'static str {
        self.full_name
    }
}

impl<M, K, T> RepeatedExtension<M, K, T> {
    /// The repeated extension of this number and full name, written packed
    /// or not.
    pub const fn new(number: u32, full_name: &'static str, packed: bool) -> Self {
        RepeatedExtension {
            number,
            full_name,
            packed,
            _types: PhantomData,
        }
    }

    /// Its field number.
    pub const fn number(&self) -> u32 {
        self.number
    }

    /// `pkg.name`.
    pub const fn full_name(&self) -> &'static str {
        self.full_name
    }
}

/// A message with extension ranges: extensions live in its unknown fields.
/// The generator implements it; the methods come with it.
pub trait Extendable: Message + Sized {
    /// Where extensions are kept.
    fn extension_fields(&self) -> &UnknownFields;

    /// Where extensions are kept, to change them.
    fn extension_fields_mut(&mut self) -> &mut UnknownFields;

    /// The extension's value, if set (records of its number merge as a
    /// field's would: last scalar wins, messages merge).
    fn extension<K: FieldCodec<T>, T: Default>(
        &self,
        extension: &Extension<Self, K, T>,
    ) -> Result<Option<T>, DecodeError> {
        let mut value: Option<T> = None;
        each_record(
            self.extension_fields(),
            extension.number,
            |wire_type, decoder| {
                if wire_type != K::WIRE_TYPE {
                    return skip(wire_type, extension.number, decoder);
                }
                let value = decoder.get_or_default(&mut value, K::DEFAULT_HEAP)?;
                K::merge_value(value, decoder)
            },
        )?;
        Ok(value)
    }

    /// The repeated extension's values (packed and unpacked both read).
    fn repeated_extension<K: FieldCodec<T>, T: Default>(
        &self,
        extension: &RepeatedExtension<Self, K, T>,
    ) -> Result<Vec<T>, DecodeError> {
        let mut values = Vec::new();
        each_record(
            self.extension_fields(),
            extension.number,
            |wire_type, decoder| {
                match crate::codec::merge_repeated::<K, T>(wire_type, &mut values, decoder) {
                    // A record of another wire type is not this extension's.
                    Err(e) if e.is_wire_type_mismatch() => {
                        skip(wire_type, extension.number, decoder)
                    }
                    result => result,
                }
            },
        )?;
        Ok(values)
    }

    /// Whether any record of the extension's number is present.
    fn has_extension<K, T>(&self, extension: &Extension<Self, K, T>) -> bool {
        let mut found = false;
        let _ = each_record(
            self.extension_fields(),
            extension.number,
            |wire_type, decoder| {
                found = true;
                skip(wire_type, extension.number, decoder)
            },
        );
        found
    }

    /// Sets the extension, replacing what was there.
    fn set_extension<K: FieldCodec<T>, T>(&mut self, extension: &Extension<Self, K, T>, value: T) {
        let fields = self.extension_fields_mut();
        remove(fields, extension.number);
        let mut encoded = Vec::new();
        wire::put_key(extension.number, K::WIRE_TYPE, &mut encoded);
        K::encode_value(&value, &mut encoded);
        fields.push_encoded(&encoded);
    }

    /// Sets the repeated extension's values, replacing what was there.
    fn set_repeated_extension<K: FieldCodec<T>, T>(
        &mut self,
        extension: &RepeatedExtension<Self, K, T>,
        values: &[T],
    ) {
        let fields = self.extension_fields_mut();
        remove(fields, extension.number);
        let mut encoded = Vec::new();
        if extension.packed && K::PACKABLE {
            if !values.is_empty() {
                let mut body = Vec::new();
                for value in values {
                    K::encode_value(value, &mut body);
                }
                wire::put_key(extension.number, WireType::LengthDelimited, &mut encoded);
                wire::put_varint(body.len() as u64, &mut encoded);
                encoded.extend_from_slice(&body);
            }
        } else {
            for value in values {
                wire::put_key(extension.number, K::WIRE_TYPE, &mut encoded);
                K::encode_value(value, &mut encoded);
            }
        }
        fields.push_encoded(&encoded);
    }

    /// Removes every record of the extension's number.
    fn clear_extension<K, T>(&mut self, extension: &Extension<Self, K, T>) {
        remove(self.extension_fields_mut(), extension.number);
    }
}

fn skip(wire_type: WireType, number: u32, decoder: &mut Decoder<'_>) -> Result<(), DecodeError> {
    decoder.skip_field(number, wire_type, None)
}

/// Calls `f` positioned at the value of each record numbered `number`.
fn each_record(
    fields: &UnknownFields,
    number: u32,
    mut f: impl FnMut(WireType, &mut Decoder<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut decoder = Decoder::new(fields.as_bytes(), DEFAULT_RECURSION_LIMIT);
    while !decoder.is_empty() {
        let (n, wire_type) = decoder.read_key()?;
        if n == number {
            f(wire_type, &mut decoder)?;
        } else {
            decoder.skip_field(n, wire_type, None)?;
        }
    }
    Ok(())
}

/// Drops the records numbered `number`, keeping the others in order.
fn remove(fields: &mut UnknownFields, number: u32) {
    let mut kept = UnknownFields::new();
    let bytes = fields.as_bytes();
    let mut decoder = Decoder::new(bytes, DEFAULT_RECURSION_LIMIT);
    while !decoder.is_empty() {
        let start = bytes.len() - decoder.remaining();
        let Ok((n, wire_type)) = decoder.read_key() else {
            return;
        };
        if decoder.skip_field(n, wire_type, None).is_err() {
            return;
        }
        if n != number {
            kept.push_encoded(&bytes[start..bytes.len() - decoder.remaining()]);
        }
    }
    *fields = kept;
}
