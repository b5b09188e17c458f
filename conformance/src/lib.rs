//! The testee of protobuf's conformance suite: protobuf's
//! `conformance_test_runner` starts the `protocall-conformance` binary and
//! sends it one `conformance.ConformanceRequest` after another on stdin,
//! each behind its length (4 bytes, little-endian); the testee answers each
//! with a `conformance.ConformanceResponse`, framed the same way, on
//! stdout, until stdin ends. `scripts/conformance.sh` builds the runners
//! and runs them.
//!
//! Binary in and binary out is answered here, with protocall's generated
//! types ([`binary`]); every request with JSON, text format or JSPB on
//! either side goes to the one function [`formats::answer`].

pub mod binary;
pub mod formats;

use std::io::{self, Read, Write};

use protocall::{EnumValue, Message};

use conformance::conformance_request::Payload;
use conformance::conformance_response::Result as ResponseResult;
use conformance::{ConformanceRequest, ConformanceResponse, FailureSet, TestCategory, WireFormat};

#[allow(missing_docs, unreachable_pub)]
mod protox_gen {
    include!(concat!(env!("OUT_DIR"), "/protox_protos.rs"));
}

#[allow(missing_docs, unreachable_pub)]
mod editions_gen {
    include!(concat!(env!("OUT_DIR"), "/editions_protos.rs"));
}

/// `conformance.proto`: the request, the response, `FailureSet`.
pub use protox_gen::conformance;

/// The test messages the suites send.
pub mod protobuf_test_messages {
    /// `protobuf_test_messages.editions` (`test_messages_edition2023.proto`)
    /// and its `proto2` and `proto3` packages
    /// (`test_messages_proto{2,3}_editions.proto`), from `editions.binpb`.
    pub use crate::editions_gen::protobuf_test_messages::editions;
    /// `protobuf_test_messages.proto2` (`test_messages_proto2.proto`).
    pub use crate::protox_gen::protobuf_test_messages::proto2;
    /// `protobuf_test_messages.proto3` (`test_messages_proto3.proto`).
    pub use crate::protox_gen::protobuf_test_messages::proto3;
}

/// The message type older runners (3.21 and before) ask for first, with an
/// empty payload, to learn the failures the testee expects of itself.
pub const FAILURE_SET_TYPE: &str = "conformance.FailureSet";

/// The request's input: which member of its `payload` oneof is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// `protobuf_payload`: the binary wire format.
    Protobuf(&'a [u8]),
    /// `json_payload`.
    Json(&'a str),
    /// `jspb_payload` (Google-internal; open-source testees skip it).
    Jspb(&'a str),
    /// `text_payload`: the text format.
    Text(&'a str),
}

/// The request's other fields, which only JSON and text format use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flags {
    /// `test_category`: e.g. `JSON_IGNORE_UNKNOWN_PARSING_TEST` asks the
    /// JSON parser to ignore unknown fields.
    pub test_category: EnumValue<TestCategory>,
    /// `print_unknown_fields`: text format output prints unknown fields.
    pub print_unknown_fields: bool,
    /// `jspb_encoding_options.use_jspb_array_any_format`.
    pub use_jspb_array_any_format: bool,
}

/// The testee's answer: one variant per member of the response's `result`
/// oneof that a testee sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// The input did not parse (expected for the invalid-input tests).
    ParseError(String),
    /// The input parsed but could not be written in the requested format.
    SerializeError(String),
    /// Anything else that went wrong; always a failed test.
    RuntimeError(String),
    /// The message, in the binary wire format.
    Protobuf(Vec<u8>),
    /// The message, in JSON.
    Json(String),
    /// The message, in JSPB.
    Jspb(String),
    /// The message, in the text format.
    Text(String),
    /// The testee does not support what the test needs (the reason).
    Skipped(String),
}

impl From<Response> for ConformanceResponse {
    fn from(response: Response) -> ConformanceResponse {
        let result = match response {
            Response::ParseError(s) => ResponseResult::ParseError(s),
            Response::SerializeError(s) => ResponseResult::SerializeError(s),
            Response::RuntimeError(s) => ResponseResult::RuntimeError(s),
            Response::Protobuf(b) => ResponseResult::ProtobufPayload(b),
            Response::Json(s) => ResponseResult::JsonPayload(s),
            Response::Jspb(s) => ResponseResult::JspbPayload(s),
            Response::Text(s) => ResponseResult::TextPayload(s),
            Response::Skipped(s) => ResponseResult::Skipped(s),
        };
        ConformanceResponse {
            result: Some(result),
            ..Default::default()
        }
    }
}

/// How the testee answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// With protocall's generated types.
    Generated,
    /// With [`protocall::reflect::DynamicMessage`], from descriptors alone.
    Dynamic,
    /// Binary requests through the generated types' borrowed views
    /// (`protocall::view`), the others as [`Mode::Generated`].
    Views,
}

