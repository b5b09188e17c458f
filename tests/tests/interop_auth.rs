//! Token authentication and mutual TLS against real peers, with the example
//! binaries `secure-server` and `secure-client` (`examples/src/bin/`):
//!
//! * grpcio's client (`tests/python/auth_client.py`, tokens signed by PyPI
//!   pyjwt) against `secure-server`: every token case with its exact code,
//!   and the public health service answering whatever the token;
//! * `secure-client` against `secure-server` requiring client certificates:
//!   a certificate from the client CA passes, none or one from another CA
//!   is refused;
//! * `secure-client` fetching its token by the client-credentials grant from
//!   the OAuth 2.0 endpoint of a grpcio server (`tests/python/auth_server.py`)
//!   that checks the bearer tokens it issued.
//!
//! Certificates (a CA, a server certificate for `localhost` and 127.0.0.1)
//! and the P-256 signing key are made here with rcgen, in a temporary
//! directory per test. Python comes from `PROTOCALL_PYTHON`, else the venv
//! `target/py` that `scripts/setup-peers.sh` creates; without it (or without
//! grpcio, pyjwt or cryptography) the Python tests skip, except with
//! `CI=true`, where they fail.

#[path = "support/peers.rs"]
mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use peers::{Server, build_binaries, python_command, run_client};
use protocall_tests::harness::python_with;
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use serde_json::{Value, json};

const ISSUER: &str = "https://id.interop.test";
const AUDIENCE: &str = "users-api";
const KID: &str = "interop-k1";
const CLIENT: (&str, &str) = ("reporting-job", "s3cret:with spaces&more");
const GRACE: &str = r#"GetUser(1) -> id: 1, name: "Grace Hopper", email: "grace@example.com""#;

// ---------------------------------------------------------------- the peers

/// `secure-server` and `secure-client`, built once per test run.
struct Secure {
    server: PathBuf,
    client: PathBuf,
}

fn secure() -> &'static Secure {
    static BINARIES: OnceLock<Result<Secure, String>> = OnceLock::new();
    let built = BINARIES.get_or_init(|| {
        let [server, client] =
            build_binaries("protocall-examples", ["secure-server", "secure-client"])?;
        Ok(Secure { server, client })
    });
    match built {
        Ok(binaries) => binaries,
        Err(message) => panic!("building the secure binaries: {message}"),
    }
}

fn path_arg(flag: &str, path: &Path) -> String {
    format!("--{flag}={}", path.display())
}

// ------------------------------------------------------------ the material

/// A self-signed CA.
fn ca(name: &str) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

/// A certificate for `names` signed by `ca`, written as `DIR/STEM.pem` and
/// `DIR/STEM.key`.
fn leaf(dir: &Path, stem: &str, names: &[&str], ca: &(Certificate, KeyPair)) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, stem);
    let cert = params.signed_by(&key, &ca.0, &ca.1).unwrap();
    std::fs::write(dir.join(format!("{stem}.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{stem}.key")), key.serialize_pem()).unwrap();
}

/// The test CA (`ca.pem`), a server certificate it signed for `localhost`
/// and 127.0.0.1 (`server.pem`, `server.key`), and the CA itself.
fn server_certificates(dir: &Path) -> (Certificate, KeyPair) {
    let ca = ca("interop auth test CA");
    std::fs::write(dir.join("ca.pem"), ca.0.pem()).unwrap();
    leaf(dir, "server", &["localhost", "127.0.0.1"], &ca);
    ca
}

/// The P-256 signing key (`signing.key`, PKCS #8 PEM) and a JWKS holding
/// its public JWK alone (`jwks.json`, kid [`KID`], alg ES256).
fn signing_key(dir: &Path) -> KeyPair {
    let pair = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = pair.public_key_raw(); // 0x04 || x || y
    let jwks = json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": KID, "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }]});
    std::fs::write(dir.join("signing.key"), pair.serialize_pem()).unwrap();
    std::fs::write(dir.join("jwks.json"), jwks.to_string()).unwrap();
    pair
}

/// `secure-server` on the material of `dir`, with `extra` flags.
fn start_secure_server(dir: &Path, extra: &[String]) -> Server {
    let mut command = Command::new(&secure().server);
    command.args([
        path_arg("tls_cert_file", &dir.join("server.pem")),
        path_arg("tls_key_file", &dir.join("server.key")),
        path_arg("jwks_file", &dir.join("jwks.json")),
        format!("--issuer={ISSUER}"),
        format!("--audience={AUDIENCE}"),
    ]);
    command.args(extra);
    Server::start("secure-server", command)
}

