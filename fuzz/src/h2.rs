//! The `h2_server` target: its input, HTTP/2 frames as a structure the
//! `arbitrary` crate decodes from the fuzzer's bytes; the bytes on the wire
//! those frames stand for (frame headers and HPACK literals written here);
//! the inverse of the decoding, which `examples/make_h2_seeds.rs` writes
//! seeds with; and the echo service the server under test runs.
//!
//! The check itself is [`crate::checks::h2_server`].

use std::pin::Pin;
use std::task::{Context, Poll};

use arbitrary::{Arbitrary, Unstructured};
use protocall::server::Stream;
use protocall::{Message as _, Request, Response, Status, Streaming};

use crate::schemas::protocall::fuzz::Payload;
use crate::schemas::protocall::fuzz::echo_server::Echo;

/// At most this many frames of an input are sent.
pub const MAX_FRAMES: usize = 64;
/// No frame payload (and no [`Blob`]) is longer: HTTP/2's default
/// `SETTINGS_MAX_FRAME_SIZE`.
pub const MAX_PAYLOAD: usize = 16 * 1024;
/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Paths a [`PathChoice::Known`] picks from: the methods served, and two
/// that are not.
pub const KNOWN_PATHS: &[&str] = &[
    "/protocall.fuzz.Echo/Unary",
    "/protocall.fuzz.Echo/ServerStream",
    "/protocall.fuzz.Echo/ClientStream",
    "/protocall.fuzz.Echo/Bidi",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/protocall.fuzz.Echo/Missing",
    "/no.such.Service/Method",
];

/// The whole input: the preface is always sent first, then (if
/// `settings_first`) an empty SETTINGS frame, then the frames.
#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub struct Input {
    pub settings_first: bool,
    pub frames: Vec<Frame>,
}

/// Bytes, decoded as a little-endian `u16` length (clamped to what is left
/// and to [`MAX_PAYLOAD`]) and that many bytes: one length, not
/// `Vec<u8>`'s one continuation byte per element.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Blob(pub Vec<u8>);

impl<'a> Arbitrary<'a> for Blob {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Blob> {
        let len = usize::from(u16::arbitrary(u)?)
            .min(u.len())
            .min(MAX_PAYLOAD);
        Ok(Blob(u.bytes(len)?.to_vec()))
    }
}

impl From<&[u8]> for Blob {
    fn from(bytes: &[u8]) -> Blob {
        Blob(bytes.to_vec())
    }
}

/// A stream identifier: mostly small client (odd) ones, so frames of one
/// input meet on the same streams.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq)]
pub enum StreamId {
    /// `2n + 1`.
    Client(u8),
    Zero,
    /// `2n + 2`.
    Server(u8),
    /// Any 32 bits (the reserved bit is cleared on the wire, except in
    /// [`Frame::Raw`]).
    Any(u32),
}

impl StreamId {
    pub fn id(self) -> u32 {
        match self {
            StreamId::Client(n) => 2 * u32::from(n) + 1,
            StreamId::Zero => 0,
            StreamId::Server(n) => 2 * u32::from(n) + 2,
            StreamId::Any(id) => id,
        }
    }
}

/// One frame of the input.
#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Frame {
    Settings {
        ack: bool,
        params: Vec<Setting>,
    },
    Headers {
        stream: StreamId,
        end_stream: bool,
        end_headers: bool,
        priority: Option<Priority>,
        /// PADDED, with this many bytes of padding.
        padding: Option<u8>,
        block: Vec<HeaderPiece>,
    },
    Continuation {
        stream: StreamId,
        end_headers: bool,
        block: Vec<HeaderPiece>,
    },
    Data {
        stream: StreamId,
        end_stream: bool,
        padding: Option<u8>,
        chunks: Vec<Chunk>,
    },
    WindowUpdate {
        stream: StreamId,
        increment: u32,
    },
    RstStream {
        stream: StreamId,
        code: u32,
    },
    Ping {
        ack: bool,
        data: u64,
    },
    Priority {
        stream: StreamId,
        priority: Priority,
    },
    GoAway {
        last_stream: StreamId,
        code: u32,
        debug: Blob,
    },
    /// Any frame: type, flags, all 32 bits of the stream field, the payload,
    /// and optionally a length field that lies.
    Raw {
        kind: u8,
        flags: u8,
        stream: u32,
        length: Option<u32>,
        payload: Blob,
    },
}

