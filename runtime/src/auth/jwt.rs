//! JWTs: [`Jwks`], the keys a token may be signed with, and
//! [`JwtValidator`], the checks a token must pass.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::fetch::Endpoint;
use super::{Claims, TokenValidator, ValidateFuture};
use crate::tls::ClientTlsConfig;
use crate::{Code, Status};

/// One verification key, and the algorithms it may verify.
struct Key {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// Where the keys come from.
#[derive(Clone, Debug)]
enum Source {
    Static,
    File(PathBuf),
    Url(Box<Endpoint>),
}

/// A JSON Web Key Set (RFC 7517): the public keys tokens are verified
/// with, found by `kid`. From a JSON text, a file, or an HTTPS URL (fetched
/// on first use, re-fetched when older than [`Jwks::max_age`], and — at
/// most once per [`Jwks::min_refresh_interval`] — when a token names a
/// `kid` the set lacks, as a key rotation does). A file is re-read the
/// same way. Cheap to clone: clones share the keys.
///
/// Each key verifies only the algorithms it is for: the `alg` of the JWK
/// when it names one, else those of its type (RSA: `RS*`/`PS*`; EC: `ES256`
/// on P-256, `ES384` on P-384; OKP: `EdDSA`; a symmetric `oct` key: `HS*`).
/// So an RSA public key can never verify an `HS256` token made with it as
/// the secret.
///
/// ```
/// use protocall::auth::Jwks;
/// let keys = Jwks::from_json(r#"{"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
///     "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4", "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}"#)?;
/// assert_eq!(keys.len(), 1);
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

struct Inner {
    source: Source,
    keys: RwLock<Arc<Vec<Key>>>,
    /// When the keys were last loaded (`None`: never), behind the lock
    /// that makes one refresh at a time.
    loaded: tokio::sync::Mutex<Option<Instant>>,
    min_refresh_interval: Duration,
    max_age: Duration,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("source", &self.inner.source)
            .field("keys", &self.len())
            .finish()
    }
}

