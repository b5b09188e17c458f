//! Descriptors of Rust-defined messages and services, and their `.proto`
//! source: what lets an inline (`#[protocall::service]`) service be called
//! from Python, Go or JS.
//!
//! `#[derive(protocall::Message)]` implements [`Describe`]; a service's
//! server type gathers the descriptors of every type it uses:
//!
//! ```
//! use protocall::__private::reflect::Descriptors;
//! use protocall::types::field_descriptor_proto::Type;
//! let mut set = Descriptors::new();
//! if let Some(message) = set.message("demo.Ping") {
//!     message.scalar(1, "id", Type::Int64, protocall::__private::reflect::Cardinality::Implicit).finish();
//! }
//! let source = set.proto_source("demo");
//! assert!(source.contains("message Ping {\n  int64 id = 1;\n}"), "{source}");
//! ```

mod source;

use std::collections::BTreeMap;

use crate::types::field_descriptor_proto::{Label, Type};
use crate::types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, FileDescriptorSet, MessageOptions, MethodDescriptorProto,
    OneofDescriptorProto, ServiceDescriptorProto,
};

/// A Rust type that can describe itself as a protobuf descriptor.
///
/// ```
/// use protocall::__private::reflect::{Cardinality, Describe, Descriptors};
/// use protocall::types::field_descriptor_proto::Type;
/// struct Ping;
/// impl Describe for Ping {
///     fn describe(descriptors: &mut Descriptors) {
///         if let Some(message) = descriptors.message("demo.Ping") {
///             message.scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
///         }
///     }
/// }
/// let mut descriptors = Descriptors::new();
/// Ping::describe(&mut descriptors);
/// assert!(descriptors.contains("demo.Ping"));
/// ```
pub trait Describe {
    /// Adds this type's descriptor, and those of the types it refers to, to
    /// `descriptors`.
    ///
    #[cfg_attr(feature = "macros", doc = "```")]
    #[cfg_attr(not(feature = "macros"), doc = "```ignore")]
    /// use protocall::__private::reflect::{Describe, Descriptors};
    /// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
    /// #[proto(package = "demo")]
    /// struct Ping {
    ///     #[proto(tag = 1)]
    ///     id: i64,
    /// }
    /// let mut descriptors = Descriptors::new();
    /// Ping::describe(&mut descriptors); // implemented by the derive
    /// assert!(descriptors.proto_source("demo").contains("int64 id = 1;"));
    /// ```
    fn describe(descriptors: &mut Descriptors);
}

