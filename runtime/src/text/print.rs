//! Printing: a message's binary encoding walked by its descriptor.

use std::fmt::Write as _;

use super::Options;
use crate::error::DecodeError;
use crate::reflect::raw::{self, Raw, Record, Scalar, Singular};
use crate::reflect::{DescriptorPool, FieldInfo, Ty, WellKnown};

pub(super) struct Printer<'a> {
    pub(super) pool: DescriptorPool,
    pub(super) options: &'a Options,
    pub(super) out: String,
    indent: usize,
    depth: u32,
}

impl<'a> Printer<'a> {
    pub(super) fn new(pool: &'a DescriptorPool, options: &'a Options) -> Printer<'a> {
        Printer {
            pool: pool.clone(),
            options,
            out: String::new(),
            indent: 0,
            depth: 0,
        }
    }

    /// Starts a field's line.
    fn line(&mut self) {
        if self.options.single_line {
            if !self.out.is_empty() && !self.out.ends_with(' ') {
                self.out.push(' ');
            }
        } else {
            for _ in 0..self.indent {
                self.out.push_str("  ");
            }
        }
    }

    fn end_line(&mut self) {
        if !self.options.single_line {
            self.out.push('\n');
        }
    }

    fn open(&mut self, name: &str) {
        self.line();
        self.out.push_str(name);
        self.out.push_str(" {");
        self.end_line();
        self.indent += 1;
    }

    fn close(&mut self) {
        self.indent -= 1;
        self.line();
        self.out.push('}');
        self.end_line();
    }

    /// Prints the fields of the message `message` encoded as `bytes`.
    pub(super) fn message(&mut self, message: usize, bytes: &[u8]) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > self.options.recursion_limit {
            return Err(DecodeError::new(
                crate::error::DecodeErrorKind::RecursionLimit(self.options.recursion_limit),
            ));
        }
        let pool = self.pool.clone();
        let info = &pool.inner().messages[message];
        let records = raw::records(bytes)?;
        if info.well_known == Some(WellKnown::Any) && self.any(&records)? {
            self.depth -= 1;
            return Ok(());
        }
        let mut unknown = Vec::new();
        for run in raw::runs(&records) {
            let number = run[0].number;
            let field = info
                .field_index(number)
                .map(|i| &info.fields[i])
                .or_else(|| {
                    pool.inner()
                        .extensions_of(message)
                        .find(|e| e.number == number)
                });
            match field {
                Some(field) => {
                    let (held, misfits) = raw::split(pool.inner(), field, run)?;
                    if !held.is_empty() {
                        self.field(field, &held)?;
                    }
                    unknown.extend(misfits);
                }
                None => unknown.extend_from_slice(run),
            }
        }
        if self.options.print_unknown_fields {
            self.unknown(&unknown)?;
        }
        self.depth -= 1;
        Ok(())
    }

    /// `Any` with a type the pool knows, printed expanded. False when it
    /// is printed as a plain message instead.
    fn any(&mut self, records: &[Record<'_>]) -> Result<bool, DecodeError> {
        let last = |n: u32| {
            records
                .iter()
                .rev()
                .find(|r| r.number == n)
                .and_then(|r| match r.raw {
                    Raw::Len(b) => Some(b),
                    _ => None,
                })
        };
        let (Some(url), value) = (last(1), last(2).unwrap_or_default()) else {
            return Ok(false);
        };
        if records
            .iter()
            .any(|r| !matches!((r.number, r.raw), (1 | 2, Raw::Len(_))))
        {
            return Ok(false);
        }
        let Ok(url) = std::str::from_utf8(url) else {
            return Ok(false);
        };
        let Ok(embedded) = super::any_type(self.options, &self.pool, url) else {
            return Ok(false);
        };
        // A value that does not decode is printed as bytes, unexpanded.
        if raw::records(value).is_err() {
            return Ok(false);
        }
        self.open(&format!("[{url}]"));
        // The type may come from another pool (a registry).
        let outer = std::mem::replace(&mut self.pool, embedded.pool().clone());
        let printed = self.message(embedded.index(), value);
        self.pool = outer;
        printed?;
        self.close();
        Ok(true)
    }

    fn name(&self, field: &FieldInfo) -> String {
        if field.extendee.is_some() {
            return format!("[{}]", field.full_name);
        }
        match field.ty {
            // A group prints under its type's name, as protoc spells it.
            Ty::Group(m) => {
                let full = &self.pool.inner().messages[m].full_name;
                let type_name = full.rsplit('.').next().unwrap_or(full);
                if type_name.eq_ignore_ascii_case(&field.name) {
                    type_name.to_string()
                } else {
                    field.name.clone()
                }
            }
            _ => field.name.clone(),
        }
    }

    fn field(&mut self, field: &FieldInfo, run: &[Record<'_>]) -> Result<(), DecodeError> {
        let name = self.name(field);
        if field.list {
            for value in raw::values(field.ty, run)? {
                self.value(&name, field.ty, value)?;
            }
            return Ok(());
        }
        match raw::singular(field.ty, run)? {
            Singular::One(value) => self.value(&name, field.ty, value),
            Singular::Merged(bytes) => self.value(&name, field.ty, Scalar::Message(&bytes)),
        }
    }

    fn value(&mut self, name: &str, ty: Ty, value: Scalar<'_>) -> Result<(), DecodeError> {
        if let (Ty::Message(m) | Ty::Group(m), Scalar::Message(bytes)) = (ty, value) {
            self.open(name);
            self.message(m, bytes)?;
            self.close();
            return Ok(());
        }
        self.line();
        self.out.push_str(name);
        self.out.push_str(": ");
        match value {
            Scalar::I32(v) => write!(self.out, "{v}"),
            Scalar::I64(v) => write!(self.out, "{v}"),
            Scalar::U32(v) => write!(self.out, "{v}"),
            Scalar::U64(v) => write!(self.out, "{v}"),
            Scalar::F32(v) => write!(self.out, "{}", float(v.into(), Some(v))),
            Scalar::F64(v) => write!(self.out, "{}", float(v, None)),
            Scalar::Bool(v) => write!(self.out, "{v}"),
            Scalar::Str(b) | Scalar::Bytes(b) => {
                quote(&mut self.out, b);
                Ok(())
            }
            Scalar::Enum(number) => {
                let Ty::Enum(e) = ty else {
                    unreachable!("enum values have enum types")
                };
                match self.pool.inner().enums[e].name_of(number) {
                    Some(name) => write!(self.out, "{name}"),
                    None => write!(self.out, "{number}"),
                }
            }
            Scalar::Message(_) => unreachable!("handled above"),
        }
        .expect("writing to a String");
        self.end_line();
        Ok(())
    }

    /// Unknown fields: by number; length-delimited ones as a nested message
    /// when they parse as one, else as bytes.
    fn unknown(&mut self, records: &[Record<'_>]) -> Result<(), DecodeError> {
        for record in records {
            let name = record.number.to_string();
            match record.raw {
                Raw::Varint(v) => self.scalar_line(&name, &v.to_string()),
                Raw::Fixed32(v) => self.scalar_line(&name, &format!("0x{v:08x}")),
                Raw::Fixed64(v) => self.scalar_line(&name, &format!("0x{v:016x}")),
                Raw::Group(bytes) => {
                    self.open(&name);
                    self.unknown(&raw::records(bytes)?)?;
                    self.close();
                }
                Raw::Len(bytes) => match raw::records(bytes) {
                    Ok(inner) if !bytes.is_empty() && self.depth < self.options.recursion_limit => {
                        self.open(&name);
                        self.depth += 1;
                        self.unknown(&inner)?;
                        self.depth -= 1;
                        self.close();
                    }
                    _ => {
                        let mut text = String::new();
                        quote(&mut text, bytes);
                        self.scalar_line(&name, &text);
                    }
                },
            }
        }
        Ok(())
    }

    fn scalar_line(&mut self, name: &str, value: &str) {
        self.line();
        self.out.push_str(name);
        self.out.push_str(": ");
        self.out.push_str(value);
        self.end_line();
    }
}

/// Shortest text that reads back as the same value; `inf`, `-inf`, `nan`.
fn float(v: f64, single: Option<f32>) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    match single {
        Some(f) => format!("{f:?}"),
        None => format!("{v:?}"),
    }
}

/// A double-quoted string with C escapes: printable ASCII and UTF-8
/// sequences as they are, other bytes as three-digit octal.
pub(super) fn quote(out: &mut String, bytes: &[u8]) {
    out.push('"');
    let mut rest = bytes;
    while !rest.is_empty() {
        let valid = match std::str::from_utf8(rest) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).expect("valid prefix"),
        };
        for c in valid.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    write!(out, "\\{:03o}", c as u32).expect("writing to a String")
                }
                c => out.push(c),
            }
        }
        rest = &rest[valid.len()..];
        if let Some((&byte, tail)) = rest.split_first() {
            write!(out, "\\{byte:03o}").expect("writing to a String");
            rest = tail;
        }
    }
    out.push('"');
}
