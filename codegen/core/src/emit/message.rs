//! Message structs and their `Message` impls.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use super::field::{
    cardinality, codec, field_type, is_closed_enum, json_codec, merge_function, number, scalar_type,
};
use super::{deprecated, doc_or};
use crate::model::{DefaultValue, Field, Kind, Label, Message, Scalar};

/// Method names a getter must not take: they would shadow trait methods.
const RESERVED_METHODS: &[&str] = &[
    "encode",
    "decode",
    "merge",
    "clear",
    "encoded_len",
    "encode_raw",
    "merge_field",
    "encode_to_vec",
    "encode_length_delimited",
    "encode_length_delimited_to_vec",
    "decode_length_delimited",
    "merge_length_delimited",
    "unknown_fields_mut",
    "field_name",
    "default_instance",
    "default",
    "clone",
    "eq",
    "ne",
    "fmt",
];

pub(crate) fn message(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let docs = doc_or(
        &message.doc,
        format!(" The `{}` message.", message.full_name),
    );
    let deprecated = deprecated(message.deprecated);
    let attrs = &message.attributes;
    let module = &message.module;

    let fields = message.fields.iter().map(struct_field);
    let oneof_fields = message.oneofs.iter().map(|oneof| {
        let field = &oneof.rust_name;
        let ty = &oneof.enum_name;
        let docs = doc_or(&oneof.doc, format!(" The `{}` oneof.", oneof.name));
        quote!(#docs pub #field: ::core::option::Option<#module::#ty>,)
    });
    let unknown_field = message.keep_unknown.then(|| {
        quote! {
            /// Fields not declared in the schema, kept so they survive a round trip.
            pub _unknown_fields: ::protocall::UnknownFields,
        }
    });

    let needs_manual_default = message.fields.iter().any(has_declared_required_default);
    let derive_default = (!needs_manual_default).then(|| quote!(Default,));
    let manual_default = needs_manual_default.then(|| default_impl(message));
    // With unknown fields kept, `Debug` is written out to leave them out
    // while there are none.
    let derive_debug = (!message.keep_unknown).then(|| quote!(Debug,));
    let manual_debug = message.keep_unknown.then(|| debug_impl(message));

    let message_impl = message_impl(message);
    let describe = (!message.file.is_empty()).then(|| {
        let depth = message.reflect.map(|r| r.depth);
        super::describe::imported(name, &message.full_name, &message.file, depth)
    });
    let inherent = inherent_impl(message);
    let nested = nested_module(message);
    let reflect = message.reflect.map(|r| reflect_impl(message, r));
    let extendable = extendable_impl(message);
    let view = message.view.then(|| super::view::view(message));

    quote! {
        #docs
        #(#attrs)*
        #deprecated
        #[derive(Clone, PartialEq, #derive_debug #derive_default)]
        pub struct #name {
            #(#fields)*
            #(#oneof_fields)*
            #unknown_field
        }
        #manual_debug
        #manual_default
        #message_impl
        #describe
        #reflect
        #extendable
        #inherent
        #nested
        #view
    }
}

/// `ReflectMessage` from the file's embedded descriptors, and the serde
/// impls that go through it.
fn reflect_impl(message: &Message, reflect: crate::model::Reflect) -> TokenStream {
    let name = &message.rust_name;
    let full_name = &message.full_name;
    let supers = std::iter::repeat_n(quote!(super::), reflect.depth);
    let gate = reflect.json_feature.map(|f| quote!(#[cfg(feature = #f)]));
    let print = (reflect.json && !reflect.special_json).then(|| {
        let body = print_json_body(message);
        quote! {
            #gate
            fn __print_json<S: ::protocall::__private::serde::Serializer>(
                &self,
                p: &::protocall::__private::json::Printer<'_>,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                #body
            }
        }
    });
    let reflect_impl = reflect_message_impl(
        message,
        quote!(::protocall::__private::message_descriptor(#(#supers)* FILE_DESCRIPTOR_SET, #full_name)),
        print,
    );
    if !reflect.json {
        return reflect_impl;
    }
    quote! {
        #reflect_impl
        #gate
        impl ::protocall::__private::serde::Serialize for #name {
            fn serialize<S: ::protocall::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                ::protocall::__private::json::serialize(self, serializer)
            }
        }
        #gate
        impl<'de> ::protocall::__private::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::protocall::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                ::protocall::__private::json::deserialize(deserializer)
            }
        }
    }
}

