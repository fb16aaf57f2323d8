//! Who hears what, and when, as pure policy. A hotel whose network drops loses five zones at once:
//! its staff should get one message naming the five, not five messages; a zone back within a
//! minute should never have been announced; reminders must not nag; the all-clear is sent once.
//! And when Soundtrack itself fails, the whole fleet looks silent: the [`Inhibitor`] notices that
//! so the monitor can hold zone alerts instead of paging two thousand venues.
//!
//! Severity of a zone's problem ([`severity`]):
//!
//! | problem                               | zone type                       | severity                          |
//! |---------------------------------------|---------------------------------|-----------------------------------|
//! | silent, unpaired (no music at all)    | lobby, restaurant, bar, retail  | warning; critical from 10 min     |
//! | silent, unpaired                      | pool, spa, other                | warning; critical from 30 min     |
//! | paused, muted                         | any                             | warning                           |
//! | subscription expired                  | any                             | warning                           |
//!
//! Guest-facing rooms where silence is noticed at once escalate after 10 minutes; an unpaired
//! player plays nothing, so it counts as silence. Info is the severity of recovery notices.
//!
//! Grouping per venue ([`VenueAlertGroup::due`]), after Alertmanager's group_wait / group_interval /
//! repeat_interval:
//!
//! * **Problem**: the first notice of an episode goes out `group_wait` after the first zone
//!   opened and names every zone down at that moment; zones resolved before it are never named.
//! * **Update**: when the set of zones (or their problems, or the highest severity) differs from
//!   what was last said, at most once per `group_wait`; a zone newly down since the last notice
//!   joins only after it has been down `group_wait` itself.
//! * **Reminder**: while anything announced is still down and nothing changed, once per
//!   `cooldown` since the last notice of any kind.
//! * **Recovered**: once, when every zone is back after a notice went out.

use super::observation::Problem;
use crate::venue::ZoneType;
use serde::{Deserialize, Serialize};
use std::fmt;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

crate::sql::text_column!(Severity, Severity::parse);

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s))
    }
}

/// What an alert is about, as the `alerts` table stores it: a zone's [`Problem`], a zone that
/// keeps flapping, or the Soundtrack platform itself. Whoever opens a zone alert (the monitor, the
/// bot) opens one of these kinds, so the monitor's recovery, which resolves every
/// [`AlertKind::zone_health`] kind, closes it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Silent,
    Paused,
    Muted,
    Unpaired,
    SubscriptionExpired,
    Flapping,
    Platform,
}

