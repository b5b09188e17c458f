//! The `protocall-conformance` binary over its pipe protocol, as the runner
//! drives it: framed requests in, framed responses out, until EOF.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};

use protocall::{EnumValue, Message};
use protocall_conformance::conformance::conformance_request::Payload;
use protocall_conformance::conformance::conformance_response::Result as Answer;
use protocall_conformance::conformance::{
    ConformanceRequest, ConformanceResponse, FailureSet, TestCategory, WireFormat,
};
use protocall_conformance::protobuf_test_messages::{editions, proto2, proto3};

const TESTEE: &str = env!("CARGO_BIN_EXE_protocall-conformance");

fn frame(request: &ConformanceRequest) -> Vec<u8> {
    let body = request.encode_to_vec();
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// Runs the testee with `args` on `stdin`, returning its exit and the
/// responses it wrote.
fn run(args: &[&str], stdin: &[u8]) -> (Output, Vec<ConformanceResponse>) {
    spawn(args, None, stdin)
}

/// With `PROTOCALL_CONFORMANCE_MODE` set, as scripts/conformance.sh runs it.
fn run_in(mode: &str, stdin: &[u8]) -> (Output, Vec<ConformanceResponse>) {
    spawn(&[], Some(mode), stdin)
}

fn spawn(args: &[&str], mode: Option<&str>, stdin: &[u8]) -> (Output, Vec<ConformanceResponse>) {
    let mut command = Command::new(TESTEE);
    command.env_remove("PROTOCALL_CONFORMANCE_MODE");
    if let Some(mode) = mode {
        command.env("PROTOCALL_CONFORMANCE_MODE", mode);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the testee");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    let mut responses = Vec::new();
    let mut rest = output.stdout.as_slice();
    while !rest.is_empty() {
        let mut len = [0u8; 4];
        rest.read_exact(&mut len).expect("a whole length");
        let len = u32::from_le_bytes(len) as usize;
        assert!(rest.len() >= len, "a response shorter than its length");
        responses.push(ConformanceResponse::decode(&rest[..len]).unwrap());
        rest = &rest[len..];
    }
    (output, responses)
}

/// Sends `requests` in one session; the testee must exit 0 at EOF.
fn session(requests: &[ConformanceRequest]) -> Vec<Answer> {
    let stdin: Vec<u8> = requests.iter().flat_map(frame).collect();
    let (output, responses) = run(&[], &stdin);
    assert!(
        output.status.success(),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(responses.len(), requests.len());
    responses
        .into_iter()
        .map(|r| r.result.expect("a result"))
        .collect()
}

fn binary(message_type: &str, payload: &[u8]) -> ConformanceRequest {
    ConformanceRequest {
        payload: Some(Payload::ProtobufPayload(payload.to_vec())),
        requested_output_format: WireFormat::Protobuf.into(),
        message_type: message_type.into(),
        test_category: TestCategory::BinaryTest.into(),
        ..Default::default()
    }
}

#[test]
fn binary_round_trips_and_parse_errors() {
    let p3 = proto3::TestAllTypesProto3 {
        optional_int32: 99,
        optional_string: "sé".into(),
        repeated_int64: vec![1, -2],
        ..Default::default()
    }
    .encode_to_vec();
    // field 1000 is unknown to every test message: kept, written back.
    let unknown = [0xc0, 0x3e, 0x05];
    let p2 = proto2::TestAllTypesProto2 {
        optional_int32: Some(-1),
        ..Default::default()
    }
    .encode_to_vec();
    let answers = session(&[
        binary(proto3::TestAllTypesProto3::FULL_NAME, &p3),
        binary(proto2::TestAllTypesProto2::FULL_NAME, &p2),
        binary(editions::TestAllTypesEdition2023::FULL_NAME, &unknown),
        // a varint cut short
        binary(proto3::TestAllTypesProto3::FULL_NAME, &[0x08, 0x80]),
        // a string that is not UTF-8
        binary(proto3::TestAllTypesProto3::FULL_NAME, &[0x72, 0x01, 0xff]),
        binary("protobuf_test_messages.proto3.NoSuchType", &p3),
    ]);
    assert_eq!(answers[0], Answer::ProtobufPayload(p3));
    assert_eq!(answers[1], Answer::ProtobufPayload(p2));
    assert_eq!(answers[2], Answer::ProtobufPayload(unknown.to_vec()));
    assert!(
        matches!(answers[3], Answer::ParseError(_)),
        "{:?}",
        answers[3]
    );
    assert!(
        matches!(answers[4], Answer::ParseError(_)),
        "{:?}",
        answers[4]
    );
    match &answers[5] {
        Answer::RuntimeError(e) => assert!(e.contains("NoSuchType"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_message_type_the_suites_send() {
    // The names conformance_test_runner 3.21 and 27 (--maximum_edition
    // 2023) send, each answered by its own type: a proto2 closed enum
    // and a proto3 open one tell them apart on an unknown enum value.
    let names: Vec<&str> = protocall_conformance::binary::MESSAGE_TYPES
        .iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        [
            "protobuf_test_messages.proto3.TestAllTypesProto3",
            "protobuf_test_messages.proto2.TestAllTypesProto2",
            "protobuf_test_messages.editions.proto3.TestAllTypesProto3",
            "protobuf_test_messages.editions.proto2.TestAllTypesProto2",
            "protobuf_test_messages.editions.TestAllTypesEdition2023",
        ]
    );
    // optional_nested_enum (21) = 7, declared by none of the NestedEnums.
    let payload = [0xa8, 0x01, 0x07];
    let requests: Vec<ConformanceRequest> = names.iter().map(|n| binary(n, &payload)).collect();
    for (name, answer) in names.iter().zip(session(&requests)) {
        let Answer::ProtobufPayload(out) = answer else {
            panic!("{name}: {answer:?}");
        };
        assert_eq!(out, payload, "{name}: unknown enum values survive");
    }
    let open = proto3::TestAllTypesProto3::decode(&payload[..]).unwrap();
    assert_eq!(open.optional_nested_enum, EnumValue::Unknown(7));
    let closed = proto2::TestAllTypesProto2::decode(&payload[..]).unwrap();
    assert_eq!(
        closed.optional_nested_enum, None,
        "closed: to the unknown fields"
    );
}

#[test]
fn failure_set_request_of_older_runners() {
    // 3.21's runner asks first, and adds what comes back to its failure
    // list: the testee claims no failure of its own.
    let answers = session(&[binary("conformance.FailureSet", b"")]);
    let Answer::ProtobufPayload(bytes) = &answers[0] else {
        panic!("{:?}", answers[0]);
    };
    assert_eq!(
        FailureSet::decode(bytes.as_slice()).unwrap().failure,
        Vec::<String>::new()
    );
}

#[test]
fn json_and_text_format_in_both_modes() {
    let mut json_in = binary(proto3::TestAllTypesProto3::FULL_NAME, b"");
    json_in.payload = Some(Payload::JsonPayload(r#"{"optionalInt64": "5"}"#.into()));
    json_in.test_category = TestCategory::JsonTest.into();
    let mut json_out = binary(proto3::TestAllTypesProto3::FULL_NAME, &[0x10, 0x05]);
    json_out.requested_output_format = WireFormat::Json.into();
    let mut text_in = binary(proto2::TestAllTypesProto2::FULL_NAME, b"");
    text_in.payload = Some(Payload::TextPayload("optional_int32: 1".into()));
    text_in.test_category = TestCategory::TextFormatTest.into();
    let mut bad_json = json_in.clone();
    bad_json.payload = Some(Payload::JsonPayload(r#"{"optionalInt32": "x"}"#.into()));
    let mut ignoring = json_in.clone();
    ignoring.payload = Some(Payload::JsonPayload(r#"{"noSuchField": 1}"#.into()));
    ignoring.test_category = TestCategory::JsonIgnoreUnknownParsingTest.into();
    let mut no_payload = binary(proto3::TestAllTypesProto3::FULL_NAME, b"");
    no_payload.payload = None;
    let requests = [json_in, json_out, text_in, bad_json, ignoring, no_payload];
    for mode in ["generated", "dynamic"] {
        let stdin: Vec<u8> = requests.iter().flat_map(frame).collect();
        let (output, responses) = run_in(mode, &stdin);
        assert!(output.status.success(), "{mode}");
        let answers: Vec<Answer> = responses.into_iter().map(|r| r.result.unwrap()).collect();
        assert_eq!(
            answers[0],
            Answer::ProtobufPayload(vec![0x10, 0x05]),
            "{mode}"
        );
        assert_eq!(
            answers[1],
            Answer::JsonPayload(r#"{"optionalInt64":"5"}"#.into()),
            "{mode}"
        );
        assert_eq!(
            answers[2],
            Answer::ProtobufPayload(vec![0x08, 0x01]),
            "{mode}"
        );
        match &answers[3] {
            Answer::ParseError(e) => assert!(e.contains(".optionalInt32"), "{mode}: {e}"),
            other => panic!("{mode}: {other:?}"),
        }
        assert_eq!(answers[4], Answer::ProtobufPayload(vec![]), "{mode}");
        assert!(
            matches!(answers[5], Answer::RuntimeError(_)),
            "{mode}: {:?}",
            answers[5]
        );
    }
}

#[test]
fn framing_errors_and_arguments() {
    // EOF between requests ends the session cleanly; inside one, it fails.
    let (output, responses) = run(&[], b"");
    assert!(output.status.success() && responses.is_empty());
    let (output, _) = run(&[], &[3, 0]);
    assert!(!output.status.success());
    let mut cut = frame(&binary(
        proto3::TestAllTypesProto3::FULL_NAME,
        &[0x08, 0x01],
    ));
    cut.pop();
    let (output, _) = run(&[], &cut);
    assert!(!output.status.success());

    // A request that is not a ConformanceRequest is a runtime error.
    let (output, responses) = run(&[], &[1, 0, 0, 0, 0xff]);
    assert!(output.status.success());
    assert!(matches!(responses[0].result, Some(Answer::RuntimeError(_))));

    // 3.21's runner passes the testee's own path as an argument.
    let (output, responses) = run(&[TESTEE], &frame(&binary("conformance.FailureSet", b"")));
    assert!(output.status.success() && responses.len() == 1);

    let (output, responses) = run(
        &["--dynamic"],
        &frame(&binary("conformance.FailureSet", b"")),
    );
    assert!(output.status.success() && responses.len() == 1);
    let (output, _) = run_in("sideways", b"");
    assert_eq!(output.status.code(), Some(2));
    let (output, _) = run(&["--frobnicate"], b"");
    assert_eq!(output.status.code(), Some(2));
}
