//! The server's keepalive enforcement (grpc's `doc/keepalive.md`): a
//! client that pings more often than the policy permits gets GOAWAY
//! `ENHANCE_YOUR_CALM` with debug data `too_many_pings`, and the connection
//! closes — what grpc-go and grpc-java servers do, and what their clients
//! (and grpcio's) react to by pinging less.
//!
//! h2 answers PINGs itself and tells no one, so the policy watches the
//! connection's bytes: [`PingPolicyIo`] reads the HTTP/2 frame headers going
//! both ways (never the payloads), counts the client's PINGs against the
//! calls in flight and the server's last HEADERS or DATA, and writes its
//! GOAWAY between two of h2's frames.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a server permits its clients' keepalive pings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PingPolicy {
    /// The least time between two pings (grpc's default: 5 minutes).
    pub(crate) min_time: Duration,
    /// Whether pings are permitted while no call is in flight.
    pub(crate) without_calls: bool,
}

impl Default for PingPolicy {
    fn default() -> PingPolicy {
        PingPolicy {
            min_time: Duration::from_secs(300),
            without_calls: false,
        }
    }
}

/// Pings too early that are forgiven; the next one ends the connection
/// (grpc-go's `maxPingStrikes`).
const MAX_STRIKES: u32 = 2;
/// Without calls (and without `without_calls`), a ping sooner than this
/// after the last one is a strike: keepalive should be off then.
const IDLE_PING_INTERVAL: Duration = Duration::from_secs(2 * 3600);

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const PING: u8 = 6;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// Finds frame headers in a byte stream that arrives in pieces.
#[derive(Debug, Default)]
struct FrameScanner {
    header: [u8; 9],
    filled: usize,
    /// Payload bytes of the current frame still to come.
    remaining: usize,
}

/// A frame header: type, flags, stream.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
}

impl FrameScanner {
    /// Scans `bytes`, calling `frame` for each header completed.
    fn scan(&mut self, mut bytes: &[u8], mut frame: impl FnMut(Frame)) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let step = self.remaining.min(bytes.len());
                self.remaining -= step;
                bytes = &bytes[step..];
                continue;
            }
            let step = (9 - self.filled).min(bytes.len());
            self.header[self.filled..self.filled + step].copy_from_slice(&bytes[..step]);
            self.filled += step;
            bytes = &bytes[step..];
            if self.filled == 9 {
                self.filled = 0;
                let h = self.header;
                self.remaining = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
                let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                frame(Frame {
                    kind: h[3],
                    flags: h[4],
                    stream,
                });
            }
        }
    }

    /// Between two frames.
    fn at_boundary(&self) -> bool {
        self.filled == 0 && self.remaining == 0
    }

    /// Bytes of `len` that can go out before the next frame boundary.
    fn until_boundary(&self, len: usize) -> usize {
        if self.remaining > 0 {
            return self.remaining.min(len);
        }
        // Inside a header: the rest of it, and then its payload too, which
        // a caller gets on the next write.
        (9 - self.filled).min(len)
    }
}

/// The policy's view of a connection.
#[derive(Debug)]
struct Watch {
    policy: PingPolicy,
    /// Bytes of the preface still expected (`None`: not HTTP/2, or done).
    preface: Option<usize>,
    http2: bool,
    reads: FrameScanner,
    writes: FrameScanner,
    /// Client streams open (a call in flight), by id.
    open: Vec<u32>,
    last_stream: u32,
    strikes: u32,
    last_ping: Option<tokio::time::Instant>,
    /// The GOAWAY to write at the next frame boundary, then what is left
    /// of it once writing began.
    goaway: Option<Vec<u8>>,
    written: usize,
    closed: bool,
}

impl Watch {
    fn new(policy: PingPolicy) -> Watch {
        Watch {
            policy,
            preface: Some(0),
            http2: false,
            reads: FrameScanner::default(),
            writes: FrameScanner::default(),
            open: Vec::new(),
            last_stream: 0,
            strikes: 0,
            last_ping: None,
            goaway: None,
            written: 0,
            closed: false,
        }
    }

