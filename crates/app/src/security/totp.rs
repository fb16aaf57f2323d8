//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s), as authenticator apps
//! use. A code is accepted for the current step and one step either side; a step once used is
//! never accepted again (the caller stores the last accepted step).

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

pub const STEP_SECONDS: u64 = 30;
const DIGITS: u32 = 6;

/// 20 random bytes, the size RFC 4226 recommends.
pub fn generate_secret() -> Vec<u8> {
    let mut s = vec![0_u8; 20];
    let _ = SystemRandom::new().fill(&mut s);
    s
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0_u32, 0_u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `otpauth://` URI that an authenticator app scans.
pub fn otpauth_uri(secret: &[u8], account: &str) -> String {
    let issuer = percent_encode("BMA Social");
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        percent_encode(account),
        base32(secret)
    )
}

/// The code of one time step (RFC 4226 HOTP over the step counter).
fn code_for_step(secret: &[u8], step: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let m = mac.as_ref();
    let offset = usize::from(m[m.len() - 1] & 0x0f);
    let bin = (u32::from(m[offset] & 0x7f) << 24)
        | (u32::from(m[offset + 1]) << 16)
        | (u32::from(m[offset + 2]) << 8)
        | u32::from(m[offset + 3]);
    format!("{:06}", bin % 10_u32.pow(DIGITS))
}

/// The code for `unix_time` (what an authenticator app shows then).
pub fn code_at(secret: &[u8], unix_time: u64) -> String {
    code_for_step(secret, unix_time / STEP_SECONDS)
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The time step at which `code` is valid (within ±1 step of `unix_time`) and later than
/// `last_step`, if any.
pub fn verify(secret: &[u8], code: &str, unix_time: u64, last_step: Option<i64>) -> Option<i64> {
    let now_step = unix_time / STEP_SECONDS;
    [now_step.saturating_sub(1), now_step, now_step + 1].into_iter().find_map(|step| {
        let step_i = i64::try_from(step).ok()?;
        let fresh = last_step.is_none_or(|l| step_i > l);
        (fresh && same(code_for_step(secret, step).as_bytes(), code.as_bytes())).then_some(step_i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1, secret "12345678901234567890", 8 digits truncated to 6.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59), "287082");
        assert_eq!(code_at(secret, 1_111_111_109), "081804");
        assert_eq!(code_at(secret, 2_000_000_000), "279037");
    }

    #[test]
    fn a_code_verifies_once_and_its_replay_is_refused() {
        let s = generate_secret();
        let now = 1_800_000_000;
        let code = code_at(&s, now);
        let step = verify(&s, &code, now, None);
        assert_eq!(step, Some(60_000_000));
        assert_eq!(verify(&s, &code, now, step), None);
    }

    #[test]
    fn codes_from_the_neighbouring_step_are_accepted_but_not_older_ones() {
        let s = b"12345678901234567890";
        let now = 1_800_000_000;
        assert!(verify(s, &code_at(s, now - 30), now, None).is_some());
        let old = code_at(s, now - 120);
        let near: Vec<String> = [now - 30, now, now + 30].iter().map(|t| code_at(s, *t)).collect();
        assert_eq!(verify(s, &old, now, None).is_some(), near.contains(&old));
    }

    #[test]
    fn the_uri_names_the_issuer_account_and_base32_secret() {
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri(b"12345678901234567890", "ops@bma.example");
        assert!(uri.starts_with("otpauth://totp/BMA%20Social:ops%40bma.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=BMA%20Social"), "{uri}");
    }
}
