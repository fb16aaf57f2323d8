//! A conversation's lifecycle in the store: created on first contact, replied to, assigned
//! round robin, given a status, linked to a venue contact.

use super::KnownContact;
use bma_domain::contact::Channel;
use bma_domain::messaging::ConversationStatus;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct ConversationState {
    pub id: Uuid,
    pub status: ConversationStatus,
    pub venue_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub handed_over_at: Option<OffsetDateTime>,
    pub survey_sent_at: Option<OffsetDateTime>,
    pub last_inbound_at: Option<OffsetDateTime>,
    pub inserted: bool,
}

pub struct NewConversation<'a> {
    pub channel: Channel,
    pub external_id: &'a str,
    pub venue_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    pub contact_name: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub reply_to: Option<&'a str>,
    pub status: ConversationStatus,
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

pub async fn set_status(
    db: impl PgExecutor<'_>,
    conversation_id: Uuid,
    status: ConversationStatus,
) -> sqlx::Result<()> {
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

/// Snoozes until `until`; the next message from the venue reopens it.
pub async fn snooze(db: impl PgExecutor<'_>, conversation_id: Uuid, until: OffsetDateTime) -> sqlx::Result<()> {
    sqlx::query("UPDATE conversations SET status = 'snoozed', snoozed_until = $2, updated_at = now() WHERE id = $1")
        .bind(conversation_id)
        .bind(until)
        .execute(db)
        .await
        .map(|_| ())
}

/// Gives the conversation back to the bot: pending, unassigned, as if never handed over.
pub async fn hand_to_bot(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE conversations SET status = 'pending', handed_over_at = NULL, bot_misses = 0, assigned_to = NULL, \
         updated_at = now() WHERE id = $1",
    )
    .bind(conversation_id)
    .execute(db)
    .await
    .map(|_| ())
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
