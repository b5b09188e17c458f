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
/// use protocall::__private::codec::{Map, Str, Int32};
/// let scores = BTreeMap::from([("ann".to_string(), 7)]);
/// let mut buf = Vec::new();
/// Map::encode(Str, Int32, 3, &scores, &mut buf);
/// assert_eq!(buf, [0x1a, 0x07, 0x0a, 0x03, b'a', b'n', b'n', 0x10, 0x07]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Map;

/// Storage for map fields: `HashMap` (any hasher) or `BTreeMap`.
///
/// ```
/// use std::collections::{BTreeMap, HashMap};
/// use protocall::__private::codec::MapStorage;
/// fn count<M: MapStorage<u32, u32>>(map: &M) -> usize {
///     let mut n = 0;
///     map.for_each_entry(|_, _| n += 1);
///     n
/// }
/// assert_eq!(count(&HashMap::from([(1, 2)])), 1);
/// assert_eq!(count(&BTreeMap::from([(1, 2), (3, 4)])), 2);
/// ```
pub trait MapStorage<K, V>: Default {
    /// Calls `f` on each entry, in the storage's iteration order.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use protocall::__private::codec::MapStorage;
    /// let map = BTreeMap::from([(2, "b"), (1, "a")]);
    /// let mut keys = Vec::new();
    /// map.for_each_entry(|key, _| keys.push(*key));
    /// assert_eq!(keys, [1, 2]);
    /// ```
    fn for_each_entry(&self, f: impl FnMut(&K, &V));
    /// Inserts or replaces the entry for `key`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use protocall::__private::codec::MapStorage;
    /// let mut map = HashMap::new();
    /// map.insert_entry("a", 1);
    /// map.insert_entry("a", 2);
    /// assert_eq!(map, HashMap::from([("a", 2)]));
    /// ```
    fn insert_entry(&mut self, key: K, value: V);
    /// How many entries there are.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use protocall::__private::codec::MapStorage;
    /// assert_eq!(BTreeMap::from([(1, 2)]).entry_count(), 1);
    /// ```
    fn entry_count(&self) -> usize;
}

impl<K: Eq + Hash, V, S: BuildHasher + Default> MapStorage<K, V> for HashMap<K, V, S> {
    fn for_each_entry(&self, mut f: impl FnMut(&K, &V)) {
        self.iter().for_each(|(k, v)| f(k, v))
    }

    fn insert_entry(&mut self, key: K, value: V) {
        self.insert(key, value);
    }

    fn entry_count(&self) -> usize {
        self.len()
    }
}

impl<K: Ord, V> MapStorage<K, V> for BTreeMap<K, V> {
    fn for_each_entry(&self, mut f: impl FnMut(&K, &V)) {
        self.iter().for_each(|(k, v)| f(k, v))
    }

    fn insert_entry(&mut self, key: K, value: V) {
        self.insert(key, value);
    }

