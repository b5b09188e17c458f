//! The gRPC message framing: a compressed flag, a 4-byte big-endian length,
//! then the message (grpc/grpc `doc/PROTOCOL-HTTP2.md`, "Length-Prefixed-Message").

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::compression::Encoding;
use super::status::Status;
use crate::message::Message;

/// Prefix length: one flag byte and four length bytes.
pub(crate) const HEADER_LEN: usize = 5;

/// Limits and compression for one direction of a call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Codec {
    /// Largest message accepted (after decompression).
    pub(crate) max_decode: usize,
    /// Largest message sent.
    pub(crate) max_encode: usize,
    /// Compression applied to sent messages.
    pub(crate) send: Option<Encoding>,
    /// Limits of decoding a received message (recursion, memory budget).
    pub(crate) decode: crate::DecodeOptions,
}

/// The default receive limit of gRPC implementations: 4 MiB.
pub(crate) const DEFAULT_MAX_DECODE: usize = 4 * 1024 * 1024;

impl Default for Codec {
    fn default() -> Codec {
        Codec {
            max_decode: DEFAULT_MAX_DECODE,
            max_encode: usize::MAX,
            send: None,
            decode: crate::DecodeOptions::new(),
        }
    }
}

/// Finds the message prefixes in a stream of bytes that pass by in chunks
/// split anywhere, without holding the messages: what the client's size
/// limits and the call observer need of a body they do not decode.
#[derive(Debug, Default)]
pub(crate) struct Prefixes {
    /// The prefix being read, `filled` bytes of it so far.
    header: [u8; HEADER_LEN],
    filled: usize,
    /// Bytes of the current message still to pass.
    remaining: usize,
}

/// What [`Prefixes::walk`] finds in the bytes.
pub(crate) enum Piece<'a> {
    /// A message's prefix.
    Start { compressed: bool, length: usize },
    /// Some of its bytes.
    Payload(&'a [u8]),
    /// Its last byte has passed.
    End,
}

impl Prefixes {
    /// Walks `chunk`, calling `on_message(compressed, length)` at each
    /// complete prefix; the first error stops the walk.
    pub(crate) fn scan<E>(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(bool, usize) -> Result<(), E>,
    ) -> Result<(), E> {
        self.walk(chunk, |piece| match piece {
            Piece::Start { compressed, length } => on_message(compressed, length),
            Piece::Payload(_) | Piece::End => Ok(()),
        })
    }

    /// Walks `chunk`, calling `on` with each prefix, payload slice and
    /// message end; the first error stops the walk.
    pub(crate) fn walk<E>(
        &mut self,
        mut chunk: &[u8],
        mut on: impl FnMut(Piece<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let step = self.remaining.min(chunk.len());
                self.remaining -= step;
                on(Piece::Payload(&chunk[..step]))?;
                chunk.advance(step);
                if self.remaining == 0 {
                    on(Piece::End)?;
                }
                continue;
            }
            let step = (HEADER_LEN - self.filled).min(chunk.len());
            self.header[self.filled..self.filled + step].copy_from_slice(&chunk[..step]);
            self.filled += step;
            chunk.advance(step);
            if self.filled == HEADER_LEN {
                self.filled = 0;
                let h = self.header;
                let length = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
                self.remaining = length;
                on(Piece::Start {
                    compressed: h[0] & 1 == 1,
                    length,
                })?;
                if length == 0 {
                    on(Piece::End)?;
                }
            }
        }
        Ok(())
    }
}

/// Encodes `message` as one frame.
pub(crate) fn encode<M: Message>(message: &M, codec: &Codec) -> Result<Bytes, Status> {
    let mut buf = BytesMut::new();
    encode_into(message, codec, &mut buf)?;
    Ok(buf.freeze())
}

/// Appends `message` as one frame to `buf` (streams batch several frames
/// into one HTTP/2 DATA frame this way).
pub(crate) fn encode_into<M: Message>(
    message: &M,
    codec: &Codec,
    buf: &mut BytesMut,
) -> Result<(), Status> {
    let len = message.encoded_len();
    if len > codec.max_encode || len > u32::MAX as usize {
        return Err(Status::resource_exhausted(format!(
            "message of {len} bytes is larger than the send limit of {} bytes",
            codec.max_encode
        )));
    }
    match codec.send {
        None => {
            buf.reserve(HEADER_LEN + len);
            buf.put_u8(0);
            buf.put_u32(len as u32);
            message.encode_raw(buf);
        }
        Some(encoding) => {
            let plain = message.encode_to_vec();
            let start = buf.len();
            buf.reserve(HEADER_LEN + len / 2);
            buf.put_bytes(0, HEADER_LEN);
            encoding.compress(&plain, buf)?;
            let compressed_len = (buf.len() - start - HEADER_LEN) as u32;
            buf[start] = 1;
            buf[start + 1..start + HEADER_LEN].copy_from_slice(&compressed_len.to_be_bytes());
        }
    }
    Ok(())
}

