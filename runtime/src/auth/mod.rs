//! Token authentication: bearer tokens in the `authorization` metadata,
//! checked on the server and attached by the client (feature `auth`).
//!
//! On the server, an [`Authenticator`] is an
//! [`Interceptor`](crate::server::Interceptor): it finds the
//! policy of the method called (public, or a valid token with these
//! scopes), reads `authorization: Bearer <token>`, has a
//! [`TokenValidator`] check it — [`JwtValidator`] for JWTs against a
//! [`Jwks`], [`Introspection`] for opaque OAuth 2.0 tokens (RFC 7662), or
//! your own — and hands the verified [`Claims`] to the handler in the
//! request extensions. A call without a usable token fails with
//! `UNAUTHENTICATED`; a valid token without the method's scopes with
//! `PERMISSION_DENIED`. The token itself is never logged, nor put in a
//! status message.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use protocall::auth::{Authenticator, Jwks, JwtValidator};
//! let keys = Jwks::from_url("https://issuer.example.com/.well-known/jwks.json")?;
//! let validator = JwtValidator::new(keys, "https://issuer.example.com", "users-api");
//! let auth = Authenticator::new(validator)
//!     .public("grpc.health.v1.Health")
//!     .require_scopes("user.UserService/GetUser", ["users.read"]);
//! let server = protocall::Server::builder().interceptor(auth);
//! # let _ = server; Ok(()) }
//! ```
//!
//! On the client, [`BearerToken`] (a fixed token) and [`ClientCredentials`]
//! (OAuth 2.0 client-credentials grant, cached and refreshed) are
//! interceptors too. Like grpc-go's per-RPC credentials they refuse to
//! travel over a plaintext [`Channel`](crate::Channel) unless told
//! otherwise (`allow_plaintext`).

mod claims;
mod credentials;
mod fetch;
mod introspection;
mod jwt;
mod policy;

use std::future::Future;
use std::pin::Pin;

pub use claims::Claims;
pub use credentials::{BearerToken, ClientCredentials};
pub use introspection::Introspection;
pub use jsonwebtoken::Algorithm;
pub use jwt::{Jwks, JwtValidator};
pub use policy::Authenticator;

use crate::Status;

/// The future a [`TokenValidator`] returns.
pub type ValidateFuture<'a> = Pin<Box<dyn Future<Output = Result<Claims, Status>> + Send + 'a>>;

/// Checks a bearer token and says what it claims: the check behind an
/// [`Authenticator`]. A token that does not pass is an `UNAUTHENTICATED`
/// status naming why (never quoting the token); a validator that cannot
/// check right now (its keys unreachable) answers `UNAVAILABLE`.
///
/// ```
/// use protocall::auth::{Claims, TokenValidator, ValidateFuture};
/// use protocall::Status;
/// /// Accepts one fixed token, for a test.
/// struct Fixed;
/// impl TokenValidator for Fixed {
///     fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
///         Box::pin(async move {
///             match token {
///                 "let-me-in" => Ok(Claims::from_json(serde_json::json!({"sub": "tester"}))?),
///                 _ => Err(Status::unauthenticated("unknown token")),
///             }
///         })
///     }
/// }
/// ```
pub trait TokenValidator: Send + Sync + 'static {
    /// Validates `token` (the text after `Bearer `).
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a>;
}

/// The bearer token of `authorization` metadata: `Bearer <token>`, the
/// scheme in any case (RFC 6750, RFC 9110 §11.1).
fn bearer_token(metadata: &crate::Metadata) -> Result<&str, Status> {
    let mut values = metadata.get_all("authorization");
    let value = values
        .next()
        .ok_or_else(|| Status::unauthenticated("missing bearer token (authorization metadata)"))?;
    if values.next().is_some() {
        return Err(Status::unauthenticated(
            "malformed authorization metadata: more than one value",
        ));
    }
    let malformed =
        || Status::unauthenticated("malformed authorization metadata: expected `Bearer <token>`");
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_start_matches(' ');
    let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || !token.bytes().all(token68) {
        return Err(malformed());
    }
    Ok(token)
}

/// A shared validator validates as the one it shares.
impl<V: TokenValidator + ?Sized> TokenValidator for std::sync::Arc<V> {
    fn validate<'a>(&'a self, token: &'a str) -> ValidateFuture<'a> {
        (**self).validate(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_strictly() {
        let with = |value: &str| {
            let mut metadata = crate::Metadata::new();
            metadata.insert("authorization", value).unwrap();
            bearer_token(&metadata).map(str::to_owned)
        };
        assert_eq!(with("Bearer abc.def-ghi_").unwrap(), "abc.def-ghi_");
        assert_eq!(with("bearer abc").unwrap(), "abc");
        assert_eq!(with("BEARER   abc").unwrap(), "abc");
        for bad in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearerabc",
            "Bearer a b",
            "Bearer a\"b",
        ] {
            let status = with(bad).unwrap_err();
            assert_eq!(status.code(), crate::Code::Unauthenticated, "{bad:?}");
            assert!(
                !status.message().contains("abc"),
                "the token is never quoted"
            );
        }
        let status = bearer_token(&crate::Metadata::new()).unwrap_err();
        assert!(status.message().contains("missing"), "{status}");
        let mut twice = crate::Metadata::new();
        twice.append("authorization", "Bearer a").unwrap();
        twice.append("authorization", "Bearer b").unwrap();
        assert!(bearer_token(&twice).is_err());
    }
}
