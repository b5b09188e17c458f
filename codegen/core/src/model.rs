//! The model: what the emitter reads — Rust names, resolved type paths,
//! field presence and encoding, comments. `protocall-codegen` builds it
//! from descriptors (build.rs, the protoc plugin); `protocall-macros`
//! builds it from Rust syntax. Both then call the one emitter.
//!
//! Everything the emitter writes as Rust is typed here: names are
//! [`Ident`]s, type paths are [`syn::Path`]s, declared defaults are
//! [`DefaultValue`]s and user attributes are [`syn::Attribute`]s. The
//! builders check and convert when they build the model (and report errors
//! with their context there), so the emitter parses nothing and cannot fail.
#![allow(missing_docs)]

use proc_macro2::Ident;

/// One proto package: everything emitted into one `.rs` file.
#[derive(Debug)]
pub struct Package {
    /// Dotted package name, empty for none.
    pub name: String,
    /// The Rust modules of the package (`foo.v1` → `foo::v1`), for the
    /// include file.
    pub modules: Vec<Ident>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub services: Vec<Service>,
    /// The encoded `FileDescriptorSet` of the package's files and their
    /// imports, embedded as `FILE_DESCRIPTOR_SET` (None: not embedded).
    pub file_descriptor_set: Option<Vec<u8>>,
    /// `extend` blocks at file level.
    pub extensions: Vec<Extension>,
    /// The elements of the package's files whose options carry custom
    /// options, emitted as `DECLARED_OPTIONS` (none: not emitted).
    pub declared_options: Vec<DeclaredOptions>,
}

/// One element's options as declared, custom options included.
#[derive(Debug)]
pub struct DeclaredOptions {
    /// A variant of `protocall::options::Element`: `Method`, `Field`, ….
    pub element: Ident,
    /// The element's protobuf full name (a file: its path).
    pub name: String,
    /// The encoded `google.protobuf.*Options`.
    pub encoded: Vec<u8>,
}

/// How a generated message reaches its descriptor.
#[derive(Clone, Copy, Debug)]
pub struct Reflect {
    /// How many message modules enclose it: `super::` steps to the file's
    /// `FILE_DESCRIPTOR_SET`.
    pub depth: usize,
    /// Also implement serde's `Serialize` and `Deserialize` (ProtoJSON).
    pub json: bool,
    /// Put the serde impls behind `#[cfg(feature = "…")]` (the runtime's
    /// own types, whose JSON is a feature).
    pub json_feature: Option<&'static str>,
    /// A well-known type whose JSON has a special form (`Timestamp` as a
    /// string, …): printed by the runtime, not field by field.
    pub special_json: bool,
}

#[derive(Debug)]
pub struct Message {
    /// `pkg.Outer.Inner`
    pub full_name: String,
    pub rust_name: Ident,
    /// The snake_case module holding nested types and oneofs.
    pub module: Ident,
    pub fields: Vec<Field>,
    pub oneofs: Vec<Oneof>,
    pub messages: Vec<Message>,
    pub enums: Vec<Enum>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub keep_unknown: bool,
    /// Generate a borrowed view `NameView<'a>` beside the message.
    pub view: bool,
    pub attributes: Vec<syn::Attribute>,
    /// Also implement `protocall::reflect::Describe` (inline messages).
    pub describe: bool,
    /// The `.proto` file defining the message (empty for inline messages).
    pub file: String,
    /// The message, or one it contains (through message fields, oneof
    /// members, map values, repeated fields or groups, at any depth), has a
    /// `bytes` field stored as `bytes::Bytes`: `Message::SHARES_BYTES`.
    pub shares_bytes: bool,
    /// Implement `protocall::reflect::ReflectMessage` from the embedded
    /// descriptors (and maybe serde); None for inline messages.
    pub reflect: Option<Reflect>,
    /// Has extension ranges and keeps unknown fields (where extensions
    /// live): implement `protocall::Extendable`.
    pub extendable: bool,
    /// `extend` blocks declared inside the message.
    pub extensions: Vec<Extension>,
}

/// An extension field: a typed constant for `msg.extension(&EXT)`.
#[derive(Debug)]
pub struct Extension {
    /// `pkg.name` (or `pkg.Scope.name`).
    pub full_name: String,
    /// The field: name, number, kind and label, as for message fields.
    pub field: Field,
    /// The extended message.
    pub extendee: syn::Path,
    /// The constant's name, SHOUTY_CASE.
    pub rust_name: Ident,
}

#[derive(Debug)]
pub struct Field {
    /// The name as written in the schema.
    pub name: String,
    /// The name in ProtoJSON (`json_name`, lowerCamelCase unless declared).
    pub json_name: String,
    /// The struct field, or the variant for a oneof member.
    pub rust_name: Ident,
    pub number: u32,
    pub kind: Kind,
    pub label: Label,
    /// Stored as `Box<T>` to break a cycle of singular message fields.
    pub boxed: bool,
    /// The declared `[default = …]`, checked against the field's kind.
    pub default: Option<DefaultValue>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub attributes: Vec<syn::Attribute>,
}

/// A declared `[default = …]`, parsed and checked when the model is built:
/// integers are in range of the field's type, enum values name a variant.
#[derive(Clone, Debug, PartialEq)]
pub enum DefaultValue {
    Bool(bool),
    /// Signed integer fields (`int32`, `sint64`, `sfixed32`, …).
    Int(i64),
    /// Unsigned integer fields (`uint32`, `fixed64`, …).
    Uint(u64),
    /// `float` and `double` fields; `inf`, `-inf` and `nan` included.
    Float(f64),
    String(String),
    /// Unescaped.
    Bytes(Vec<u8>),
    /// The Rust variant of an enum field's default value.
    Enum(Ident),
}