/// A oneof enum that can describe its members (for inline messages).
///
#[cfg_attr(feature = "macros", doc = "```")]
#[cfg_attr(not(feature = "macros"), doc = "```ignore")]
/// use protocall::__private::reflect::{DescribeOneof, Descriptors};
/// #[derive(Clone, PartialEq, Debug, protocall::Oneof)]
/// enum Contact {
///     #[proto(tag = 2)]
///     Phone(String),
///     #[proto(tag = 3)]
///     Email(String),
/// }
/// let mut descriptors = Descriptors::new();
/// let message = descriptors.message("demo.User").unwrap().oneof("contact");
/// Contact::describe_members(message).finish(); // implemented by the derive
/// let source = descriptors.proto_source("demo");
/// assert!(source.contains("oneof contact {"), "{source}");
/// ```
pub trait DescribeOneof {
    /// Adds the members to `message`, whose last started oneof is this one.
    ///
    /// ```
    /// use protocall::__private::reflect::{Descriptors, DescribeOneof, MessageDescriptor};
    /// use protocall::types::field_descriptor_proto::Type;
    /// enum Contact { Phone(String) }
    /// impl DescribeOneof for Contact {
    ///     fn describe_members(message: MessageDescriptor<'_>) -> MessageDescriptor<'_> {
    ///         message
    ///             .scalar(2, "phone", Type::String, protocall::__private::reflect::Cardinality::Implicit)
    ///             .in_oneof()
    ///     }
    /// }
    /// let mut descriptors = Descriptors::new();
    /// let message = descriptors.message("demo.User").unwrap().oneof("contact");
    /// Contact::describe_members(message).finish();
    /// assert!(descriptors.proto_source("demo").contains("string phone = 2;"));
    /// ```
    fn describe_members(message: MessageDescriptor<'_>) -> MessageDescriptor<'_>;
}

/// True when two sorted tag lists are equal: the compile-time check that a
/// message's `#[proto(oneof, tags = "…")]` matches its oneof enum.
#[doc(hidden)]
pub const fn same_tags(a: &[u32], b: &[u32]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// How a field repeats or signals presence.
///
/// ```
/// use protocall::__private::reflect::{Cardinality, Descriptors};
/// use protocall::types::field_descriptor_proto::Type;
/// let mut descriptors = Descriptors::new();
/// descriptors
///     .message("demo.Scores")
///     .unwrap()
///     .scalar(1, "best", Type::Int32, Cardinality::Implicit)
///     .scalar(2, "last", Type::Int32, Cardinality::Optional)
///     .scalar(3, "all", Type::Int32, Cardinality::Repeated)
///     .finish();
/// let source = descriptors.proto_source("demo");
/// assert!(source.contains("  int32 best = 1;\n  optional int32 last = 2;\n  repeated int32 all = 3;"), "{source}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    /// A proto3 singular field: the default value is not written.
    Implicit,
    /// `optional`: presence is tracked.
    Optional,
    /// `repeated`.
    Repeated,
}

/// Descriptors being collected, by full name, grouped by package on output.
///
#[cfg_attr(feature = "macros", doc = "```")]
#[cfg_attr(not(feature = "macros"), doc = "```ignore")]
/// use protocall::__private::reflect::{Describe, Descriptors};
/// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
/// #[proto(package = "demo")]
/// struct Ping {
///     #[proto(tag = 1)]
///     id: i64,
/// }
/// let mut descriptors = Descriptors::new();
/// Ping::describe(&mut descriptors);
/// descriptors.service("demo.Pinger", &[("Ping", "demo.Ping", "demo.Ping", false, false)]);
/// let set = descriptors.file_descriptor_set();
/// assert_eq!(set.file[0].name(), "demo.proto");
/// ```
#[derive(Clone, Debug, Default)]
pub struct Descriptors {
    messages: BTreeMap<String, DescriptorProto>,
    enums: BTreeMap<String, EnumDescriptorProto>,
    /// Types defined in `.proto` files (generated code): full name → file.
    imported: BTreeMap<String, String>,
    /// The embedded descriptor sets those files are in, where known.
    embedded: Vec<&'static [u8]>,
    services: BTreeMap<String, ServiceDescriptorProto>,
    docs: BTreeMap<String, String>,
    /// Package given to types declared without one.
    default_package: Option<String>,
}

/// One message being described; see [`Descriptors::message`].
///
/// ```
/// use protocall::__private::reflect::{Cardinality, Descriptors};
/// use protocall::types::field_descriptor_proto::Type;
/// let mut descriptors = Descriptors::new();
/// if let Some(message) = descriptors.message("demo.User") {
///     message
///         .doc("A user.")
///         .scalar(1, "name", Type::String, Cardinality::Implicit)
///         .field_doc("name", "Display name.")
///         .finish();
/// }
/// let source = descriptors.proto_source("demo");
/// assert!(source.contains("// A user.\nmessage User {\n  // Display name.\n  string name = 1;\n}"), "{source}");
/// ```
#[derive(Debug)]
pub struct MessageDescriptor<'a> {
    set: &'a mut Descriptors,
    full_name: String,
    proto: DescriptorProto,
}

fn split_name(full_name: &str) -> (&str, &str) {
    full_name.rsplit_once('.').unwrap_or(("", full_name))
}

impl Descriptors {
    /// An empty collection.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let descriptors = Descriptors::new();
    /// assert!(descriptors.file_descriptor_set().file.is_empty());
    /// ```
    pub fn new() -> Descriptors {
        Descriptors::default()
    }

    /// Places types whose full name has no package into `package` on output.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new().with_default_package("demo");
    /// descriptors.message("Ping").unwrap().scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// assert_eq!(descriptors.file_descriptor_set().file[0].package(), "demo");
    /// ```
    pub fn with_default_package(mut self, package: &str) -> Descriptors {
        self.default_package = Some(package.to_string());
        self
    }

    /// True when `full_name` was described (or is being described).
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("demo.Color", &[("RED", 0)]);
    /// assert!(descriptors.contains("demo.Color"));
    /// assert!(!descriptors.contains("demo.Shape"));
    /// ```
    pub fn contains(&self, full_name: &str) -> bool {
        self.messages.contains_key(full_name)
            || self.enums.contains_key(full_name)
            || self.imported.contains_key(full_name)
    }

