//! What the bot reads and writes about a conversation it answers.

use bma_domain::messaging::ConversationStatus;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct BotView {
    pub status: ConversationStatus,
    pub venue_id: Option<Uuid>,
    /// The venue contact writing, when the sender is known.
    pub contact_id: Option<Uuid>,
    /// `None` for an unknown sender.
    pub is_staff: Option<bool>,
    pub bot_misses: i16,
}

pub async fn conversation(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<BotView>> {
    sqlx::query_as(
        "SELECT c.status, c.venue_id, c.contact_id, vc.is_staff, c.bot_misses FROM conversations c \
         LEFT JOIN venue_contacts vc ON vc.id = c.contact_id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Whether the venue contact is staff of `venue`: the bot changes a player only for them.
pub async fn is_staff_of(db: impl PgExecutor<'_>, contact: Uuid, venue: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM venue_contacts WHERE id = $1 AND venue_id = $2 AND is_staff)")
        .bind(contact)
        .bind(venue)
        .fetch_one(db)
        .await
}

/// The message's text and, for a tapped button or menu item, its id.
pub async fn message(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<(String, Option<String>)> {
    sqlx::query_as(
        "SELECT content, CASE WHEN kind = 'choice' THEN metadata->'body'->>'id' END FROM messages WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await
}

/// The venue already asked the same thing in the last 15 minutes and the bot answered it.
pub async fn asked_again(db: impl PgExecutor<'_>, conversation: Uuid, message: Uuid, text: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM messages p WHERE p.conversation_id = $1 AND p.direction = 'in' \
         AND p.id <> $2 AND lower(p.content) = lower($3) AND p.created_at > now() - interval '15 minutes' \
         AND EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = $1 AND b.sender_type = 'bot' \
                     AND b.id > p.id))",
    )
    .bind(conversation)
    .bind(message)
    .bind(text)
    .fetch_one(db)
    .await
}

/// Locks the conversation and says whether the bot still owns it.
pub async fn still_pending(db: impl PgExecutor<'_>, conversation: Uuid) -> sqlx::Result<bool> {
    let status: Option<ConversationStatus> =
        sqlx::query_scalar("SELECT status FROM conversations WHERE id = $1 FOR UPDATE")
            .bind(conversation)
            .fetch_optional(db)
            .await?;
    Ok(status == Some(ConversationStatus::Pending))
}

/// Counts a message the bot could not read, or (`missed` false) clears the count.
pub async fn record_miss(db: impl PgExecutor<'_>, conversation: Uuid, missed: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE conversations SET bot_misses = CASE WHEN $2 THEN bot_misses + 1 ELSE 0 END WHERE id = $1")
        .bind(conversation)
        .bind(missed)
        .execute(db)
        .await
        .map(|_| ())
}

/// A person takes over: the conversation opens and the bot's miss count starts again.
pub async fn hand_over(db: impl PgExecutor<'_>, conversation: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET status = 'open', handed_over_at = now(), bot_misses = 0, \
            waiting_since = COALESCE(waiting_since, now()), updated_at = now() WHERE id = $1",
    )
    .bind(conversation)
    .execute(db)
    .await
    .map(|_| ())
}
