//! Signed media links: an HMAC-SHA256 over the media id, the variant (`content`, `thumbnail`)
//! and an expiry, with a key derived from the secret key (so a leaked link key is not a JWT
//! key). A link that was altered or has expired does not verify.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// An HMAC-SHA256 key of its own for one purpose, derived from the secret key, so a key
/// that leaks from one use (links, verification keys, reset tokens) opens no other.
#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl Signer {
    pub fn new(secret: &str, purpose: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(purpose.as_bytes());
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(message.as_bytes());
        mac
    }

    /// The signature of `message`: lower-case hex, `bytes` long (at most 32) once decoded.
    pub fn sign(&self, message: &str, bytes: usize) -> String {
        let full = self.mac(message).finalize().into_bytes();
        full.iter()
            .take(bytes)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` is `sign(message, bytes)`, compared in constant time.
    pub fn verify(&self, message: &str, signature: &str, bytes: usize) -> bool {
        if signature.len() != bytes * 2 {
            return false;
        }
        let Some(raw) = decode_hex(signature) else {
            return false;
        };
        self.mac(message).verify_truncated_left(&raw).is_ok()
    }
}

/// Signs media links.
#[derive(Clone)]
pub struct LinkSigner(Signer);

impl LinkSigner {
    pub fn new(secret: &str) -> Self {
        Self(Signer::new(secret, "agora media link signing key v1"))
    }

    /// The signature (lower-case hex) of a link to `variant` of media `id`, valid until
    /// `expires` (Unix seconds).
    pub fn sign(&self, id: i64, variant: &str, expires: i64) -> String {
        self.0.sign(&format!("{id}:{variant}:{expires}"), 32)
    }

    /// Whether `signature` is this link's, compared in constant time, and `now` is before
    /// `expires`.
    pub fn verify(&self, id: i64, variant: &str, expires: i64, signature: &str, now: i64) -> bool {
        now < expires
            && self
                .0
                .verify(&format!("{id}:{variant}:{expires}"), signature, 32)
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes();
    digits
        .chunks(2)
        .map(|pair| {
            let hi = char::from(pair[0]).to_digit(16)?;
            let lo = char::from(*pair.get(1)?).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_until_it_expires_and_not_once_altered() {
        let signer = LinkSigner::new("a secret key that is long enough for tests");
        let sig = signer.sign(7, "content", 1000);
        assert!(signer.verify(7, "content", 1000, &sig, 999));
        assert!(!signer.verify(7, "content", 1000, &sig, 1000), "expired");
        assert!(!signer.verify(8, "content", 1000, &sig, 0), "another id");
        assert!(
            !signer.verify(7, "thumbnail", 1000, &sig, 0),
            "another variant"
        );
        assert!(
            !signer.verify(7, "content", 2000, &sig, 0),
            "a later expiry"
        );
        let mut tampered = sig.clone();
        tampered.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
        assert!(!signer.verify(7, "content", 1000, &tampered, 0));
        assert!(!signer.verify(7, "content", 1000, "zz", 0));
        assert!(!signer.verify(7, "content", 1000, &"é".repeat(32), 0));
        let other = LinkSigner::new("another secret key that is long enough too");
        assert!(!other.verify(7, "content", 1000, &sig, 0));
    }
}
