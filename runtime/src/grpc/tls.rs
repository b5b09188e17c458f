//! TLS with rustls: server identities, client trust, ALPN `h2`.
//!
//! ```no_run
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use protocall::tls::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};
//! // server: its certificate chain and key
//! let identity = Identity::from_pem(std::fs::read("server.pem")?, std::fs::read("server.key")?)?;
//! let (_reporter, health) = protocall::health::health_service();
//! let server = protocall::Server::builder()
//!     .tls_config(ServerTlsConfig::new(identity))?
//!     .add_service(health)
//!     .serve("0.0.0.0:50051".parse()?);
//! tokio::spawn(server);
//! // client: trusts the CA that signed the server's certificate
//! let ca = Certificate::from_pem(std::fs::read("ca.pem")?)?;
//! let channel = protocall::client::Endpoint::new("https://localhost:50051")?
//!     .tls_config(ClientTlsConfig::new().ca_certificate(ca))?
//!     .connect()
//!     .await?;
//! # let _ = channel; Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;

use super::status::{Code, Status};

fn invalid(what: &str, error: impl std::error::Error + Send + Sync + 'static) -> Status {
    Status::from_error(Code::InvalidArgument, format!("{what}: {error}"), error)
}

/// A certificate chain and its private key, from PEM.
///
/// ```no_run
/// # fn f() -> Result<(), protocall::Status> {
/// let identity = protocall::tls::Identity::from_pem(
///     std::fs::read("server.pem").unwrap(),
///     std::fs::read("server.key").unwrap(),
/// )?;
/// # let _ = identity; Ok(()) }
/// ```
#[derive(Debug)]
pub struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The files it was read from, to be re-read when they change.
    files: Option<Arc<(PathBuf, PathBuf)>>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            files: self.files.clone(),
        }
    }
}

impl Identity {
    /// Parses a PEM certificate chain (leaf first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1).
    ///
    /// ```
    /// use protocall::{Code, tls::Identity};
    /// let err = Identity::from_pem("not PEM", "not PEM either").unwrap_err();
    /// assert_eq!(err.code(), Code::InvalidArgument);
    /// ```
    pub fn from_pem(chain: impl AsRef<[u8]>, key: impl AsRef<[u8]>) -> Result<Identity, Status> {
        let chain = Certificate::from_pem(chain)?.0;
        let key = PrivateKeyDer::from_pem_slice(key.as_ref())
            .map_err(|e| invalid("invalid PEM private key", e))?;
        Ok(Identity {
            chain,
            key,
            files: None,
        })
    }

    /// Reads a PEM certificate chain and key from files, and keeps
    /// watching them: a server or client using this identity picks up new
    /// files for its next handshakes, checking at most once a second
    /// (connections already made keep theirs). A pair that does not load
    /// — a certificate written before its key, say — leaves the last good
    /// one in use until it does.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), protocall::Status> {
    /// use protocall::tls::{Identity, ServerTlsConfig};
    /// let identity = Identity::from_files("/etc/tls/server.pem", "/etc/tls/server.key")?;
    /// let server = protocall::Server::builder().tls_config(ServerTlsConfig::new(identity))?;
    /// # let _ = server; Ok(()) }
    /// ```
    pub fn from_files(
        chain: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Result<Identity, Status> {
        let (chain, key) = (chain.into(), key.into());
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                Status::invalid_argument(format!("cannot read {}: {e}", path.display()))
            })
        };
        let mut identity = Identity::from_pem(read(&chain)?, read(&key)?)?;
        identity.files = Some(Arc::new((chain, key)));
        Ok(identity)
    }

    /// The identity as rustls takes it: a fixed key, or one re-read from
    /// its files.
    fn resolver(&self) -> Result<Arc<Reloading>, Status> {
        // From the files as they are now, if it has them: a configuration
        // made after they changed starts from the new pair. The stamp is
        // taken first, so a change during the read is seen next time.
        let files = self.files.clone();
        let stamp = files
            .as_deref()
            .map(|(c, k)| stamp(c, k))
            .unwrap_or_default();
        let fresh = files
            .as_deref()
            .and_then(|(chain, key)| Identity::from_files(chain, key).ok());
        let identity = fresh.as_ref().unwrap_or(self);
        let certified = CertifiedKey::from_der(
            identity.chain.clone(),
            identity.key.clone_key(),
            &provider(),
        )
        .map_err(|e| invalid("certificate and key", e))?;
        Ok(Arc::new(Reloading {
            files,
            state: Mutex::new(ReloadState {
                current: Arc::new(certified),
                stamp,
                checked: Instant::now(),
            }),
        }))
    }
}

/// Modification times and sizes of a certificate file and a key file.
type Stamp = [Option<(SystemTime, u64)>; 2];