/// `ReflectMessage` whose descriptor `init` makes, once.
fn reflect_message_impl(
    message: &Message,
    init: TokenStream,
    print: Option<TokenStream>,
) -> TokenStream {
    let name = &message.rust_name;
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl ::protocall::reflect::ReflectMessage for #name {
            fn descriptor() -> ::protocall::reflect::MessageDescriptor {
                static DESCRIPTOR: ::std::sync::OnceLock<::protocall::reflect::MessageDescriptor> =
                    ::std::sync::OnceLock::new();
                DESCRIPTOR.get_or_init(|| #init).clone()
            }
            #print
        }
    }
}

/// `ReflectMessage` for a derived message, from the descriptors its
/// `Describe` impl writes (JSON goes through the binary encoding).
pub(crate) fn described_reflect_impl(message: &Message) -> TokenStream {
    reflect_message_impl(
        message,
        quote!(::protocall::__private::described_message::<Self>()),
        None,
    )
}

/// ProtoJSON printing of a message's fields, in the order they are
/// encoded; extensions (kept in unknown fields) last.
fn print_json_body(message: &Message) -> TokenStream {
    let prints: Vec<TokenStream> = items(message)
        .into_iter()
        .map(|item| match item {
            Item::Field(field) => {
                let name = &field.rust_name;
                print_stmt(field, json_cardinality(field), quote!(&self.#name))
            }
            Item::Oneof(oneof) => {
                let field = &oneof.rust_name;
                let ty = &oneof.path;
                let arms = oneof.fields.iter().map(|member| {
                    let variant = &member.rust_name;
                    let print = print_stmt(member, "", quote!(value));
                    quote!(#ty::#variant(value) => { #print })
                });
                quote! {
                    if let ::core::option::Option::Some(oneof) = &self.#field {
                        match oneof { #(#arms)* }
                    }
                }
            }
        })
        .collect();
    let extensions = (message.extendable && message.keep_unknown).then(|| {
        quote! {
            p.extensions(&mut map, &<Self as ::protocall::reflect::ReflectMessage>::descriptor(), &self._unknown_fields)?;
        }
    });
    let binding = if prints.is_empty() && extensions.is_none() {
        quote!(let map)
    } else {
        quote!(let mut map)
    };
    quote! {
        #binding = p.begin(serializer)?;
        #(#prints)*
        #extensions
        p.end(map)
    }
}

/// `Kind::json…(p, &mut map, "jsonName", "proto_name", value)?;`
fn print_stmt(field: &Field, cardinality: &str, value: TokenStream) -> TokenStream {
    let codec = json_codec(&field.kind);
    let (json, proto) = (&field.json_name, &field.name);
    if let Kind::Map { key, value: v, .. } = &field.kind {
        let (k, v) = (json_codec(key), json_codec(v));
        return quote!(#codec::json(#k, #v, p, &mut map, #json, #proto, #value)?;);
    }
    let function = format_ident!("json{}", cardinality);
    quote!(#codec::#function(p, &mut map, #json, #proto, #value)?;)
}

/// The suffix of the printing function for a field's cardinality (packed
/// or not, a repeated field prints as a list).
fn json_cardinality(field: &Field) -> &'static str {
    match field.label {
        Label::Implicit => "_implicit",
        Label::Optional => "_optional",
        Label::Required => "",
        Label::Repeated { .. } => "_repeated",
    }
}

fn struct_field(field: &Field) -> TokenStream {
    let name = &field.rust_name;
    let docs = doc_or(
        &field.doc,
        format!(" Field `{}` = {}.", field.name, field.number),
    );
    let attrs = &field.attributes;
    let deprecated = deprecated(field.deprecated);
    let ty = field_type(field);
    quote!(#docs #(#attrs)* #deprecated pub #name: #ty,)
}

/// Match patterns covering `numbers`: runs of three or more consecutive
/// numbers become ranges (`1..=6`), others stay single.
pub(crate) fn number_patterns(numbers: impl Iterator<Item = u32>) -> Vec<TokenStream> {
    let mut sorted: Vec<u32> = numbers.collect();
    sorted.sort_unstable();
    let mut patterns = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
            j += 1;
        }
        let (start, end) = (
            Literal::u32_unsuffixed(sorted[i]),
            Literal::u32_unsuffixed(sorted[j]),
        );
        if j - i >= 2 {
            patterns.push(quote!(#start..=#end));
            i = j + 1;
        } else {
            patterns.push(quote!(#start));
            i += 1;
        }
    }
    patterns
}

/// `self.field` written out.
fn encode_stmt(field: &Field) -> TokenStream {
    let number = number(field);
    let name = &field.rust_name;
    let codec = codec(&field.kind);
    if let Kind::Map { key, value, .. } = &field.kind {
        let (k, v) = (self::codec(key), self::codec(value));
        return quote!(#codec::encode(#k, #v, #number, &self.#name, buf););
    }
    let function = format_ident!("encode{}", cardinality(field));
    quote!(#codec::#function(#number, &self.#name, buf);)
}

/// Bytes `encode_stmt` writes.
fn len_expr(field: &Field) -> TokenStream {
    let number = number(field);
    let name = &field.rust_name;
    let codec = codec(&field.kind);
    if let Kind::Map { key, value, .. } = &field.kind {
        let (k, v) = (self::codec(key), self::codec(value));
        return quote!(#codec::encoded_len(#k, #v, #number, &self.#name));
    }
    let function = format_ident!("encoded_len{}", cardinality(field));
    quote!(#codec::#function(#number, &self.#name))
}

/// The `merge_field` arm body reading one value of `field`.
fn merge_expr(field: &Field, unknown: &TokenStream) -> TokenStream {
    let number = number(field);
    let name = &field.rust_name;
    let codec = codec(&field.kind);
    match &field.kind {
        Kind::Map { key, value, .. } if is_closed_enum(value) => {
            let k = self::codec(key);
            quote!(#codec::merge_closed_enum(#k, #number, wire_type, &mut self.#name, decoder, #unknown))
        }
        Kind::Map { key, value, .. } => {
            let (k, v) = (self::codec(key), self::codec(value));
            quote!(#codec::merge(#k, #v, wire_type, &mut self.#name, decoder))
        }
        Kind::Group { .. } => {
            let function = merge_function(field);
            quote!(#codec::#function(#number, wire_type, &mut self.#name, decoder))
        }
        kind if is_closed_enum(kind) => {
            let function = merge_function(field);
            quote!(#codec::#function(#number, wire_type, &mut self.#name, decoder, #unknown))
        }
        _ => {
            let function = merge_function(field);
            quote!(#codec::#function(wire_type, &mut self.#name, decoder))
        }
    }
}

/// What to pass where unknown fields may be recorded.
fn unknown_arg(message: &Message) -> TokenStream {
    if message.keep_unknown {
        quote!(::core::option::Option::Some(&mut self._unknown_fields))
    } else {
        quote!(::core::option::Option::None)
    }
}

/// A field or a oneof, in the order the message is written.
enum Item<'a> {
    Field(&'a Field),
    Oneof(&'a crate::model::Oneof),
}

/// Fields in field-number order, each oneof at the position of its
/// lowest-numbered member.
fn items(message: &Message) -> Vec<Item<'_>> {
    let mut items: Vec<(u32, Item<'_>)> = message
        .fields
        .iter()
        .map(|f| (f.number, Item::Field(f)))
        .collect();
    for oneof in &message.oneofs {
        let first = oneof.fields.iter().map(|f| f.number).min().unwrap_or(0);
        items.push((first, Item::Oneof(oneof)));
    }
    items.sort_by_key(|(number, _)| *number);
    items.into_iter().map(|(_, item)| item).collect()
}

pub(crate) fn message_impl(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let full_name = &message.full_name;
    let type_url = format!("type.googleapis.com/{full_name}");
    let unknown = unknown_arg(message);

    let items = items(message);
    let encodes = items.iter().map(|item| match item {
        Item::Field(field) => encode_stmt(field),
        Item::Oneof(oneof) => {
            let field = &oneof.rust_name;
            quote! {
                if let ::core::option::Option::Some(oneof) = &self.#field {
                    oneof.encode(buf);
                }
            }
        }
    });
    let lens = items.iter().map(|item| match item {
        Item::Field(field) => len_expr(field),
        Item::Oneof(oneof) => {
            let field = &oneof.rust_name;
            let ty = &oneof.path;
            quote!(self.#field.as_ref().map_or(0, #ty::encoded_len))
        }
    });
    let mut terms: Vec<TokenStream> = lens.collect();
    if message.keep_unknown {
        terms.push(quote!(self._unknown_fields.encoded_len()));
    }
    let len_sum = if terms.is_empty() {
        quote!(0)
    } else {
        quote!(#(#terms)+*)
    };
    let unknown_encode = message
        .keep_unknown
        .then(|| quote!(self._unknown_fields.encode(buf);));

    let arms = message.fields.iter().map(|field| {
        let number = number(field);
        let expr = merge_expr(field, &unknown);
        quote!(#number => #expr,)
    });
    let oneof_arms = message.oneofs.iter().map(|oneof| {
        let numbers = number_patterns(oneof.fields.iter().map(|f| f.number));
        let field = &oneof.rust_name;
        let extra = oneof.takes_unknown().then(|| quote!(, #unknown));
        let ty = &oneof.path;
        quote!(#(#numbers)|* => #ty::merge(&mut self.#field, number, wire_type, decoder #extra),)
    });
    let skip = quote!(decoder.skip_field(number, wire_type, #unknown));
    let has_fields = !message.fields.is_empty() || !message.oneofs.is_empty();
    let merge_body = if has_fields {
        quote! {
            match number {
                #(#arms)*
                #(#oneof_arms)*
                _ => #skip,
            }
        }
    } else {
        skip
    };
    let unknown_mut = message.keep_unknown.then(|| {
        quote! {
            fn unknown_fields_mut(&mut self) -> ::core::option::Option<&mut ::protocall::UnknownFields> {
                ::core::option::Option::Some(&mut self._unknown_fields)
            }
        }
    });
    let field_name = has_fields.then(|| {
        let arms = message.fields.iter().map(|field| {
            let number = number(field);
            let proto_name = &field.name;
            quote!(#number => ::core::option::Option::Some(#proto_name),)
        });
        // Oneof members are named by their oneof type.
        let oneof_arms = message.oneofs.iter().map(|oneof| {
            let numbers = number_patterns(oneof.fields.iter().map(|f| f.number));
            let ty = &oneof.path;
            quote!(#(#numbers)|* => #ty::field_name(number),)
        });
        quote! {
            fn field_name(number: u32) -> ::core::option::Option<&'static str> {
                match number {
                    #(#arms)*
                    #(#oneof_arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    });

    // A plain `true`, never `Other::SHARES_BYTES`: the builders resolve
    // containment, which for recursive messages would be a const cycle.
    let shares_bytes = message.shares_bytes.then(|| {
        quote!(
            const SHARES_BYTES: bool = true;
        )
    });
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl ::protocall::Message for #name {
            const FULL_NAME: &'static str = #full_name;
            const TYPE_URL: &'static str = #type_url;
            #shares_bytes

            fn encode_raw<B: ::protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
                #(#encodes)*
                #unknown_encode
            }

            fn encoded_len(&self) -> usize {
                #len_sum
            }

            fn merge_field(
                &mut self,
                number: u32,
                wire_type: ::protocall::__private::WireType,
                decoder: &mut ::protocall::__private::Decoder<'_>,
            ) -> ::core::result::Result<(), ::protocall::DecodeError> {
                #merge_body
            }

            #unknown_mut
            #field_name
        }
    }
}

fn inherent_impl(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let getters = message.fields.iter().filter_map(|f| getter(f, false));
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl #name {
            /// A shared instance with every field unset.
            pub fn default_instance() -> &'static #name {
                static INSTANCE: ::std::sync::OnceLock<#name> = ::std::sync::OnceLock::new();
                INSTANCE.get_or_init(<#name as ::core::default::Default>::default)
            }
            #(#getters)*
        }
    }
}

/// A getter for singular fields with presence: the value, or the default
/// (the declared one, or the type's) when unset.
/// The getter of an explicit-presence field: its value, or its default
/// when unset. In a borrowed view (`view`), strings and bytes come back at
/// the input's lifetime, and sub-messages have none (no default instance of
/// a view can outlive its input).
pub(crate) fn getter(field: &Field, view: bool) -> Option<TokenStream> {
    if field.label != Label::Optional {
        return None;
    }
    let name = &field.rust_name;
    let bare = name.to_string();
    let bare = crate::names::unraw(&bare);
    let reserved =
        RESERVED_METHODS.contains(&bare) || (view && super::view::RESERVED_METHODS.contains(&bare));
    let getter = if reserved {
        format_ident!("get_{bare}")
    } else {
        name.clone()
    };
    let deprecated = deprecated(field.deprecated);
    let proto_name = &field.name;
    let (ty, body) = match &field.kind {
        Kind::Message { .. } | Kind::Group { .. } if view => return None,
        Kind::Message { path: ty, .. } | Kind::Group { path: ty, .. } => {
            let present = if field.boxed {
                quote!(as_deref)
            } else {
                quote!(as_ref)
            };
            (
                quote!(&#ty),
                quote!(self.#name.#present().unwrap_or_else(|| #ty::default_instance())),
            )
        }
        Kind::String => {
            let default = match &field.default {
                Some(DefaultValue::String(text)) => text.as_str(),
                _ => "",
            };
            if view {
                (quote!(&'a str), quote!(self.#name.unwrap_or(#default)))
            } else {
                (
                    quote!(&str),
                    quote!(self.#name.as_deref().unwrap_or(#default)),
                )
            }
        }
        Kind::Bytes { .. } => {
            let default = Literal::byte_string(declared_bytes(field));
            if view {
                (quote!(&'a [u8]), quote!(self.#name.unwrap_or(#default)))
            } else {
                (
                    quote!(&[u8]),
                    quote!(self.#name.as_deref().unwrap_or(#default)),
                )
            }
        }
        Kind::Enum(e) => {
            let enum_path = &e.path;
            let variant = match &field.default {
                Some(DefaultValue::Enum(variant)) => Some(variant),
                _ => None,
            };
            match (e.closed, variant.or(e.first.as_ref())) {
                (true, Some(variant)) => (
                    quote!(#enum_path),
                    quote!(self.#name.unwrap_or(#enum_path::#variant)),
                ),
                (true, None) => (quote!(#enum_path), quote!(self.#name.unwrap_or_default())),
                (false, _) => match variant {
                    Some(variant) => (
                        quote!(::protocall::EnumValue<#enum_path>),
                        quote!(self.#name.unwrap_or(::protocall::EnumValue::Known(#enum_path::#variant))),
                    ),
                    None => (
                        quote!(::protocall::EnumValue<#enum_path>),
                        quote!(self.#name.unwrap_or_default()),
                    ),
                },
            }
        }
        Kind::Scalar(scalar) => {
            let ty = scalar_type(*scalar);
            match &field.default {
                None => (ty, quote!(self.#name.unwrap_or_default())),
                Some(declared) => {
                    let default = scalar_default(*scalar, Some(declared));
                    (ty, quote!(self.#name.unwrap_or(#default)))
                }
            }
        }
        Kind::Map { .. } => return None,
    };
    let doc = format!(" The value of `{proto_name}`, or its default when unset.");
    Some(quote! {
        #[doc = #doc]
        #deprecated
        pub fn #getter(&self) -> #ty {
            #body
        }
    })
}

/// A `bytes` field's declared default, empty when none.
pub(crate) fn declared_bytes(field: &Field) -> &[u8] {
    match &field.default {
        Some(DefaultValue::Bytes(bytes)) => bytes,
        _ => &[],
    }
}

/// Impls touching deprecated fields must not warn in the user's crate.
pub(crate) fn allow_deprecated(message: &Message) -> Option<TokenStream> {
    let any = message
        .fields
        .iter()
        .chain(message.oneofs.iter().flat_map(|o| &o.fields))
        .any(|f| f.deprecated);
    any.then(|| quote!(#[allow(deprecated)]))
}

fn has_declared_required_default(field: &Field) -> bool {
    field.label == Label::Required && field.default.is_some()
}

/// `impl Default` for messages whose required fields declare defaults.
fn default_impl(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let fields = message.fields.iter().map(|field| {
        let field_name = &field.rust_name;
        let value = if has_declared_required_default(field) {
            declared_default(field)
        } else {
            quote!(::core::default::Default::default())
        };
        quote!(#field_name: #value,)
    });
    let oneofs = message.oneofs.iter().map(|oneof| {
        let field_name = &oneof.rust_name;
        quote!(#field_name: ::core::option::Option::None,)
    });
    let unknown = message
        .keep_unknown
        .then(|| quote!(_unknown_fields: ::core::default::Default::default(),));
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl ::core::default::Default for #name {
            fn default() -> Self {
                #name { #(#fields)* #(#oneofs)* #unknown }
            }
        }
    }
}

/// `impl Debug` as `#[derive(Debug)]` writes it, except that the unknown
/// fields appear only when there are some.
fn debug_impl(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let text = |ident: &proc_macro2::Ident| crate::names::unraw(&ident.to_string()).to_string();
    let struct_name = text(name);
    let members: Vec<TokenStream> = message
        .fields
        .iter()
        .map(|f| &f.rust_name)
        .chain(message.oneofs.iter().map(|o| &o.rust_name))
        .map(|member| {
            let label = text(member);
            quote!(.field(#label, &self.#member))
        })
        .collect();
    let members = (!members.is_empty()).then(|| quote!(s #(#members)*;));
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut s = f.debug_struct(#struct_name);
                #members
                if !self._unknown_fields.is_empty() {
                    s.field("_unknown_fields", &self._unknown_fields);
                }
                s.finish()
            }
        }
    }
}

pub(crate) fn declared_default(field: &Field) -> TokenStream {
    let declared = field.default.as_ref();
    match &field.kind {
        Kind::Scalar(scalar) => scalar_default(*scalar, declared),
        Kind::String => {
            let text = match declared {
                Some(DefaultValue::String(text)) => text.as_str(),
                _ => "",
            };
            quote!(::std::string::String::from(#text))
        }
        Kind::Bytes { .. } => {
            let bytes = Literal::byte_string(declared_bytes(field));
            quote!(::core::convert::From::from(&#bytes[..]))
        }
        Kind::Enum(e) => {
            let enum_path = &e.path;
            let variant = match declared {
                Some(DefaultValue::Enum(variant)) => Some(variant),
                _ => e.first.as_ref(),
            };
            match (variant, e.closed) {
                (Some(variant), true) => quote!(#enum_path::#variant),
                (Some(variant), false) => {
                    quote!(::protocall::EnumValue::Known(#enum_path::#variant))
                }
                (None, _) => quote!(::core::default::Default::default()),
            }
        }
        _ => quote!(::core::default::Default::default()),
    }
}

/// A scalar literal for a declared default (or zero). A declared value of
/// another kind (which the model's builders never produce) reads as zero.
fn scalar_default(scalar: Scalar, declared: Option<&DefaultValue>) -> TokenStream {
    let zero = || match scalar {
        Scalar::Bool => quote!(false),
        Scalar::Float => quote!(0.0f32),
        Scalar::Double => quote!(0.0f64),
        _ => quote!(::core::default::Default::default()),
    };
    let Some(declared) = declared else {
        return zero();
    };
    match (scalar, declared) {
        (Scalar::Bool, DefaultValue::Bool(value)) => quote!(#value),
        (Scalar::Float | Scalar::Double, DefaultValue::Float(value)) => {
            let ty = scalar_type(scalar);
            // The literal of the stored type: a double default can overflow
            // a float.
            let value = if scalar == Scalar::Float {
                f64::from(*value as f32)
            } else {
                *value
            };
            if value.is_nan() {
                quote!(#ty::NAN)
            } else if value == f64::INFINITY {
                quote!(#ty::INFINITY)
            } else if value == f64::NEG_INFINITY {
                quote!(#ty::NEG_INFINITY)
            } else if scalar == Scalar::Float {
                let lit = Literal::f32_suffixed(value as f32);
                quote!(#lit)
            } else {
                let lit = Literal::f64_suffixed(value);
                quote!(#lit)
            }
        }
        (Scalar::Uint32 | Scalar::Fixed32, DefaultValue::Uint(value)) => {
            let lit = Literal::u32_suffixed(u32::try_from(*value).unwrap_or(u32::MAX));
            quote!(#lit)
        }
        (Scalar::Uint64 | Scalar::Fixed64, DefaultValue::Uint(value)) => {
            let lit = Literal::u64_suffixed(*value);
            quote!(#lit)
        }
        (Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32, DefaultValue::Int(value)) => {
            let value =
                i32::try_from(*value).unwrap_or(if *value < 0 { i32::MIN } else { i32::MAX });
            let lit = Literal::i32_suffixed(value);
            quote!(#lit)
        }
        (Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64, DefaultValue::Int(value)) => {
            let lit = Literal::i64_suffixed(*value);
            quote!(#lit)
        }
        _ => zero(),
    }
}

fn nested_module(message: &Message) -> Option<TokenStream> {
    if message.messages.is_empty()
        && message.enums.is_empty()
        && message.oneofs.is_empty()
        && message.extensions.is_empty()
    {
        return None;
    }
    let module = &message.module;
    let extensions = message.extensions.iter().map(extension);
    let messages = message.messages.iter().map(self::message);
    let enums = message.enums.iter().map(super::enumeration::enumeration);
    let oneofs = message.oneofs.iter().map(super::oneof::oneof);
    let oneof_views = super::view::oneof_views(message);
    let doc = format!(
        " Nested types and oneofs of [`{}`].",
        message.rust_name.to_string().trim_start_matches("r#")
    );
    Some(quote! {
        #[doc = #doc]
        pub mod #module {
            #(#extensions)*
            #(#messages)*
            #(#enums)*
            #(#oneofs)*
            #(#oneof_views)*
        }
    })
}

/// The typed constant of an extension field.
pub(crate) fn extension(extension: &crate::model::Extension) -> TokenStream {
    let field = &extension.field;
    let name = &extension.rust_name;
    let extendee = &extension.extendee;
    let full_name = &extension.full_name;
    let number = Literal::u32_unsuffixed(field.number);
    let codec = match field.kind {
        // A group's end key holds its number, which value codecs are not
        // told: the codec type carries it.
        Kind::Group { .. } => quote!(::protocall::__private::codec::GroupOf<#number>),
        _ => codec(&field.kind),
    };
    let value = super::field::value_type(&field.kind, false);
    let doc = format!(
        " Extension `{full_name}` = {} of `{}`.",
        field.number,
        quote!(#extendee).to_string().replace(' ', "")
    );
    let docs = super::doc(&field.doc);
    match field.label {
        Label::Repeated { packed } => quote! {
            #[doc = #doc]
            #docs
            pub const #name: ::protocall::RepeatedExtension<#extendee, #codec, #value> =
                ::protocall::RepeatedExtension::new(#number, #full_name, #packed);
        },
        _ => quote! {
            #[doc = #doc]
            #docs
            pub const #name: ::protocall::Extension<#extendee, #codec, #value> =
                ::protocall::Extension::new(#number, #full_name);
        },
    }
}

/// `Extendable`: extensions live in the unknown fields.
fn extendable_impl(message: &Message) -> Option<TokenStream> {
    if !message.extendable {
        return None;
    }
    let name = &message.rust_name;
    Some(quote! {
        impl ::protocall::Extendable for #name {
            fn extension_fields(&self) -> &::protocall::UnknownFields {
                &self._unknown_fields
            }
            fn extension_fields_mut(&mut self) -> &mut ::protocall::UnknownFields {
                &mut self._unknown_fields
            }
        }
    })
}
