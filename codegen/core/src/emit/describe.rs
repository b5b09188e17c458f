//! `protocall::reflect::Describe` impls for inline (macro-defined) types:
//! the descriptor an inline service exports as `.proto` source.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::field::proto_type;
use super::ident;
use crate::model::{Enum, Field, Kind, Label, Message};

fn cardinality(label: Label) -> TokenStream {
    let name = ident(match label {
        Label::Implicit | Label::Required => "Implicit",
        Label::Optional => "Optional",
        Label::Repeated { .. } => "Repeated",
    });
    quote!(::protocall::__private::reflect::Cardinality::#name)
}

/// The builder call adding `field`.
fn field_call(field: &Field, label: Label) -> TokenStream {
    let number = Literal::i32_unsuffixed(field.number as i32);
    let name = &field.name;
    let cardinality = cardinality(label);
    match &field.kind {
        Kind::Message { path: ty, .. } | Kind::Group { path: ty, .. } => {
            quote!(.message::<#ty>(#number, #name, #cardinality))
        }
        Kind::Enum(e) => {
            let ty = &e.path;
            quote!(.enumeration::<#ty>(#number, #name, #cardinality))
        }
        Kind::Map { key, value, .. } => {
            let key_type = proto_type(key);
            let value_type = proto_type(value);
            let (value_name, uses) = match &**value {
                Kind::Message { path: ty, .. } | Kind::Group { path: ty, .. } => (
                    quote!(::core::option::Option::Some(<#ty as ::protocall::Message>::FULL_NAME)),
                    quote!(.uses::<#ty>()),
                ),
                Kind::Enum(e) => {
                    let ty = &e.path;
                    (
                        quote!(::core::option::Option::Some(<#ty as ::protocall::Enumeration>::FULL_NAME)),
                        quote!(.uses::<#ty>()),
                    )
                }
                _ => (quote!(::core::option::Option::None), TokenStream::new()),
            };
            quote!(#uses .map(#number, #name, #key_type, #value_type, #value_name))
        }
        scalar => {
            let ty = proto_type(scalar);
            quote!(.scalar(#number, #name, #ty, #cardinality))
        }
    }
}

fn doc_text(lines: &[String]) -> Option<String> {
    (!lines.is_empty()).then(|| {
        lines
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `impl Describe` for a message or enum generated from `file`: an inline
/// service's export imports that file instead of redefining the type. With
/// the file's embedded descriptors `depth` modules up, it names them too,
/// so the pool of a derived message that uses the type can hold it.
pub(crate) fn imported(
    name: &Ident,
    full_name: &str,
    file: &str,
    depth: Option<usize>,
) -> TokenStream {
    let call = match depth {
        Some(depth) => {
            let supers = std::iter::repeat_n(quote!(super::), depth);
            quote!(descriptors.imported_from(#full_name, #file, #(#supers)* FILE_DESCRIPTOR_SET);)
        }
        None => quote!(descriptors.imported(#full_name, #file);),
    };
    quote! {
        impl ::protocall::__private::reflect::Describe for #name {
            fn describe(descriptors: &mut ::protocall::__private::reflect::Descriptors) {
                #call
            }
        }
    }
}

/// `impl Describe` for an inline message.
pub(crate) fn message(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let fields = message.fields.iter().map(|f| field_call(f, f.label));
    let field_docs = message
        .fields
        .iter()
        .map(|f| (&f.name, &f.doc))
        .chain(message.oneofs.iter().map(|o| (&o.name, &o.doc)))
        .filter_map(|(name, doc)| {
            let text = doc_text(doc)?;
            Some(quote!(.field_doc(#name, #text)))
        });
    // Inline messages learn their oneof members from the oneof type.
    let oneofs = message.oneofs.iter().map(|oneof| {
        let oneof_name = &oneof.name;
        let ty = &oneof.path;
        quote! {
            let message = <#ty as ::protocall::__private::reflect::DescribeOneof>::describe_members(
                message.oneof(#oneof_name),
            );
        }
    });
    let doc = doc_text(&message.doc).map(|text| quote!(.doc(#text)));
    quote! {
        impl ::protocall::__private::reflect::Describe for #name {
            fn describe(descriptors: &mut ::protocall::__private::reflect::Descriptors) {
                let ::core::option::Option::Some(message) =
                    descriptors.message(<Self as ::protocall::Message>::FULL_NAME)
                else {
                    return;
                };
                let message = message #(#fields)*;
                #(#oneofs)*
                message #doc #(#field_docs)* .finish();
            }
        }
    }
}

/// `impl DescribeOneof` for an inline oneof enum.
pub(crate) fn oneof(oneof: &crate::model::Oneof) -> TokenStream {
    let name = &oneof.enum_name;
    let members = oneof.fields.iter().map(|f| {
        let call = field_call(f, Label::Implicit);
        let doc = doc_text(&f.doc).map(|text| {
            let name = &f.name;
            quote!(.field_doc(#name, #text))
        });
        quote!(#call .in_oneof() #doc)
    });
    quote! {
        impl ::protocall::__private::reflect::DescribeOneof for #name {
            fn describe_members(
                message: ::protocall::__private::reflect::MessageDescriptor<'_>,
            ) -> ::protocall::__private::reflect::MessageDescriptor<'_> {
                message #(#members)*
            }
        }
    }
}

/// `impl Describe` for an inline enum.
pub(crate) fn enumeration(e: &Enum) -> TokenStream {
    let name = &e.rust_name;
    let values = e.values.iter().map(|v| {
        let proto_name = &v.proto_name;
        let number = Literal::i32_unsuffixed(v.number);
        quote!((#proto_name, #number))
    });
    let value_docs = e.values.iter().filter_map(|v| {
        let text = doc_text(&v.doc)?;
        let proto_name = &v.proto_name;
        Some(quote! {
            descriptors.doc(
                &::std::format!("{}.{}", <Self as ::protocall::Enumeration>::FULL_NAME, #proto_name),
                #text,
            );
        })
    });
    let doc = doc_text(&e.doc)
        .map(|text| quote!(descriptors.doc(<Self as ::protocall::Enumeration>::FULL_NAME, #text);));
    quote! {
        impl ::protocall::__private::reflect::Describe for #name {
            fn describe(descriptors: &mut ::protocall::__private::reflect::Descriptors) {
                descriptors.enumeration(<Self as ::protocall::Enumeration>::FULL_NAME, &[#(#values),*]);
                #doc
                #(#value_docs)*
            }
        }
    }
}
