//! [`Resolver`]: where a channel's addresses come from — DNS, a fixed
//! list, or the user's own source.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::service_config::ServiceConfig;
use super::target::Address;
use crate::grpc::status::Status;

/// The answer of one resolution: the addresses to balance over, and
/// optionally a service config that replaces the channel's default one.
#[derive(Clone, Debug, Default)]
pub struct Resolution {
    /// Where the target's servers are.
    pub addresses: Vec<Address>,
    /// The target's service config, if the resolver has one.
    pub service_config: Option<ServiceConfig>,
}

impl Resolution {
    /// A resolution of these addresses, without a service config.
    ///
    /// ```
    /// use protocall::client::{Address, Resolution};
    /// let resolution = Resolution::addresses(["127.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap()]);
    /// assert_eq!(resolution.addresses, [Address::Tcp("127.0.0.1:50051".parse().unwrap())]);
    /// ```
    pub fn addresses<A: Into<Address>>(addresses: impl IntoIterator<Item = A>) -> Resolution {
        Resolution {
            addresses: addresses.into_iter().map(Into::into).collect(),
            service_config: None,
        }
    }
}

/// A boxed future of a [`Resolution`].
pub type ResolveFuture = Pin<Box<dyn Future<Output = Result<Resolution, Status>> + Send>>;

/// A boxed future that completes when a resolver's answer may have changed.
pub type ChangedFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a channel's addresses come from. The channel calls
/// [`resolve`](Resolver::resolve) on its first call, again when a
/// connection is lost or cannot be made (no more often than
/// [`Endpoint::min_resolution_interval`](super::Endpoint::min_resolution_interval)),
/// and whenever [`changed`](Resolver::changed) completes — how a resolver
/// that learns of changes (a watch on a registry, a test) pushes them.
///
/// ```
/// use protocall::client::{Endpoint, ManualResolver, Resolution};
/// let resolver = ManualResolver::new(Resolution::addresses(["127.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap()]));
/// let channel = Endpoint::new("dns:///backends.internal")?.resolver(resolver.clone()).connect_lazy();
/// // later: a second backend; the channel starts using it
/// resolver.update(Resolution::addresses([
///     "127.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap(),
///     "127.0.0.2:50051".parse().unwrap(),
/// ]));
/// # let _ = channel;
/// # Ok::<(), protocall::Status>(())
/// ```
pub trait Resolver: Send + Sync + 'static {
    /// Resolves the target now.
    fn resolve(&self) -> ResolveFuture;

    /// Completes when the answer may have changed; the default never does.
    /// Called before each [`resolve`](Resolver::resolve), so a change
    /// between the two is not lost.
    fn changed(&self) -> ChangedFuture {
        Box::pin(std::future::pending())
    }
}

/// Looks up `host` with the system resolver (`getaddrinfo`), each answer
/// at `port`.
#[derive(Clone, Debug)]
pub(crate) struct DnsResolver {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl Resolver for DnsResolver {
    fn resolve(&self) -> ResolveFuture {
        let (host, port) = (self.host.clone(), self.port);
        Box::pin(async move {
            // An IP literal needs no lookup (and no thread from the pool).
            if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                return Ok(Resolution::addresses([std::net::SocketAddr::new(ip, port)]));
            }
            let found = tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| {
                    Status::from_error(
                        crate::Code::Unavailable,
                        format!("DNS lookup of {host:?} failed: {e}"),
                        e,
                    )
                })?;
            let mut addresses: Vec<Address> = Vec::new();
            for addr in found {
                let addr = Address::Tcp(addr);
                if !addresses.contains(&addr) {
                    addresses.push(addr);
                }
            }
            if addresses.is_empty() {
                return Err(Status::unavailable(format!(
                    "DNS lookup of {host:?} found no addresses"
                )));
            }
            Ok(Resolution::addresses(addresses))
        })
    }
}

/// The same addresses, always.
#[derive(Clone, Debug)]
pub(crate) struct FixedResolver(pub(crate) Vec<Address>);

impl Resolver for FixedResolver {
    fn resolve(&self) -> ResolveFuture {
        let addresses = self.0.clone();
        Box::pin(async move { Ok(Resolution::addresses(addresses)) })
    }
}

