//! JSON, text format and JSPB: every request whose input or requested
//! output is not the binary wire format is answered by [`answer`] (binary
//! to binary is [`crate::binary`]). None of them is built yet, so each such
//! test is skipped; the runner counts it under "skipped", never as passed.

use protocall::EnumValue;

use crate::conformance::WireFormat;
use crate::{Flags, Input, Response};

/// Answers a request with JSON, text format or JSPB on at least one side.
///
/// - `message_type`: the request's `message_type`, a full name such as
///   `protobuf_test_messages.proto3.TestAllTypesProto3` (the generated
///   types are in [`crate::protobuf_test_messages`], and
///   [`crate::binary::MESSAGE_TYPES`] lists the names);
/// - `input`: the request's payload, by format;
/// - `output`: the request's `requested_output_format`;
/// - `flags`: its `test_category`, `print_unknown_fields` and
///   `jspb_encoding_options`.
///
/// The answer is the output payload, or `ParseError` for input that must
/// not parse, `SerializeError`, `Skipped` for what is not supported.
pub fn answer(
    message_type: &str,
    input: Input<'_>,
    output: EnumValue<WireFormat>,
    flags: &Flags,
) -> Response {
    let _ = (message_type, flags);
    let output = match output {
        EnumValue::Known(WireFormat::Protobuf) => "binary",
        EnumValue::Known(WireFormat::Json) => "JSON",
        EnumValue::Known(WireFormat::Jspb) => "JSPB",
        EnumValue::Known(WireFormat::TextFormat) => "text format",
        other => {
            return Response::RuntimeError(format!("no output format requested ({other:?})"));
        }
    };
    let input = match input {
        Input::Protobuf(_) => "binary",
        Input::Json(_) => "JSON",
        Input::Jspb(_) => "JSPB",
        Input::Text(_) => "text format",
    };
    Response::Skipped(format!("{input} to {output}: not built yet"))
}
