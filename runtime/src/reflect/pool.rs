//! The descriptor pool: files indexed by full name, every type reference
//! resolved, features resolved per field.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use super::features::{Features, Presence};
use crate::message::Message;
use crate::types::field_descriptor_proto::{Label, Type};
use crate::types::{
    DescriptorProto, EnumDescriptorProto, EnumOptions, EnumValueOptions, FieldDescriptorProto,
    FieldOptions, FileDescriptorProto, FileDescriptorSet, MessageOptions, OneofOptions,
};

/// A set of `.proto` files, indexed: every message, enum and extension by
/// its full name, every type reference checked.
///
/// Cheap to clone (it is an `Arc`); descriptors handed out keep the pool
/// they came from alive.
#[derive(Clone)]
pub struct DescriptorPool {
    inner: Arc<Inner>,
}

/// Why a set of files does not make a pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DescriptorError {
    message: String,
}

impl DescriptorError {
    fn new(message: impl Into<String>) -> DescriptorError {
        DescriptorError {
            message: message.into(),
        }
    }
}

impl fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DescriptorError {}

pub(crate) struct Inner {
    pub(crate) files: Vec<FileDescriptorProto>,
    pub(crate) messages: Vec<MessageInfo>,
    pub(crate) enums: Vec<EnumInfo>,
    pub(crate) extensions: Vec<FieldInfo>,
    /// (file, index in the file's services).
    services: Vec<(usize, usize)>,
    symbols: HashMap<String, Symbol>,
}

impl Inner {
    /// The extensions of the pool that extend message `message`.
    pub(crate) fn extensions_of(&self, message: usize) -> impl Iterator<Item = &FieldInfo> + '_ {
        self.messages[message]
            .extensions
            .iter()
            .map(|&e| &self.extensions[e])
    }
}

#[derive(Clone, Copy)]
enum Symbol {
    Message(usize),
    Enum(usize),
    Extension(usize),
    Service(usize),
    Other,
}

/// The well-known types whose JSON and text forms are special.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WellKnown {
    Any,
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    /// `google.protobuf.*Value` wrappers: JSON is the bare value.
    Wrapper,
}

impl WellKnown {
    pub(crate) fn of(full_name: &str) -> Option<WellKnown> {
        let name = full_name.strip_prefix("google.protobuf.")?;
        Some(match name {
            "Any" => WellKnown::Any,
            "Timestamp" => WellKnown::Timestamp,
            "Duration" => WellKnown::Duration,
            "FieldMask" => WellKnown::FieldMask,
            "Struct" => WellKnown::Struct,
            "Value" => WellKnown::Value,
            "ListValue" => WellKnown::ListValue,
            "DoubleValue" | "FloatValue" | "Int64Value" | "UInt64Value" | "Int32Value"
            | "UInt32Value" | "BoolValue" | "StringValue" | "BytesValue" => WellKnown::Wrapper,
            _ => return None,
        })
    }
}

pub(crate) struct MessageInfo {
    pub(crate) full_name: String,
    pub(crate) file: usize,
    /// Sorted by number.
    pub(crate) fields: Vec<FieldInfo>,
    /// `number → index into fields` when numbers are small; else empty and
    /// lookups binary-search `fields`.
    dense: Vec<u32>,
    /// Proto name and JSON name → index into `fields`.
    by_name: HashMap<String, usize>,
    pub(crate) oneofs: Vec<String>,
    /// The options of `oneofs`, index for index.
    oneof_options: Vec<Option<OneofOptions>>,
    options: Option<MessageOptions>,
    pub(crate) map_entry: bool,
    pub(crate) well_known: Option<WellKnown>,
    /// Indices into the pool's extensions that extend this message.
    pub(crate) extensions: Vec<usize>,
}

impl MessageInfo {
    pub(crate) fn field_index(&self, number: u32) -> Option<usize> {
        if !self.dense.is_empty() {
            return match self.dense.get(number as usize) {
                Some(&i) if i != u32::MAX => Some(i as usize),
                _ => None,
            };
        }
        self.fields.binary_search_by_key(&number, |f| f.number).ok()
    }

    pub(crate) fn field_by_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
}

/// A field's type, with message and enum types as pool indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    Enum(usize),
    Message(usize),
    /// A message in group (delimited) encoding.
    Group(usize),
}

