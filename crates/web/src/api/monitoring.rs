//! Monitoring and remote control of zones: check a zone now, read its history, and drive its
//! player (volume 0–16, play, pause, skip, playlist or schedule).

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::extract::State;
use bma_app::services::control::{self, Action, CheckResult, ControlResult};
use bma_domain::Invalid;
use bma_domain::music::Volume;
use bma_store::monitoring::Sample;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Checks the zone with Soundtrack now and records the sample.
#[utoipa::path(post, path = "/api/v1/monitoring/zones/{id}/check", tag = "monitoring", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = CheckResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn check_zone(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<CheckResult>> {
    Ok(Json(control::check(&state.ctx, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct HistoryQuery {
    /// RFC 3339; default 24 hours ago.
    pub since: Option<String>,
    /// RFC 3339; default now.
    pub until: Option<String>,
    /// At most this many samples, newest first (1–5000, default 500).
    pub limit: Option<i64>,
}

/// The zone's checks and transitions over a range, newest first.
#[utoipa::path(get, path = "/api/v1/monitoring/zones/{id}/history", tag = "monitoring", security(("bearer" = [])), params(("id" = Uuid, Path), HistoryQuery),
    responses((status = 200, body = Vec<Sample>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn zone_history(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<Sample>>> {
    let mut inv = Invalid::default();
    let mut time_of = |field: &str, v: Option<&str>, default: OffsetDateTime| match v {
        None => Some(default),
        Some(v) => OffsetDateTime::parse(v, &Rfc3339).map_err(|_| inv.push(field, "must be an RFC 3339 time")).ok(),
    };
    let now = OffsetDateTime::now_utc();
    let since = time_of("since", q.since.as_deref(), now - time::Duration::days(1));
    let until = time_of("until", q.until.as_deref(), now);
    let limit = q.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        inv.push("limit", "must be between 1 and 5000");
    }
    let (Some(since), Some(until)) = (since, until) else {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: "invalid query parameters".into(),
            fields: inv.0,
        });
    };
    if !inv.is_empty() {
        return Err(ApiError::BadRequest {
            code: "invalid_query",
            message: "invalid query parameters".into(),
            fields: inv.0,
        });
    }
    bma_store::venues::find_zone(&state.ctx.db, id).await?.ok_or_else(|| ApiError::NotFound("zone".into()))?;
    Ok(Json(bma_store::monitoring::history(&state.ctx.db, id, since, until, limit).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VolumeRequest {
    /// 0 (mute) to 16.
    pub volume: i64,
}

/// Sets the zone's volume (0–16).
#[utoipa::path(post, path = "/api/v1/zones/{id}/volume", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = VolumeRequest,
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_volume(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(b): Json<VolumeRequest>,
) -> ApiResult<Json<ControlResult>> {
    let v = Volume::new(b.volume)?;
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Volume(v)).await?))
}

/// Starts playback.
#[utoipa::path(post, path = "/api/v1/zones/{id}/play", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn play(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Play).await?))
}

/// Pauses playback.
#[utoipa::path(post, path = "/api/v1/zones/{id}/pause", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Pause).await?))
}

/// Skips to the next track.
#[utoipa::path(post, path = "/api/v1/zones/{id}/skip", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn skip(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<ControlResult>> {
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Skip).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SourceRequest {
    /// The Soundtrack id of a playlist or schedule.
    pub source_id: String,
}

/// Plays a playlist or schedule in the zone.
#[utoipa::path(post, path = "/api/v1/zones/{id}/playlist", tag = "control", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = SourceRequest,
    responses((status = 200, body = ControlResult), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn assign_source(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(b): Json<SourceRequest>,
) -> ApiResult<Json<ControlResult>> {
    let source = bma_domain::venue::SoundtrackId::parse(&b.source_id)
        .map_err(|_| Invalid::one("source_id", "must be a Soundtrack playlist or schedule id"))?;
    Ok(Json(control::control(&state.ctx, &actor, id, Action::Source(source.as_str().to_owned())).await?))
}
