//! [`Claims`]: what a verified token says, as handlers read it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::Status;

/// The verified claims of a token, in the request extensions of every call
/// an [`Authenticator`](super::Authenticator) let through: typed access to
/// the registered claims and to scopes, and the rest as JSON.
///
/// ```
/// use protocall::auth::Claims;
/// let claims = Claims::from_json(serde_json::json!({
///     "sub": "user-42", "scope": "users.read users.write", "tenant": "acme",
/// }))?;
/// assert_eq!(claims.subject(), Some("user-42"));
/// assert!(claims.has_scope("users.read"));
/// assert!(!claims.has_scope("users")); // scopes match exactly
/// assert_eq!(claims.get("tenant").and_then(|t| t.as_str()), Some("acme"));
/// # Ok::<(), protocall::Status>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    claims: Map<String, Value>,
}

impl Claims {
    /// Claims from a JSON object (a decoded JWT payload, an introspection
    /// answer); anything but an object is `UNAUTHENTICATED`.
    ///
    /// ```
    /// use protocall::auth::Claims;
    /// assert!(Claims::from_json(serde_json::json!(["not", "an", "object"])).is_err());
    /// ```
    pub fn from_json(json: Value) -> Result<Claims, Status> {
        match json {
            Value::Object(claims) => Ok(Claims { claims }),
            _ => Err(Status::unauthenticated(
                "token claims are not a JSON object",
            )),
        }
    }

    /// The subject (`sub`).
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"sub": "ada"}))?;
    /// assert_eq!(claims.subject(), Some("ada"));
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn subject(&self) -> Option<&str> {
        self.str("sub")
    }

    /// The issuer (`iss`).
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"iss": "https://id.example"}))?;
    /// assert_eq!(claims.issuer(), Some("https://id.example"));
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn issuer(&self) -> Option<&str> {
        self.str("iss")
    }

    /// The audiences (`aud`, a string or an array of them).
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"aud": ["a", "b"]}))?;
    /// assert_eq!(claims.audiences(), ["a", "b"]);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn audiences(&self) -> Vec<&str> {
        strings(self.claims.get("aud"))
    }

    /// When the token expires (`exp`).
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"exp": 2_000_000_000}))?;
    /// assert!(claims.expires_at().is_some());
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn expires_at(&self) -> Option<SystemTime> {
        let seconds = self.claims.get("exp")?.as_u64()?;
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
    }

    /// The scopes granted: the space-separated `scope` claim (as OAuth 2.0
    /// issues it, RFC 8693 §4.2) and the `scp` claim (an array, or a
    /// space-separated string), together.
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"scope": "a b", "scp": ["c"]}))?;
    /// assert_eq!(claims.scopes(), ["a", "b", "c"]);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn scopes(&self) -> Vec<&str> {
        let mut scopes: Vec<&str> = Vec::new();
        for name in ["scope", "scp"] {
            for value in strings(self.claims.get(name)) {
                scopes.extend(value.split(' ').filter(|s| !s.is_empty()));
            }
        }
        scopes
    }

    /// Whether `scope` is granted, compared exactly (`users.readonly` does
    /// not grant `users.read`).
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"scope": "users.readonly"}))?;
    /// assert!(!claims.has_scope("users.read"));
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().contains(&scope)
    }

    /// Any claim, as JSON.
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"roles": ["admin"]}))?;
    /// assert_eq!(claims.get("roles").unwrap()[0], "admin");
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }

    /// All the claims, as a JSON object.
    ///
    /// ```
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"sub": "ada"}))?;
    /// assert_eq!(claims.as_map().len(), 1);
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.claims
    }

    /// The claims as your own type, for custom claims.
    ///
    /// ```
    /// #[derive(serde::Deserialize)]
    /// struct Tenant { tenant: String }
    /// # let claims = protocall::auth::Claims::from_json(serde_json::json!({"tenant": "acme"}))?;
    /// let tenant: Tenant = claims.deserialize().unwrap();
    /// assert_eq!(tenant.tenant, "acme");
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Object(self.claims.clone()))
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.claims.get(name)?.as_str()
    }
}

/// A string claim or an array of strings.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}
