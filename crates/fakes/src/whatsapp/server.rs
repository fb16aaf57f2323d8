//! The HTTP face of the fake: Graph API routes under `/{version}/…`, the media host's
//! `/whatsapp_business/attachments/`, and `/control/*`, the unauthenticated steering API.

use super::graph::{Query, Reply, unknown_path};
use super::{Shared, UserMessage, hooks};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as AxumQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

type Ctx = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{version}/{id}/messages", post(send))
        .route("/{version}/{id}/message_templates", get(templates))
        .route("/{version}/{id}", get(object))
        .route("/whatsapp_business/attachments/", get(attachment))
        .route("/control/inbound", post(control_inbound))
        .route("/control/sent", get(control_sent))
        .route("/control/webhook", post(control_webhook))
        .route("/control/deliveries", get(control_deliveries))
        .fallback(unknown)
        .with_state(shared)
}

fn respond(reply: Reply) -> Response {
    (reply.status, axum::Json(reply.body)).into_response()
}

async fn send(
    State(shared): Ctx,
    Path((version, id)): Path<(String, String)>,
    AxumQuery(query): AxumQuery<Query>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut reply = shared.send(&version, &id, &headers, &query, &body);
    if let Some(accepted) = reply.accepted.take() {
        let (sent, undeliverable) = *accepted;
        hooks::schedule_statuses(&shared, &sent, undeliverable);
    }
    if !reply.hold.is_zero() {
        tokio::time::sleep(reply.hold).await;
    }
    respond(reply)
}

async fn object(
    State(shared): Ctx,
    Path((version, id)): Path<(String, String)>,
    AxumQuery(query): AxumQuery<Query>,
    headers: HeaderMap,
) -> Response {
    respond(shared.object(&version, &id, &headers, &query))
}

async fn templates(
    State(shared): Ctx,
    Path((version, id)): Path<(String, String)>,
    AxumQuery(query): AxumQuery<Query>,
    headers: HeaderMap,
) -> Response {
    respond(shared.templates(&version, &id, &headers, &query))
}

async fn attachment(State(shared): Ctx, AxumQuery(query): AxumQuery<Query>, headers: HeaderMap) -> Response {
    match shared.attachment(&headers, &query) {
        Ok((mime, bytes)) => ([(CONTENT_TYPE, mime)], bytes).into_response(),
        Err(StatusCode::UNAUTHORIZED) => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
        Err(status) => (status, "URL signature expired or unknown").into_response(),
    }
}

async fn unknown(uri: Uri) -> Response {
    respond(unknown_path(uri.path()))
}

#[derive(Deserialize)]
struct Inbound {
    from: String,
    #[serde(default)]
    name: String,
    text: String,
}

async fn control_inbound(State(shared): Ctx, body: Bytes) -> Response {
    let inbound: Inbound = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": e.to_string() }))).into_response(),
    };
    let from = inbound.from.trim_start_matches('+');
    if from.is_empty() || !from.bytes().all(|b| b.is_ascii_digit()) {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "from must be a number" }))).into_response();
    }
    let (wamid, payload) = hooks::user_message(&shared, from, &inbound.name, &UserMessage::Text(inbound.text));
    hooks::enqueue(&shared, "message", payload, Duration::ZERO, false);
    (StatusCode::CREATED, axum::Json(json!({ "wamid": wamid }))).into_response()
}

async fn control_sent(State(shared): Ctx) -> Response {
    let sent: Vec<Value> = shared
        .lock()
        .sent
        .iter()
        .map(|s| {
            json!({ "to": s.to, "type": s.kind, "wamid": s.wamid, "biz_opaque_callback_data": s.biz_opaque_callback_data,
                "at": s.at.unix_timestamp(), "summary": s.summary(), "body": s.body })
        })
        .collect();
    axum::Json(Value::Array(sent)).into_response()
}

async fn control_webhook(State(shared): Ctx, body: Bytes) -> Response {
    let url = serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["url"].as_str().map(str::to_owned));
    match url {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            shared.lock().webhook = Some(url);
            axum::Json(json!({ "ok": true })).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": "expected {\"url\": \"http…\"}" }))).into_response(),
    }
}

async fn control_deliveries(State(shared): Ctx) -> Response {
    let all: Vec<Value> = shared
        .lock()
        .deliveries
        .iter()
        .map(|d| {
            json!({ "what": d.what, "attempts": d.attempts, "last_status": d.last_status, "delivered": d.delivered,
                "finished": d.finished, "payload": d.json() })
        })
        .collect();
    axum::Json(Value::Array(all)).into_response()
}
