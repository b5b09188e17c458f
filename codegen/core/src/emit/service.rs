//! Service code: a `<service>_server` module (trait, server wrapper, dispatch
//! table) and a `<service>_client` module (typed client). The call handling
//! itself lives in the runtime; per method this emits a trait method, one
//! dispatch arm and one client method.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Options;
use super::{deprecated, doc, doc_or, ident};
use crate::model::{Method, Service};

pub(crate) fn service(service: &Service, options: &Options) -> TokenStream {
    let server = options.build_server.then(|| server(service));
    let client = options.build_client.then(|| client(service));
    quote!(#server #client)
}

/// The runtime names service code uses: imported into the service modules
/// when nothing there can shadow them (so signatures read like hand-written
/// ones), full paths otherwise.
struct Names {
    imports: TokenStream,
    request: TokenStream,
    response: TokenStream,
    status: TokenStream,
    streaming: TokenStream,
    stream: TokenStream,
    future: TokenStream,
    result: TokenStream,
    send: TokenStream,
    into_request: TokenStream,
    into_streaming_request: TokenStream,
}

/// Names the generated modules import; a service trait with one of these
/// names would shadow it.
const IMPORTED: &[&str] = &[
    "Request",
    "Response",
    "Status",
    "Streaming",
    "Stream",
    "Future",
    "Result",
    "Send",
    "Sync",
    "IntoRequest",
    "IntoStreamingRequest",
];

/// Which module the names are for.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    Server,
    Client,
}

