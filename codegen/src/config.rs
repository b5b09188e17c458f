//! [`Builder`]: the options users set from `build.rs`.

use std::fs;
use std::path::{Path, PathBuf};

use protocall::Message as _;
use protocall::types::FileDescriptorSet;

use crate::paths::PathMap;
use crate::{Error, GeneratedFile};

/// Starts a code generator configuration with the defaults.
///
/// ```no_run
/// // build.rs
/// protocall_codegen::configure()
///     .bytes([".user.Avatar.data"])
///     .compile(&["proto/user.proto"], &["proto"])
///     .unwrap();
/// ```
pub fn configure() -> Builder {
    Builder::default()
}

/// Code generator options; see [`configure`].
///
/// Every option that takes proto paths uses the same matching: `.` matches
/// everything, a path starting with `.` matches that fully qualified name and
/// everything under it (`.pkg`, `.pkg.Msg`, `.pkg.Msg.field`), and any other
/// path matches by suffix (`Msg.field`). A path that matches nothing is an
/// error, so a typo cannot go unnoticed.
///
/// ```
/// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
/// #     use protocall::Message;
/// #     let dir = tempfile::tempdir().unwrap();
/// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
/// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
/// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
/// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
/// # }
/// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
/// let files = protocall_codegen::configure()
///     .type_attribute(".demo.Ping", "#[derive(Eq)]")
///     .bytes(["Ping.data"])
///     .generate(&set, &["demo.proto".to_string()])?;
/// let code = &files[0].content;
/// assert!(code.contains("#[derive(Eq)]"), "{code}");
/// // a path that matches nothing is an error
/// let typo = protocall_codegen::configure().bytes([".demo.Pong.data"]).generate(&set, &["demo.proto".to_string()]);
/// assert!(typo.is_err());
/// # Ok::<(), protocall_codegen::Error>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    pub(crate) config: Config,
    out_dir: Option<PathBuf>,
    include_file: Option<PathBuf>,
    file_descriptor_set_path: Option<PathBuf>,
    emit_rerun_if_changed: bool,
}

/// The options the model and emitter read.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) type_attributes: PathMap<String>,
    pub(crate) message_attributes: PathMap<String>,
    pub(crate) enum_attributes: PathMap<String>,
    pub(crate) field_attributes: PathMap<String>,
    pub(crate) bytes: PathMap<()>,
    pub(crate) btree_map: PathMap<()>,
    pub(crate) disable_comments: PathMap<()>,
    pub(crate) discard_unknown_fields: PathMap<()>,
    pub(crate) views: PathMap<()>,
    pub(crate) view_requests: PathMap<()>,
    pub(crate) view_responses: PathMap<()>,
    pub(crate) extern_paths: Vec<(String, String)>,
    /// Off only when generating `google.protobuf` itself (the runtime's types).
    pub(crate) builtin_well_known_types: bool,
    pub(crate) build_server: bool,
    pub(crate) build_client: bool,
    pub(crate) descriptors: bool,
    pub(crate) json: bool,
    pub(crate) json_feature: Option<&'static str>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            type_attributes: PathMap::default(),
            message_attributes: PathMap::default(),
            enum_attributes: PathMap::default(),
            field_attributes: PathMap::default(),
            bytes: PathMap::default(),
            btree_map: PathMap::default(),
            disable_comments: PathMap::default(),
            discard_unknown_fields: PathMap::default(),
            views: PathMap::default(),
            view_requests: PathMap::default(),
            view_responses: PathMap::default(),
            extern_paths: Vec::new(),
            builtin_well_known_types: true,
            build_server: true,
            build_client: true,
            descriptors: true,
            json: true,
            json_feature: None,
        }
    }
}

impl Config {
    /// What the emitter needs of the options.
    pub(crate) fn emit_options(&self) -> protocall_codegen_core::emit::Options {
        protocall_codegen_core::emit::Options {
            build_server: self.build_server,
            build_client: self.build_client,
        }
    }

