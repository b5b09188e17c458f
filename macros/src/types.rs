//! Rust field types to protobuf field kinds.

use proc_macro2::Span;
use protocall_codegen_core::model::{EnumRef, Kind, Label, Scalar};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

/// A field's kind, cardinality and storage.
pub(crate) struct Mapped {
    pub(crate) kind: Kind,
    pub(crate) label: Label,
    pub(crate) boxed: bool,
}

/// The last path segment's name and its generic type arguments.
fn segment(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let args = match &last.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        PathArguments::None => Vec::new(),
        PathArguments::Parenthesized(_) => return None,
    };
    Some((last.ident.to_string(), args))
}

fn path_text(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}

fn scalar(name: &str, over: Option<(&str, Span)>, ty: &Type) -> syn::Result<Option<Scalar>> {
    let default = match name {
        "i32" => Scalar::Int32,
        "i64" => Scalar::Int64,
        "u32" => Scalar::Uint32,
        "u64" => Scalar::Uint64,
        "f32" => Scalar::Float,
        "f64" => Scalar::Double,
        "bool" => Scalar::Bool,
        _ => {
            return match over {
                Some((word, span)) => Err(syn::Error::new(
                    span,
                    format!("`{word}` applies only to integer fields"),
                )),
                None => Ok(None),
            };
        }
    };
    let Some((word, span)) = over else {
        return Ok(Some(default));
    };
    let chosen = match (name, word) {
        ("i32", "int32") => Scalar::Int32,
        ("i32", "sint32") => Scalar::Sint32,
        ("i32", "sfixed32") => Scalar::Sfixed32,
        ("i64", "int64") => Scalar::Int64,
        ("i64", "sint64") => Scalar::Sint64,
        ("i64", "sfixed64") => Scalar::Sfixed64,
        ("u32", "uint32") => Scalar::Uint32,
        ("u32", "fixed32") => Scalar::Fixed32,
        ("u64", "uint64") => Scalar::Uint64,
        ("u64", "fixed64") => Scalar::Fixed64,
        _ => {
            return Err(syn::Error::new(
                span,
                format!("`{word}` does not fit a field of type `{}`", path_text(ty)),
            ));
        }
    };
    Ok(Some(chosen))
}

/// The path of a message or enum type written as `ty`.
pub(crate) fn type_path(ty: &Type) -> syn::Result<syn::Path> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            if path.path.segments.iter().any(|s| !s.arguments.is_none()) {
                return Err(syn::Error::new(
                    ty.span(),
                    format!(
                        "type `{}` has generic arguments: protobuf messages and enums have none",
                        path_text(ty)
                    ),
                ));
            }
            Ok(path.path.clone())
        }
        Type::Group(group) => type_path(&group.elem),
        _ => Err(unsupported(ty)),
    }
}

fn enum_ref(ty: &Type) -> syn::Result<Kind> {
    Ok(Kind::Enum(EnumRef {
        path: type_path(ty)?,
        closed: false,
        first: None,
    }))
}

/// A singular value's kind, if `ty` is a scalar, string, bytes or enum.
fn value_kind(ty: &Type, over: Option<(&str, Span)>) -> syn::Result<Option<Kind>> {
    let Some((name, args)) = segment(ty) else {
        return Err(unsupported(ty));
    };
    if let Some(s) = scalar(&name, over, ty)? {
        return Ok(Some(Kind::Scalar(s)));
    }
    Ok(match (name.as_str(), args.as_slice()) {
        ("String", []) => Some(Kind::String),
        ("Bytes", []) => Some(Kind::Bytes {
            shared: true,
            text: false,
        }),
        ("Vec", [inner]) if segment(inner).is_some_and(|(n, _)| n == "u8") => Some(Kind::Bytes {
            shared: false,
            text: false,
        }),
        ("EnumValue", [inner]) => Some(enum_ref(inner)?),
        _ => None,
    })
}

/// Rust primitives protobuf has no scalar for.
const UNMAPPED_PRIMITIVES: &[&str] = &[
    "i8", "i16", "i128", "isize", "u8", "u16", "u128", "usize", "char", "str",
];

