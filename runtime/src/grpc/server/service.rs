//! What generated servers implement, and the per-call context they get.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::config::ServerConfig;
use crate::grpc::body::Body;
use crate::grpc::request::Request;
use crate::grpc::status::Status;

/// The future of one call's HTTP response.
///
/// ```
/// use protocall::server::{Call, ResponseFuture, unimplemented};
/// fn route(call: Call) -> ResponseFuture {
///     println!("{}", call.path());
///     unimplemented(call)
/// }
/// ```
pub type ResponseFuture = Pin<Box<dyn Future<Output = http::Response<Body>> + Send>>;

/// A gRPC service's full proto name, e.g. `user.UserService`: the first
/// segment of its request paths.
///
/// ```
/// use protocall::{health::HealthServer, server::NamedService};
/// assert_eq!(<HealthServer<protocall::health::HealthService>>::NAME, "grpc.health.v1.Health");
/// ```
pub trait NamedService {
    /// The full name.
    ///
    /// ```
    /// use protocall::server::NamedService;
    /// struct Echo;
    /// impl NamedService for Echo {
    ///     const NAME: &'static str = "demo.Echo"; // served at /demo.Echo/<method>
    /// }
    /// ```
    const NAME: &'static str;
}

/// A service the [`Server`](crate::Server) can route calls to. Generated
/// `…Server<T>` types implement it by matching the method name to one of
/// the call-kind handlers in [`crate::server`].
///
/// ```
/// use protocall::{Request, Response, types::StringValue};
/// use protocall::server::{Call, GrpcService, NamedService, ResponseFuture, unary, unimplemented};
///
/// struct Echo;
/// impl NamedService for Echo {
///     const NAME: &'static str = "demo.Echo";
/// }
/// impl GrpcService for Echo {
///     fn call(&self, call: Call) -> ResponseFuture {
///         match call.method() {
///             "Say" => unary(call, |request: Request<StringValue>| async move {
///                 Ok(Response::new(request.into_inner()))
///             }),
///             _ => unimplemented(call),
///         }
///     }
/// }
/// let _router = protocall::Server::builder().add_service(Echo);
/// ```
pub trait GrpcService: Send + Sync + 'static {
    /// Handles one call to this service.
    ///
    /// ```
    /// use protocall::server::{Call, GrpcService, ResponseFuture, unimplemented};
    /// struct Nothing;
    /// impl GrpcService for Nothing {
    ///     fn call(&self, call: Call) -> ResponseFuture {
    ///         unimplemented(call) // every method answers UNIMPLEMENTED
    ///     }
    /// }
    /// ```
    fn call(&self, call: Call) -> ResponseFuture;

    /// The service's descriptor, when its code embeds one (generated code
    /// does, unless descriptors are turned off). It lets the server
    /// transcode the JSON codecs of gRPC, gRPC-Web and Connect and answer
    /// Connect `GET`s for methods marked `NO_SIDE_EFFECTS`; a service
    /// without one serves the binary codec only.
    ///
    /// ```
    /// use protocall::server::GrpcService;
    /// let (_reporter, health) = protocall::health::health_service();
    /// let descriptor = health.descriptor().expect("generated services embed descriptors");
    /// assert_eq!(descriptor.full_name(), "grpc.health.v1.Health");
    /// ```
    fn descriptor(&self) -> Option<crate::reflect::ServiceDescriptor> {
        None
    }

    /// The names of the methods the service answers, when it knows them
    /// (generated services do, descriptors or not). Metrics name the calls
    /// of other methods `other` (gRFC A66: a caller must not grow them with
    /// made-up names); a service that answers `None` and has no descriptor
    /// has every call counted under the name it came with.
    ///
    /// ```
    /// use protocall::server::GrpcService;
    /// let (_reporter, health) = protocall::health::health_service();
    /// assert_eq!(health.methods(), Some(&["Check", "Watch"][..]));
    /// ```
    fn methods(&self) -> Option<&'static [&'static str]> {
        None
    }
}