    fn read(&mut self, mut bytes: &[u8]) {
        if let Some(seen) = self.preface {
            let step = (PREFACE.len() - seen).min(bytes.len());
            if bytes[..step] != PREFACE[seen..seen + step] {
                // HTTP/1.1 (or garbage h2 will refuse): not ours to watch.
                self.preface = None;
                return;
            }
            bytes = &bytes[step..];
            self.preface = match seen + step {
                n if n == PREFACE.len() => {
                    self.http2 = true;
                    None
                }
                n => Some(n),
            };
        }
        if !self.http2 {
            return;
        }
        let mut scanner = std::mem::take(&mut self.reads);
        scanner.scan(bytes, |frame| match frame.kind {
            HEADERS if frame.stream > self.last_stream => {
                self.last_stream = frame.stream;
                self.open.push(frame.stream);
            }
            RST_STREAM => self.close_stream(frame.stream),
            PING if frame.flags & ACK == 0 => self.ping(),
            _ => {}
        });
        self.reads = scanner;
    }

    fn wrote(&mut self, bytes: &[u8]) {
        if !self.http2 {
            return;
        }
        let mut scanner = std::mem::take(&mut self.writes);
        scanner.scan(bytes, |frame| match frame.kind {
            // The server sending headers or data forgives the strikes, as
            // in grpc-go: a busy connection's pings are fine.
            DATA | HEADERS => {
                self.strikes = 0;
                if frame.flags & END_STREAM != 0 {
                    self.close_stream(frame.stream);
                }
            }
            RST_STREAM => self.close_stream(frame.stream),
            _ => {}
        });
        self.writes = scanner;
    }

    fn close_stream(&mut self, stream: u32) {
        if let Some(i) = self.open.iter().position(|s| *s == stream) {
            self.open.swap_remove(i);
        }
    }

    fn ping(&mut self) {
        let now = tokio::time::Instant::now();
        let last = self.last_ping.replace(now);
        let allowed = if self.open.is_empty() && !self.policy.without_calls {
            IDLE_PING_INTERVAL
        } else {
            self.policy.min_time
        };
        if last.is_some_and(|last| last + allowed > now) {
            self.strikes += 1;
        }
        if self.strikes > MAX_STRIKES && self.goaway.is_none() {
            tracing::debug!(
                strikes = self.strikes,
                "client pings too often: GOAWAY too_many_pings"
            );
            self.goaway = Some(goaway(self.last_stream));
        }
    }
}

/// GOAWAY(last stream, ENHANCE_YOUR_CALM, "too_many_pings") on stream 0.
fn goaway(last_stream: u32) -> Vec<u8> {
    let debug = b"too_many_pings";
    let len = 8 + debug.len() as u32;
    let mut frame = Vec::with_capacity(9 + len as usize);
    frame.extend_from_slice(&len.to_be_bytes()[1..]);
    frame.extend_from_slice(&[7, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(&last_stream.to_be_bytes());
    frame.extend_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
    frame.extend_from_slice(debug);
    frame
}

pin_project_lite::pin_project! {
    /// A server connection under a [`PingPolicy`].
    pub(crate) struct PingPolicyIo<IO> {
        #[pin]
        io: IO,
        watch: Box<Watch>,
    }
}

impl<IO> PingPolicyIo<IO> {
    /// `io` under `policy`; without one, the bytes pass unwatched.
    pub(crate) fn new(io: IO, policy: Option<PingPolicy>) -> PingPolicyIo<IO> {
        let mut watch = Watch::new(policy.unwrap_or_default());
        if policy.is_none() {
            watch.preface = None;
        }
        PingPolicyIo {
            io,
            watch: Box::new(watch),
        }
    }
}

fn closed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "closed: too many pings",
    )
}

impl<IO: AsyncRead> AsyncRead for PingPolicyIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        if this.watch.closed {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = this.io.poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.watch.read(&buf.filled()[before..]);
        }
        result
    }
}

