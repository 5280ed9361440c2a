//! Which push services the server may send to: `AGORA_PUSH_ENDPOINT_ALLOWLIST`, and never an
//! address of this machine or its network unless the operator listed that host by name or
//! address. Checked when a subscription is made and again at each send, where the HTTP
//! client's own resolver refuses such addresses, so a name that later resolves elsewhere
//! (DNS rebinding) cannot reach them either.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

pub const NOT_ALLOWED: &str = "This push service is not allowed.";

/// The allowlist, shared by the routes and the sender.
#[derive(Clone, Debug)]
pub struct Policy {
    hosts: Arc<[String]>,
}

impl Policy {
    pub fn new(hosts: &[String]) -> Self {
        Self {
            hosts: hosts.into(),
        }
    }

    /// Whether `host` (lower-case, no trailing dot) is listed exactly, by name or address.
    pub fn listed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h == host)
    }

    fn admitted(&self, host: &str) -> bool {
        self.listed(host)
            || self.hosts.iter().any(|h| {
                h.strip_prefix("*.")
                    .is_some_and(|domain| host.ends_with(&format!(".{domain}")))
            })
    }

    /// The endpoint, parsed, if its scheme and host are allowed (addresses are checked when
    /// resolved): `https://` on an admitted host, `http://` only on a listed one; an address
    /// for a host only when listed, and then as it is.
    pub fn check(&self, raw: &str) -> Result<Url, &'static str> {
        let url = Url::parse(raw).map_err(|_| NOT_ALLOWED)?;
        let host = url.host().ok_or(NOT_ALLOWED)?;
        let name = match &host {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        };
        let listed = self.listed(&name);
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => listed,
            _ => false,
        };
        let host_ok = match host {
            Host::Domain(_) => self.admitted(&name),
            Host::Ipv4(_) | Host::Ipv6(_) => listed,
        };
        if scheme_ok && host_ok && url.username().is_empty() && url.password().is_none() {
            Ok(url)
        } else {
            Err(NOT_ALLOWED)
        }
    }

    /// Of `addrs`, those the server may connect to for `host`: all when the host is listed by
    /// name or address (the operator vouches for it), else only public ones.
    pub fn reachable(&self, host: &str, addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
        if self.listed(&host.trim_end_matches('.').to_ascii_lowercase()) {
            return addrs;
        }
        addrs.into_iter().filter(|a| is_public(a.ip())).collect()
    }
}

/// Not loopback, private, link-local, unique-local, shared (CGNAT), documentation,
/// unspecified, broadcast or multicast: an address on the internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let [b0, b1, ..] = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || a.is_documentation()
                || b0 == 0
                || (b0 == 100 && (64..128).contains(&b1))
                || (b0 == 198 && (b1 == 18 || b1 == 19))
                || b0 >= 240)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && a.segments()[1] == 0x0db8)
        }
    }
}

/// The HTTP client's resolver: the system's, then `Policy::reachable`.
pub struct Resolver(pub Policy);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = policy.reachable(&host, addrs);
            if allowed.is_empty() {
                return Err(format!("{host} resolves to no address a push may go to").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::new(&crate::config::push_allowlist(
            "fcm.googleapis.com, *.notify.windows.com, 127.0.0.1, localhost",
        ))
    }

    #[test]
    fn only_listed_services_are_allowed() {
        let p = policy();
        assert!(p.check("https://fcm.googleapis.com/fcm/send/abc").is_ok());
        assert!(p.check("https://FCM.googleapis.com./x").is_ok());
        assert!(
            p.check("https://wns2-par02p.notify.windows.com/w/?token=x")
                .is_ok()
        );
        assert!(p.check("https://notify.windows.com/").is_err());
        assert!(p.check("https://evil.example.com/").is_err());
        assert!(p.check("https://fcm.googleapis.com.evil.com/").is_err());
        assert!(p.check("http://wns2-par02p.notify.windows.com/").is_err());
        assert!(p.check("https://user:pw@fcm.googleapis.com/").is_err());
        assert!(p.check("ftp://fcm.googleapis.com/").is_err());
        assert!(p.check("http://127.0.0.1:9000/push/1").is_ok());
        assert!(p.check("http://localhost:9000/push/1").is_ok());
        assert!(p.check("http://127.0.0.2:9000/").is_err());
        assert!(p.check("https://[::1]/").is_err());
        assert!(p.check("not a url").is_err());
    }

    #[test]
    fn private_addresses_are_reachable_only_for_listed_hosts() {
        let p = policy();
        let local: SocketAddr = "127.0.0.1:443".parse().expect("addr");
        let private: SocketAddr = "10.1.2.3:443".parse().expect("addr");
        let public: SocketAddr = "142.250.1.1:443".parse().expect("addr");
        assert_eq!(
            p.reachable(
                "wns2-par02p.notify.windows.com",
                vec![local, private, public]
            ),
            vec![public]
        );
        assert_eq!(p.reachable("localhost", vec![local]), vec![local]);
        for ip in [
            "169.254.169.254",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
        assert!(is_public("2a00:1450::1".parse().expect("ip")));
    }
}