/// Room reserved ahead of the bytes that arrived for a frame still coming:
/// typical messages fit one allocation; larger ones grow as data arrives.
const PREFETCH: usize = 64 * 1024;

/// Bytes of incomplete messages one connection may hold across all its
/// streams (`Server::max_buffered_message_bytes_per_connection`): the
/// flow-control windows do not bound them, since a decoder takes bytes out
/// of the window as they arrive.
#[derive(Debug)]
pub(crate) struct MessageBudget {
    limit: usize,
    used: std::sync::atomic::AtomicUsize,
}

impl MessageBudget {
    pub(crate) fn new(limit: usize) -> std::sync::Arc<MessageBudget> {
        std::sync::Arc::new(MessageBudget {
            limit,
            used: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// Takes `n` bytes; false (and nothing taken) past the limit.
    fn charge(&self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, std::sync::atomic::Ordering::AcqRel);
    }

    #[cfg(test)]
    fn used(&self) -> usize {
        self.used.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// A request's extension: its connection's [`MessageBudget`].
#[derive(Clone, Debug)]
pub(crate) struct ConnectionBudget(pub(crate) std::sync::Arc<MessageBudget>);

/// Reassembles frames from HTTP/2 data chunks.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    /// The latest chunk, unconsumed, while nothing is being accumulated:
    /// frames inside it are split off without copying.
    head: Bytes,
    /// Bytes of a frame that spans chunks.
    buf: BytesMut,
    /// The peer's `grpc-encoding`, applied to frames flagged compressed.
    encoding: Option<Encoding>,
    max_decode: usize,
    /// Length of the frame whose header was read, if any.
    pending: Option<(bool, usize)>,
    /// Limits of decoding the messages (see [`decode_message`]).
    options: crate::DecodeOptions,
    /// The connection's budget for partial messages, and what this decoder
    /// holds of it.
    budget: Option<std::sync::Arc<MessageBudget>>,
    charged: usize,
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        if let Some(budget) = &self.budget {
            budget.release(self.charged);
        }
    }
}

impl FrameDecoder {
    pub(crate) fn new(encoding: Option<Encoding>, max_decode: usize) -> FrameDecoder {
        FrameDecoder {
            head: Bytes::new(),
            buf: BytesMut::new(),
            encoding,
            max_decode,
            pending: None,
            options: crate::DecodeOptions::new(),
            budget: None,
            charged: 0,
        }
    }

    /// The same decoder, its messages decoded under `options`.
    pub(crate) fn with_options(mut self, options: crate::DecodeOptions) -> FrameDecoder {
        self.options = options;
        self
    }

    /// The same decoder, holding the bytes of its incomplete message out of
    /// `budget`: one that would pass the budget's limit fails the stream
    /// with `RESOURCE_EXHAUSTED`.
    pub(crate) fn with_budget(mut self, budget: std::sync::Arc<MessageBudget>) -> FrameDecoder {
        self.budget = Some(budget);
        self
    }

    /// Brings the bytes charged to the budget to what is buffered now.
    fn settle(&mut self) -> Result<(), Status> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        let held = self.available();
        if held == self.charged {
            // The common case: whole messages in each chunk, nothing held.
            return Ok(());
        }
        if held > self.charged {
            if !budget.charge(held - self.charged) {
                return Err(Status::resource_exhausted(format!(
                    "the connection's incomplete messages would pass {} bytes",
                    budget.limit
                )));
            }
        } else {
            budget.release(self.charged - held);
        }
        self.charged = held;
        Ok(())
    }

    /// What the messages are decoded under.
    pub(crate) fn options(&self) -> &crate::DecodeOptions {
        &self.options
    }

    /// Adds a data chunk.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        if self.buf.is_empty() && self.head.is_empty() {
            self.head = chunk;
        } else {
            self.accumulate(0);
            self.buf.extend_from_slice(&chunk);
        }
    }

    /// Moves `head` into `buf`, with room for up to `total` bytes: what
    /// arrived plus at most [`PREFETCH`] more, so memory follows the bytes
    /// that arrive, not the length a prefix claims (a 5-byte prefix
    /// claiming 4 MiB must not reserve 4 MiB).
    fn accumulate(&mut self, total: usize) {
        let missing = total.saturating_sub(self.buf.len());
        self.buf
            .reserve(missing.min(self.head.len() + PREFETCH).max(self.head.len()));
        if !self.head.is_empty() {
            self.buf.extend_from_slice(&self.head);
            self.head = Bytes::new();
        }
    }

    fn available(&self) -> usize {
        self.head.len() + self.buf.len()
    }

    /// The next `n` bytes (at most [`FrameDecoder::available`]).
    fn take(&mut self, n: usize) -> Bytes {
        if self.head.is_empty() {
            self.buf.split_to(n).freeze()
        } else {
            self.head.split_to(n)
        }
    }

    /// The next 5 bytes (at least that many are available) as a message
    /// prefix: its flag and length. Read in place, no `Bytes` made.
    fn take_prefix(&mut self) -> (u8, usize) {
        let bytes: &[u8] = if self.head.is_empty() {
            &self.buf
        } else {
            &self.head
        };
        let flag = bytes[0];
        let len = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        if self.head.is_empty() {
            self.buf.advance(HEADER_LEN);
        } else {
            self.head.advance(HEADER_LEN);
        }
        (flag, len)
    }

    /// True when bytes of an incomplete frame are buffered.
    pub(crate) fn has_partial(&self) -> bool {
        self.pending.is_some() || self.available() > 0
    }

    /// The next complete message (decompressed), and whether it arrived
    /// compressed.
    pub(crate) fn next(&mut self) -> Result<Option<(Bytes, bool)>, Status> {
        let next = self.next_frame()?;
        self.settle()?;
        Ok(next)
    }

    fn next_frame(&mut self) -> Result<Option<(Bytes, bool)>, Status> {
        let (compressed, len) = match self.pending {
            Some(header) => header,
            None => {
                if self.available() < HEADER_LEN {
                    return Ok(None);
                }
                let (flag, len) = self.take_prefix();
                let compressed = match flag {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Status::internal(format!(
                            "invalid compressed flag {other} in message prefix"
                        )));
                    }
                };
                if compressed && self.encoding.is_none() {
                    return Err(Status::internal(
                        "compressed message received without a grpc-encoding",
                    ));
                }
                // Checked on the prefix, before buffering: a lying length
                // costs nothing.
                if len > self.max_decode && !compressed {
                    return Err(Status::resource_exhausted(format!(
                        "message of {len} bytes is larger than the limit of {} bytes",
                        self.max_decode
                    )));
                }
                if compressed && len > self.max_decode.saturating_mul(2).max(1 << 20) {
                    return Err(Status::resource_exhausted(format!(
                        "compressed message of {len} bytes is larger than the limit"
                    )));
                }
                self.pending = Some((compressed, len));
                (compressed, len)
            }
        };
        if self.available() < len {
            self.accumulate(len);
            return Ok(None);
        }
        self.pending = None;
        let payload = self.take(len);
        if !compressed {
            return Ok(Some((payload, false)));
        }
        let encoding = self.encoding.expect("checked with the prefix");
        let plain = encoding.decompress(&payload, self.max_decode)?;
        Ok(Some((plain.freeze(), true)))
    }
}

