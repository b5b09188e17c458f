//! A subchannel: the connection a channel keeps to one address (or, for
//! `pick_first`, to the first of a list that answers), its connectivity
//! state, and its reconnection with backoff.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use hyper::body::Incoming;
use hyper::client::conn::http1;

use super::backoff::Schedule;
use super::balancer::ConnectivityState;
use super::channel::Endpoint;
use super::http2;
use super::target::Address;
use crate::grpc::body::Body;
use crate::grpc::errors;
use crate::grpc::status::Status;

/// What a channel and its subchannels tell each other.
pub(crate) struct Events {
    /// Bumped whenever a subchannel's state or the set of subchannels
    /// changes: waiting picks look again.
    pub(crate) changed: tokio::sync::watch::Sender<u64>,
    /// A connection was lost or could not be made: resolve again.
    pub(crate) reresolve: tokio::sync::Notify,
    /// The channel is gone: background tasks end.
    pub(crate) closed: tokio::sync::watch::Sender<bool>,
    /// How many times a server said `too_many_pings`: each doubles the
    /// keepalive interval of new connections (gRFC A8).
    pub(crate) keepalive_doublings: AtomicU32,
}

impl Events {
    pub(crate) fn new() -> Events {
        Events {
            changed: tokio::sync::watch::Sender::new(0),
            reresolve: tokio::sync::Notify::new(),
            closed: tokio::sync::watch::Sender::new(false),
            keepalive_doublings: AtomicU32::new(0),
        }
    }

    /// Completes when the channel is gone.
    pub(crate) async fn closed(receiver: &mut tokio::sync::watch::Receiver<bool>) {
        // The borrow `wait_for` returns is dropped here, not held by callers.
        let _ = receiver.wait_for(|closed| *closed).await.map(|_| ());
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }
}

pub(crate) struct Subchannel {
    endpoint: Arc<Endpoint>,
    events: Arc<Events>,
    /// Addresses tried in order at each connection attempt.
    addresses: Mutex<Vec<Address>>,
    /// The first of them when the subchannel was made: the address of a
    /// one-address subchannel, which never changes.
    first: Address,
    state: Mutex<State>,
    /// Reconnect at once when the connection ends (every policy but
    /// `pick_first`, which waits for the next call).
    eager: AtomicBool,
    /// Calls in flight on the connection (shared with its keepalive).
    in_flight: Arc<AtomicUsize>,
    /// `healthCheckConfig.serviceName`: each connection watches this
    /// service's health and counts as ready only while it is `SERVING`.
    health_service: Mutex<Option<String>>,
    /// This subchannel in channelz, when its channel is.
    channelz: std::sync::OnceLock<crate::channelz::Registered<crate::channelz::SubchannelEntry>>,
}

/// What the health watch of the current connection says.
#[derive(Clone, Debug, PartialEq)]
enum Health {
    /// No answer yet.
    Unknown,
    Serving,
    /// Why not, for the calls that fail meanwhile.
    NotServing(String),
}

struct State {
    connectivity: ConnectivityState,
    /// The HTTP/2 connection, when ready.
    sender: Option<http2::Sender>,
    /// Which connection `sender` is, so a late notice of an older one's
    /// end changes nothing.
    generation: u64,
    /// The address the last connection reached.
    connected: Option<Address>,
    /// HTTP/1.1 connections between calls.
    idle: Vec<http1::SendRequest<Body>>,
    last_error: Option<Status>,
    /// A connecting task runs (trying, or waiting out a backoff).
    connecting: bool,
    /// The health of the connection, when health checking is on.
    health: Option<Health>,
    /// The task watching it, stopped with the connection.
    health_watch: Option<tokio::task::AbortHandle>,
    /// The HTTP/2 connection in channelz, when the subchannel is.
    socket: Option<Arc<crate::channelz::Registered<crate::channelz::SocketEntry>>>,
}

impl State {
    /// Forgets the HTTP/2 connection (and stops its health watch).
    fn drop_connection(&mut self) {
        self.sender = None;
        self.socket = None;
        if let Some(watch) = self.health_watch.take() {
            watch.abort();
        }
    }
}

impl Drop for Subchannel {
    fn drop(&mut self) {
        self.lock().drop_connection();
    }
}

/// The most idle HTTP/1.1 connections a subchannel keeps.
const MAX_IDLE_HTTP1: usize = 32;

