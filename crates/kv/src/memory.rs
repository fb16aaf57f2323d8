//! In-process cache, limiter and pub/sub for a single process without Redis.

use super::{Cache, Decision, KvError, PubSub, RateLimiter, Replay, Slot};
use async_trait::async_trait;
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

#[derive(Clone, Default)]
pub struct Memory {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cache: Mutex<HashMap<String, (String, Instant)>>,
    counters: Mutex<HashMap<String, (u32, Instant)>>,
    /// Per pace: the theoretical arrival time of its next slot.
    paces: Mutex<HashMap<String, Instant>>,
    /// Per sender: when its calls within the sliding window left, oldest first.
    windows: Mutex<HashMap<String, std::collections::VecDeque<Instant>>>,
    channels: Mutex<HashMap<String, broadcast::Sender<String>>>,
    /// Per channel: the last id given and the newest entries.
    journals: Mutex<HashMap<String, Journal>>,
}

/// The last id given and the newest `(id, payload)` entries.
type Journal = (u64, std::collections::VecDeque<(u64, String)>);

const SWEEP_AT: usize = 100_000;

impl Memory {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Cache for Memory {
    async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let map = self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(key).filter(|(_, exp)| *exp > Instant::now()).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        let mut map = self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, exp)| *exp > now);
        }
        map.insert(key.to_owned(), (value.to_owned(), now + ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.inner.cache.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Ok(())
    }
}

#[async_trait]
impl RateLimiter for Memory {
    async fn reserve(&self, key: &str, interval: Duration, max_wait: Duration) -> Result<Slot, KvError> {
        let mut map = self.inner.paces.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= SWEEP_AT {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        let wait = tat - now;
        if wait > max_wait {
            return Ok(Slot { granted: false, wait });
        }
        map.insert(key.to_owned(), tat + interval);
        Ok(Slot { granted: true, wait })
    }

    async fn admit(&self, key: &str, limit: u32, window: Duration) -> Result<Option<Duration>, KvError> {
        let mut map = self.inner.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= SWEEP_AT {
            map.retain(|_, calls| calls.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let calls = map.entry(key.to_owned()).or_default();
        while calls.front().is_some_and(|t| now.duration_since(*t) >= window) {
            calls.pop_front();
        }
        if calls.len() < limit as usize {
            calls.push_back(now);
            return Ok(None);
        }
        Ok(calls.front().map(|oldest| (*oldest + window).saturating_duration_since(now).max(Duration::from_micros(1))))
    }

    async fn hit(&self, key: &str, limit: u32, window: Duration) -> Result<Decision, KvError> {
        let mut map = self.inner.counters.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if map.len() >= SWEEP_AT {
            map.retain(|_, (_, end)| *end > now);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 = entry.0.saturating_add(1);
        Ok(Decision {
            allowed: entry.0 <= limit,
            limit,
            remaining: limit.saturating_sub(entry.0),
            reset_in: entry.1.saturating_duration_since(now),
        })
    }

    async fn peek(&self, key: &str) -> Result<u32, KvError> {
        let map = self.inner.counters.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(key).filter(|(_, end)| *end > Instant::now()).map_or(0, |(n, _)| *n))
    }

    async fn reset(&self, key: &str) -> Result<(), KvError> {
        self.inner.counters.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Ok(())
    }
}

#[async_trait]
impl PubSub for Memory {
    async fn publish(&self, channel: &str, payload: &str) -> Result<(), KvError> {
        let map = self.inner.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = map.get(channel) {
            let _ = tx.send(payload.to_owned());
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<BoxStream<'static, String>, KvError> {
        let rx = {
            let mut map = self.inner.channels.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(channel.to_owned()).or_insert_with(|| broadcast::channel(super::FEED_BUFFER).0).subscribe()
        };
        Ok(super::feed_stream(rx))
    }

    async fn publish_journaled(&self, channel: &str, payload: &str, keep: usize) -> Result<u64, KvError> {
        let mut journals = self.inner.journals.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, entries) = journals.entry(channel.to_owned()).or_default();
        *last += 1;
        let id = *last;
        entries.push_back((id, payload.to_owned()));
        while entries.len() > keep.max(1) {
            entries.pop_front();
        }
        // Sent while the journal is held, so that ids reach subscribers in order.
        let map = self.inner.channels.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = map.get(channel) {
            let _ = tx.send(format!("{id} {payload}"));
        }
        Ok(id)
    }

    async fn replay(&self, channel: &str, after: u64) -> Result<Replay, KvError> {
        let journals = self.inner.journals.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((last, entries)) = journals.get(channel) else { return Ok(Replay::of(after, 0, Vec::new())) };
        let newer = entries.iter().filter(|(id, _)| *id > after).cloned().collect();
        Ok(Replay::of(after, *last, newer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn a_journal_replays_what_came_after_an_id_and_says_when_some_of_it_is_gone() {
        let m = Memory::new();
        let mut live = m.subscribe("ev").await.expect("subscribed");
        for p in ["a", "b", "c", "d"] {
            m.publish_journaled("ev", p, 3).await.expect("published");
        }
        assert_eq!(live.next().await.as_deref(), Some("1 a"));
        let r = m.replay("ev", 2).await.expect("replayed");
        assert_eq!(r, Replay { events: vec![(3, "c".into()), (4, "d".into())], gap: false });
        assert_eq!(m.replay("ev", 4).await.expect("replayed"), Replay::default(), "nothing missed");
        assert!(m.replay("ev", 0).await.expect("replayed").gap, "the first was dropped");
        assert!(m.replay("ev", 9).await.expect("replayed").gap, "an id never given");
    }

    #[tokio::test]
    async fn the_limiter_refuses_hits_past_the_limit_until_the_window_ends() {
        let m = Memory::new();
        for i in 1..=3 {
            let d = m.hit("k", 3, Duration::from_millis(200)).await.ok();
            assert_eq!(d.map(|d| (d.allowed, d.remaining)), Some((true, 3 - i)));
        }
        assert_eq!(m.hit("k", 3, Duration::from_millis(200)).await.ok().map(|d| d.allowed), Some(false));
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(m.hit("k", 3, Duration::from_millis(200)).await.ok().map(|d| d.allowed), Some(true));
    }

    #[tokio::test]
    async fn cached_values_expire() {
        let m = Memory::new();
        let _ = m.set("a", "1", Duration::from_millis(50)).await;
        assert_eq!(m.get("a").await.ok().flatten().as_deref(), Some("1"));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(m.get("a").await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn subscribers_receive_what_is_published_after_they_subscribe() {
        let m = Memory::new();
        let mut s = m.subscribe("events").await.ok();
        let _ = m.publish("events", "zone-down").await;
        let got = match s.as_mut() {
            Some(s) => s.next().await,
            None => None,
        };
        assert_eq!(got.as_deref(), Some("zone-down"));
    }
}
