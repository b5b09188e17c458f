//! Schema and configuration errors reach the user with their location.

fn compile(source: &str) -> Result<(), protocall_codegen::Error> {
    compile_with(protocall_codegen::configure(), source)
}

fn compile_with(
    builder: protocall_codegen::Builder,
    source: &str,
) -> Result<(), protocall_codegen::Error> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.proto"), source).unwrap();
    builder
        .emit_rerun_if_changed(false)
        .out_dir(dir.path().join("out"))
        .compile(&[dir.path().join("bad.proto")], &[dir.path()])
}

#[test]
fn type_errors_name_file_line_and_column_with_the_source_line() {
    let err = compile("syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing field = 1;\n}\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.proto:4:3: "), "{err}");
    assert!(err.contains("Missing"), "{err}");
    assert!(err.contains("4 |   Missing field = 1;"), "{err}");
    assert!(err.contains("  |   ^^^^^^^"), "{err}");
}

#[test]
fn syntax_errors_are_located() {
    let err = compile("syntax = \"proto3\";\nmessage M {\n  int32 x = ;\n}\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad.proto:3:"), "{err}");
}

#[test]
fn missing_imports_are_reported() {
    let err = compile("syntax = \"proto3\";\nimport \"nope.proto\";\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.proto"), "{err}");
}

#[test]
fn options_that_match_nothing_are_errors() {
    let err = compile_with(
        protocall_codegen::configure().bytes([".p.M.typo"]),
        "syntax = \"proto3\";\npackage p;\nmessage M { bytes data = 1; }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`bytes(\".p.M.typo\")` matches nothing"),
        "{err}"
    );
}

#[test]
fn a_good_schema_writes_one_file_per_package() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\";\npackage a.v1;\nmessage A { int32 x = 1; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.proto"),
        "syntax = \"proto3\";\npackage b;\nimport \"a.proto\";\nmessage B { a.v1.A a = 1; }\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    protocall_codegen::configure()
        .emit_rerun_if_changed(false)
        .out_dir(&out)
        .compile(&[dir.path().join("b.proto")], &[dir.path()])
        .unwrap();
    // Only the file asked for is generated; its import is referenced by path.
    assert!(out.join("b.rs").exists());
    assert!(!out.join("a.v1.rs").exists());
    let b = std::fs::read_to_string(out.join("b.rs")).unwrap();
    assert!(b.contains("super::a::v1::A"), "{b}");
}

#[test]
fn attributes_that_are_not_rust_are_errors() {
    let err = compile_with(
        protocall_codegen::configure().type_attribute(".p.M", "#[derive(Eq"),
        "syntax = \"proto3\";\npackage p;\nmessage M { int32 x = 1; }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("type_attribute(\".p.M\""), "{err}");
}

#[test]
fn file_descriptor_set_path_writes_the_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\";\npackage a;\nmessage A { int32 x = 1; }\n",
    )
    .unwrap();
    let set_path = dir.path().join("set.bin");
    protocall_codegen::configure()
        .emit_rerun_if_changed(false)
        .out_dir(dir.path().join("out"))
        .file_descriptor_set_path(&set_path)
        .compile(&[dir.path().join("a.proto")], &[dir.path()])
        .unwrap();
    use protocall::Message as _;
    let set =
        protocall::types::FileDescriptorSet::decode(std::fs::read(&set_path).unwrap().as_slice())
            .unwrap();
    assert_eq!(set.file.len(), 1);
    assert_eq!(set.file[0].message_type[0].name(), "A");
    // Source info is kept (comments for reflection clients).
    assert!(set.file[0].source_code_info.is_some());
}

/// A descriptor set for `source` (as `bad.proto`), to be tampered with the
/// way a hand-built or foreign set could be.
fn descriptor_set(source: &str) -> protocall::types::FileDescriptorSet {
    use protocall::Message as _;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.proto"), source).unwrap();
    let mut compiler = protox::Compiler::new([dir.path()]).unwrap();
    compiler.open_file("bad.proto").unwrap();
    protocall::types::FileDescriptorSet::decode(compiler.encode_file_descriptor_set().as_slice())
        .unwrap()
}

