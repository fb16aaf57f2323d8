//! Campaigns: the specification's endpoints (list, create, read, change, send, analytics) plus
//! the audience before sending, a preview for one venue, the recipients, pause, resume, cancel
//! and duplicate; the funnel compared across campaigns; the public one-click unsubscribe of
//! campaign emails.

use super::{Page, Pagination};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json, Query};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bma_app::campaigns::send::{self, SendReport};
use bma_app::campaigns::unsubscribe::{self, Unsubscribe};
use bma_app::campaigns::{self as svc, Analytics, AnalyticsAcross, AudiencePreview, CampaignInput, Rendered, TestSend};
use bma_domain::Invalid;
use bma_domain::campaign::{CampaignAction, CampaignStatus};
use bma_domain::page::PageRequest;
use bma_store::campaigns::{Campaign, Recipient};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// 1-based page number (default 1).
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    /// Items per page, 1 to 200 (default 50).
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
    /// draft, scheduled, sending, paused, sent, cancelled or failed.
    #[param(value_type = Option<bma_domain::campaign::CampaignStatus>)]
    pub status: Option<String>,
}

/// Campaigns, newest first.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page<Campaign>), (status = 400, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, Query(q): Query<ListQuery>) -> ApiResult<Json<Page<Campaign>>> {
    let mut inv = Invalid::default();
    let page = inv.absorb(PageRequest::new(q.page, q.per_page));
    let status = q.status.as_deref().and_then(|s| {
        let parsed = CampaignStatus::parse(s);
        if parsed.is_none() {
            inv.push("status", "must be one of draft, scheduled, sending, paused, sent, cancelled, failed");
        }
        parsed
    });
    let Some(page) = page.filter(|_| inv.is_empty()) else {
        return Err(ApiError::invalid_query(inv.0));
    };
    let (data, total) = svc::list(&state.ctx, status, page.limit(), page.offset()).await?;
    Ok(Json(Page { data, pagination: Pagination::new(page, total) }))
}

/// Creates a campaign: a draft, or scheduled when `scheduled_at` is given. Variables and the
/// WhatsApp template are checked now.
///
/// Rules the body's schema cannot state (each refused with a 422 naming the field): give
/// `target_venues` or `audience_filter`, not both and not neither; every venue in
/// `target_venues` exists and is not archived; every `{{variable}}` of `message_template` and of
/// the template's `params` is a known one and is closed; a campaign that may go out on WhatsApp
/// (`channel` whatsapp or preferred, or whatsapp in `channel_fallback`) needs a
/// `whatsapp_template` that the WhatsApp account has approved; `scheduled_at` is in the future,
/// `send_at_local` has not yet come in any time zone, and not both are given; `quiet_hours`
/// starts and ends at different times.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", security(("bearer" = [])), request_body = CampaignInput,
    responses((status = 201, body = Campaign), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(body): Json<CampaignInput>,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    Ok((StatusCode::CREATED, Json(svc::create(&state.ctx, &actor, &body).await?)))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody)))]
pub async fn get(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Campaign>> {
    Ok(Json(svc::get(&state.ctx, id).await?))
}

/// Replaces a draft or scheduled campaign; once sending has started it is read-only (409). The
/// body follows the rules of `POST /api/v1/campaigns` (a 422 naming the field otherwise).
#[utoipa::path(put, path = "/api/v1/campaigns/{id}", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CampaignInput,
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<CampaignInput>,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(svc::update(&state.ctx, &actor, id, &body).await?))
}

/// Sends now: writes the recipients down and queues their messages. A campaign already sent
/// or sending is refused (409) and nothing is sent; an audience nobody in can be reached is
/// refused (422) with each venue's reason.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/send", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 202, body = SendReport), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<(StatusCode, Json<SendReport>)> {
    Ok((StatusCode::ACCEPTED, Json(send::start(&state.ctx, &actor, id).await?)))
}

/// Stops queueing further messages of a sending campaign (those already queued go out).
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/pause", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(svc::change(&state.ctx, &actor, id, CampaignAction::Pause).await?))
}

/// Carries on sending a paused campaign from its next recipient.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/resume", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(svc::change(&state.ctx, &actor, id, CampaignAction::Resume).await?))
}

/// Cancels a campaign; recipients not yet handed to a channel are skipped.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/cancel", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<Json<Campaign>> {
    Ok(Json(svc::change(&state.ctx, &actor, id, CampaignAction::Cancel).await?))
}

/// A new draft with the same content and audience.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/duplicate", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 201, body = Campaign), (status = 404, body = ErrorBody)))]
pub async fn duplicate(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
) -> ApiResult<(StatusCode, Json<Campaign>)> {
    Ok((StatusCode::CREATED, Json(svc::duplicate(&state.ctx, &actor, id).await?)))
}

