//! The channels' webhooks. Each checks the provider's signature over the raw bytes in constant
//! time, parses the whole batch, stores it durably (with the jobs it causes) and only then
//! answers 200; a bad signature stores nothing. Served at `/api/v1/webhooks/...` and, as the
//! specification asks, at `/webhooks/...`.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bma_app::messaging::email_inbound;
use bma_app::messaging::inbound::{self, IngestReport};
use bma_domain::contact::Channel;
use bma_domain::messaging::InboundItem;
use bma_integrations::{line, nul, whatsapp};
use serde::Deserialize;

/// A channel this server has no secret for has no webhook: 404, not a server error.
fn not_configured(what: &'static str) -> ApiError {
    ApiError::ChannelNotConfigured(what)
}

fn bad_signature() -> ApiError {
    ApiError::unauthorized("invalid_signature", "the webhook signature does not match")
}

fn malformed(channel: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(channel, error = %e, "malformed webhook payload");
    ApiError::bad_request("malformed_payload", format!("the payload could not be read: {e}"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct Subscription {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Meta's subscription handshake: echoes `hub.challenge` when the verify token matches.
#[utoipa::path(get, path = "/api/v1/webhooks/whatsapp", tag = "webhooks", params(Subscription),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn whatsapp_verify(State(state): State<AppState>, Query(q): Query<Subscription>) -> ApiResult<Response> {
    let token = state.ctx.config.whatsapp_verify_token.as_ref().ok_or_else(|| not_configured("WhatsApp"))?;
    match whatsapp::verify_subscription(
        q.mode.as_deref(),
        q.verify_token.as_deref(),
        q.challenge.as_deref(),
        token.expose(),
    ) {
        Some(challenge) => Ok((StatusCode::OK, challenge).into_response()),
        None => Err(ApiError::Forbidden("the verify token does not match".into())),
    }
}

/// WhatsApp Cloud API events: messages of every type and delivery statuses.
#[utoipa::path(post, path = "/api/v1/webhooks/whatsapp", tag = "webhooks", request_body(content = Object),
    responses((status = 200, body = IngestReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn whatsapp_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IngestReport>> {
    let secret = state.ctx.config.whatsapp_app_secret.as_ref().ok_or_else(|| not_configured("WhatsApp"))?;
    if !whatsapp::verify_signature(secret.expose(), header(&headers, "x-hub-signature-256"), &body) {
        return Err(bad_signature());
    }
    let items = whatsapp::parse_webhook(&nul::strip(&body)).map_err(|e| malformed("whatsapp", e))?;
    Ok(Json(inbound::ingest(&state.ctx, Channel::Whatsapp, items).await?))
}

/// LINE Messaging API events: messages, follow, unfollow and postbacks (rich menu, quick replies).
#[utoipa::path(post, path = "/api/v1/webhooks/line", tag = "webhooks", request_body(content = Object),
    responses((status = 200, body = IngestReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn line_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IngestReport>> {
    let secret = state.ctx.config.line_channel_secret.as_ref().ok_or_else(|| not_configured("LINE"))?;
    if !line::verify_signature(secret.expose(), header(&headers, "x-line-signature"), &body) {
        return Err(bad_signature());
    }
    let items = line::parse_webhook(&nul::strip(&body)).map_err(|e| malformed("line", e))?;
    Ok(Json(inbound::ingest(&state.ctx, Channel::Line, items).await?))
}

/// Inbound email, posted by the mail provider in Postmark's inbound JSON shape. Authenticated
/// with HTTP Basic credentials whose password is WEBHOOK_SECRET.
#[utoipa::path(post, path = "/api/v1/webhooks/email", tag = "webhooks", request_body(content = Object),
    responses((status = 200, body = IngestReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn email_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<IngestReport>> {
    let secret = state.ctx.config.webhook_secret.as_ref().ok_or_else(|| not_configured("Inbound email"))?;
    let password = header(&headers, "authorization")
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_owned()));
    let ok = password
        .is_some_and(|p| bma_integrations::signature::constant_time_eq(p.as_bytes(), secret.expose().as_bytes()));
    if !ok {
        return Err(bad_signature());
    }
    let message = email_inbound::parse(&nul::strip(&body)).map_err(|e| malformed("email", e))?;
    Ok(Json(inbound::ingest(&state.ctx, Channel::Email, vec![InboundItem::Message(message)]).await?))
}

/// The specification's paths, `/webhooks/whatsapp` and `/webhooks/line`, answer exactly as the
/// `/api/v1` ones.
pub fn legacy_routes() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/webhooks/whatsapp", get(whatsapp_verify).post(whatsapp_events))
        .route("/webhooks/line", post(line_events))
}
