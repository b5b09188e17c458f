//! The JSON codec: messages transcoded between ProtoJSON and the binary
//! encoding by the method's descriptors, so handlers see binary messages
//! whichever codec the caller chose.

use http::HeaderValue;

use super::frame;
use crate::grpc::body::Body;
use crate::grpc::compression::Encoding;
use crate::grpc::frame::FrameDecoder;
use crate::grpc::server::ServerConfig;
use crate::grpc::status::Status;
use crate::reflect::MessageDescriptor;

/// The error for a JSON call to a service without descriptors.
pub(super) fn no_descriptor(path: &str) -> Status {
    Status::unimplemented(format!(
        "{path} has no descriptor, and the JSON codec needs one: \
         serve code generated with descriptors on, or call with protobuf"
    ))
}

/// A JSON request message in the binary encoding.
#[cfg(feature = "json")]
pub(super) fn from_json(input: &MessageDescriptor, json: &[u8]) -> Result<Vec<u8>, Status> {
    // Unknown fields are skipped, so older servers accept newer clients'
    // JSON (as Connect's and grpc-gateway's servers do).
    let options = crate::json::Options::new().ignore_unknown_fields(true);
    crate::json::json_to_binary(input, json, &options)
        .map_err(|e| Status::invalid_argument(format!("malformed JSON request: {e}")))
}

/// A binary response message as JSON.
#[cfg(feature = "json")]
pub(super) fn to_json(output: &MessageDescriptor, binary: &[u8]) -> Result<bytes::Bytes, Status> {
    crate::json::binary_to_json(output, binary, &crate::json::Options::new())
        .map(bytes::Bytes::from)
        .map_err(|e| Status::internal(format!("response message does not print as JSON: {e}")))
}

// Without the `json` feature no request is classified as JSON (see
// `Dialect::from_content_type`), so these are never reached.
#[cfg(not(feature = "json"))]
pub(super) fn from_json(_: &MessageDescriptor, _: &[u8]) -> Result<Vec<u8>, Status> {
    Err(Status::unimplemented(
        "the JSON codec is not built in (feature `json`)",
    ))
}

#[cfg(not(feature = "json"))]
pub(super) fn to_json(_: &MessageDescriptor, _: &[u8]) -> Result<bytes::Bytes, Status> {
    Err(Status::unimplemented(
        "the JSON codec is not built in (feature `json`)",
    ))
}

/// A stream of JSON request frames (compressed with `encoding`, if named)
/// as binary frames, each compressed again if it came compressed.
pub(super) fn request_stream(
    body: Body,
    encoding: Option<HeaderValue>,
    input: MessageDescriptor,
    config: &ServerConfig,
) -> Result<Body, Status> {
    use http_body_util::BodyExt as _;
    let encoding = match encoding.as_ref().map(|v| v.to_str().unwrap_or("?")) {
        None | Some("identity") => None,
        Some(name) => Some(
            Encoding::from_name(name)
                .filter(|e| config.accept.contains(e))
                .ok_or_else(|| {
                    Status::unimplemented(format!("message encoding {name:?} is not supported"))
                })?,
        ),
    };
    let decoder = FrameDecoder::new(encoding, config.max_decode).with_options(config.decode);
    let state = (body, decoder, input, false);
    let stream = futures_util::stream::unfold(
        state,
        move |(mut body, mut decoder, input, done)| async move {
            if done {
                return None;
            }
            loop {
                match decoder.next() {
                    Ok(Some((json, compressed))) => {
                        // Compressed stays compressed, so the handler sees
                        // what the client sent.
                        let item = from_json(&input, &json).and_then(|binary| match encoding {
                            Some(encoding) if compressed => {
                                let mut out = bytes::BytesMut::new();
                                encoding.compress(&binary, &mut out)?;
                                Ok(http_body::Frame::data(frame(1, &out)))
                            }
                            _ => Ok(http_body::Frame::data(frame(0, &binary))),
                        });
                        let done = item.is_err();
                        return Some((item, (body, decoder, input, done)));
                    }
                    Ok(None) => {}
                    Err(status) => return Some((Err(status), (body, decoder, input, true))),
                }
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            decoder.push(data);
                        }
                    }
                    Some(Err(status)) => return Some((Err(status), (body, decoder, input, true))),
                    None if decoder.has_partial() => {
                        let status = Status::internal("request ended inside a message frame");
                        return Some((Err(status), (body, decoder, input, true)));
                    }
                    None => return None,
                }
            }
        },
    );
    Ok(Body::from_stream(Box::pin(stream)))
}
