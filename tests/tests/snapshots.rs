//! Snapshot tests of generated code: any change to what users see shows up
//! as a reviewable diff (`cargo insta review`).

use protocall_codegen::GeneratedFile;

fn generate(builder: protocall_codegen::Builder, protos: &[&str]) -> Vec<GeneratedFile> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
    let mut compiler = protox::Compiler::new([root]).unwrap();
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(protos).unwrap();
    let set = <protocall::types::FileDescriptorSet as protocall::Message>::decode(
        compiler.encode_file_descriptor_set().as_slice(),
    )
    .unwrap();
    let names: Vec<String> = protos.iter().map(|p| p.to_string()).collect();
    builder.generate(&set, &names).unwrap()
}

fn snapshot(files: Vec<GeneratedFile>) {
    for file in files {
        insta::assert_snapshot!(file.name.clone(), file.content);
    }
}

#[test]
fn proto3_everything() {
    snapshot(generate(
        protocall_codegen::configure()
            .btree_map([".protocall.test.Everything.m_bool_string"])
            .bytes([
                ".protocall.test.Everything.r_bytes",
                ".protocall.test.Everything.c_bytes",
            ])
            .discard_unknown_fields([".protocall.test.Result"])
            .type_attribute(
                ".protocall.test.Color",
                "#[allow(clippy::enum_variant_names)]",
            )
            .field_attribute(".protocall.test.Everything.f_int32", "#[allow(unused)]"),
        &["test/everything.proto"],
    ));
}

#[test]
fn proto2_legacy() {
    snapshot(generate(
        protocall_codegen::configure(),
        &["test/proto2.proto"],
    ));
}

/// Borrowed views (`views(paths)`) beside the owned types: groups, closed
/// enums, required fields with declared defaults, oneofs, maps.
#[test]
fn proto2_legacy_views() {
    let files = generate(
        protocall_codegen::configure().views([".protocall.test2"]),
        &["test/proto2.proto"],
    );
    for file in files {
        insta::assert_snapshot!(format!("views__{}", file.name), file.content);
    }
}

/// RPCs named like what the generated client defines (`connect`, `new`,
/// `send_compressed`, …) or like each other after snake_casing.
#[test]
fn rpc_names_that_collide() {
    snapshot(generate(
        protocall_codegen::configure(),
        &["test/names.proto"],
    ));
}

#[test]
fn include_file_nests_packages() {
    let files = generate(
        protocall_codegen::configure().include_file("all.rs"),
        &["test/everything.proto", "test/proto2.proto"],
    );
    let include = files.iter().find(|f| f.name == "all.rs").unwrap();
    insta::assert_snapshot!("include_file", include.content);
}
