//! Sending a campaign exactly once. `start` writes every recipient down (once per campaign and
//! contact, so a second start could add nothing) and moves the campaign to `sending` in one
//! transaction with its `campaign.send` job; a second "send" finds it no longer a draft and is
//! refused. The job hands recipients to the ordinary outbound path in batches: each batch
//! stores the messages, their `message.send` jobs and the recipients' links in one
//! transaction, so a worker that dies mid-batch leaves those recipients unlinked and the retry
//! queues them once. From there `message.send`'s own rules (no repeat of an unknown outcome)
//! hold. The job reads the campaign's status before each batch, so a pause stops it.

use super::audience::{self, Unreachable};
use super::draft;
use super::{check_whatsapp_template, refused, render};
use crate::jobs::tasks::{CampaignSendJob, DueCampaignsJob};
use crate::jobs::{self, Handler};
use crate::messaging::outbound::{self, Author, OutboundBody};
use crate::services::{Actor, snapshot};
use crate::{AppContext, Error, Result};
use async_trait::async_trait;
use bma_domain::Invalid;
use bma_domain::campaign::{CampaignAction, CampaignStatus, RecipientStatus, RenderContext};
use bma_domain::contact::Channel;
use bma_domain::messaging::{ConversationStatus, ServiceWindow};
use bma_store::audit;
use bma_store::campaigns::{self as store, Campaign, PendingRecipient};
use bma_store::messaging as msg_store;
use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Recipients handed to their channel per transaction (and so, at most, per LINE multicast
/// call: LINE takes 500 user ids a call).
const BATCH: i64 = 500;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SendReport {
    pub campaign: Campaign,
    /// Contacts whose message is now queued.
    pub recipients: usize,
    pub opted_out: usize,
    /// Venues nobody will hear from, each with the reason; the rest are sent to.
    pub unreachable: Vec<Unreachable>,
}

/// A `campaign.progress` event on the live feed: the campaign's status and how many
/// recipients were just handed to their channels. Every change of a campaign's status and every
/// batch handed over comes through here, so it also invalidates the cached campaign figures.
pub(crate) async fn progress(ctx: &AppContext, id: Uuid, status: CampaignStatus, handed: usize) {
    crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
    let event = serde_json::json!({"type": "campaign.progress", "id": id, "status": status, "handed": handed});
    let _ = ctx.kv.pubsub.publish("events", &event.to_string()).await;
}

pub(crate) async fn enqueue(ctx: &AppContext, db: &mut PgConnection, campaign_id: Uuid) -> Result<()> {
    jobs::enqueue(ctx, &mut *db, &CampaignSendJob { campaign_id }, jobs::Options::default()).await?;
    Ok(())
}

/// Starts sending a draft or scheduled campaign now.
pub async fn start(ctx: &AppContext, actor: &Actor, id: Uuid) -> Result<SendReport> {
    let mut tx = ctx.db.begin().await?;
    let before = store::lock(&mut *tx, id).await?.ok_or(Error::NotFound("campaign"))?;
    let to = before.status.after(CampaignAction::Send).ok_or_else(|| refused(&before, CampaignAction::Send))?;
    let resolution = audience::resolve(&mut tx, &before).await?;
    if resolution.to_send() == 0 {
        let mut inv = Invalid::default();
        inv.push(
            "audience",
            if resolution.venues.is_empty() {
                "no venue matches the campaign's audience; nothing was sent".to_owned()
            } else {
                format!(
                    "none of the {} venues has a contact the campaign can reach ({} opted out); nothing was sent",
                    resolution.venues.len(),
                    resolution.opted_out()
                )
            },
        );
        for u in resolution.unreachable.iter().take(20) {
            inv.push(format!("audience.venues[{}]", u.venue_id), format!("{}: {}", u.venue_name, u.reason));
        }
        return Err(inv.into());
    }
    let on_whatsapp = resolution
        .recipients
        .iter()
        .any(|r| r.status == RecipientStatus::Queued && r.channel == Some(Channel::Whatsapp));
    if on_whatsapp {
        let template = before.whatsapp_template.as_deref().ok_or_else(|| {
            Invalid::one("whatsapp_template", "a campaign that goes out on WhatsApp needs an approved template")
        })?;
        check_whatsapp_template(ctx, template, true).await?;
    }
    let local = before.send_at_local.as_deref().and_then(draft::parse_local);
    let quiet = before
        .quiet_start
        .as_deref()
        .and_then(store::parse_clock)
        .zip(before.quiet_end.as_deref().and_then(store::parse_clock));
    store::insert_recipients(&mut *tx, id, &resolution.recipients, local, quiet).await?;
    store::set_status(&mut *tx, id, &[before.status], to).await?;
    enqueue(ctx, &mut tx, id).await?;
    let campaign = store::find(&mut *tx, id).await?.ok_or(Error::NotFound("campaign"))?;
    let after = serde_json::json!({
        "status": campaign.status, "recipients": resolution.to_send(), "opted_out": resolution.opted_out(),
        "unreachable": resolution.unreachable.len(),
    });
    audit::record(&mut *tx, actor.audit("campaign.send", "campaign", id, snapshot(&before), Some(after))).await?;
    tx.commit().await?;
    progress(ctx, id, campaign.status, 0).await;
    Ok(SendReport {
        campaign,
        recipients: resolution.to_send(),
        opted_out: resolution.opted_out(),
        unreachable: resolution.unreachable,
    })
}

/// The job that hands a sending campaign's recipients to their channels.
pub struct CampaignSend;

#[async_trait]
impl Handler for CampaignSend {
    type Job = CampaignSendJob;

    async fn run(&self, ctx: &AppContext, CampaignSendJob { campaign_id }: CampaignSendJob) -> anyhow::Result<()> {
        loop {
            let mut tx = ctx.db.begin().await?;
            let Some(c) = store::lock(&mut *tx, campaign_id).await? else { return Ok(()) };
            if c.status != CampaignStatus::Sending {
                return Ok(());
            }
            let batch = store::next_pending(&mut *tx, campaign_id, BATCH).await?;
            if batch.is_empty() {
                let next = store::next_due(&mut *tx, campaign_id).await?;
                match next {
                    None => {
                        store::set_status(&mut *tx, campaign_id, &[CampaignStatus::Sending], CampaignStatus::Sent)
                            .await?;
                        let system = Actor::member(None, None, None);
                        let after = serde_json::json!({"status": CampaignStatus::Sent});
                        audit::record(
                            &mut *tx,
                            system.audit("campaign.sent", "campaign", campaign_id, None, Some(after)),
                        )
                        .await?;
                    }
                    // Venues whose local time has not come yet: wake up when the next one's does.
                    Some(next) => {
                        let at = next.max(OffsetDateTime::now_utc() + time::Duration::seconds(1));
                        let opts = jobs::Options::default()
                            .run_at(at)
                            .dedup(format!("campaign.wake:{campaign_id}:{}", at.unix_timestamp()));
                        jobs::enqueue(ctx, &mut *tx, &CampaignSendJob { campaign_id }, opts).await?;
                    }
                }
                tx.commit().await?;
                if next.is_none() {
                    progress(ctx, campaign_id, CampaignStatus::Sent, 0).await;
                }
                return Ok(());
            }
            let mut on_line = Vec::new();
            for r in &batch {
                if let Some(staged) = queue_one(ctx, &mut tx, &c, r, true).await? {
                    on_line.push(staged);
                }
            }
            super::multicast::plan(ctx, &mut tx, campaign_id, on_line).await?;
            tx.commit().await?;
            progress(ctx, campaign_id, CampaignStatus::Sending, batch.len()).await;
        }
    }
}

/// A campaign message failed for certain (the channel refused it or reported it failed): the
/// recipient moves to the next channel of the campaign's order the contact has an address on,
/// and that message is queued in the caller's transaction. Returns whether it moved. A send
/// whose outcome is unknown is never passed here, so nobody gets the campaign twice.
pub async fn on_failed(ctx: &AppContext, db: &mut PgConnection, message_id: Uuid, reason: &str) -> Result<bool> {
    let Some((recipient, campaign_id, contact_id, channel)) = store::recipient_of_message(&mut *db, message_id).await?
    else {
        return Ok(false);
    };
    let Some(c) = store::find(&mut *db, campaign_id).await? else { return Ok(false) };
    if c.status == CampaignStatus::Cancelled {
        return Ok(false);
    }
    let Some(contact) = store::contact_for(&mut *db, contact_id, c.kind.is_promotional()).await? else {
        return Ok(false);
    };
    let order = c.channel.order(contact.channel, &c.channel_fallback);
    let next = order
        .iter()
        .position(|ch| *ch == channel)
        .and_then(|at| order[at + 1..].iter().copied().find(|ch| contact.address(*ch).is_some()));
    let Some(next) = next.filter(|_| !contact.opted_out) else { return Ok(false) };
    let note = format!("{} failed ({reason}); moved to {}", channel.as_str(), next.as_str());
    let Some(pending) = store::move_to_channel(&mut *db, recipient, next, &note).await? else { return Ok(false) };
    queue_one(ctx, db, &c, &pending, false).await.map_err(Error::Internal)?;
    Ok(true)
}

/// Hands one recipient to its channel in the caller's transaction: its message is stored with
/// its send job, or, for a LINE recipient when `multicast`, stored without one and returned
/// (recipient id, text) for [`super::multicast::plan`] to put into a multicast call.
async fn queue_one(
    ctx: &AppContext,
    db: &mut PgConnection,
    c: &Campaign,
    r: &PendingRecipient,
    multicast: bool,
) -> anyhow::Result<Option<(Uuid, String)>> {
    if r.opted_out {
        store::settle(&mut *db, r.id, RecipientStatus::OptedOut, "the contact opted out before sending").await?;
        return Ok(None);
    }
    let initial = if ctx.config.messaging.bot_enabled { ConversationStatus::Pending } else { ConversationStatus::Open };
    let conv = msg_store::upsert_conversation(
        &mut *db,
        msg_store::NewConversation {
            channel: r.channel,
            external_id: &r.address,
            venue_id: Some(r.venue_id),
            contact_id: Some(r.contact_id),
            contact_name: Some(&r.contact_name),
            subject: (r.channel == Channel::Email).then_some(c.name.as_str()),
            reply_to: None,
            status: initial,
        },
    )
    .await?;
    let rc = RenderContext {
        venue_name: &r.venue_name,
        venue_brand: r.venue_brand.as_deref(),
        venue_country: r.venue_country.as_deref(),
        contact_name: &r.contact_name,
        contact_role: r.contact_role.as_deref(),
        zone_count: r.zone_count,
        campaign_name: &c.name,
    };
    let (mut text, params) = render(c, &rc)?;
    if c.kind.is_promotional() && r.channel != Channel::Email {
        text.push_str(bma_domain::campaign::OptReply::hint(&text));
    }
    let window_open = ServiceWindow::at(conv.last_inbound_at, OffsetDateTime::now_utc()).is_open();
    let body = match (r.channel, c.whatsapp_template.as_deref()) {
        (Channel::Whatsapp, Some(t)) if !window_open => OutboundBody::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            params,
            quick_replies: vec![],
            text,
        },
        _ => OutboundBody::Text { text },
    };
    let staged = multicast && r.channel == Channel::Line;
    let queued = if staged {
        outbound::stage(ctx, db, conv.id, Author::System, &body).await.map(|(id, _)| id)
    } else {
        outbound::queue(ctx, db, conv.id, Author::System, &body).await
    };
    match queued {
        Ok(message_id) => {
            store::link_message(&mut *db, r.id, conv.id, message_id).await?;
            Ok(staged.then(|| (r.id, body.preview())))
        }
        Err(e @ (Error::Conflict { .. } | Error::Invalid(_))) => {
            store::settle(&mut *db, r.id, RecipientStatus::Failed, &e.to_string()).await?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Starts every scheduled campaign whose time has come (each scheduler slot fires once, and a
/// campaign starts once: `start` refuses one that is no longer scheduled). One that cannot
/// start (its audience is empty, its template gone) is marked failed with the reason.
pub struct DueCampaigns;

#[async_trait]
impl Handler for DueCampaigns {
    type Job = DueCampaignsJob;

    async fn run(&self, ctx: &AppContext, _job: DueCampaignsJob) -> anyhow::Result<()> {
        let system = Actor::member(None, None, None);
        for id in store::due(&ctx.db, OffsetDateTime::now_utc()).await? {
            match start(ctx, &system, id).await {
                Ok(_) | Err(Error::Conflict { .. }) => {}
                Err(e @ Error::Invalid(_)) => {
                    let mut tx = ctx.db.begin().await?;
                    if store::set_status(&mut *tx, id, &[CampaignStatus::Scheduled], CampaignStatus::Failed).await? {
                        let after = serde_json::json!({"status": CampaignStatus::Failed, "reason": e.to_string()});
                        audit::record(&mut *tx, system.audit("campaign.fail", "campaign", id, None, Some(after)))
                            .await?;
                    }
                    tx.commit().await?;
                    crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
                }
                Err(e) => {
                    tracing::warn!(campaign_id = %id, error = %e, "a due campaign did not start; retried next minute")
                }
            }
        }
        Ok(())
    }
}
