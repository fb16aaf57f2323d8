//! What a venue sent us, in one shape for every channel. Each item keeps the provider's own id
//! (`external_id`), which is the key that makes a redelivered webhook a no-op.

use crate::contact::{Channel, LineUserId, PhoneNumber};
use crate::member::Email;
use crate::messaging::MessageKind;
use serde::Serialize;
use time::OffsetDateTime;

/// Who sent an item, as the channel identifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Sender {
    Whatsapp(PhoneNumber),
    Line(LineUserId),
    Email(Email),
}

impl Sender {
    pub fn channel(&self) -> Channel {
        match self {
            Sender::Whatsapp(_) => Channel::Whatsapp,
            Sender::Line(_) => Channel::Line,
            Sender::Email(_) => Channel::Email,
        }
    }

    /// The address as stored on a conversation (`external_id`): E.164 number, LINE user id or
    /// lower-case email address.
    pub fn address(&self) -> &str {
        match self {
            Sender::Whatsapp(p) => p.as_str(),
            Sender::Line(l) => l.as_str(),
            Sender::Email(e) => e.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Document,
    Audio,
    Video,
    Sticker,
}

/// How a tapped button or menu item reached us; the bot and the survey read `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceSource {
    /// WhatsApp interactive `button_reply`.
    Button,
    /// WhatsApp interactive `list_reply`.
    List,
    /// WhatsApp template quick-reply (`type: button`).
    TemplateButton,
    /// LINE `postback` (quick reply or rich menu).
    Postback,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageBody {
    Text {
        text: String,
    },
    /// `media_id` is what the channel's content endpoint needs (WhatsApp media id, LINE message
    /// id); `None` when the media lives elsewhere (LINE external provider, email attachment).
    Media {
        kind: MediaKind,
        media_id: Option<String>,
        mime_type: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    Choice {
        source: ChoiceSource,
        id: String,
        title: String,
    },
    /// A type we do not understand yet; kept so that nothing a venue sent disappears.
    Unsupported {
        kind: String,
    },
}

impl MessageBody {
    /// The text shown in the inbox and read by the bot.
    pub fn preview(&self) -> String {
        match self {
            MessageBody::Text { text } => text.clone(),
            MessageBody::Media { kind, caption, filename, .. } => {
                let what = match kind {
                    MediaKind::Image => "image",
                    MediaKind::Document => "document",
                    MediaKind::Audio => "audio",
                    MediaKind::Video => "video",
                    MediaKind::Sticker => "sticker",
                };
                match (caption, filename) {
                    (Some(c), _) => format!("[{what}] {c}"),
                    (None, Some(f)) => format!("[{what}] {f}"),
                    (None, None) => format!("[{what}]"),
                }
            }
            MessageBody::Location { latitude, longitude, name, .. } => match name {
                Some(n) => format!("[location] {n} ({latitude:.5}, {longitude:.5})"),
                None => format!("[location] {latitude:.5}, {longitude:.5}"),
            },
            MessageBody::Choice { title, .. } => title.clone(),
            MessageBody::Unsupported { kind } => format!("[unsupported: {kind}]"),
        }
    }

    pub fn kind(&self) -> MessageKind {
        match self {
            MessageBody::Text { .. } => MessageKind::Text,
            MessageBody::Media { .. } => MessageKind::Media,
            MessageBody::Location { .. } => MessageKind::Location,
            MessageBody::Choice { .. } => MessageKind::Choice,
            MessageBody::Unsupported { .. } => MessageKind::Unsupported,
        }
    }
}

/// Email threading headers, kept so that a reply joins its conversation by headers, not subject.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct EmailThread {
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// The provider's id for this item: WhatsApp `wamid`, LINE `webhookEventId`, email Message-ID.
    pub external_id: String,
    pub from: Sender,
    pub sender_name: Option<String>,
    pub sent_at: OffsetDateTime,
    pub body: MessageBody,
    /// LINE only: the single-use token for a free reply within a minute.
    pub reply_token: Option<String>,
    pub thread: Option<EmailThread>,
    /// The item as the provider sent it, for the record.
    pub raw: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundItem {
    Message(InboundMessage),
    Delivery(super::DeliveryUpdate),
    /// LINE `follow` (added or unblocked the account).
    Follow {
        event_id: String,
        from: Sender,
        at: OffsetDateTime,
        reply_token: Option<String>,
    },
    /// LINE `unfollow` (blocked the account).
    Unfollow {
        event_id: String,
        from: Sender,
        at: OffsetDateTime,
    },
    /// An event we read but do not act on (LINE `join`, `unsend`, …), or a malformed item that
    /// was skipped so the rest of the batch could be stored.
    Skipped {
        kind: String,
        reason: String,
    },
}
