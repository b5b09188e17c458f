//! Retries and hedging as gRFC A6 specifies them: attempts of one call,
//! their request replayed from a bounded buffer, the call committed to the
//! first attempt whose response headers arrive, and a per-channel throttle
//! that stops retry storms.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http::HeaderMap;
use http_body::Frame;

use super::Channel;
use super::service_config::{CallPolicy, HedgingPolicy, RetryPolicy, RetryThrottling};
use crate::grpc::body::Body;
use crate::grpc::status::{Code, Status};
use crate::grpc::timeout;

/// The request bytes one call may hold for replay (grpc-java's default).
pub(crate) const CALL_REPLAY_LIMIT: usize = 1 << 20;
/// The request bytes all calls of a channel may hold for replay.
pub(crate) const CHANNEL_REPLAY_LIMIT: usize = 16 << 20;

const PREVIOUS_ATTEMPTS: &str = "grpc-previous-rpc-attempts";
const PUSHBACK: &str = "grpc-retry-pushback-ms";

/// Runs a call under its retry or hedging policy.
pub(crate) async fn run(
    channel: &Channel,
    request: http::Request<Body>,
    policy: CallPolicy,
    wait_for_ready: bool,
) -> Result<http::Response<Body>, Status> {
    let (parts, body) = request.into_parts();
    let replay = Replay::new(body, CALL_REPLAY_LIMIT, channel.replay_budget().clone());
    let call = Call {
        channel,
        parts,
        replay,
        wait_for_ready,
        throttle: channel.throttle(),
    };
    match policy {
        CallPolicy::Retry(policy) => call.retry(&policy).await,
        CallPolicy::Hedging(policy) => call.hedge(&policy).await,
    }
}

struct Call<'a> {
    channel: &'a Channel,
    parts: http::request::Parts,
    replay: Replay,
    wait_for_ready: bool,
    throttle: Option<Arc<Throttle>>,
}

