//! Campaigns: messages the team sends to chosen venues (marketing, service notices, holiday
//! greetings). This module holds what a campaign is — its kind, how it picks a channel, which
//! contacts of a venue it reaches, its lifecycle and each recipient's place in the funnel — and
//! the message templates with `{{venue.name}}`-style variables. No I/O.

pub mod optout;
pub mod template;

pub use optout::OptReply;
pub use template::{MessageTemplate, RenderContext, Variable};

use crate::Invalid;
use crate::contact::Channel;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignType {
    Marketing,
    Service,
    Holiday,
}

impl CampaignType {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignType::Marketing => "marketing",
            CampaignType::Service => "service",
            CampaignType::Holiday => "holiday",
        }
    }

    /// Marketing and holiday campaigns are promotional: a contact who replied STOP does not
    /// receive them. Service notices still go to every contact who has not opted out entirely.
    pub fn is_promotional(self) -> bool {
        matches!(self, CampaignType::Marketing | CampaignType::Holiday)
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "marketing" => Ok(Self::Marketing),
            "service" => Ok(Self::Service),
            "holiday" => Ok(Self::Holiday),
            _ => Err(Invalid::one("type", "must be one of marketing, service, holiday")),
        }
    }
}

crate::sql::text_column!(CampaignType, |s| CampaignType::parse(s).ok());

/// The channel a campaign asks for: one channel, or each contact's own (preferred) channel.
/// Either way a fallback order may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelChoice {
    Whatsapp,
    Line,
    Email,
    /// The channel each contact chose when they were added.
    Preferred,
}

impl ChannelChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelChoice::Whatsapp => "whatsapp",
            ChannelChoice::Line => "line",
            ChannelChoice::Email => "email",
            ChannelChoice::Preferred => "preferred",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "whatsapp" => Ok(Self::Whatsapp),
            "line" => Ok(Self::Line),
            "email" => Ok(Self::Email),
            "preferred" => Ok(Self::Preferred),
            _ => Err(Invalid::one("channel", "must be one of whatsapp, line, email, preferred")),
        }
    }

    fn fixed(self) -> Option<Channel> {
        match self {
            ChannelChoice::Whatsapp => Some(Channel::Whatsapp),
            ChannelChoice::Line => Some(Channel::Line),
            ChannelChoice::Email => Some(Channel::Email),
            ChannelChoice::Preferred => None,
        }
    }

    /// The channels to try for a contact, first choice first, without repeats.
    pub fn order(self, preferred: Channel, fallback: &[Channel]) -> Vec<Channel> {
        let mut out = vec![self.fixed().unwrap_or(preferred)];
        for c in fallback {
            if !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }

    /// The first channel of `order` on which the contact has an address.
    pub fn pick(
        self,
        preferred: Channel,
        fallback: &[Channel],
        reachable: impl Fn(Channel) -> bool,
    ) -> Option<Channel> {
        self.order(preferred, fallback).into_iter().find(|c| reachable(*c))
    }

    /// Whether a recipient of this campaign could be reached on `channel`.
    pub fn may_use(self, channel: Channel, fallback: &[Channel]) -> bool {
        self.fixed().is_none_or(|c| c == channel) || fallback.contains(&channel)
    }
}

crate::sql::text_column!(ChannelChoice, |s| ChannelChoice::parse(s).ok());

/// Which contacts of a venue receive a campaign; travels as its text (`all`, `staff`,
/// `role:<name>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactScope {
    /// Every contact of the venue.
    All,
    /// The venue's staff contacts.
    Staff,
    /// Contacts with this role (compared without case), e.g. `manager`.
    Role(String),
}

impl ContactScope {
    pub fn as_str(&self) -> String {
        match self {
            ContactScope::All => "all".into(),
            ContactScope::Staff => "staff".into(),
            ContactScope::Role(r) => format!("role:{r}"),
        }
    }

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        match s {
            "all" => Ok(Self::All),
            "staff" => Ok(Self::Staff),
            _ => match s.strip_prefix("role:").map(str::trim) {
                Some(r) if !r.is_empty() && r.chars().count() <= 50 => Ok(Self::Role(r.to_owned())),
                _ => Err(Invalid::one("contacts", "must be all, staff, or role:<name> (up to 50 characters)")),
            },
        }
    }
}

