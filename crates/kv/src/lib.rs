//! What several replicas must share: a cache, rate-limit counters and live-event pub/sub. Each is
//! a small trait with a Redis implementation (REDIS_URL set) and an in-process one (a single
//! process with no Redis), so callers never know which they hold.

mod memory;
mod redis_impl;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

pub use memory::Memory;
pub use redis_impl::Redis;

/// How many messages a subscriber may fall behind its feed before its stream ends.
pub const FEED_BUFFER: usize = 1024;

/// A subscriber's stream over a process's shared feed. It ends when the feed closes (its
/// connection is gone) or when the subscriber fell more than [`FEED_BUFFER`] messages behind:
/// never skipping silently, so a live-feed client reconnects and replays what it missed.
fn feed_stream(rx: tokio::sync::broadcast::Receiver<String>) -> BoxStream<'static, String> {
    use futures_util::StreamExt;
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.ok().map(|v| (v, rx)) }).boxed()
}

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

#[async_trait]
pub trait Cache: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError>;
    async fn delete(&self, key: &str) -> Result<(), KvError>;
}

/// The outcome of one counted hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Time until the window resets.
    pub reset_in: Duration,
}

/// The answer to a pacing reservation ([`RateLimiter::reserve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// A slot was reserved: the caller may go once `wait` has passed. When `false`, nothing was
    /// reserved and the next free slot is `wait` away.
    pub granted: bool,
    pub wait: Duration,
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Reserves the next slot of `key` paced at one per `interval` (GCRA: the key holds the
    /// theoretical arrival time of the next slot), shared by every process holding the same
    /// store, so any number of workers together never go faster. A slot further than
    /// `max_wait` away is not reserved.
    async fn reserve(&self, key: &str, interval: Duration, max_wait: Duration) -> Result<Slot, KvError>;
    /// The provider's own rule, on calls as they actually leave: when fewer than `limit` calls of
    /// `key` were recorded within the last `window`, records one now and answers `None`; else
    /// records nothing and answers how long until the oldest of them leaves the window. A call
    /// that left late thereby holds back the ones after it.
    async fn admit(&self, key: &str, limit: u32, window: Duration) -> Result<Option<Duration>, KvError>;
    /// Counts one hit for `key` in a fixed window of `window` and says whether it is within `limit`.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, KvError>;
    /// How many hits `key` has in its current window, without counting one.
    async fn peek(&self, key: &str) -> Result<u32, KvError>;
    async fn reset(&self, key: &str) -> Result<(), KvError>;
}

#[async_trait]
pub trait PubSub: Send + Sync {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), KvError>;
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, KvError>;
    /// Numbers `payload` (1, 2, 3, … per channel), keeps it in the channel's journal of its newest
    /// `keep` entries, and publishes it as `"{id} {payload}"`, all at once so that ids reach
    /// subscribers in order. Returns the id.
    async fn publish_journaled(&self, channel: &str, payload: &str, keep: usize) -> Result<u64, KvError>;
    /// The journal's entries after id `after`, oldest first.
    async fn replay(&self, channel: &str, after: u64) -> Result<Replay, KvError>;
}

/// What a subscriber that saw up to some id missed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replay {
    /// `(id, payload)`, oldest first.
    pub events: Vec<(u64, String)>,
    /// Some of what came after that id is no longer in the journal (or the id was never given):
    /// the subscriber must reload instead.
    pub gap: bool,
}

impl Replay {
    /// The replay of `after` from a journal holding `entries` (oldest first) whose newest id is `last`.
    pub fn of(after: u64, last: u64, entries: Vec<(u64, String)>) -> Self {
        let gap = after > last || (after < last && entries.first().is_none_or(|(id, _)| *id != after + 1));
        Replay { events: entries, gap }
    }
}

/// The shared state handed to the rest of the service.
#[derive(Clone)]
pub struct Kv {
    pub cache: Arc<dyn Cache>,
    pub limiter: Arc<dyn RateLimiter>,
    pub pubsub: Arc<dyn PubSub>,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Memory,
    Redis(Box<Redis>),
}

impl Kv {
    /// In-process state for a single process.
    pub fn memory() -> Self {
        let m = Memory::new();
        Self { cache: Arc::new(m.clone()), limiter: Arc::new(m.clone()), pubsub: Arc::new(m), backend: Backend::Memory }
    }

    /// Redis-backed state; every key is prefixed with `prefix`.
    pub async fn redis(url: &str, prefix: &str) -> Result<Self, KvError> {
        let r = Redis::connect(url, prefix).await?;
        Ok(Self {
            cache: Arc::new(r.clone()),
            limiter: Arc::new(r.clone()),
            pubsub: Arc::new(r.clone()),
            backend: Backend::Redis(Box::new(r)),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory => "memory",
            Backend::Redis(_) => "redis",
        }
    }

    /// Whether the backing store answers (always true in process).
    pub async fn ping(&self) -> Result<(), KvError> {
        match &self.backend {
            Backend::Memory => Ok(()),
            Backend::Redis(r) => r.ping().await,
        }
    }
}
