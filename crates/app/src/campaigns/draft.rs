//! What the team writes when creating or changing a campaign, parsed into the store's fields.
//! Every field is checked at once, so one answer lists everything to fix; the template's
//! variables are checked here, the WhatsApp template against the account in `mod.rs`.

use bma_domain::Invalid;
use bma_domain::campaign::{
    AudienceFilter, CampaignType, ChannelChoice, ContactScope, MessageTemplate, WhatsappTemplate,
};
use bma_domain::contact::Channel;
use bma_store::campaigns::CampaignFields;
use serde::Deserialize;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The zone that reaches a wall-clock time first (UTC+14, Kiribati): a local-time campaign
/// starts then, and venues get it as their own zone reaches the time.
const EARLIEST_OFFSET_HOURS: i64 = 14;

const LOCAL_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// "YYYY-MM-DDTHH:MM" as a wall-clock time.
pub fn parse_local(s: &str) -> Option<PrimitiveDateTime> {
    PrimitiveDateTime::parse(s.trim(), LOCAL_FORMAT).ok()
}
use uuid::Uuid;

/// The body of `POST /api/v1/campaigns` and `PUT /api/v1/campaigns/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Songkran greetings",
    "type": "holiday",
    "channel": "line",
    "channel_fallback": ["email"],
    "audience_filter": {"country": "TH"},
    "contacts": "staff",
    "message_template": "Happy Songkran, {{venue.name}}!",
    "send_at_local": "2027-04-13T09:00",
    "quiet_hours": {"start": "21:00", "end": "08:00"}
}))]
pub struct CampaignInput {
    /// 1 to 255 characters, not blank.
    #[schema(schema_with = doc::name)]
    pub name: String,
    /// marketing, service or holiday.
    #[serde(rename = "type")]
    #[schema(value_type = CampaignType)]
    pub kind: String,
    /// whatsapp, line, email, or preferred (each contact's own channel).
    #[schema(value_type = ChannelChoice)]
    pub channel: String,
    /// Channels to try, in order, for a contact not reachable on the first choice (each once).
    #[serde(default)]
    #[schema(schema_with = doc::fallback)]
    pub channel_fallback: Vec<String>,
    /// Explicit venues (each once, at most 50,000); leave empty and give `audience_filter` instead
    /// to pick by filter.
    #[serde(default)]
    #[schema(schema_with = doc::venues)]
    pub target_venues: Vec<Uuid>,
    pub audience_filter: Option<AudienceFilter>,
    /// Which contacts of each venue: all, staff (default) or role:<name> (a name of 1 to 50
    /// characters).
    #[schema(schema_with = doc::contacts)]
    pub contacts: Option<String>,
    /// The message, with variables such as {{venue.name}}, {{contact.name}}, {{zone.count}}; not
    /// blank, at most 4096 characters.
    #[schema(schema_with = doc::template)]
    pub message_template: String,
    /// Required when the campaign may reach WhatsApp: the approved template sent outside the
    /// 24-hour window, its parameters rendered per recipient like the message.
    pub whatsapp_template: Option<WhatsappTemplateInput>,
    /// How long after the message a reply counts for the campaign (hours, 1–720, default 72).
    #[schema(minimum = 1, maximum = 720)]
    pub reply_window_hours: Option<i32>,
    /// When to send; the campaign is `scheduled` until then. Absent: a draft, sent on request.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_at: Option<OffsetDateTime>,
    /// Instead of `scheduled_at`: "YYYY-MM-DDTHH:MM" in each venue's own time zone ("09:00
    /// local" goes out zone by zone). It must not have come yet anywhere.
    #[schema(schema_with = doc::local_time)]
    pub send_at_local: Option<String>,
    /// Local hours of each venue in which nothing is sent ("21:00" to "08:00"); a message due
    /// then goes at the end.
    pub quiet_hours: Option<QuietHoursInput>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursInput {
    /// "HH:MM", venue-local.
    #[schema(schema_with = doc::clock)]
    pub start: String,
    /// "HH:MM", venue-local; before `start` means the next morning; not equal to `start`.
    #[schema(schema_with = doc::clock)]
    pub end: String,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatsappTemplateInput {
    /// The approved template's name (1 to 512 characters).
    #[schema(schema_with = doc::template_name)]
    pub name: String,
    /// Its language, such as en_US or th (1 to 15 characters).
    #[schema(schema_with = doc::template_language)]
    pub language: String,
    /// The body parameters, each a message template like `message_template`.
    #[serde(default)]
    #[schema(schema_with = doc::template_params)]
    pub params: Vec<String>,
}

/// The schemas of the fields above, stating what `CampaignInput::parse` checks field by field.
mod doc {
    use bma_domain::campaign::template::MAX_CHARS;
    use bma_domain::member::white_space_class;
    use utoipa::openapi::schema::{
        ArrayBuilder, ArrayItems, KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type,
    };
    use utoipa::openapi::{Object, RefOr, Schema};

    fn string(pattern: String, max: Option<usize>) -> ObjectBuilder {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern)).max_length(max)
    }

