//! gRPC-Web's own parts (grpc/grpc `doc/PROTOCOL-WEB.md`): trailers as the
//! body's last frame, and the base64 text encoding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body_util::BodyExt as _;

use super::frame;
use crate::grpc::body::Body;
use crate::grpc::status::Status;

/// The trailer frame (flag `0x80`): the status and trailing metadata as an
/// HTTP/1 header block, lower-case names, `\r\n` after each line.
pub(super) fn trailer_frame(status: &Status, trailers: &HeaderMap) -> Bytes {
    let mut all = HeaderMap::new();
    for (name, value) in super::custom_metadata(trailers) {
        all.append(name, value.clone());
    }
    status.write_to(&mut all);
    let mut block = Vec::new();
    for (name, value) in &all {
        block.extend_from_slice(name.as_str().as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    frame(0x80, &block)
}

/// One frame, base64-encoded with padding: the server "base64-encodes and
/// flushes gRPC messages atomically", so every message can be decoded as
/// soon as it arrives.
pub(super) fn encode_text(frame: &[u8]) -> Bytes {
    Bytes::from(STANDARD.encode(frame))
}

/// A `grpc-web-text` request body, decoded. Clients may pad at any flush,
/// so the text is decoded in 4-character groups, and a padded group ends a
/// run.
pub(super) fn decode_text(body: Body) -> Body {
    let state = (body, BytesMut::new(), false);
    let stream = futures_util::stream::unfold(state, |(mut body, mut pending, done)| async move {
        if done {
            return None;
        }
        loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    pending.extend(data.iter().filter(|b| !b.is_ascii_whitespace()));
                    match decode_groups(&mut pending) {
                        Ok(decoded) if decoded.is_empty() => continue,
                        Ok(decoded) => {
                            return Some((
                                Ok(http_body::Frame::data(decoded)),
                                (body, pending, false),
                            ));
                        }
                        Err(status) => return Some((Err(status), (body, pending, true))),
                    }
                }
                Some(Err(status)) => return Some((Err(status), (body, pending, true))),
                None if pending.is_empty() => return None,
                None => {
                    let status = Status::invalid_argument(
                        "grpc-web-text request ends inside a base64 group",
                    );
                    return Some((Err(status), (body, pending, true)));
                }
            }
        }
    });
    Body::from_stream(Box::pin(stream))
}

/// Decodes the whole 4-character groups of `pending`, leaving the rest.
fn decode_groups(pending: &mut BytesMut) -> Result<Bytes, Status> {
    let ready = pending.len() / 4 * 4;
    let mut out = Vec::with_capacity(ready / 4 * 3);
    let mut start = 0;
    for group in (0..ready).step_by(4) {
        if pending[group + 3] == b'=' || group + 4 == ready {
            STANDARD
                .decode_vec(&pending[start..group + 4], &mut out)
                .map_err(|e| {
                    Status::invalid_argument(format!("malformed grpc-web-text body: {e}"))
                })?;
            start = group + 4;
        }
    }
    pending.advance(ready);
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_decodes_across_chunks_and_padded_runs() {
        let mut pending = BytesMut::from(&b"aGk="[..]);
        pending.extend_from_slice(b"dGhlcmU");
        assert_eq!(&decode_groups(&mut pending).unwrap()[..], b"hithe");
        assert_eq!(&pending[..], b"cmU");
        pending.extend_from_slice(b"=");
        assert_eq!(&decode_groups(&mut pending).unwrap()[..], b"re");
        assert!(pending.is_empty());
        let mut bad = BytesMut::from(&b"a!=="[..]);
        assert!(decode_groups(&mut bad).is_err());
    }

    #[test]
    fn trailers_are_a_header_block_in_a_flagged_frame() {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-cost", "7".parse().unwrap());
        trailers.insert("grpc-status", "0".parse().unwrap()); // replaced by the status
        let frame = trailer_frame(&Status::not_found("no such user"), &trailers);
        assert_eq!(frame[0], 0x80);
        let block = std::str::from_utf8(&frame[5..]).unwrap();
        assert_eq!(
            block,
            "x-cost: 7\r\ngrpc-status: 5\r\ngrpc-message: no such user\r\n"
        );
        assert_eq!(
            u32::from_be_bytes(frame[1..5].try_into().unwrap()) as usize,
            block.len()
        );
    }
}