/// One incoming call, as routed to a [`GrpcService`].
///
/// ```
/// use protocall::server::{Call, GrpcService, ResponseFuture, unimplemented};
/// struct Logged;
/// impl GrpcService for Logged {
///     fn call(&self, call: Call) -> ResponseFuture {
///         println!("{} (method {})", call.path(), call.method());
///         unimplemented(call)
///     }
/// }
/// ```
#[derive(Debug)]
pub struct Call {
    pub(crate) request: http::Request<Body>,
    pub(crate) config: Arc<ServerConfig>,
    pub(crate) method_start: usize,
}

impl Call {
    /// The method name (the last segment of the path), e.g. `GetUser`.
    ///
    /// ```
    /// use protocall::server::{Call, ResponseFuture, unimplemented};
    /// fn dispatch(call: Call) -> ResponseFuture {
    ///     match call.method() {
    ///         // "GetUser" => unary(call, …),
    ///         _ => unimplemented(call),
    ///     }
    /// }
    /// ```
    pub fn method(&self) -> &str {
        &self.request.uri().path()[self.method_start..]
    }

    /// The full path, e.g. `/user.UserService/GetUser`.
    ///
    /// ```
    /// use protocall::server::{Call, ResponseFuture, unimplemented};
    /// fn dispatch(call: Call) -> ResponseFuture {
    ///     assert!(call.path().ends_with(call.method()));
    ///     unimplemented(call)
    /// }
    /// ```
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }
}

/// The method a server call is for, in the request extensions that
/// interceptors (and the handlers behind them) see: what a per-method
/// policy, such as `protocall::auth::Authenticator`, matches on.
///
/// ```
/// use protocall::{Request, Status, extensions::GrpcMethod};
/// let only_reads = |request: Request<()>| async move {
///     match request.extensions().get::<GrpcMethod>() {
///         Some(method) if method.method().starts_with("Get") => Ok(request),
///         _ => Err(Status::permission_denied("read-only replica")),
///     }
/// };
/// let _server = protocall::Server::builder().interceptor(only_reads);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrpcMethod {
    pub(crate) path: http::uri::PathAndQuery,
    pub(crate) method_start: usize,
}

impl GrpcMethod {
    /// The method at `path` (`/package.Service/Method`), if it is one.
    ///
    /// ```
    /// use protocall::extensions::GrpcMethod;
    /// let method = GrpcMethod::from_path("/user.UserService/GetUser").unwrap();
    /// assert_eq!((method.service(), method.method()), ("user.UserService", "GetUser"));
    /// assert!(GrpcMethod::from_path("/no-method").is_none());
    /// ```
    pub fn from_path(path: &str) -> Option<GrpcMethod> {
        let (service, method) = path.strip_prefix('/')?.split_once('/')?;
        if service.is_empty() || method.is_empty() || method.contains('/') {
            return None;
        }
        Some(GrpcMethod {
            path: path.parse().ok()?,
            method_start: path.len() - method.len(),
        })
    }

    /// The full path, e.g. `/user.UserService/GetUser`.
    ///
    /// ```
    /// # let method = protocall::extensions::GrpcMethod::from_path("/user.UserService/GetUser").unwrap();
    /// assert_eq!(method.path(), "/user.UserService/GetUser");
    /// ```
    pub fn path(&self) -> &str {
        self.path.path()
    }

    /// The service's full name, e.g. `user.UserService`.
    ///
    /// ```
    /// # let method = protocall::extensions::GrpcMethod::from_path("/user.UserService/GetUser").unwrap();
    /// assert_eq!(method.service(), "user.UserService");
    /// ```
    pub fn service(&self) -> &str {
        &self.path()[1..self.method_start - 1]
    }

    /// The method name, e.g. `GetUser`.
    ///
    /// ```
    /// # let method = protocall::extensions::GrpcMethod::from_path("/user.UserService/GetUser").unwrap();
    /// assert_eq!(method.method(), "GetUser");
    /// ```
    pub fn method(&self) -> &str {
        &self.path()[self.method_start..]
    }
}

