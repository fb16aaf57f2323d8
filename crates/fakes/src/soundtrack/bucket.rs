//! The token bucket Soundtrack meters each credential with: it starts full, every request takes
//! its cost, and it refills at a steady rate up to its maximum, all on the shared clock.

use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl Bucket {
    pub(crate) fn full(max: f64, now: OffsetDateTime) -> Self {
        Self { tokens: max, at: now }
    }

    pub(crate) fn refill(&mut self, now: OffsetDateTime, max: f64, per_sec: f64) {
        let elapsed = (now - self.at).as_seconds_f64();
        if elapsed > 0.0 {
            self.tokens = (self.tokens + elapsed * per_sec).min(max);
            self.at = now;
        }
    }

    pub(crate) fn available(&self) -> f64 {
        self.tokens
    }

    /// Takes `cost` if it is there; otherwise takes nothing.
    pub(crate) fn take(&mut self, cost: f64) -> bool {
        if cost > self.tokens {
            return false;
        }
        self.tokens -= cost;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn a_bucket_refuses_more_than_it_holds_and_refills_to_its_cap() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut b = Bucket::full(3600.0, t0);
        assert!(b.take(3500.0));
        assert!(!b.take(200.0));
        assert_eq!(b.available(), 100.0);
        b.refill(t0 + Duration::seconds(2), 3600.0, 50.0);
        assert_eq!(b.available(), 200.0);
        b.refill(t0 + Duration::hours(1), 3600.0, 50.0);
        assert_eq!(b.available(), 3600.0);
    }
}
