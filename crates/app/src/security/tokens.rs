//! Opaque random tokens (refresh tokens, invitation links). Only their SHA-256 is stored.

use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut b = [0_u8; 32];
    let _ = SystemRandom::new().fill(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    hash_token_bytes(token.as_bytes())
}

/// SHA-256 of any bytes (a file's fingerprint, a derived token).
pub fn hash_token_bytes(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().to_vec()
}
