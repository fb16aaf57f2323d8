//! Our own model of Soundtrack's token bucket (max tokens, refill per second, cost per query),
//! corrected by the `x-ratelimiting-*` headers of every answer, so that normal operation waits
//! for tokens instead of meeting a 429. It also keeps the specification's request-rate cap.
//!
//! The refill rate is learned, not trusted: the configured figure (`SOUNDTRACK_REFILL_PER_SEC`)
//! is only the first guess, because Soundtrack has documented 5 tokens a second and is reported
//! to give 50. Each answer says what the request cost (`x-ratelimiting-cost`) and what is left
//! afterwards (`x-ratelimiting-tokens-available`); between two answers the bucket gained
//! `left now - left before + costs taken since`, over the time between them. Spans during which
//! the bucket may have been full (it stops filling at its maximum) say nothing and are skipped.

use bma_domain::clock::Clock;
use std::collections::VecDeque;
use std::time::Duration;
use time::OffsetDateTime;

/// A span shorter than this is not closed yet.
const MIN_SPAN: time::Duration = time::Duration::seconds(1);
/// The spans measured must cover this much before their rate is used: the headers are whole
/// tokens, so the error is about one token over the time covered.
const MIN_COVERED: f64 = 3.0;
/// The rate is the average over the spans measured within this long.
const HORIZON: time::Duration = time::Duration::minutes(2);
/// The learned rate never goes below this (a bucket that seems not to refill at all is a
/// measurement gone wrong, and waiting forever would be worse).
const MIN_RATE: f64 = 0.1;

/// One answer's `x-ratelimiting-*` headers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Headers {
    /// Tokens left after the request (`x-ratelimiting-tokens-available`).
    pub available: f64,
    /// What the request costs (`x-ratelimiting-cost`).
    pub cost: f64,
    /// Refused for want of tokens (429): nothing was taken.
    pub refused: bool,
}

impl Headers {
    fn taken(&self) -> f64 {
        if self.refused { 0.0 } else { self.cost }
    }
}

/// Learns the refill rate from successive answers.
#[derive(Debug, Default)]
struct Learner {
    /// The last answer a span can start from: when, and what was left.
    anchor: Option<(OffsetDateTime, f64)>,
    /// Tokens taken by the requests answered since the anchor.
    taken: f64,
    /// The fullest the bucket has been seen (left plus taken, just before a request).
    ceiling: f64,
    /// Measured spans: when each ended, tokens gained, seconds.
    spans: VecDeque<(OffsetDateTime, f64, f64)>,
}

impl Learner {
    /// Takes one answer into account; returns the new rate when a span was measured.
    fn observe(&mut self, h: Headers, now: OffsetDateTime) -> Option<f64> {
        let before = h.available + h.taken();
        self.ceiling = self.ceiling.max(before);
        // Full just before this request (within the headers' rounding): the refill may have
        // stopped at the maximum, so no span can cross this point.
        if before >= self.ceiling - 1.0 {
            self.anchor = Some((now, h.available));
            self.taken = 0.0;
            return None;
        }
        let Some((t0, left0)) = self.anchor else {
            self.anchor = Some((now, h.available));
            return None;
        };
        self.taken += h.taken();
        let span = now - t0;
        if span < MIN_SPAN {
            return None;
        }
        let gained = h.available - left0 + self.taken;
        self.spans.push_back((now, gained, span.as_seconds_f64()));
        self.anchor = Some((now, h.available));
        self.taken = 0.0;
        while self.spans.len() > 1 && self.spans.front().is_some_and(|(end, ..)| now - *end > HORIZON) {
            self.spans.pop_front();
        }
        let (gained, secs) = self.spans.iter().fold((0.0, 0.0), |(g, s), (_, gi, si)| (g + gi, s + si));
        (secs >= MIN_COVERED).then(|| (gained / secs).max(MIN_RATE))
    }
}

#[derive(Debug)]
pub struct BucketModel {
    pub max: f64,
    pub refill_per_sec: f64,
    tokens: f64,
    at: OffsetDateTime,
    requests_per_minute: u32,
    recent: VecDeque<OffsetDateTime>,
    learner: Learner,
}