/// How an attempt ended, as far as the policy is concerned.
enum Outcome {
    /// Response headers came: the call is committed to this attempt.
    Committed(http::Response<Body>),
    /// It failed before any response headers (or with a Trailers-Only
    /// response), with this code and the server's pushback, if any.
    Failed {
        result: Result<http::Response<Body>, Status>,
        code: Code,
        pushback: Pushback,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Pushback {
    None,
    /// Wait this long before the next attempt.
    Delay(Duration),
    /// The server says: do not retry (a negative or malformed value).
    Stop,
}

impl<'a> Call<'a> {
    /// One attempt, the `previous` earlier ones counted in its headers.
    async fn attempt(&self, previous: u32) -> Outcome {
        let mut request = http::Request::new(Body::new(self.replay.reader()));
        *request.method_mut() = self.parts.method.clone();
        *request.uri_mut() = self.parts.uri.clone();
        *request.headers_mut() = self.parts.headers.clone();
        *request.extensions_mut() = self.parts.extensions.clone();
        if previous > 0 {
            request
                .headers_mut()
                .insert(PREVIOUS_ATTEMPTS, http::HeaderValue::from(previous));
        }
        classify(self.channel.attempt(request, self.wait_for_ready).await)
    }

    /// Whether another attempt may start: the request can still be
    /// replayed and the throttle allows it.
    fn may_repeat(&self) -> bool {
        !self.replay.overflowed() && self.throttle.as_ref().is_none_or(|t| t.allows())
    }

    fn record(&self, failed: bool) {
        if let Some(throttle) = &self.throttle {
            if failed {
                throttle.failure();
            } else {
                throttle.success();
            }
        }
    }

    async fn retry(self, policy: &RetryPolicy) -> Result<http::Response<Body>, Status> {
        let mut attempts = 0;
        let mut since_pushback = 0;
        loop {
            let outcome = self.attempt(attempts).await;
            attempts += 1;
            let (result, code, pushback) = match outcome {
                Outcome::Committed(response) => {
                    self.record(false);
                    return Ok(response);
                }
                Outcome::Failed {
                    result,
                    code,
                    pushback,
                } => (result, code, pushback),
            };
            let retryable = policy.retryable.contains(&code);
            self.record(retryable || pushback == Pushback::Stop);
            if !retryable || attempts >= policy.max_attempts || !self.may_repeat() {
                return result;
            }
            let delay = match pushback {
                Pushback::Stop => return result,
                Pushback::Delay(delay) => {
                    since_pushback = 0;
                    delay
                }
                Pushback::None => {
                    let delay = backoff(policy, since_pushback);
                    since_pushback += 1;
                    delay
                }
            };
            tracing::debug!(attempt = attempts, %code, ?delay, "retrying call");
            tokio::time::sleep(delay).await;
        }
    }

    async fn hedge(self, policy: &HedgingPolicy) -> Result<http::Response<Body>, Status> {
        let mut running = FuturesUnordered::new();
        running.push(self.attempt(0));
        let mut sent = 1;
        let mut next = timeout::after(policy.delay);
        let mut stopped = false;
        // The latest failure: the call's result if no attempt is left.
        let mut last = None;
        loop {
            let more = !stopped && sent < policy.max_attempts;
            tokio::select! {
                Some(outcome) = running.next() => {
                    let (result, code, pushback) = match outcome {
                        Outcome::Committed(response) => {
                            self.record(false);
                            // Dropping the others cancels them.
                            return Ok(response);
                        }
                        Outcome::Failed { result, code, pushback } => (result, code, pushback),
                    };
                    let non_fatal = policy.non_fatal.contains(&code);
                    self.record(non_fatal || pushback == Pushback::Stop);
                    if !non_fatal {
                        return result;
                    }
                    match pushback {
                        Pushback::Stop => stopped = true,
                        Pushback::Delay(delay) => next = timeout::after(delay),
                        // A non-fatal failure sends the next hedge at once.
                        Pushback::None => next = tokio::time::Instant::now(),
                    }
                    let more = !stopped && sent < policy.max_attempts && self.may_repeat();
                    if running.is_empty() && !more {
                        return result;
                    }
                    last = Some(result);
                }
                _ = tokio::time::sleep_until(next), if more => {
                    if self.may_repeat() {
                        running.push(self.attempt(sent));
                        sent += 1;
                        next = timeout::after(policy.delay);
                    } else {
                        stopped = true;
                    }
                }
                // Nothing running and nothing more to send (the throttle or
                // the replay buffer stopped the hedges): the last failure.
                else => {
                    return last.unwrap_or_else(|| Err(Status::unavailable("no hedged attempt left")));
                }
            }
        }
    }
}

/// The delay before retry `n` (0-based) since the last pushback:
/// uniformly random in `[0, min(initial · multiplier^n, max))` (A6).
fn backoff(policy: &RetryPolicy, n: u32) -> Duration {
    let ceiling = policy.initial_backoff.as_secs_f64() * policy.multiplier.powi(n as i32);
    let ceiling = ceiling.min(policy.max_backoff.as_secs_f64());
    timeout::from_secs_f64(ceiling * fastrand::f64())
}

/// Reads the policy's view of an attempt's result.
fn classify(result: Result<http::Response<Body>, Status>) -> Outcome {
    let response = match result {
        Err(status) => {
            let code = status.code();
            return Outcome::Failed {
                result: Err(status),
                code,
                pushback: Pushback::None,
            };
        }
        Ok(response) => response,
    };
    let headers = response.headers();
    let code = match Status::from_headers(headers) {
        // Trailers-Only: the status came instead of response headers.
        Some(status) if status.code() != Code::Ok => status.code(),
        Some(_) => return Outcome::Committed(response),
        None if response.status() != http::StatusCode::OK => Code::from_http(response.status()),
        None => return Outcome::Committed(response),
    };
    let pushback = pushback(headers);
    Outcome::Failed {
        result: Ok(response),
        code,
        pushback,
    }
}

fn pushback(headers: &HeaderMap) -> Pushback {
    let Some(value) = headers.get(PUSHBACK) else {
        return Pushback::None;
    };
    match value.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(ms) => Pushback::Delay(Duration::from_millis(ms)),
        None => Pushback::Stop,
    }
}

/// The retry throttle of a channel (A6): each failure takes a token, each
/// success gives back `token_ratio`; below half the tokens, no retries and
/// no hedges.
#[derive(Debug)]
pub(crate) struct Throttle {
    settings: RetryThrottling,
    tokens: Mutex<f64>,
}

impl Throttle {
    pub(crate) fn new(settings: RetryThrottling) -> Throttle {
        Throttle {
            settings,
            tokens: Mutex::new(settings.max_tokens),
        }
    }