impl Ty {
    /// Whether a repeated field of this type can be packed.
    pub(crate) fn packable(self) -> bool {
        !matches!(self, Ty::String | Ty::Bytes | Ty::Message(_) | Ty::Group(_))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct FieldInfo {
    pub(crate) name: String,
    pub(crate) json_name: String,
    /// For extensions, the full name (`pkg.ext`); else the name.
    pub(crate) full_name: String,
    pub(crate) number: u32,
    pub(crate) ty: Ty,
    pub(crate) list: bool,
    pub(crate) map: bool,
    pub(crate) required: bool,
    /// Singular with explicit presence (messages, oneof members, `optional`).
    pub(crate) presence: bool,
    pub(crate) packed: bool,
    /// Index into the message's real (not synthetic) oneofs.
    pub(crate) oneof: Option<usize>,
    /// A `string` field whose values must be UTF-8.
    pub(crate) utf8: bool,
    pub(crate) default: Option<String>,
    /// For extensions: the extended message.
    pub(crate) extendee: Option<usize>,
    /// Shared: lists clone their fields' infos for each element's check.
    pub(crate) options: Option<Arc<FieldOptions>>,
}

pub(crate) struct EnumInfo {
    pub(crate) full_name: String,
    /// Values in declaration order: (name, number).
    pub(crate) values: Vec<(String, i32)>,
    /// The options of `values`, index for index.
    value_options: Vec<Option<EnumValueOptions>>,
    options: Option<EnumOptions>,
    pub(crate) closed: bool,
}

impl EnumInfo {
    pub(crate) fn name_of(&self, number: i32) -> Option<&str> {
        self.values
            .iter()
            .find(|(_, n)| *n == number)
            .map(|(name, _)| name.as_str())
    }

    pub(crate) fn number_of(&self, name: &str) -> Option<i32> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

impl Default for DescriptorPool {
    fn default() -> DescriptorPool {
        DescriptorPool::new()
    }
}

impl fmt::Debug for DescriptorPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DescriptorPool")
            .field(
                "files",
                &self
                    .inner
                    .files
                    .iter()
                    .map(|f| f.name())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl DescriptorPool {
    /// An empty pool.
    pub fn new() -> DescriptorPool {
        DescriptorPool {
            inner: Arc::new(build(Vec::new()).expect("an empty pool is valid")),
        }
    }

    /// A pool of the files of an encoded `FileDescriptorSet` (what
    /// `protoc --descriptor_set_out`, `buf build -o` and the generator's
    /// `file_descriptor_set_path` write).
    pub fn decode(encoded_set: &[u8]) -> Result<DescriptorPool, DescriptorError> {
        let set = FileDescriptorSet::decode(encoded_set)
            .map_err(|e| DescriptorError::new(format!("not a FileDescriptorSet: {e}")))?;
        DescriptorPool::from_file_descriptor_set(set)
    }

    /// A pool of these files. Every dependency of a file must be in the set.
    pub fn from_file_descriptor_set(
        set: FileDescriptorSet,
    ) -> Result<DescriptorPool, DescriptorError> {
        let mut pool = DescriptorPool::new();
        pool.add_file_descriptor_set(set)?;
        Ok(pool)
    }

    /// Adds the files of `set`. A file already in the pool is skipped when
    /// it is the same, and an error when it differs. On error the pool is
    /// unchanged.
    pub fn add_file_descriptor_set(
        &mut self,
        set: FileDescriptorSet,
    ) -> Result<(), DescriptorError> {
        let mut files = self.inner.files.clone();
        let before = files.len();
        for file in set.file {
            match files.iter().find(|f| f.name() == file.name()) {
                Some(existing) if *existing == file => {}
                Some(_) => {
                    return Err(DescriptorError::new(format!(
                        "{}: a different file of this name is already in the pool",
                        file.name()
                    )));
                }
                None => files.push(file),
            }
        }
        if files.len() != before {
            self.inner = Arc::new(build(files)?);
        }
        Ok(())
    }

    /// Adds the files of an encoded `FileDescriptorSet`.
    pub fn add_encoded_file_descriptor_set(
        &mut self,
        encoded_set: &[u8],
    ) -> Result<(), DescriptorError> {
        let set = FileDescriptorSet::decode(encoded_set)
            .map_err(|e| DescriptorError::new(format!("not a FileDescriptorSet: {e}")))?;
        self.add_file_descriptor_set(set)
    }

    /// Adds every file of `other` not yet in this pool.
    pub fn merge(&mut self, other: &DescriptorPool) -> Result<(), DescriptorError> {
        self.add_file_descriptor_set(FileDescriptorSet {
            file: other.inner.files.clone(),
            ..Default::default()
        })
    }

    /// The message of this full name (`pkg.Outer.Inner`, no leading dot).
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        match self.inner.symbols.get(full_name.trim_start_matches('.')) {
            Some(Symbol::Message(index)) => Some(MessageDescriptor {
                pool: self.clone(),
                index: *index,
            }),
            _ => None,
        }
    }

    /// The enum of this full name.
    pub fn enumeration(&self, full_name: &str) -> Option<EnumDescriptor> {
        match self.inner.symbols.get(full_name.trim_start_matches('.')) {
            Some(Symbol::Enum(index)) => Some(EnumDescriptor {
                pool: self.clone(),
                index: *index,
            }),
            _ => None,
        }
    }

    /// The extension of this full name (`pkg.my_option`).
    pub fn extension(&self, full_name: &str) -> Option<FieldDescriptor> {
        match self.inner.symbols.get(full_name.trim_start_matches('.')) {
            Some(Symbol::Extension(index)) => Some(FieldDescriptor {
                pool: self.clone(),
                owner: Owner::Extension,
                index: *index,
            }),
            _ => None,
        }
    }

    /// The service of this full name (`pkg.Service`).
    pub fn service(&self, full_name: &str) -> Option<ServiceDescriptor> {
        match self.inner.symbols.get(full_name.trim_start_matches('.')) {
            Some(Symbol::Service(index)) => Some(ServiceDescriptor {
                pool: self.clone(),
                index: *index,
            }),
            _ => None,
        }
    }

    /// Whether a message, enum, service, method or package has this name.
    pub fn contains(&self, full_name: &str) -> bool {
        self.inner
            .symbols
            .contains_key(full_name.trim_start_matches('.'))
    }

    /// The files, in the order they were added.
    pub fn files(&self) -> &[FileDescriptorProto] {
        &self.inner.files
    }

    /// Every message, nested ones included.
    pub fn messages(&self) -> impl Iterator<Item = MessageDescriptor> + '_ {
        (0..self.inner.messages.len()).map(|index| MessageDescriptor {
            pool: self.clone(),
            index,
        })
    }

    /// The files as a `FileDescriptorSet`.
    pub fn file_descriptor_set(&self) -> FileDescriptorSet {
        FileDescriptorSet {
            file: self.inner.files.clone(),
            ..Default::default()
        }
    }

    /// Whether both are the same pool (not merely equal files).
    pub(crate) fn same(&self, other: &DescriptorPool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The message at `index` of this pool.
    pub(crate) fn message_at(&self, index: usize) -> MessageDescriptor {
        MessageDescriptor {
            pool: self.clone(),
            index,
        }
    }
}

/// A message type.
#[derive(Clone)]
pub struct MessageDescriptor {
    pool: DescriptorPool,
    index: usize,
}

impl PartialEq for MessageDescriptor {
    fn eq(&self, other: &MessageDescriptor) -> bool {
        Arc::ptr_eq(&self.pool.inner, &other.pool.inner) && self.index == other.index
    }
}

impl Eq for MessageDescriptor {}

impl fmt::Debug for MessageDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageDescriptor({})", self.full_name())
    }
}

impl MessageDescriptor {
    pub(crate) fn info(&self) -> &MessageInfo {
        &self.pool.inner.messages[self.index]
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// Its options (custom options are extensions of `MessageOptions`).
    pub fn options(&self) -> &MessageOptions {
        self.info()
            .options
            .as_ref()
            .unwrap_or(MessageOptions::default_instance())
    }

    /// The pool this descriptor belongs to.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// `pkg.Outer.Inner`.
    pub fn full_name(&self) -> &str {
        &self.info().full_name
    }

    /// `Inner`.
    pub fn name(&self) -> &str {
        let full = self.full_name();
        full.rsplit('.').next().unwrap_or(full)
    }

    /// `type.googleapis.com/pkg.Outer.Inner`, as in `Any.type_url`.
    pub fn type_url(&self) -> String {
        format!("type.googleapis.com/{}", self.full_name())
    }

    /// The `.proto` file that declares it.
    pub fn file(&self) -> &FileDescriptorProto {
        &self.pool.inner.files[self.info().file]
    }

    /// Its fields, ordered by number.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldDescriptor> + '_ {
        (0..self.info().fields.len()).map(|index| self.field_at(index))
    }