impl Serialize for ContactScope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for ContactScope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ContactScope::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "sqlx")]
const _: () = {
    use sqlx::encode::IsNull;
    use sqlx::error::BoxDynError;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef, Postgres};

    impl sqlx::Type<Postgres> for ContactScope {
        fn type_info() -> PgTypeInfo {
            <str as sqlx::Type<Postgres>>::type_info()
        }

        fn compatible(ty: &PgTypeInfo) -> bool {
            <str as sqlx::Type<Postgres>>::compatible(ty)
        }
    }

    impl sqlx::Encode<'_, Postgres> for ContactScope {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            <String as sqlx::Encode<'_, Postgres>>::encode(self.as_str(), buf)
        }
    }

    impl<'r> sqlx::Decode<'r, Postgres> for ContactScope {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = <&str as sqlx::Decode<'r, Postgres>>::decode(value)?;
            ContactScope::parse(text).map_err(|_| format!("{text:?} is not a known ContactScope").into())
        }
    }
};

/// A saved audience: venues matching every field that is set, resolved when sending starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceFilter {
    #[serde(default)]
    pub brand: Option<String>,
    /// ISO country code, as venues store it.
    #[serde(default)]
    pub country: Option<String>,
    /// Venues with at least one zone of this type.
    #[serde(default)]
    pub zone_type: Option<crate::venue::ZoneType>,
    /// Venues carrying any of these labels.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl AudienceFilter {
    pub fn is_empty(&self) -> bool {
        self.brand.is_none() && self.country.is_none() && self.zone_type.is_none() && self.labels.is_empty()
    }
}

/// The approved WhatsApp template a campaign sends outside the 24-hour window, with its body
/// parameters (each a message template of its own, rendered per recipient).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhatsappTemplate {
    pub name: String,
    pub language: String,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub params: Vec<MessageTemplate>,
}

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Draft,
    Scheduled,
    Sending,
    Paused,
    Sent,
    Cancelled,
    Failed,
}

/// What the team (or the sender) does to a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignAction {
    Edit,
    Schedule,
    /// Start sending now (from a draft, or a scheduled campaign that is due).
    Send,
    Pause,
    Resume,
    Cancel,
    /// Every recipient has been handed to its channel.
    Finish,
    /// Sending could not go on (e.g. the channel refused the template).
    Fail,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 7] = [
        CampaignStatus::Draft,
        CampaignStatus::Scheduled,
        CampaignStatus::Sending,
        CampaignStatus::Paused,
        CampaignStatus::Sent,
        CampaignStatus::Cancelled,
        CampaignStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Scheduled => "scheduled",
            CampaignStatus::Sending => "sending",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Sent => "sent",
            CampaignStatus::Cancelled => "cancelled",
            CampaignStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The status after `action`, or `None` when the action is not allowed from here. Only a
    /// draft or a scheduled campaign can be edited; once sending has started the content is
    /// fixed, and a finished campaign is read-only.
    pub fn after(self, action: CampaignAction) -> Option<CampaignStatus> {
        use CampaignAction as A;
        use CampaignStatus as S;
        Some(match (self, action) {
            (S::Draft | S::Scheduled, A::Edit) => self,
            (S::Draft | S::Scheduled, A::Schedule) => S::Scheduled,
            (S::Draft | S::Scheduled, A::Send) => S::Sending,
            (S::Sending, A::Pause) => S::Paused,
            (S::Paused, A::Resume) => S::Sending,
            (S::Draft | S::Scheduled | S::Sending | S::Paused, A::Cancel) => S::Cancelled,
            (S::Sending, A::Finish) => S::Sent,
            (S::Sending | S::Scheduled, A::Fail) => S::Failed,
            _ => return None,
        })
    }

    /// No further change is possible.
    pub fn is_final(self) -> bool {
        matches!(self, CampaignStatus::Sent | CampaignStatus::Cancelled | CampaignStatus::Failed)
    }
}

crate::sql::text_column!(CampaignStatus, CampaignStatus::parse);

/// One recipient's place in the funnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecipientStatus {
    /// Written down; its message is waiting to go out.
    Queued,
    Sent,
    Delivered,
    Read,
    /// The contact wrote back within the campaign's reply window.
    Replied,
    Failed,
    /// The contact asked not to be messaged; nothing was sent.
    OptedOut,
    /// Not sent, with the reason (no contact on the channel, cancelled before its turn).
    Skipped,
}

impl RecipientStatus {
    pub const ALL: [RecipientStatus; 8] = [
        RecipientStatus::Queued,
        RecipientStatus::Sent,
        RecipientStatus::Delivered,
        RecipientStatus::Read,
        RecipientStatus::Replied,
        RecipientStatus::Failed,
        RecipientStatus::OptedOut,
        RecipientStatus::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecipientStatus::Queued => "queued",
            RecipientStatus::Sent => "sent",
            RecipientStatus::Delivered => "delivered",
            RecipientStatus::Read => "read",
            RecipientStatus::Replied => "replied",
            RecipientStatus::Failed => "failed",
            RecipientStatus::OptedOut => "opted_out",
            RecipientStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The funnel stage of a recipient whose message has `delivery` status.
    pub fn of_delivery(delivery: crate::messaging::DeliveryStatus) -> Self {
        use crate::messaging::DeliveryStatus as D;
        match delivery {
            D::Queued | D::Sending => RecipientStatus::Queued,
            D::Sent => RecipientStatus::Sent,
            D::Delivered => RecipientStatus::Delivered,
            D::Read => RecipientStatus::Read,
            D::Failed => RecipientStatus::Failed,
        }
    }
}

crate::sql::text_column!(RecipientStatus, RecipientStatus::parse);

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignAction as A;
    use CampaignStatus as S;

