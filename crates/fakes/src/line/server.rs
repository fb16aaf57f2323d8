//! The HTTP face of the fake. Every API request passes, in order: route, Bearer auth, the 2 MB
//! body limit, injected faults, the endpoint's token bucket; then its handler. Every answer
//! carries `X-Line-Request-Id`.

use super::validate::{self, Problems};
use super::{Accepted, Bucket, Menu, SentLine, Shared, State, Via};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State as AxumState};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const MAX_BODY: usize = 2 * 1024 * 1024;
const MAX_IMAGE: usize = 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(dispatch).layer(DefaultBodyLimit::max(4 * MAX_BODY)).with_state(shared)
}

enum Payload {
    Json(Value),
    Bytes(Vec<u8>, String),
}

struct Out {
    status: StatusCode,
    payload: Payload,
    headers: Vec<(&'static str, String)>,
    hold: Option<Duration>,
}

impl Out {
    fn ok(body: Value) -> Self {
        Out { status: StatusCode::OK, payload: Payload::Json(body), headers: Vec::new(), hold: None }
    }

    fn err(status: StatusCode, message: &str) -> Self {
        Out { status, payload: Payload::Json(json!({ "message": message })), headers: Vec::new(), hold: None }
    }

    fn invalid(details: Vec<Value>) -> Self {
        let message = format!("The request body has {} error(s)", details.len());
        let body = json!({ "message": message, "details": details });
        Out { status: StatusCode::BAD_REQUEST, payload: Payload::Json(body), headers: Vec::new(), hold: None }
    }

    fn not_found() -> Self {
        Out::err(StatusCode::NOT_FOUND, "Not found")
    }

    fn into_response(self, request_id: &str) -> Response {
        let mut r = match self.payload {
            Payload::Json(v) => (self.status, axum::Json(v)).into_response(),
            Payload::Bytes(b, ct) => (self.status, [(axum::http::header::CONTENT_TYPE, ct)], b).into_response(),
        };
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(request_id) {
            h.insert("x-line-request-id", v);
        }
        for (k, v) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(HeaderName::from_static(k), v);
            }
        }
        r
    }
}

/// An endpoint: its bucket key and its limit as (requests, per seconds).
struct Endpoint {
    key: &'static str,
    limit: Option<(f64, f64)>,
}

impl Endpoint {
    fn default_limit(key: &'static str) -> Self {
        Endpoint { key, limit: None }
    }
}

async fn dispatch(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = uri.path().trim_matches('/');
    let segs: Vec<&str> = path.split('/').collect();
    if segs.first() == Some(&"control") {
        return control(&shared, &method, &segs, &body).await.into_response(&request_id);
    }
    let out = api(&shared, &method, &segs, &headers, &body, &request_id);
    if let Some(d) = out.hold {
        tokio::time::sleep(d).await;
    }
    out.into_response(&request_id)
}

fn endpoint(method: &Method, segs: &[&str]) -> Option<Endpoint> {
    let m = method.as_str();
    Some(match (m, segs) {
        ("POST", ["v2", "bot", "message", "reply"]) => Endpoint::default_limit("POST reply"),
        ("POST", ["v2", "bot", "message", "push"]) => Endpoint::default_limit("POST push"),
        ("POST", ["v2", "bot", "message", "multicast"]) => {
            Endpoint { key: "POST multicast", limit: Some((200.0, 1.0)) }
        }
        ("GET", ["v2", "bot", "message", _, "content"]) => Endpoint::default_limit("GET content"),
        ("GET", ["v2", "bot", "profile", _]) => Endpoint::default_limit("GET profile"),
        ("POST", ["v2", "bot", "richmenu"]) => Endpoint { key: "POST richmenu", limit: Some((100.0, 3600.0)) },
        ("POST", ["v2", "bot", "richmenu", "validate"]) => Endpoint::default_limit("POST richmenu/validate"),
        ("GET", ["v2", "bot", "richmenu", "list"]) => Endpoint { key: "GET richmenu/list", limit: Some((10.0, 1.0)) },
        ("GET", ["v2", "bot", "richmenu", _]) => Endpoint::default_limit("GET richmenu"),
        ("DELETE", ["v2", "bot", "richmenu", _]) => Endpoint { key: "DELETE richmenu", limit: Some((100.0, 3600.0)) },
        ("POST", ["v2", "bot", "richmenu", _, "content"]) => Endpoint::default_limit("POST richmenu content"),
        ("GET", ["v2", "bot", "richmenu", _, "content"]) => Endpoint::default_limit("GET richmenu content"),
        ("POST", ["v2", "bot", "user", _, "richmenu", _]) => Endpoint::default_limit("POST user richmenu"),
        ("GET", ["v2", "bot", "user", _, "richmenu"]) => Endpoint::default_limit("GET user richmenu"),
        ("DELETE", ["v2", "bot", "user", _, "richmenu"]) => Endpoint::default_limit("DELETE user richmenu"),
        _ => return None,
    })
}