fn unsupported(ty: &Type) -> syn::Error {
    let hint = match segment(ty) {
        Some((name, _)) if UNMAPPED_PRIMITIVES.contains(&name.as_str()) => {
            ": protobuf's scalars are `i32`, `i64`, `u32`, `u64`, `f32`, `f64`, `bool`, \
             `String`, `Vec<u8>` and `Bytes`"
        }
        _ => "",
    };
    syn::Error::new(
        ty.span(),
        format!("type `{}` has no protobuf mapping{hint}", path_text(ty)),
    )
}

/// A message type: a plain path (maybe boxed).
fn message_kind(ty: &Type) -> syn::Result<(Kind, bool)> {
    match segment(ty) {
        Some((name, args)) if name == "Box" && args.len() == 1 => {
            Ok((message_path(args[0])?, true))
        }
        Some((name, _))
            if matches!(
                name.as_str(),
                "Option" | "Vec" | "HashMap" | "BTreeMap" | "Result" | "Box"
            ) || name.starts_with(|c: char| c.is_lowercase()) =>
        {
            Err(unsupported(ty))
        }
        Some(_) => Ok((message_path(ty)?, false)),
        None => Err(unsupported(ty)),
    }
}

fn message_path(ty: &Type) -> syn::Result<Kind> {
    Ok(Kind::Message {
        path: type_path(ty)?,
        view: false,
    })
}

/// Maps a struct field's type.
pub(crate) fn field(ty: &Type, over: Option<(&str, Span)>) -> syn::Result<Mapped> {
    let Some((name, args)) = segment(ty) else {
        return Err(unsupported(ty));
    };
    match (name.as_str(), args.as_slice()) {
        ("Option", [inner]) => {
            if let Some(kind) = value_kind(inner, over)? {
                return Ok(Mapped {
                    kind,
                    label: Label::Optional,
                    boxed: false,
                });
            }
            let (kind, boxed) = message_kind(inner)?;
            Ok(Mapped {
                kind,
                label: Label::Optional,
                boxed,
            })
        }
        ("Vec", [inner]) if segment(inner).is_none_or(|(n, _)| n != "u8") => {
            if let Some(kind) = value_kind(inner, over)? {
                let packed = matches!(kind, Kind::Scalar(_) | Kind::Enum(_));
                return Ok(Mapped {
                    kind,
                    label: Label::Repeated { packed },
                    boxed: false,
                });
            }
            let (kind, _) = message_kind(inner)?;
            Ok(Mapped {
                kind,
                label: Label::Repeated { packed: false },
                boxed: false,
            })
        }
        ("HashMap" | "BTreeMap", [key, value]) => {
            let key_kind = match value_kind(key, over)? {
                Some(k @ (Kind::Scalar(_) | Kind::String))
                    if !matches!(k, Kind::Scalar(Scalar::Float | Scalar::Double)) =>
                {
                    k
                }
                _ => {
                    return Err(syn::Error::new(
                        key.span(),
                        "map keys must be integers, bool or String",
                    ));
                }
            };
            let value_kind = match value_kind(value, None)? {
                Some(kind) => kind,
                None => message_kind(value)?.0,
            };
            Ok(Mapped {
                kind: Kind::Map {
                    key: Box::new(key_kind),
                    value: Box::new(value_kind),
                    btree: name == "BTreeMap",
                },
                label: Label::Repeated { packed: false },
                boxed: false,
            })
        }
        _ => match value_kind(ty, over)? {
            Some(kind) => Ok(Mapped {
                kind,
                label: Label::Implicit,
                boxed: false,
            }),
            None if UNMAPPED_PRIMITIVES.contains(&name.as_str()) => Err(unsupported(ty)),
            None => Err(syn::Error::new(
                ty.span(),
                format!(
                    "type `{}` has no protobuf mapping: use `Option<{0}>` for a message field \
                     or `EnumValue<{0}>` for an enum field",
                    path_text(ty)
                ),
            )),
        },
    }
}

/// Maps a oneof variant's type.
pub(crate) fn oneof_member(ty: &Type, over: Option<(&str, Span)>) -> syn::Result<Mapped> {
    if let Some(kind) = value_kind(ty, over)? {
        return Ok(Mapped {
            kind,
            label: Label::Optional,
            boxed: false,
        });
    }
    let (kind, boxed) = message_kind(ty)?;
    Ok(Mapped {
        kind,
        label: Label::Optional,
        boxed,
    })
}
