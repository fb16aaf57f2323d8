//! Storing what venues send. A webhook's whole batch is written in one transaction, together
//! with the jobs it causes (bot reply, media download), and only then acknowledged; a
//! redelivered item finds its provider id already stored and changes nothing.

use super::survey;
use crate::jobs::tasks::{BotReplyJob, FetchMediaJob};
use crate::jobs::{self, Options};
use crate::{AppContext, Result};
use bma_domain::contact::Channel;
use bma_domain::messaging::{
    ConversationStatus, DeliveryStatus, DeliveryUpdate, Direction, InboundItem, InboundMessage, MessageBody,
    MessageKind, Score, Sender, SenderType,
};
use bma_store::messaging as store;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// New messages stored.
    pub stored: usize,
    /// Items already stored by an earlier delivery.
    pub duplicates: usize,
    /// Delivery statuses applied.
    pub statuses: usize,
    /// Items read but not stored (unknown event kinds, malformed items).
    pub skipped: usize,
    #[serde(skip)]
    #[schema(ignore)]
    pub conversations: Vec<Uuid>,
}

/// Stores a parsed webhook batch. Returns once everything is durable.
pub async fn ingest(ctx: &AppContext, channel: Channel, items: Vec<InboundItem>) -> Result<IngestReport> {
    let mut report = IngestReport::default();
    if items.is_empty() {
        return Ok(report);
    }
    let mut tx = ctx.db.begin().await?;
    for item in items {
        match item {
            InboundItem::Message(m) => store_message(ctx, &mut tx, m, &mut report).await?,
            InboundItem::Delivery(d) => {
                if apply_delivery(ctx, &mut tx, channel, &d).await? {
                    report.statuses += 1;
                }
            }
            InboundItem::Follow { event_id, from, at, .. } => {
                follow_event(ctx, &mut tx, &event_id, &from, at, false, &mut report).await?;
            }
            InboundItem::Unfollow { event_id, from, at } => {
                follow_event(ctx, &mut tx, &event_id, &from, at, true, &mut report).await?;
            }
            InboundItem::Skipped { kind, reason } => {
                tracing::warn!(channel = channel.as_str(), kind = %kind, reason = %reason, "webhook item skipped");
                report.skipped += 1;
            }
        }
    }
    tx.commit().await?;
    crate::cache::bump_after_write(ctx, &[crate::cache::INBOX, crate::cache::SCORES, crate::cache::CAMPAIGNS]).await;
    for id in &report.conversations {
        crate::events::publish(ctx, &json!({"type": "conversation.updated", "id": id})).await;
    }
    // Delivery and read receipts move campaign funnels (the portal's live funnel listens). Like
    // `campaign.progress`, a bare and unjournaled nudge: a client that missed it reads the funnel.
    if report.statuses > 0 {
        let nudge = json!({"type": "message.status", "count": report.statuses});
        let _ = ctx.kv.pubsub.publish(crate::events::CHANNEL, &nudge.to_string()).await;
    }
    metrics::counter!("messages_inbound_total", "channel" => channel.as_str()).increment(report.stored as u64);
    Ok(report)
}

fn initial_status(ctx: &AppContext) -> ConversationStatus {
    if ctx.config.messaging.bot_enabled { ConversationStatus::Pending } else { ConversationStatus::Open }
}

