//! The ProtoJSON benchmark: protocall's JSON (`protocall::json`, and the
//! serde impls its generator puts on every message) against prost's types
//! with pbjson's generated serde impls, both written and read by the same
//! `serde_json`.
//!
//! The operations are the same for both sides, so that the only difference
//! is the code that walks the message:
//!
//! - [`encode_protocall`] / [`encode_pbjson`]: `serde_json::to_writer`
//!   into a reused `Vec<u8>` (compact output, as `protocall::json::to_vec`
//!   writes with the default [`protocall::json::Options`]).
//! - [`to_vec_protocall`] / [`to_vec_pbjson`]: the allocating entry points,
//!   `protocall::json::to_vec` and `serde_json::to_vec`.
//! - [`decode_protocall`] / [`decode_pbjson`]: `protocall::json::from_slice`
//!   and `serde_json::from_slice`, on the same JSON text ([`Check::json`]).
//!
//! [`check`] runs first, in the test, the criterion bench and `codec_count`.

use std::fmt::Debug;

use protocall::reflect::ReflectMessage;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Dataset;

/// What protocall's side of the JSON benchmark needs of a message type.
pub trait PcJson: ReflectMessage + Serialize + DeserializeOwned + PartialEq + Debug {}
impl<M: ReflectMessage + Serialize + DeserializeOwned + PartialEq + Debug> PcJson for M {}

/// What prost + pbjson's side needs of a message type.
pub trait PbJson:
    prost::Message + Default + Serialize + DeserializeOwned + PartialEq + Debug
{
}
impl<M: prost::Message + Default + Serialize + DeserializeOwned + PartialEq + Debug> PbJson for M {}

/// protocall: `message` as JSON into `buf` (cleared first).
#[inline(never)]
pub fn encode_protocall<M: PcJson>(message: &M, buf: &mut Vec<u8>) {
    buf.clear();
    serde_json::to_writer(&mut *buf, message).expect("protocall prints the message");
}

/// prost + pbjson: `message` as JSON into `buf` (cleared first).
#[inline(never)]
pub fn encode_pbjson<M: PbJson>(message: &M, buf: &mut Vec<u8>) {
    buf.clear();
    serde_json::to_writer(&mut *buf, message).expect("pbjson prints the message");
}

/// protocall: `message` as JSON, through `protocall::json::to_vec`.
#[inline(never)]
pub fn to_vec_protocall<M: PcJson>(message: &M) -> Vec<u8> {
    protocall::json::to_vec(message, &protocall::json::Options::default())
        .expect("protocall prints the message")
}

/// prost + pbjson: `message` as JSON, through `serde_json::to_vec`.
#[inline(never)]
pub fn to_vec_pbjson<M: PbJson>(message: &M) -> Vec<u8> {
    serde_json::to_vec(message).expect("pbjson prints the message")
}

/// protocall: parses `json` through `protocall::json::from_slice`.
#[inline(never)]
pub fn decode_protocall<M: PcJson>(json: &[u8]) -> M {
    protocall::json::from_slice(json, &protocall::json::Options::default())
        .expect("protocall parses the JSON")
}

/// prost + pbjson: parses `json` through `serde_json::from_slice`.
#[inline(never)]
pub fn decode_pbjson<M: PbJson>(json: &[u8]) -> M {
    serde_json::from_slice(json).expect("pbjson parses the JSON")
}

/// What [`check`] found: the messages and the JSON the benchmark uses.
#[derive(Debug)]
pub struct Check<C, P> {
    /// The payload decoded by protocall (binary).
    pub pc: C,
    /// The payload decoded by prost (binary).
    pub pb: P,
    /// protocall's JSON for the payload: the input of both decode benchmarks.
    pub json: Vec<u8>,
    /// pbjson's JSON for the payload.
    pub pbjson: Vec<u8>,
    /// Whether the two JSON texts are the same bytes.
    pub same_bytes: bool,
    /// Whether they are the same JSON value (`serde_json::Value`: object
    /// member order aside, numbers compared as parsed).
    pub same_value: bool,
}

/// Before measuring: each side's JSON parses, on the other side, to the
/// message the other side decoded from the binary payload, and on its own
/// side back to its own message; every entry point of a side prints the
/// same text.
///
/// Errors say which direction failed.
pub fn check<C: PcJson, P: PbJson>(dataset: Dataset) -> Result<Check<C, P>, String> {
    let name = dataset.name();
    let payload = dataset.payload();
    let pc = C::decode(payload.as_slice()).map_err(|e| format!("{name}: protocall decode: {e}"))?;
    let pb = P::decode(payload.as_slice()).map_err(|e| format!("{name}: prost decode: {e}"))?;

    let json = to_vec_protocall(&pc);
    let mut buf = Vec::new();
    encode_protocall(&pc, &mut buf);
    if buf != json {
        return Err(format!(
            "{name}: protocall: serde_json::to_writer and json::to_vec differ"
        ));
    }
    let pbjson = to_vec_pbjson(&pb);
    encode_pbjson(&pb, &mut buf);
    if buf != pbjson {
        return Err(format!(
            "{name}: pbjson: serde_json::to_writer and to_vec differ"
        ));
    }

    // Each side reads its own JSON back.
    let pc_own: C = protocall::json::from_slice(&json, &protocall::json::Options::default())
        .map_err(|e| format!("{name}: protocall cannot parse its own JSON: {e}"))?;
    if pc_own != pc {
        return Err(format!(
            "{name}: protocall's JSON parses back to another message"
        ));
    }
    let pb_own: P = serde_json::from_slice(&pbjson)
        .map_err(|e| format!("{name}: pbjson cannot parse its own JSON: {e}"))?;
    if pb_own != pb {
        return Err(format!(
            "{name}: pbjson's JSON parses back to another message"
        ));
    }

    // And the other side's.
    let pb_from_pc: P = serde_json::from_slice(&json)
        .map_err(|e| format!("{name}: pbjson cannot parse protocall's JSON: {e}"))?;
    if pb_from_pc != pb {
        return Err(format!(
            "{name}: pbjson(protocall's JSON) != prost(payload)"
        ));
    }
    let pc_from_pb: C = protocall::json::from_slice(&pbjson, &protocall::json::Options::default())
        .map_err(|e| format!("{name}: protocall cannot parse pbjson's JSON: {e}"))?;
    if pc_from_pb != pc {
        return Err(format!(
            "{name}: protocall(pbjson's JSON) != protocall(payload)"
        ));
    }
    // The serde entry point parses the same as json::from_slice.
    let pc_serde: C = serde_json::from_slice(&json)
        .map_err(|e| format!("{name}: protocall's Deserialize: {e}"))?;
    if pc_serde != pc {
        return Err(format!(
            "{name}: protocall's Deserialize and json::from_slice differ"
        ));
    }

    let value = |text: &[u8]| serde_json::from_slice::<serde_json::Value>(text).ok();
    let same_value = value(&json).is_some() && value(&json) == value(&pbjson);
    Ok(Check {
        same_bytes: json == pbjson,
        same_value,
        pc,
        pb,
        json,
        pbjson,
    })
}
