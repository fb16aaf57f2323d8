//! The venue contact behind a channel address, and what the channels tell us about them
//! (LINE follow and unfollow).

use bma_domain::contact::Channel;
use sqlx::{FromRow, PgExecutor};
use uuid::Uuid;

/// Who a channel address belongs to.
#[derive(Debug, Clone, FromRow)]
pub struct KnownContact {
    pub id: Uuid,
    pub venue_id: Uuid,
    pub name: String,
    pub is_staff: bool,
}

/// The venue contact behind a channel address.
pub async fn find_contact(
    db: impl PgExecutor<'_>,
    channel: Channel,
    address: &str,
) -> sqlx::Result<Option<KnownContact>> {
    let column = match channel {
        Channel::Whatsapp => "whatsapp_number",
        Channel::Line => "line_user_id",
        Channel::Email => "email",
    };
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.venue_id, c.name, c.is_staff FROM venue_contacts c JOIN venues v ON v.id = c.venue_id \
         WHERE c.{column} = $1 ORDER BY (v.archived_at IS NULL) DESC, c.is_staff DESC, c.created_at LIMIT 1"
    )))
    .bind(address)
    .fetch_optional(db)
    .await
}

/// A staff contact of a venue reachable on WhatsApp or LINE.
#[derive(Debug, Clone, FromRow)]
pub struct ChatStaff {
    pub id: Uuid,
    pub name: String,
    pub channel: Channel,
    pub whatsapp_number: Option<String>,
    pub line_user_id: Option<String>,
}

/// The venue's staff contacts on WhatsApp or LINE who have not opted out.
pub async fn staff_on_chat(db: impl PgExecutor<'_>, venue_id: Uuid) -> sqlx::Result<Vec<ChatStaff>> {
    sqlx::query_as(
        "SELECT id, name, channel, whatsapp_number, line_user_id FROM venue_contacts \
         WHERE venue_id = $1 AND is_staff AND NOT opted_out AND channel IN ('whatsapp', 'line')",
    )
    .bind(venue_id)
    .fetch_all(db)
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

/// Marks a contact as having blocked or unblocked the account (LINE unfollow / follow).
pub async fn set_opted_out(db: impl PgExecutor<'_>, contact_id: Uuid, opted_out: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE venue_contacts SET opted_out = $2, updated_at = now() WHERE id = $1")
        .bind(contact_id)
        .bind(opted_out)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn contact_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<KnownContact>> {
    sqlx::query_as("SELECT id, venue_id, name, is_staff FROM venue_contacts WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
}