async fn store_message(
    ctx: &AppContext,
    tx: &mut PgConnection,
    m: InboundMessage,
    report: &mut IngestReport,
) -> Result<()> {
    let channel = m.from.channel();
    let contact = store::find_contact(&mut *tx, channel, m.from.address()).await?;
    let mut subject = None;
    let address = match (&m.from, &m.thread) {
        (Sender::Email(_), Some(thread)) => {
            subject = Some(thread.subject.clone());
            let mut ids: Vec<String> = thread.references.clone();
            ids.extend(thread.in_reply_to.clone());
            match store::conversation_of_email_thread(&mut *tx, &ids).await? {
                Some(existing) => existing,
                None => m.external_id.clone(),
            }
        }
        _ => m.from.address().to_owned(),
    };
    let conv = store::upsert_conversation(
        &mut *tx,
        store::NewConversation {
            channel,
            external_id: &address,
            venue_id: contact.as_ref().map(|c| c.venue_id),
            contact_id: contact.as_ref().map(|c| c.id),
            contact_name: m.sender_name.as_deref().or(contact.as_ref().map(|c| c.name.as_str())),
            subject: subject.as_deref(),
            reply_to: matches!(m.from, Sender::Email(_)).then(|| m.from.address()),
            status: initial_status(ctx),
        },
    )
    .await?;
    let choice_id = match &m.body {
        MessageBody::Choice { id, .. } => Some(id.as_str()),
        _ => None,
    };
    let text = m.body.preview();
    let survey_answer = match conv.survey_sent_at {
        Some(_) if !store::has_score(&mut *tx, conv.id).await? => Score::from_answer(choice_id, &text),
        _ => None,
    };
    let kind = if survey_answer.is_some() { MessageKind::SurveyAnswer } else { m.body.kind() };
    let metadata = json!({
        "body": m.body,
        "sender_name": m.sender_name,
        "thread": m.thread,
        "raw": m.raw,
    });
    let current = conv.status;
    let status = if conv.inserted {
        current
    } else {
        current.on_inbound(ctx.config.messaging.bot_enabled, conv.handed_over_at.is_some())
    };
    let opt_reply = match (&contact, &m.body) {
        (Some(_), MessageBody::Text { text }) => crate::campaigns::opt_reply_of(&mut *tx, conv.id, text).await?,
        _ => None,
    };
    let for_bot = survey_answer.is_none() && opt_reply.is_none() && status == ConversationStatus::Pending;
    let Some(message_id) = store::insert_inbound(
        &mut *tx,
        store::NewMessage {
            conversation_id: conv.id,
            channel: Some(channel),
            external_id: Some(&m.external_id),
            direction: Direction::In,
            sender_type: SenderType::User,
            kind,
            content: &text,
            metadata,
            author_id: None,
            outbound: None,
            created_at: Some(m.sent_at),
        },
        store::OnInbound {
            at: m.sent_at,
            status,
            reply_token: m.reply_token.as_deref(),
            touch: survey_answer.is_none(),
        },
    )
    .await?
    else {
        report.duplicates += 1;
        return Ok(());
    };
    report.stored += 1;
    report.conversations.push(conv.id);
    if let (Some(reply), Some(c)) = (opt_reply, &contact) {
        crate::campaigns::opt_reply(ctx, &mut *tx, conv.id, c.id, reply, &text).await?;
    }
    if for_bot {
        let job = BotReplyJob { conversation_id: conv.id, message_id };
        jobs::enqueue(ctx, &mut *tx, &job, Options::default()).await?;
    }

    if let Some((score, comment)) = survey_answer {
        survey::record_answer(ctx, &mut *tx, conv.id, score, comment.as_deref()).await?;
        return Ok(());
    }

    if let MessageBody::Media { media_id: Some(media_id), .. } = &m.body {
        let job = FetchMediaJob { message_id, channel, media_id: media_id.clone() };
        jobs::enqueue(ctx, &mut *tx, &job, Options::default()).await?;
    }
    // Assignment happens when a conversation comes to the team, not on every message.
    if status == ConversationStatus::Open && (conv.inserted || current != status) {
        super::assignment::assign_if_unassigned(ctx, &mut *tx, conv.id).await?;
    }
    Ok(())
}

/// Applies a provider's status report to the message it names; statuses only move forward.
async fn apply_delivery(ctx: &AppContext, tx: &mut PgConnection, channel: Channel, d: &DeliveryUpdate) -> Result<bool> {
    let our_id = d.our_id.as_deref().and_then(|s| Uuid::parse_str(s).ok());
    let Some((id, current, _)) = store::delivery_target(&mut *tx, channel, &d.external_id, our_id).await? else {
        tracing::info!(channel = channel.as_str(), "status for a message we do not know; ignored");
        return Ok(false);
    };
    let current = current.unwrap_or(DeliveryStatus::Sending);
    let next = current.advance(d.status);
    let error = d.error.as_ref().map(|e| json!(e));
    store::set_delivery(&mut *tx, id, next, &d.external_id, error.as_ref(), d.at).await?;
    if next == DeliveryStatus::Failed && current != DeliveryStatus::Failed {
        tracing::warn!(message_id = %id, error = ?d.error, "provider reports a failed delivery");
        let reason = error.as_ref().map_or_else(|| "failed".to_owned(), ToString::to_string);
        crate::campaigns::send::on_failed(ctx, tx, id, &reason).await?;
    }
    Ok(true)
}

async fn follow_event(
    ctx: &AppContext,
    tx: &mut PgConnection,
    event_id: &str,
    from: &Sender,
    at: time::OffsetDateTime,
    unfollow: bool,
    report: &mut IngestReport,
) -> Result<()> {
    let channel = from.channel();
    let contact = store::find_contact(&mut *tx, channel, from.address()).await?;
    let conv = store::upsert_conversation(
        &mut *tx,
        store::NewConversation {
            channel,
            external_id: from.address(),
            venue_id: contact.as_ref().map(|c| c.venue_id),
            contact_id: contact.as_ref().map(|c| c.id),
            contact_name: contact.as_ref().map(|c| c.name.as_str()),
            subject: None,
            reply_to: None,
            status: initial_status(ctx),
        },
    )
    .await?;
    let text = if unfollow { "The contact blocked our LINE account." } else { "The contact added our LINE account." };
    let inserted = store::insert_message(
        &mut *tx,
        store::NewMessage {
            conversation_id: conv.id,
            channel: Some(channel),
            external_id: Some(event_id),
            direction: Direction::Note,
            sender_type: SenderType::System,
            kind: if unfollow { MessageKind::Unfollow } else { MessageKind::Follow },
            content: text,
            metadata: json!({}),
            author_id: None,
            outbound: None,
            created_at: Some(at),
        },
    )
    .await?;
    if inserted.is_none() {
        report.duplicates += 1;
        return Ok(());
    }
    report.stored += 1;
    if let Some(c) = contact {
        store::set_opted_out(&mut *tx, c.id, unfollow).await?;
    }
    Ok(())
}