/// What a field holds.
#[derive(Clone, Debug)]
pub enum Kind {
    Scalar(Scalar),
    String,
    Bytes {
        shared: bool,
        /// A `string` whose UTF-8 is not checked on decode (editions'
        /// `utf8_validation = NONE`): bytes in Rust, a string in JSON.
        text: bool,
    },
    Enum(EnumRef),
    Message {
        path: syn::Path,
        /// The message has a borrowed view (`PathView<'a>`), which views
        /// of messages holding it use.
        view: bool,
    },
    Group {
        path: syn::Path,
        view: bool,
    },
    Map {
        key: Box<Kind>,
        value: Box<Kind>,
        btree: bool,
    },
}

impl Kind {
    /// A `bytes::Bytes` value, directly or as a map's value.
    pub fn is_shared_bytes(&self) -> bool {
        match self {
            Kind::Bytes { shared, .. } => *shared,
            Kind::Map { value, .. } => value.is_shared_bytes(),
            _ => false,
        }
    }
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

impl Scalar {
    /// The proto type's name in UpperCamelCase: the name of its codec
    /// (`protocall::codec::Sint32`) and of its descriptor type
    /// (`field_descriptor_proto::Type::Sint32`).
    pub fn name(self) -> &'static str {
        match self {
            Scalar::Int32 => "Int32",
            Scalar::Int64 => "Int64",
            Scalar::Uint32 => "Uint32",
            Scalar::Uint64 => "Uint64",
            Scalar::Sint32 => "Sint32",
            Scalar::Sint64 => "Sint64",
            Scalar::Fixed32 => "Fixed32",
            Scalar::Fixed64 => "Fixed64",
            Scalar::Sfixed32 => "Sfixed32",
            Scalar::Sfixed64 => "Sfixed64",
            Scalar::Float => "Float",
            Scalar::Double => "Double",
            Scalar::Bool => "Bool",
        }
    }
}

#[derive(Clone, Debug)]
pub struct EnumRef {
    /// The Rust path from the referencing module.
    pub path: syn::Path,
    /// Closed (proto2) enums are stored bare; open ones in `EnumValue`.
    pub closed: bool,
    /// The Rust variant of the first declared value: what an unset closed
    /// enum field reads as. `None` when unknown (inline enums), which reads
    /// the enum's `Default` instead.
    pub first: Option<Ident>,
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
    pub path: syn::Path,
    /// The struct field holding the oneof.
    pub rust_name: Ident,
    /// The enum type in the message's module.
    pub enum_name: Ident,
    pub fields: Vec<Field>,
    pub doc: Vec<String>,
}

impl Oneof {
    /// True when a member is a closed enum, whose unknown values go to the
    /// message's unknown fields.
    pub fn takes_unknown(&self) -> bool {
        self.fields
            .iter()
            .any(|f| matches!(&f.kind, Kind::Enum(e) if e.closed))
    }
}

#[derive(Debug)]
pub struct Enum {
    pub full_name: String,
    /// The `.proto` file defining the enum (empty for inline enums).
    pub file: String,
    /// How many `super::` steps reach the file's `FILE_DESCRIPTOR_SET`
    /// (None: not embedded).
    pub descriptor_depth: Option<usize>,
    pub rust_name: Ident,
    pub values: Vec<EnumValue>,
    /// Values sharing a number with an earlier one: associated constants.
    pub aliases: Vec<EnumAlias>,
    pub doc: Vec<String>,
    pub deprecated: bool,
    pub attributes: Vec<syn::Attribute>,
}

#[derive(Debug)]
pub struct EnumValue {
    pub proto_name: String,
    pub rust_name: Ident,
    pub number: i32,
    pub doc: Vec<String>,
    pub deprecated: bool,
}

/// A value whose number an earlier value already has.
#[derive(Debug)]
pub struct EnumAlias {
    /// The associated constant.
    pub rust_name: Ident,
    pub proto_name: String,
    /// The variant it stands for.
    pub target: Ident,
}

#[derive(Debug)]
pub struct Service {
    pub name: String,
    pub full_name: String,
    /// The server trait.
    pub rust_name: Ident,
    /// `<service>_server` and `<service>_client`.
    pub server_module: Ident,
    pub client_module: Ident,
    pub methods: Vec<Method>,
    pub doc: Vec<String>,
    pub deprecated: bool,
}

#[derive(Clone, Debug)]
pub struct Method {
    /// The RPC's name on the wire.
    pub name: String,
    /// The server trait's method.
    pub rust_name: Ident,
    /// The client's method: `rust_name`, or `rust_name_` when the client
    /// itself defines that name (`connect`, `new`, …).
    pub client_name: Ident,
    /// The server trait's response stream type (server-streaming RPCs).
    pub stream_type: Ident,
    /// Why a name above is not the RPC's plain snake_case (or
    /// UpperCamelCase) name, for the rustdoc.
    pub renamed: Renamed,
    /// The message types, as paths from the service modules.
    pub input: syn::Path,
    pub output: syn::Path,
    /// The server trait takes requests as `protocall::view::ViewOf<input>`.
    pub view_request: bool,
    /// The client returns responses as `protocall::view::ViewOf<output>`.
    pub view_response: bool,
    pub client_streaming: bool,
    pub server_streaming: bool,
    pub doc: Vec<String>,
    pub deprecated: bool,
}

/// Notes on names that differ from the RPC's plain name, one sentence each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Renamed {
    pub method: Option<String>,
    pub client: Option<String>,
    pub stream_type: Option<String>,
}
