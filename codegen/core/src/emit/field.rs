//! What message fields and oneof members share: Rust types, codec kinds,
//! wire types, field numbers.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::ident;
use crate::model::{Field, Kind, Label, Scalar};

/// The Rust type of one value of `kind` (boxed when asked).
pub(crate) fn value_type(kind: &Kind, boxed: bool) -> TokenStream {
    let ty = match kind {
        Kind::Scalar(scalar) => scalar_type(*scalar),
        Kind::String => quote!(::std::string::String),
        Kind::Bytes { shared: false, .. } => quote!(::std::vec::Vec<u8>),
        Kind::Bytes { shared: true, .. } => quote!(::protocall::bytes::Bytes),
        Kind::Enum(e) if e.closed => {
            let p = &e.path;
            quote!(#p)
        }
        Kind::Enum(e) => {
            let p = &e.path;
            quote!(::protocall::EnumValue<#p>)
        }
        Kind::Message { path, .. } | Kind::Group { path, .. } => quote!(#path),
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

/// The type of a struct field: its value type under its cardinality.
pub(crate) fn field_type(field: &Field) -> TokenStream {
    under_label(field, value_type(&field.kind, field.boxed))
}

/// `value` (a field's value type) under the field's cardinality: itself,
/// `Option`, `Vec`, or (maps) itself.
pub(crate) fn under_label(field: &Field, value: TokenStream) -> TokenStream {
    if matches!(field.kind, Kind::Map { .. }) {
        return value;
    }
    match field.label {
        Label::Implicit | Label::Required => value,
        Label::Optional => quote!(::core::option::Option<#value>),
        Label::Repeated { .. } => quote!(::std::vec::Vec<#value>),
    }
}

pub(crate) fn scalar_type(scalar: Scalar) -> TokenStream {
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

/// The codec kind (`::protocall::__private::codec::Int32`, …) for `kind`.
pub(crate) fn codec(kind: &Kind) -> TokenStream {
    let name = ident(match kind {
        Kind::Scalar(s) => s.name(),
        Kind::String => "Str",
        Kind::Bytes { .. } => "Bytes",
        Kind::Enum(e) if e.closed => "ClosedEnum",
        Kind::Enum(_) => "Enum",
        Kind::Message { .. } => "Msg",
        Kind::Group { .. } => "Group",
        Kind::Map { .. } => "Map",
    });
    quote!(::protocall::__private::codec::#name)
}

/// The kind that prints `kind` as JSON: its codec, but for strings kept as
/// bytes (unchecked UTF-8), which print as strings.
pub(crate) fn json_codec(kind: &Kind) -> TokenStream {
    match kind {
        Kind::Bytes { text: true, .. } => quote!(::protocall::__private::json::Utf8Bytes),
        _ => codec(kind),
    }
}

/// The descriptor type (`field_descriptor_proto::Type::…`) for `kind`.
pub(crate) fn proto_type(kind: &Kind) -> TokenStream {
    let name = ident(match kind {
        Kind::Scalar(s) => s.name(),
        Kind::String => "String",
        Kind::Bytes { .. } => "Bytes",
        Kind::Enum(_) => "Enum",
        Kind::Message { .. } | Kind::Map { .. } => "Message",
        Kind::Group { .. } => "Group",
    });
    quote!(::protocall::types::field_descriptor_proto::Type::#name)
}

/// The wire type a value of `kind` arrives with.
pub(crate) fn wire_type(kind: &Kind) -> TokenStream {
    let name = ident(match kind {
        Kind::Scalar(Scalar::Fixed32 | Scalar::Sfixed32 | Scalar::Float) => "Fixed32",
        Kind::Scalar(Scalar::Fixed64 | Scalar::Sfixed64 | Scalar::Double) => "Fixed64",
        Kind::Scalar(_) | Kind::Enum(_) => "Varint",
        Kind::Group { .. } => "StartGroup",
        Kind::String | Kind::Bytes { .. } | Kind::Message { .. } | Kind::Map { .. } => {
            "LengthDelimited"
        }
    });
    quote!(::protocall::__private::WireType::#name)
}

pub(crate) fn is_closed_enum(kind: &Kind) -> bool {
    matches!(kind, Kind::Enum(e) if e.closed)
}

/// A field number as an unsuffixed literal.
pub(crate) fn number(field: &Field) -> Literal {
    Literal::u32_unsuffixed(field.number)
}

/// The suffix of the codec function for a field's cardinality.
pub(crate) fn cardinality(field: &Field) -> &'static str {
    match field.label {
        Label::Implicit => "_implicit",
        Label::Optional => "_optional",
        Label::Required => "",
        Label::Repeated { packed: true } => "_packed",
        Label::Repeated { packed: false } => "_repeated",
    }
}

/// The codec function reading one value under a field's cardinality.
pub(crate) fn merge_function(field: &Field) -> Ident {
    ident(match field.label {
        Label::Implicit | Label::Required => "merge",
        Label::Optional => "merge_optional",
        Label::Repeated { .. } => "merge_repeated",
    })
}
