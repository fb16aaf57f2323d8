//! The satisfaction survey in the store: sent once per conversation, answered once.

use bma_domain::contact::Channel;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where a conversation's survey would go, and whether it may.
#[derive(Debug, Clone, FromRow)]
pub struct SurveyTarget {
    pub channel: Channel,
    pub contact_name: Option<String>,
    pub last_inbound_at: Option<OffsetDateTime>,
    /// `None` for an unknown sender.
    pub opted_out: Option<bool>,
}

pub async fn survey_target(db: impl PgExecutor<'_>, conversation_id: Uuid) -> sqlx::Result<Option<SurveyTarget>> {
    sqlx::query_as(
        "SELECT c.channel, c.contact_name, c.last_inbound_at, vc.opted_out FROM conversations c \
         LEFT JOIN venue_contacts vc ON vc.id = c.contact_id WHERE c.id = $1",
    )
    .bind(conversation_id)
    .fetch_optional(db)
    .await
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
