//! Team members: the people who sign in to the portal.

use crate::Invalid;
use serde::Serialize;

/// An email address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_lowercase();
        let bad = || Invalid::one("email", "must be a valid email address");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.len() > 64
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
            || domain.contains('@')
            || !domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-')
            || local.chars().any(|c| matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | ',' | ';' | ':' | '\\' | '"'))
        {
            return Err(bad());
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Personal data never appears in logs in full: `Debug` masks the local part.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.split_once('@') {
            Some((l, d)) => write!(f, "{}***@{d}", l.chars().next().unwrap_or('*')),
            None => f.write_str("***"),
        }
    }
}

/// A password as typed, before hashing. Its text never reaches `Debug`.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_LEN: usize = 10;
    /// bcrypt reads at most 72 bytes including the NUL it appends; longer passwords are refused
    /// rather than silently cut (72 bytes made `non_truncating_hash` fail: a 500 found by
    /// schemathesis).
    pub const MAX_BYTES: usize = 71;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.chars().count() < Self::MIN_LEN {
            return Err(Invalid::one("password", format!("must be at least {} characters", Self::MIN_LEN)));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(Invalid::one("password", format!("must be at most {} bytes", Self::MAX_BYTES)));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text(raw, 1, 100).map(Self).map_err(|m| Invalid::one("name", m))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Every character `str::trim` removes (Unicode White_Space).
pub const WHITE_SPACE: [char; 25] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}',
    '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}',
    '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// [`WHITE_SPACE`] as the inside of a regular-expression class (`\uXXXX` each), for the patterns
/// of the API's schemas, which must agree with what the server trims.
pub fn white_space_class() -> String {
    WHITE_SPACE.iter().map(|c| format!("\\u{:04X}", u32::from(*c))).collect()
}

/// Trimmed text whose length (in characters) lies in `min..=max` and that holds no control
/// characters.
pub fn bounded_text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let s = raw.trim();
    let n = s.chars().count();
    if n < min {
        return Err(if min == 1 { "must not be empty".into() } else { format!("must be at least {min} characters") });
    }
    if n > max {
        return Err(format!("must be at most {max} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

/// A six-digit time-based one-time code.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if s.len() == 6 && s.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(s))
        } else {
            Err(Invalid::one("totp_code", "must be 6 digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

#[cfg(test)]
mod white_space_tests {
    #[test]
    fn the_white_space_list_is_exactly_what_trim_removes() {
        for c in (0..=0x10FFFF_u32).filter_map(char::from_u32) {
            assert_eq!(c.is_whitespace(), super::WHITE_SPACE.contains(&c), "U+{:04X}", u32::from(c));
        }
        assert!(super::white_space_class().starts_with("\\u0009\\u000A"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_malformed_ones_refused() {
        assert_eq!(Email::parse("  Ops@Example.COM ").map(|e| e.as_str().to_owned()), Ok("ops@example.com".into()));
        for bad in [
            "",
            "a",
            "a@b",
            "@x.com",
            "a@.com",
            "a@x..com",
            "a b@x.com",
            "a@x.com'; DROP TABLE venues;--",
            "<script>@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_debug_output_hides_the_address() {
        let e = Email::parse("somchai@hotel.co.th").map(|e| format!("{e:?}"));
        assert_eq!(e, Ok("s***@hotel.co.th".to_owned()));
    }

    #[test]
    fn passwords_shorter_than_ten_or_longer_than_71_bytes_are_refused() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(72)).is_err());
        assert!(Password::parse(&"x".repeat(71)).is_ok());
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(format!("{:?}", Password::parse("correct horse battery").ok()), "Some(Password(***))");
    }

    #[test]
    fn totp_codes_must_be_six_digits() {
        assert!(TotpCode::parse("123 456").is_ok());
        assert!(TotpCode::parse("12345").is_err());
        assert!(TotpCode::parse("12345a").is_err());
    }
}