fn stamp(chain: &Path, key: &Path) -> Stamp {
    let of = |path: &Path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    };
    [of(chain), of(key)]
}

/// A certificate and key, re-read from their files when these change.
#[derive(Debug)]
struct Reloading {
    files: Option<Arc<(PathBuf, PathBuf)>>,
    state: Mutex<ReloadState>,
}

#[derive(Debug)]
struct ReloadState {
    current: Arc<CertifiedKey>,
    stamp: Stamp,
    checked: Instant,
}

impl Reloading {
    fn current(&self) -> Arc<CertifiedKey> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let Some((chain, key)) = self.files.as_deref() else {
            return state.current.clone();
        };
        if state.checked.elapsed() >= Duration::from_secs(1) {
            state.checked = Instant::now();
            let now = stamp(chain, key);
            if now != state.stamp {
                match Identity::from_files(chain, key).and_then(|identity| {
                    CertifiedKey::from_der(identity.chain, identity.key, &provider())
                        .map_err(|e| invalid("certificate and key", e))
                }) {
                    Ok(certified) => {
                        tracing::info!(certificate = %chain.display(), "TLS identity reloaded");
                        state.current = Arc::new(certified);
                        state.stamp = now;
                    }
                    Err(error) => tracing::warn!(
                        certificate = %chain.display(), %error,
                        "TLS identity files changed but do not load; keeping the previous one"
                    ),
                }
            }
        }
        state.current.clone()
    }
}

impl rustls::server::ResolvesServerCert for Reloading {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl rustls::client::ResolvesClientCert for Reloading {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// One or more trusted certificates, from PEM.
///
/// ```no_run
/// # fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use protocall::tls::{Certificate, ClientTlsConfig};
/// let ca = Certificate::from_pem(std::fs::read("ca.pem")?)?;
/// let config = ClientTlsConfig::new().ca_certificate(ca);
/// # let _ = config; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Certificate(Vec<CertificateDer<'static>>);

impl Certificate {
    /// Parses every `CERTIFICATE` block of `pem`; at least one is required.
    ///
    /// ```
    /// use protocall::tls::Certificate;
    /// let err = Certificate::from_pem("no certificate here").unwrap_err();
    /// assert_eq!(err.message(), "no certificate in the PEM data");
    /// ```
    pub fn from_pem(pem: impl AsRef<[u8]>) -> Result<Certificate, Status> {
        let certs = CertificateDer::pem_slice_iter(pem.as_ref())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("invalid PEM certificate", e))?;
        if certs.is_empty() {
            return Err(Status::invalid_argument("no certificate in the PEM data"));
        }
        Ok(Certificate(certs))
    }

    fn roots(&self) -> Result<rustls::RootCertStore, Status> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in &self.0 {
            roots
                .add(cert.clone())
                .map_err(|e| invalid("unusable CA certificate", e))?;
        }
        Ok(roots)
    }
}

/// The client certificates a TLS peer presented, in a server request's
/// extensions (mutual TLS).
///
/// ```
/// use protocall::{Request, Response, Status, extensions::PeerCertificates};
/// async fn handler(request: Request<()>) -> Result<Response<()>, Status> {
///     let Some(certs) = request.extensions().get::<PeerCertificates>() else {
///         return Err(Status::unauthenticated("a client certificate is required"));
///     };
///     println!("client chain of {} certificates", certs.0.len());
///     Ok(Response::new(()))
/// }
/// ```
#[derive(Clone, Debug)]
pub struct PeerCertificates(pub Arc<Vec<CertificateDer<'static>>>);

impl PeerCertificates {
    /// The identity of the peer's own certificate (the first of the chain).
    ///
    /// ```
    /// # fn f(certs: &protocall::extensions::PeerCertificates) -> Result<(), protocall::Status> {
    /// let identity = certs.identity()?;
    /// println!("{} ({:?})", identity.subject(), identity.spiffe_id());
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> Result<PeerIdentity, Status> {
        let leaf = self
            .0
            .first()
            .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
        PeerIdentity::from_der(leaf)
    }
}

/// Who a certificate names: its subject and subject alternative names
/// (DNS names, URIs — a SPIFFE ID among them —, IP addresses, e-mail
/// addresses), read from a certificate TLS has already verified. Handlers
/// get the client's from [`PeerCertificates::identity`]; an
/// `Authenticator` (`protocall::auth`, feature `auth`) can require one per
/// method.
///
/// ```
/// # fn f(der: &[u8]) -> Result<(), protocall::Status> {
/// let identity = protocall::tls::PeerIdentity::from_der(der)?;
/// if identity.spiffe_id() == Some("spiffe://example.org/ns/prod/sa/billing") {
///     // the billing service
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    subject: String,
    dns_names: Vec<String>,
    uris: Vec<String>,
    ip_addresses: Vec<std::net::IpAddr>,
    emails: Vec<String>,
}

