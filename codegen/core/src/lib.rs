//! The model and the one emitter of protocall's generated code.
//!
//! `protocall-codegen` lowers descriptors (from protox, protoc or a
//! `FileDescriptorSet`) into [`model`] and calls [`emit`];
//! `protocall-macros` builds the same model from Rust syntax and calls the
//! same emitter through [`inline`]. Users depend on neither directly.

pub mod doc;
pub mod emit;
pub mod model;
pub mod names;

/// What the proc macros emit, from the same model and emitter as generated
/// code.
pub mod inline {
    use proc_macro2::TokenStream;

    use crate::emit;
    use crate::model::{Enum, Message, Oneof, Service};

    /// `Message`, `Describe` and `ReflectMessage` impls for a
    /// `#[derive(Message)]` struct.
    pub fn message(message: &Message) -> TokenStream {
        let message_impl = emit::message::message_impl(message);
        let describe = emit::describe::message(message);
        let reflect = emit::message::described_reflect_impl(message);
        quote::quote!(#message_impl #describe #reflect)
    }

    /// The oneof impls for a `#[derive(Oneof)]` enum.
    pub fn oneof(oneof: &Oneof) -> TokenStream {
        let impls = emit::oneof::impls(oneof);
        let describe = emit::describe::oneof(oneof);
        quote::quote!(#impls #describe)
    }

    /// `Enumeration` and `Describe` impls for a `#[derive(Enumeration)]` enum.
    pub fn enumeration(e: &Enum) -> TokenStream {
        let impls = emit::enumeration::impls(e);
        let describe = emit::describe::enumeration(e);
        quote::quote!(#impls #describe)
    }

    /// The server and client modules of a service, exactly as a `.proto`
    /// schema generates them.
    pub fn service(service: &Service) -> TokenStream {
        emit::service::service(service, &emit::Options::default(), false)
    }
}