impl AlertKind {
    pub const ALL: [AlertKind; 7] = [
        AlertKind::Silent,
        AlertKind::Paused,
        AlertKind::Muted,
        AlertKind::Unpaired,
        AlertKind::SubscriptionExpired,
        AlertKind::Flapping,
        AlertKind::Platform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Silent => "silent",
            AlertKind::Paused => "paused",
            AlertKind::Muted => "muted",
            AlertKind::Unpaired => "unpaired",
            AlertKind::SubscriptionExpired => "subscription_expired",
            AlertKind::Flapping => "flapping",
            AlertKind::Platform => "platform",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// The problem a zone-health alert is about; `None` for flapping and platform alerts.
    pub fn problem(self) -> Option<Problem> {
        match self {
            AlertKind::Silent => Some(Problem::Silent),
            AlertKind::Paused => Some(Problem::Paused),
            AlertKind::Muted => Some(Problem::Muted),
            AlertKind::Unpaired => Some(Problem::Unpaired),
            AlertKind::SubscriptionExpired => Some(Problem::SubscriptionExpired),
            AlertKind::Flapping | AlertKind::Platform => None,
        }
    }

    /// The kinds that say a zone plays no music as it should: one of them is open while the zone
    /// is down, and all of them close when it recovers.
    pub fn zone_health() -> [AlertKind; 5] {
        Problem::ALL.map(AlertKind::from)
    }
}

impl From<Problem> for AlertKind {
    fn from(p: Problem) -> Self {
        match p {
            Problem::Silent => AlertKind::Silent,
            Problem::Paused => AlertKind::Paused,
            Problem::Muted => AlertKind::Muted,
            Problem::Unpaired => AlertKind::Unpaired,
            Problem::SubscriptionExpired => AlertKind::SubscriptionExpired,
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long silence in a zone of this type stays a warning (see the table in the header).
pub fn critical_after(zone_type: ZoneType) -> Duration {
    match zone_type {
        ZoneType::Lobby | ZoneType::Restaurant | ZoneType::Bar | ZoneType::Retail => Duration::minutes(10),
        ZoneType::Pool | ZoneType::Spa | ZoneType::Other => Duration::minutes(30),
    }
}

/// The severity of `problem` in a zone of `zone_type` that has been down for `down_for`.
pub fn severity(zone_type: ZoneType, problem: Problem, down_for: Duration) -> Severity {
    match problem {
        Problem::Silent | Problem::Unpaired if down_for >= critical_after(zone_type) => Severity::Critical,
        Problem::Silent | Problem::Unpaired => Severity::Warning,
        Problem::Paused | Problem::Muted | Problem::SubscriptionExpired => Severity::Warning,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupPolicy {
    /// Wait before the first notice and between updates (default 60 s).
    pub group_wait: Duration,
    /// Minimum time between reminders (`ALERT_COOLDOWN`, default 3600 s).
    pub cooldown: Duration,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        Self { group_wait: Duration::seconds(60), cooldown: Duration::seconds(3600) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Problem,
    Update,
    Reminder,
    Recovered,
}

/// One message to the venue's people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub severity: Severity,
    pub text: String,
    /// The zones the notice is about: those down, or for a recovery those back.
    pub zone_ids: Vec<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DownZone {
    zone_id: Uuid,
    name: String,
    problem: Problem,
    severity: Severity,
    #[serde(with = "time::serde::rfc3339")]
    since: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Said {
    zone_id: Uuid,
    name: String,
    problem: Problem,
}

/// The alerting state of one venue; serialisable so the monitor can store it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueAlertGroup {
    venue_id: Uuid,
    down: Vec<DownZone>,
    /// When the first zone of a not yet announced episode opened.
    #[serde(with = "time::serde::rfc3339::option")]
    pending_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    last_sent: Option<OffsetDateTime>,
    /// The zones the last problem, update or reminder named; empty when nothing is announced.
    said: Vec<Said>,
    said_severity: Option<Severity>,
}

impl VenueAlertGroup {
    pub fn new(venue_id: Uuid) -> Self {
        Self { venue_id, down: Vec::new(), pending_since: None, last_sent: None, said: Vec::new(), said_severity: None }
    }

    pub fn venue_id(&self) -> Uuid {
        self.venue_id
    }

    /// How many zones have an open alert.
    pub fn down_count(&self) -> usize {
        self.down.len()
    }

    /// Whether a problem notice is out and not yet followed by a recovery notice.
    pub fn announced(&self) -> bool {
        !self.said.is_empty()
    }

    /// A zone's alert opened; called again for the same zone, it updates its name, problem and
    /// severity (a changed problem or a higher severity then makes an update due).
    pub fn zone_opened(
        &mut self,
        zone_id: Uuid,
        zone_name: &str,
        problem: Problem,
        severity: Severity,
        at: OffsetDateTime,
    ) {
        if let Some(z) = self.down.iter_mut().find(|z| z.zone_id == zone_id) {
            z.name = zone_name.to_owned();
            z.problem = problem;
            z.severity = severity;
            return;
        }
        if self.down.is_empty() && self.said.is_empty() {
            self.pending_since = Some(at);
        }
        self.down.push(DownZone { zone_id, name: zone_name.to_owned(), problem, severity, since: at });
    }

    pub fn zone_resolved(&mut self, zone_id: Uuid, _at: OffsetDateTime) {
        self.down.retain(|z| z.zone_id != zone_id);
        if self.down.is_empty() && self.said.is_empty() {
            self.pending_since = None;
        }
    }

    /// What to send now, if anything (the rules are in the module header).
    pub fn due(
        &mut self,
        now: OffsetDateTime,
        total_zones: usize,
        venue_name: &str,
        policy: &GroupPolicy,
    ) -> Option<Notice> {
        let total = total_zones.max(self.down.len());
        if self.down.is_empty() {
            self.pending_since = None;
            if self.said.is_empty() {
                return None;
            }
            let zone_ids = self.said.drain(..).map(|s| s.zone_id).collect();
            self.said_severity = None;
            self.last_sent = Some(now);
            return Some(Notice {
                kind: NoticeKind::Recovered,
                severity: Severity::Info,
                text: recovered_text(venue_name, total),
                zone_ids,
            });
        }

        let mut zones: Vec<&DownZone> = if self.said.is_empty() {
            let since = *self.pending_since.get_or_insert(now);
            if now - since < policy.group_wait {
                return None;
            }
            self.down.iter().collect()
        } else {
            self.down
                .iter()
                .filter(|z| self.said.iter().any(|s| s.zone_id == z.zone_id) || now - z.since >= policy.group_wait)
                .collect()
        };
        if zones.is_empty() {
            return None;
        }
        zones.sort_by(|a, b| (a.since, &a.name, a.zone_id).cmp(&(b.since, &b.name, b.zone_id)));
        let top = zones.iter().map(|z| z.severity).max().unwrap_or(Severity::Warning);

        let kind = if self.said.is_empty() {
            NoticeKind::Problem
        } else {
            let same = zones.len() == self.said.len()
                && zones.iter().all(|z| self.said.iter().any(|s| s.zone_id == z.zone_id && s.problem == z.problem))
                && self.said_severity == Some(top);
            let elapsed = self.last_sent.map_or(Duration::MAX, |t| now - t);
            match (same, elapsed) {
                (false, e) if e >= policy.group_wait => NoticeKind::Update,
                (true, e) if e >= policy.cooldown => NoticeKind::Reminder,
                _ => return None,
            }
        };

        let summary = summary(&zones, total, venue_name);
        let text = match kind {
            NoticeKind::Update => {
                let back: Vec<&str> = self
                    .said
                    .iter()
                    .filter(|s| !zones.iter().any(|z| z.zone_id == s.zone_id))
                    .map(|s| s.name.as_str())
                    .collect();
                if back.is_empty() {
                    format!("Update: {summary}")
                } else {
                    format!("Update: {summary}. Back: {}", back.join(", "))
                }
            }
            NoticeKind::Reminder => {
                let longest = zones.iter().map(|z| now - z.since).max().unwrap_or(Duration::ZERO);
                format!("Reminder: {summary} (down for {})", human(longest))
            }
            NoticeKind::Problem | NoticeKind::Recovered => summary,
        };
        let zone_ids = zones.iter().map(|z| z.zone_id).collect();
        let said =
            zones.iter().map(|z| Said { zone_id: z.zone_id, name: z.name.clone(), problem: z.problem }).collect();
        self.said = said;
        self.said_severity = Some(top);
        self.pending_since = None;
        self.last_sent = Some(now);
        Some(Notice { kind, severity: top, text, zone_ids })
    }
}

fn summary(zones: &[&DownZone], total: usize, venue: &str) -> String {
    let n = zones.len();
    let noun = if total == 1 { "zone" } else { "zones" };
    let head = format!("{n} of {total} {noun} at {venue}");
    match zones.first().map(|z| z.problem) {
        Some(p) if zones.iter().all(|z| z.problem == p) => {
            let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
            format!("{head} {}: {}", predicate(p, n == 1), names.join(", "))
        }
        _ => {
            let items: Vec<String> = zones.iter().map(|z| format!("{} ({})", z.name, adjective(z.problem))).collect();
            format!("{head} need attention: {}", items.join(", "))
        }
    }
}

fn predicate(problem: Problem, one: bool) -> &'static str {
    match (problem, one) {
        (Problem::Silent, true) => "is silent",
        (Problem::Silent, false) => "are silent",
        (Problem::Paused, true) => "is paused",
        (Problem::Paused, false) => "are paused",
        (Problem::Muted, true) => "is muted",
        (Problem::Muted, false) => "are muted",
        (Problem::Unpaired, true) => "has no player paired",
        (Problem::Unpaired, false) => "have no player paired",
        (Problem::SubscriptionExpired, true) => "has an expired subscription",
        (Problem::SubscriptionExpired, false) => "have expired subscriptions",
    }
}

fn adjective(problem: Problem) -> &'static str {
    match problem {
        Problem::Silent => "silent",
        Problem::Paused => "paused",
        Problem::Muted => "muted",
        Problem::Unpaired => "no player paired",
        Problem::SubscriptionExpired => "subscription expired",
    }
}

fn recovered_text(venue: &str, total: usize) -> String {
    if total == 1 {
        format!("Music is back at {venue} (its zone is playing)")
    } else {
        format!("Music is back at {venue} (all {total} zones playing)")
    }
}

fn human(d: Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// Why the whole platform looks unwell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InhibitReason {
    /// A large share of the zones checked in one sweep went bad at once.
    MassDrop { newly_bad: usize, checked: usize },
    /// The Soundtrack API calls of this many sweeps in a row failed.
    ApiFailures { consecutive: u32 },
}

impl fmt::Display for InhibitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InhibitReason::MassDrop { newly_bad, checked } => {
                write!(f, "{newly_bad} of {checked} zones checked went bad in one sweep")
            }
            InhibitReason::ApiFailures { consecutive } => {
                write!(f, "{consecutive} sweeps in a row could not reach Soundtrack")
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlatformEvent {
    Started { reason: InhibitReason },
    Ended,
}

/// Platform-wide inhibition. It starts when, in one sweep, at least `min_zones` zones AND at
/// least `threshold_share` of the zones checked newly went bad (so neither a small sweep nor one
/// large venue looks like an outage), or when `api_failure_streak` sweeps in a row failed to
/// reach the API. It ends after the next healthy sweep: API calls succeeded and no mass drop. A
/// failed sweep is no evidence of health, so it never ends an inhibition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inhibitor {
    threshold_share: f64,
    min_zones: usize,
    api_failure_streak: u32,
    failures: u32,
    active: Option<InhibitReason>,
    #[serde(with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
}

impl Default for Inhibitor {
    fn default() -> Self {
        Self::new(0.2, 20, 3)
    }
}

impl Inhibitor {
    pub fn new(threshold_share: f64, min_zones: usize, api_failure_streak: u32) -> Self {
        Self { threshold_share, min_zones, api_failure_streak, failures: 0, active: None, since: None }
    }

    /// Fed once per sweep: how many zones were checked, how many newly went bad in this sweep,
    /// and whether the sweep's API calls failed.
    pub fn sweep(
        &mut self,
        at: OffsetDateTime,
        checked: usize,
        newly_bad: usize,
        api_failed: bool,
    ) -> Option<PlatformEvent> {
        self.sweep_fleet(at, checked, newly_bad, 0.0, api_failed)
    }

    /// Like [`Inhibitor::sweep`], with `bad_now`, the share (0–1) of the fleet that is bad at
    /// the end of this sweep: an inhibition that a mass drop started lasts while at least half
    /// the trigger share of the fleet is still bad (hysteresis), not merely one healthy sweep.
    pub fn sweep_fleet(
        &mut self,
        at: OffsetDateTime,
        checked: usize,
        newly_bad: usize,
        bad_now: f64,
        api_failed: bool,
    ) -> Option<PlatformEvent> {
        if let Some(InhibitReason::MassDrop { .. }) = self.active
            && !api_failed
            && bad_now >= self.threshold_share / 2.0
        {
            self.failures = 0;
            return None;
        }
        self.failures = if api_failed { self.failures.saturating_add(1) } else { 0 };
        let newly_bad = newly_bad.min(checked);
        let share = if checked == 0 { 0.0 } else { newly_bad as f64 / checked as f64 };
        let mass = newly_bad > 0 && newly_bad >= self.min_zones && share >= self.threshold_share;
        let trigger = if mass {
            Some(InhibitReason::MassDrop { newly_bad, checked })
        } else if self.failures >= self.api_failure_streak.max(1) {
            Some(InhibitReason::ApiFailures { consecutive: self.failures })
        } else {
            None
        };
        match (self.active, trigger) {
            (None, Some(reason)) => {
                self.active = Some(reason);
                self.since = Some(at);
                Some(PlatformEvent::Started { reason })
            }
            (Some(_), None) if !api_failed => {
                self.active = None;
                self.since = None;
                Some(PlatformEvent::Ended)
            }
            _ => None,
        }
    }

    pub fn active(&self) -> bool {
        self.active.is_some()
    }

    /// Why it started, while active.
    pub fn reason(&self) -> Option<InhibitReason> {
        self.active
    }

    /// When it started, while active.
    pub fn since(&self) -> Option<OffsetDateTime> {
        self.since
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-02 09:00 UTC);

    fn at(secs: i64) -> OffsetDateTime {
        T0 + Duration::seconds(secs)
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    const LOBBY: u128 = 1;
    const POOL: u128 = 2;
    const BAR: u128 = 3;
    const SPA: u128 = 4;

    fn group() -> VenueAlertGroup {
        VenueAlertGroup::new(id(100))
    }

    fn due(g: &mut VenueAlertGroup, secs: i64) -> Option<Notice> {
        g.due(at(secs), 5, "Hotel X", &GroupPolicy::default())
    }

    fn kinds(g: &mut VenueAlertGroup, from: i64, to: i64, step: i64) -> Vec<(i64, NoticeKind)> {
        (from..=to).step_by(usize::try_from(step).unwrap_or(1)).filter_map(|s| due(g, s).map(|n| (s, n.kind))).collect()
    }

    fn silent(g: &mut VenueAlertGroup, zone: u128, name: &str, secs: i64) {
        g.zone_opened(id(zone), name, Problem::Silent, Severity::Warning, at(secs));
    }

    #[test]
    fn every_alert_kind_round_trips_through_its_stored_name_and_its_serde_name() {
        for k in AlertKind::ALL {
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).expect("serialises"), serde_json::json!(k.as_str()));
        }
        assert_eq!(AlertKind::parse(" Subscription_Expired "), Some(AlertKind::SubscriptionExpired));
        assert_eq!(AlertKind::parse("offline"), None, "the bot's old kind is no kind");
    }

    #[test]
    fn the_zone_health_kinds_are_exactly_the_problems_and_name_them_alike() {
        let health = AlertKind::zone_health();
        assert_eq!(health.map(AlertKind::problem), Problem::ALL.map(Some));
        for p in Problem::ALL {
            assert_eq!(AlertKind::from(p).as_str(), p.as_str());
        }
        let others: Vec<AlertKind> = AlertKind::ALL.into_iter().filter(|k| !health.contains(k)).collect();
        assert_eq!(others, [AlertKind::Flapping, AlertKind::Platform]);
        assert!(others.iter().all(|k| k.problem().is_none()));
    }

    #[test]
    fn the_severity_table_escalates_guest_rooms_after_ten_minutes_and_pool_and_spa_after_thirty() {
        let m = Duration::minutes;
        for t in [ZoneType::Lobby, ZoneType::Restaurant, ZoneType::Bar, ZoneType::Retail] {
            assert_eq!(severity(t, Problem::Silent, m(9)), Severity::Warning, "{t:?}");
            assert_eq!(severity(t, Problem::Silent, m(10)), Severity::Critical, "{t:?}");
            assert_eq!(severity(t, Problem::Unpaired, m(10)), Severity::Critical, "{t:?}");
        }
        for t in [ZoneType::Pool, ZoneType::Spa, ZoneType::Other] {
            assert_eq!(severity(t, Problem::Silent, m(29)), Severity::Warning, "{t:?}");
            assert_eq!(severity(t, Problem::Silent, m(30)), Severity::Critical, "{t:?}");
        }
        for t in ZoneType::ALL {
            for p in [Problem::Paused, Problem::Muted, Problem::SubscriptionExpired] {
                assert_eq!(severity(t, p, Duration::days(3)), Severity::Warning, "{t:?} {p:?}");
            }
        }
    }

    #[test]
    fn severities_order_and_name_themselves() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).ok(), Some(serde_json::json!(s.as_str())));
        }
    }

