//! [`Introspection`]: opaque OAuth 2.0 access tokens, asked about at the
//! authorization server (RFC 7662) and the answers cached.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use super::fetch::Endpoint;
use super::{Claims, TokenValidator, ValidateFuture};
use crate::tls::ClientTlsConfig;
use crate::{Code, Status};

/// The most answers cached; past it, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;

/// Validates opaque tokens by token introspection (RFC 7662): a `POST` of
/// the token to the authorization server's introspection endpoint, as a
/// client with its own credentials (HTTP basic). An `active` answer's
/// fields (`sub`, `scope`, `exp`, `client_id`, …) are the [`Claims`]; it
/// is cached for [`Introspection::cache_ttl`], never past the token's
/// `exp`. An inactive token is `UNAUTHENTICATED`; an unreachable server
/// `UNAVAILABLE`.
///
/// ```
/// use std::time::Duration;
/// use protocall::auth::Introspection;
/// let validator = Introspection::new("https://id.example.com/oauth2/introspect", "users-api", "s3cret")?
///     .cache_ttl(Duration::from_secs(30));
/// # let _ = validator;
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Debug)]
pub struct Introspection {
    endpoint: Endpoint,
    client_id: String,
    client_secret: String,
    cache_ttl: Duration,
    cache: Mutex<HashMap<String, (Claims, Instant)>>,
}

impl Introspection {
    /// Asks `endpoint` (`https://`, or `http://` on loopback), as
    /// `client_id` with `client_secret`.
    ///
    /// ```
    /// use protocall::auth::Introspection;
    /// assert!(Introspection::new("http://id.example.com/introspect", "id", "secret").is_err());
    /// ```
    pub fn new(
        endpoint: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Introspection, Status> {
        Ok(Introspection {
            endpoint: Endpoint::new(endpoint)?,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            cache_ttl: Duration::from_secs(60),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// How long an active answer is trusted (default 60 s; zero: ask every
    /// time). A revoked token stays usable this long.
    ///
    /// ```
    /// # let v = protocall::auth::Introspection::new("https://id.example.com/introspect", "id", "secret")?;
    /// let v = v.cache_ttl(std::time::Duration::ZERO);
    /// # let _ = v;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn cache_ttl(mut self, ttl: Duration) -> Introspection {
        self.cache_ttl = ttl;
        self
    }

    /// How to trust the endpoint's server (a private CA, say).
    ///
    /// ```
    /// # let v = protocall::auth::Introspection::new("https://id.example.com/introspect", "id", "secret")?;
    /// let v = v.tls_config(protocall::tls::ClientTlsConfig::new());
    /// # let _ = v;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn tls_config(mut self, tls: ClientTlsConfig) -> Introspection {
        self.endpoint.tls_config(tls);
        self
    }

    fn cached(&self, token: &str) -> Option<Claims> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let (claims, until) = cache.get(token)?;
        (Instant::now() < *until).then(|| claims.clone())
    }

    fn remember(&self, token: &str, claims: &Claims) {
        let mut ttl = self.cache_ttl;
        if let Some(exp) = claims.expires_at() {
            ttl = ttl.min(exp.duration_since(SystemTime::now()).unwrap_or_default());
        }
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, until)| *until > now);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(token.to_owned(), (claims.clone(), now + ttl));
    }

    async fn introspect(&self, token: &str) -> Result<Claims, Status> {
        if let Some(claims) = self.cached(token) {
            return Ok(claims);
        }
        let form = [("token", token), ("token_type_hint", "access_token")];
        let basic = Some((self.client_id.as_str(), self.client_secret.as_str()));
        let body = self
            .endpoint
            .post_form(&form, basic)
            .await
            .map_err(|status| {
                // The endpoint refusing *us* is not the caller's fault.
                match status.code() {
                    Code::Unauthenticated => Status::unavailable(format!(
                        "token introspection refused: {}",
                        status.message()
                    )),
                    _ => status,
                }
            })?;
        let answer: Value = serde_json::from_slice(&body).map_err(|e| {
            Status::from_error(Code::Unavailable, "token introspection: not JSON", e)
        })?;
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Err(Status::unauthenticated("token is not active"));
        }
        let claims = Claims::from_json(answer)?;
        if claims
            .expires_at()
            .is_some_and(|exp| exp <= SystemTime::now())
        {
            return Err(Status::unauthenticated("token expired"));
        }
        self.remember(token, &claims);
        Ok(claims)
    }
}

impl TokenValidator for Introspection {
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
        Box::pin(self.introspect(token))
    }
}