    /// The field of this number.
    pub fn field(&self, number: u32) -> Option<FieldDescriptor> {
        self.info()
            .field_index(number)
            .map(|index| self.field_at(index))
    }

    /// The field of this proto name or JSON name.
    pub fn field_by_name(&self, name: &str) -> Option<FieldDescriptor> {
        self.info()
            .field_by_name(name)
            .map(|index| self.field_at(index))
    }

    /// Its oneofs (not the synthetic ones of proto3 `optional`).
    pub fn oneofs(&self) -> impl ExactSizeIterator<Item = OneofDescriptor> + '_ {
        (0..self.info().oneofs.len()).map(|index| OneofDescriptor {
            message: self.clone(),
            index,
        })
    }

    /// The extensions in the pool that extend this message.
    pub fn extensions(&self) -> impl ExactSizeIterator<Item = FieldDescriptor> + '_ {
        self.info().extensions.iter().map(|&index| FieldDescriptor {
            pool: self.pool.clone(),
            owner: Owner::Extension,
            index,
        })
    }

    /// The extension of this number that extends this message, if the pool
    /// has one.
    pub fn extension(&self, number: u32) -> Option<FieldDescriptor> {
        self.extensions().find(|e| e.number() == number)
    }

    /// Whether this is the synthetic entry message of a `map<K, V>` field.
    pub fn is_map_entry(&self) -> bool {
        self.info().map_entry
    }

    fn field_at(&self, index: usize) -> FieldDescriptor {
        FieldDescriptor {
            pool: self.pool.clone(),
            owner: Owner::Message(self.index),
            index,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Message(usize),
    Extension,
}

/// A field of a message, or an extension.
#[derive(Clone)]
pub struct FieldDescriptor {
    pool: DescriptorPool,
    owner: Owner,
    index: usize,
}

impl fmt::Debug for FieldDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FieldDescriptor({} = {})",
            self.full_name(),
            self.number()
        )
    }
}

