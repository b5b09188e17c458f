//! Descriptors → model: names, resolved types and paths, presence and
//! encoding from syntax, editions features and options, comments.

use std::collections::{BTreeMap, HashMap, HashSet};

use protocall::types::field_descriptor_proto::{Label as ProtoLabel, Type as ProtoType};
use protocall::types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto, SourceCodeInfo,
};
use protocall_codegen_core::model::{
    Enum, EnumRef, EnumValue, Field, Kind, Label, Message, Method, Oneof, Package, Scalar, Service,
};
use protocall_codegen_core::{doc, names};

use crate::Error;
use crate::config::Config;
use crate::features::{Features, Presence};

/// What the model needs to know of every type in the set.
struct TypeInfo<'a> {
    /// Rust module segments (package, then enclosing messages) and name.
    modules: Vec<String>,
    rust_name: String,
    /// Set when the type lives outside the generated code.
    extern_path: Option<String>,
    message: Option<&'a DescriptorProto>,
    enumeration: Option<&'a EnumDescriptorProto>,
    /// Options of the enclosing messages, innermost last (for features).
    closed: bool,
}

/// Builds the packages for `files_to_generate` out of `files` (which must
/// include all their imports).
pub(crate) fn build(
    files: &[FileDescriptorProto],
    files_to_generate: &[String],
    config: &Config,
) -> Result<Vec<Package>, Error> {
    let builder = Builder::new(files, config);
    let mut packages: BTreeMap<String, Package> = BTreeMap::new();
    for name in files_to_generate {
        let file = files
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::new(format!("file `{name}` is not in the descriptor set")))?;
        if builder
            .extern_path_for(&format!(".{}", file.package()))
            .is_some()
        {
            continue;
        }
        let package = packages
            .entry(file.package().to_string())
            .or_insert_with(|| Package {
                name: file.package().to_string(),
                messages: Vec::new(),
                enums: Vec::new(),
                services: Vec::new(),
            });
        builder.add_file(file, package)?;
    }
    Ok(packages.into_values().collect())
}

struct Builder<'a> {
    config: &'a Config,
    types: HashMap<String, TypeInfo<'a>>,
    /// Edges of singular message fields, for deciding what to box.
    edges: HashMap<String, Vec<String>>,
}

/// Source locations by path, for comments, and the file they are in.
struct Comments<'a> {
    file: &'a str,
    locations: HashMap<Vec<i32>, &'a protocall::types::source_code_info::Location>,
    enabled: bool,
}

impl<'a> Comments<'a> {
    fn new(file: &'a str, info: Option<&'a SourceCodeInfo>, enabled: bool) -> Comments<'a> {
        let locations = info
            .map(|info| info.location.iter().map(|l| (l.path.clone(), l)).collect())
            .unwrap_or_default();
        Comments {
            file,
            locations,
            enabled,
        }
    }

    fn doc(&self, path: &[i32]) -> Vec<String> {
        if !self.enabled {
            return Vec::new();
        }
        let Some(location) = self.locations.get(path) else {
            return Vec::new();
        };
        let mut text = String::new();
        if let Some(leading) = &location.leading_comments {
            text.push_str(leading);
        }
        if let Some(trailing) = &location.trailing_comments {
            if !text.is_empty() && !text.ends_with("\n\n") {
                text.push('\n');
            }
            text.push_str(trailing);
        }
        doc::sanitize(&text)
    }
}