/// An async check run before a call reaches its handler: it sees the
/// request metadata and extensions, may change them (e.g. insert the
/// authenticated user), or reject the call with a status.
///
/// Any `Fn(Request<()>) -> impl Future<Output = Result<Request<()>, Status>>`
/// is an interceptor:
///
/// ```
/// use protocall::{Request, Status};
/// let auth = |request: Request<()>| async move {
///     match request.metadata().get("authorization") {
///         Some("Bearer secret") => Ok(request),
///         _ => Err(Status::unauthenticated("bad token")),
///     }
/// };
/// let _server = protocall::Server::builder().interceptor(auth);
/// ```
pub trait Interceptor: Send + Sync + 'static {
    /// Inspects or rewrites the request head.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::{future::Future, pin::Pin};
    /// use protocall::{Request, Status, server::Interceptor};
    ///
    /// struct RequireUser;
    /// impl Interceptor for RequireUser {
    ///     fn intercept(
    ///         &self,
    ///         request: Request<()>,
    ///     ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>> {
    ///         Box::pin(async move {
    ///             match request.metadata().contains_key("x-user") {
    ///                 true => Ok(request),
    ///                 false => Err(Status::unauthenticated("who are you?")),
    ///             }
    ///         })
    ///     }
    /// }
    /// assert!(RequireUser.intercept(Request::new(())).await.is_err());
    /// let _server = protocall::Server::builder().interceptor(RequireUser);
    /// # Ok(())
    /// # }
    /// ```
    fn intercept(
        &self,
        request: Request<()>,
    ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>>;
}

impl<F, Fut> Interceptor for F
where
    F: Fn(Request<()>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Request<()>, Status>> + Send + 'static,
{
    fn intercept(
        &self,
        request: Request<()>,
    ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>> {
        Box::pin(self(request))
    }
}

/// A service whose calls pass through an interceptor first; see
/// [`intercept`].
///
/// ```
/// use protocall::{Request, health::{HealthServer, HealthService}, server::{Intercepted, intercept}};
/// let (_reporter, health) = protocall::health::health_service();
/// let guarded: Intercepted<HealthServer<HealthService>> =
///     intercept(health, |request: Request<()>| async move { Ok(request) });
/// let _router = protocall::Server::builder().add_service(guarded);
/// ```
pub struct Intercepted<S> {
    service: Arc<S>,
    interceptor: Arc<dyn Interceptor>,
}

/// Wraps one service with an interceptor (the [`Server`](crate::Server)'s
/// own `interceptor` applies to every service).
///
/// ```
/// # use protocall::{Request, Status};
/// # fn wrap<S: protocall::server::GrpcService + protocall::server::NamedService>(service: S) {
/// let guarded = protocall::server::intercept(service, |request: Request<()>| async move { Ok(request) });
/// # }
/// ```
pub fn intercept<S: GrpcService, I: Interceptor>(service: S, interceptor: I) -> Intercepted<S> {
    Intercepted {
        service: Arc::new(service),
        interceptor: Arc::new(interceptor),
    }
}

impl<S: NamedService> NamedService for Intercepted<S> {
    const NAME: &'static str = S::NAME;
}

impl<S: GrpcService> GrpcService for Intercepted<S> {
    fn call(&self, call: Call) -> ResponseFuture {
        let interceptor = self.interceptor.clone();
        let service = self.service.clone();
        Box::pin(async move {
            match super::router::run_interceptors(call, std::slice::from_ref(&interceptor)).await {
                Ok(call) => service.call(call).await,
                Err(response) => response,
            }
        })
    }

    fn descriptor(&self) -> Option<crate::reflect::ServiceDescriptor> {
        self.service.descriptor()
    }

    fn methods(&self) -> Option<&'static [&'static str]> {
        self.service.methods()
    }
}
