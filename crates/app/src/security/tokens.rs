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
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes()).as_ref().to_vec()
}
