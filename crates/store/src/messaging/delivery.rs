//! Outbound messages carry their own delivery state, which the send job and the providers'
//! status webhooks move forward.

use bma_domain::contact::Channel;
use bma_domain::messaging::{DeliveryStatus, SendMethod};
use serde_json::Value;
use sqlx::{FromRow, PgExecutor};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, FromRow)]
pub struct Outgoing {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub channel: Channel,
    pub address: String,
    pub subject: Option<String>,
    pub content: String,
    pub outbound: Option<Value>,
    pub delivery_status: Option<DeliveryStatus>,
    pub send_method: Option<SendMethod>,
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
pub async fn mark_sending(db: impl PgExecutor<'_>, id: Uuid, method: SendMethod) -> sqlx::Result<()> {
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
    channel: Channel,
    external_id: &str,
    our_id: Option<Uuid>,
) -> sqlx::Result<Option<(Uuid, Option<DeliveryStatus>, Option<String>)>> {
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
    status: DeliveryStatus,
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
