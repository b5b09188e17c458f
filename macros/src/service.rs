//! `#[protocall::service]`: a Rust trait to the same server and client
//! code a `.proto` service generates, plus its descriptor and `.proto` export.

use heck::ToUpperCamelCase;
use proc_macro2::{Span, TokenStream};
use protocall_codegen_core::inline;
use protocall_codegen_core::model::{Method, Renamed, Service};
use protocall_codegen_core::names;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, ItemTrait, LitStr, PathArguments, ReturnType, Token, TraitItem,
    TraitItemFn, Type, TypeParamBound,
};

use crate::attrs::{docs, no_generics};

/// `package = "…", name = "…"`.
#[derive(Default)]
pub(crate) struct ServiceArgs {
    package: Option<String>,
    name: Option<String>,
}

impl Parse for ServiceArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = ServiceArgs::default();
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            match key.to_string().as_str() {
                "package" => args.package = Some(value.value()),
                "name" => args.name = Some(value.value()),
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown service option `{other}` (expected `package` or `name`)"),
                    ));
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// The last segment of `ty` if it is `name<T>`, with `T`.
fn generic_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    match &last.arguments {
        PathArguments::AngleBracketed(args) => args.args.iter().find_map(|a| match a {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// The path the generated modules (one level down) use for a type written
/// at the call site.
fn from_module(ty: &Type) -> syn::Result<syn::Path> {
    let mut path = crate::types::type_path(ty).map_err(|_| {
        syn::Error::new(
            ty.span(),
            "a request or response must be a message type, written as a path",
        )
    })?;
    if path.leading_colon.is_some() || path.segments[0].ident == "crate" {
        return Ok(path);
    }
    let super_ = syn::PathSegment::from(syn::Ident::new("super", Span::call_site()));
    if path.segments[0].ident == "self" {
        path.segments[0] = super_;
    } else {
        path.segments.insert(0, super_);
    }
    Ok(path)
}

/// An identifier the model needs, or an error at `span`.
fn model_ident(name: &str, span: Span) -> syn::Result<syn::Ident> {
    names::ident(name).map_err(|e| syn::Error::new(span, e))
}

struct ParsedMethod {
    model: Method,
    input: Type,
    output: Type,
    /// Where errors about the method's name point.
    span: Span,
}

fn method(item: &TraitItemFn, streams: &[(syn::Ident, Type)]) -> syn::Result<ParsedMethod> {
    let sig = &item.sig;
    no_generics(&sig.generics, "a service method")?;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            "service methods must be `async fn`",
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        Some(other) => {
            return Err(syn::Error::new(
                other.span(),
                "the first parameter must be `&self`",
            ));
        }
        None => {
            return Err(syn::Error::new(
                sig.paren_token.span.join(),
                "missing `&self` parameter",
            ));
        }
    }
    let request_ty = match (inputs.next(), inputs.next()) {
        (Some(FnArg::Typed(arg)), None) => &*arg.ty,
        (Some(other), None) => {
            return Err(syn::Error::new(
                other.span(),
                "expected `request: Request<…>`",
            ));
        }
        (None, _) => {
            return Err(syn::Error::new(
                sig.paren_token.span.join(),
                "missing the `request: Request<…>` parameter",
            ));
        }
        (Some(_), Some(extra)) => {
            return Err(syn::Error::new(
                extra.span(),
                "a service method takes exactly one `Request<…>` parameter",
            ));
        }
    };
    let inner = generic_of(request_ty, "Request").ok_or_else(|| {
        syn::Error::new(
            request_ty.span(),
            "the parameter must be `Request<Message>` or `Request<Streaming<Message>>`",
        )
    })?;
    let (input, client_streaming) = match generic_of(inner, "Streaming") {
        Some(message) => (message.clone(), true),
        None => (inner.clone(), false),
    };
    let output_err = || {
        syn::Error::new(
            sig.output.span(),
            "the return type must be `Result<Response<Message>, Status>` (or `Result<Response<Self::NameStream>, Status>` for a stream)",
        )
    };
    let ReturnType::Type(_, ret) = &sig.output else {
        return Err(output_err());
    };
    let response = generic_of(ret, "Result").ok_or_else(output_err)?;
    let body = generic_of(response, "Response").ok_or_else(output_err)?;
    let rpc_name = rpc_name(item)?.unwrap_or_else(|| sig.ident.to_string().to_upper_camel_case());
    let stream_name = model_ident(
        &format!("{}Stream", rpc_name.to_upper_camel_case()),
        sig.ident.span(),
    )?;
    let self_stream = match body {
        Type::Path(p)
            if p.qself.is_none()
                && p.path.segments.len() == 2
                && p.path.segments[0].ident == "Self" =>
        {
            Some(p.path.segments[1].ident.clone())
        }
        _ => None,
    };
    let (output, server_streaming) = match self_stream {
        Some(ident) => {
            if ident != stream_name {
                return Err(syn::Error::new(
                    ident.span(),
                    format!(
                        "the response stream of `{}` must be named `Self::{stream_name}`",
                        sig.ident
                    ),
                ));
            }
            let item = streams
                .iter()
                .find(|(name, _)| *name == ident)
                .map(|(_, item)| item.clone())
                .ok_or_else(|| {
                    syn::Error::new(
                        ident.span(),
                        format!("declare `type {stream_name}: Stream<Item = Result<Message, Status>> + Send + 'static;` in the trait"),
                    )
                })?;
            (item, true)
        }
        None => (body.clone(), false),
    };
    let mut rust_name = sig.ident.clone();
    rust_name.set_span(Span::call_site());
    Ok(ParsedMethod {
        model: Method {
            name: rpc_name,
            client_name: rust_name.clone(),
            rust_name,
            stream_type: stream_name,
            renamed: Renamed::default(),
            input: from_module(&input)?,
            output: from_module(&output)?,
            view_request: false,
            view_response: false,
            client_streaming,
            server_streaming,
            doc: docs(&item.attrs),
            deprecated: item.attrs.iter().any(|a| a.path().is_ident("deprecated")),
        },
        input,
        output,
        span: sig.ident.span(),
    })
}

/// `#[rpc(name = "…")]` on a method.
fn rpc_name(item: &TraitItemFn) -> syn::Result<Option<String>> {
    let mut name = None;
    for attr in item.attrs.iter().filter(|a| a.path().is_ident("rpc")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                name = Some(meta.value()?.parse::<LitStr>()?.value());
                Ok(())
            } else {
                Err(meta.error("expected `name = \"…\"`"))
            }
        })?;
    }
    Ok(name)
}

