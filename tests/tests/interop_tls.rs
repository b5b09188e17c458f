//! The interop cases over TLS: our interop client against our interop
//! server with `--use_tls=true`, certificates made for the test.

#[path = "support/peers.rs"]
mod peers;

use std::process::Command;

use peers::{Server, binaries, run_client};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

/// A CA, and a server certificate for `localhost` it signed, as PEM files.
fn certificates(dir: &std::path::Path) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "interop test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
}

#[test]
fn every_case_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path());
    let binaries = binaries();
    let mut server = Command::new(&binaries.server);
    server.args([
        "--use_tls=true".to_string(),
        format!(
            "--tls_cert_file={}",
            dir.path().join("server.pem").display()
        ),
        format!("--tls_key_file={}", dir.path().join("server.key").display()),
    ]);
    let server = Server::start("interop-server (TLS)", server);
    let mut client = Command::new(&binaries.client);
    client.args([
        "--server_host=127.0.0.1".to_string(),
        format!("--server_port={}", server.port),
        "--test_case=all".to_string(),
        "--use_tls=true".to_string(),
        format!("--ca_file={}", dir.path().join("ca.pem").display()),
        "--server_host_override=localhost".to_string(),
    ]);
    let result = run_client(client);
    let stopped = server.stop();
    let output = result.unwrap_or_else(|e| panic!("interop over TLS failed:\n{e}"));
    assert_eq!(output.matches(": PASS").count(), 18, "{output}");
    stopped.unwrap();

    // Without the CA the client must not connect.
    let mut server = Command::new(&binaries.server);
    server.args([
        "--use_tls=true".to_string(),
        format!(
            "--tls_cert_file={}",
            dir.path().join("server.pem").display()
        ),
        format!("--tls_key_file={}", dir.path().join("server.key").display()),
    ]);
    let server = Server::start("interop-server (TLS)", server);
    let mut client = Command::new(&binaries.client);
    client.args([
        "--server_host=127.0.0.1".to_string(),
        format!("--server_port={}", server.port),
        "--test_case=empty_unary".to_string(),
        "--use_tls=true".to_string(),
        "--server_host_override=localhost".to_string(),
    ]);
    assert!(
        run_client(client).is_err(),
        "an untrusted server certificate was accepted"
    );
    server.stop().unwrap();
}