impl BucketModel {
    pub fn new(max: f64, refill_per_sec: f64, requests_per_minute: u32, now: OffsetDateTime) -> Self {
        Self {
            max,
            refill_per_sec,
            tokens: max,
            at: now,
            requests_per_minute,
            recent: VecDeque::new(),
            learner: Learner::default(),
        }
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

    /// Trusts the server's figures after an answer (it knows the true cost and balance), and
    /// learns the refill rate from them.
    pub fn observe(&mut self, headers: Option<Headers>, now: OffsetDateTime) {
        self.refill(now);
        let Some(h) = headers else { return };
        self.tokens = h.available.clamp(0.0, self.max);
        self.max = self.max.max(h.available + h.taken());
        if h.refused {
            // Until a measurement says otherwise, a refusal means we believe in too fast a
            // refill: halve it, so that a wrong guess costs a few 429s, not a run of them.
            self.refill_per_sec = (self.refill_per_sec / 2.0).max(MIN_RATE);
        }
        if let Some(rate) = self.learner.observe(h, now) {
            if (rate - self.refill_per_sec).abs() > 0.2 * self.refill_per_sec {
                tracing::info!(
                    rate,
                    believed = self.refill_per_sec,
                    "Soundtrack's token refill differs from what we believed; using the measured rate"
                );
            }
            self.refill_per_sec = rate;
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
        b.observe(Some(Headers { available: 42.0, cost: 1100.0, refused: false }), t0 + time::Duration::seconds(10));
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

    /// Soundtrack's side: a bucket refilling at `rate`, reporting whole tokens.
    struct Server {
        max: f64,
        rate: f64,
        tokens: f64,
        at: OffsetDateTime,
    }

    impl Server {
        fn new(max: f64, rate: f64, at: OffsetDateTime) -> Self {
            Self { max, rate, tokens: max, at }
        }

        fn answer(&mut self, cost: f64, now: OffsetDateTime) -> Headers {
            self.tokens = (self.tokens + (now - self.at).as_seconds_f64() * self.rate).min(self.max);
            self.at = now;
            let refused = self.tokens < cost;
            if !refused {
                self.tokens -= cost;
            }
            Headers { available: self.tokens.floor(), cost, refused }
        }
    }

    /// Sends a request of `cost` every `gap` when the model allows, for `secs`; returns the
    /// refusals and the end time.
    fn run(
        model: &mut BucketModel,
        server: &mut Server,
        cost: f64,
        gap: time::Duration,
        from: OffsetDateTime,
        secs: i64,
    ) -> (u32, OffsetDateTime) {
        let mut now = from;
        let mut refused = 0;
        while now < from + time::Duration::seconds(secs) {
            let wait = model.reserve(cost, now);
            if !wait.is_zero() {
                now += wait;
                continue;
            }
            let h = server.answer(cost, now);
            refused += u32::from(h.refused);
            model.observe(Some(h), now);
            now += gap;
        }
        (refused, now)
    }

    #[test]
    fn a_refill_slower_than_believed_is_learned_within_seconds_and_meets_no_429() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut model = BucketModel::new(3600.0, 50.0, 100_000, t0);
        let mut server = Server::new(3600.0, 5.0, t0);
        let (refused, t) = run(&mut model, &mut server, 30.0, time::Duration::milliseconds(100), t0, 10);
        assert!((model.refill_per_sec - 5.0).abs() < 0.5, "learned {} after 10 s", model.refill_per_sec);
        let (more, _) = run(&mut model, &mut server, 30.0, time::Duration::milliseconds(100), t, 300);
        assert!(refused + more <= 2, "{refused} + {more} refusals");
        assert!((model.refill_per_sec - 5.0).abs() < 0.1, "learned {}", model.refill_per_sec);
    }

    #[test]
    fn a_refill_faster_than_believed_is_learned_too() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut model = BucketModel::new(3600.0, 5.0, 100_000, t0);
        let mut server = Server::new(3600.0, 50.0, t0);
        run(&mut model, &mut server, 40.0, time::Duration::milliseconds(100), t0, 60);
        assert!((model.refill_per_sec - 50.0).abs() < 1.0, "learned {}", model.refill_per_sec);
    }

    #[test]
    fn a_429_halves_the_believed_refill_until_a_measurement_says_otherwise() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut model = BucketModel::new(3600.0, 50.0, 100_000, t0);
        model.observe(Some(Headers { available: 3.0, cost: 30.0, refused: true }), t0);
        assert!((model.refill_per_sec - 25.0).abs() < 1e-9);
        assert_eq!(model.reserve(30.0, t0), Duration::from_secs_f64(27.0 / 25.0));
    }

    #[test]
    fn time_spent_with_a_full_bucket_does_not_lower_the_learned_rate() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut model = BucketModel::new(100.0, 5.0, 100_000, t0);
        let mut server = Server::new(100.0, 5.0, t0);
        let (_, t) = run(&mut model, &mut server, 10.0, time::Duration::milliseconds(100), t0, 30);
        assert!((model.refill_per_sec - 5.0).abs() < 0.5, "learned {}", model.refill_per_sec);
        // Idle for ten minutes, then a request a minute: the bucket is full before each, so the
        // minute between them says nothing about the refill (it stopped at the maximum).
        let (_, _) =
            run(&mut model, &mut server, 10.0, time::Duration::minutes(1), t + time::Duration::minutes(10), 600);
        assert!((model.refill_per_sec - 5.0).abs() < 0.5, "learned {}", model.refill_per_sec);
    }
}
