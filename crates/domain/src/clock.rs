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
}