/// The kind of a field's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `double`
    Double,
    /// `float`
    Float,
    /// `int64`
    Int64,
    /// `uint64`
    Uint64,
    /// `int32`
    Int32,
    /// `fixed64`
    Fixed64,
    /// `fixed32`
    Fixed32,
    /// `bool`
    Bool,
    /// `string`
    String,
    /// `bytes`
    Bytes,
    /// `uint32`
    Uint32,
    /// `sfixed32`
    Sfixed32,
    /// `sfixed64`
    Sfixed64,
    /// `sint32`
    Sint32,
    /// `sint64`
    Sint64,
    /// An enum.
    Enum(EnumDescriptor),
    /// A message (length-delimited or group encoded).
    Message(MessageDescriptor),
}

/// How many values a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// One value; absent reads as the default.
    Optional,
    /// proto2 `required`.
    Required,
    /// A list (and maps, which are lists of entries on the wire).
    Repeated,
}

impl FieldDescriptor {
    pub(crate) fn info(&self) -> &FieldInfo {
        match self.owner {
            Owner::Message(m) => &self.pool.inner.messages[m].fields[self.index],
            Owner::Extension => &self.pool.inner.extensions[self.index],
        }
    }

    /// The field's name as declared.
    pub fn name(&self) -> &str {
        &self.info().name
    }

    /// Its options: `packed`, `deprecated`, and custom options, read with
    /// [`crate::Extendable::extension`].
    pub fn options(&self) -> &FieldOptions {
        self.info()
            .options
            .as_deref()
            .unwrap_or(FieldOptions::default_instance())
    }

    /// For an extension `pkg.ext`; for a field `pkg.Message.field`.
    pub fn full_name(&self) -> String {
        match self.owner {
            Owner::Message(m) => format!(
                "{}.{}",
                self.pool.inner.messages[m].full_name,
                self.info().name
            ),
            Owner::Extension => self.info().full_name.clone(),
        }
    }

    /// The name in JSON (`json_name`, lowerCamelCase unless set).
    pub fn json_name(&self) -> &str {
        &self.info().json_name
    }

    /// The field number.
    pub fn number(&self) -> u32 {
        self.info().number
    }

    /// The kind of its values (for a map, of its entries).
    pub fn kind(&self) -> Kind {
        match self.info().ty {
            Ty::Double => Kind::Double,
            Ty::Float => Kind::Float,
            Ty::Int64 => Kind::Int64,
            Ty::Uint64 => Kind::Uint64,
            Ty::Int32 => Kind::Int32,
            Ty::Fixed64 => Kind::Fixed64,
            Ty::Fixed32 => Kind::Fixed32,
            Ty::Bool => Kind::Bool,
            Ty::String => Kind::String,
            Ty::Bytes => Kind::Bytes,
            Ty::Uint32 => Kind::Uint32,
            Ty::Sfixed32 => Kind::Sfixed32,
            Ty::Sfixed64 => Kind::Sfixed64,
            Ty::Sint32 => Kind::Sint32,
            Ty::Sint64 => Kind::Sint64,
            Ty::Enum(index) => Kind::Enum(EnumDescriptor {
                pool: self.pool.clone(),
                index,
            }),
            Ty::Message(index) | Ty::Group(index) => Kind::Message(self.pool.message_at(index)),
        }
    }

    /// Optional, required or repeated.
    pub fn cardinality(&self) -> Cardinality {
        let info = self.info();
        if info.list {
            Cardinality::Repeated
        } else if info.required {
            Cardinality::Required
        } else {
            Cardinality::Optional
        }
    }

    /// Whether it is a `map<K, V>` field.
    pub fn is_map(&self) -> bool {
        self.info().map
    }

    /// Whether it is a repeated field that is not a map.
    pub fn is_list(&self) -> bool {
        self.info().list && !self.info().map
    }

    /// Whether a set value is told apart from the default (messages, oneof
    /// members, proto2 and proto3 `optional` fields, editions `EXPLICIT`).
    pub fn has_presence(&self) -> bool {
        self.info().presence
    }

