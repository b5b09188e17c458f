//! Proto names to Rust identifiers: case conversion and keyword escaping.

use heck::{ToSnakeCase, ToUpperCamelCase};

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
