//! Settings from the environment (and an optional `.env` file). Every variable starts with
//! `AGORA_`; a bad value stops start-up with a message naming the variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::RngCore;

mod accounts;
mod media;
mod net;
mod push;

pub use accounts::{
    AccountSettings, EmailBackend, JobSettings, SmtpSettings, Verification, email_backend,
};
use media::media_settings;
pub use media::{MediaSettings, S3Settings};
pub use net::IpNet;
pub use push::{PushSettings, allowlist as push_allowlist, parse_key as parse_vapid_key};

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
    /// From this many friends on, the home feed walks the posts newest first instead of
    /// reading each friend's (README, "The home feed").
    pub feed_walk_friends: usize,
    pub media: MediaSettings,
    /// Accounts by email, exports and the job queue.
    pub accounts: AccountSettings,
    /// Web Push: the VAPID key, the push services allowed.
    pub push: PushSettings,
}

/// Bounds of the PostgreSQL connection pool.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    pub min: u32,
    pub max: u32,
    /// How long start-up waits for a database that does not answer yet, retrying with
    /// backoff, before it gives up.
    pub wait: Duration,
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
        let env = Env(&get);

        let bind = env
            .parsed("AGORA_BIND", |v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{v:?} is not an address like 127.0.0.1:8000"))
            })?
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8000)));
        let data_dir = PathBuf::from(
            env.text("AGORA_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let database_url = env.parsed("AGORA_DATABASE_URL", |v| {
            let v = v.trim();
            if ["sqlite:", "postgres://", "postgresql://"]
                .iter()
                .any(|p| v.starts_with(p))
            {
                Ok(v.to_owned())
            } else {
                Err("must start with sqlite:, postgres:// or postgresql://".into())
            }
        })?;
        let database_url = match database_url {
            Some(v) => v,
            None => {
                ensure_dir(&data_dir)?;
                format!("sqlite://{}?mode=rwc", data_dir.join("agora.db").display())
            }
        };
        let redis_url = env.parsed("AGORA_REDIS_URL", |v| {
            if v.starts_with("redis://") || v.starts_with("rediss://") {
                Ok(v.to_owned())
            } else {
                Err("must start with redis:// or rediss://".into())
            }
        })?;
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

        let pool_max = env.num("AGORA_DATABASE_POOL_MAX", 32, 1)?;
        let pool_min = env
            .num("AGORA_DATABASE_POOL_MIN", 16.min(pool_max), 0)?
            .min(pool_max);
        let settings = Self {
            bind,
            database_url,
            database_pool: Pool {
                min: pool_min,
                max: pool_max,
                wait: env.secs("AGORA_DATABASE_WAIT_SECS", 60, 0)?,
            },
            redis_url,
            secret_key: secret_key.into(),
            access_token_lifetime: env.secs("AGORA_ACCESS_TOKEN_LIFETIME", 300, 1)?,
            refresh_token_lifetime: env.secs("AGORA_REFRESH_TOKEN_LIFETIME", 86_400, 1)?,
            cors_origins: env
                .text("AGORA_CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            log: env.text("AGORA_LOG").unwrap_or_else(|| "info".into()),
            auto_migrate: env.flag("AGORA_AUTO_MIGRATE", true)?,
            // AGORA_LOGIN_RATE_LIMIT, the older single setting, is the default of both.
            login_rate_per_address: env.num_or(
                "AGORA_LOGIN_RATE_LIMIT_PER_ADDRESS",
                "AGORA_LOGIN_RATE_LIMIT",
                60,
                0,
            )?,
            register_rate_per_address: env.num("AGORA_REGISTER_RATE_LIMIT_PER_ADDRESS", 20, 0)?,
            login_failures_per_username: env.num_or(
                "AGORA_LOGIN_FAILURES_PER_USERNAME",
                "AGORA_LOGIN_RATE_LIMIT",
                10,
                0,
            )?,
            trusted_proxies: env
                .parsed("AGORA_TRUSTED_PROXIES", |v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| {
                            IpNet::parse(s).ok_or_else(|| {
                                format!("{s:?} is not an address or a CIDR like 10.0.0.0/8")
                            })
                        })
                        .collect()
                })?
                .unwrap_or_default(),
            public_url: env.parsed("AGORA_PUBLIC_URL", |v| {
                http_url(v, "https://api.example.com")
            })?,
            header_read_timeout: env.secs("AGORA_HEADER_READ_TIMEOUT_SECS", 10, 1)?,
            request_timeout: env.secs("AGORA_REQUEST_TIMEOUT_SECS", 30, 1)?,
            chat_rate_per_second: env.num("AGORA_CHAT_RATE_PER_SECOND", 10, 0)?,
            chat_burst: env.num("AGORA_CHAT_BURST", 50, 1)?,
            ws_max_connections: env.num("AGORA_WS_MAX_CONNECTIONS", 25_000, 1)?,
            ws_max_per_user: env.num("AGORA_WS_MAX_PER_USER", 10, 1)?,
            max_connections: env.num("AGORA_MAX_CONNECTIONS", 10_000, 1)?,
            shutdown_timeout: env.secs("AGORA_SHUTDOWN_TIMEOUT_SECS", 10, 1)?,
            max_body_bytes: env.num("AGORA_MAX_BODY_BYTES", 1024 * 1024, 1024)?,
            argon2_memory_kib: env.num("AGORA_ARGON2_MEMORY_KIB", 19_456, 8)?,
            argon2_iterations: env.num("AGORA_ARGON2_ITERATIONS", 2, 1)?,
            redis_prefix: env
                .text("AGORA_REDIS_PREFIX")
                .unwrap_or_else(|| "agora".into()),
            ws_heartbeat: env.secs("AGORA_WS_HEARTBEAT_SECS", 30, 1)?,
            presence_ttl: env.secs("AGORA_PRESENCE_TTL_SECS", 60, 3)?,
            socket_send_buffer: env.optional_num("AGORA_SOCKET_SEND_BUFFER", 4096)?,
            feed_walk_friends: env.num("AGORA_FEED_WALK_FRIENDS", 1_000, 0)?,
            media: media_settings(&env, &data_dir)?,
            accounts: accounts::account_settings(&env)?,
            push: push::push_settings(&env, &data_dir)?,
            data_dir,
        };
        Ok((settings, secret_source))
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