/// Answers one request with the generated types.
pub fn handle(request: &ConformanceRequest) -> Response {
    handle_as(request, Mode::Generated)
}

/// Answers one request with dynamic messages.
pub fn handle_dynamic(request: &ConformanceRequest) -> Response {
    handle_as(request, Mode::Dynamic)
}

/// Answers one request, binary ones through the generated types' views.
pub fn handle_views(request: &ConformanceRequest) -> Response {
    handle_as(request, Mode::Views)
}

/// Answers one request: the failure list older runners ask for (always
/// empty: the expected failures are the `--failure_list` files the script
/// passes), binary to binary with the generated type in
/// [`binary::roundtrip_as`], everything else through [`formats::answer`].
pub fn handle_as(request: &ConformanceRequest, mode: Mode) -> Response {
    let output = request.requested_output_format;
    if request.message_type == FAILURE_SET_TYPE {
        return if output == WireFormat::Protobuf {
            Response::Protobuf(FailureSet::default().encode_to_vec())
        } else {
            Response::RuntimeError(format!("{FAILURE_SET_TYPE} asked for as {output:?}"))
        };
    }
    let Some(message_type) = binary::message_type(&request.message_type) else {
        return Response::RuntimeError(format!("unknown message type `{}`", request.message_type));
    };
    let input = match &request.payload {
        Some(Payload::ProtobufPayload(bytes)) => Input::Protobuf(bytes),
        Some(Payload::JsonPayload(text)) => Input::Json(text),
        Some(Payload::JspbPayload(text)) => Input::Jspb(text),
        Some(Payload::TextPayload(text)) => Input::Text(text),
        None => return Response::RuntimeError("the request has no payload".into()),
    };
    let flags = Flags {
        test_category: request.test_category,
        print_unknown_fields: request.print_unknown_fields,
        use_jspb_array_any_format: request
            .jspb_encoding_options
            .as_ref()
            .is_some_and(|o| o.use_jspb_array_any_format),
    };
    let descriptor = (message_type.descriptor)();
    match (mode, input) {
        (Mode::Generated, Input::Protobuf(bytes)) if output == WireFormat::Protobuf => {
            (message_type.roundtrip)(bytes)
        }
        (Mode::Views, Input::Protobuf(bytes)) if output == WireFormat::Protobuf => {
            (message_type.roundtrip_view)(bytes)
        }
        (Mode::Generated | Mode::Views, _) => {
            (message_type.answer)(&descriptor, input, output, &flags)
        }
        (Mode::Dynamic, _) => formats::answer::<protocall::reflect::DynamicMessage>(
            &descriptor,
            input,
            output,
            &flags,
        ),
    }
}

/// Decodes a framed request's bytes and answers it with `handler`; a
/// request that does not decode, or a handler that panics, is answered with
/// a `runtime_error` naming the problem (the test fails, the run goes on).
pub fn respond(request: &[u8], handler: impl Fn(&ConformanceRequest) -> Response) -> Response {
    let request = match ConformanceRequest::decode(request) {
        Ok(request) => request,
        Err(e) => return Response::RuntimeError(format!("cannot decode the request: {e}")),
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(&request))) {
        Ok(response) => response,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string payload".into());
            Response::RuntimeError(format!("the testee panicked: {message}"))
        }
    }
}

/// Serves the pipe protocol until `input` ends at a frame boundary; EOF
/// inside a frame, or an I/O error, is an error.
pub fn serve(
    mut input: impl Read,
    mut output: impl Write,
    handler: impl Fn(&ConformanceRequest) -> Response,
) -> io::Result<()> {
    let mut request = Vec::new();
    loop {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < len.len() {
            match input.read(&mut len[got..]) {
                Ok(0) if got == 0 => return Ok(()),
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "stdin ended inside a request's length",
                    ));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let len = u32::from_le_bytes(len) as usize;
        request.resize(len, 0);
        input.read_exact(&mut request)?;
        let response = ConformanceResponse::from(respond(&request, &handler)).encode_to_vec();
        let response_len = u32::try_from(response.len())
            .map_err(|_| io::Error::other("response longer than 4 GiB"))?;
        output.write_all(&response_len.to_le_bytes())?;
        output.write_all(&response)?;
        output.flush()?;
    }
}
