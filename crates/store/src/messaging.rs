//! Conversations and messages. Inbound messages are keyed by the provider's id, so storing a
//! redelivered webhook changes nothing; outbound messages carry their own delivery state, which
//! the send job and the providers' status webhooks move forward.

use serde::Serialize;
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who a channel address belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct KnownContact {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub is_staff: bool,
}

/// The venue contact behind a channel address (`channel` is whatsapp, line or email).
pub async fn find_contact(db: impl PgExecutor<'_>, channel: &str, address: &str) -> sqlx::Result<Option<KnownContact>> {
    let column = match channel {
        "whatsapp" => "whatsapp_number",
        "line" => "line_user_id",
        _ => "email",
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.venue_id, c.name, c.is_staff FROM venue_contacts c JOIN venues v ON v.id = c.venue_id \
         WHERE c.{column} = $1 ORDER BY (v.archived_at IS NULL) DESC, c.is_staff DESC, c.created_at LIMIT 1"
    )))
    .bind(address)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct ConversationState {
    pub id: Uuid,
    pub status: String,
    pub venue_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub handed_over_at: Option<OffsetDateTime>,
    pub survey_sent_at: Option<OffsetDateTime>,
    pub last_inbound_at: Option<OffsetDateTime>,
    pub inserted: bool,
}

pub struct NewConversation<'a> {
    pub channel: &'a str,
    pub external_id: &'a str,
    pub venue_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub status: &'a str,
}

/// The conversation of a channel address, created on first contact. Locks the row until the
/// transaction ends, so messages of one conversation are stored one after another.
pub async fn upsert_conversation(db: impl PgExecutor<'_>, c: NewConversation<'_>) -> sqlx::Result<ConversationState> {
    sqlx::query_as(
        "INSERT INTO conversations (id, venue_id, contact_id, channel, external_id, status, contact_name, subject, \
                                    unknown_sender, reply_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $3 IS NULL, $9) \
         ON CONFLICT (channel, external_id) DO UPDATE SET \
            contact_name = COALESCE(EXCLUDED.contact_name, conversations.contact_name), \
            venue_id = COALESCE(conversations.venue_id, EXCLUDED.venue_id), \
            contact_id = COALESCE(conversations.contact_id, EXCLUDED.contact_id), \
            unknown_sender = conversations.unknown_sender AND EXCLUDED.contact_id IS NULL \
         RETURNING id, status, venue_id, contact_id, handed_over_at, survey_sent_at, last_inbound_at, \
                   (xmax = 0) AS inserted",
    )
    .bind(bma_domain::ids::new_id())
    .bind(c.venue_id)
    .bind(c.contact_id)
    .bind(c.channel)
    .bind(c.external_id)
    .bind(c.status)
    .bind(c.contact_name)
    .bind(c.subject)
    .bind(c.reply_to)
    .fetch_one(db)
    .await
}

pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    /// `None` for a private note, which never travels on a channel.
    pub channel: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub direction: &'a str,
    pub sender_type: &'a str,
    pub kind: &'a str,
    pub content: &'a str,
    pub metadata: Value,
    pub author_id: Option<Uuid>,
    pub outbound: Option<Value>,
    pub created_at: Option<OffsetDateTime>,
}

/// Stores a message; `None` when a message with the same provider id is already stored.
pub async fn insert_message(db: impl PgExecutor<'_>, m: NewMessage<'_>) -> sqlx::Result<Option<Uuid>> {
    let queued = m.outbound.is_some();
    sqlx::query_scalar(
        "INSERT INTO messages (id, conversation_id, channel, external_id, direction, sender_type, kind, content, \
                               metadata, author_id, outbound, delivery_status, status_at, retry_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, CASE WHEN $12 THEN 'queued' END, \
                 CASE WHEN $12 THEN now() END, CASE WHEN $12 THEN $1 END, COALESCE($13, now())) \
         ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING id",
    )
    .bind(bma_domain::ids::new_id())
    .bind(m.conversation_id)
    .bind(m.channel)
    .bind(m.external_id)
    .bind(m.direction)
    .bind(m.sender_type)
    .bind(m.kind)
    .bind(m.content)
    .bind(m.metadata)
    .bind(m.author_id)
    .bind(m.outbound)
    .bind(queued)
    .bind(m.created_at)
    .fetch_optional(db)
    .await
}

