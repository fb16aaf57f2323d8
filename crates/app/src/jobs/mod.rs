//! Background work: a worker that runs queued jobs (with retries, backoff and a dead-letter
//! state) and a scheduler that enqueues periodic jobs exactly once per slot across instances.
//!
//! A job is a payload type with a kind ([`Job`]); [`enqueue`] is the one way to queue any job, and
//! a [`Handler`] receives the payload already deserialised. This module knows no handler: the
//! service's registry is wired above it (`crate::wiring`), so bot and messaging can use jobs
//! without jobs depending on them.

pub mod scheduler;
pub mod tasks;
pub mod worker;

use crate::{AppContext, Result};
use async_trait::async_trait;
use bma_store::jobs::{NewJob, Priority};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgExecutor;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

pub use scheduler::{Periodic, Scheduler};
pub use worker::Worker;

/// A kind of job: its payload is this type, stored as JSON under `KIND`.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    const KIND: &'static str;
    /// How urgent this kind is unless the enqueue says otherwise.
    const PRIORITY: Priority = Priority::NORMAL;

    /// At most one live job holds a given key; a second enqueue with it is a no-op.
    fn dedup_key(&self) -> Option<String> {
        None
    }
}

/// What an enqueue may change from the kind's defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    priority: Option<Priority>,
    run_at: Option<OffsetDateTime>,
    dedup_key: Option<String>,
}

impl Options {
    #[must_use]
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = Some(p);
        self
    }

    #[must_use]
    pub fn run_at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    #[must_use]
    pub fn dedup(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }
}

/// The queue row for `job` (the scheduler inserts it in its own transaction).
pub fn row<J: Job>(ctx: &AppContext, job: &J, opts: Options) -> Result<NewJob> {
    let payload = serde_json::to_value(job).map_err(|e| anyhow::anyhow!("job {} not serialisable: {e}", J::KIND))?;
    let mut row =
        NewJob::new(J::KIND, payload, ctx.config.job_max_attempts()).priority(opts.priority.unwrap_or(J::PRIORITY));
    if let Some(key) = opts.dedup_key.or_else(|| job.dedup_key()) {
        row = row.dedup(key);
    }
    if let Some(at) = opts.run_at {
        row = row.run_at(at);
    }
    Ok(row)
}

/// Queues `job` on `db`, so it commits or rolls back with the caller's transaction. Returns its
/// id, or `None` when a live job holds the same dedup key.
pub async fn enqueue<J: Job>(
    ctx: &AppContext,
    db: impl PgExecutor<'_>,
    job: &J,
    opts: Options,
) -> Result<Option<Uuid>> {
    Ok(bma_store::jobs::enqueue(db, row(ctx, job, opts)?).await?)
}

/// Runs one kind of job with its payload already read.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    type Job: Job;
    async fn run(&self, ctx: &AppContext, job: Self::Job) -> anyhow::Result<()>;
}

/// A job that must wait (a channel's rate limit) returns this error: it runs again after `after`
/// and the attempt is not counted.
#[derive(Debug, thiserror::Error)]
#[error("deferred for {after:?}: {reason}")]
pub struct Deferred {
    pub after: std::time::Duration,
    pub reason: String,
}

/// A job that can never succeed (its payload does not parse) returns this error: it goes to the
/// dead-letter state at once instead of spending its retries.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

/// Runs one job from its stored JSON: what the worker calls. An `Err` counts as a failed attempt,
/// except [`Deferred`] (not counted) and [`Permanent`] (dead at once). Every [`Handler`] is one.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, ctx: &AppContext, payload: serde_json::Value) -> anyhow::Result<()>;
}

#[async_trait]
impl<H: Handler> JobHandler for H {
    async fn run(&self, ctx: &AppContext, payload: serde_json::Value) -> anyhow::Result<()> {
        let job: H::Job = serde_json::from_value(payload)
            .map_err(|e| Permanent(format!("the payload of a {} job does not parse: {e}", <H::Job as Job>::KIND)))?;
        Handler::run(self, ctx, job).await
    }
}

/// Which handler runs which job kind. The service's full set is `Registry::standard()`, wired in
/// `crate::wiring` above the modules whose handlers it names.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    /// Adds a typed handler under its job's kind.
    pub fn add<H: Handler>(&mut self, handler: H) -> &mut Self {
        self.register(<H::Job as Job>::KIND, handler);
        self
    }

    /// Adds a handler that reads the raw JSON itself (tests, and kinds without a payload type).
    pub fn register(&mut self, kind: &'static str, handler: impl JobHandler + 'static) {
        self.handlers.insert(kind, Arc::new(handler));
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }

    /// The kinds with a handler, for checks that nothing is left unwired.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }
}

/// A flag that tells long-running loops to finish what they hold and stop.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;