/// Who the campaign would reach if sent now: counts, venues nobody can be reached at, a sample.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/audience", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = AudiencePreview), (status = 404, body = ErrorBody)))]
pub async fn audience(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<AudiencePreview>> {
    Ok(Json(svc::audience(&state.ctx, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PreviewQuery {
    /// The venue to render the message for.
    pub venue_id: Uuid,
}

/// The message as one venue's contact would read it.
///
/// A rule against the data, which the query's schema cannot state: `venue_id` names a venue that
/// exists and is not archived; otherwise a 422 names `venue_id`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/preview", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path), PreviewQuery),
    responses((status = 200, body = Rendered), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<PreviewQuery>,
) -> ApiResult<Json<Rendered>> {
    Ok(Json(svc::preview(&state.ctx, id, q.venue_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSendInput {
    /// The venue to render the message for.
    pub venue_id: Uuid,
}

/// Sends the message, rendered for one venue, to the caller's own email address; no venue
/// receives anything.
///
/// A rule against the data, which the body's schema cannot state: `venue_id` names a venue that
/// exists and is not archived; otherwise a 422 names `venue_id`.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/test", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = TestSendInput,
    responses((status = 202, body = TestSend), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn test_send(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<TestSendInput>,
) -> ApiResult<(StatusCode, Json<TestSend>)> {
    Ok((StatusCode::ACCEPTED, Json(svc::test_send(&state.ctx, &actor, id, body.venue_id).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    #[param(schema_with = crate::api::schema::page)]
    pub page: Option<u32>,
    #[param(schema_with = crate::api::schema::per_page)]
    pub per_page: Option<u32>,
}

/// The recipients with their funnel stage.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/recipients", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageQuery),
    responses((status = 200, body = Vec<Recipient>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn recipients(
    State(state): State<AppState>,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Vec<Recipient>>> {
    let page = PageRequest::new(q.page, q.per_page).map_err(|e| ApiError::invalid_query(e.0))?;
    Ok(Json(svc::recipients(&state.ctx, id, page.limit(), page.offset()).await?))
}

/// The funnel: recipients by stage (queued, sent, delivered, read, replied, failed, opted out,
/// skipped), by channel, and the rates among those handed to a channel.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/analytics", tag = "campaigns", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = Analytics), (status = 404, body = ErrorBody)))]
pub async fn analytics(State(state): State<AppState>, Id(id): Id) -> ApiResult<Json<Analytics>> {
    Ok(Json(svc::analytics(&state.ctx, id).await?))
}

/// Every recipient with its funnel stage, as CSV.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}/recipients.csv", tag = "campaigns", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = String, content_type = "text/csv"), (status = 404, body = ErrorBody)))]
pub async fn recipients_csv(State(state): State<AppState>, Id(id): Id) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let body = svc::recipients_csv(&state.ctx, id).await?;
    let disposition = format!("attachment; filename=\"campaign-{id}.csv\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct AcrossQuery {
    /// template, country, brand or channel.
    #[param(value_type = CampaignGroup, inline)]
    pub group: String,
}

/// How campaigns are compared (the parameter's values; the handler reads the text).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum CampaignGroup {
    Template,
    Country,
    Brand,
    Channel,
}

/// Every campaign's recipients compared by WhatsApp template, venue country, venue brand or
/// channel: counts by funnel stage and their rates.
#[utoipa::path(get, path = "/api/v1/campaigns/analytics", tag = "campaigns", security(("bearer" = [])), params(AcrossQuery),
    responses((status = 200, body = AnalyticsAcross), (status = 400, body = ErrorBody)))]
pub async fn analytics_across(
    State(state): State<AppState>,
    Query(q): Query<AcrossQuery>,
) -> ApiResult<Json<AnalyticsAcross>> {
    use bma_store::campaigns::Breakdown;
    let group = match q.group.as_str() {
        "template" => Breakdown::Template,
        "country" => Breakdown::Country,
        "brand" => Breakdown::Brand,
        "channel" => Breakdown::Channel,
        _ => {
            let mut inv = Invalid::default();
            inv.push("group", "must be one of template, country, brand, channel");
            return Err(ApiError::invalid_query(inv.0));
        }
    };
    Ok(Json(svc::analytics_across(&state.ctx, group).await?))
}

/// What the unsubscribe link of a campaign email would do; changes nothing (mail scanners
/// follow links). Public: the signed token is the credential.
#[utoipa::path(get, path = "/api/v1/unsubscribe/{token}", tag = "campaigns", params(("token" = String, Path)),
    responses((status = 200, body = Unsubscribe), (status = 404, body = ErrorBody, description = "A forged or damaged token: no such link")))]
pub async fn unsubscribe_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<Unsubscribe>> {
    Ok(Json(unsubscribe::peek(&state.ctx, &token)?))
}

/// The one-click unsubscribe of RFC 8058 (`List-Unsubscribe=One-Click` in a form body, or any
/// body): sets the contact's opt-out for the kind of campaign the token names; later campaigns
/// of that kind skip them. A forged or damaged token is refused and nothing changes.
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "campaigns", params(("token" = String, Path)),
    responses((status = 200, body = Unsubscribe), (status = 404, body = ErrorBody, description = "A forged or damaged token: no such link")))]
pub async fn unsubscribe(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<Unsubscribe>> {
    Ok(Json(unsubscribe::confirm(&state.ctx, &token).await?))
}