/// What storing a venue's message also does to its conversation, in the same statement.
pub struct OnInbound<'a> {
    pub at: OffsetDateTime,
    pub status: &'a str,
    pub reply_token: Option<&'a str>,
    /// Leave the conversation as it is (a survey answer does not reopen it).
    pub touch: bool,
}

/// Stores an inbound message and, only when it is new, records it on its conversation (the
/// 24-hour window, who waits since when, the newest LINE reply token, the status the lifecycle
/// gives it) — one round trip. `None`: already stored. The caller queues the bot's job in the
/// same transaction.
pub async fn insert_inbound(
    db: impl PgExecutor<'_>,
    m: NewMessage<'_>,
    on: OnInbound<'_>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "WITH m AS ( \
            INSERT INTO messages (id, conversation_id, channel, external_id, direction, sender_type, kind, content, \
                                  metadata, created_at) \
            VALUES ($1, $2, $3, $4, 'in', 'user', $5, $6, $7, $8) \
            ON CONFLICT (channel, external_id) WHERE external_id IS NOT NULL DO NOTHING RETURNING id), \
         c AS ( \
            UPDATE conversations SET \
                last_inbound_at = GREATEST(last_inbound_at, $8), last_message_at = GREATEST(last_message_at, $8), \
                waiting_since = COALESCE(waiting_since, $8), \
                closed_at = CASE WHEN $9 = 'closed' THEN closed_at END, \
                snoozed_until = CASE WHEN $9 = 'snoozed' THEN snoozed_until END, \
                status = $9, reply_token = COALESCE($10, reply_token), \
                reply_token_at = CASE WHEN $10 IS NULL THEN reply_token_at ELSE now() END, updated_at = now() \
            WHERE id = $2 AND $11 AND EXISTS (SELECT 1 FROM m) RETURNING id) \
         SELECT id FROM m",
    )
    .bind(bma_domain::ids::new_id())
    .bind(m.conversation_id)
    .bind(m.channel)
    .bind(m.external_id)
    .bind(m.kind)
    .bind(m.content)
    .bind(m.metadata)
    .bind(on.at)
    .bind(on.status)
    .bind(on.reply_token)
    .bind(on.touch)
    .fetch_optional(db)
    .await
}

/// A reply by a person or the bot: the venue is no longer waiting, and the first response time
/// is fixed the first time.
pub async fn note_reply(db: impl PgExecutor<'_>, conversation_id: Uuid, by_person: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET waiting_since = NULL, last_message_at = now(), \
            first_response_at = COALESCE(first_response_at, now()), \
            status = CASE WHEN $2 AND status = 'pending' THEN 'open' ELSE status END, \
            handed_over_at = CASE WHEN $2 THEN COALESCE(handed_over_at, now()) ELSE handed_over_at END, \
            updated_at = now() \
         WHERE id = $1",
    )
    .bind(conversation_id)
    .bind(by_person)
    .execute(db)
    .await
    .map(|_| ())
}

/// Takes the conversation's LINE reply token if it is younger than `max_age`; a token is used
/// once, so it is cleared in the same statement.
pub async fn take_reply_token(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    max_age: time::Duration,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "UPDATE conversations c SET reply_token = NULL, reply_token_at = NULL \
         FROM (SELECT id, reply_token AS token FROM conversations WHERE id = $1 FOR UPDATE) old \
         WHERE c.id = old.id AND old.token IS NOT NULL AND c.reply_token_at > now() - $2 \
         RETURNING old.token",
    )
    .bind(conversation_id)
    .bind(max_age)
    .fetch_optional(db)
    .await
}

#[derive(Debug, Clone, FromRow)]
pub struct Outgoing {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub channel: String,
    pub address: String,
    pub subject: Option<String>,
    pub content: String,
    pub outbound: Option<Value>,
    pub delivery_status: Option<String>,
    pub send_method: Option<String>,
    pub retry_key: Option<Uuid>,
    pub external_id: Option<String>,
    pub last_inbound_at: Option<OffsetDateTime>,
}