impl Jwks {
    /// The keys of a JWKS document (`{"keys": [...]}`), fixed.
    ///
    /// ```
    /// assert!(protocall::auth::Jwks::from_json("{}").is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<Jwks, Status> {
        let keys = parse(json.as_bytes())?;
        Ok(Jwks::new(Source::Static, keys, Some(Instant::now())))
    }

    /// The keys of a JWKS file, read now and again when a token names a
    /// key the set lacks (at most once per [`Jwks::min_refresh_interval`]).
    ///
    /// ```
    /// let err = protocall::auth::Jwks::from_file("/no/such/jwks.json").unwrap_err();
    /// assert_eq!(err.code(), protocall::Code::InvalidArgument);
    /// ```
    pub fn from_file(path: impl Into<PathBuf>) -> Result<Jwks, Status> {
        let path = path.into();
        let keys =
            read_file(&path).map_err(|e| Status::invalid_argument(e.message().to_owned()))?;
        Ok(Jwks::new(Source::File(path), keys, Some(Instant::now())))
    }

    /// The keys at an `https://` URL (plain `http://` only from a loopback
    /// address), fetched on first use and kept for [`Jwks::max_age`].
    ///
    /// ```
    /// use protocall::auth::Jwks;
    /// let keys = Jwks::from_url("https://www.googleapis.com/oauth2/v3/certs")?;
    /// assert!(Jwks::from_url("http://keys.example.com/jwks.json").is_err()); // not over plain HTTP
    /// # let _ = keys;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn from_url(url: &str) -> Result<Jwks, Status> {
        Ok(Jwks::new(
            Source::Url(Box::new(Endpoint::new(url)?)),
            Vec::new(),
            None,
        ))
    }

    fn new(source: Source, keys: Vec<Key>, loaded: Option<Instant>) -> Jwks {
        Jwks {
            inner: Arc::new(Inner {
                source,
                keys: RwLock::new(Arc::new(keys)),
                loaded: tokio::sync::Mutex::new(loaded),
                min_refresh_interval: Duration::from_secs(30),
                max_age: Duration::from_secs(600),
            }),
        }
    }

    fn settings(self, change: impl FnOnce(&mut Inner)) -> Jwks {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| {
            // Settings are made before the set is shared; a clone made
            // earlier keeps the old ones.
            Inner {
                source: shared.source.clone(),
                keys: RwLock::new(shared.current()),
                loaded: tokio::sync::Mutex::new(None),
                min_refresh_interval: shared.min_refresh_interval,
                max_age: shared.max_age,
            }
        });
        change(&mut inner);
        Jwks {
            inner: Arc::new(inner),
        }
    }

    /// The shortest time between two refreshes a token's unknown `kid`
    /// causes (default 30 s), so tokens with made-up key ids cannot make
    /// the server hammer the key endpoint.
    ///
    /// ```
    /// use std::time::Duration;
    /// let keys = protocall::auth::Jwks::from_url("https://id.example.com/jwks")?.min_refresh_interval(Duration::from_secs(60));
    /// # let _ = keys;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn min_refresh_interval(self, interval: Duration) -> Jwks {
        self.settings(|inner| inner.min_refresh_interval = interval)
    }

    /// How long fetched keys are used before they are fetched again
    /// (default 10 minutes).
    ///
    /// ```
    /// use std::time::Duration;
    /// let keys = protocall::auth::Jwks::from_url("https://id.example.com/jwks")?.max_age(Duration::from_secs(3600));
    /// # let _ = keys;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn max_age(self, age: Duration) -> Jwks {
        self.settings(|inner| inner.max_age = age)
    }

    /// How to trust the key URL's server (a private CA, say).
    ///
    /// ```no_run
    /// # fn f(ca: protocall::tls::Certificate) -> Result<(), protocall::Status> {
    /// use protocall::{auth::Jwks, tls::ClientTlsConfig};
    /// let keys = Jwks::from_url("https://id.internal/jwks")?.tls_config(ClientTlsConfig::new().ca_certificate(ca));
    /// # let _ = keys; Ok(()) }
    /// ```
    pub fn tls_config(self, tls: ClientTlsConfig) -> Jwks {
        self.settings(|inner| {
            if let Source::Url(endpoint) = &mut inner.source {
                endpoint.tls_config(tls);
            }
        })
    }

    /// How many keys the set holds now.
    ///
    /// ```
    /// assert_eq!(protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?.len(), 0);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn len(&self) -> usize {
        self.inner.current().len()
    }

    /// Whether the set holds no key now.
    ///
    /// ```
    /// assert!(protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?.is_empty());
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Loads the keys now (a URL's first fetch, say, at startup).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), protocall::Status> {
    /// let keys = protocall::auth::Jwks::from_url("https://id.example.com/jwks")?;
    /// keys.refresh().await?;
    /// # Ok(()) }
    /// ```
    pub async fn refresh(&self) -> Result<(), Status> {
        let mut loaded = self.inner.loaded.lock().await;
        self.inner.reload(&mut loaded).await
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    async fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<DecodingKey>, Status> {
        let inner = &self.inner;
        {
            let mut loaded = inner.loaded.lock().await;
            let stale = match *loaded {
                None => true,
                Some(at) => {
                    !matches!(inner.source, Source::Static) && at.elapsed() >= inner.max_age
                }
            };
            if stale && let Err(status) = inner.reload(&mut loaded).await {
                // Old keys stay usable while the source is down.
                if inner.current().is_empty() {
                    return Err(status);
                }
                tracing::warn!(error = %status, "cannot refresh the JWKS; using the keys held");
            }
        }
        let found = inner.matching(kid, alg);
        if !found.is_empty() || kid.is_none() {
            return Ok(found);
        }
        // An unknown `kid`: the issuer may have rotated its keys.
        let mut loaded = inner.loaded.lock().await;
        let recent = loaded.is_some_and(|at| at.elapsed() < inner.min_refresh_interval);
        if !recent
            && !matches!(inner.source, Source::Static)
            && let Err(status) = inner.reload(&mut loaded).await
        {
            tracing::warn!(error = %status, "cannot refresh the JWKS for an unknown key id");
        }
        Ok(inner.matching(kid, alg))
    }
}

impl Inner {
    fn current(&self) -> Arc<Vec<Key>> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reloads from the source; `loaded` is the refresh lock's content.
    async fn reload(&self, loaded: &mut Option<Instant>) -> Result<(), Status> {
        let keys = match &self.source {
            Source::Static => return Ok(()),
            Source::File(path) => read_file(path),
            Source::Url(endpoint) => endpoint.get().await.and_then(|body| parse(&body)),
        };
        // A failed attempt counts too: the rate limit holds while the
        // source is down.
        *loaded = Some(Instant::now());
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys?);
        Ok(())
    }

    fn matching(&self, kid: Option<&str>, alg: Algorithm) -> Vec<DecodingKey> {
        self.current()
            .iter()
            .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
            .filter(|key| key.algorithms.contains(&alg))
            .map(|key| key.key.clone())
            .collect()
    }
}

fn read_file(path: &std::path::Path) -> Result<Vec<Key>, Status> {
    let text = std::fs::read(path).map_err(|e| {
        Status::unavailable(format!("cannot read the JWKS file {}: {e}", path.display()))
    })?;
    parse(&text).map_err(|e| Status::new(e.code(), format!("{}: {}", path.display(), e.message())))
}

/// The signature keys of a JWKS document; keys for encryption, or of
/// kinds this build cannot verify, are left out.
fn parse(json: &[u8]) -> Result<Vec<Key>, Status> {
    let set: JwkSet = serde_json::from_slice(json)
        .map_err(|e| Status::from_error(Code::InvalidArgument, "not a JWKS document", e))?;
    Ok(set.keys.iter().filter_map(key).collect())
}

fn key(jwk: &Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        AlgorithmParameters::OctetKey(_) => &[Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
        _ => return None,
    };
    let algorithms = match &jwk.common.key_algorithm {
        // The JWK names its algorithm: that one only, if it fits the key.
        Some(named) => {
            let named: Algorithm = named.to_string().parse().ok()?;
            by_type.contains(&named).then(|| vec![named])?
        }
        None => by_type.to_vec(),
    };
    Some(Key {
        kid: jwk.common.key_id.clone(),
        key: DecodingKey::from_jwk(jwk).ok()?,
        algorithms,
    })
}

