//! The descriptors generated code embeds (`FILE_DESCRIPTOR_SET`), in one
//! canonical form, so the build.rs path and the protoc plugin path embed
//! the same bytes whichever compiler (protox, protoc, buf) made them.

use protocall::Message as _;
use protocall::types::field_descriptor_proto::Type;
use protocall::types::{
    DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
};

/// The encoded set of `names` and everything they import, in the order of
/// `files` (which lists imports before importers). With `runtime_types`,
/// the well-known types' files are left out: generated code maps them to
/// `protocall::types`, whose own descriptors the runtime adds when it
/// builds the pool (so a compiler's bundled copy of `descriptor.proto`, a
/// newer or older one, never clashes with the runtime's).
pub(crate) fn embedded_set(
    files: &[FileDescriptorProto],
    names: &[&str],
    runtime_types: bool,
) -> Vec<u8> {
    let mut wanted: Vec<&str> = names.to_vec();
    let mut i = 0;
    while i < wanted.len() {
        if let Some(file) = files.iter().find(|f| f.name() == wanted[i]) {
            for dependency in &file.dependency {
                if !wanted.contains(&dependency.as_str()) {
                    wanted.push(dependency);
                }
            }
        }
        i += 1;
    }
    let enums = all_enums(files);
    let set = FileDescriptorSet {
        file: files
            .iter()
            .filter(|f| wanted.contains(&f.name()))
            .filter(|f| !(runtime_types && is_well_known(f)))
            .map(|f| canonical(f, &enums))
            .collect(),
        ..Default::default()
    };
    set.encode_to_vec()
}

/// The files `protocall::types` carries.
fn is_well_known(file: &FileDescriptorProto) -> bool {
    matches!(
        file.package(),
        "google.protobuf" | "google.protobuf.compiler"
    )
}

/// `.pkg.Enum` → its values, for enum defaults.
fn all_enums(files: &[FileDescriptorProto]) -> Vec<(String, &EnumDescriptorProto)> {
    fn walk<'a>(
        prefix: &str,
        message: &'a DescriptorProto,
        out: &mut Vec<(String, &'a EnumDescriptorProto)>,
    ) {
        let name = format!("{prefix}.{}", message.name());
        for e in &message.enum_type {
            out.push((format!("{name}.{}", e.name()), e));
        }
        for nested in &message.nested_type {
            walk(&name, nested, out);
        }
    }
    let mut out = Vec::new();
    for file in files {
        let prefix = if file.package().is_empty() {
            String::new()
        } else {
            format!(".{}", file.package())
        };
        for e in &file.enum_type {
            out.push((format!("{prefix}.{}", e.name()), e));
        }
        for message in &file.message_type {
            walk(&prefix, message, &mut out);
        }
    }
    out
}

/// The file without what differs between compilers and is not needed at
/// run time: source info (comments, spans), the file's own unknown fields
/// (`buf build` adds one), options messages that set nothing (protoc keeps
/// some), and enum defaults spelled by an alias (buf names the first value
/// of the number).
fn canonical(
    file: &FileDescriptorProto,
    enums: &[(String, &EnumDescriptorProto)],
) -> FileDescriptorProto {
    let mut file = FileDescriptorProto {
        source_code_info: None,
        _unknown_fields: Default::default(),
        ..file.clone()
    };
    drop_empty(&mut file.options);
    for message in &mut file.message_type {
        canonical_message(message, enums);
    }
    for e in &mut file.enum_type {
        canonical_enum(e);
    }
    for field in &mut file.extension {
        canonical_field(field, enums);
    }
    for service in &mut file.service {
        drop_empty(&mut service.options);
        for method in &mut service.method {
            drop_empty(&mut method.options);
        }
    }
    file
}

fn canonical_message(message: &mut DescriptorProto, enums: &[(String, &EnumDescriptorProto)]) {
    drop_empty(&mut message.options);
    for field in message.field.iter_mut().chain(message.extension.iter_mut()) {
        canonical_field(field, enums);
    }
    for oneof in &mut message.oneof_decl {
        drop_empty(&mut oneof.options);
    }
    for range in &mut message.extension_range {
        drop_empty(&mut range.options);
    }
    for nested in &mut message.nested_type {
        canonical_message(nested, enums);
    }
    for e in &mut message.enum_type {
        canonical_enum(e);
    }
}

fn canonical_enum(e: &mut EnumDescriptorProto) {
    drop_empty(&mut e.options);
    for value in &mut e.value {
        drop_empty(&mut value.options);
    }
}

fn canonical_field(
    field: &mut protocall::types::FieldDescriptorProto,
    enums: &[(String, &EnumDescriptorProto)],
) {
    drop_empty(&mut field.options);
    if field.r#type() != Type::Enum {
        return;
    }
    let (Some(default), Some((_, e))) = (
        field.default_value.as_mut(),
        enums
            .iter()
            .find(|(name, _)| name == field.type_name.as_deref().unwrap_or_default()),
    ) else {
        return;
    };
    let number = e
        .value
        .iter()
        .find(|v| v.name() == default.as_str())
        .map(|v| v.number());
    if let Some(first) = number.and_then(|n| e.value.iter().find(|v| v.number() == n)) {
        *default = first.name().to_string();
    }
}

fn drop_empty<T: Default + PartialEq>(options: &mut Option<T>) {
    if options.as_ref().is_some_and(|o| *o == T::default()) {
        *options = None;
    }
}
