//! The scheduler: every second it checks which periodic jobs have a new slot and fires each slot
//! once across all schedulers (see `bma_store::periodic`).

use super::tasks::{
    DashboardRefreshJob, DueCampaignsJob, HousekeepingJob, PartitionUpkeepJob, RequeueStalledJob, UptimeRollupJob,
};
use super::{Job, Options, Shutdown};
use crate::AppContext;
use bma_store::jobs::NewJob;
use bma_store::periodic;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Clone)]
pub struct Periodic {
    pub name: &'static str,
    pub every: Duration,
    /// The job each slot queues.
    pub job: fn(&AppContext) -> anyhow::Result<NewJob>,
}

pub struct Scheduler {
    ctx: AppContext,
    id: String,
    periodics: Vec<Periodic>,
}

impl Scheduler {
    pub fn new(ctx: AppContext, periodics: Vec<Periodic>) -> Self {
        let id = format!("scheduler-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Self { ctx, id, periodics }
    }

    /// The periodic jobs every deployment runs.
    pub fn standard() -> Vec<Periodic> {
        fn job<J: Job + Default>(ctx: &AppContext) -> anyhow::Result<NewJob> {
            Ok(super::row(ctx, &J::default(), Options::default().dedup(format!("periodic:{}", J::KIND)))?)
        }
        fn every<J: Job + Default>(secs: u64) -> Periodic {
            Periodic { name: J::KIND, every: Duration::from_secs(secs), job: job::<J> }
        }
        vec![
            every::<PartitionUpkeepJob>(3600),
            every::<HousekeepingJob>(3600),
            every::<UptimeRollupJob>(3600),
            every::<RequeueStalledJob>(60),
            every::<DueCampaignsJob>(60),
            // Well within QUERY_CACHE_TTL (5 minutes), so no member waits for an expired section.
            every::<DashboardRefreshJob>(120),
        ]
    }

    /// Fires every periodic job whose slot at `now` has not fired yet; returns the names fired here.
    pub async fn tick(&self, now: OffsetDateTime) -> anyhow::Result<Vec<&'static str>> {
        let mut fired = Vec::new();
        for p in &self.periodics {
            let slot = periodic::slot_of(now, p.every);
            if periodic::fire_once(&self.ctx.db, p.name, slot, &self.id, (p.job)(&self.ctx)?).await? {
                tracing::info!(periodic = p.name, slot = %slot, "periodic job fired");
                fired.push(p.name);
            }
        }
        Ok(fired)
    }

    pub async fn run(self, mut shutdown: Shutdown) {
        tracing::info!(scheduler = %self.id, "scheduler started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.tick(OffsetDateTime::now_utc()).await {
                tracing::error!(error = %e, "scheduler tick failed");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(scheduler = %self.id, "scheduler stopped");
    }
}
