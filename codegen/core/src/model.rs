//! The model: what the emitter reads — Rust names, resolved type paths,
//! field presence and encoding, comments. `protocall-codegen` builds it
//! from descriptors (build.rs, the protoc plugin); `protocall-macros`
//! builds it from Rust syntax. Both then call the one emitter.
#![allow(missing_docs)]

use std::collections::BTreeMap;

/// One proto package: everything emitted into one `.rs` file.
#[derive(Debug)]
pub struct Package {
    /// Dotted package name, empty for none.
    pub name: String,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub services: Vec<Service>,
}

#[derive(Debug)]
pub struct Message {
    /// `pkg.Outer.Inner`
    pub full_name: String,
    pub rust_name: String,
    /// The snake_case module holding nested types and oneofs.
    pub module: String,
    pub fields: Vec<Field>,
    pub oneofs: Vec<Oneof>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub keep_unknown: bool,
    pub attributes: Vec<String>,
    /// Also implement `protocall::reflect::Describe` (inline messages).
    pub describe: bool,
    /// The `.proto` file defining the message (empty for inline messages).
    pub file: String,
}

#[derive(Debug)]
pub struct Field {
    /// The name as written in the schema.
    pub name: String,
    pub rust_name: String,
    pub number: u32,
    pub kind: Kind,
    pub label: Label,
    /// Stored as `Box<T>` to break a cycle of singular message fields.
    pub boxed: bool,
    /// The declared `[default = …]`, as the descriptor spells it.
    pub default: Option<String>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub attributes: Vec<String>,
}

/// What a field holds.
#[derive(Clone, Debug)]
pub enum Kind {
    Scalar(Scalar),
    String,
    Bytes {
        shared: bool,
    },
    Enum(EnumRef),
    Message {
        path: String,
    },
    Group {
        path: String,
    },
    Map {
        key: Box<Kind>,
        value: Box<Kind>,
        btree: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Float,
    Double,
    Bool,
}

#[derive(Clone, Debug)]
pub struct EnumRef {
    /// The Rust path from the referencing module.
    pub path: String,
    /// Closed (proto2) enums are stored bare; open ones in `EnumValue`.
    pub closed: bool,
    /// proto value name → Rust variant (or alias constant) name.
    pub variants: BTreeMap<String, String>,
    /// The Rust name of the first declared value.
    pub first: String,
}

/// Cardinality and presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// Singular without presence (proto3 scalars): default not written.
    Implicit,
    /// Singular with presence: `Option<T>`.
    Optional,
    /// proto2 `required` (or `LEGACY_REQUIRED`): always written.
    Required,
    Repeated {
        packed: bool,
    },
}

#[derive(Debug)]
pub struct Oneof {
    pub name: String,
    /// The Rust path of the oneof enum from the message's module.
    pub path: String,
    /// The struct field holding the oneof.
    pub rust_name: String,
    /// The enum type in the message's module.
    pub enum_name: String,
    pub fields: Vec<Field>,
    pub doc: Vec<String>,
}

#[derive(Debug)]
pub struct Enum {
    pub full_name: String,
    /// The `.proto` file defining the enum (empty for inline enums).
    pub file: String,
    pub rust_name: String,
    pub values: Vec<EnumValue>,
    /// `(alias name, proto name, number)`: values sharing a number with an
    /// earlier one become associated constants.
    pub aliases: Vec<(String, String, String)>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub attributes: Vec<String>,
}

#[derive(Debug)]
pub struct EnumValue {
    pub proto_name: String,
    pub rust_name: String,
    pub number: i32,
    pub doc: Vec<String>,
    pub deprecated: bool,
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub full_name: String,
    pub rust_name: String,
    pub methods: Vec<Method>,
    pub doc: Vec<String>,
    pub deprecated: bool,
}

#[derive(Debug)]
pub struct Method {
    pub name: String,
    pub rust_name: String,
    pub input: String,
    pub output: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub doc: Vec<String>,
    pub deprecated: bool,
}
