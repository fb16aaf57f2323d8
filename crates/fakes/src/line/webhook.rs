//! LINE's side of webhooks: the event a user's action produces, the signed POST, and
//! redelivery with the same `webhookEventId` until the receiver answers 2xx.

use super::{ReplyToken, Shared, State, UserEvent, sign};
use anyhow::Context as _;
use rand::Rng as _;
use serde_json::{Value, json};
use std::sync::Arc;

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: 48 bits of milliseconds and 80 random bits, in 26 Crockford base-32 characters.
fn ulid(ms: i64) -> String {
    let random: u128 = rand::rng().random::<u128>() & ((1u128 << 80) - 1);
    let value = ((ms.max(0) as u128 & ((1u128 << 48) - 1)) << 80) | random;
    (0..26).rev().map(|i| char::from(CROCKFORD[((value >> (i * 5)) & 31) as usize])).collect()
}

fn token(len: usize) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())])).collect()
}

fn build_event(shared: &Shared, st: &mut State, user_id: &str, event: UserEvent) -> anyhow::Result<Value> {
    let now = shared.now();
    let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    let (kind, mut extra) = match event {
        UserEvent::Text(text) => {
            ("message", json!({ "message": { "type": "text", "text": text, "quoteToken": token(40) } }))
        }
        UserEvent::Image { message_id } => {
            anyhow::ensure!(st.contents.contains_key(&message_id), "no content {message_id}: add_content first");
            let m = json!({ "id": message_id, "type": "image", "contentProvider": { "type": "line" }, "quoteToken": token(40) });
            ("message", json!({ "message": m }))
        }
        UserEvent::File { message_id, file_name } => {
            let size = st.contents.get(&message_id).map(|(b, _)| b.len()).context("no content: add_content first")?;
            (
                "message",
                json!({ "message": { "id": message_id, "type": "file", "fileName": file_name, "fileSize": size } }),
            )
        }
        UserEvent::Sticker { package_id, sticker_id } => {
            let m = json!({ "type": "sticker", "packageId": package_id, "stickerId": sticker_id,
                "stickerResourceType": "STATIC", "keywords": [], "quoteToken": token(40) });
            ("message", json!({ "message": m }))
        }
        UserEvent::Location { title, address, latitude, longitude } => {
            let mut m = json!({ "type": "location", "latitude": latitude, "longitude": longitude });
            if let Some(t) = title {
                m["title"] = json!(t);
            }
            if let Some(a) = address {
                m["address"] = json!(a);
            }
            ("message", json!({ "message": m }))
        }
        UserEvent::Postback { data, display_text: _ } => ("postback", json!({ "postback": { "data": data } })),
        UserEvent::Follow => {
            let unblocked = st.blocked.remove(user_id);
            let name = format!("LINE user {}", user_id.get(1..5).unwrap_or("0000"));
            st.friends.entry(user_id.to_owned()).or_insert(name);
            ("follow", json!({ "follow": { "isUnblocked": unblocked } }))
        }
        UserEvent::Unfollow => {
            st.friends.remove(user_id);
            st.blocked.insert(user_id.to_owned());
            ("unfollow", json!({}))
        }
    };
    if let Some(m) = extra.get_mut("message").filter(|m| m.get("id").is_none()) {
        m["id"] = json!(Shared::next_id(st));
    }
    if kind != "unfollow" && !st.blocked.contains(user_id) {
        let name = format!("LINE user {}", user_id.get(1..5).unwrap_or("0000"));
        st.friends.entry(user_id.to_owned()).or_insert(name);
    }
    let mut e = json!({
        "type": kind,
        "mode": "active",
        "timestamp": ms,
        "source": { "type": "user", "userId": user_id },
        "webhookEventId": ulid(ms),
        "deliveryContext": { "isRedelivery": false },
    });
    if kind != "unfollow" {
        let t = token(32);
        st.reply_tokens.insert(t.clone(), ReplyToken { user: user_id.to_owned(), issued: now, used: false });
        e["replyToken"] = json!(t);
    }
    if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object_mut()) {
        e.append(x);
    }
    Ok(e)
}

