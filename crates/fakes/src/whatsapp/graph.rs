//! What the fake's Graph API decides, apart from HTTP: authentication, the send body's validation,
//! templates, the 24-hour window, throughput and pair limits, media URLs and the template list,
//! each refusal in Meta's error envelope with Meta's code.

use super::hooks::{self, wamid};
use super::{FakeTemplate, SentMessage, Shared, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub(crate) type Query = HashMap<String, String>;

pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Value,
    /// How long to hold the answer (the message is recorded already).
    pub hold: Duration,
    /// The message accepted, and whether its number is undeliverable.
    pub accepted: Option<Box<(SentMessage, bool)>>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self { status: StatusCode::OK, body, hold: Duration::ZERO, accepted: None }
    }
}

fn trace_id() -> String {
    let raw: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..12])
}

/// Meta's envelope for a WhatsApp error code: `(#code) title` and `error_data.details`.
pub(crate) fn wa_error(status: StatusCode, code: i64, title: &str, details: &str) -> Reply {
    let body = json!({ "error": {
        "message": format!("(#{code}) {title}"), "type": "OAuthException", "code": code,
        "error_data": { "messaging_product": "whatsapp", "details": details },
        "fbtrace_id": trace_id() } });
    Reply { status, body, hold: Duration::ZERO, accepted: None }
}

fn missing(what: &str) -> Reply {
    wa_error(
        StatusCode::BAD_REQUEST,
        131008,
        "Required parameter is missing",
        &format!("The parameter {what} is required."),
    )
}

fn invalid(details: &str) -> Reply {
    wa_error(StatusCode::BAD_REQUEST, 131009, "Parameter value is not valid", details)
}

fn unsupported(verb: &str, id: &str) -> Reply {
    let message = format!(
        "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    );
    let body = json!({ "error": { "message": message, "type": "GraphMethodException", "code": 100,
        "error_subcode": 33, "fbtrace_id": trace_id() } });
    Reply { status: StatusCode::BAD_REQUEST, body, hold: Duration::ZERO, accepted: None }
}

pub(crate) fn unknown_path(path: &str) -> Reply {
    let body = json!({ "error": { "message": format!("Unknown path components: {path}"), "type": "OAuthException",
        "code": 2500, "fbtrace_id": trace_id() } });
    Reply { status: StatusCode::BAD_REQUEST, body, hold: Duration::ZERO, accepted: None }
}

fn server_error(status: u16) -> Reply {
    let (code, message) = match status {
        503 => (2, "Service temporarily unavailable"),
        _ => (1, "An unknown error occurred"),
    };
    let body = json!({ "error": { "message": message, "type": "OAuthException", "code": code,
        "is_transient": true, "fbtrace_id": trace_id() } });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Reply { status, body, hold: Duration::ZERO, accepted: None }
}

fn valid_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let mut parts = rest.split('.');
    let digits = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

fn text_at<'a>(v: &'a Value, what: &str) -> Result<&'a str, Reply> {
    v.as_str().filter(|s| !s.trim().is_empty()).ok_or_else(|| missing(what))
}

