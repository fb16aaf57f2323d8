//! Meta's webhook for a WhatsApp Business Account, read into channel-neutral items. One POST may
//! batch several entries, changes, messages and statuses; a malformed item becomes
//! [`InboundItem::Skipped`] so that the rest of the batch is still stored.

use crate::signature;
use bma_domain::contact::PhoneNumber;
use bma_domain::messaging::{
    ChoiceSource, DeliveryError, DeliveryStatus, DeliveryUpdate, InboundItem, InboundMessage, MediaKind, MessageBody,
    Sender,
};
use serde_json::Value;
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook body is not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Business Account webhook (object = {0:?})")]
    NotWhatsapp(Option<String>),
}

/// `X-Hub-Signature-256` over the exact body bytes, keyed with the app secret.
pub fn verify_signature(app_secret: &str, header: Option<&str>, body: &[u8]) -> bool {
    signature::verify_hex_sha256(app_secret.as_bytes(), header, body)
}

/// The subscription handshake (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`):
/// the challenge to echo as plain text, or `None` to refuse. The token is compared in constant
/// time.
pub fn verify_subscription(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&str>,
    verify_token: &str,
) -> Option<String> {
    let (Some("subscribe"), Some(token), Some(challenge)) = (mode, token, challenge) else {
        return None;
    };
    if verify_token.is_empty() || token.len() != verify_token.len() {
        return None;
    }
    let diff = token.bytes().zip(verify_token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    (diff == 0).then(|| challenge.to_owned())
}

/// Reads a webhook body whose signature has already been checked.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<InboundItem>, WebhookError> {
    let root: Value = serde_json::from_slice(body).map_err(|e| WebhookError::NotJson(e.to_string()))?;
    let object = root.get("object").and_then(Value::as_str);
    if object != Some("whatsapp_business_account") {
        return Err(WebhookError::NotWhatsapp(object.map(str::to_owned)));
    }
    let mut items = Vec::new();
    for entry in array(&root, "entry") {
        for change in array(entry, "changes") {
            let field = change.get("field").and_then(Value::as_str).unwrap_or_default();
            let Some(value) = change.get("value").filter(|v| v.is_object()) else {
                items.push(skipped("change", format!("change of field {field:?} without a value")));
                continue;
            };
            if field != "messages" {
                items.push(skipped(&format!("field:{field}"), "a change we do not act on".into()));
                continue;
            }
            let contacts = array(value, "contacts");
            for message in array(value, "messages") {
                items.push(match read_message(message, contacts) {
                    Ok(m) => InboundItem::Message(m),
                    Err(reason) => skipped("message", reason),
                });
            }
            for status in array(value, "statuses") {
                items.push(match read_status(status) {
                    Ok(d) => InboundItem::Delivery(d),
                    Err(reason) => skipped("status", reason),
                });
            }
            for error in array(value, "errors") {
                items.push(skipped("error", describe_error(error)));
            }
        }
    }
    Ok(items)
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn string_at(v: &Value, key: &str) -> Option<String> {
    str_at(v, key).map(str::to_owned)
}

fn skipped(kind: &str, reason: String) -> InboundItem {
    InboundItem::Skipped { kind: kind.to_owned(), reason }
}

fn required<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, String> {
    str_at(v, key).filter(|s| !s.is_empty()).ok_or_else(|| format!("{what} without `{key}`"))
}

/// Meta sends Unix seconds as a string; a number is accepted too.
fn timestamp(v: &Value, what: &str) -> Result<OffsetDateTime, String> {
    let secs = match v.get("timestamp") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    secs.and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .ok_or_else(|| format!("{what} without a valid `timestamp`"))
}

fn describe_error(e: &Value) -> String {
    let code = e.get("code").map(|c| c.to_string()).unwrap_or_else(|| "?".into());
    let title = str_at(e, "title").or_else(|| str_at(e, "message")).unwrap_or("error");
    match e.get("error_data").and_then(|d| str_at(d, "details")) {
        Some(details) => format!("{code} {title}: {details}"),
        None => format!("{code} {title}"),
    }
}

fn read_message(m: &Value, contacts: &[Value]) -> Result<InboundMessage, String> {
    let id = required(m, "id", "a message")?;
    let from = required(m, "from", &format!("message {id}"))?;
    let phone = PhoneNumber::parse(from).map_err(|_| format!("message {id} from {from:?}, not a phone number"))?;
    let sent_at = timestamp(m, &format!("message {id}"))?;
    let kind = str_at(m, "type").unwrap_or("unsupported");
    let body = read_body(m, kind).map_err(|e| format!("message {id}: {e}"))?;
    let sender_name = contacts
        .iter()
        .find(|c| str_at(c, "wa_id") == Some(from))
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        })
        .and_then(|c| c.get("profile"))
        .and_then(|p| string_at(p, "name"))
        .filter(|n| !n.is_empty());
    Ok(InboundMessage {
        external_id: id.to_owned(),
        from: Sender::Whatsapp(phone),
        sender_name,
        sent_at,
        body,
        reply_token: None,
        thread: None,
        raw: m.clone(),
    })
}