/// Decodes one message payload under `options`.
pub(crate) fn decode_message<M: Message>(
    payload: Bytes,
    options: &crate::DecodeOptions,
) -> Result<M, Status> {
    options
        .decode::<M, _>(payload)
        .map_err(|e| Status::from_error(super::Code::Internal, format!("{e}"), e))
}

#[cfg(test)]
mod tests {
    #[test]
    fn prefixes_walk_messages_split_anywhere() {
        let mut bytes = Vec::new();
        for payload in [&b"abc"[..], b"", b"defgh"] {
            bytes.push(0);
            bytes.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            bytes.extend_from_slice(payload);
        }
        for split in 0..=bytes.len() {
            let mut prefixes = Prefixes::default();
            let (mut messages, mut current) = (Vec::new(), Vec::new());
            for part in [&bytes[..split], &bytes[split..]] {
                let _ = prefixes.walk::<()>(part, |piece| {
                    match piece {
                        Piece::Start { .. } => current.clear(),
                        Piece::Payload(b) => current.extend_from_slice(b),
                        Piece::End => messages.push(std::mem::take(&mut current)),
                    }
                    Ok(())
                });
            }
            assert_eq!(messages, [&b"abc"[..], b"", b"defgh"], "split {split}");
        }
    }

    use super::*;
    use crate::types::StringValue;

    fn frame(value: &str, codec: &Codec) -> Bytes {
        encode(&StringValue::from(value), codec).unwrap()
    }

