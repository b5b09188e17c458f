//! Oneof enums: one variant per member field.

use proc_macro2::TokenStream;
use quote::quote;

use super::field::{codec, number, value_type, wire_type};
use super::{deprecated, doc_or};
use crate::model::{Field, Kind, Oneof};

/// The oneof enum and its impl.
pub(crate) fn oneof(oneof: &Oneof) -> TokenStream {
    let name = &oneof.enum_name;
    let docs = doc_or(&oneof.doc, format!(" The `{}` oneof.", oneof.name));
    let impls = impls(oneof);
    let variants = oneof.fields.iter().map(|field| {
        let variant = variant(field);
        let ty = value_type(&field.kind, field.boxed);
        let docs = doc_or(
            &field.doc,
            format!(" Field `{}` = {}.", field.name, field.number),
        );
        let deprecated = deprecated(field.deprecated);
        let attrs = &field.attributes;
        quote!(#docs #(#attrs)* #deprecated #variant(#ty),)
    });
    quote! {
        #docs
        // Members are stored inline, as their fields would be.
        #[allow(clippy::large_enum_variant)]
        #[derive(Clone, PartialEq, Debug)]
        pub enum #name {
            #(#variants)*
        }

        #impls
    }
}

/// The oneof's `encode` / `encoded_len` / `merge` (all a derive emits).
pub(crate) fn impls(oneof: &Oneof) -> TokenStream {
    let name = &oneof.enum_name;
    let encodes = oneof.fields.iter().map(|field| {
        let variant = variant(field);
        let number = number(field);
        let codec = codec(&field.kind);
        quote!(#name::#variant(value) => #codec::encode(#number, value, buf),)
    });
    let lens = oneof.fields.iter().map(|field| {
        let variant = variant(field);
        let number = number(field);
        let codec = codec(&field.kind);
        quote!(#name::#variant(value) => #codec::encoded_len(#number, value),)
    });
    let unknown = oneof.takes_unknown();
    let unknown_param =
        unknown.then(|| quote!(, unknown: ::core::option::Option<&mut ::protocall::UnknownFields>));
    let arms = oneof.fields.iter().map(|field| merge_arm(name, field));
    let names = oneof.fields.iter().map(|field| {
        let number = number(field);
        let proto_name = &field.name;
        quote!(#number => #proto_name,)
    });
    let allow = oneof
        .fields
        .iter()
        .any(|f| f.deprecated)
        .then(|| quote!(#[allow(deprecated)]));

    quote! {
        #allow
        impl #name {
            /// Writes the member that is set.
            pub fn encode<B: ::protocall::bytes::BufMut + ?Sized>(&self, buf: &mut B) {
                match self {
                    #(#encodes)*
                }
            }

            /// Bytes [`Self::encode`] writes.
            pub fn encoded_len(&self) -> usize {
                match self {
                    #(#lens)*
                }
            }

            /// The proto name of member `number`.
            pub fn field_name(number: u32) -> ::core::option::Option<&'static str> {
                ::core::option::Option::Some(match number {
                    #(#names)*
                    _ => return ::core::option::Option::None,
                })
            }

            /// Reads member `number` into `field`: a message member merges
            /// into the value already set, any other member replaces it.
            pub fn merge(
                field: &mut ::core::option::Option<#name>,
                number: u32,
                wire_type: ::protocall::__private::WireType,
                decoder: &mut ::protocall::__private::Decoder<'_>
                #unknown_param
            ) -> ::core::result::Result<(), ::protocall::DecodeError> {
                match number {
                    #(#arms)*
                    _ => ::core::result::Result::Err(::protocall::DecodeError::new(
                        ::protocall::DecodeErrorKind::WireTypeMismatch,
                    )),
                }
            }
        }
    }
}

/// A member's variant: the model names oneof members in UpperCamelCase.
fn variant(field: &Field) -> &proc_macro2::Ident {
    &field.rust_name
}

fn merge_arm(name: &proc_macro2::Ident, field: &Field) -> TokenStream {
    let number = number(field);
    let codec = codec(&field.kind);
    let boxed = value_type(&field.kind, true);
    member_arm(
        name,
        field,
        MemberReads {
            message: match field.kind {
                Kind::Group { .. } => quote!(#codec::merge(#number, wire_type, value, decoder)),
                _ => quote!(#codec::merge(wire_type, value, decoder)),
            },
            charge_box: quote!(decoder.charge_new::<#boxed>()?;),
            closed_enum: quote!(#codec::merge_optional(#number, wire_type, &mut value, decoder, unknown)),
            other: quote!(#codec::merge(wire_type, &mut value, decoder)),
        },
    )
}

/// How a oneof's `merge` reads one member: into the message set in the
/// field (`value: &mut T`), charging a new box, a closed enum's value into
/// `value: Option<E>`, any other value into `value: T`.
pub(crate) struct MemberReads {
    pub(crate) message: TokenStream,
    pub(crate) charge_box: TokenStream,
    pub(crate) closed_enum: TokenStream,
    pub(crate) other: TokenStream,
}

/// A member's arm of a oneof's `merge` (owned or view): a message member
/// merges into the value already set, any other member replaces it.
pub(crate) fn member_arm(
    name: &proc_macro2::Ident,
    field: &Field,
    reads: MemberReads,
) -> TokenStream {
    let variant = variant(field);
    let number = number(field);
    let wire = wire_type(&field.kind);
    let MemberReads {
        message,
        charge_box,
        closed_enum,
        other,
    } = reads;
    let body = match &field.kind {
        Kind::Message { .. } | Kind::Group { .. } => {
            // A boxed member costs its box: charge the decode's budget.
            let charge = field.boxed.then_some(charge_box);
            quote! {
                if !::core::matches!(field, ::core::option::Option::Some(#name::#variant(_))) {
                    #charge
                    *field = ::core::option::Option::Some(#name::#variant(::core::default::Default::default()));
                }
                let ::core::option::Option::Some(#name::#variant(value)) = field else {
                    ::core::unreachable!()
                };
                #message
            }
        }
        Kind::Enum(e) if e.closed => quote! {
            let mut value = ::core::option::Option::None;
            #closed_enum?;
            if let ::core::option::Option::Some(value) = value {
                *field = ::core::option::Option::Some(#name::#variant(value));
            }
            ::core::result::Result::Ok(())
        },
        _ => quote! {
            let mut value = ::core::default::Default::default();
            #other?;
            *field = ::core::option::Option::Some(#name::#variant(value));
            ::core::result::Result::Ok(())
        },
    };
    quote!(#number if wire_type == #wire => { #body })
}
