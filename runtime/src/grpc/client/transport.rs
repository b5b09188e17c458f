//! [`GrpcTransport`]: what a [`Grpc`](super::Grpc) client sends calls over.

use bytes::Bytes;

use crate::grpc::body::{Body, BoxError};

/// Any tower `Service` that takes `http::Request<protocall::Body>` and
/// answers an `http::Response` whose body yields `Bytes`: a [`Channel`](super::Channel),
/// a channel inside tower layers, or another HTTP/2 client. It names the
/// bounds once; every fitting service implements it.
///
/// ```
/// use std::time::Duration;
/// use protocall::{Channel, client::GrpcTransport};
/// fn assert_transport<T: GrpcTransport>(_: &T) {}
/// let channel = Channel::connect_lazy("http://127.0.0.1:50051")?;
/// assert_transport(&channel);
/// let layered = tower::ServiceBuilder::new().timeout(Duration::from_secs(1)).service(channel);
/// assert_transport(&layered);
/// # Ok::<(), protocall::Status>(())
/// ```
pub trait GrpcTransport:
    tower_service::Service<
        http::Request<Body>,
        Response = http::Response<Self::ResponseBody>,
        Error: Into<BoxError>,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The body of the transport's responses.
    type ResponseBody: http_body::Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;
}

impl<S, B> GrpcTransport for S
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type ResponseBody = B;
}
