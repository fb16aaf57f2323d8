//! The team: list, invite, edit, deactivate.

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AuditActor, Id, Json};
use axum::extract::State;
use axum::http::StatusCode;
use bma_app::services::team::{self, MemberChanges};
use bma_domain::Invalid;
use bma_domain::access::Role;
use bma_domain::member::{Email, PersonName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub mfa_enabled: bool,
    /// False until the member has accepted the invitation.
    pub has_password: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

impl From<bma_store::members::Member> for MemberView {
    fn from(m: bma_store::members::Member) -> Self {
        Self {
            id: m.id,
            email: m.email,
            name: m.name,
            role: m.role,
            active: m.active,
            mfa_enabled: m.totp_confirmed_at.is_some(),
            has_password: m.password_hash.is_some(),
            created_at: m.created_at,
        }
    }
}

/// Every member of the team.
#[utoipa::path(get, path = "/api/v1/team/members", tag = "team", security(("bearer" = [])), responses((status = 200, body = Vec<MemberView>)))]
pub async fn list_members(State(state): State<AppState>) -> ApiResult<Json<Vec<MemberView>>> {
    let members = bma_store::members::list(&state.ctx.db).await?;
    Ok(Json(members.into_iter().map(MemberView::from).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub name: String,
    /// admin, manager or viewer.
    pub role: String,
}

/// Invites a member: they receive an email with a one-time link to set their password.
#[utoipa::path(post, path = "/api/v1/team/members", tag = "team", security(("bearer" = [])), request_body = InviteRequest,
    responses((status = 201, body = MemberView), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn invite_member(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Json(body): Json<InviteRequest>,
) -> ApiResult<(StatusCode, Json<MemberView>)> {
    let mut inv = Invalid::default();
    let email = inv.check("email", Email::parse(&body.email));
    let name = inv.check("name", PersonName::parse(&body.name));
    let role = inv.check("role", Role::parse(&body.role));
    inv.into_result()?;
    let (Some(email), Some(name), Some(role)) = (email, name, role) else {
        return Err(Invalid::one("body", "incomplete").into());
    };
    let invitation = team::invite(&state.ctx, &actor, email, name, role).await?;
    Ok((StatusCode::CREATED, Json(invitation.member.into())))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemberRequest {
    pub name: Option<String>,
    pub role: Option<String>,
    /// false deactivates: sign-in is blocked and every session ends at once.
    pub active: Option<bool>,
}

/// Edits a member's name or role, or (de)activates them.
#[utoipa::path(patch, path = "/api/v1/team/members/{id}", tag = "team", security(("bearer" = [])), request_body = UpdateMemberRequest,
    params(("id" = Uuid, Path)), responses((status = 200, body = MemberView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_member(
    State(state): State<AppState>,
    AuditActor(actor): AuditActor,
    Id(id): Id,
    Json(body): Json<UpdateMemberRequest>,
) -> ApiResult<Json<MemberView>> {
    let mut inv = Invalid::default();
    let name = body.name.as_deref().and_then(|n| inv.check("name", PersonName::parse(n)));
    let role = body.role.as_deref().and_then(|r| inv.check("role", Role::parse(r)));
    inv.into_result()?;
    let m = team::update(&state.ctx, &actor, id, MemberChanges { name, role, active: body.active }).await?;
    Ok(Json(m.into()))
}
