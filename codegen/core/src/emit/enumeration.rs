//! Rust enums for proto enums, with their `Enumeration` impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::{deprecated, doc_or};
use crate::model::Enum;

/// The Rust enum and its `Enumeration` impl.
pub(crate) fn enumeration(e: &Enum) -> TokenStream {
    emit(e, false)
}

/// Only the `Enumeration` impl, for `#[derive(protocall::Enumeration)]`.
pub(crate) fn impls(e: &Enum) -> TokenStream {
    emit(e, true)
}

fn emit(e: &Enum, impl_only: bool) -> TokenStream {
    let name = &e.rust_name;
    let docs = doc_or(&e.doc, format!(" The `{}` enum.", e.full_name));
    let attrs = &e.attributes;
    let enum_deprecated = deprecated(e.deprecated);
    let variants = e.values.iter().enumerate().map(|(i, value)| {
        let variant = &value.rust_name;
        let number = proc_macro2::Literal::i32_unsuffixed(value.number);
        let docs = doc_or(&value.doc, format!(" `{}` = {}.", value.proto_name, number));
        let deprecated = deprecated(value.deprecated);
        // The first value is the default: proto3 requires it to be zero,
        // proto2 uses it for unset fields.
        let default = (i == 0).then(|| quote!(#[default]));
        quote!(#docs #deprecated #default #variant = #number,)
    });
    let aliases = e.aliases.iter().map(|alias| {
        let (proto_name, target) = (&alias.proto_name, &alias.target);
        let alias = &alias.rust_name;
        let doc = format!(
            " Alias `{proto_name}` of [`{name}::{}`].",
            target.to_string().trim_start_matches("r#")
        );
        quote!(#[doc = #doc] pub const #alias: #name = #name::#target;)
    });
    // Aliases that differ only in case keep their proto spelling (`moo`).
    let lower = e.aliases.iter().any(|a| {
        let name = a.rust_name.to_string();
        name.chars().any(|c| c.is_ascii_lowercase())
    });
    let allow_lower = lower.then(|| quote!(#[allow(non_upper_case_globals)]));
    let alias_impl =
        (!e.aliases.is_empty()).then(|| quote!(#allow_lower impl #name { #(#aliases)* }));
    let from_i32 = e.values.iter().map(|value| {
        let variant = &value.rust_name;
        let number = proc_macro2::Literal::i32_unsuffixed(value.number);
        quote!(#number => #name::#variant,)
    });
    let as_str = e.values.iter().map(|value| {
        let variant = &value.rust_name;
        let proto_name = &value.proto_name;
        quote!(#name::#variant => #proto_name,)
    });
    let from_str = e
        .values
        .iter()
        .map(|value| (value.proto_name.as_str(), &value.rust_name))
        .chain(
            e.aliases
                .iter()
                .map(|alias| (alias.proto_name.as_str(), &alias.target)),
        )
        .map(|(proto_name, variant)| quote!(#proto_name => #name::#variant,));

    let allow = e
        .values
        .iter()
        .any(|v| v.deprecated)
        .then(|| quote!(#[allow(deprecated)]));
    let full_name = &e.full_name;
    let impls = quote! {
        #allow
        impl ::protocall::Enumeration for #name {
            const FULL_NAME: &'static str = #full_name;

            fn from_i32(value: i32) -> ::core::option::Option<#name> {
                ::core::option::Option::Some(match value {
                    #(#from_i32)*
                    _ => return ::core::option::Option::None,
                })
            }

            fn to_i32(self) -> i32 {
                self as i32
            }

            fn as_str_name(self) -> &'static str {
                match self {
                    #(#as_str)*
                }
            }

            fn from_str_name(name: &str) -> ::core::option::Option<#name> {
                ::core::option::Option::Some(match name {
                    #(#from_str)*
                    _ => return ::core::option::Option::None,
                })
            }
        }
    };
    if impl_only {
        return impls;
    }
    let describe = (!e.file.is_empty())
        .then(|| super::describe::imported(name, &e.full_name, &e.file, e.descriptor_depth));
    quote! {
        #docs
        #(#attrs)*
        #enum_deprecated
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[repr(i32)]
        pub enum #name {
            #(#variants)*
        }

        #alias_impl
        #impls
        #describe
    }
}