    #[test]
    fn a_draft_is_scheduled_sent_and_finished_and_then_nothing_changes_it() {
        assert_eq!(S::Draft.after(A::Schedule), Some(S::Scheduled));
        assert_eq!(S::Scheduled.after(A::Send), Some(S::Sending));
        assert_eq!(S::Sending.after(A::Finish), Some(S::Sent));
        for a in [A::Edit, A::Schedule, A::Send, A::Pause, A::Resume, A::Cancel, A::Finish, A::Fail] {
            assert_eq!(S::Sent.after(a), None, "{a:?} on a sent campaign");
            assert_eq!(S::Cancelled.after(a), None, "{a:?} on a cancelled campaign");
        }
    }

    #[test]
    fn only_a_sending_campaign_pauses_and_only_a_paused_one_resumes() {
        assert_eq!(S::Sending.after(A::Pause), Some(S::Paused));
        assert_eq!(S::Paused.after(A::Resume), Some(S::Sending));
        assert_eq!(S::Draft.after(A::Pause), None);
        assert_eq!(S::Sending.after(A::Resume), None);
        assert_eq!(S::Paused.after(A::Send), None, "a paused campaign resumes, it is not sent again");
        assert_eq!(S::Sending.after(A::Send), None, "sending twice is refused");
        assert_eq!(S::Sending.after(A::Edit), None);
        assert_eq!(S::Paused.after(A::Cancel), Some(S::Cancelled));
    }

    #[test]
    fn statuses_and_kinds_read_back_as_themselves() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        for r in RecipientStatus::ALL {
            assert_eq!(RecipientStatus::parse(r.as_str()), Some(r));
        }
        for t in [CampaignType::Marketing, CampaignType::Service, CampaignType::Holiday] {
            assert_eq!(CampaignType::parse(t.as_str()), Ok(t));
        }
        assert!(CampaignType::parse("spam").is_err());
        for c in [ChannelChoice::Whatsapp, ChannelChoice::Line, ChannelChoice::Email, ChannelChoice::Preferred] {
            assert_eq!(ChannelChoice::parse(c.as_str()), Ok(c));
        }
        for s in [ContactScope::All, ContactScope::Staff, ContactScope::Role("owner".into())] {
            assert_eq!(ContactScope::parse(&s.as_str()), Ok(s));
        }
        assert!(ContactScope::parse("role:").is_err());
        assert!(ContactScope::parse("everyone").is_err());
    }

    #[test]
    fn a_preferred_channel_falls_back_in_order_to_one_the_contact_can_be_reached_on() {
        let fallback = [Channel::Line, Channel::Email];
        assert_eq!(
            ChannelChoice::Preferred.order(Channel::Whatsapp, &fallback),
            vec![Channel::Whatsapp, Channel::Line, Channel::Email]
        );
        assert_eq!(
            ChannelChoice::Line.order(Channel::Whatsapp, &fallback),
            vec![Channel::Line, Channel::Email],
            "a fixed channel ignores the contact's preference and is not repeated"
        );
        let only_email = |c| c == Channel::Email;
        assert_eq!(ChannelChoice::Preferred.pick(Channel::Whatsapp, &fallback, only_email), Some(Channel::Email));
        assert_eq!(ChannelChoice::Whatsapp.pick(Channel::Whatsapp, &[], only_email), None);
        assert!(ChannelChoice::Line.may_use(Channel::Email, &fallback));
        assert!(!ChannelChoice::Line.may_use(Channel::Whatsapp, &fallback));
        assert!(ChannelChoice::Preferred.may_use(Channel::Whatsapp, &[]));
    }

    #[test]
    fn a_recipients_stage_follows_its_messages_delivery() {
        use crate::messaging::DeliveryStatus as D;
        assert_eq!(RecipientStatus::of_delivery(D::Sending), RecipientStatus::Queued);
        assert_eq!(RecipientStatus::of_delivery(D::Read), RecipientStatus::Read);
        assert_eq!(RecipientStatus::of_delivery(D::Failed), RecipientStatus::Failed);
    }
}
