//! Service code: a `<service>_server` module (trait, server wrapper, dispatch
//! table) and a `<service>_client` module (typed client). The call handling
//! itself lives in the runtime; per method this emits a trait method, one
//! dispatch arm and one client method.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Options;
use super::{deprecated, doc_or, ident};
use crate::model::{Method, Service};

/// `descriptors`: the package embeds `FILE_DESCRIPTOR_SET`, so the server
/// can name its descriptor.
pub(crate) fn service(service: &Service, options: &Options, descriptors: bool) -> TokenStream {
    let server = options.build_server.then(|| server(service, descriptors));
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
    // The root holds the everyday names; the rest live in their modules.
    let names = names.into_iter().map(|name| match name {
        "Stream" => quote!(server::Stream),
        "IntoRequest" => quote!(client::IntoRequest),
        "IntoStreamingRequest" => quote!(client::IntoStreamingRequest),
        name => {
            let name = ident(name);
            quote!(#name)
        }
    });
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
                stream: quote!(::protocall::server::Stream),
                future: quote!(::core::future::Future),
                result: quote!(::core::result::Result),
                send: quote!(::core::marker::Send),
                into_request: quote!(::protocall::client::IntoRequest),
                into_streaming_request: quote!(::protocall::client::IntoStreamingRequest),
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

/// True when clippy expects a method of this name not to take `&self`
/// (`wrong_self_convention`): `new` and `from_*` take no `self`, `into_*`
/// takes `self`.
fn breaks_self_convention(name: &str) -> bool {
    name == "new" || name.starts_with("from_") || name.starts_with("into_")
}

/// The doc lines (or `fallback`), then a paragraph saying why the item's
/// name is not the plain one.
fn with_note(lines: &[String], fallback: String, note: &Option<String>) -> TokenStream {
    let docs = doc_or(lines, fallback);
    match note {
        Some(note) => {
            let note = format!(" {note}");
            quote!(#docs #[doc = ""] #[doc = #note])
        }
        None => docs,
    }
}

fn server(service: &Service, descriptors: bool) -> TokenStream {
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
        let input = viewed(&method.input, method.view_request);
        let output = &method.output;
        let docs = with_note(
            &method.doc,
            format!(" The `{}` method.", method.name),
            &method.renamed.method,
        );
        let deprecated = deprecated(method.deprecated);
        let request_type = if method.client_streaming {
            quote!(#request<#streaming<#input>>)
        } else {
            quote!(#request<#input>)
        };
        let (stream_item, reply) = if method.server_streaming {
            let stream_name = &method.stream_type;
            let stream_doc = with_note(
                &[],
                format!(
                    " The stream of responses [`Self::{}`] returns.",
                    crate::names::unraw(&method.rust_name.to_string())
                ),
                &method.renamed.stream_type,
            );
            (
                Some(quote! {
                    #stream_doc
                    type #stream_name: #stream<Item = #result<#output, #status>> + #send + 'static;
                }),
                quote!(#response<Self::#stream_name>),
            )
        } else {
            (None, quote!(#response<#output>))
        };
        // `new`, `into_*`, `from_*` … taking `&self`: the RPC's name, not a
        // convention this method breaks.
        let bare = name.to_string();
        let allow = breaks_self_convention(crate::names::unraw(&bare))
            .then(|| quote!(#[allow(clippy::wrong_self_convention)]));
        quote! {
            #stream_item
            #docs
            #deprecated
            #allow
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
            #wire_name => #handler(call, move |req| async move { T::#name(&svc, req).await }),
        }
    });
    let allow_deprecated = service
        .methods
        .iter()
        .any(|m| m.deprecated)
        .then(|| quote!(#[allow(deprecated)]));
    let server_doc =
        format!(" Serves a [`{bare_name}`] implementation: add it to a `protocall::Server`.");

    let method_names = service.methods.iter().map(|method| &method.name);
    let module_doc = format!(" Server side of `{full_name}`.");
    let descriptor = descriptors.then(|| {
        quote! {
            fn descriptor(&self) -> ::core::option::Option<::protocall::reflect::ServiceDescriptor> {
                static DESCRIPTOR: ::std::sync::OnceLock<::protocall::reflect::ServiceDescriptor> =
                    ::std::sync::OnceLock::new();
                ::core::option::Option::Some(
                    DESCRIPTOR
                        .get_or_init(|| ::protocall::__private::service_descriptor(
                            super::FILE_DESCRIPTOR_SET,
                            #full_name,
                        ))
                        .clone(),
                )
            }
        }
    });
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
                    let svc = ::std::sync::Arc::clone(&self.inner);
                    match call.method() {
                        #(#arms)*
                        _ => unimplemented(call),
                    }
                }
                fn methods(&self) -> ::core::option::Option<&'static [&'static str]> {
                    ::core::option::Option::Some(&[#(#method_names),*])
                }
                #descriptor
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
        let output = viewed(&method.output, method.view_response);
        let docs = with_note(
            &method.doc,
            format!(" Calls `{}`.", method.name),
            &method.renamed.client,
        );
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
            pub struct #client_name<T = ::protocall::Channel> {
                inner: ::protocall::client::Grpc<T>,
            }

            impl #client_name {
                /// Connects to `uri` (`http://host:port`, `unix:path`).
                pub async fn connect(uri: impl ::core::convert::AsRef<str>) -> ::core::result::Result<Self, ::protocall::Status> {
                    ::core::result::Result::Ok(Self::new(::protocall::Channel::connect(uri).await?))
                }
            }

            impl<T: ::protocall::client::GrpcTransport> #client_name<T> {
                /// Calls over `transport` (a `Channel`, or any tower service of
                /// HTTP requests), with the default options.
                pub fn new(transport: T) -> Self {
                    Self::with_options(::protocall::client::Grpc::new(transport))
                }

                /// Calls with the options of `grpc` (compression, message limits, interceptors).
                pub fn with_options(grpc: ::protocall::client::Grpc<T>) -> Self {
                    #client_name { inner: grpc }
                }

                /// Compresses requests with `encoding`.
                pub fn send_compressed(self, encoding: ::protocall::compression::Encoding) -> Self {
                    Self::with_options(self.inner.send_compressed(encoding))
                }

                /// The encodings accepted on responses.
                pub fn accept_compressed(self, encodings: &[::protocall::compression::Encoding]) -> Self {
                    Self::with_options(self.inner.accept_compressed(encodings))
                }

                /// Largest response message accepted.
                pub fn max_decoding_message_size(self, limit: usize) -> Self {
                    Self::with_options(self.inner.max_decoding_message_size(limit))
                }

                /// Largest request message sent.
                pub fn max_encoding_message_size(self, limit: usize) -> Self {
                    Self::with_options(self.inner.max_encoding_message_size(limit))
                }

                /// Runs `interceptor` on every call (after earlier ones).
                pub fn with_interceptor(self, interceptor: impl ::protocall::server::Interceptor) -> Self {
                    Self::with_options(self.inner.with_interceptor(interceptor))
                }

                #(#methods)*
            }
        }
    }
}

/// A method's message type, as `ViewOf<ty>` when it is taken as a view
/// (`view_requests`, `view_responses`).
fn viewed(ty: &syn::Path, view: bool) -> TokenStream {
    if view {
        quote!(::protocall::view::ViewOf<#ty>)
    } else {
        quote!(#ty)
    }
}

#[cfg(test)]
mod tests {
    use proc_macro2::Ident;

    use super::*;
    use crate::model::Renamed;
    use crate::names::{CLIENT_ITEMS, Rpc, SERVER_WRAPPER_ITEMS, rpc_names};

    fn ident(name: &str) -> Ident {
        crate::names::ident(name).unwrap()
    }

    /// A service of the given RPCs (name, server streaming), named by the
    /// rule the builders use.
    fn service(rpcs: &[(&str, bool)]) -> Service {
        let named = rpc_names(
            &rpcs
                .iter()
                .map(|&(name, server_streaming)| Rpc {
                    name,
                    server_streaming,
                    method: None,
                })
                .collect::<Vec<_>>(),
        );
        let ping: syn::Path = syn::parse_quote!(super::Ping);
        Service {
            name: "Names".into(),
            full_name: "test.Names".into(),
            rust_name: ident("Names"),
            server_module: ident("names_server"),
            client_module: ident("names_client"),
            methods: rpcs
                .iter()
                .zip(named)
                .map(|(&(name, server_streaming), named)| Method {
                    name: name.into(),
                    rust_name: ident(&named.method),
                    client_name: ident(&named.client),
                    stream_type: ident(&named.stream_type),
                    renamed: named.renamed,
                    input: ping.clone(),
                    output: ping.clone(),
                    view_request: false,
                    view_response: false,
                    client_streaming: false,
                    server_streaming,
                    doc: Vec::new(),
                    deprecated: false,
                })
                .collect(),
            doc: Vec::new(),
            deprecated: false,
        }
    }

    /// The fns of the inherent impls in `module` of the emitted code.
    fn inherent_fns(code: &syn::File, module: &str) -> Vec<String> {
        let mut fns = Vec::new();
        for item in &code.items {
            let syn::Item::Mod(m) = item else { continue };
            if m.ident != module {
                continue;
            }
            for item in &m.content.as_ref().unwrap().1 {
                if let syn::Item::Impl(i) = item
                    && i.trait_.is_none()
                {
                    for item in &i.items {
                        if let syn::ImplItem::Fn(f) = item {
                            fns.push(f.sig.ident.to_string());
                        }
                    }
                }
            }
        }
        fns
    }

    #[test]
    fn reserved_names_cover_what_the_client_and_server_define() {
        let model = service(&[("Ping", false)]);
        let code: syn::File =
            syn::parse2(super::service(&model, &Options::default(), false)).unwrap();
        let client = inherent_fns(&code, "names_client");
        assert!(client.contains(&"connect".to_string()), "{client:?}");
        for name in client.iter().filter(|n| *n != "ping") {
            assert!(
                CLIENT_ITEMS.iter().any(|(reserved, _)| reserved == name),
                "the client defines `{name}`, which CLIENT_ITEMS lacks"
            );
        }
        let server = inherent_fns(&code, "names_server");
        assert!(!server.is_empty());
        for name in &server {
            assert!(
                SERVER_WRAPPER_ITEMS.contains(&name.as_str()),
                "the server wrapper defines `{name}`, which SERVER_WRAPPER_ITEMS lacks"
            );
        }
    }

    #[test]
    fn rpc_names_avoid_the_clients_own_names_and_each_other() {
        let rpcs = [
            ("Connect", false),
            ("New", false),
            ("SendCompressed", false),
            ("GetUser", true),
            ("get_user", true),
            ("Clone", false),
        ];
        let s = service(&rpcs);
        let names: Vec<(String, String, String)> = s
            .methods
            .iter()
            .map(|m| {
                (
                    m.rust_name.to_string(),
                    m.client_name.to_string(),
                    m.stream_type.to_string(),
                )
            })
            .collect();
        let expected = [
            ("connect", "connect_", "ConnectStream"),
            ("new", "new_", "NewStream"),
            (
                "send_compressed",
                "send_compressed_",
                "SendCompressedStream",
            ),
            ("get_user", "get_user", "GetUserStream"),
            ("get_user_", "get_user_", "GetUserStream_"),
            ("clone", "clone_", "CloneStream"),
        ];
        for ((got, want), rpc) in names.iter().zip(expected).zip(rpcs) {
            assert_eq!(
                (got.0.as_str(), got.1.as_str(), got.2.as_str()),
                want,
                "{rpc:?}"
            );
        }
        assert_eq!(
            s.methods[0].renamed,
            Renamed {
                method: None,
                client: Some(
                    "`Connect` RPC; named `connect_` because `connect` is the client's constructor."
                        .into()
                ),
                stream_type: None,
            }
        );
        let second = &s.methods[4].renamed;
        assert_eq!(
            second.method.as_deref(),
            Some(
                "`get_user` RPC; named `get_user_` because `get_user` is the method of the `GetUser` RPC."
            )
        );
        assert_eq!(second.client, second.method);
        assert_eq!(
            second.stream_type.as_deref(),
            Some(
                "The response stream of `get_user`; named `GetUserStream_` because `GetUserStream` is the one of `GetUser`."
            )
        );

        // The notes reach the rustdoc, and the code is one valid file.
        let code = crate::emit::format_tokens(super::service(&s, &Options::default(), false));
        assert!(code.contains("pub async fn connect_("), "{code}");
        assert!(
            code.contains(
                "/// `Connect` RPC; named `connect_` because `connect` is the client's constructor."
            ),
            "{code}"
        );
        assert!(code.contains("type GetUserStream_:"), "{code}");
        assert!(code.contains("T::clone(&svc, req)"), "{code}");
    }

    #[test]
    fn renamed_names_skip_names_taken_by_other_rpcs() {
        // `connect_` is taken by an RPC of its own (an inline trait can
        // name its method so), so `Connect` moves on to `connect__`.
        let named = rpc_names(&[
            Rpc {
                name: "Connect",
                server_streaming: false,
                method: Some("connect"),
            },
            Rpc {
                name: "ConnectUnderscore",
                server_streaming: false,
                method: Some("connect_"),
            },
        ]);
        assert_eq!(named[0].client, "connect__");
        assert_eq!(named[1].client, "connect_");
    }
}
