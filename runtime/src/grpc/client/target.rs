//! Channel targets as grpc's `doc/naming.md` spells them, and the
//! [`Address`]es they resolve to.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use crate::grpc::status::Status;

/// One place a channel can open a connection to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP socket address.
    Tcp(SocketAddr),
    /// A Unix-domain socket at this path.
    Unix(PathBuf),
    /// A Linux abstract-namespace Unix socket (the name without its
    /// leading NUL byte).
    UnixAbstract(Vec<u8>),
    /// A host name and port, looked up by the system resolver when the
    /// connection opens (what a resolver returns when it cannot or need
    /// not resolve names itself).
    Host(String, u16),
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Tcp(addr) => write!(f, "{addr}"),
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::UnixAbstract(name) => {
                write!(f, "unix-abstract:{}", String::from_utf8_lossy(name))
            }
            Address::Host(host, port) if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Host(host, port) => write!(f, "{host}:{port}"),
        }
    }
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Address {
        Address::Tcp(addr)
    }
}

/// A parsed channel target: what to resolve, and the `:authority` its
/// calls carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `dns:[//server/]host[:port]`, a bare `host:port`, or `http(s)://`:
    /// names to look up. `server` is the DNS server the target asks for.
    Dns {
        host: String,
        port: u16,
        server: Option<String>,
    },
    /// `ipv4:`, `ipv6:`, `unix:` and `unix-abstract:`: addresses given in
    /// the target itself.
    Fixed(Vec<Address>),
}

/// The port of `dns:` and `ipv4:`/`ipv6:` targets that name none (naming.md).
const DEFAULT_PORT: u16 = 443;

/// A parsed target, the `http(s)://` scheme of its calls and their
/// authority.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    pub(crate) target: Target,
    /// `true` for `https://` targets: TLS with the Mozilla roots.
    pub(crate) https: bool,
    /// `host[:port]` sent as `:authority` (and the TLS server name's host).
    pub(crate) authority: String,
}

/// Parses `text` as naming.md says: `dns:`, `ipv4:`, `ipv6:`, `unix:`,
/// `unix-abstract:`, protocall's `http://`/`https://`, and, with no known
/// scheme, a DNS name (`host:port`).
pub(crate) fn parse(text: &str) -> Result<Parsed, Status> {
    let bad = |why: String| Status::invalid_argument(format!("target {text:?}: {why}"));
    let (scheme, rest) = match text.split_once(':') {
        Some((scheme, rest)) if is_scheme(scheme) => (scheme.to_ascii_lowercase(), rest),
        _ => (String::new(), text),
    };
    let fixed = |addresses: Vec<Address>, authority: String| Parsed {
        target: Target::Fixed(addresses),
        https: false,
        authority,
    };
    match scheme.as_str() {
        "http" | "https" => {
            let uri: http::Uri = text
                .parse()
                .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
            let authority = uri.authority().ok_or_else(|| bad("no host".into()))?;
            let https = scheme == "https";
            let host = authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']');
            let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
            Ok(Parsed {
                target: Target::Dns {
                    host: host.to_owned(),
                    port,
                    server: None,
                },
                https,
                authority: authority.as_str().to_owned(),
            })
        }
        "dns" => {
            let (server, endpoint) = match rest.strip_prefix("//") {
                Some(rest) => {
                    let (server, endpoint) = rest
                        .split_once('/')
                        .ok_or_else(|| bad("dns://server/ needs a slash before the host".into()))?;
                    ((!server.is_empty()).then(|| server.to_owned()), endpoint)
                }
                None => (None, rest),
            };
            let (host, port) = host_port(endpoint, DEFAULT_PORT).map_err(bad)?;
            Ok(Parsed {
                target: Target::Dns { host, port, server },
                https: false,
                authority: endpoint.to_owned(),
            })
        }
        "ipv4" | "ipv6" => {
            let v6 = scheme == "ipv6";
            let mut addresses = Vec::new();
            for item in rest.split(',') {
                addresses.push(ip_address(item, v6).map_err(bad)?);
            }
            let authority = rest.split(',').next().unwrap_or_default().to_owned();
            Ok(fixed(addresses, authority))
        }
        "unix" => {
            let path = match rest.strip_prefix("//") {
                Some(absolute) if absolute.starts_with('/') => absolute,
                Some(_) => {
                    return Err(bad(
                        "unix:// needs an absolute path (unix:///path), or write unix:path".into(),
                    ));
                }
                None => rest,
            };
            if path.is_empty() {
                return Err(bad("no socket path".into()));
            }
            Ok(fixed(vec![Address::Unix(path.into())], "localhost".into()))
        }
        "unix-abstract" => Ok(fixed(
            vec![Address::UnixAbstract(rest.as_bytes().to_vec())],
            "localhost".into(),
        )),
        // No scheme, or one naming.md does not know: the whole text is a
        // DNS name, as grpc does.
        _ => {
            let (host, port) = host_port(text, DEFAULT_PORT).map_err(bad)?;
            Ok(Parsed {
                target: Target::Dns {
                    host,
                    port,
                    server: None,
                },
                https: false,
                authority: text.to_owned(),
            })
        }
    }
}

/// The schemes a target may start with; anything else is a host name
/// (`localhost:50051` has no scheme `localhost`).
/// `text` with the scheme naming.md implies when it has none (what A66's
/// `grpc.target` records): a bare `host:port` is `dns:///host:port`.
pub(crate) fn canonical(text: &str) -> String {
    match text.split_once(':') {
        Some((scheme, _)) if is_scheme(scheme) => text.to_owned(),
        _ => format!("dns:///{text}"),
    }
}

