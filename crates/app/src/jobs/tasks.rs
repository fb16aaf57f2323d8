//! The job kinds of the foundation: email delivery and the database's upkeep.

use super::JobHandler;
use crate::AppContext;
use async_trait::async_trait;
use bma_integrations::email::OutgoingEmail;
use serde::{Deserialize, Serialize};

pub const SEND_EMAIL: &str = "send_email";
pub const PARTITION_UPKEEP: &str = "partition_upkeep";
pub const HOUSEKEEPING: &str = "housekeeping";
pub const REQUEUE_STALLED: &str = "requeue_stalled";
pub const UPTIME_ROLLUP: &str = "uptime_rollup";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailJob {
    pub to: String,
    pub subject: String,
    pub text: String,
}

pub struct SendEmail;

#[async_trait]
impl JobHandler for SendEmail {
    async fn run(&self, ctx: &AppContext, payload: serde_json::Value) -> anyhow::Result<()> {
        let job: EmailJob = serde_json::from_value(payload)?;
        let id = ctx
            .mailer
            .send(&OutgoingEmail {
                to: job.to,
                subject: job.subject,
                text: job.text,
                in_reply_to: None,
                references: vec![],
                message_id: None,
            })
            .await?;
        tracing::info!(message_id = %id, "email sent");
        Ok(())
    }
}

pub struct PartitionUpkeep;

#[async_trait]
impl JobHandler for PartitionUpkeep {
    async fn run(&self, ctx: &AppContext, _payload: serde_json::Value) -> anyhow::Result<()> {
        use bma_store::partitions;
        let moved = partitions::settle_default(&ctx.db).await?;
        let created = partitions::ensure_ahead(&ctx.db).await?;
        // Retention: the oldest days first, each once its daily uptime rollups exist (rolled up
        // here if the hourly job missed that day's first hour), stopping at a day that stays
        // uncovered so that days are only ever dropped oldest first.
        let today = bma_domain::clock::Clock::Real.now().date();
        let keep_from = today - time::Duration::days(i64::from(ctx.config.music_log_retention_days));
        let mut dropped = 0;
        for day in partitions::days(&ctx.db, "music_status_logs").await?.into_iter().filter(|d| *d < keep_from) {
            if !partitions::status_log_day_rolled_up(&ctx.db, day).await? {
                let next_midnight = (day + time::Duration::DAY).midnight().assume_utc();
                crate::services::uptime::roll_up(ctx, next_midnight).await?;
            }
            if !partitions::status_log_day_rolled_up(&ctx.db, day).await? {
                tracing::warn!(%day, "status log day kept: its uptime rollups are missing");
                break;
            }
            if partitions::drop_status_log_day(&ctx.db, day, keep_from.midnight().assume_utc()).await? {
                dropped += 1;
            }
        }
        tracing::info!(moved, created, dropped, "log partitions checked");
        Ok(())
    }
}

pub struct Housekeeping;

#[async_trait]
impl JobHandler for Housekeeping {
    async fn run(&self, ctx: &AppContext, _payload: serde_json::Value) -> anyhow::Result<()> {
        let tokens = bma_store::sessions::purge_expired(&ctx.db).await?;
        let slots = bma_store::periodic::purge_old(&ctx.db, time::Duration::days(2)).await?;
        tracing::info!(tokens, slots, "housekeeping done");
        Ok(())
    }
}

pub struct RequeueStalled;

/// A job locked longer than this is taken to have lost its worker (jobs time out after 5 minutes).
pub const STALLED_AFTER: time::Duration = time::Duration::minutes(10);

#[async_trait]
impl JobHandler for RequeueStalled {
    async fn run(&self, ctx: &AppContext, _payload: serde_json::Value) -> anyhow::Result<()> {
        let n = bma_store::jobs::requeue_stalled(&ctx.db, STALLED_AFTER).await?;
        if n > 0 {
            tracing::warn!(jobs = n, "re-queued jobs whose worker stopped");
        }
        Ok(())
    }
}

pub struct UptimeRollup;

#[async_trait]
impl JobHandler for UptimeRollup {
    async fn run(&self, ctx: &AppContext, _payload: serde_json::Value) -> anyhow::Result<()> {
        let rows = crate::services::uptime::roll_up(ctx, time::OffsetDateTime::now_utc()).await?;
        tracing::info!(rows, "uptime rolled up");
        Ok(())
    }
}
