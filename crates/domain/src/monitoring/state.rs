//! The per-zone state machine: turns a stream of observations into statuses and a few events
//! worth telling people about. It exists so that one bad check never wakes anyone (confirmation),
//! one good check never declares victory (confirmed recovery), a zone that keeps coming and going
//! says so once (flapping), and a failed check is never mistaken for a silent zone.
//!
//! ```text
//!   unknown/ok/offline_cached ──bad──▶ suspect ──bad × confirm_checks, ≥ confirm_after──▶ down  (Opened)
//!            ▲                            │ healthy (a blip, no event)                     │ healthy
//!            └────────────────────────────┘                                                ▼
//!            ◀──────healthy × recover_checks, ≥ recover_after (Resolved)────────── recovering
//!                                                                     down ◀──bad──┘ (the alert stays open)
//!   any ──percent state change > high──▶ flapping (FlappingStarted) ──< low──▶ FlappingStopped
//!   suspect ──confirmed within repeat_within of the last recovery──▶ flapping (FlappingStarted)
//! ```
//!
//! Counting rules: a "run" is the current streak of consecutive known observations with the same
//! health (unknown ones neither extend nor break it). Confirmation needs the bad run to have at
//! least `confirm_checks` observations AND to span at least `confirm_after` from its first
//! observation; recovery likewise with the healthy run. `Opened.since` is the run's first bad
//! observation; `Resolved.down_for` runs from that instant to the first healthy observation of the
//! run that resolved it. Observations older than the newest one seen are stale and ignored.
//!
//! Slow flapping (outages of minutes with minutes of music between them) scores low on the
//! percentage, so a second confirmed outage that begins within `flap.repeat_within` of the
//! recovery from the previous one starts flapping instead of opening another alert; flapping
//! stops only when the percentage is below `low` and the current run has lasted `flap.settle`.
//!
//! While flapping no Opened, Resolved or ProblemChanged is emitted. When flapping stops on a bad
//! observation the zone goes straight to down (the flapping was the confirmation) and, unless an
//! alert is already open, Opened follows; on a healthy one an open alert goes through recovering as
//! usual, otherwise the zone is ok. The machine only allocates when it returns transitions.

use super::flapping::{self, FlapPolicy, HealthHistory};
use super::observation::{Observation, Problem};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// A zone's status; [`ZoneStatus::as_str`] gives the values of `zones.last_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ZoneStatus {
    /// Never observed.
    #[default]
    Unknown,
    Ok,
    /// Looked bad, not yet confirmed.
    Suspect,
    /// Confirmed bad; an alert is open.
    Down,
    /// Looked healthy after being down, not yet confirmed; the alert is still open.
    Recovering,
    Flapping,
    /// Music plays from the player's cache while it is offline: degraded, no alert.
    OfflineCached,
}

crate::sql::text_column!(ZoneStatus, ZoneStatus::parse);

impl ZoneStatus {
    pub const ALL: [ZoneStatus; 7] = [
        ZoneStatus::Unknown,
        ZoneStatus::Ok,
        ZoneStatus::Suspect,
        ZoneStatus::Down,
        ZoneStatus::Recovering,
        ZoneStatus::Flapping,
        ZoneStatus::OfflineCached,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ZoneStatus::Unknown => "unknown",
            ZoneStatus::Ok => "ok",
            ZoneStatus::Suspect => "suspect",
            ZoneStatus::Down => "down",
            ZoneStatus::Recovering => "recovering",
            ZoneStatus::Flapping => "flapping",
            ZoneStatus::OfflineCached => "offline_cached",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|z| z.as_str().eq_ignore_ascii_case(s))
    }
}

/// How much evidence the machine wants before it changes its mind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Bad observations in a row before a zone is down (default 2).
    pub confirm_checks: u32,
    /// And the time from the first of them (default 60 s).
    pub confirm_after: Duration,
    /// Healthy observations in a row before an open alert is resolved (default 2).
    pub recover_checks: u32,
    /// And the time from the first of them (default 60 s).
    pub recover_after: Duration,
    pub flap: FlapPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            confirm_checks: 2,
            confirm_after: Duration::seconds(60),
            recover_checks: 2,
            recover_after: Duration::seconds(60),
            flap: FlapPolicy::default(),
        }
    }
}

/// One change of status (or, with `from == to`, an event without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub at: OffsetDateTime,
    pub from: ZoneStatus,
    pub to: ZoneStatus,
    pub event: Option<ZoneEvent>,
}

