//! Team members, their credentials and invitations.

use bma_domain::access::Role;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow, serde::Serialize)]
pub struct Member {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[serde(skip)]
    pub totp_secret_enc: Option<Vec<u8>>,
    pub totp_confirmed_at: Option<OffsetDateTime>,
    #[serde(skip)]
    pub totp_last_step: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "id, email, name, role, active, password_hash, totp_secret_enc, totp_confirmed_at, \
                       totp_last_step, created_at, updated_at";

pub async fn find_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM team_members WHERE email = $1")))
        .bind(email)
        .fetch_optional(db)
        .await
}

pub async fn find(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM team_members WHERE id = $1")))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Locks the member's row for the rest of the transaction (MFA step bookkeeping).
pub async fn find_for_update(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM team_members WHERE id = $1 FOR UPDATE")))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM team_members ORDER BY name, id")))
        .fetch_all(db)
        .await
}

pub struct NewMember<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

pub async fn insert(db: impl PgExecutor<'_>, m: NewMember<'_>) -> sqlx::Result<Member> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO team_members (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING {COLUMNS}"
    )))
    .bind(m.id)
    .bind(m.email)
    .bind(m.name)
    .bind(m.role)
    .bind(m.password_hash)
    .fetch_one(db)
    .await
}

pub async fn update_profile(
    db: impl PgExecutor<'_>,
    id: Uuid,
    name: Option<&str>,
    role: Option<Role>,
    active: Option<bool>,
) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE team_members SET name = COALESCE($2, name), role = COALESCE($3, role), active = COALESCE($4, active), \
         updated_at = now() WHERE id = $1 RETURNING {COLUMNS}"
    )))
    .bind(id)
    .bind(name)
    .bind(role)
    .bind(active)
    .fetch_optional(db)
    .await
}

pub async fn set_password(db: impl PgExecutor<'_>, id: Uuid, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE team_members SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(hash)
        .execute(db)
        .await
        .map(|_| ())
}

/// Stores a new, unconfirmed TOTP secret (already encrypted).
pub async fn set_totp_pending(db: impl PgExecutor<'_>, id: Uuid, secret_enc: &[u8]) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE team_members SET totp_secret_enc = $2, totp_confirmed_at = NULL, totp_last_step = NULL, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(secret_enc)
    .execute(db)
    .await
    .map(|_| ())
}

/// Records the time step of an accepted code (so it cannot be replayed) and, on enrolment,
/// marks MFA as confirmed.
pub async fn accept_totp_step(db: impl PgExecutor<'_>, id: Uuid, step: i64, confirm: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE team_members SET totp_last_step = $2, \
         totp_confirmed_at = CASE WHEN $3 THEN COALESCE(totp_confirmed_at, now()) ELSE totp_confirmed_at END, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(step)
    .bind(confirm)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn count(db: impl PgExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM team_members").fetch_one(db).await
}

pub async fn insert_invitation(
    db: impl PgExecutor<'_>,
    token_hash: &[u8],
    member_id: Uuid,
    expires_at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO member_invitations (token_hash, member_id, expires_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(member_id)
        .bind(expires_at)
        .execute(db)
        .await
        .map(|_| ())
}

/// Marks an unused, unexpired invitation as used and returns its member; `None` when the token
/// is unknown, spent or expired.
pub async fn redeem_invitation(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "UPDATE member_invitations SET used_at = now() \
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING member_id",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Forgets the member's TOTP secret: two-factor sign-in is off.
pub async fn clear_totp(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE team_members SET totp_secret_enc = NULL, totp_confirmed_at = NULL, totp_last_step = NULL, \
         updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

/// The language the member chose for the portal, if any.
pub async fn language(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<bma_domain::bot::Lang>> {
    sqlx::query_scalar("SELECT language FROM team_members WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

pub async fn set_language(db: impl PgExecutor<'_>, id: Uuid, lang: bma_domain::bot::Lang) -> sqlx::Result<()> {
    sqlx::query("UPDATE team_members SET language = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(lang)
        .execute(db)
        .await
        .map(|_| ())
}
