//! Sign-in sessions and their rotating refresh tokens. Only hashes of tokens are stored.

use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn create(
    db: impl PgExecutor<'_>,
    id: Uuid,
    member_id: Uuid,
    ip: Option<std::net::IpAddr>,
    user_agent: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO auth_sessions (id, member_id, ip, user_agent) VALUES ($1, $2, $3::inet, $4)")
        .bind(id)
        .bind(member_id)
        .bind(ip.map(|i| i.to_string()))
        .bind(user_agent)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn insert_refresh_token(
    db: impl PgExecutor<'_>,
    session_id: Uuid,
    token_hash: &[u8],
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(bma_domain::ids::new_id())
        .bind(session_id)
        .bind(token_hash)
        .bind(expires_at)
        .execute(db)
        .await
        .map(|_| ())
}

#[derive(Debug, FromRow)]
pub struct RefreshTokenRow {
    pub session_id: Uuid,
    pub member_id: Uuid,
    pub expires_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub session_revoked_at: Option<OffsetDateTime>,
}

/// Looks up a refresh token and locks it, so two concurrent refreshes cannot both spend it.
pub async fn find_refresh_token_for_update(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
) -> sqlx::Result<Option<RefreshTokenRow>> {
    sqlx::query_as(
        "SELECT t.session_id, s.member_id, t.expires_at, t.used_at, s.revoked_at AS session_revoked_at \
         FROM refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id \
         WHERE t.token_hash = $1 FOR UPDATE OF t",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

pub async fn mark_refresh_token_used(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(token_hash)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn touch(db: impl PgExecutor<'_>, session_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE auth_sessions SET last_used_at = now() WHERE id = $1")
        .bind(session_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Revokes one session (its whole refresh-token family). Returns whether it was live.
pub async fn revoke(db: impl PgExecutor<'_>, session_id: Uuid, why: &str) -> sqlx::Result<bool> {
    sqlx::query("UPDATE auth_sessions SET revoked_at = now(), revoked_why = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(session_id)
        .bind(why)
        .execute(db)
        .await
        .map(|r| r.rows_affected() > 0)
}

/// Revokes every live session of a member and returns their ids.
pub async fn revoke_all_of_member(db: impl PgExecutor<'_>, member_id: Uuid, why: &str) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "UPDATE auth_sessions SET revoked_at = now(), revoked_why = $2 \
         WHERE member_id = $1 AND revoked_at IS NULL RETURNING id",
    )
    .bind(member_id)
    .bind(why)
    .fetch_all(db)
    .await
}

/// Whether a session may still be used: not revoked and its member still active.
pub async fn is_live(db: impl PgExecutor<'_>, session_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM auth_sessions s JOIN team_members m ON m.id = s.member_id \
         WHERE s.id = $1 AND s.revoked_at IS NULL AND m.active)",
    )
    .bind(session_id)
    .fetch_one(db)
    .await
}

/// Deletes refresh tokens that expired a day ago or more (periodic clean-up).
pub async fn purge_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}
