//! Message structs and their `Message` impls.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{attributes, deprecated, doc_or, ident, path};
use crate::model::{Field, Kind, Label, Message, Scalar};

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
    let name = ident(&message.rust_name);
    let docs = doc_or(
        &message.doc,
        format!(" The `{}` message.", message.full_name),
    );
    let deprecated = deprecated(message.deprecated);
    let attrs = attributes(&message.attributes);
    let module = ident(&message.module);

    let fields = message.fields.iter().map(struct_field);
    let oneof_fields = message.oneofs.iter().map(|oneof| {
        let field = ident(&oneof.rust_name);
        let ty = ident(&oneof.enum_name);
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

    let message_impl = message_impl(message);
    let describe = (!message.file.is_empty())
        .then(|| super::describe::imported(&message.rust_name, &message.full_name, &message.file));
    let inherent = inherent_impl(message);
    let nested = nested_module(message);

    quote! {
        #docs
        #attrs
        #deprecated
        #[derive(Clone, PartialEq, Debug, #derive_default)]
        pub struct #name {
            #(#fields)*
            #(#oneof_fields)*
            #unknown_field
        }
        #manual_default
        #message_impl
        #describe
        #inherent
        #nested
    }
}

fn struct_field(field: &Field) -> TokenStream {
    let name = ident(&field.rust_name);
    let docs = doc_or(
        &field.doc,
        format!(" Field `{}` = {}.", field.name, field.number),
    );
    let attrs = attributes(&field.attributes);
    let deprecated = deprecated(field.deprecated);
    let ty = field_type(field);
    quote!(#docs #attrs #deprecated pub #name: #ty,)
}

/// The Rust type of one value of `kind` (boxed when asked).
pub(crate) fn value_type(kind: &Kind, boxed: bool) -> TokenStream {
    let ty = match kind {
        Kind::Scalar(scalar) => scalar_type(*scalar),
        Kind::String => quote!(::std::string::String),
        Kind::Bytes { shared: false } => quote!(::std::vec::Vec<u8>),
        Kind::Bytes { shared: true } => quote!(::protocall::bytes::Bytes),
        Kind::Enum(e) if e.closed => path(&e.path),
        Kind::Enum(e) => {
            let p = path(&e.path);
            quote!(::protocall::EnumValue<#p>)
        }
        Kind::Message { path: p } | Kind::Group { path: p } => path(p),
        Kind::Map { key, value, btree } => {
            let k = value_type(key, false);
            let v = value_type(value, false);
            if *btree {
                quote!(::std::collections::BTreeMap<#k, #v>)
            } else {
                quote!(::std::collections::HashMap<#k, #v>)
            }
        }
    };
    if boxed {
        quote!(::std::boxed::Box<#ty>)
    } else {
        ty
    }
}

fn field_type(field: &Field) -> TokenStream {
    let value = value_type(&field.kind, field.boxed);
    if matches!(field.kind, Kind::Map { .. }) {
        return value;
    }
    match field.label {
        Label::Implicit | Label::Required => value,
        Label::Optional => quote!(::core::option::Option<#value>),
        Label::Repeated { .. } => quote!(::std::vec::Vec<#value>),
    }
}

fn scalar_type(scalar: Scalar) -> TokenStream {
    match scalar {
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => quote!(i32),
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => quote!(i64),
        Scalar::Uint32 | Scalar::Fixed32 => quote!(u32),
        Scalar::Uint64 | Scalar::Fixed64 => quote!(u64),
        Scalar::Float => quote!(f32),
        Scalar::Double => quote!(f64),
        Scalar::Bool => quote!(bool),
    }
}

/// The codec kind (`::protocall::codec::Int32`, …) for `kind`.
pub(crate) fn codec(kind: &Kind) -> TokenStream {
    let name = match kind {
        Kind::Scalar(s) => match s {
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
        },
        Kind::String => "Str",
        Kind::Bytes { .. } => "Bytes",
        Kind::Enum(e) if e.closed => "ClosedEnum",
        Kind::Enum(_) => "Enum",
        Kind::Message { .. } => "Msg",
        Kind::Group { .. } => "Group",
        Kind::Map { .. } => "Map",
    };
    let name = ident(name);
    quote!(::protocall::codec::#name)
}

fn is_closed_enum(kind: &Kind) -> bool {
    matches!(kind, Kind::Enum(e) if e.closed)
}

/// The suffix of the codec function for a field's cardinality.
fn cardinality(field: &Field) -> &'static str {
    match field.label {
        Label::Implicit => "_implicit",
        Label::Optional => "_optional",
        Label::Required => "",
        Label::Repeated { packed: true } => "_packed",
        Label::Repeated { packed: false } => "_repeated",
    }
}

/// A field number as an unsuffixed literal.
pub(crate) fn number(field: &Field) -> Literal {
    Literal::u32_unsuffixed(field.number)
}

/// Match patterns covering `numbers`: runs of three or more consecutive
/// numbers become ranges (`1..=6`), others stay single.
fn number_patterns(numbers: impl Iterator<Item = u32>) -> Vec<TokenStream> {
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
    let name = ident(&field.rust_name);
    let codec = codec(&field.kind);
    if let Kind::Map { key, value, .. } = &field.kind {
        let (k, v) = (super::message::codec(key), super::message::codec(value));
        return quote!(#codec::encode(#k, #v, #number, &self.#name, buf););
    }
    let function = ident(&format!("encode{}", cardinality(field)));
    quote!(#codec::#function(#number, &self.#name, buf);)
}

/// Bytes `encode_stmt` writes.
fn len_expr(field: &Field) -> TokenStream {
    let number = number(field);
    let name = ident(&field.rust_name);
    let codec = codec(&field.kind);
    if let Kind::Map { key, value, .. } = &field.kind {
        let (k, v) = (super::message::codec(key), super::message::codec(value));
        return quote!(#codec::encoded_len(#k, #v, #number, &self.#name));
    }
    let function = ident(&format!("encoded_len{}", cardinality(field)));
    quote!(#codec::#function(#number, &self.#name))
}

/// The `merge_field` arm body reading one value of `field`.
fn merge_expr(field: &Field, unknown: &TokenStream) -> TokenStream {
    let number = number(field);
    let name = ident(&field.rust_name);
    let codec = codec(&field.kind);
    match &field.kind {
        Kind::Map { key, value, .. } if is_closed_enum(value) => {
            let k = super::message::codec(key);
            quote!(#codec::merge_closed_enum(#k, #number, wire_type, &mut self.#name, decoder, #unknown))
        }
        Kind::Map { key, value, .. } => {
            let (k, v) = (super::message::codec(key), super::message::codec(value));
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

fn merge_function(field: &Field) -> proc_macro2::Ident {
    ident(match field.label {
        Label::Implicit | Label::Required => "merge",
        Label::Optional => "merge_optional",
        Label::Repeated { .. } => "merge_repeated",
    })
}

/// What to pass where unknown fields may be recorded.
fn unknown_arg(message: &Message) -> TokenStream {
    if message.keep_unknown {
        quote!(::core::option::Option::Some(&mut self._unknown_fields))
    } else {
        quote!(::core::option::Option::None)
    }
}

pub(crate) fn message_impl(message: &Message) -> TokenStream {
    let name = ident(&message.rust_name);
    let full_name = &message.full_name;
    let type_url = format!("type.googleapis.com/{full_name}");
    let unknown = unknown_arg(message);

    // Fields are written in field-number order, each oneof at the position
    // of its lowest-numbered member.
    enum Item<'a> {
        Field(&'a Field),
        Oneof(&'a crate::model::Oneof),
    }
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

    let encodes = items.iter().map(|(_, item)| match item {
        Item::Field(field) => encode_stmt(field),
        Item::Oneof(oneof) => {
            let field = ident(&oneof.rust_name);
            quote! {
                if let ::core::option::Option::Some(oneof) = &self.#field {
                    oneof.encode(buf);
                }
            }
        }
    });
    let lens = items.iter().map(|(_, item)| match item {
        Item::Field(field) => len_expr(field),
        Item::Oneof(oneof) => {
            let field = ident(&oneof.rust_name);
            let ty = path(&oneof.path);
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
        let field = ident(&oneof.rust_name);
        let extra = super::oneof::takes_unknown(oneof).then(|| quote!(, #unknown));
        let ty = path(&oneof.path);
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
            let ty = path(&oneof.path);
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

    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl ::protocall::Message for #name {
            const FULL_NAME: &'static str = #full_name;
            const TYPE_URL: &'static str = #type_url;

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
                wire_type: ::protocall::WireType,
                decoder: &mut ::protocall::Decoder<'_>,
            ) -> ::core::result::Result<(), ::protocall::DecodeError> {
                #merge_body
            }

            #unknown_mut
            #field_name
        }
    }
}

fn inherent_impl(message: &Message) -> TokenStream {
    let name = ident(&message.rust_name);
    let getters = message.fields.iter().filter_map(getter);
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
fn getter(field: &Field) -> Option<TokenStream> {
    if field.label != Label::Optional {
        return None;
    }
    let name = ident(&field.rust_name);
    let bare = crate::names::unraw(&field.rust_name);
    let getter = if RESERVED_METHODS.contains(&bare) {
        ident(&format!("get_{bare}"))
    } else {
        name.clone()
    };
    let deprecated = deprecated(field.deprecated);
    let proto_name = &field.name;
    let (ty, body) = match &field.kind {
        Kind::Message { path: p } | Kind::Group { path: p } => {
            let ty = path(p);
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
            let default = field.default.clone().unwrap_or_default();
            (
                quote!(&str),
                quote!(self.#name.as_deref().unwrap_or(#default)),
            )
        }
        Kind::Bytes { .. } => {
            let default =
                Literal::byte_string(&unescape_bytes(field.default.as_deref().unwrap_or("")));
            (
                quote!(&[u8]),
                quote!(self.#name.as_deref().unwrap_or(#default)),
            )
        }
        Kind::Enum(e) => {
            let enum_path = path(&e.path);
            let variant = field
                .default
                .as_ref()
                .and_then(|d| e.variants.get(d))
                .map(|v| ident(v));
            match (e.closed, variant) {
                (true, variant) => {
                    let variant = variant.unwrap_or_else(|| ident(&e.first));
                    (
                        quote!(#enum_path),
                        quote!(self.#name.unwrap_or(#enum_path::#variant)),
                    )
                }
                (false, Some(variant)) => (
                    quote!(::protocall::EnumValue<#enum_path>),
                    quote!(self.#name.unwrap_or(::protocall::EnumValue::Known(#enum_path::#variant))),
                ),
                (false, None) => (
                    quote!(::protocall::EnumValue<#enum_path>),
                    quote!(self.#name.unwrap_or_default()),
                ),
            }
        }
        Kind::Scalar(scalar) => {
            let ty = scalar_type(*scalar);
            match field.default.as_deref() {
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

/// Impls touching deprecated fields must not warn in the user's crate.
fn allow_deprecated(message: &Message) -> Option<TokenStream> {
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
    let name = ident(&message.rust_name);
    let fields = message.fields.iter().map(|field| {
        let field_name = ident(&field.rust_name);
        let value = if has_declared_required_default(field) {
            declared_default(field)
        } else {
            quote!(::core::default::Default::default())
        };
        quote!(#field_name: #value,)
    });
    let oneofs = message.oneofs.iter().map(|oneof| {
        let field_name = ident(&oneof.rust_name);
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

fn declared_default(field: &Field) -> TokenStream {
    let declared = field.default.as_deref();
    match &field.kind {
        Kind::Scalar(scalar) => scalar_default(*scalar, declared),
        Kind::String => {
            let text = declared.unwrap_or("");
            quote!(::std::string::String::from(#text))
        }
        Kind::Bytes { .. } => {
            let bytes = Literal::byte_string(&unescape_bytes(declared.unwrap_or("")));
            quote!(::core::convert::From::from(&#bytes[..]))
        }
        Kind::Enum(e) => {
            let enum_path = path(&e.path);
            let variant = ident(declared.and_then(|d| e.variants.get(d)).unwrap_or(&e.first));
            if e.closed {
                quote!(#enum_path::#variant)
            } else {
                quote!(::protocall::EnumValue::Known(#enum_path::#variant))
            }
        }
        _ => quote!(::core::default::Default::default()),
    }
}

/// A scalar literal for a declared default (or zero).
fn scalar_default(scalar: Scalar, declared: Option<&str>) -> TokenStream {
    let Some(text) = declared else {
        return match scalar {
            Scalar::Bool => quote!(false),
            Scalar::Float => quote!(0.0f32),
            Scalar::Double => quote!(0.0f64),
            _ => quote!(::core::default::Default::default()),
        };
    };
    match scalar {
        Scalar::Bool => {
            let value = text == "true";
            quote!(#value)
        }
        Scalar::Float | Scalar::Double => {
            let ty = scalar_type(scalar);
            match text {
                "inf" => quote!(#ty::INFINITY),
                "-inf" => quote!(#ty::NEG_INFINITY),
                "nan" | "-nan" => quote!(#ty::NAN),
                _ => {
                    let value: f64 = text.parse().unwrap_or(0.0);
                    if scalar == Scalar::Float {
                        let lit = Literal::f32_suffixed(value as f32);
                        quote!(#lit)
                    } else {
                        let lit = Literal::f64_suffixed(value);
                        quote!(#lit)
                    }
                }
            }
        }
        Scalar::Uint32 | Scalar::Fixed32 => {
            let lit = Literal::u32_suffixed(text.parse().unwrap_or(0));
            quote!(#lit)
        }
        Scalar::Uint64 | Scalar::Fixed64 => {
            let lit = Literal::u64_suffixed(text.parse().unwrap_or(0));
            quote!(#lit)
        }
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => {
            let value: i32 = text.parse().unwrap_or(0);
            let lit = Literal::i32_suffixed(value);
            quote!(#lit)
        }
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => {
            let value: i64 = text.parse().unwrap_or(0);
            let lit = Literal::i64_suffixed(value);
            quote!(#lit)
        }
    }
}

/// Undoes the C escaping protoc applies to `bytes` defaults.
fn unescape_bytes(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        i += 1;
        match bytes[i] {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'x' | b'X' => {
                let digits: String = text[i + 1..]
                    .chars()
                    .take(2)
                    .take_while(char::is_ascii_hexdigit)
                    .collect();
                out.push(u8::from_str_radix(&digits, 16).unwrap_or(0));
                i += digits.len();
            }
            b'0'..=b'7' => {
                let digits: String = text[i..]
                    .chars()
                    .take(3)
                    .take_while(|c| ('0'..='7').contains(c))
                    .collect();
                out.push(u8::from_str_radix(&digits, 8).unwrap_or(0));
                i += digits.len() - 1;
            }
            other => out.push(other),
        }
        i += 1;
    }
    out
}

fn nested_module(message: &Message) -> Option<TokenStream> {
    if message.messages.is_empty() && message.enums.is_empty() && message.oneofs.is_empty() {
        return None;
    }
    let module = ident(&message.module);
    let messages = message.messages.iter().map(self::message);
    let enums = message.enums.iter().map(super::enumeration::enumeration);
    let oneofs = message.oneofs.iter().map(super::oneof::oneof);
    let doc = format!(
        " Nested types and oneofs of [`{}`].",
        message.rust_name.trim_start_matches("r#")
    );
    Some(quote! {
        #[doc = #doc]
        pub mod #module {
            #(#messages)*
            #(#enums)*
            #(#oneofs)*
        }
    })
}

#[cfg(test)]
mod tests {
    use super::unescape_bytes;

    #[test]
    fn unescapes_c_escapes() {
        assert_eq!(unescape_bytes(r"a\001\x7f\n\\"), b"a\x01\x7f\n\\");
        assert_eq!(unescape_bytes(r"\0"), b"\0");
    }
}
