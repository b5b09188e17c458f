//! The client side: [`BearerToken`] and [`ClientCredentials`], interceptors
//! that put `authorization: Bearer <token>` on calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::fetch::Endpoint;
use crate::Request;
use crate::grpc::TransportSecurityRequired;
use crate::server::Interceptor;
use crate::tls::ClientTlsConfig;
use crate::{Code, Status};

/// Puts the token on `request`, marked so a plaintext channel refuses it
/// unless `allow_plaintext`.
fn attach<T>(request: &mut Request<T>, token: &str, allow_plaintext: bool) -> Result<(), Status> {
    request
        .metadata_mut()
        .insert("authorization", &format!("Bearer {token}"))
        .map_err(|_| Status::unauthenticated("the token is not valid header text"))?;
    if !allow_plaintext {
        request.extensions_mut().insert(TransportSecurityRequired);
    }
    Ok(())
}

/// A fixed bearer token on every call (as an interceptor) or on one
/// ([`BearerToken::apply`]). A [`Channel`](crate::Channel) without TLS
/// refuses to send it (`UNAUTHENTICATED`, nothing sent) unless
/// [`BearerToken::allow_plaintext`] says otherwise, as grpc-go refuses
/// per-RPC credentials on an insecure connection.
///
/// ```
/// use protocall::{Channel, auth::BearerToken, health::health_client::HealthClient};
/// let token = BearerToken::new("eyJhbGciOi...")?;
/// let client = HealthClient::new(Channel::connect_lazy("https://api.example.com")?).with_interceptor(token);
/// # let _ = client;
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone)]
pub struct BearerToken {
    token: Arc<str>,
    allow_plaintext: bool,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("token", &"<redacted>")
            .field("allow_plaintext", &self.allow_plaintext)
            .finish()
    }
}

impl BearerToken {
    /// The token (without `Bearer `); it must be valid header text.
    ///
    /// ```
    /// assert!(protocall::auth::BearerToken::new("line\nbreak").is_err());
    /// ```
    pub fn new(token: impl AsRef<str>) -> Result<BearerToken, Status> {
        let token = token.as_ref();
        if token.is_empty() || http::HeaderValue::from_str(token).is_err() || token.contains(' ') {
            return Err(Status::invalid_argument(
                "a bearer token is non-empty header text without spaces",
            ));
        }
        Ok(BearerToken {
            token: token.into(),
            allow_plaintext: false,
        })
    }

    /// Sends the token over plaintext channels too (a loopback test, or a
    /// TLS-terminating sidecar on the same host).
    ///
    /// ```
    /// let token = protocall::auth::BearerToken::new("t")?.allow_plaintext();
    /// # let _ = token;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn allow_plaintext(mut self) -> BearerToken {
        self.allow_plaintext = true;
        self
    }

    /// Puts the token on one call.
    ///
    /// ```
    /// let token = protocall::auth::BearerToken::new("t")?;
    /// let mut request = protocall::Request::new(());
    /// token.apply(&mut request)?;
    /// assert_eq!(request.metadata().get("authorization"), Some("Bearer t"));
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn apply<T>(&self, request: &mut Request<T>) -> Result<(), Status> {
        attach(request, &self.token, self.allow_plaintext)
    }
}

impl Interceptor for BearerToken {
    fn intercept(
        &self,
        mut request: Request<()>,
    ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>> {
        let result = self.apply(&mut request).map(|()| request);
        Box::pin(std::future::ready(result))
    }
}

/// An access token from the OAuth 2.0 client-credentials grant (RFC 6749
/// §4.4), fetched from the token endpoint as needed, cached until shortly
/// before it expires, and put on every call. However many calls wait for a
/// token, one request is in flight. Refused over a plaintext channel, as
/// [`BearerToken`] is, unless [`ClientCredentials::allow_plaintext`].
///
/// ```
/// use protocall::{Channel, auth::ClientCredentials, health::health_client::HealthClient};
/// let credentials = ClientCredentials::new("https://id.example.com/oauth2/token", "my-service", "s3cret")?
///     .scopes(["users.read"]);
/// let client = HealthClient::new(Channel::connect_lazy("https://api.example.com")?).with_interceptor(credentials);
/// # let _ = client;
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Endpoint,
    client_id: String,
    client_secret: String,
    scopes: Vec<String>,
    audience: Option<String>,
    allow_plaintext: bool,
    /// The token and when to fetch a new one; the lock is what makes one
    /// fetch at a time.
    cached: tokio::sync::Mutex<Option<(Arc<str>, Instant)>>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("endpoint", &self.inner.endpoint)
            .field("client_id", &self.inner.client_id)
            .field("scopes", &self.inner.scopes)
            .finish_non_exhaustive()
    }
}