    #[test]
    fn three_zones_failing_within_group_wait_go_out_in_one_notice_naming_all_three() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert_eq!(due(&mut g, 10), None);
        silent(&mut g, POOL, "Pool", 20);
        silent(&mut g, BAR, "Bar", 50);
        assert_eq!(due(&mut g, 59), None);
        let n = due(&mut g, 60).expect("a notice after group_wait");
        assert_eq!(n.kind, NoticeKind::Problem);
        assert_eq!(n.text, "3 of 5 zones at Hotel X are silent: Lobby, Pool, Bar");
        assert_eq!(n.zone_ids, [id(LOBBY), id(POOL), id(BAR)]);
        assert_eq!(n.severity, Severity::Warning);
        assert_eq!(kinds(&mut g, 61, 3000, 7), []);
    }

    #[test]
    fn a_zone_recovering_within_group_wait_is_never_announced_nor_its_recovery() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        g.zone_resolved(id(LOBBY), at(30));
        assert_eq!(kinds(&mut g, 0, 10_000, 10), []);
        assert!(!g.announced());
    }

    #[test]
    fn a_zone_recovering_within_group_wait_is_left_out_of_the_notice_about_the_others() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        silent(&mut g, POOL, "Pool", 10);
        g.zone_resolved(id(POOL), at(40));
        let n = due(&mut g, 60).expect("a notice");
        assert_eq!(n.text, "1 of 5 zones at Hotel X is silent: Lobby");
        assert_eq!(n.zone_ids, [id(LOBBY)]);
    }

    #[test]
    fn reminders_come_no_more_often_than_the_cooldown_while_a_zone_stays_down() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert_eq!(
            kinds(&mut g, 0, 10_000, 5),
            [(60, NoticeKind::Problem), (3660, NoticeKind::Reminder), (7260, NoticeKind::Reminder)]
        );
        let n = due(&mut g, 10_860).expect("a third reminder");
        assert_eq!(n.text, "Reminder: 1 of 5 zones at Hotel X is silent: Lobby (down for 3 h 1 min)");
    }

    #[test]
    fn an_update_follows_a_change_in_the_down_zones_but_not_sooner_than_group_wait() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert!(due(&mut g, 60).is_some());
        silent(&mut g, POOL, "Pool", 70);
        assert_eq!(due(&mut g, 100), None);
        let n = due(&mut g, 130).expect("an update once the pool has been down group_wait");
        assert_eq!(
            (n.kind, n.text.as_str()),
            (NoticeKind::Update, "Update: 2 of 5 zones at Hotel X are silent: Lobby, Pool")
        );
        g.zone_resolved(id(LOBBY), at(140));
        assert_eq!(due(&mut g, 150), None);
        let n = due(&mut g, 190).expect("an update about the lobby coming back");
        assert_eq!(n.text, "Update: 1 of 5 zones at Hotel X is silent: Pool. Back: Lobby");
        assert_eq!(n.zone_ids, [id(POOL)]);
    }

    #[test]
    fn a_zone_down_briefly_after_the_first_notice_never_appears_in_an_update() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert!(due(&mut g, 60).is_some());
        silent(&mut g, BAR, "Bar", 100);
        g.zone_resolved(id(BAR), at(150));
        assert_eq!(kinds(&mut g, 61, 3000, 5), []);
    }

    #[test]
    fn a_higher_severity_or_another_problem_makes_an_update_due() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert!(due(&mut g, 60).is_some());
        g.zone_opened(id(LOBBY), "Lobby", Problem::Silent, Severity::Critical, at(600));
        let n = due(&mut g, 600).expect("an escalation");
        assert_eq!((n.kind, n.severity), (NoticeKind::Update, Severity::Critical));
        g.zone_opened(id(LOBBY), "Lobby", Problem::Muted, Severity::Warning, at(700));
        let n = due(&mut g, 700).expect("a changed problem");
        assert_eq!((n.kind, n.text.as_str()), (NoticeKind::Update, "Update: 1 of 5 zones at Hotel X is muted: Lobby"));
    }

    #[test]
    fn zones_with_different_problems_are_listed_each_with_its_own() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        g.zone_opened(id(SPA), "Spa", Problem::Paused, Severity::Warning, at(5));
        g.zone_opened(id(BAR), "Bar", Problem::SubscriptionExpired, Severity::Critical, at(5));
        let n = due(&mut g, 60).expect("a notice");
        assert_eq!(
            n.text,
            "3 of 5 zones at Hotel X need attention: Lobby (silent), Bar (subscription expired), Spa (paused)"
        );
        assert_eq!(n.severity, Severity::Critical);
    }

    #[test]
    fn the_recovery_notice_goes_out_exactly_once_when_every_zone_is_back() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        silent(&mut g, POOL, "Pool", 0);
        assert!(due(&mut g, 60).is_some());
        g.zone_resolved(id(LOBBY), at(300));
        g.zone_resolved(id(POOL), at(310));
        let n = due(&mut g, 320).expect("a recovery notice");
        assert_eq!(
            n,
            Notice {
                kind: NoticeKind::Recovered,
                severity: Severity::Info,
                text: "Music is back at Hotel X (all 5 zones playing)".into(),
                zone_ids: vec![id(LOBBY), id(POOL)],
            }
        );
        assert_eq!(kinds(&mut g, 321, 20_000, 10), []);
        assert!(!g.announced());
    }

    #[test]
    fn a_new_episode_after_recovery_waits_group_wait_again() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert!(due(&mut g, 60).is_some());
        g.zone_resolved(id(LOBBY), at(100));
        assert!(due(&mut g, 100).is_some());
        silent(&mut g, LOBBY, "Lobby", 200);
        assert_eq!(kinds(&mut g, 200, 400, 1), [(260, NoticeKind::Problem)]);
    }

    #[test]
    fn a_single_zone_venue_reads_naturally() {
        let mut g = group();
        g.zone_opened(id(LOBBY), "Main", Problem::Unpaired, Severity::Warning, at(0));
        let n = g.due(at(60), 1, "Café Y", &GroupPolicy::default()).expect("a notice");
        assert_eq!(n.text, "1 of 1 zone at Café Y has no player paired: Main");
        g.zone_resolved(id(LOBBY), at(90));
        let n = g.due(at(90), 1, "Café Y", &GroupPolicy::default()).expect("a recovery");
        assert_eq!(n.text, "Music is back at Café Y (its zone is playing)");
    }

    #[test]
    fn the_group_round_trips_through_json() {
        let mut g = group();
        silent(&mut g, LOBBY, "Lobby", 0);
        assert!(due(&mut g, 60).is_some());
        let json = serde_json::to_string(&g).expect("serialises");
        let back: VenueAlertGroup = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, g);
    }

    fn fleet() -> Inhibitor {
        Inhibitor::default()
    }

    #[test]
    fn a_large_share_of_the_fleet_dropping_at_once_starts_inhibition() {
        let mut i = fleet();
        let e = i.sweep(at(0), 1000, 300, false);
        assert_eq!(
            e,
            Some(PlatformEvent::Started { reason: InhibitReason::MassDrop { newly_bad: 300, checked: 1000 } })
        );
        assert!(i.active());
        assert_eq!(i.since(), Some(at(0)));
    }

    #[test]
    fn a_few_zones_dropping_do_not_start_inhibition() {
        let mut i = fleet();
        assert_eq!(i.sweep(at(0), 1000, 52, false), None);
        assert_eq!(i.sweep(at(300), 40, 15, false), None);
        assert_eq!(i.sweep(at(600), 1000, 199, false), None);
        assert!(!i.active());
    }

    #[test]
    fn consecutive_failing_sweeps_start_inhibition_and_a_success_in_between_resets_the_count() {
        let mut i = fleet();
        assert_eq!(i.sweep(at(0), 1000, 0, true), None);
        assert_eq!(i.sweep(at(300), 1000, 0, true), None);
        assert_eq!(i.sweep(at(600), 1000, 0, false), None);
        assert_eq!(i.sweep(at(900), 1000, 0, true), None);
        assert_eq!(i.sweep(at(1200), 1000, 0, true), None);
        let e = i.sweep(at(1500), 1000, 0, true);
        assert_eq!(e, Some(PlatformEvent::Started { reason: InhibitReason::ApiFailures { consecutive: 3 } }));
        assert_eq!(i.sweep(at(1800), 1000, 0, true), None);
        assert!(i.active());
    }

    #[test]
    fn inhibition_ends_after_a_healthy_sweep_but_not_after_a_failed_one() {
        let mut i = fleet();
        assert!(i.sweep(at(0), 1000, 400, false).is_some());
        assert_eq!(i.sweep(at(300), 1000, 0, true), None);
        assert!(i.active());
        assert_eq!(i.sweep(at(600), 1000, 3, false), Some(PlatformEvent::Ended));
        assert!(!i.active());
        assert_eq!((i.reason(), i.since()), (None, None));
        assert_eq!(i.sweep(at(900), 1000, 3, false), None);
    }

    #[test]
    fn inhibition_reasons_read_as_sentences() {
        assert_eq!(
            InhibitReason::MassDrop { newly_bad: 312, checked: 1200 }.to_string(),
            "312 of 1200 zones checked went bad in one sweep"
        );
        assert_eq!(
            InhibitReason::ApiFailures { consecutive: 3 }.to_string(),
            "3 sweeps in a row could not reach Soundtrack"
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Open(u128, Problem),
        Resolve(u128),
        Due,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1u128..6, prop::sample::select(&Problem::ALL[..])).prop_map(|(z, p)| Op::Open(z, p)),
            (1u128..6).prop_map(Op::Resolve),
            Just(Op::Due),
            Just(Op::Due),
        ]
    }

    proptest! {
        #[test]
        fn notices_follow_the_grouping_rules_whatever_the_order_of_events(
            ops in prop::collection::vec((0i64..200, op()), 0..200),
        ) {
            let policy = GroupPolicy::default();
            let mut g = group();
            let mut now = T0;
            let mut last_sent: Option<OffsetDateTime> = None;
            let mut announced = false;
            for (dt, op) in ops {
                now += Duration::seconds(dt);
                match op {
                    Op::Open(z, p) => g.zone_opened(id(z), "Zone", p, Severity::Warning, now),
                    Op::Resolve(z) => g.zone_resolved(id(z), now),
                    Op::Due => {
                        let Some(n) = g.due(now, 5, "Hotel X", &policy) else { continue };
                        prop_assert!(!n.zone_ids.is_empty());
                        match n.kind {
                            NoticeKind::Problem => prop_assert!(!announced),
                            NoticeKind::Recovered => {
                                prop_assert!(announced);
                                prop_assert_eq!(g.down_count(), 0);
                            }
                            NoticeKind::Update => {
                                prop_assert!(announced);
                                prop_assert!(last_sent.is_some_and(|t| now - t >= policy.group_wait));
                            }
                            NoticeKind::Reminder => {
                                prop_assert!(announced);
                                prop_assert!(last_sent.is_some_and(|t| now - t >= policy.cooldown));
                            }
                        }
                        announced = n.kind != NoticeKind::Recovered;
                        last_sent = Some(now);
                    }
                }
                prop_assert_eq!(g.announced(), announced);
            }
        }
    }

    #[test]
    fn a_mass_drop_inhibition_lasts_while_much_of_the_fleet_is_still_bad() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let mut inh = Inhibitor::new(0.2, 20, 3);
        assert!(matches!(inh.sweep_fleet(t0, 100, 40, 0.4, false), Some(PlatformEvent::Started { .. })));
        assert_eq!(inh.sweep_fleet(t0 + Duration::seconds(10), 100, 0, 0.4, false), None);
        assert!(inh.active());
        assert_eq!(inh.sweep_fleet(t0 + Duration::seconds(20), 100, 0, 0.05, false), Some(PlatformEvent::Ended));
        assert!(!inh.active());
    }
}