    /// Whether a repeated scalar field is written packed.
    pub fn is_packed(&self) -> bool {
        self.info().packed
    }

    /// Whether it is a message in group encoding.
    pub fn is_group(&self) -> bool {
        matches!(self.info().ty, Ty::Group(_))
    }

    /// The oneof it belongs to (not the synthetic oneof of proto3 `optional`).
    pub fn containing_oneof(&self) -> Option<OneofDescriptor> {
        let Owner::Message(m) = self.owner else {
            return None;
        };
        self.info().oneof.map(|index| OneofDescriptor {
            message: self.pool.message_at(m),
            index,
        })
    }

    /// Whether it is an extension.
    pub fn is_extension(&self) -> bool {
        self.owner == Owner::Extension
    }

    /// The message an extension extends, or the message owning a field.
    pub fn containing_message(&self) -> MessageDescriptor {
        match self.owner {
            Owner::Message(m) => self.pool.message_at(m),
            Owner::Extension => self
                .pool
                .message_at(self.info().extendee.expect("extensions have an extendee")),
        }
    }

    /// The declared default (`[default = …]`), as written in the descriptor.
    pub fn default_value(&self) -> Option<&str> {
        self.info().default.as_deref()
    }
}

/// A oneof of a message.
#[derive(Clone, Debug)]
pub struct OneofDescriptor {
    message: MessageDescriptor,
    index: usize,
}

impl OneofDescriptor {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.message.info().oneofs[self.index]
    }

    /// Its options (custom options are extensions of `OneofOptions`).
    pub fn options(&self) -> &OneofOptions {
        self.message.info().oneof_options[self.index]
            .as_ref()
            .unwrap_or(OneofOptions::default_instance())
    }

    /// Its member fields.
    pub fn fields(&self) -> impl Iterator<Item = FieldDescriptor> + '_ {
        self.message
            .fields()
            .filter(|f| f.info().oneof == Some(self.index))
    }
}

/// An enum type.
#[derive(Clone)]
pub struct EnumDescriptor {
    pool: DescriptorPool,
    index: usize,
}

impl PartialEq for EnumDescriptor {
    fn eq(&self, other: &EnumDescriptor) -> bool {
        Arc::ptr_eq(&self.pool.inner, &other.pool.inner) && self.index == other.index
    }
}

impl Eq for EnumDescriptor {}

impl fmt::Debug for EnumDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnumDescriptor({})", self.full_name())
    }
}

impl EnumDescriptor {
    fn info(&self) -> &EnumInfo {
        &self.pool.inner.enums[self.index]
    }

    /// `pkg.Outer.Kind`.
    pub fn full_name(&self) -> &str {
        &self.info().full_name
    }

    /// Its values in declaration order, aliases included: (name, number).
    pub fn values(&self) -> impl ExactSizeIterator<Item = (&str, i32)> + '_ {
        self.info().values.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// The first name declared for `number`.
    pub fn name_of(&self, number: i32) -> Option<&str> {
        self.info().name_of(number)
    }

    /// The number of the value called `name`.
    pub fn number_of(&self, name: &str) -> Option<i32> {
        self.info().number_of(name)
    }

    /// Whether unknown numbers are rejected (proto2, editions `CLOSED`).
    pub fn is_closed(&self) -> bool {
        self.info().closed
    }

    /// Its options (custom options are extensions of `EnumOptions`).
    pub fn options(&self) -> &EnumOptions {
        self.info()
            .options
            .as_ref()
            .unwrap_or(EnumOptions::default_instance())
    }

    /// The options of the value called `name`; `None` when it has no such
    /// value.
    pub fn value_options(&self, name: &str) -> Option<&EnumValueOptions> {
        let info = self.info();
        let index = info.values.iter().position(|(n, _)| n == name)?;
        Some(
            info.value_options[index]
                .as_ref()
                .unwrap_or(EnumValueOptions::default_instance()),
        )
    }
}

/// A service.
#[derive(Clone)]
pub struct ServiceDescriptor {
    pool: DescriptorPool,
    index: usize,
}

impl fmt::Debug for ServiceDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceDescriptor({})", self.full_name())
    }
}

impl ServiceDescriptor {
    fn proto(&self) -> (&FileDescriptorProto, &crate::types::ServiceDescriptorProto) {
        let (file, service) = self.pool.inner.services[self.index];
        let file = &self.pool.inner.files[file];
        (file, &file.service[service])
    }

    /// `pkg.Service`.
    pub fn full_name(&self) -> String {
        let (file, service) = self.proto();
        join(file.package(), service.name())
    }

    /// Its options (custom options are extensions of `ServiceOptions`).
    pub fn options(&self) -> &crate::types::ServiceOptions {
        self.proto().1.options()
    }

