//! The protobuf text format (what `TextFormat` and `protoc --decode`
//! print), for every message with a descriptor.
//!
//! ```
//! use protocall::text;
//! use protocall::types::{Duration, Any};
//! let any = Any::from_msg(&Duration { seconds: 3, ..Default::default() });
//! let printed = text::to_string(&any);
//! assert_eq!(printed, "[type.googleapis.com/google.protobuf.Duration] {\n  seconds: 3\n}\n");
//! assert_eq!(text::from_str::<Any>(&printed)?, any);
//! let err = text::from_str::<Duration>("seconds: 1\nnanos: x\n").unwrap_err();
//! assert_eq!(err.to_string(), "2:8: expected an integer\n  nanos: x\n         ^");
//! # Ok::<(), protocall::text::Error>(())
//! ```
//!
//! Printing writes one field per line (or one line with
//! [`Options::single_line`]), strings with C escapes, enums by name, groups
//! by their type's name, extensions as `[pkg.ext]`, and an `Any` whose type
//! is known expanded as `[type.googleapis.com/pkg.Msg] { … }`. Parsing takes
//! what protobuf's parser takes: `#` comments, `:` optional before
//! messages, `{}` or `<>`, lists `[1, 2]`, adjacent strings concatenated,
//! octal/hex/unicode escapes, `inf`/`nan`, hex and octal integers.

mod parse;
mod print;

use std::fmt;

use crate::reflect::{DescriptorPool, MessageDescriptor, ReflectMessage};

/// How to print and parse.
#[derive(Clone, Debug)]
pub struct Options {
    single_line: bool,
    print_unknown_fields: bool,
    registry: Option<DescriptorPool>,
    recursion_limit: u32,
    budget: crate::DecodeOptions,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            single_line: false,
            print_unknown_fields: false,
            registry: None,
            recursion_limit: crate::decoder::DEFAULT_RECURSION_LIMIT,
            budget: crate::DecodeOptions::new(),
        }
    }
}

impl Options {
    /// The defaults: one field per line, unknown fields left out.
    pub fn new() -> Options {
        Options::default()
    }

    /// Prints everything on one line.
    pub fn single_line(mut self, on: bool) -> Options {
        self.single_line = on;
        self
    }

    /// Prints unknown fields by number (`1001: 5`), as `protoc
    /// --decode_raw` does.
    pub fn print_unknown_fields(mut self, on: bool) -> Options {
        self.print_unknown_fields = on;
        self
    }

    /// Where an expanded `Any` looks up its type first.
    pub fn registry(mut self, pool: DescriptorPool) -> Options {
        self.registry = Some(pool);
        self
    }

    /// How deeply messages may nest (default 100).
    pub fn recursion_limit(mut self, limit: u32) -> Options {
        self.recursion_limit = limit;
        self
    }

    /// The memory budget of a parse, per byte of source text plus a base
    /// (default 32 per byte plus 1 MiB): what the parsed message may take
    /// in repeated fields, map entries and boxed messages, as
    /// [`DecodeOptions::memory_budget`](crate::DecodeOptions::memory_budget)
    /// does for binary.
    pub fn memory_budget(mut self, per_input_byte: usize, base: usize) -> Options {
        self.budget = self.budget.memory_budget(per_input_byte, base);
        self
    }

    /// The limits for decoding what `len` bytes of source text became.
    pub(crate) fn decode_options(&self, len: usize) -> crate::DecodeOptions {
        self.budget
            .recursion_limit(self.recursion_limit)
            .budget_of_source(len)
    }
}

/// Why text could not be parsed (or a binary encoding printed): the line
/// and column, and the line itself with a caret under the place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    line: usize,
    column: usize,
    source_line: String,
    message: String,
}

impl Error {
    fn at(text: &str, offset: usize, message: impl Into<String>) -> Error {
        let before = &text[..offset.min(text.len())];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        Error {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            source_line: text[line_start..line_end].to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn plain(message: impl Into<String>) -> Error {
        Error {
            line: 0,
            column: 0,
            source_line: String::new(),
            message: message.into(),
        }
    }

    /// The 1-based line (0 when the error is not about a place in text).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return f.write_str(&self.message);
        }
        write!(
            f,
            "{}:{}: {}\n  {}\n  {:>width$}",
            self.line,
            self.column,
            self.message,
            self.source_line,
            "^",
            width = self.column
        )
    }
}

impl std::error::Error for Error {}

/// `message` in text format.
pub fn to_string<M: ReflectMessage>(message: &M) -> String {
    to_string_with(message, &Options::default())
}

/// `message` in text format, printed as `options` say.
pub fn to_string_with<M: ReflectMessage>(message: &M, options: &Options) -> String {
    binary_to_text(&M::descriptor(), &message.encode_to_vec(), options)
        .expect("a message's own encoding prints")
}

/// Parses text format into a message of type `M`.
pub fn from_str<M: ReflectMessage>(text: &str) -> Result<M, Error> {
    from_str_with(text, &Options::default())
}

/// Parses text format into a message of type `M`, as `options` say.
pub fn from_str_with<M: ReflectMessage>(text: &str, options: &Options) -> Result<M, Error> {
    let binary = text_to_binary(&M::descriptor(), text, options)?;
    options
        .decode_options(text.len())
        .decode(binary.as_slice())
        .map_err(|e| Error::plain(e.to_string()))
}

/// Prints the message of type `descriptor` whose binary encoding is
/// `binary` in text format.
pub fn binary_to_text(
    descriptor: &MessageDescriptor,
    binary: &[u8],
    options: &Options,
) -> Result<String, Error> {
    let mut printer = print::Printer::new(descriptor.pool(), options);
    printer
        .message(descriptor.index(), binary)
        .map_err(|e| Error::plain(e.to_string()))?;
    Ok(printer.out)
}

/// Parses text format into the binary encoding of a message of type
/// `descriptor`.
pub fn text_to_binary(
    descriptor: &MessageDescriptor,
    text: &str,
    options: &Options,
) -> Result<Vec<u8>, Error> {
    let mut parser = parse::Parser::new(descriptor.pool(), options, text)?;
    let mut out = Vec::new();
    parser.message(descriptor.index(), None, &mut out)?;
    Ok(out)
}

fn any_type(
    options: &Options,
    pool: &DescriptorPool,
    type_url: &str,
) -> Result<MessageDescriptor, String> {
    crate::reflect::any_type(options.registry.as_ref(), pool, type_url)
}

#[cfg(test)]
mod tests;
