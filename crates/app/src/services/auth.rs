//! Signing in and staying signed in: password (+ TOTP) login with failure limits, rotating
//! refresh tokens whose reuse revokes the whole session, logout, and TOTP enrolment.

use crate::security::jwt::{Claims, ISSUER, Scope};
use crate::security::{password, secretbox, tokens, totp};
use crate::{AppContext, Error, Result};
use bma_domain::member::{Email, TotpCode};
use bma_store::{members, sessions};
use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl ClientInfo {
    fn actor(&self, member_id: Option<Uuid>) -> super::Actor {
        super::Actor::member(member_id, self.ip, self.request_id.clone())
    }
}

/// Security events go to the audit log too: sign-ins, failures, sign-outs, token reuse, MFA.
async fn audit_auth(ctx: &AppContext, actor: &super::Actor, action: &str, member_id: Option<Uuid>) -> Result<()> {
    let entry = bma_store::audit::Entry {
        entity_id: member_id.map(|m| m.to_string()),
        ..actor.audit(action, "team_member", "", None, None)
    };
    bma_store::audit::record(&ctx.db, entry).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// "full", or "mfa_setup" when an admin must enrol a second factor before anything else.
    pub scope: &'static str,
}

const SESSION_CACHE_TTL: Duration = Duration::from_secs(60);

fn scope_for(m: &members::Member) -> Result<Scope> {
    Ok(if m.role.requires_mfa() && m.totp_confirmed_at.is_none() { Scope::MfaSetup } else { Scope::Full })
}

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn access_token(ctx: &AppContext, m: &members::Member, sid: Uuid, scope: Scope) -> Result<String> {
    let role = m.role;
    let now = now_unix();
    let ttl = i64::try_from(ctx.config.access_token_ttl.as_secs()).unwrap_or(86_400);
    Ok(ctx.jwt.sign(&Claims { sub: m.id, sid, role, scope, iat: now, exp: now + ttl, iss: ISSUER.into() }))
}

async fn issue_refresh(tx: &mut sqlx::PgConnection, ctx: &AppContext, sid: Uuid) -> Result<String> {
    let token = tokens::random_token();
    let expires = OffsetDateTime::now_utc() + ctx.config.refresh_token_ttl;
    sessions::insert_refresh_token(&mut *tx, sid, &tokens::hash_token(&token), expires).await?;
    Ok(token)
}

fn pair(ctx: &AppContext, access: String, refresh: String, scope: Scope) -> TokenPair {
    TokenPair {
        access_token: access,
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: ctx.config.access_token_ttl.as_secs(),
        scope: match scope {
            Scope::Full => "full",
            Scope::MfaSetup => "mfa_setup",
        },
    }
}

async fn new_session(ctx: &AppContext, m: &members::Member, client: &ClientInfo, scope: Scope) -> Result<TokenPair> {
    let sid = bma_domain::ids::new_id();
    let mut tx = ctx.db.begin().await?;
    sessions::create(&mut *tx, sid, m.id, client.ip, client.user_agent.as_deref()).await?;
    let refresh = issue_refresh(&mut tx, ctx, sid).await?;
    tx.commit().await?;
    Ok(pair(ctx, access_token(ctx, m, sid, scope)?, refresh, scope))
}

fn failure_keys(email: &str, ip: Option<IpAddr>) -> (String, Option<String>) {
    let h = tokens::hash_token(email);
    let short: String = h.iter().take(12).map(|b| format!("{b:02x}")).collect();
    (format!("login-fail:email:{short}"), ip.map(|ip| format!("login-fail:ip:{ip}")))
}

async fn count_failure(ctx: &AppContext, keys: &(String, Option<String>)) -> Result<()> {
    let window = ctx.config.rate_limits.login_window;
    ctx.kv.limiter.hit(&keys.0, u32::MAX, window).await?;
    if let Some(ip) = &keys.1 {
        ctx.kv.limiter.hit(ip, u32::MAX, window).await?;
    }
    Ok(())
}

