//! The inbox: what the team reads (conversations with their venue and assignee, and their
//! messages).

use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, DeliveryStatus, Direction, MessageKind, SenderType};
use serde::Serialize;
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub channel: Channel,
    /// The venue's address on the channel: E.164 number, LINE user id or email thread id.
    pub external_id: String,
    pub status: ConversationStatus,
    pub venue_id: Option<Uuid>,
    pub venue_name: Option<String>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<String>,
    /// No venue contact matched the sender; link one with `POST /conversations/{id}/link`.
    pub unknown_sender: bool,
    pub subject: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub assignee_name: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub waiting_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_inbound_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_message_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_response_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub snoozed_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub handed_over_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub survey_sent_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

const CONVERSATION_COLUMNS: &str = "c.id, c.channel, c.external_id, c.status, c.venue_id, v.name AS venue_name, \
    c.contact_id, c.contact_name, c.unknown_sender, c.subject, c.assigned_to, m.name AS assignee_name, \
    c.waiting_since, c.last_inbound_at, c.last_message_at, c.first_response_at, c.snoozed_until, c.closed_at, \
    c.handed_over_at, c.survey_sent_at, c.created_at";
const CONVERSATION_FROM: &str =
    "conversations c LEFT JOIN venues v ON v.id = c.venue_id LEFT JOIN team_members m ON m.id = c.assigned_to";

#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    pub channel: Option<Channel>,
    pub venue_id: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub unassigned: bool,
    /// Only conversations where the venue waits for an answer, longest wait first.
    pub waiting: bool,
    pub unknown_sender: bool,
}

pub async fn list_conversations(
    db: &sqlx::PgPool,
    f: &ConversationFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<Conversation>, i64)> {
    let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
    let push_where = |qb: &mut sqlx::QueryBuilder<sqlx::Postgres>| {
        qb.push(" WHERE true");
        if let Some(s) = f.status {
            qb.push(" AND c.status = ").push_bind(s);
        }
        if let Some(ch) = f.channel {
            qb.push(" AND c.channel = ").push_bind(ch);
        }
        if let Some(v) = f.venue_id {
            qb.push(" AND c.venue_id = ").push_bind(v);
        }
        if let Some(a) = f.assignee {
            qb.push(" AND c.assigned_to = ").push_bind(a);
        }
        if f.unassigned {
            qb.push(" AND c.assigned_to IS NULL");
        }
        if f.waiting {
            qb.push(" AND c.waiting_since IS NOT NULL");
        }
        if f.unknown_sender {
            qb.push(" AND c.unknown_sender");
        }
    };
    qb.push(format!("SELECT count(*) FROM {CONVERSATION_FROM}"));
    push_where(&mut qb);
    let total: i64 = qb.build_query_scalar().fetch_one(db).await?;

    let mut qb =
        sqlx::QueryBuilder::<sqlx::Postgres>::new(format!("SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM}"));
    push_where(&mut qb);
    if f.waiting {
        qb.push(" ORDER BY c.waiting_since, c.id");
    } else {
        qb.push(" ORDER BY c.last_message_at DESC NULLS LAST, c.id");
    }
    qb.push(" LIMIT ").push_bind(limit).push(" OFFSET ").push_bind(offset);
    let rows = qb.build_query_as().fetch_all(db).await?;
    Ok((rows, total))
}

pub async fn conversation(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Conversation>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM} WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: Uuid,
    /// in (from the venue), out (to the venue) or note (private, never sent).
    pub direction: Direction,
    pub sender_type: SenderType,
    pub kind: MessageKind,
    /// Stored as received; clients must escape it when rendering.
    pub content: String,
    pub author_id: Option<Uuid>,
    pub delivery_status: Option<DeliveryStatus>,
    #[schema(value_type = Option<Object>)]
    pub delivery_error: Option<Value>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub external_id: Option<String>,
    pub has_media: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub async fn messages_of(db: impl PgExecutor<'_>, conversation_id: Uuid, limit: i64) -> sqlx::Result<Vec<Message>> {
    sqlx::query_as(
        "SELECT * FROM (SELECT m.id, m.direction, m.sender_type, m.kind, m.content, m.author_id, m.delivery_status, \
                m.delivery_error, m.metadata, m.external_id, \
                EXISTS (SELECT 1 FROM message_media mm WHERE mm.message_id = m.id) AS has_media, m.created_at \
         FROM messages m WHERE m.conversation_id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT $2) t \
         ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .bind(limit)
    .fetch_all(db)
    .await
}
