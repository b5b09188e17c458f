//! Channelz (`grpc.channelz.v1`): what a live process's servers, their
//! sockets, its channels and their subchannels are doing — call counters,
//! last-call times, connectivity states and addresses — served as the gRPC
//! service grpc's own tools read (grpcdebug, grpc-go's and grpc-java's
//! admin pages).
//!
//! Tracking starts with [`enable`] (which [`service`] calls): servers that
//! start serving and channels made after it register themselves, and leave
//! when they end. Before it, nothing is counted and nothing is wrapped.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use protocall::channelz::{GetServersRequest, channelz_client::ChannelzClient};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let uri = format!("http://{}", listener.local_addr()?);
//! let server = protocall::Server::builder().add_service(protocall::channelz::service());
//! tokio::spawn(server.serve_with_listener(listener, std::future::pending()));
//!
//! let client = ChannelzClient::connect(&uri).await?;
//! let servers = client.get_servers(GetServersRequest::default()).await?.into_inner();
//! assert!(!servers.server.is_empty());
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::SystemTime;

include!("services/grpc.channelz.v1.rs");

use crate::Code;
use crate::client::ConnectivityState;
use crate::enumeration::EnumValue;
use crate::grpc::Body;
use crate::grpc::frame::Prefixes;
use crate::grpc::{Request, Response, Status};
use crate::types::Timestamp;
use channel_connectivity_state::State;
pub use channelz_server::ChannelzServer;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Starts tracking: servers that start serving and channels made from now
/// on register with channelz.
pub fn enable() {
    ENABLED.store(true, Relaxed);
}

pub(crate) fn enabled() -> bool {
    ENABLED.load(Relaxed)
}

/// The channelz service over this process's registry (tracking enabled).
pub fn service() -> ChannelzServer<Registry> {
    enable();
    ChannelzServer::new(Registry)
}

/// The most entries one page answers when the request sets no
/// `max_results`.
const PAGE: usize = 100;

// ---------------------------------------------------------------- counters

/// Calls (or streams) started, succeeded, failed, and when the last began.
#[derive(Default, Debug)]
pub(crate) struct Calls {
    started: AtomicI64,
    succeeded: AtomicI64,
    failed: AtomicI64,
    /// Nanoseconds since the Unix epoch.
    last_started: AtomicI64,
}

impl Calls {
    pub(crate) fn started(&self) {
        self.started.fetch_add(1, Relaxed);
        self.last_started.store(now_nanos(), Relaxed);
    }

    pub(crate) fn finished(&self, code: Code) {
        let counter = if code == Code::Ok {
            &self.succeeded
        } else {
            &self.failed
        };
        counter.fetch_add(1, Relaxed);
    }

