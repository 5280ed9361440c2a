//! Who is asking and under which public address: the client's IP and the scheme and host that
//! absolute links are built from. `X-Forwarded-*` and `Forwarded` are believed only from
//! `AGORA_TRUSTED_PROXIES`; `AGORA_PUBLIC_URL`, when set, decides links whatever the headers say.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::config::IpNet;
use crate::error::ApiError;

/// What `resolve` needs from the settings.
#[derive(Clone, Debug, Default)]
pub struct ProxyConfig {
    pub trusted: Vec<IpNet>,
    /// `scheme://host[:port]` with any path of `AGORA_PUBLIC_URL`, without a trailing slash.
    pub public_url: Option<String>,
}

/// The client's address and the public base of this request's links (`scheme://host`).
#[derive(Clone, Debug)]
pub struct Origin {
    pub ip: IpAddr,
    pub base: Arc<str>,
}

impl ProxyConfig {
    pub fn new(trusted: Vec<IpNet>, public_url: Option<&url::Url>) -> Self {
        Self {
            trusted,
            public_url: public_url.map(|u| u.as_str().trim_end_matches('/').to_owned()),
        }
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    /// The origin of a request that arrived from `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> Origin {
        let forwarded = if self.is_trusted(peer) {
            Forwarded::read(headers)
        } else {
            Forwarded::default()
        };
        let (ip, hop) = forwarded.client_hop(peer, |ip| self.is_trusted(ip));
        let base: Arc<str> = match &self.public_url {
            Some(url) => url.as_str().into(),
            None => {
                let scheme = hop.proto.unwrap_or("http");
                let host = hop
                    .host
                    .or_else(|| header_str(headers, header::HOST).filter(|h| valid_host(h)))
                    .unwrap_or("localhost");
                format!("{scheme}://{host}").into()
            }
        };
        Origin { ip, base }
    }
}

fn header_str(headers: &HeaderMap, name: impl axum::http::header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .parse::<axum::http::uri::Authority>()
            .is_ok_and(|a| a.as_str() == host)
        && !host.contains('@')
}

/// What one proxy hop recorded about the connection it received: the address it came from,
/// and the scheme and host the request asked for there.
#[derive(Clone, Copy, Default)]
struct Hop<'a> {
    from: Option<IpAddr>,
    proto: Option<&'static str>,
    host: Option<&'a str>,
}

/// What the proxies said about the request, one hop each, client side first, nearest last.
#[derive(Default)]
struct Forwarded<'a> {
    hops: Vec<Hop<'a>>,
}

impl<'a> Forwarded<'a> {
    /// RFC 7239 `Forwarded` when present (one element per hop), else the `X-Forwarded-*` trio,
    /// whose lists are lined up from their ends: each proxy appends its value last.
    fn read(headers: &'a HeaderMap) -> Self {
        let standard: Vec<&str> = headers
            .get_all(header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !standard.is_empty() {
            let hops = standard
                .iter()
                .flat_map(|v| v.split(','))
                .map(|element| {
                    let mut hop = Hop::default();
                    for pair in element.split(';') {
                        let Some((key, value)) = pair.trim().split_once('=') else {
                            continue;
                        };
                        let value = value.trim().trim_matches('"');
                        match key.trim().to_ascii_lowercase().as_str() {
                            "for" => hop.from = parse_node(value),
                            "proto" => hop.proto = scheme(value),
                            "host" => hop.host = Some(value).filter(|h| valid_host(h)),
                            _ => {}
                        }
                    }
                    hop
                })
                .collect();
            return Self { hops };
        }
        let list = |name: &'static str| -> Vec<&'a str> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect()
        };
        let (fors, protos, hosts) = (
            list("x-forwarded-for"),
            list("x-forwarded-proto"),
            list("x-forwarded-host"),
        );
        let n = fors.len().max(protos.len()).max(hosts.len());
        // The i-th hop from the end of each list.
        let nth_back = |l: &[&'a str], i: usize| l.len().checked_sub(i + 1).map(|at| l[at]);
        let mut hops: Vec<Hop<'a>> = (0..n)
            .map(|i| Hop {
                from: nth_back(&fors, i).and_then(parse_node),
                proto: nth_back(&protos, i).and_then(scheme),
                host: nth_back(&hosts, i).filter(|h| valid_host(h)),
            })
            .collect();
        hops.reverse();
        Self { hops }
    }

    /// Walks back from the nearest hop while the connection came from one of our proxies: the
    /// first hop that received it from anyone else recorded the client. Everything left of it
    /// could have been written by the client. The scheme and host are the ones recorded
    /// nearest the client among the hops walked (all written by our proxies: one that sets
    /// the header once, as nginx's `proxy_set_header` does, is the only one to record them).
    /// With no hops, `peer` is the client.
    fn client_hop(&self, peer: IpAddr, trusted: impl Fn(IpAddr) -> bool) -> (IpAddr, Hop<'a>) {
        let mut client = peer;
        let mut seen = Hop::default();
        for hop in self.hops.iter().rev() {
            seen.proto = hop.proto.or(seen.proto);
            seen.host = hop.host.or(seen.host);
            match hop.from {
                Some(from) => {
                    client = from;
                    if !trusted(from) {
                        break;
                    }
                }
                // A hop that does not say where its connection came from cannot be walked past.
                None => break,
            }
        }
        seen.from = Some(client);
        (client, seen)
    }
}

fn scheme(raw: &str) -> Option<&'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "https" => Some("https"),
        "http" => Some("http"),
        _ => None,
    }
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[::1]:80`, `::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            raw.strip_prefix('[')
                .and_then(|r| r.split(']').next())
                .and_then(|a| a.parse().ok())
        })
}