/// A SETTINGS parameter.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    pub id: SettingId,
    pub value: u32,
}

#[derive(Arbitrary, Clone, Copy, Debug, PartialEq)]
pub enum SettingId {
    HeaderTableSize,
    EnablePush,
    MaxConcurrentStreams,
    InitialWindowSize,
    MaxFrameSize,
    MaxHeaderListSize,
    EnableConnectProtocol,
    Other(u16),
}

impl SettingId {
    pub fn code(self) -> u16 {
        match self {
            SettingId::HeaderTableSize => 1,
            SettingId::EnablePush => 2,
            SettingId::MaxConcurrentStreams => 3,
            SettingId::InitialWindowSize => 4,
            SettingId::MaxFrameSize => 5,
            SettingId::MaxHeaderListSize => 6,
            SettingId::EnableConnectProtocol => 8,
            SettingId::Other(code) => code,
        }
    }
}

/// The priority fields of HEADERS and PRIORITY.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq)]
pub struct Priority {
    pub exclusive: bool,
    pub dependency: StreamId,
    pub weight: u8,
}

/// A piece of a header block: fields as HPACK literals without indexing
/// (new name, no Huffman), or raw block bytes.
#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum HeaderPiece {
    /// A well-formed gRPC request head: `:method POST`, `:scheme http`, the
    /// path, `:authority fuzz.test`, `content-type application/grpc`, `te
    /// trailers`.
    Request(PathChoice),
    Method(Method),
    Scheme(Scheme),
    Path(PathChoice),
    Authority(Blob),
    ContentType(ContentType),
    Te(Te),
    GrpcEncoding(GrpcEncoding),
    GrpcTimeout(Timeout),
    Field {
        name: Blob,
        value: Blob,
    },
    Raw(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum PathChoice {
    /// One of [`KNOWN_PATHS`] (modulo their number).
    Known(u8),
    Other(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Method {
    Post,
    Get,
    Other(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Scheme {
    Http,
    Https,
    Other(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum ContentType {
    Grpc,
    GrpcProto,
    GrpcJson,
    Other(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Te {
    Trailers,
    Other(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum GrpcEncoding {
    Gzip,
    Identity,
    Junk(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Timeout {
    /// The value in decimal (up to 10 digits: gRPC allows 8), then the unit
    /// `b"HMSmunx"[unit % 7]` (`x` is not one).
    Value {
        value: u32,
        unit: u8,
    },
    Other(Blob),
}

/// A piece of a DATA payload.
#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Chunk {
    /// A gRPC length-prefixed message: compressed flag, 4-byte big-endian
    /// length (the body's, unless `length` lies), body.
    Message {
        compressed: bool,
        length: Option<u32>,
        body: Body,
    },
    Raw(Blob),
}

#[derive(Arbitrary, Clone, Debug, PartialEq)]
pub enum Body {
    /// An encoded [`Payload`].
    Payload {
        data: Blob,
        count: u8,
    },
    /// An encoded [`Payload`], gzipped.
    Gzip {
        data: Blob,
        count: u8,
    },
    Bytes(Blob),
}

// ---------------------------------------------------------------------------
// The wire: frame headers and HPACK, written by hand.

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PRIORITY: u8 = 0x2;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY_FLAG: u8 = 0x20;

impl Input {
    /// The bytes a client sends: preface, maybe SETTINGS, the first
    /// [`MAX_FRAMES`] frames.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = PREFACE.to_vec();
        if self.settings_first {
            frame_header(&mut out, 0, SETTINGS, 0, 0);
        }
        for frame in self.frames.iter().take(MAX_FRAMES) {
            frame.write(&mut out);
        }
        out
    }
}

/// Whether `wire`'s frames (read as the server reads them) end exactly at
/// its end: a frame sent after it is read as a frame.
pub fn ends_on_frame_boundary(wire: &[u8]) -> bool {
    let mut rest = wire.strip_prefix(PREFACE).unwrap_or(wire);
    while rest.len() >= 9 {
        let end = 9 + u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        if end > rest.len() {
            return false;
        }
        rest = &rest[end..];
    }
    rest.is_empty()
}

/// The payload of the client's last PING, after its input.
pub const LIVENESS: u64 = u64::from_be_bytes(*b"h2 alive");

/// A PING (not an ACK) carrying `data`.
pub fn ping_frame(data: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(17);
    Frame::Ping { ack: false, data }.write(&mut out);
    out
}

/// The largest valid `SETTINGS_MAX_FRAME_SIZE` in any SETTINGS frame of
/// `wire` (at least the default), the frames read as the server reads them
/// (raw frames included, a lying length included): the server may send
/// frames up to it.
pub fn max_frame_size(wire: &[u8]) -> u32 {
    let mut max = MAX_PAYLOAD as u32;
    let mut rest = wire.strip_prefix(PREFACE).unwrap_or(wire);
    while rest.len() >= 9 {
        let length = u32::from_be_bytes([0, rest[0], rest[1], rest[2]]) as usize;
        let payload = &rest[9..(9 + length).min(rest.len())];
        if rest[3] == SETTINGS {
            for param in payload.chunks_exact(6) {
                let value = u32::from_be_bytes([param[2], param[3], param[4], param[5]]);
                if param[..2] == [0, 5] && value < 1 << 24 {
                    max = max.max(value);
                }
            }
        }
        rest = &rest[(9 + length).min(rest.len())..];
    }
    max
}

/// The 9-byte frame header: 24-bit length, type, flags, 32-bit stream
/// field (the caller clears the reserved bit or not).
fn frame_header(out: &mut Vec<u8>, length: u32, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
}

/// A frame whose payload is cut to [`MAX_PAYLOAD`], on a 31-bit stream id.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: StreamId, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_PAYLOAD)];
    frame_header(
        out,
        payload.len() as u32,
        kind,
        flags,
        stream.id() & 0x7fff_ffff,
    );
    out.extend_from_slice(payload);
}

impl Priority {
    fn write(&self, out: &mut Vec<u8>) {
        let exclusive = if self.exclusive { 0x8000_0000 } else { 0 };
        out.extend_from_slice(&((self.dependency.id() & 0x7fff_ffff) | exclusive).to_be_bytes());
        out.push(self.weight);
    }
}

impl Frame {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Settings { ack, params } => {
                let mut payload = Vec::with_capacity(params.len() * 6);
                for p in params {
                    payload.extend_from_slice(&p.id.code().to_be_bytes());
                    payload.extend_from_slice(&p.value.to_be_bytes());
                }
                let flags = if *ack { ACK } else { 0 };
                frame(out, SETTINGS, flags, StreamId::Zero, &payload);
            }
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                priority,
                padding,
                block,
            } => {
                let mut flags = 0;
                let mut payload = Vec::new();
                if *end_stream {
                    flags |= END_STREAM;
                }
                if *end_headers {
                    flags |= END_HEADERS;
                }
                if let Some(pad) = padding {
                    flags |= PADDED;
                    payload.push(*pad);
                }
                if let Some(priority) = priority {
                    flags |= PRIORITY_FLAG;
                    priority.write(&mut payload);
                }
                header_block(&mut payload, block);
                if let Some(pad) = padding {
                    payload.resize(payload.len() + usize::from(*pad), 0);
                }
                frame(out, HEADERS, flags, *stream, &payload);
            }
            Frame::Continuation {
                stream,
                end_headers,
                block,
            } => {
                let mut payload = Vec::new();
                header_block(&mut payload, block);
                let flags = if *end_headers { END_HEADERS } else { 0 };
                frame(out, CONTINUATION, flags, *stream, &payload);
            }
            Frame::Data {
                stream,
                end_stream,
                padding,
                chunks,
            } => {
                let mut flags = 0;
                let mut payload = Vec::new();
                if *end_stream {
                    flags |= END_STREAM;
                }
                if let Some(pad) = padding {
                    flags |= PADDED;
                    payload.push(*pad);
                }
                for chunk in chunks {
                    chunk.write(&mut payload);
                    if payload.len() > MAX_PAYLOAD {
                        break;
                    }
                }
                if let Some(pad) = padding {
                    payload.resize(payload.len() + usize::from(*pad), 0);
                }
                frame(out, DATA, flags, *stream, &payload);
            }
            Frame::WindowUpdate { stream, increment } => {
                frame(out, WINDOW_UPDATE, 0, *stream, &increment.to_be_bytes());
            }
            Frame::RstStream { stream, code } => {
                frame(out, RST_STREAM, 0, *stream, &code.to_be_bytes());
            }
            Frame::Ping { ack, data } => {
                let flags = if *ack { ACK } else { 0 };
                frame(out, PING, flags, StreamId::Zero, &data.to_be_bytes());
            }
            Frame::Priority { stream, priority } => {
                let mut payload = Vec::with_capacity(5);
                priority.write(&mut payload);
                frame(out, PRIORITY, 0, *stream, &payload);
            }
            Frame::GoAway {
                last_stream,
                code,
                debug,
            } => {
                let mut payload = Vec::with_capacity(8 + debug.0.len());
                payload.extend_from_slice(&(last_stream.id() & 0x7fff_ffff).to_be_bytes());
                payload.extend_from_slice(&code.to_be_bytes());
                payload.extend_from_slice(&debug.0);
                frame(out, GOAWAY, 0, StreamId::Zero, &payload);
            }
            Frame::Raw {
                kind,
                flags,
                stream,
                length,
                payload,
            } => {
                let payload = &payload.0[..payload.0.len().min(MAX_PAYLOAD)];
                let length = length.map_or(payload.len() as u32, |l| l & 0x00ff_ffff);
                frame_header(out, length, *kind, *flags, *stream);
                out.extend_from_slice(payload);
            }
        }
    }
}

/// An HPACK integer with an `prefix`-bit prefix, the byte's other bits
/// being `first` (RFC 7541 §5.1).
fn hpack_int(out: &mut Vec<u8>, prefix: u8, first: u8, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 0x80 {
        out.push((value & 0x7f) as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A string literal, not Huffman-coded (RFC 7541 §5.2).
fn hpack_string(out: &mut Vec<u8>, bytes: &[u8]) {
    hpack_int(out, 7, 0x00, bytes.len());
    out.extend_from_slice(bytes);
}

/// A literal header field without indexing, new name (RFC 7541 §6.2.2):
/// `0x00`, name, value.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x00);
    hpack_string(out, name);
    hpack_string(out, value);
}

fn header_block(out: &mut Vec<u8>, pieces: &[HeaderPiece]) {
    for piece in pieces {
        piece.write(out);
        if out.len() > MAX_PAYLOAD {
            break;
        }
    }
}

impl PathChoice {
    fn bytes(&self) -> Vec<u8> {
        match self {
            PathChoice::Known(i) => KNOWN_PATHS[usize::from(*i) % KNOWN_PATHS.len()]
                .as_bytes()
                .to_vec(),
            PathChoice::Other(path) => path.0.clone(),
        }
    }
}

impl HeaderPiece {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            HeaderPiece::Request(path) => {
                literal(out, b":method", b"POST");
                literal(out, b":scheme", b"http");
                literal(out, b":path", &path.bytes());
                literal(out, b":authority", b"fuzz.test");
                literal(out, b"content-type", b"application/grpc");
                literal(out, b"te", b"trailers");
            }
            HeaderPiece::Method(method) => {
                let value: &[u8] = match method {
                    Method::Post => b"POST",
                    Method::Get => b"GET",
                    Method::Other(m) => &m.0,
                };
                literal(out, b":method", value);
            }
            HeaderPiece::Scheme(scheme) => {
                let value: &[u8] = match scheme {
                    Scheme::Http => b"http",
                    Scheme::Https => b"https",
                    Scheme::Other(s) => &s.0,
                };
                literal(out, b":scheme", value);
            }
            HeaderPiece::Path(path) => literal(out, b":path", &path.bytes()),
            HeaderPiece::Authority(authority) => literal(out, b":authority", &authority.0),
            HeaderPiece::ContentType(content_type) => {
                let value: &[u8] = match content_type {
                    ContentType::Grpc => b"application/grpc",
                    ContentType::GrpcProto => b"application/grpc+proto",
                    ContentType::GrpcJson => b"application/grpc+json",
                    ContentType::Other(c) => &c.0,
                };
                literal(out, b"content-type", value);
            }
            HeaderPiece::Te(te) => {
                let value: &[u8] = match te {
                    Te::Trailers => b"trailers",
                    Te::Other(t) => &t.0,
                };
                literal(out, b"te", value);
            }
            HeaderPiece::GrpcEncoding(encoding) => {
                let value: &[u8] = match encoding {
                    GrpcEncoding::Gzip => b"gzip",
                    GrpcEncoding::Identity => b"identity",
                    GrpcEncoding::Junk(j) => &j.0,
                };
                literal(out, b"grpc-encoding", value);
            }
            HeaderPiece::GrpcTimeout(timeout) => {
                let value = match timeout {
                    Timeout::Value { value, unit } => {
                        let unit = b"HMSmunx"[usize::from(*unit) % 7];
                        let mut v = value.to_string().into_bytes();
                        v.push(unit);
                        v
                    }
                    Timeout::Other(t) => t.0.clone(),
                };
                literal(out, b"grpc-timeout", &value);
            }
            HeaderPiece::Field { name, value } => literal(out, &name.0, &value.0),
            HeaderPiece::Raw(bytes) => out.extend_from_slice(&bytes.0),
        }
    }
}

impl Chunk {
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Chunk::Message {
                compressed,
                length,
                body,
            } => {
                let body = body.bytes();
                out.push(u8::from(*compressed));
                let length = length.unwrap_or(body.len() as u32);
                out.extend_from_slice(&length.to_be_bytes());
                out.extend_from_slice(&body);
            }
            Chunk::Raw(bytes) => out.extend_from_slice(&bytes.0),
        }
    }
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Payload { data, count } => payload(data, *count).encode_to_vec(),
            Body::Gzip { data, count } => {
                use std::io::Write as _;
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&payload(data, *count).encode_to_vec())
                    .expect("gzip into a Vec");
                gz.finish().expect("gzip into a Vec")
            }
            Body::Bytes(bytes) => bytes.0.clone(),
        }
    }
}

fn payload(data: &Blob, count: u8) -> Payload {
    Payload {
        data: data.0.clone(),
        count: u32::from(count),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// The inverse of the decoding, for seeds: the bytes `arbitrary` (1.x, and
// `derive_arbitrary`'s layout) decodes back into the same value. The seed
// generator checks each one decodes back.

/// Writes the bytes `Arbitrary` decodes into `self`.
pub trait Seed {
    fn seed(&self, out: &mut Vec<u8>);
}

/// The seed bytes of `input`.
pub fn seed_bytes(input: &Input) -> Vec<u8> {
    let mut out = Vec::new();
    input.seed(&mut out);
    out
}

/// Decodes fuzzer bytes as the check does.
pub fn decode(data: &[u8]) -> arbitrary::Result<Input> {
    Input::arbitrary_take_rest(Unstructured::new(data))
}

/// An enum's variant `index` of `count`: derive reads a `u32` `x` and picks
/// `(x * count) >> 32`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let x = (index << 32).div_ceil(count);
    debug_assert_eq!((x * count) >> 32, index);
    out.extend_from_slice(&(x as u32).to_le_bytes());
}

impl Seed for bool {
    fn seed(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Seed for u8 {
    fn seed(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Seed for u16 {
    fn seed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Seed for u32 {
    fn seed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Seed for u64 {
    fn seed(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl<T: Seed> Seed for Option<T> {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                x.seed(out);
            }
        }
    }
}

/// A continuation byte before each element, a zero after the last.
impl<T: Seed> Seed for Vec<T> {
    fn seed(&self, out: &mut Vec<u8>) {
        for x in self {
            out.push(1);
            x.seed(out);
        }
        out.push(0);
    }
}

impl Seed for Blob {
    fn seed(&self, out: &mut Vec<u8>) {
        assert!(self.0.len() <= MAX_PAYLOAD, "a blob longer than a frame");
        (self.0.len() as u16).seed(out);
        out.extend_from_slice(&self.0);
    }
}

impl Seed for Input {
    fn seed(&self, out: &mut Vec<u8>) {
        self.settings_first.seed(out);
        self.frames.seed(out);
    }
}

impl Seed for StreamId {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            StreamId::Client(n) => {
                variant(out, 0, 4);
                n.seed(out);
            }
            StreamId::Zero => variant(out, 1, 4),
            StreamId::Server(n) => {
                variant(out, 2, 4);
                n.seed(out);
            }
            StreamId::Any(id) => {
                variant(out, 3, 4);
                id.seed(out);
            }
        }
    }
}

impl Seed for Frame {
    fn seed(&self, out: &mut Vec<u8>) {
        const N: u64 = 10;
        match self {
            Frame::Settings { ack, params } => {
                variant(out, 0, N);
                ack.seed(out);
                params.seed(out);
            }
            Frame::Headers {
                stream,
                end_stream,
                end_headers,
                priority,
                padding,
                block,
            } => {
                variant(out, 1, N);
                stream.seed(out);
                end_stream.seed(out);
                end_headers.seed(out);
                priority.seed(out);
                padding.seed(out);
                block.seed(out);
            }
            Frame::Continuation {
                stream,
                end_headers,
                block,
            } => {
                variant(out, 2, N);
                stream.seed(out);
                end_headers.seed(out);
                block.seed(out);
            }
            Frame::Data {
                stream,
                end_stream,
                padding,
                chunks,
            } => {
                variant(out, 3, N);
                stream.seed(out);
                end_stream.seed(out);
                padding.seed(out);
                chunks.seed(out);
            }
            Frame::WindowUpdate { stream, increment } => {
                variant(out, 4, N);
                stream.seed(out);
                increment.seed(out);
            }
            Frame::RstStream { stream, code } => {
                variant(out, 5, N);
                stream.seed(out);
                code.seed(out);
            }
            Frame::Ping { ack, data } => {
                variant(out, 6, N);
                ack.seed(out);
                data.seed(out);
            }
            Frame::Priority { stream, priority } => {
                variant(out, 7, N);
                stream.seed(out);
                priority.seed(out);
            }
            Frame::GoAway {
                last_stream,
                code,
                debug,
            } => {
                variant(out, 8, N);
                last_stream.seed(out);
                code.seed(out);
                debug.seed(out);
            }
            Frame::Raw {
                kind,
                flags,
                stream,
                length,
                payload,
            } => {
                variant(out, 9, N);
                kind.seed(out);
                flags.seed(out);
                stream.seed(out);
                length.seed(out);
                payload.seed(out);
            }
        }
    }
}

impl Seed for Setting {
    fn seed(&self, out: &mut Vec<u8>) {
        self.id.seed(out);
        self.value.seed(out);
    }
}

impl Seed for SettingId {
    fn seed(&self, out: &mut Vec<u8>) {
        let index = match self {
            SettingId::HeaderTableSize => 0,
            SettingId::EnablePush => 1,
            SettingId::MaxConcurrentStreams => 2,
            SettingId::InitialWindowSize => 3,
            SettingId::MaxFrameSize => 4,
            SettingId::MaxHeaderListSize => 5,
            SettingId::EnableConnectProtocol => 6,
            SettingId::Other(_) => 7,
        };
        variant(out, index, 8);
        if let SettingId::Other(code) = self {
            code.seed(out);
        }
    }
}

impl Seed for Priority {
    fn seed(&self, out: &mut Vec<u8>) {
        self.exclusive.seed(out);
        self.dependency.seed(out);
        self.weight.seed(out);
    }
}

impl Seed for HeaderPiece {
    fn seed(&self, out: &mut Vec<u8>) {
        const N: u64 = 11;
        match self {
            HeaderPiece::Request(path) => {
                variant(out, 0, N);
                path.seed(out);
            }
            HeaderPiece::Method(m) => {
                variant(out, 1, N);
                m.seed(out);
            }
            HeaderPiece::Scheme(s) => {
                variant(out, 2, N);
                s.seed(out);
            }
            HeaderPiece::Path(p) => {
                variant(out, 3, N);
                p.seed(out);
            }
            HeaderPiece::Authority(a) => {
                variant(out, 4, N);
                a.seed(out);
            }
            HeaderPiece::ContentType(c) => {
                variant(out, 5, N);
                c.seed(out);
            }
            HeaderPiece::Te(t) => {
                variant(out, 6, N);
                t.seed(out);
            }
            HeaderPiece::GrpcEncoding(e) => {
                variant(out, 7, N);
                e.seed(out);
            }
            HeaderPiece::GrpcTimeout(t) => {
                variant(out, 8, N);
                t.seed(out);
            }
            HeaderPiece::Field { name, value } => {
                variant(out, 9, N);
                name.seed(out);
                value.seed(out);
            }
            HeaderPiece::Raw(bytes) => {
                variant(out, 10, N);
                bytes.seed(out);
            }
        }
    }
}

impl Seed for PathChoice {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            PathChoice::Known(i) => {
                variant(out, 0, 2);
                i.seed(out);
            }
            PathChoice::Other(path) => {
                variant(out, 1, 2);
                path.seed(out);
            }
        }
    }
}

/// The fixed choices of a small enum, then `Other`'s blob.
fn seed_choice(out: &mut Vec<u8>, index: u64, count: u64, other: Option<&Blob>) {
    variant(out, index, count);
    if let Some(blob) = other {
        blob.seed(out);
    }
}

impl Seed for Method {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Method::Post => seed_choice(out, 0, 3, None),
            Method::Get => seed_choice(out, 1, 3, None),
            Method::Other(b) => seed_choice(out, 2, 3, Some(b)),
        }
    }
}

impl Seed for Scheme {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Scheme::Http => seed_choice(out, 0, 3, None),
            Scheme::Https => seed_choice(out, 1, 3, None),
            Scheme::Other(b) => seed_choice(out, 2, 3, Some(b)),
        }
    }
}