impl Shared {
    /// The common gate of every Graph call: counting, version, token, injected 5xx.
    fn gate(&self, st: &mut State, version: &str, headers: &HeaderMap, query: &Query) -> Result<(), Reply> {
        st.requests += 1;
        if !valid_version(version) {
            return Err(unknown_path(&format!("/{version}")));
        }
        let header = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let token = header
            .and_then(|h| h.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")))
            .map(|(_, t)| t.trim().to_owned())
            .or_else(|| query.get("access_token").cloned());
        match token {
            None => {
                let body = json!({ "error": { "message": "An access token is required to request this resource.",
                    "type": "OAuthException", "code": 190, "fbtrace_id": trace_id() } });
                return Err(Reply { status: StatusCode::UNAUTHORIZED, body, hold: Duration::ZERO, accepted: None });
            }
            Some(t) if t != self.cfg.access_token => {
                let body = json!({ "error": { "message": "Invalid OAuth access token - Cannot parse access token",
                    "type": "OAuthException", "code": 190, "fbtrace_id": trace_id() } });
                return Err(Reply { status: StatusCode::UNAUTHORIZED, body, hold: Duration::ZERO, accepted: None });
            }
            Some(_) => {}
        }
        if st.fail_next.0 > 0 {
            st.fail_next.0 -= 1;
            return Err(server_error(st.fail_next.1));
        }
        Ok(())
    }

    pub(crate) fn send(&self, version: &str, phone: &str, headers: &HeaderMap, query: &Query, body: &[u8]) -> Reply {
        let now = self.clock.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        if let Err(r) = self.gate(st, version, headers, query) {
            return r;
        }
        if phone != self.cfg.phone_number_id {
            return unsupported("post", phone);
        }
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return wa_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "The request body is not valid JSON.");
        };
        if req.get("messaging_product").and_then(Value::as_str) != Some("whatsapp") {
            return missing("messaging_product");
        }
        if req.get("status").and_then(Value::as_str) == Some("read") {
            return match req.get("message_id").and_then(Value::as_str) {
                None => missing("message_id"),
                Some(id) if !st.inbound_ids.contains(id) => invalid(&format!("Invalid message_id: {id}")),
                Some(id) => {
                    st.reads.push(id.to_owned());
                    Reply::ok(json!({ "success": true }))
                }
            };
        }
        let Some(input) = req.get("to").and_then(Value::as_str) else { return missing("to") };
        let to = input.trim_start_matches('+');
        if !(7..=15).contains(&to.len()) || !to.bytes().all(|b| b.is_ascii_digit()) {
            return invalid(&format!("Invalid WhatsApp user phone number: {input}"));
        }
        let window = time::Duration::SECOND;
        while st.recent_sends.front().is_some_and(|t| *t <= now - window) {
            st.recent_sends.pop_front();
        }
        if st.recent_sends.len() >= self.cfg.throughput_per_second as usize {
            st.throughput_refusals += 1;
            let status = StatusCode::from_u16(self.cfg.rate_limit_http_status).unwrap_or(StatusCode::BAD_REQUEST);
            let mut r = wa_error(status, 130429, "Rate limit hit", "Cloud API message throughput has been reached.");
            r.body["error"]["error_subcode"] = json!(2494055);
            return r;
        }
        let kind = req.get("type").and_then(Value::as_str).unwrap_or("text").to_owned();
        if let Err(r) = self.validate(&req, &kind) {
            return r;
        }
        if kind != "template" {
            let open = st.last_inbound.get(to).is_some_and(|t| now - *t < time::Duration::hours(24));
            if !open {
                return wa_error(
                    StatusCode::BAD_REQUEST,
                    131047,
                    "Re-engagement message",
                    "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
                );
            }
        }
        let pair = st.pair.entry(to.to_owned()).or_default();
        while pair.front().is_some_and(|t| *t <= now - time::Duration::MINUTE) {
            pair.pop_front();
        }
        if pair.len() >= self.cfg.pair_limit_per_minute as usize {
            return wa_error(
                StatusCode::BAD_REQUEST,
                131056,
                "(Business Account, Consumer Account) pair rate limit hit",
                "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
            );
        }
        pair.push_back(now);
        st.recent_sends.push_back(now);
        let id = wamid(to, false);
        let sent = SentMessage {
            to: to.to_owned(),
            kind,
            body: req.clone(),
            wamid: id.clone(),
            biz_opaque_callback_data: req.get("biz_opaque_callback_data").and_then(Value::as_str).map(str::to_owned),
            at: now,
        };
        st.sent.push(sent.clone());
        let hold = if st.hold_next.0 > 0 {
            st.hold_next.0 -= 1;
            st.hold_next.1
        } else {
            st.hold_all
        };
        let undeliverable = st.undeliverable.contains(to);
        let body = json!({ "messaging_product": "whatsapp", "contacts": [{ "input": input, "wa_id": to }],
            "messages": [{ "id": id }] });
        Reply { status: StatusCode::OK, body, hold, accepted: Some(Box::new((sent, undeliverable))) }
    }

    fn validate(&self, req: &Value, kind: &str) -> Result<(), Reply> {
        const TYPES: [&str; 11] = [
            "text",
            "image",
            "audio",
            "document",
            "sticker",
            "video",
            "location",
            "contacts",
            "interactive",
            "template",
            "reaction",
        ];
        if !TYPES.contains(&kind) {
            return Err(invalid(&format!("Param type must be one of {{{}}} - got \"{kind}\".", TYPES.join(", "))));
        }
        let obj = req.get(kind).filter(|o| o.is_object() || (kind == "contacts" && o.is_array()));
        let Some(obj) = obj else { return Err(missing(kind)) };
        match kind {
            "text" => {
                text_at(&obj["body"], "text['body']")?;
                if chars(&obj["body"]) > 4096 {
                    return Err(invalid("Param text['body'] must be at most 4096 characters long."));
                }
            }
            "image" | "audio" | "document" | "sticker" | "video" => {
                if obj.get("link").is_none() && obj.get("id").is_none() {
                    return Err(missing(&format!("{kind}['link'] or {kind}['id']")));
                }
                if chars(&obj["caption"]) > 1024 {
                    return Err(invalid("Param caption must be at most 1024 characters long."));
                }
            }
            "location" if !obj["latitude"].is_number() || !obj["longitude"].is_number() => {
                return Err(missing("location['latitude'] and location['longitude']"));
            }
            "interactive" => self.validate_interactive(obj)?,
            "template" => self.validate_template(obj)?,
            _ => {}
        }
        Ok(())
    }

    fn validate_interactive(&self, obj: &Value) -> Result<(), Reply> {
        let sub = text_at(&obj["type"], "interactive['type']")?;
        text_at(&obj["body"]["text"], "interactive['body']['text']")?;
        let action = obj.get("action").filter(|a| a.is_object()).ok_or_else(|| missing("interactive['action']"))?;
        match sub {
            "button" => {
                if chars(&obj["body"]["text"]) > 1024 {
                    return Err(invalid("Body text length invalid. Min length: 1, Max length: 1024"));
                }
                let buttons = action["buttons"].as_array().ok_or_else(|| missing("action['buttons']"))?;
                if buttons.is_empty() || buttons.len() > 3 {
                    return Err(invalid("Buttons count invalid. Min count: 1, Max count: 3"));
                }
                let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
                for b in buttons {
                    if b["type"] != "reply" {
                        return Err(invalid("Button type must be 'reply'"));
                    }
                    let id = text_at(&b["reply"]["id"], "reply['id']")?;
                    let title = text_at(&b["reply"]["title"], "reply['title']")?;
                    if chars(&b["reply"]["title"]) > 20 {
                        return Err(invalid("Button title length invalid. Min length: 1, Max length: 20"));
                    }
                    if id.chars().count() > 256 {
                        return Err(invalid("Button id length invalid. Min length: 1, Max length: 256"));
                    }
                    if !ids.insert(id) || !titles.insert(title) {
                        return Err(invalid("Button titles and ids must be unique"));
                    }
                }
            }
            "list" => {
                if chars(&obj["body"]["text"]) > 4096 {
                    return Err(invalid("Body text length invalid. Min length: 1, Max length: 4096"));
                }
                text_at(&action["button"], "action['button']")?;
                if chars(&action["button"]) > 20 {
                    return Err(invalid("Button text length invalid. Min length: 1, Max length: 20"));
                }
                let sections = action["sections"].as_array().ok_or_else(|| missing("action['sections']"))?;
                if sections.is_empty() || sections.len() > 10 {
                    return Err(invalid("Sections count invalid. Min count: 1, Max count: 10"));
                }
                let mut ids = HashSet::new();
                let mut rows = 0;
                for s in sections {
                    if sections.len() > 1 && s["title"].as_str().is_none_or(str::is_empty) {
                        return Err(missing("section['title']"));
                    }
                    for r in s["rows"].as_array().map(Vec::as_slice).unwrap_or_default() {
                        rows += 1;
                        let id = text_at(&r["id"], "row['id']")?;
                        text_at(&r["title"], "row['title']")?;
                        if chars(&r["title"]) > 24 || chars(&r["description"]) > 72 || id.chars().count() > 200 {
                            return Err(invalid("Row title (24), description (72) or id (200) too long"));
                        }
                        if !ids.insert(id) {
                            return Err(invalid("Row ids must be unique"));
                        }
                    }
                }
                if rows == 0 || rows > 10 {
                    return Err(invalid("Total row count invalid. Min count: 1, Max count: 10"));
                }
            }
            "cta_url" | "product" | "product_list" | "flow" | "location_request_message" | "address_message" => {}
            other => return Err(invalid(&format!("Invalid interactive type: {other}"))),
        }
        Ok(())
    }

    fn validate_template(&self, obj: &Value) -> Result<(), Reply> {
        let name = text_at(&obj["name"], "template['name']")?;
        let language = text_at(&obj["language"]["code"], "template['language']['code']")?;
        let template: Option<&FakeTemplate> = self
            .cfg
            .templates
            .iter()
            .find(|t| t.name == name && t.language == language && t.status.eq_ignore_ascii_case("APPROVED"));
        let Some(template) = template else {
            return Err(wa_error(
                StatusCode::NOT_FOUND,
                132001,
                "Template name does not exist in the translation",
                &format!("template name ({name}) does not exist in {language}"),
            ));
        };
        let components = obj["components"].as_array().map(Vec::as_slice).unwrap_or_default();
        let component = |c: &Value, k: &str| c["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case(k));
        let params: Vec<&Value> = components
            .iter()
            .filter(|c| component(c, "body"))
            .flat_map(|c| c["parameters"].as_array().map(Vec::as_slice).unwrap_or_default())
            .collect();
        let want = template.body_params();
        if params.len() != want {
            return Err(wa_error(
                StatusCode::BAD_REQUEST,
                132000,
                "Number of parameters does not match the expected number of params",
                &format!(
                    "body: number of localizable_params ({}) does not match the expected number of params ({want})",
                    params.len()
                ),
            ));
        }
        for p in params {
            if p["type"] == "text" {
                let text = text_at(&p["text"], "parameter['text']")?;
                if text.contains(['\n', '\t']) || text.contains("     ") {
                    return Err(invalid(
                        "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
                    ));
                }
            }
        }
        for b in components.iter().filter(|c| component(c, "button")) {
            let index = match &b["index"] {
                Value::String(s) => s.parse::<usize>().ok(),
                Value::Number(n) => n.as_u64().map(|n| n as usize),
                _ => None,
            };
            let Some(index) = index else { return Err(missing("button['index']")) };
            if b["sub_type"] != "quick_reply" || index >= template.quick_replies.len() {
                let sub = b["sub_type"].as_str().unwrap_or("?");
                return Err(invalid(&format!("Button at index {index} of type {sub} does not exist")));
            }
        }
        Ok(())
    }

    /// `GET /{version}/{id}`: a media object (with a fresh 5-minute URL) or the phone number.
    pub(crate) fn object(&self, version: &str, id: &str, headers: &HeaderMap, query: &Query) -> Reply {
        let now = self.clock.now();
        let mut guard = self.lock();
        let st = &mut *guard;
        if let Err(r) = self.gate(st, version, headers, query) {
            return r;
        }
        if id == self.cfg.phone_number_id {
            return Reply::ok(json!({ "verified_name": "BMA Social", "code_verification_status": "VERIFIED",
                "display_phone_number": self.cfg.display_phone_number, "quality_rating": "GREEN",
                "platform_type": "CLOUD_API", "throughput": { "level": "STANDARD" }, "id": id }));
        }
        if query.get("phone_number_id").is_some_and(|p| *p != self.cfg.phone_number_id) {
            return unsupported("get", id);
        }
        let Some(media) = st.media.get(id).filter(|m| now - m.created < time::Duration::days(7)) else {
            return unsupported("get", id);
        };
        let (mime, sha256, size) = (media.mime.clone(), media.sha256.clone(), media.bytes.len());
        let expires = if st.expire_next_urls > 0 {
            st.expire_next_urls -= 1;
            now
        } else {
            now + time::Duration::minutes(5)
        };
        let hash = hooks::hex(&rand::random::<[u8; 16]>());
        st.media_urls.insert(hash.clone(), (id.to_owned(), expires));
        let url = format!(
            "{}/whatsapp_business/attachments/?mid={id}&ext={}&hash={hash}",
            self.base_url,
            expires.unix_timestamp()
        );
        Reply::ok(json!({ "messaging_product": "whatsapp", "url": url, "mime_type": mime, "sha256": sha256,
            "file_size": size, "id": id }))
    }

    /// The media bytes behind a URL from [`Self::object`]; it needs the Bearer token and expires.
    pub(crate) fn attachment(&self, headers: &HeaderMap, query: &Query) -> Result<(String, Vec<u8>), StatusCode> {
        let now = self.clock.now();
        let st = self.lock();
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        if bearer != Some(self.cfg.access_token.as_str()) {
            return Err(StatusCode::UNAUTHORIZED);
        }
        let hash = query.get("hash").ok_or(StatusCode::NOT_FOUND)?;
        let (media_id, expires) = st.media_urls.get(hash).ok_or(StatusCode::NOT_FOUND)?;
        if now >= *expires {
            return Err(StatusCode::NOT_FOUND);
        }
        let media = st.media.get(media_id).ok_or(StatusCode::NOT_FOUND)?;
        Ok((media.mime.clone(), media.bytes.clone()))
    }

    /// `GET /{version}/{waba}/message_templates`, paged with `limit` and `after`.
    pub(crate) fn templates(&self, version: &str, waba: &str, headers: &HeaderMap, query: &Query) -> Reply {
        let mut guard = self.lock();
        if let Err(r) = self.gate(&mut guard, version, headers, query) {
            return r;
        }
        drop(guard);
        if waba != self.cfg.business_account_id {
            return unsupported("get", waba);
        }
        let wanted: Vec<&FakeTemplate> = self
            .cfg
            .templates
            .iter()
            .filter(|t| query.get("status").is_none_or(|s| t.status.eq_ignore_ascii_case(s)))
            .filter(|t| query.get("name").is_none_or(|n| t.name.contains(n.as_str())))
            .collect();
        let limit = query.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(25).clamp(1, 1000);
        let b64 = base64::engine::general_purpose::STANDARD;
        let start = query
            .get("after")
            .and_then(|a| b64.decode(a).ok())
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .map_or(0, |i| i + 1);
        let end = (start + limit).min(wanted.len());
        let data: Vec<Value> = wanted.get(start..end).unwrap_or_default().iter().map(|t| template_json(t)).collect();
        let mut paging = json!({ "cursors": { "before": b64.encode(start.to_string()),
            "after": b64.encode(end.saturating_sub(1).to_string()) } });
        if end < wanted.len() {
            let after = b64.encode((end - 1).to_string());
            paging["next"] = json!(format!(
                "{}/{version}/{waba}/message_templates?limit={limit}&after={}",
                self.base_url,
                after.replace('=', "%3D")
            ));
        }
        Reply::ok(json!({ "data": data, "paging": paging }))
    }
}

fn template_json(t: &FakeTemplate) -> Value {
    let mut body = json!({ "type": "BODY", "text": t.body });
    let n = t.body_params();
    if n > 0 {
        let examples: Vec<String> = (1..=n).map(|i| format!("example {i}")).collect();
        body["example"] = json!({ "body_text": [examples] });
    }
    let mut components = vec![body];
    if !t.quick_replies.is_empty() {
        let buttons: Vec<Value> = t.quick_replies.iter().map(|q| json!({ "type": "QUICK_REPLY", "text": q })).collect();
        components.push(json!({ "type": "BUTTONS", "buttons": buttons }));
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{}/{}", t.name, t.language).as_bytes());
    let id = digest.as_ref()[..7].iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
    json!({ "name": t.name, "parameter_format": "POSITIONAL", "components": components, "language": t.language,
        "status": t.status, "category": t.category, "id": id.to_string() })
}