fn api(shared: &Shared, method: &Method, segs: &[&str], headers: &HeaderMap, body: &[u8], request_id: &str) -> Out {
    let Some(ep) = endpoint(method, segs) else {
        return Out::not_found();
    };
    let mut st = shared.lock();
    st.requests += 1;
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(shared.cfg.channel_access_token.as_str()) {
        return Out::err(
            StatusCode::UNAUTHORIZED,
            "Authentication failed. Confirm that the access token in the authorization header is valid.",
        );
    }
    if body.len() > MAX_BODY {
        return Out::err(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    }
    if let Some(code) = st.fail_next.pop_front() {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match code {
            429 => "Too many requests",
            c if c >= 500 => "Internal server error",
            _ => "Bad request",
        };
        return Out::err(status, message);
    }
    let (capacity, per_secs) = ep.limit.unwrap_or((f64::from(shared.cfg.rate_limit_per_sec), 1.0));
    let now = shared.now();
    let bucket = st.buckets.entry(ep.key).or_insert(Bucket { tokens: capacity, last: now });
    let elapsed = (now - bucket.last).as_seconds_f64().max(0.0);
    bucket.tokens = (bucket.tokens + elapsed * capacity / per_secs).min(capacity);
    bucket.last = now;
    if bucket.tokens < 1.0 {
        return Out::err(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
    }
    bucket.tokens -= 1.0;

    let retry_key = headers.get("x-line-retry-key").map(|v| v.to_str().unwrap_or_default().to_owned());
    if retry_key.is_some() && !matches!(ep.key, "POST push" | "POST multicast") {
        return Out::err(StatusCode::BAD_REQUEST, "The X-Line-Retry-Key header cannot be specified for this endpoint");
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let json_body = || serde_json::from_slice::<Value>(body).ok().filter(Value::is_object);
    match (ep.key, segs) {
        ("POST reply", _) => match json_body() {
            Some(v) => reply(shared, &mut st, &v, request_id),
            None => Out::err(StatusCode::BAD_REQUEST, "The request body could not be parsed as JSON"),
        },
        ("POST push", _) => push(shared, &mut st, json_body(), retry_key, request_id),
        ("POST multicast", _) => multicast(shared, &mut st, json_body(), retry_key, request_id),
        ("GET content", [_, _, _, id, _]) => match st.contents.get(*id) {
            Some((b, ct)) => Out { payload: Payload::Bytes(b.clone(), ct.clone()), ..Out::ok(Value::Null) },
            None => Out::not_found(),
        },
        ("GET profile", [_, _, _, user]) => match st.friends.get(*user) {
            Some(name) => Out::ok(json!({
                "displayName": name, "userId": user, "language": "en",
                "pictureUrl": format!("https://profile.line-scdn.net/{user}"),
            })),
            None => Out::not_found(),
        },
        ("POST richmenu" | "POST richmenu/validate", _) => {
            let Some(v) = json_body() else {
                return Out::err(StatusCode::BAD_REQUEST, "The request body could not be parsed as JSON");
            };
            let mut p = Problems::default();
            validate::rich_menu(&v, &mut p);
            if let Err(d) = p.into_result() {
                return Out::invalid(d);
            }
            if ep.key == "POST richmenu/validate" {
                return Out::ok(json!({}));
            }
            if st.menus.len() >= 1000 {
                return Out::err(StatusCode::BAD_REQUEST, "The maximum number of rich menus has been reached");
            }
            let id = format!("richmenu-{}", hex32());
            let mut body = v;
            body["richMenuId"] = json!(id);
            st.menus.push(Menu { id: id.clone(), body, image: None });
            Out::ok(json!({ "richMenuId": id }))
        }
        ("GET richmenu/list", _) => {
            Out::ok(json!({ "richmenus": st.menus.iter().map(|m| m.body.clone()).collect::<Vec<_>>() }))
        }
        ("GET richmenu", [_, _, _, id]) => match st.menus.iter().find(|m| m.id == *id) {
            Some(m) => Out::ok(m.body.clone()),
            None => Out::not_found(),
        },
        ("DELETE richmenu", [_, _, _, id]) => {
            let before = st.menus.len();
            st.menus.retain(|m| m.id != *id);
            if st.menus.len() == before {
                return Out::not_found();
            }
            if st.default_menu.as_deref() == Some(*id) {
                st.default_menu = None;
            }
            st.links.retain(|_, m| m != id);
            Out::ok(json!({}))
        }
        ("POST richmenu content", [_, _, _, id, _]) => upload(&mut st, id, body, &content_type),
        ("GET richmenu content", [_, _, _, id, _]) => {
            match st.menus.iter().find(|m| m.id == *id).and_then(|m| m.image.clone()) {
                Some((b, ct)) => Out { payload: Payload::Bytes(b, ct), ..Out::ok(Value::Null) },
                None => Out::not_found(),
            }
        }
        ("POST user richmenu", [_, _, _, user, _, id]) => {
            let Some(menu) = st.menus.iter().find(|m| m.id == *id) else {
                return Out::not_found();
            };
            if menu.image.is_none() {
                return Out::err(StatusCode::BAD_REQUEST, "Must upload richmenu image before applying it to user");
            }
            if *user == "all" {
                st.default_menu = Some((*id).to_owned());
            } else if is_user_id(user) {
                st.links.insert((*user).to_owned(), (*id).to_owned());
            } else {
                return Out::err(StatusCode::BAD_REQUEST, "The value for the 'userId' parameter is invalid");
            }
            Out::ok(json!({}))
        }
        ("GET user richmenu", [_, _, _, user, _]) => {
            let id = if *user == "all" { st.default_menu.clone() } else { st.links.get(*user).cloned() };
            match id {
                Some(id) => Out::ok(json!({ "richMenuId": id })),
                None => Out::err(StatusCode::NOT_FOUND, "the user has no richmenu"),
            }
        }
        ("DELETE user richmenu", [_, _, _, user, _]) => {
            if *user == "all" {
                st.default_menu = None;
            } else {
                st.links.remove(*user);
            }
            Out::ok(json!({}))
        }
        _ => Out::not_found(),
    }
}

fn hex32() -> String {
    let mut rng = rand::rng();
    (0..32).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

fn is_user_id(s: &str) -> bool {
    s.len() == 33 && s.starts_with('U') && s[1..].bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn is_push_target(s: &str) -> bool {
    s.len() == 33 && matches!(s.as_bytes()[0], b'U' | b'C' | b'R') && s[1..].bytes().all(|c| c.is_ascii_hexdigit())
}

fn sent_messages(st: &mut State, messages: &[Value]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| {
            let id = Shared::next_id(st);
            let quotable = matches!(
                m.get("type").and_then(Value::as_str),
                Some("text" | "textV2" | "image" | "sticker" | "video")
            );
            if quotable { json!({ "id": id, "quoteToken": hex32() }) } else { json!({ "id": id }) }
        })
        .collect()
}

fn hold(st: &mut State, out: Out) -> Out {
    Out { hold: st.hold_next.take(), ..out }
}

fn reply(shared: &Shared, st: &mut State, v: &Value, request_id: &str) -> Out {
    let mut p = Problems::default();
    let token = v.get("replyToken").and_then(Value::as_str).unwrap_or_default();
    validate::messages(v.get("messages"), &mut p);
    if token.is_empty() {
        return Out::invalid(vec![json!({ "message": "must be specified", "property": "replyToken" })]);
    }
    if let Err(d) = p.into_result() {
        return Out::invalid(d);
    }
    let now = shared.now();
    let lifetime = time::Duration::try_from(shared.cfg.reply_token_lifetime).unwrap_or(time::Duration::MINUTE);
    let to = match st.reply_tokens.get_mut(token) {
        Some(t) if !t.used && now - t.issued <= lifetime => {
            t.used = true;
            t.user.clone()
        }
        _ => return Out::err(StatusCode::BAD_REQUEST, "Invalid reply token"),
    };
    let messages: Vec<Value> = v.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let sent = sent_messages(st, &messages);
    st.sent.push(SentLine {
        to,
        via: Via::Reply,
        messages,
        retry_key: None,
        request_id: request_id.to_owned(),
        sent_ids: ids(&sent),
        at: now,
    });
    hold(st, Out::ok(json!({ "sentMessages": sent })))
}

fn ids(sent: &[Value]) -> Vec<String> {
    sent.iter().filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// The retry key of a push or multicast, checked: `Err` is the answer to give at once (a
/// malformed key, or one LINE already accepted within a day: 409 with the accepted request's
/// id; a push's 409 repeats its `sentMessages`, a multicast's does not).
fn retry_key_of(shared: &Shared, st: &mut State, retry_key: Option<String>, push: bool) -> Result<Option<String>, Out> {
    let now = shared.now();
    let key = match retry_key.as_deref().map(uuid::Uuid::parse_str) {
        None => None,
        Some(Ok(k)) => Some(k.hyphenated().to_string()),
        Some(Err(_)) => {
            return Err(Out::err(StatusCode::BAD_REQUEST, "The value of the X-Line-Retry-Key header is invalid"));
        }
    };
    st.retry_keys.retain(|_, a| now - a.at < time::Duration::DAY);
    if let Some(a) = key.as_ref().and_then(|k| st.retry_keys.get(k)) {
        let body = if push {
            json!({ "message": "The retry key is already accepted", "sentMessages": a.sent_messages })
        } else {
            json!({ "message": "The retry key is already accepted" })
        };
        let mut out = Out::err(StatusCode::CONFLICT, "");
        out.payload = Payload::Json(body);
        out.headers.push(("x-line-accepted-request-id", a.request_id.clone()));
        return Err(out);
    }
    Ok(key)
}

/// The retry key and the JSON body of a push or multicast, or the answer to give at once.
fn keyed_body(
    shared: &Shared,
    st: &mut State,
    v: Option<Value>,
    retry_key: Option<String>,
    push: bool,
) -> Result<(Option<String>, Value), Out> {
    let key = retry_key_of(shared, st, retry_key, push)?;
    let v = v.ok_or_else(|| Out::err(StatusCode::BAD_REQUEST, "The request body could not be parsed as JSON"))?;
    Ok((key, v))
}

fn push(shared: &Shared, st: &mut State, v: Option<Value>, retry_key: Option<String>, request_id: &str) -> Out {
    let now = shared.now();
    let (key, v) = match keyed_body(shared, st, v, retry_key, true) {
        Ok(kv) => kv,
        Err(out) => return out,
    };
    let mut p = Problems::default();
    let to = v.get("to").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !is_push_target(&to) {
        return Out::err(
            StatusCode::BAD_REQUEST,
            "The property, 'to', in the request body is invalid (line: -, column: -)",
        );
    }
    validate::messages(v.get("messages"), &mut p);
    if let Err(d) = p.into_result() {
        return Out::invalid(d);
    }
    let messages: Vec<Value> = v.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    if let Some(quota) = shared.cfg.monthly_quota
        && st.monthly_used + messages.len() as u64 > quota
    {
        return Out::err(StatusCode::TOO_MANY_REQUESTS, "You have reached your monthly limit.");
    }
    st.monthly_used += messages.len() as u64;
    let sent = sent_messages(st, &messages);
    if let Some(k) = &key {
        st.retry_keys
            .insert(k.clone(), Accepted { request_id: request_id.to_owned(), sent_messages: sent.clone(), at: now });
    }
    st.sent.push(SentLine {
        to,
        via: Via::Push,
        messages,
        retry_key: key,
        request_id: request_id.to_owned(),
        sent_ids: ids(&sent),
        at: now,
    });
    hold(st, Out::ok(json!({ "sentMessages": sent })))
}

/// `POST /v2/bot/message/multicast`: the same 1–5 messages to 1–500 user ids (no groups or
/// rooms), answered `{}`; each recipient counts against the monthly quota.
fn multicast(shared: &Shared, st: &mut State, v: Option<Value>, retry_key: Option<String>, request_id: &str) -> Out {
    let now = shared.now();
    let (key, v) = match keyed_body(shared, st, v, retry_key, false) {
        Ok(kv) => kv,
        Err(out) => return out,
    };
    let mut p = Problems::default();
    let to: Vec<String> = match v.get("to").and_then(Value::as_array) {
        None => return Out::invalid(vec![json!({ "message": "must be specified", "property": "to" })]),
        Some(list) if list.is_empty() || list.len() > 500 => {
            return Out::invalid(vec![json!({ "message": "Size must be between 1 and 500", "property": "to" })]);
        }
        Some(list) => {
            let ids: Vec<String> = list.iter().filter_map(Value::as_str).map(str::to_owned).collect();
            if ids.len() != list.len() || !ids.iter().all(|u| is_user_id(u)) {
                return Out::err(
                    StatusCode::BAD_REQUEST,
                    "The property, 'to', in the request body is invalid (line: -, column: -)",
                );
            }
            ids
        }
    };
    validate::messages(v.get("messages"), &mut p);
    if let Err(d) = p.into_result() {
        return Out::invalid(d);
    }
    let messages: Vec<Value> = v.get("messages").and_then(Value::as_array).cloned().unwrap_or_default();
    let cost = (messages.len() * to.len()) as u64;
    if let Some(quota) = shared.cfg.monthly_quota
        && st.monthly_used + cost > quota
    {
        return Out::err(StatusCode::TOO_MANY_REQUESTS, "You have reached your monthly limit.");
    }
    st.monthly_used += cost;
    if let Some(k) = &key {
        st.retry_keys.insert(k.clone(), Accepted { request_id: request_id.to_owned(), sent_messages: vec![], at: now });
    }
    st.multicast_calls += 1;
    for user in to {
        let sent = sent_messages(st, &messages);
        st.sent.push(SentLine {
            to: user,
            via: Via::Multicast,
            messages: messages.clone(),
            retry_key: key.clone(),
            request_id: request_id.to_owned(),
            sent_ids: ids(&sent),
            at: now,
        });
    }
    hold(st, Out::ok(json!({})))
}

fn upload(st: &mut State, id: &str, body: &[u8], content_type: &str) -> Out {
    let Some(menu) = st.menus.iter_mut().find(|m| m.id == id) else {
        return Out::not_found();
    };
    let ct = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if ct != "image/png" && ct != "image/jpeg" {
        return Out::err(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type: use image/png or image/jpeg");
    }
    if menu.image.is_some() {
        return Out::err(StatusCode::BAD_REQUEST, "An image has already been uploaded to the richmenu");
    }
    if body.len() > MAX_IMAGE {
        return Out::err(StatusCode::BAD_REQUEST, "The image must be 1 MB or smaller");
    }
    let Some((w, h)) = validate::image_size(body, &ct) else {
        return Out::err(StatusCode::BAD_REQUEST, "The image is not a valid PNG or JPEG");
    };
    let size = |k: &str| menu.body.pointer(&format!("/size/{k}")).and_then(Value::as_u64).unwrap_or_default();
    if u64::from(w) != size("width") || u64::from(h) != size("height") {
        return Out::err(StatusCode::BAD_REQUEST, "The image size must match the size of the rich menu");
    }
    menu.image = Some((body.to_vec(), ct));
    Out::ok(json!({}))
}

async fn control(shared: &Arc<Shared>, method: &Method, segs: &[&str], body: &[u8]) -> Out {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match (method.as_str(), segs) {
        ("POST", ["control", "inbound"]) => {
            let user = v.get("user_id").and_then(Value::as_str).unwrap_or_default();
            let text = v.get("text").and_then(Value::as_str).unwrap_or_default();
            if !is_user_id(user) || text.is_empty() {
                return Out::err(StatusCode::BAD_REQUEST, "user_id (U + 32 hex) and text are required");
            }
            match super::webhook::inbound_text(shared, user, text).await {
                Ok(id) => Out::ok(json!({ "webhookEventId": id })),
                Err(e) => Out::err(StatusCode::CONFLICT, &e.to_string()),
            }
        }
        ("POST", ["control", "webhook"]) => match v.get("url").and_then(Value::as_str) {
            Some(url) => {
                shared.lock().webhook_url = Some(url.to_owned());
                Out::ok(json!({}))
            }
            None => Out::err(StatusCode::BAD_REQUEST, "url is required"),
        },
        ("GET", ["control", "sent"]) => {
            let sent: Vec<Value> = shared
                .lock()
                .sent
                .iter()
                .map(|s| {
                    json!({ "to": s.to, "via": format!("{:?}", s.via).to_lowercase(), "messages": s.messages,
                        "retry_key": s.retry_key, "request_id": s.request_id, "at": s.at.unix_timestamp() })
                })
                .collect();
            Out::ok(json!({ "sent": sent }))
        }
        _ => Out::not_found(),
    }
}
