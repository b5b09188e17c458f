//! Descriptors → model: names, resolved types and paths, presence and
//! encoding from syntax, editions features and options, comments.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span};
use protocall::types::field_descriptor_proto::{Label as ProtoLabel, Type as ProtoType};
use protocall::types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto, SourceCodeInfo,
};
use protocall_codegen_core::model::{
    DefaultValue, Enum, EnumAlias, EnumRef, EnumValue, Field, Kind, Label, Message, Method, Oneof,
    Package, Scalar, Service,
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
    extern_path: Option<syn::Path>,
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
    let builder = Builder::new(files, config)?;
    let mut packages: std::collections::BTreeMap<String, Package> = Default::default();
    for name in files_to_generate {
        let file = files
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| Error::new(format!("file `{name}` is not in the descriptor set")))?;
        if builder
            .extern_path_for(&format!(".{}", file.package()))?
            .is_some()
        {
            continue;
        }
        let package = match packages.entry(file.package().to_string()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => entry.insert(Package {
                name: file.package().to_string(),
                modules: package_modules(file.package())
                    .iter()
                    .map(|m| {
                        rust_ident(m, || {
                            format!("{}: package `{}`", file.name(), file.package())
                        })
                    })
                    .collect::<Result<_, _>>()?,
                messages: Vec::new(),
                enums: Vec::new(),
                services: Vec::new(),
                file_descriptor_set: None,
                extensions: Vec::new(),
                declared_options: Vec::new(),
            }),
        };
        builder.add_file(file, package)?;
        package
            .declared_options
            .extend(crate::options::declared(file));
    }
    let mut packages: Vec<Package> = packages.into_values().collect();
    let sharing = builder.sharing.into_inner().closure();
    for package in &mut packages {
        mark_shares_bytes(&mut package.messages, &sharing);
        if config.descriptors {
            let names: Vec<&str> = files_to_generate
                .iter()
                .filter(|name| {
                    files
                        .iter()
                        .any(|f| f.name() == *name && f.package() == package.name)
                })
                .map(String::as_str)
                .collect();
            package.file_descriptor_set = Some(crate::embed::embedded_set(
                files,
                &names,
                config.builtin_well_known_types,
            ));
            let reflect = protocall_codegen_core::model::Reflect {
                depth: 0,
                json: config.json,
                json_feature: config.json_feature,
                special_json: false,
            };
            mark_reflect(&mut package.messages, reflect);
            for e in &mut package.enums {
                e.descriptor_depth = Some(0);
            }
        }
    }
    Ok(packages)
}

fn mark_reflect(messages: &mut [Message], reflect: protocall_codegen_core::model::Reflect) {
    for message in messages {
        message.reflect = Some(protocall_codegen_core::model::Reflect {
            special_json: protocall::__private::has_special_json(&message.full_name),
            ..reflect
        });
        let nested = protocall_codegen_core::model::Reflect {
            depth: reflect.depth + 1,
            ..reflect
        };
        for e in &mut message.enums {
            e.descriptor_depth = Some(nested.depth);
        }
        mark_reflect(&mut message.messages, nested);
    }
}

/// An identifier for a name the model needs, or an error saying whose
/// name it is.
fn rust_ident(name: &str, whose: impl FnOnce() -> String) -> Result<Ident, Error> {
    names::ident(name).map_err(|e| Error::new(format!("{}: {e}", whose())))
}

/// The Rust modules of a proto package: `foo.v1` → `foo`, `v1`.
fn package_modules(package: &str) -> Vec<String> {
    if package.is_empty() {
        Vec::new()
    } else {
        package.split('.').map(names::snake).collect()
    }
}

/// Which generated messages hold shared `Bytes`, directly or through the
/// messages they contain (`Message::SHARES_BYTES`).
#[derive(Default)]
struct Sharing {
    /// `.pkg.Msg` → (has a `Bytes` field itself, the messages its fields hold).
    messages: HashMap<String, (bool, Vec<String>)>,
}

impl Sharing {
    /// Every message that shares bytes, through any depth of containment;
    /// cycles (recursive messages) end the walk like any visited node.
    fn closure(self) -> HashSet<String> {
        let mut holders: HashMap<&str, Vec<&str>> = HashMap::new();
        for (name, (_, contained)) in &self.messages {
            for inner in contained {
                holders
                    .entry(inner.as_str())
                    .or_default()
                    .push(name.as_str());
            }
        }
        let mut shares: HashSet<String> = HashSet::new();
        let mut stack: Vec<&str> = self
            .messages
            .iter()
            .filter(|(_, (direct, _))| *direct)
            .map(|(name, _)| name.as_str())
            .collect();
        while let Some(name) = stack.pop() {
            if shares.insert(name.to_string()) {
                stack.extend(holders.get(name).into_iter().flatten().copied());
            }
        }
        shares
    }
}