    /// Records that type `full_name` is defined in the `.proto` file `file`
    /// (code generated from a schema): output imports the file instead of
    /// redefining the type.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.imported("google.protobuf.Timestamp", "google/protobuf/timestamp.proto");
    /// descriptors.message("demo.Event").unwrap().scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// descriptors.service("demo.Clock", &[("Now", "demo.Event", "google.protobuf.Timestamp", false, false)]);
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("import \"google/protobuf/timestamp.proto\";"), "{source}");
    /// ```
    pub fn imported(&mut self, full_name: &str, file: &str) {
        self.imported
            .insert(full_name.to_string(), file.to_string());
    }

    /// [`Descriptors::imported`], with the generated package's embedded
    /// `FILE_DESCRIPTOR_SET` that holds `file`: what a derived message's
    /// descriptor pool takes the type from.
    pub fn imported_from(&mut self, full_name: &str, file: &str, set: &'static [u8]) {
        self.imported(full_name, file);
        if !self.embedded.iter().any(|s| core::ptr::eq(*s, set)) {
            self.embedded.push(set);
        }
    }

    /// A pool of these descriptors, with the well-known types and the
    /// embedded sets of the generated types they use.
    pub(crate) fn pool(
        &self,
    ) -> Result<crate::reflect::DescriptorPool, crate::reflect::DescriptorError> {
        let mut pool = crate::reflect::well_known_pool();
        for set in &self.embedded {
            pool.merge(&crate::reflect::embedded_pool(set))?;
        }
        pool.add_file_descriptor_set(self.file_descriptor_set())?;
        Ok(pool)
    }

    /// Starts describing message `full_name`; `None` when it is already
    /// known (which also ends recursion through self-referential types).
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// let message = descriptors.message("demo.Ping").unwrap();
    /// message.scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// assert!(descriptors.message("demo.Ping").is_none()); // already described
    /// ```
    pub fn message(&mut self, full_name: &str) -> Option<MessageDescriptor<'_>> {
        if self.contains(full_name) {
            return None;
        }
        // Reserve the name before fields recurse into other types.
        self.messages
            .insert(full_name.to_string(), DescriptorProto::default());
        let proto = DescriptorProto {
            name: Some(split_name(full_name).1.to_string()),
            ..Default::default()
        };
        Some(MessageDescriptor {
            set: self,
            full_name: full_name.to_string(),
            proto,
        })
    }

    /// Describes enum `full_name` with its `(name, number)` values, first
    /// one the default.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("demo.Color", &[("COLOR_UNSPECIFIED", 0), ("RED", 1)]);
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("enum Color {\n  COLOR_UNSPECIFIED = 0;\n  RED = 1;\n}"), "{source}");
    /// ```
    pub fn enumeration(&mut self, full_name: &str, values: &[(&str, i32)]) {
        if self.contains(full_name) {
            return;
        }
        let proto = EnumDescriptorProto {
            name: Some(split_name(full_name).1.to_string()),
            value: values
                .iter()
                .map(|(name, number)| EnumValueDescriptorProto {
                    name: Some(name.to_string()),
                    number: Some(*number),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        self.enums.insert(full_name.to_string(), proto);
    }

    /// Adds service `full_name` with its methods:
    /// `(name, input full name, output full name, client streaming, server streaming)`.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.message("demo.Ping").unwrap().scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// descriptors.service("demo.Pinger", &[
    ///     ("Ping", "demo.Ping", "demo.Ping", false, false),
    ///     ("Flood", "demo.Ping", "demo.Ping", true, true),
    /// ]);
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("  rpc Flood(stream .demo.Ping) returns (stream .demo.Ping);"), "{source}");
    /// ```
    pub fn service(&mut self, full_name: &str, methods: &[(&str, &str, &str, bool, bool)]) {
        let proto = ServiceDescriptorProto {
            name: Some(split_name(full_name).1.to_string()),
            method: methods
                .iter()
                .map(
                    |&(name, input, output, client_streaming, server_streaming)| {
                        MethodDescriptorProto {
                            name: Some(name.to_string()),
                            input_type: Some(format!(".{input}")),
                            output_type: Some(format!(".{output}")),
                            client_streaming: client_streaming.then_some(true),
                            server_streaming: server_streaming.then_some(true),
                            ..Default::default()
                        }
                    },
                )
                .collect(),
            ..Default::default()
        };
        self.services.insert(full_name.to_string(), proto);
    }

    /// Attaches documentation (becomes a comment in `.proto` source) to a
    /// message, enum, service, or `Service.Method` / `Message.field`.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("demo.Color", &[("RED", 0)]);
    /// descriptors.doc("demo.Color", "A primary color.");
    /// assert!(descriptors.proto_source("demo").contains("// A primary color.\nenum Color {"));
    /// ```
    pub fn doc(&mut self, full_name: &str, text: &str) {
        if !text.trim().is_empty() {
            self.docs
                .insert(full_name.to_string(), text.trim_end().to_string());
        }
    }

    /// The full name a type ends up with on output.
    fn resolved(&self, full_name: &str) -> String {
        if self.imported.contains_key(full_name) {
            return full_name.to_string();
        }
        match (&self.default_package, full_name.contains('.')) {
            (Some(package), false) if !package.is_empty() => format!("{package}.{full_name}"),
            _ => full_name.to_string(),
        }
    }

    /// Rewrites a `.type_name` reference to its output name.
    fn resolve_reference(&self, reference: &str) -> String {
        format!(".{}", self.resolved(reference.trim_start_matches('.')))
    }

    /// One `FileDescriptorProto` per package (proto3 syntax), each importing
    /// the files of the packages it refers to.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("a.Color", &[("RED", 0)]);
    /// descriptors.enumeration("b.Shape", &[("ROUND", 0)]);
    /// let set = descriptors.file_descriptor_set();
    /// let names: Vec<&str> = set.file.iter().map(|file| file.name()).collect();
    /// assert_eq!(names, ["a.proto", "b.proto"]);
    /// assert_eq!(set.file[0].syntax(), "proto3");
    /// ```
    pub fn file_descriptor_set(&self) -> FileDescriptorSet {
        let mut files: BTreeMap<String, FileDescriptorProto> = BTreeMap::new();
        let file_for = |files: &mut BTreeMap<String, FileDescriptorProto>, package: &str| {
            files
                .entry(package.to_string())
                .or_insert_with(|| FileDescriptorProto {
                    name: Some(file_name(package)),
                    package: (!package.is_empty()).then(|| package.to_string()),
                    syntax: Some("proto3".into()),
                    ..Default::default()
                });
        };
        for (name, message) in &self.messages {
            let full = self.resolved(name);
            let (package, _) = split_name(&full);
            file_for(&mut files, package);
            let mut message = message.clone();
            self.resolve_message(&mut message);
            files
                .get_mut(package)
                .expect("inserted")
                .message_type
                .push(message);
        }
        for (name, enumeration) in &self.enums {
            let full = self.resolved(name);
            let (package, _) = split_name(&full);
            file_for(&mut files, package);
            files
                .get_mut(package)
                .expect("inserted")
                .enum_type
                .push(enumeration.clone());
        }
        for (name, service) in &self.services {
            let full = self.resolved(name);
            let (package, _) = split_name(&full);
            file_for(&mut files, package);
            let mut service = service.clone();
            for method in &mut service.method {
                method.input_type = Some(self.resolve_reference(method.input_type()));
                method.output_type = Some(self.resolve_reference(method.output_type()));
            }
            files
                .get_mut(package)
                .expect("inserted")
                .service
                .push(service);
        }
        // Imports: the packages each file's references live in.
        let packages: Vec<String> = files.keys().cloned().collect();
        for package in &packages {
            let file = &files[package];
            let mut deps: Vec<String> = references(file)
                .iter()
                .filter_map(|r| {
                    let name = r.trim_start_matches('.');
                    if let Some(file) = self.imported.get(name) {
                        return Some(file.clone());
                    }
                    let (pkg, _) = split_name(name);
                    (pkg != package && files.contains_key(pkg)).then(|| file_name(pkg))
                })
                .collect();
            deps.sort();
            deps.dedup();
            files.get_mut(package).expect("exists").dependency = deps;
        }
        FileDescriptorSet {
            file: files.into_values().collect(),
            ..Default::default()
        }
    }

    fn resolve_message(&self, message: &mut DescriptorProto) {
        for field in &mut message.field {
            if let Some(type_name) = &field.type_name {
                field.type_name = Some(self.resolve_reference(type_name));
            }
        }
        for nested in &mut message.nested_type {
            self.resolve_message(nested);
        }
    }

    /// The `.proto` source of `package`'s file (see
    /// [`Descriptors::file_descriptor_set`]), with docs as comments.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("demo.Color", &[("RED", 0)]);
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("syntax = \"proto3\";\n\npackage demo;"), "{source}");
    /// assert_eq!(descriptors.proto_source("other"), ""); // no such package
    /// ```
    pub fn proto_source(&self, package: &str) -> String {
        let set = self.file_descriptor_set();
        match set.file.iter().find(|f| f.package() == package) {
            Some(file) => source::render(file, &self.resolved_docs()),
            None => String::new(),
        }
    }

    /// The `.proto` source of every package, by file name.
    ///
    /// ```
    /// use protocall::__private::reflect::Descriptors;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.enumeration("a.Color", &[("RED", 0)]);
    /// descriptors.enumeration("b.c.Shape", &[("ROUND", 0)]);
    /// for (file, source) in descriptors.proto_sources() {
    ///     // e.g. write `source` to `file` for protoc, grpcio-tools or buf
    ///     assert!(file == "a.proto" || file == "b/c.proto");
    ///     assert!(source.starts_with("// Generated by protocall"));
    /// }
    /// ```
    pub fn proto_sources(&self) -> Vec<(String, String)> {
        let docs = self.resolved_docs();
        self.file_descriptor_set()
            .file
            .iter()
            .map(|file| (file.name().to_string(), source::render(file, &docs)))
            .collect()
    }

    fn resolved_docs(&self) -> BTreeMap<String, String> {
        self.docs
            .iter()
            .map(|(name, doc)| {
                // `Type.member`: resolve the type part only.
                let resolved = if self.messages.contains_key(name)
                    || self.enums.contains_key(name)
                    || self.services.contains_key(name)
                {
                    self.resolved(name)
                } else {
                    match name.rsplit_once('.') {
                        Some((owner, member)) => format!("{}.{member}", self.resolved(owner)),
                        None => self.resolved(name),
                    }
                };
                (resolved, doc.clone())
            })
            .collect()
    }
}

