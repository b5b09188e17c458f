//! Binary in, binary out: decode the payload as the named message type with
//! its generated protocall type, encode it again.

use protocall::Message;

use crate::Response;
use crate::protobuf_test_messages::{editions, proto2, proto3};

/// Decodes `payload` as an `M` and encodes it back. A decode error is a
/// `parse_error` (what the invalid-input tests expect), an encode error a
/// `serialize_error`.
pub fn roundtrip_as<M: Message>(payload: &[u8]) -> Response {
    let message = match M::decode(payload) {
        Ok(message) => message,
        Err(e) => return Response::ParseError(e.to_string()),
    };
    let mut out = Vec::with_capacity(message.encoded_len());
    match message.encode(&mut out) {
        Ok(()) => Response::Protobuf(out),
        Err(e) => Response::SerializeError(e.to_string()),
    }
}

/// A message type the suites send, by full name, and its round trip.
pub type MessageType = (&'static str, fn(&[u8]) -> Response);

/// Every message type the conformance suites send (3.21: the proto2 and
/// proto3 ones; 27 with `--maximum_edition 2023`: the editions ones too).
pub const MESSAGE_TYPES: &[MessageType] = &[
    entry::<proto3::TestAllTypesProto3>(),
    entry::<proto2::TestAllTypesProto2>(),
    entry::<editions::proto3::TestAllTypesProto3>(),
    entry::<editions::proto2::TestAllTypesProto2>(),
    entry::<editions::TestAllTypesEdition2023>(),
];

const fn entry<M: Message>() -> MessageType {
    (M::FULL_NAME, roundtrip_as::<M>)
}

/// [`roundtrip_as`] for the type named `message_type`; an unknown name is a
/// `runtime_error`.
pub fn roundtrip(message_type: &str, payload: &[u8]) -> Response {
    match MESSAGE_TYPES.iter().find(|(name, _)| *name == message_type) {
        Some((_, roundtrip)) => roundtrip(payload),
        None => Response::RuntimeError(format!("unknown message type `{message_type}`")),
    }
}
