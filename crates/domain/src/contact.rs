//! Venue contacts: who speaks for a venue, and on which channel they can be reached.

use crate::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Whatsapp,
    Line,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Line => "line",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim().to_lowercase().as_str() {
            "whatsapp" => Ok(Channel::Whatsapp),
            "line" => Ok(Channel::Line),
            "email" => Ok(Channel::Email),
            _ => Err(Invalid::one("channel", "must be one of whatsapp, line, email")),
        }
    }
}

crate::sql::text_column!(Channel, |s| Channel::parse(s).ok());

/// A phone number in E.164 form (`+66812345678`), as WhatsApp identifies senders.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.')).collect();
        let body = digits.strip_prefix('+').unwrap_or(&digits);
        if (8..=15).contains(&body.len()) && body.chars().all(|c| c.is_ascii_digit()) && !body.starts_with('0') {
            Ok(Self(format!("+{body}")))
        } else {
            Err(Invalid::one("whatsapp_number", "must be an international number such as +66812345678"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tail: String = self.0.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
        write!(f, "+***{tail}")
    }
}

/// A LINE user id: `U` followed by 32 hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LineUserId(String);

impl LineUserId {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if s.len() == 33 && s.starts_with('U') && s[1..].chars().all(|c| c.is_ascii_hexdigit()) {
            // LINE writes the hex digits in lower case, and so does the database's check: an
            // id typed in capitals is the same user.
            Ok(Self(format!("U{}", s[1..].to_ascii_lowercase())))
        } else {
            Err(Invalid::one("line_user_id", "must be U followed by 32 hexadecimal characters"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_stored_in_e164_form() {
        assert_eq!(PhoneNumber::parse("+66 81-234-5678").map(|p| p.as_str().to_owned()), Ok("+66812345678".into()));
        assert!(PhoneNumber::parse("0812345678").is_err());
        assert!(PhoneNumber::parse("+66abc").is_err());
        assert_eq!(PhoneNumber::parse("+66812345678").map(|p| format!("{p:?}")), Ok("+***78".into()));
    }

    #[test]
    fn line_user_ids_follow_lines_format() {
        assert!(LineUserId::parse("U4af4980629e7d9f2b4c1b2d0e5e1a9b0").is_ok());
        assert!(LineUserId::parse("u4af4980629").is_err());
        // Found by schemathesis: capitals passed here and broke the database's check (a 500).
        let typed = LineUserId::parse(" U4AF4980629E7D9F2B4C1B2D0E5E1A9B0 ").expect("capital hex digits");
        assert_eq!(typed.as_str(), "U4af4980629e7d9f2b4c1b2d0e5e1a9b0");
    }
}

/// A venue contact as a client describes it: the channel's identifier must be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDraft {
    pub name: crate::member::PersonName,
    pub role: Option<String>,
    pub channel: Channel,
    pub whatsapp_number: Option<PhoneNumber>,
    pub line_user_id: Option<LineUserId>,
    pub email: Option<crate::member::Email>,
    pub is_staff: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RawContact<'a> {
    pub name: Option<&'a str>,
    pub role: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub whatsapp_number: Option<&'a str>,
    pub line_user_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub is_staff: Option<bool>,
}

fn present(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

impl ContactDraft {
    pub fn parse(raw: &RawContact<'_>) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = match present(raw.name) {
            Some(n) => inv.check("name", crate::member::PersonName::parse(n)),
            None => {
                inv.push("name", "is required");
                None
            }
        };
        let channel = match present(raw.channel) {
            Some(c) => inv.check("channel", Channel::parse(c)),
            None => {
                inv.push("channel", "is required");
                None
            }
        };
        let whatsapp_number =
            present(raw.whatsapp_number).and_then(|s| inv.check("whatsapp_number", PhoneNumber::parse(s)));
        let line_user_id = present(raw.line_user_id).and_then(|s| inv.check("line_user_id", LineUserId::parse(s)));
        let email = present(raw.email).and_then(|s| inv.check("email", crate::member::Email::parse(s)));
        let role = match present(raw.role).map(|r| crate::member::bounded_text(r, 1, 50)) {
            Some(Ok(r)) => Some(r),
            Some(Err(m)) => {
                inv.push("role", m);
                None
            }
            None => None,
        };
        match channel {
            Some(Channel::Whatsapp) if whatsapp_number.is_none() && present(raw.whatsapp_number).is_none() => {
                inv.push("whatsapp_number", "is required for a WhatsApp contact");
            }
            Some(Channel::Line) if line_user_id.is_none() && present(raw.line_user_id).is_none() => {
                inv.push("line_user_id", "is required for a LINE contact");
            }
            Some(Channel::Email) if email.is_none() && present(raw.email).is_none() => {
                inv.push("email", "is required for an email contact");
            }
            _ => {}
        }
        match (name, channel, inv.is_empty()) {
            (Some(name), Some(channel), true) => Ok(Self {
                name,
                role,
                channel,
                whatsapp_number,
                line_user_id,
                email,
                is_staff: raw.is_staff.unwrap_or(true),
            }),
            _ => Err(inv),
        }
    }
}