/// A request that did not leave: send it elsewhere.
pub(crate) enum SendError {
    Unsent(Box<http::Request<Body>>, Status),
    Failed(Status),
}

impl Subchannel {
    pub(crate) fn new(
        endpoint: Arc<Endpoint>,
        events: Arc<Events>,
        addresses: Vec<Address>,
        eager: bool,
    ) -> Arc<Subchannel> {
        Arc::new(Subchannel {
            endpoint,
            events,
            first: addresses[0].clone(),
            addresses: Mutex::new(addresses),
            state: Mutex::new(State {
                connectivity: ConnectivityState::Idle,
                sender: None,
                generation: 0,
                connected: None,
                idle: Vec::new(),
                last_error: None,
                connecting: false,
                health: None,
                health_watch: None,
                socket: None,
            }),
            eager: AtomicBool::new(eager),
            in_flight: Arc::new(AtomicUsize::new(0)),
            health_service: Mutex::new(None),
            channelz: std::sync::OnceLock::new(),
        })
    }

    /// Registers the subchannel with channelz under `channel`.
    pub(crate) fn track(self: &Arc<Self>, channel: &crate::channelz::ChannelEntry) {
        let weak = Arc::downgrade(self);
        let entry = crate::channelz::subchannel(channel, self.first.to_string(), move || {
            weak.upgrade()
                .map_or(ConnectivityState::Shutdown, |s| s.connectivity())
        });
        let _ = self.channelz.set(entry);
    }

    /// The current connection's channelz entry, when tracked.
    pub(crate) fn socket(
        &self,
    ) -> Option<Arc<crate::channelz::Registered<crate::channelz::SocketEntry>>> {
        self.lock().socket.clone()
    }

