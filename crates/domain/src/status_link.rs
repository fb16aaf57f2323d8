//! Public status links: an admin shares the music status of one brand or one venue under an
//! unguessable URL, for people outside the team. What a link covers, its label and the shape of
//! its token are parsed here, once, at the edge.

use crate::Invalid;
use crate::member::bounded_text;
use crate::venue::Brand;
use serde::Serialize;
use uuid::Uuid;

/// What a link shows: the live venues of one brand (the venues' brand text), or one venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusScope {
    Brand(Brand),
    Venue(Uuid),
}

/// Which of the two a link covers, for lists and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScopeKind {
    Brand,
    Venue,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Brand => "brand",
            ScopeKind::Venue => "venue",
        }
    }
}

impl StatusScope {
    /// Exactly one of `brand` and `venue_id`; otherwise both fields are named.
    pub fn parse(brand: Option<&str>, venue_id: Option<Uuid>) -> Result<Self, Invalid> {
        let both = |message: &str| {
            let mut inv = Invalid::one("brand", message);
            inv.push("venue_id", message);
            inv
        };
        match (brand, venue_id) {
            (Some(b), None) => Brand::parse(b).map(StatusScope::Brand),
            (None, Some(v)) => Ok(StatusScope::Venue(v)),
            (Some(_), Some(_)) => Err(both("give either a brand or a venue_id, not both")),
            (None, None) => Err(both("give a brand or a venue_id")),
        }
    }

    pub fn kind(&self) -> ScopeKind {
        match self {
            StatusScope::Brand(_) => ScopeKind::Brand,
            StatusScope::Venue(_) => ScopeKind::Venue,
        }
    }
}

/// The team's own name for a link ("for the Hilton regional office"); never shown on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LinkLabel(String);

impl LinkLabel {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        bounded_text(raw, 1, 100).map(Self).map_err(|m| Invalid::one("label", m))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A link's token as it appears in the URL: 32 random bytes (256 bits) in URL-safe base64
/// without padding. Anything else is no token, and is answered like an unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusToken(String);

impl StatusToken {
    pub const LEN: usize = 43;

    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == Self::LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_exactly_one_brand_or_one_venue() {
        let v = Uuid::nil();
        assert_eq!(StatusScope::parse(None, Some(v)), Ok(StatusScope::Venue(v)));
        assert_eq!(StatusScope::parse(Some(" Lotus "), None).map(|s| s.kind()), Ok(ScopeKind::Brand));
        for (brand, venue) in [(Some("Lotus"), Some(v)), (None, None)] {
            let fields: Vec<String> = StatusScope::parse(brand, venue)
                .err()
                .map(|e| e.0)
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.field)
                .collect();
            assert_eq!(fields, ["brand", "venue_id"]);
        }
        assert_eq!(StatusScope::parse(Some("  "), None).err().map(|e| e.0[0].field.clone()), Some("brand".into()));
    }

    #[test]
    fn tokens_are_43_url_safe_characters_and_nothing_else() {
        let good = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123-_x";
        assert_eq!(good.len(), StatusToken::LEN);
        assert!(StatusToken::parse(good).is_some());
        assert!(StatusToken::parse(&good[1..]).is_none());
        assert!(StatusToken::parse(&format!("{}=", &good[1..])).is_none());
        assert!(StatusToken::parse("../../etc/passwd").is_none());
    }

    #[test]
    fn labels_are_trimmed_and_bounded() {
        assert_eq!(LinkLabel::parse(" Regional office ").map(|l| l.as_str().to_owned()), Ok("Regional office".into()));
        assert!(LinkLabel::parse(&"x".repeat(101)).is_err());
        assert!(LinkLabel::parse("").is_err());
    }
}
