//! Exact uptime over time intervals. Venues are judged on the hours they are open: silence at
//! 03:00 in a closed restaurant, or during announced maintenance, must not cost uptime, and a
//! stretch where the monitor could not see the zone must not count as music either way.
//!
//! Definition. All intervals are half-open, `[start, end)`; one with `end <= start` is empty.
//!
//! * The **counted** time is `window ∩ E ∖ X`, where `E` is the union of `expected` (the venue's
//!   opening hours in UTC; an empty slice means "always expected") and `X` the union of
//!   `excluded` (maintenance windows). Overlaps inside `expected` or `excluded` count once.
//! * Each instant of counted time has the health of the **last span in the slice** that contains
//!   it (spans may be unsorted and overlapping: later entries win), or `Unknown` if none does.
//! * `up`, `down` and `unknown` are the lengths of counted time that is `Up`, `Down`, `Unknown`;
//!   `excluded` is the rest of the window (closed hours and maintenance together), so
//!   `up + down + unknown + excluded` is always the window's length.
//! * `percentage = up / (up + down) × 100`; `None` when `up + down` is zero. Unknown time (no
//!   data, failed checks) is left out of the ratio rather than counted as up or down.
//!
//! What is `Down` is the caller's choice; [`Health::of`] maps observations so that the minutes a
//! zone was merely suspect count as down (music really was off, as Uptime Kuma counts pending),
//! music from the offline cache counts as up, and a failed check as unknown.

use super::observation::Observation;
use serde::{Deserialize, Serialize};
use std::collections::BinaryHeap;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Interval {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl Interval {
    pub fn new(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        Self { start, end }
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The length, zero for an empty interval.
    pub fn duration(&self) -> Duration {
        (self.end - self.start).max(Duration::ZERO)
    }

    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.start <= at && at < self.end
    }

    /// The part of `self` inside `other` (possibly empty).
    pub fn clip(&self, other: &Interval) -> Interval {
        Interval { start: self.start.max(other.start), end: self.end.min(other.end) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Up,
    Down,
    Unknown,
}

impl Health {
    pub fn of(obs: Observation) -> Health {
        match obs {
            Observation::Unknown => Health::Unknown,
            o if o.is_healthy() => Health::Up,
            _ => Health::Down,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Down => "down",
            Health::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Health::Up, Health::Down, Health::Unknown].into_iter().find(|h| h.as_str() == s)
    }
}

crate::sql::text_column!(Health, Health::parse);

/// The length of an uptime rollup: an hour, or a UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RollupPeriod {
    Hour,
    Day,
}

impl RollupPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            RollupPeriod::Hour => "hour",
            RollupPeriod::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RollupPeriod::Hour, RollupPeriod::Day].into_iter().find(|p| p.as_str() == s)
    }

    pub fn length(self) -> Duration {
        match self {
            RollupPeriod::Hour => Duration::HOUR,
            RollupPeriod::Day => Duration::DAY,
        }
    }

    /// The start of the period that holds `t` (UTC hours and days).
    pub fn floor(self, t: OffsetDateTime) -> OffsetDateTime {
        let t = t.to_offset(time::UtcOffset::UTC);
        let len = self.length().whole_nanoseconds();
        t - Duration::nanoseconds_i128(t.unix_timestamp_nanos().rem_euclid(len))
    }

    /// The first period boundary at or after `t`.
    pub fn ceil(self, t: OffsetDateTime) -> OffsetDateTime {
        let floor = self.floor(t);
        if floor == t { floor } else { floor + self.length() }
    }
}

