//! `user.UserService` and `grpc.health.v1.Health` over TLS (mutual with
//! `--client_ca_file`), with JWT bearer tokens checked by
//! `protocall::auth`: `GetUser` needs a token granting `users.read`, the
//! health service none.
//!
//! ```text
//! cargo run -p protocall-examples --bin secure-server -- --port=P \
//!     --tls_cert_file=F --tls_key_file=F [--client_ca_file=F] \
//!     --jwks_file=F --issuer=I --audience=A
//! ```
//!
//! It listens on 127.0.0.1 (`--port=0` picks a free port) and prints
//! `secure-server listening on 127.0.0.1:PORT` once it accepts calls. The
//! JWKS file is re-read when a token names a key it lacks (at most every
//! 30 s). Exits 2 on a bad command line or unusable files.

use std::net::SocketAddr;

use protocall::Server;
use protocall::auth::{Authenticator, Jwks, JwtValidator};
use protocall::health::health_service;
use protocall::tls::{Certificate, Identity, ServerTlsConfig};
use protocall_examples::flags;
use protocall_examples::user::user_service_server::UserServiceServer;
use protocall_examples::users::Users;

const USAGE: &str = "usage: secure-server --port=P --tls_cert_file=F --tls_key_file=F \
[--client_ca_file=F] --jwks_file=F --issuer=I --audience=A";

struct Args {
    port: u16,
    cert: String,
    key: String,
    client_ca: Option<String>,
    jwks: String,
    issuer: String,
    audience: String,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut values = std::collections::HashMap::new();
    for (flag, value) in flags::parse(args).map_err(|e| format!("{e}\n{USAGE}"))? {
        match flag.as_str() {
            "port" | "tls_cert_file" | "tls_key_file" | "client_ca_file" | "jwks_file"
            | "issuer" | "audience" => {
                values.insert(flag, value);
            }
            _ => flags::ignore(&flag),
        }
    }
    let mut take = |name: &str| {
        values
            .remove(name)
            .ok_or_else(|| format!("--{name} is required\n{USAGE}"))
    };
    let port = take("port")?;
    Ok(Args {
        port: port
            .parse()
            .map_err(|_| format!("--port: invalid port {port:?}"))?,
        cert: take("tls_cert_file")?,
        key: take("tls_key_file")?,
        jwks: take("jwks_file")?,
        issuer: take("issuer")?,
        audience: take("audience")?,
        client_ca: take("client_ca_file").ok(),
    })
}

fn read(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

fn tls(args: &Args) -> Result<ServerTlsConfig, String> {
    let identity = Identity::from_pem(read(&args.cert)?, read(&args.key)?)
        .map_err(|e| format!("--tls_cert_file/--tls_key_file: {e}"))?;
    let mut config = ServerTlsConfig::new(identity);
    if let Some(ca) = &args.client_ca {
        let ca = Certificate::from_pem(read(ca)?).map_err(|e| format!("--client_ca_file: {e}"))?;
        config = config.client_ca_root(ca);
    }
    Ok(config)
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("secure-server: {message}");
    std::process::exit(2);
}

#[tokio::main]
async fn main() {
    let args = parse_args(std::env::args().skip(1)).unwrap_or_else(|e| fail(e));
    let tls = tls(&args).unwrap_or_else(|e| fail(e));
    let keys = Jwks::from_file(&args.jwks)
        .unwrap_or_else(|e| fail(format!("--jwks_file: {}", e.message())));
    let auth = Authenticator::new(JwtValidator::new(keys, &args.issuer, &args.audience))
        .public("grpc.health.v1.Health")
        .require_scopes("user.UserService/GetUser", ["users.read"]);
    let server = Server::builder()
        .tls_config(tls)
        .unwrap_or_else(|e| fail(format!("TLS: {}", e.message())));
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {addr}: {e}")));
    let local = listener.local_addr().unwrap_or(addr);
    println!("secure-server listening on {local}");
    let (_reporter, health) = health_service();
    let serve = server
        .interceptor(auth)
        .add_service(UserServiceServer::new(Users))
        .add_service(health)
        .serve_with_listener(listener, std::future::pending());
    if let Err(error) = serve.await {
        eprintln!("secure-server: {error}");
        std::process::exit(1);
    }
}