impl PeerIdentity {
    /// Reads a DER certificate's names (no verification: TLS did that).
    ///
    /// ```
    /// assert!(protocall::tls::PeerIdentity::from_der(b"not a certificate").is_err());
    /// ```
    pub fn from_der(der: &[u8]) -> Result<PeerIdentity, Status> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| Status::unauthenticated(format!("unreadable certificate: {e}")))?;
        let mut identity = PeerIdentity {
            subject: cert.subject().to_string(),
            ..PeerIdentity::default()
        };
        let names = cert.subject_alternative_name().map_err(|e| {
            Status::unauthenticated(format!("unreadable subject alternative names: {e}"))
        })?;
        for name in names.iter().flat_map(|ext| ext.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(dns) => identity.dns_names.push((*dns).to_owned()),
                GeneralName::URI(uri) => identity.uris.push((*uri).to_owned()),
                GeneralName::RFC822Name(email) => identity.emails.push((*email).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        identity.ip_addresses.push(v4.into());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        identity.ip_addresses.push(v6.into());
                    }
                }
                _ => {}
            }
        }
        Ok(identity)
    }

    /// The subject as RFC 4514 text, e.g. `CN=billing, O=Example`.
    ///
    /// ```
    /// assert_eq!(protocall::tls::PeerIdentity::default().subject(), "");
    /// ```
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The DNS names.
    ///
    /// ```
    /// assert!(protocall::tls::PeerIdentity::default().dns_names().is_empty());
    /// ```
    pub fn dns_names(&self) -> &[String] {
        &self.dns_names
    }

    /// The URIs.
    ///
    /// ```
    /// assert!(protocall::tls::PeerIdentity::default().uris().is_empty());
    /// ```
    pub fn uris(&self) -> &[String] {
        &self.uris
    }

    /// The IP addresses.
    ///
    /// ```
    /// assert!(protocall::tls::PeerIdentity::default().ip_addresses().is_empty());
    /// ```
    pub fn ip_addresses(&self) -> &[std::net::IpAddr] {
        &self.ip_addresses
    }

    /// The e-mail addresses.
    ///
    /// ```
    /// assert!(protocall::tls::PeerIdentity::default().emails().is_empty());
    /// ```
    pub fn emails(&self) -> &[String] {
        &self.emails
    }

    /// The SPIFFE ID: the one `spiffe://` URI, when there is exactly one
    /// (an X.509 SVID has one; more is no SVID).
    ///
    /// ```
    /// assert_eq!(protocall::tls::PeerIdentity::default().spiffe_id(), None);
    /// ```
    pub fn spiffe_id(&self) -> Option<&str> {
        let mut ids = self.uris.iter().filter(|uri| uri.starts_with("spiffe://"));
        match (ids.next(), ids.next()) {
            (Some(id), None) => Some(id),
            _ => None,
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Server TLS: the identity to present and, for mutual TLS, the CA that
/// client certificates must chain to.
///
/// ```no_run
/// # fn f(identity: protocall::tls::Identity) -> Result<(), protocall::Status> {
/// let server = protocall::Server::builder()
///     .tls_config(protocall::tls::ServerTlsConfig::new(identity))?;
/// # let _ = server; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ServerTlsConfig {
    identity: Identity,
    client_ca: Option<Certificate>,
    client_auth_optional: bool,
}

impl ServerTlsConfig {
    /// Presents `identity`; clients are not asked for certificates.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::tls::{Identity, ServerTlsConfig};
    /// let identity = Identity::from_pem(std::fs::read("server.pem")?, std::fs::read("server.key")?)?;
    /// let server = protocall::Server::builder().tls_config(ServerTlsConfig::new(identity))?;
    /// # let _ = server; Ok(()) }
    /// ```
    pub fn new(identity: Identity) -> ServerTlsConfig {
        ServerTlsConfig {
            identity,
            client_ca: None,
            client_auth_optional: false,
        }
    }

    /// Requires client certificates chaining to `ca` (mutual TLS).
    ///
    /// ```no_run
    /// # fn f(identity: protocall::tls::Identity) -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::tls::{Certificate, ServerTlsConfig};
    /// let clients_ca = Certificate::from_pem(std::fs::read("clients-ca.pem")?)?;
    /// let config = ServerTlsConfig::new(identity).client_ca_root(clients_ca);
    /// let server = protocall::Server::builder().tls_config(config)?;
    /// # let _ = server; Ok(()) }
    /// ```
    pub fn client_ca_root(mut self, ca: Certificate) -> ServerTlsConfig {
        self.client_ca = Some(ca);
        self
    }

    /// With a client CA: also accept clients that present no certificate.
    ///
    /// ```no_run
    /// # fn f(identity: protocall::tls::Identity, clients_ca: protocall::tls::Certificate) -> Result<(), protocall::Status> {
    /// use protocall::tls::ServerTlsConfig;
    /// // certificates are checked when presented; handlers look for PeerCertificates
    /// let config = ServerTlsConfig::new(identity).client_ca_root(clients_ca).client_auth_optional(true);
    /// let server = protocall::Server::builder().tls_config(config)?;
    /// # let _ = server; Ok(()) }
    /// ```
    pub fn client_auth_optional(mut self, optional: bool) -> ServerTlsConfig {
        self.client_auth_optional = optional;
        self
    }

    pub(crate) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, Status> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS setup", e))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(ca.roots()?),
                    provider(),
                );
                let verifier = if self.client_auth_optional {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier.build().map_err(|e| invalid("client CA", e))?,
                )
            }
        };
        let mut config = builder.with_cert_resolver(self.identity.resolver()?);
        // HTTP/2 first; HTTP/1.1 for browsers' gRPC-Web and Connect calls.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// Client TLS: which roots to trust (the Mozilla set by default), the name