fn bad_credentials() -> Error {
    Error::unauthorized("invalid_credentials", "email or password is incorrect")
}

/// Signs a member in. Too many failures for one email (or, four times as many, from one IP)
/// block further attempts until the window ends.
pub async fn login(
    ctx: &AppContext,
    email: &str,
    password_given: &str,
    totp_code: Option<&str>,
    client: &ClientInfo,
) -> Result<TokenPair> {
    let normalized = Email::parse(email).map(|e| e.as_str().to_owned()).unwrap_or_else(|_| email.trim().to_lowercase());
    let keys = failure_keys(&normalized, client.ip);
    let limits = &ctx.config.rate_limits;
    let email_failures = ctx.kv.limiter.peek(&keys.0).await?;
    let ip_failures = match &keys.1 {
        Some(k) => ctx.kv.limiter.peek(k).await?,
        None => 0,
    };
    if email_failures >= limits.login_failures || ip_failures >= limits.login_failures.saturating_mul(4) {
        tracing::warn!(ip = ?client.ip, "sign-in blocked after repeated failures");
        return Err(Error::TooManyRequests { retry_after: limits.login_window });
    }

    let member = members::find_by_email(&ctx.db, &normalized).await?;
    let hash = member.as_ref().filter(|m| m.active).and_then(|m| m.password_hash.as_deref());
    let ok = password::verify(password_given, hash, &ctx.dummy_hash).await;
    let known = member.as_ref().map(|m| m.id);
    let Some(member) = member.filter(|_| ok) else {
        count_failure(ctx, &keys).await?;
        audit_auth(ctx, &client.actor(None), "auth.login_failed", known).await?;
        return Err(bad_credentials());
    };

    if member.totp_confirmed_at.is_some() {
        let Some(code) = totp_code.filter(|c| !c.trim().is_empty()) else {
            return Err(Error::unauthorized("mfa_required", "a code from your authenticator app is required"));
        };
        if !check_totp(ctx, member.id, code, false).await? {
            count_failure(ctx, &keys).await?;
            audit_auth(ctx, &client.actor(None), "auth.login_failed", Some(member.id)).await?;
            return Err(Error::unauthorized(
                "invalid_totp_code",
                "the authenticator code is wrong, expired or already used",
            ));
        }
    }
    ctx.kv.limiter.reset(&keys.0).await?;
    let scope = scope_for(&member)?;
    tracing::info!(member_id = %member.id, ?scope, "signed in");
    audit_auth(ctx, &client.actor(Some(member.id)), "auth.login", Some(member.id)).await?;
    new_session(ctx, &member, client, scope).await
}

/// Verifies a TOTP code for a member (locking the row, so a code is accepted once even under
/// concurrent requests) and records its step. With `confirm`, also completes enrolment.
async fn check_totp(ctx: &AppContext, member_id: Uuid, code: &str, confirm: bool) -> Result<bool> {
    let Ok(code) = TotpCode::parse(code) else {
        return Ok(false);
    };
    let mut tx = ctx.db.begin().await?;
    let Some(m) = members::find_for_update(&mut *tx, member_id).await? else {
        return Ok(false);
    };
    let Some(sealed) = m.totp_secret_enc.as_deref() else {
        return Ok(false);
    };
    let secret = secretbox::open(&ctx.config.data_encryption_key, sealed, m.id.as_bytes())
        .map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    let now = u64::try_from(now_unix()).unwrap_or(0);
    let Some(step) = totp::verify(&secret, code.as_str(), now, m.totp_last_step) else {
        return Ok(false);
    };
    members::accept_totp_step(&mut *tx, m.id, step, confirm).await?;
    tx.commit().await?;
    Ok(true)
}