/// What is worth telling people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneEvent {
    /// An alert opens; `since` is when the zone first looked bad.
    Opened {
        problem: Problem,
        since: OffsetDateTime,
    },
    /// The open alert is resolved.
    Resolved {
        problem: Problem,
        down_for: Duration,
    },
    FlappingStarted,
    FlappingStopped {
        still_bad: bool,
    },
    /// The open alert is now about something else (paused, then offline).
    ProblemChanged {
        from: Problem,
        to: Problem,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Run {
    healthy: bool,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
    count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct OpenAlert {
    problem: Problem,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

impl ZoneEvent {
    /// A stable name for logs and storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            ZoneEvent::Opened { .. } => "opened",
            ZoneEvent::Resolved { .. } => "resolved",
            ZoneEvent::FlappingStarted => "flapping_started",
            ZoneEvent::FlappingStopped { .. } => "flapping_stopped",
            ZoneEvent::ProblemChanged { .. } => "problem_changed",
        }
    }
}

/// The state of one zone; serialisable so the monitor can keep it as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ZoneMachine {
    status: ZoneStatus,
    #[serde(with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_at: Option<OffsetDateTime>,
    run: Option<Run>,
    problem: Option<Problem>,
    open: Option<OpenAlert>,
    history: HealthHistory,
    /// When music came back after the last alert or flapping episode (its healthy run began).
    #[serde(with = "time::serde::rfc3339::option")]
    recovered_at: Option<OffsetDateTime>,
}

impl ZoneMachine {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn status(&self) -> ZoneStatus {
        self.status
    }

    /// The problem of the open alert, if one is open.
    pub fn open_problem(&self) -> Option<Problem> {
        self.open.map(|o| o.problem)
    }

    /// When the zone entered its current status; `None` before its first known observation.
    pub fn since(&self) -> Option<OffsetDateTime> {
        self.since
    }

    /// When the open alert's zone first looked bad.
    pub fn open_since(&self) -> Option<OffsetDateTime> {
        self.open.map(|o| o.since)
    }

    /// The weighted percent state change of the recent health results (see `flapping`).
    pub fn flap_percent(&self) -> f64 {
        self.history.percent_state_change()
    }

    pub fn observe(&mut self, at: OffsetDateTime, obs: Observation, policy: &Policy) -> Vec<Transition> {
        let mut out = Vec::new();
        if obs == Observation::Unknown || self.last_at.is_some_and(|last| at < last) {
            return out;
        }
        self.last_at = Some(at);
        let healthy = obs.is_healthy();
        match &mut self.run {
            Some(run) if run.healthy == healthy => run.count = run.count.saturating_add(1),
            run => *run = Some(Run { healthy, since: at, count: 1 }),
        }
        if let Some(p) = obs.problem() {
            self.problem = Some(p);
        }

        self.history.push(healthy);
        let was_flapping = self.status == ZoneStatus::Flapping;
        let unsettled = self.run.is_some_and(|run| at - run.since < policy.flap.settle);
        let flapping = flapping::next_flapping(was_flapping, self.history.percent_state_change(), &policy.flap)
            || (was_flapping && unsettled);
        match (was_flapping, flapping) {
            (false, true) => self.go(&mut out, at, ZoneStatus::Flapping, Some(ZoneEvent::FlappingStarted)),
            (true, true) => {}
            (true, false) => self.stop_flapping(&mut out, at, obs, policy),
            (false, false) => self.step(&mut out, at, obs, policy),
        }
        out
    }

    fn step(&mut self, out: &mut Vec<Transition>, at: OffsetDateTime, obs: Observation, policy: &Policy) {
        use ZoneStatus as S;
        let healthy = obs.is_healthy();
        match (self.status, healthy) {
            (S::Unknown | S::Ok | S::OfflineCached | S::Suspect, true) => {
                let to = calm(obs);
                if to != self.status {
                    self.go(out, at, to, None);
                }
            }
            (S::Unknown | S::Ok | S::OfflineCached, false) => {
                self.go(out, at, S::Suspect, None);
                self.try_confirm(out, at, policy);
            }
            (S::Suspect, false) => self.try_confirm(out, at, policy),
            (S::Down, false) => {
                if let Some(event) = self.problem_change() {
                    self.go(out, at, S::Down, Some(event));
                }
            }
            (S::Down, true) => {
                self.go(out, at, S::Recovering, None);
                self.try_recover(out, at, obs, policy);
            }
            (S::Recovering, true) => self.try_recover(out, at, obs, policy),
            (S::Recovering, false) => {
                let event = self.problem_change();
                self.go(out, at, S::Down, event);
            }
            (S::Flapping, _) => {}
        }
    }