fn body_of(shared: &Shared, event: &Value) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec(&json!({ "destination": shared.cfg.bot_user_id, "events": [event] }))?)
}

fn event_id(event: &Value) -> String {
    event.get("webhookEventId").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// One POST to the webhook, recorded. `Err` only when no webhook is set.
async fn post(
    shared: &Shared,
    body: &[u8],
    signature: &str,
    redelivery: bool,
    attempt: u32,
) -> anyhow::Result<Option<u16>> {
    let url = shared.lock().webhook_url.clone().context("no webhook set: call set_webhook first")?;
    let outcome = shared
        .http
        .post(&url)
        .header("content-type", "application/json; charset=utf-8")
        .header("x-line-signature", signature)
        .body(body.to_vec())
        .send()
        .await;
    let (status, error) = match outcome {
        Ok(r) => (Some(r.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let event_ids = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("events").and_then(Value::as_array).map(|a| a.iter().map(event_id).collect()))
        .unwrap_or_default();
    shared.lock().deliveries.push(super::Delivery {
        event_ids,
        body: String::from_utf8_lossy(body).into_owned(),
        signature: signature.to_owned(),
        redelivery,
        attempt,
        status,
        error,
    });
    Ok(status)
}

fn ok(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

struct Pending(Arc<Shared>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.send_modify(|n| *n = n.saturating_sub(1));
    }
}

pub(crate) async fn user_sends(shared: &Arc<Shared>, user_id: &str, event: UserEvent) -> anyhow::Result<String> {
    anyhow::ensure!(shared.lock().webhook_url.is_some(), "no webhook set: call set_webhook first");
    let event = {
        let mut st = shared.lock();
        let e = build_event(shared, &mut st, user_id, event)?;
        st.events.insert(event_id(&e), e.clone());
        e
    };
    let id = event_id(&event);
    let body = body_of(shared, &event)?;
    let sig = sign(&shared.cfg.channel_secret, &body);
    let status = post(shared, &body, &sig, false, 1).await?;
    if ok(status) {
        if shared.lock().duplicate {
            post(shared, &body, &sig, false, 1).await?;
        }
        return Ok(id);
    }
    shared.pending.send_modify(|n| *n += 1);
    let guard = Pending(shared.clone());
    let mut again = event;
    again["deliveryContext"]["isRedelivery"] = json!(true);
    tokio::spawn(async move {
        let shared = guard.0.clone();
        let Ok(body) = body_of(&shared, &again) else { return };
        let sig = sign(&shared.cfg.channel_secret, &body);
        for attempt in 2..=shared.cfg.webhook_max_attempts {
            tokio::time::sleep(shared.cfg.webhook_retry_base * 2u32.saturating_pow(attempt - 2)).await;
            match post(&shared, &body, &sig, true, attempt).await {
                Ok(s) if ok(s) => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        drop(guard);
    });
    Ok(id)
}

pub(crate) async fn redeliver(shared: &Arc<Shared>, webhook_event_id: &str) -> anyhow::Result<u16> {
    let mut event = shared.lock().events.get(webhook_event_id).cloned().context("no such webhookEventId")?;
    event["deliveryContext"]["isRedelivery"] = json!(true);
    let body = body_of(shared, &event)?;
    let sig = sign(&shared.cfg.channel_secret, &body);
    post(shared, &body, &sig, true, 1).await?.context("the webhook did not answer")
}

pub(crate) async fn deliver_raw(shared: &Arc<Shared>, body: &[u8], signature: &str) -> anyhow::Result<u16> {
    post(shared, body, signature, false, 1).await?.context("the webhook did not answer")
}

/// For the control API: a text from a user.
pub(crate) async fn inbound_text(shared: &Arc<Shared>, user_id: &str, text: &str) -> anyhow::Result<String> {
    user_sends(shared, user_id, UserEvent::Text(text.to_owned())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_ulids_that_sort_by_time() {
        let a = ulid(1_462_629_479_859);
        let b = ulid(1_462_629_479_860);
        assert_eq!(a.len(), 26);
        assert!(a.bytes().all(|c| CROCKFORD.contains(&c)));
        assert!(a[..10] < b[..10]);
    }
}
