//! The Redis implementations, shared by every replica.

use super::{Cache, Decision, KvError, PubSub, RateLimiter, Replay, Slot};
use async_trait::async_trait;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::broadcast;

#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: ConnectionManager,
    prefix: String,
    scripts: std::sync::Arc<Scripts>,
    feeds: Feeds,
}

/// Per subscribed channel, the process's one subscription, fanned out to every subscriber: a
/// thousand live-feed clients hold one Redis connection, not a thousand.
type Feeds = Arc<Mutex<HashMap<String, broadcast::Sender<String>>>>;

struct Scripts {
    hit: redis::Script,
    reserve: redis::Script,
    admit: redis::Script,
    journal: redis::Script,
}

/// Numbers, keeps and publishes one event atomically (KEYS: counter, journal, channel; ARGV:
/// payload, how many to keep).
const JOURNAL: &str = r"
local id = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], id, id .. ' ' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
redis.call('PUBLISH', KEYS[3], id .. ' ' .. ARGV[1])
return id
";

/// Fixed-window counter: increments, sets the expiry on the first hit, returns count and TTL.
const HIT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// GCRA slot reservation on Redis's own clock (KEYS: the pace; ARGV: interval and longest wait,
/// in microseconds). Returns {granted, wait in microseconds}.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return {0, wait} end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', math.floor((wait + interval) / 1000) + 1000)
return {1, wait}
";

/// Sliding-window admission on Redis's own clock (KEYS: the sender's window; ARGV: limit, window
/// in microseconds, a unique member). Returns 0 when admitted (and recorded), else the wait in
/// microseconds until the oldest recorded call leaves the window.
const ADMIT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
";

/// Numbers this process's admitted calls, so that two in one microsecond stay two members.
static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl Redis {
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, KvError> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
        Ok(Self {
            client,
            conn,
            prefix: prefix.to_owned(),
            scripts: std::sync::Arc::new(Scripts {
                hit: redis::Script::new(HIT),
                reserve: redis::Script::new(RESERVE),
                admit: redis::Script::new(ADMIT),
                journal: redis::Script::new(JOURNAL),
            }),
            feeds: Feeds::default(),
        })
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }

    pub async fn ping(&self) -> Result<(), KvError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }
}

#[async_trait]
impl Cache for Redis {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let mut c = self.conn.clone();
        Ok(c.get(self.key(key)).await?)
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        let mut c = self.conn.clone();
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        let _: () = c.pset_ex(self.key(key), value, ms).await?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let mut c = self.conn.clone();
        let _: () = c.del(self.key(key)).await?;
        Ok(())
    }
}

#[async_trait]
impl RateLimiter for Redis {
    async fn reserve(&self, key: &str, interval: Duration, max_wait: Duration) -> Result<Slot, KvError> {
        let mut c = self.conn.clone();
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let (granted, wait): (i64, i64) = self
            .scripts
            .reserve
            .key(self.key(key))
            .arg(us(interval).max(1))
            .arg(us(max_wait))
            .invoke_async(&mut c)
            .await?;
        Ok(Slot { granted: granted == 1, wait: Duration::from_micros(u64::try_from(wait).unwrap_or(0)) })
    }

    async fn admit(&self, key: &str, limit: u32, window: Duration) -> Result<Option<Duration>, KvError> {
        let mut c = self.conn.clone();
        let wait: i64 = self
            .scripts
            .admit
            .key(self.key(key))
            .arg(limit)
            .arg(u64::try_from(window.as_micros()).unwrap_or(u64::MAX).max(1))
            .arg(format!("{}-{}", std::process::id(), CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
            .invoke_async(&mut c)
            .await?;
        Ok((wait > 0).then(|| Duration::from_micros(u64::try_from(wait).unwrap_or(0))))
    }

    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, KvError> {
        let mut c = self.conn.clone();
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let (n, ttl): (u64, i64) = self.scripts.hit.key(self.key(key)).arg(ms).invoke_async(&mut c).await?;
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Decision {
            allowed: n <= limit,
            limit,
            remaining: limit.saturating_sub(n),
            reset_in: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
        })
    }

    async fn peek(&self, key: &str) -> Result<u32, KvError> {
        let mut c = self.conn.clone();
        let n: Option<u32> = c.get(self.key(key)).await?;
        Ok(n.unwrap_or(0))
    }

    async fn reset(&self, key: &str) -> Result<(), KvError> {
        let mut c = self.conn.clone();
        let _: () = c.del(self.key(key)).await?;
        Ok(())
    }
}

#[async_trait]
impl PubSub for Redis {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), KvError> {
        let mut c = self.conn.clone();
        let _: () = c.publish(self.key(channel), payload).await?;
        Ok(())
    }

    /// Joins the process's subscription to `channel`, opening it first when there is none; what is
    /// published after this returns reaches the stream.
    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, KvError> {
        let key = self.key(channel);
        let joined =
            |feeds: &Feeds| feeds.lock().unwrap_or_else(PoisonError::into_inner).get(&key).map(|tx| tx.subscribe());
        if let Some(rx) = joined(&self.feeds) {
            return Ok(super::feed_stream(rx));
        }
        let mut ps = self.client.get_async_pubsub().await?;
        ps.subscribe(&key).await?;
        let (rx, opened) = {
            let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
            match feeds.get(&key) {
                // Another caller opened it meanwhile: theirs serves, this connection closes.
                Some(tx) => (tx.subscribe(), None),
                None => {
                    let (tx, rx) = broadcast::channel(super::FEED_BUFFER);
                    feeds.insert(key.clone(), tx.clone());
                    (rx, Some(tx))
                }
            }
        };
        if let Some(tx) = opened {
            let feeds = self.feeds.clone();
            tokio::spawn(async move {
                let mut messages = ps.into_on_message();
                while let Some(m) = messages.next().await {
                    if let Ok(payload) = m.get_payload::<String>() {
                        let _ = tx.send(payload);
                    }
                }
                // The connection is gone: the next subscriber opens a new one, and every stream on
                // this one ends (a live-feed client then reconnects and replays what it missed).
                let mut feeds = feeds.lock().unwrap_or_else(PoisonError::into_inner);
                if feeds.get(&key).is_some_and(|t| t.same_channel(&tx)) {
                    feeds.remove(&key);
                }
            });
        }
        Ok(super::feed_stream(rx))
    }

    async fn publish_journaled(&self, channel: &str, payload: &str, keep: usize) -> Result<u64, KvError> {
        let mut c = self.conn.clone();
        let id: u64 = self
            .scripts
            .journal
            .key(self.key(&format!("journal-id:{channel}")))
            .key(self.key(&format!("journal:{channel}")))
            .key(self.key(channel))
            .arg(payload)
            .arg(keep.max(1))
            .invoke_async(&mut c)
            .await?;
        Ok(id)
    }

    async fn replay(&self, channel: &str, after: u64) -> Result<Replay, KvError> {
        let mut c = self.conn.clone();
        let last: Option<u64> = c.get(self.key(&format!("journal-id:{channel}"))).await?;
        let raw: Vec<String> =
            c.zrangebyscore(self.key(&format!("journal:{channel}")), format!("({after}"), "+inf").await?;
        let entries = raw
            .into_iter()
            .filter_map(|e| {
                let (id, payload) = e.split_once(' ')?;
                Some((id.parse().ok()?, payload.to_owned()))
            })
            .collect();
        Ok(Replay::of(after, last.unwrap_or(0), entries))
    }
}