/// Middleware: puts the request's `Origin` in its extensions for the extractors below.
pub async fn resolve_origin(
    State(config): State<Arc<ProxyConfig>>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let origin = config.resolve(peer, req.headers());
    tracing::Span::current().record("client", tracing::field::display(origin.ip));
    let base = origin.base.clone();
    req.extensions_mut().insert(origin);
    with_base(base, next.run(req)).await
}

tokio::task_local! {
    /// The base URL of the request being served, for links built deep below the handlers
    /// (media URLs in every UserBrief) without threading it through every call.
    static BASE: Arc<str>;
}

/// Runs `f` with `base` as the base of the absolute links it builds.
pub async fn with_base<F: Future>(base: Arc<str>, f: F) -> F::Output {
    BASE.scope(base, f).await
}

/// The base URL of the request (or WebSocket) this task serves, if any.
pub fn current_base() -> Option<Arc<str>> {
    BASE.try_with(Clone::clone).ok()
}

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Ok(origin_of(parts))
    }
}

/// The origin the middleware resolved; without the middleware (a router used on its own), the
/// request's own `Host` and the TCP peer.
pub fn origin_of(parts: &Parts) -> Origin {
    if let Some(origin) = parts.extensions.get::<Origin>() {
        return origin.clone();
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    ProxyConfig::default().resolve(peer, &parts.headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn config(trusted: &[&str], public: Option<&str>) -> ProxyConfig {
        let url = public.map(|u| url::Url::parse(u).expect("url"));
        ProxyConfig::new(
            trusted
                .iter()
                .map(|t| IpNet::parse(t).expect("net"))
                .collect(),
            url.as_ref(),
        )
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("host", "api.test"),
            ("x-forwarded-for", "9.9.9.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.test"),
        ]);
        let o = config(&[], None).resolve(ip("1.2.3.4"), &h);
        assert_eq!(o.ip, ip("1.2.3.4"));
        assert_eq!(&*o.base, "http://api.test");
    }

    #[test]
    fn a_trusted_proxy_names_the_client_scheme_and_host() {
        let h = headers(&[
            ("host", "backend:8000"),
            ("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.0.0.7"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example.com"),
        ]);
        let o = config(&["10.0.0.0/8"], None).resolve(ip("10.0.0.1"), &h);
        // 6.6.6.6 was written by the client (5.5.5.5) itself: not believed.
        assert_eq!(o.ip, ip("5.5.5.5"));
        assert_eq!(&*o.base, "https://api.example.com");
    }

    #[test]
    fn the_standard_forwarded_header_is_read_too() {
        let h = headers(&[(
            "forwarded",
            "for=\"[2001:db8::1]:4711\";proto=https;host=app.test, for=10.0.0.9",
        )]);
        let o = config(&["10.0.0.0/8"], None).resolve(ip("10.0.0.1"), &h);
        assert_eq!(o.ip, ip("2001:db8::1"));
        assert_eq!(&*o.base, "https://app.test");
    }

    #[test]
    fn host_and_scheme_come_from_the_hop_that_met_the_client_not_from_the_client() {
        // The client wrote its own X-Forwarded-Host and -Proto; our proxy appended the real ones.
        let h = headers(&[
            ("host", "backend:8000"),
            ("x-forwarded-for", "5.5.5.5"),
            ("x-forwarded-proto", "http, https"),
            ("x-forwarded-host", "evil.test, api.example.com"),
        ]);
        let o = config(&["10.0.0.0/8"], None).resolve(ip("10.0.0.1"), &h);
        assert_eq!(o.ip, ip("5.5.5.5"));
        assert_eq!(&*o.base, "https://api.example.com");
        // Two proxies of ours: the outer one met the client and recorded what it asked for.
        let h = headers(&[
            ("x-forwarded-for", "5.5.5.5, 10.0.0.7"),
            (
                "x-forwarded-host",
                "evil.test, api.example.com, inner.internal",
            ),
        ]);
        let o = config(&["10.0.0.0/8"], None).resolve(ip("10.0.0.1"), &h);
        assert_eq!(o.ip, ip("5.5.5.5"));
        assert_eq!(&*o.base, "http://api.example.com");
        // The same with RFC 7239: the client's own element comes first and is not believed.
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6;host=evil.test;proto=http, for=5.5.5.5;host=app.test;proto=https",
        )]);
        let o = config(&["10.0.0.0/8"], None).resolve(ip("10.0.0.1"), &h);
        assert_eq!(o.ip, ip("5.5.5.5"));
        assert_eq!(&*o.base, "https://app.test");
    }

    #[test]
    fn the_public_url_wins_and_junk_headers_are_ignored() {
        let h = headers(&[
            ("x-forwarded-host", "a b/c"),
            ("x-forwarded-proto", "gopher"),
        ]);
        let o = config(&["0.0.0.0/0"], None).resolve(ip("10.0.0.1"), &h);
        assert_eq!(&*o.base, "http://localhost");
        let o = config(&["0.0.0.0/0"], Some("https://social.example.com/"))
            .resolve(ip("10.0.0.1"), &headers(&[("x-forwarded-host", "x.test")]));
        assert_eq!(&*o.base, "https://social.example.com");
    }
}