/// A `secure-client` run against 127.0.0.1:`port` trusting `DIR/ca.pem`.
fn secure_client(dir: &Path, port: u16, extra: &[String]) -> Result<String, String> {
    let mut command = Command::new(&secure().client);
    command.args([
        "--server_host=127.0.0.1".to_string(),
        format!("--server_port={port}"),
        path_arg("ca_file", &dir.join("ca.pem")),
    ]);
    command.args(extra);
    run_client(command)
}

/// Asserts a `secure-client` run failed with exit 1 and `code`, the
/// message containing `reason`.
fn assert_client_failed(result: Result<String, String>, code: &str, reason: &str, what: &str) {
    let error = result.expect_err(what);
    println!("{what}: {error}");
    let prefix = format!("exit status: 1: GetUser(1) failed: {code}: ");
    assert!(
        error.starts_with(&prefix),
        "{what}: expected {prefix:?}…, got {error:?}"
    );
    assert!(
        error.contains(reason),
        "{what}: {error:?} does not say {reason:?}"
    );
}

// ------------------------------------------------------------------ grpcio

/// What auth_client.py's calls must answer: case, GetUser's code and a
/// fragment of its detail; Health must be `OK SERVING` in every case.
const TOKEN_CASES: &[(&str, &str, &str)] = &[
    ("valid", "OK", "id=1 name='Grace Hopper'"),
    ("expired", "UNAUTHENTICATED", "token expired"),
    (
        "wrong_audience",
        "UNAUTHENTICATED",
        "token audience is not accepted",
    ),
    (
        "wrong_issuer",
        "UNAUTHENTICATED",
        "token issuer is not accepted",
    ),
    (
        "other_key",
        "UNAUTHENTICATED",
        "token signature does not verify",
    ),
    (
        "readonly_scope",
        "PERMISSION_DENIED",
        r#"does not grant the scope "users.read""#,
    ),
    ("none", "UNAUTHENTICATED", "missing bearer token"),
];

/// Splits `line` (`CASE CALL: CODE[: detail| detail]`) after `prefix`
/// into the code and the detail.
fn code_and_detail<'l>(line: &'l str, prefix: &str) -> Option<(&'l str, &'l str)> {
    let rest = line.strip_prefix(prefix)?;
    Some(match rest.split_once([':', ' ']) {
        Some((code, detail)) => (code, detail.trim()),
        None => (rest, ""),
    })
}

#[test]
fn grpcio_client_with_pyjwt_tokens_against_secure_server() {
    let Some(python) = python_with("grpc, grpc_tools.protoc, grpc_health.v1, jwt, cryptography")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    server_certificates(dir.path());
    signing_key(dir.path());
    let server = start_secure_server(dir.path(), &[]);
    let mut client = python_command(&python, "auth_client.py");
    client.args([
        format!("--port={}", server.port),
        path_arg("ca_file", &dir.path().join("ca.pem")),
        path_arg("key_file", &dir.path().join("signing.key")),
        format!("--kid={KID}"),
        format!("--issuer={ISSUER}"),
        format!("--audience={AUDIENCE}"),
        path_arg("stubs_dir", &dir.path().join("stubs")),
    ]);
    let result = run_client(client);
    let stopped = server.stop();
    let output = result.unwrap_or_else(|e| panic!("auth_client.py failed:\n{e}"));
    println!("grpcio client -> secure-server:\n{output}");
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 2 * TOKEN_CASES.len(), "{output}");
    let mut wrong = Vec::new();
    for (i, &(case, code, fragment)) in TOKEN_CASES.iter().enumerate() {
        let get_user = format!("{case} GetUser: ");
        match code_and_detail(lines[2 * i], &get_user) {
            Some((got, detail)) if got == code && detail.contains(fragment) => {}
            _ => wrong.push(format!(
                "{case}: GetUser must answer {code} ({fragment:?}), got {:?}",
                lines[2 * i]
            )),
        }
        let health = format!("{case} Health: OK SERVING");
        if lines[2 * i + 1] != health {
            wrong.push(format!(
                "{case}: Health is public, expected {health:?}, got {:?}",
                lines[2 * i + 1]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}\n\n{output}", wrong.join("\n"));
    stopped.unwrap();
}

// -------------------------------------------------------------- mutual TLS

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token for `scope`, signed with `key`.
fn token(key: &KeyPair, scope: &str) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(KID.into());
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "secure-client", "scope": scope,
        "iat": now(), "exp": now() + 600,
    });
    let key = jsonwebtoken::EncodingKey::from_ec_der(&key.serialize_der());
    jsonwebtoken::encode(&header, &claims, &key).unwrap()
}

