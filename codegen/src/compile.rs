//! `.proto` files to a `FileDescriptorSet` with protox, and its errors
//! rendered as `file:line:column` with the offending line.

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use protocall::Message as _;
use protocall::types::FileDescriptorSet;

use crate::Error;

pub(crate) struct Compiled {
    pub(crate) set: FileDescriptorSet,
    /// Names (relative to an include) of the files asked for.
    pub(crate) files_to_generate: Vec<String>,
    /// Every file read, imports included, for `rerun-if-changed`.
    pub(crate) paths: Vec<PathBuf>,
}

pub(crate) fn compile(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> Result<Compiled, Error> {
    let mut compiler = protox::Compiler::new(includes.iter().map(AsRef::as_ref)).map_err(render)?;
    compiler.include_imports(true).include_source_info(true);
    compiler
        .open_files(protos.iter().map(AsRef::as_ref))
        .map_err(render)?;
    // One `.rs` file holds a whole package, so imports sharing a package
    // with a requested file are generated too.
    // protox speaks prost-types; the generator reads protocall's own
    // descriptor types (which know editions): convert through the wire.
    let set = FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice())
        .map_err(|e| Error::with_source("protox produced an unreadable descriptor set", e))?;
    let package_of = |name: &str| {
        set.file
            .iter()
            .find(|f| f.name() == name)
            .map(|f| f.package().to_string())
    };
    let packages: std::collections::HashSet<Option<String>> = compiler
        .files()
        .filter(|f| !f.is_import())
        .map(|f| package_of(f.name()))
        .collect();
    let files_to_generate = compiler
        .files()
        .filter(|f| !f.is_import() || packages.contains(&package_of(f.name())))
        .map(|f| f.name().to_string())
        .collect();
    let paths = compiler
        .files()
        .filter_map(|f| f.path().map(Path::to_path_buf))
        .collect();
    Ok(Compiled {
        set,
        files_to_generate,
        paths,
    })
}

/// `path:line:col: message`, then the source line and a caret, as protoc
/// and rustc print them.
fn render(error: protox::Error) -> Error {
    let mut text = String::new();
    let located = error
        .labels()
        .and_then(|mut labels| labels.next())
        .and_then(|label| {
            let source = error.source_code()?;
            let span = source.read_span(label.inner(), 0, 0).ok()?;
            let name = span
                .name()
                .unwrap_or(error.file().unwrap_or("<input>"))
                .to_string();
            let line_no = span.line() + 1;
            let column = span.column() + 1;
            Some((
                name,
                line_no,
                column,
                label.len(),
                label.label().map(str::to_string),
            ))
        });
    match located {
        Some((name, line, column, len, label)) => {
            text.push_str(&format!("{name}:{line}:{column}: {error}"));
            if let Some(source_line) = error
                .source_code()
                .and_then(|s| s.read_span(&(0, 0).into(), usize::MAX, usize::MAX).ok())
                .and_then(|all| {
                    std::str::from_utf8(all.data())
                        .ok()
                        .and_then(|t| t.lines().nth(line - 1))
                        .map(str::to_string)
                })
            {
                let gutter = line.to_string().len();
                text.push_str(&format!("\n{:gutter$} |\n{line} | {source_line}\n", ""));
                text.push_str(&format!(
                    "{:gutter$} | {:>pad$}{}",
                    "",
                    "",
                    "^".repeat(len.max(1)),
                    pad = column - 1
                ));
                if let Some(label) = label {
                    text.push_str(&format!(" {label}"));
                }
            }
        }
        None => match error.file() {
            Some(file) => text.push_str(&format!("{file}: {error}")),
            None => text.push_str(&error.to_string()),
        },
    }
    if let Some(help) = error.help() {
        text.push_str(&format!("\nhelp: {help}"));
    }
    Error::with_source(text, error)
}
