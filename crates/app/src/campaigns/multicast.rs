//! LINE campaigns by multicast. The send run stores each LINE recipient's message without a
//! send job and [`plan`] writes the recipients that read the same text down as one call's
//! batch (at most 500 user ids, LINE's limit), with its `campaign.multicast` job, in the same
//! transaction. The job marks the batch's messages `sending` and commits before calling LINE
//! with an `X-Line-Retry-Key` derived from the campaign and the batch number ([`retry_key`]):
//! a call whose outcome is unknown (timeout, 5xx, a worker killed mid-call) is retried with
//! the same key, and LINE's 409 "already accepted" means it went out the first time, so the
//! batch is marked sent and nobody gets it twice. A 429 is a refusal: nothing went out, the
//! job waits without spending an attempt.

use crate::jobs::tasks::CampaignMulticastJob;
use crate::jobs::{self, Handler};
use crate::messaging::outbound;
use crate::{AppContext, Result};
use async_trait::async_trait;
use bma_domain::contact::{Channel, LineUserId};
use bma_domain::messaging::{DeliveryStatus, SendMethod};
use bma_integrations::line::{LineClient, SendError};
use bma_store::campaigns as store;
use bma_store::messaging as msg_store;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

/// The retry key of a campaign's multicast call `batch`: the same for every attempt, different
/// for every call.
pub fn retry_key(campaign_id: Uuid, batch: i32) -> Uuid {
    let mut input = b"bma-social campaign multicast v1".to_vec();
    input.extend_from_slice(campaign_id.as_bytes());
    input.extend_from_slice(&batch.to_be_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Writes the staged LINE recipients `(recipient id, text)` down in multicast batches, one per
/// text and 500 user ids, each with its job, in the caller's transaction (which holds the
/// campaign's row lock, so batch numbers are not handed out twice).
pub(crate) async fn plan(
    ctx: &AppContext,
    db: &mut PgConnection,
    campaign_id: Uuid,
    staged: Vec<(Uuid, String)>,
) -> Result<()> {
    let mut groups: Vec<(String, Vec<Uuid>)> = Vec::new();
    for (id, text) in staged {
        match groups.iter_mut().find(|(t, _)| *t == text) {
            Some((_, ids)) => ids.push(id),
            None => groups.push((text, vec![id])),
        }
    }
    for (_, ids) in groups {
        for chunk in ids.chunks(LineClient::MULTICAST_MAX) {
            let batch = store::next_multicast_batch(&mut *db, campaign_id).await?;
            store::set_multicast_batch(&mut *db, chunk, batch).await?;
            jobs::enqueue(ctx, &mut *db, &CampaignMulticastJob { campaign_id, batch }, jobs::Options::default())
                .await?;
        }
    }
    Ok(())
}

/// The job that makes one multicast call.
pub struct CampaignMulticast;

#[async_trait]
impl Handler for CampaignMulticast {
    type Job = CampaignMulticastJob;

    async fn run(
        &self,
        ctx: &AppContext,
        CampaignMulticastJob { campaign_id, batch }: CampaignMulticastJob,
    ) -> anyhow::Result<()> {
        let Some(client) = ctx.channels.line.as_ref() else {
            anyhow::bail!("LINE is not configured; the multicast waits");
        };
        let mut tx = ctx.db.begin().await?;
        let mut to = Vec::new();
        let mut batch_out = Vec::new();
        let mut bad = Vec::new();
        for id in store::multicast_messages(&mut *tx, campaign_id, batch).await? {
            let Some(out) = msg_store::outgoing_for_update(&mut *tx, id).await? else { continue };
            let open = matches!(out.delivery_status, Some(DeliveryStatus::Queued | DeliveryStatus::Sending));
            if !open || out.channel != Channel::Line {
                continue;
            }
            match LineUserId::parse(&out.address) {
                Ok(user) => {
                    to.push(user);
                    batch_out.push(out);
                }
                Err(_) => bad.push(out),
            }
        }
        for out in &batch_out {
            msg_store::mark_sending(&mut *tx, out.id, SendMethod::Push).await?;
        }
        tx.commit().await?;
        for out in bad {
            let err = json!({"code": "bad_address", "title": "not a LINE user id"});
            outbound::record_failure(ctx, out.id, out.conversation_id, &err, true).await?;
        }
        let Some(first) = batch_out.first() else { return Ok(()) };
        let messages = [outbound::body_of(first).to_line()];
        match client.multicast(&to, &messages, retry_key(campaign_id, batch)).await {
            Ok(outcome) => {
                for out in &batch_out {
                    msg_store::mark_sent(&ctx.db, out.id, None).await?;
                }
                crate::cache::bump_after_write(ctx, &[crate::cache::CAMPAIGNS]).await;
                metrics::counter!("messages_outbound_total", "channel" => "line").increment(batch_out.len() as u64);
                tracing::info!(%campaign_id, batch, recipients = batch_out.len(), already_accepted = outcome.already_accepted, "LINE multicast sent");
                Ok(())
            }
            Err(e @ SendError::RateLimited { .. }) => {
                let err = json!({"code": e.code(), "title": e.to_string()});
                for out in &batch_out {
                    msg_store::mark_queued(&ctx.db, out.id, &err).await?;
                }
                Err(jobs::Deferred { after: std::time::Duration::from_secs(1), reason: e.to_string() }.into())
            }
            // LINE may have taken it: the messages stay `sending` and the retry repeats the key.
            Err(e) if e.is_retryable() => {
                anyhow::bail!("LINE multicast outcome unknown; retried under the same key: {e}")
            }
            Err(e) => {
                let err = json!({"code": e.code(), "title": e.to_string()});
                for out in &batch_out {
                    outbound::record_failure(ctx, out.id, out.conversation_id, &err, true).await?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_its_retry_key_and_no_two_batches_share_one() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(retry_key(a, 1), retry_key(a, 1));
        assert_ne!(retry_key(a, 1), retry_key(a, 2));
        assert_ne!(retry_key(a, 1), retry_key(b, 1));
    }
}