fn is_scheme(scheme: &str) -> bool {
    matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "dns" | "ipv4" | "ipv6" | "unix" | "unix-abstract"
    )
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
pub(crate) fn host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{text:?} opens '[' without closing it"))?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("{text:?} has text after ']'")),
            },
        }
    } else {
        match text.rsplit_once(':') {
            // Two colons without brackets: a bare IPv6 address, no port.
            Some((host, _)) if host.contains(':') => (text, None),
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => default_port,
        Some(port) => port.parse().map_err(|_| format!("invalid port {port:?}"))?,
    };
    Ok((host.to_owned(), port))
}

/// One address of an `ipv4:` or `ipv6:` list.
fn ip_address(text: &str, v6: bool) -> Result<Address, String> {
    let (host, port) = host_port(text, DEFAULT_PORT)?;
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("{host:?} is not an IP address"))?;
    if ip.is_ipv6() != v6 {
        let family = if v6 { "IPv6" } else { "IPv4" };
        return Err(format!("{host:?} is not an {family} address"));
    }
    Ok(Address::Tcp(SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_targets_carry_their_scheme() {
        assert_eq!(canonical("localhost:50051"), "dns:///localhost:50051");
        assert_eq!(canonical("dns:///svc:443"), "dns:///svc:443");
        assert_eq!(canonical("HTTP://127.0.0.1:1"), "HTTP://127.0.0.1:1");
        assert_eq!(canonical("unix-abstract:name"), "unix-abstract:name");
    }

    fn dns(host: &str, port: u16, server: Option<&str>) -> Target {
        Target::Dns {
            host: host.into(),
            port,
            server: server.map(Into::into),
        }
    }

    fn tcp(text: &str) -> Address {
        Address::Tcp(text.parse().unwrap())
    }

    #[test]
    fn dns_targets_as_naming_md_writes_them() {
        let cases = [
            (
                "dns:///foo.googleapis.com:8080",
                dns("foo.googleapis.com", 8080, None),
                "foo.googleapis.com:8080",
            ),
            (
                "dns:foo.googleapis.com",
                dns("foo.googleapis.com", 443, None),
                "foo.googleapis.com",
            ),
            (
                "dns://8.8.8.8/foo.googleapis.com:8080",
                dns("foo.googleapis.com", 8080, Some("8.8.8.8")),
                "foo.googleapis.com:8080",
            ),
            ("dns:///[::1]:50051", dns("::1", 50051, None), "[::1]:50051"),
            (
                "localhost:50051",
                dns("localhost", 50051, None),
                "localhost:50051",
            ),
            ("example.com", dns("example.com", 443, None), "example.com"),
            (
                "http://127.0.0.1:8080",
                dns("127.0.0.1", 8080, None),
                "127.0.0.1:8080",
            ),
            ("http://[::1]", dns("::1", 80, None), "[::1]"),
            (
                "https://api.example.com",
                dns("api.example.com", 443, None),
                "api.example.com",
            ),
        ];
        for (text, target, authority) in cases {
            let parsed = parse(text).unwrap();
            assert_eq!(parsed.target, target, "{text}");
            assert_eq!(parsed.authority, authority, "{text}");
        }
        assert!(parse("https://x").unwrap().https);
        assert!(!parse("dns:///x:1").unwrap().https);
    }

    #[test]
    fn address_lists() {
        let parsed = parse("ipv4:127.0.0.1:1000,127.0.0.2,10.0.0.3:3").unwrap();
        let expected = vec![
            tcp("127.0.0.1:1000"),
            tcp("127.0.0.2:443"),
            tcp("10.0.0.3:3"),
        ];
        assert_eq!(parsed.target, Target::Fixed(expected));
        assert_eq!(parsed.authority, "127.0.0.1:1000");
        let parsed = parse("ipv6:[::1]:50051,[2001:db8::1]:7,::2").unwrap();
        let expected = vec![tcp("[::1]:50051"), tcp("[2001:db8::1]:7"), tcp("[::2]:443")];
        assert_eq!(parsed.target, Target::Fixed(expected));
    }

    #[test]
    fn unix_targets() {
        let unix = |p: &str| Target::Fixed(vec![Address::Unix(p.into())]);
        assert_eq!(
            parse("unix:relative/sock").unwrap().target,
            unix("relative/sock")
        );
        assert_eq!(parse("unix:/abs/sock").unwrap().target, unix("/abs/sock"));
        assert_eq!(parse("unix:///abs/sock").unwrap().target, unix("/abs/sock"));
        assert_eq!(parse("unix:/abs/sock").unwrap().authority, "localhost");
        assert_eq!(
            parse("unix-abstract:my\0name").unwrap().target,
            Target::Fixed(vec![Address::UnixAbstract(b"my\0name".to_vec())])
        );
    }

    #[test]
    fn bad_targets_say_what_is_wrong() {
        let cases = [
            ("unix://relative", "absolute path"),
            ("unix:", "no socket path"),
            ("ipv4:::1", "not an IPv4"),
            ("ipv6:127.0.0.1", "not an IPv6"),
            ("ipv4:300.1.1.1:5", "not an IP address"),
            ("ipv4:127.0.0.1:99999", "invalid port"),
            ("dns://8.8.8.8", "slash"),
            ("dns:///", "no host"),
            ("dns:///[::1:80", "without closing"),
            ("localhost:http", "invalid port"),
        ];
        for (text, needle) in cases {
            let error = parse(text).unwrap_err();
            assert!(
                error.message().contains(needle),
                "{text}: {}",
                error.message()
            );
            assert!(
                error.message().contains(text),
                "{text}: {}",
                error.message()
            );
        }
    }
}