impl<'a> Builder<'a> {
    fn new(files: &'a [FileDescriptorProto], config: &'a Config) -> Builder<'a> {
        let mut builder = Builder {
            config,
            types: HashMap::new(),
            edges: HashMap::new(),
        };
        for file in files {
            let package_modules: Vec<String> = if file.package().is_empty() {
                Vec::new()
            } else {
                file.package().split('.').map(names::snake).collect()
            };
            let prefix = if file.package().is_empty() {
                String::new()
            } else {
                format!(".{}", file.package())
            };
            let features = Features::of_file(file);
            for message in &file.message_type {
                builder.index_message(&prefix, &package_modules, message, features);
            }
            for enumeration in &file.enum_type {
                builder.index_enum(&prefix, &package_modules, enumeration, features);
            }
        }
        builder
    }

    fn extern_path_for(&self, full_name: &str) -> Option<String> {
        // The longest matching prefix wins.
        let (proto, rust) = self
            .config
            .extern_paths()
            .filter(|(proto, _)| {
                full_name == *proto
                    || (full_name.starts_with(proto) && full_name.as_bytes()[proto.len()] == b'.')
                    || *proto == "."
            })
            .max_by_key(|(proto, _)| proto.len())?;
        let rest = full_name[proto.len()..].trim_start_matches('.');
        if rest.is_empty() {
            return Some(rust.to_string());
        }
        let segments: Vec<&str> = rest.split('.').collect();
        let mut path = rust.to_string();
        // Nested types live in the snake_case module of their parent.
        for (i, segment) in segments.iter().enumerate() {
            path.push_str("::");
            if i + 1 == segments.len() {
                path.push_str(&names::camel(segment));
            } else {
                path.push_str(&names::snake(segment));
            }
        }
        Some(path)
    }

    fn index_message(
        &mut self,
        prefix: &str,
        modules: &[String],
        message: &'a DescriptorProto,
        parent: Features,
    ) {
        let full_name = format!("{prefix}.{}", message.name());
        let extern_path = self.extern_path_for(&full_name);
        let mut nested_modules = modules.to_vec();
        nested_modules.push(names::snake(message.name()));
        let features = parent.with(message.options.as_ref().and_then(|o| o.features.as_ref()));
        for nested in &message.nested_type {
            self.index_message(&full_name, &nested_modules, nested, features);
        }
        for nested in &message.enum_type {
            self.index_enum(&full_name, &nested_modules, nested, features);
        }
        let edges = message
            .field
            .iter()
            .filter(|f| f.label() != ProtoLabel::Repeated)
            .filter(|f| matches!(f.r#type(), ProtoType::Message | ProtoType::Group))
            .map(|f| f.type_name().to_string())
            .collect();
        self.edges.insert(full_name.clone(), edges);
        self.types.insert(
            full_name,
            TypeInfo {
                modules: modules.to_vec(),
                rust_name: names::camel(message.name()),
                extern_path,
                message: Some(message),
                enumeration: None,
                closed: false,
            },
        );
    }

    fn index_enum(
        &mut self,
        prefix: &str,
        modules: &[String],
        enumeration: &'a EnumDescriptorProto,
        parent: Features,
    ) {
        let full_name = format!("{prefix}.{}", enumeration.name());
        let extern_path = self.extern_path_for(&full_name);
        let closed = parent
            .with(
                enumeration
                    .options
                    .as_ref()
                    .and_then(|o| o.features.as_ref()),
            )
            .closed_enums;
        self.types.insert(
            full_name,
            TypeInfo {
                modules: modules.to_vec(),
                rust_name: names::camel(enumeration.name()),
                extern_path,
                message: None,
                enumeration: Some(enumeration),
                closed,
            },
        );
    }

    /// The Rust path of type `full_name` as seen from module `from`.
    fn path(&self, full_name: &str, from: &[String]) -> Result<String, Error> {
        let info = self
            .types
            .get(full_name)
            .ok_or_else(|| Error::new(format!("unknown type `{full_name}`")))?;
        if let Some(path) = &info.extern_path {
            return Ok(path.clone());
        }
        let common = from
            .iter()
            .zip(&info.modules)
            .take_while(|(a, b)| a == b)
            .count();
        let mut path = String::new();
        for _ in common..from.len() {
            path.push_str("super::");
        }
        for module in &info.modules[common..] {
            path.push_str(module);
            path.push_str("::");
        }
        path.push_str(&info.rust_name);
        Ok(path)
    }

    /// True when a singular field of type `target` inside `container` closes
    /// a cycle of singular message fields.
    fn needs_box(&self, container: &str, target: &str) -> bool {
        let mut seen = HashSet::new();
        let mut stack = vec![target];
        while let Some(name) = stack.pop() {
            if name == container {
                return true;
            }
            if seen.insert(name) {
                if let Some(next) = self.edges.get(name) {
                    stack.extend(next.iter().map(String::as_str));
                }
            }
        }
        false
    }

    fn add_file(&self, file: &'a FileDescriptorProto, package: &mut Package) -> Result<(), Error> {
        let comments = Comments::new(file.name(), file.source_code_info.as_ref(), true);
        let features = Features::of_file(file);
        let prefix = if file.package().is_empty() {
            String::new()
        } else {
            format!(".{}", file.package())
        };
        let modules: Vec<String> = if file.package().is_empty() {
            Vec::new()
        } else {
            file.package().split('.').map(names::snake).collect()
        };
        for (i, message) in file.message_type.iter().enumerate() {
            if is_map_entry(message) {
                continue;
            }
            let path = vec![4, i as i32];
            package
                .messages
                .push(self.message(features, &comments, &prefix, &modules, message, path)?);
        }
        for (i, enumeration) in file.enum_type.iter().enumerate() {
            package.enums.push(self.enumeration(
                &comments,
                &prefix,
                enumeration,
                vec![5, i as i32],
            ));
        }
        for (i, service) in file.service.iter().enumerate() {
            package
                .services
                .push(self.service(&comments, &prefix, &modules, service, i)?);
        }
        Ok(())
    }

    fn message(
        &self,
        parent: Features,
        comments: &Comments<'_>,
        prefix: &str,
        modules: &[String],
        message: &'a DescriptorProto,
        path: Vec<i32>,
    ) -> Result<Message, Error> {
        let full_name = format!("{prefix}.{}", message.name());
        let comments_on = !self.config.disable_comments.any(&full_name);
        let features = parent.with(message.options.as_ref().and_then(|o| o.features.as_ref()));
        let module = names::snake(message.name());
        let mut inner_modules = modules.to_vec();
        inner_modules.push(module.clone());

        let mut messages = Vec::new();
        for (i, nested) in message.nested_type.iter().enumerate() {
            if is_map_entry(nested) {
                continue;
            }
            let mut nested_path = path.clone();
            nested_path.extend([3, i as i32]);
            messages.push(self.message(
                features,
                comments,
                &full_name,
                &inner_modules,
                nested,
                nested_path,
            )?);
        }
        let mut enums = Vec::new();
        for (i, nested) in message.enum_type.iter().enumerate() {
            let mut nested_path = path.clone();
            nested_path.extend([4, i as i32]);
            enums.push(self.enumeration(comments, &full_name, nested, nested_path));
        }

        let mut fields = Vec::new();
        let mut oneofs: Vec<Oneof> = Vec::new();
        let mut oneof_slots: HashMap<i32, usize> = HashMap::new();
        for (i, field) in message.field.iter().enumerate() {
            let mut field_path = path.clone();
            field_path.extend([2, i as i32]);
            let doc = if comments_on {
                comments.doc(&field_path)
            } else {
                Vec::new()
            };
            let real_oneof = field.oneof_index.filter(|_| !field.proto3_optional());
            let from = if real_oneof.is_some() {
                &inner_modules
            } else {
                modules
            };
            // A oneof's own `features` option applies to its members.
            let scope = match real_oneof {
                Some(index) => features.with(
                    message
                        .oneof_decl
                        .get(index as usize)
                        .and_then(|o| o.options.as_ref())
                        .and_then(|o| o.features.as_ref()),
                ),
                None => features,
            };
            let mut built = self.field(scope, &full_name, from, field, doc)?;
            if real_oneof.is_some() {
                // Oneof members are enum variants.
                built.rust_name = names::camel(field.name());
            }
            match real_oneof {
                None => fields.push(built),
                Some(index) => {
                    let slot = *oneof_slots.entry(index).or_insert_with(|| {
                        let decl = &message.oneof_decl[index as usize];
                        let mut oneof_path = path.clone();
                        oneof_path.extend([8, index]);
                        oneofs.push(Oneof {
                            name: decl.name().to_string(),
                            path: String::new(),
                            rust_name: names::snake(decl.name()),
                            enum_name: names::camel(decl.name()),
                            fields: Vec::new(),
                            doc: if comments_on {
                                comments.doc(&oneof_path)
                            } else {
                                Vec::new()
                            },
                        });
                        oneofs.len() - 1
                    });
                    oneofs[slot].fields.push(built);
                }
            }
        }
        // A oneof enum must not collide with a nested type in the same module.
        let taken: HashSet<String> = messages
            .iter()
            .map(|m| m.rust_name.clone())
            .chain(enums.iter().map(|e| e.rust_name.clone()))
            .collect();
        for oneof in &mut oneofs {
            if taken.contains(&oneof.enum_name) {
                oneof.enum_name.push_str("Oneof");
            }
            oneof.path = format!("{module}::{}", oneof.enum_name);
        }

        let mut attributes: Vec<String> = self
            .config
            .type_attributes
            .matches(&full_name)
            .cloned()
            .collect();
        attributes.extend(self.config.message_attributes.matches(&full_name).cloned());
        Ok(Message {
            full_name: full_name.trim_start_matches('.').to_string(),
            rust_name: names::camel(message.name()),
            module,
            fields,
            oneofs,
            messages,
            enums,
            doc: if comments_on {
                comments.doc(&path)
            } else {
                Vec::new()
            },
            deprecated: message.options.as_ref().is_some_and(|o| o.deprecated()),
            keep_unknown: !self.config.discard_unknown_fields.any(&full_name),
            attributes,
            describe: false,
            file: comments.file.to_string(),
        })
    }

    fn field(
        &self,
        scope: Features,
        message_name: &str,
        from: &[String],
        field: &FieldDescriptorProto,
        doc: Vec<String>,
    ) -> Result<Field, Error> {
        let field_name = format!("{message_name}.{}", field.name());
        let features = scope.with(field.options.as_ref().and_then(|o| o.features.as_ref()));
        let kind = self.kind(field, &field_name, from)?;
        let kind = match kind {
            // `map<K, V>` is a repeated field of a synthetic entry message.
            Kind::Message { .. } if field.label() == ProtoLabel::Repeated => {
                match self.map_entry(field.type_name()) {
                    Some(entry) => {
                        let key = self.kind(&entry.field[0], &field_name, from)?;
                        let value = self.kind(&entry.field[1], &field_name, from)?;
                        // Keys stay `String` (bytes cannot be map keys in
                        // proto); unchecked values are raw bytes.
                        let value = self.unchecked_string(value, features, &field_name);
                        let btree = self.config.btree_map.any(&field_name);
                        Kind::Map {
                            key: Box::new(key),
                            value: Box::new(value),
                            btree,
                        }
                    }
                    // A repeated delimited field is a repeated group.
                    None => match kind {
                        Kind::Message { path } if features.delimited => Kind::Group { path },
                        other => other,
                    },
                }
            }
            // Editions spell groups as delimited message fields.
            Kind::Message { path } if features.delimited => Kind::Group { path },
            other => self.unchecked_string(other, features, &field_name),
        };
        let default = match (&kind, field.r#type()) {
            // A string default read as bytes: its backslashes are literal.
            (Kind::Bytes { .. }, ProtoType::String) => field
                .default_value
                .as_ref()
                .map(|d| d.replace('\\', "\\\\")),
            _ => field.default_value.clone(),
        };
        let label = label(features, field, &kind);
        let boxed = matches!(kind, Kind::Message { .. } | Kind::Group { .. })
            && !matches!(label, Label::Repeated { .. })
            && self.needs_box(message_name, field.type_name());
        let attributes = self
            .config
            .field_attributes
            .matches(&field_name)
            .cloned()
            .collect();
        Ok(Field {
            name: field.name().to_string(),
            rust_name: names::snake(field.name()),
            number: field.number() as u32,
            kind,
            label,
            boxed,
            default,
            doc,
            deprecated: field.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes,
        })
    }

    /// A `string` without UTF-8 checking (`utf8_validation = NONE`) holds
    /// raw bytes: `Vec<u8>`, or `Bytes` where the `bytes` option says so.
    fn unchecked_string(&self, kind: Kind, features: Features, field_name: &str) -> Kind {
        match kind {
            Kind::String if !features.verify_utf8 => Kind::Bytes {
                shared: self.config.bytes.any(field_name),
            },
            other => other,
        }
    }

    fn map_entry(&self, type_name: &str) -> Option<&'a DescriptorProto> {
        self.types
            .get(type_name)?
            .message
            .filter(|m| is_map_entry(m))
    }

    fn kind(
        &self,
        field: &FieldDescriptorProto,
        field_name: &str,
        from: &[String],
    ) -> Result<Kind, Error> {
        Ok(match field.r#type() {
            ProtoType::Double => Kind::Scalar(Scalar::Double),
            ProtoType::Float => Kind::Scalar(Scalar::Float),
            ProtoType::Int64 => Kind::Scalar(Scalar::Int64),
            ProtoType::Uint64 => Kind::Scalar(Scalar::Uint64),
            ProtoType::Int32 => Kind::Scalar(Scalar::Int32),
            ProtoType::Fixed64 => Kind::Scalar(Scalar::Fixed64),
            ProtoType::Fixed32 => Kind::Scalar(Scalar::Fixed32),
            ProtoType::Bool => Kind::Scalar(Scalar::Bool),
            ProtoType::Uint32 => Kind::Scalar(Scalar::Uint32),
            ProtoType::Sfixed32 => Kind::Scalar(Scalar::Sfixed32),
            ProtoType::Sfixed64 => Kind::Scalar(Scalar::Sfixed64),
            ProtoType::Sint32 => Kind::Scalar(Scalar::Sint32),
            ProtoType::Sint64 => Kind::Scalar(Scalar::Sint64),
            ProtoType::String => Kind::String,
            ProtoType::Bytes => Kind::Bytes {
                shared: self.config.bytes.any(field_name),
            },
            ProtoType::Message => Kind::Message {
                path: self.path(field.type_name(), from)?,
            },
            ProtoType::Group => Kind::Group {
                path: self.path(field.type_name(), from)?,
            },
            ProtoType::Enum => {
                let info = self
                    .types
                    .get(field.type_name())
                    .ok_or_else(|| Error::new(format!("unknown enum `{}`", field.type_name())))?;
                let enumeration = info
                    .enumeration
                    .ok_or_else(|| Error::new(format!("`{}` is not an enum", field.type_name())))?;
                let (variants, first) = variant_names(enumeration);
                Kind::Enum(EnumRef {
                    path: self.path(field.type_name(), from)?,
                    closed: info.closed,
                    variants,
                    first,
                })
            }
        })
    }

    fn enumeration(
        &self,
        comments: &Comments<'_>,
        prefix: &str,
        enumeration: &EnumDescriptorProto,
        path: Vec<i32>,
    ) -> Enum {
        let full_name = format!("{prefix}.{}", enumeration.name());
        let comments_on = !self.config.disable_comments.any(&full_name);
        let proto_names: Vec<&str> = enumeration.value.iter().map(|v| v.name()).collect();
        let rust_names = names::enum_variants(enumeration.name(), &proto_names);
        let mut values: Vec<EnumValue> = Vec::new();
        let mut aliases = Vec::new();
        for (i, (value, rust_name)) in enumeration.value.iter().zip(rust_names).enumerate() {
            if let Some(first) = values.iter().find(|v| v.number == value.number()) {
                aliases.push((
                    alias_const(&rust_name),
                    value.name().to_string(),
                    first.rust_name.clone(),
                ));
                continue;
            }
            let mut value_path = path.clone();
            value_path.extend([2, i as i32]);
            values.push(EnumValue {
                proto_name: value.name().to_string(),
                rust_name,
                number: value.number(),
                doc: if comments_on {
                    comments.doc(&value_path)
                } else {
                    Vec::new()
                },
                deprecated: value.options.as_ref().is_some_and(|o| o.deprecated()),
            });
        }
        let mut attributes: Vec<String> = self
            .config
            .type_attributes
            .matches(&full_name)
            .cloned()
            .collect();
        attributes.extend(self.config.enum_attributes.matches(&full_name).cloned());
        Enum {
            full_name: full_name.trim_start_matches('.').to_string(),
            file: comments.file.to_string(),
            rust_name: names::camel(enumeration.name()),
            values,
            aliases,
            doc: if comments_on {
                comments.doc(&path)
            } else {
                Vec::new()
            },
            deprecated: enumeration.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes,
        }
    }

    fn service(
        &self,
        comments: &Comments<'_>,
        prefix: &str,
        modules: &[String],
        service: &ServiceDescriptorProto,
        index: usize,
    ) -> Result<Service, Error> {
        let full_name = format!("{prefix}.{}", service.name());
        let comments_on = !self.config.disable_comments.any(&full_name);
        // Service code lives in `<service>_server` / `<service>_client` modules.
        let mut from = modules.to_vec();
        from.push(String::new());
        let mut methods = Vec::new();
        for (i, method) in service.method.iter().enumerate() {
            let path = [6, index as i32, 2, i as i32];
            methods.push(Method {
                name: method.name().to_string(),
                rust_name: names::snake(method.name()),
                input: self.path(method.input_type(), &from)?,
                output: self.path(method.output_type(), &from)?,
                client_streaming: method.client_streaming(),
                server_streaming: method.server_streaming(),
                doc: if comments_on {
                    comments.doc(&path)
                } else {
                    Vec::new()
                },
                deprecated: method.options.as_ref().is_some_and(|o| o.deprecated()),
            });
        }
        Ok(Service {
            name: service.name().to_string(),
            full_name: full_name.trim_start_matches('.').to_string(),
            rust_name: names::camel(service.name()),
            methods,
            doc: if comments_on {
                comments.doc(&[6, index as i32])
            } else {
                Vec::new()
            },
            deprecated: service.options.as_ref().is_some_and(|o| o.deprecated()),
        })
    }
}