    fn last_started(&self) -> Option<Timestamp> {
        timestamp(self.last_started.load(Relaxed))
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

fn timestamp(nanos: i64) -> Option<Timestamp> {
    (nanos > 0).then(|| Timestamp {
        seconds: nanos / 1_000_000_000,
        nanos: (nanos % 1_000_000_000) as i32,
        ..Timestamp::default()
    })
}

// ---------------------------------------------------------------- entities

/// A serving server: its calls, listen sockets and accepted connections.
#[derive(Debug)]
pub(crate) struct ServerEntry {
    id: i64,
    pub(crate) calls: Calls,
    listen: Mutex<Vec<Registered<SocketEntry>>>,
}

/// A socket: a server's listener or accepted connection.
#[derive(Debug, Default)]
pub(crate) struct SocketEntry {
    id: i64,
    name: String,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    /// The server it belongs to (`GetServerSockets`), 0 for listeners.
    server: i64,
    pub(crate) streams: Calls,
    messages_sent: AtomicU64,
    messages_received: AtomicU64,
    last_message_sent: AtomicI64,
    last_message_received: AtomicI64,
}

impl SocketEntry {
    /// A stream's messages, counted when it ends.
    pub(crate) fn messages(&self, sent: u64, received: u64) {
        let now = now_nanos();
        if sent > 0 {
            self.messages_sent.fetch_add(sent, Relaxed);
            self.last_message_sent.store(now, Relaxed);
        }
        if received > 0 {
            self.messages_received.fetch_add(received, Relaxed);
            self.last_message_received.store(now, Relaxed);
        }
    }
}

/// A channel: its target, calls, state and subchannels.
pub(crate) struct ChannelEntry {
    id: i64,
    target: String,
    pub(crate) calls: Calls,
    state: Box<dyn Fn() -> ConnectivityState + Send + Sync>,
    subchannels: Mutex<BTreeMap<i64, Weak<SubchannelEntry>>>,
}

impl std::fmt::Debug for ChannelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelEntry")
            .field("id", &self.id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// A subchannel: the address it connects to, its calls, state and
/// connections.
pub(crate) struct SubchannelEntry {
    id: i64,
    target: String,
    pub(crate) calls: Calls,
    state: Box<dyn Fn() -> ConnectivityState + Send + Sync>,
    sockets: Mutex<BTreeMap<i64, Weak<SocketEntry>>>,
}

impl std::fmt::Debug for SubchannelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubchannelEntry")
            .field("id", &self.id)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Where a server call came: its server and connection (in the request's
/// extensions while channelz is on).
#[derive(Clone, Debug)]
pub(crate) struct CallSite {
    pub(crate) server: Arc<ServerEntry>,
    pub(crate) socket: Arc<Registered<SocketEntry>>,
}

/// An entry held by its owner, in the registry until the owner drops it.
#[derive(Debug)]
pub(crate) struct Registered<T: Entity>(Arc<T>);

impl<T: Entity> std::ops::Deref for Registered<T> {
    type Target = Arc<T>;
    fn deref(&self) -> &Arc<T> {
        &self.0
    }
}

impl<T: Entity> Drop for Registered<T> {
    fn drop(&mut self) {
        T::table(&TABLES)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0.id());
    }
}

/// Something with an id in one of the registry's tables.
pub(crate) trait Entity: Send + Sync + Sized + 'static {
    fn id(&self) -> i64;
    fn table(tables: &Tables) -> &Table<Self>;
}

type Table<T> = Mutex<BTreeMap<i64, Weak<T>>>;

/// Every registered entity by kind, by id (ids are shared across kinds,
/// from 1, as grpc-go's).
#[derive(Default)]
pub(crate) struct Tables {
    next_id: AtomicI64,
    servers: Table<ServerEntry>,
    sockets: Table<SocketEntry>,
    channels: Table<ChannelEntry>,
    subchannels: Table<SubchannelEntry>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(Tables::default);

macro_rules! entity {
    ($type:ty, $field:ident) => {
        impl Entity for $type {
            fn id(&self) -> i64 {
                self.id
            }
            fn table(tables: &Tables) -> &Table<Self> {
                &tables.$field
            }
        }
    };
}
entity!(ServerEntry, servers);
entity!(SocketEntry, sockets);
entity!(ChannelEntry, channels);
entity!(SubchannelEntry, subchannels);

fn next_id() -> i64 {
    TABLES.next_id.fetch_add(1, Relaxed) + 1
}

fn register<T: Entity>(entry: T) -> Registered<T> {
    let entry = Arc::new(entry);
    T::table(&TABLES)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(entry.id(), Arc::downgrade(&entry));
    Registered(entry)
}

/// Registers a server that listens on `listening` (when tracking is on).
pub(crate) fn server(listening: &[SocketAddr]) -> Option<Registered<ServerEntry>> {
    if !enabled() {
        return None;
    }
    let id = next_id();
    let listen = listening
        .iter()
        .map(|addr| {
            register(SocketEntry {
                id: next_id(),
                name: format!("listener {addr}"),
                local: Some(*addr),
                ..SocketEntry::default()
            })
        })
        .collect();
    Some(register(ServerEntry {
        id,
        calls: Calls::default(),
        listen: Mutex::new(listen),
    }))
}

/// Registers a connection `server` accepted.
pub(crate) fn accepted(
    server: &ServerEntry,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
) -> Registered<SocketEntry> {
    let name = match remote {
        Some(remote) => format!("connection from {remote}"),
        None => "connection".to_owned(),
    };
    register(SocketEntry {
        id: next_id(),
        name,
        local,
        remote,
        server: server.id,
        ..SocketEntry::default()
    })
}

/// Registers a channel to `target` (when tracking is on).
pub(crate) fn channel(
    target: &str,
    state: impl Fn() -> ConnectivityState + Send + Sync + 'static,
) -> Option<Registered<ChannelEntry>> {
    enabled().then(|| {
        register(ChannelEntry {
            id: next_id(),
            target: target.to_owned(),
            calls: Calls::default(),
            state: Box::new(state),
            subchannels: Mutex::default(),
        })
    })
}

/// Registers a subchannel of `channel` connecting to `target`.
pub(crate) fn subchannel(
    channel: &ChannelEntry,
    target: String,
    state: impl Fn() -> ConnectivityState + Send + Sync + 'static,
) -> Registered<SubchannelEntry> {
    let entry = register(SubchannelEntry {
        id: next_id(),
        target,
        calls: Calls::default(),
        state: Box::new(state),
        sockets: Mutex::default(),
    });
    channel
        .subchannels
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(entry.id, Arc::downgrade(&entry));
    entry
}

/// Registers a connection `subchannel` made from `local` to `remote`.
pub(crate) fn connection(
    subchannel: &SubchannelEntry,
    local: SocketAddr,
    remote: SocketAddr,
) -> Registered<SocketEntry> {
    let entry = register(SocketEntry {
        id: next_id(),
        name: format!("connection to {remote}"),
        local: Some(local),
        remote: Some(remote),
        ..SocketEntry::default()
    });
    subchannel
        .sockets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(entry.id, Arc::downgrade(&entry));
    entry
}

/// `body`, its messages counted as sent on `socket` as they pass.
pub(crate) fn count_sent(socket: Arc<Registered<SocketEntry>>, body: Body) -> Body {
    Body::new(Counted {
        body,
        socket,
        prefixes: Prefixes::default(),
    })
}

pin_project_lite::pin_project! {
    struct Counted {
        #[pin]
        body: Body,
        socket: Arc<Registered<SocketEntry>>,
        prefixes: Prefixes,
    }
}

impl http_body::Body for Counted {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        let this = self.project();
        let frame = std::task::ready!(this.body.poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|f| f.as_ref().map(|f| f.data_ref())) {
            let mut messages = 0;
            let _ = this
                .prefixes
                .scan::<()>(data.map_or(&[][..], |d| &d[..]), |_, _| {
                    messages += 1;
                    Ok(())
                });
            this.socket.messages(messages, 0);
        }
        std::task::Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The live entries of a table from `start` on, at most `max` (0: a
/// default page), and whether that was the last of them.
fn page<T: Entity>(start: i64, max: i64) -> (Vec<Arc<T>>, bool) {
    let max = if max <= 0 { PAGE } else { max as usize };
    let table = T::table(&TABLES).lock().unwrap_or_else(|e| e.into_inner());
    let mut live = table
        .range(start..)
        .filter_map(|(_, entry)| entry.upgrade());
    let found: Vec<_> = live.by_ref().take(max).collect();
    let end = live.next().is_none();
    (found, end)
}

fn get<T: Entity>(id: i64, what: &str) -> Result<Arc<T>, Status> {
    T::table(&TABLES)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&id)
        .and_then(Weak::upgrade)
        .ok_or_else(|| Status::not_found(format!("no {what} with id {id}")))
}

// ------------------------------------------------------------ as messages

fn state(state: ConnectivityState) -> Option<ChannelConnectivityState> {
    let state = match state {
        ConnectivityState::Idle => State::Idle,
        ConnectivityState::Connecting => State::Connecting,
        ConnectivityState::Ready => State::Ready,
        ConnectivityState::TransientFailure => State::TransientFailure,
        ConnectivityState::Shutdown => State::Shutdown,
    };
    Some(ChannelConnectivityState {
        state: EnumValue::Known(state),
        ..Default::default()
    })
}

fn address(addr: Option<SocketAddr>) -> Option<Address> {
    let addr = addr?;
    let ip_address = match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.octets().to_vec(),
        std::net::IpAddr::V6(ip) => ip.octets().to_vec(),
    };
    Some(Address {
        address: Some(address::Address::TcpipAddress(address::TcpIpAddress {
            ip_address,
            port: i32::from(addr.port()),
            ..Default::default()
        })),
        ..Default::default()
    })
}

fn server_message(entry: &ServerEntry) -> Server {
    let listen = entry.listen.lock().unwrap_or_else(|e| e.into_inner());
    Server {
        r#ref: Some(ServerRef {
            server_id: entry.id,
            ..Default::default()
        }),
        data: Some(ServerData {
            calls_started: entry.calls.started.load(Relaxed),
            calls_succeeded: entry.calls.succeeded.load(Relaxed),
            calls_failed: entry.calls.failed.load(Relaxed),
            last_call_started_timestamp: entry.calls.last_started(),
            ..Default::default()
        }),
        listen_socket: listen.iter().map(|socket| socket_ref(socket)).collect(),
        ..Default::default()
    }
}

fn socket_ref(socket: &SocketEntry) -> SocketRef {
    SocketRef {
        socket_id: socket.id,
        name: socket.name.clone(),
        ..Default::default()
    }
}

fn channel_data(target: &str, now: ConnectivityState, calls: &Calls) -> ChannelData {
    ChannelData {
        state: state(now),
        target: target.to_owned(),
        calls_started: calls.started.load(Relaxed),
        calls_succeeded: calls.succeeded.load(Relaxed),
        calls_failed: calls.failed.load(Relaxed),
        last_call_started_timestamp: calls.last_started(),
        ..Default::default()
    }
}

fn channel_message(entry: &ChannelEntry) -> Channel {
    let subchannels = entry.subchannels.lock().unwrap_or_else(|e| e.into_inner());
    Channel {
        r#ref: Some(ChannelRef {
            channel_id: entry.id,
            name: entry.target.clone(),
            ..Default::default()
        }),
        data: Some(channel_data(&entry.target, (entry.state)(), &entry.calls)),
        subchannel_ref: subchannels
            .values()
            .filter_map(Weak::upgrade)
            .map(|s| SubchannelRef {
                subchannel_id: s.id,
                name: s.target.clone(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

fn socket_message(entry: &SocketEntry) -> Socket {
    let streams = &entry.streams;
    Socket {
        r#ref: Some(socket_ref(entry)),
        data: Some(SocketData {
            streams_started: streams.started.load(Relaxed),
            streams_succeeded: streams.succeeded.load(Relaxed),
            streams_failed: streams.failed.load(Relaxed),
            messages_sent: entry.messages_sent.load(Relaxed) as i64,
            messages_received: entry.messages_received.load(Relaxed) as i64,
            last_remote_stream_created_timestamp: streams.last_started(),
            last_message_sent_timestamp: timestamp(entry.last_message_sent.load(Relaxed)),
            last_message_received_timestamp: timestamp(entry.last_message_received.load(Relaxed)),
            ..Default::default()
        }),
        local: address(entry.local),
        remote: address(entry.remote),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- service

/// The process's channelz registry, served by [`service`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Registry;

impl channelz_server::Channelz for Registry {
    async fn get_top_channels(
        &self,
        request: Request<GetTopChannelsRequest>,
    ) -> Result<Response<GetTopChannelsResponse>, Status> {
        let request = request.into_inner();
        let (channels, end) = page::<ChannelEntry>(request.start_channel_id, request.max_results);
        Ok(Response::new(GetTopChannelsResponse {
            channel: channels.iter().map(|c| channel_message(c)).collect(),
            end,
            ..Default::default()
        }))
    }

    async fn get_servers(
        &self,
        request: Request<GetServersRequest>,
    ) -> Result<Response<GetServersResponse>, Status> {
        let request = request.into_inner();
        let (servers, end) = page::<ServerEntry>(request.start_server_id, request.max_results);
        Ok(Response::new(GetServersResponse {
            server: servers.iter().map(|s| server_message(s)).collect(),
            end,
            ..Default::default()
        }))
    }

    async fn get_server(
        &self,
        request: Request<GetServerRequest>,
    ) -> Result<Response<GetServerResponse>, Status> {
        let server = get::<ServerEntry>(request.get_ref().server_id, "server")?;
        Ok(Response::new(GetServerResponse {
            server: Some(server_message(&server)),
            ..Default::default()
        }))
    }

    async fn get_server_sockets(
        &self,
        request: Request<GetServerSocketsRequest>,
    ) -> Result<Response<GetServerSocketsResponse>, Status> {
        let request = request.into_inner();
        get::<ServerEntry>(request.server_id, "server")?;
        let max = if request.max_results <= 0 {
            PAGE
        } else {
            request.max_results as usize
        };
        let table = SocketEntry::table(&TABLES)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut sockets = table
            .range(request.start_socket_id..)
            .filter_map(|(_, s)| s.upgrade())
            .filter(|s| s.server == request.server_id);
        let socket_ref = sockets.by_ref().take(max).map(|s| socket_ref(&s)).collect();
        let end = sockets.next().is_none();
        Ok(Response::new(GetServerSocketsResponse {
            socket_ref,
            end,
            ..Default::default()
        }))
    }

    async fn get_channel(
        &self,
        request: Request<GetChannelRequest>,
    ) -> Result<Response<GetChannelResponse>, Status> {
        let channel = get::<ChannelEntry>(request.get_ref().channel_id, "channel")?;
        Ok(Response::new(GetChannelResponse {
            channel: Some(channel_message(&channel)),
            ..Default::default()
        }))
    }

    async fn get_subchannel(
        &self,
        request: Request<GetSubchannelRequest>,
    ) -> Result<Response<GetSubchannelResponse>, Status> {
        let subchannel = get::<SubchannelEntry>(request.get_ref().subchannel_id, "subchannel")?;
        Ok(Response::new(GetSubchannelResponse {
            subchannel: Some(Subchannel {
                r#ref: Some(SubchannelRef {
                    subchannel_id: subchannel.id,
                    name: subchannel.target.clone(),
                    ..Default::default()
                }),
                data: Some(channel_data(
                    &subchannel.target,
                    (subchannel.state)(),
                    &subchannel.calls,
                )),
                socket_ref: subchannel
                    .sockets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values()
                    .filter_map(Weak::upgrade)
                    .map(|s| socket_ref(&s))
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn get_socket(
        &self,
        request: Request<GetSocketRequest>,
    ) -> Result<Response<GetSocketResponse>, Status> {
        let socket = get::<SocketEntry>(request.get_ref().socket_id, "socket")?;
        Ok(Response::new(GetSocketResponse {
            socket: Some(socket_message(&socket)),
            ..Default::default()
        }))
    }
}