impl ClientCredentials {
    /// Tokens from `token_endpoint` (`https://`, or `http://` on
    /// loopback), as `client_id` with `client_secret` (HTTP basic).
    ///
    /// ```
    /// use protocall::auth::ClientCredentials;
    /// assert!(ClientCredentials::new("http://id.example.com/token", "id", "secret").is_err());
    /// ```
    pub fn new(
        token_endpoint: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<ClientCredentials, Status> {
        Ok(ClientCredentials {
            inner: Arc::new(Inner {
                endpoint: Endpoint::new(token_endpoint)?,
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                scopes: Vec::new(),
                audience: None,
                allow_plaintext: false,
                cached: tokio::sync::Mutex::new(None),
            }),
        })
    }

    fn with(self, change: impl FnOnce(&mut Inner)) -> ClientCredentials {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            endpoint: shared.endpoint.clone(),
            client_id: shared.client_id.clone(),
            client_secret: shared.client_secret.clone(),
            scopes: shared.scopes.clone(),
            audience: shared.audience.clone(),
            allow_plaintext: shared.allow_plaintext,
            cached: tokio::sync::Mutex::new(None),
        });
        let mut inner = inner;
        change(&mut inner);
        ClientCredentials {
            inner: Arc::new(inner),
        }
    }

    /// The scopes asked for (`scope`, space-separated).
    ///
    /// ```
    /// # let c = protocall::auth::ClientCredentials::new("https://id.example.com/token", "id", "secret")?;
    /// let c = c.scopes(["users.read", "users.write"]);
    /// # let _ = c;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> ClientCredentials {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.with(|inner| inner.scopes = scopes)
    }

    /// The `audience` asked for, as Auth0 and others want it.
    ///
    /// ```
    /// # let c = protocall::auth::ClientCredentials::new("https://id.example.com/token", "id", "secret")?;
    /// let c = c.audience("users-api");
    /// # let _ = c;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn audience(self, audience: impl Into<String>) -> ClientCredentials {
        let audience = audience.into();
        self.with(|inner| inner.audience = Some(audience))
    }

    /// How to trust the token endpoint's server (a private CA, say).
    ///
    /// ```
    /// # let c = protocall::auth::ClientCredentials::new("https://id.example.com/token", "id", "secret")?;
    /// let c = c.tls_config(protocall::tls::ClientTlsConfig::new());
    /// # let _ = c;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn tls_config(self, tls: ClientTlsConfig) -> ClientCredentials {
        self.with(|inner| inner.endpoint.tls_config(tls))
    }

    /// Sends the token over plaintext channels too.
    ///
    /// ```
    /// # let c = protocall::auth::ClientCredentials::new("https://id.example.com/token", "id", "secret")?;
    /// let c = c.allow_plaintext();
    /// # let _ = c;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn allow_plaintext(self) -> ClientCredentials {
        self.with(|inner| inner.allow_plaintext = true)
    }

    /// A current access token: the cached one, or a new one.
    ///
    /// ```no_run
    /// # async fn f(credentials: protocall::auth::ClientCredentials) -> Result<(), protocall::Status> {
    /// let token = credentials.token().await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub async fn token(&self) -> Result<Arc<str>, Status> {
        let mut cached = self.inner.cached.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let (token, lifetime) = self.inner.fetch().await?;
        // Fetch again a little before it expires: a tenth of its life,
        // between 1 s and 60 s early.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let refresh_at = Instant::now() + lifetime.saturating_sub(margin);
        *cached = Some((token.clone(), refresh_at));
        Ok(token)
    }

    /// Puts a current token on one call.
    ///
    /// ```no_run
    /// # async fn f(credentials: protocall::auth::ClientCredentials) -> Result<(), protocall::Status> {
    /// let mut request = protocall::Request::new(());
    /// credentials.apply(&mut request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn apply<T>(&self, request: &mut Request<T>) -> Result<(), Status> {
        let token = self.token().await?;
        attach(request, &token, self.inner.allow_plaintext)
    }
}

impl Inner {
    /// One token request: the token and how long it lives.
    async fn fetch(&self) -> Result<(Arc<str>, Duration), Status> {
        let scope = self.scopes.join(" ");
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        if let Some(audience) = &self.audience {
            form.push(("audience", audience));
        }
        let basic = Some((self.client_id.as_str(), self.client_secret.as_str()));
        let body = self.endpoint.post_form(&form, basic).await?;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| Status::from_error(Code::Unavailable, "token endpoint: not JSON", e))?;
        let token = answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Status::unavailable("token endpoint: no access_token in the answer"))?;
        if let Some(kind) = answer.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(Status::unavailable(format!(
                "token endpoint: a {kind:?} token, not a bearer token"
            )));
        }
        // Without `expires_in`, an hour (and the server says when it is not).
        let lifetime = answer
            .get("expires_in")
            .and_then(Value::as_u64)
            .map_or(Duration::from_secs(3600), Duration::from_secs);
        Ok((token.into(), lifetime))
    }
}

impl Interceptor for ClientCredentials {
    fn intercept(
        &self,
        mut request: Request<()>,
    ) -> Pin<Box<dyn Future<Output = Result<Request<()>, Status>> + Send>> {
        let this = self.clone();
        Box::pin(async move {
            this.apply(&mut request).await?;
            Ok(request)
        })
    }
}