/// Name of the associated constant for an alias value: its variant-style
/// name (prefix stripped) in SHOUTY_CASE, `ALIASED_UNO` → `UNO`.
fn alias_const(rust_name: &str) -> String {
    use heck::ToShoutySnakeCase;
    names::escape(&names::unraw(rust_name).to_shouty_snake_case())
}

/// proto name → Rust name for every value, and the first value's name.
fn variant_names(enumeration: &EnumDescriptorProto) -> (BTreeMap<String, String>, String) {
    let proto_names: Vec<&str> = enumeration.value.iter().map(|v| v.name()).collect();
    let rust_names = names::enum_variants(enumeration.name(), &proto_names);
    let mut numbers: HashMap<i32, String> = HashMap::new();
    let mut map = BTreeMap::new();
    for (value, rust) in enumeration.value.iter().zip(&rust_names) {
        // Aliases resolve to the variant that owns their number.
        let owner = numbers
            .entry(value.number())
            .or_insert_with(|| rust.clone())
            .clone();
        map.insert(value.name().to_string(), owner);
    }
    (map, rust_names.first().cloned().unwrap_or_default())
}

fn is_map_entry(message: &DescriptorProto) -> bool {
    message.options.as_ref().is_some_and(|o| o.map_entry())
}

/// Cardinality and presence of a field under its resolved features.
fn label(features: Features, field: &FieldDescriptorProto, kind: &Kind) -> Label {
    let message_like = matches!(kind, Kind::Message { .. } | Kind::Group { .. });
    match field.label() {
        ProtoLabel::Repeated => {
            let packable = matches!(kind, Kind::Scalar(_) | Kind::Enum(_));
            // The proto2/proto3 `packed` option wins over the default.
            let declared = field.options.as_ref().and_then(|o| o.packed);
            Label::Repeated {
                packed: packable && declared.unwrap_or(features.packed),
            }
        }
        // Required messages are stored like optional ones (`Option<M>`).
        ProtoLabel::Required if message_like => Label::Optional,
        ProtoLabel::Required => Label::Required,
        ProtoLabel::Optional => {
            if message_like || field.proto3_optional() || field.oneof_index.is_some() {
                return Label::Optional;
            }
            match features.presence {
                Presence::Explicit => Label::Optional,
                Presence::Implicit => Label::Implicit,
                Presence::LegacyRequired => Label::Required,
            }
        }
    }
}
