//! Proto names to Rust identifiers: case conversion, keyword escaping, and
//! the names of a service's methods and stream types.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

use crate::model::Renamed;

/// Words that are keywords in some Rust edition.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "Self", "static", "struct", "super", "trait", "true", "try", "type",
    "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing underscore.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "extern", "_"];

/// Makes `name` a legal identifier: `type` → `r#type`, `self` → `self_`.
pub fn escape(name: &str) -> String {
    if NOT_RAW.contains(&name) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name.to_string()
    }
}

/// A field, method or module name: `snake_case`, escaped.
pub fn snake(name: &str) -> String {
    escape(&name.to_snake_case())
}

/// A type or variant name: `UpperCamelCase`, escaped (`Self` → `Self_`).
pub fn camel(name: &str) -> String {
    escape(&name.to_upper_camel_case())
}

/// The identifier without a raw prefix, for building derived names.
pub fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// `name` as an identifier (raw when spelled `r#…`), or why it is not one.
pub fn ident(name: &str) -> Result<Ident, String> {
    let valid = match name.strip_prefix("r#") {
        Some(raw) => is_identifier(raw) && !NOT_RAW.contains(&raw),
        None => is_identifier(name) && !KEYWORDS.contains(&name),
    };
    if !valid {
        return Err(format!("`{name}` is not a Rust identifier"));
    }
    Ok(match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    })
}

/// True when Rust's lexer reads `text` as one identifier.
fn is_identifier(text: &str) -> bool {
    syn::parse_str::<syn::Ident>(text).is_ok()
        || syn::parse_str::<syn::Ident>(&format!("r#{text}")).is_ok()
}

/// The module of a service's server or client code: `user_service_server`.
pub fn service_module(service: &str, suffix: &str) -> String {
    let base = snake(service);
    format!("{}_{suffix}", unraw(&base).trim_end_matches('_'))
}

/// What the generated client defines itself, and what each one is: an RPC
/// whose client method would take one of these names gets a trailing
/// underscore instead (`connect_`). Some are not emitted yet; they are kept
/// free so that adding them breaks no generated code.
pub const CLIENT_ITEMS: &[(&str, &str)] = &[
    ("connect", "the client's constructor"),
    ("new", "the client's constructor"),
    ("with_options", "the client's constructor"),
    ("send_compressed", "a client option"),
    ("accept_compressed", "a client option"),
    ("max_decoding_message_size", "a client option"),
    ("max_encoding_message_size", "a client option"),
    ("with_interceptor", "a client option"),
    ("into_inner", "a client accessor"),
    ("inner", "a client accessor"),
    ("grpc", "a client accessor"),
    // Through `#[derive(Clone, Debug)]`: an inherent method would shadow them.
    ("clone", "the client's `Clone` method"),
    ("clone_from", "the client's `Clone` method"),
    ("fmt", "the client's `Debug` method"),
];

/// What the server wrapper (`…Server<T>`) defines itself. RPC methods are
/// never items of the wrapper (they belong to the service trait, and the
/// dispatch calls them as `T::method(&service, request)`), so these names
/// need no renaming; the list documents the wrapper's surface.
pub const SERVER_WRAPPER_ITEMS: &[&str] = &["new", "from_arc", "inner", "into_inner"];

/// The Rust names of one RPC, see [`rpc_names`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcNames {
    /// The service trait's method.
    pub method: String,
    /// The client's method.
    pub client: String,
    /// The trait's response stream type (used by server-streaming RPCs).
    pub stream_type: String,
    /// Why a name is not the plain one.
    pub renamed: Renamed,
}

/// One RPC to name: its name on the wire, whether it streams responses,
/// and the trait method's name when the user chose it (inline services).
#[derive(Clone, Copy, Debug)]
pub struct Rpc<'a> {
    /// The name on the wire.
    pub name: &'a str,
    /// Whether the RPC streams responses (and so has a stream type).
    pub server_streaming: bool,
    /// The trait method's name, when the user wrote the trait.
    pub method: Option<&'a str>,
}

