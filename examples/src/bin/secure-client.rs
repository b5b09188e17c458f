//! Calls `user.UserService/GetUser(1)` over TLS with a bearer token —
//! given (`--token`), or fetched by the OAuth 2.0 client-credentials grant
//! (`--token_endpoint` with `--client_id` and `--client_secret`) — and
//! prints the reply or the status.
//!
//! ```text
//! cargo run -p protocall-examples --bin secure-client -- --server_host=H --server_port=P \
//!     --ca_file=F [--cert_file=F --key_file=F] \
//!     --token=T | --token_endpoint=URL --client_id=ID --client_secret=SECRET
//! ```
//!
//! `--cert_file`/`--key_file` present a client certificate (mutual TLS);
//! `--ca_file` is trusted for the server and for an `https://` token
//! endpoint; `--scope` asks the token endpoint for scopes (space-separated)
//! and `--server_host_override` verifies another name than the host.
//! Prints `GetUser(1) -> ...` and exits 0, or `GetUser(1) failed: CODE:
//! message` and exits 1; exits 2 on a bad command line.

use std::collections::HashMap;

use protocall::auth::{BearerToken, ClientCredentials};
use protocall::client::Endpoint;
use protocall::tls::{Certificate, ClientTlsConfig, Identity};
use protocall_examples::flags;
use protocall_examples::user::GetUserRequest;
use protocall_examples::user::user_service_client::UserServiceClient;

const USAGE: &str = "usage: secure-client --server_host=H --server_port=P --ca_file=F \
[--cert_file=F --key_file=F] [--server_host_override=NAME] \
--token=T | --token_endpoint=URL --client_id=ID --client_secret=SECRET [--scope=SCOPES]";

const FLAGS: &[&str] = &[
    "server_host",
    "server_port",
    "ca_file",
    "cert_file",
    "key_file",
    "token",
    "token_endpoint",
    "client_id",
    "client_secret",
    "scope",
    "server_host_override",
];

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("secure-client: {message}\n{USAGE}");
    std::process::exit(2);
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| fail(format!("{path}: {e}")))
}

/// Trusting `--ca_file` only: what the token endpoint is checked with.
fn trusting_ca(args: &HashMap<String, String>) -> ClientTlsConfig {
    let ca = args
        .get("ca_file")
        .unwrap_or_else(|| fail("--ca_file is required"));
    let ca = Certificate::from_pem(read(ca)).unwrap_or_else(|e| fail(format!("--ca_file: {e}")));
    ClientTlsConfig::new().ca_certificate(ca)
}

/// The TLS settings of the gRPC server: the CA, the client identity and
/// the name to verify, when given.
fn tls(args: &HashMap<String, String>) -> ClientTlsConfig {
    let mut config = trusting_ca(args);
    match (args.get("cert_file"), args.get("key_file")) {
        (Some(cert), Some(key)) => {
            let identity = Identity::from_pem(read(cert), read(key))
                .unwrap_or_else(|e| fail(format!("--cert_file/--key_file: {e}")));
            config = config.identity(identity);
        }
        (None, None) => {}
        _ => fail("--cert_file and --key_file go together"),
    }
    if let Some(name) = args.get("server_host_override") {
        config = config.domain_name(name.clone());
    }
    config
}

#[tokio::main]
async fn main() {
    let mut args = HashMap::new();
    for (flag, value) in flags::parse(std::env::args().skip(1)).unwrap_or_else(|e| fail(e)) {
        if FLAGS.contains(&flag.as_str()) {
            args.insert(flag, value);
        } else {
            flags::ignore(&flag);
        }
    }
    let host = args
        .get("server_host")
        .cloned()
        .unwrap_or_else(|| fail("--server_host is required"));
    let port = args
        .get("server_port")
        .unwrap_or_else(|| fail("--server_port is required"));
    let host_in_uri = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let tls = tls(&args);
    let channel = Endpoint::new(format!("https://{host_in_uri}:{port}"))
        .and_then(|endpoint| endpoint.tls_config(tls))
        .unwrap_or_else(|e| fail(e))
        .connect_lazy();
    let client = UserServiceClient::new(channel);
    let client = match (args.get("token"), args.get("token_endpoint")) {
        (Some(token), None) => client.with_interceptor(
            BearerToken::new(token).unwrap_or_else(|e| fail(format!("--token: {e}"))),
        ),
        (None, Some(endpoint)) => {
            let (Some(id), Some(secret)) = (args.get("client_id"), args.get("client_secret"))
            else {
                fail("--token_endpoint needs --client_id and --client_secret");
            };
            let mut credentials = ClientCredentials::new(endpoint, id, secret)
                .unwrap_or_else(|e| fail(format!("--token_endpoint: {e}")))
                // The endpoint's own name, and no client certificate.
                .tls_config(trusting_ca(&args));
            if let Some(scope) = args.get("scope") {
                credentials = credentials.scopes(scope.split(' ').filter(|s| !s.is_empty()));
            }
            client.with_interceptor(credentials)
        }
        _ => fail("give --token, or --token_endpoint with --client_id and --client_secret"),
    };
    let request = GetUserRequest {
        id: 1,
        ..Default::default()
    };
    match client.get_user(request).await {
        Ok(reply) => {
            let user = reply.into_inner();
            println!(
                "GetUser(1) -> id: {}, name: {:?}, email: {:?}",
                user.id, user.name, user.email
            );
        }
        Err(status) => {
            println!(
                "GetUser(1) failed: {}: {}",
                status.code().as_str(),
                status.message()
            );
            std::process::exit(1);
        }
    }
}
