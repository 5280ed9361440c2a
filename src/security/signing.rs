//! Signed media links: an HMAC-SHA256 over the media id, the variant (`content`, `thumbnail`)
//! and an expiry, with a key derived from the secret key (so a leaked link key is not a JWT
//! key). A link that was altered or has expired does not verify.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl LinkSigner {
    pub fn new(secret: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"agora media link signing key v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, id: i64, variant: &str, expires: i64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(format!("{id}:{variant}:{expires}").as_bytes());
        mac
    }

    /// The signature (lower-case hex) of a link to `variant` of media `id`, valid until
    /// `expires` (Unix seconds).
    pub fn sign(&self, id: i64, variant: &str, expires: i64) -> String {
        let bytes = self.mac(id, variant, expires).finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Whether `signature` is this link's, compared in constant time, and `now` is before
    /// `expires`.
    pub fn verify(&self, id: i64, variant: &str, expires: i64, signature: &str, now: i64) -> bool {
        if now >= expires || signature.len() != 64 {
            return false;
        }
        let Some(raw) = decode_hex(signature) else {
            return false;
        };
        self.mac(id, variant, expires).verify_slice(&raw).is_ok()
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