/// An outbound message with what its send job needs, locked for the caller's transaction.
pub async fn outgoing_for_update(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Outgoing>> {
    sqlx::query_as(
        "SELECT m.id, m.conversation_id, c.channel, COALESCE(c.reply_to, c.external_id) AS address, c.subject, m.content, m.outbound, \
                m.delivery_status, m.send_method, m.retry_key, m.external_id, c.last_inbound_at \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.id = $1 AND m.direction = 'out' FOR UPDATE OF m",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Marks the start of a provider call; committed before the call so a crash leaves a trace.
pub async fn mark_sending(db: impl PgExecutor<'_>, id: Uuid, method: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE messages SET delivery_status = 'sending', send_method = $2, status_at = now() WHERE id = $1")
        .bind(id)
        .bind(method)
        .execute(db)
        .await
        .map(|_| ())
}

/// The provider accepted the message. `external_id` joins later status webhooks.
pub async fn mark_sent(db: impl PgExecutor<'_>, id: Uuid, external_id: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE messages SET delivery_status = CASE WHEN delivery_status IN ('delivered', 'read') \
                                                    THEN delivery_status ELSE 'sent' END, \
            external_id = COALESCE(external_id, $2), delivery_error = NULL, status_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(external_id)
    .execute(db)
    .await
    .map(|_| ())
}

/// Back to the queue after a failure that certainly sent nothing.
pub async fn mark_queued(db: impl PgExecutor<'_>, id: Uuid, error: &Value) -> sqlx::Result<()> {
    sqlx::query("UPDATE messages SET delivery_status = 'queued', delivery_error = $2, status_at = now() WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn mark_failed(db: impl PgExecutor<'_>, id: Uuid, error: &Value) -> sqlx::Result<()> {
    sqlx::query("UPDATE messages SET delivery_status = 'failed', delivery_error = $2, status_at = now() WHERE id = $1")
        .bind(id)
        .bind(error)
        .execute(db)
        .await
        .map(|_| ())
}

/// The message a status webhook is about, by the provider's id or by ours (WhatsApp echoes
/// `biz_opaque_callback_data`), locked for the update.
pub async fn delivery_target(
    db: impl PgExecutor<'_>,
    channel: &str,
    external_id: &str,
    our_id: Option<Uuid>,
) -> sqlx::Result<Option<(Uuid, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "SELECT id, delivery_status, external_id FROM messages \
         WHERE (channel = $1 AND external_id = $2) OR (id = $3 AND direction = 'out') LIMIT 1 FOR UPDATE",
    )
    .bind(channel)
    .bind(external_id)
    .bind(our_id)
    .fetch_optional(db)
    .await
}

pub async fn set_delivery(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: &str,
    external_id: &str,
    error: Option<&Value>,
    at: OffsetDateTime,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE messages SET delivery_status = $2, external_id = COALESCE(external_id, $3), \
            delivery_error = COALESCE($4, delivery_error), status_at = $5 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(external_id)
    .bind(error)
    .bind(at)
    .execute(db)
    .await
    .map(|_| ())
}

/// The thread key (`external_id`) of the conversation an email belongs to: the one holding any
/// message it replies to.
pub async fn conversation_of_email_thread(
    db: impl PgExecutor<'_>,
    message_ids: &[String],
) -> sqlx::Result<Option<String>> {
    if message_ids.is_empty() {
        return Ok(None);
    }
    sqlx::query_scalar(
        "SELECT c.external_id FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE m.channel = 'email' AND m.external_id = ANY($1) ORDER BY m.created_at DESC LIMIT 1",
    )
    .bind(message_ids)
    .fetch_optional(db)
    .await
}

/// The Message-IDs of a thread, oldest first, for the References header of a reply.
pub async fn email_thread_ids(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT external_id FROM messages WHERE conversation_id = $1 AND channel = 'email' \
         AND external_id IS NOT NULL AND direction <> 'note' ORDER BY created_at, id",
    )
    .bind(conversation_id)
    .fetch_all(db)
    .await
}

pub async fn store_media(db: impl PgExecutor<'_>, message_id: Uuid, mime: &str, bytes: &[u8]) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO message_media (message_id, mime_type, bytes) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(mime)
    .bind(bytes)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn media_of(db: impl PgExecutor<'_>, message_id: Uuid) -> sqlx::Result<Option<(String, Vec<u8>)>> {
    sqlx::query_as("SELECT mime_type, bytes FROM message_media WHERE message_id = $1")
        .bind(message_id)
        .fetch_optional(db)
        .await
}

/// The `n`th contact reachable on WhatsApp or LINE (number, user id, name), for the demo's
/// simulated venues.
pub async fn demo_sender(
    db: impl PgExecutor<'_>,
    n: i64,
) -> sqlx::Result<Option<(Option<String>, Option<String>, String)>> {
    sqlx::query_as(
        "SELECT whatsapp_number, line_user_id, name FROM venue_contacts \
         WHERE whatsapp_number IS NOT NULL OR line_user_id IS NOT NULL ORDER BY id OFFSET $1 LIMIT 1",
    )
    .bind(n)
    .fetch_optional(db)
    .await
}

/// What a venue wrote in an earlier message of the same conversation.
pub async fn inbound_text(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    message_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT content FROM messages WHERE id = $1 AND conversation_id = $2 AND direction = 'in'")
        .bind(message_id)
        .bind(conversation_id)
        .fetch_optional(db)
        .await
}

/// Marks a contact as having blocked or unblocked the account (LINE unfollow / follow).
pub async fn set_opted_out(db: impl PgExecutor<'_>, contact_id: Uuid, opted_out: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE venue_contacts SET opted_out = $2, updated_at = now() WHERE id = $1")
        .bind(contact_id)
        .bind(opted_out)
        .execute(db)
        .await
        .map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// The inbox: what the team reads.

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub channel: String,
    /// The venue's address on the channel: E.164 number, LINE user id or email thread id.
    pub external_id: String,
    pub status: String,
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
    pub status: Option<String>,
    pub channel: Option<String>,
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
        if let Some(s) = &f.status {
            qb.push(" AND c.status = ").push_bind(s.clone());
        }
        if let Some(ch) = &f.channel {
            qb.push(" AND c.channel = ").push_bind(ch.clone());
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
    pub direction: String,
    pub sender_type: String,
    pub kind: String,
    /// Stored as received; clients must escape it when rendering.
    pub content: String,
    pub author_id: Option<Uuid>,
    pub delivery_status: Option<String>,
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

/// Who gets the next handed-over conversation: active admins and managers below `cap` open
/// conversations, the one assigned longest ago first. Callers hold the assignment lock.
pub async fn next_assignee(db: impl PgExecutor<'_>, cap: i64) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "SELECT t.id FROM team_members t \
         WHERE t.active AND t.role IN ('admin', 'manager') \
           AND (SELECT count(*) FROM conversations c WHERE c.assigned_to = t.id AND c.status IN ('open', 'snoozed')) < $1 \
         ORDER BY t.last_assigned_at NULLS FIRST, t.created_at, t.id LIMIT 1",
    )
    .bind(cap)
    .fetch_optional(db)
    .await
}

/// Serialises automatic assignment across instances for the rest of the transaction.
pub async fn lock_assignment(db: impl PgExecutor<'_>) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(7231001)").execute(db).await.map(|_| ())
}

pub async fn assign(db: impl PgExecutor<'_>, conversation_id: Uuid, member: Option<Uuid>) -> sqlx::Result<bool> {
    let found: i64 = sqlx::query_scalar(
        "WITH c AS (UPDATE conversations SET assigned_to = $2, \
                        assigned_at = CASE WHEN $2::uuid IS NULL THEN NULL ELSE now() END, updated_at = now() \
                    WHERE id = $1 RETURNING id), \
              t AS (UPDATE team_members SET last_assigned_at = now() WHERE id = $2 AND EXISTS (SELECT 1 FROM c) \
                    RETURNING id) \
         SELECT count(*) FROM c",
    )
    .bind(conversation_id)
    .bind(member)
    .fetch_one(db)
    .await?;
    Ok(found == 1)
}

pub async fn is_assignable_member(db: impl PgExecutor<'_>, member: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM team_members WHERE id = $1 AND active AND role <> 'viewer')")
        .bind(member)
        .fetch_one(db)
        .await
}

pub async fn set_status(db: impl PgExecutor<'_>, conversation_id: Uuid, status: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET status = $2, \
            closed_at = CASE WHEN $2 = 'closed' THEN now() END, \
            snoozed_until = CASE WHEN $2 = 'snoozed' THEN snoozed_until END, \
            waiting_since = CASE WHEN $2 = 'closed' THEN NULL ELSE waiting_since END, \
            handed_over_at = CASE WHEN $2 = 'open' THEN COALESCE(handed_over_at, now()) ELSE handed_over_at END, \
            updated_at = now() WHERE id = $1",
    )
    .bind(conversation_id)
    .bind(status)
    .execute(db)
    .await
    .map(|_| ())
}

/// Fixes the survey as sent (once per conversation) and credits the assignee; false when a
/// survey was already sent.
pub async fn claim_survey(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query("UPDATE conversations SET survey_sent_at = now(), survey_member_id = assigned_to WHERE id = $1 AND survey_sent_at IS NULL")
        .bind(conversation_id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Stores a survey answer; false when the conversation already has one.
pub async fn record_score(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    score: u8,
    feedback: Option<&str>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "INSERT INTO satisfaction_scores (id, conversation_id, venue_id, score, feedback, member_id, channel) \
         SELECT $1, c.id, c.venue_id, $3, $4, c.survey_member_id, c.channel FROM conversations c WHERE c.id = $2 \
         ON CONFLICT (conversation_id) DO NOTHING",
    )
    .bind(bma_domain::ids::new_id())
    .bind(conversation_id)
    .bind(i32::from(score))
    .bind(feedback)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

pub async fn has_score(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM satisfaction_scores WHERE conversation_id = $1)")
        .bind(conversation_id)
        .fetch_one(db)
        .await
}

/// Links an unknown sender's conversation to a venue contact.
pub async fn link_contact(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    contact: &KnownContact,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE conversations SET contact_id = $2, venue_id = $3, contact_name = COALESCE(contact_name, $4), \
            unknown_sender = false, updated_at = now() WHERE id = $1",
    )
    .bind(conversation_id)
    .bind(contact.id)
    .bind(contact.venue_id)
    .bind(&contact.name)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

pub async fn contact_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<KnownContact>> {
    sqlx::query_as("SELECT id, venue_id, name, is_staff FROM venue_contacts WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}

// ---------------------------------------------------------------------------------------------
// Analytics over conversations and survey answers.

/// How an analytics answer is broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Channel,
    Member,
    Venue,
    Day,
    Week,
    Month,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "channel" => GroupBy::Channel,
            "member" => GroupBy::Member,
            "venue" => GroupBy::Venue,
            "day" => GroupBy::Day,
            "week" => GroupBy::Week,
            "month" => GroupBy::Month,
            _ => return None,
        })
    }

    /// (key expression, label expression) over `c` (conversations), `m` (members), `v` (venues),
    /// and `t` (the timestamp being grouped).
    fn sql(self, member_col: &str) -> (String, String) {
        match self {
            GroupBy::Channel => ("c.channel".into(), "c.channel".into()),
            GroupBy::Member => (format!("{member_col}::text"), "COALESCE(m.name, 'unassigned')".into()),
            GroupBy::Venue => ("c.venue_id::text".into(), "COALESCE(v.name, 'unknown sender')".into()),
            GroupBy::Day | GroupBy::Week | GroupBy::Month => {
                let unit = match self {
                    GroupBy::Day => "day",
                    GroupBy::Week => "week",
                    _ => "month",
                };
                let e = format!("to_char(date_trunc('{unit}', t AT TIME ZONE 'UTC'), 'YYYY-MM-DD')");
                (e.clone(), e)
            }
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SatisfactionFigures {
    pub surveys_sent: i64,
    pub responses: i64,
    /// responses ÷ surveys sent.
    pub response_rate: Option<f64>,
    /// The share of 4s and 5s among responses.
    pub satisfied_share: Option<f64>,
    pub average: Option<f64>,
    /// Count of each score, 1 to 5.
    pub distribution: [i64; 5],
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SatisfactionGroup {
    pub key: Option<String>,
    pub label: String,
    #[serde(flatten)]
    pub figures: SatisfactionFigures,
}

#[derive(FromRow)]
struct SatisfactionRow {
    key: Option<String>,
    label: Option<String>,
    sent: i64,
    responses: i64,
    s1: i64,
    s2: i64,
    s3: i64,
    s4: i64,
    s5: i64,
}

impl SatisfactionRow {
    #[allow(clippy::cast_precision_loss)]
    fn figures(&self) -> SatisfactionFigures {
        let d = [self.s1, self.s2, self.s3, self.s4, self.s5];
        let weighted: i64 = d.iter().zip(1_i64..).map(|(n, s)| n * s).sum();
        let r = self.responses as f64;
        SatisfactionFigures {
            surveys_sent: self.sent,
            responses: self.responses,
            response_rate: (self.sent > 0).then(|| r / self.sent as f64),
            satisfied_share: (self.responses > 0).then(|| (d[3] + d[4]) as f64 / r),
            average: (self.responses > 0).then(|| weighted as f64 / r),
            distribution: d,
        }
    }
}

/// Surveys sent in `[from, to)` and their answers, overall and by `group`.
pub async fn satisfaction(
    db: &sqlx::PgPool,
    from: OffsetDateTime,
    to: OffsetDateTime,
    venue: Option<Uuid>,
    group: Option<GroupBy>,
) -> sqlx::Result<(SatisfactionFigures, Vec<SatisfactionGroup>)> {
    let (key, label) = group.map_or(("NULL::text".to_owned(), "'all'".to_owned()), |g| g.sql("c.survey_member_id"));
    let sql = format!(
        "SELECT {key} AS key, {label} AS label, count(*) AS sent, count(s.id) AS responses, \
            count(*) FILTER (WHERE s.score = 1) AS s1, count(*) FILTER (WHERE s.score = 2) AS s2, \
            count(*) FILTER (WHERE s.score = 3) AS s3, count(*) FILTER (WHERE s.score = 4) AS s4, \
            count(*) FILTER (WHERE s.score = 5) AS s5 \
         FROM (SELECT *, survey_sent_at AS t FROM conversations) c \
         LEFT JOIN satisfaction_scores s ON s.conversation_id = c.id \
         LEFT JOIN team_members m ON m.id = c.survey_member_id LEFT JOIN venues v ON v.id = c.venue_id \
         WHERE c.survey_sent_at >= $1 AND c.survey_sent_at < $2 AND ($3::uuid IS NULL OR c.venue_id = $3) \
         GROUP BY 1, 2 ORDER BY 2"
    );
    let rows: Vec<SatisfactionRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).bind(venue).fetch_all(db).await?;
    let mut total =
        SatisfactionRow { key: None, label: None, sent: 0, responses: 0, s1: 0, s2: 0, s3: 0, s4: 0, s5: 0 };
    for r in &rows {
        total.sent += r.sent;
        total.responses += r.responses;
        total.s1 += r.s1;
        total.s2 += r.s2;
        total.s3 += r.s3;
        total.s4 += r.s4;
        total.s5 += r.s5;
    }
    let groups = if group.is_some() {
        rows.iter()
            .map(|r| SatisfactionGroup {
                key: r.key.clone(),
                label: r.label.clone().unwrap_or_default(),
                figures: r.figures(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok((total.figures(), groups))
}

#[derive(Debug, Clone, Default, Serialize, FromRow, utoipa::ToSchema)]
pub struct ConversationFigures {
    /// Conversations started in the range.
    pub conversations: i64,
    pub inbound_messages: i64,
    pub outbound_messages: i64,
    /// Conversations that got a first reply (bot or person).
    pub responded: i64,
    pub avg_first_response_seconds: Option<f64>,
    pub median_first_response_seconds: Option<f64>,
    pub closed: i64,
    pub avg_resolution_seconds: Option<f64>,
    pub median_resolution_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationGroup {
    pub key: Option<String>,
    pub label: String,
    #[serde(flatten)]
    pub figures: ConversationFigures,
}

#[derive(FromRow)]
struct ConversationRow {
    key: Option<String>,
    label: Option<String>,
    #[sqlx(flatten)]
    figures: ConversationFigures,
}

/// Volumes, first-response and resolution times of conversations started in `[from, to)`.
pub async fn conversation_figures(
    db: &sqlx::PgPool,
    from: OffsetDateTime,
    to: OffsetDateTime,
    group: Option<GroupBy>,
) -> sqlx::Result<(ConversationFigures, Vec<ConversationGroup>)> {
    let query = |key: &str, label: &str| {
        format!(
            "SELECT {key} AS key, {label} AS label, count(*) AS conversations, \
                COALESCE(sum(mi.n), 0)::bigint AS inbound_messages, COALESCE(sum(mo.n), 0)::bigint AS outbound_messages, \
                count(c.first_response_at) AS responded, \
                avg(extract(epoch FROM c.first_response_at - c.created_at))::float8 AS avg_first_response_seconds, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.first_response_at - c.created_at))::float8 \
                    AS median_first_response_seconds, \
                count(c.closed_at) AS closed, \
                avg(extract(epoch FROM c.closed_at - c.created_at))::float8 AS avg_resolution_seconds, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.closed_at - c.created_at))::float8 \
                    AS median_resolution_seconds \
             FROM (SELECT *, created_at AS t FROM conversations) c \
             LEFT JOIN team_members m ON m.id = c.assigned_to LEFT JOIN venues v ON v.id = c.venue_id \
             LEFT JOIN LATERAL (SELECT count(*) AS n FROM messages WHERE conversation_id = c.id AND direction = 'in') mi ON true \
             LEFT JOIN LATERAL (SELECT count(*) AS n FROM messages WHERE conversation_id = c.id AND direction = 'out') mo ON true \
             WHERE c.created_at >= $1 AND c.created_at < $2 GROUP BY 1, 2 ORDER BY 2"
        )
    };
    let total: Option<ConversationRow> = sqlx::query_as(sqlx::AssertSqlSafe(query("NULL::text", "'all'")))
        .bind(from)
        .bind(to)
        .fetch_optional(db)
        .await?;
    let groups = match group {
        None => Vec::new(),
        Some(g) => {
            let (key, label) = g.sql("c.assigned_to");
            let rows: Vec<ConversationRow> =
                sqlx::query_as(sqlx::AssertSqlSafe(query(&key, &label))).bind(from).bind(to).fetch_all(db).await?;
            rows.into_iter()
                .map(|r| ConversationGroup { key: r.key, label: r.label.unwrap_or_default(), figures: r.figures })
                .collect()
        }
    };
    Ok((total.map(|r| r.figures).unwrap_or_default(), groups))
}

// ---------------------------------------------------------------------------------------------
// The playlist catalogue the bot chooses from.

#[derive(Debug, Clone, FromRow, Serialize, utoipa::ToSchema)]
pub struct CataloguePlaylist {
    pub id: Uuid,
    pub soundtrack_id: String,
    pub name: String,
    pub moods: Vec<String>,
}

/// Adds or updates a playlist of the catalogue (keyed by its Soundtrack id).
pub async fn upsert_playlist(
    db: impl PgExecutor<'_>,
    soundtrack_id: &str,
    name: &str,
    moods: &[String],
) -> sqlx::Result<CataloguePlaylist> {
    sqlx::query_as(
        "INSERT INTO playlist_catalogue (id, soundtrack_id, name, moods) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (soundtrack_id) DO UPDATE SET name = EXCLUDED.name, moods = EXCLUDED.moods \
         RETURNING id, soundtrack_id, name, moods",
    )
    .bind(bma_domain::ids::new_id())
    .bind(soundtrack_id)
    .bind(name)
    .bind(moods)
    .fetch_one(db)
    .await
}

pub async fn catalogue(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<CataloguePlaylist>> {
    sqlx::query_as("SELECT id, soundtrack_id, name, moods FROM playlist_catalogue ORDER BY name").fetch_all(db).await
}

/// The playlist a request names: by name first, then by mood.
pub async fn find_playlist(db: impl PgExecutor<'_>, query: &str) -> sqlx::Result<Option<CataloguePlaylist>> {
    sqlx::query_as(
        "SELECT id, soundtrack_id, name, moods FROM playlist_catalogue \
         WHERE name ILIKE '%' || $1 || '%' OR lower($1) = ANY(moods) \
         ORDER BY (name ILIKE '%' || $1 || '%') DESC, name LIMIT 1",
    )
    .bind(query)
    .fetch_optional(db)
    .await
}
