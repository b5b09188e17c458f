//! Binary in, binary out: decode the payload as the named message type with
//! its generated protocall type, encode it again.

use protocall::reflect::{MessageDescriptor, ReflectMessage};
use protocall::view::{HasView, MessageView};
use protocall::{EnumValue, Message};

use crate::conformance::WireFormat;
use crate::protobuf_test_messages::{editions, proto2, proto3};
use crate::{Flags, Input, Response};

/// Decodes `payload` as an `M` and encodes it back. A decode error is a
/// `parse_error` (what the invalid-input tests expect), an encode error a
/// `serialize_error`.
pub fn roundtrip_as<M: Message>(payload: &[u8]) -> Response {
    match M::decode(payload) {
        Ok(message) => encode(&message),
        Err(e) => Response::ParseError(e.to_string()),
    }
}

/// [`roundtrip_as`] through `M`'s borrowed view: decoded in place, made
/// owned with `to_owned()`, encoded.
pub fn roundtrip_view<M: HasView>(payload: &[u8]) -> Response {
    match M::View::decode(payload) {
        Ok(view) => encode(&view.to_owned_message()),
        Err(e) => Response::ParseError(e.to_string()),
    }
}

fn encode<M: Message>(message: &M) -> Response {
    let mut out = Vec::with_capacity(message.encoded_len());
    match message.encode(&mut out) {
        Ok(()) => Response::Protobuf(out),
        Err(e) => Response::SerializeError(e.to_string()),
    }
}

/// A message type the suites send: its name, its descriptor, and how the
/// generated type answers a request in any format.
pub struct MessageType {
    /// The full name, as in the request's `message_type`.
    pub name: &'static str,
    /// The descriptor (for `--dynamic`).
    pub descriptor: fn() -> MessageDescriptor,
    /// Binary to binary with the generated type.
    pub roundtrip: fn(&[u8]) -> Response,
    /// Binary to binary through the generated type's view (for `--views`).
    pub roundtrip_view: fn(&[u8]) -> Response,
    /// Any other request with the generated type.
    pub answer: fn(&MessageDescriptor, Input<'_>, EnumValue<WireFormat>, &Flags) -> Response,
}

/// Every message type the conformance suites send (3.21: the proto2 and
/// proto3 ones; 27 with `--maximum_edition 2023`: the editions ones too).
pub const MESSAGE_TYPES: &[MessageType] = &[
    entry::<proto3::TestAllTypesProto3>(),
    entry::<proto2::TestAllTypesProto2>(),
    entry::<editions::proto3::TestAllTypesProto3>(),
    entry::<editions::proto2::TestAllTypesProto2>(),
    entry::<editions::TestAllTypesEdition2023>(),
];

const fn entry<M: ReflectMessage + HasView>() -> MessageType {
    MessageType {
        name: M::FULL_NAME,
        descriptor: M::descriptor,
        roundtrip: roundtrip_as::<M>,
        roundtrip_view: roundtrip_view::<M>,
        answer: crate::formats::answer::<crate::formats::Generated<M>>,
    }
}

/// The message type of this name.
pub fn message_type(name: &str) -> Option<&'static MessageType> {
    MESSAGE_TYPES.iter().find(|t| t.name == name)
}
