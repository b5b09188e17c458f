//! `#[derive(Message)]`, `#[derive(Enumeration)]`, `#[derive(Oneof)]`: the
//! model built from a Rust type, then the shared emitter's impls.

use std::collections::HashMap;

use heck::{ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::{Ident, Span, TokenStream};
use protocall_codegen_core::inline;
use protocall_codegen_core::model::{Enum, EnumValue, Field, Kind, Message, Oneof};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attrs::{self, check_tag, docs, no_generics};
use crate::types;

/// `package.Name`, or `Name` without a package.
fn full_name(input: &DeriveInput, proto: &attrs::ProtoAttrs) -> String {
    let name = proto
        .name
        .clone()
        .unwrap_or_else(|| input.ident.to_string());
    match &proto.package {
        Some(package) if !package.is_empty() => format!("{package}.{name}"),
        _ => name,
    }
}

/// `ident` without its span: generated items are named at the call site,
/// as the emitter names everything.
fn plain(ident: &Ident) -> Ident {
    let mut ident = ident.clone();
    ident.set_span(Span::call_site());
    ident
}

/// An identifier the model needs that the user did not write (`member_8`).
fn synthetic(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The snake_case module or field name generated code would give `ident`.
fn snake_of(ident: &Ident) -> syn::Result<Ident> {
    let name = protocall_codegen_core::names::snake(&ident.to_string());
    protocall_codegen_core::names::ident(&name).map_err(|e| syn::Error::new(ident.span(), e))
}

/// Remembers field numbers and who took them, failing on the second use.
#[derive(Default)]
struct Tags(HashMap<u32, String>);

impl Tags {
    fn claim(&mut self, tag: u32, span: Span, by: &str) -> syn::Result<()> {
        check_tag(tag, span)?;
        if let Some(first) = self.0.get(&tag) {
            return Err(syn::Error::new(
                span,
                format!("field number {tag} is already used by `{first}`"),
            ));
        }
        self.0.insert(tag, by.to_string());
        Ok(())
    }
}

pub(crate) fn message(input: DeriveInput) -> syn::Result<TokenStream> {
    no_generics(&input.generics, "a protobuf message")?;
    let proto = attrs::proto(&input.attrs)?;
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Message)] works on structs with named fields",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "#[derive(Message)] needs named fields",
        ));
    };
    let mut tags = Tags::default();
    let mut fields = Vec::new();
    let mut oneofs = Vec::new();
    let mut keep_unknown = false;
    let mut oneof_spans = HashMap::new();
    for field in &named.named {
        let ident = field.ident.as_ref().expect("named field");
        let rust_name = ident.to_string();
        if rust_name == "_unknown_fields" {
            keep_unknown = true;
            continue;
        }
        let attrs = attrs::proto(&field.attrs)?;
        let name = attrs
            .name
            .clone()
            .unwrap_or_else(|| rust_name.trim_start_matches("r#").to_string());
        if attrs.oneof {
            if attrs.tags.is_empty() {
                return Err(syn::Error::new(
                    ident.span(),
                    "a oneof field needs `tags = \"…\"` listing its members' numbers",
                ));
            }
            let members = attrs
                .tags
                .iter()
                .map(|&(tag, span)| {
                    tags.claim(tag, span, &rust_name)?;
                    Ok(Field {
                        name: format!("{name}_{tag}"),
                        json_name: format!("{name}_{tag}").to_lower_camel_case(),
                        rust_name: synthetic(&format!("member_{tag}")),
                        number: tag,
                        kind: Kind::String,
                        label: protocall_codegen_core::model::Label::Optional,
                        boxed: false,
                        default: None,
                        doc: Vec::new(),
                        deprecated: false,
                        attributes: Vec::new(),
                    })
                })
                .collect::<syn::Result<Vec<_>>>()?;
            let enum_type = option_inner(&field.ty).ok_or_else(|| {
                syn::Error::new(
                    field.ty.span(),
                    "a oneof field must be `Option<YourOneofEnum>`",
                )
            })?;
            let path = types::type_path(enum_type)?;
            let enum_name = path
                .segments
                .last()
                .map(|s| plain(&s.ident))
                .ok_or_else(|| syn::Error::new(enum_type.span(), "expected a oneof enum type"))?;
            oneof_spans.insert(rust_name.clone(), field.ty.span());
            oneofs.push(Oneof {
                name,
                path,
                rust_name: plain(ident),
                enum_name,
                fields: members,
                doc: docs(&field.attrs),
            });
            continue;
        }
        let (tag, span) = attrs.tag.ok_or_else(|| {
            syn::Error::new(ident.span(), "missing `#[proto(tag = N)]` on this field")
        })?;
        tags.claim(tag, span, &rust_name)?;
        let over = attrs.scalar.as_ref().map(|(w, s)| (w.as_str(), *s));
        let mapped = types::field(&field.ty, over)?;
        fields.push(Field {
            json_name: name.to_lower_camel_case(),
            name,
            rust_name: plain(ident),
            number: tag,
            kind: mapped.kind,
            label: mapped.label,
            boxed: mapped.boxed,
            default: None,
            doc: docs(&field.attrs),
            deprecated: false,
            attributes: Vec::new(),
        });
    }
    // The oneof enums must declare exactly the tags listed here.
    let checks = oneofs.iter().map(|oneof| {
        let mut tags: Vec<u32> = oneof.fields.iter().map(|f| f.number).collect();
        tags.sort_unstable();
        let ty = &oneof.path;
        let message = format!(
            "the `tags` of oneof field `{}` differ from the `#[proto(tag = …)]`s of `{}`",
            oneof.rust_name, oneof.enum_name
        );
        let span = oneof_spans[&oneof.rust_name.to_string()];
        quote::quote_spanned! {span=>
            const _: () = ::core::assert!(::protocall::__private::reflect::same_tags(#ty::TAGS, &[#(#tags),*]), #message);
        }
    }).collect::<Vec<_>>();
    let shares_bytes = fields.iter().any(|f| f.kind.is_shared_bytes());
    let model = Message {
        full_name: full_name(&input, &proto),
        rust_name: plain(&input.ident),
        module: snake_of(&input.ident)?,
        fields,
        oneofs,
        messages: Vec::new(),
        enums: Vec::new(),
        doc: docs(&input.attrs),
        deprecated: false,
        keep_unknown,
        view: false,
        attributes: Vec::new(),
        describe: true,
        file: String::new(),
        // Contained messages cannot be seen from here: only the struct's
        // own `Bytes` fields count.
        shares_bytes,
        reflect: None,
        extendable: false,
        extensions: Vec::new(),
    };
    let impls = inline::message(&model);
    Ok(quote::quote!(#impls #(#checks)*))
}

fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

pub(crate) fn enumeration(input: DeriveInput) -> syn::Result<TokenStream> {
    no_generics(&input.generics, "a protobuf enum")?;
    let proto = attrs::proto(&input.attrs)?;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Enumeration)] works on enums",
        ));
    };
    let prefix = proto
        .name
        .clone()
        .unwrap_or_else(|| input.ident.to_string())
        .to_shouty_snake_case();
    let mut next = 0i32;
    let mut values = Vec::new();
    let mut seen = HashMap::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new(
                variant.span(),
                "protobuf enum variants carry no data",
            ));
        }
        let number = match &variant.discriminant {
            Some((_, expr)) => discriminant(expr)?,
            None => next,
        };
        next = number.wrapping_add(1);
        // Point at `= N` when there is one, else at the variant.
        let span = match &variant.discriminant {
            Some((_, expr)) => expr.span(),
            None => variant.ident.span(),
        };
        if values.is_empty() && number != 0 {
            return Err(syn::Error::new(
                span,
                "the first variant must be 0: a protobuf enum's first value is its default",
            ));
        }
        if let Some(first) = seen.insert(number, variant.ident.to_string()) {
            return Err(syn::Error::new(
                span,
                format!("value {number} is already used by `{first}`"),
            ));
        }
        let attrs = attrs::proto(&variant.attrs)?;
        let proto_name = attrs.name.unwrap_or_else(|| {
            format!(
                "{prefix}_{}",
                variant.ident.to_string().to_shouty_snake_case()
            )
        });
        values.push(EnumValue {
            proto_name,
            rust_name: plain(&variant.ident),
            number,
            doc: docs(&variant.attrs),
            deprecated: false,
        });
    }
    let model = Enum {
        full_name: full_name(&input, &proto),
        file: String::new(),
        descriptor_depth: None,
        rust_name: plain(&input.ident),
        values,
        aliases: Vec::new(),
        doc: docs(&input.attrs),
        deprecated: false,
        attributes: Vec::new(),
    };
    Ok(inline::enumeration(&model))
}

