//! The webhooks Meta would post: inbound messages and message statuses in the exact envelope,
//! serialised the way Meta does (non-ASCII as `\uXXXX`, `/` as `\/`), signed over those bytes with
//! the app secret, and delivered in the background with doubling pauses until a 2xx or the last
//! attempt.

use super::{DeliveryRecord, SentMessage, Shared, State, UserMessage};
use base64::Engine as _;
use ring::hmac;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use time::OffsetDateTime;

/// Meta's asynchronous "not a WhatsApp user / can't be reached" failure.
pub(crate) const UNDELIVERABLE: (i64, &str, &str) = (131026, "Message undeliverable", "Message Undeliverable.");

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), body);
    format!("sha256={}", hex(tag.as_ref()))
}

/// JSON as Meta writes it: ASCII only, with escaped slashes.
pub(crate) fn meta_bytes(v: &Value) -> Vec<u8> {
    let plain = v.to_string();
    let mut out = String::with_capacity(plain.len() + plain.len() / 8);
    for c in plain.chars() {
        match c {
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.into_bytes()
}

/// A message id shaped like Meta's: base64 of the number and a random tail.
pub(crate) fn wamid(digits: &str, inbound: bool) -> String {
    let mut raw = vec![0x1c, 0x18, digits.len() as u8];
    raw.extend(digits.bytes());
    raw.extend([0x15, 0x02, 0x00, if inbound { 0x12 } else { 0x11 }, 0x18]);
    let tail = format!("{:032X}", rand::random::<u128>());
    let tail = &tail[..if inbound { 20 } else { 18 }];
    raw.push(tail.len() as u8);
    raw.extend(tail.bytes());
    raw.push(0);
    format!("wamid.{}", base64::engine::general_purpose::STANDARD.encode(raw))
}

fn unix(at: OffsetDateTime) -> String {
    at.unix_timestamp().to_string()
}

fn envelope(shared: &Shared, values: Vec<Value>) -> Value {
    let entries: Vec<Value> = values
        .into_iter()
        .map(|value| json!({ "id": shared.cfg.business_account_id, "changes": [{ "value": value, "field": "messages" }] }))
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": entries })
}

fn value(shared: &Shared) -> serde_json::Map<String, Value> {
    let mut v = serde_json::Map::new();
    v.insert("messaging_product".into(), json!("whatsapp"));
    v.insert(
        "metadata".into(),
        json!({ "display_phone_number": shared.cfg.display_phone_number, "phone_number_id": shared.cfg.phone_number_id }),
    );
    v
}

/// The last message we sent this user of the given type, for a reply's `context`.
fn context(shared: &Shared, st: &State, to: &str, kind: &str) -> Option<Value> {
    let sent = st.sent.iter().rev().find(|s| s.to == to && s.kind == kind)?;
    Some(json!({ "from": shared.cfg.display_phone_number, "id": sent.wamid }))
}

fn media_object(st: &State, media_id: &str, fallback_mime: &str) -> serde_json::Map<String, Value> {
    let mut o = serde_json::Map::new();
    let (mime, sha) = st.media.get(media_id).map_or((fallback_mime, ""), |m| (m.mime.as_str(), m.sha256.as_str()));
    o.insert("mime_type".into(), json!(mime));
    o.insert("sha256".into(), json!(sha));
    o.insert("id".into(), json!(media_id));
    o
}

/// One user message: updates the user's window and returns (wamid, message JSON).
fn message(shared: &Shared, st: &mut State, from: &str, msg: &UserMessage) -> (String, Value) {
    let from = from.trim_start_matches('+');
    let now = shared.clock.now();
    let id = wamid(from, true);
    st.last_inbound.insert(from.to_owned(), now);
    st.inbound_ids.insert(id.clone());
    let mut m = serde_json::Map::new();
    m.insert("from".into(), json!(from));
    m.insert("id".into(), json!(id));
    m.insert("timestamp".into(), json!(unix(now)));
    let kind = match msg {
        UserMessage::Text(body) => {
            m.insert("text".into(), json!({ "body": body }));
            "text"
        }
        UserMessage::Image { media_id, caption } => {
            let mut o = media_object(st, media_id, "image/jpeg");
            if let Some(c) = caption {
                o.insert("caption".into(), json!(c));
            }
            m.insert("image".into(), Value::Object(o));
            "image"
        }
        UserMessage::Document { media_id, filename, caption } => {
            let mut o = media_object(st, media_id, "application/pdf");
            o.insert("filename".into(), json!(filename));
            if let Some(c) = caption {
                o.insert("caption".into(), json!(c));
            }
            m.insert("document".into(), Value::Object(o));
            "document"
        }
        UserMessage::Location { latitude, longitude, name, address } => {
            let mut o = json!({ "latitude": latitude, "longitude": longitude });
            if let Some(n) = name {
                o["name"] = json!(n);
            }
            if let Some(a) = address {
                o["address"] = json!(a);
            }
            m.insert("location".into(), o);
            "location"
        }
        UserMessage::ButtonReply { id: bid, title } => {
            if let Some(c) = context(shared, st, from, "interactive") {
                m.insert("context".into(), c);
            }
            m.insert(
                "interactive".into(),
                json!({ "type": "button_reply", "button_reply": { "id": bid, "title": title } }),
            );
            "interactive"
        }
        UserMessage::ListReply { id: rid, title } => {
            if let Some(c) = context(shared, st, from, "interactive") {
                m.insert("context".into(), c);
            }
            m.insert(
                "interactive".into(),
                json!({ "type": "list_reply", "list_reply": { "id": rid, "title": title } }),
            );
            "interactive"
        }
        UserMessage::TemplateButton { payload, text } => {
            if let Some(c) = context(shared, st, from, "template") {
                m.insert("context".into(), c);
            }
            m.insert("button".into(), json!({ "payload": payload, "text": text }));
            "button"
        }
        UserMessage::Unsupported => {
            m.insert(
                "errors".into(),
                json!([{ "code": 131051, "title": "Message type unknown", "message": "Message type unknown",
                         "error_data": { "details": "Message type is currently not supported." } }]),
            );
            "unsupported"
        }
    };
    m.insert("type".into(), json!(kind));
    (id, Value::Object(m))
}

fn contact(from: &str, name: &str) -> Value {
    json!({ "profile": { "name": name }, "wa_id": from.trim_start_matches('+') })
}

pub(crate) fn user_message(shared: &Shared, from: &str, name: &str, msg: &UserMessage) -> (String, Vec<u8>) {
    let (id, m) = message(shared, &mut shared.lock(), from, msg);
    let mut v = value(shared);
    v.insert("contacts".into(), json!([contact(from, name)]));
    v.insert("messages".into(), json!([m]));
    (id, meta_bytes(&envelope(shared, vec![Value::Object(v)])))
}

/// Several messages in one POST: the first half in one entry, the rest in a second.
pub(crate) fn batch(shared: &Shared, messages: &[(String, String, UserMessage)]) -> (Vec<String>, Vec<u8>) {
    let split = messages.len().div_ceil(2);
    let mut ids = Vec::new();
    let mut values = Vec::new();
    let mut st = shared.lock();
    for part in [&messages[..split], &messages[split..]] {
        if part.is_empty() {
            continue;
        }
        let mut contacts: Vec<Value> = Vec::new();
        let mut msgs = Vec::new();
        for (from, name, msg) in part {
            let (id, m) = message(shared, &mut st, from, msg);
            ids.push(id);
            msgs.push(m);
            let c = contact(from, name);
            if !contacts.iter().any(|x| x["wa_id"] == c["wa_id"]) {
                contacts.push(c);
            }
        }
        let mut v = value(shared);
        v.insert("contacts".into(), Value::Array(contacts));
        v.insert("messages".into(), Value::Array(msgs));
        values.push(Value::Object(v));
    }
    drop(st);
    (ids, meta_bytes(&envelope(shared, values)))
}

/// A `statuses[]` webhook for a message we accepted.
pub(crate) fn status(
    shared: &Shared,
    sent: &SentMessage,
    status: &str,
    at: OffsetDateTime,
    error: Option<(i64, &str, &str)>,
) -> Vec<u8> {
    let mut s = serde_json::Map::new();
    s.insert("id".into(), json!(sent.wamid));
    s.insert("status".into(), json!(status));
    s.insert("timestamp".into(), json!(unix(at)));
    s.insert("recipient_id".into(), json!(sent.to));
    if let Some(our) = &sent.biz_opaque_callback_data {
        s.insert("biz_opaque_callback_data".into(), json!(our));
    }
    if matches!(status, "sent" | "delivered") {
        let template = sent.body["template"]["name"].as_str();
        let category = template
            .and_then(|n| shared.cfg.templates.iter().find(|t| t.name == n))
            .map_or("service".to_owned(), |t| t.category.to_ascii_lowercase());
        let conversation = hex(&ring::digest::digest(&ring::digest::SHA256, sent.to.as_bytes()).as_ref()[..16]);
        let mut c = json!({ "id": conversation, "origin": { "type": category } });
        if status == "sent" {
            c["expiration_timestamp"] = json!(unix(at + time::Duration::hours(24)));
        }
        s.insert("conversation".into(), c);
        s.insert(
            "pricing".into(),
            json!({ "billable": template.is_some(), "pricing_model": "PMP",
                    "type": if template.is_some() { "regular" } else { "free_customer_service" }, "category": category }),
        );
    }
    if let Some((code, title, details)) = error {
        s.insert(
            "errors".into(),
            json!([{ "code": code, "title": title, "message": title, "error_data": { "details": details },
                     "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/" }]),
        );
    }
    let mut v = value(shared);
    v.insert("statuses".into(), json!([Value::Object(s)]));
    meta_bytes(&envelope(shared, vec![Value::Object(v)]))
}

/// The statuses that follow an accepted message: `failed` (131026) for an undeliverable number,
/// otherwise sent → delivered → read as configured.
pub(crate) fn schedule_statuses(shared: &Arc<Shared>, sent: &SentMessage, undeliverable: bool) {
    let p = shared.cfg.statuses;
    let now = shared.clock.now();
    if undeliverable {
        let payload = status(shared, sent, "failed", now + p.sent_after, Some(UNDELIVERABLE));
        enqueue(shared, "status", payload, p.sent_after, false);
        return;
    }
    if !p.enabled {
        return;
    }
    let mut steps = vec![("sent", p.sent_after), ("delivered", p.delivered_after)];
    if let Some(read) = p.read_after {
        steps.push(("read", read));
    }
    let delays: Vec<Duration> = steps.iter().map(|s| s.1).collect();
    for (i, (name, after)) in steps.iter().enumerate() {
        let payload = status(shared, sent, name, now + *after, None);
        let delay = if p.out_of_order { delays[delays.len() - 1 - i] } else { *after };
        enqueue(shared, "status", payload, delay, false);
    }
}

/// Records a webhook and delivers it in the background (after `delay`), with retries.
pub(crate) fn enqueue(shared: &Arc<Shared>, what: &str, payload: Vec<u8>, delay: Duration, twice: bool) {
    let signature = sign(&shared.cfg.app_secret, &payload);
    let (index, has_url) = {
        let mut st = shared.lock();
        let has_url = st.webhook.is_some();
        st.deliveries.push(DeliveryRecord {
            what: what.to_owned(),
            payload: payload.clone(),
            signature: signature.clone(),
            attempts: 0,
            last_status: None,
            delivered: false,
            finished: !has_url,
            duplicated: false,
        });
        (st.deliveries.len() - 1, has_url)
    };
    if !has_url {
        return;
    }
    shared.pending.fetch_add(1, Ordering::SeqCst);
    let shared = shared.clone();
    tokio::spawn(async move {
        deliver(&shared, index, payload, &signature, delay, twice).await;
        shared.pending.fetch_sub(1, Ordering::SeqCst);
        shared.idle.notify_waiters();
    });
}

async fn deliver(shared: &Shared, index: usize, payload: Vec<u8>, signature: &str, delay: Duration, twice: bool) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let policy = shared.cfg.webhook_retry;
    let attempts = policy.max_attempts.max(1);
    let mut pause = policy.first_delay;
    for attempt in 1..=attempts {
        let url = shared.lock().webhook.clone();
        let answer = match url {
            Some(url) => post(shared, &url, payload.clone(), Some(signature)).await,
            None => None,
        };
        let ok = answer.is_some_and(|s| (200..300).contains(&s));
        {
            let mut st = shared.lock();
            if let Some(r) = st.deliveries.get_mut(index) {
                r.attempts = attempt;
                r.last_status = answer;
                r.delivered = ok;
                r.finished = ok || attempt == attempts;
            }
        }
        if ok {
            if twice || (shared.cfg.duplicate_rate > 0.0 && rand::random::<f64>() < shared.cfg.duplicate_rate) {
                let url = shared.lock().webhook.clone();
                if let Some(url) = url {
                    post(shared, &url, payload, Some(signature)).await;
                    if let Some(r) = shared.lock().deliveries.get_mut(index) {
                        r.duplicated = true;
                    }
                }
            }
            return;
        }
        if attempt < attempts {
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
    }
    tracing::debug!(index, "whatsapp fake gave up on a webhook");
}

/// One POST; the status, or `None` when no answer came.
pub(crate) async fn post(shared: &Shared, url: &str, body: Vec<u8>, signature: Option<&str>) -> Option<u16> {
    let mut req = shared.http.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
    if let Some(s) = signature {
        req = req.header("X-Hub-Signature-256", s);
    }
    match req.send().await {
        Ok(r) => Some(r.status().as_u16()),
        Err(e) => {
            tracing::debug!(error = %e, "whatsapp fake webhook got no answer");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_bytes_escape_non_ascii_and_slashes_and_still_parse_back() {
        let v = json!({ "t": "เพลง/😀 ok" });
        let bytes = meta_bytes(&v);
        let s = String::from_utf8(bytes.clone()).expect("ascii");
        assert!(s.is_ascii());
        assert!(s.contains("\\u0e40") && s.contains("\\/") && s.contains("\\ud83d\\ude00"), "{s}");
        assert_eq!(serde_json::from_slice::<Value>(&bytes).expect("json"), v);
    }

    #[test]
    fn wamids_look_like_metas() {
        let id = wamid("16505076520", false);
        assert!(id.starts_with("wamid.HBgLMTY1MDUwNzY1MjAVAgAR"), "{id}");
        assert!(wamid("16505076520", true).starts_with("wamid.HBgLMTY1MDUwNzY1MjAVAgAS"));
    }

    #[test]
    fn the_signature_matches_metas_test_vector() {
        assert_eq!(sign("secret", b"test"), "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914");
    }
}
