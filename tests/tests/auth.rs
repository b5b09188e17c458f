//! Token authentication (`protocall::auth`) with the attacks tried: a
//! protocall server behind an `Authenticator`, tokens signed here
//! (jsonwebtoken, keys from rcgen), and a small identity provider on
//! loopback (axum) serving the JWKS, a client-credentials token endpoint
//! and an introspection endpoint, each counting its requests. Every case
//! asserts the exact code and the reason the status gives.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use protocall::auth::{
    Authenticator, BearerToken, Claims, ClientCredentials, Introspection, Jwks, JwtValidator,
};
use protocall::health::health_client::HealthClient;
use protocall::health::{HealthCheckRequest, health_service};
use protocall::{Code, Request, Status};
use protocall_tests::protocall::transport::Req;
use protocall_tests::protocall::transport::transport_client::TransportClient;
use protocall_tests::protocall::transport::transport_server::TransportServer;
use serde_json::{Value, json};
use support::*;

const ISSUER: &str = "https://id.test";
const AUDIENCE: &str = "users-api";
const UNARY: &str = "protocall.transport.Transport/Unary";

/// A signing key and its public JWK.
struct SigningKey {
    kid: &'static str,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn ec_key(kid: &'static str) -> SigningKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw(); // 0x04 || x || y
    SigningKey {
        kid,
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(&pair.serialize_der()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        }),
    }
}

fn ed_key(kid: &'static str) -> SigningKey {
    let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    SigningKey {
        kid,
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(&pair.serialize_der()),
        // No `alg`: the key type says EdDSA.
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
        }),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims that pass, with `scope`; `change` edits them.
fn claims(scope: &str, change: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "scope": scope,
        "iat": now(), "exp": now() + 600,
    });
    change(claims.as_object_mut().unwrap());
    claims
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.into());
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

fn jwks(keys: &[&SigningKey]) -> String {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}).to_string()
}

/// The identity provider: a JWKS (changeable, for rotations), a token
/// endpoint and an introspection endpoint, with request counters.
#[derive(Clone, Default)]
struct Provider {
    jwks: Arc<Mutex<String>>,
    jwks_fetches: Arc<AtomicUsize>,
    token_requests: Arc<AtomicUsize>,
    introspections: Arc<AtomicUsize>,
    issued: Arc<Mutex<Vec<String>>>,
    /// The `expires_in` of issued tokens.
    lifetime: Arc<AtomicUsize>,
}

const CLIENT: (&str, &str) = ("reporting-job", "s3cret");
const RESOURCE: (&str, &str) = ("users-api", "introspect-secret");

fn basic_auth(headers: &http::HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let (user, password) = String::from_utf8(decoded)
        .ok()?
        .split_once(':')
        .map(|(u, p)| (u.to_owned(), p.to_owned()))?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    };
    Some((decode(&user), decode(&password)))
}

fn form(body: &str) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

/// TLS on a TCP listener, for axum: the provider over `https://`.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

