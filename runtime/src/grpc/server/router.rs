//! Routing `/package.Service/Method` to services, and the checks every
//! call passes before its handler.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tracing::{Instrument as _, Span};

use super::config::ServerConfig;
use super::handler::status_response;
use super::service::{Call, GrpcMethod, GrpcService, Interceptor, NamedService, ResponseFuture};
use crate::grpc::body::{Body, BoxError};
use crate::grpc::metadata::{Metadata, is_reserved};
use crate::grpc::observe::{self, Observation};
use crate::grpc::request::Request;
use crate::grpc::status::Status;
use crate::grpc::trace::TraceContext;
use crate::grpc::web::{self, Dialect};
use crate::reflect::MethodDescriptor;

/// The services of a server, by full name: a `Clone` tower `Service` over
/// any request body whose data is `Bytes` (hyper's, axum's, this crate's
/// [`Body`]), answering `http::Response<protocall::Body>`. Mount it beside
/// other routes (axum's `Router::fallback_service`, or a path prefix per
/// service), wrap it in layers, or call it directly in a test.
///
/// Made from a configured server with
/// [`Router::into_routes`](super::Router::into_routes), or bare (default
/// settings) with [`Routes::new`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Body, server::Routes};
/// use tower_service::Service;
///
/// let (_reporter, health) = protocall::health::health_service();
/// let mut routes = Routes::new(health).add_service(protocall::reflection::Builder::new().build_v1());
/// // not a gRPC request (no content-type): refused before routing
/// let response = routes.call(http::Request::new(Body::empty())).await?;
/// assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Routes {
    services: Arc<HashMap<&'static str, Arc<dyn GrpcService>>>,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&&str> = self.services.keys().collect();
        names.sort();
        f.debug_struct("Routes").field("services", &names).finish()
    }
}

impl Default for Routes {
    fn default() -> Routes {
        Routes::with_config(HashMap::new(), ServerConfig::default())
    }
}

impl Routes {
    /// Routes with one service and the default settings (4 MiB messages,
    /// no interceptors); [`Routes::add_service`] adds more.
    ///
    /// ```
    /// let (_reporter, health) = protocall::health::health_service();
    /// let routes = protocall::server::Routes::new(health);
    /// # let _ = routes;
    /// ```
    pub fn new<S: GrpcService + NamedService>(service: S) -> Routes {
        Routes::default().add_service(service)
    }

    /// Adds a service, routed by its full proto name (a second one of the
    /// same name replaces the first).
    ///
    /// ```
    /// use protocall::server::Routes;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let routes = Routes::default()
    ///     .add_service(health)
    ///     .add_service(protocall::reflection::Builder::new().build_v1());
    /// # let _ = routes;
    /// ```
    pub fn add_service<S: GrpcService + NamedService>(mut self, service: S) -> Routes {
        Arc::make_mut(&mut self.services).insert(S::NAME, Arc::new(service));
        self
    }

    pub(crate) fn with_config(
        services: HashMap<&'static str, Arc<dyn GrpcService>>,
        config: ServerConfig,
    ) -> Routes {
        Routes {
            services: Arc::new(services),
            config: Arc::new(config),
        }
    }

    /// Routes one request, in whichever protocol it came.
    pub(crate) fn dispatch(&self, request: http::Request<Body>) -> ResponseFuture {
        match Dialect::of(&request, self.config.protocols) {
            Err(response) => Box::pin(std::future::ready(*response)),
            Ok(dialect) if dialect.is_native() => self.dispatch_native(request),
            Ok(dialect) => web::serve(self.clone(), dialect, request),
        }
    }

    /// Routes one gRPC request (`application/grpc`, protobuf), logged when
    /// the server has a binary log that chooses it.
    pub(crate) fn dispatch_native(&self, request: http::Request<Body>) -> ResponseFuture {
        let Some(log) = &self.config.binary_log else {
            return self.dispatch_watched(request);
        };
        let (request, call) = log.call(request, crate::binlog::Logger::Server);
        let Some(call) = call else {
            return self.dispatch_watched(request);
        };
        let response = self.dispatch_watched(request);
        Box::pin(async move {
            // A call dropped before its handler answered was cancelled.
            let cancelled = crate::binlog::CancelOnDrop::new(call.clone());
            let response = response.await;
            cancelled.disarm();
            call.response(response)
        })
    }

    /// Routes one gRPC request, watched (span, trace context, metrics,
    /// channelz) when anyone is watching.
    fn dispatch_watched(&self, mut request: http::Request<Body>) -> ResponseFuture {
        let span = observe::server_span(&request);
        let trace = observe::call_context(&span, TraceContext::from_headers(request.headers()));
        let metrics = self.config.metrics.as_ref().map(|metrics| {
            let path = request.uri().path();
            let registered = self.routes(path);
            metrics.server_call(path.strip_prefix('/').unwrap_or(path), registered)
        });
        let site = request
            .extensions()
            .get::<crate::channelz::CallSite>()
            .cloned();
        let observation = Observation::server(span, metrics, site);
        let Some(observation) = observation else {
            return match trace {
                None => self.route(request),
                Some(trace) => {
                    request.extensions_mut().insert(trace.clone());
                    Box::pin(trace.scope(self.route(request)))
                }
            };
        };
        let span = observation.span().cloned().unwrap_or_else(Span::none);
        if let Some(trace) = &trace {
            observe::record_trace(&span, trace);
            request.extensions_mut().insert(trace.clone());
        }
        let request = request.map(|body| observation.watch_request(body));
        let call = self.route(request);
        Box::pin(async move {
            let response = match trace {
                None => call.instrument(span).await,
                Some(trace) => trace.scope(call).instrument(span).await,
            };
            observation.watch_response(response)
        })
    }

