//! Settings from the environment (and an optional `.env` file). Every variable starts with
//! `AGORA_`; a bad value stops start-up with a message naming the variable.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {msg}")]
    Invalid { var: &'static str, msg: String },
    #[error("could not use the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn invalid(var: &'static str, msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        msg: msg.into(),
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// PostgreSQL: connections opened at start and kept open, and the most the pool opens
    /// (SQLite keeps its own small pool).
    pub database_pool: Pool,
    pub redis_url: Option<String>,
    pub secret_key: crate::secret::Secret,
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub cors_origins: Vec<String>,
    pub log: String,
    pub auto_migrate: bool,
    /// Login attempts allowed per minute from one client address; 0 turns it off.
    pub login_rate_per_address: u32,
    /// Registrations a minute from one client address; 0: no limit.
    pub register_rate_per_address: u32,
    /// Failed login attempts allowed per minute for one username; 0 turns it off.
    pub login_failures_per_username: u32,
    /// Peers whose `X-Forwarded-*` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// When set, every absolute link is built from it, whatever the request's headers say.
    pub public_url: Option<url::Url>,
    /// Chat messages a user may send per second, after the burst; 0 turns the limit off.
    pub chat_rate_per_second: u32,
    /// Chat messages a user may send at once before the rate applies.
    pub chat_burst: u32,
    /// Open WebSockets past which an upgrade is a 503.
    pub ws_max_connections: usize,
    /// Open WebSockets of one user on one instance past which an upgrade is a 429.
    pub ws_max_per_user: usize,
    /// Open HTTP connections (not yet upgraded) past which new ones wait to be accepted.
    pub max_connections: usize,
    /// How long shutdown waits for sockets and background tasks to end.
    pub shutdown_timeout: Duration,
    /// How long a client may take to send a request's head (after which the connection drops).
    pub header_read_timeout: Duration,
    /// How long a request, its body included, may take before it is a 408.
    pub request_timeout: Duration,
    pub max_body_bytes: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Namespace of every Redis key and channel, so several deployments can share a server.
    pub redis_prefix: String,
    /// The server pings each WebSocket this often and drops one silent for two periods.
    pub ws_heartbeat: Duration,
    /// With Redis, how long an instance's presence claims live without renewal.
    pub presence_ttl: Duration,
    /// SO_SNDBUF of accepted connections; `None` leaves the kernel's autotuning. A small value
    /// caps the kernel memory a client that stops reading can hold.
    pub socket_send_buffer: Option<usize>,
    pub media: MediaSettings,
}

/// Bounds of the PostgreSQL connection pool.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    pub min: u32,
    pub max: u32,
}

/// Uploaded files: where they are kept and the limits on them.
#[derive(Clone, Debug)]
pub struct MediaSettings {
    /// Local storage (when no S3 bucket is set).
    pub dir: PathBuf,
    pub s3: Option<S3Settings>,
    /// The largest upload, bytes (413 past it).
    pub max_bytes: u64,
    /// How long a signed `url` / `thumbnail_url` stays valid.
    pub url_ttl: Duration,
    /// The largest image accepted, in pixels (width × height); larger ones are a 400.
    pub max_pixels: u64,
    /// Uploads a user may make per minute; 0 turns the limit off.
    pub uploads_per_minute: u32,
    /// Bytes a user may keep stored; 0 turns the quota off.
    pub quota_bytes: u64,
    /// Bytes of images being received that an instance holds in memory at once, all uploads
    /// together (at least `max_bytes`); past it an image upload is a 503.
    pub buffer_bytes: u64,
}

impl MediaSettings {
    /// The defaults, with files under `dir`.
    pub fn local(dir: PathBuf) -> Self {
        Self {
            dir,
            s3: None,
            max_bytes: 25 * 1024 * 1024,
            url_ttl: Duration::from_secs(3600),
            max_pixels: 50_000_000,
            uploads_per_minute: 30,
            quota_bytes: 1024 * 1024 * 1024,
            buffer_bytes: 256 * 1024 * 1024,
        }
    }
}

/// An S3-compatible bucket.
#[derive(Clone, Debug)]
pub struct S3Settings {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for a local S3-compatible server; AWS when unset.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<crate::secret::Secret>,
}

