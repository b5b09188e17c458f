//! The options generated code carries as `DECLARED_OPTIONS`: every element
//! of a file whose options hold a custom option (an extension of a
//! `google.protobuf.*Options` message), so code reads them without a
//! descriptor pool.

use proc_macro2::{Ident, Span};
use protocall::Message;
use protocall::types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};
use protocall_codegen_core::model::DeclaredOptions;

/// The declared options of `file`'s elements, in descriptor order.
pub(crate) fn declared(file: &FileDescriptorProto) -> Vec<DeclaredOptions> {
    let mut out = Out(Vec::new());
    out.push("File", file.name(), file.options.as_ref());
    let package = file.package();
    for message in &file.message_type {
        out.message(package, message);
    }
    for e in &file.enum_type {
        out.enumeration(package, e);
    }
    out.fields(package, &file.extension);
    for service in &file.service {
        let name = join(package, service.name());
        out.push("Service", &name, service.options.as_ref());
        for method in &service.method {
            out.push(
                "Method",
                &join(&name, method.name()),
                method.options.as_ref(),
            );
        }
    }
    out.0
}

struct Out(Vec<DeclaredOptions>);

impl Out {
    /// Records `options` of element `name` when they hold a custom option:
    /// extensions are what the runtime's options types keep as unknown
    /// fields.
    fn push<O: Message + HasUnknown>(&mut self, element: &str, name: &str, options: Option<&O>) {
        let Some(options) = options.filter(|o| o.has_unknown()) else {
            return;
        };
        self.0.push(DeclaredOptions {
            element: Ident::new(element, Span::call_site()),
            name: name.to_string(),
            encoded: options.encode_to_vec(),
        });
    }

    fn message(&mut self, scope: &str, message: &DescriptorProto) {
        let name = join(scope, message.name());
        self.push("Message", &name, message.options.as_ref());
        self.fields(&name, &message.field);
        for oneof in &message.oneof_decl {
            self.push("Oneof", &join(&name, oneof.name()), oneof.options.as_ref());
        }
        for nested in &message.nested_type {
            self.message(&name, nested);
        }
        for e in &message.enum_type {
            self.enumeration(&name, e);
        }
        self.fields(&name, &message.extension);
    }

    fn fields(&mut self, scope: &str, fields: &[FieldDescriptorProto]) {
        for field in fields {
            self.push("Field", &join(scope, field.name()), field.options.as_ref());
        }
    }

    fn enumeration(&mut self, scope: &str, e: &EnumDescriptorProto) {
        self.push("Enum", &join(scope, e.name()), e.options.as_ref());
        // Enum values are named as siblings of their enum (protobuf's
        // C++-style scoping): `pkg.RED`, not `pkg.Color.RED`.
        for value in &e.value {
            self.push(
                "EnumValue",
                &join(scope, value.name()),
                value.options.as_ref(),
            );
        }
    }
}

fn join(scope: &str, name: &str) -> String {
    if scope.is_empty() {
        name.to_string()
    } else {
        format!("{scope}.{name}")
    }
}

/// The options messages, which keep extensions among their unknown fields.
trait HasUnknown {
    fn has_unknown(&self) -> bool;
}

macro_rules! has_unknown {
    ($($ty:ident)*) => {$(
        impl HasUnknown for protocall::types::$ty {
            fn has_unknown(&self) -> bool {
                !self._unknown_fields.is_empty()
            }
        }
    )*};
}

has_unknown!(FileOptions MessageOptions FieldOptions OneofOptions EnumOptions EnumValueOptions ServiceOptions MethodOptions);