    /// Finds the service of `request` and calls it, interceptors first.
    fn route(&self, request: http::Request<Body>) -> ResponseFuture {
        let path = request.uri().path();
        // "/" service "/" method
        let route = path.strip_prefix('/').and_then(|rest| rest.split_once('/'));
        let Some((service_name, method)) = route.filter(|(s, m)| !s.is_empty() && !m.is_empty())
        else {
            let status = Status::unimplemented(format!("malformed method path {path:?}"));
            return Box::pin(std::future::ready(status_response(&status, None)));
        };
        let Some(service) = self.services.get(service_name).cloned() else {
            let status = Status::unimplemented(format!("unknown service {service_name}"));
            return Box::pin(std::future::ready(status_response(&status, None)));
        };
        let method_start = path.len() - method.len();
        let call = Call {
            request,
            config: self.config.clone(),
            method_start,
        };
        if self.config.interceptors.is_empty() {
            return service.call(call);
        }
        let config = self.config.clone();
        Box::pin(async move {
            match run_interceptors(call, &config.interceptors).await {
                Ok(call) => service.call(call).await,
                Err(response) => response,
            }
        })
    }

    /// The descriptor of the method at `path`, if its service has one.
    pub(crate) fn method_descriptor(&self, path: &str) -> Option<MethodDescriptor> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        self.services.get(service)?.descriptor()?.method(method)
    }

    /// False when no service answers `path` (unknown service, or a method
    /// its method list or descriptor does not have).
    pub(crate) fn routes(&self, path: &str) -> bool {
        let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return false;
        };
        self.services
            .get(service)
            .is_some_and(|service| match service.methods() {
                Some(methods) => methods.contains(&method),
                None => service
                    .descriptor()
                    .is_none_or(|descriptor| descriptor.method(method).is_some()),
            })
    }

    pub(crate) fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }
}

/// Runs the interceptors over the call's metadata and extensions.
pub(crate) async fn run_interceptors(
    call: Call,
    interceptors: &[Arc<dyn Interceptor>],
) -> Result<Call, http::Response<Body>> {
    let Call {
        request,
        config,
        method_start,
    } = call;
    let (mut parts, body) = request.into_parts();
    let mut extensions = std::mem::take(&mut parts.extensions);
    if let Some(path) = parts.uri.path_and_query() {
        extensions.insert(GrpcMethod {
            path: path.clone(),
            method_start,
        });
    }
    let mut head = Request::from_parts(Metadata::from_headers(&parts.headers), extensions, ());
    for interceptor in interceptors {
        head = interceptor
            .intercept(head)
            .await
            .map_err(|status| status_response(&status, None))?;
    }
    let (metadata, extensions, _, ()) = head.into_parts();
    // Protocol headers stay; metadata is replaced by what the interceptors left.
    let custom: Vec<_> = parts
        .headers
        .keys()
        .filter(|k| !is_reserved(k.as_str()))
        .cloned()
        .collect();
    for name in custom {
        parts.headers.remove(name);
    }
    metadata.write_to(&mut parts.headers);
    parts.extensions = extensions;
    Ok(Call {
        request: http::Request::from_parts(parts, body),
        config,
        method_start,
    })
}

/// [`Routes`] as a tower service, over any body.
impl<B> tower_service::Service<http::Request<B>> for Routes
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> RoutesFuture {
        RoutesFuture(self.dispatch(request.map(Body::new)))
    }
}

/// The service a [`Router`](super::Router) runs: [`Routes`] inside its
/// tower layers, taking requests with any body (see
/// [`Router::into_service`](super::Router::into_service)).
///
/// ```
/// let (_reporter, health) = protocall::health::health_service();
/// let service: protocall::server::Layered<protocall::server::Routes> =
///     protocall::Server::builder().add_service(health).into_service();
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct Layered<S> {
    inner: S,
}

impl<S> Layered<S> {
    pub(crate) fn new(inner: S) -> Layered<S> {
        Layered { inner }
    }

    /// The layered stack itself (taking `http::Request<protocall::Body>`).
    ///
    /// ```
    /// let (_reporter, health) = protocall::health::health_service();
    /// let routes = protocall::Server::builder().add_service(health).into_service().into_inner();
    /// # let _: protocall::server::Routes = routes;
    /// ```
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> tower_service::Service<http::Request<B>> for Layered<S>
where
    S: tower_service::Service<http::Request<Body>>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> S::Future {
        self.inner.call(request.map(Body::new))
    }
}

/// The future of [`Routes`] as a tower service; it never fails: errors
/// are gRPC statuses in the response.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::{Body, server::{Routes, RoutesFuture}};
/// use tower_service::Service;
/// let (_reporter, health) = protocall::health::health_service();
/// let mut routes = Routes::new(health);
/// let future: RoutesFuture = routes.call(http::Request::new(Body::empty()));
/// let response = future.await?;
/// assert!(response.headers().contains_key("grpc-status"));
/// # Ok(())
/// # }
/// ```
pub struct RoutesFuture(ResponseFuture);

impl Future for RoutesFuture {
    type Output = Result<http::Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx).map(Ok)
    }
}

impl std::fmt::Debug for RoutesFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoutesFuture")
    }
}
