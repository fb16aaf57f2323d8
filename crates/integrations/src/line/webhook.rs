//! LINE webhook bodies into the channel-neutral [`InboundItem`]s. One malformed or unknown event
//! never costs the rest of its batch: it becomes `Skipped` with a reason.

use bma_domain::contact::LineUserId;
use bma_domain::messaging::{ChoiceSource, InboundItem, InboundMessage, MediaKind, MessageBody, Sender};
use serde_json::Value;
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is not JSON: {0}")]
    NotJson(String),
    #[error("the webhook body is not a LINE webhook: {0}")]
    Shape(&'static str),
}

/// Parses a webhook body (already signature-checked). Err only if not JSON / not
/// `{destination, events[]}`; empty events give `Ok(vec![])`.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<InboundItem>, WebhookError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let obj = v.as_object().ok_or(WebhookError::Shape("not an object"))?;
    if !obj.get("destination").is_some_and(Value::is_string) {
        return Err(WebhookError::Shape("no destination"));
    }
    let events = obj.get("events").and_then(Value::as_array).ok_or(WebhookError::Shape("no events array"))?;
    Ok(events.iter().map(parse_event).collect())
}

fn skipped(kind: &str, reason: impl Into<String>) -> InboundItem {
    InboundItem::Skipped { kind: kind.to_owned(), reason: reason.into() }
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn parse_event(e: &Value) -> InboundItem {
    let kind = str_at(e, "type").unwrap_or("unknown");
    if !matches!(kind, "message" | "postback" | "follow" | "unfollow") {
        return skipped(kind, "event type not acted on");
    }
    let Some(event_id) = str_at(e, "webhookEventId").filter(|s| !s.is_empty()) else {
        return skipped(kind, "no webhookEventId");
    };
    let Some(at) = e
        .get("timestamp")
        .and_then(Value::as_i64)
        .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
    else {
        return skipped(kind, "no valid timestamp");
    };
    let source = e.get("source");
    let Some(user) = source.and_then(|s| str_at(s, "userId")) else {
        let st = source.and_then(|s| str_at(s, "type")).unwrap_or("none");
        return skipped(kind, format!("no userId in the {st} source"));
    };
    let Ok(user) = LineUserId::parse(user) else {
        return skipped(kind, "malformed userId");
    };
    let from = Sender::Line(user);
    let reply_token = str_at(e, "replyToken").map(str::to_owned);
    let body = match kind {
        "follow" => return InboundItem::Follow { event_id: event_id.to_owned(), from, at, reply_token },
        "unfollow" => return InboundItem::Unfollow { event_id: event_id.to_owned(), from, at },
        "postback" => {
            let Some(data) = e.get("postback").and_then(|p| str_at(p, "data")) else {
                return skipped(kind, "no postback data");
            };
            let title = e.get("postback").and_then(|p| str_at(p, "displayText")).unwrap_or(data);
            MessageBody::Choice { source: ChoiceSource::Postback, id: data.to_owned(), title: title.to_owned() }
        }
        _ => match e.get("message").map(message_body) {
            Some(Ok(body)) => body,
            Some(Err(reason)) => return skipped(kind, reason),
            None => return skipped(kind, "no message"),
        },
    };
    InboundItem::Message(InboundMessage {
        external_id: event_id.to_owned(),
        from,
        sender_name: None,
        sent_at: at,
        body,
        reply_token,
        thread: None,
        raw: e.clone(),
    })
}

fn message_body(m: &Value) -> Result<MessageBody, &'static str> {
    let kind = str_at(m, "type").ok_or("message without a type")?;
    let id = str_at(m, "id").map(str::to_owned);
    let media =
        |kind, media_id, filename| MessageBody::Media { kind, media_id, mime_type: None, caption: None, filename };
    Ok(match kind {
        "text" => MessageBody::Text { text: str_at(m, "text").ok_or("text message without text")?.to_owned() },
        "image" | "video" | "audio" => {
            let kind = match kind {
                "image" => MediaKind::Image,
                "video" => MediaKind::Video,
                _ => MediaKind::Audio,
            };
            let on_line = m.get("contentProvider").and_then(|c| str_at(c, "type")).is_none_or(|t| t == "line");
            media(kind, id.filter(|_| on_line), None)
        }
        "file" => media(MediaKind::Document, id, str_at(m, "fileName").map(str::to_owned)),
        "sticker" => MessageBody::Media {
            kind: MediaKind::Sticker,
            media_id: None,
            mime_type: None,
            caption: str_at(m, "text").map(str::to_owned),
            filename: None,
        },
        "location" => {
            let lat = m.get("latitude").and_then(Value::as_f64).ok_or("location without latitude")?;
            let lon = m.get("longitude").and_then(Value::as_f64).ok_or("location without longitude")?;
            MessageBody::Location {
                latitude: lat,
                longitude: lon,
                name: str_at(m, "title").map(str::to_owned),
                address: str_at(m, "address").map(str::to_owned),
            }
        }
        other => MessageBody::Unsupported { kind: other.to_owned() },
    })
}
