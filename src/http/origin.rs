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
        // Walk the chain from the nearest hop back: the first address that is not one of our
        // proxies is the client. Everything left of it could have been written by the client.
        let mut ip = peer;
        for hop in forwarded.chain.iter().rev() {
            ip = *hop;
            if !self.is_trusted(*hop) {
                break;
            }
        }
        let base: Arc<str> = match &self.public_url {
            Some(url) => url.as_str().into(),
            None => {
                let scheme = forwarded.proto.unwrap_or("http");
                let host = forwarded
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

/// What a trusted proxy said about the request.
#[derive(Default)]
struct Forwarded<'a> {
    /// Client first, nearest proxy last.
    chain: Vec<IpAddr>,
    proto: Option<&'static str>,
    host: Option<&'a str>,
}

impl<'a> Forwarded<'a> {
    /// RFC 7239 `Forwarded` when present, else the `X-Forwarded-*` trio.
    fn read(headers: &'a HeaderMap) -> Self {
        let mut out = Self::default();
        let standard: Vec<&str> = headers
            .get_all(header::FORWARDED)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if !standard.is_empty() {
            for element in standard.iter().flat_map(|v| v.split(',')) {
                for pair in element.split(';') {
                    let Some((key, value)) = pair.trim().split_once('=') else {
                        continue;
                    };
                    let value = value.trim().trim_matches('"');
                    match key.trim().to_ascii_lowercase().as_str() {
                        "for" => out.chain.extend(parse_node(value)),
                        "proto" if out.proto.is_none() => out.proto = scheme(value),
                        "host" if out.host.is_none() => {
                            out.host = Some(value).filter(|h| valid_host(h))
                        }
                        _ => {}
                    }
                }
            }
            return out;
        }
        for value in headers.get_all("x-forwarded-for").iter() {
            if let Ok(v) = value.to_str() {
                out.chain
                    .extend(v.split(',').filter_map(|a| parse_node(a.trim())));
            }
        }
        out.proto = header_str(headers, "x-forwarded-proto")
            .and_then(|v| v.split(',').next())
            .and_then(|v| scheme(v.trim()));
        out.host = header_str(headers, "x-forwarded-host")
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|h| valid_host(h));
        out
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