    /// The subchannel's channelz entry, when tracked.
    pub(crate) fn channelz(&self) -> Option<&Arc<crate::channelz::SubchannelEntry>> {
        self.channelz.get().map(|entry| &**entry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn addresses(&self) -> Vec<Address> {
        self.addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The address the subchannel was made for (its only one, unless it
    /// is `pick_first`'s).
    pub(crate) fn first_address(&self) -> &Address {
        &self.first
    }

    /// The address connected to (or the first one to try).
    pub(crate) fn address(&self) -> Address {
        let connected = self.lock().connected.clone();
        connected.unwrap_or_else(|| self.addresses()[0].clone())
    }

    /// Replaces the address list (`pick_first` after a new resolution); a
    /// connection to an address no longer listed is dropped.
    pub(crate) fn set_addresses(&self, addresses: Vec<Address>) {
        let mut state = self.lock();
        if let Some(connected) = &state.connected
            && !addresses.contains(connected)
        {
            state.drop_connection();
            state.idle.clear();
            state.connected = None;
            if state.connectivity == ConnectivityState::Ready {
                state.connectivity = ConnectivityState::Idle;
            }
        }
        drop(state);
        *self.addresses.lock().unwrap_or_else(|e| e.into_inner()) = addresses;
        self.events.bump();
    }

    pub(crate) fn set_eager(&self, eager: bool) {
        self.eager.store(eager, Ordering::Relaxed);
    }

    /// Watches `service`'s health on each connection from now on (`None`:
    /// no health checking).
    pub(crate) fn set_health_service(&self, service: Option<String>) {
        *self
            .health_service
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = service;
    }

    /// The state calls see: a connection whose health watch has not said
    /// `SERVING` is not ready.
    pub(crate) fn connectivity(&self) -> ConnectivityState {
        let state = self.lock();
        match (state.connectivity, &state.health) {
            (ConnectivityState::Ready, Some(Health::Unknown)) => ConnectivityState::Connecting,
            (ConnectivityState::Ready, Some(Health::NotServing(_))) => {
                ConnectivityState::TransientFailure
            }
            (connectivity, _) => connectivity,
        }
    }

    pub(crate) fn last_error(&self) -> Option<Status> {
        let state = self.lock();
        match &state.health {
            Some(Health::NotServing(why)) => Some(Status::unavailable(why.clone())),
            _ => state.last_error.clone(),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Drops the connection; calls on it finish, no new ones start.
    pub(crate) fn shut_down(&self) {
        let mut state = self.lock();
        state.connectivity = ConnectivityState::Shutdown;
        state.drop_connection();
        state.idle.clear();
    }

    /// Starts connecting unless connected, connecting or shut down.
    pub(crate) fn connect(self: &Arc<Self>) {
        {
            let mut state = self.lock();
            if state.connecting
                || matches!(
                    state.connectivity,
                    ConnectivityState::Ready | ConnectivityState::Shutdown
                )
            {
                return;
            }
            state.connecting = true;
        }
        let subchannel = Arc::downgrade(self);
        let backoff = self.endpoint.backoff;
        tokio::spawn(async move {
            let mut schedule = Schedule::start(backoff);
            loop {
                let Some(this) = subchannel.upgrade() else {
                    return;
                };
                if !this.set_connectivity(ConnectivityState::Connecting, None) {
                    return;
                }
                let attempt = tokio::time::timeout_at(schedule.attempt_deadline(), this.attempt());
                let failure = match attempt.await {
                    Ok(Ok(())) => return,
                    Ok(Err(status)) => status,
                    Err(_) => {
                        Status::unavailable(format!("timed out connecting to {}", this.address()))
                    }
                };
                tracing::debug!(address = %this.address(), error = %failure, "connection attempt failed");
                if !this.set_connectivity(ConnectivityState::TransientFailure, Some(failure)) {
                    return;
                }
                this.events.reresolve.notify_one();
                let events = this.events.clone();
                drop(this);
                let mut closed = events.closed.subscribe();
                tokio::select! {
                    _ = tokio::time::sleep_until(schedule.next_attempt()) => {}
                    _ = Events::closed(&mut closed) => return,
                }
            }
        });
    }

    /// Sets the state (unless shut down, which ends the connecting task:
    /// `false`).
    fn set_connectivity(&self, connectivity: ConnectivityState, error: Option<Status>) -> bool {
        let mut state = self.lock();
        if state.connectivity == ConnectivityState::Shutdown {
            state.connecting = false;
            return false;
        }
        state.connectivity = connectivity;
        if error.is_some() {
            state.last_error = error;
        }
        drop(state);
        self.events.bump();
        true
    }

    /// One connection attempt: each address in order, the first that
    /// answers is kept.
    async fn attempt(self: &Arc<Self>) -> Result<(), Status> {
        let mut last = None;
        for address in self.addresses() {
            match self.open(&address).await {
                Ok(()) => return Ok(()),
                Err(status) => last = Some(status),
            }
        }
        Err(last.unwrap_or_else(|| Status::unavailable("no address to connect to")))
    }

    async fn open(self: &Arc<Self>, address: &Address) -> Result<(), Status> {
        if self.endpoint.http1 {
            let sender = self.endpoint.http1_handshake(address).await?;
            let mut state = self.lock();
            state.connected = Some(address.clone());
            state.idle.push(sender);
            state.connectivity = ConnectivityState::Ready;
            state.connecting = false;
            drop(state);
            self.events.bump();
            return Ok(());
        }
        let doublings = self
            .events
            .keepalive_doublings
            .load(Ordering::Relaxed)
            .min(16);
        let keepalive = self
            .endpoint
            .keepalive_interval()
            .map(|i| i * (1 << doublings));
        let (sender, connection, ends) = self
            .endpoint
            .http2_handshake(address, keepalive, self.in_flight.clone())
            .await?;
        let socket = match (self.channelz(), ends) {
            (Some(entry), Some((local, remote))) => {
                Some(Arc::new(crate::channelz::connection(entry, local, remote)))
            }
            _ => None,
        };
        let health_service = self
            .health_service
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let generation = {
            let mut state = self.lock();
            state.generation += 1;
            state.drop_connection();
            state.sender = Some(sender.clone());
            state.socket = socket;
            state.connected = Some(address.clone());
            state.connectivity = ConnectivityState::Ready;
            state.connecting = false;
            state.health = health_service.as_ref().map(|_| Health::Unknown);
            state.generation
        };
        self.events.bump();
        if let Some(service) = health_service {
            let watch = tokio::spawn(watch_health(
                Arc::downgrade(self),
                generation,
                sender,
                service,
            ));
            let mut state = self.lock();
            if state.generation == generation {
                state.health_watch = Some(watch.abort_handle());
            } else {
                watch.abort();
            }
        }
        let subchannel = Arc::downgrade(self);
        tokio::spawn(async move {
            let ended = connection.await;
            let Some(subchannel) = subchannel.upgrade() else {
                return;
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "client connection ended with an error");
                if error.too_many_pings() {
                    let doublings = subchannel
                        .events
                        .keepalive_doublings
                        .fetch_add(1, Ordering::Relaxed)
                        + 1;
                    tracing::warn!(
                        address = %subchannel.address(),
                        doublings,
                        "server sent GOAWAY too_many_pings: doubling the keepalive interval"
                    );
                }
            }
            subchannel.connection_ended(generation);
        });
        Ok(())
    }

    /// The HTTP/2 connection ended (closed, GOAWAY and drained, or lost):
    /// idle until a call needs it, or reconnecting at once if eager.
    fn connection_ended(self: &Arc<Self>, generation: u64) {
        {
            let mut state = self.lock();
            if state.generation != generation || state.connectivity == ConnectivityState::Shutdown {
                return;
            }
            state.drop_connection();
            state.connectivity = ConnectivityState::Idle;
        }
        self.events.bump();
        self.events.reresolve.notify_one();
        if self.eager.load(Ordering::Relaxed) {
            self.connect();
        }
    }

    /// The connection died under a call: forget it (its task reports the
    /// end too, but a call must not wait for that).
    fn connection_lost(self: &Arc<Self>) {
        let generation = self.lock().generation;
        self.connection_ended(generation);
    }

    fn ready_sender(&self) -> Option<http2::Sender> {
        // The connection's task forgets the sender when it ends.
        self.lock().sender.clone()
    }

    /// Sends `request` on this subchannel's connection.
    pub(crate) async fn send(
        self: &Arc<Self>,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, SendError> {
        if self.endpoint.http1 {
            return self.send_http1(request).await;
        }
        let Some(sender) = self.ready_sender() else {
            self.connection_lost();
            return Err(SendError::Unsent(
                Box::new(request),
                Status::unavailable("connection closed"),
            ));
        };
        let guard: Box<dyn Send + Sync> = Box::new(InFlight::start(self));
        match sender.send(request, Some(guard)).await {
            Ok(response) => Ok(response),
            Err(error) => {
                if matches!(error, SendError::Unsent(..)) {
                    self.connection_lost();
                }
                Err(error)
            }
        }
    }

    /// One call on an idle HTTP/1.1 connection or a new one; the connection
    /// goes back to the pool once the response body has been read.
    async fn send_http1(
        self: &Arc<Self>,
        request: http::Request<Body>,
    ) -> Result<http::Response<Body>, SendError> {
        let mut sender = match self.idle_http1() {
            Some(sender) => sender,
            None => match self.endpoint.http1_handshake(&self.address()).await {
                Ok(sender) => sender,
                Err(status) => {
                    // Unreachable now: fail over, and reconnect with backoff.
                    self.set_connectivity(
                        ConnectivityState::TransientFailure,
                        Some(status.clone()),
                    );
                    self.connect();
                    return Err(SendError::Unsent(Box::new(request), status));
                }
            },
        };
        if let Err(error) = sender.ready().await {
            return Err(SendError::Unsent(
                Box::new(request),
                errors::from_hyper(error),
            ));
        }
        let guard = InFlight::start(self);
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut error) => {
                return Err(match error.take_message() {
                    Some(request) => {
                        SendError::Unsent(Box::new(request), errors::from_hyper(error.into_error()))
                    }
                    None => SendError::Failed(errors::from_hyper(error.into_error())),
                });
            }
        };
        let pool = Arc::downgrade(self);
        Ok(response.map(|body| {
            Body::new(Pooled {
                body,
                sender: Some(sender),
                pool,
                _call: guard,
            })
        }))
    }

    /// The idle HTTP/1.1 connection used last; closed ones are dropped. It
    /// may not be ready yet — hyper finishes the previous exchange after
    /// its body is read — so the caller waits for `ready()` rather than
    /// open a second connection.
    fn idle_http1(&self) -> Option<http1::SendRequest<Body>> {
        let mut state = self.lock();
        state.idle.retain(|sender| !sender.is_closed());
        state.idle.pop()
    }

    fn release(&self, sender: http1::SendRequest<Body>) {
        let mut state = self.lock();
        if state.idle.len() < MAX_IDLE_HTTP1
            && !sender.is_closed()
            && state.connectivity != ConnectivityState::Shutdown
        {
            state.idle.push(sender);
        }
    }
}

/// Watches the health of `service` on one connection (grpc's
/// `doc/health-checking.md`, gRFC A17) and sets the subchannel's health
/// from each answer. `UNIMPLEMENTED` means the server has no health
/// service: the connection counts as healthy. A watch that fails is
/// started again after a backoff, the connection unhealthy meanwhile.
async fn watch_health(
    subchannel: Weak<Subchannel>,
    generation: u64,
    sender: http2::Sender,
    service: String,
) {
    use crate::health::{HealthCheckRequest, HealthCheckResponse, ServingStatus};
    let Some(this) = subchannel.upgrade() else {
        return;
    };
    let grpc = super::Grpc::with_origin(Direct(sender), this.endpoint.uri().clone());
    let backoff = this.endpoint.backoff;
    drop(this);
    let mut schedule = Schedule::start(backoff);
    // Sets the health; `false` once the connection is no longer current.
    let set = |health: Health| {
        let Some(this) = subchannel.upgrade() else {
            return false;
        };
        let mut state = this.lock();
        if state.generation != generation || state.connectivity != ConnectivityState::Ready {
            return false;
        }
        let changed = state.health.as_ref() != Some(&health);
        state.health = Some(health);
        drop(state);
        if changed {
            this.events.bump();
        }
        true
    };
    loop {
        let request = crate::Request::new(HealthCheckRequest {
            service: service.clone(),
            ..Default::default()
        });
        let path = "/grpc.health.v1.Health/Watch";
        let failure = match grpc
            .server_streaming::<_, HealthCheckResponse>(request, path)
            .await
        {
            Err(status) if status.code() == crate::Code::Unimplemented => {
                tracing::warn!(%service, "server has no health service: health checking is off for this connection");
                set(Health::Serving);
                return;
            }
            Err(status) => status,
            Ok(response) => {
                let mut updates = response.into_inner();
                loop {
                    match updates.message().await {
                        Ok(Some(update)) => {
                            let health = if update.status == ServingStatus::Serving {
                                Health::Serving
                            } else {
                                Health::NotServing(format!(
                                    "health check of {service:?}: {:?}",
                                    update.status
                                ))
                            };
                            if !set(health) {
                                return;
                            }
                            schedule = Schedule::start(backoff);
                        }
                        Ok(None) => break Status::unavailable("health watch ended"),
                        Err(status) => break status,
                    }
                }
            }
        };
        let why = format!("health check of {service:?} failed: {}", failure.message());
        if !set(Health::NotServing(why)) {
            return;
        }
        tokio::time::sleep_until(schedule.next_attempt()).await;
    }
}

/// A transport of one connection, for the health watch that must run on
/// it (and no other).
#[derive(Clone)]
struct Direct(http2::Sender);

impl tower_service::Service<http::Request<Body>> for Direct {
    type Response = http::Response<Body>;
    type Error = Status;
    type Future =
        Pin<Box<dyn std::future::Future<Output = Result<http::Response<Body>, Status>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let sender = self.0.clone();
        Box::pin(async move {
            sender
                .send(request, None)
                .await
                .map_err(|error| match error {
                    SendError::Unsent(_, status) | SendError::Failed(status) => status,
                })
        })
    }
}

/// Counts a call on its subchannel until its response body is done.
struct InFlight(Arc<Subchannel>);

impl InFlight {
    fn start(subchannel: &Arc<Subchannel>) -> InFlight {
        subchannel.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(subchannel.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An HTTP/1.1 response body that returns its connection to the pool when
/// it has been read to the end (dropped early, the connection closes).
struct Pooled {
    body: Incoming,
    sender: Option<http1::SendRequest<Body>>,
    pool: Weak<Subchannel>,
    /// Keeps the call counted in flight.
    _call: InFlight,
}

impl http_body::Body for Pooled {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, hyper::Error>>> {
        let frame = std::task::ready!(Pin::new(&mut self.body).poll_frame(cx));
        if (frame.is_none() || self.body.is_end_stream())
            && let (Some(sender), Some(pool)) = (self.sender.take(), self.pool.upgrade())
        {
            pool.release(sender);
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
