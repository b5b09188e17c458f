//! Canonical proto3 JSON (protobuf.dev, "ProtoJSON Format") for every
//! message with a descriptor: generated messages, and any message of a
//! [`DescriptorPool`] through its binary encoding.
//!
//! ```
//! use protocall::types::Duration;
//! use protocall::json::{self, Options};
//! let timeout = Duration { seconds: 1, nanos: 340_012, ..Default::default() };
//! let text = json::to_string(&timeout, &Options::default())?;
//! assert_eq!(text, r#""1.000340012s""#);
//! assert_eq!(json::from_str::<Duration>(&text, &Options::default())?, timeout);
//! // serde works too: the generated types implement Serialize and Deserialize.
//! assert_eq!(serde_json::to_string(&timeout).unwrap(), text);
//! # Ok::<(), protocall::json::Error>(())
//! ```
//!
//! Output follows the spec: `json_name` (lowerCamelCase) keys, 64-bit
//! integers as strings, `NaN`/`Infinity` as strings, bytes as standard
//! base64, enums by name, fields without presence left out when they hold
//! their default, and the well-known types in their special forms.
//! Parsing accepts what the spec accepts (both field names, numbers for
//! 64-bit integers and enums, URL-safe and unpadded base64) and rejects
//! duplicate fields, two members of one oneof, and values out of range;
//! errors name the JSON path (`.items[3].price: …`).

mod de;
mod print;
mod ser;
mod wkt;

use std::fmt;

use crate::reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};

/// How to print and parse.
#[derive(Clone, Debug)]
pub struct Options {
    pub(crate) ignore_unknown_fields: bool,
    pub(crate) emit_unpopulated: bool,
    pub(crate) enums_as_ints: bool,
    pub(crate) proto_field_names: bool,
    pub(crate) registry: Option<DescriptorPool>,
    pub(crate) recursion_limit: u32,
    budget: crate::DecodeOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            ignore_unknown_fields: false,
            emit_unpopulated: false,
            enums_as_ints: false,
            proto_field_names: false,
            registry: None,
            recursion_limit: crate::decoder::DEFAULT_RECURSION_LIMIT,
            budget: crate::DecodeOptions::new(),
        }
    }
}

impl Options {
    /// The defaults: strict parsing, canonical output.
    pub fn new() -> Options {
        Options::default()
    }

    /// Parsing skips fields the schema does not have (and enum names it
    /// does not know) instead of failing.
    pub fn ignore_unknown_fields(mut self, on: bool) -> Options {
        self.ignore_unknown_fields = on;
        self
    }

    /// Printing writes fields without presence even when they hold their
    /// default (`0`, `""`, `[]`, `{}`), as grpc-go's `EmitUnpopulated`.
    pub fn emit_unpopulated(mut self, on: bool) -> Options {
        self.emit_unpopulated = on;
        self
    }

    /// Printing writes enums as numbers instead of names.
    pub fn enums_as_ints(mut self, on: bool) -> Options {
        self.enums_as_ints = on;
        self
    }

    /// Printing uses the field names of the `.proto` file instead of their
    /// lowerCamelCase JSON names.
    pub fn proto_field_names(mut self, on: bool) -> Options {
        self.proto_field_names = on;
        self
    }

    /// Where `google.protobuf.Any` looks up the types it names, before the
    /// message's own files and the types of every generated file used so far.
    pub fn registry(mut self, pool: DescriptorPool) -> Options {
        self.registry = Some(pool);
        self
    }

    /// How deeply messages may nest (default 100, as on binary decode).
    pub fn recursion_limit(mut self, limit: u32) -> Options {
        self.recursion_limit = limit;
        self
    }

    /// The memory budget of a parse, per byte of source text plus a base
    /// (default 32 per byte plus 1 MiB): what the parsed message may take
    /// in repeated fields, map entries and boxed messages, as
    /// [`DecodeOptions::memory_budget`](crate::DecodeOptions::memory_budget)
    /// does for binary.
    pub fn memory_budget(mut self, per_input_byte: usize, base: usize) -> Options {
        self.budget = self.budget.memory_budget(per_input_byte, base);
        self
    }

    /// The limits for decoding what `len` bytes of source text became.
    pub(crate) fn decode_options(&self, len: usize) -> crate::DecodeOptions {
        self.budget
            .recursion_limit(self.recursion_limit)
            .budget_of_source(len)
    }
}

/// Why JSON could not be printed or parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    path: String,
    message: String,
}

