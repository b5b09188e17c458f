//! JSON and text format (and, for `--dynamic`, everything): a request is
//! answered by parsing its payload into a message, then writing that
//! message in the requested format. The message is either the generated
//! type ([`Generated`]) or a [`DynamicMessage`] built from the same type's
//! descriptor alone (`--dynamic`), so the suites exercise both.
//!
//! JSPB is Google-internal; it is answered `skipped`.

use protocall::reflect::{DynamicMessage, MessageDescriptor, ReflectMessage};
use protocall::{EnumValue, json, text};

use crate::conformance::{TestCategory, WireFormat};
use crate::{Flags, Input, Response};

/// A message the testee can read and write in every format.
pub trait Testee: Sized {
    /// Parses `input`; `Err` is the response to send (a parse error).
    fn parse(
        descriptor: &MessageDescriptor,
        input: Input<'_>,
        flags: &Flags,
    ) -> Result<Self, Response>;
    /// Writes the message in `format`.
    fn write(&self, format: WireFormat, flags: &Flags) -> Response;
}

/// A generated message type.
pub struct Generated<M>(pub M);

fn json_options(flags: &Flags) -> json::Options {
    let ignore =
        flags.test_category == EnumValue::Known(TestCategory::JsonIgnoreUnknownParsingTest);
    json::Options::new().ignore_unknown_fields(ignore)
}

fn text_options(flags: &Flags) -> text::Options {
    text::Options::new().print_unknown_fields(flags.print_unknown_fields)
}

impl<M: ReflectMessage> Testee for Generated<M> {
    fn parse(_: &MessageDescriptor, input: Input<'_>, flags: &Flags) -> Result<Self, Response> {
        let parsed = match input {
            Input::Protobuf(bytes) => M::decode(bytes).map_err(|e| e.to_string()),
            Input::Json(json) => {
                json::from_str(json, &json_options(flags)).map_err(|e| e.to_string())
            }
            Input::Text(text) => {
                text::from_str_with(text, &text_options(flags)).map_err(|e| e.to_string())
            }
            Input::Jspb(_) => return Err(Response::Skipped("JSPB is not supported".into())),
        };
        parsed.map(Generated).map_err(Response::ParseError)
    }

    fn write(&self, format: WireFormat, flags: &Flags) -> Response {
        match format {
            WireFormat::Protobuf => Response::Protobuf(self.0.encode_to_vec()),
            WireFormat::Json => match json::to_string(&self.0, &json_options(flags)) {
                Ok(json) => Response::Json(json),
                Err(e) => Response::SerializeError(e.to_string()),
            },
            WireFormat::TextFormat => {
                Response::Text(text::to_string_with(&self.0, &text_options(flags)))
            }
            other => Response::Skipped(format!("{other:?} output is not supported")),
        }
    }
}

impl Testee for DynamicMessage {
    fn parse(
        descriptor: &MessageDescriptor,
        input: Input<'_>,
        flags: &Flags,
    ) -> Result<Self, Response> {
        let descriptor = descriptor.clone();
        let parsed = match input {
            Input::Protobuf(bytes) => {
                DynamicMessage::decode(descriptor, bytes).map_err(|e| e.to_string())
            }
            Input::Json(json) => DynamicMessage::from_json(descriptor, json, &json_options(flags))
                .map_err(|e| e.to_string()),
            Input::Text(text) => DynamicMessage::from_text(descriptor, text, &text_options(flags))
                .map_err(|e| e.to_string()),
            Input::Jspb(_) => return Err(Response::Skipped("JSPB is not supported".into())),
        };
        parsed.map_err(Response::ParseError)
    }

    fn write(&self, format: WireFormat, flags: &Flags) -> Response {
        match format {
            WireFormat::Protobuf => Response::Protobuf(self.encode_to_vec()),
            WireFormat::Json => match self.to_json(&json_options(flags)) {
                Ok(json) => Response::Json(json),
                Err(e) => Response::SerializeError(e.to_string()),
            },
            WireFormat::TextFormat => Response::Text(self.to_text(&text_options(flags))),
            other => Response::Skipped(format!("{other:?} output is not supported")),
        }
    }
}

/// Answers a request through `T`: parse, then write.
pub fn answer<T: Testee>(
    descriptor: &MessageDescriptor,
    input: Input<'_>,
    output: EnumValue<WireFormat>,
    flags: &Flags,
) -> Response {
    let EnumValue::Known(output) = output else {
        return Response::RuntimeError(format!("no output format requested ({output:?})"));
    };
    if output == WireFormat::Unspecified {
        return Response::RuntimeError("no output format requested".into());
    }
    match T::parse(descriptor, input, flags) {
        Ok(message) => message.write(output, flags),
        Err(response) => response,
    }
}
