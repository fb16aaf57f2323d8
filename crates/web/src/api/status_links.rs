//! Public status links (admins only): list, make one for a brand or a venue (its URL is in that
//! answer and nowhere else), and revoke one for good.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json};
use axum::extract::State;
use axum::http::StatusCode;
use bma_app::services::status_links as svc;
use bma_domain::Invalid;
use bma_domain::status_link::{LinkLabel, ScopeKind, StatusScope};
use bma_store::status_links::StatusLink;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A status link as the team sees it; its token is never part of it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StatusLinkView {
    pub id: Uuid,
    /// What the link covers: one brand, or one venue.
    pub kind: ScopeKind,
    /// The brand, when `kind` is brand.
    pub brand: Option<String>,
    /// The venue, when `kind` is venue.
    pub venue_id: Option<Uuid>,
    pub venue_name: Option<String>,
    /// The team's note of whom the link is for; not shown on the public page.
    pub label: Option<String>,
    /// The member who made it (null once they are deleted).
    pub created_by: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// When it was revoked; a revoked link's page answers 404 for good.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
}

impl From<StatusLink> for StatusLinkView {
    fn from(l: StatusLink) -> Self {
        let (brand, venue_id) = match l.scope {
            StatusScope::Brand(ref b) => (Some(b.as_str().to_owned()), None),
            StatusScope::Venue(v) => (None, Some(v)),
        };
        Self {
            id: l.id,
            kind: l.scope.kind(),
            brand,
            venue_id,
            venue_name: l.venue_name,
            label: l.label,
            created_by: l.created_by,
            created_at: l.created_at,
            revoked_at: l.revoked_at,
        }
    }
}

/// A new link with its full URL, shown in this answer only (only a hash of its token is kept).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedStatusLink {
    #[serde(flatten)]
    pub link: StatusLinkView,
    /// `PUBLIC_URL` + `/status/` + a token of 256 random bits.
    pub url: String,
}

/// Exactly one of `brand` and `venue_id`, and an optional label.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusLinkRequest {
    /// A brand that at least one venue (not archived) has, exactly as written on the venues.
    #[schema(example = "Lotus Grand")]
    pub brand: Option<String>,
    /// A venue that is not archived.
    pub venue_id: Option<Uuid>,
    /// Whom the link is for, 1–100 characters; for the team only.
    #[schema(min_length = 1, max_length = 100)]
    pub label: Option<String>,
}

/// Every status link, newest first (at most 500), revoked ones included; never a token.
#[utoipa::path(get, path = "/api/v1/status-links", tag = "status-links", security(("bearer" = [])),
    responses((status = 200, body = Vec<StatusLinkView>)))]
pub async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<StatusLinkView>>> {
    let links = svc::list(&state.ctx).await?;
    Ok(Json(links.into_iter().map(StatusLinkView::from).collect()))
}

/// Makes a public status link for a brand or a venue. The answer's `url` is the only time the
/// link is shown; to share again after losing it, revoke it and make a new one. A body with both
/// or neither of `brand` and `venue_id`, a brand no live venue has, or a venue unknown or
/// archived is refused with 422 naming the field, and nothing is written.
#[utoipa::path(post, path = "/api/v1/status-links", tag = "status-links", security(("bearer" = [])),
    request_body = StatusLinkRequest,
    responses((status = 201, body = CreatedStatusLink), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(body): Json<StatusLinkRequest>,
) -> ApiResult<(StatusCode, Json<CreatedStatusLink>)> {
    let mut inv = Invalid::default();
    let scope = inv.absorb(StatusScope::parse(body.brand.as_deref(), body.venue_id));
    let label = body.label.as_deref().and_then(|l| inv.check("label", LinkLabel::parse(l)));
    inv.into_result()?;
    let Some(scope) = scope else { return Err(Invalid::one("brand", "give a brand or a venue_id").into()) };
    let created = svc::create(&state.ctx, &actor, scope, label).await?;
    Ok((StatusCode::CREATED, Json(CreatedStatusLink { link: created.link.into(), url: created.url })))
}

/// Revokes a link for good: its page answers 404 from now on, like a link that never existed.
#[utoipa::path(delete, path = "/api/v1/status-links/{id}", tag = "status-links", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204, description = "Revoked (or revoked already)."), (status = 404, body = ErrorBody)))]
pub async fn revoke(State(state): State<AppState>, AuditActor(actor): AuditActor, Id(id): Id) -> ApiResult<StatusCode> {
    svc::revoke(&state.ctx, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
