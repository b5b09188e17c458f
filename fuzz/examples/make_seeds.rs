//! Writes the seed corpus under `corpus/<target>/` (run from `fuzz/`:
//! `cargo run --no-default-features --example make_seeds`). Small on
//! purpose: the fuzzer grows its own corpus from these.

use std::io::Write as _;
use std::path::Path;

use protocall::Message;
use protocall::types::compiler::CodeGeneratorRequest;
use protocall::types::{Any, Duration, FieldMask, FileDescriptorSet, Struct, Timestamp, Value};
use protocall_fuzz::schemas::protocall::fuzz::{Node, node};
use protocall_fuzz::schemas::protocall::test::{Color, Everything, everything};
use protocall_fuzz::schemas::protocall::test2::{Legacy, Size, legacy};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn everything() -> Everything {
    let nested = everything::Nested {
        a: 7,
        b: "nested".into(),
        ..Default::default()
    };
    let mut m = Everything {
        f_int32: -1,
        f_int64: i64::MIN,
        f_uint64: u64::MAX,
        f_sint32: -5,
        f_fixed32: 3,
        f_double: 1.5,
        f_float: -0.25,
        f_bool: true,
        f_string: "héllo".into(),
        f_bytes: vec![0, 1, 255],
        f_color: Color::Blue.into(),
        f_nested: Some(Box::new(nested.clone())),
        r_int32: vec![1, -2, 300],
        r_double: vec![0.5, -1.0],
        r_string: vec!["a".into(), "".into()],
        r_bytes: vec![bytes::Bytes::from_static(b"xyz")],
        r_color: vec![Color::Red.into(), 5.into()],
        r_nested: vec![nested.clone()],
        r_unpacked: vec![4, 5],
        o_int32: Some(0),
        o_string: Some("opt".into()),
        wk_timestamp: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
            ..Default::default()
        }),
        wk_duration: Some(Duration {
            seconds: -3,
            nanos: -1,
            ..Default::default()
        }),
        choice: Some(everything::Choice::CBytes(bytes::Bytes::from_static(b"c"))),
        ..Default::default()
    };
    m.m_int32_string.insert(1, "one".into());
    m.m_bool_string.insert(true, "yes".into());
    m.m_string_nested.insert("k".into(), nested);
    m.children.push(Everything {
        f_int32: 9,
        ..Default::default()
    });
    m
}

fn legacy() -> Legacy {
    let mut l = Legacy {
        id: Some(3),
        code: Some("xyz".into()),
        count: Some(1),
        blob: Some(vec![1, 2]),
        size: Some(Size::Large),
        sizes: vec![Size::Small, Size::Medium],
        packed_sizes: vec![Size::Large],
        packed_numbers: vec![1, 2, 3],
        neg: Some(-1),
        settings: Some(legacy::Settings {
            level: Some(2),
            name: Some("s".into()),
            ..Default::default()
        }),
        entry: vec![legacy::Entry {
            key: Some(1),
            nested: Some(Legacy::default()),
            ..Default::default()
        }],
        pick: Some(legacy::Pick::PickString("p".into())),
        required_size: Some(Size::Small),
        ..Default::default()
    };
    l.child = Some(Box::new(Legacy {
        id: Some(4),
        ..Default::default()
    }));
    l
}

fn json_of<M: protocall::reflect::ReflectMessage>(message: &M) -> Vec<u8> {
    protocall::json::to_vec(message, &Default::default()).unwrap()
}

fn descriptor_set(files: &[&str]) -> Vec<u8> {
    let mut compiler = protox::Compiler::new(["../proto", "proto"]).unwrap();
    compiler.include_imports(true);
    for f in files {
        compiler.open_file(f).unwrap();
    }
    compiler.encode_file_descriptor_set()
}

fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn main() {
    // decode_everything
    write(
        "decode_everything",
        "everything",
        &everything().encode_to_vec(),
    );
    write("decode_everything", "legacy", &legacy().encode_to_vec());
    let mut with_unknown = everything::Nested::default().encode_to_vec();
    with_unknown.extend([0xf8, 0x07, 0x01, 0x9b, 0x08, 0x08, 0x01, 0x9c, 0x08]);
    write("decode_everything", "unknown_fields", &with_unknown);

    // decode_wkt
    let mut s = Struct::default();
    s.fields.insert("n".into(), Value::from(1.5));
    s.fields.insert(
        "l".into(),
        Value::from(vec![Value::from("x"), Value::from(true)]),
    );
    write("decode_wkt", "struct", &s.encode_to_vec());
    write(
        "decode_wkt",
        "timestamp",
        &everything().wk_timestamp.unwrap().encode_to_vec(),
    );
    write(
        "decode_wkt",
        "duration",
        &everything().wk_duration.unwrap().encode_to_vec(),
    );
    let mask = FieldMask {
        paths: vec!["a.b".into(), "c".into()],
        ..Default::default()
    };
    write("decode_wkt", "field_mask", &mask.encode_to_vec());
    let any = Any {
        type_url: "type.googleapis.com/google.protobuf.Duration".into(),
        value: Duration {
            seconds: 1,
            ..Default::default()
        }
        .encode_to_vec(),
        ..Default::default()
    };
    write("decode_wkt", "any", &any.encode_to_vec());
    let fds = descriptor_set(&["test/proto2.proto"]);
    FileDescriptorSet::decode(fds.as_slice()).unwrap();
    write("decode_wkt", "file_descriptor_set", &fds);

    // decode_recursive: plain nodes, and headers (depth, kinds) before them
    let node = Node {
        child: Some(Box::new(Node {
            value: Some(1),
            ..Default::default()
        })),
        children: vec![Node::default()],
        inner: Some(Box::new(node::Inner {
            node: Some(Box::new(Node::default())),
            value: Some(2),
            ..Default::default()
        })),
        chain: vec![node::Chain {
            next: Some(Box::new(node::Chain::default())),
            ..Default::default()
        }],
        payload: Some(vec![1, 2, 3]),
        ..Default::default()
    };
    write("decode_recursive", "node", &node.encode_to_vec());
    write("decode_recursive", "deep_mixed", &[0xc8, 0x00, 0b1110_0100]);
    write("decode_recursive", "shallow", &[0x20, 0x00, 0x00]);

    // json_parse and text_parse: the same messages in each format
    write("json_parse", "everything", &json_of(&everything()));
    write("json_parse", "legacy", &json_of(&legacy()));
    write("json_parse", "node", &json_of(&node));
    write("json_parse", "struct", &json_of(&s));
    write("json_parse", "any", &json_of(&any));
    write(
        "json_parse",
        "wkt_strings",
        br#""2023-11-14T22:13:20.000000005Z""#,
    );
    write("json_parse", "mask", br#""a.b,cD""#);
    write(
        "json_parse",
        "edge_values",
        br#"{"fInt64":"-9223372036854775808","fUint64":18446744073709551615,"fFloat":"NaN","fDouble":"-Infinity","fBytes":"_-8","fColor":5,"rColor":["RED",1],"mInt32String":{"-1":"x"},"mBoolString":{"true":"t"},"oInt32":null,"cNested":{}}"#,
    );
    write(
        "text_parse",
        "everything",
        protocall::text::to_string(&everything()).as_bytes(),
    );
    write(
        "text_parse",
        "legacy",
        protocall::text::to_string(&legacy()).as_bytes(),
    );
    write(
        "text_parse",
        "node",
        protocall::text::to_string(&node).as_bytes(),
    );
    write(
        "text_parse",
        "any",
        protocall::text::to_string(&any).as_bytes(),
    );
    write(
        "text_parse",
        "syntax",
        b"# comment\nf_int32: -0x10 f_string: 'a' \"b\\n\" r_int32: [1, 2] f_nested < a: 1 > f_double: -inf\n",
    );

    // grpc_frames: control byte, then the body (see checks::grpc_frames)
    let request = protocall::health::HealthCheckRequest::default().encode_to_vec();
    let mut body = vec![0x00];
    body.extend(frame(0, &request));
    write("grpc_frames", "identity_unary", &body);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(
        &protocall::health::HealthCheckRequest {
            service: "x".into(),
            ..Default::default()
        }
        .encode_to_vec(),
    )
    .unwrap();
    let mut body = vec![0x02 | (2 << 2), 1, 3];
    body.extend(frame(1, &gz.finish().unwrap()));
    write("grpc_frames", "gzip_chunked", &body);
    let mut body = vec![0x01];
    body.extend(frame(0, &request));
    body.extend(frame(0, &request));
    write("grpc_frames", "two_messages", &body);

    // codegen_proto
    for f in [
        "everything.proto",
        "proto2.proto",
        "names.proto",
        "transport.proto",
    ] {
        let text = std::fs::read(Path::new("../proto/test").join(f)).unwrap();
        write("codegen_proto", f, &text);
    }
    write(
        "codegen_proto",
        "recursive.proto",
        &std::fs::read("proto/recursive.proto").unwrap(),
    );

    // plugin_request
    let set = FileDescriptorSet::decode(
        descriptor_set(&["test/everything.proto", "test/transport.proto"]).as_slice(),
    )
    .unwrap();
    let request = CodeGeneratorRequest {
        file_to_generate: vec![
            "test/everything.proto".into(),
            "test/transport.proto".into(),
        ],
        parameter: Some("bytes=.protocall.test.Everything.r_bytes".into()),
        proto_file: set.file,
        ..Default::default()
    };
    write("plugin_request", "everything", &request.encode_to_vec());
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["recursive.proto".into()],
        proto_file: FileDescriptorSet::decode(descriptor_set(&["recursive.proto"]).as_slice())
            .unwrap()
            .file,
        ..Default::default()
    };
    write("plugin_request", "recursive", &request.encode_to_vec());
}