impl Provider {
    /// Serves over TLS with a certificate for `localhost` from a fresh CA;
    /// answers the base URL and the CA.
    async fn serve_tls(&self) -> (String, protocall::tls::Certificate) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        let listener = TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        let app = self.app();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let ca = protocall::tls::Certificate::from_pem(ca.pem()).unwrap();
        (format!("https://localhost:{port}"), ca)
    }

    async fn serve(&self) -> String {
        let app = self.app();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn app(&self) -> axum::Router {
        use axum::routing::{get, post};
        let jwks = self.clone();
        let token = self.clone();
        let introspect = self.clone();
        axum::Router::new()
            .route(
                "/jwks",
                get(move || async move {
                    jwks.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                    jwks.jwks.lock().unwrap().clone()
                }),
            )
            .route(
                "/token",
                post(move |headers: http::HeaderMap, body: String| async move {
                    token.token_requests.fetch_add(1, Ordering::SeqCst);
                    // Slow enough that concurrent callers overlap.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let form = form(&body);
                    let who = basic_auth(&headers);
                    if who != Some((CLIENT.0.into(), CLIENT.1.into()))
                        || form.get("grant_type").map(String::as_str) != Some("client_credentials")
                    {
                        return (http::StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}).to_string());
                    }
                    let mut issued = token.issued.lock().unwrap();
                    let access = format!("opaque-{}-{}", issued.len(), form.get("scope").cloned().unwrap_or_default().replace(' ', "+"));
                    issued.push(access.clone());
                    let lifetime = token.lifetime.load(Ordering::SeqCst).max(1);
                    let answer = json!({"access_token": access, "token_type": "Bearer", "expires_in": lifetime});
                    (http::StatusCode::OK, answer.to_string())
                }),
            )
            .route(
                "/introspect",
                post(move |headers: http::HeaderMap, body: String| async move {
                    introspect.introspections.fetch_add(1, Ordering::SeqCst);
                    if basic_auth(&headers) != Some((RESOURCE.0.into(), RESOURCE.1.into())) {
                        return (http::StatusCode::UNAUTHORIZED, json!({"error": "invalid_client"}).to_string());
                    }
                    let token = form(&body).get("token").cloned().unwrap_or_default();
                    let known = introspect.issued.lock().unwrap().contains(&token);
                    let answer = if known {
                        json!({"active": true, "sub": CLIENT.0, "client_id": CLIENT.0, "scope": "users.read", "exp": now() + 600})
                    } else {
                        json!({"active": false})
                    };
                    (http::StatusCode::OK, answer.to_string())
                }),
            )
    }
}

/// Copies the verified subject into the `Mark` the test service reports.
async fn mark_subject(mut request: Request<()>) -> Result<Request<()>, Status> {
    if let Some(subject) = request
        .extensions()
        .get::<Claims>()
        .and_then(|c| c.subject().map(str::to_owned))
    {
        request.extensions_mut().insert(Mark(subject));
    }
    Ok(request)
}

/// A plaintext server: the transport service (Unary needs `users.read`,
/// the rest a valid token) and public health, behind `validator`.
async fn server(validator: impl protocall::auth::TokenValidator) -> TestServer {
    let auth = Authenticator::new(validator)
        .public("grpc.health.v1.Health")
        .require_scopes(UNARY, ["users.read"]);
    let (_reporter, health) = health_service();
    let router = protocall::Server::builder()
        .interceptor(auth)
        .interceptor(mark_subject)
        .add_service(TransportServer::new(Svc::default()))
        .add_service(health);
    spawn(router).await
}

/// A call of `path` (`unary` or `server_stream`) with `token` as the
/// whole `authorization` value (none when `None`).
async fn call(server: &TestServer, authorization: Option<&str>) -> Result<String, Status> {
    let client = TransportClient::new(protocall::Channel::connect_lazy(server.uri()).unwrap());
    let mut request = Request::new(Req::default());
    if let Some(value) = authorization {
        request
            .metadata_mut()
            .insert("authorization", value)
            .unwrap();
    }
    bounded(client.unary(request))
        .await
        .map(|reply| reply.into_inner().extension)
}

