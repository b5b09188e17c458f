//! Map fields: repeated key/value entry messages.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use bytes::BufMut;

use super::{FieldCodec, wire_type_mismatch};
use crate::decoder::Decoder;
use crate::enumeration::Enumeration;
use crate::error::DecodeError;
use crate::unknown::UnknownFields;
use crate::wire::{self, WireType};

/// A map field. Its functions take the key and value kinds as values, e.g.
/// `Map::encode(Str, Int32, 3, &self.scores, buf)`.
///
/// ```
/// use std::collections::BTreeMap;
/// use protocall::codec::{Map, Str, Int32};
/// let scores = BTreeMap::from([("ann".to_string(), 7)]);
/// let mut buf = Vec::new();
/// Map::encode(Str, Int32, 3, &scores, &mut buf);
/// assert_eq!(buf, [0x1a, 0x07, 0x0a, 0x03, b'a', b'n', b'n', 0x10, 0x07]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Map;

/// Storage for map fields: `HashMap` (any hasher) or `BTreeMap`.
pub trait MapStorage<K, V>: Default {
    /// Calls `f` on each entry, in the storage's iteration order.
    fn for_each_entry(&self, f: impl FnMut(&K, &V));
    /// Inserts or replaces the entry for `key`.
    fn insert_entry(&mut self, key: K, value: V);
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> MapStorage<K, V> for HashMap<K, V, S> {
    fn for_each_entry(&self, mut f: impl FnMut(&K, &V)) {
        self.iter().for_each(|(k, v)| f(k, v))
    }

    fn insert_entry(&mut self, key: K, value: V) {
        self.insert(key, value);
    }
}

impl<K: Ord, V> MapStorage<K, V> for BTreeMap<K, V> {
    fn for_each_entry(&self, mut f: impl FnMut(&K, &V)) {
        self.iter().for_each(|(k, v)| f(k, v))
    }

    fn insert_entry(&mut self, key: K, value: V) {
        self.insert(key, value);
    }
}

#[inline]
fn entry_len<KC: FieldCodec<K>, VC: FieldCodec<V>, K, V>(key: &K, value: &V) -> usize {
    // Both keys of an entry (fields 1 and 2) take one byte.
    2 + KC::value_len(key) + VC::value_len(value)
}

impl Map {
    /// Writes every entry as field `number`. Both key and value are always
    /// written, as protobuf's C++ runtime does.
    pub fn encode<KC, VC, K, V, M, B>(_key: KC, _value: VC, number: u32, map: &M, buf: &mut B)
    where
        KC: FieldCodec<K>,
        VC: FieldCodec<V>,
        M: MapStorage<K, V>,
        B: BufMut + ?Sized,
    {
        map.for_each_entry(|key, value| {
            wire::put_key(number, WireType::LengthDelimited, buf);
            wire::put_varint(entry_len::<KC, VC, K, V>(key, value) as u64, buf);
            wire::put_key(1, KC::WIRE_TYPE, buf);
            KC::encode_value(key, buf);
            wire::put_key(2, VC::WIRE_TYPE, buf);
            VC::encode_value(value, buf);
        })
    }

    /// Bytes [`Map::encode`] writes.
    pub fn encoded_len<KC, VC, K, V, M>(_key: KC, _value: VC, number: u32, map: &M) -> usize
    where
        KC: FieldCodec<K>,
        VC: FieldCodec<V>,
        M: MapStorage<K, V>,
    {
        let mut total = 0;
        map.for_each_entry(|key, value| {
            let len = entry_len::<KC, VC, K, V>(key, value);
            total += wire::key_len(number) + wire::varint_len(len as u64) + len;
        });
        total
    }

    /// Reads one entry; a later entry with the same key replaces an earlier one.
    pub fn merge<KC, VC, K, V, M>(
        _key: KC,
        _value: VC,
        wire_type: WireType,
        map: &mut M,
        decoder: &mut Decoder<'_>,
    ) -> Result<(), DecodeError>
    where
        KC: FieldCodec<K>,
        VC: FieldCodec<V>,
        K: Default,
        V: Default,
        M: MapStorage<K, V>,
    {
        if wire_type != WireType::LengthDelimited {
            return Err(wire_type_mismatch());
        }
        let bytes = decoder.read_bytes()?;
        let mut entry = decoder.nested(bytes)?;
        let (mut key, mut value) = (K::default(), V::default());
        while !entry.is_empty() {
            match entry.read_key()? {
                (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
                (2, wt) if wt == VC::WIRE_TYPE => VC::merge_value(&mut value, &mut entry)?,
                (n, wt) => entry.skip_field(n, wt, None)?,
            }
        }
        map.insert_entry(key, value);
        Ok(())
    }

    /// Reads one entry of a map whose values are a closed enum: an entry with
    /// an unknown value goes, whole, to the message's unknown fields.
    pub fn merge_closed_enum<KC, K, E, M>(
        _key: KC,
        number: u32,
        wire_type: WireType,
        map: &mut M,
        decoder: &mut Decoder<'_>,
        unknown: Option<&mut UnknownFields>,
    ) -> Result<(), DecodeError>
    where
        KC: FieldCodec<K>,
        K: Default,
        E: Enumeration,
        M: MapStorage<K, E>,
    {
        if wire_type != WireType::LengthDelimited {
            return Err(wire_type_mismatch());
        }
        let bytes = decoder.read_bytes()?;
        let mut entry = decoder.nested(bytes)?;
        let (mut key, mut value) = (K::default(), Some(E::default()));
        while !entry.is_empty() {
            match entry.read_key()? {
                (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
                (2, WireType::Varint) => value = E::from_i32(entry.read_varint()? as i32),
                (n, wt) => entry.skip_field(n, wt, None)?,
            }
        }
        match value {
            Some(value) => map.insert_entry(key, value),
            None => {
                if let Some(unknown) = unknown {
                    unknown.push_bytes(number, bytes);
                }
            }
        }
        Ok(())
    }
}
