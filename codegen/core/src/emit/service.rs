//! Service code: a `<service>_server` module (trait, server wrapper, dispatch
//! table) and a `<service>_client` module (typed client). The call handling
//! itself lives in the runtime; per method this emits a trait method, one
//! dispatch arm and one client method.

use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::quote;

use super::Options;
use super::{deprecated, doc, doc_or, ident, path};
use crate::model::{Method, Service};

pub(crate) fn service(service: &Service, options: &Options) -> TokenStream {
    let server = options.build_server.then(|| server(service));
    let client = options.build_client.then(|| client(service));
    quote!(#server #client)
}

fn module_name(service: &Service, suffix: &str) -> proc_macro2::Ident {
    let base = crate::names::snake(&service.name);
    ident(&format!(
        "{}_{suffix}",
        crate::names::unraw(&base).trim_end_matches('_')
    ))
}

fn stream_type(method: &Method) -> proc_macro2::Ident {
    ident(&format!("{}Stream", method.name.to_upper_camel_case()))
}

fn server(service: &Service) -> TokenStream {
    let module = module_name(service, "server");
    let trait_name = ident(&service.rust_name);
    let server_name = ident(&format!(
        "{}Server",
        crate::names::unraw(&service.rust_name)
    ));
    let full_name = &service.full_name;
    let trait_doc = doc_or(
        &service.doc,
        format!(" The `{full_name}` service: implement it to serve it."),
    );
    let deprecated_service = deprecated(service.deprecated);

    let trait_items = service.methods.iter().map(|method| {
        let name = ident(&method.rust_name);
        let input = path(&method.input);
        let output = path(&method.output);
        let docs = doc_or(&method.doc, format!(" The `{}` method.", method.name));
        let deprecated = deprecated(method.deprecated);
        let request = if method.client_streaming {
            quote!(::protocall::Request<::protocall::Streaming<#input>>)
        } else {
            quote!(::protocall::Request<#input>)
        };
        let (stream_item, response) = if method.server_streaming {
            let stream = stream_type(method);
            let stream_doc = format!(" The stream of responses [`Self::{}`] returns.", crate::names::unraw(&method.rust_name));
            (
                Some(quote! {
                    #[doc = #stream_doc]
                    type #stream: ::protocall::Stream<Item = ::core::result::Result<#output, ::protocall::Status>>
                        + ::core::marker::Send
                        + 'static;
                }),
                quote!(::protocall::Response<Self::#stream>),
            )
        } else {
            (None, quote!(::protocall::Response<#output>))
        };
        quote! {
            #stream_item
            #docs
            #deprecated
            fn #name(
                &self,
                request: #request,
            ) -> impl ::core::future::Future<Output = ::core::result::Result<#response, ::protocall::Status>>
                + ::core::marker::Send;
        }
    });

    let arms = service.methods.iter().map(|method| {
        let name = ident(&method.rust_name);
        let wire_name = &method.name;
        let handler = ident(match (method.client_streaming, method.server_streaming) {
            (false, false) => "unary",
            (false, true) => "server_streaming",
            (true, false) => "client_streaming",
            (true, true) => "streaming",
        });
        quote! {
            #wire_name => ::protocall::server::#handler(call, move |request| async move {
                service.#name(request).await
            }),
        }
    });
    let allow_deprecated = service
        .methods
        .iter()
        .any(|m| m.deprecated)
        .then(|| quote!(#[allow(deprecated)]));
    let server_doc = format!(
        " Serves a [`{}`] implementation: add it to a `protocall::Server`.",
        crate::names::unraw(&service.rust_name)
    );

    let module_doc = format!(" Server side of `{full_name}`.");
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #trait_doc
            #deprecated_service
            pub trait #trait_name: ::core::marker::Send + ::core::marker::Sync + 'static {
                #(#trait_items)*
            }

            #[doc = #server_doc]
            pub struct #server_name<T> {
                inner: ::std::sync::Arc<T>,
            }

            impl<T: #trait_name> #server_name<T> {
                /// Wraps `service`.
                pub fn new(service: T) -> Self {
                    Self::from_arc(::std::sync::Arc::new(service))
                }

                /// Wraps a shared `service`.
                pub fn from_arc(service: ::std::sync::Arc<T>) -> Self {
                    #server_name { inner: service }
                }
            }

            impl<T> ::core::clone::Clone for #server_name<T> {
                fn clone(&self) -> Self {
                    #server_name { inner: ::std::sync::Arc::clone(&self.inner) }
                }
            }

            impl<T> ::core::fmt::Debug for #server_name<T> {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(#full_name)
                }
            }

            impl<T: #trait_name> ::protocall::server::NamedService for #server_name<T> {
                const NAME: &'static str = #full_name;
            }

            #allow_deprecated
            impl<T: #trait_name> ::protocall::server::GrpcService for #server_name<T> {
                fn call(&self, call: ::protocall::server::Call) -> ::protocall::server::ResponseFuture {
                    let service = ::std::sync::Arc::clone(&self.inner);
                    match call.method() {
                        #(#arms)*
                        _ => ::protocall::server::unimplemented(call),
                    }
                }
            }
        }
    }
}

