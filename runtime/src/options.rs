//! Options as a schema declares them, read from generated code without a
//! descriptor pool.
//!
//! A generated package whose elements carry custom options (extensions of
//! the `google.protobuf.*Options` messages, such as a method's
//! `(google.api.http)`) has a `DECLARED_OPTIONS` constant: each such
//! element's options, found by the element's protobuf full name. It is
//! there with `Builder::descriptors(false)` too, and costs nothing until
//! read.
//!
//! ```
//! use protocall::Extendable;
//! # use protocall::{Extension, types::MethodOptions};
//! # use protocall::options::{DeclaredOptions, Element};
//! # const ROUTE: Extension<MethodOptions, protocall::__private::codec::Str, String> =
//! #     Extension::new(50001, "pkg.route");
//! # const DECLARED_OPTIONS: DeclaredOptions = DeclaredOptions::new(&[
//! #     (Element::Method, "pkg.Notes.Get", b"\x8a\xb5\x18\x0a/notes/get"),
//! # ]);
//! // DECLARED_OPTIONS and ROUTE come from the generated package:
//! //   extend google.protobuf.MethodOptions { optional string route = 50001; }
//! //   service Notes { rpc Get(…) returns (…) { option (route) = "/notes/get"; } }
//! let options = DECLARED_OPTIONS.method("pkg.Notes.Get").unwrap();
//! assert_eq!(options.extension(&ROUTE).unwrap().as_deref(), Some("/notes/get"));
//! // A server's path works too (what `protocall::extensions::GrpcMethod` holds).
//! assert!(DECLARED_OPTIONS.method("/pkg.Notes/Get").is_some());
//! assert!(DECLARED_OPTIONS.method("pkg.Notes.Put").is_none());
//! ```

use crate::Message;
use crate::types::{
    EnumOptions, EnumValueOptions, FieldOptions, FileOptions, MessageOptions, MethodOptions,
    OneofOptions, ServiceOptions,
};

/// The kind of element an entry of [`DeclaredOptions`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    /// A `.proto` file, named by its path (`api/notes.proto`).
    File,
    /// A message: `pkg.Outer.Inner`.
    Message,
    /// A field or an extension: `pkg.Message.field`, `pkg.extension`.
    Field,
    /// A oneof: `pkg.Message.choice`.
    Oneof,
    /// An enum: `pkg.Color`.
    Enum,
    /// An enum value, named as a sibling of its enum (protobuf's scoping):
    /// `pkg.RED` for `pkg.Color.RED`.
    EnumValue,
    /// A service: `pkg.Service`.
    Service,
    /// A method: `pkg.Service.Method`.
    Method,
}

/// The declared options of a generated package's elements (its
/// `DECLARED_OPTIONS`): each element whose options carry a custom option,
/// with all of its options, standard ones included.
#[derive(Clone, Copy, Debug)]
pub struct DeclaredOptions {
    entries: &'static [(Element, &'static str, &'static [u8])],
}

impl DeclaredOptions {
    /// The table generated code builds: (element, full name, encoded
    /// options) entries.
    pub const fn new(
        entries: &'static [(Element, &'static str, &'static [u8])],
    ) -> DeclaredOptions {
        DeclaredOptions { entries }
    }

    /// The elements listed, file by file in descriptor order: the file,
    /// its messages (each with its fields, oneofs and nested types), enums,
    /// extensions, services and methods.
    pub fn elements(&self) -> impl ExactSizeIterator<Item = (Element, &'static str)> + '_ {
        self.entries
            .iter()
            .map(|(element, name, _)| (*element, *name))
    }

    /// The options of the file at `path` (as the compiler named it).
    pub fn file(&self, path: &str) -> Option<FileOptions> {
        self.get(Element::File, path)
    }

    /// The options of the message `full_name`.
    pub fn message(&self, full_name: &str) -> Option<MessageOptions> {
        self.get(Element::Message, full_name)
    }

    /// The options of the field or extension `full_name`.
    pub fn field(&self, full_name: &str) -> Option<FieldOptions> {
        self.get(Element::Field, full_name)
    }

    /// The options of the oneof `full_name`.
    pub fn oneof(&self, full_name: &str) -> Option<OneofOptions> {
        self.get(Element::Oneof, full_name)
    }

    /// The options of the enum `full_name`.
    pub fn enumeration(&self, full_name: &str) -> Option<EnumOptions> {
        self.get(Element::Enum, full_name)
    }

    /// The options of the enum value `full_name` (`pkg.RED`; see
    /// [`Element::EnumValue`]).
    pub fn enum_value(&self, full_name: &str) -> Option<EnumValueOptions> {
        self.get(Element::EnumValue, full_name)
    }

    /// The options of the service `full_name`.
    pub fn service(&self, full_name: &str) -> Option<ServiceOptions> {
        self.get(Element::Service, full_name)
    }

    /// The options of a method, by full name (`pkg.Service.Method`) or by
    /// the path gRPC calls it at (`/pkg.Service/Method`).
    pub fn method(&self, name: &str) -> Option<MethodOptions> {
        let path = name.strip_prefix('/').and_then(|p| p.split_once('/'));
        match path {
            // A method's name is one identifier: no dots, no slashes.
            Some((_, method)) if method.contains(['.', '/']) => None,
            Some((service, method)) => self.find(Element::Method, |n| {
                n.strip_suffix(method)
                    .and_then(|s| s.strip_suffix('.'))
                    .is_some_and(|s| s == service)
            }),
            None => self.get(Element::Method, name),
        }
    }

    fn get<O: Message>(&self, element: Element, name: &str) -> Option<O> {
        self.find(element, |n| n == name)
    }

    fn find<O: Message>(&self, element: Element, matches: impl Fn(&str) -> bool) -> Option<O> {
        let (_, _, encoded) = self
            .entries
            .iter()
            .find(|(e, n, _)| *e == element && matches(n))?;
        // The generator encoded these bytes from this very type (the
        // generated file names the runtime version it was made for).
        O::decode(*encoded).ok()
    }
}
