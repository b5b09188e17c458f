//! The few HTTP requests authentication makes — a JWKS `GET`, a token or
//! introspection `POST` — over HTTP/1.1 on hyper, TLS by rustls. Plain
//! `http://` is refused except to a loopback address: keys and tokens
//! fetched in the clear could be forged or read on the way.

use std::net::IpAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Method, StatusCode, header};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;

use crate::tls::ClientTlsConfig;
use crate::{Code, Status};

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read.
const MAX_BODY: usize = 1 << 20;

/// An endpoint of an identity provider: where, and how to trust it.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    uri: http::Uri,
    host: String,
    port: u16,
    https: bool,
    tls: ClientTlsConfig,
}

impl Endpoint {
    /// `https://…`, or `http://` to a loopback host.
    pub(crate) fn new(url: &str) -> Result<Endpoint, Status> {
        let uri: http::Uri = url.parse().map_err(|e| {
            Status::from_error(Code::InvalidArgument, format!("invalid URL {url:?}"), e)
        })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(Status::invalid_argument(format!(
                    "URL {url:?} is not https://"
                )));
            }
        };
        let authority = uri
            .authority()
            .ok_or_else(|| Status::invalid_argument(format!("URL {url:?} has no host")))?;
        let (host, port) = crate::grpc::client::host_and_port(authority, https);
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !https && !loopback {
            return Err(Status::invalid_argument(format!(
                "URL {url:?}: keys and tokens are fetched over https:// (plain http:// only from a loopback address)"
            )));
        }
        Ok(Endpoint {
            uri,
            host,
            port,
            https,
            tls: ClientTlsConfig::new(),
        })
    }

    /// Trusts the server as `tls` says (a private CA, say).
    pub(crate) fn tls_config(&mut self, tls: ClientTlsConfig) {
        self.tls = tls;
    }

    /// `GET` the endpoint.
    pub(crate) async fn get(&self) -> Result<Bytes, Status> {
        self.send(Method::GET, None, None).await
    }

    /// `POST` a form (`application/x-www-form-urlencoded`), with HTTP basic
    /// authentication when `basic` is given (RFC 6749 §2.3.1: both parts
    /// form-encoded first).
    pub(crate) async fn post_form(
        &self,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<Bytes, Status> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let authorization = basic.map(|(user, password)| {
            use base64::Engine as _;
            let encode =
                |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", encode(user), encode(password));
            let mut value = HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ))
            .expect("base64 is a valid header value");
            value.set_sensitive(true);
            value
        });
        self.send(Method::POST, Some(Bytes::from(body)), authorization)
            .await
    }

    async fn send(
        &self,
        method: Method,
        form: Option<Bytes>,
        authorization: Option<HeaderValue>,
    ) -> Result<Bytes, Status> {
        tokio::time::timeout(TIMEOUT, self.exchange(method, form, authorization))
            .await
            .map_err(|_| {
                Status::unavailable(format!("{}: no answer within {TIMEOUT:?}", self.uri))
            })?
    }

    async fn exchange(
        &self,
        method: Method,
        form: Option<Bytes>,
        authorization: Option<HeaderValue>,
    ) -> Result<Bytes, Status> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            Status::unavailable(format!("{}: {what}: {e}", self.uri))
        };
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| unavailable("cannot connect", &e))?;
        let mut request = http::Request::builder()
            .method(method)
            .uri(self.uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(
                header::HOST,
                self.uri.authority().map_or("", |a| a.as_str()),
            )
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, crate::grpc::client::USER_AGENT);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if form.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(form.unwrap_or_default()))
            .map_err(|e| Status::from_error(Code::Internal, "cannot build the request", e))?;
        let response = if self.https {
            let tls = self.tls.connector(&self.host)?.http1();
            let stream = tls
                .connector()
                .connect(tls.server_name.clone(), tcp)
                .await
                .map_err(|e| unavailable("TLS handshake failed", &e))?;
            send_http1(stream, request).await
        } else {
            send_http1(tcp, request).await
        }
        .map_err(|e| unavailable("request failed", &e))?;
        let status = response.status();
        let mut body = response.into_body();
        let mut bytes = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| unavailable("reading the answer failed", &e))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > MAX_BODY {
                    return Err(Status::unavailable(format!(
                        "{}: answer larger than {MAX_BODY} bytes",
                        self.uri
                    )));
                }
                bytes.extend_from_slice(&data);
            }
        }
        check_status(&self.uri, status, &bytes)?;
        Ok(bytes.freeze())
    }
}

async fn send_http1<I>(
    io: I,
    request: http::Request<Full<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, hyper::Error>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(request).await
}

/// An answer other than 2xx is an error; a 4xx is the caller's fault
/// (bad client credentials), said as `UNAUTHENTICATED`, the rest
/// `UNAVAILABLE`.
fn check_status(uri: &http::Uri, status: StatusCode, body: &[u8]) -> Result<(), Status> {
    if status.is_success() {
        return Ok(());
    }
    // OAuth 2.0 errors say which (`invalid_client`, …) in `error`.
    let error = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("error")?.as_str().map(str::to_owned));
    let message = match error {
        Some(error) => format!("{uri} answered HTTP {status} ({error})"),
        None => format!("{uri} answered HTTP {status}"),
    };
    if status.is_client_error() {
        Err(Status::unauthenticated(message))
    } else {
        Err(Status::unavailable(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(Endpoint::new("https://issuer.example/jwks").is_ok());
        assert!(Endpoint::new("http://127.0.0.1:8080/jwks").is_ok());
        assert!(Endpoint::new("http://[::1]:8080/jwks").is_ok());
        assert!(Endpoint::new("http://localhost/jwks").is_ok());
        let err = Endpoint::new("http://issuer.example/jwks").unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(Endpoint::new("ftp://issuer.example/jwks").is_err());
    }
}
