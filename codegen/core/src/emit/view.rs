//! Borrowed views (`NameView<'a>`, `protocall::view`) of messages
//! generated with `views(paths)`: the message's fields with strings, bytes
//! and viewed sub-messages borrowed from the input.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::field::{codec, is_closed_enum, merge_function, number};
use super::message::{allow_deprecated, declared_bytes, declared_default};
use crate::model::{DefaultValue, Field, Kind, Label, Message, Oneof};

const VIEW: &str = "::protocall::__private::view";

/// Method names a view's getter must not take (besides the message's).
pub(crate) const RESERVED_METHODS: &[&str] = &["to_owned", "to_owned_message", "merge_field"];

/// The view type of a message: `path::NameView` for `path::Name`.
fn view_path(path: &syn::Path) -> TokenStream {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        last.ident = view_ident(&last.ident);
    }
    quote!(#path<'a>)
}

/// `Name` → `NameView`; a name escaped from a keyword loses its escape
/// (`r#Box` → `BoxView`, `Self_` → `SelfView`).
pub(crate) fn view_ident(name: &Ident) -> Ident {
    let text = name.to_string();
    let text = text.trim_start_matches("r#");
    format_ident!("{}View", text.strip_suffix('_').unwrap_or(text))
}

/// True for kinds whose view value borrows from the input.
fn borrows(kind: &Kind) -> bool {
    match kind {
        Kind::String | Kind::Bytes { .. } => true,
        Kind::Message { view, .. } | Kind::Group { view, .. } => *view,
        Kind::Map { key, value, .. } => borrows(key) || borrows(value),
        Kind::Scalar(_) | Kind::Enum(_) => false,
    }
}