    /// Its methods, in declaration order.
    pub fn methods(&self) -> impl ExactSizeIterator<Item = MethodDescriptor> + '_ {
        (0..self.proto().1.method.len()).map(|index| MethodDescriptor {
            service: self.clone(),
            index,
        })
    }

    /// The method of this name.
    pub fn method(&self, name: &str) -> Option<MethodDescriptor> {
        self.methods().find(|m| m.name() == name)
    }
}

/// A method of a service.
#[derive(Clone, Debug)]
pub struct MethodDescriptor {
    service: ServiceDescriptor,
    index: usize,
}

impl MethodDescriptor {
    fn proto(&self) -> &crate::types::MethodDescriptorProto {
        &self.service.proto().1.method[self.index]
    }

    /// `Method`.
    pub fn name(&self) -> &str {
        self.proto().name()
    }

    /// `/pkg.Service/Method`, the HTTP/2 path gRPC calls it by.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.service.full_name(), self.name())
    }

    /// The request message.
    pub fn input(&self) -> MessageDescriptor {
        self.service
            .pool
            .message(self.proto().input_type())
            .expect("pools resolve method types")
    }

    /// The response message.
    pub fn output(&self) -> MessageDescriptor {
        self.service
            .pool
            .message(self.proto().output_type())
            .expect("pools resolve method types")
    }

    /// Whether the client sends a stream.
    pub fn client_streaming(&self) -> bool {
        self.proto().client_streaming()
    }

    /// Whether the server answers with a stream.
    pub fn server_streaming(&self) -> bool {
        self.proto().server_streaming()
    }

    /// Its options: `idempotency_level`, and custom options such as
    /// `(google.api.http)`, read with [`crate::Extendable::extension`].
    pub fn options(&self) -> &crate::types::MethodOptions {
        self.proto().options()
    }
}

/// The lowerCamelCase JSON name protoc gives a field without `json_name`.
pub(crate) fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Indexes `files`: symbols first (so references may point forward), then
/// fields with their types resolved.
fn build(files: Vec<FileDescriptorProto>) -> Result<Inner, DescriptorError> {
    let mut inner = Inner {
        files: Vec::new(),
        messages: Vec::new(),
        enums: Vec::new(),
        extensions: Vec::new(),
        services: Vec::new(),
        symbols: HashMap::new(),
    };
    for file in &files {
        for dependency in &file.dependency {
            if !files.iter().any(|f| f.name() == dependency) {
                return Err(DescriptorError::new(format!(
                    "{}: imports {dependency}, which is not in the pool",
                    file.name()
                )));
            }
        }
    }
    let mut scopes = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let mut package = String::new();
        for part in file.package().split('.').filter(|p| !p.is_empty()) {
            if !package.is_empty() {
                package.push('.');
            }
            package.push_str(part);
            inner
                .symbols
                .entry(package.clone())
                .or_insert(Symbol::Other);
        }
        let features = Features::of_file(file);
        for message in &file.message_type {
            let at = (file_index, file.name());
            declare_message(&mut inner, &mut scopes, at, &package, message, features)?;
        }
        for e in &file.enum_type {
            declare_enum(&mut inner, file.name(), &package, e, features)?;
        }
        for (service_index, service) in file.service.iter().enumerate() {
            let name = join(&package, service.name());
            for method in &service.method {
                inner
                    .symbols
                    .insert(join(&name, method.name()), Symbol::Other);
            }
            let index = inner.services.len();
            inner.services.push((file_index, service_index));
            declare(&mut inner, file.name(), name, Symbol::Service(index))?;
        }
    }
    // Second pass: fields and extensions, in the same order as the first.
    for scope in &scopes {
        let fields = scope
            .proto
            .field
            .iter()
            .map(|field| resolve_field(&inner, &files, scope, field, None))
            .collect::<Result<Vec<_>, _>>()?;
        let message = &mut inner.messages[scope.index];
        let mut fields = fields;
        fields.sort_by_key(|f| f.number);
        message.dense = dense_index(&fields);
        for (i, field) in fields.iter().enumerate() {
            message.by_name.insert(field.json_name.clone(), i);
            message.by_name.insert(field.name.clone(), i);
        }
        message.fields = fields;
    }
    for &(file, service) in &inner.services {
        let file = &files[file];
        let service = &file.service[service];
        for method in &service.method {
            for ty in [method.input_type(), method.output_type()] {
                if !matches!(
                    inner.symbols.get(ty.trim_start_matches('.')),
                    Some(Symbol::Message(_))
                ) {
                    return Err(DescriptorError::new(format!(
                        "{}: rpc `{}.{}` names `{ty}`, which is not a message in the pool",
                        file.name(),
                        service.name(),
                        method.name()
                    )));
                }
            }
        }
    }
    let mut extensions = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let scope = Scope {
            index: usize::MAX,
            file: file_index,
            full_name: file.package().to_string(),
            features: Features::of_file(file),
            proto: DescriptorProto::default_instance(),
        };
        for field in &file.extension {
            extensions.push(resolve_field(&inner, &files, &scope, field, Some(&scope))?);
        }
    }
    for scope in &scopes {
        for field in &scope.proto.extension {
            extensions.push(resolve_field(&inner, &files, scope, field, Some(scope))?);
        }
    }
    for extension in extensions {
        let index = inner.extensions.len();
        let extendee = extension.extendee.expect("resolved");
        inner.messages[extendee].extensions.push(index);
        let name = extension.full_name.clone();
        inner.extensions.push(extension);
        let file = &files[inner.messages[extendee].file];
        declare(&mut inner, file.name(), name, Symbol::Extension(index))?;
    }
    inner.files = files;
    Ok(inner)
}