impl Seed for ContentType {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            ContentType::Grpc => seed_choice(out, 0, 4, None),
            ContentType::GrpcProto => seed_choice(out, 1, 4, None),
            ContentType::GrpcJson => seed_choice(out, 2, 4, None),
            ContentType::Other(b) => seed_choice(out, 3, 4, Some(b)),
        }
    }
}

impl Seed for Te {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Te::Trailers => seed_choice(out, 0, 2, None),
            Te::Other(b) => seed_choice(out, 1, 2, Some(b)),
        }
    }
}

impl Seed for GrpcEncoding {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            GrpcEncoding::Gzip => seed_choice(out, 0, 3, None),
            GrpcEncoding::Identity => seed_choice(out, 1, 3, None),
            GrpcEncoding::Junk(b) => seed_choice(out, 2, 3, Some(b)),
        }
    }
}

impl Seed for Timeout {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Timeout::Value { value, unit } => {
                variant(out, 0, 2);
                value.seed(out);
                unit.seed(out);
            }
            Timeout::Other(b) => seed_choice(out, 1, 2, Some(b)),
        }
    }
}

impl Seed for Chunk {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Chunk::Message {
                compressed,
                length,
                body,
            } => {
                variant(out, 0, 2);
                compressed.seed(out);
                length.seed(out);
                body.seed(out);
            }
            Chunk::Raw(b) => seed_choice(out, 1, 2, Some(b)),
        }
    }
}