    pub(crate) fn settings(&self) -> RetryThrottling {
        self.settings
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, f64> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn allows(&self) -> bool {
        *self.tokens() > self.settings.max_tokens / 2.0
    }

    fn failure(&self) {
        let mut tokens = self.tokens();
        *tokens = (*tokens - 1.0).max(0.0);
    }

    fn success(&self) {
        let mut tokens = self.tokens();
        *tokens = (*tokens + self.settings.token_ratio).min(self.settings.max_tokens);
    }
}

/// Bytes held for replay across a channel's calls.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    held: AtomicUsize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Budget {
        Budget {
            limit,
            held: AtomicUsize::new(0),
        }
    }

    fn reserve(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// A request body read once from its source and replayed to every
/// attempt. Past the call's limit (or the channel's) it stops keeping what
/// every reader has read, and no new attempt may start.
#[derive(Clone)]
struct Replay {
    shared: Arc<Mutex<ReplayState>>,
    wake: Arc<WakeAll>,
}

struct ReplayState {
    source: Body,
    /// Chunks from index `base` on.
    chunks: VecDeque<Bytes>,
    base: usize,
    trailers: Option<HeaderMap>,
    ended: bool,
    error: Option<Status>,
    /// Bytes of `chunks`, reserved from `budget`.
    held: usize,
    limit: usize,
    budget: Arc<Budget>,
    overflowed: bool,
    /// The next chunk each live reader wants (`None`: dropped).
    readers: Vec<Option<usize>>,
}

impl Drop for ReplayState {
    fn drop(&mut self) {
        self.budget.release(self.held);
    }
}

/// Wakes every reader waiting for the source.
#[derive(Default)]
struct WakeAll(Mutex<Vec<Waker>>);

impl Wake for WakeAll {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Replay {
    fn new(source: Body, limit: usize, budget: Arc<Budget>) -> Replay {
        Replay {
            shared: Arc::new(Mutex::new(ReplayState {
                source,
                chunks: VecDeque::new(),
                base: 0,
                trailers: None,
                ended: false,
                error: None,
                held: 0,
                limit,
                budget,
                overflowed: false,
                readers: Vec::new(),
            })),
            wake: Arc::new(WakeAll::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayState> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn overflowed(&self) -> bool {
        self.lock().overflowed
    }

    /// A body reading the request from its start.
    fn reader(&self) -> Reader {
        let mut state = self.lock();
        let id = state.readers.len();
        state.readers.push(Some(0));
        Reader {
            replay: self.clone(),
            id,
            trailers_sent: false,
        }
    }
}

impl ReplayState {
    fn keep(&mut self, chunk: Bytes) {
        let len = chunk.len();
        if !self.overflowed && (self.held + len > self.limit || !self.budget.reserve(len)) {
            self.overflowed = true;
        }
        if !self.overflowed {
            self.held += len;
        }
        self.chunks.push_back(chunk);
    }

    /// Past overflow, drops the chunks every live reader has read.
    fn trim(&mut self) {
        if !self.overflowed {
            return;
        }
        let lowest = self
            .readers
            .iter()
            .flatten()
            .copied()
            .min()
            .unwrap_or(usize::MAX);
        while self.base < lowest && !self.chunks.is_empty() {
            let chunk = self.chunks.pop_front().expect("not empty");
            self.base += 1;
            // Only what was kept within the budget was reserved.
            let reserved = chunk.len().min(self.held);
            self.held -= reserved;
            self.budget.release(reserved);
        }
    }
}

struct Reader {
    replay: Replay,
    id: usize,
    trailers_sent: bool,
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut state = self.replay.lock();
        state.readers[self.id] = None;
        state.trim();
    }
}

impl http_body::Body for Reader {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        let mut state = this.replay.lock();
        loop {
            let position = state.readers[this.id].expect("a live reader");
            if position < state.base {
                // Trimmed: only possible for a reader started after overflow.
                return Poll::Ready(Some(Err(Status::internal("request no longer replayable"))));
            }
            if let Some(chunk) = state.chunks.get(position - state.base).cloned() {
                state.readers[this.id] = Some(position + 1);
                state.trim();
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            if let Some(error) = &state.error {
                return Poll::Ready(Some(Err(error.clone())));
            }
            if state.ended {
                if !this.trailers_sent {
                    this.trailers_sent = true;
                    if let Some(trailers) = state.trailers.clone() {
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                }
                return Poll::Ready(None);
            }
            // At the end of what was read: read on, for every reader.
            this.replay
                .wake
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(cx.waker().clone());
            let waker = Waker::from(this.replay.wake.clone());
            let mut shared_cx = Context::from_waker(&waker);
            match Pin::new(&mut state.source).poll_frame(&mut shared_cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => state.ended = true,
                Poll::Ready(Some(Err(error))) => state.error = Some(error),
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => state.keep(data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            state.trailers = Some(trailers);
                        }
                    }
                },
            }
            this.replay.wake.wake_by_ref();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn chunks(parts: &[&'static str]) -> Body {
        let frames: Vec<Result<Frame<Bytes>, Status>> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        Body::from_stream(Box::pin(futures_util::stream::iter(frames)))
    }

    async fn read(body: Reader) -> Result<Vec<u8>, Status> {
        Ok(body.collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn every_attempt_reads_the_whole_request() {
        let budget = Arc::new(Budget::new(1 << 20));
        let replay = Replay::new(chunks(&["ab", "cd", "ef"]), 1024, budget.clone());
        assert_eq!(read(replay.reader()).await.unwrap(), b"abcdef");
        assert_eq!(read(replay.reader()).await.unwrap(), b"abcdef");
        assert!(!replay.overflowed());
        assert_eq!(budget.held.load(Ordering::Relaxed), 6);
        drop(replay);
        assert_eq!(
            budget.held.load(Ordering::Relaxed),
            0,
            "released with the call"
        );
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_source() {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Status>>(4);
        let source = Body::from_stream(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)));
        let replay = Replay::new(source, 1024, Arc::new(Budget::new(1 << 20)));
        let (a, b) = (replay.reader(), replay.reader());
        let both = tokio::spawn(async move { (read(a).await.unwrap(), read(b).await.unwrap()) });
        for part in ["x", "y", "z"] {
            tx.send(Ok(Frame::data(Bytes::from_static(part.as_bytes()))))
                .await
                .unwrap();
            tokio::task::yield_now().await;
        }
        drop(tx);
        let (a, b) = tokio::time::timeout(Duration::from_secs(2), both)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((a.as_slice(), b.as_slice()), (&b"xyz"[..], &b"xyz"[..]));
    }

    #[tokio::test]
    async fn past_the_limit_the_request_is_no_longer_kept() {
        let budget = Arc::new(Budget::new(1 << 20));
        let replay = Replay::new(chunks(&["1234", "5678", "9"]), 6, budget.clone());
        assert_eq!(read(replay.reader()).await.unwrap(), b"123456789");
        assert!(replay.overflowed());
        assert_eq!(
            budget.held.load(Ordering::Relaxed),
            0,
            "read chunks dropped after overflow"
        );
        // The channel budget counts too.
        let tight = Arc::new(Budget::new(3));
        let replay = Replay::new(chunks(&["1234"]), 1024, tight);
        assert_eq!(read(replay.reader()).await.unwrap(), b"1234");
        assert!(replay.overflowed());
    }

    #[test]
    fn the_throttle_stops_at_half_its_tokens_and_refills() {
        let throttle = Throttle::new(RetryThrottling {
            max_tokens: 10.0,
            token_ratio: 0.5,
        });
        for _ in 0..4 {
            throttle.failure();
        }
        assert!(throttle.allows(), "6 tokens > 5");
        throttle.failure();
        assert!(!throttle.allows(), "5 tokens: no retries");
        throttle.success();
        assert!(throttle.allows(), "5.5 tokens");
        for _ in 0..100 {
            throttle.success();
        }
        assert_eq!(*throttle.tokens(), 10.0);
    }

    #[test]
    fn pushback_values() {
        let mut headers = HeaderMap::new();
        assert_eq!(pushback(&headers), Pushback::None);
        headers.insert(PUSHBACK, "250".parse().unwrap());
        assert_eq!(
            pushback(&headers),
            Pushback::Delay(Duration::from_millis(250))
        );
        for bad in ["-1", "soon", "1.5"] {
            headers.insert(PUSHBACK, bad.parse().unwrap());
            assert_eq!(pushback(&headers), Pushback::Stop, "{bad}");
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_the_growing_ceiling() {
        let policy = RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            multiplier: 2.0,
            retryable: vec![Code::Unavailable],
        };
        for (n, ceiling) in [(0, 100), (1, 200), (2, 300), (5, 300)] {
            let delays: Vec<Duration> = (0..500).map(|_| backoff(&policy, n)).collect();
            let max = delays.iter().max().unwrap().as_millis();
            assert!(
                max < ceiling && max > ceiling * 8 / 10,
                "n={n}: max {max}, ceiling {ceiling}"
            );
            assert!(delays.iter().min().unwrap().as_millis() < ceiling / 5);
        }
    }
}
