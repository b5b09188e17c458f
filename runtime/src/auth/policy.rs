//! [`Authenticator`]: who may call which method.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::{Claims, TokenValidator, bearer_token};
use crate::Request;
use crate::Status;
use crate::extensions::{GrpcMethod, PeerCertificates};
use crate::server::Interceptor;
use crate::tls::PeerIdentity;

/// What a method asks of its callers.
#[derive(Clone, Debug)]
enum Access {
    /// Nothing: no token is read.
    Public,
    /// A valid token granting every one of these scopes.
    Scopes(Vec<String>),
}

/// A rule for a service (`pkg.Service`) or one method (`pkg.Service/Method`).
#[derive(Clone, Debug)]
struct Rule<A> {
    service: String,
    method: Option<String>,
    access: A,
}

/// Which client certificates may call.
type PeerCheck = Arc<dyn Fn(&PeerIdentity) -> bool + Send + Sync>;

/// Parses `pkg.Service` or `pkg.Service/Method` (a leading `/` allowed).
fn split_name(name: &str) -> (String, Option<String>) {
    let name = name.trim_start_matches('/');
    match name.split_once('/') {
        Some((service, method)) => (service.to_owned(), Some(method.to_owned())),
        None => (name.to_owned(), None),
    }
}

/// The most specific of `rules` for `method`: its own, else its service's.
fn most_specific<'r, A>(rules: &'r [Rule<A>], method: &GrpcMethod) -> Option<&'r A> {
    let of_service = || rules.iter().filter(|rule| rule.service == method.service());
    of_service()
        .find(|rule| rule.method.as_deref() == Some(method.method()))
        .or_else(|| of_service().find(|rule| rule.method.is_none()))
        .map(|rule| &rule.access)
}

fn set<A>(rules: &mut Vec<Rule<A>>, name: &str, access: A) {
    let (service, method) = split_name(name);
    rules.retain(|rule| !(rule.service == service && rule.method == method));
    rules.push(Rule {
        service,
        method,
        access,
    });
}

/// The server side of token authentication, as an [`Interceptor`]: per
/// method, public or a valid bearer token (with scopes, if the method
/// names any). The most specific rule wins — a method's over its
/// service's — and a method no rule names needs a valid token. The
/// verified [`Claims`] reach the handler in the request extensions.
///
/// | the call | the answer |
/// | --- | --- |
/// | a public method | the handler, whatever the token |
/// | no `authorization`, or not `Bearer <token>` | `UNAUTHENTICATED` |
/// | a token the validator refuses | `UNAUTHENTICATED`, saying which check failed |
/// | a valid token without a required scope | `PERMISSION_DENIED`, naming the scope |
/// | a valid token with the scopes | the handler, with the `Claims` |
///
/// ```
/// use protocall::auth::{Authenticator, Claims, Jwks, JwtValidator};
/// use protocall::{Request, Response, Status};
/// # let keys = Jwks::from_json(r#"{"keys": []}"#)?;
/// let auth = Authenticator::new(JwtValidator::new(keys, "https://id.example.com", "users-api"))
///     .public_health_and_reflection()
///     .require_scopes("user.UserService/GetUser", ["users.read"])
///     .require_scopes("user.UserService/DeleteUser", ["users.write", "admin"]);
/// let server = protocall::Server::builder().interceptor(auth);
///
/// // in a handler:
/// async fn get_user(request: Request<()>) -> Result<Response<()>, Status> {
///     let claims = request.extensions().get::<Claims>().expect("the authenticator ran");
///     println!("called by {:?}", claims.subject());
///     Ok(Response::new(()))
/// }
/// # let _ = server;
/// # Ok::<(), Status>(())
/// ```
#[derive(Clone)]
pub struct Authenticator {
    validator: Arc<dyn TokenValidator>,
    rules: Arc<Vec<Rule<Access>>>,
    peers: Arc<Vec<Rule<PeerCheck>>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("rules", &self.rules)
            .field("peer_rules", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Every method needs a token `validator` accepts (until rules say
    /// otherwise).
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// let auth = protocall::auth::Authenticator::new(protocall::auth::JwtValidator::new(keys, "iss", "aud"));
    /// # let _ = auth;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(validator: impl TokenValidator) -> Authenticator {
        Authenticator {
            validator: Arc::new(validator),
            rules: Arc::new(Vec::new()),
            peers: Arc::new(Vec::new()),
        }
    }

    fn rule(mut self, name: &str, access: Access) -> Authenticator {
        set(Arc::make_mut(&mut self.rules), name, access);
        self
    }

    /// `name` — a service (`grpc.health.v1.Health`) or a method
    /// (`user.UserService/GetUser`, a leading `/` allowed) — needs no token.
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// # let auth = protocall::auth::Authenticator::new(protocall::auth::JwtValidator::new(keys, "iss", "aud"));
    /// let auth = auth.public("grpc.health.v1.Health").public("/user.UserService/Ping");
    /// # let _ = auth;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn public(self, name: &str) -> Authenticator {
        self.rule(name, Access::Public)
    }

