//! Every job kind of the service, as payload types (what `jobs::enqueue` takes and a handler
//! receives), and the handlers of the foundation's own jobs: email delivery and the database's
//! upkeep. The other handlers live with the code they run (messaging, the bot, the uptime
//! rollup and the status log's partitions); their payloads live here, so a module can queue another's job without importing it.

use super::{Handler, Job};
use crate::AppContext;
use async_trait::async_trait;
use bma_integrations::email::OutgoingEmail;
use bma_store::jobs::Priority;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl Job for EmailJob {
    const KIND: &'static str = "send_email";
    const PRIORITY: Priority = Priority::HIGH;
}

/// Sends one stored outbound message (`messaging::outbound::SendMessage`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessageJob {
    pub message_id: Uuid,
    /// Carried so the pace can be kept before touching the database.
    pub channel: bma_domain::contact::Channel,
}

impl Job for SendMessageJob {
    const KIND: &'static str = "message.send";
    const PRIORITY: Priority = Priority::HIGH;

    fn dedup_key(&self) -> Option<String> {
        Some(format!("send:{}", self.message_id))
    }
}

/// Keeps the media a venue sent (`messaging::media::FetchMedia`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FetchMediaJob {
    pub message_id: Uuid,
    pub channel: bma_domain::contact::Channel,
    pub media_id: String,
}

impl Job for FetchMediaJob {
    const KIND: &'static str = "message.fetch_media";

    fn dedup_key(&self) -> Option<String> {
        Some(format!("media:{}", self.message_id))
    }
}

/// The bot answers one inbound message (`bot::BotReply`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotReplyJob {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
}

impl Job for BotReplyJob {
    const KIND: &'static str = "bot.reply";
    const PRIORITY: Priority = Priority::URGENT;
}

/// Hands a sending campaign's recipients to their channels (`campaigns::send::CampaignSend`).
/// Deliberately without a dedup key: a resume while the previous run is finishing must still
/// queue a run, and two runs take turns on the campaign's row lock.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignSendJob {
    pub campaign_id: Uuid,
}

impl Job for CampaignSendJob {
    const KIND: &'static str = "campaign.send";
}

/// One LINE multicast call of a campaign (`campaigns::multicast::CampaignMulticast`): the
/// recipients written down under `batch`, sent with the retry key derived from both.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignMulticastJob {
    pub campaign_id: Uuid,
    pub batch: i32,
}

impl Job for CampaignMulticastJob {
    const KIND: &'static str = "campaign.multicast";
}

/// The periodic jobs carry nothing; each is an empty object.
macro_rules! periodic_job {
    ($name:ident, $kind:literal, $priority:expr) => {
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        pub struct $name {}

        impl Job for $name {
            const KIND: &'static str = $kind;
            const PRIORITY: Priority = $priority;
        }
    };
}

periodic_job!(PartitionUpkeepJob, "partition_upkeep", Priority::HIGH);
periodic_job!(HousekeepingJob, "housekeeping", Priority::LOW);
periodic_job!(RequeueStalledJob, "requeue_stalled", Priority::URGENT);
periodic_job!(UptimeRollupJob, "uptime_rollup", Priority::LOW);
periodic_job!(DueCampaignsJob, "campaign.due", Priority::HIGH);
periodic_job!(DashboardRefreshJob, "dashboard.refresh", Priority::LOW);

pub struct SendEmail;

#[async_trait]
impl Handler for SendEmail {
    type Job = EmailJob;

    async fn run(&self, ctx: &AppContext, job: EmailJob) -> anyhow::Result<()> {
        let id = ctx
            .mailer
            .send(&OutgoingEmail {
                to: job.to,
                subject: job.subject,
                text: job.text,
                in_reply_to: None,
                references: vec![],
                message_id: None,
                html: None,
                unsubscribe: None,
            })
            .await?;
        tracing::info!(message_id = %id, "email sent");
        Ok(())
    }
}

/// Hourly: expired refresh tokens, old periodic slots, and the audit log, dead jobs and hourly
/// uptime rollups past their retention.
pub struct Housekeeping;

#[async_trait]
impl Handler for Housekeeping {
    type Job = HousekeepingJob;

    async fn run(&self, ctx: &AppContext, _job: HousekeepingJob) -> anyhow::Result<()> {
        let tokens = bma_store::sessions::purge_expired(&ctx.db).await?;
        let slots = bma_store::periodic::purge_old(&ctx.db, time::Duration::days(2)).await?;
        let now = ctx.clock.now();
        let days = |n: u32| now - time::Duration::days(i64::from(n));
        let c = &ctx.config;
        let mut purged = 0;
        for (what, before) in [
            (bma_store::retention::Kept::AuditLog, days(c.audit_log_retention_days)),
            (bma_store::retention::Kept::DeadJobs, days(c.dead_job_retention_days)),
            (bma_store::retention::Kept::HourlyUptime, days(c.uptime_hourly_retention_days)),
            (bma_store::retention::Kept::HourlyGroupUptime, days(c.uptime_group_hourly_retention_days)),
        ] {
            purged += bma_store::retention::purge(&ctx.db, what, before, 5_000).await?;
        }
        tracing::info!(tokens, slots, purged, "housekeeping done");
        Ok(())
    }
}

pub struct RequeueStalled;

/// A job locked longer than this is taken to have lost its worker (jobs time out after 5 minutes).
pub const STALLED_AFTER: time::Duration = time::Duration::minutes(10);

#[async_trait]
impl Handler for RequeueStalled {
    type Job = RequeueStalledJob;

    async fn run(&self, ctx: &AppContext, _job: RequeueStalledJob) -> anyhow::Result<()> {
        let n = bma_store::jobs::requeue_stalled(&ctx.db, STALLED_AFTER).await?;
        if n > 0 {
            tracing::warn!(jobs = n, "re-queued jobs whose worker stopped");
        }
        Ok(())
    }
}