/// A message while its fields are resolved.
struct Scope<'a> {
    index: usize,
    file: usize,
    full_name: String,
    features: Features,
    proto: &'a DescriptorProto,
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn declare(
    inner: &mut Inner,
    file: &str,
    name: String,
    symbol: Symbol,
) -> Result<(), DescriptorError> {
    if inner.symbols.insert(name.clone(), symbol).is_some() {
        return Err(DescriptorError::new(format!(
            "{file}: `{name}` is declared twice"
        )));
    }
    Ok(())
}

fn declare_message<'a>(
    inner: &mut Inner,
    scopes: &mut Vec<Scope<'a>>,
    (file, file_name): (usize, &str),
    prefix: &str,
    message: &'a DescriptorProto,
    parent: Features,
) -> Result<(), DescriptorError> {
    let full_name = join(prefix, message.name());
    let options = message.options.as_ref();
    let features = parent.with(options.and_then(|o| o.features.as_ref()));
    let index = inner.messages.len();
    let oneofs = real_oneofs(message);
    inner.messages.push(MessageInfo {
        full_name: full_name.clone(),
        file,
        fields: Vec::new(),
        dense: Vec::new(),
        by_name: HashMap::new(),
        oneofs: oneofs
            .iter()
            .map(|&i| message.oneof_decl[i].name().to_string())
            .collect(),
        oneof_options: oneofs
            .iter()
            .map(|&i| message.oneof_decl[i].options.clone())
            .collect(),
        options: message.options.clone(),
        map_entry: options.is_some_and(|o| o.map_entry()),
        well_known: WellKnown::of(&full_name),
        extensions: Vec::new(),
    });
    declare(inner, file_name, full_name.clone(), Symbol::Message(index))?;
    scopes.push(Scope {
        index,
        file,
        full_name: full_name.clone(),
        features,
        proto: message,
    });
    for nested in &message.nested_type {
        declare_message(
            inner,
            scopes,
            (file, file_name),
            &full_name,
            nested,
            features,
        )?;
    }
    for e in &message.enum_type {
        declare_enum(inner, file_name, &full_name, e, features)?;
    }
    Ok(())
}

/// Indices into `oneof_decl` of the oneofs that are not synthetic.
fn real_oneofs(message: &DescriptorProto) -> Vec<usize> {
    (0..message.oneof_decl.len())
        .filter(|&i| {
            !message
                .field
                .iter()
                .any(|f| f.oneof_index == Some(i as i32) && f.proto3_optional())
        })
        .collect()
}

fn declare_enum(
    inner: &mut Inner,
    file: &str,
    prefix: &str,
    e: &EnumDescriptorProto,
    parent: Features,
) -> Result<(), DescriptorError> {
    let features = parent.with(e.options.as_ref().and_then(|o| o.features.as_ref()));
    let full_name = join(prefix, e.name());
    let index = inner.enums.len();
    inner.enums.push(EnumInfo {
        full_name: full_name.clone(),
        values: e
            .value
            .iter()
            .map(|v| (v.name().to_string(), v.number()))
            .collect(),
        value_options: e.value.iter().map(|v| v.options.clone()).collect(),
        options: e.options.clone(),
        closed: features.closed_enums,
    });
    // Enum values are scoped like C++ enumerators: siblings of the enum.
    for value in &e.value {
        inner
            .symbols
            .entry(join(prefix, value.name()))
            .or_insert(Symbol::Other);
    }
    declare(inner, file, full_name, Symbol::Enum(index))
}

