//! The worker loop: claim due jobs (most urgent first), run each under a time limit, then delete
//! it, retry it later with exponential backoff, or mark it dead when its attempts are spent.

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
    backoff_base: Duration,
    job_timeout: Duration,
    poll_every: Duration,
}

/// What happened to one job in one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
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

    /// Claims and runs one batch; returns the outcomes (empty when nothing was due).
    pub async fn run_once(&self) -> anyhow::Result<Vec<(Job, Outcome)>> {
        let claimed = jobs::claim(&self.ctx.db, &self.id, self.batch).await?;
        let mut set = tokio::task::JoinSet::new();
        for job in claimed {
            let ctx = self.ctx.clone();
            let handler = self.registry.get(&job.kind);
            let timeout = self.job_timeout;
            set.spawn(async move {
                let started = std::time::Instant::now();
                let result = match handler {
                    None => Err(anyhow::anyhow!("no handler for job kind {:?}", job.kind)),
                    Some(h) => {
                        let run = tokio::spawn({
                            let ctx = ctx.clone();
                            let payload = job.payload.clone();
                            async move { h.run(&ctx, payload).await }
                        });
                        match tokio::time::timeout(timeout, run).await {
                            Ok(Ok(r)) => r,
                            Ok(Err(join)) => Err(anyhow::anyhow!("job panicked: {join}")),
                            Err(_) => Err(anyhow::anyhow!("job timed out after {timeout:?}")),
                        }
                    }
                };
                metrics::histogram!("job_duration_seconds", "kind" => job.kind.clone())
                    .record(started.elapsed().as_secs_f64());
                (job, result)
            });
        }
        let mut outcomes = Vec::new();
        while let Some(joined) = set.join_next().await {
            let Ok((job, result)) = joined else { continue };
            let outcome = match result {
                Ok(()) => {
                    jobs::complete(&self.ctx.db, job.id).await?;
                    tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, "job done");
                    Outcome::Done
                }
                Err(e) => {
                    let wait = self.backoff(job.attempts);
                    let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::HOUR);
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
            outcomes.push((job, outcome));
        }
        Ok(outcomes)
    }

    /// Runs until `shutdown` turns true; finishes the batch in hand first.
    pub async fn run(self, mut shutdown: Shutdown) {
        tracing::info!(worker = %self.id, "worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            let idle = match self.run_once().await {
                Ok(done) => done.is_empty(),
                Err(e) => {
                    tracing::error!(error = %e, "worker could not claim jobs");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = tokio::time::sleep(self.poll_every) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }
}
