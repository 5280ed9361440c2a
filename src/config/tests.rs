//! Settings read from a map instead of the environment.
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

#[test]
fn a_vapid_key_is_generated_once_then_read_back_or_taken_from_the_environment() {
    let dir = std::env::temp_dir().join(format!("agora-vapid-{}", rand::rng().next_u64()));
    let lookup = |k: &str| (k == "AGORA_DATA_DIR").then(|| dir.display().to_string());
    let (first, _) = Settings::from_lookup(lookup).expect("valid");
    assert_eq!(
        first.push.vapid_generated.as_deref(),
        Some(dir.join("vapid_private_key").as_path())
    );
    let (second, _) = Settings::from_lookup(lookup).expect("valid");
    assert_eq!(
        second.push.vapid_generated, None,
        "read back, not generated"
    );
    assert_eq!(first.push.vapid_private_key, second.push.vapid_private_key);
    let _ = std::fs::remove_dir_all(&dir); // best effort clean-up of a temp dir
    assert_eq!(
        failing_var(&[("AGORA_VAPID_PRIVATE_KEY", "not a key")]),
        "AGORA_VAPID_PRIVATE_KEY"
    );
    let s = settings(&[("AGORA_PUSH_ENDPOINT_ALLOWLIST", " Push.Example.com ,")]).expect("valid");
    assert_eq!(s.push.allowlist, vec!["push.example.com"]);
    assert_eq!(s.push.ttl, Duration::from_secs(86_400));
}