fn object<'a>(m: &'a Value, key: &str) -> Result<&'a Value, String> {
    m.get(key).filter(|v| v.is_object()).ok_or_else(|| format!("type {key} without its `{key}` object"))
}

fn read_body(m: &Value, kind: &str) -> Result<MessageBody, String> {
    let media = |k: MediaKind| -> Result<MessageBody, String> {
        let o = object(m, kind)?;
        Ok(MessageBody::Media {
            kind: k,
            media_id: string_at(o, "id"),
            mime_type: string_at(o, "mime_type"),
            caption: string_at(o, "caption"),
            filename: string_at(o, "filename"),
        })
    };
    Ok(match kind {
        "text" => {
            let text = object(m, "text")?;
            MessageBody::Text { text: str_at(text, "body").ok_or("text without `body`")?.to_owned() }
        }
        "image" => media(MediaKind::Image)?,
        "document" => media(MediaKind::Document)?,
        "audio" => media(MediaKind::Audio)?,
        "video" => media(MediaKind::Video)?,
        "sticker" => media(MediaKind::Sticker)?,
        "location" => {
            let o = object(m, "location")?;
            let coordinate = |k: &str| o.get(k).and_then(Value::as_f64).ok_or(format!("location without `{k}`"));
            MessageBody::Location {
                latitude: coordinate("latitude")?,
                longitude: coordinate("longitude")?,
                name: string_at(o, "name"),
                address: string_at(o, "address"),
            }
        }
        "interactive" => {
            let o = object(m, "interactive")?;
            let sub = str_at(o, "type").unwrap_or_default();
            let source = match sub {
                "button_reply" => ChoiceSource::Button,
                "list_reply" => ChoiceSource::List,
                other => return Ok(MessageBody::Unsupported { kind: format!("interactive.{other}") }),
            };
            let reply = o.get(sub).ok_or(format!("{sub} without its object"))?;
            MessageBody::Choice {
                source,
                id: str_at(reply, "id").ok_or(format!("{sub} without `id`"))?.to_owned(),
                title: string_at(reply, "title").unwrap_or_default(),
            }
        }
        "button" => {
            let o = object(m, "button")?;
            let payload = str_at(o, "payload").or_else(|| str_at(o, "text")).ok_or("button without `payload`")?;
            MessageBody::Choice {
                source: ChoiceSource::TemplateButton,
                id: payload.to_owned(),
                title: string_at(o, "text").unwrap_or_default(),
            }
        }
        other => MessageBody::Unsupported { kind: other.to_owned() },
    })
}