impl Error {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The JSON path of the value at fault (`.items[3].price`), empty for
    /// the top level.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// A binary decode's error (the second step of a parse, under the
    /// memory budget) with its field path spelled as JSON keys.
    pub(crate) fn of_decode(descriptor: &MessageDescriptor, error: crate::DecodeError) -> Error {
        let pool = descriptor.pool();
        let mut path = String::new();
        for (message, field) in error.path().filter(|(_, f)| !f.is_empty()) {
            let key = pool.message(message).and_then(|m| m.field_by_name(field));
            path.push('.');
            path.push_str(key.as_ref().map_or(field, |f| f.json_name()));
        }
        Error::new(path, error.kind().to_string())
    }
}

/// `message` as JSON text.
pub fn to_string<M: ReflectMessage>(message: &M, options: &Options) -> Result<String, Error> {
    let bytes = to_vec(message, options)?;
    Ok(String::from_utf8(bytes).expect("serde_json writes UTF-8"))
}

/// `message` as JSON text, in bytes.
pub fn to_vec<M: ReflectMessage>(message: &M, options: &Options) -> Result<Vec<u8>, Error> {
    // Sized from the binary length, as JSON is about twice as long: growing
    // from small costs more than the length pass.
    let mut out = Vec::with_capacity(message.encoded_len() * 2 + 16);
    let mut serializer = serde_json::Serializer::new(&mut out);
    message
        .__print_json(&print::Printer::new(options), &mut serializer)
        .map_err(|e| Error::new("", e.to_string()))?;
    Ok(out)
}

/// Parses JSON text into a message of type `M`.
pub fn from_str<M: ReflectMessage>(json: &str, options: &Options) -> Result<M, Error> {
    from_slice(json.as_bytes(), options)
}

/// Parses JSON text, in bytes, into a message of type `M`.
pub fn from_slice<M: ReflectMessage>(json: &[u8], options: &Options) -> Result<M, Error> {
    let binary = json_to_binary(&M::descriptor(), json, options)?;
    options
        .decode_options(json.len())
        .decode(binary.as_slice())
        .map_err(|e| Error::of_decode(&M::descriptor(), e))
}

/// Prints the message of type `descriptor` whose binary encoding is
/// `binary` as JSON: how a proxy or a CLI shows a schema it was not
/// compiled with.
pub fn binary_to_json(
    descriptor: &MessageDescriptor,
    binary: &[u8],
    options: &Options,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(binary.len() * 2 + 16);
    let mut serializer = serde_json::Serializer::new(&mut out);
    ser::serialize_at(descriptor, binary, options, 0, &mut serializer)
        .map_err(|e| Error::new("", e.to_string()))?;
    Ok(out)
}

/// Parses JSON into the binary encoding of a message of type `descriptor`.
pub fn json_to_binary(
    descriptor: &MessageDescriptor,
    json: &[u8],
    options: &Options,
) -> Result<Vec<u8>, Error> {
    // serde_json also stops at 128 nested arrays and objects, which keeps
    // hostile input from exhausting the stack.
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let binary = de::deserialize(descriptor, options, &mut deserializer)
        .map_err(|(path, e)| Error::new(path, e.to_string()))?;
    deserializer
        .end()
        .map_err(|e| Error::new("", e.to_string()))?;
    Ok(binary)
}

/// The message type an `Any`'s `type_url` names.
pub(crate) fn any_type(
    options: &Options,
    pool: &DescriptorPool,
    type_url: &str,
) -> Result<MessageDescriptor, String> {
    crate::reflect::any_type(options.registry.as_ref(), pool, type_url)
        .map_err(|e| format!("{e} (json::Options::registry)"))
}

/// What generated `Serialize` and `Deserialize` impls call.
#[doc(hidden)]
pub mod __private {
    use serde::{Deserializer, Serializer};

    use super::{Options, de};
    use crate::reflect::ReflectMessage;

    pub use super::print::{PrintKey, PrintValue, Printer, Utf8Bytes};

    /// What serde's entry points print with.
    static DEFAULT: Options = Options {
        ignore_unknown_fields: false,
        emit_unpopulated: false,
        enums_as_ints: false,
        proto_field_names: false,
        registry: None,
        recursion_limit: crate::decoder::DEFAULT_RECURSION_LIMIT,
        budget: crate::DecodeOptions::new(),
    };

    /// `Serialize::serialize` of a generated message.
    pub fn serialize<M: ReflectMessage, S: Serializer>(
        message: &M,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        message.__print_json(&Printer::new(&DEFAULT), serializer)
    }

    /// `Deserialize::deserialize` of a generated message.
    pub fn deserialize<'de, M: ReflectMessage, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<M, D::Error> {
        use serde::de::Error as _;
        let binary = de::deserialize(&M::descriptor(), &Options::default(), deserializer).map_err(
            |(path, e)| {
                if path.is_empty() {
                    e
                } else {
                    D::Error::custom(format_args!("{path}: {e}"))
                }
            },
        )?;
        M::decode(binary.as_slice()).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests;
