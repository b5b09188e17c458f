//! Parsing: text format read by a small tokenizer, written straight into
//! the binary encoding of the message its descriptor describes.

use super::{Error, Options};
use crate::reflect::raw::{self, Scalar};
use crate::reflect::{DescriptorPool, FieldInfo, Ty, WellKnown};
use crate::wire::WireType;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// A number as written (sign not included).
    Number(String),
    /// The bytes of one or more adjacent string literals.
    Str(Vec<u8>),
    Punct(char),
    End,
}

pub(super) struct Parser<'a> {
    pool: DescriptorPool,
    options: &'a Options,
    text: &'a str,
    pos: usize,
    /// The current token and where it starts.
    token: Token,
    token_at: usize,
    depth: u32,
}

type Result<T> = std::result::Result<T, Error>;

impl<'a> Parser<'a> {
    pub(super) fn new(
        pool: &'a DescriptorPool,
        options: &'a Options,
        text: &'a str,
    ) -> Result<Parser<'a>> {
        let mut parser = Parser {
            pool: pool.clone(),
            options,
            text,
            pos: 0,
            token: Token::End,
            token_at: 0,
            depth: 0,
        };
        parser.advance()?;
        Ok(parser)
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::at(self.text, self.token_at, message)
    }

    // ---- tokens ----

    fn skip_space(&mut self) {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() {
            match bytes[self.pos] {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c' => self.pos += 1,
                b'#' => {
                    while self.pos < bytes.len() && bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn advance(&mut self) -> Result<()> {
        self.skip_space();
        self.token_at = self.pos;
        let bytes = self.text.as_bytes();
        let Some(&c) = bytes.get(self.pos) else {
            self.token = Token::End;
            return Ok(());
        };
        self.token = if c.is_ascii_alphabetic() || c == b'_' {
            let start = self.pos;
            while self.pos < bytes.len()
                && (bytes[self.pos].is_ascii_alphanumeric() || bytes[self.pos] == b'_')
            {
                self.pos += 1;
            }
            Token::Ident(self.text[start..self.pos].to_string())
        } else if c.is_ascii_digit()
            || (c == b'.' && bytes.get(self.pos + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = self.pos;
            while self.pos < bytes.len() {
                let b = bytes[self.pos];
                let exponent_sign = (b == b'-' || b == b'+')
                    && matches!(bytes[self.pos - 1], b'e' | b'E')
                    && !self.text[start..self.pos].starts_with("0x")
                    && !self.text[start..self.pos].starts_with("0X");
                if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || exponent_sign {
                    self.pos += 1;
                } else {
                    break;
                }
            }
            Token::Number(self.text[start..self.pos].to_string())
        } else if c == b'"' || c == b'\'' {
            let mut value = Vec::new();
            loop {
                self.string(&mut value)?;
                self.skip_space();
                if !matches!(bytes.get(self.pos), Some(b'"' | b'\'')) {
                    break;
                }
            }
            Token::Str(value)
        } else {
            self.pos += 1;
            Token::Punct(c as char)
        };
        Ok(())
    }

    /// One quoted literal, its escapes undone, appended to `out`.
    fn string(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let bytes = self.text.as_bytes();
        let quote = bytes[self.pos];
        let start = self.pos;
        self.pos += 1;
        loop {
            let Some(&c) = bytes.get(self.pos) else {
                return Err(Error::at(self.text, start, "a string is not closed"));
            };
            self.pos += 1;
            match c {
                b'\n' => {
                    return Err(Error::at(
                        self.text,
                        start,
                        "a string is not closed on its line",
                    ));
                }
                c if c == quote => return Ok(()),
                b'\\' => self.escape(out)?,
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<()> {
        let bytes = self.text.as_bytes();
        let at = self.pos - 1;
        let bad = |p: &Parser<'_>| Error::at(p.text, at, "an invalid escape");
        let Some(&c) = bytes.get(self.pos) else {
            return Err(bad(self));
        };
        self.pos += 1;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'?' => out.push(b'?'),
            b'\\' | b'\'' | b'"' => out.push(c),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(self.pos) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                if value > 0xff {
                    return Err(bad(self));
                }
                out.push(value as u8);
            }
            b'x' | b'X' => {
                let mut value = 0u32;
                let mut digits = 0;
                while digits < 2 {
                    match bytes.get(self.pos).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            value = value * 16 + d;
                            self.pos += 1;
                            digits += 1;
                        }
                        None => break,
                    }
                }
                if digits == 0 {
                    return Err(bad(self));
                }
                out.push(value as u8);
            }
            b'u' | b'U' => {
                let len = if c == b'u' { 4 } else { 8 };
                let hex = self
                    .text
                    .get(self.pos..self.pos + len)
                    .ok_or_else(|| bad(self))?;
                // Surrogates (even in pairs) are no code points: an error,
                // as in protobuf's own parser.
                let code = u32::from_str_radix(hex, 16).map_err(|_| bad(self))?;
                self.pos += len;
                let c = char::from_u32(code).ok_or_else(|| bad(self))?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return Err(bad(self)),
        }
        Ok(())
    }

    fn punct(&self, c: char) -> bool {
        self.token == Token::Punct(c)
    }

    fn expect(&mut self, c: char) -> Result<()> {
        if !self.punct(c) {
            return Err(self.error(format!("expected `{c}`")));
        }
        self.advance()
    }

    // ---- messages ----

    /// Fields until `end` (a closing bracket, or the end of input).
    pub(super) fn message(
        &mut self,
        message: usize,
        end: Option<char>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.depth += 1;
        if self.depth > self.options.recursion_limit {
            return Err(self.error(format!(
                "messages nest deeper than the limit of {}",
                self.options.recursion_limit
            )));
        }
        let pool = self.pool.clone();
        let info = &pool.inner().messages[message];
        let mut seen = vec![false; info.fields.len()];
        let mut oneofs = vec![false; info.oneofs.len()];
        let mut any_expanded = false;
        loop {
            match (&self.token, end) {
                (Token::End, None) => break,
                (Token::Punct(c), Some(e)) if *c == e => break,
                (Token::End, Some(e)) => return Err(self.error(format!("expected `{e}`"))),
                _ => {}
            }
            let field_at = self.token_at;
            if self.punct('[') {
                self.advance()?;
                let name = self.bracketed_name()?;
                if name.contains('/') {
                    if info.well_known != Some(WellKnown::Any) || any_expanded {
                        return Err(Error::at(
                            self.text,
                            field_at,
                            format!("`[{name}]` is only allowed once, in a google.protobuf.Any"),
                        ));
                    }
                    any_expanded = true;
                    self.any(&name, out)?;
                } else {
                    let Some(field) = pool
                        .inner()
                        .extensions_of(message)
                        .find(|e| e.full_name == name)
                    else {
                        return Err(Error::at(
                            self.text,
                            field_at,
                            format!("`{name}` is not an extension of {}", info.full_name),
                        ));
                    };
                    self.field_value(field, out)?;
                }
            } else {
                let Token::Ident(name) = &self.token else {
                    return Err(self.error("expected a field name"));
                };
                let index = info
                    .field_by_name(name)
                    .filter(|&i| info.fields[i].name == *name)
                    .or_else(|| {
                        // Groups go by their type's name.
                        info.fields.iter().position(|f| match f.ty {
                            Ty::Group(m) => {
                                pool.inner().messages[m].full_name.rsplit('.').next()
                                    == Some(name.as_str())
                            }
                            _ => false,
                        })
                    });
                let Some(index) = index else {
                    return Err(
                        self.error(format!("{} has no field named `{name}`", info.full_name))
                    );
                };
                let field = &info.fields[index];
                if !field.list {
                    if seen[index] {
                        return Err(self.error(format!("field `{name}` is given twice")));
                    }
                    seen[index] = true;
                    if let Some(o) = field.oneof {
                        if oneofs[o] {
                            return Err(self
                                .error(format!("a second member of oneof `{}`", info.oneofs[o])));
                        }
                        oneofs[o] = true;
                    }
                }
                self.advance()?;
                self.field_value(field, out)?;
            }
            if self.punct(';') || self.punct(',') {
                self.advance()?;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// `pkg.ext` or `type.googleapis.com/pkg.Msg`, up to and past `]`.
    fn bracketed_name(&mut self) -> Result<String> {
        let mut name = String::new();
        loop {
            match &self.token {
                Token::Ident(part) => name.push_str(part),
                Token::Punct(c @ ('.' | '/')) => name.push(*c),
                Token::Punct(']') => break,
                _ => return Err(self.error("expected a name in `[…]`")),
            }
            self.advance()?;
        }
        self.advance()?;
        Ok(name)
    }

    /// An expanded `Any`: `[url] { fields }`.
    fn any(&mut self, url: &str, out: &mut Vec<u8>) -> Result<()> {
        let at = self.token_at;
        let embedded = super::any_type(self.options, &self.pool, url)
            .map_err(|e| Error::at(self.text, at, e))?;
        if self.punct(':') {
            self.advance()?;
        }
        let close = self.open_message()?;
        let mut inner = Vec::new();
        // The type may come from another pool (a registry).
        let outer = std::mem::replace(&mut self.pool, embedded.pool().clone());
        let parsed = self.message(embedded.index(), Some(close), &mut inner);
        self.pool = outer;
        parsed?;
        self.advance()?;
        raw::put_bytes(out, 1, url.as_bytes());
        raw::put_bytes(out, 2, &inner);
        Ok(())
    }

    fn open_message(&mut self) -> Result<char> {
        let close = match self.token {
            Token::Punct('{') => '}',
            Token::Punct('<') => '>',
            _ => return Err(self.error("expected `{` or `<`")),
        };
        self.advance()?;
        Ok(close)
    }

    /// After the field name: `: value`, `: [values]`, or a message with
    /// or without the colon.
    fn field_value(&mut self, field: &FieldInfo, out: &mut Vec<u8>) -> Result<()> {
        let is_message = matches!(field.ty, Ty::Message(_) | Ty::Group(_));
        let colon = self.punct(':');
        if colon {
            self.advance()?;
        } else if !is_message {
            return Err(self.error("expected `:`"));
        }
        if field.list && self.punct('[') {
            self.advance()?;
            if self.punct(']') {
                return self.advance();
            }
            loop {
                self.single(field, out)?;
                if self.punct(',') {
                    self.advance()?;
                    continue;
                }
                return self.expect(']');
            }
        }
        self.single(field, out)
    }

    fn single(&mut self, field: &FieldInfo, out: &mut Vec<u8>) -> Result<()> {
        match field.ty {
            Ty::Message(m) => {
                let close = self.open_message()?;
                raw::put_key(out, field.number, WireType::LengthDelimited);
                let start = raw::begin_len(out);
                self.message(m, Some(close), out)?;
                raw::end_len(out, start);
                self.advance()
            }
            Ty::Group(m) => {
                let close = self.open_message()?;
                raw::put_key(out, field.number, WireType::StartGroup);
                self.message(m, Some(close), out)?;
                raw::put_key(out, field.number, WireType::EndGroup);
                self.advance()
            }
            ty => {
                let value = self.scalar(ty)?;
                raw::put_field(out, field.number, ty, value.as_scalar());
                self.advance()
            }
        }
    }

    /// The current token as a value of `ty` (not consumed).
    fn scalar(&mut self, ty: Ty) -> Result<Value> {
        let negative = self.punct('-');
        if negative {
            self.advance()?;
        }
        let token = self.token.clone();
        let bad = |p: &Parser<'_>, what: &str| p.error(format!("expected {what}"));
        Ok(match ty {
            Ty::String | Ty::Bytes => match token {
                Token::Str(bytes) if !negative => {
                    if ty == Ty::String && std::str::from_utf8(&bytes).is_err() {
                        return Err(self.error("a string field holds invalid UTF-8"));
                    }
                    Value::Bytes(bytes)
                }
                _ => return Err(bad(self, "a string")),
            },
            Ty::Bool => match token {
                Token::Ident(word) if !negative => match word.as_str() {
                    "true" | "True" | "t" => Value::Scalar(Scalar::Bool(true)),
                    "false" | "False" | "f" => Value::Scalar(Scalar::Bool(false)),
                    _ => return Err(bad(self, "true or false")),
                },
                Token::Number(n) if !negative && (n == "0" || n == "1") => {
                    Value::Scalar(Scalar::Bool(n == "1"))
                }
                _ => return Err(bad(self, "true or false")),
            },
            Ty::Float | Ty::Double => {
                let value = match token {
                    Token::Ident(word) => match word.to_ascii_lowercase().as_str() {
                        "inf" | "infinity" => f64::INFINITY,
                        "nan" => f64::NAN,
                        _ => return Err(bad(self, "a number")),
                    },
                    Token::Number(n) => parse_float(&n).ok_or_else(|| bad(self, "a number"))?,
                    _ => return Err(bad(self, "a number")),
                };
                let value = if negative { -value } else { value };
                Value::Scalar(if ty == Ty::Float {
                    Scalar::F32(value as f32)
                } else {
                    Scalar::F64(value)
                })
            }
            Ty::Enum(e) => {
                let info = &self.pool.inner().enums[e];
                match token {
                    Token::Ident(name) if !negative => match info.number_of(&name) {
                        Some(n) => Value::Scalar(Scalar::Enum(n)),
                        None => {
                            return Err(self
                                .error(format!("`{name}` is not a value of {}", info.full_name)));
                        }
                    },
                    Token::Number(n) => {
                        let value = parse_int(&n, negative)
                            .and_then(|v| i32::try_from(v).ok())
                            .ok_or_else(|| bad(self, "an enum value"))?;
                        if info.closed && info.name_of(value).is_none() {
                            return Err(self.error(format!(
                                "{value} is not a value of the closed enum {}",
                                info.full_name
                            )));
                        }
                        Value::Scalar(Scalar::Enum(value))
                    }
                    _ => return Err(bad(self, "an enum value")),
                }
            }
            _ => {
                let Token::Number(n) = token else {
                    return Err(bad(self, "an integer"));
                };
                let value = parse_int(&n, negative).ok_or_else(|| bad(self, "an integer"))?;
                let out_of_range = || {
                    self.error(format!(
                        "{} is out of range",
                        if negative { format!("-{n}") } else { n.clone() }
                    ))
                };
                Value::Scalar(match ty {
                    Ty::Int32 | Ty::Sint32 | Ty::Sfixed32 => {
                        Scalar::I32(i32::try_from(value).map_err(|_| out_of_range())?)
                    }
                    Ty::Int64 | Ty::Sint64 | Ty::Sfixed64 => {
                        Scalar::I64(i64::try_from(value).map_err(|_| out_of_range())?)
                    }
                    Ty::Uint32 | Ty::Fixed32 => {
                        Scalar::U32(u32::try_from(value).map_err(|_| out_of_range())?)
                    }
                    _ => Scalar::U64(u64::try_from(value).map_err(|_| out_of_range())?),
                })
            }
        })
    }
}

/// A parsed scalar; strings own their bytes.
enum Value {
    Scalar(Scalar<'static>),
    Bytes(Vec<u8>),
}

impl Value {
    fn as_scalar(&self) -> Scalar<'_> {
        match self {
            Value::Scalar(s) => *s,
            Value::Bytes(b) => Scalar::Bytes(b),
        }
    }
}

/// Decimal, `0x` hex or `0` octal, as protobuf's tokenizer reads them.
fn parse_int(text: &str, negative: bool) -> Option<i128> {
    let magnitude = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()?
    } else if text.len() > 1 && text.starts_with('0') {
        u64::from_str_radix(&text[1..], 8).ok()?
    } else {
        if !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        text.parse::<u64>().ok()?
    };
    let magnitude = i128::from(magnitude);
    Some(if negative { -magnitude } else { magnitude })
}

/// A float literal: digits with an optional fraction and exponent, an
/// optional `f` suffix; integers (also hex and octal) are floats too.
fn parse_float(text: &str) -> Option<f64> {
    let body = text
        .strip_suffix(['f', 'F'])
        .filter(|b| !b.starts_with("0x") && !b.starts_with("0X"))
        .unwrap_or(text);
    if let Ok(v) = body.parse::<f64>()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
    {
        return Some(v);
    }
    parse_int(text, false).map(|v| v as f64)
}
