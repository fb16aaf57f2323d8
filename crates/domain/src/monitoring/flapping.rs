//! Flap detection, Nagios style. A zone that keeps going silent and coming back would otherwise
//! send an alert and a recovery every few minutes; instead the state machine notices the
//! flapping, says so once, and holds problem and recovery alerts back until it settles.
//!
//! Definition: the last [`WINDOW`] (21) health results give up to 20 transitions between
//! neighbours. Each transition that changes health adds its weight, rising linearly from 0.8 for
//! the oldest to 1.2 for the newest (weight of the k-th newest, k = 0..19: (114 − 2k) / 95; the 20
//! weights sum to 20). The percent state change is the weighted sum / 20 × 100, so a full window
//! that alternates every time scores 100 % and a steady one 0 %. With fewer than 21 results the
//! missing transitions count as no change, so a young history cannot look flappy. Flapping starts
//! when the percentage is above `high` and stops only when it falls below `low` (hysteresis).
//!
//! That percentage only sees flapping faster than the checks: a zone that is silent for three
//! minutes, back for three, silent again, gives long runs of equal results and a low score. The
//! state machine therefore also calls a zone flapping when a confirmed outage begins within
//! [`FlapPolicy::repeat_within`] of the zone's recovery from the previous one, and lets flapping
//! stop only once the zone's health has held for [`FlapPolicy::settle`].
//!
//! The history is a 21-bit ring in a `u32`: no allocation, cheap to store as JSON.

use serde::{Deserialize, Serialize};
use time::Duration;

/// How many health results the percentage looks at.
pub const WINDOW: usize = 21;

/// The thresholds: percentages (`high` should not be below `low`) and the slow-flapping times.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlapPolicy {
    /// Flapping starts when the percent state change is above this (default 50).
    pub high: f64,
    /// Flapping stops when the percent state change is below this (default 25).
    pub low: f64,
    /// A confirmed outage that begins within this of the recovery from the previous one is
    /// flapping, not a new alert (default 15 min).
    pub repeat_within: Duration,
    /// Flapping stops only once the health has held this long (default 5 min).
    pub settle: Duration,
}

impl Default for FlapPolicy {
    fn default() -> Self {
        Self { high: 50.0, low: 25.0, repeat_within: Duration::minutes(15), settle: Duration::minutes(5) }
    }
}

/// The last [`WINDOW`] health results (true = healthy), newest in bit 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthHistory {
    bits: u32,
    len: u8,
}

impl HealthHistory {
    const MASK: u32 = (1 << WINDOW) - 1;

    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, healthy: bool) {
        self.bits = ((self.bits << 1) | u32::from(healthy)) & Self::MASK;
        self.len = u8::try_from((self.len() + 1).min(WINDOW)).unwrap_or(u8::MAX);
    }

    pub fn len(&self) -> usize {
        usize::from(self.len).min(WINDOW)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The newest result.
    pub fn latest(&self) -> Option<bool> {
        (!self.is_empty()).then_some(self.bits & 1 == 1)
    }

    /// The weighted percent state change, 0.0 to 100.0 (see the module header).
    pub fn percent_state_change(&self) -> f64 {
        let transitions = self.len().saturating_sub(1);
        let changes = self.bits ^ (self.bits >> 1);
        let weighted: u32 =
            (0..transitions).filter(|k| (changes >> k) & 1 == 1).map(|k| 114 - 2 * u32::try_from(k).unwrap_or(0)).sum();
        f64::from(weighted) / 19.0
    }
}

/// Applies the hysteresis: whether the zone is flapping after a result scoring `percent`.
pub fn next_flapping(was_flapping: bool, percent: f64, policy: &FlapPolicy) -> bool {
    if was_flapping { percent >= policy.low } else { percent > policy.high }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn history(results: &[bool]) -> HealthHistory {
        let mut h = HealthHistory::new();
        for &r in results {
            h.push(r);
        }
        h
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_steady_history_scores_zero_and_a_full_alternating_one_scores_a_hundred() {
        assert!(close(history(&[true; 21]).percent_state_change(), 0.0));
        assert!(close(history(&[false; 40]).percent_state_change(), 0.0));
        let alternating: Vec<bool> = (0..21).map(|i| i % 2 == 0).collect();
        assert!(close(history(&alternating).percent_state_change(), 100.0));
    }

    #[test]
    fn the_newest_change_weighs_one_point_two_and_the_oldest_zero_point_eight() {
        let mut newest = vec![true; 20];
        newest.push(false);
        assert!(close(history(&newest).percent_state_change(), 1.2 / 20.0 * 100.0));
        let mut oldest = vec![false];
        oldest.extend([true; 20]);
        assert!(close(history(&oldest).percent_state_change(), 0.8 / 20.0 * 100.0));
    }

    #[test]
    fn only_the_last_twenty_one_results_are_remembered() {
        let mut h = history(&[false, true, false, true]);
        for _ in 0..21 {
            h.push(true);
        }
        assert_eq!(h.len(), WINDOW);
        assert!(close(h.percent_state_change(), 0.0));
        assert_eq!(h.latest(), Some(true));
        assert_eq!(HealthHistory::new().latest(), None);
    }

    #[test]
    fn ten_alternating_results_are_enough_to_cross_fifty_percent_and_nine_are_not() {
        let alternating: Vec<bool> = (0..10).map(|i| i % 2 == 0).collect();
        assert!(history(&alternating[..9]).percent_state_change() < 50.0);
        assert!(history(&alternating).percent_state_change() > 50.0);
    }

    #[test]
    fn flapping_starts_above_high_and_stops_only_below_low() {
        let p = FlapPolicy::default();
        assert!(!next_flapping(false, 50.0, &p));
        assert!(next_flapping(false, 50.1, &p));
        assert!(next_flapping(true, 30.0, &p));
        assert!(next_flapping(true, 25.0, &p));
        assert!(!next_flapping(true, 24.9, &p));
    }

    #[test]
    fn the_history_round_trips_through_json() {
        let h = history(&[true, false, false, true]);
        let back: Option<HealthHistory> = serde_json::to_string(&h).ok().and_then(|s| serde_json::from_str(&s).ok());
        assert_eq!(back, Some(h));
    }

    proptest! {
        #[test]
        fn the_percentage_stays_within_zero_and_a_hundred(results in prop::collection::vec(any::<bool>(), 0..60)) {
            let p = history(&results).percent_state_change();
            prop_assert!((0.0..=100.0).contains(&p));
        }

        #[test]
        fn the_percentage_matches_the_weighted_formula(results in prop::collection::vec(any::<bool>(), 0..60)) {
            let window = &results[results.len().saturating_sub(WINDOW)..];
            let mut sum = 0.0;
            let n = window.len();
            for j in 1..n {
                if window[j] != window[j - 1] {
                    let k = n - 1 - j;
                    sum += 0.8 + 0.4 * (19 - k) as f64 / 19.0;
                }
            }
            prop_assert!(close(history(&results).percent_state_change(), sum / 20.0 * 100.0));
        }
    }
}