    fn stop_flapping(&mut self, out: &mut Vec<Transition>, at: OffsetDateTime, obs: Observation, policy: &Policy) {
        let still_bad = !obs.is_healthy();
        if still_bad {
            self.go(out, at, ZoneStatus::Down, Some(ZoneEvent::FlappingStopped { still_bad }));
            match (self.open, self.problem, self.run) {
                (None, Some(problem), Some(run)) => {
                    self.open = Some(OpenAlert { problem, since: run.since });
                    self.go(out, at, ZoneStatus::Down, Some(ZoneEvent::Opened { problem, since: run.since }));
                }
                (Some(_), _, _) => {
                    if let Some(event) = self.problem_change() {
                        self.go(out, at, ZoneStatus::Down, Some(event));
                    }
                }
                _ => {}
            }
        } else if self.open.is_some() {
            self.go(out, at, ZoneStatus::Recovering, Some(ZoneEvent::FlappingStopped { still_bad }));
            self.try_recover(out, at, obs, policy);
        } else {
            self.recovered_at = self.run.map(|run| run.since);
            self.go(out, at, calm(obs), Some(ZoneEvent::FlappingStopped { still_bad }));
        }
    }

    fn try_confirm(&mut self, out: &mut Vec<Transition>, at: OffsetDateTime, policy: &Policy) {
        let (Some(run), Some(problem)) = (self.run, self.problem) else { return };
        if run.count >= policy.confirm_checks && at - run.since >= policy.confirm_after {
            if self.recovered_at.is_some_and(|back| run.since - back <= policy.flap.repeat_within) {
                self.go(out, at, ZoneStatus::Flapping, Some(ZoneEvent::FlappingStarted));
                return;
            }
            self.open = Some(OpenAlert { problem, since: run.since });
            self.go(out, at, ZoneStatus::Down, Some(ZoneEvent::Opened { problem, since: run.since }));
        }
    }

    fn try_recover(&mut self, out: &mut Vec<Transition>, at: OffsetDateTime, obs: Observation, policy: &Policy) {
        let Some(run) = self.run else { return };
        if run.count >= policy.recover_checks && at - run.since >= policy.recover_after {
            if self.open.is_some() {
                self.recovered_at = Some(run.since);
            }
            let event = self.open.take().map(|open| ZoneEvent::Resolved {
                problem: open.problem,
                down_for: (run.since - open.since).max(Duration::ZERO),
            });
            self.go(out, at, calm(obs), event);
        }
    }

    /// Moves the open alert to the latest problem, when it differs.
    fn problem_change(&mut self) -> Option<ZoneEvent> {
        let (open, to) = (self.open.as_mut()?, self.problem?);
        (open.problem != to).then(|| ZoneEvent::ProblemChanged { from: std::mem::replace(&mut open.problem, to), to })
    }

    fn go(&mut self, out: &mut Vec<Transition>, at: OffsetDateTime, to: ZoneStatus, event: Option<ZoneEvent>) {
        let from = self.status;
        if to != from {
            self.status = to;
            self.since = Some(at);
        }
        out.push(Transition { at, from, to, event });
    }
}