/// Validates JWTs (RFC 7519): the signature, by a key of the [`Jwks`]
/// found by `kid`, with an algorithm both the validator and the key allow
/// (`alg: none` never); `exp` required and in the future, `nbf` and `iat`
/// not in the future, each with the [leeway](JwtValidator::leeway); `iss`
/// and `aud` required and equal to the ones given.
///
/// ```
/// use protocall::auth::{Algorithm, Jwks, JwtValidator};
/// let keys = Jwks::from_json(r#"{"keys": []}"#)?;
/// let validator = JwtValidator::new(keys, "https://id.example.com", "users-api")
///     .algorithms([Algorithm::ES256])
///     .leeway(std::time::Duration::from_secs(30));
/// # let _ = validator;
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone, Debug)]
pub struct JwtValidator {
    keys: Jwks,
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
}

impl JwtValidator {
    /// Tokens from `issuer`, for `audience`, signed by a key of `keys`
    /// with `RS256`, `ES256` or `EdDSA` (see [`JwtValidator::algorithms`]).
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// let validator = protocall::auth::JwtValidator::new(keys, "https://id.example.com", "users-api");
    /// # let _ = validator;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new(keys: Jwks, issuer: impl Into<String>, audience: impl Into<String>) -> JwtValidator {
        JwtValidator {
            keys,
            issuer: issuer.into(),
            audience: audience.into(),
            algorithms: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            leeway: Duration::from_secs(30),
        }
    }

    /// The algorithms accepted (a key still verifies only its own). The
    /// `HS*` family must be named here to be used, with `oct` keys.
    ///
    /// ```
    /// use protocall::auth::{Algorithm, JwtValidator};
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// let validator = JwtValidator::new(keys, "iss", "aud").algorithms([Algorithm::RS256, Algorithm::PS256]);
    /// # let _ = validator;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> JwtValidator {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The clock skew allowed on `exp`, `nbf` and `iat` (default 30 s).
    ///
    /// ```
    /// # let keys = protocall::auth::Jwks::from_json(r#"{"keys": []}"#)?;
    /// let strict = protocall::auth::JwtValidator::new(keys, "iss", "aud").leeway(std::time::Duration::ZERO);
    /// # let _ = strict;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> JwtValidator {
        self.leeway = leeway;
        self
    }

    async fn check(&self, token: &str) -> Result<Claims, Status> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| {
            Status::unauthenticated(format!("malformed token: {}", reason(e.kind())))
        })?;
        if !self.algorithms.contains(&header.alg) {
            return Err(Status::unauthenticated(format!(
                "token algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let keys = self
            .keys
            .candidates(header.kid.as_deref(), header.alg)
            .await?;
        if keys.is_empty() {
            return Err(Status::unauthenticated(match &header.kid {
                Some(kid) => format!("no key {kid:?} for algorithm {:?}", header.alg),
                None => format!("no key for algorithm {:?}", header.alg),
            }));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let mut last = None;
        for key in &keys {
            match jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation) {
                Ok(data) => return self.checked_iat(data.claims),
                Err(error) if *error.kind() == ErrorKind::InvalidSignature => last = Some(error),
                Err(error) => return Err(Status::unauthenticated(reason(error.kind()))),
            }
        }
        let kind = last.map_or(ErrorKind::InvalidSignature, |e| e.into_kind());
        Err(Status::unauthenticated(reason(&kind)))
    }

    /// `iat` in the future (past the leeway) is a forgery or a broken clock.
    fn checked_iat(&self, claims: Map<String, Value>) -> Result<Claims, Status> {
        if let Some(iat) = claims.get("iat") {
            let iat = iat
                .as_u64()
                .ok_or_else(|| Status::unauthenticated("token iat is not a number of seconds"))?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            if iat > (now + self.leeway).as_secs() {
                return Err(Status::unauthenticated("token issued in the future (iat)"));
            }
        }
        Claims::from_json(Value::Object(claims))
    }
}

impl TokenValidator for JwtValidator {
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
        Box::pin(self.check(token))
    }
}

/// Why a token failed, in words that name the check, not the token.
fn reason(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "token expired".into(),
        ErrorKind::ImmatureSignature => "token not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "token issuer is not accepted".into(),
        ErrorKind::InvalidAudience => "token audience is not accepted".into(),
        ErrorKind::InvalidSignature => "token signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "token algorithm does not fit the key".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("token has no {claim} claim"),
        ErrorKind::InvalidClaimFormat(claim) => format!("token claim {claim} is malformed"),
        ErrorKind::InvalidToken => "not a JWT".into(),
        ErrorKind::InvalidAlgorithmName => "unknown algorithm".into(),
        ErrorKind::Base64(_) => "bad base64".into(),
        ErrorKind::Json(_) => "bad JSON".into(),
        ErrorKind::Utf8(_) => "bad UTF-8".into(),
        other => format!("token rejected ({other:?})"),
    }
}
