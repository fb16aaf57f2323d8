//! Our own model of Soundtrack's token bucket (max tokens, refill per second, cost per query),
//! corrected by the `x-ratelimiting-*` headers of every answer, so that normal operation waits
//! for tokens instead of meeting a 429. It also keeps the specification's request-rate cap.

use bma_domain::clock::Clock;
use std::collections::VecDeque;
use std::time::Duration;
use time::OffsetDateTime;

#[derive(Debug)]
pub struct BucketModel {
    pub max: f64,
    pub refill_per_sec: f64,
    tokens: f64,
    at: OffsetDateTime,
    requests_per_minute: u32,
    recent: VecDeque<OffsetDateTime>,
}

impl BucketModel {
    pub fn new(max: f64, refill_per_sec: f64, requests_per_minute: u32, now: OffsetDateTime) -> Self {
        Self { max, refill_per_sec, tokens: max, at: now, requests_per_minute, recent: VecDeque::new() }
    }

    fn refill(&mut self, now: OffsetDateTime) {
        let secs = (now - self.at).as_seconds_f64().max(0.0);
        self.tokens = (self.tokens + secs * self.refill_per_sec).min(self.max);
        self.at = now;
    }

    pub fn available(&mut self, now: OffsetDateTime) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// How long to wait before a query of `cost` may be sent; zero when it may go now (and then
    /// the cost is taken from the model).
    pub fn reserve(&mut self, cost: f64, now: OffsetDateTime) -> Duration {
        self.refill(now);
        while self.recent.front().is_some_and(|t| now - *t >= time::Duration::MINUTE) {
            self.recent.pop_front();
        }
        let rate_wait = if self.recent.len() >= self.requests_per_minute as usize {
            self.recent
                .front()
                .map_or(Duration::ZERO, |t| Duration::try_from(*t + time::Duration::MINUTE - now).unwrap_or_default())
        } else {
            Duration::ZERO
        };
        let cost = cost.min(self.max);
        let token_wait = if self.tokens >= cost {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((cost - self.tokens) / self.refill_per_sec.max(0.001))
        };
        let wait = rate_wait.max(token_wait);
        if wait.is_zero() {
            self.tokens -= cost;
            self.recent.push_back(now);
        }
        wait
    }

    /// Trusts the server's figure after an answer (it knows the true cost and balance).
    pub fn observe(&mut self, available: Option<f64>, now: OffsetDateTime) {
        self.refill(now);
        if let Some(a) = available {
            self.tokens = a.clamp(0.0, self.max);
        }
    }
}

/// Waits (on the clock) until `cost` tokens may be spent.
pub async fn acquire(model: &tokio::sync::Mutex<BucketModel>, clock: &Clock, cost: f64) {
    loop {
        let wait = model.lock().await.reserve(cost, clock.now());
        if wait.is_zero() {
            return;
        }
        if clock.is_virtual() {
            // On a virtual clock, waiting for tokens is what moves time on: the simulation skips
            // straight to the moment the budget allows the query.
            clock.advance(wait);
        } else {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_waits_exactly_as_long_as_the_refill_needs() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut b = BucketModel::new(3600.0, 50.0, 1000, t0);
        assert_eq!(b.reserve(3000.0, t0), Duration::ZERO);
        assert_eq!(b.reserve(1100.0, t0), Duration::from_secs(10));
        assert_eq!(b.reserve(1100.0, t0 + time::Duration::seconds(10)), Duration::ZERO);
        b.observe(Some(42.0), t0 + time::Duration::seconds(10));
        assert!((b.available(t0 + time::Duration::seconds(10)) - 42.0).abs() < 1e-9);
    }

    #[test]
    fn the_request_rate_is_capped_per_minute() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut b = BucketModel::new(1e9, 1e9, 3, t0);
        for _ in 0..3 {
            assert_eq!(b.reserve(1.0, t0), Duration::ZERO);
        }
        assert_eq!(b.reserve(1.0, t0), Duration::from_secs(60));
        assert_eq!(b.reserve(1.0, t0 + time::Duration::seconds(60)), Duration::ZERO);
    }
}