/// Exchanges a refresh token for a new pair. The presented token is spent; presenting a spent
/// token again means it was stolen or replayed, and the whole session is revoked.
pub async fn refresh(ctx: &AppContext, refresh_token: &str) -> Result<TokenPair> {
    let hash = tokens::hash_token(refresh_token.trim());
    let mut tx = ctx.db.begin().await?;
    let Some(row) = sessions::find_refresh_token_for_update(&mut *tx, &hash).await? else {
        return Err(Error::unauthorized("invalid_refresh_token", "the refresh token is not valid"));
    };
    if row.used_at.is_some() {
        let revoked = sessions::revoke(&mut *tx, row.session_id, "refresh token reuse").await?;
        tx.commit().await?;
        mark_revoked(ctx, row.session_id).await?;
        if revoked {
            tracing::warn!(session_id = %row.session_id, member_id = %row.member_id, "refresh token reused; session revoked");
            let actor = super::Actor::member(None, None, None);
            audit_auth(ctx, &actor, "auth.refresh_token_reused", Some(row.member_id)).await?;
        }
        return Err(Error::unauthorized(
            "refresh_token_reused",
            "this refresh token was already used; the session has been revoked",
        ));
    }
    if row.session_revoked_at.is_some() || row.expires_at <= OffsetDateTime::now_utc() {
        return Err(Error::unauthorized("invalid_refresh_token", "the refresh token has expired or was revoked"));
    }
    let Some(member) = members::find(&mut *tx, row.member_id).await?.filter(|m| m.active) else {
        return Err(Error::unauthorized("invalid_refresh_token", "the account is deactivated"));
    };
    sessions::mark_refresh_token_used(&mut *tx, &hash).await?;
    sessions::touch(&mut *tx, row.session_id).await?;
    let new_refresh = issue_refresh(&mut tx, ctx, row.session_id).await?;
    tx.commit().await?;
    let scope = scope_for(&member)?;
    Ok(pair(ctx, access_token(ctx, &member, row.session_id, scope)?, new_refresh, scope))
}

async fn mark_revoked(ctx: &AppContext, sid: Uuid) -> Result<()> {
    ctx.kv.cache.set(&format!("sess:{sid}"), "0", ctx.config.access_token_ttl).await?;
    Ok(())
}

/// Ends a session: its access tokens stop working at once and its refresh tokens are dead.
pub async fn logout(ctx: &AppContext, sid: Uuid) -> Result<()> {
    sessions::revoke(&ctx.db, sid, "logout").await?;
    mark_revoked(ctx, sid).await
}

/// Signs a member out of one session, and records it.
pub async fn sign_out(ctx: &AppContext, member_id: Uuid, sid: Uuid, actor: &super::Actor) -> Result<()> {
    logout(ctx, sid).await?;
    audit_auth(ctx, actor, "auth.logout", Some(member_id)).await
}

/// Revokes every session of a member (deactivation, role change).
pub async fn revoke_member_sessions(tx: &mut sqlx::PgConnection, member_id: Uuid, why: &str) -> Result<Vec<Uuid>> {
    Ok(sessions::revoke_all_of_member(&mut *tx, member_id, why).await?)
}

pub async fn mark_sessions_revoked(ctx: &AppContext, sids: &[Uuid]) -> Result<()> {
    for sid in sids {
        mark_revoked(ctx, *sid).await?;
    }
    Ok(())
}

/// Whether the session behind an access token is still live; cached for a minute, and marked
/// revoked in the shared cache the moment it is revoked. Without the cache's store the database,
/// which holds every revocation, answers.
pub async fn session_is_live(ctx: &AppContext, sid: Uuid) -> Result<bool> {
    let key = format!("sess:{sid}");
    match ctx.kv.cache.get(&key).await {
        Ok(Some(v)) if v == "1" => return Ok(true),
        Ok(Some(v)) if v == "0" => return Ok(false),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "session cache not read: its store does not answer"),
    }
    let live = sessions::is_live(&ctx.db, sid).await?;
    if let Err(e) = ctx.kv.cache.set(&key, if live { "1" } else { "0" }, SESSION_CACHE_TTL).await {
        tracing::warn!(error = %e, "session cache not written: its store does not answer");
    }
    Ok(live)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The otpauth:// URI to show as a QR code.
    pub otpauth_uri: String,
}