impl Seed for Body {
    fn seed(&self, out: &mut Vec<u8>) {
        match self {
            Body::Payload { data, count } => {
                variant(out, 0, 3);
                data.seed(out);
                count.seed(out);
            }
            Body::Gzip { data, count } => {
                variant(out, 1, 3);
                data.seed(out);
                count.seed(out);
            }
            Body::Bytes(b) => seed_choice(out, 2, 3, Some(b)),
        }
    }
}

// ---------------------------------------------------------------------------
// The service under test.

/// Echoes: see `proto/echo.proto`.
#[derive(Clone, Copy, Debug, Default)]
pub struct EchoService;

/// Most replies [`Echo::server_stream`] sends.
const MAX_REPEAT: u32 = 8;

impl Echo for EchoService {
    async fn unary(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    type ServerStreamStream = Repeat;

    async fn server_stream(&self, request: Request<Payload>) -> Result<Response<Repeat>, Status> {
        let payload = request.into_inner();
        let left = payload.count.min(MAX_REPEAT);
        Ok(Response::new(Repeat { payload, left }))
    }

    async fn client_stream(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<Payload>, Status> {
        let mut stream = request.into_inner();
        let mut reply = Payload::default();
        while let Some(message) = stream.message().await? {
            if reply.data.len() < MAX_PAYLOAD {
                reply.data.extend_from_slice(&message.data);
            }
            reply.count += 1;
        }
        Ok(Response::new(reply))
    }

    type BidiStream = Streaming<Payload>;

    async fn bidi(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<Streaming<Payload>>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// The same payload `left` more times.
pub struct Repeat {
    payload: Payload,
    left: u32,
}

impl Stream for Repeat {
    type Item = Result<Payload, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(Ok(self.payload.clone())))
    }
}

/// The given items, one by one: a client's request stream.
pub struct Items<T>(pub std::collections::VecDeque<T>);

impl<T: Unpin> Stream for Items<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<T>> {
        Poll::Ready(self.0.pop_front())
    }
}

/// A server's incoming connections, from a channel.
pub struct Incoming(pub tokio::sync::mpsc::UnboundedReceiver<tokio::io::DuplexStream>);

impl Stream for Incoming {
    type Item = std::io::Result<tokio::io::DuplexStream>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|io| io.map(Ok))
    }
}