    /// Text that is not blank (the server trims it) and holds no NUL.
    fn not_blank(max: usize) -> Object {
        let ws = white_space_class();
        string(format!("^[^\\x00]*[^\\x00{ws}][^\\x00]*$"), Some(max)).min_length(Some(1)).build()
    }

    fn items(o: Object) -> ArrayItems {
        ArrayItems::RefOrSchema(Box::new(o.into()))
    }

    fn or_null(b: ObjectBuilder) -> Object {
        b.schema_type(SchemaType::from_iter([Type::String, Type::Null])).build()
    }

    pub fn name() -> Object {
        not_blank(255)
    }

    pub fn template() -> Object {
        not_blank(MAX_CHARS)
    }

    pub fn template_name() -> Object {
        not_blank(512)
    }

    pub fn template_language() -> Object {
        not_blank(15)
    }

    pub fn template_params() -> RefOr<Schema> {
        ArrayBuilder::new().items(items(not_blank(MAX_CHARS))).into()
    }

    pub fn fallback() -> RefOr<Schema> {
        let channel = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["whatsapp", "line", "email"]));
        ArrayBuilder::new().items(items(channel.build())).max_items(Some(3)).unique_items(true).into()
    }

    pub fn venues() -> RefOr<Schema> {
        let id =
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
        ArrayBuilder::new().items(items(id.build())).max_items(Some(50_000)).unique_items(true).into()
    }

    /// all, staff or role:<name>, the name trimmed 1 to 50 characters.
    pub fn contacts() -> Object {
        let ws = white_space_class();
        let c = format!("[^\\x00{ws}]");
        or_null(string(format!("^[{ws}]*(all|staff|role:[{ws}]*({c}|{c}[^\\x00]{{0,48}}{c}))[{ws}]*$"), None))
    }

    /// "YYYY-MM-DDTHH:MM".
    pub fn local_time() -> Object {
        let ws = white_space_class();
        or_null(string(
            format!(
                "^[{ws}]*[0-9]{{4}}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9][{ws}]*$"
            ),
            None,
        ))
    }

    /// "HH:MM".
    pub fn clock() -> Object {
        let ws = white_space_class();
        string(format!("^[{ws}]*([01][0-9]|2[0-3]):[0-5][0-9][{ws}]*$"), None).build()
    }
}

