//! Encryption at rest for sensitive fields (TOTP secrets, stored channel credentials):
//! AES-256-GCM with a random nonce under DATA_ENCRYPTION_KEY. Stored as nonce ‖ ciphertext ‖ tag.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// The 32-byte key; its `Debug` never shows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DataKey(pub [u8; 32]);

impl DataKey {
    /// An HMAC-SHA-256 key for one `purpose`, derived from this key, so that tags made for one
    /// use (analytics pseudonyms, unsubscribe links) never pass for another.
    pub fn hmac_for(&self, purpose: &[u8]) -> ring::hmac::Key {
        let derived = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.0), purpose);
        ring::hmac::Key::new(ring::hmac::HMAC_SHA256, derived.as_ref())
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("could not decrypt: wrong key or damaged data")]
pub struct DecryptError;

pub fn seal(key: &DataKey, plaintext: &[u8], context: &[u8]) -> Vec<u8> {
    let mut nonce = [0_u8; NONCE_LEN];
    let _ = SystemRandom::new().fill(&mut nonce);
    let Ok(unbound) = UnboundKey::new(&AES_256_GCM, &key.0) else {
        return Vec::new();
    };
    let k = LessSafeKey::new(unbound);
    let mut buf = plaintext.to_vec();
    if k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context), &mut buf).is_err() {
        return Vec::new();
    }
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    out
}

/// `context` binds the ciphertext to its owner (a member id), so it cannot be moved to another row.
pub fn open(key: &DataKey, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, DecryptError> {
    if sealed.len() < NONCE_LEN + 16 {
        return Err(DecryptError);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| DecryptError)?;
    let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key.0).map_err(|_| DecryptError)?);
    let mut buf = ct.to_vec();
    let plain = k.open_in_place(nonce, Aad::from(context), &mut buf).map_err(|_| DecryptError)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_data_opens_only_with_the_same_key_and_context() {
        let k = DataKey([7; 32]);
        let sealed = seal(&k, b"JBSWY3DPEHPK3PXP", b"member-1");
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(open(&k, &sealed, b"member-1").ok().as_deref(), Some(&b"JBSWY3DPEHPK3PXP"[..]));
        assert!(open(&k, &sealed, b"member-2").is_err());
        assert!(open(&DataKey([8; 32]), &sealed, b"member-1").is_err());
    }
}