/// Starts TOTP enrolment with a new secret (stored encrypted). Refused once MFA is confirmed.
pub async fn enroll_mfa(ctx: &AppContext, member_id: Uuid) -> Result<Enrolment> {
    let m = members::find(&ctx.db, member_id).await?.ok_or(Error::NotFound("member"))?;
    if m.totp_confirmed_at.is_some() {
        return Err(Error::conflict("mfa_already_enabled", "two-factor sign-in is already enabled"));
    }
    let secret = totp::generate_secret();
    let sealed = secretbox::seal(&ctx.config.data_encryption_key, &secret, m.id.as_bytes());
    members::set_totp_pending(&ctx.db, m.id, &sealed).await?;
    Ok(Enrolment { secret: totp::base32(&secret), otpauth_uri: totp::otpauth_uri(&secret, &m.email) })
}

/// Confirms enrolment with a first code; the setup session is replaced by a full one.
pub async fn confirm_mfa(
    ctx: &AppContext,
    member_id: Uuid,
    sid: Uuid,
    code: &str,
    client: &ClientInfo,
) -> Result<TokenPair> {
    if let Err(e) = bma_domain::member::TotpCode::parse(code) {
        return Err(Error::Invalid(bma_domain::Invalid::one(
            "code",
            e.0.into_iter().map(|f| f.message).collect::<String>(),
        )));
    }
    let m = members::find(&ctx.db, member_id).await?.ok_or(Error::NotFound("member"))?;
    if m.totp_secret_enc.is_none() {
        return Err(Error::conflict("mfa_not_started", "start enrolment first"));
    }
    if m.totp_confirmed_at.is_some() {
        return Err(Error::conflict("mfa_already_enabled", "two-factor sign-in is already enabled"));
    }
    if !check_totp(ctx, member_id, code, true).await? {
        return Err(Error::unauthorized("invalid_code", "the code is wrong or expired"));
    }
    logout(ctx, sid).await?;
    audit_auth(ctx, &client.actor(Some(member_id)), "auth.mfa_enabled", Some(member_id)).await?;
    let m = members::find(&ctx.db, member_id).await?.ok_or(Error::NotFound("member"))?;
    new_session(ctx, &m, client, Scope::Full).await
}

/// Changes a member's own password once the current one is confirmed.
pub async fn change_password(
    ctx: &AppContext,
    member_id: Uuid,
    current: &str,
    new: &bma_domain::member::Password,
    client: &ClientInfo,
) -> Result<()> {
    let m = members::find(&ctx.db, member_id).await?.filter(|m| m.active).ok_or(Error::NotFound("member"))?;
    if !password::verify(current, m.password_hash.as_deref(), &ctx.dummy_hash).await {
        return Err(Error::unauthorized("invalid_credentials", "the current password is incorrect"));
    }
    let hash = password::hash(new, ctx.config.bcrypt_cost).await?;
    members::set_password(&ctx.db, member_id, &hash).await?;
    audit_auth(ctx, &client.actor(Some(member_id)), "auth.password_changed", Some(member_id)).await
}

/// Turns two-factor sign-in off with a current code; refused to roles that must keep it.
pub async fn disable_mfa(ctx: &AppContext, member_id: Uuid, code: &str, client: &ClientInfo) -> Result<()> {
    let m = members::find(&ctx.db, member_id).await?.ok_or(Error::NotFound("member"))?;
    if m.role.requires_mfa() {
        return Err(Error::conflict("mfa_required_for_role", "admins must keep two-factor sign-in"));
    }
    if m.totp_confirmed_at.is_none() {
        return Err(Error::conflict("mfa_not_enabled", "two-factor sign-in is not enabled"));
    }
    if !check_totp(ctx, member_id, code, false).await? {
        return Err(Error::Invalid(bma_domain::Invalid::one("code", "the code is wrong or expired")));
    }
    members::clear_totp(&ctx.db, member_id).await?;
    audit_auth(ctx, &client.actor(Some(member_id)), "auth.mfa_disabled", Some(member_id)).await
}