    #[test]
    fn frames_reassemble_across_chunks() {
        let codec = Codec::default();
        let mut wire = BytesMut::new();
        wire.extend_from_slice(&frame("first", &codec));
        wire.extend_from_slice(&frame("second", &codec));
        let wire = wire.freeze();
        let mut decoder = FrameDecoder::new(None, 100);
        let mut out = Vec::new();
        for byte in wire.chunks(3) {
            decoder.push(Bytes::copy_from_slice(byte));
            while let Some((payload, _)) = decoder.next().unwrap() {
                out.push(
                    decode_message::<StringValue>(payload, &crate::DecodeOptions::new())
                        .unwrap()
                        .value,
                );
            }
        }
        assert_eq!(out, ["first", "second"]);
        assert!(!decoder.has_partial());
    }

    #[test]
    fn a_connection_budget_bounds_incomplete_messages_across_streams() {
        let budget = super::MessageBudget::new(1000);
        let partial = |claimed: u32, have: usize| {
            let mut bytes = vec![0];
            bytes.extend_from_slice(&claimed.to_be_bytes());
            bytes.resize(5 + have, 7);
            Bytes::from(bytes)
        };
        let mut a = FrameDecoder::new(None, 1 << 20).with_budget(budget.clone());
        a.push(partial(900, 595));
        assert!(a.next().unwrap().is_none());
        assert_eq!(budget.used(), 595, "the bytes after the prefix");
        // A second stream's 500 buffered bytes would pass 1,000.
        let mut b = FrameDecoder::new(None, 1 << 20).with_budget(budget.clone());
        b.push(partial(900, 495));
        let error = b.next().unwrap_err();
        assert_eq!(error.code(), crate::Code::ResourceExhausted, "{error:?}");
        assert_eq!(budget.used(), 595, "the refused bytes are not charged");
        drop(b);
        // The first completes its message: its bytes go back.
        a.push(Bytes::from(vec![7; 305]));
        assert_eq!(a.next().unwrap().unwrap().0.len(), 900);
        assert_eq!(budget.used(), 0);
        a.push(partial(900, 100));
        assert!(a.next().unwrap().is_none());
        assert_eq!(budget.used(), 100);
        drop(a);
        assert_eq!(budget.used(), 0, "a dropped decoder gives its bytes back");
    }

    #[test]
    fn a_prefix_claiming_megabytes_reserves_only_what_arrives() {
        let mut decoder = FrameDecoder::new(None, 4 << 20);
        // A prefix claiming 4 MiB, then one byte of it, split across chunks.
        decoder.push(Bytes::from_static(&[0, 0, 0x40, 0, 0]));
        decoder.push(Bytes::from_static(&[7]));
        assert!(decoder.next().unwrap().is_none());
        assert!(
            decoder.buf.capacity() <= 2 * PREFETCH,
            "{}",
            decoder.buf.capacity()
        );
        // As the bytes arrive, the buffer grows with them and the frame completes.
        let chunk = Bytes::from(vec![7u8; 16 * 1024]);
        let mut sent = 1;
        while sent + chunk.len() <= 4 << 20 {
            decoder.push(chunk.clone());
            sent += chunk.len();
            assert!(decoder.next().unwrap().is_none());
            assert!(decoder.buf.capacity() <= 2 * (sent + PREFETCH));
        }
        decoder.push(Bytes::from(vec![7u8; (4 << 20) - sent]));
        let (payload, _) = decoder.next().unwrap().expect("the whole frame");
        assert_eq!(payload.len(), 4 << 20);
    }

    #[test]
    fn oversized_prefix_is_refused_before_buffering() {
        let mut decoder = FrameDecoder::new(None, 1024);
        decoder.push(Bytes::from_static(&[0, 0x7f, 0xff, 0xff, 0xff]));
        assert_eq!(
            decoder.next().unwrap_err().code(),
            super::super::Code::ResourceExhausted
        );
    }

    #[test]
    fn compressed_flag_without_encoding_is_internal() {
        let mut decoder = FrameDecoder::new(None, 1024);
        decoder.push(Bytes::from_static(&[1, 0, 0, 0, 0]));
        assert_eq!(
            decoder.next().unwrap_err().code(),
            super::super::Code::Internal
        );
    }

    #[cfg(any(feature = "gzip", feature = "zstd"))]
    #[test]
    fn compressed_frames_round_trip() {
        // The first encoding this build has (gzip by default).
        let encoding = crate::grpc::compression::SUPPORTED[0];
        let codec = Codec {
            send: Some(encoding),
            ..Codec::default()
        };
        let wire = frame(&"x".repeat(1000), &codec);
        assert_eq!(wire[0], 1);
        let mut decoder = FrameDecoder::new(Some(encoding), 4096);
        decoder.push(wire);
        let (payload, compressed) = decoder.next().unwrap().unwrap();
        assert!(compressed);
        assert_eq!(
            decode_message::<StringValue>(payload, &crate::DecodeOptions::new())
                .unwrap()
                .value
                .len(),
            1000
        );
    }
}
