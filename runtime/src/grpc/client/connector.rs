//! How a [`Channel`](super::Channel) opens its connection: TCP to the
//! endpoint's host and port, a Unix-domain socket, or a user's connector
//! (any tower `Service<Uri>` yielding I/O).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use super::target::Address;
use crate::grpc::body::BoxError;

/// A connected byte stream, boxed.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

/// A connection's two ends, when it is TCP (channelz shows them).
pub(crate) type Ends = Option<(std::net::SocketAddr, std::net::SocketAddr)>;
type ConnectFuture = Pin<Box<dyn Future<Output = Result<BoxIo, BoxError>> + Send>>;

/// Where the bytes of a connection come from.
#[derive(Clone)]
pub(crate) enum Connector {
    /// A socket to the address itself: TCP or Unix-domain.
    Direct,
    /// The user's connector, given the endpoint's URI.
    Custom(Arc<dyn Fn(http::Uri) -> ConnectFuture + Send + Sync>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Direct => f.write_str("Direct"),
            Connector::Custom(_) => f.write_str("Custom"),
        }
    }
}

impl Connector {
    /// A connector from a tower service. Calls are serialised through a
    /// lock, so the service need not be `Clone` (it is called once per
    /// connection, not per request).
    pub(crate) fn custom<C>(connector: C) -> Connector
    where
        C: tower_service::Service<http::Uri> + Send + 'static,
        C::Response: AsyncRead + AsyncWrite + Send + Unpin + 'static,
        C::Error: Into<BoxError>,
        C::Future: Send + 'static,
    {
        let connector = Arc::new(tokio::sync::Mutex::new(connector));
        Connector::Custom(Arc::new(move |uri| {
            let connector = connector.clone();
            Box::pin(async move {
                let future = {
                    let mut connector = connector.lock().await;
                    std::future::poll_fn(|cx| connector.poll_ready(cx))
                        .await
                        .map_err(Into::into)?;
                    connector.call(uri)
                };
                let io = future.await.map_err(Into::into)?;
                Ok(Box::new(io) as BoxIo)
            })
        }))
    }

    /// Opens one connection to `address`, with its ends when it is TCP.
    pub(crate) async fn connect(
        &self,
        uri: &http::Uri,
        address: &Address,
    ) -> Result<(BoxIo, Ends), BoxError> {
        let Connector::Direct = self else {
            let Connector::Custom(connect) = self else {
                unreachable!()
            };
            return Ok((connect(uri.clone()).await?, None));
        };
        match address {
            Address::Tcp(addr) => tcp(tokio::net::TcpStream::connect(addr).await?),
            Address::Host(host, port) => {
                tcp(tokio::net::TcpStream::connect((host.as_str(), *port)).await?)
            }
            #[cfg(unix)]
            Address::Unix(path) => {
                Ok((Box::new(tokio::net::UnixStream::connect(path).await?), None))
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Address::UnixAbstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                // Connecting to a local socket does not wait on a network.
                let stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
                stream.set_nonblocking(true)?;
                Ok((Box::new(tokio::net::UnixStream::from_std(stream)?), None))
            }
            #[allow(unreachable_patterns)]
            other => Err(format!("{other}: not supported on this platform").into()),
        }
    }
}

fn tcp(stream: tokio::net::TcpStream) -> Result<(BoxIo, Ends), BoxError> {
    // gRPC sends small frames that must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let ends = stream.local_addr().ok().zip(stream.peer_addr().ok());
    Ok((Box::new(stream), ends))
}
