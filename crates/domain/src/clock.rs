//! Time as the monitor and the fakes see it: the real clock, or a virtual one that a test or a
//! benchmark advances by hand, so that minutes of fleet behaviour run in seconds, honestly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub enum Clock {
    Real,
    /// Milliseconds since the Unix epoch, shared by everyone holding a clone.
    Virtual(Arc<AtomicI64>),
}

impl Clock {
    /// A virtual clock starting at `start`.
    pub fn virtual_at(start: OffsetDateTime) -> Self {
        let ms = i64::try_from(start.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        Clock::Virtual(Arc::new(AtomicI64::new(ms)))
    }

    pub fn now(&self) -> OffsetDateTime {
        match self {
            Clock::Real => OffsetDateTime::now_utc(),
            Clock::Virtual(ms) => {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms.load(Ordering::SeqCst)) * 1_000_000)
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            }
        }
    }

    /// Moves a virtual clock forward; a real clock ignores it.
    pub fn advance(&self, by: std::time::Duration) {
        if let Clock::Virtual(ms) = self {
            ms.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
        }
    }

    pub fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }
}

/// The variable that moves the start of every test's virtual clock by a whole number of days.
pub const TEST_SHIFT_VAR: &str = "BMA_TEST_CLOCK_SHIFT_DAYS";

/// Where a test's virtual clock starts: now, moved by `BMA_TEST_CLOCK_SHIFT_DAYS` days (unset: 0).
/// The test command also runs the virtual-clock suites a year back and a year ahead, so no test
/// can depend on the date it runs on. For tests and benchmarks only: a malformed value panics.
pub fn test_start() -> OffsetDateTime {
    let days: i64 = match std::env::var(TEST_SHIFT_VAR) {
        Ok(v) if !v.trim().is_empty() => {
            v.trim().parse().unwrap_or_else(|e| panic!("{TEST_SHIFT_VAR}={v:?} is not a whole number of days: {e}"))
        }
        _ => 0,
    };
    OffsetDateTime::now_utc() + time::Duration::days(days)
}

/// `hour:minute` UTC on the day of `test_start()`, `days_later` days on (negative: earlier).
pub fn test_day_at(days_later: i64, hour: u8, minute: u8) -> OffsetDateTime {
    let day = test_start().date() + time::Duration::days(days_later);
    let t = time::Time::from_hms(hour, minute, 0).unwrap_or_else(|e| panic!("{hour}:{minute}: {e}"));
    day.with_time(t).assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_virtual_clock_moves_only_when_advanced_and_clones_share_it() {
        let c = Clock::virtual_at(OffsetDateTime::UNIX_EPOCH);
        let d = c.clone();
        assert_eq!(c.now(), OffsetDateTime::UNIX_EPOCH);
        d.advance(std::time::Duration::from_secs(90));
        assert_eq!(c.now().unix_timestamp(), 90);
    }

    #[test]
    fn test_days_are_whole_days_from_the_shifted_today() {
        let t = test_day_at(-1, 5, 30);
        assert_eq!((t.hour(), t.minute(), t.second()), (5, 30, 0));
        let days = (test_start().date() - t.date()).whole_days();
        assert_eq!(days, 1);
    }
}
