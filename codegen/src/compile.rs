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

/// Every diagnostic protox reports (it gathers the errors of a file, the
/// first one and its related ones), each as `path:line:col: message`, then
/// its source lines with a caret under each labelled span, as protoc and
/// rustc print them; blank lines between diagnostics.
fn render(error: protox::Error) -> Error {
    let parent = error.source_code();
    let mut blocks = vec![render_one(&error, parent, error.file())];
    for related in error.related().into_iter().flatten() {
        blocks.push(render_one(related, parent, error.file()));
    }
    Error::schema(blocks.join("\n\n"), error)
}

/// A label's place: file name, 1-based line and column, and the line.
struct Place {
    name: Option<String>,
    line: usize,
    column: usize,
    len: usize,
    text: Option<String>,
    label: Option<String>,
}

fn place(source: &dyn miette::SourceCode, label: &miette::LabeledSpan) -> Option<Place> {
    let span = source.read_span(label.inner(), 0, 0).ok()?;
    let line = span.line() + 1;
    let text = source
        .read_span(&(0, 0).into(), usize::MAX, usize::MAX)
        .ok()
        .and_then(|all| {
            std::str::from_utf8(all.data())
                .ok()
                .and_then(|t| t.lines().nth(line - 1))
                .map(str::to_string)
        });
    Some(Place {
        name: span.name().map(str::to_string),
        line,
        column: span.column() + 1,
        len: label.len(),
        text,
        label: label.label().map(str::to_string),
    })
}

fn render_one(
    diagnostic: &dyn Diagnostic,
    parent: Option<&dyn miette::SourceCode>,
    file: Option<&str>,
) -> String {
    let source = diagnostic.source_code().or(parent);
    let mut labels: Vec<miette::LabeledSpan> = diagnostic.labels().into_iter().flatten().collect();
    // The header names the primary label's place, else the first one's.
    if let Some(primary) = labels.iter().position(miette::LabeledSpan::primary) {
        labels.swap(0, primary);
    }
    let places: Vec<Place> = match source {
        Some(source) => labels.iter().filter_map(|l| place(source, l)).collect(),
        None => Vec::new(),
    };
    let mut text = match places.first() {
        Some(first) => format!(
            "{}:{}:{}: {diagnostic}",
            first.name.as_deref().or(file).unwrap_or("<input>"),
            first.line,
            first.column
        ),
        None => match file {
            Some(file) => format!("{file}: {diagnostic}"),
            None => diagnostic.to_string(),
        },
    };
    let mut shown: Vec<&Place> = places.iter().filter(|p| p.text.is_some()).collect();
    shown.sort_by_key(|p| (p.line, p.column));
    let gutter = shown
        .iter()
        .map(|p| p.line.to_string().len())
        .max()
        .unwrap_or(0);
    for (i, place) in shown.iter().enumerate() {
        let source_line = place.text.as_deref().unwrap_or_default();
        if i == 0 || shown[i - 1].line != place.line {
            text.push_str(&format!(
                "\n{:gutter$} |\n{:>gutter$} | {source_line}",
                "", place.line
            ));
        }
        // A span running past its line is marked to the line's end.
        let room = source_line.chars().count().saturating_sub(place.column - 1);
        text.push_str(&format!(
            "\n{:gutter$} | {:>pad$}{}",
            "",
            "",
            "^".repeat(place.len.min(room).max(1)),
            pad = place.column - 1
        ));
        if let Some(label) = &place.label {
            text.push_str(&format!(" {label}"));
        }
    }
    if let Some(help) = diagnostic.help() {
        text.push_str(&format!("\nhelp: {help}"));
    }
    text
}