/// A client's connector: each connection a fresh in-memory pipe whose other
/// end goes to the server's [`Incoming`].
#[derive(Clone)]
pub struct PipeConnector(pub tokio::sync::mpsc::UnboundedSender<tokio::io::DuplexStream>);

impl tower_service::Service<http::Uri> for PipeConnector {
    type Response = tokio::io::DuplexStream;
    type Error = std::io::Error;
    type Future = std::future::Ready<std::io::Result<tokio::io::DuplexStream>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let sent = self
            .0
            .send(server)
            .map(|()| client)
            .map_err(|_| std::io::Error::other("the server is gone"));
        std::future::ready(sent)
    }
}

// ---------------------------------------------------------------------------
// What the server writes.

/// The server's side of the fuzzed connection, parsed into frames as it
/// arrives, each checked against what RFC 9113 requires of a sender.
#[derive(Debug)]
pub struct ServerOutput {
    buffer: Vec<u8>,
    /// The largest frame the client allowed.
    max_frame: u32,
    pub bytes: usize,
    pub frames: usize,
    /// The GOAWAY error codes received.
    pub goaways: Vec<u32>,
    /// PING ACKs carrying [`LIVENESS`].
    pub liveness_acks: usize,
}

impl ServerOutput {
    pub fn new(max_frame: u32) -> ServerOutput {
        ServerOutput {
            buffer: Vec::new(),
            max_frame,
            bytes: 0,
            frames: 0,
            goaways: Vec::new(),
            liveness_acks: 0,
        }
    }

