//! Sound zones addressed by their own id.

use super::venues::{DeleteResult, ZoneInput, parse_zone};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json};
use axum::extract::State;
use bma_app::services::venues as svc;
use bma_store::venues::Zone;

/// One zone.
#[utoipa::path(get, path = "/api/v1/zones/{id}", tag = "zones", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Zone), (status = 404, body = ErrorBody)))]
pub async fn get_zone(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Zone>> {
    bma_store::venues::find_zone(&state.ctx.db, id).await?.map(Json).ok_or_else(|| ApiError::NotFound("zone".into()))
}

/// Replaces a zone's name, type and Soundtrack zone id.
#[utoipa::path(put, path = "/api/v1/zones/{id}", tag = "zones", security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = ZoneInput,
    responses((status = 200, body = Zone), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_zone(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<ZoneInput>,
) -> ApiResult<Json<Zone>> {
    let draft = parse_zone(&body)?;
    Ok(Json(svc::update_zone(&state.ctx, &actor, id, draft).await?))
}

/// Deletes a zone, or archives it when alerts or status logs refer to it.
#[utoipa::path(delete, path = "/api/v1/zones/{id}", tag = "zones", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = DeleteResult), (status = 404, body = ErrorBody)))]
pub async fn delete_zone(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<DeleteResult>> {
    let outcome = svc::delete_zone(&state.ctx, &actor, id).await?;
    Ok(Json(DeleteResult { id, outcome }))
}
