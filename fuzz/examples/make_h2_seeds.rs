//! Writes the `h2_server` seeds under `corpus/h2_server/` (run from
//! `fuzz/`: `cargo run --no-default-features --example make_h2_seeds`).
//! Each seed is an `h2_server` input (`protocall_fuzz::h2::Input`) turned
//! into the bytes `arbitrary` decodes back into it, which is checked here.

use std::path::Path;

use protocall_fuzz::h2::{
    Blob, Body, Chunk, ContentType, Frame, GrpcEncoding, HeaderPiece, Input, Method, PathChoice,
    Priority, Scheme, Setting, SettingId, StreamId, Te, Timeout, decode, seed_bytes,
};

const UNARY: u8 = 0;
const SERVER_STREAM: u8 = 1;
const CLIENT_STREAM: u8 = 2;
const BIDI: u8 = 3;
const HEALTH_CHECK: u8 = 4;
const HEALTH_WATCH: u8 = 5;

fn write(name: &str, input: Input) {
    let bytes = seed_bytes(&input);
    let decoded = decode(&bytes).expect("a seed decodes");
    assert_eq!(decoded, input, "seed {name} does not decode back");
    let dir = Path::new("corpus").join("h2_server");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn client(n: u8) -> StreamId {
    StreamId::Client(n)
}

fn settings(params: &[(SettingId, u32)]) -> Frame {
    Frame::Settings {
        ack: false,
        params: params
            .iter()
            .map(|&(id, value)| Setting { id, value })
            .collect(),
    }
}

fn settings_ack() -> Frame {
    Frame::Settings {
        ack: true,
        params: vec![],
    }
}

/// HEADERS opening a gRPC call to `KNOWN_PATHS[path]`, plus `extra` fields.
fn call(stream: StreamId, path: u8, extra: Vec<HeaderPiece>) -> Frame {
    let mut block = vec![HeaderPiece::Request(PathChoice::Known(path))];
    block.extend(extra);
    Frame::Headers {
        stream,
        end_stream: false,
        end_headers: true,
        priority: None,
        padding: None,
        block,
    }
}

fn message(data: &[u8], count: u8) -> Chunk {
    Chunk::Message {
        compressed: false,
        length: None,
        body: Body::Payload {
            data: data.into(),
            count,
        },
    }
}

fn data(stream: StreamId, end_stream: bool, chunks: Vec<Chunk>) -> Frame {
    Frame::Data {
        stream,
        end_stream,
        padding: None,
        chunks,
    }
}

fn main() {
    // A well-formed unary call, the client's settings acknowledged.
    write(
        "unary",
        Input {
            settings_first: false,
            frames: vec![
                settings(&[
                    (SettingId::InitialWindowSize, 1 << 20),
                    (SettingId::EnablePush, 0),
                ]),
                call(client(0), UNARY, vec![]),
                data(client(0), true, vec![message(b"hello", 0)]),
                settings_ack(),
            ],
        },
    );

    // Every streaming kind: bidi over three DATA frames (two messages in
    // one), a server stream of 4, a gzipped client stream, window updates.
    write(
        "streaming",
        Input {
            settings_first: true,
            frames: vec![
                settings_ack(),
                call(client(0), BIDI, vec![]),
                data(client(0), false, vec![message(b"a", 0)]),
                data(client(0), false, vec![message(b"b", 0), message(b"c", 0)]),
                call(client(1), SERVER_STREAM, vec![]),
                data(client(1), true, vec![message(b"repeat", 4)]),
                call(
                    client(2),
                    CLIENT_STREAM,
                    vec![HeaderPiece::GrpcEncoding(GrpcEncoding::Gzip)],
                ),
                data(
                    client(2),
                    false,
                    vec![Chunk::Message {
                        compressed: true,
                        length: None,
                        body: Body::Gzip {
                            data: b"zipped".as_slice().into(),
                            count: 0,
                        },
                    }],
                ),
                data(client(2), true, vec![message(b"plain", 0)]),
                Frame::WindowUpdate {
                    stream: StreamId::Zero,
                    increment: 1 << 16,
                },
                Frame::WindowUpdate {
                    stream: client(0),
                    increment: 1 << 16,
                },
                data(client(0), true, vec![]),
            ],
        },
    );

    // Rapid reset: streams opened and cancelled at once (RST_STREAM CANCEL).
    let mut frames = vec![];
    for n in 0..31 {
        frames.push(call(client(n), UNARY, vec![]));
        frames.push(Frame::RstStream {
            stream: client(n),
            code: 0x8,
        });
    }
    write(
        "rapid_reset",
        Input {
            settings_first: true,
            frames,
        },
    );

    // A header block in HEADERS and two CONTINUATIONs, padded and with
    // priority, every gRPC field spelled out.
    write(
        "continuation",
        Input {
            settings_first: true,
            frames: vec![
                Frame::Headers {
                    stream: client(0),
                    end_stream: false,
                    end_headers: false,
                    priority: Some(Priority {
                        exclusive: true,
                        dependency: StreamId::Zero,
                        weight: 15,
                    }),
                    padding: Some(7),
                    block: vec![
                        HeaderPiece::Method(Method::Post),
                        HeaderPiece::Scheme(Scheme::Http),
                    ],
                },
                Frame::Continuation {
                    stream: client(0),
                    end_headers: false,
                    block: vec![
                        HeaderPiece::Path(PathChoice::Known(UNARY)),
                        HeaderPiece::Authority(b"fuzz.test".as_slice().into()),
                    ],
                },
                Frame::Continuation {
                    stream: client(0),
                    end_headers: true,
                    block: vec![
                        HeaderPiece::ContentType(ContentType::GrpcProto),
                        HeaderPiece::Te(Te::Trailers),
                        HeaderPiece::GrpcEncoding(GrpcEncoding::Identity),
                        HeaderPiece::GrpcTimeout(Timeout::Value {
                            value: 500,
                            unit: 3, // m
                        }),
                        HeaderPiece::Field {
                            name: b"x-custom".as_slice().into(),
                            value: b"value".as_slice().into(),
                        },
                    ],
                },
                Frame::Data {
                    stream: client(0),
                    end_stream: true,
                    padding: Some(3),
                    chunks: vec![message(b"continued", 0)],
                },
            ],
        },
    );

    // SETTINGS and PING flood (the ping policy's GOAWAY too_many_pings).
    let mut frames = vec![];
    for n in 0..20u32 {
        frames.push(settings(&[
            (SettingId::HeaderTableSize, n * 64),
            (SettingId::MaxConcurrentStreams, 100 + n),
            (SettingId::Other(0x99), n),
        ]));
        frames.push(Frame::Ping {
            ack: n % 5 == 4,
            data: u64::from(n),
        });
    }
    write(
        "settings_ping_flood",
        Input {
            settings_first: true,
            frames,
        },
    );

    // gRPC prefixes announcing more than the limits: 4 GiB plain (over
    // 4 MiB), 9 MiB compressed (over twice the limit).
    write(
        "oversize_prefix",
        Input {
            settings_first: true,
            frames: vec![
                call(client(0), UNARY, vec![]),
                data(
                    client(0),
                    true,
                    vec![Chunk::Message {
                        compressed: false,
                        length: Some(u32::MAX),
                        body: Body::Bytes(Blob(vec![0; 32])),
                    }],
                ),
                call(
                    client(1),
                    CLIENT_STREAM,
                    vec![HeaderPiece::GrpcEncoding(GrpcEncoding::Gzip)],
                ),
                data(
                    client(1),
                    false,
                    vec![Chunk::Message {
                        compressed: true,
                        length: Some(9 << 20),
                        body: Body::Gzip {
                            data: Blob(vec![b'x'; 64]),
                            count: 0,
                        },
                    }],
                ),
            ],
        },
    );

    // The health service, a short deadline, the client's own GOAWAY and a
    // frame of an unknown type.
    write(
        "health_goaway",
        Input {
            settings_first: true,
            frames: vec![
                call(client(0), HEALTH_CHECK, vec![]),
                data(client(0), true, vec![Chunk::Raw(Blob(vec![0, 0, 0, 0, 0]))]),
                call(client(1), HEALTH_WATCH, vec![]),
                data(client(1), true, vec![Chunk::Raw(Blob(vec![0, 0, 0, 0, 0]))]),
                call(
                    client(2),
                    BIDI,
                    vec![HeaderPiece::GrpcTimeout(Timeout::Value {
                        value: 1,
                        unit: 5,
                    })],
                ),
                Frame::Raw {
                    kind: 0xfa,
                    flags: 0xff,
                    stream: 0x8000_0001,
                    length: None,
                    payload: Blob(b"extension".to_vec()),
                },
                Frame::Priority {
                    stream: client(2),
                    priority: Priority {
                        exclusive: false,
                        dependency: client(0),
                        weight: 200,
                    },
                },
                Frame::GoAway {
                    last_stream: StreamId::Zero,
                    code: 0,
                    debug: Blob(b"bye".to_vec()),
                },
                data(client(2), true, vec![message(b"after goaway", 0)]),
            ],
        },
    );

    // Flow-control abuse: windows overflowed, a stream id going backwards,
    // DATA on a stream never opened.
    write(
        "flow_control",
        Input {
            settings_first: true,
            frames: vec![
                call(client(5), UNARY, vec![]),
                Frame::WindowUpdate {
                    stream: StreamId::Zero,
                    increment: 0x7fff_ffff,
                },
                Frame::WindowUpdate {
                    stream: client(5),
                    increment: 0x7fff_ffff,
                },
                Frame::WindowUpdate {
                    stream: client(5),
                    increment: 0x7fff_ffff,
                },
                call(client(1), UNARY, vec![]),
                data(StreamId::Client(9), true, vec![message(b"nobody", 0)]),
                data(client(5), true, vec![message(b"late", 0)]),
            ],
        },
    );

    // Large replies against a small window: a server stream of 8 × 12 KiB
    // with SETTINGS_INITIAL_WINDOW_SIZE 1024, so the server waits on the
    // window updates that follow (and on those that never come).
    write(
        "large_windowed",
        Input {
            settings_first: false,
            frames: vec![
                settings(&[
                    (SettingId::InitialWindowSize, 1024),
                    (SettingId::MaxFrameSize, 1 << 15),
                ]),
                call(client(0), SERVER_STREAM, vec![]),
                data(client(0), true, vec![message(&[b'w'; 12 * 1024], 8)]),
                call(client(1), UNARY, vec![]),
                data(client(1), true, vec![message(&[b'u'; 3000], 0)]),
                Frame::WindowUpdate {
                    stream: client(0),
                    increment: 40 * 1024,
                },
                Frame::WindowUpdate {
                    stream: StreamId::Zero,
                    increment: 1 << 20,
                },
                settings(&[(SettingId::InitialWindowSize, 65_535)]),
            ],
        },
    );
}
