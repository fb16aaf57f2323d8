//! What the team does with a conversation: reply, write a private note, assign, snooze, close
//! (which sends the survey once), link an unknown sender to a venue contact, and hand a
//! conversation back to the bot. Each change is audited in its own transaction.

use super::outbound::{self, Author, OutboundBody};
use super::survey;
use crate::services::Actor;
use crate::{AppContext, Error, Result};
use bma_domain::messaging::{ConversationStatus, SenderType};
use bma_store::messaging::{self as store, Conversation};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

async fn current(db: &mut sqlx::PgConnection, id: Uuid) -> Result<Conversation> {
    sqlx::query("SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *db).await?;
    store::conversation(&mut *db, id).await?.ok_or(Error::NotFound("conversation"))
}

/// Reads the conversation back, records the audit entry and commits: the end of every change.
async fn audited(
    ctx: &AppContext,
    mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
    actor: &Actor,
    action: &str,
    id: Uuid,
    before: serde_json::Value,
    after: impl FnOnce(&Conversation) -> serde_json::Value,
) -> Result<Conversation> {
    let conversation = store::conversation(&mut *tx, id).await?.ok_or(Error::NotFound("conversation"))?;
    let after = after(&conversation);
    bma_store::audit::record(&mut *tx, actor.audit(action, "conversation", id, Some(before), Some(after))).await?;
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::INBOX]).await;
    crate::events::publish(ctx, &serde_json::json!({"type": "conversation.updated", "id": id, "action": action})).await;
    Ok(conversation)
}

/// A team reply, sent through the conversation's channel. A person replying takes the
/// conversation over from the bot.
pub async fn reply(ctx: &AppContext, actor: &Actor, id: Uuid, body: &OutboundBody) -> Result<Uuid> {
    let member = actor.member_id.ok_or_else(|| Error::Forbidden("only a member can reply".into()))?;
    let mut tx = ctx.db.begin().await?;
    let _ = current(&mut tx, id).await?;
    let message = outbound::queue(ctx, &mut tx, id, Author::Member(member), body).await?;
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::INBOX]).await;
    crate::events::publish(ctx, &serde_json::json!({"type": "conversation.updated", "id": id, "action": "reply"}))
        .await;
    Ok(message)
}

/// A private note: visible to the team only, never sent to the venue.
pub async fn add_note(ctx: &AppContext, actor: &Actor, id: Uuid, text: &str) -> Result<Uuid> {
    let mut tx = ctx.db.begin().await?;
    let _ = current(&mut tx, id).await?;
    let note = outbound::note(&mut tx, id, actor.member_id, SenderType::Team, text).await?;
    tx.commit().await?;
    Ok(note)
}

#[derive(Debug, Clone, Copy)]
pub enum Assignee {
    Member(Uuid),
    /// The next member in the round robin.
    Auto,
    Nobody,
}

pub async fn assign(ctx: &AppContext, actor: &Actor, id: Uuid, to: Assignee) -> Result<Conversation> {
    let mut tx = ctx.db.begin().await?;
    let before = current(&mut tx, id).await?;
    match to {
        Assignee::Member(m) => {
            if !store::is_assignable_member(&mut *tx, m).await? {
                return Err(Error::Invalid(bma_domain::Invalid::one(
                    "member_id",
                    "must be an active admin or manager",
                )));
            }
            store::assign(&mut *tx, id, Some(m)).await?;
        }
        Assignee::Nobody => {
            store::assign(&mut *tx, id, None).await?;
        }
        Assignee::Auto => {
            store::assign(&mut *tx, id, None).await?;
            super::assignment::assign_if_unassigned(ctx, &mut tx, id).await?;
        }
    }
    audited(
        ctx,
        tx,
        actor,
        "conversation.assign",
        id,
        serde_json::json!({"assigned_to": before.assigned_to}),
        |c| serde_json::json!({"assigned_to": c.assigned_to}),
    )
    .await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Closed {
    pub conversation: Conversation,
    /// A satisfaction survey went out (only on the first close, and only to a reachable venue).
    pub survey_sent: bool,
}

pub async fn close(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<Closed> {
    let mut tx = ctx.db.begin().await?;
    let before = current(&mut tx, id).await?;
    if before.status == ConversationStatus::Closed {
        return Err(Error::conflict("already_closed", "this conversation is already closed"));
    }
    store::set_status(&mut *tx, id, ConversationStatus::Closed).await?;
    let survey_sent = survey::send_on_close(ctx, &mut tx, id).await?;
    let conversation = audited(
        ctx,
        tx,
        actor,
        "conversation.close",
        id,
        serde_json::json!({"status": before.status}),
        |_| serde_json::json!({"status": ConversationStatus::Closed, "survey_sent": survey_sent}),
    )
    .await?;
    Ok(Closed { conversation, survey_sent })
}

pub async fn snooze(ctx: &AppContext, actor: &Actor, id: Uuid, until: OffsetDateTime) -> Result<Conversation> {
    if until <= OffsetDateTime::now_utc() {
        return Err(Error::Invalid(bma_domain::Invalid::one("until", "must be in the future")));
    }
    let mut tx = ctx.db.begin().await?;
    let before = current(&mut tx, id).await?;
    store::snooze(&mut *tx, id, until).await?;
    audited(
        ctx,
        tx,
        actor,
        "conversation.snooze",
        id,
        serde_json::json!({"status": before.status}),
        |_| serde_json::json!({"status": ConversationStatus::Snoozed, "until": until.unix_timestamp()}),
    )
    .await
}

/// Gives a conversation back to the bot (pending); it answers the venue's next message.
pub async fn hand_to_bot(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<Conversation> {
    let mut tx = ctx.db.begin().await?;
    let before = current(&mut tx, id).await?;
    store::hand_to_bot(&mut *tx, id).await?;
    let before = serde_json::json!({"status": before.status, "assigned_to": before.assigned_to});
    audited(
        ctx,
        tx,
        actor,
        "conversation.hand_to_bot",
        id,
        before,
        |_| serde_json::json!({"status": ConversationStatus::Pending}),
    )
    .await
}

/// Links an unknown sender's conversation to a venue contact.
pub async fn link(ctx: &AppContext, actor: &Actor, id: Uuid, contact_id: Uuid) -> Result<Conversation> {
    let mut tx = ctx.db.begin().await?;
    let before = current(&mut tx, id).await?;
    let contact = store::contact_by_id(&mut *tx, contact_id)
        .await?
        .ok_or_else(|| Error::Invalid(bma_domain::Invalid::one("contact_id", "no such contact")))?;
    store::link_contact(&mut *tx, id, &contact).await?;
    let before = serde_json::json!({"contact_id": before.contact_id, "venue_id": before.venue_id});
    audited(
        ctx,
        tx,
        actor,
        "conversation.link",
        id,
        before,
        |c| serde_json::json!({"contact_id": c.contact_id, "venue_id": c.venue_id}),
    )
    .await
}