/// The type of one value of `kind` in a view.
fn value_type(kind: &Kind, boxed: bool) -> TokenStream {
    let ty = match kind {
        Kind::String => quote!(&'a str),
        Kind::Bytes { .. } => quote!(&'a [u8]),
        Kind::Message { path, view: true } | Kind::Group { path, view: true } => view_path(path),
        Kind::Map { key, value, .. } => {
            let (k, v) = (value_type(key, false), value_type(value, false));
            quote!(::protocall::view::MapView<#k, #v>)
        }
        _ => return super::field::value_type(kind, boxed),
    };
    if boxed {
        quote!(::std::boxed::Box<#ty>)
    } else {
        ty
    }
}

fn field_type(field: &Field) -> TokenStream {
    super::field::under_label(field, value_type(&field.kind, field.boxed))
}

/// The kind that reads `kind` into its view storage (`ViewCodec`).
fn view_codec(kind: &Kind) -> TokenStream {
    match kind {
        Kind::Message { view: true, .. } => quote!(::protocall::__private::view::MsgView),
        _ => codec(kind),
    }
}

/// The view of `message`, its oneofs' views and its impls.
pub(crate) fn view(message: &Message) -> TokenStream {
    let name = &message.rust_name;
    let view = view_ident(name);
    let module = &message.module;
    let doc = format!(
        " A borrowed view of [`{}`]: strings, bytes and sub-messages stay in the decoded input.",
        name.to_string().trim_start_matches("r#")
    );
    let members = message.fields.iter().map(|field| {
        let field_name = &field.rust_name;
        let ty = field_type(field);
        let doc = format!(" Field `{}` = {}.", field.name, field.number);
        quote!(#[doc = #doc] pub #field_name: #ty,)
    });
    let oneof_members = message.oneofs.iter().map(|oneof| {
        let field = &oneof.rust_name;
        let ty = view_ident(&oneof.enum_name);
        let lifetime = oneof_borrows(oneof).then(|| quote!(<'a>));
        let doc = format!(" The `{}` oneof.", oneof.name);
        quote!(#[doc = #doc] pub #field: ::core::option::Option<#module::#ty #lifetime>,)
    });
    let unknown = message.keep_unknown.then(|| {
        quote! {
            /// Fields not declared in the schema, as they came.
            pub _unknown_fields: ::protocall::view::UnknownView<'a>,
        }
    });
    let uses_lifetime = message.keep_unknown
        || message.fields.iter().any(|f| borrows(&f.kind))
        || message.oneofs.iter().any(oneof_borrows);
    let marker = (!uses_lifetime).then(|| {
        quote! {
            #[doc(hidden)]
            pub _input: ::core::marker::PhantomData<&'a [u8]>,
        }
    });
    let manual_default = message
        .fields
        .iter()
        .any(|f| f.label == Label::Required && f.default.is_some());
    let derive_default = (!manual_default).then(|| quote!(Default,));
    let default_impl = manual_default.then(|| default_impl(message, &view, uses_lifetime));
    let allow = allow_deprecated(message);
    let trait_impl = view_impl(message, &view);
    let getters = message
        .fields
        .iter()
        .filter_map(|f| super::message::getter(f, true));
    let to_owned_doc = format!(
        " The owned message: what decoding the same bytes as [`{}`] builds.",
        name.to_string().trim_start_matches("r#")
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, PartialEq, Debug, #derive_default)]
        pub struct #view<'a> {
            #(#members)*
            #(#oneof_members)*
            #unknown
            #marker
        }
        #default_impl
        #trait_impl
        // SAFETY: the view holds shared references, scalars, vectors and
        // boxes of those: covariant in 'a.
        unsafe impl ::protocall::view::HasView for #name {
            type View<'a> = #view<'a>;
        }
        #allow
        impl<'a> #view<'a> {
            /// Decodes a view of all of `buf` with the default limits.
            pub fn decode(buf: &'a [u8]) -> ::core::result::Result<Self, ::protocall::DecodeError> {
                ::protocall::view::MessageView::decode(buf)
            }

            #[doc = #to_owned_doc]
            pub fn to_owned(&self) -> #name {
                ::protocall::view::MessageView::to_owned_message(self)
            }
            #(#getters)*
        }
    }
}

fn oneof_borrows(oneof: &Oneof) -> bool {
    oneof.fields.iter().any(|f| borrows(&f.kind))
}

/// The view enums of a message's oneofs (emitted in its nested module).
pub(crate) fn oneof_views(message: &Message) -> Vec<TokenStream> {
    if !message.view {
        return Vec::new();
    }
    message
        .oneofs
        .iter()
        .map(|oneof| {
            let name = view_ident(&oneof.enum_name);
            let owned = &oneof.enum_name;
            let lifetime = oneof_borrows(oneof).then(|| quote!(<'a>));
            let variants = oneof.fields.iter().map(|field| {
                let variant = &field.rust_name;
                let ty = value_type(&field.kind, field.boxed);
                quote!(#variant(#ty),)
            });
            let doc = format!(" A borrowed view of [`{owned}`].");
            let arms = oneof.fields.iter().map(|f| oneof_arm(&name, f));
            let unknown_param = oneof.takes_unknown().then(|| {
                quote!(, unknown: ::core::option::Option<&mut ::protocall::view::UnknownView<'a>>)
            });
            let (impl_lifetime, enum_lifetime) = match lifetime {
                Some(_) => (quote!(<'a>), quote!(<'a>)),
                None => (quote!(<'a>), quote!()),
            };
            let allow = oneof
                .fields
                .iter()
                .any(|f| f.deprecated)
                .then(|| quote!(#[allow(deprecated)]));
            quote! {
                #[doc = #doc]
                #[allow(clippy::large_enum_variant)]
                #[derive(Clone, PartialEq, Debug)]
                pub enum #name #enum_lifetime {
                    #(#variants)*
                }

                #allow
                impl #impl_lifetime #name #enum_lifetime {
                    /// Reads member `number` into `field`: a message member
                    /// merges into the value already set, any other member
                    /// replaces it.
                    pub fn merge(
                        field: &mut ::core::option::Option<Self>,
                        number: u32,
                        wire_type: ::protocall::__private::WireType,
                        decoder: &mut ::protocall::__private::Decoder<'a>
                        #unknown_param
                    ) -> ::core::result::Result<(), ::protocall::DecodeError> {
                        match number {
                            #(#arms)*
                            _ => ::core::result::Result::Err(::protocall::__private::view::not_mine()),
                        }
                    }
                }
            }
        })
        .collect()
}

fn view_impl(message: &Message, view: &Ident) -> TokenStream {
    let name = &message.rust_name;
    let module = &message.module;
    let unknown = if message.keep_unknown {
        quote!(::core::option::Option::Some(&mut self._unknown_fields))
    } else {
        quote!(::core::option::Option::None)
    };
    let arms = message.fields.iter().map(|field| {
        let number = number(field);
        let read = merge_expr(field, &unknown);
        quote!(#number => #read,)
    });
    let oneof_arms = message.oneofs.iter().map(|oneof| {
        let numbers = super::message::number_patterns(oneof.fields.iter().map(|f| f.number));
        let field = &oneof.rust_name;
        let extra = oneof.takes_unknown().then(|| quote!(, #unknown));
        let ty = view_ident(&oneof.enum_name);
        quote!(#(#numbers)|* => #module::#ty::merge(&mut self.#field, number, wire_type, decoder #extra),)
    });
    let unknown_mut = message.keep_unknown.then(|| {
        quote! {
            fn unknown_fields_mut(&mut self) -> ::core::option::Option<&mut ::protocall::view::UnknownView<'a>> {
                ::core::option::Option::Some(&mut self._unknown_fields)
            }
        }
    });
    let owned_fields = message.fields.iter().map(|field| {
        let field_name = &field.rust_name;
        let value = owned_field(field);
        quote!(#field_name: #value,)
    });
    let owned_oneofs = message.oneofs.iter().map(|oneof| {
        let field = &oneof.rust_name;
        let (owned, view_enum) = (&oneof.enum_name, view_ident(&oneof.enum_name));
        let arms = oneof.fields.iter().map(|member| {
            let variant = &member.rust_name;
            let convert = owned_fn(&member.kind);
            quote!(#module::#view_enum::#variant(value) => #module::#owned::#variant(#convert(value)),)
        });
        quote!(#field: self.#field.as_ref().map(|oneof| match oneof { #(#arms)* }),)
    });
    let owned_unknown = message
        .keep_unknown
        .then(|| quote!(_unknown_fields: self._unknown_fields.to_unknown_fields(),));
    let allow = allow_deprecated(message);
    let has_fields = !message.fields.is_empty() || !message.oneofs.is_empty();
    let allow_unused = (!has_fields).then(|| quote!(#[allow(unused_variables)]));
    let not_mine = quote!(::core::result::Result::Err(
        ::protocall::__private::view::not_mine()
    ));
    let body = if has_fields {
        quote! {
            match number {
                #(#arms)*
                #(#oneof_arms)*
                _ => #not_mine,
            }
        }
    } else {
        not_mine
    };
    quote! {
        #allow
        impl<'a> ::protocall::view::MessageView<'a> for #view<'a> {
            type Owned = #name;

            #allow_unused
            fn merge_field(
                &mut self,
                number: u32,
                wire_type: ::protocall::__private::WireType,
                decoder: &mut ::protocall::__private::Decoder<'a>,
            ) -> ::core::result::Result<(), ::protocall::DecodeError> {
                #body
            }

            #unknown_mut

            fn to_owned_message(&self) -> #name {
                #name {
                    #(#owned_fields)*
                    #(#owned_oneofs)*
                    #owned_unknown
                }
            }
        }
    }
}

/// The `merge_field` arm body reading one value of `field` into the view.
fn merge_expr(field: &Field, unknown: &TokenStream) -> TokenStream {
    let view: TokenStream = VIEW.parse().expect("a path");
    let number = number(field);
    let name = &field.rust_name;
    let function = merge_function(field);
    match &field.kind {
        Kind::Map { key, value, .. } if is_closed_enum(value) => {
            let k = view_codec(key);
            quote!(#view::merge_map_closed::<#k, _, _>(#number, wire_type, &mut self.#name, decoder, #unknown))
        }
        Kind::Map { key, value, .. } => {
            let (k, v) = (view_codec(key), view_codec(value));
            quote!(#view::merge_map::<#k, #v, _, _>(wire_type, &mut self.#name, decoder))
        }
        Kind::Group { view: true, .. } => {
            let function =
                format_ident!("{}", function.to_string().replace("merge", "merge_group"));
            quote!(#view::#function(#number, wire_type, &mut self.#name, decoder))
        }
        Kind::Group { view: false, .. } => {
            let codec = codec(&field.kind);
            quote!(#codec::#function(#number, wire_type, &mut self.#name, decoder))
        }
        kind if is_closed_enum(kind) => {
            let function =
                format_ident!("{}", function.to_string().replace("merge", "merge_closed"));
            quote!(#view::#function(#number, wire_type, &mut self.#name, decoder, #unknown))
        }
        kind if borrows(kind) => {
            let codec = view_codec(kind);
            quote!(#view::#function::<#codec, _>(wire_type, &mut self.#name, decoder))
        }
        kind => {
            let codec = codec(kind);
            quote!(#codec::#function(wire_type, &mut self.#name, decoder))
        }
    }
}

/// A oneof member's arm in its view enum's `merge` (the owned oneof's arm,
/// with the view's reads).
fn oneof_arm(name: &Ident, field: &Field) -> TokenStream {
    let view: TokenStream = VIEW.parse().expect("a path");
    let number = number(field);
    let codec = view_codec(&field.kind);
    let boxed = value_type(&field.kind, true);
    let message = match &field.kind {
        Kind::Group { view: true, .. } => {
            quote!(#view::merge_group(#number, wire_type, value, decoder))
        }
        Kind::Group { view: false, .. } => {
            quote!(::protocall::__private::codec::Group::merge(#number, wire_type, value, decoder))
        }
        _ => quote!(#view::merge::<#codec, _>(wire_type, value, decoder)),
    };
    let charge_box = if borrows(&field.kind) {
        quote!(decoder.charge_new_view::<#boxed>()?;)
    } else {
        quote!(decoder.charge_new::<#boxed>()?;)
    };
    super::oneof::member_arm(
        name,
        field,
        super::oneof::MemberReads {
            message,
            charge_box,
            closed_enum: quote!(#view::merge_closed_optional(#number, wire_type, &mut value, decoder, unknown)),
            other: quote!(#view::merge::<#codec, _>(wire_type, &mut value, decoder)),
        },
    )
}

/// The owned value of the view field `field`.
fn owned_field(field: &Field) -> TokenStream {
    let name = &field.rust_name;
    if let Kind::Map { key, value, .. } = &field.kind {
        let (k, v) = (owned_fn(key), owned_fn(value));
        return quote!(self.#name.collect_owned(|k, v| (#k(k), #v(v))));
    }
    let convert = owned_fn(&field.kind);
    // Stored as in the owned message: a clone of the whole field.
    if !borrows(&field.kind) {
        return quote!(::core::clone::Clone::clone(&self.#name));
    }
    match field.label {
        Label::Implicit | Label::Required => quote!(#convert(&self.#name)),
        Label::Optional => quote!(self.#name.as_ref().map(#convert)),
        Label::Repeated { .. } => quote!(self.#name.iter().map(#convert).collect()),
    }
}

/// The function making a view value of `kind` (by reference) owned.
fn owned_fn(kind: &Kind) -> TokenStream {
    match kind {
        Kind::String => quote!(::protocall::__private::view::owned_str),
        Kind::Bytes { .. } => quote!(::protocall::__private::view::owned_bytes),
        Kind::Message { view: true, .. } | Kind::Group { view: true, .. } => {
            quote!(::protocall::view::MessageView::to_owned_message)
        }
        _ => quote!(::core::clone::Clone::clone),
    }
}

/// `impl Default` for views whose required fields declare defaults.
fn default_impl(message: &Message, view: &Ident, uses_lifetime: bool) -> TokenStream {
    let fields = message.fields.iter().map(|field| {
        let field_name = &field.rust_name;
        let value = match (&field.kind, field.label, &field.default) {
            (Kind::String, Label::Required, Some(DefaultValue::String(text))) => quote!(#text),
            (Kind::Bytes { .. }, Label::Required, Some(_)) => {
                let bytes = Literal::byte_string(declared_bytes(field));
                quote!(&#bytes[..])
            }
            (_, Label::Required, Some(_)) => declared_default(field),
            _ => quote!(::core::default::Default::default()),
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
    let marker = (!uses_lifetime).then(|| quote!(_input: ::core::marker::PhantomData,));
    let allow = allow_deprecated(message);
    quote! {
        #allow
        impl<'a> ::core::default::Default for #view<'a> {
            fn default() -> Self {
                #view { #(#fields)* #(#oneofs)* #unknown #marker }
            }
        }
    }
}
