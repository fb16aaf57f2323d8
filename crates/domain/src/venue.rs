//! Venues (a hotel, a restaurant, a shop) and their sound zones.

use crate::Invalid;
use crate::member::bounded_text;
use serde::{Deserialize, Serialize};

macro_rules! text_newtype {
    ($(#[$m:meta])* $name:ident, $field:literal, $min:expr, $max:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, Invalid> {
                bounded_text(raw, $min, $max).map(Self).map_err(|m| Invalid::one($field, m))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_newtype!(
    /// A venue's name, as the team and the venue know it.
    VenueName, "name", 1, 255);
text_newtype!(
    /// A hotel or restaurant brand that groups venues.
    Brand, "brand", 1, 100);
text_newtype!(
    /// A zone's name inside its venue ("Lobby", "Pool Bar").
    ZoneName, "name", 1, 100);
text_newtype!(
    /// An id in Soundtrack Your Brand (account or sound zone); opaque base64 text there.
    SoundtrackId, "soundtrack_id", 1, 100);

/// An ISO 3166-1 alpha-2 country code, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim().to_uppercase();
        if s.len() == 2 && s.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Self(s))
        } else {
            Err(Invalid::one("country", "must be a two-letter ISO country code such as TH"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time-zone name such as `Asia/Bangkok`, one of `time_zones::NAMES`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let s = raw.trim();
        if crate::time_zones::NAMES.binary_search(&s).is_ok() {
            Ok(Self(s.to_owned()))
        } else {
            Err(Invalid::one("timezone", "must be an IANA time zone such as Asia/Bangkok"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What kind of space a zone plays in; it sets how urgent silence there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ZoneType {
    Lobby,
    Restaurant,
    Pool,
    Spa,
    Bar,
    Retail,
    Other,
}

crate::sql::text_column!(ZoneType, |s| ZoneType::parse(s).ok());

impl ZoneType {
    pub const ALL: [ZoneType; 7] = [
        ZoneType::Lobby,
        ZoneType::Restaurant,
        ZoneType::Pool,
        ZoneType::Spa,
        ZoneType::Bar,
        ZoneType::Retail,
        ZoneType::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ZoneType::Lobby => "lobby",
            ZoneType::Restaurant => "restaurant",
            ZoneType::Pool => "pool",
            ZoneType::Spa => "spa",
            ZoneType::Bar => "bar",
            ZoneType::Retail => "retail",
            ZoneType::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_lowercase();
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Invalid::one("zone_type", "must be one of lobby, restaurant, pool, spa, bar, retail, other"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(VenueName::parse("  Hotel Lumière ").map(|v| v.as_str().to_owned()), Ok("Hotel Lumière".into()));
        assert!(VenueName::parse("   ").is_err());
        assert!(VenueName::parse(&"x".repeat(256)).is_err());
        assert!(ZoneName::parse("Lobby\u{0}").is_err());
    }

    #[test]
    fn country_codes_and_time_zones_are_checked() {
        assert_eq!(CountryCode::parse("th").map(|c| c.as_str().to_owned()), Ok("TH".into()));
        assert!(CountryCode::parse("THA").is_err());
        assert!(TimeZoneName::parse("Asia/Bangkok").is_ok());
        assert!(TimeZoneName::parse("Bangkok; DROP").is_err());
        assert!(TimeZoneName::parse("Asia/Atlantis").is_err());
        assert!(TimeZoneName::parse(" UTC ").is_ok());
    }

    #[test]
    fn the_time_zone_list_is_sorted_so_lookups_find_every_name() {
        assert!(crate::time_zones::NAMES.windows(2).all(|w| w[0] < w[1]));
        assert!(crate::time_zones::NAMES.len() > 400);
    }

    #[test]
    fn zone_types_parse_case_insensitively() {
        assert_eq!(ZoneType::parse("Pool"), Ok(ZoneType::Pool));
        assert!(ZoneType::parse("garage").is_err());
    }
}

/// A venue as a client describes it, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueDraft {
    pub name: VenueName,
    pub brand: Option<Brand>,
    pub country: Option<CountryCode>,
    pub timezone: TimeZoneName,
    pub soundtrack_account_id: Option<SoundtrackId>,
    pub opening_hours: Option<Vec<crate::hours::OpeningPeriod>>,
}

/// The raw text of a venue's fields, from JSON or a CSV row.
#[derive(Debug, Clone, Default)]
pub struct RawVenue<'a> {
    pub name: Option<&'a str>,
    pub brand: Option<&'a str>,
    pub country: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub soundtrack_account_id: Option<&'a str>,
}

fn optional<T>(
    inv: &mut Invalid,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> Option<T> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => inv.check(field, parse(s)),
    }
}

impl VenueDraft {
    /// Parses every field, collecting all failures. `hours` is parsed by the caller.
    pub fn parse(raw: &RawVenue<'_>, opening_hours: Option<Vec<crate::hours::OpeningPeriod>>) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = match raw.name {
            Some(n) => inv.check("name", VenueName::parse(n)),
            None => {
                inv.push("name", "is required");
                None
            }
        };
        let brand = optional(&mut inv, "brand", raw.brand, Brand::parse);
        let country = optional(&mut inv, "country", raw.country, CountryCode::parse);
        let timezone = match raw.timezone.map(str::trim).filter(|s| !s.is_empty()) {
            Some(tz) => inv.check("timezone", TimeZoneName::parse(tz)),
            None => {
                inv.push("timezone", "is required (an IANA time zone such as Asia/Bangkok)");
                None
            }
        };
        let soundtrack_account_id =
            optional(&mut inv, "soundtrack_account_id", raw.soundtrack_account_id, SoundtrackId::parse);
        match (name, timezone, inv.is_empty()) {
            (Some(name), Some(timezone), true) => {
                Ok(Self { name, brand, country, timezone, soundtrack_account_id, opening_hours })
            }
            _ => Err(inv),
        }
    }
}

/// A sound zone as a client describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDraft {
    pub name: ZoneName,
    pub zone_type: ZoneType,
    pub soundtrack_zone_id: Option<SoundtrackId>,
}

impl ZoneDraft {
    pub fn parse(
        name: Option<&str>,
        zone_type: Option<&str>,
        soundtrack_zone_id: Option<&str>,
    ) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = match name {
            Some(n) => inv.check("name", ZoneName::parse(n)),
            None => {
                inv.push("name", "is required");
                None
            }
        };
        let zone_type = optional(&mut inv, "zone_type", zone_type, ZoneType::parse).unwrap_or(ZoneType::Other);
        let soundtrack_zone_id = optional(&mut inv, "soundtrack_zone_id", soundtrack_zone_id, SoundtrackId::parse);
        match (name, inv.is_empty()) {
            (Some(name), true) => Ok(Self { name, zone_type, soundtrack_zone_id }),
            _ => Err(inv),
        }
    }
}
