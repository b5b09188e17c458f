//! Generates the test schemas, and every schema of Debian's `grpc-proto`
//! package when it is installed (scripts/test.sh installs it).

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo::rustc-check-cfg=cfg(grpc_proto)");
    protocall_codegen::configure()
        .include_file("test_protos.rs")
        .btree_map([".protocall.test.Everything.m_bool_string"])
        .bytes([
            ".protocall.test.Everything.r_bytes",
            ".protocall.test.Everything.c_bytes",
        ])
        .discard_unknown_fields([".protocall.test.Result"])
        .views([".protocall"])
        .view_requests([".protocall.views.Logs"])
        .view_responses([".protocall.views.Logs.Put", ".protocall.views.Logs.Tail"])
        .compile(
            &[
                "../proto/test/everything.proto",
                "../proto/test/proto2.proto",
                "../proto/test/transport.proto",
                "../proto/test/names.proto",
                "../proto/test/extensions.proto",
                "../proto/test/views.proto",
            ],
            &["../proto"],
        )?;

    let root = std::env::var_os("GRPC_PROTO_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/grpc-proto"));
    println!("cargo:rerun-if-env-changed=GRPC_PROTO_DIR");
    if root.join("grpc").is_dir() {
        let mut protos = Vec::new();
        collect(&root.join("grpc"), &mut protos);
        // These two import googleapis/envoy schemas the package lacks.
        protos.retain(|p| {
            !p.ends_with("service_config/service_config.proto")
                && !p.ends_with("meshca/experimental/config.proto")
        });
        protos.sort();
        protocall_codegen::configure()
            .include_file("grpc_protos.rs")
            .compile(&protos, &[&root])?;
        println!("cargo:rustc-cfg=grpc_proto");
    }
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}
