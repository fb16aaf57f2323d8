//! Background work: a worker that runs queued jobs (with retries, backoff and a dead-letter
//! state) and a scheduler that enqueues periodic jobs exactly once per slot across instances.

pub mod scheduler;
pub mod tasks;
pub mod worker;

use crate::AppContext;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

pub use scheduler::{Periodic, Scheduler};
pub use worker::Worker;

/// A job that must wait (a channel's rate limit) returns this error: it runs again after `after`
/// and the attempt is not counted.
#[derive(Debug, thiserror::Error)]
#[error("deferred for {after:?}: {reason}")]
pub struct Deferred {
    pub after: std::time::Duration,
    pub reason: String,
}

/// Runs one kind of job. An `Err` counts as a failed attempt, except [`Deferred`].
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, ctx: &AppContext, payload: serde_json::Value) -> anyhow::Result<()>;
}

/// Which handler runs which job kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    /// Every job kind the service knows.
    pub fn standard() -> Self {
        let mut r = Self::default();
        r.register(tasks::SEND_EMAIL, tasks::SendEmail);
        r.register(tasks::PARTITION_UPKEEP, tasks::PartitionUpkeep);
        r.register(tasks::HOUSEKEEPING, tasks::Housekeeping);
        r.register(tasks::REQUEUE_STALLED, tasks::RequeueStalled);
        r.register(tasks::UPTIME_ROLLUP, tasks::UptimeRollup);
        r.register(crate::messaging::jobs_kinds::SEND_MESSAGE, crate::messaging::outbound::SendMessage);
        r.register(crate::messaging::jobs_kinds::FETCH_MEDIA, crate::messaging::media::FetchMedia);
        r.register(crate::messaging::jobs_kinds::BOT_REPLY, crate::bot::BotReply);
        r
    }

    pub fn register(&mut self, kind: &'static str, handler: impl JobHandler + 'static) {
        self.handlers.insert(kind, Arc::new(handler));
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}

/// A flag that tells long-running loops to finish what they hold and stop.
pub type Shutdown = tokio::sync::watch::Receiver<bool>;
