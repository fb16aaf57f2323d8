//! The definitions behind the dashboard's figures, kept apart from any query so that they are
//! written once and tested without a database: what state a zone of the fleet is in, the age
//! buckets of open alerts, and which way satisfaction is moving.

use crate::monitoring::Observation;
use serde::{Deserialize, Serialize};

/// What a zone sounds like now, from its latest observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FleetState {
    /// Music is heard: the player plays, online or from its offline cache.
    Playing,
    /// A player answers but no music is heard: paused, muted, or its subscription expired.
    Silent,
    /// No player answers: it is offline, or none is paired with the zone.
    Offline,
    /// Never observed, or the last check failed (no evidence either way).
    Unknown,
}

impl FleetState {
    pub const ALL: [FleetState; 4] =
        [FleetState::Playing, FleetState::Silent, FleetState::Offline, FleetState::Unknown];

    pub fn as_str(self) -> &'static str {
        match self {
            FleetState::Playing => "playing",
            FleetState::Silent => "silent",
            FleetState::Offline => "offline",
            FleetState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s.trim())
    }

    /// The state of a zone whose latest observation is `latest` (None: never observed).
    pub fn of(latest: Option<Observation>) -> Self {
        match latest {
            Some(Observation::Playing | Observation::OfflineCached) => FleetState::Playing,
            Some(Observation::Paused | Observation::Muted | Observation::SubscriptionExpired) => FleetState::Silent,
            Some(Observation::Offline | Observation::Unpaired) => FleetState::Offline,
            Some(Observation::Unknown) | None => FleetState::Unknown,
        }
    }
}

/// How long an alert has been open (now − the moment it was opened), in four buckets whose
/// lower bound is inclusive: under an hour, 1 to 24 hours, 1 to 7 days, 7 days or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertAge {
    UnderOneHour,
    OneToTwentyFourHours,
    OneToSevenDays,
    SevenDaysOrMore,
}

impl AlertAge {
    /// The lower bounds of the buckets after the first, in order.
    pub const BOUNDS: [time::Duration; 3] = [time::Duration::HOUR, time::Duration::DAY, time::Duration::WEEK];

    pub fn of(age: time::Duration) -> Self {
        if age < Self::BOUNDS[0] {
            AlertAge::UnderOneHour
        } else if age < Self::BOUNDS[1] {
            AlertAge::OneToTwentyFourHours
        } else if age < Self::BOUNDS[2] {
            AlertAge::OneToSevenDays
        } else {
            AlertAge::SevenDaysOrMore
        }
    }
}

/// Which way an average moved between two periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Up,
    Down,
    /// Within `Trend::FLAT` of each other.
    Flat,
}

impl Trend {
    /// Averages closer than this (on the 1–5 scale) count as unchanged.
    pub const FLAT: f64 = 0.05;

    /// The trend from `before` to `now`; None when either period has no answers.
    pub fn between(before: Option<f64>, now: Option<f64>) -> Option<(f64, Trend)> {
        let (b, n) = (before?, now?);
        let delta = n - b;
        let trend = if delta.abs() < Self::FLAT {
            Trend::Flat
        } else if delta > 0.0 {
            Trend::Up
        } else {
            Trend::Down
        };
        Some((delta, trend))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_playing_from_its_cache_counts_as_playing_and_an_unpaired_one_as_offline() {
        assert_eq!(FleetState::of(Some(Observation::OfflineCached)), FleetState::Playing);
        assert_eq!(FleetState::of(Some(Observation::Unpaired)), FleetState::Offline);
        assert_eq!(FleetState::of(Some(Observation::Muted)), FleetState::Silent);
        assert_eq!(FleetState::of(Some(Observation::Unknown)), FleetState::Unknown);
        assert_eq!(FleetState::of(None), FleetState::Unknown);
    }

    #[test]
    fn an_alert_exactly_an_hour_old_is_in_the_second_bucket() {
        assert_eq!(AlertAge::of(time::Duration::minutes(59)), AlertAge::UnderOneHour);
        assert_eq!(AlertAge::of(time::Duration::HOUR), AlertAge::OneToTwentyFourHours);
        assert_eq!(AlertAge::of(time::Duration::DAY), AlertAge::OneToSevenDays);
        assert_eq!(AlertAge::of(time::Duration::days(30)), AlertAge::SevenDaysOrMore);
    }

    #[test]
    fn a_trend_needs_answers_in_both_periods_and_ignores_tiny_moves() {
        assert_eq!(Trend::between(None, Some(4.0)), None);
        assert_eq!(Trend::between(Some(4.0), Some(4.5)), Some((0.5, Trend::Up)));
        assert_eq!(Trend::between(Some(4.5), Some(3.5)), Some((-1.0, Trend::Down)));
        assert_eq!(Trend::between(Some(4.0), Some(4.01)).map(|t| t.1), Some(Trend::Flat));
    }
}