/// to verify, and an identity for mutual TLS.
///
/// ```no_run
/// # fn f(ca: protocall::tls::Certificate) -> Result<(), protocall::Status> {
/// let endpoint = protocall::client::Endpoint::new("https://127.0.0.1:50051")?.tls_config(
///     protocall::tls::ClientTlsConfig::new().ca_certificate(ca).domain_name("localhost"),
/// )?;
/// # let _ = endpoint; Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientTlsConfig {
    ca: Option<Certificate>,
    domain: Option<String>,
    identity: Option<Identity>,
}

impl ClientTlsConfig {
    /// Trusts the Mozilla root set (webpki-roots).
    ///
    /// ```
    /// use protocall::{client::Endpoint, tls::ClientTlsConfig};
    /// let channel = Endpoint::new("https://example.com")?
    ///     .tls_config(ClientTlsConfig::new())?
    ///     .connect_lazy();
    /// # let _ = channel;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn new() -> ClientTlsConfig {
        ClientTlsConfig::default()
    }

    /// Trusts `ca` instead of the Mozilla roots.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::tls::{Certificate, ClientTlsConfig};
    /// let ca = Certificate::from_pem(std::fs::read("ca.pem")?)?;
    /// let config = ClientTlsConfig::new().ca_certificate(ca);
    /// # let _ = config; Ok(()) }
    /// ```
    pub fn ca_certificate(mut self, ca: Certificate) -> ClientTlsConfig {
        self.ca = Some(ca);
        self
    }

    /// Verifies the server certificate against `name` instead of the URI's host.
    ///
    /// ```
    /// use protocall::{client::Endpoint, tls::ClientTlsConfig};
    /// // connect by address, verify the certificate issued to `localhost`
    /// let endpoint = Endpoint::new("https://127.0.0.1:50051")?
    ///     .tls_config(ClientTlsConfig::new().domain_name("localhost"))?;
    /// # let _ = endpoint;
    /// # Ok::<(), protocall::Status>(())
    /// ```
    pub fn domain_name(mut self, name: impl Into<String>) -> ClientTlsConfig {
        self.domain = Some(name.into());
        self
    }

    /// Presents `identity` to servers that ask for a client certificate.
    ///
    /// ```no_run
    /// # fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use protocall::tls::{ClientTlsConfig, Identity};
    /// let me = Identity::from_pem(std::fs::read("client.pem")?, std::fs::read("client.key")?)?;
    /// let config = ClientTlsConfig::new().identity(me);
    /// # let _ = config; Ok(()) }
    /// ```
    pub fn identity(mut self, identity: Identity) -> ClientTlsConfig {
        self.identity = Some(identity);
        self
    }

    pub(crate) fn connector(&self, host: &str) -> Result<TlsConnector, Status> {
        let roots = match &self.ca {
            Some(ca) => ca.roots()?,
            None => rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("TLS setup", e))?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some(identity) => builder.with_client_cert_resolver(identity.resolver()?),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let name = self.domain.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|e| invalid("invalid TLS server name", e))?;
        Ok(TlsConnector {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// A configured client side: rustls connector and the name to verify.
#[derive(Clone)]
pub(crate) struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

impl TlsConnector {
    /// The rustls connector.
    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(self.config.clone())
    }

    /// The same, offering `http/1.1` instead of `h2` in ALPN.
    pub(crate) fn http1(&self) -> TlsConnector {
        let mut config = (*self.config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        TlsConnector {
            config: Arc::new(config),
            server_name: self.server_name.clone(),
        }
    }
}

impl std::fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConnector")
            .field("server_name", &self.server_name)
            .finish()
    }
}