    /// User extern paths plus the well-known types' mapping.
    pub(crate) fn extern_paths(&self) -> impl Iterator<Item = (&str, &str)> {
        let builtin = self
            .builtin_well_known_types
            .then_some((".google.protobuf", "::protocall::types"));
        self.extern_paths
            .iter()
            .map(|(p, r)| (p.as_str(), r.as_str()))
            .chain(builtin)
    }

    /// Attributes that are not Rust attributes and extern paths that are not
    /// Rust paths, as an error (checked before anything is emitted).
    pub(crate) fn check_attributes(&self) -> Result<(), Error> {
        let maps = [
            ("type_attribute", &self.type_attributes),
            ("message_attribute", &self.message_attributes),
            ("enum_attribute", &self.enum_attributes),
            ("field_attribute", &self.field_attributes),
        ];
        for (proto, rust) in &self.extern_paths {
            parse_extern_path(proto, rust)?;
        }
        for (option, map) in maps {
            for (path, attribute) in map.entries() {
                if let Err(e) = parse_attributes(attribute) {
                    return Err(Error::new(format!(
                        "`{option}(\"{path}\", {attribute:?})` is not valid Rust: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Options whose paths matched nothing, as an error.
    pub(crate) fn check_unmatched(&self) -> Result<(), Error> {
        let maps: [(&str, Vec<&str>); 11] = [
            ("type_attribute", self.type_attributes.unmatched().collect()),
            (
                "message_attribute",
                self.message_attributes.unmatched().collect(),
            ),
            ("enum_attribute", self.enum_attributes.unmatched().collect()),
            (
                "field_attribute",
                self.field_attributes.unmatched().collect(),
            ),
            ("bytes", self.bytes.unmatched().collect()),
            ("btree_map", self.btree_map.unmatched().collect()),
            (
                "disable_comments",
                self.disable_comments.unmatched().collect(),
            ),
            (
                "discard_unknown_fields",
                self.discard_unknown_fields.unmatched().collect(),
            ),
            ("views", self.views.unmatched().collect()),
            ("view_requests", self.view_requests.unmatched().collect()),
            ("view_responses", self.view_responses.unmatched().collect()),
        ];
        let problems: Vec<String> = maps
            .iter()
            .flat_map(|(option, paths)| {
                paths
                    .iter()
                    .map(move |p| format!("`{option}(\"{p}\")` matches nothing"))
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::new(format!(
                "unused code generator options: {}",
                problems.join("; ")
            )))
        }
    }
}

/// The Rust path of an `extern_path` option: a plain path (`::common::v1`),
/// without generic arguments, which generated code could not extend.
pub(crate) fn parse_extern_path(proto: &str, rust: &str) -> Result<syn::Path, Error> {
    let context = || format!("`extern_path(\"{proto}\", \"{rust}\")`: `{rust}`");
    let path: syn::Path = syn::parse_str(rust)
        .map_err(|e| Error::new(format!("{} is not a Rust path: {e}", context())))?;
    if path.segments.iter().any(|s| !s.arguments.is_none()) {
        return Err(Error::new(format!(
            "{} has generic arguments; expected a module or type path",
            context()
        )));
    }
    Ok(path)
}

/// The outer attributes (`#[derive(Hash)] #[serde(…)]`) an attribute
/// option's text holds.
pub(crate) fn parse_attributes(text: &str) -> Result<Vec<syn::Attribute>, String> {
    use syn::parse::Parser as _;
    syn::Attribute::parse_outer
        .parse_str(text)
        .map_err(|e| format!("expected attributes (`#[…]`): {e}"))
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            config: Config::default(),
            out_dir: None,
            include_file: None,
            file_descriptor_set_path: None,
            emit_rerun_if_changed: true,
        }
    }
}

fn paths<I, S>(map: &mut PathMap<()>, paths: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for path in paths {
        map.insert(path.as_ref(), ());
    }
}

impl Builder {
    /// Where generated files go; defaults to `$OUT_DIR`.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let out = tempfile::tempdir()?;
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping {}"#);
    /// protocall_codegen::configure().out_dir(out.path()).compile_fds(set)?;
    /// assert!(out.path().join("demo.rs").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Adds an attribute (e.g. `#[derive(Hash)]`) to matching messages and enums.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { Kind kind = 1; } enum Kind { KIND_UNSPECIFIED = 0; }"#);
    /// let files = protocall_codegen::configure()
    ///     .type_attribute(".demo", "#[doc(alias = \"demo\")]")
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert_eq!(code.matches("#[doc(alias = \"demo\")]").count(), 2, "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn type_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.config
            .type_attributes
            .insert(path.as_ref(), attribute.as_ref().to_string());
        self
    }

    /// Adds an attribute to matching messages.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
    /// let files = protocall_codegen::configure()
    ///     .message_attribute("Ping", "#[must_use]")
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("#[must_use]"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn message_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.config
            .message_attributes
            .insert(path.as_ref(), attribute.as_ref().to_string());
        self
    }

    /// Adds an attribute to matching enums.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; enum Kind { KIND_UNSPECIFIED = 0; }"#);
    /// let files = protocall_codegen::configure()
    ///     .enum_attribute(".demo.Kind", "#[derive(PartialOrd, Ord)]")
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("#[derive(PartialOrd, Ord)]"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn enum_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.config
            .enum_attributes
            .insert(path.as_ref(), attribute.as_ref().to_string());
        self
    }

    /// Adds an attribute to matching fields (`.pkg.Msg.field`).
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
    /// let files = protocall_codegen::configure()
    ///     .field_attribute(".demo.Ping.id", "#[doc(alias = \"identifier\")]")
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("#[doc(alias = \"identifier\")]"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn field_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.config
            .field_attributes
            .insert(path.as_ref(), attribute.as_ref().to_string());
        self
    }

    /// Stores matching `bytes` fields as `bytes::Bytes` instead of `Vec<u8>`.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
    /// let files = protocall_codegen::configure()
    ///     .bytes([".demo.Ping.data"])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("pub data: ::protocall::bytes::Bytes"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn bytes<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.bytes, paths_);
        self
    }

    /// Stores matching map fields as `BTreeMap` instead of `HashMap`.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
    /// let files = protocall_codegen::configure()
    ///     .btree_map(["."])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("BTreeMap<"), "{code}");
    /// assert!(!code.contains("HashMap<"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn btree_map<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.btree_map, paths_);
        self
    }

    /// Uses existing Rust types for a proto package or type instead of
    /// generating them: `extern_path(".common", "::common_protos")`.
    /// `.google.protobuf` maps to `::protocall::types` by default.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("common.proto"), "syntax = \"proto3\"; package common; message Money { int64 cents = 1; }").unwrap();
    /// # std::fs::write(dir.path().join("shop.proto"), "syntax = \"proto3\"; package shop; import \"common.proto\"; message Price { common.Money amount = 1; }").unwrap();
    /// # let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// # compiler.include_imports(true).open_file("shop.proto").unwrap();
    /// # let set = <protocall::types::FileDescriptorSet as protocall::Message>::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap();
    /// // `set` holds shop.proto and the common.proto it imports; common comes from a crate
    /// let files = protocall_codegen::configure()
    ///     .extern_path(".common", "::common_protos")
    ///     .generate(&set, &["shop.proto".to_string()])?;
    /// assert_eq!(files.len(), 1); // shop.rs only
    /// assert!(files[0].content.contains("::common_protos::Money"), "{}", files[0].content);
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn extern_path(mut self, proto_path: impl AsRef<str>, rust_path: impl AsRef<str>) -> Self {
        self.config.extern_paths.push((
            proto_path.as_ref().to_string(),
            rust_path.as_ref().to_string(),
        ));
        self
    }

    /// Also writes a file of that name nesting every generated package in
    /// `pub mod` blocks, so one `include!` brings in everything.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo.v1; message Ping {}"#);
    /// let files = protocall_codegen::configure()
    ///     .include_file("all.rs")
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// let all = files.iter().find(|file| file.name == "all.rs").unwrap();
    /// assert!(all.content.contains("pub mod demo"), "{}", all.content);
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn include_file(mut self, name: impl Into<PathBuf>) -> Self {
        self.include_file = Some(name.into());
        self
    }

    /// Also writes the compiled `FileDescriptorSet` (with imports and source
    /// info) to this path.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("demo.proto"), "syntax = \"proto3\"; package demo; message Ping {}")?;
    /// let descriptors = dir.path().join("descriptors.bin");
    /// protocall_codegen::configure()
    ///     .out_dir(dir.path())
    ///     .file_descriptor_set_path(&descriptors) // e.g. for protocall::reflection
    ///     .emit_rerun_if_changed(false)
    ///     .compile(&[dir.path().join("demo.proto")], &[dir.path()])?;
    /// assert!(std::fs::metadata(&descriptors)?.len() > 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn file_descriptor_set_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.file_descriptor_set_path = Some(path.into());
        self
    }

    /// Leaves proto comments out of the generated code for matching paths.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile("syntax = \"proto3\"; package demo;\n// A secret note.\nmessage Ping {}");
    /// let files = protocall_codegen::configure()
    ///     .disable_comments([".demo.Ping"])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(!code.contains("A secret note."), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn disable_comments<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.disable_comments, paths_);
        self
    }

    /// Generates matching messages without unknown-field preservation: no
    /// `_unknown_fields` member, unknown fields are dropped on decode.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; bytes data = 2; map<string, int32> scores = 3; }"#);
    /// let files = protocall_codegen::configure()
    ///     .discard_unknown_fields(["."])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(!code.contains("_unknown_fields"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn discard_unknown_fields<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        paths_: I,
    ) -> Self {
        paths(&mut self.config.discard_unknown_fields, paths_);
        self
    }