fn client(service: &Service) -> TokenStream {
    let module = module_name(service, "client");
    let client_name = ident(&format!(
        "{}Client",
        crate::names::unraw(&service.rust_name)
    ));
    let full_name = &service.full_name;
    let client_doc = doc_or(&service.doc, format!(" Calls the `{full_name}` service."));
    let deprecated_service = deprecated(service.deprecated);
    let methods = service.methods.iter().map(|method| {
        let name = ident(&method.rust_name);
        let input = path(&method.input);
        let output = path(&method.output);
        let docs = doc(&method.doc);
        let docs = if method.doc.is_empty() {
            let text = format!(" Calls `{}`.", method.name);
            quote!(#[doc = #text])
        } else {
            docs
        };
        let deprecated = deprecated(method.deprecated);
        let route = format!("/{full_name}/{}", method.name);
        let response = if method.server_streaming {
            quote!(::protocall::Response<::protocall::Streaming<#output>>)
        } else {
            quote!(::protocall::Response<#output>)
        };
        let (param, call) = match (method.client_streaming, method.server_streaming) {
            (false, server_streaming) => {
                let kind = ident(if server_streaming { "server_streaming" } else { "unary" });
                (
                    quote!(request: impl ::protocall::IntoRequest<#input>),
                    quote!(self.inner.#kind(request.into_request(), #route)),
                )
            }
            (true, server_streaming) => {
                let kind = ident(if server_streaming { "streaming" } else { "client_streaming" });
                (
                    quote!(request: impl ::protocall::IntoStreamingRequest<Message = #input>),
                    quote!(self.inner.#kind(request.into_streaming_request(), #route)),
                )
            }
        };
        quote! {
            #docs
            #deprecated
            pub async fn #name(&self, #param) -> ::core::result::Result<#response, ::protocall::Status> {
                #call.await
            }
        }
    });

    let module_doc = format!(" Client side of `{full_name}`.");
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #client_doc
            #deprecated_service
            #[derive(Clone, Debug)]
            pub struct #client_name {
                inner: ::protocall::client::Grpc,
            }

            impl #client_name {
                /// Connects to `uri` (`http://host:port`).
                pub async fn connect(uri: impl ::core::convert::AsRef<str>) -> ::core::result::Result<Self, ::protocall::Status> {
                    ::core::result::Result::Ok(Self::new(::protocall::Channel::connect(uri).await?))
                }

                /// Calls over `channel`, with the default options.
                pub fn new(channel: ::protocall::Channel) -> Self {
                    Self::with_options(::protocall::client::Grpc::new(channel))
                }

                /// Calls with the options of `grpc` (compression, message limits).
                pub fn with_options(grpc: ::protocall::client::Grpc) -> Self {
                    #client_name { inner: grpc }
                }

                /// Compresses requests with `encoding`.
                pub fn send_compressed(self, encoding: ::protocall::Encoding) -> Self {
                    Self::with_options(self.inner.send_compressed(encoding))
                }

                /// Largest response message accepted.
                pub fn max_decoding_message_size(self, limit: usize) -> Self {
                    Self::with_options(self.inner.max_decoding_message_size(limit))
                }

                #(#methods)*
            }
        }
    }
}