fn mark_shares_bytes(messages: &mut [Message], sharing: &HashSet<String>) {
    for message in messages {
        message.shares_bytes = sharing.contains(&format!(".{}", message.full_name));
        mark_shares_bytes(&mut message.messages, sharing);
    }
}

struct Builder<'a> {
    config: &'a Config,
    types: HashMap<String, TypeInfo<'a>>,
    /// Edges of singular message fields, for deciding what to box.
    edges: HashMap<String, Vec<String>>,
    /// What each generated message holds, for `SHARES_BYTES`.
    sharing: RefCell<Sharing>,
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
    fn new(files: &'a [FileDescriptorProto], config: &'a Config) -> Result<Builder<'a>, Error> {
        let mut builder = Builder {
            config,
            types: HashMap::new(),
            edges: HashMap::new(),
            sharing: RefCell::default(),
        };
        for file in files {
            let package_modules = package_modules(file.package());
            let prefix = if file.package().is_empty() {
                String::new()
            } else {
                format!(".{}", file.package())
            };
            let features = Features::of_file(file);
            for message in &file.message_type {
                builder.index_message(&prefix, &package_modules, message, features)?;
            }
            for enumeration in &file.enum_type {
                builder.index_enum(&prefix, &package_modules, enumeration, features)?;
            }
        }
        Ok(builder)
    }

    fn extern_path_for(&self, full_name: &str) -> Result<Option<syn::Path>, Error> {
        // The longest matching prefix wins.
        let Some((proto, rust)) = self
            .config
            .extern_paths()
            .filter(|(proto, _)| {
                full_name == *proto
                    || (full_name.starts_with(proto) && full_name.as_bytes()[proto.len()] == b'.')
                    || *proto == "."
            })
            .max_by_key(|(proto, _)| proto.len())
        else {
            return Ok(None);
        };
        let mut path = crate::config::parse_extern_path(proto, rust)?;
        let rest = full_name[proto.len()..].trim_start_matches('.');
        if rest.is_empty() {
            return Ok(Some(path));
        }
        let segments: Vec<&str> = rest.split('.').collect();
        // Nested types live in the snake_case module of their parent.
        for (i, segment) in segments.iter().enumerate() {
            let name = if i + 1 == segments.len() {
                names::camel(segment)
            } else {
                names::snake(segment)
            };
            let segment = rust_ident(&name, || {
                format!("`{full_name}` (under `extern_path(\"{proto}\", \"{rust}\")`)")
            })?;
            path.segments.push(syn::PathSegment::from(segment));
        }
        Ok(Some(path))
    }

    fn index_message(
        &mut self,
        prefix: &str,
        modules: &[String],
        message: &'a DescriptorProto,
        parent: Features,
    ) -> Result<(), Error> {
        let full_name = format!("{prefix}.{}", message.name());
        let extern_path = self.extern_path_for(&full_name)?;
        let mut nested_modules = modules.to_vec();
        nested_modules.push(names::snake(message.name()));
        let features = parent.with(message.options.as_ref().and_then(|o| o.features.as_ref()));
        for nested in &message.nested_type {
            self.index_message(&full_name, &nested_modules, nested, features)?;
        }
        for nested in &message.enum_type {
            self.index_enum(&full_name, &nested_modules, nested, features)?;
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
        Ok(())
    }

    fn index_enum(
        &mut self,
        prefix: &str,
        modules: &[String],
        enumeration: &'a EnumDescriptorProto,
        parent: Features,
    ) -> Result<(), Error> {
        let full_name = format!("{prefix}.{}", enumeration.name());
        let extern_path = self.extern_path_for(&full_name)?;
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
        Ok(())
    }

    /// The Rust path of type `full_name` as seen from module `from`.
    /// True when `method` (`.pkg.Svc.Method`) matches `paths` of option
    /// `option`; its message `ty` must then have a view.
    fn viewed(
        &self,
        option: &str,
        paths: &crate::paths::PathMap<()>,
        method: &str,
        ty: &str,
    ) -> Result<bool, Error> {
        if !paths.any(method) {
            return Ok(false);
        }
        if !self.has_view(ty) {
            return Err(Error::new(format!(
                "{option}: `{method}` takes `{ty}` as a view, which it has not: add it to views(...)"
            )));
        }
        Ok(true)
    }

    /// True when message `full_name` (`.pkg.Msg`) gets a borrowed view:
    /// generated here, under a `views` path.
    fn has_view(&self, full_name: &str) -> bool {
        self.config.views.any(full_name)
            && self
                .types
                .get(full_name)
                .is_some_and(|info| info.extern_path.is_none())
    }

    fn path(&self, full_name: &str, from: &[String]) -> Result<syn::Path, Error> {
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
        let mut path = syn::Path {
            leading_colon: None,
            segments: Default::default(),
        };
        for _ in common..from.len() {
            path.segments
                .push(Ident::new("super", Span::call_site()).into());
        }
        for module in info.modules[common..].iter().chain([&info.rust_name]) {
            let segment = rust_ident(module, || format!("the Rust path of `{full_name}`"))?;
            path.segments.push(segment.into());
        }
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
            if seen.insert(name)
                && let Some(next) = self.edges.get(name)
            {
                stack.extend(next.iter().map(String::as_str));
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
        let modules = package_modules(file.package());
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
            )?);
        }
        for (i, service) in file.service.iter().enumerate() {
            package
                .services
                .push(self.service(&comments, &prefix, &modules, service, i)?);
        }
        for field in &file.extension {
            package.extensions.push(self.extension(
                features,
                file.name(),
                &prefix,
                &modules,
                field,
            )?);
        }
        Ok(())
    }

    /// An `extend` field declared in scope `scope_name` (a package or a
    /// message), whose constant lives in the module `from` names.
    fn extension(
        &self,
        features: Features,
        file: &str,
        scope_name: &str,
        from: &[String],
        field: &FieldDescriptorProto,
    ) -> Result<protocall_codegen_core::model::Extension, Error> {
        use heck::ToShoutySnakeCase;
        let built = self.field(
            features,
            file,
            scope_name,
            from,
            field,
            names::snake(field.name()),
            Vec::new(),
        )?;
        let full_name = format!("{scope_name}.{}", field.name());
        let whose = || format!("{file}: extension `{}`", full_name.trim_start_matches('.'));
        Ok(protocall_codegen_core::model::Extension {
            full_name: full_name.trim_start_matches('.').to_string(),
            extendee: self.path(field.extendee(), from)?,
            rust_name: rust_ident(&names::escape(&field.name().to_shouty_snake_case()), whose)?,
            field: built,
        })
    }

    /// Parses the attributes `option` adds to `name` (checked beforehand by
    /// `Config::check_attributes`).
    fn attributes<'s>(
        &self,
        options: impl IntoIterator<Item = (&'static str, &'s crate::paths::PathMap<String>)>,
        name: &str,
        file: &str,
    ) -> Result<Vec<syn::Attribute>, Error> {
        let mut attributes = Vec::new();
        for (option, map) in options {
            for text in map.matches(name) {
                attributes.extend(
                    crate::config::parse_attributes(text)
                        .map_err(|e| Error::new(format!("{file}: `{option}` of `{name}`: {e}")))?,
                );
            }
        }
        Ok(attributes)
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
        let file = comments.file;
        let whose = |what: &str| {
            let full_name = &full_name;
            let what = what.to_string();
            move || format!("{file}: {what} of message `{full_name}`")
        };
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
            enums.push(self.enumeration(comments, &full_name, nested, nested_path)?);
        }

        let extensions = message
            .extension
            .iter()
            .map(|field| self.extension(features, file, &full_name, &inner_modules, field))
            .collect::<Result<Vec<_>, _>>()?;

        let mut fields = Vec::new();
        let mut oneofs: Vec<PendingOneof> = Vec::new();
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
            // Oneof members are enum variants.
            let rust_name = match real_oneof {
                Some(_) => names::camel(field.name()),
                None => names::snake(field.name()),
            };
            let built = self.field(scope, file, &full_name, from, field, rust_name, doc)?;
            match real_oneof {
                None => fields.push(built),
                Some(index) => {
                    let slot = match oneofs.iter().position(|o| o.index == index) {
                        Some(slot) => slot,
                        None => {
                            let decl = message.oneof_decl.get(index as usize).ok_or_else(|| {
                                Error::new(format!(
                                    "{file}: field `{full_name}.{}` names oneof {index}, which is not declared",
                                    field.name()
                                ))
                            })?;
                            let mut oneof_path = path.clone();
                            oneof_path.extend([8, index]);
                            oneofs.push(PendingOneof {
                                index,
                                name: decl.name().to_string(),
                                fields: Vec::new(),
                                doc: if comments_on {
                                    comments.doc(&oneof_path)
                                } else {
                                    Vec::new()
                                },
                            });
                            oneofs.len() - 1
                        }
                    };
                    oneofs[slot].fields.push(built);
                }
            }
        }
        // A oneof enum must not collide with a nested type in the same module.
        let taken: HashSet<String> = messages
            .iter()
            .map(|m| m.rust_name.to_string())
            .chain(enums.iter().map(|e| e.rust_name.to_string()))
            .collect();
        let module_ident = rust_ident(&module, whose("the nested module"))?;
        let oneofs = oneofs
            .into_iter()
            .map(
                |PendingOneof {
                     name, fields, doc, ..
                 }| {
                    let rust_name = names::snake(&name);
                    let mut enum_name = names::camel(&name);
                    if taken.contains(&enum_name) {
                        enum_name.push_str("Oneof");
                    }
                    let enum_name = rust_ident(&enum_name, whose(&format!("oneof `{name}`")))?;
                    let path = syn::Path {
                        leading_colon: None,
                        segments: [module_ident.clone(), enum_name.clone()]
                            .into_iter()
                            .map(syn::PathSegment::from)
                            .collect(),
                    };
                    Ok(Oneof {
                        rust_name: rust_ident(&rust_name, whose(&format!("oneof `{name}`")))?,
                        name,
                        path,
                        enum_name,
                        fields,
                        doc,
                    })
                },
            )
            .collect::<Result<Vec<_>, Error>>()?;

        self.record_sharing(&full_name, message, &fields, &oneofs);
        let attributes = self.attributes(
            [
                ("type_attribute", &self.config.type_attributes),
                ("message_attribute", &self.config.message_attributes),
            ],
            &full_name,
            file,
        )?;
        Ok(Message {
            full_name: full_name.trim_start_matches('.').to_string(),
            rust_name: rust_ident(&names::camel(message.name()), whose("the name"))?,
            module: module_ident,
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
            view: self.has_view(&full_name),
            attributes,
            describe: false,
            file: file.to_string(),
            shares_bytes: false,
            reflect: None,
            extendable: !message.extension_range.is_empty()
                && !self.config.discard_unknown_fields.any(&full_name),
            extensions,
        })
    }

    /// Notes what `message` holds, for the `SHARES_BYTES` closure.
    fn record_sharing(
        &self,
        full_name: &str,
        message: &DescriptorProto,
        fields: &[Field],
        oneofs: &[Oneof],
    ) {
        let direct = fields
            .iter()
            .chain(oneofs.iter().flat_map(|o| &o.fields))
            .any(|f| f.kind.is_shared_bytes());
        let contained = message
            .field
            .iter()
            .filter(|f| matches!(f.r#type(), ProtoType::Message | ProtoType::Group))
            .filter_map(|f| match self.map_entry(f.type_name()) {
                // A map holds its values.
                Some(entry) => entry
                    .field
                    .get(1)
                    .filter(|v| matches!(v.r#type(), ProtoType::Message | ProtoType::Group))
                    .map(|v| v.type_name().to_string()),
                None => Some(f.type_name().to_string()),
            })
            .collect();
        self.sharing
            .borrow_mut()
            .messages
            .insert(full_name.to_string(), (direct, contained));
    }

    #[allow(clippy::too_many_arguments)]
    fn field(
        &self,
        scope: Features,
        file: &str,
        message_name: &str,
        from: &[String],
        field: &FieldDescriptorProto,
        rust_name: String,
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
                        let (Some(key), Some(value)) = (entry.field.first(), entry.field.get(1))
                        else {
                            return Err(Error::new(format!(
                                "{file}: map field `{field_name}`: its entry `{}` lacks a key or a value",
                                field.type_name()
                            )));
                        };
                        let key = self.kind(key, &field_name, from)?;
                        let value = self.kind(value, &field_name, from)?;
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
                        Kind::Message { path, view } if features.delimited => {
                            Kind::Group { path, view }
                        }
                        other => other,
                    },
                }
            }
            // Editions spell groups as delimited message fields.
            Kind::Message { path, view } if features.delimited => Kind::Group { path, view },
            other => self.unchecked_string(other, features, &field_name),
        };
        let default = match &field.default_value {
            None => None,
            Some(text) => Some(self.default_value(field, &kind, text).map_err(|e| {
                Error::new(format!(
                    "{file}: field `{field_name}`: `[default = {text}]` {e}"
                ))
            })?),
        };
        let label = label(features, field, &kind);
        let boxed = matches!(kind, Kind::Message { .. } | Kind::Group { .. })
            && !matches!(label, Label::Repeated { .. })
            && self.needs_box(message_name, field.type_name());
        let attributes = self.attributes(
            [("field_attribute", &self.config.field_attributes)],
            &field_name,
            file,
        )?;
        Ok(Field {
            name: field.name().to_string(),
            json_name: field
                .json_name
                .clone()
                .unwrap_or_else(|| protocall::__private::json_name(field.name())),
            rust_name: rust_ident(&rust_name, || format!("{file}: field `{field_name}`"))?,
            number: u32::try_from(field.number()).map_err(|_| {
                Error::new(format!(
                    "{file}: field `{field_name}` has the number {}",
                    field.number()
                ))
            })?,
            kind,
            label,
            boxed,
            default,
            doc,
            deprecated: field.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes,
        })
    }

    /// A declared default, checked against the field's kind: the error
    /// completes "`[default = …]` …".
    fn default_value(
        &self,
        field: &FieldDescriptorProto,
        kind: &Kind,
        text: &str,
    ) -> Result<DefaultValue, String> {
        fn int<T: TryFrom<i64>>(text: &str, ty: &str) -> Result<i64, String> {
            let value: i64 = text.parse().map_err(|_| format!("is not an {ty} value"))?;
            T::try_from(value)
                .map(|_| value)
                .map_err(|_| format!("is out of range for {ty}"))
        }
        fn uint<T: TryFrom<u64>>(text: &str, ty: &str) -> Result<u64, String> {
            let value: u64 = text.parse().map_err(|_| format!("is not a {ty} value"))?;
            T::try_from(value)
                .map(|_| value)
                .map_err(|_| format!("is out of range for {ty}"))
        }
        Ok(match kind {
            Kind::Scalar(Scalar::Bool) => match text {
                "true" => DefaultValue::Bool(true),
                "false" => DefaultValue::Bool(false),
                _ => return Err("is not `true` or `false`".into()),
            },
            Kind::Scalar(Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32) => {
                DefaultValue::Int(int::<i32>(text, "int32")?)
            }
            Kind::Scalar(Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64) => {
                DefaultValue::Int(int::<i64>(text, "int64")?)
            }
            Kind::Scalar(Scalar::Uint32 | Scalar::Fixed32) => {
                DefaultValue::Uint(uint::<u32>(text, "uint32")?)
            }
            Kind::Scalar(Scalar::Uint64 | Scalar::Fixed64) => {
                DefaultValue::Uint(uint::<u64>(text, "uint64")?)
            }
            Kind::Scalar(Scalar::Float | Scalar::Double) => DefaultValue::Float(
                protocall::__private::parse_float_default(text)
                    .ok_or_else(|| "is not a floating-point value".to_string())?,
            ),
            Kind::String => DefaultValue::String(text.to_string()),
            // A `string` read as bytes (unchecked UTF-8) keeps its text as
            // is; `bytes` defaults are C-escaped.
            Kind::Bytes { .. } if field.r#type() == ProtoType::String => {
                DefaultValue::Bytes(text.as_bytes().to_vec())
            }
            Kind::Bytes { .. } => DefaultValue::Bytes(protocall::__private::unescape_bytes(text)),
            Kind::Enum(_) => {
                let enumeration = self
                    .types
                    .get(field.type_name())
                    .and_then(|info| info.enumeration)
                    .ok_or_else(|| {
                        format!(
                            "names a value of `{}`, which is not an enum",
                            field.type_name()
                        )
                    })?;
                let variant = variant_names(enumeration)
                    .into_iter()
                    .find(|(proto, _)| proto == text)
                    .map(|(_, rust)| rust)
                    .ok_or_else(|| format!("is not a value of `{}`", field.type_name()))?;
                DefaultValue::Enum(
                    names::ident(&variant)
                        .map_err(|e| format!("names a value without a Rust name: {e}"))?,
                )
            }
            Kind::Message { .. } | Kind::Group { .. } | Kind::Map { .. } => {
                return Err("is not allowed on a message field".into());
            }
        })
    }

    /// A `string` without UTF-8 checking (`utf8_validation = NONE`) holds
    /// raw bytes: `Vec<u8>`, or `Bytes` where the `bytes` option says so.
    fn unchecked_string(&self, kind: Kind, features: Features, field_name: &str) -> Kind {
        match kind {
            Kind::String if !features.verify_utf8 => Kind::Bytes {
                shared: self.config.bytes.any(field_name),
                text: true,
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
                text: false,
            },
            ProtoType::Message => Kind::Message {
                path: self.path(field.type_name(), from)?,
                view: self.has_view(field.type_name()),
            },
            ProtoType::Group => Kind::Group {
                path: self.path(field.type_name(), from)?,
                view: self.has_view(field.type_name()),
            },
            ProtoType::Enum => {
                let info = self
                    .types
                    .get(field.type_name())
                    .ok_or_else(|| Error::new(format!("unknown enum `{}`", field.type_name())))?;
                let enumeration = info
                    .enumeration
                    .ok_or_else(|| Error::new(format!("`{}` is not an enum", field.type_name())))?;
                let first = variant_names(enumeration)
                    .into_iter()
                    .next()
                    .map(|(_, rust)| {
                        rust_ident(&rust, || format!("a value of enum `{}`", field.type_name()))
                    })
                    .transpose()?;
                Kind::Enum(EnumRef {
                    path: self.path(field.type_name(), from)?,
                    closed: info.closed,
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
    ) -> Result<Enum, Error> {
        let full_name = format!("{prefix}.{}", enumeration.name());
        let file = comments.file;
        let whose = || format!("{file}: enum `{full_name}`");
        let comments_on = !self.config.disable_comments.any(&full_name);
        let proto_names: Vec<&str> = enumeration.value.iter().map(|v| v.name()).collect();
        let rust_names = names::enum_variants(enumeration.name(), &proto_names);
        let mut values: Vec<EnumValue> = Vec::new();
        let mut aliases = Vec::new();
        for (i, (value, rust_name)) in enumeration.value.iter().zip(rust_names).enumerate() {
            let value_whose = || format!("{}, value `{}`", whose(), value.name());
            if let Some(first) = values.iter().find(|v| v.number == value.number()) {
                let taken: Vec<String> = aliases
                    .iter()
                    .map(|a: &EnumAlias| names::unraw(&a.rust_name.to_string()).to_string())
                    .collect();
                aliases.push(EnumAlias {
                    rust_name: rust_ident(
                        &alias_const(&rust_name, value.name(), &taken),
                        value_whose,
                    )?,
                    proto_name: value.name().to_string(),
                    target: first.rust_name.clone(),
                });
                continue;
            }
            let mut value_path = path.clone();
            value_path.extend([2, i as i32]);
            values.push(EnumValue {
                proto_name: value.name().to_string(),
                rust_name: rust_ident(&rust_name, value_whose)?,
                number: value.number(),
                doc: if comments_on {
                    comments.doc(&value_path)
                } else {
                    Vec::new()
                },
                deprecated: value.options.as_ref().is_some_and(|o| o.deprecated()),
            });
        }
        let attributes = self.attributes(
            [
                ("type_attribute", &self.config.type_attributes),
                ("enum_attribute", &self.config.enum_attributes),
            ],
            &full_name,
            file,
        )?;
        Ok(Enum {
            full_name: full_name.trim_start_matches('.').to_string(),
            file: file.to_string(),
            descriptor_depth: None,
            rust_name: rust_ident(&names::camel(enumeration.name()), whose)?,
            values,
            aliases,
            doc: if comments_on {
                comments.doc(&path)
            } else {
                Vec::new()
            },
            deprecated: enumeration.options.as_ref().is_some_and(|o| o.deprecated()),
            attributes,
        })
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
        let file = comments.file;
        let whose = || format!("{file}: service `{full_name}`");
        let comments_on = !self.config.disable_comments.any(&full_name);
        // Service code lives in `<service>_server` / `<service>_client` modules.
        let mut from = modules.to_vec();
        from.push(String::new());
        let rpcs: Vec<names::Rpc<'_>> = service
            .method
            .iter()
            .map(|m| names::Rpc {
                name: m.name(),
                server_streaming: m.server_streaming(),
                method: None,
            })
            .collect();
        let rpc_names = names::rpc_names(&rpcs);
        let mut methods = Vec::new();
        for (i, (method, rust)) in service.method.iter().zip(rpc_names).enumerate() {
            let path = [6, index as i32, 2, i as i32];
            let method_whose = || format!("{}, rpc `{}`", whose(), method.name());
            methods.push(Method {
                name: method.name().to_string(),
                rust_name: rust_ident(&rust.method, method_whose)?,
                client_name: rust_ident(&rust.client, method_whose)?,
                stream_type: rust_ident(&rust.stream_type, method_whose)?,
                renamed: rust.renamed,
                input: self.path(method.input_type(), &from)?,
                output: self.path(method.output_type(), &from)?,
                view_request: self.viewed(
                    "view_requests",
                    &self.config.view_requests,
                    &method_full_name(&full_name, method.name()),
                    method.input_type(),
                )?,
                view_response: self.viewed(
                    "view_responses",
                    &self.config.view_responses,
                    &method_full_name(&full_name, method.name()),
                    method.output_type(),
                )?,
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
            rust_name: rust_ident(&names::camel(service.name()), whose)?,
            server_module: rust_ident(&names::service_module(service.name(), "server"), whose)?,
            client_module: rust_ident(&names::service_module(service.name(), "client"), whose)?,
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

/// A oneof while its members are collected.
struct PendingOneof {
    /// Its index in the message's `oneof_decl`.
    index: i32,
    name: String,
    fields: Vec<Field>,
    doc: Vec<String>,
}

/// Name of the associated constant for an alias value: its variant-style
/// name (prefix stripped) in SHOUTY_CASE, `ALIASED_UNO` → `UNO`. Aliases
/// may differ only in case (`MOO`, `moo`): one that would repeat a name
/// already `taken` keeps its proto name as written, and failing that gets
/// a numeric suffix, so every alias has its own constant.
fn alias_const(rust_name: &str, proto_name: &str, taken: &[String]) -> String {
    use heck::ToShoutySnakeCase;
    let free = |name: &str| !taken.iter().any(|t| t == name);
    let shouty = names::unraw(rust_name).to_shouty_snake_case();
    if free(&shouty) {
        return names::escape(&shouty);
    }
    if free(proto_name) {
        return names::escape(proto_name);
    }
    let suffixed = (2..)
        .map(|n| format!("{shouty}_{n}"))
        .find(|name| free(name))
        .expect("an unused suffix");
    names::escape(&suffixed)
}

/// (proto name, Rust variant) for every value, in declaration order; an
/// alias names the variant owning its number.
fn variant_names(enumeration: &EnumDescriptorProto) -> Vec<(String, String)> {
    let proto_names: Vec<&str> = enumeration.value.iter().map(|v| v.name()).collect();
    let rust_names = names::enum_variants(enumeration.name(), &proto_names);
    let mut numbers: HashMap<i32, String> = HashMap::new();
    enumeration
        .value
        .iter()
        .zip(rust_names)
        .map(|(value, rust)| {
            let owner = numbers.entry(value.number()).or_insert(rust).clone();
            (value.name().to_string(), owner)
        })
        .collect()
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
        // Required fields are stored like optional ones (`Option<T>`): a
        // missing required field must stay missing through a round trip
        // (peers check for it), so it cannot be a plain value that is
        // always written.
        ProtoLabel::Required => Label::Optional,
        ProtoLabel::Optional => {
            if message_like || field.proto3_optional() || field.oneof_index.is_some() {
                return Label::Optional;
            }
            match features.presence {
                Presence::Explicit => Label::Optional,
                Presence::Implicit => Label::Implicit,
                Presence::LegacyRequired => Label::Optional,
            }
        }
    }
}

/// `.pkg.Svc` and `Method` → `.pkg.Svc.Method`, as paths name methods.
fn method_full_name(service: &str, method: &str) -> String {
    format!("{service}.{method}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packages `files` (name, source) lower to under `builder`.
    fn lower(builder: crate::Builder, files: &[(&str, &str)]) -> Vec<Package> {
        use protocall::Message as _;
        let dir = tempfile::tempdir().unwrap();
        for (name, source) in files {
            std::fs::write(dir.path().join(name), source).unwrap();
        }
        let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
        let names: Vec<&str> = files.iter().map(|(name, _)| *name).collect();
        compiler.open_files(&names).unwrap();
        let set = protocall::types::FileDescriptorSet::decode(
            compiler.encode_file_descriptor_set().as_slice(),
        )
        .unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        build(&set.file, &names, &builder.config).unwrap()
    }

    /// `full name → shares_bytes` of every message, nested ones included.
    fn sharing(packages: &[Package]) -> std::collections::BTreeMap<String, bool> {
        fn walk(messages: &[Message], out: &mut std::collections::BTreeMap<String, bool>) {
            for m in messages {
                out.insert(m.full_name.clone(), m.shares_bytes);
                walk(&m.messages, out);
            }
        }
        let mut out = Default::default();
        for package in packages {
            walk(&package.messages, &mut out);
        }
        out
    }

    #[test]
    fn shares_bytes_is_closed_over_containment_and_ends_on_cycles() {
        let proto3 = "syntax = \"proto3\";\npackage t;\n\
            message Blob { bytes data = 1; Holder back = 2; }\n\
            message Holder { Blob blob = 1; }\n\
            message Deep { Holder holder = 1; }\n\
            message List { repeated Deep items = 1; }\n\
            message Mapped { map<string, List> lists = 1; }\n\
            message Choice { oneof kind { int32 n = 1; Mapped mapped = 2; } }\n\
            message SelfRef { SelfRef next = 1; repeated SelfRef more = 2; bytes copied = 3; }\n\
            message Ping { Pong pong = 1; }\n\
            message Pong { Ping ping = 1; map<int32, bytes> raw = 2; }\n\
            message Values { map<string, bytes> shared = 1; }\n\
            message OneBlob { oneof kind { bytes raw = 1; string text = 2; } }\n";
        let proto2 = "syntax = \"proto2\";\npackage g;\n\
            message Outer { optional group Inner = 1 { optional bytes data = 2; } }\n\
            message Wrapper { optional Outer outer = 1; }\n\
            message Plain { optional group Other = 1 { optional bytes data = 2; } }\n";
        let packages = lower(
            crate::configure().bytes([
                ".t.Blob.data",
                ".t.Values.shared",
                ".t.OneBlob.raw",
                ".g.Outer.Inner.data",
            ]),
            &[("t.proto", proto3), ("g.proto", proto2)],
        );
        let got = sharing(&packages);
        let expected: std::collections::BTreeMap<String, bool> = [
            // Its own `Bytes` field (and a cycle back through `Holder`).
            ("t.Blob", true),
            ("t.Holder", true),
            // Through a singular field, a repeated field, a map value, a oneof.
            ("t.Deep", true),
            ("t.List", true),
            ("t.Mapped", true),
            ("t.Choice", true),
            // Recursion without shared bytes (`Vec<u8>` fields do not count).
            ("t.SelfRef", false),
            ("t.Ping", false),
            ("t.Pong", false),
            // A map of `Bytes` values, a `Bytes` oneof member.
            ("t.Values", true),
            ("t.OneBlob", true),
            // Through a group, and what holds it.
            ("g.Outer", true),
            ("g.Outer.Inner", true),
            ("g.Wrapper", true),
            ("g.Plain", false),
            ("g.Plain.Other", false),
        ]
        .into_iter()
        .map(|(name, shares)| (name.to_string(), shares))
        .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn aliases_differing_only_in_case_get_their_own_constants() {
        // The shape of `AliasedEnum` in protobuf's test_messages_proto3.proto.
        let proto = "syntax = \"proto3\";\npackage t;\n\
            enum Aliased { option allow_alias = true; ALIAS_FOO = 0; ALIAS_BAR = 1;\n\
            ALIAS_BAZ = 2; MOO = 2; moo = 2; bAz = 2; Moo = 2; B_AZ = 2; }\n";
        let packages = lower(crate::configure(), &[("t.proto", proto)]);
        let e = &packages[0].enums[0];
        let got: Vec<(String, String, String)> = e
            .aliases
            .iter()
            .map(|a| {
                (
                    a.proto_name.clone(),
                    a.rust_name.to_string(),
                    a.target.to_string(),
                )
            })
            .collect();
        let want = [
            ("MOO", "MOO", "AliasBaz"),
            ("moo", "moo", "AliasBaz"),
            ("bAz", "B_AZ", "AliasBaz"),
            ("Moo", "Moo", "AliasBaz"),
            ("B_AZ", "B_AZ_2", "AliasBaz"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
