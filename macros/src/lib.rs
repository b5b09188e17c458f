//! Procedural macros for protocall, re-exported by the `protocall` crate:
//! `#[protocall::service]` turns a Rust trait into a standard gRPC service
//! (server, client, descriptor, `.proto` export), and
//! `#[derive(protocall::Message)]`, `#[derive(protocall::Enumeration)]` and
//! `#[derive(protocall::Oneof)]` make Rust types protobuf messages. They
//! build protocall's code model and call the same emitter as `.proto`
//! generation, so both paths produce the same code.
//!
//! Their examples live on the re-exports in the `protocall` crate
//! (`protocall::Message`, `protocall::Enumeration`, `protocall::Oneof`,
//! `protocall::service`): a doctest here could not use them, since this
//! crate's doctests cannot depend on `protocall`, which depends on it.

mod attrs;
mod derive;
mod service;
mod types;

use proc_macro::TokenStream;

fn expand(result: syn::Result<proc_macro2::TokenStream>) -> TokenStream {
    result.unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Implements `protocall::Message` (and `protocall::__private::reflect::Describe`)
/// for a struct whose fields carry `#[proto(tag = N)]`.
#[proc_macro_derive(Message, attributes(proto))]
pub fn derive_message(input: TokenStream) -> TokenStream {
    expand(syn::parse(input).and_then(derive::message))
}

/// Implements `protocall::Enumeration` for a fieldless enum whose first
/// variant is 0.
#[proc_macro_derive(Enumeration, attributes(proto))]
pub fn derive_enumeration(input: TokenStream) -> TokenStream {
    expand(syn::parse(input).and_then(derive::enumeration))
}

/// Makes an enum of one-value variants (each `#[proto(tag = N)]`) usable as
/// a oneof field (`#[proto(oneof, tags = "…")] kind: Option<Kind>`).
#[proc_macro_derive(Oneof, attributes(proto))]
pub fn derive_oneof(input: TokenStream) -> TokenStream {
    expand(syn::parse(input).and_then(derive::oneof))
}

/// Turns a trait of `async fn` methods into a gRPC service: the server
/// trait and `…Server<T>` wrapper, the `…Client`, and `proto_source()`.
#[proc_macro_attribute]
pub fn service(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse(attr) {
        Ok(args) => args,
        Err(e) => return e.into_compile_error().into(),
    };
    expand(syn::parse(item).and_then(|item| service::service(args, item)))
}