fn discriminant(expr: &syn::Expr) -> syn::Result<i32> {
    let (negative, inner) = match expr {
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    match inner {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => {
            let value: i64 = i.base10_parse()?;
            let value = if negative { -value } else { value };
            i32::try_from(value)
                .map_err(|_| syn::Error::new(expr.span(), "enum values must fit in i32"))
        }
        _ => Err(syn::Error::new(
            expr.span(),
            "enum values must be integer literals",
        )),
    }
}

pub(crate) fn oneof(input: DeriveInput) -> syn::Result<TokenStream> {
    no_generics(&input.generics, "a oneof")?;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Oneof)] works on enums",
        ));
    };
    let mut tags = Tags::default();
    let mut fields = Vec::new();
    for variant in &data.variants {
        let Fields::Unnamed(unnamed) = &variant.fields else {
            return Err(syn::Error::new(
                variant.span(),
                "a oneof variant holds exactly one value: `Name(Type)`",
            ));
        };
        if unnamed.unnamed.len() != 1 {
            return Err(syn::Error::new(
                variant.span(),
                "a oneof variant holds exactly one value: `Name(Type)`",
            ));
        }
        let attrs = attrs::proto(&variant.attrs)?;
        let (tag, span) = attrs.tag.ok_or_else(|| {
            syn::Error::new(
                variant.ident.span(),
                "missing `#[proto(tag = N)]` on this variant",
            )
        })?;
        tags.claim(tag, span, &variant.ident.to_string())?;
        let over = attrs.scalar.as_ref().map(|(w, s)| (w.as_str(), *s));
        let mapped = types::oneof_member(&unnamed.unnamed[0].ty, over)?;
        let name = attrs
            .name
            .unwrap_or_else(|| variant.ident.to_string().to_snake_case());
        fields.push(Field {
            json_name: name.to_lower_camel_case(),
            name,
            rust_name: plain(&variant.ident),
            number: tag,
            kind: mapped.kind,
            label: mapped.label,
            boxed: mapped.boxed,
            default: None,
            doc: docs(&variant.attrs),
            deprecated: false,
            attributes: Vec::new(),
        });
    }
    let mut tags: Vec<u32> = fields.iter().map(|f| f.number).collect();
    tags.sort_unstable();
    let ident = &input.ident;
    let tags_const = quote::quote! {
        impl #ident {
            /// The field numbers of the members, sorted.
            #[doc(hidden)]
            pub const TAGS: &'static [u32] = &[#(#tags),*];
        }
    };
    let model = Oneof {
        name: input.ident.to_string().to_snake_case(),
        path: plain(&input.ident).into(),
        rust_name: snake_of(&input.ident)?,
        enum_name: plain(&input.ident),
        fields,
        doc: docs(&input.attrs),
    };
    let impls = inline::oneof(&model);
    Ok(quote::quote!(#impls #tags_const))
}
