//! TLS (feature `tls`): h2 over rustls with ALPN `h2`, server and mutual
//! authentication, failures as `UNAVAILABLE`, and a Python grpcio client on
//! a secure channel.

use std::time::Duration;

use protocall::extensions::PeerCertificates;
use protocall::tls::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
use protocall::{Code, Message, Request, Response, Server, Status, client::Endpoint};
use protocall_tests::protocall::test::Everything;
use protocall_tests::protocall::test::echo_client::EchoClient;
use protocall_tests::protocall::test::echo_server::{Echo, EchoServer};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A date: (year, month, day).
type Ymd = (i32, u8, u8);

/// A CA, and PEM identities it signed.
struct Pki {
    ca_pem: String,
    ca: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "protocall test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            ca,
            ca_key,
        }
    }

    /// (certificate PEM, key PEM) for `names`.
    fn issue(&self, names: &[&str]) -> (String, String) {
        self.issue_valid(names, None)
    }

    /// The same, valid from and until the given (year, month, day)s.
    fn issue_valid(&self, names: &[&str], validity: Option<(Ymd, Ymd)>) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if let Some(((y1, m1, d1), (y2, m2, d2))) = validity {
            params.not_before = rcgen::date_time_ymd(y1, m1, d1);
            params.not_after = rcgen::date_time_ymd(y2, m2, d2);
        }
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Echoes the request, reporting in `f_string` whether the peer presented
/// a client certificate.
struct Echoer;

impl Echo for Echoer {
    async fn echo(&self, request: Request<Everything>) -> Result<Response<Everything>, Status> {
        let client_cert = request
            .extensions()
            .get::<PeerCertificates>()
            .is_some_and(|c| !c.0.is_empty());
        let mut message = request.into_inner();
        message.f_string = format!("client cert: {client_cert}");
        Ok(Response::new(message))
    }
}

struct Running {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), &mut self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

