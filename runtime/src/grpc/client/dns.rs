//! DNS through hickory-resolver (feature `dns`): the DNS server a target
//! names (`dns://8.8.8.8/host:port`), and service configs from TXT records
//! (`_grpc_config.<host>`, grpc's `doc/service_config.md`).

use std::net::{IpAddr, SocketAddr};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;

use super::resolver::{Resolution, ResolveFuture, Resolver};
use super::service_config;
use super::target::{self, Address};
use crate::grpc::status::{Code, Status};

/// A DNS resolver of one host: addresses from A/AAAA records and, when
/// asked, a service config from its TXT record.
#[derive(Clone)]
pub(crate) struct HickoryResolver {
    host: String,
    port: u16,
    txt: bool,
    resolver: TokioResolver,
}

impl HickoryResolver {
    /// Resolves `host` with `server` (`ip[:port]`, port 53 by default), or
    /// with the system's DNS configuration (`/etc/resolv.conf`).
    pub(crate) fn new(
        host: &str,
        port: u16,
        server: Option<&str>,
        txt: bool,
    ) -> Result<HickoryResolver, Status> {
        let provider = TokioRuntimeProvider::default();
        let builder = match server {
            Some(server) => {
                let (ip, dns_port) = target::host_port(server, 53)
                    .ok()
                    .and_then(|(ip, p)| Some((ip.parse::<IpAddr>().ok()?, p)))
                    .ok_or_else(|| {
                        Status::invalid_argument(format!(
                            "DNS server {server:?}: expected ip[:port]"
                        ))
                    })?;
                let mut server = NameServerConfig::udp_and_tcp(ip);
                for connection in &mut server.connections {
                    connection.port = dns_port;
                }
                let config = ResolverConfig::from_name_servers(vec![server]);
                TokioResolver::builder_with_config(config, provider)
            }
            None => TokioResolver::builder(provider).map_err(|e| {
                Status::from_error(
                    Code::Unavailable,
                    "cannot read the system's DNS configuration",
                    e,
                )
            })?,
        };
        let resolver = builder.build().map_err(|e| {
            Status::from_error(Code::Unavailable, "cannot set up the DNS resolver", e)
        })?;
        Ok(HickoryResolver {
            host: host.to_owned(),
            port,
            txt,
            resolver,
        })
    }

    async fn addresses(&self) -> Result<Vec<Address>, Status> {
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return Ok(vec![Address::Tcp(SocketAddr::new(ip, self.port))]);
        }
        let found = self
            .resolver
            .lookup_ip(self.host.as_str())
            .await
            .map_err(|e| {
                let message = format!("DNS lookup of {:?} failed: {e}", self.host);
                Status::from_error(Code::Unavailable, message, e)
            })?;
        let mut addresses = Vec::new();
        for ip in found.iter() {
            let address = Address::Tcp(SocketAddr::new(ip, self.port));
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        Ok(addresses)
    }

    /// The service config of the host's `_grpc_config` TXT record, if it has
    /// one for this client. A record that does not parse is logged and
    /// ignored (the channel keeps its config), as grpc does.
    async fn service_config(&self) -> Option<service_config::ServiceConfig> {
        let name = format!("_grpc_config.{}", self.host);
        let records = self.resolver.txt_lookup(name.as_str()).await.ok()?;
        let hostname = std::env::var("HOSTNAME").unwrap_or_default();
        let txts = records.answers().iter().filter_map(|r| match &r.data {
            RData::TXT(txt) => Some(txt),
            _ => None,
        });
        for record in txts {
            // A TXT record is a list of strings, meant to be joined.
            let text: Vec<u8> = record
                .txt_data
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            let text = String::from_utf8_lossy(&text);
            match service_config::from_txt(&text, &hostname) {
                Ok(Some(config)) => return Some(config),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, record = %name, "ignoring the DNS service config");
                    return None;
                }
            }
        }
        None
    }
}

impl Resolver for HickoryResolver {
    fn resolve(&self) -> ResolveFuture {
        let this = self.clone();
        Box::pin(async move {
            let addresses = this.addresses().await?;
            let service_config = match this.txt {
                true => this.service_config().await,
                false => None,
            };
            Ok(Resolution {
                addresses,
                service_config,
            })
        })
    }
}
