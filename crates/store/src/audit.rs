//! The audit log: who changed what, from where, with the state before and after.

use serde_json::Value;
use sqlx::{FromRow, PgExecutor, Postgres, QueryBuilder};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who wrote an entry: a person of the team through the API, or the venue bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    Team,
    Bot,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::Team => "team",
            ActorKind::Bot => "bot",
        }
    }
}

impl TryFrom<String> for ActorKind {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "team" => Ok(ActorKind::Team),
            "bot" => Ok(ActorKind::Bot),
            _ => Err(format!("unknown audit actor kind {s:?}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor_kind: ActorKind,
    /// The team member, when one is signed in.
    pub actor_id: Option<Uuid>,
    /// The venue contact on whose request the bot acted.
    pub actor_contact_id: Option<Uuid>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<std::net::IpAddr>,
    pub request_id: Option<&'a str>,
}

pub async fn record(db: impl PgExecutor<'_>, e: Entry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, actor_id, action, entity_type, entity_id, before, after, ip, request_id, \
                                actor_kind, actor_contact_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::inet, $9, $10, $11)",
    )
    .bind(bma_domain::ids::new_id())
    .bind(e.actor_id)
    .bind(e.action)
    .bind(e.entity_type)
    .bind(e.entity_id)
    .bind(e.before)
    .bind(e.after)
    .bind(e.ip.map(|i| i.to_string()))
    .bind(e.request_id)
    .bind(e.actor_kind.as_str())
    .bind(e.actor_contact_id)
    .execute(db)
    .await
    .map(|_| ())
}

#[derive(Debug, Clone, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = AuditEntry)]
pub struct Row {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_contact_id: Option<Uuid>,
    pub actor_email: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

pub async fn list(db: impl PgExecutor<'_>, f: &Filter, limit: i64, offset: i64) -> sqlx::Result<(Vec<Row>, i64)> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT a.id, a.actor_kind, a.actor_id, a.actor_contact_id, m.email AS actor_email, a.action, a.entity_type, a.entity_id, a.before, a.after, \
         host(a.ip) AS ip, a.request_id, a.created_at, count(*) OVER () AS total \
         FROM audit_log a LEFT JOIN team_members m ON m.id = a.actor_id WHERE true",
    );
    if let Some(v) = f.actor_id {
        q.push(" AND a.actor_id = ").push_bind(v);
    }
    if let Some(v) = &f.action {
        q.push(" AND a.action = ").push_bind(v.clone());
    }
    if let Some(v) = &f.entity_type {
        q.push(" AND a.entity_type = ").push_bind(v.clone());
    }
    if let Some(v) = &f.entity_id {
        q.push(" AND a.entity_id = ").push_bind(v.clone());
    }
    if let Some(v) = f.since {
        q.push(" AND a.created_at >= ").push_bind(v);
    }
    if let Some(v) = f.until {
        q.push(" AND a.created_at < ").push_bind(v);
    }
    q.push(" ORDER BY a.created_at DESC, a.id DESC LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);

    #[derive(FromRow)]
    struct WithTotal {
        #[sqlx(flatten)]
        row: Row,
        total: i64,
    }
    let rows: Vec<WithTotal> = q.build_query_as().fetch_all(db).await?;
    let total = rows.first().map_or(0, |r| r.total);
    Ok((rows.into_iter().map(|r| r.row).collect(), total))
}