crate::sql::text_column!(RollupPeriod, RollupPeriod::parse);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub interval: Interval,
    pub health: Health,
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Uptime {
    pub up: Duration,
    pub down: Duration,
    pub unknown: Duration,
    /// Window time outside the expected hours or inside maintenance.
    pub excluded: Duration,
    /// `up / (up + down) × 100`; `None` when nothing was measured.
    pub percentage: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
enum Edge {
    SpanStart(usize),
    SpanEnd(usize),
    ExpectedStart,
    ExpectedEnd,
    ExcludedStart,
    ExcludedEnd,
}

/// Uptime of `spans` over `window` (see the module header for the exact definition).
/// Runs in O(n log n) for n intervals in all.
pub fn uptime(spans: &[Span], window: Interval, expected: &[Interval], excluded: &[Interval]) -> Uptime {
    let mut result = Uptime::default();
    if window.is_empty() {
        return result;
    }
    let mut edges: Vec<(OffsetDateTime, Edge)> =
        Vec::with_capacity(2 * (spans.len() + expected.len() + excluded.len()));
    let mut add = |i: Interval, start: Edge, end: Edge| {
        let c = i.clip(&window);
        if !c.is_empty() {
            edges.push((c.start, start));
            edges.push((c.end, end));
        }
    };
    for (k, s) in spans.iter().enumerate() {
        add(s.interval, Edge::SpanStart(k), Edge::SpanEnd(k));
    }
    for &i in expected {
        add(i, Edge::ExpectedStart, Edge::ExpectedEnd);
    }
    for &i in excluded {
        add(i, Edge::ExcludedStart, Edge::ExcludedEnd);
    }
    edges.sort_by_key(|e| e.0);

    let always_expected = expected.is_empty();
    let (mut in_expected, mut in_excluded) = (0usize, 0usize);
    let mut active = BinaryHeap::new();
    let mut ended = vec![false; spans.len()];
    let mut cursor = window.start;
    let mut account =
        |from: OffsetDateTime, to: OffsetDateTime, expected: usize, excluded: usize, top: Option<usize>| {
            let d = to - from;
            if (!always_expected && expected == 0) || excluded > 0 {
                result.excluded += d;
            } else {
                match top.map(|k: usize| spans[k].health) {
                    Some(Health::Up) => result.up += d,
                    Some(Health::Down) => result.down += d,
                    Some(Health::Unknown) | None => result.unknown += d,
                }
            }
        };
    for (at, edge) in edges {
        if at > cursor {
            while active.peek().is_some_and(|&k: &usize| ended[k]) {
                active.pop();
            }
            account(cursor, at, in_expected, in_excluded, active.peek().copied());
            cursor = at;
        }
        match edge {
            Edge::SpanStart(k) => active.push(k),
            Edge::SpanEnd(k) => ended[k] = true,
            Edge::ExpectedStart => in_expected += 1,
            Edge::ExpectedEnd => in_expected -= 1,
            Edge::ExcludedStart => in_excluded += 1,
            Edge::ExcludedEnd => in_excluded -= 1,
        }
    }
    if window.end > cursor {
        account(cursor, window.end, in_expected, in_excluded, None);
    }

    let measured = result.up + result.down;
    result.percentage =
        (measured > Duration::ZERO).then(|| result.up.as_seconds_f64() / measured.as_seconds_f64() * 100.0);
    result
}

/// Turns state changes into spans: each change lasts until the next one, the last until `until`.
/// The list is sorted by time first (stably, so of two changes at the same instant the later one
/// in the slice wins); changes at or after `until` are dropped, neighbouring spans of the same
/// health are merged, and the time before the first change is not covered (unknown).
pub fn status_spans(transitions: &[(OffsetDateTime, Health)], until: OffsetDateTime) -> Vec<Span> {
    let mut changes = transitions.to_vec();
    changes.sort_by_key(|c| c.0);
    let mut out: Vec<Span> = Vec::new();
    for (k, &(start, health)) in changes.iter().enumerate() {
        let end = changes.get(k + 1).map_or(until, |next| next.0).min(until);
        if end <= start {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.health == health && last.interval.end == start => last.interval.end = end,
            _ => out.push(Span { interval: Interval { start, end }, health }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const DAY: OffsetDateTime = datetime!(2026-03-02 00:00 UTC);

    fn hm(h: i64, m: i64) -> OffsetDateTime {
        DAY + Duration::minutes(h * 60 + m)
    }

    fn iv(a: OffsetDateTime, b: OffsetDateTime) -> Interval {
        Interval::new(a, b)
    }

    fn span(a: OffsetDateTime, b: OffsetDateTime, health: Health) -> Span {
        Span { interval: iv(a, b), health }
    }

    fn whole_day() -> Interval {
        iv(hm(0, 0), hm(24, 0))
    }

    #[test]
    fn a_venue_open_eight_to_ten_counts_only_its_opening_hours_minus_maintenance() {
        let spans = [
            span(hm(0, 0), hm(7, 45), Health::Up),
            span(hm(7, 45), hm(8, 15), Health::Down),
            span(hm(8, 15), hm(12, 10), Health::Up),
            span(hm(12, 10), hm(12, 40), Health::Down),
            span(hm(12, 40), hm(23, 0), Health::Up),
            span(hm(23, 0), hm(24, 0), Health::Down),
        ];
        let u = uptime(&spans, whole_day(), &[iv(hm(8, 0), hm(22, 0))], &[iv(hm(12, 0), hm(13, 0))]);
        assert_eq!(u.down, Duration::minutes(15));
        assert_eq!(u.up, Duration::hours(13) - Duration::minutes(15));
        assert_eq!(u.unknown, Duration::ZERO);
        assert_eq!(u.excluded, Duration::hours(11));
        assert_eq!(u.percentage, Some(45_900.0 / 46_800.0 * 100.0));
    }

    #[test]
    fn with_no_opening_hours_given_the_whole_window_is_expected() {
        let spans = [span(hm(0, 0), hm(23, 0), Health::Up), span(hm(23, 0), hm(24, 0), Health::Down)];
        let u = uptime(&spans, whole_day(), &[], &[]);
        assert_eq!((u.up, u.down, u.excluded), (Duration::hours(23), Duration::hours(1), Duration::ZERO));
    }

    #[test]
    fn time_without_data_is_unknown_and_left_out_of_the_percentage() {
        let spans = [span(hm(9, 0), hm(10, 0), Health::Up), span(hm(10, 0), hm(10, 30), Health::Unknown)];
        let u = uptime(&spans, iv(hm(8, 0), hm(12, 0)), &[], &[]);
        assert_eq!(u.up, Duration::hours(1));
        assert_eq!(u.unknown, Duration::hours(3));
        assert_eq!(u.percentage, Some(100.0));
        let nothing = uptime(&[], iv(hm(8, 0), hm(12, 0)), &[], &[]);
        assert_eq!((nothing.unknown, nothing.percentage), (Duration::hours(4), None));
    }

    #[test]
    fn later_spans_win_where_spans_overlap_whatever_their_order() {
        let spans = [
            span(hm(10, 0), hm(11, 0), Health::Down),
            span(hm(8, 0), hm(12, 0), Health::Up),
            span(hm(9, 0), hm(9, 10), Health::Down),
        ];
        let u = uptime(&spans, iv(hm(8, 0), hm(12, 0)), &[], &[]);
        assert_eq!(u.down, Duration::minutes(10));
        assert_eq!(u.up, Duration::minutes(230));
    }

    #[test]
    fn overlapping_opening_hours_and_maintenance_windows_count_once() {
        let spans = [span(hm(0, 0), hm(24, 0), Health::Down)];
        let expected = [iv(hm(8, 0), hm(12, 0)), iv(hm(10, 0), hm(14, 0)), iv(hm(8, 0), hm(9, 0))];
        let excluded = [iv(hm(11, 0), hm(12, 0)), iv(hm(11, 30), hm(12, 30)), iv(hm(20, 0), hm(21, 0))];
        let u = uptime(&spans, whole_day(), &expected, &excluded);
        assert_eq!(u.down, Duration::minutes(4 * 60 + 30));
        assert_eq!(u.excluded, Duration::minutes(19 * 60 + 30));
        assert_eq!(u.percentage, Some(0.0));
    }

    #[test]
    fn spans_and_hours_outside_the_window_are_clipped_to_it() {
        let spans = [span(hm(-5, 0), hm(30, 0), Health::Up)];
        let u = uptime(&spans, iv(hm(10, 0), hm(11, 0)), &[iv(hm(9, 0), hm(10, 30))], &[]);
        assert_eq!((u.up, u.excluded), (Duration::minutes(30), Duration::minutes(30)));
    }

    #[test]
    fn a_venue_never_open_in_the_window_has_no_percentage() {
        let spans = [span(hm(0, 0), hm(24, 0), Health::Down)];
        let u = uptime(&spans, iv(hm(2, 0), hm(4, 0)), &[iv(hm(8, 0), hm(22, 0))], &[]);
        assert_eq!((u.down, u.excluded, u.percentage), (Duration::ZERO, Duration::hours(2), None));
    }

    #[test]
    fn an_empty_or_inverted_window_measures_nothing() {
        let spans = [span(hm(0, 0), hm(24, 0), Health::Up)];
        assert_eq!(uptime(&spans, iv(hm(5, 0), hm(5, 0)), &[], &[]), Uptime::default());
        assert_eq!(uptime(&spans, iv(hm(6, 0), hm(5, 0)), &[], &[]), Uptime::default());
    }

    #[test]
    fn uptime_is_exact_to_the_second() {
        let spans = [span(hm(8, 0), hm(9, 0) + Duration::seconds(1), Health::Down)];
        let u = uptime(&spans, iv(hm(8, 0), hm(10, 0)), &[], &[]);
        assert_eq!(u.down, Duration::seconds(3601));
        assert_eq!(u.unknown, Duration::seconds(3599));
    }

    #[test]
    fn status_spans_run_each_change_to_the_next_and_the_last_to_until() {
        let changes = [
            (hm(8, 0), Health::Up),
            (hm(9, 0), Health::Up),
            (hm(10, 0), Health::Down),
            (hm(10, 20), Health::Up),
            (hm(13, 0), Health::Down),
        ];
        assert_eq!(
            status_spans(&changes, hm(12, 0)),
            [
                span(hm(8, 0), hm(10, 0), Health::Up),
                span(hm(10, 0), hm(10, 20), Health::Down),
                span(hm(10, 20), hm(12, 0), Health::Up),
            ]
        );
    }

    #[test]
    fn status_spans_sort_their_input_and_the_later_of_two_simultaneous_changes_wins() {
        let changes = [(hm(10, 0), Health::Down), (hm(8, 0), Health::Up), (hm(10, 0), Health::Unknown)];
        assert_eq!(
            status_spans(&changes, hm(11, 0)),
            [span(hm(8, 0), hm(10, 0), Health::Up), span(hm(10, 0), hm(11, 0), Health::Unknown)]
        );
        assert!(status_spans(&[], hm(11, 0)).is_empty());
    }

    #[test]
    fn observations_map_to_health_with_cached_music_up_and_failed_checks_unknown() {
        assert_eq!(Health::of(Observation::OfflineCached), Health::Up);
        assert_eq!(Health::of(Observation::Muted), Health::Down);
        assert_eq!(Health::of(Observation::Unknown), Health::Unknown);
    }

    fn secs(s: i64) -> OffsetDateTime {
        DAY + Duration::seconds(s)
    }

    fn interval() -> impl Strategy<Value = Interval> {
        (-100i64..1100, 0i64..400).prop_map(|(a, len)| iv(secs(a), secs(a + len)))
    }

    fn health() -> impl Strategy<Value = Health> {
        prop::sample::select(&[Health::Up, Health::Down, Health::Unknown][..])
    }

    proptest! {
        #[test]
        fn uptime_partitions_the_window_and_matches_a_second_by_second_count(
            spans in prop::collection::vec((interval(), health()), 0..12),
            window in (0i64..500, 0i64..700),
            expected in prop::collection::vec(interval(), 0..4),
            excluded in prop::collection::vec(interval(), 0..4),
        ) {
            let spans: Vec<Span> = spans.into_iter().map(|(interval, health)| Span { interval, health }).collect();
            let window = iv(secs(window.0), secs(window.0 + window.1));
            let u = uptime(&spans, window, &expected, &excluded);

            prop_assert_eq!(u.up + u.down + u.unknown + u.excluded, window.duration());
            if let Some(p) = u.percentage {
                prop_assert!((0.0..=100.0).contains(&p));
            } else {
                prop_assert_eq!(u.up + u.down, Duration::ZERO);
            }

            let (mut up, mut down, mut unknown, mut out) = (0, 0, 0, 0);
            let mut t = window.start;
            while t < window.end {
                let counted = (expected.is_empty() || expected.iter().any(|i| i.contains(t)))
                    && !excluded.iter().any(|i| i.contains(t));
                if !counted {
                    out += 1;
                } else {
                    match spans.iter().rev().find(|s| s.interval.contains(t)).map(|s| s.health) {
                        Some(Health::Up) => up += 1,
                        Some(Health::Down) => down += 1,
                        _ => unknown += 1,
                    }
                }
                t += Duration::SECOND;
            }
            prop_assert_eq!(
                (u.up, u.down, u.unknown, u.excluded),
                (Duration::seconds(up), Duration::seconds(down), Duration::seconds(unknown), Duration::seconds(out))
            );
        }

        #[test]
        fn status_spans_are_sorted_disjoint_and_cover_from_the_first_change_to_until(
            changes in prop::collection::vec((0i64..1000, health()), 1..20),
            until in 0i64..1200,
        ) {
            let changes: Vec<(OffsetDateTime, Health)> = changes.into_iter().map(|(s, h)| (secs(s), h)).collect();
            let until = secs(until);
            let spans = status_spans(&changes, until);
            let first = changes.iter().map(|c| c.0).min().unwrap_or(until);
            let covered: Duration = spans.iter().map(|s| s.interval.duration()).sum();
            prop_assert_eq!(covered, (until - first).max(Duration::ZERO));
            for pair in spans.windows(2) {
                prop_assert_eq!(pair[0].interval.end, pair[1].interval.start);
                prop_assert_ne!(pair[0].health, pair[1].health);
            }
            prop_assert!(spans.iter().all(|s| !s.interval.is_empty()));
        }
    }

    #[test]
    fn rollup_periods_start_on_the_utc_hour_and_the_utc_midnight_whatever_the_offset_given() {
        use time::macros::datetime;
        let t = datetime!(2026-03-01 07:30:15 +07:00);
        assert_eq!(RollupPeriod::Hour.floor(t), datetime!(2026-03-01 00:00 UTC));
        assert_eq!(RollupPeriod::Hour.ceil(t), datetime!(2026-03-01 01:00 UTC));
        assert_eq!(RollupPeriod::Day.floor(t), datetime!(2026-03-01 00:00 UTC));
        assert_eq!(RollupPeriod::Day.ceil(t), datetime!(2026-03-02 00:00 UTC));
        let midnight = datetime!(2026-03-02 00:00 UTC);
        assert_eq!((RollupPeriod::Day.floor(midnight), RollupPeriod::Day.ceil(midnight)), (midnight, midnight));
    }
}
