//! CORS for browser clients: a tower layer that answers preflights and
//! marks responses readable by the origins it allows, with the headers
//! gRPC-Web and Connect need allowed and exposed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};

use crate::grpc::body::Body;

/// Request headers the protocols themselves send.
const PROTOCOL_REQUEST_HEADERS: &[&str] = &[
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "connect-content-encoding",
    "connect-accept-encoding",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "x-grpc-web",
    "x-user-agent",
];

/// Response headers the protocols' clients read.
const PROTOCOL_RESPONSE_HEADERS: &[&str] = &[
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
    "grpc-accept-encoding",
    "connect-content-encoding",
    "connect-accept-encoding",
    "content-encoding",
];

#[derive(Clone)]
enum Origins {
    Any,
    List(Vec<HeaderValue>),
    Predicate(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

/// A CORS policy, and the tower layer that applies it.
///
/// Preflights (`OPTIONS` with `Access-Control-Request-Method`) from an
/// allowed origin are answered here; other requests go to the service,
/// and their responses get `Access-Control-Allow-Origin` and the exposed
/// headers (the protocols' `grpc-status`, `grpc-message`,
/// `grpc-status-details-bin`, `connect-*`, plus the metadata you name).
///
/// ```
/// use protocall::web::Cors;
/// let cors = Cors::origins(["https://app.example.com"])
///     .allow_headers(["authorization", "x-request-id"])
///     .expose_metadata(["x-request-id"]);
/// let (_reporter, health) = protocall::health::health_service();
/// let router = protocall::Server::builder().add_service(health).layer(cors);
/// # let _ = router;
/// ```
#[derive(Clone)]
pub struct Cors {
    origins: Origins,
    allow_headers: Vec<HeaderName>,
    any_header: bool,
    expose: Vec<HeaderName>,
    max_age: Option<Duration>,
    credentials: bool,
}

impl std::fmt::Debug for Cors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let origins = match &self.origins {
            Origins::Any => "any".to_owned(),
            Origins::List(list) => format!("{list:?}"),
            Origins::Predicate(_) => "predicate".to_owned(),
        };
        f.debug_struct("Cors")
            .field("origins", &origins)
            .field("allow_headers", &self.allow_headers)
            .field("expose", &self.expose)
            .finish()
    }
}

impl Cors {
    fn new(origins: Origins) -> Cors {
        Cors {
            origins,
            allow_headers: Vec::new(),
            any_header: false,
            expose: Vec::new(),
            max_age: Some(Duration::from_secs(7200)),
            credentials: false,
        }
    }

    /// Every origin may call.
    ///
    /// ```
    /// let cors = protocall::web::Cors::any_origin();
    /// # let _ = cors;
    /// ```
    pub fn any_origin() -> Cors {
        Cors::new(Origins::Any)
    }

