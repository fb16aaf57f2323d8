//! Sign-in, token refresh, sign-out, invitations and two-factor enrolment.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{AuditActor, ClientIp, CurrentUser, Json};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use bma_app::services::auth::{self, ClientInfo, Enrolment, TokenPair};
use bma_domain::access::Role;
use bma_domain::member::Password;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Required once two-factor sign-in is enabled.
    pub totp_code: Option<String>,
}

fn client(ip: ClientIp, headers: &HeaderMap) -> ClientInfo {
    ClientInfo {
        request_id: crate::error::current_request_id(),
        ip: ip.0,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
    }
}

/// Signs in with email and password (and a TOTP code when enabled).
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    if body.email.len() > 320 || body.password.len() > 1024 {
        return Err(ApiError::unauthorized("invalid_credentials", "email or password is incorrect"));
    }
    let pair =
        auth::login(&state.ctx, &body.email, &body.password, body.totp_code.as_deref(), &client(ip, &headers)).await?;
    Ok(Json(pair))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Exchanges a refresh token for a new pair; the old refresh token is spent.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), (status = 401, body = ErrorBody)))]
pub async fn refresh(State(state): State<AppState>, Json(body): Json<RefreshRequest>) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::refresh(&state.ctx, &body.refresh_token).await?))
}

/// Ends the current session; its tokens stop working at once.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    AuditActor(actor): AuditActor,
) -> ApiResult<StatusCode> {
    auth::sign_out(&state.ctx, claims.sub, claims.sid, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub mfa_enabled: bool,
    /// "full", or "mfa_setup" until an admin enrols a second factor.
    pub scope: String,
}

/// The signed-in member.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = Me)))]
pub async fn me(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> ApiResult<Json<Me>> {
    let m = bma_store::members::find(&state.ctx.db, claims.sub)
        .await?
        .ok_or_else(|| ApiError::NotFound("member".into()))?;
    Ok(Json(Me {
        id: m.id,
        email: m.email,
        name: m.name,
        role: m.role,
        mfa_enabled: m.totp_confirmed_at.is_some(),
        scope: serde_json::to_value(claims.scope).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
    }))
}

/// Starts two-factor enrolment: returns a new secret and its otpauth:// URI.
#[utoipa::path(post, path = "/api/v1/auth/mfa/enroll", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Enrolment), (status = 409, body = ErrorBody)))]
pub async fn enroll_mfa(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> ApiResult<Json<Enrolment>> {
    Ok(Json(auth::enroll_mfa(&state.ctx, claims.sub).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmMfaRequest {
    /// The six digits the authenticator app shows (spaces allowed).
    #[schema(pattern = "^\\s*[0-9]{3}\\s?[0-9]{3}\\s*$")]
    pub code: String,
}

/// Confirms enrolment with a first code and returns a full session.
#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", tag = "auth", security(("bearer" = [])), request_body = ConfirmMfaRequest,
    responses((status = 200, body = TokenPair), (status = 401, description = "The code is wrong or expired (`invalid_code`), or the token is not valid", body = ErrorBody),
        (status = 409, description = "Enrolment not started, or already complete", body = ErrorBody), (status = 422, description = "The code is not six digits", body = ErrorBody)))]
pub async fn confirm_mfa(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ip: ClientIp,
    headers: HeaderMap,
    Json(body): Json<ConfirmMfaRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(auth::confirm_mfa(&state.ctx, claims.sub, claims.sid, &body.code, &client(ip, &headers)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
    /// At least 10 characters and at most 71 bytes of UTF-8 (bcrypt's limit).
    #[schema(min_length = 10, max_length = 71)]
    pub password: String,
}

/// Sets the password of an invited member from the one-time link.
///
/// A rule the body's schema cannot state (`maxLength` counts characters): the password is at
/// most 71 bytes of UTF-8, bcrypt's limit, so 71 characters of ASCII but fewer of other scripts;
/// otherwise a 422 names `password`.
#[utoipa::path(post, path = "/api/v1/auth/accept-invitation", tag = "auth", request_body = AcceptInvitationRequest,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ip: ClientIp,
    Json(body): Json<AcceptInvitationRequest>,
) -> ApiResult<StatusCode> {
    let password = Password::parse(&body.password)?;
    bma_app::services::team::accept_invitation(&state.ctx, &body.token, &password, ip.0).await?;
    Ok(StatusCode::NO_CONTENT)
}
