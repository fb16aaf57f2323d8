//! Administration: the audit log and the dead-letter list of background jobs.

use super::{Page, Pagination};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::extract::State;
use bma_domain::page::PageRequest;
use bma_store::audit::{self, Filter};
use bma_store::jobs::{self, Job, QueueStats};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
    pub actor_id: Option<Uuid>,
    /// Such as venue.create, member.update.
    pub action: Option<String>,
    /// Such as venue, zone, team_member.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// RFC 3339 time; entries at or after it.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// RFC 3339 time; entries before it.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
}

fn time_param(inv: &mut bma_domain::Invalid, field: &str, v: Option<&str>) -> Option<OffsetDateTime> {
    let v = v?;
    match OffsetDateTime::parse(v, &Rfc3339) {
        Ok(t) => Some(t),
        Err(_) => {
            inv.push(field, "must be an RFC 3339 time such as 2026-11-26T00:00:00Z");
            None
        }
    }
}

/// The audit log, newest first, with filters.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Page<audit::Row>), (status = 400, body = ErrorBody)))]
pub async fn list_audit(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Page<audit::Row>>> {
    let mut inv = bma_domain::Invalid::default();
    let page = inv.absorb(PageRequest::new(q.page, q.per_page));
    let since = time_param(&mut inv, "since", q.since.as_deref());
    let until = time_param(&mut inv, "until", q.until.as_deref());
    let Some(page) = page.filter(|_| inv.is_empty()) else {
        return Err(ApiError::invalid_query(inv.0));
    };
    let filter = Filter {
        actor_id: q.actor_id,
        action: q.action,
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        since,
        until,
    };
    let (data, total) = audit::list(&state.ctx.db, &filter, page.limit(), page.offset()).await?;
    Ok(Json(Page { data, pagination: Pagination::new(page, total) }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct JobsQuery {
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeadJobs {
    pub stats: QueueStats,
    /// Jobs that used up their attempts, newest first.
    pub dead: Vec<Job>,
}

/// Queue counts and the dead-letter list.
#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", security(("bearer" = [])), params(JobsQuery),
    responses((status = 200, body = DeadJobs)))]
pub async fn list_jobs(State(state): State<AppState>, Query(q): Query<JobsQuery>) -> ApiResult<Json<DeadJobs>> {
    let page = PageRequest::new(q.page, q.per_page).map_err(|i| ApiError::invalid_query(i.0))?;
    let stats = jobs::stats(&state.ctx.db).await?;
    let dead = jobs::list_dead(&state.ctx.db, page.limit(), page.offset()).await?;
    Ok(Json(DeadJobs { stats, dead }))
}

/// Gives a dead job a fresh set of attempts.
#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/requeue", tag = "admin", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Job), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn requeue_job(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Job>> {
    Ok(Json(bma_app::services::jobs_admin::requeue(&state.ctx, &actor, id).await?))
}