impl CampaignInput {
    /// The fields to store, or every reason they cannot be.
    pub fn parse(&self, now: OffsetDateTime) -> Result<CampaignFields, Invalid> {
        let mut inv = Invalid::default();
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > 255 {
            inv.push("name", "must be 1 to 255 characters");
        }
        let kind = inv.check("type", CampaignType::parse(&self.kind));
        let channel = inv.check("channel", ChannelChoice::parse(&self.channel));
        let mut fallback = Vec::new();
        for (i, c) in self.channel_fallback.iter().enumerate() {
            if let Some(c) = inv.check(&format!("channel_fallback[{i}]"), Channel::parse(c)) {
                if fallback.contains(&c) {
                    inv.push(format!("channel_fallback[{i}]"), "is listed twice");
                }
                fallback.push(c);
            }
        }
        match (self.target_venues.is_empty(), &self.audience_filter) {
            (false, Some(_)) => inv.push("audience_filter", "give either target_venues or audience_filter, not both"),
            (true, None) => inv.push("target_venues", "choose venues, or give an audience_filter"),
            _ => {}
        }
        let mut unique = self.target_venues.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != self.target_venues.len() {
            inv.push("target_venues", "lists a venue twice");
        }
        if self.target_venues.len() > 50_000 {
            inv.push("target_venues", "must list at most 50,000 venues");
        }
        let contacts = match &self.contacts {
            None => Some(ContactScope::Staff),
            Some(c) => inv.check("contacts", ContactScope::parse(c)),
        };
        let template = inv.check("message_template", MessageTemplate::parse(&self.message_template));
        let whatsapp_template = self.whatsapp_template.as_ref().and_then(|t| {
            let mut bad = false;
            if t.name.trim().is_empty() || t.name.chars().count() > 512 {
                inv.push("whatsapp_template.name", "must be the name of an approved template");
                bad = true;
            }
            if t.language.trim().is_empty() || t.language.chars().count() > 15 {
                inv.push("whatsapp_template.language", "must be a template language such as en_US or th");
                bad = true;
            }
            let params: Vec<Option<MessageTemplate>> = t
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let field = format!("whatsapp_template.params[{i}]");
                    inv.check(&field, MessageTemplate::parse_as(&field, p))
                })
                .collect();
            let params: Option<Vec<MessageTemplate>> = params.into_iter().collect();
            match (bad, params) {
                (false, Some(params)) => Some(WhatsappTemplate {
                    name: t.name.trim().to_owned(),
                    language: t.language.trim().to_owned(),
                    params,
                }),
                _ => None,
            }
        });
        if let Some(ch) = channel
            && ch.may_use(Channel::Whatsapp, &fallback)
            && self.whatsapp_template.is_none()
        {
            inv.push(
                "whatsapp_template",
                "a campaign that may go out on WhatsApp needs an approved template (business-initiated messages \
                 outside the 24-hour window must use one)",
            );
        }
        let reply_window_hours = self.reply_window_hours.unwrap_or(72);
        if !(1..=720).contains(&reply_window_hours) {
            inv.push("reply_window_hours", "must be between 1 and 720");
        }
        if let Some(at) = self.scheduled_at
            && at <= now
        {
            inv.push("scheduled_at", "is in the past; choose a time ahead, or send now");
        }
        let local = self.send_at_local.as_deref().and_then(|l| {
            let parsed = parse_local(l);
            if parsed.is_none() {
                inv.push("send_at_local", "must be a local date and time such as 2026-12-25T09:00");
            }
            parsed
        });
        let mut scheduled_at = self.scheduled_at;
        if let Some(local) = local {
            let first = local.assume_utc() - time::Duration::hours(EARLIEST_OFFSET_HOURS);
            if self.scheduled_at.is_some() {
                inv.push("send_at_local", "give either scheduled_at or send_at_local, not both");
            } else if first <= now {
                inv.push("send_at_local", "has already come in some time zones; choose a later local time");
            }
            scheduled_at = Some(first);
        }
        let quiet_hours = self.quiet_hours.as_ref().and_then(|q| {
            let start = bma_store::campaigns::parse_clock(&q.start);
            let end = bma_store::campaigns::parse_clock(&q.end);
            if start.is_none() {
                inv.push("quiet_hours.start", "must be HH:MM");
            }
            if end.is_none() {
                inv.push("quiet_hours.end", "must be HH:MM");
            }
            if start.is_some() && start == end {
                inv.push("quiet_hours.end", "must differ from the start");
                return None;
            }
            start.zip(end)
        });
        inv.into_result()?;
        let (Some(kind), Some(channel), Some(contacts), Some(template)) = (kind, channel, contacts, template) else {
            return Err(Invalid::one("campaign", "invalid campaign"));
        };
        Ok(CampaignFields {
            name: name.to_owned(),
            kind,
            channel,
            channel_fallback: fallback,
            target_venues: self.target_venues.clone(),
            audience_filter: self.audience_filter.clone(),
            contacts,
            message_template: template.as_str().to_owned(),
            whatsapp_template,
            reply_window_hours,
            scheduled_at,
            send_at_local: local,
            quiet_hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> CampaignInput {
        CampaignInput {
            name: "Songkran".into(),
            kind: "holiday".into(),
            channel: "line".into(),
            channel_fallback: vec![],
            target_venues: vec![Uuid::nil()],
            audience_filter: None,
            contacts: None,
            message_template: "Happy Songkran, {{venue.name}}!".into(),
            whatsapp_template: None,
            reply_window_hours: None,
            scheduled_at: None,
            send_at_local: None,
            quiet_hours: None,
        }
    }

    #[test]
    fn a_local_send_time_starts_when_the_earliest_zone_reaches_it_and_must_lie_ahead_everywhere() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let f = CampaignInput { send_at_local: Some("1970-01-02T09:00".into()), ..input() }.parse(now).expect("valid");
        assert_eq!(f.scheduled_at, Some(OffsetDateTime::UNIX_EPOCH + time::Duration::hours(24 + 9 - 14)));
        let soon = CampaignInput { send_at_local: Some("1970-01-01T12:00".into()), ..input() };
        assert_eq!(soon.parse(now).expect_err("already 12:00 at UTC+14").0[0].field, "send_at_local");
        let garbled = CampaignInput { send_at_local: Some("tomorrow 9am".into()), ..input() };
        assert!(garbled.parse(now).is_err());
    }

    #[test]
    fn a_line_campaign_to_explicit_venues_parses_with_staff_contacts_by_default() {
        let f = input().parse(OffsetDateTime::UNIX_EPOCH).expect("valid");
        assert_eq!(f.contacts, ContactScope::Staff);
        assert_eq!(f.reply_window_hours, 72);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1);
        let bad = CampaignInput {
            name: " ".into(),
            kind: "spam".into(),
            channel: "whatsapp".into(),
            channel_fallback: vec!["fax".into()],
            target_venues: vec![],
            message_template: "Hi {{venue.nmae}}".into(),
            reply_window_hours: Some(0),
            scheduled_at: Some(OffsetDateTime::UNIX_EPOCH),
            ..input()
        };
        let err = bad.parse(now).expect_err("invalid");
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "name",
            "type",
            "channel_fallback[0]",
            "target_venues",
            "message_template",
            "whatsapp_template",
            "reply_window_hours",
            "scheduled_at",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        assert!(err.0.iter().any(|f| f.message.contains("{{venue.nmae}}")));
    }

    #[test]
    fn a_whatsapp_template_parameter_with_an_unknown_variable_is_refused() {
        let bad = CampaignInput {
            channel: "whatsapp".into(),
            whatsapp_template: Some(WhatsappTemplateInput {
                name: "alert_notice".into(),
                language: "en_US".into(),
                params: vec!["{{venue.name}}".into(), "{{zone.kount}}".into()],
            }),
            ..input()
        };
        let err = bad.parse(OffsetDateTime::UNIX_EPOCH).expect_err("invalid");
        assert_eq!(err.0[0].field, "whatsapp_template.params[1]");
        assert!(err.0[0].message.contains("{{zone.kount}}"));
    }
}