async fn serve(config: ServerTlsConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = Server::builder()
        .tls_config(config)
        .unwrap()
        .add_service(EchoServer::new(Echoer));
    let task = tokio::spawn(server.serve_with_listener(listener, async {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

async fn call(addr: std::net::SocketAddr, config: ClientTlsConfig) -> Result<Everything, Status> {
    let endpoint = Endpoint::new(format!("https://127.0.0.1:{}", addr.port()))?
        .tls_config(config)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await?;
    let client = EchoClient::new(channel);
    client
        .echo(Everything {
            f_int32: 7,
            ..Default::default()
        })
        .await
        .map(Response::into_inner)
}

#[tokio::test]
async fn server_authenticated_call() {
    let pki = Pki::new();
    let (cert, key) = pki.issue(&["localhost", "127.0.0.1"]);
    let server = serve(ServerTlsConfig::new(
        Identity::from_pem(&cert, &key).unwrap(),
    ))
    .await;
    let ca = Certificate::from_pem(&pki.ca_pem).unwrap();

    // Verified against the IP in the URI, and against a name.
    let reply = call(
        server.addr,
        ClientTlsConfig::new().ca_certificate(ca.clone()),
    )
    .await
    .unwrap();
    assert_eq!(
        (reply.f_int32, reply.f_string.as_str()),
        (7, "client cert: false")
    );
    let reply = call(
        server.addr,
        ClientTlsConfig::new()
            .ca_certificate(ca)
            .domain_name("localhost"),
    )
    .await
    .unwrap();
    assert_eq!(reply.f_int32, 7);
    server.stop().await;
}

#[tokio::test]
async fn untrusted_or_mismatched_servers_are_unavailable() {
    let pki = Pki::new();
    let (cert, key) = pki.issue(&["localhost"]);
    let server = serve(ServerTlsConfig::new(
        Identity::from_pem(&cert, &key).unwrap(),
    ))
    .await;

    // Another CA.
    let other = Certificate::from_pem(Pki::new().ca_pem).unwrap();
    let err = call(
        server.addr,
        ClientTlsConfig::new()
            .ca_certificate(other)
            .domain_name("localhost"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    // The right CA, the wrong name.
    let ca = Certificate::from_pem(&pki.ca_pem).unwrap();
    let err = call(
        server.addr,
        ClientTlsConfig::new()
            .ca_certificate(ca)
            .domain_name("elsewhere.test"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    // Plain h2c against a TLS port.
    let plain = protocall::Channel::connect(format!("http://{}", server.addr)).await;
    let result = match plain {
        Ok(channel) => EchoClient::new(channel)
            .echo(Everything::default())
            .await
            .map(drop),
        Err(status) => Err(status),
    };
    assert_eq!(result.unwrap_err().code(), Code::Unavailable);
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls() {
    let pki = Pki::new();
    let (cert, key) = pki.issue(&["localhost"]);
    let ca = Certificate::from_pem(&pki.ca_pem).unwrap();
    let config =
        ServerTlsConfig::new(Identity::from_pem(&cert, &key).unwrap()).client_ca_root(ca.clone());
    let server = serve(config).await;
    let client_config = ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name("localhost");

    // No client certificate: refused.
    let err = call(server.addr, client_config.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");

    // A certificate from the CA: accepted, and visible to the handler.
    let (client_cert, client_key) = pki.issue(&["client.test"]);
    let identity = Identity::from_pem(client_cert, client_key).unwrap();
    let reply = call(server.addr, client_config.identity(identity))
        .await
        .unwrap();
    assert_eq!(reply.f_string, "client cert: true");
    server.stop().await;
}

#[tokio::test]
async fn expired_and_future_certificates_and_mismatched_transports_fail() {
    let pki = Pki::new();
    let ca = Certificate::from_pem(&pki.ca_pem).unwrap();
    let trusting = || {
        ClientTlsConfig::new()
            .ca_certificate(ca.clone())
            .domain_name("localhost")
    };
    for validity in [((2000, 1, 1), (2001, 1, 1)), ((2090, 1, 1), (2091, 1, 1))] {
        let (cert, key) = pki.issue_valid(&["localhost"], Some(validity));
        let server = serve(ServerTlsConfig::new(
            Identity::from_pem(&cert, &key).unwrap(),
        ))
        .await;
        let err = call(server.addr, trusting()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err}");
        assert!(err.message().contains("TLS handshake"), "{err}");
        server.stop().await;
    }

    // A client certificate from another CA, where the server requires one.
    let (cert, key) = pki.issue(&["localhost"]);
    let config =
        ServerTlsConfig::new(Identity::from_pem(&cert, &key).unwrap()).client_ca_root(ca.clone());
    let server = serve(config).await;
    let stranger = Pki::new();
    let (client_cert, client_key) = stranger.issue(&["client.test"]);
    let identity = Identity::from_pem(client_cert, client_key).unwrap();
    let err = call(server.addr, trusting().identity(identity))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    server.stop().await;

    // A TLS client to a plaintext port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let plain = tokio::spawn(
        Server::builder()
            .add_service(EchoServer::new(Echoer))
            .serve_with_listener(listener, std::future::pending()),
    );
    let err = call(addr, trusting()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    plain.abort();
}

#[tokio::test]
async fn identities_from_files_are_reloaded_for_new_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let (old_ca, new_ca) = (Pki::new(), Pki::new());
    let write = |pki: &Pki| {
        let (cert, key) = pki.issue(&["localhost"]);
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
    };
    write(&old_ca);
    let identity = Identity::from_files(&cert_path, &key_path).unwrap();
    let server = serve(ServerTlsConfig::new(identity)).await;
    let trusting = |pki: &Pki| {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca_pem).unwrap())
            .domain_name("localhost")
    };
    let endpoint = Endpoint::new(format!("https://127.0.0.1:{}", server.addr.port()))
        .unwrap()
        .tls_config(trusting(&old_ca))
        .unwrap();
    let open = EchoClient::new(endpoint.connect().await.unwrap());
    open.echo(Everything::default()).await.unwrap();

    // New files: a certificate from another CA.
    write(&new_ca);
    tokio::time::sleep(Duration::from_millis(1200)).await; // checked at most once a second
    let reply = call(server.addr, trusting(&new_ca)).await.unwrap();
    assert_eq!(reply.f_int32, 7, "new handshakes use the new pair");
    let err = call(server.addr, trusting(&old_ca)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    open.echo(Everything::default())
        .await
        .expect("the connection made before is unaffected");

    // A half-written pair (a key that does not match) keeps the last good one.
    let (_, other_key) = old_ca.issue(&["localhost"]);
    std::fs::write(&key_path, other_key).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    call(server.addr, trusting(&new_ca)).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn client_identities_from_files_are_reloaded_too() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("client.pem"), dir.path().join("client.key"));
    let pki = Pki::new();
    let (cert, key) = pki.issue(&["localhost"]);
    let ca = Certificate::from_pem(&pki.ca_pem).unwrap();
    let config =
        ServerTlsConfig::new(Identity::from_pem(&cert, &key).unwrap()).client_ca_root(ca.clone());
    let server = serve(config).await;
    let write = |issuer: &Pki| {
        let (cert, key) = issuer.issue(&["client.test"]);
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
    };
    write(&Pki::new()); // a CA the server does not trust
    let client_config = ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name("localhost")
        .identity(Identity::from_files(&cert_path, &key_path).unwrap());
    // One endpoint throughout: its reconnects use the files as they are.
    let endpoint = Endpoint::new(format!("https://127.0.0.1:{}", server.addr.port()))
        .unwrap()
        .tls_config(client_config)
        .unwrap();
    // TLS 1.3 clients finish before the server checks their certificate:
    // the refusal shows on the first call.
    let echo = |channel: protocall::Channel| async move {
        EchoClient::new(channel).echo(Everything::default()).await
    };
    let err = echo(endpoint.connect_lazy()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    write(&pki);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let reply = echo(endpoint.connect_lazy()).await.unwrap().into_inner();
    assert_eq!(reply.f_string, "client cert: true");
    server.stop().await;
}

#[tokio::test]
async fn a_server_that_never_answers_the_handshake_times_out() {
    // Accepts, reads, never writes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let ca = Certificate::from_pem(Pki::new().ca_pem).unwrap();
    let endpoint = Endpoint::new(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .tls_config(ClientTlsConfig::new().ca_certificate(ca))
        .unwrap()
        .connect_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(10), endpoint.connect())
        .await
        .expect("bounded by the connect timeout")
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err}");
    assert!(err.message().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    silent.abort();
}

#[test]
fn bad_pem_is_an_invalid_argument() {
    assert_eq!(
        Certificate::from_pem("not pem").unwrap_err().code(),
        Code::InvalidArgument
    );
    assert_eq!(
        Identity::from_pem("x", "y").unwrap_err().code(),
        Code::InvalidArgument
    );
    let err = Endpoint::new("http://127.0.0.1:1")
        .unwrap()
        .tls_config(ClientTlsConfig::new())
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

fn python() -> Option<std::path::PathBuf> {
    protocall_tests::harness::python_with("grpc")
}

/// A grpcio client on a secure channel: the raw method, no stubs needed.
const PYTHON_CLIENT: &str = r#"
import sys, grpc
ca = open(sys.argv[1], 'rb').read()
creds = grpc.ssl_channel_credentials(root_certificates=ca)
with grpc.secure_channel(sys.argv[2], creds, options=[('grpc.ssl_target_name_override', 'localhost')]) as channel:
    call = channel.unary_unary('/protocall.test.Echo/Echo')
    reply = call(bytes.fromhex(sys.argv[3]), timeout=10)
    print(reply.hex())
"#;

#[test]
fn grpcio_client_over_tls() {
    let Some(python) = python() else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pki = Pki::new();
    let (cert, key) = pki.issue(&["localhost"]);
    let server = runtime.block_on(serve(ServerTlsConfig::new(
        Identity::from_pem(&cert, &key).unwrap(),
    )));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).unwrap();
    let request = Everything {
        f_int32: 99,
        ..Default::default()
    }
    .encode_to_vec();
    let hex: String = request.iter().map(|b| format!("{b:02x}")).collect();
    let output = std::process::Command::new(python)
        .args(["-c", PYTHON_CLIENT])
        .arg(dir.path().join("ca.pem"))
        .arg(format!("127.0.0.1:{}", server.addr.port()))
        .arg(hex)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let bytes: Vec<u8> = (0..text.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text.trim()[i..i + 2], 16).unwrap())
        .collect();
    let reply = Everything::decode(bytes.as_slice()).unwrap();
    assert_eq!(
        (reply.f_int32, reply.f_string.as_str()),
        (99, "client cert: false")
    );
    runtime.block_on(server.stop());
}