fn read_status(s: &Value) -> Result<DeliveryUpdate, String> {
    let id = required(s, "id", "a status")?;
    let raw = required(s, "status", &format!("status of {id}"))?;
    let status = DeliveryStatus::parse(raw).ok_or_else(|| format!("status {raw:?} of {id} is not one we track"))?;
    let at = timestamp(s, &format!("status of {id}"))?;
    let error = array(s, "errors").first().map(|e| DeliveryError {
        code: match e.get("code") {
            Some(Value::String(c)) => c.clone(),
            Some(c) => c.to_string(),
            None => "unknown".into(),
        },
        title: str_at(e, "title").or_else(|| str_at(e, "message")).unwrap_or_default().to_owned(),
        details: e.get("error_data").and_then(|d| string_at(d, "details")),
    });
    Ok(DeliveryUpdate {
        external_id: id.to_owned(),
        our_id: string_at(s, "biz_opaque_callback_data").filter(|o| !o.is_empty()),
        status,
        at,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(entries: Vec<Value>) -> Vec<u8> {
        serde_json::to_vec(&json!({ "object": "whatsapp_business_account", "entry": entries })).expect("json")
    }

    fn entry(messages: Vec<Value>, contacts: Vec<Value>) -> Value {
        json!({ "id": "102290129340398", "changes": [{ "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
            "contacts": contacts, "messages": messages }, "field": "messages" }] })
    }

    fn contact(wa_id: &str, name: &str) -> Value {
        json!({ "profile": { "name": name }, "wa_id": wa_id })
    }

    fn msg(id: &str, kind: &str, body: Value) -> Value {
        let mut m = json!({ "from": "66812345678", "id": id, "timestamp": "1749416383", "type": kind });
        m[kind] = body;
        m
    }

    fn one(m: Value) -> InboundItem {
        let items = parse_webhook(&envelope(vec![entry(vec![m], vec![contact("66812345678", "Som")])])).expect("ok");
        assert_eq!(items.len(), 1);
        items.into_iter().next().expect("one")
    }

    fn body(m: Value) -> MessageBody {
        match one(m) {
            InboundItem::Message(m) => m.body,
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn a_text_message_keeps_its_wamid_sender_name_time_and_raw_json() {
        let m = msg("wamid.A1", "text", json!({ "body": "เพลงหยุดที่ล็อบบี้" }));
        let InboundItem::Message(got) = one(m.clone()) else { panic!("not a message") };
        assert_eq!(got.external_id, "wamid.A1");
        assert_eq!(got.from, Sender::Whatsapp(PhoneNumber::parse("+66812345678").expect("phone")));
        assert_eq!(got.sender_name.as_deref(), Some("Som"));
        assert_eq!(got.sent_at.unix_timestamp(), 1749416383);
        assert_eq!(got.body, MessageBody::Text { text: "เพลงหยุดที่ล็อบบี้".into() });
        assert_eq!(got.raw, m);
    }

    #[test]
    fn media_messages_carry_the_media_id_mime_type_caption_and_filename() {
        let image = json!({ "id": "1111", "mime_type": "image/jpeg", "sha256": "abc", "caption": "Speaker" });
        assert_eq!(
            body(msg("wamid.I", "image", image)),
            MessageBody::Media {
                kind: MediaKind::Image,
                media_id: Some("1111".into()),
                mime_type: Some("image/jpeg".into()),
                caption: Some("Speaker".into()),
                filename: None
            }
        );
        let doc = json!({ "id": "2222", "mime_type": "application/pdf", "sha256": "x", "filename": "invoice.pdf" });
        let MessageBody::Media { kind, filename, media_id, .. } = body(msg("wamid.D", "document", doc)) else {
            panic!("not media")
        };
        assert_eq!(
            (kind, filename.as_deref(), media_id.as_deref()),
            (MediaKind::Document, Some("invoice.pdf"), Some("2222"))
        );
        for (kind, expected) in
            [("audio", MediaKind::Audio), ("video", MediaKind::Video), ("sticker", MediaKind::Sticker)]
        {
            let MessageBody::Media { kind: got, .. } =
                body(msg("wamid.M", kind, json!({ "id": "3", "mime_type": "x/y" })))
            else {
                panic!("not media")
            };
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_location_keeps_coordinates_name_and_address() {
        let loc = json!({ "latitude": 13.7563, "longitude": 100.5018, "name": "Hotel", "address": "Sukhumvit" });
        assert_eq!(
            body(msg("wamid.L", "location", loc)),
            MessageBody::Location {
                latitude: 13.7563,
                longitude: 100.5018,
                name: Some("Hotel".into()),
                address: Some("Sukhumvit".into())
            }
        );
    }

    #[test]
    fn button_list_and_template_replies_become_choices_with_their_source() {
        let b = json!({ "type": "button_reply", "button_reply": { "id": "restart", "title": "Restart" } });
        assert_eq!(
            body(msg("wamid.B", "interactive", b)),
            MessageBody::Choice { source: ChoiceSource::Button, id: "restart".into(), title: "Restart".into() }
        );
        let l =
            json!({ "type": "list_reply", "list_reply": { "id": "z2", "title": "Pool", "description": "Outdoor" } });
        assert_eq!(
            body(msg("wamid.LR", "interactive", l)),
            MessageBody::Choice { source: ChoiceSource::List, id: "z2".into(), title: "Pool".into() }
        );
        let t = json!({ "payload": "csat:5", "text": "5" });
        assert_eq!(
            body(msg("wamid.T", "button", t)),
            MessageBody::Choice { source: ChoiceSource::TemplateButton, id: "csat:5".into(), title: "5".into() }
        );
    }

    #[test]
    fn unknown_and_unsupported_types_are_kept_as_unsupported() {
        let mut u = json!({ "from": "66812345678", "id": "wamid.U", "timestamp": "1749416383", "type": "unsupported",
            "errors": [{ "code": 131051, "title": "Message type unknown" }] });
        assert_eq!(body(u.clone()), MessageBody::Unsupported { kind: "unsupported".into() });
        u["type"] = json!("reaction");
        u["reaction"] = json!({ "message_id": "wamid.X", "emoji": "👍" });
        assert_eq!(body(u), MessageBody::Unsupported { kind: "reaction".into() });
        let flow = json!({ "type": "nfm_reply", "nfm_reply": { "response_json": "{}" } });
        assert_eq!(
            body(msg("wamid.F", "interactive", flow)),
            MessageBody::Unsupported { kind: "interactive.nfm_reply".into() }
        );
    }

    #[test]
    fn a_batch_across_two_entries_yields_every_message_in_order_with_the_right_names() {
        let a = json!({ "from": "66811111111", "id": "wamid.1", "timestamp": "1749416383", "type": "text", "text": { "body": "one" } });
        let b = json!({ "from": "66822222222", "id": "wamid.2", "timestamp": "1749416384", "type": "text", "text": { "body": "two" } });
        let c = json!({ "from": "66811111111", "id": "wamid.3", "timestamp": "1749416385", "type": "text", "text": { "body": "three" } });
        let body = envelope(vec![
            entry(vec![a, b], vec![contact("66811111111", "Ann"), contact("66822222222", "Bee")]),
            entry(vec![c], vec![contact("66811111111", "Ann")]),
        ]);
        let items = parse_webhook(&body).expect("ok");
        let got: Vec<(String, Option<String>)> = items
            .iter()
            .map(|i| match i {
                InboundItem::Message(m) => (m.external_id.clone(), m.sender_name.clone()),
                other => panic!("not a message: {other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("wamid.1".into(), Some("Ann".into())),
                ("wamid.2".into(), Some("Bee".into())),
                ("wamid.3".into(), Some("Ann".into()))
            ]
        );
    }

    #[test]
    fn a_malformed_message_is_skipped_and_the_rest_of_the_batch_is_kept() {
        let good = msg("wamid.G", "text", json!({ "body": "hi" }));
        let no_from = json!({ "id": "wamid.NF", "timestamp": "1749416383", "type": "text", "text": { "body": "x" } });
        let bad_time = json!({ "from": "66812345678", "id": "wamid.BT", "timestamp": "soon", "type": "text", "text": { "body": "x" } });
        let no_body = json!({ "from": "66812345678", "id": "wamid.NB", "timestamp": "1749416383", "type": "text" });
        let items = parse_webhook(&envelope(vec![entry(vec![no_from, good, bad_time, no_body], vec![])])).expect("ok");
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[1], InboundItem::Message(m) if m.external_id == "wamid.G"));
        for i in [0, 2, 3] {
            let InboundItem::Skipped { kind, reason } = &items[i] else { panic!("item {i} not skipped") };
            assert_eq!(kind, "message");
            assert!(reason.contains("wamid."), "{reason}");
        }
        let InboundItem::Skipped { reason, .. } = &items[0] else { unreachable!() };
        assert!(reason.contains("from"), "{reason}");
    }

    #[test]
    fn statuses_become_delivery_updates_and_a_failed_one_carries_its_error() {
        let statuses = json!([
            { "id": "wamid.S1", "status": "delivered", "timestamp": "1698266945", "recipient_id": "66812345678",
              "biz_opaque_callback_data": "0193-our-id",
              "pricing": { "billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "service" } },
            { "id": "wamid.S2", "status": "failed", "timestamp": "1689380458", "recipient_id": "66812345678",
              "errors": [{ "code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                "error_data": { "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number." },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }] },
            { "id": "wamid.S3", "status": "deleted", "timestamp": "1689380458" }
        ]);
        let body = envelope(vec![json!({ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": { "phone_number_id": "1" }, "statuses": statuses } }] })]);
        let items = parse_webhook(&body).expect("ok");
        assert_eq!(items.len(), 3);
        let InboundItem::Delivery(d) = &items[0] else { panic!("not a delivery") };
        assert_eq!(
            (d.external_id.as_str(), d.our_id.as_deref(), d.status, d.at.unix_timestamp()),
            ("wamid.S1", Some("0193-our-id"), DeliveryStatus::Delivered, 1698266945)
        );
        assert!(d.error.is_none());
        let InboundItem::Delivery(f) = &items[1] else { panic!("not a delivery") };
        assert_eq!(f.status, DeliveryStatus::Failed);
        let e = f.error.as_ref().expect("error");
        assert_eq!((e.code.as_str(), e.title.as_str()), ("131047", "Re-engagement message"));
        assert!(e.details.as_deref().is_some_and(|d| d.contains("24 hours")));
        assert!(matches!(&items[2], InboundItem::Skipped { kind, .. } if kind == "status"));
    }

    #[test]
    fn value_errors_and_other_fields_are_skipped_with_a_reason() {
        let body = envelope(vec![json!({ "id": "1", "changes": [
            { "field": "messages", "value": { "messaging_product": "whatsapp",
              "errors": [{ "code": 131000, "title": "Something went wrong", "error_data": { "details": "boom" } }] } },
            { "field": "message_template_status_update", "value": { "event": "APPROVED", "message_template_name": "x" } }
        ] })]);
        let items = parse_webhook(&body).expect("ok");
        assert_eq!(
            items,
            vec![
                InboundItem::Skipped { kind: "error".into(), reason: "131000 Something went wrong: boom".into() },
                InboundItem::Skipped {
                    kind: "field:message_template_status_update".into(),
                    reason: "a change we do not act on".into()
                },
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_json_or_not_whatsapp_is_an_error() {
        assert!(matches!(parse_webhook(b"hub.challenge=1"), Err(WebhookError::NotJson(_))));
        assert_eq!(
            parse_webhook(br#"{"object":"page","entry":[]}"#),
            Err(WebhookError::NotWhatsapp(Some("page".into())))
        );
        assert_eq!(parse_webhook(br#"[1,2]"#), Err(WebhookError::NotWhatsapp(None)));
        assert_eq!(parse_webhook(br#"{"object":"whatsapp_business_account"}"#), Ok(vec![]));
    }

    #[test]
    fn meta_escaped_unicode_and_slashes_parse_to_the_same_text() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"contacts":[{"profile":{"name":"\u0e2a\u0e21"},"wa_id":"66812345678"}],"messages":[{"from":"66812345678","id":"wamid.E","timestamp":"1749416383","type":"text","text":{"body":"https:\/\/x.y \u0e40\u0e1e\u0e25\u0e07"}}]}}]}]}"#;
        let items = parse_webhook(body).expect("ok");
        let InboundItem::Message(m) = &items[0] else { panic!("not a message") };
        assert_eq!(m.body, MessageBody::Text { text: "https://x.y เพลง".into() });
        assert_eq!(m.sender_name.as_deref(), Some("สม"));
    }

    #[test]
    fn the_subscription_handshake_echoes_the_challenge_only_for_the_right_token() {
        let ok = verify_subscription(Some("subscribe"), Some("tok"), Some("1158201444"), "tok");
        assert_eq!(ok.as_deref(), Some("1158201444"));
        assert_eq!(verify_subscription(Some("subscribe"), Some("tak"), Some("1"), "tok"), None);
        assert_eq!(verify_subscription(Some("unsubscribe"), Some("tok"), Some("1"), "tok"), None);
        assert_eq!(verify_subscription(Some("subscribe"), None, Some("1"), "tok"), None);
        assert_eq!(verify_subscription(Some("subscribe"), Some(""), Some("1"), ""), None);
    }

    #[test]
    fn the_signature_is_checked_over_the_exact_bytes() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = signature::sign_hex_sha256(b"app-secret", body);
        assert!(verify_signature("app-secret", Some(&header), body));
        assert!(!verify_signature("other", Some(&header), body));
        assert!(!verify_signature("app-secret", Some(&header), br#"{"object": "whatsapp_business_account"}"#));
    }
}