/// `a.b` → `a/b.proto`.
fn file_name(package: &str) -> String {
    if package.is_empty() {
        "protocall_inline.proto".into()
    } else {
        format!("{}.proto", package.replace('.', "/"))
    }
}

fn references(file: &FileDescriptorProto) -> Vec<String> {
    fn walk(message: &DescriptorProto, out: &mut Vec<String>) {
        out.extend(message.field.iter().filter_map(|f| f.type_name.clone()));
        message.nested_type.iter().for_each(|n| walk(n, out));
    }
    let mut out = Vec::new();
    file.message_type.iter().for_each(|m| walk(m, &mut out));
    for service in &file.service {
        for method in &service.method {
            out.push(method.input_type().to_string());
            out.push(method.output_type().to_string());
        }
    }
    out
}

fn field(number: i32, name: &str, ty: Type, cardinality: Cardinality) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_string()),
        number: Some(number),
        label: Some(if cardinality == Cardinality::Repeated {
            Label::Repeated
        } else {
            Label::Optional
        }),
        r#type: Some(ty),
        json_name: Some(json_name(name)),
        ..Default::default()
    }
}

/// protoc's default JSON name: lowerCamelCase of the field name.
fn json_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl MessageDescriptor<'_> {
    fn push(mut self, mut field: FieldDescriptorProto, cardinality: Cardinality) -> Self {
        if cardinality == Cardinality::Optional {
            // proto3 `optional`: a synthetic oneof named `_field`.
            field.proto3_optional = Some(true);
            field.oneof_index = Some(self.proto.oneof_decl.len() as i32);
            self.proto.oneof_decl.push(OneofDescriptorProto {
                name: Some(format!("_{}", field.name())),
                ..Default::default()
            });
        }
        self.proto.field.push(field);
        self
    }

    /// A scalar field (`Type::Int32`, `Type::String`, …).
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.User")
    ///     .unwrap()
    ///     .scalar(1, "name", Type::String, Cardinality::Implicit)
    ///     .scalar(2, "balance", Type::Sint64, Cardinality::Optional)
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("  optional sint64 balance = 2;"), "{source}");
    /// ```
    pub fn scalar(self, number: i32, name: &str, ty: Type, cardinality: Cardinality) -> Self {
        self.push(field(number, name, ty, cardinality), cardinality)
    }

    /// A field of message type `M`.
    ///
    #[cfg_attr(feature = "macros", doc = "```")]
    #[cfg_attr(not(feature = "macros"), doc = "```ignore")]
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
    /// #[proto(package = "demo")]
    /// struct Ping {
    ///     #[proto(tag = 1)]
    ///     id: i64,
    /// }
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Pair")
    ///     .unwrap()
    ///     .message::<Ping>(1, "first", Cardinality::Implicit) // describes Ping too
    ///     .message::<Ping>(2, "rest", Cardinality::Repeated)
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("message Ping {"), "{source}");
    /// assert!(source.contains("  repeated .demo.Ping rest = 2;"), "{source}");
    /// ```
    pub fn message<M: crate::message::Message + Describe>(
        self,
        number: i32,
        name: &str,
        cardinality: Cardinality,
    ) -> Self {
        M::describe(self.set);
        let mut f = field(number, name, Type::Message, cardinality);
        f.type_name = Some(format!(".{}", M::FULL_NAME));
        // Message fields track presence without `optional`.
        let cardinality = if cardinality == Cardinality::Optional {
            Cardinality::Implicit
        } else {
            cardinality
        };
        self.push(f, cardinality)
    }

    /// A field of enum type `E`.
    ///
    #[cfg_attr(feature = "macros", doc = "```")]
    #[cfg_attr(not(feature = "macros"), doc = "```ignore")]
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, protocall::Enumeration)]
    /// #[proto(package = "demo")]
    /// enum Color {
    ///     #[default]
    ///     Red = 0,
    ///     Green = 1,
    /// }
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Pixel")
    ///     .unwrap()
    ///     .enumeration::<Color>(1, "color", Cardinality::Implicit)
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("enum Color {"), "{source}");
    /// assert!(source.contains("  .demo.Color color = 1;"), "{source}");
    /// ```
    pub fn enumeration<E: crate::enumeration::Enumeration + Describe>(
        self,
        number: i32,
        name: &str,
        cardinality: Cardinality,
    ) -> Self {
        E::describe(self.set);
        let mut f = field(number, name, Type::Enum, cardinality);
        f.type_name = Some(format!(".{}", E::FULL_NAME));
        self.push(f, cardinality)
    }

    /// A map field; `value_type` names the message or enum for those kinds.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Scores")
    ///     .unwrap()
    ///     .map(1, "by_name", Type::String, Type::Int32, None)
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("  map<string, int32> by_name = 1;"), "{source}");
    /// ```
    pub fn map(
        mut self,
        number: i32,
        name: &str,
        key: Type,
        value: Type,
        value_type: Option<&str>,
    ) -> Self {
        let entry_name = format!("{}Entry", upper_camel(name));
        let mut value_field = field(2, "value", value, Cardinality::Implicit);
        value_field.type_name = value_type.map(|t| format!(".{t}"));
        let entry = DescriptorProto {
            name: Some(entry_name.clone()),
            field: vec![field(1, "key", key, Cardinality::Implicit), value_field],
            options: Some(MessageOptions {
                map_entry: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.proto.nested_type.push(entry);
        let mut f = field(number, name, Type::Message, Cardinality::Repeated);
        f.type_name = Some(format!(".{}.{entry_name}", self.full_name));
        self.push(f, Cardinality::Repeated)
    }

    /// Describes the types a map's message or enum values use.
    ///
    #[cfg_attr(feature = "macros", doc = "```")]
    #[cfg_attr(not(feature = "macros"), doc = "```ignore")]
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// #[derive(Clone, PartialEq, Debug, Default, protocall::Message)]
    /// #[proto(package = "demo")]
    /// struct Ping {
    ///     #[proto(tag = 1)]
    ///     id: i64,
    /// }
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Index")
    ///     .unwrap()
    ///     .map(1, "pings", Type::String, Type::Message, Some("demo.Ping"))
    ///     .uses::<Ping>() // so that demo.Ping is described as well
    ///     .finish();
    /// assert!(descriptors.contains("demo.Ping"));
    /// ```
    pub fn uses<T: Describe>(self) -> Self {
        T::describe(self.set);
        self
    }

    /// Starts oneof `name`; each field added after it and marked with
    /// [`MessageDescriptor::in_oneof`] belongs to it (until the next `oneof`).
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Contact")
    ///     .unwrap()
    ///     .oneof("kind")
    ///     .scalar(1, "phone", Type::String, Cardinality::Implicit)
    ///     .in_oneof()
    ///     .scalar(2, "email", Type::String, Cardinality::Implicit)
    ///     .in_oneof()
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("  oneof kind {\n    string phone = 1;\n    string email = 2;\n  }"), "{source}");
    /// ```
    pub fn oneof(mut self, name: &str) -> Self {
        self.proto.oneof_decl.push(OneofDescriptorProto {
            name: Some(name.to_string()),
            ..Default::default()
        });
        self
    }

    /// Marks the last field added as a member of the last oneof started.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Contact")
    ///     .unwrap()
    ///     .oneof("kind")
    ///     .scalar(1, "phone", Type::String, Cardinality::Implicit)
    ///     .in_oneof()
    ///     .scalar(2, "note", Type::String, Cardinality::Implicit) // not in the oneof
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("    string phone = 1;\n  }\n  string note = 2;"), "{source}");
    /// ```
    pub fn in_oneof(mut self) -> Self {
        let index = self.proto.oneof_decl.len() as i32 - 1;
        if let Some(last) = self.proto.field.last_mut() {
            last.oneof_index = Some(index);
        }
        self
    }

    /// Documents the message.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors.message("demo.Ping").unwrap().doc("Liveness probe.").finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("// Liveness probe.\nmessage Ping {"), "{source}");
    /// ```
    pub fn doc(self, text: &str) -> Self {
        let name = self.full_name.clone();
        self.set.doc(&name, text);
        self
    }

    /// Documents field `name`.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// descriptors
    ///     .message("demo.Ping")
    ///     .unwrap()
    ///     .scalar(1, "id", Type::Int64, Cardinality::Implicit)
    ///     .field_doc("id", "Echoed back.")
    ///     .finish();
    /// let source = descriptors.proto_source("demo");
    /// assert!(source.contains("  // Echoed back.\n  int64 id = 1;"), "{source}");
    /// ```
    pub fn field_doc(self, name: &str, text: &str) -> Self {
        let key = format!("{}.{name}", self.full_name);
        self.set.doc(&key, text);
        self
    }

    /// Records the descriptor.
    ///
    /// ```
    /// use protocall::__private::reflect::{Cardinality, Descriptors};
    /// use protocall::types::field_descriptor_proto::Type;
    /// let mut descriptors = Descriptors::new();
    /// let message = descriptors.message("demo.Ping").unwrap();
    /// message.scalar(1, "id", Type::Int64, Cardinality::Implicit).finish();
    /// assert_eq!(descriptors.file_descriptor_set().file[0].message_type[0].field.len(), 1);
    /// ```
    pub fn finish(self) {
        // Synthetic oneofs must come after real ones: protoc's rule.
        let mut proto = self.proto;
        reorder_synthetic_oneofs(&mut proto);
        self.set.messages.insert(self.full_name, proto);
    }
}

fn reorder_synthetic_oneofs(proto: &mut DescriptorProto) {
    let synthetic: Vec<bool> = (0..proto.oneof_decl.len())
        .map(|i| {
            proto
                .field
                .iter()
                .any(|f| f.oneof_index == Some(i as i32) && f.proto3_optional())
        })
        .collect();
    let mut order: Vec<usize> = (0..proto.oneof_decl.len())
        .filter(|&i| !synthetic[i])
        .collect();
    order.extend((0..proto.oneof_decl.len()).filter(|&i| synthetic[i]));
    let new_index: BTreeMap<usize, i32> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as i32))
        .collect();
    let decls = std::mem::take(&mut proto.oneof_decl);
    proto.oneof_decl = order.iter().map(|&i| decls[i].clone()).collect();
    for field in &mut proto.field {
        if let Some(i) = field.oneof_index {
            field.oneof_index = Some(new_index[&(i as usize)]);
        }
    }
}

fn upper_camel(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}
