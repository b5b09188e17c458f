//! How a [`Channel`](super::Channel) opens its connection: TCP to the
//! endpoint's host and port, a Unix-domain socket, or a user's connector
//! (any tower `Service<Uri>` yielding I/O).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::grpc::body::BoxError;

/// A connected byte stream, boxed.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;
type ConnectFuture = Pin<Box<dyn Future<Output = Result<BoxIo, BoxError>> + Send>>;

/// Where the bytes of a connection come from.
#[derive(Clone)]
pub(crate) enum Connector {
    /// TCP to the endpoint's host and port.
    Tcp,
    /// A Unix-domain socket at this path.
    #[cfg(unix)]
    Unix(std::path::PathBuf),
    /// The user's connector.
    Custom(Arc<dyn Fn(http::Uri) -> ConnectFuture + Send + Sync>),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Tcp => f.write_str("Tcp"),
            #[cfg(unix)]
            Connector::Unix(path) => f.debug_tuple("Unix").field(path).finish(),
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

    /// Opens one connection.
    pub(crate) async fn connect(
        &self,
        uri: &http::Uri,
        host: &str,
        port: u16,
    ) -> Result<BoxIo, BoxError> {
        match self {
            Connector::Tcp => {
                let stream = tokio::net::TcpStream::connect((host, port)).await?;
                // gRPC sends small frames that must not wait for Nagle.
                let _ = stream.set_nodelay(true);
                Ok(Box::new(stream))
            }
            #[cfg(unix)]
            Connector::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
            Connector::Custom(connect) => connect(uri.clone()).await,
        }
    }
}
