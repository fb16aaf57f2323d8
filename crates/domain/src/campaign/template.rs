//! A campaign's message with variables (`Hello {{contact.name}}, {{zone.count}} zones at
//! {{venue.name}} …`): parsed and checked when the campaign is saved, so an unknown variable is
//! refused with its name instead of reaching a venue as literal braces; rendered per recipient.

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// The longest message a campaign may carry (WhatsApp's text limit).
pub const MAX_CHARS: usize = 4096;

/// What a template may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    VenueName,
    VenueBrand,
    VenueCountry,
    ContactName,
    ContactRole,
    ZoneCount,
    CampaignName,
}

impl Variable {
    pub const ALL: [Variable; 7] = [
        Variable::VenueName,
        Variable::VenueBrand,
        Variable::VenueCountry,
        Variable::ContactName,
        Variable::ContactRole,
        Variable::ZoneCount,
        Variable::CampaignName,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variable::VenueName => "venue.name",
            Variable::VenueBrand => "venue.brand",
            Variable::VenueCountry => "venue.country",
            Variable::ContactName => "contact.name",
            Variable::ContactRole => "contact.role",
            Variable::ZoneCount => "zone.count",
            Variable::CampaignName => "campaign.name",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    fn known() -> String {
        Self::ALL.iter().map(|v| format!("{{{{{}}}}}", v.as_str())).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(Variable),
}

/// A checked template; it serialises as its source text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    source: String,
    parts: Vec<Part>,
}

/// The values of one recipient.
#[derive(Debug, Clone, Default)]
pub struct RenderContext<'a> {
    pub venue_name: &'a str,
    pub venue_brand: Option<&'a str>,
    pub venue_country: Option<&'a str>,
    pub contact_name: &'a str,
    pub contact_role: Option<&'a str>,
    pub zone_count: i64,
    pub campaign_name: &'a str,
}

impl MessageTemplate {
    /// Parses `source`; errors name `field` and the offending variable.
    pub fn parse_as(field: &str, source: &str) -> Result<Self, Invalid> {
        if source.trim().is_empty() {
            return Err(Invalid::one(field, "must not be empty"));
        }
        if source.chars().count() > MAX_CHARS {
            return Err(Invalid::one(field, format!("must be at most {MAX_CHARS} characters")));
        }
        let mut parts = Vec::new();
        let mut errors = Invalid::default();
        let mut rest = source;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(Invalid::one(field, "a variable opened with {{ is never closed with }}"));
            };
            let name = after[..end].trim();
            match Variable::parse(name) {
                Some(v) => parts.push(Part::Var(v)),
                None => errors
                    .push(field, format!("unknown variable {{{{{name}}}}}; the known ones are {}", Variable::known())),
            }
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        errors.into_result()?;
        Ok(Self { source: source.to_owned(), parts })
    }

    pub fn parse(source: &str) -> Result<Self, Invalid> {
        Self::parse_as("message_template", source)
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn variables(&self) -> impl Iterator<Item = Variable> + '_ {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(*v),
            Part::Text(_) => None,
        })
    }

    /// The message for one recipient; a value the venue lacks renders as nothing.
    pub fn render(&self, ctx: &RenderContext<'_>) -> String {
        let mut out = String::with_capacity(self.source.len());
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => match v {
                    Variable::VenueName => out.push_str(ctx.venue_name),
                    Variable::VenueBrand => out.push_str(ctx.venue_brand.unwrap_or_default()),
                    Variable::VenueCountry => out.push_str(ctx.venue_country.unwrap_or_default()),
                    Variable::ContactName => out.push_str(ctx.contact_name),
                    Variable::ContactRole => out.push_str(ctx.contact_role.unwrap_or_default()),
                    Variable::ZoneCount => out.push_str(&ctx.zone_count.to_string()),
                    Variable::CampaignName => out.push_str(ctx.campaign_name),
                },
            }
        }
        out
    }
}

impl Serialize for MessageTemplate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for MessageTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MessageTemplate::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RenderContext<'static> {
        RenderContext {
            venue_name: "Hilton Pattaya",
            venue_brand: Some("Hilton"),
            venue_country: None,
            contact_name: "Khun Somchai",
            contact_role: Some("manager"),
            zone_count: 4,
            campaign_name: "Songkran",
        }
    }

    #[test]
    fn a_template_renders_each_variable_for_its_recipient() {
        let t = MessageTemplate::parse(
            "Hi {{contact.name}}, {{ zone.count }} zones at {{venue.name}} ({{venue.country}}).",
        )
        .expect("valid template");
        assert_eq!(t.render(&ctx()), "Hi Khun Somchai, 4 zones at Hilton Pattaya ().");
        assert_eq!(t.variables().count(), 4);
        assert_eq!(
            MessageTemplate::parse("สวัสดีปีใหม่ {{venue.name}}").expect("thai").render(&ctx()),
            "สวัสดีปีใหม่ Hilton Pattaya"
        );
    }

    #[test]
    fn an_unknown_variable_is_refused_with_its_name() {
        let err = MessageTemplate::parse("Hello {{venue.nmae}} and {{contact.name}} {{x}}").expect_err("unknown");
        assert_eq!(err.0.len(), 2, "every unknown variable is reported");
        assert!(err.0[0].message.contains("{{venue.nmae}}"), "{}", err.0[0].message);
        assert!(err.0[1].message.contains("{{x}}"));
        assert_eq!(err.0[0].field, "message_template");
    }

    #[test]
    fn an_unclosed_or_empty_template_is_refused() {
        assert!(MessageTemplate::parse("Hello {{venue.name").is_err());
        assert!(MessageTemplate::parse("   ").is_err());
        assert!(MessageTemplate::parse(&"a".repeat(MAX_CHARS + 1)).is_err());
        assert!(MessageTemplate::parse("no variables at all } {").is_ok());
    }

    #[test]
    fn a_template_travels_as_its_source_text() {
        let t = MessageTemplate::parse("Hi {{contact.name}}").expect("valid");
        let json = serde_json::to_string(&t).expect("serialises");
        assert_eq!(json, "\"Hi {{contact.name}}\"");
        let back: MessageTemplate = serde_json::from_str(&json).expect("parses back");
        assert_eq!(back, t);
        assert!(serde_json::from_str::<MessageTemplate>("\"{{nope}}\"").is_err());
    }
}
