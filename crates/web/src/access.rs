//! Access control in one place: every API route and what it asks of the caller. The middleware
//! below enforces the table on every request; a route with no rule is refused, and a test walks
//! the router to prove every route has one.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{CurrentUser, client_ip};
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use bma_app::security::jwt::{Scope, TokenError};
use bma_domain::access::Permission::{self, *};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A signed-in member whose role grants `permission`. `mfa_setup` routes are also open to an
    /// admin who signed in but has yet to enrol a second factor.
    Member { permission: Permission, mfa_setup: bool },
}

const fn member(permission: Permission) -> Access {
    Access::Member { permission, mfa_setup: false }
}

const SETUP: Access = Access::Member { permission: Authenticated, mfa_setup: true };

/// The access table: (method, route as registered, access).
pub const RULES: &[(&str, &str, Access)] = &[
    ("GET", "/livez", Access::Public),
    ("GET", "/health", Access::Public),
    ("GET", "/metrics", Access::Public),
    ("POST", "/api/v1/auth/login", Access::Public),
    ("POST", "/api/v1/auth/refresh", Access::Public),
    ("POST", "/api/v1/auth/accept-invitation", Access::Public),
    ("POST", "/api/v1/auth/logout", SETUP),
    ("GET", "/api/v1/auth/me", SETUP),
    ("POST", "/api/v1/auth/mfa/enroll", SETUP),
    ("POST", "/api/v1/auth/mfa/confirm", SETUP),
    ("GET", "/api/v1/team/members", member(TeamRead)),
    ("POST", "/api/v1/team/members", member(TeamManage)),
    ("PATCH", "/api/v1/team/members/{id}", member(TeamManage)),
    ("GET", "/api/v1/venues", member(VenuesRead)),
    ("POST", "/api/v1/venues", member(VenuesWrite)),
    ("POST", "/api/v1/venues/import", member(VenuesWrite)),
    ("GET", "/api/v1/venues/{id}", member(VenuesRead)),
    ("PUT", "/api/v1/venues/{id}", member(VenuesWrite)),
    ("DELETE", "/api/v1/venues/{id}", member(VenuesWrite)),
    ("GET", "/api/v1/venues/{id}/zones", member(VenuesRead)),
    ("POST", "/api/v1/venues/{id}/zones", member(VenuesWrite)),
    ("GET", "/api/v1/venues/{id}/contacts", member(VenuesRead)),
    ("POST", "/api/v1/venues/{id}/contacts", member(VenuesWrite)),
    ("GET", "/api/v1/venues/{id}/satisfaction", member(VenuesRead)),
    ("PUT", "/api/v1/venues/{id}/location", member(VenuesWrite)),
    ("GET", "/api/v1/zones/{id}", member(VenuesRead)),
    ("PUT", "/api/v1/zones/{id}", member(VenuesWrite)),
    ("DELETE", "/api/v1/zones/{id}", member(VenuesWrite)),
    ("GET", "/api/v1/monitoring/status", member(MonitoringRead)),
    ("GET", "/api/v1/monitoring/alerts", member(MonitoringRead)),
    ("POST", "/api/v1/monitoring/alerts/{id}/resolve", member(MonitoringControl)),
    ("POST", "/api/v1/monitoring/maintenance", member(MonitoringControl)),
    ("GET", "/api/v1/analytics/uptime", member(AnalyticsRead)),
    ("POST", "/api/v1/monitoring/zones/{id}/check", member(MonitoringControl)),
    ("GET", "/api/v1/monitoring/zones/{id}/history", member(MonitoringRead)),
    ("POST", "/api/v1/zones/{id}/volume", member(MonitoringControl)),
    ("POST", "/api/v1/zones/{id}/play", member(MonitoringControl)),
    ("POST", "/api/v1/zones/{id}/pause", member(MonitoringControl)),
    ("POST", "/api/v1/zones/{id}/skip", member(MonitoringControl)),
    ("POST", "/api/v1/zones/{id}/playlist", member(MonitoringControl)),
    ("GET", "/api/v1/audit-log", member(AuditRead)),
    ("GET", "/api/v1/admin/jobs", member(JobsManage)),
    ("GET", "/api/v1/webhooks/whatsapp", Access::Public),
    ("POST", "/api/v1/webhooks/whatsapp", Access::Public),
    ("POST", "/api/v1/webhooks/line", Access::Public),
    ("POST", "/api/v1/webhooks/email", Access::Public),
    ("GET", "/api/v1/conversations", member(ConversationsRead)),
    ("GET", "/api/v1/conversations/{id}", member(ConversationsRead)),
    ("POST", "/api/v1/conversations/{id}/messages", member(ConversationsWrite)),
    ("POST", "/api/v1/conversations/{id}/assign", member(ConversationsWrite)),
    ("POST", "/api/v1/conversations/{id}/close", member(ConversationsWrite)),
    ("POST", "/api/v1/conversations/{id}/snooze", member(ConversationsWrite)),
    ("POST", "/api/v1/conversations/{id}/link", member(ConversationsWrite)),
    ("POST", "/api/v1/conversations/{id}/bot", member(ConversationsWrite)),
    ("GET", "/api/v1/messages/{id}/media", member(ConversationsRead)),
    ("GET", "/api/v1/messaging/templates", member(ConversationsRead)),
    ("GET", "/api/v1/analytics/satisfaction", member(AnalyticsRead)),
    ("GET", "/api/v1/playlists", member(VenuesRead)),
    ("GET", "/api/v1/events", member(MonitoringRead)),
    ("POST", "/api/v1/playlists", member(MonitoringControl)),
    ("GET", "/api/v1/analytics/conversations", member(AnalyticsRead)),
    ("GET", "/api/v1/analytics/dashboard", member(AnalyticsRead)),
    ("POST", "/api/v1/admin/jobs/{id}/requeue", member(JobsManage)),
    ("GET", "/api/v1/campaigns", member(CampaignsRead)),
    ("POST", "/api/v1/campaigns", member(CampaignsWrite)),
    ("GET", "/api/v1/campaigns/{id}", member(CampaignsRead)),
    ("PUT", "/api/v1/campaigns/{id}", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/send", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/pause", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/resume", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/cancel", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/duplicate", member(CampaignsWrite)),
    ("POST", "/api/v1/campaigns/{id}/test", member(CampaignsWrite)),
    ("GET", "/api/v1/campaigns/{id}/audience", member(CampaignsRead)),
    ("GET", "/api/v1/campaigns/{id}/preview", member(CampaignsRead)),
    ("GET", "/api/v1/campaigns/{id}/recipients", member(CampaignsRead)),
    ("GET", "/api/v1/campaigns/{id}/recipients.csv", member(CampaignsRead)),
    ("GET", "/api/v1/campaigns/{id}/analytics", member(CampaignsRead)),
    ("GET", "/api/v1/campaigns/analytics", member(CampaignsRead)),
    ("GET", "/api/v1/unsubscribe/{token}", Access::Public),
    ("POST", "/api/v1/unsubscribe/{token}", Access::Public),
    ("GET", "/api/v1/status-links", member(StatusLinksManage)),
    ("POST", "/api/v1/status-links", member(StatusLinksManage)),
    ("DELETE", "/api/v1/status-links/{id}", member(StatusLinksManage)),
];

pub fn rule_for(method: &Method, path: &str) -> Option<Access> {
    RULES.iter().find(|(m, p, _)| *m == method.as_str() && *p == path).map(|(_, _, a)| *a)
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

/// Authenticates and authorises one request against the table, and counts it against the
/// member's rate limit.
pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = matched.as_ref().map_or("", MatchedPath::as_str);
    let Some(access) = rule_for(req.method(), path) else {
        tracing::error!(method = %req.method(), path, "route has no access rule; refusing");
        return Err(ApiError::Forbidden("this route has no access rule".into()));
    };
    let Access::Member { permission, mfa_setup } = access else {
        return Ok(next.run(req).await);
    };
    let token = bearer(&req).ok_or_else(|| {
        ApiError::unauthorized("unauthenticated", "sign in and send the access token as a Bearer token")
    })?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = state.ctx.jwt.verify(token, now).map_err(|e| match e {
        TokenError::Expired => ApiError::unauthorized("token_expired", "the access token has expired; refresh it"),
        _ => ApiError::unauthorized("invalid_token", "the access token is not valid"),
    })?;
    if !bma_app::services::auth::session_is_live(&state.ctx, claims.sid).await? {
        return Err(ApiError::unauthorized("session_revoked", "this session has ended; sign in again"));
    }
    if claims.scope == Scope::MfaSetup && !mfa_setup {
        return Err(ApiError::MfaEnrolmentRequired);
    }
    if !permission.granted_to(claims.role) {
        return Err(ApiError::Forbidden(format!("your role ({}) may not do this", claims.role.as_str())));
    }
    let limit = state.ctx.config.rate_limits.per_user;
    check_limit(&state, &format!("rl:user:{}", claims.sub), limit).await?;
    tracing::Span::current().record("member_id", tracing::field::display(claims.sub));
    req.extensions_mut().insert(CurrentUser(claims));
    Ok(next.run(req).await)
}

pub fn is_webhook(path: &str) -> bool {
    path.starts_with("/api/v1/webhooks/") || path.starts_with("/webhooks/")
}

/// Counts each request against its client address.
pub async fn limit_per_ip(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, ApiError> {
    // Providers deliver webhooks from a few addresses at high rates; their signature is the check.
    if is_webhook(req.uri().path()) {
        return Ok(next.run(req).await);
    }
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts, state.trust_proxy);
    let req = Request::from_parts(parts, body);
    if let Some(ip) = ip {
        let limit = state.ctx.config.rate_limits.per_ip;
        check_limit(&state, &format!("rl:ip:{ip}"), limit).await?;
    }
    Ok(next.run(req).await)
}

/// Counts a request against `key`'s limit per minute. Without Redis the limit is not enforced
/// (logged): the limiter protects the service, it is not the record, so the API stays up degraded.
async fn check_limit(state: &AppState, key: &str, limit: u32) -> Result<(), ApiError> {
    match state.ctx.kv.limiter.hit(key, limit, Duration::from_secs(60)).await {
        Ok(d) if !d.allowed => Err(ApiError::RateLimited { retry_after: d.reset_in }),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "rate limit not checked: the limiter's store does not answer");
            Ok(())
        }
    }
}
