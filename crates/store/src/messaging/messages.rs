//! Storing messages. Inbound messages are keyed by the provider's id, so storing a redelivered
//! webhook changes nothing; email replies find their thread by Message-ID.

use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, Direction, MessageKind, SenderType};
use serde_json::Value;
use sqlx::PgExecutor;
use time::OffsetDateTime;
use uuid::Uuid;

pub struct NewMessage<'a> {
    pub conversation_id: Uuid,
    /// `None` for a private note, which never travels on a channel.
    pub channel: Option<Channel>,
    pub external_id: Option<&'a str>,
    pub direction: Direction,
    pub sender_type: SenderType,
    pub kind: MessageKind,
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
    pub status: ConversationStatus,
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