/// The status of a zone with music and no open alert.
fn calm(obs: Observation) -> ZoneStatus {
    if obs == Observation::OfflineCached { ZoneStatus::OfflineCached } else { ZoneStatus::Ok }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-02 08:00 UTC);
    const BAD: [Observation; 5] = [
        Observation::Offline,
        Observation::Paused,
        Observation::Muted,
        Observation::Unpaired,
        Observation::SubscriptionExpired,
    ];

    fn at(secs: i64) -> OffsetDateTime {
        T0 + Duration::seconds(secs)
    }

    /// Feeds `(seconds after T0, observation)` pairs and returns every transition.
    fn feed(m: &mut ZoneMachine, steps: &[(i64, Observation)], policy: &Policy) -> Vec<Transition> {
        steps.iter().flat_map(|&(s, o)| m.observe(at(s), o, policy)).collect()
    }

    fn events(ts: &[Transition]) -> Vec<ZoneEvent> {
        ts.iter().filter_map(|t| t.event).collect()
    }

    fn count(ts: &[Transition], pred: impl Fn(&ZoneEvent) -> bool) -> usize {
        ts.iter().filter_map(|t| t.event).filter(|e| pred(e)).count()
    }

    fn is_opened(e: &ZoneEvent) -> bool {
        matches!(e, ZoneEvent::Opened { .. })
    }

    fn is_resolved(e: &ZoneEvent) -> bool {
        matches!(e, ZoneEvent::Resolved { .. })
    }

    fn is_flap(e: &ZoneEvent) -> bool {
        matches!(e, ZoneEvent::FlappingStarted | ZoneEvent::FlappingStopped { .. })
    }

    use Observation::{Muted, Offline, OfflineCached, Paused, Playing, Unknown};

    #[test]
    fn status_names_are_the_database_values() {
        let names: Vec<_> = ZoneStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["unknown", "ok", "suspect", "down", "recovering", "flapping", "offline_cached"]);
        for s in ZoneStatus::ALL {
            assert_eq!(ZoneStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.as_str())));
        }
        assert_eq!(ZoneStatus::parse("maintenance"), None);
    }

    #[test]
    fn a_new_machine_is_unknown_with_nothing_open() {
        let m = ZoneMachine::new();
        assert_eq!((m.status(), m.open_problem(), m.since()), (ZoneStatus::Unknown, None, None));
    }

    #[test]
    fn a_first_healthy_check_makes_a_new_zone_ok_without_an_event() {
        let mut m = ZoneMachine::new();
        let ts = m.observe(at(0), Playing, &Policy::default());
        assert_eq!(ts, [Transition { at: at(0), from: ZoneStatus::Unknown, to: ZoneStatus::Ok, event: None }]);
        assert_eq!(m.since(), Some(at(0)));
        assert!(m.observe(at(300), Playing, &Policy::default()).is_empty());
        assert_eq!(m.since(), Some(at(0)));
    }

    #[test]
    fn a_first_bad_check_makes_the_zone_suspect_without_an_alert() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Playing), (300, Offline)], &Policy::default());
        assert_eq!(m.status(), ZoneStatus::Suspect);
        assert!(events(&ts).is_empty());
        assert_eq!(m.open_problem(), None);
    }

    #[test]
    fn a_second_bad_check_a_minute_later_opens_one_alert_dated_from_the_first() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Playing), (300, Offline), (360, Offline), (420, Offline)], &Policy::default());
        assert_eq!(m.status(), ZoneStatus::Down);
        assert_eq!(events(&ts), [ZoneEvent::Opened { problem: Problem::Silent, since: at(300) }]);
        assert_eq!(m.open_problem(), Some(Problem::Silent));
        assert_eq!(m.open_since(), Some(at(300)));
        assert_eq!(m.since(), Some(at(360)));
    }

    #[test]
    fn two_quick_bad_checks_wait_until_confirm_after_has_passed() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Offline), (10, Offline), (30, Offline)], &Policy::default());
        assert_eq!((m.status(), events(&ts).len()), (ZoneStatus::Suspect, 0));
        let ts = feed(&mut m, &[(60, Offline)], &Policy::default());
        assert_eq!(events(&ts), [ZoneEvent::Opened { problem: Problem::Silent, since: at(0) }]);
    }

    #[test]
    fn one_slow_bad_check_is_not_enough_however_long_ago_it_began() {
        let policy = Policy { confirm_checks: 3, ..Policy::default() };
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Offline), (3600, Muted)], &policy);
        assert_eq!((m.status(), events(&ts).len()), (ZoneStatus::Suspect, 0));
        let ts = feed(&mut m, &[(3601, Paused)], &policy);
        assert_eq!(events(&ts), [ZoneEvent::Opened { problem: Problem::Paused, since: at(0) }]);
    }

    #[test]
    fn a_blip_returns_to_ok_silently() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Playing), (300, Paused), (600, Playing)], &Policy::default());
        assert_eq!(m.status(), ZoneStatus::Ok);
        assert!(events(&ts).is_empty());
        let path: Vec<_> = ts.iter().map(|t| t.to).collect();
        assert_eq!(path, [ZoneStatus::Ok, ZoneStatus::Suspect, ZoneStatus::Ok]);
    }

    #[test]
    fn recovery_needs_two_healthy_checks_a_minute_apart_and_reports_how_long_music_was_off() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        feed(&mut m, &[(0, Offline), (60, Offline)], &p);
        let ts = feed(&mut m, &[(900, Playing)], &p);
        assert_eq!((m.status(), events(&ts).len()), (ZoneStatus::Recovering, 0));
        assert_eq!(m.open_problem(), Some(Problem::Silent));
        let ts = feed(&mut m, &[(930, Playing)], &p);
        assert!(events(&ts).is_empty());
        let ts = feed(&mut m, &[(960, Playing)], &p);
        assert_eq!(events(&ts), [ZoneEvent::Resolved { problem: Problem::Silent, down_for: Duration::minutes(15) }]);
        assert_eq!((m.status(), m.open_problem()), (ZoneStatus::Ok, None));
    }

    #[test]
    fn a_relapse_during_recovery_returns_to_down_without_a_new_alert() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let ts = feed(&mut m, &[(0, Offline), (60, Offline), (120, Playing), (150, Offline), (400, Offline)], &p);
        assert_eq!(m.status(), ZoneStatus::Down);
        assert_eq!(count(&ts, is_opened), 1);
        let path: Vec<_> = ts.iter().map(|t| t.to).collect();
        assert_eq!(path, [ZoneStatus::Suspect, ZoneStatus::Down, ZoneStatus::Recovering, ZoneStatus::Down]);
        let ts = feed(&mut m, &[(500, Playing), (560, Playing)], &p);
        assert_eq!(events(&ts), [ZoneEvent::Resolved { problem: Problem::Silent, down_for: Duration::seconds(500) }]);
    }

    #[test]
    fn a_changed_problem_is_reported_on_the_open_alert_not_as_a_new_one() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let ts = feed(&mut m, &[(0, Paused), (60, Paused), (120, Offline), (180, Offline)], &p);
        assert_eq!(
            events(&ts),
            [
                ZoneEvent::Opened { problem: Problem::Paused, since: at(0) },
                ZoneEvent::ProblemChanged { from: Problem::Paused, to: Problem::Silent }
            ]
        );
        assert_eq!(m.open_problem(), Some(Problem::Silent));
        let ts = feed(&mut m, &[(200, Playing), (260, Playing)], &p);
        assert_eq!(events(&ts), [ZoneEvent::Resolved { problem: Problem::Silent, down_for: Duration::seconds(200) }]);
    }

    #[test]
    fn offline_cached_is_recorded_as_its_own_status_but_never_alerts() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let ts = feed(&mut m, &[(0, Playing), (300, OfflineCached), (600, OfflineCached), (900, Playing)], &p);
        let path: Vec<_> = ts.iter().map(|t| t.to).collect();
        assert_eq!(path, [ZoneStatus::Ok, ZoneStatus::OfflineCached, ZoneStatus::Ok]);
        assert!(events(&ts).is_empty());
    }

    #[test]
    fn a_zone_that_recovers_onto_its_cache_resolves_into_offline_cached() {
        let mut m = ZoneMachine::new();
        let ts = feed(
            &mut m,
            &[(0, Offline), (60, Offline), (120, OfflineCached), (180, OfflineCached)],
            &Policy::default(),
        );
        assert_eq!(m.status(), ZoneStatus::OfflineCached);
        assert_eq!(count(&ts, is_resolved), 1);
    }

    #[test]
    fn unknown_checks_change_nothing_not_even_the_runs_they_interrupt() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        feed(&mut m, &[(0, Playing), (300, Offline)], &p);
        let before = m.clone();
        assert!(feed(&mut m, &[(310, Unknown), (320, Unknown)], &p).is_empty());
        assert_eq!(m, before);
        let ts = feed(&mut m, &[(360, Offline)], &p);
        assert_eq!(count(&ts, is_opened), 1);
    }

    #[test]
    fn a_stale_observation_older_than_the_last_one_is_ignored() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        feed(&mut m, &[(0, Playing), (600, Playing)], &p);
        let before = m.clone();
        assert!(feed(&mut m, &[(300, Offline)], &p).is_empty());
        assert_eq!(m, before);
    }

    #[test]
    fn flapping_starts_once_and_holds_alerts_back_until_it_settles_bad_then_opens_one() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let flappy: Vec<(i64, Observation)> =
            (0..40).map(|i| (i * 300, if i % 2 == 0 { Playing } else { Offline })).collect();
        let ts = feed(&mut m, &flappy, &p);
        assert_eq!(events(&ts), [ZoneEvent::FlappingStarted]);
        assert_eq!(m.status(), ZoneStatus::Flapping);
        let steady: Vec<(i64, Observation)> = (40..80).map(|i| (i * 300, Offline)).collect();
        let ts = feed(&mut m, &steady, &p);
        let start = 40 * 300;
        assert!(matches!(
            events(&ts)[..],
            [ZoneEvent::FlappingStopped { still_bad: true }, ZoneEvent::Opened { problem: Problem::Silent, since }] if since == at(start - 300)
        ));
        assert_eq!((m.status(), m.open_problem()), (ZoneStatus::Down, Some(Problem::Silent)));
    }

    #[test]
    fn flapping_that_settles_healthy_without_an_open_alert_just_returns_to_ok() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let steps: Vec<(i64, Observation)> =
            (0..60).map(|i| (i * 300, if i < 30 && i % 2 == 1 { Muted } else { Playing })).collect();
        let ts = feed(&mut m, &steps, &p);
        assert_eq!(events(&ts), [ZoneEvent::FlappingStarted, ZoneEvent::FlappingStopped { still_bad: false }]);
        assert_eq!(m.status(), ZoneStatus::Ok);
    }

    #[test]
    fn an_alert_open_when_flapping_started_stays_open_and_resolves_normally_later() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        let mut steps = vec![(0, Offline), (60, Offline)];
        steps.extend((1..30).map(|i| (60 + i * 300, if i % 2 == 1 { Playing } else { Offline })));
        let ts = feed(&mut m, &steps, &p);
        assert_eq!(
            events(&ts),
            [ZoneEvent::Opened { problem: Problem::Silent, since: at(0) }, ZoneEvent::FlappingStarted]
        );
        assert_eq!(m.open_problem(), Some(Problem::Silent));
        let calm_from = 60 + 30 * 300;
        let steady: Vec<(i64, Observation)> = (0..30).map(|i| (calm_from + i * 300, Playing)).collect();
        let ts = feed(&mut m, &steady, &p);
        let evs = events(&ts);
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0], ZoneEvent::FlappingStopped { still_bad: false });
        assert!(matches!(evs[1], ZoneEvent::Resolved { problem: Problem::Silent, .. }));
        assert_eq!((m.status(), m.open_problem()), (ZoneStatus::Ok, None));
    }

    #[test]
    fn a_lenient_policy_can_open_and_resolve_on_a_single_check() {
        let p = Policy {
            confirm_checks: 1,
            confirm_after: Duration::ZERO,
            recover_checks: 1,
            recover_after: Duration::ZERO,
            ..Policy::default()
        };
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &[(0, Playing), (60, Muted), (120, Playing)], &p);
        let path: Vec<_> = ts.iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(
            path,
            [
                (ZoneStatus::Unknown, ZoneStatus::Ok),
                (ZoneStatus::Ok, ZoneStatus::Suspect),
                (ZoneStatus::Suspect, ZoneStatus::Down),
                (ZoneStatus::Down, ZoneStatus::Recovering),
                (ZoneStatus::Recovering, ZoneStatus::Ok),
            ]
        );
        assert_eq!(count(&ts, is_opened), 1);
        assert_eq!(count(&ts, is_resolved), 1);
    }

    #[test]
    fn the_machine_round_trips_through_json_mid_incident() {
        let mut m = ZoneMachine::new();
        let p = Policy::default();
        feed(&mut m, &[(0, Playing), (300, Offline), (360, Offline), (420, Playing)], &p);
        let json = serde_json::to_string(&m).expect("serialises");
        let back: ZoneMachine = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, m);
        let old: ZoneMachine = serde_json::from_str("{}").expect("missing fields default");
        assert_eq!(old, ZoneMachine::new());
    }

    /// The monitor's policy: confirmation after 20 s, recovery after 30 s.
    fn monitor_policy() -> Policy {
        Policy { confirm_after: Duration::seconds(20), recover_after: Duration::seconds(30), ..Policy::default() }
    }

    /// `cycles` of `bad` seconds silent then `good` seconds playing, checked every `every` seconds.
    fn slow_flap(cycles: i64, bad: i64, good: i64, every: i64) -> Vec<(i64, Observation)> {
        let period = bad + good;
        (0..cycles * period / every)
            .map(|i| {
                let t = i * every;
                (t, if t % period < bad { Offline } else { Playing })
            })
            .collect()
    }

    #[test]
    fn a_zone_silent_again_soon_after_recovering_is_flapping_not_a_second_alert() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &slow_flap(6, 180, 180, 10), &monitor_policy());
        assert_eq!(count(&ts, is_opened), 1, "{:?}", events(&ts));
        assert_eq!(count(&ts, is_resolved), 1);
        assert_eq!(count(&ts, |e| *e == ZoneEvent::FlappingStarted), 1);
        assert_eq!(m.status(), ZoneStatus::Flapping);
    }

    #[test]
    fn slow_flapping_stops_once_the_zone_has_held_steady_for_the_settle_time() {
        let mut m = ZoneMachine::new();
        let p = monitor_policy();
        let mut steps = slow_flap(4, 120, 120, 10);
        let end = 4 * 240;
        steps.extend((0..60).map(|i| (end + i * 10, Offline)));
        let ts = feed(&mut m, &steps, &p);
        let stopped = ts.iter().find(|t| matches!(t.event, Some(ZoneEvent::FlappingStopped { .. })));
        assert_eq!(stopped.map(|t| t.at), Some(at(end + 300)), "stops when the silence has lasted `settle`");
        assert_eq!(count(&ts, is_opened), 2, "the first outage, then the silence it settled into");
        assert_eq!(m.open_since(), Some(at(end)));
        assert_eq!(m.status(), ZoneStatus::Down);
    }

    #[test]
    fn outages_further_apart_than_repeat_within_each_open_their_own_alert() {
        let mut m = ZoneMachine::new();
        let ts = feed(&mut m, &slow_flap(3, 120, 20 * 60, 10), &monitor_policy());
        assert_eq!(count(&ts, is_opened), 3);
        assert_eq!(count(&ts, is_flap), 0);
    }

    #[test]
    fn a_blip_that_never_confirmed_does_not_count_as_a_recovery() {
        let mut m = ZoneMachine::new();
        let p = monitor_policy();
        let ts = feed(
            &mut m,
            &[(0, Playing), (10, Offline), (20, Playing), (100, Offline), (110, Offline), (130, Offline)],
            &p,
        );
        assert_eq!(events(&ts), [ZoneEvent::Opened { problem: Problem::Silent, since: at(100) }]);
    }

    fn any_observation() -> impl Strategy<Value = Observation> {
        prop::sample::select(&Observation::ALL[..])
    }

    fn bad_observation() -> impl Strategy<Value = Observation> {
        prop::sample::select(&BAD[..])
    }

    fn any_policy() -> impl Strategy<Value = Policy> {
        (1u32..5, 0i64..400, 1u32..5, 0i64..400, 30.0f64..80.0, 5.0f64..30.0).prop_map(|(cc, ca, rc, ra, high, low)| {
            Policy {
                confirm_checks: cc,
                confirm_after: Duration::seconds(ca),
                recover_checks: rc,
                recover_after: Duration::seconds(ra),
                flap: FlapPolicy { high, low, ..FlapPolicy::default() },
            }
        })
    }

    /// Runs `(seconds advance, observation)` steps from a fresh machine.
    fn run(steps: &[(i64, Observation)], policy: &Policy) -> (ZoneMachine, Vec<Transition>) {
        let mut m = ZoneMachine::new();
        let mut now = T0;
        let mut all = Vec::new();
        for &(dt, obs) in steps {
            now += Duration::seconds(dt);
            all.extend(m.observe(now, obs, policy));
        }
        (m, all)
    }

    proptest! {
        #[test]
        fn alerts_open_and_resolve_in_strict_alternation_and_match_the_machine(
            steps in prop::collection::vec((0i64..=900, any_observation()), 0..300),
            policy in any_policy(),
        ) {
            let mut m = ZoneMachine::new();
            let mut now = T0;
            let mut open: Option<Problem> = None;
            for (dt, obs) in steps {
                now += Duration::seconds(dt);
                for t in m.observe(now, obs, &policy) {
                    match t.event {
                        Some(ZoneEvent::Opened { problem, since }) => {
                            prop_assert_eq!(open, None, "a second alert opened");
                            prop_assert!(since <= t.at);
                            open = Some(problem);
                        }
                        Some(ZoneEvent::Resolved { problem, down_for }) => {
                            prop_assert_eq!(open, Some(problem), "resolved without a matching open alert");
                            prop_assert!(down_for >= Duration::ZERO);
                            open = None;
                        }
                        Some(ZoneEvent::ProblemChanged { from, to }) => {
                            prop_assert_eq!(open, Some(from));
                            prop_assert_ne!(from, to);
                            open = Some(to);
                        }
                        _ => {}
                    }
                }
                prop_assert_eq!(m.open_problem(), open);
                match m.status() {
                    ZoneStatus::Down | ZoneStatus::Recovering => prop_assert!(open.is_some()),
                    ZoneStatus::Flapping => {}
                    _ => prop_assert!(open.is_none()),
                }
            }
        }

        #[test]
        fn transitions_chain_each_from_the_previous_to_and_end_at_the_status(
            steps in prop::collection::vec((0i64..=900, any_observation()), 0..300),
            policy in any_policy(),
        ) {
            let (m, ts) = run(&steps, &policy);
            let mut current = ZoneStatus::Unknown;
            let mut last_at = T0;
            for t in &ts {
                prop_assert_eq!(t.from, current);
                prop_assert!(t.at >= last_at);
                prop_assert!(t.from != t.to || t.event.is_some(), "an empty self-transition");
                current = t.to;
                last_at = t.at;
            }
            prop_assert_eq!(m.status(), current);
        }

        #[test]
        fn a_confirmed_bad_run_ends_down_with_exactly_one_alert_and_a_shorter_one_opens_none(
            healthy_prefix in 0usize..10,
            bad in prop::collection::vec((0i64..=200, bad_observation()), 1..15),
            policy in any_policy(),
        ) {
            let mut steps: Vec<(i64, Observation)> = vec![(300, Playing); healthy_prefix];
            steps.extend(bad.iter().copied());
            let (m, ts) = run(&steps, &policy);
            let first_bad = T0 + Duration::seconds(300 * i64::try_from(healthy_prefix).unwrap_or(0) + bad[0].0);
            let span = Duration::seconds(bad[1..].iter().map(|s| s.0).sum::<i64>());
            let confirmed = bad.len() >= usize::try_from(policy.confirm_checks).unwrap_or(usize::MAX) && span >= policy.confirm_after;
            let opened: Vec<_> = ts.iter().filter_map(|t| match t.event {
                Some(ZoneEvent::Opened { since, .. }) => Some(since),
                _ => None,
            }).collect();
            if confirmed {
                prop_assert_eq!(m.status(), ZoneStatus::Down);
                prop_assert_eq!(opened, vec![first_bad]);
                let last_problem = bad.last().and_then(|s| s.1.problem());
                prop_assert_eq!(m.open_problem(), last_problem);
            } else {
                prop_assert_eq!(m.status(), ZoneStatus::Suspect);
                prop_assert!(opened.is_empty());
            }
        }

        #[test]
        fn a_long_healthy_run_ends_ok_with_every_alert_resolved(
            prefix in prop::collection::vec((0i64..=900, any_observation()), 0..200),
            healthy in prop::collection::vec((60i64..=600, prop::sample::select(&[Playing, OfflineCached][..])), 30..40),
        ) {
            let policy = Policy::default();
            let mut steps = prefix;
            steps.extend(healthy.iter().copied());
            steps.push((300, Playing));
            let (m, ts) = run(&steps, &policy);
            prop_assert_eq!(m.status(), ZoneStatus::Ok);
            prop_assert_eq!(m.open_problem(), None);
            prop_assert_eq!(count(&ts, is_opened), count(&ts, is_resolved));
        }

        #[test]
        fn unknown_only_sequences_emit_nothing_and_change_nothing(
            prefix in prop::collection::vec((0i64..=900, any_observation()), 0..60),
            unknowns in prop::collection::vec(0i64..=900, 0..100),
        ) {
            let policy = Policy::default();
            let (mut m, _) = run(&prefix, &policy);
            let before = m.clone();
            let mut now = T0 + Duration::seconds(prefix.iter().map(|s| s.0).sum::<i64>());
            for dt in unknowns {
                now += Duration::seconds(dt);
                prop_assert!(m.observe(now, Unknown, &policy).is_empty());
            }
            prop_assert_eq!(m, before);
        }

        #[test]
        fn strict_alternation_flaps_once_and_never_alerts_after_flapping_starts(
            gaps in prop::collection::vec(1i64..=600, 100),
            bads in prop::collection::vec(bad_observation(), 100),
            bad_first in any::<bool>(),
        ) {
            let steps: Vec<(i64, Observation)> = (0..100)
                .map(|i| (gaps[i], if (i % 2 == 0) == bad_first { bads[i] } else { Playing }))
                .collect();
            let (m, ts) = run(&steps, &Policy::default());
            let evs = events(&ts);
            prop_assert!(evs.iter().filter(|e| is_flap(e)).count() <= 2);
            let started = evs.iter().position(|e| *e == ZoneEvent::FlappingStarted);
            prop_assert!(started.is_some());
            let after = &evs[started.map_or(0, |i| i + 1)..];
            prop_assert!(!after.iter().any(|e| is_opened(e) || is_resolved(e)));
            prop_assert_eq!(m.status(), ZoneStatus::Flapping);
        }

        #[test]
        // Sampled every `every` s, a phase of `d` s shows as little as d - 2(every - 1) s: bad
        // phases must still outlast the 20 s confirmation and good ones the 30 s recovery, or
        // the zone is never down (or never back) and there is nothing to flap.
        fn slow_flapping_raises_one_flapping_alert_and_at_most_the_first_outage_alert(
            bad in 50i64..=280,
            good in 60i64..=280,
            cycles in 3i64..10,
            every in 5i64..=15,
            offset in 0i64..15,
            problem in bad_observation(),
        ) {
            let period = bad + good;
            let steps: Vec<(i64, Observation)> = (0..cycles * period / every)
                .map(|i| {
                    let t = offset + i * every;
                    (t, if t % period < bad { problem } else { Playing })
                })
                .collect();
            let mut m = ZoneMachine::new();
            let ts = feed(&mut m, &steps, &monitor_policy());
            prop_assert!(count(&ts, is_opened) <= 1, "{:?}", events(&ts));
            prop_assert_eq!(count(&ts, |e| *e == ZoneEvent::FlappingStarted), 1, "{:?}", events(&ts));
            prop_assert_eq!(count(&ts, |e| matches!(e, ZoneEvent::FlappingStopped { .. })), 0);
            prop_assert_eq!(m.status(), ZoneStatus::Flapping);
        }

        #[test]
        fn a_machine_restored_from_json_behaves_exactly_like_the_original(
            before in prop::collection::vec((0i64..=900, any_observation()), 0..100),
            after in prop::collection::vec((0i64..=900, any_observation()), 0..100),
        ) {
            let policy = Policy::default();
            let (mut m, _) = run(&before, &policy);
            let json = serde_json::to_string(&m).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut restored: ZoneMachine = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&restored, &m);
            let mut now = T0 + Duration::seconds(before.iter().map(|s| s.0).sum::<i64>());
            for (dt, obs) in after {
                now += Duration::seconds(dt);
                prop_assert_eq!(m.observe(now, obs, &policy), restored.observe(now, obs, &policy));
            }
        }
    }
}