fn assert_refused(result: Result<String, Status>, code: Code, reason: &str) {
    let status = result.expect_err("the call must be refused");
    assert_eq!(status.code(), code, "{status}");
    assert!(
        status.message().contains(reason),
        "{:?} does not say {reason:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_checks_and_the_classic_attacks() {
    let k1 = ec_key("k1");
    let k2 = ed_key("k2");
    let stranger = ec_key("k1"); // same kid, another key
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = jwks(&[&k1, &k2]);
    let base = provider.serve().await;
    let keys = Jwks::from_url(&format!("{base}/jwks")).unwrap();
    let server = server(JwtValidator::new(keys, ISSUER, AUDIENCE)).await;
    let bearer = |token: &str| format!("Bearer {token}");

    // Valid, with the scope: the handler sees the verified subject.
    let good = sign(&k1, &claims("users.read profile", |_| {}));
    assert_eq!(
        call(&server, Some(&bearer(&good))).await.unwrap(),
        "user-42"
    );
    assert_eq!(
        call(&server, Some(&format!("bearer {good}")))
            .await
            .unwrap(),
        "user-42"
    );
    let ed = sign(&k2, &claims("users.read", |_| {}));
    assert_eq!(call(&server, Some(&bearer(&ed))).await.unwrap(), "user-42");
    let scp = sign(
        &k1,
        &claims("", |c| {
            c.remove("scope");
            c.insert("scp".into(), json!(["users.read"]));
        }),
    );
    assert_eq!(call(&server, Some(&bearer(&scp))).await.unwrap(), "user-42");

    // Missing and malformed.
    assert_refused(
        call(&server, None).await,
        Code::Unauthenticated,
        "missing bearer token",
    );
    assert_refused(
        call(&server, Some(&format!("Basic {good}"))).await,
        Code::Unauthenticated,
        "malformed authorization",
    );
    assert_refused(
        call(&server, Some("Bearer not.a.jwt")).await,
        Code::Unauthenticated,
        "malformed token",
    );

    // Time: expired, not yet valid, issued in the future (past the 30 s leeway).
    let expired = sign(
        &k1,
        &claims("users.read", |c| {
            c.insert("exp".into(), json!(now() - 120));
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&expired))).await,
        Code::Unauthenticated,
        "token expired",
    );
    let early = sign(
        &k1,
        &claims("users.read", |c| {
            c.insert("nbf".into(), json!(now() + 300));
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&early))).await,
        Code::Unauthenticated,
        "not valid yet",
    );
    let future = sign(
        &k1,
        &claims("users.read", |c| {
            c.insert("iat".into(), json!(now() + 300));
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&future))).await,
        Code::Unauthenticated,
        "issued in the future",
    );
    let no_exp = sign(
        &k1,
        &claims("users.read", |c| {
            c.remove("exp");
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&no_exp))).await,
        Code::Unauthenticated,
        "no exp claim",
    );

    // Who: issuer and audience.
    let wrong_iss = sign(
        &k1,
        &claims("users.read", |c| {
            c.insert("iss".into(), json!("https://evil.test"));
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&wrong_iss))).await,
        Code::Unauthenticated,
        "issuer",
    );
    let wrong_aud = sign(
        &k1,
        &claims("users.read", |c| {
            c.insert("aud".into(), json!("billing-api"));
        }),
    );
    assert_refused(
        call(&server, Some(&bearer(&wrong_aud))).await,
        Code::Unauthenticated,
        "audience",
    );

    // Signatures: another key under k1's id; a tampered payload.
    let forged = sign(&stranger, &claims("users.read", |_| {}));
    assert_refused(
        call(&server, Some(&bearer(&forged))).await,
        Code::Unauthenticated,
        "signature does not verify",
    );
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims("admin users.read", |_| {}).to_string());
    assert_refused(
        call(&server, Some(&bearer(&parts.join(".")))).await,
        Code::Unauthenticated,
        "signature does not verify",
    );

    // `alg: none`, signed or not.
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims("users.read", |_| {}).to_string());
    for unsigned in [
        format!("{none_header}.{payload}."),
        format!("{none_header}.{payload}.c2ln"),
    ] {
        assert_refused(
            call(&server, Some(&bearer(&unsigned))).await,
            Code::Unauthenticated,
            "malformed token",
        );
    }

    // HS256 made with the public key as the HMAC secret.
    let public_key_as_secret = EncodingKey::from_secret(k1.jwk.to_string().as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("k1".into());
    let confused = jsonwebtoken::encode(
        &header,
        &claims("users.read", |_| {}),
        &public_key_as_secret,
    )
    .unwrap();
    assert_refused(
        call(&server, Some(&bearer(&confused))).await,
        Code::Unauthenticated,
        "algorithm HS256 is not accepted",
    );
    // …and refused by the key even where HS256 is accepted.
    let keys = Jwks::from_json(&jwks(&[&k1])).unwrap();
    let lenient = server_with_hs256(keys).await;
    assert_refused(
        call(&lenient, Some(&bearer(&confused))).await,
        Code::Unauthenticated,
        "no key \"k1\" for algorithm HS256",
    );

    // The classic form: an RSA public key (without `alg`, so every RS*/PS*
    // algorithm) as the HMAC secret. The attack needs the public key only;
    // the modulus here is 2048 bits made up for the test.
    let mut modulus = vec![0xc5u8; 256];
    modulus[255] |= 1;
    let rsa =
        json!({"kty": "RSA", "kid": "r1", "n": URL_SAFE_NO_PAD.encode(&modulus), "e": "AQAB"});
    let keys = Jwks::from_json(&json!({"keys": [rsa.clone()]}).to_string()).unwrap();
    assert_eq!(keys.len(), 1, "the RSA key is usable");
    let lenient = server_with_hs256(keys).await;
    for secret in [rsa.to_string().into_bytes(), modulus.clone()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("r1".into());
        let key = EncodingKey::from_secret(&secret).unwrap();
        let confused = jsonwebtoken::encode(&header, &claims("users.read", |_| {}), &key).unwrap();
        assert_refused(
            call(&lenient, Some(&bearer(&confused))).await,
            Code::Unauthenticated,
            "no key \"r1\" for algorithm HS256",
        );
        assert_refused(
            call(&server, Some(&bearer(&confused))).await,
            Code::Unauthenticated,
            "algorithm HS256 is not accepted",
        );
    }

    // Valid but without the scope (scopes match exactly).
    let readonly = sign(&k1, &claims("users.readonly users.write", |_| {}));
    assert_refused(
        call(&server, Some(&bearer(&readonly))).await,
        Code::PermissionDenied,
        "users.read",
    );

    // The public method needs nothing, and ignores a bad token.
    let health = HealthClient::new(protocall::Channel::connect_lazy(server.uri()).unwrap());
    bounded(health.check(HealthCheckRequest::default()))
        .await
        .unwrap();
    let mut request = Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("authorization", "Bearer garbage")
        .unwrap();
    bounded(health.check(request)).await.unwrap();
}