/// An http(s) URL with a host, else a message with an `example`.
pub(super) fn http_url(raw: &str, example: &str) -> Result<url::Url, String> {
    url::Url::parse(raw.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| format!("{raw:?} is not an http(s) URL like {example}"))
}

/// What a numeric setting can be.
pub(super) trait Number: std::str::FromStr + PartialOrd + std::fmt::Display + Copy {}
impl<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy> Number for T {}

/// The environment, read one setting at a time: each method takes the variable's name once, and
/// every error names it. A variable set to blanks counts as unset.
pub(super) struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    pub(super) fn text(&self, name: &'static str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// The variable's value through `parse`, whose error message is given with the name.
    pub(super) fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.text(name)
            .map(|v| parse(&v).map_err(|msg| invalid(name, msg)))
            .transpose()
    }

    /// A whole number of at least `min`, `default` when unset.
    pub(super) fn num<T: Number>(
        &self,
        name: &'static str,
        default: T,
        min: T,
    ) -> Result<T, ConfigError> {
        Ok(self.optional_num(name, min)?.unwrap_or(default))
    }

    /// `num`, with the value of an older variable, `fallback`, as the default when set.
    pub(super) fn num_or<T: Number>(
        &self,
        name: &'static str,
        fallback: &'static str,
        default: T,
        min: T,
    ) -> Result<T, ConfigError> {
        match self.optional_num(name, min)? {
            Some(v) => Ok(v),
            None => self.num(fallback, default, min),
        }
    }

    /// A whole number of at least `min`, or None when unset.
    pub(super) fn optional_num<T: Number>(
        &self,
        name: &'static str,
        min: T,
    ) -> Result<Option<T>, ConfigError> {
        self.parsed(name, |raw| {
            let v: T = raw
                .trim()
                .parse()
                .map_err(|_| format!("{raw:?} is not a whole number"))?;
            if v < min {
                return Err(format!("must be at least {min}"));
            }
            Ok(v)
        })
    }

    /// Whole seconds, at least `min`.
    pub(super) fn secs(
        &self,
        name: &'static str,
        default: u64,
        min: u64,
    ) -> Result<Duration, ConfigError> {
        self.num(name, default, min).map(Duration::from_secs)
    }

    pub(super) fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        let parsed = self.parsed(name, |v| match v.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            v => Err(format!("{v:?} is not true or false")),
        })?;
        Ok(parsed.unwrap_or(default))
    }
}

#[cfg(test)]
mod tests;