/// A resolver whose answer is set by hand, and can be changed at any
/// time: for static fleets, for a registry watched by your own code, and
/// for tests. Clones share the answer.
///
/// ```
/// use protocall::client::{ManualResolver, Resolution, Resolver};
/// let resolver = ManualResolver::new(Resolution::default());
/// let seen = resolver.clone();
/// resolver.update(Resolution::addresses(["10.0.0.1:50051".parse::<std::net::SocketAddr>().unwrap()]));
/// # let _ = seen;
/// ```
#[derive(Clone)]
pub struct ManualResolver {
    shared: Arc<Shared>,
}

struct Shared {
    answer: Mutex<Result<Resolution, Status>>,
    version: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for ManualResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let answer = self.shared.answer.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("ManualResolver")
            .field("answer", &*answer)
            .finish()
    }
}

impl ManualResolver {
    /// A resolver answering `resolution` until it is updated.
    pub fn new(resolution: Resolution) -> ManualResolver {
        ManualResolver {
            shared: Arc::new(Shared {
                answer: Mutex::new(Ok(resolution)),
                version: tokio::sync::watch::Sender::new(0),
            }),
        }
    }

    /// Answers `resolution` from now on; channels using the resolver
    /// resolve again at once.
    pub fn update(&self, resolution: Resolution) {
        self.set(Ok(resolution));
    }

    /// Answers `error` from now on (the channel keeps the addresses it has).
    pub fn fail(&self, error: Status) {
        self.set(Err(error));
    }

    fn set(&self, answer: Result<Resolution, Status>) {
        *self.shared.answer.lock().unwrap_or_else(|e| e.into_inner()) = answer;
        self.shared.version.send_modify(|v| *v += 1);
    }
}

impl Resolver for ManualResolver {
    fn resolve(&self) -> ResolveFuture {
        let answer = self
            .shared
            .answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Box::pin(std::future::ready(answer))
    }

    fn changed(&self) -> ChangedFuture {
        // Subscribed now, so an update after this call (even before the
        // future is first polled) completes it.
        let mut version = self.shared.version.subscribe();
        Box::pin(async move {
            let _ = version.changed().await;
        })
    }
}

impl<R: Resolver + ?Sized> Resolver for Arc<R> {
    fn resolve(&self) -> ResolveFuture {
        (**self).resolve()
    }

    fn changed(&self) -> ChangedFuture {
        (**self).changed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dns_resolves_ip_literals_and_localhost() {
        let dns = DnsResolver {
            host: "127.0.0.3".into(),
            port: 7,
        };
        let found = dns.resolve().await.unwrap();
        assert_eq!(
            found.addresses,
            [Address::Tcp("127.0.0.3:7".parse().unwrap())]
        );
        let dns = DnsResolver {
            host: "localhost".into(),
            port: 9,
        };
        let found = dns.resolve().await.unwrap();
        assert!(!found.addresses.is_empty());
        for address in found.addresses {
            let Address::Tcp(addr) = address else {
                panic!("{address:?}")
            };
            assert!(addr.ip().is_loopback() && addr.port() == 9, "{addr}");
        }
        let dns = DnsResolver {
            host: "no-such-host.invalid".into(),
            port: 1,
        };
        let error = dns.resolve().await.unwrap_err();
        assert_eq!(error.code(), crate::Code::Unavailable);
        assert!(
            error.message().contains("no-such-host.invalid"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn a_manual_update_completes_changed_and_is_resolved() {
        let resolver = ManualResolver::new(Resolution::default());
        let changed = resolver.changed();
        let addr: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
        resolver.update(Resolution::addresses([addr]));
        tokio::time::timeout(std::time::Duration::from_secs(1), changed)
            .await
            .expect("changed completes after an update");
        assert_eq!(
            resolver.resolve().await.unwrap().addresses,
            [Address::Tcp(addr)]
        );
        resolver.fail(Status::unavailable("registry down"));
        assert_eq!(
            resolver.resolve().await.unwrap_err().message(),
            "registry down"
        );
    }
}