    fn entry_count(&self) -> usize {
        self.len()
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
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use protocall::__private::codec::{Bool, Map, Uint32};
    /// let flags = HashMap::from([(0u32, false)]);
    /// let mut buf = Vec::new();
    /// Map::encode(Uint32, Bool, 1, &flags, &mut buf);
    /// assert_eq!(buf, [0x0a, 0x04, 0x08, 0x00, 0x10, 0x00]); // defaults written too
    /// ```
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
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use protocall::__private::codec::{Int32, Map, Str};
    /// let scores = BTreeMap::from([("ann".to_string(), 7)]);
    /// assert_eq!(Map::encoded_len(Str, Int32, 3, &scores), 9);
    /// ```
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
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use std::collections::HashMap;
    /// use protocall::__private::codec::{Int32, Map, Str};
    /// #[derive(Debug, Default)]
    /// struct Holder { value: HashMap<String, i32> }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       Map::encode(Str, Int32, 1, &self.value, buf)
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       Map::encoded_len(Str, Int32, 1, &self.value)
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Map::merge(Str, Int32, wire_type, &mut self.value, decoder),
    ///             _ => decoder.skip_field(number, wire_type, None),
    ///         }
    ///     }
    /// }
    /// // two entries for key "a": the last one wins
    /// let bytes = [0x0a, 0x05, 0x0a, 0x01, b'a', 0x10, 0x01, 0x0a, 0x05, 0x0a, 0x01, b'a', 0x10, 0x02];
    /// let holder = Holder::decode(&bytes[..]).unwrap();
    /// assert_eq!(holder.value, HashMap::from([("a".to_string(), 2)]));
    /// ```
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
        entry.charge(core::mem::size_of::<(K, V)>() + VC::DEFAULT_HEAP)?;
        let (mut key, mut value) = (K::default(), V::default());
        while !entry.is_empty() {
            match entry.read_key()? {
                (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
                (2, wt) if wt == VC::WIRE_TYPE => VC::merge_value(&mut value, &mut entry)?,
                (n, wt) => entry.skip_field(n, wt, None)?,
            }
        }
        decoder.take_budget(&entry);
        map.insert_entry(key, value);
        Ok(())
    }

    /// Reads one entry of a map whose values are a closed enum: an entry with
    /// an unknown value goes, whole, to the message's unknown fields.
    ///
    /// ```
    /// # use protocall::{DecodeError, __private::Decoder, Message, __private::WireType};
    /// use std::collections::BTreeMap;
    /// use protocall::UnknownFields;
    /// use protocall::__private::codec::{ClosedEnum, Map, Uint32};
    /// use protocall::types::field_descriptor_proto::Type;
    /// #[derive(Debug, Default)]
    /// struct Holder { value: BTreeMap<u32, Type>, unknown: UnknownFields }
    /// impl Message for Holder {
    /// #   const FULL_NAME: &'static str = "demo.Holder";
    /// #   const TYPE_URL: &'static str = "type.googleapis.com/demo.Holder";
    /// #   fn encode_raw<B: protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
    /// #       Map::encode(Uint32, ClosedEnum, 1, &self.value, buf);
    /// #       self.unknown.encode(buf);
    /// #   }
    /// #   fn encoded_len(&self) -> usize {
    /// #       Map::encoded_len(Uint32, ClosedEnum, 1, &self.value) + self.unknown.encoded_len()
    /// #   }
    ///     fn merge_field(&mut self, number: u32, wire_type: WireType, decoder: &mut Decoder<'_>)
    ///         -> Result<(), DecodeError> {
    ///         match number {
    ///             1 => Map::merge_closed_enum(Uint32, 1, wire_type, &mut self.value, decoder, Some(&mut self.unknown)),
    ///             _ => decoder.skip_field(number, wire_type, Some(&mut self.unknown)),
    ///         }
    ///     }
    /// }
    /// // entries 1 => 3 (TYPE_INT64) and 2 => 99 (no such Type)
    /// let bytes = [0x0a, 0x04, 0x08, 0x01, 0x10, 0x03, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x63];
    /// let holder = Holder::decode(&bytes[..]).unwrap();
    /// assert_eq!(holder.value, BTreeMap::from([(1, Type::Int64)]));
    /// assert_eq!(holder.unknown.as_bytes(), &bytes[6..]);
    /// ```
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
        entry.charge(core::mem::size_of::<(K, E)>())?;
        let (mut key, mut value) = (K::default(), Some(E::default()));
        while !entry.is_empty() {
            match entry.read_key()? {
                (1, wt) if wt == KC::WIRE_TYPE => KC::merge_value(&mut key, &mut entry)?,
                (2, WireType::Varint) => value = E::from_i32(entry.read_varint()? as i32),
                (n, wt) => entry.skip_field(n, wt, None)?,
            }
        }
        decoder.take_budget(&entry);
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