    /// Generates a borrowed view `NameView<'a>` beside each matching message
    /// (`protocall::view`): decoded from `&'a [u8]` without copying strings,
    /// bytes or sub-messages, with the same checks as owned decoding, and
    /// `to_owned()` into the message. A sub-message field of a view is a
    /// view when its message matches too, and the owned message otherwise.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Log { string line = 1; bytes body = 2; }"#);
    /// let files = protocall_codegen::configure()
    ///     .views([".demo"])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// assert!(files[0].content.contains("pub struct LogView<'a>"), "{}", files[0].content);
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn views<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.views, paths_);
        self
    }

    /// Server handlers of matching methods (`.pkg.Svc.Method`, or a whole
    /// `.pkg.Svc` or `.pkg`) take their requests as
    /// [`protocall::view::ViewOf`]`<Req>`: decoded in place from the
    /// request's bytes, nothing copied. The request type needs a view
    /// ([`Builder::views`]); a method matched without one is an error.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo;
    ///     message Log { string line = 1; } message Ack {}
    ///     service Sink { rpc Put(Log) returns (Ack); }"#);
    /// let files = protocall_codegen::configure()
    ///     .views([".demo.Log"])
    ///     .view_requests([".demo.Sink.Put"])
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// assert!(files[0].content.contains("ViewOf<super::Log>"), "{}", files[0].content);
    /// // without a view of the request type, an error
    /// let err = protocall_codegen::configure().view_requests([".demo.Sink"])
    ///     .generate(&set, &["demo.proto".to_string()]).unwrap_err();
    /// assert!(err.to_string().contains("add it to views"), "{err}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn view_requests<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.view_requests, paths_);
        self
    }

    /// Clients of matching methods return their responses as
    /// [`protocall::view::ViewOf`]`<Resp>` (streams of them for server
    /// streaming): decoded in place from the response's bytes. The
    /// response type needs a view ([`Builder::views`]).
    pub fn view_responses<I: IntoIterator<Item = S>, S: AsRef<str>>(mut self, paths_: I) -> Self {
        paths(&mut self.config.view_responses, paths_);
        self
    }

    /// Prints `cargo:rerun-if-changed` for every input file, imports
    /// included (on by default).
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("demo.proto"), "syntax = \"proto3\"; package demo;")?;
    /// protocall_codegen::configure()
    ///     .out_dir(dir.path())
    ///     .emit_rerun_if_changed(false) // build.rs prints its own, e.g. for a whole folder
    ///     .compile(&[dir.path().join("demo.proto")], &[dir.path()])?;
    /// println!("cargo:rerun-if-changed=proto");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.emit_rerun_if_changed = on;
        self
    }

    /// Generates service server code (on by default).
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping {} service Pinger { rpc Ping(Ping) returns (Ping); }"#);
    /// let files = protocall_codegen::configure()
    ///     .build_server(false)
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(!code.contains("pub mod pinger_server"), "{code}");
    /// assert!(code.contains("pub mod pinger_client"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn build_server(mut self, on: bool) -> Self {
        self.config.build_server = on;
        self
    }

    /// Generates service client code (on by default).
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping {} service Pinger { rpc Ping(Ping) returns (Ping); }"#);
    /// let files = protocall_codegen::configure()
    ///     .build_client(false)
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert!(code.contains("pub mod pinger_server"), "{code}");
    /// assert!(!code.contains("pub mod pinger_client"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn build_client(mut self, on: bool) -> Self {
        self.config.build_client = on;
        self
    }

    /// Embeds each package's `FileDescriptorSet` (its files and their
    /// imports, without comments) as `FILE_DESCRIPTOR_SET`, and implements
    /// `protocall::reflect::ReflectMessage` on every message (on by
    /// default). JSON needs it; turning it off also turns off [`json`].
    ///
    /// [`json`]: Builder::json
    pub fn descriptors(mut self, on: bool) -> Self {
        self.config.descriptors = on;
        self
    }

    /// Implements serde's `Serialize` and `Deserialize` (canonical proto3
    /// JSON, through `protocall::json`) on every message (on by default;
    /// needs the `json` feature of `protocall`, also on by default).
    pub fn json(mut self, on: bool) -> Self {
        self.config.json = on;
        self
    }

    /// Puts the serde impls behind `#[cfg(feature = "json")]`: for code
    /// checked into the runtime, whose JSON is a feature.
    #[doc(hidden)]
    pub fn json_behind_feature(mut self) -> Self {
        self.config.json_feature = Some("json");
        self
    }

    /// Generates `google.protobuf` itself instead of mapping it to
    /// `protocall::types` (used to build the runtime's well-known types).
    #[doc(hidden)]
    pub fn compile_well_known_types(mut self) -> Self {
        self.config.builtin_well_known_types = false;
        self
    }

    /// Compiles `protos` (found through `includes`) with protox and writes
    /// one `.rs` file per package. No `protoc` is needed.
    ///
    /// Schema errors name the file, line and column, and show the line.
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("demo.proto"), "syntax = \"proto3\";\npackage demo;\nmessage Ping { int64 id = 1; }\n")?;
    /// protocall_codegen::configure()
    ///     .out_dir(dir.path()) // from build.rs, leave this out: `$OUT_DIR`
    ///     .emit_rerun_if_changed(false)
    ///     .compile(&[dir.path().join("demo.proto")], &[dir.path()])?;
    /// assert!(dir.path().join("demo.rs").exists());
    ///
    /// std::fs::write(dir.path().join("bad.proto"), "syntax = \"proto3\";\nmessage Bad { Missing m = 1; }\n")?;
    /// let err = protocall_codegen::configure()
    ///     .out_dir(dir.path())
    ///     .compile(&[dir.path().join("bad.proto")], &[dir.path()])
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("bad.proto:2:"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "protox")]
    pub fn compile(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<(), Error> {
        let compiled = crate::compile::compile(protos, includes)?;
        if self.emit_rerun_if_changed {
            for path in &compiled.paths {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        self.write(&compiled.set, &compiled.files_to_generate)
    }

    /// Generates code for every file of a `FileDescriptorSet` built elsewhere
    /// (by `protoc --descriptor_set_out --include_imports`, `buf build`, …).
    /// Files are generated in full; imports must be in the set too.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let out = tempfile::tempdir()?;
    /// // e.g. decoded from the output of `buf build -o set.bin`
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping {}"#);
    /// protocall_codegen::configure().out_dir(out.path()).compile_fds(set)?;
    /// assert!(std::fs::read_to_string(out.path().join("demo.rs"))?.contains("pub struct Ping"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_fds(self, set: FileDescriptorSet) -> Result<(), Error> {
        let names: Vec<String> = set.file.iter().map(|f| f.name().to_string()).collect();
        self.write(&set, &names)
    }

    /// [`Builder::compile_fds`] for an encoded set, as written by
    /// `protoc --descriptor_set_out=set.bin --include_imports` or
    /// `buf build -o set.bin`; editions files keep their features.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// use protocall::Message;
    /// let out = tempfile::tempdir()?;
    /// let bytes = compile(r#"syntax = "proto3"; package demo; message Ping {}"#).encode_to_vec();
    /// // in build.rs: std::fs::read("set.bin")?
    /// protocall_codegen::configure().out_dir(out.path()).compile_fds_encoded(&bytes)?;
    /// assert!(out.path().join("demo.rs").exists());
    /// assert!(protocall_codegen::configure().compile_fds_encoded(b"\xff").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compile_fds_encoded(self, bytes: &[u8]) -> Result<(), Error> {
        let set = FileDescriptorSet::decode(bytes)
            .map_err(|e| Error::with_source("cannot read the FileDescriptorSet", e))?;
        self.compile_fds(set)
    }

    /// Generates the files for `files_to_generate` without writing them.
    ///
    /// ```
    /// # fn compile(source: &str) -> protocall::types::FileDescriptorSet {
    /// #     use protocall::Message;
    /// #     let dir = tempfile::tempdir().unwrap();
    /// #     std::fs::write(dir.path().join("demo.proto"), source).unwrap();
    /// #     let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    /// #     compiler.include_source_info(true).open_file("demo.proto").unwrap();
    /// #     protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice()).unwrap()
    /// # }
    /// let set = compile(r#"syntax = "proto3"; package demo; message Ping { int64 id = 1; }"#);
    /// let files = protocall_codegen::configure()
    ///     .generate(&set, &["demo.proto".to_string()])?;
    /// let code = &files[0].content;
    /// assert_eq!(files[0].name, "demo.rs");
    /// assert!(code.contains("pub struct Ping"), "{code}");
    /// # Ok::<(), protocall_codegen::Error>(())
    /// ```
    pub fn generate(
        &self,
        set: &FileDescriptorSet,
        files_to_generate: &[String],
    ) -> Result<Vec<GeneratedFile>, Error> {
        // Input order must not matter: protoc passes files in command-line
        // order, protox in its own.
        let mut names = files_to_generate.to_vec();
        names.sort();
        names.dedup();
        self.config.check_attributes()?;
        let packages = crate::lower::build(&set.file, &names, &self.config)?;
        self.config.check_unmatched()?;
        let mut files: Vec<GeneratedFile> = packages
            .iter()
            .map(|package| GeneratedFile {
                name: protocall_codegen_core::emit::package_file_name(&package.name),
                content: protocall_codegen_core::emit::file(package, &self.config.emit_options()),
            })
            .collect();
        if let Some(include) = &self.include_file {
            files.push(GeneratedFile {
                name: include.to_string_lossy().into_owned(),
                content: protocall_codegen_core::emit::include_file(&packages),
            });
        }
        Ok(files)
    }

    fn write(&self, set: &FileDescriptorSet, files_to_generate: &[String]) -> Result<(), Error> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::new("OUT_DIR is not set: call from build.rs or set out_dir()")
                })?,
        };
        fs::create_dir_all(&out_dir)
            .map_err(|e| Error::with_source(format!("cannot create {}", out_dir.display()), e))?;
        for file in self.generate(set, files_to_generate)? {
            write_if_changed(&out_dir.join(&file.name), file.content.as_bytes())?;
        }
        if let Some(path) = &self.file_descriptor_set_path {
            write_if_changed(path, &set.encode_to_vec())?;
        }
        Ok(())
    }
}

/// Leaves the file alone when unchanged, so cargo does not rebuild for nothing.
fn write_if_changed(path: &Path, content: &[u8]) -> Result<(), Error> {
    if fs::read(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    fs::write(path, content)
        .map_err(|e| Error::with_source(format!("cannot write {}", path.display()), e))
}