/// Where the secret key came from, so `serve` can warn about a generated one.
#[derive(Debug, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    Stored(PathBuf),
    Generated(PathBuf),
}

pub const MIN_SECRET_BYTES: usize = 32;

impl Settings {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<(Self, SecretSource), ConfigError> {
        // A missing .env is normal; a malformed one is worth a warning but not a refusal.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            eprintln!("warning: ignoring .env: {e}");
        }
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(Self, SecretSource), ConfigError> {
        let var = |name: &'static str| get(name).filter(|v| !v.trim().is_empty());

        let bind = match var("AGORA_BIND") {
            Some(v) => v.trim().parse().map_err(|_| {
                invalid(
                    "AGORA_BIND",
                    format!("{v:?} is not an address like 127.0.0.1:8000"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8000)),
        };
        let data_dir = PathBuf::from(var("AGORA_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = match var("AGORA_DATABASE_URL") {
            Some(v) => {
                let v = v.trim().to_owned();
                if !(v.starts_with("sqlite:")
                    || v.starts_with("postgres://")
                    || v.starts_with("postgresql://"))
                {
                    return Err(invalid(
                        "AGORA_DATABASE_URL",
                        "must start with sqlite:, postgres:// or postgresql://",
                    ));
                }
                v
            }
            None => {
                ensure_dir(&data_dir)?;
                format!("sqlite://{}?mode=rwc", data_dir.join("agora.db").display())
            }
        };
        let redis_url = match var("AGORA_REDIS_URL") {
            Some(v) if !v.starts_with("redis://") && !v.starts_with("rediss://") => {
                return Err(invalid(
                    "AGORA_REDIS_URL",
                    "must start with redis:// or rediss://",
                ));
            }
            other => other,
        };
        let (secret_key, secret_source) = match get("AGORA_SECRET_KEY") {
            Some(k) => {
                if k.len() < MIN_SECRET_BYTES {
                    return Err(invalid(
                        "AGORA_SECRET_KEY",
                        format!(
                            "is {} bytes long; it must be at least {MIN_SECRET_BYTES} bytes (for example: openssl rand -hex 32)",
                            k.len()
                        ),
                    ));
                }
                (k, SecretSource::Environment)
            }
            None => stored_or_generated_secret(&data_dir)?,
        };

        let pool_max = parse_num(
            "AGORA_DATABASE_POOL_MAX",
            var("AGORA_DATABASE_POOL_MAX"),
            32,
            1,
        )?;
        let pool_min = parse_num(
            "AGORA_DATABASE_POOL_MIN",
            var("AGORA_DATABASE_POOL_MIN"),
            16.min(pool_max),
            0,
        )?
        .min(pool_max);
        let settings = Self {
            bind,
            database_url,
            database_pool: Pool {
                min: pool_min,
                max: pool_max,
            },
            redis_url,
            secret_key: secret_key.into(),
            access_token_lifetime: Duration::from_secs(parse_num(
                "AGORA_ACCESS_TOKEN_LIFETIME",
                var("AGORA_ACCESS_TOKEN_LIFETIME"),
                300,
                1,
            )?),
            refresh_token_lifetime: Duration::from_secs(parse_num(
                "AGORA_REFRESH_TOKEN_LIFETIME",
                var("AGORA_REFRESH_TOKEN_LIFETIME"),
                86_400,
                1,
            )?),
            cors_origins: var("AGORA_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            log: var("AGORA_LOG").unwrap_or_else(|| "info".into()),
            auto_migrate: parse_bool("AGORA_AUTO_MIGRATE", var("AGORA_AUTO_MIGRATE"), true)?,
            // AGORA_LOGIN_RATE_LIMIT, the older single setting, is the default of both.
            login_rate_per_address: parse_num(
                "AGORA_LOGIN_RATE_LIMIT_PER_ADDRESS",
                var("AGORA_LOGIN_RATE_LIMIT_PER_ADDRESS").or_else(|| var("AGORA_LOGIN_RATE_LIMIT")),
                60,
                0,
            )?,
            register_rate_per_address: parse_num(
                "AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS",
                var("AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS"),
                20,
                0,
            )?,
            login_failures_per_username: parse_num(
                "AGORA_LOGIN_FAILURES_PER_USERNAME",
                var("AGORA_LOGIN_FAILURES_PER_USERNAME").or_else(|| var("AGORA_LOGIN_RATE_LIMIT")),
                10,
                0,
            )?,
            trusted_proxies: match var("AGORA_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(v) => v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        IpNet::parse(s).ok_or_else(|| {
                            invalid(
                                "AGORA_TRUSTED_PROXIES",
                                format!("{s:?} is not an address or a CIDR like 10.0.0.0/8"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            },
            public_url: var("AGORA_PUBLIC_URL")
                .map(|v| http_url("AGORA_PUBLIC_URL", &v, "https://api.example.com"))
                .transpose()?,
            header_read_timeout: Duration::from_secs(parse_num(
                "AGORA_HEADER_READ_TIMEOUT_SECS",
                var("AGORA_HEADER_READ_TIMEOUT_SECS"),
                10,
                1,
            )?),
            request_timeout: Duration::from_secs(parse_num(
                "AGORA_REQUEST_TIMEOUT_SECS",
                var("AGORA_REQUEST_TIMEOUT_SECS"),
                30,
                1,
            )?),
            chat_rate_per_second: parse_num(
                "AGORA_CHAT_RATE_PER_SECOND",
                var("AGORA_CHAT_RATE_PER_SECOND"),
                10,
                0,
            )?,
            chat_burst: parse_num("AGORA_CHAT_BURST", var("AGORA_CHAT_BURST"), 50, 1)?,
            ws_max_connections: parse_num(
                "AGORA_WS_MAX_CONNECTIONS",
                var("AGORA_WS_MAX_CONNECTIONS"),
                25_000,
                1,
            )?,
            ws_max_per_user: parse_num(
                "AGORA_WS_MAX_PER_USER",
                var("AGORA_WS_MAX_PER_USER"),
                10,
                1,
            )?,
            max_connections: parse_num(
                "AGORA_MAX_CONNECTIONS",
                var("AGORA_MAX_CONNECTIONS"),
                10_000,
                1,
            )?,
            shutdown_timeout: Duration::from_secs(parse_num(
                "AGORA_SHUTDOWN_TIMEOUT_SECS",
                var("AGORA_SHUTDOWN_TIMEOUT_SECS"),
                10,
                1,
            )?),
            max_body_bytes: parse_num(
                "AGORA_MAX_BODY_BYTES",
                var("AGORA_MAX_BODY_BYTES"),
                1024 * 1024,
                1024,
            )?,
            argon2_memory_kib: parse_num(
                "AGORA_ARGON2_MEMORY_KIB",
                var("AGORA_ARGON2_MEMORY_KIB"),
                19_456,
                8,
            )?,
            argon2_iterations: parse_num(
                "AGORA_ARGON2_ITERATIONS",
                var("AGORA_ARGON2_ITERATIONS"),
                2,
                1,
            )?,
            redis_prefix: var("AGORA_REDIS_PREFIX").unwrap_or_else(|| "agora".into()),
            ws_heartbeat: Duration::from_secs(parse_num(
                "AGORA_WS_HEARTBEAT_SECS",
                var("AGORA_WS_HEARTBEAT_SECS"),
                30,
                1,
            )?),
            presence_ttl: Duration::from_secs(parse_num(
                "AGORA_PRESENCE_TTL_SECS",
                var("AGORA_PRESENCE_TTL_SECS"),
                60,
                3,
            )?),
            socket_send_buffer: match var("AGORA_SOCKET_SEND_BUFFER") {
                None => None,
                raw => Some(parse_num("AGORA_SOCKET_SEND_BUFFER", raw, 0, 4096)?),
            },
            media: media_settings(&var, &data_dir)?,
            data_dir,
        };
        Ok((settings, secret_source))
    }
}

/// An address or a CIDR block (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(raw: &str) -> Option<Self> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (raw.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 peer may arrive as an IPv4-mapped IPv6 address on a dual-stack socket.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn ensure_dir(dir: &Path) -> Result<(), ConfigError> {
    std::fs::create_dir_all(dir).map_err(|source| ConfigError::DataDir {
        path: dir.to_owned(),
        source,
    })
}

/// Keeps a generated key in the data directory so tokens survive a restart.
fn stored_or_generated_secret(data_dir: &Path) -> Result<(String, SecretSource), ConfigError> {
    let path = data_dir.join("secret_key");
    let io_err = |source| ConfigError::DataDir {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(k) if k.trim().len() >= MIN_SECRET_BYTES => {
            Ok((k.trim().to_owned(), SecretSource::Stored(path)))
        }
        Ok(_) => Err(invalid(
            "AGORA_SECRET_KEY",
            format!(
                "the stored key in {} is too short; delete it or set AGORA_SECRET_KEY",
                path.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ensure_dir(data_dir)?;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::write(&path, &key).map_err(io_err)?;
            Ok((key, SecretSource::Generated(path)))
        }
        Err(e) => Err(io_err(e)),
    }
}

/// An http(s) URL with a host, else a message naming `name` with an `example`.
fn http_url(name: &'static str, raw: &str, example: &str) -> Result<url::Url, ConfigError> {
    url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| {
            invalid(
                name,
                format!("{raw:?} is not an http(s) URL like {example}"),
            )
        })
}

fn media_settings(
    var: &impl Fn(&'static str) -> Option<String>,
    data_dir: &Path,
) -> Result<MediaSettings, ConfigError> {
    let defaults = MediaSettings::local(
        var("AGORA_MEDIA_DIR").map_or_else(|| data_dir.join("media"), PathBuf::from),
    );
    let s3 = match var("AGORA_MEDIA_S3_BUCKET") {
        None => None,
        Some(bucket) => Some(S3Settings {
            bucket: bucket.trim().to_owned(),
            endpoint: var("AGORA_MEDIA_S3_ENDPOINT")
                .map(|v| http_url("AGORA_MEDIA_S3_ENDPOINT", &v, "http://127.0.0.1:9000"))
                .transpose()?
                .map(|u| u.as_str().trim_end_matches('/').to_owned()),
            region: var("AGORA_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            access_key_id: var("AGORA_MEDIA_S3_ACCESS_KEY_ID"),
            secret_access_key: var("AGORA_MEDIA_S3_SECRET_ACCESS_KEY").map(Into::into),
        }),
    };
    let max_bytes = parse_num(
        "AGORA_MEDIA_MAX_BYTES",
        var("AGORA_MEDIA_MAX_BYTES"),
        defaults.max_bytes,
        1,
    )?;
    Ok(MediaSettings {
        s3,
        max_bytes,
        buffer_bytes: parse_num(
            "AGORA_MEDIA_BUFFER_BYTES",
            var("AGORA_MEDIA_BUFFER_BYTES"),
            defaults.buffer_bytes.max(max_bytes),
            max_bytes,
        )?,
        url_ttl: Duration::from_secs(parse_num(
            "AGORA_MEDIA_URL_TTL_SECS",
            var("AGORA_MEDIA_URL_TTL_SECS"),
            defaults.url_ttl.as_secs(),
            1,
        )?),
        max_pixels: parse_num(
            "AGORA_MEDIA_MAX_PIXELS",
            var("AGORA_MEDIA_MAX_PIXELS"),
            defaults.max_pixels,
            1,
        )?,
        uploads_per_minute: parse_num(
            "AGORA_MEDIA_UPLOADS_PER_MINUTE",
            var("AGORA_MEDIA_UPLOADS_PER_MINUTE"),
            defaults.uploads_per_minute,
            0,
        )?,
        quota_bytes: parse_num(
            "AGORA_MEDIA_QUOTA_BYTES",
            var("AGORA_MEDIA_QUOTA_BYTES"),
            defaults.quota_bytes,
            0,
        )?,
        ..defaults
    })
}

fn parse_num<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    name: &'static str,
    raw: Option<String>,
    default: T,
    min: T,
) -> Result<T, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    let v: T = raw
        .trim()
        .parse()
        .map_err(|_| invalid(name, format!("{raw:?} is not a whole number")))?;
    if v < min {
        return Err(invalid(name, format!("must be at least {min}")));
    }
    Ok(v)
}

fn parse_bool(name: &'static str, raw: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match raw.as_deref().map(|s| s.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(invalid(name, format!("{v:?} is not true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("agora-config-{}", rand::rng().next_u64()));
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("AGORA_DATA_DIR".into(), dir.display().to_string());
        let out = Settings::from_lookup(|k| map.get(k).cloned()).map(|(s, _)| s);
        let _ = std::fs::remove_dir_all(dir); // best effort clean-up of a temp dir
        out
    }

    fn failing_var(pairs: &[(&str, &str)]) -> String {
        match settings(pairs) {
            Err(ConfigError::Invalid { var, .. }) => var.to_owned(),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_serve_sqlite_on_localhost_8000() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
        assert!(s.database_url.starts_with("sqlite://"));
        assert_eq!(s.access_token_lifetime, Duration::from_secs(300));
        assert!(s.secret_key.expose().len() >= MIN_SECRET_BYTES);
    }

    #[test]
    fn the_pool_keeps_16_of_32_connections_and_its_minimum_never_passes_its_maximum() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!((s.database_pool.min, s.database_pool.max), (16, 32));
        let s = settings(&[("AGORA_DATABASE_POOL_MAX", "4")]).expect("valid");
        assert_eq!((s.database_pool.min, s.database_pool.max), (4, 4));
        let s = settings(&[("AGORA_DATABASE_POOL_MIN", "0")]).expect("valid");
        assert_eq!(s.database_pool.min, 0);
        assert_eq!(
            failing_var(&[("AGORA_DATABASE_POOL_MAX", "0")]),
            "AGORA_DATABASE_POOL_MAX"
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_cidrs() {
        let net = IpNet::parse("10.0.0.0/8").expect("cidr");
        assert!(net.contains("10.1.2.3".parse().expect("ip")));
        assert!(!net.contains("11.0.0.1".parse().expect("ip")));
        assert!(net.contains("::ffff:10.0.0.1".parse().expect("mapped")));
        let one = IpNet::parse("127.0.0.1").expect("address");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        assert!(
            IpNet::parse("fd00::/8")
                .expect("v6")
                .contains("fd12::1".parse().expect("ip"))
        );
        assert!(
            IpNet::parse("0.0.0.0/0")
                .expect("all")
                .contains("8.8.8.8".parse().expect("ip"))
        );
        assert_eq!(IpNet::parse("10.0.0.0/33"), None);
        assert_eq!(IpNet::parse("nope"), None);
        assert_eq!(
            failing_var(&[("AGORA_TRUSTED_PROXIES", "10.0.0.0/8, x")]),
            "AGORA_TRUSTED_PROXIES"
        );
        assert_eq!(
            failing_var(&[("AGORA_PUBLIC_URL", "ftp://x")]),
            "AGORA_PUBLIC_URL"
        );
    }

    #[test]
    fn debug_output_never_shows_the_secret_key() {
        let key = "a-secret-key-that-is-long-enough-for-agora-0123";
        let s = settings(&[("AGORA_SECRET_KEY", key)]).expect("valid");
        assert_eq!(s.secret_key.expose(), key);
        assert!(!format!("{s:?}").contains(key));
    }

    #[test]
    fn a_short_secret_key_is_refused() {
        assert_eq!(
            failing_var(&[("AGORA_SECRET_KEY", "short")]),
            "AGORA_SECRET_KEY"
        );
    }

    #[test]
    fn bad_values_name_their_variable() {
        assert_eq!(failing_var(&[("AGORA_BIND", "nope")]), "AGORA_BIND");
        assert_eq!(
            failing_var(&[("AGORA_AUTO_MIGRATE", "maybe")]),
            "AGORA_AUTO_MIGRATE"
        );
        assert_eq!(
            failing_var(&[("AGORA_ACCESS_TOKEN_LIFETIME", "-5")]),
            "AGORA_ACCESS_TOKEN_LIFETIME"
        );
        assert_eq!(
            failing_var(&[("AGORA_DATABASE_URL", "mysql://x")]),
            "AGORA_DATABASE_URL"
        );
    }
}