/// The `use` lines of a service module: exactly the names it uses.
fn imports(service: &Service, side: Side) -> TokenStream {
    let client_streams = service.methods.iter().any(|m| m.client_streaming);
    let server_streams = service.methods.iter().any(|m| m.server_streaming);
    let unary_requests = service.methods.iter().any(|m| !m.client_streaming);
    let mut names = Vec::new();
    match side {
        Side::Server => {
            names.extend(["Request", "Response", "Status"]);
            if server_streams {
                names.push("Stream");
            }
            if client_streams {
                names.push("Streaming");
            }
        }
        Side::Client => {
            if unary_requests {
                names.push("IntoRequest");
            }
            if client_streams {
                names.push("IntoStreamingRequest");
            }
            names.extend(["Response", "Status"]);
            if server_streams {
                names.push("Streaming");
            }
        }
    }
    names.sort_unstable();
    let names = names.into_iter().map(ident);
    // The server module also imports the call-kind handlers it dispatches to.
    let handlers = (side == Side::Server).then(|| {
        let mut kinds: Vec<&str> = service.methods.iter().map(|m| handler_name(m)).collect();
        kinds.push("unimplemented");
        kinds.sort_unstable();
        kinds.dedup();
        let kinds = kinds.into_iter().map(ident);
        quote! {
            use ::core::future::Future;
            use ::protocall::server::{#(#kinds),*};
        }
    });
    quote! {
        #handlers
        use ::protocall::{#(#names),*};
    }
}

impl Names {
    fn for_service(service: &Service, side: Side) -> Names {
        if IMPORTED.contains(&crate::names::unraw(&service.rust_name.to_string())) {
            return Names {
                imports: TokenStream::new(),
                request: quote!(::protocall::Request),
                response: quote!(::protocall::Response),
                status: quote!(::protocall::Status),
                streaming: quote!(::protocall::Streaming),
                stream: quote!(::protocall::Stream),
                future: quote!(::core::future::Future),
                result: quote!(::core::result::Result),
                send: quote!(::core::marker::Send),
                into_request: quote!(::protocall::IntoRequest),
                into_streaming_request: quote!(::protocall::IntoStreamingRequest),
            };
        }
        Names {
            imports: imports(service, side),
            request: quote!(Request),
            response: quote!(Response),
            status: quote!(Status),
            streaming: quote!(Streaming),
            stream: quote!(Stream),
            future: quote!(Future),
            result: quote!(Result),
            send: quote!(Send),
            into_request: quote!(IntoRequest),
            into_streaming_request: quote!(IntoStreamingRequest),
        }
    }
}

/// The runtime handler of a method's call kind.
fn handler_name(method: &Method) -> &'static str {
    match (method.client_streaming, method.server_streaming) {
        (false, false) => "unary",
        (false, true) => "server_streaming",
        (true, false) => "client_streaming",
        (true, true) => "streaming",
    }
}

fn server(service: &Service) -> TokenStream {
    let Names {
        imports,
        request,
        response,
        status,
        streaming,
        stream,
        future,
        result,
        send,
        ..
    } = Names::for_service(service, Side::Server);
    let module = &service.server_module;
    let trait_name = &service.rust_name;
    let bare_name = service.rust_name.to_string();
    let bare_name = crate::names::unraw(&bare_name);
    let server_name = format_ident!("{bare_name}Server");
    let full_name = &service.full_name;
    let trait_doc = doc_or(
        &service.doc,
        format!(" The `{full_name}` service: implement it to serve it."),
    );
    let deprecated_service = deprecated(service.deprecated);

    let trait_items = service.methods.iter().map(|method| {
        let name = &method.rust_name;
        let input = &method.input;
        let output = &method.output;
        let docs = doc_or(&method.doc, format!(" The `{}` method.", method.name));
        let deprecated = deprecated(method.deprecated);
        let request_type = if method.client_streaming {
            quote!(#request<#streaming<#input>>)
        } else {
            quote!(#request<#input>)
        };
        let (stream_item, reply) = if method.server_streaming {
            let stream_name = &method.stream_type;
            let stream_doc = format!(
                " The stream of responses [`Self::{}`] returns.",
                crate::names::unraw(&method.rust_name.to_string())
            );
            (
                Some(quote! {
                    #[doc = #stream_doc]
                    type #stream_name: #stream<Item = #result<#output, #status>> + #send + 'static;
                }),
                quote!(#response<Self::#stream_name>),
            )
        } else {
            (None, quote!(#response<#output>))
        };
        quote! {
            #stream_item
            #docs
            #deprecated
            fn #name(
                &self,
                request: #request_type,
            ) -> impl #future<Output = #result<#reply, #status>> + #send;
        }
    });

    let arms = service.methods.iter().map(|method| {
        let name = &method.rust_name;
        let wire_name = &method.name;
        let handler = ident(handler_name(method));
        quote! {
            #wire_name => #handler(call, move |req| async move { service.#name(req).await }),
        }
    });
    let allow_deprecated = service
        .methods
        .iter()
        .any(|m| m.deprecated)
        .then(|| quote!(#[allow(deprecated)]));
    let server_doc =
        format!(" Serves a [`{bare_name}`] implementation: add it to a `protocall::Server`.");

    let module_doc = format!(" Server side of `{full_name}`.");
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #imports

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
                        _ => unimplemented(call),
                    }
                }
            }
        }
    }
}

fn client(service: &Service) -> TokenStream {
    let Names {
        imports,
        response,
        status,
        streaming,
        result,
        into_request,
        into_streaming_request,
        ..
    } = Names::for_service(service, Side::Client);
    let module = &service.client_module;
    let bare_name = service.rust_name.to_string();
    let client_name = format_ident!("{}Client", crate::names::unraw(&bare_name));
    let full_name = &service.full_name;
    let client_doc = doc_or(&service.doc, format!(" Calls the `{full_name}` service."));
    let deprecated_service = deprecated(service.deprecated);
    let methods = service.methods.iter().map(|method| {
        let name = &method.client_name;
        let input = &method.input;
        let output = &method.output;
        let docs = doc(&method.doc);
        let docs = if method.doc.is_empty() {
            let text = format!(" Calls `{}`.", method.name);
            quote!(#[doc = #text])
        } else {
            docs
        };
        let deprecated = deprecated(method.deprecated);
        let route = format!("/{full_name}/{}", method.name);
        let reply = if method.server_streaming {
            quote!(#response<#streaming<#output>>)
        } else {
            quote!(#response<#output>)
        };
        let (param, call) = match (method.client_streaming, method.server_streaming) {
            (false, server_streaming) => {
                let kind = ident(if server_streaming {
                    "server_streaming"
                } else {
                    "unary"
                });
                (
                    quote!(request: impl #into_request<#input>),
                    quote!(self.inner.#kind(request.into_request(), #route)),
                )
            }
            (true, server_streaming) => {
                let kind = ident(if server_streaming {
                    "streaming"
                } else {
                    "client_streaming"
                });
                (
                    quote!(request: impl #into_streaming_request<Message = #input>),
                    quote!(self.inner.#kind(request.into_streaming_request(), #route)),
                )
            }
        };
        quote! {
            #docs
            #deprecated
            pub async fn #name(&self, #param) -> #result<#reply, #status> {
                #call.await
            }
        }
    });

    let module_doc = format!(" Client side of `{full_name}`.");
    quote! {
        #[doc = #module_doc]
        pub mod #module {
            #imports

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