impl<IO: AsyncWrite> PingPolicyIo<IO> {
    /// Writes what is left of the GOAWAY, flushes and shuts down: `Ready`
    /// once the connection is closed.
    fn poll_goaway(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let mut this = self.project();
        let watch = &mut **this.watch;
        let frame = watch.goaway.as_ref().expect("a GOAWAY to send");
        while watch.written < frame.len() {
            let n = std::task::ready!(this.io.as_mut().poll_write(cx, &frame[watch.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            watch.written += n;
        }
        std::task::ready!(this.io.as_mut().poll_flush(cx))?;
        let _ = std::task::ready!(this.io.poll_shutdown(cx));
        watch.closed = true;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite> AsyncWrite for PingPolicyIo<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.watch.closed {
            return Poll::Ready(Err(closed()));
        }
        let mut len = buf.len();
        if self.watch.goaway.is_some() {
            if self.watch.writes.at_boundary() {
                std::task::ready!(self.as_mut().poll_goaway(cx))?;
                return Poll::Ready(Err(closed()));
            }
            // Finish h2's frame first, and no more.
            len = self.watch.writes.until_boundary(len);
        }
        let this = self.project();
        let n = std::task::ready!(this.io.poll_write(cx, &buf[..len]))?;
        this.watch.wrote(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.watch.goaway.is_some() || self.watch.closed {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &b[..]);
            return self.poll_write(cx, first);
        }
        let this = self.project();
        let n = std::task::ready!(this.io.poll_write_vectored(cx, bufs))?;
        // Scan what went out, slice by slice.
        let mut left = n;
        for slice in bufs {
            if left == 0 {
                break;
            }
            let take = slice.len().min(left);
            this.watch.wrote(&slice[..take]);
            left -= take;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.watch.closed {
            return Poll::Ready(Ok(()));
        }
        self.project().io.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.watch.closed {
            return Poll::Ready(Ok(()));
        }
        self.project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: usize) -> Vec<u8> {
        let mut f = (payload as u32).to_be_bytes()[1..].to_vec();
        f.extend_from_slice(&[kind, flags]);
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend(std::iter::repeat_n(0, payload));
        f
    }

    fn ping() -> Vec<u8> {
        frame(PING, 0, 0, 8)
    }

    #[test]
    fn frames_are_found_however_the_bytes_are_split() {
        let mut bytes = frame(HEADERS, 4, 1, 30);
        bytes.extend(frame(DATA, 1, 1, 5));
        bytes.extend(ping());
        for split in 0..bytes.len() {
            let mut scanner = FrameScanner::default();
            let mut seen = Vec::new();
            scanner.scan(&bytes[..split], |f| seen.push(f));
            scanner.scan(&bytes[split..], |f| seen.push(f));
            let kinds: Vec<(u8, u32)> = seen.iter().map(|f| (f.kind, f.stream)).collect();
            assert_eq!(kinds, [(HEADERS, 1), (DATA, 1), (PING, 0)], "split {split}");
            assert!(scanner.at_boundary());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_third_early_ping_ends_the_connection() {
        let mut watch = Watch::new(PingPolicy {
            min_time: Duration::from_secs(10),
            without_calls: true,
        });
        watch.read(PREFACE);
        watch.read(&frame(HEADERS, 4, 1, 3));
        for _ in 0..3 {
            watch.read(&ping());
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(
            watch.strikes, 2,
            "the first ping is free; two early ones are strikes"
        );
        assert!(watch.goaway.is_none());
        // The server answering forgives them.
        watch.wrote(&frame(DATA, 0, 1, 10));
        assert_eq!(watch.strikes, 0);
        for _ in 0..3 {
            watch.read(&ping());
        }
        assert_eq!(watch.goaway, Some(goaway(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn pings_without_calls_need_the_permission() {
        let mut watch = Watch::new(PingPolicy {
            min_time: Duration::from_secs(10),
            without_calls: false,
        });
        watch.read(PREFACE);
        watch.read(&frame(HEADERS, 4, 1, 3));
        watch.wrote(&frame(HEADERS, 1, 1, 3)); // the call ends
        for _ in 0..4 {
            tokio::time::advance(Duration::from_secs(60)).await;
            watch.read(&ping());
        }
        assert!(watch.goaway.is_some(), "pings a minute apart with no call");
        // Spaced by the policy during a call: fine.
        let mut watch = Watch::new(PingPolicy {
            min_time: Duration::from_secs(10),
            without_calls: false,
        });
        watch.read(PREFACE);
        watch.read(&frame(HEADERS, 4, 1, 3));
        for _ in 0..10 {
            tokio::time::advance(Duration::from_secs(11)).await;
            watch.read(&ping());
        }
        assert_eq!((watch.strikes, watch.goaway.is_none()), (0, true));
    }

    #[test]
    fn http1_is_left_alone() {
        let mut watch = Watch::new(PingPolicy::default());
        watch.read(b"POST /x HTTP/1.1\r\n");
        for _ in 0..10 {
            watch.read(&ping());
        }
        assert!(!watch.http2 && watch.goaway.is_none());
    }

    #[test]
    fn the_goaway_frame() {
        let frame = goaway(7);
        assert_eq!(&frame[..9], &[0, 0, 22, 7, 0, 0, 0, 0, 0]);
        assert_eq!(&frame[9..17], &[0, 0, 0, 7, 0, 0, 0, 0x0b]);
        assert_eq!(&frame[17..], b"too_many_pings");
    }
}