/// Names every RPC of a service so that all of them compile together:
///
/// * the trait method is the RPC's snake_case name (or the one the user
///   chose); a later RPC whose name snake-cases to an earlier one's gets
///   trailing underscores (`GetUser` → `get_user`, `get_user` → `get_user_`);
/// * the client method is the trait method's name, unless the client
///   defines that name itself ([`CLIENT_ITEMS`]): then it gets trailing
///   underscores (`connect_`);
/// * the stream type of a server-streaming RPC is `<Name>Stream`, again
///   with trailing underscores when two RPCs would share one.
///
/// Every renaming comes with a sentence saying why, for the rustdoc.
pub fn rpc_names(rpcs: &[Rpc<'_>]) -> Vec<RpcNames> {
    use std::collections::HashSet;
    let mut methods: Vec<(String, Option<String>)> = Vec::new();
    let mut taken: HashSet<String> = HashSet::new();
    for rpc in rpcs {
        let base = rpc.method.map_or_else(|| snake(rpc.name), str::to_string);
        let mut name = base.clone();
        while taken.contains(unraw(&name)) {
            name = format!("{}_", unraw(&name));
        }
        let note = (name != base).then(|| {
            let owner = rpcs
                .iter()
                .zip(&methods)
                .find(|(_, (m, _))| unraw(m) == unraw(&base))
                .map_or(String::new(), |(other, _)| other.name.to_string());
            format!(
                "`{}` RPC; named `{}` because `{}` is the method of the `{owner}` RPC.",
                rpc.name,
                unraw(&name),
                unraw(&base)
            )
        });
        taken.insert(unraw(&name).to_string());
        methods.push((name, note));
    }
    let reserved = |name: &str| CLIENT_ITEMS.iter().find(|(n, _)| *n == name);
    let mut clients: HashSet<String> = HashSet::new();
    let mut streams: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for (rpc, (method, method_note)) in rpcs.iter().zip(&methods) {
        let bare = unraw(method);
        let (client, client_note) = match reserved(bare) {
            Some((_, what)) => {
                let mut client = format!("{bare}_");
                while reserved(&client).is_some()
                    || taken.contains(&client)
                    || clients.contains(&client)
                {
                    client.push('_');
                }
                let note = format!(
                    "`{}` RPC; named `{client}` because `{bare}` is {what}.",
                    rpc.name
                );
                (client, Some(note))
            }
            None => (method.clone(), method_note.clone()),
        };
        clients.insert(unraw(&client).to_string());
        let base = format!("{}Stream", rpc.name.to_upper_camel_case());
        let mut stream_type = base.clone();
        let mut stream_note = None;
        if rpc.server_streaming {
            while streams.iter().any(|(s, _)| *s == stream_type) {
                stream_type.push('_');
            }
            if stream_type != base {
                let owner = streams
                    .iter()
                    .find(|(s, _)| *s == base)
                    .map_or("", |(_, owner)| owner.as_str());
                stream_note = Some(format!(
                    "The response stream of `{}`; named `{stream_type}` because `{base}` is the one of `{owner}`.",
                    rpc.name
                ));
            }
            streams.push((stream_type.clone(), rpc.name.to_string()));
        }
        out.push(RpcNames {
            method: method.clone(),
            client,
            stream_type,
            renamed: Renamed {
                method: method_note.clone(),
                client: client_note,
                stream_type: stream_note,
            },
        });
    }
    out
}

/// Enum variant names: `COLOR_RED` in enum `Color` → `Red`. The prefix is
/// stripped only when every stripped name stays distinct and legal.
pub fn enum_variants(enum_name: &str, values: &[&str]) -> Vec<String> {
    let prefix = enum_name.to_snake_case().to_uppercase() + "_";
    let stripped: Vec<String> = values
        .iter()
        .map(|v| {
            let upper = v.to_uppercase();
            let rest = upper
                .strip_prefix(&prefix)
                .filter(|rest| rest.starts_with(|c: char| c.is_ascii_alphabetic()));
            camel(rest.map(|_| &v[prefix.len()..]).unwrap_or(v))
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    if stripped.iter().all(|s| seen.insert(s.clone())) {
        stripped
    } else {
        values.iter().map(|v| camel(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_keywords() {
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(camel("Self"), "Self_");
        assert_eq!(camel("self"), "Self_");
        assert_eq!(snake("FooBar"), "foo_bar");
        assert_eq!(camel("foo_bar"), "FooBar");
    }

    #[test]
    fn identifiers_are_checked() {
        assert_eq!(ident("foo").unwrap().to_string(), "foo");
        assert_eq!(ident("r#type").unwrap().to_string(), "r#type");
        assert_eq!(ident("self_").unwrap().to_string(), "self_");
        for bad in ["", "_", "type", "r#self", "1x", "a-b", "Stream!"] {
            assert!(ident(bad).is_err(), "{bad}");
        }
        assert_eq!(
            service_module("UserService", "server"),
            "user_service_server"
        );
        assert_eq!(service_module("Self", "client"), "self_client");
        assert_eq!(service_module("Type", "client"), "type_client");
    }

    #[test]
    fn strips_enum_prefixes() {
        assert_eq!(
            enum_variants("Color", &["COLOR_RED", "COLOR_GREEN"]),
            ["Red", "Green"]
        );
        assert_eq!(
            enum_variants("Color", &["COLOR_1", "RED"]),
            ["Color1", "Red"]
        );
        assert_eq!(enum_variants("Foo", &["FOO_BAR", "BAR"]), ["FooBar", "Bar"]);
        assert_eq!(enum_variants("NullValue", &["NULL_VALUE"]), ["NullValue"]);
    }
}
