//! Opening hours of a venue, in the venue's own time zone. A venue is watched closely while it is
//! open and rarely while it is closed; a period may run past midnight (a bar open 18:00–02:00).

use crate::Invalid;
use serde::{Deserialize, Serialize};

/// One opening period on one weekday (0 = Monday … 6 = Sunday), in minutes after midnight.
/// `closes_at <= opens_at` means the period ends on the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpeningPeriod {
    pub weekday: u8,
    pub opens_at: u16,
    pub closes_at: u16,
}

impl OpeningPeriod {
    pub fn new(weekday: u8, opens_at: u16, closes_at: u16) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        if weekday > 6 {
            inv.push("weekday", "must be 0 (Monday) to 6 (Sunday)");
        }
        if opens_at >= 1440 {
            inv.push("opens_at", "must be a minute of the day, 0 to 1439");
        }
        if closes_at > 1440 {
            inv.push("closes_at", "must be a minute of the day, 0 to 1440");
        }
        inv.into_result().map(|()| Self { weekday, opens_at, closes_at })
    }

    /// Parses "HH:MM".
    pub fn parse_clock(s: &str) -> Result<u16, Invalid> {
        let bad = || Invalid::one("hours", "times must be HH:MM");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 24 || m > 59 || (h == 24 && m > 0) {
            return Err(bad());
        }
        Ok(h * 60 + m)
    }

    /// Whether the venue is open at `minute` of `weekday` (local time).
    pub fn covers(&self, weekday: u8, minute: u16) -> bool {
        if self.closes_at > self.opens_at {
            weekday == self.weekday && (self.opens_at..self.closes_at).contains(&minute)
        } else {
            (weekday == self.weekday && minute >= self.opens_at)
                || (weekday == (self.weekday + 1) % 7 && minute < self.closes_at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_past_midnight_covers_the_early_hours_of_the_next_day() {
        let bar = OpeningPeriod::new(4, 18 * 60, 2 * 60).ok();
        let bar = bar.as_ref();
        assert_eq!(bar.map(|b| b.covers(4, 23 * 60)), Some(true));
        assert_eq!(bar.map(|b| b.covers(5, 60)), Some(true));
        assert_eq!(bar.map(|b| b.covers(5, 3 * 60)), Some(false));
        assert_eq!(bar.map(|b| b.covers(4, 17 * 60)), Some(false));
    }

    #[test]
    fn clock_times_parse_and_out_of_range_ones_fail() {
        assert_eq!(OpeningPeriod::parse_clock("07:30").ok(), Some(450));
        assert_eq!(OpeningPeriod::parse_clock("24:00").ok(), Some(1440));
        assert!(OpeningPeriod::parse_clock("25:00").is_err());
        assert!(OpeningPeriod::new(7, 0, 10).is_err());
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(s: &str) -> Result<u8, Invalid> {
    let s = s.trim().to_lowercase();
    DAYS.iter()
        .position(|d| s.starts_with(d))
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| Invalid::one("opening_hours", format!("unknown day {s:?} (use Mon … Sun)")))
}

/// Parses the compact form used in CSV imports: `Mon-Fri 08:00-22:00, Sat-Sun 09:00-02:00`.
/// A day range may wrap (`Fri-Mon`); `daily` means every day.
pub fn parse_schedule(s: &str) -> Result<Vec<OpeningPeriod>, Invalid> {
    let bad = || Invalid::one("opening_hours", "must look like \"Mon-Fri 08:00-22:00, Sat-Sun 09:00-23:00\"");
    let mut out = Vec::new();
    for part in s.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let (days, times) = part.split_once(' ').ok_or_else(bad)?;
        let (from, to) = if days.eq_ignore_ascii_case("daily") {
            (0, 6)
        } else {
            match days.split_once('-') {
                Some((a, b)) => (day(a)?, day(b)?),
                None => (day(days)?, day(days)?),
            }
        };
        let (open, close) = times.trim().split_once('-').ok_or_else(bad)?;
        let (open, close) = (OpeningPeriod::parse_clock(open)?, OpeningPeriod::parse_clock(close)?);
        if open >= 1440 {
            return Err(bad());
        }
        let mut d = from;
        loop {
            out.push(OpeningPeriod::new(d, open, close)?);
            if d == to {
                break;
            }
            d = (d + 1) % 7;
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    #[test]
    fn a_compact_schedule_expands_to_one_period_per_day() {
        let p = parse_schedule("Mon-Fri 08:00-22:00, Sat-Sun 09:00-02:00").unwrap_or_default();
        assert_eq!(p.len(), 7);
        assert_eq!(p[0], OpeningPeriod { weekday: 0, opens_at: 480, closes_at: 1320 });
        assert_eq!(p[6], OpeningPeriod { weekday: 6, opens_at: 540, closes_at: 120 });
        assert_eq!(parse_schedule("daily 00:00-24:00").map(|p| p.len()).ok(), Some(7));
        assert_eq!(parse_schedule("Fri-Mon 18:00-02:00").map(|p| p.len()).ok(), Some(4));
        assert!(parse_schedule("weekdays 8-10").is_err());
        assert!(parse_schedule("").is_err());
    }
}