#[test]
fn mutual_tls_between_secure_client_and_secure_server() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let test_ca = server_certificates(dir);
    leaf(dir, "client", &["client.interop.test"], &test_ca);
    let stranger = ca("another CA");
    leaf(dir, "stranger", &["client.interop.test"], &stranger);
    let key = signing_key(dir);
    let good_token = format!("--token={}", token(&key, "users.read"));
    let server = start_secure_server(dir, &[path_arg("client_ca_file", &dir.join("ca.pem"))]);
    let identity = |stem: &str| {
        vec![
            good_token.clone(),
            path_arg("cert_file", &dir.join(format!("{stem}.pem"))),
            path_arg("key_file", &dir.join(format!("{stem}.key"))),
        ]
    };

    // A certificate from the client CA, and a good token.
    let output = secure_client(dir, server.port, &identity("client"))
        .unwrap_or_else(|e| panic!("mutual TLS with a good client certificate failed:\n{e}"));
    assert_eq!(output, GRACE);

    // The certificate does not stand in for the token.
    let mut readonly = identity("client");
    readonly[0] = format!("--token={}", token(&key, "users.readonly"));
    assert_client_failed(
        secure_client(dir, server.port, &readonly),
        "PERMISSION_DENIED",
        "users.read",
        "a token without the scope, over mutual TLS",
    );

    // No client certificate: the handshake is refused.
    assert_client_failed(
        secure_client(dir, server.port, std::slice::from_ref(&good_token)),
        "UNAVAILABLE",
        "",
        "no client certificate",
    );

    // A certificate from another CA: refused too.
    assert_client_failed(
        secure_client(dir, server.port, &identity("stranger")),
        "UNAVAILABLE",
        "",
        "a client certificate from another CA",
    );

    // The server kept serving through the refused handshakes.
    let output = secure_client(dir, server.port, &identity("client"))
        .unwrap_or_else(|e| panic!("the server stopped serving after refusals:\n{e}"));
    assert_eq!(output, GRACE);
    server.stop().unwrap();
}

// ------------------------------------------------- OAuth 2.0 token source

/// auth_server.py's `state.json`.
fn state(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("state.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn secure_client_with_client_credentials_against_grpcio_server() {
    let Some(python) = python_with("grpc, grpc_tools.protoc") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    server_certificates(dir);
    let mut command = python_command(&python, "auth_server.py");
    command.args([
        path_arg("tls_cert_file", &dir.join("server.pem")),
        path_arg("tls_key_file", &dir.join("server.key")),
        format!("--client_id={}", CLIENT.0),
        format!("--client_secret={}", CLIENT.1),
        path_arg("state_dir", dir),
    ]);
    let server = Server::start("auth_server.py", command);
    let token_port = std::fs::read_to_string(dir.join("token_port")).unwrap();
    let endpoint = format!(
        "--token_endpoint=http://127.0.0.1:{}/token",
        token_port.trim()
    );
    let credentials = |secret: &str| {
        vec![
            endpoint.clone(),
            format!("--client_id={}", CLIENT.0),
            format!("--client_secret={secret}"),
            "--scope=users.read".to_string(),
        ]
    };

    // The grant, then the call with the token it gave.
    let result = secure_client(dir, server.port, &credentials(CLIENT.1));
    let seen = state(dir);
    let output =
        result.unwrap_or_else(|e| panic!("secure-client with a token source failed:\n{e}"));
    assert_eq!(output, GRACE);
    assert_eq!(
        seen,
        json!({
            "token_requests": 1, "issued": 1, "grants": [{"scope": "users.read"}],
            "authorized_calls": 1, "refused_calls": 0,
        })
    );

    // A wrong secret: the endpoint says invalid_client, no call is made.
    assert_client_failed(
        secure_client(dir, server.port, &credentials("wrong")),
        "UNAUTHENTICATED",
        "invalid_client",
        "a wrong client secret",
    );
    let seen = state(dir);
    assert_eq!(seen["token_requests"], 2, "{seen}");
    assert_eq!(seen["issued"], 1, "{seen}");
    assert_eq!(seen["authorized_calls"], 1, "{seen}");
    assert_eq!(seen["refused_calls"], 0, "{seen}");

    // A token the endpoint never issued: the grpcio server refuses it.
    assert_client_failed(
        secure_client(dir, server.port, &["--token=never-issued".to_string()]),
        "UNAUTHENTICATED",
        "unknown bearer token",
        "a token the endpoint did not issue",
    );
    let seen = state(dir);
    assert_eq!(seen["token_requests"], 2, "{seen}");
    assert_eq!(seen["refused_calls"], 1, "{seen}");
    server.stop().unwrap();
}