async fn server_with_hs256(keys: Jwks) -> TestServer {
    let validator =
        JwtValidator::new(keys, ISSUER, AUDIENCE).algorithms([Algorithm::ES256, Algorithm::HS256]);
    server(validator).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_fetched_over_https_from_a_server_they_trust() {
    let k1 = ec_key("k1");
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = jwks(&[&k1]);
    let (base, ca) = provider.serve_tls().await;
    let good = format!("Bearer {}", sign(&k1, &claims("users.read", |_| {})));

    let trusting = Jwks::from_url(&format!("{base}/jwks"))
        .unwrap()
        .tls_config(protocall::tls::ClientTlsConfig::new().ca_certificate(ca));
    let server_ok = server(JwtValidator::new(trusting, ISSUER, AUDIENCE)).await;
    assert_eq!(call(&server_ok, Some(&good)).await.unwrap(), "user-42");
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 1);

    // The Mozilla roots do not know the test CA: no keys, so UNAVAILABLE.
    let untrusting = Jwks::from_url(&format!("{base}/jwks")).unwrap();
    let server_blind = server(JwtValidator::new(untrusting, ISSUER, AUDIENCE)).await;
    assert_refused(
        call(&server_blind, Some(&good)).await,
        Code::Unavailable,
        "TLS handshake failed",
    );
    assert_eq!(
        provider.jwks_fetches.load(Ordering::SeqCst),
        1,
        "nothing was fetched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_key_ids_refresh_the_jwks_at_a_limited_rate() {
    let k1 = ec_key("k1");
    let k3 = ec_key("k3");
    let provider = Provider::default();
    *provider.jwks.lock().unwrap() = jwks(&[&k1]);
    let base = provider.serve().await;
    let interval = Duration::from_millis(500);
    let keys = Jwks::from_url(&format!("{base}/jwks"))
        .unwrap()
        .min_refresh_interval(interval);
    let server = server(JwtValidator::new(keys, ISSUER, AUDIENCE)).await;
    let bearer = |token: &str| format!("Bearer {token}");

    let good = sign(&k1, &claims("users.read", |_| {}));
    call(&server, Some(&bearer(&good))).await.unwrap();
    call(&server, Some(&bearer(&good))).await.unwrap();
    assert_eq!(
        provider.jwks_fetches.load(Ordering::SeqCst),
        1,
        "fetched once, then cached"
    );

    // The issuer rotates to k3; tokens name it at once.
    *provider.jwks.lock().unwrap() = jwks(&[&k1, &k3]);
    let rotated = sign(&k3, &claims("users.read", |_| {}));
    // Within the interval of the last fetch, an unknown kid fetches nothing…
    assert_refused(
        call(&server, Some(&bearer(&rotated))).await,
        Code::Unauthenticated,
        "no key \"k3\"",
    );
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 1);
    // …after it, one fetch finds the new key.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    assert_eq!(
        call(&server, Some(&bearer(&rotated))).await.unwrap(),
        "user-42"
    );
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 2);

    // A flood of made-up key ids costs at most one fetch per interval.
    tokio::time::sleep(interval + Duration::from_millis(100)).await;
    let stranger = ec_key("made-up");
    let made_up = sign(&stranger, &claims("users.read", |_| {}));
    for _ in 0..20 {
        assert_refused(
            call(&server, Some(&bearer(&made_up))).await,
            Code::Unauthenticated,
            "no key \"made-up\"",
        );
    }
    assert_eq!(provider.jwks_fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_and_introspection_end_to_end() {
    let provider = Provider::default();
    provider.lifetime.store(600, Ordering::SeqCst);
    let base = provider.serve().await;
    let introspection =
        Introspection::new(&format!("{base}/introspect"), RESOURCE.0, RESOURCE.1).unwrap();
    let protected = server(introspection).await;

    let credentials = ClientCredentials::new(&format!("{base}/token"), CLIENT.0, CLIENT.1)
        .unwrap()
        .scopes(["users.read"])
        .allow_plaintext();
    let channel = protocall::Channel::connect_lazy(protected.uri()).unwrap();
    let client = TransportClient::new(channel).with_interceptor(credentials.clone());
    // Twenty calls at once: one token request, one introspection.
    let calls = (0..20).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.unary(Req::default()).await })
    });
    for call in calls {
        let reply = bounded(call).await.unwrap().unwrap();
        assert_eq!(
            reply.into_inner().extension,
            CLIENT.0,
            "the introspected subject reached the handler"
        );
    }
    assert_eq!(provider.token_requests.load(Ordering::SeqCst), 1);
    assert_eq!(
        provider.introspections.load(Ordering::SeqCst),
        1,
        "answers are cached"
    );

    // A token the provider never issued is inactive.
    let stranger = TransportClient::new(protocall::Channel::connect_lazy(protected.uri()).unwrap())
        .with_interceptor(BearerToken::new("opaque-forged").unwrap().allow_plaintext());
    let status = bounded(stranger.unary(Req::default())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("not active"), "{status}");

    // Short-lived tokens are fetched again shortly before they expire.
    provider.lifetime.store(2, Ordering::SeqCst);
    let short = ClientCredentials::new(&format!("{base}/token"), CLIENT.0, CLIENT.1)
        .unwrap()
        .allow_plaintext();
    let first = short.token().await.unwrap();
    assert_eq!(short.token().await.unwrap(), first, "cached");
    tokio::time::sleep(Duration::from_millis(1100)).await; // 2 s life, refreshed 1 s early
    assert_ne!(
        short.token().await.unwrap(),
        first,
        "refreshed before expiry"
    );

    // Wrong client secret: the token endpoint's refusal, named.
    let wrong = ClientCredentials::new(&format!("{base}/token"), CLIENT.0, "guess").unwrap();
    let status = wrong.token().await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("invalid_client"), "{status}");

    // The server's own introspection credentials wrong: not the caller's fault.
    let bad = Introspection::new(&format!("{base}/introspect"), RESOURCE.0, "guess").unwrap();
    let misconfigured = server(bad).await;
    let client =
        TransportClient::new(protocall::Channel::connect_lazy(misconfigured.uri()).unwrap())
            .with_interceptor(credentials);
    let status = bounded(client.unary(Req::default())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_cross_a_plaintext_channel_unless_allowed() {
    let svc = Svc::default();
    let server = spawn(router(protocall::Server::builder(), &svc)).await;
    let channel = protocall::Channel::connect_lazy(server.uri()).unwrap();
    let strict =
        TransportClient::new(channel.clone()).with_interceptor(BearerToken::new("t0k3n").unwrap());
    let status = bounded(strict.unary(Req {
        tag: "strict".into(),
        ..Default::default()
    }))
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("TLS"), "{status}");
    assert!(
        svc.probe.events("strict").is_empty(),
        "nothing reached the server"
    );

    let allowed = TransportClient::new(channel)
        .with_interceptor(BearerToken::new("t0k3n").unwrap().allow_plaintext());
    let reply = bounded(allowed.unary(Req::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.metadata["authorization"], "Bearer t0k3n");
}

/// Accepts the one token `ok`.
struct FixedToken;

impl protocall::auth::TokenValidator for FixedToken {
    fn validate<'a>(&'a self, token: &'a str) -> protocall::auth::ValidateFuture<'a> {
        Box::pin(async move {
            match token {
                "ok" => Claims::from_json(json!({"sub": "token-user"})),
                _ => Err(Status::unauthenticated("unknown token")),
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_are_identities_the_policy_can_require() {
    use protocall::tls::{Certificate, ClientTlsConfig, Identity, PeerIdentity, ServerTlsConfig};
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "auth test CA");
    let ca = params.self_signed(&ca_key).unwrap();
    let issue = |sans: Vec<SanType>, cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = sans;
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        Identity::from_pem(cert.pem(), key.serialize_pem()).unwrap()
    };
    let uri = |text: &str| SanType::URI(text.try_into().unwrap());
    let server_identity = issue(
        vec![SanType::DnsName("localhost".try_into().unwrap())],
        "server",
    );
    let invoicer = issue(
        vec![
            uri("spiffe://example.org/ns/prod/sa/invoicer"),
            SanType::DnsName("invoicer.internal".try_into().unwrap()),
            SanType::IpAddress("10.0.0.7".parse().unwrap()),
        ],
        "invoicer",
    );
    let intruder = issue(
        vec![uri("spiffe://example.org/ns/dev/sa/intruder")],
        "intruder",
    );

    // Unary needs the invoicer's SPIFFE ID and a token; the other methods
    // a token only; the copied spiffe ID shows the handler saw the identity.
    let auth = Authenticator::new(FixedToken).require_peer(UNARY, |peer| {
        peer.spiffe_id() == Some("spiffe://example.org/ns/prod/sa/invoicer")
    });
    let mark_peer = |mut request: Request<()>| async move {
        if let Some(peer) = request.extensions().get::<PeerIdentity>() {
            let seen = format!(
                "{}|{:?}|{:?}",
                peer.spiffe_id().unwrap_or(""),
                peer.dns_names(),
                peer.ip_addresses()
            );
            request.extensions_mut().insert(Mark(seen));
        }
        Ok(request)
    };
    let tls = ServerTlsConfig::new(server_identity)
        .client_ca_root(Certificate::from_pem(ca.pem()).unwrap())
        .client_auth_optional(true);
    let router = protocall::Server::builder()
        .tls_config(tls)
        .unwrap()
        .interceptor(auth)
        .interceptor(mark_peer)
        .add_service(TransportServer::new(Svc::default()));
    let server = spawn(router).await;
    let client = |identity: Option<Identity>| {
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca.pem()).unwrap());
        if let Some(identity) = identity {
            tls = tls.identity(identity);
        }
        let channel =
            protocall::client::Endpoint::new(format!("https://localhost:{}", server.addr.port()))
                .unwrap()
                .tls_config(tls)
                .unwrap()
                .connect_lazy();
        TransportClient::new(channel).with_interceptor(BearerToken::new("ok").unwrap())
    };

    let reply = bounded(client(Some(invoicer)).unary(Req::default()))
        .await
        .unwrap();
    assert_eq!(
        reply.into_inner().extension,
        "spiffe://example.org/ns/prod/sa/invoicer|[\"invoicer.internal\"]|[10.0.0.7]"
    );
    let status = bounded(client(Some(intruder.clone())).unary(Req::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    assert!(status.message().contains("intruder"), "{status}");
    let status = bounded(client(None).unary(Req::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status}");
    assert!(status.message().contains("client certificate"), "{status}");
    // A method without a peer rule: the token is enough.
    let streamed = bounded(client(None).server_stream(Req {
        count: 1,
        ..Default::default()
    }))
    .await;
    assert!(streamed.is_ok());
}