    /// These origins (`scheme://host[:port]`, exactly) may call.
    ///
    /// ```
    /// let cors = protocall::web::Cors::origins(["http://localhost:3000"]);
    /// # let _ = cors;
    /// ```
    pub fn origins<'a>(origins: impl IntoIterator<Item = &'a str>) -> Cors {
        let list = origins
            .into_iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        Cors::new(Origins::List(list))
    }

    /// The origins `allowed` says yes to may call.
    ///
    /// ```
    /// let cors = protocall::web::Cors::origin_predicate(|origin| origin.ends_with(".example.com"));
    /// # let _ = cors;
    /// ```
    pub fn origin_predicate(allowed: impl Fn(&str) -> bool + Send + Sync + 'static) -> Cors {
        Cors::new(Origins::Predicate(Arc::new(allowed)))
    }

    /// Request headers (metadata) browsers may send besides the protocols'
    /// own.
    ///
    /// ```
    /// let cors = protocall::web::Cors::any_origin().allow_headers(["authorization"]);
    /// # let _ = cors;
    /// ```
    pub fn allow_headers<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Cors {
        self.allow_headers.extend(
            names
                .into_iter()
                .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok()),
        );
        self
    }

    /// Allows whatever request headers a preflight asks for.
    ///
    /// ```
    /// let cors = protocall::web::Cors::any_origin().allow_any_header();
    /// # let _ = cors;
    /// ```
    pub fn allow_any_header(mut self) -> Cors {
        self.any_header = true;
        self
    }

    /// Response metadata browsers may read, as headers and (for Connect
    /// unary calls) as `trailer-` headers.
    ///
    /// ```
    /// let cors = protocall::web::Cors::any_origin().expose_metadata(["x-request-id"]);
    /// # let _ = cors;
    /// ```
    pub fn expose_metadata<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Cors {
        for name in names {
            for spelled in [name.to_owned(), format!("trailer-{name}")] {
                if let Ok(name) = HeaderName::from_bytes(spelled.as_bytes()) {
                    self.expose.push(name);
                }
            }
        }
        self
    }

    /// How long browsers may cache a preflight's answer (default 2 hours;
    /// `None` leaves it to the browser).
    ///
    /// ```
    /// use std::time::Duration;
    /// let cors = protocall::web::Cors::any_origin().max_age(Some(Duration::from_secs(600)));
    /// # let _ = cors;
    /// ```
    pub fn max_age(mut self, max_age: Option<Duration>) -> Cors {
        self.max_age = max_age;
        self
    }

    /// Lets browsers send cookies and HTTP authentication
    /// (`Access-Control-Allow-Credentials`); the origin is then echoed,
    /// never `*`.
    ///
    /// ```
    /// let cors = protocall::web::Cors::origins(["https://app.example.com"]).allow_credentials(true);
    /// # let _ = cors;
    /// ```
    pub fn allow_credentials(mut self, on: bool) -> Cors {
        self.credentials = on;
        self
    }

    fn allows(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => list.contains(origin),
            Origins::Predicate(allowed) => origin.to_str().is_ok_and(|o| allowed(o)),
        }
    }

    /// The `Access-Control-Allow-Origin` (and credentials) headers.
    fn allow_origin(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        let value = match self.origins {
            Origins::Any if !self.credentials => HeaderValue::from_static("*"),
            _ => origin.clone(),
        };
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        if self.credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }

    /// The answer to a preflight from an allowed origin.
    fn preflight(&self, origin: &HeaderValue, request: &HeaderMap) -> http::Response<Body> {
        let mut response = http::Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        self.allow_origin(origin, headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, GET, OPTIONS"),
        );
        let requested = request
            .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|name| name.trim().to_ascii_lowercase())
            .filter(|name| !name.is_empty());
        let allowed: Vec<String> = requested
            .filter(|name| {
                self.any_header
                    || PROTOCOL_REQUEST_HEADERS.contains(&name.as_str())
                    || self.allow_headers.iter().any(|h| h.as_str() == name)
                    || self.expose.iter().any(|h| h.as_str() == name)
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
            && !allowed.is_empty()
        {
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
        }
        if let Some(max_age) = self.max_age {
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from(max_age.as_secs()),
            );
        }
        response
    }

    /// Marks a response for an allowed origin.
    fn expose_on(&self, origin: &HeaderValue, headers: &mut HeaderMap) {
        self.allow_origin(origin, headers);
        let mut names: Vec<&str> = PROTOCOL_RESPONSE_HEADERS.to_vec();
        names.extend(self.expose.iter().map(HeaderName::as_str));
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }
}

impl<S> tower_layer::Layer<S> for Cors {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            cors: Arc::new(self.clone()),
            inner,
        }
    }
}

/// The service of the [`Cors`] layer.
///
/// ```
/// use protocall::tower::Layer;
/// let (_reporter, health) = protocall::health::health_service();
/// let routes = protocall::server::Routes::new(health);
/// let service: protocall::web::CorsService<_> = protocall::web::Cors::any_origin().layer(routes);
/// # let _ = service;
/// ```
#[derive(Clone, Debug)]
pub struct CorsService<S> {
    cors: Arc<Cors>,
    inner: S,
}

type BoxFuture<E> = Pin<Box<dyn Future<Output = Result<http::Response<Body>, E>> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for CorsService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let origin = request
            .headers()
            .get(header::ORIGIN)
            .filter(|origin| self.cors.allows(origin))
            .cloned();
        let Some(origin) = origin else {
            // Not a cross-origin call this policy allows: no CORS headers,
            // so the browser keeps the response from the page.
            let future = self.inner.call(request);
            return Box::pin(future);
        };
        let preflight = request.method() == Method::OPTIONS
            && request
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if preflight {
            let response = self.cors.preflight(&origin, request.headers());
            return Box::pin(std::future::ready(Ok(response)));
        }
        let cors = self.cors.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            cors.expose_on(&origin, response.headers_mut());
            Ok(response)
        })
    }
}