fn resolve_field(
    inner: &Inner,
    files: &[FileDescriptorProto],
    scope: &Scope<'_>,
    field: &FieldDescriptorProto,
    extension_scope: Option<&Scope<'_>>,
) -> Result<FieldInfo, DescriptorError> {
    let whose = || {
        format!(
            "{}: field `{}.{}`",
            files[scope.file].name(),
            scope.full_name,
            field.name()
        )
    };
    let features = scope
        .features
        .with(field.options.as_ref().and_then(|o| o.features.as_ref()));
    let lookup = |name: &str| inner.symbols.get(name.trim_start_matches('.')).copied();
    let ty = match field.r#type() {
        Type::Double => Ty::Double,
        Type::Float => Ty::Float,
        Type::Int64 => Ty::Int64,
        Type::Uint64 => Ty::Uint64,
        Type::Int32 => Ty::Int32,
        Type::Fixed64 => Ty::Fixed64,
        Type::Fixed32 => Ty::Fixed32,
        Type::Bool => Ty::Bool,
        Type::String => Ty::String,
        Type::Bytes => Ty::Bytes,
        Type::Uint32 => Ty::Uint32,
        Type::Sfixed32 => Ty::Sfixed32,
        Type::Sfixed64 => Ty::Sfixed64,
        Type::Sint32 => Ty::Sint32,
        Type::Sint64 => Ty::Sint64,
        Type::Enum => match lookup(field.type_name()) {
            Some(Symbol::Enum(index)) => Ty::Enum(index),
            _ => {
                return Err(DescriptorError::new(format!(
                    "{}: enum type `{}` is not in the pool",
                    whose(),
                    field.type_name()
                )));
            }
        },
        Type::Message | Type::Group => match lookup(field.type_name()) {
            Some(Symbol::Message(index)) => {
                // Map entries, and the values inside them, are always
                // length-prefixed, whatever `message_encoding` says.
                let map_entry = inner.messages[index].map_entry
                    || inner.messages.get(scope.index).is_some_and(|m| m.map_entry);
                if field.r#type() == Type::Group || (features.delimited && !map_entry) {
                    Ty::Group(index)
                } else {
                    Ty::Message(index)
                }
            }
            _ => {
                return Err(DescriptorError::new(format!(
                    "{}: message type `{}` is not in the pool",
                    whose(),
                    field.type_name()
                )));
            }
        },
    };
    let list = field.label() == Label::Repeated;
    let map = list && matches!(ty, Ty::Message(index) if inner.messages[index].map_entry);
    let required =
        field.label() == Label::Required || features.presence == Presence::LegacyRequired;
    let in_oneof = field.oneof_index.is_some();
    let presence = !list
        && (matches!(ty, Ty::Message(_) | Ty::Group(_))
            || in_oneof
            || field.proto3_optional()
            || features.presence != Presence::Implicit);
    let packed = list
        && ty.packable()
        && field
            .options
            .as_ref()
            .and_then(|o| o.packed)
            .unwrap_or(features.packed);
    let oneof = if field.proto3_optional() || extension_scope.is_some() {
        None
    } else {
        field.oneof_index.map(|i| {
            let real = real_oneofs(scope.proto);
            real.iter()
                .position(|&r| r == i as usize)
                .expect("a field's oneof is real unless proto3 optional")
        })
    };
    let extendee = match extension_scope {
        None => None,
        Some(_) => match lookup(field.extendee()) {
            Some(Symbol::Message(index)) => Some(index),
            _ => {
                return Err(DescriptorError::new(format!(
                    "{}: extended message `{}` is not in the pool",
                    whose(),
                    field.extendee()
                )));
            }
        },
    };
    let json = match &field.json_name {
        Some(name) => name.clone(),
        None => json_name(field.name()),
    };
    let full_name = match extension_scope {
        Some(scope) => join(&scope.full_name, field.name()),
        None => field.name().to_string(),
    };
    let number = u32::try_from(field.number())
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| DescriptorError::new(format!("{}: invalid number", whose())))?;
    Ok(FieldInfo {
        name: field.name().to_string(),
        json_name: json,
        full_name,
        number,
        ty,
        list,
        map,
        required,
        presence,
        packed,
        oneof,
        utf8: ty == Ty::String && features.verify_utf8,
        default: field.default_value.clone(),
        extendee,
        options: field.options.clone().map(Arc::new),
    })
}

/// `number → index` for messages whose numbers are small enough to make a
/// table cheaper than a search; empty otherwise.
fn dense_index(fields: &[FieldInfo]) -> Vec<u32> {
    let Some(max) = fields.last().map(|f| f.number as usize) else {
        return Vec::new();
    };
    if max > 4 * fields.len() + 64 {
        return Vec::new();
    }
    let mut table = vec![u32::MAX; max + 1];
    for (i, field) in fields.iter().enumerate() {
        table[field.number as usize] = i as u32;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_lower_camel_case() {
        assert_eq!(json_name("foo_bar_baz"), "fooBarBaz");
        assert_eq!(json_name("foo__bar"), "fooBar");
        assert_eq!(json_name("_foo"), "Foo");
        assert_eq!(json_name("field0name5"), "field0name5");
        assert_eq!(json_name("FieldName"), "FieldName");
    }
}