    /// Takes `bytes` the server wrote; panics on a malformed frame.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.bytes += bytes.len();
        self.buffer.extend_from_slice(bytes);
        let mut at = 0;
        while self.buffer.len() - at >= 9 {
            let h = &self.buffer[at..at + 9];
            let length = u32::from_be_bytes([0, h[0], h[1], h[2]]);
            let (kind, flags) = (h[3], h[4]);
            let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
            assert!(
                length <= self.max_frame,
                "the server sent a frame of {length} bytes (type {kind}), over the client's \
                 SETTINGS_MAX_FRAME_SIZE {} (frame #{})",
                self.max_frame,
                self.frames,
            );
            let end = at + 9 + length as usize;
            if self.buffer.len() < end {
                break;
            }
            let buffer = std::mem::take(&mut self.buffer);
            self.frame(kind, flags, stream, &buffer[at + 9..end]);
            self.buffer = buffer;
            at = end;
        }
        self.buffer.drain(..at);
    }

    fn frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let n = self.frames;
        self.frames += 1;
        let what = Seen {
            n,
            kind,
            flags,
            stream,
            length: payload.len(),
        };
        if n == 0 {
            // RFC 9113 §3.4: the server's preface is a SETTINGS frame.
            assert!(
                kind == SETTINGS && flags & ACK == 0,
                "the server's first frame is not SETTINGS: {what}"
            );
        }
        match kind {
            DATA | HEADERS | CONTINUATION => {
                assert!(stream % 2 == 1, "{what}: not on a client-initiated stream")
            }
            RST_STREAM => assert!(stream != 0 && payload.len() == 4, "malformed {what}"),
            SETTINGS => assert!(
                stream == 0
                    && payload.len().is_multiple_of(6)
                    && (flags & ACK == 0 || payload.is_empty()),
                "malformed {what}"
            ),
            PING => {
                assert!(stream == 0 && payload.len() == 8, "malformed {what}");
                if flags & ACK != 0 && payload == LIVENESS.to_be_bytes() {
                    self.liveness_acks += 1;
                }
            }
            GOAWAY => {
                assert!(stream == 0 && payload.len() >= 8, "malformed {what}");
                self.goaways.push(u32::from_be_bytes([
                    payload[4], payload[5], payload[6], payload[7],
                ]));
            }
            WINDOW_UPDATE => {
                assert!(payload.len() == 4, "malformed {what}");
                let increment =
                    u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]])
                        & 0x7fff_ffff;
                assert!(increment != 0, "{what}: a zero increment");
            }
            PRIORITY => assert!(stream != 0 && payload.len() == 5, "malformed {what}"),
            _ => panic!("{what}: a type a server never sends (PUSH_PROMISE or unknown)"),
        }
    }
}

/// A frame the server sent, for messages.
#[derive(Clone, Copy)]
struct Seen {
    n: usize,
    kind: u8,
    flags: u8,
    stream: u32,
    length: usize,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server frame #{}: type {}, flags {:#x}, stream {}, {} bytes",
            self.n, self.kind, self.flags, self.stream, self.length
        )
    }
}
