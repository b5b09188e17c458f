//! The service config's per-method message limits on the client:
//! `maxRequestMessageBytes` checked on the request's gRPC frames as they
//! are sent, `maxResponseMessageBytes` handed to the response decoder.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Frame;

use crate::grpc::body::Body;
use crate::grpc::frame::Prefixes;
use crate::grpc::status::Status;

/// The largest response message a method's config accepts, in the
/// response's extensions for the decoder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MaxResponse(pub(crate) usize);

/// Where a request body that broke its limit leaves the status for the call.
pub(crate) type Broken = Arc<Mutex<Option<Status>>>;

fn too_large(length: usize, limit: usize) -> Status {
    Status::resource_exhausted(format!(
        "request message of {length} bytes is larger than the method's maxRequestMessageBytes ({limit})"
    ))
}

/// Checks `body` against `limit`: a one-message body at once, a stream as
/// its frames go out (the call then fails with the status left in the
/// returned slot).
pub(crate) fn limit_request(body: Body, limit: usize) -> Result<(Body, Option<Broken>), Status> {
    if let Some(data) = body.single_data() {
        if data.len() >= 5 {
            let length = u32::from_be_bytes([data[1], data[2], data[3], data[4]]) as usize;
            if length > limit {
                return Err(too_large(length, limit));
            }
        }
        return Ok((body, None));
    }
    let broken: Broken = Arc::default();
    let checked = FrameLimit {
        body,
        limit,
        prefixes: Prefixes::default(),
        broken: broken.clone(),
    };
    Ok((Body::new(checked), Some(broken)))
}

/// A request body whose gRPC frames are measured as they pass.
struct FrameLimit {
    body: Body,
    limit: usize,
    prefixes: Prefixes,
    broken: Broken,
}

impl FrameLimit {
    /// Walks `chunk`'s frame boundaries; the first message over the limit
    /// is an error.
    fn check(&mut self, chunk: &[u8]) -> Result<(), Status> {
        let limit = self.limit;
        self.prefixes.scan(chunk, |_, length| {
            if length > limit {
                return Err(too_large(length, limit));
            }
            Ok(())
        })
    }
}

impl http_body::Body for FrameLimit {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let data = data.clone();
            if let Err(status) = self.check(&data) {
                *self.broken.lock().unwrap_or_else(|e| e.into_inner()) = Some(status.clone());
                return Poll::Ready(Some(Err(status)));
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: usize) -> Vec<u8> {
        let mut f = vec![0];
        f.extend_from_slice(&(len as u32).to_be_bytes());
        f.extend(std::iter::repeat_n(7, len));
        f
    }

    fn limiter(limit: usize) -> FrameLimit {
        FrameLimit {
            body: Body::empty(),
            limit,
            prefixes: Prefixes::default(),
            broken: Arc::default(),
        }
    }

    #[test]
    fn frames_split_anywhere_are_measured() {
        let mut bytes = frame(10);
        bytes.extend(frame(3));
        bytes.extend(frame(11));
        for split in 0..bytes.len() {
            let mut check = limiter(10);
            let first = check.check(&bytes[..split]);
            let result = first.and_then(|()| check.check(&bytes[split..]));
            let error = result.unwrap_err();
            assert!(
                error.message().contains("11 bytes"),
                "split {split}: {error:?}"
            );
        }
        assert!(limiter(11).check(&bytes).is_ok());
    }

    #[test]
    fn a_single_message_is_checked_before_it_is_sent() {
        let body = Body::once(Bytes::from(frame(100)), None);
        let error = limit_request(body, 99).err().unwrap();
        assert_eq!(error.code(), crate::Code::ResourceExhausted);
        let body = Body::once(Bytes::from(frame(100)), None);
        assert!(limit_request(body, 100).is_ok());
    }
}
