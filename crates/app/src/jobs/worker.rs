//! The worker loop: claim due jobs (most urgent first), run each under a time limit, then delete
//! it, retry it later with exponential backoff, or mark it dead when its attempts are spent (or
//! at once, when it can never succeed).

use super::{Registry, Shutdown};
use crate::AppContext;
use bma_store::jobs::{self, Job};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

pub struct Worker {
    ctx: AppContext,
    registry: Arc<Registry>,
    id: String,
    batch: i64,
    /// Jobs in flight at once in `run`.
    concurrency: usize,
    backoff_base: Duration,
    job_timeout: Duration,
    poll_every: Duration,
}

/// What happened to one job in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Waiting on a rate limit; the attempt did not count.
    Deferred,
    Retrying,
    Dead,
}

impl Worker {
    pub fn new(ctx: AppContext, registry: Registry) -> Self {
        Self {
            ctx,
            registry: Arc::new(registry),
            id: format!("worker-{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            batch: 8,
            concurrency: 32,
            backoff_base: Duration::from_secs(10),
            job_timeout: Duration::from_secs(300),
            poll_every: Duration::from_millis(50),
        }
    }

    /// The first retry waits `base`, then 2×, 4×… (capped at an hour), plus up to 20 % jitter.
    #[must_use]
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
        let d = self.backoff_base.saturating_mul(2_u32.saturating_pow(exp)).min(Duration::from_secs(3600));
        let jitter = rand::rng().random_range(0.0..0.2);
        d.mul_f64(1.0 + jitter)
    }

    /// Runs one claimed job to its end: done (deleted), retried later, or dead.
    async fn execute(&self, job: Job) -> anyhow::Result<Outcome> {
        let started = std::time::Instant::now();
        let result = match self.registry.get(&job.kind) {
            None => Err(anyhow::anyhow!("no handler for job kind {:?}", job.kind)),
            Some(h) => {
                let run = tokio::spawn({
                    let ctx = self.ctx.clone();
                    let payload = job.payload.clone();
                    async move { h.run(&ctx, payload).await }
                });
                match tokio::time::timeout(self.job_timeout, run).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(join)) => Err(anyhow::anyhow!("job panicked: {join}")),
                    Err(_) => Err(anyhow::anyhow!("job timed out after {:?}", self.job_timeout)),
                }
            }
        };
        metrics::histogram!("job_duration_seconds", "kind" => job.kind.clone()).record(started.elapsed().as_secs_f64());
        let outcome = match result {
            Ok(()) => {
                jobs::complete(&self.ctx.db, job.id).await?;
                tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, "job done");
                Outcome::Done
            }
            Err(e) if e.downcast_ref::<super::Deferred>().is_some() => {
                let after = e.downcast_ref::<super::Deferred>().map_or(Duration::from_secs(1), |d| d.after);
                let after = time::Duration::milliseconds(i64::try_from(after.as_millis()).unwrap_or(1000));
                jobs::defer(&self.ctx.db, job.id, after).await?;
                tracing::info!(job_id = %job.id, kind = %job.kind, error = %e, "job deferred");
                Outcome::Deferred
            }
            Err(e) if e.downcast_ref::<super::Permanent>().is_some() => {
                jobs::bury(&self.ctx.db, job.id, &format!("{e:#}")).await?;
                tracing::error!(job_id = %job.id, kind = %job.kind, error = %e, "job dead: it can never succeed");
                Outcome::Dead
            }
            Err(e) => {
                let wait = self.backoff(job.attempts);
                // PostgreSQL intervals hold microseconds at most; whole milliseconds are plenty.
                let wait = time::Duration::milliseconds(i64::try_from(wait.as_millis()).unwrap_or(3_600_000));
                let status = jobs::fail(&self.ctx.db, job.id, &format!("{e:#}"), wait).await?;
                if status == "dead" {
                    tracing::error!(job_id = %job.id, kind = %job.kind, attempts = job.attempts, error = %e, "job dead after its last attempt");
                    Outcome::Dead
                } else {
                    tracing::warn!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, retry_in = ?wait, "job failed; will retry");
                    Outcome::Retrying
                }
            }
        };
        metrics::counter!("jobs_finished_total", "kind" => job.kind.clone(), "outcome" => format!("{outcome:?}").to_lowercase()).increment(1);
        Ok(outcome)
    }

    /// Claims and runs one batch; returns the outcomes (empty when nothing was due).
    pub async fn run_once(&self) -> anyhow::Result<Vec<(Job, Outcome)>> {
        let claimed = jobs::claim(&self.ctx.db, &self.id, self.batch).await?;
        let runs = claimed.into_iter().map(|job| async move {
            let outcome = self.execute(job.clone()).await;
            (job, outcome)
        });
        let mut outcomes = Vec::new();
        for (job, outcome) in futures_util::future::join_all(runs).await {
            outcomes.push((job, outcome?));
        }
        Ok(outcomes)
    }

    /// Runs until `shutdown` turns true, keeping up to `concurrency` jobs in flight: a slow job
    /// (an LLM call) never holds back the ones behind it. Finishes the jobs in hand first.
    pub async fn run(self, mut shutdown: Shutdown) {
        tracing::info!(worker = %self.id, "worker started");
        let this = Arc::new(self);
        let mut inflight = tokio::task::JoinSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while inflight.try_join_next().is_some() {}
            let free = this.concurrency.saturating_sub(inflight.len());
            let mut claimed = 0;
            if free > 0 {
                match jobs::claim(&this.ctx.db, &this.id, i64::try_from(free).unwrap_or(1)).await {
                    Ok(batch) => {
                        claimed = batch.len();
                        for job in batch {
                            let w = this.clone();
                            inflight.spawn(async move {
                                if let Err(e) = w.execute(job).await {
                                    tracing::error!(error = %e, "could not record a job's outcome");
                                }
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "worker could not claim jobs"),
                }
            }
            if claimed == 0 {
                tokio::select! {
                    Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
                    () = tokio::time::sleep(this.poll_every) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        while inflight.join_next().await.is_some() {}
        tracing::info!(worker = %this.id, "worker stopped");
    }
}
