//! `#[proto(...)]` attributes and doc comments.

use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Lit, LitInt, LitStr, Meta};

/// What a `#[proto(...)]` attribute list says.
#[derive(Default)]
pub(crate) struct ProtoAttrs {
    pub(crate) tag: Option<(u32, proc_macro2::Span)>,
    pub(crate) name: Option<String>,
    pub(crate) package: Option<String>,
    /// `sint32`, `fixed64`, … overriding the default mapping.
    pub(crate) scalar: Option<(String, proc_macro2::Span)>,
    pub(crate) oneof: bool,
    pub(crate) tags: Vec<(u32, proc_macro2::Span)>,
}

const SCALAR_OVERRIDES: &[&str] = &[
    "int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32",
    "sfixed64",
];

fn string(expr: &Expr) -> syn::Result<LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s.clone()),
        other => Err(syn::Error::new(other.span(), "expected a string literal")),
    }
}

fn int(expr: &Expr) -> syn::Result<LitInt> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Ok(i.clone()),
        other => Err(syn::Error::new(other.span(), "expected an integer literal")),
    }
}

/// Parses every `#[proto(...)]` in `attrs`.
pub(crate) fn proto(attrs: &[Attribute]) -> syn::Result<ProtoAttrs> {
    let mut out = ProtoAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("proto")) {
        let list = attr.meta.require_list()?;
        let metas = list.parse_args_with(
            syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
        )?;
        for meta in metas {
            match &meta {
                Meta::Path(path) => {
                    let word = path.get_ident().map(|i| i.to_string()).unwrap_or_default();
                    if word == "oneof" {
                        out.oneof = true;
                    } else if SCALAR_OVERRIDES.contains(&word.as_str()) {
                        out.scalar = Some((word, path.span()));
                    } else {
                        return Err(syn::Error::new(
                            path.span(),
                            format!("unknown proto attribute `{word}`"),
                        ));
                    }
                }
                Meta::NameValue(nv) => {
                    let key = nv
                        .path
                        .get_ident()
                        .map(|i| i.to_string())
                        .unwrap_or_default();
                    match key.as_str() {
                        "tag" => {
                            let lit = int(&nv.value)?;
                            out.tag = Some((lit.base10_parse()?, lit.span()));
                        }
                        "name" => out.name = Some(string(&nv.value)?.value()),
                        "package" => out.package = Some(string(&nv.value)?.value()),
                        "tags" => {
                            let lit = string(&nv.value)?;
                            for part in lit
                                .value()
                                .split(',')
                                .map(str::trim)
                                .filter(|p| !p.is_empty())
                            {
                                let tag = part.parse::<u32>().map_err(|_| {
                                    syn::Error::new(
                                        lit.span(),
                                        format!("`{part}` is not a field number"),
                                    )
                                })?;
                                out.tags.push((tag, lit.span()));
                            }
                        }
                        _ => {
                            return Err(syn::Error::new(
                                nv.path.span(),
                                format!("unknown proto attribute `{key}`"),
                            ));
                        }
                    }
                }
                Meta::List(list) => {
                    return Err(syn::Error::new(
                        list.span(),
                        "unexpected nested list in proto attribute",
                    ));
                }
            }
        }
    }
    Ok(out)
}

/// Checks a field number: 1 to 2^29-1, outside protobuf's reserved
/// 19000-19999.
pub(crate) fn check_tag(tag: u32, span: proc_macro2::Span) -> syn::Result<()> {
    if tag == 0 {
        return Err(syn::Error::new(
            span,
            "field number 0 is not allowed: numbers start at 1",
        ));
    }
    if tag > (1 << 29) - 1 {
        return Err(syn::Error::new(
            span,
            "field number exceeds the maximum 536870911",
        ));
    }
    if (19000..=19999).contains(&tag) {
        return Err(syn::Error::new(
            span,
            "field numbers 19000 to 19999 are reserved by protobuf",
        ));
    }
    Ok(())
}

/// The `///` doc comment lines, as the emitter expects them (` text`).
pub(crate) fn docs(attrs: &[Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => string(&nv.value).ok().map(|s| s.value()),
            _ => None,
        })
        .collect()
}

/// Rejects generics and lifetimes, which protobuf types cannot have.
pub(crate) fn no_generics(generics: &syn::Generics, what: &str) -> syn::Result<()> {
    if let Some(param) = generics.params.first() {
        return Err(syn::Error::new(
            param.span(),
            format!("{what} cannot have generic parameters or lifetimes"),
        ));
    }
    if let Some(clause) = &generics.where_clause {
        return Err(syn::Error::new(
            clause.span(),
            format!("{what} cannot have a where clause"),
        ));
    }
    Ok(())
}