fn generate_err(
    builder: protocall_codegen::Builder,
    set: &protocall::types::FileDescriptorSet,
) -> String {
    builder
        .generate(set, &["bad.proto".to_string()])
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_defaults_are_errors_naming_file_and_field() {
    let source = "syntax = \"proto2\";\npackage p;\nenum E { A = 0; B = 1; }\n\
                  message M {\n  optional int32 small = 1 [default = 5];\n  optional E e = 2 [default = B];\n  optional bool flag = 3 [default = true];\n}\n";
    let cases = [
        (0, "99999999999", "is out of range for int32"),
        (0, "five", "is not an int32 value"),
        (1, "NOPE", "is not a value of `.p.E`"),
        (2, "yes", "is not `true` or `false`"),
    ];
    for (field, text, expected) in cases {
        let mut set = descriptor_set(source);
        set.file[0].message_type[0].field[field].default_value = Some(text.to_string());
        let err = generate_err(protocall_codegen::configure(), &set);
        let name = set.file[0].message_type[0].field[field].name().to_string();
        assert!(
            err.starts_with(&format!(
                "bad.proto: field `.p.M.{name}`: `[default = {text}]`"
            )),
            "{err}"
        );
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn defaults_keep_their_values() {
    let set = descriptor_set(
        "syntax = \"proto2\";\npackage p;\nenum E { A = 0; B = 1; }\n\
         message M {\n  optional int32 small = 1 [default = -5];\n  optional E e = 2 [default = B];\n\
           optional double d = 3 [default = -inf];\n  optional bytes b = 4 [default = \"a\\001\"];\n\
           optional uint64 big = 5 [default = 18446744073709551615];\n}\n",
    );
    let files = protocall_codegen::configure()
        .generate(&set, &["bad.proto".to_string()])
        .unwrap();
    let code = &files[0].content;
    for expected in [
        "self.small.unwrap_or(-5i32)",
        "self.e.unwrap_or(E::B)",
        "self.d.unwrap_or(f64::NEG_INFINITY)",
        "self.b.as_deref().unwrap_or(b\"a\\x01\")",
        "self.big.unwrap_or(18446744073709551615u64)",
    ] {
        assert!(code.contains(expected), "{expected} in\n{code}");
    }
}

#[test]
fn attribute_options_must_be_attributes() {
    let set = descriptor_set("syntax = \"proto3\";\npackage p;\nmessage M { int32 x = 1; }\n");
    let err = generate_err(
        protocall_codegen::configure().field_attribute(".p.M.x", "derive(Eq)"),
        &set,
    );
    assert!(err.contains("field_attribute(\".p.M.x\""), "{err}");
    assert!(err.contains("expected attributes (`#[…]`)"), "{err}");
}

#[test]
fn extern_paths_must_be_paths() {
    let set = descriptor_set("syntax = \"proto3\";\npackage p;\nmessage M { int32 x = 1; }\n");
    let err = generate_err(
        protocall_codegen::configure().extern_path(".q", "::not a path"),
        &set,
    );
    assert!(
        err.contains("`extern_path(\".q\", \"::not a path\")`: `::not a path` is not a Rust path"),
        "{err}"
    );
    let err = generate_err(
        protocall_codegen::configure().extern_path(".q", "::common::Wrapper<u8>"),
        &set,
    );
    assert!(err.contains("has generic arguments"), "{err}");
}

#[test]
fn every_error_of_a_schema_is_reported_with_its_line_and_caret() {
    let err = compile(
        "syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing a = 1;\n  int32 b = 2;\n}\n\
         service S {\n  rpc Ping(M) returns (Pong);\n}\n",
    )
    .unwrap_err()
    .to_string();
    let blocks: Vec<&str> = err.split("\n\n").collect();
    assert_eq!(blocks.len(), 2, "{err}");
    assert_eq!(
        blocks[0],
        "bad.proto:4:3: name 'Missing' is not defined\n  |\n4 |   Missing a = 1;\n  |   ^^^^^^^ found here"
    );
    assert_eq!(
        blocks[1],
        "bad.proto:8:24: name 'Pong' is not defined\n  |\n8 |   rpc Ping(M) returns (Pong);\n  |                        ^^^^ found here"
    );
}

#[test]
fn every_label_of_an_error_is_shown() {
    let err = compile("syntax = \"proto3\";\npackage p;\nmessage M {}\n\nmessage M {}\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("bad.proto:3:9: name 'p.M' is defined twice"),
        "{err}"
    );
    assert!(
        err.contains("3 | message M {}\n  |         ^ first defined here"),
        "{err}"
    );
    assert!(
        err.contains("5 | message M {}\n  |         ^ defined again here"),
        "{err}"
    );
}

#[test]
fn debug_is_the_readable_diagnostic() {
    // What `fn main() -> Result<(), Box<dyn Error>>` prints.
    let err = compile("syntax = \"proto3\";\npackage p;\nmessage M {\n  Missing field = 1;\n}\n")
        .unwrap_err();
    let debug = format!("{err:?}");
    assert_eq!(debug, err.to_string());
    assert!(debug.contains("\n4 |   Missing field = 1;\n"), "{debug}");
    assert!(
        !debug.contains("Error {") && !debug.contains("\\n"),
        "{debug}"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert_eq!(format!("{boxed:?}"), debug);
}

#[test]
fn debug_shows_causes_the_message_does_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.proto"),
        "syntax = \"proto3\";\npackage a;\n",
    )
    .unwrap();
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let err = protocall_codegen::configure()
        .emit_rerun_if_changed(false)
        .out_dir(blocked.join("out"))
        .compile(&[dir.path().join("a.proto")], &[dir.path()])
        .unwrap_err();
    let debug = format!("{err:?}");
    assert!(debug.starts_with("cannot create "), "{debug}");
    assert!(debug.contains("\n\nCaused by:\n    "), "{debug}");
}