/// `type XStream: Stream<Item = Result<T, Status>> …;` → `(XStream, T)`.
fn stream_item(item: &syn::TraitItemType) -> syn::Result<(syn::Ident, Type)> {
    let err = || {
        syn::Error::new(
            item.span(),
            "a stream type must be declared `type NameStream: Stream<Item = Result<Message, Status>> + Send + 'static;`",
        )
    };
    for bound in &item.bounds {
        let TypeParamBound::Trait(bound) = bound else {
            continue;
        };
        let Some(last) = bound.path.segments.last() else {
            continue;
        };
        if last.ident != "Stream" {
            continue;
        }
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return Err(err());
        };
        for arg in &args.args {
            if let GenericArgument::AssocType(assoc) = arg
                && assoc.ident == "Item"
            {
                let message = generic_of(&assoc.ty, "Result").ok_or_else(err)?;
                return Ok((item.ident.clone(), message.clone()));
            }
        }
    }
    Err(err())
}

pub(crate) fn service(args: ServiceArgs, item: ItemTrait) -> syn::Result<TokenStream> {
    no_generics(&item.generics, "a service trait")?;
    let package = args.package.unwrap_or_default();
    let name = args.name.unwrap_or_else(|| item.ident.to_string());
    let full_name = if package.is_empty() {
        name.clone()
    } else {
        format!("{package}.{name}")
    };
    let mut streams = Vec::new();
    for entry in &item.items {
        if let TraitItem::Type(ty) = entry {
            streams.push(stream_item(ty)?);
        }
    }
    let mut methods = Vec::new();
    for entry in &item.items {
        match entry {
            TraitItem::Fn(f) => methods.push(method(f, &streams)?),
            TraitItem::Type(_) => {}
            other => {
                return Err(syn::Error::new(
                    other.span(),
                    "a service trait holds only `async fn` methods and stream types",
                ));
            }
        }
    }
    name_methods(&mut methods)?;
    let mut rust_name = item.ident.clone();
    rust_name.set_span(Span::call_site());
    // Module names follow the proto service name, as in generated code.
    let server_module = model_ident(&names::service_module(&name, "server"), item.ident.span())?;
    let client_module = model_ident(&names::service_module(&name, "client"), item.ident.span())?;
    let model = Service {
        name: name.clone(),
        full_name: full_name.clone(),
        rust_name,
        server_module: server_module.clone(),
        client_module: client_module.clone(),
        methods: methods.iter().map(|m| m.model.clone()).collect(),
        doc: docs(&item.attrs),
        deprecated: item.attrs.iter().any(|a| a.path().is_ident("deprecated")),
    };
    let generated = inline::service(&model);

    let vis = &item.vis;
    let trait_ident = &item.ident;
    let server = format_ident!("{}Server", item.ident);
    let client = format_ident!("{}Client", item.ident);
    let types = methods.iter().flat_map(|m| [&m.input, &m.output]);
    let method_rows = methods.iter().map(|m| {
        let (rpc, input, output) = (&m.model.name, &m.input, &m.output);
        let (cs, ss) = (m.model.client_streaming, m.model.server_streaming);
        quote!((#rpc, <#input as ::protocall::Message>::FULL_NAME, <#output as ::protocall::Message>::FULL_NAME, #cs, #ss))
    });
    let method_docs = methods.iter().filter(|m| !m.model.doc.is_empty()).map(|m| {
        let key = format!("{full_name}.{}", m.model.name);
        let text: Vec<&str> = m
            .model
            .doc
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        let text = text.join("\n");
        quote!(descriptors.doc(#key, #text);)
    });
    let service_doc = (!model.doc.is_empty()).then(|| {
        let text: Vec<&str> = model
            .doc
            .iter()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        let text = text.join("\n");
        quote!(descriptors.doc(#full_name, #text);)
    });
    Ok(quote! {
        #generated

        #vis use #server_module::{#trait_ident, #server};
        #vis use #client_module::#client;

        impl<T: #trait_ident> #server<T> {
            /// The descriptors of this service and every message it uses.
            pub fn descriptors() -> ::protocall::__private::reflect::Descriptors {
                let mut descriptors = ::protocall::__private::reflect::Descriptors::new().with_default_package(#package);
                #(<#types as ::protocall::__private::reflect::Describe>::describe(&mut descriptors);)*
                descriptors.service(#full_name, &[#(#method_rows),*]);
                #service_doc
                #(#method_docs)*
                descriptors
            }

            /// The equivalent `.proto` source, for generating clients in
            /// other languages (`protoc`, `grpcio-tools`, `buf`).
            pub fn proto_source() -> ::std::string::String {
                Self::descriptors().proto_source(#package)
            }

            /// The equivalent `FileDescriptorSet` (one file per package).
            pub fn file_descriptor_set() -> ::protocall::types::FileDescriptorSet {
                Self::descriptors().file_descriptor_set()
            }
        }
    })
}

/// The client's method names (the trait keeps the user's), by the rule
/// generated code follows; two methods may not share an RPC name or a
/// stream type.
fn name_methods(methods: &mut [ParsedMethod]) -> syn::Result<()> {
    for (i, method) in methods.iter().enumerate() {
        if let Some(first) = methods[..i]
            .iter()
            .find(|m| m.model.name == method.model.name)
        {
            return Err(syn::Error::new(
                method.span,
                format!(
                    "the RPC name `{}` is already used by `{}`: give one of them `#[rpc(name = \"…\")]`",
                    method.model.name, first.model.rust_name
                ),
            ));
        }
    }
    let rust_names: Vec<String> = methods
        .iter()
        .map(|m| m.model.rust_name.to_string())
        .collect();
    let rpcs: Vec<names::Rpc<'_>> = methods
        .iter()
        .zip(&rust_names)
        .map(|(m, rust)| names::Rpc {
            name: &m.model.name,
            server_streaming: m.model.server_streaming,
            method: Some(rust),
        })
        .collect();
    let named = names::rpc_names(&rpcs);
    for (method, named) in methods.iter_mut().zip(named) {
        if method.model.server_streaming && method.model.stream_type != named.stream_type {
            return Err(syn::Error::new(
                method.span,
                format!(
                    "another method's response stream is also `Self::{}`: give one of them `#[rpc(name = \"…\")]`",
                    method.model.stream_type
                ),
            ));
        }
        method.model.client_name = model_ident(&named.client, method.span)?;
        method.model.renamed = named.renamed;
    }
    Ok(())
}