    /// The health service and both versions of server reflection need no
    /// token, as load balancers and tools call them.
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// # let auth = protocall::auth::Authenticator::new(protocall::auth::JwtValidator::new(keys, "iss", "aud"));
    /// let auth = auth.public_health_and_reflection();
    /// # let _ = auth;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn public_health_and_reflection(self) -> Authenticator {
        self.public("grpc.health.v1.Health")
            .public("grpc.reflection.v1.ServerReflection")
            .public("grpc.reflection.v1alpha.ServerReflection")
    }

    /// `name` (a service or a method, as in [`Authenticator::public`]) needs
    /// a valid token granting every one of `scopes`.
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// # let auth = protocall::auth::Authenticator::new(protocall::auth::JwtValidator::new(keys, "iss", "aud"));
    /// let auth = auth.require_scopes("user.UserService/GetUser", ["users.read"]);
    /// # let _ = auth;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn require_scopes<S: Into<String>>(
        self,
        name: &str,
        scopes: impl IntoIterator<Item = S>,
    ) -> Authenticator {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.rule(name, Access::Scopes(scopes))
    }

    /// `name` (a service or a method, as in [`Authenticator::public`])
    /// needs a verified client certificate (mutual TLS) whose identity
    /// `allowed` accepts — in addition to what its token rule asks. No
    /// certificate is `UNAUTHENTICATED`; one `allowed` refuses,
    /// `PERMISSION_DENIED`. The [`PeerIdentity`] reaches the handler in the
    /// request extensions.
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// # let auth = protocall::auth::Authenticator::new(protocall::auth::JwtValidator::new(keys, "iss", "aud"));
    /// let auth = auth.require_peer("billing.Ledger", |peer| {
    ///     peer.spiffe_id() == Some("spiffe://example.org/ns/prod/sa/invoicer")
    /// });
    /// # let _ = auth;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn require_peer(
        mut self,
        name: &str,
        allowed: impl Fn(&PeerIdentity) -> bool + Send + Sync + 'static,
    ) -> Authenticator {
        set(
            Arc::make_mut(&mut self.peers),
            name,
            Arc::new(allowed) as PeerCheck,
        );
        self
    }

    /// The access `method` asks for.
    fn access(&self, method: Option<&GrpcMethod>) -> Access {
        let authenticated = Access::Scopes(Vec::new());
        method
            .and_then(|method| most_specific(&self.rules, method))
            .map_or(authenticated, Clone::clone)
    }

    /// The client certificate check of `method`, if it has one.
    fn check_peer(&self, request: &mut Request<()>, path: &str) -> Result<(), Status> {
        let Some(method) = request.extensions().get::<GrpcMethod>() else {
            return Ok(());
        };
        let Some(allowed) = most_specific(&self.peers, method).cloned() else {
            return Ok(());
        };
        let certificates = request
            .extensions()
            .get::<PeerCertificates>()
            .ok_or_else(|| Status::unauthenticated(format!("{path} needs a client certificate")))?;
        let identity = certificates.identity()?;
        if !allowed(&identity) {
            return Err(Status::permission_denied(format!(
                "the client certificate ({}) may not call {path}",
                identity.subject()
            )));
        }
        request.extensions_mut().insert(identity);
        Ok(())
    }

    async fn check(&self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let method = request.extensions().get::<GrpcMethod>();
        let path = method.map_or("", GrpcMethod::path).to_owned();
        let access = self.access(method);
        let refused = |status: Status| {
            // The reason, never the token.
            tracing::debug!(method = %path, code = ?status.code(), reason = status.message(), "call refused");
            status
        };
        self.check_peer(&mut request, &path).map_err(refused)?;
        let scopes = match access {
            Access::Public => return Ok(request),
            Access::Scopes(scopes) => scopes,
        };
        let token = bearer_token(request.metadata()).map_err(refused)?;
        let claims = self.validator.validate(token).await.map_err(refused)?;
        if let Some(missing) = scopes.iter().find(|scope| !claims.has_scope(scope)) {
            return Err(refused(Status::permission_denied(format!(
                "the token does not grant the scope {missing:?} {path} needs"
            ))));
        }
        request.extensions_mut().insert::<Claims>(claims);
        Ok(request)
    }
}

impl Interceptor for Authenticator {
    fn intercept(
        &self,
        request: Request<()>,
    ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>> {
        let this = self.clone();
        Box::pin(async move { this.check(request).await })
    }
}
