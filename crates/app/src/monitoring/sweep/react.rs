//! Acting on what a tick saw: platform-wide inhibition first, then each observation is logged
//! and fed to its zone's state machine, whose events open, change and resolve alerts (or hold
//! them while the venue is closed, under maintenance or while the platform fails); severities
//! rise with the time down, and held alerts open once their hold ends.

use super::read::Seen;
use super::state::{State, VenueEntry, ZoneEntry, group_of};
use super::{Monitor, TickReport};
use bma_domain::analytics::FleetState;
use bma_domain::monitoring::{
    AlertKind, Health, Observation, Problem, Severity, VenueAlertGroup, ZoneEvent, ZoneStatus, severity,
};
use bma_store::monitoring::{self as store, LogEntry};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// Where the reactions of one tick go: its transaction, its report, and the venues whose alert
/// group changed (saved at the end); `now` is when the tick's answers were seen.
pub(super) struct Effects<'a> {
    pub(super) tx: &'a mut sqlx::PgConnection,
    pub(super) report: &'a mut TickReport,
    pub(super) touched: HashSet<Uuid>,
    pub(super) now: OffsetDateTime,
    /// `zone.changed` events for the live feed, published once the tick commits.
    pub(super) changes: Vec<serde_json::Value>,
}

/// What a zone's events change besides the zone itself.
struct Books<'s> {
    groups: &'s mut HashMap<Uuid, VenueAlertGroup>,
    held: &'s mut HashSet<String>,
    venues: &'s HashMap<Uuid, VenueEntry>,
}

impl Monitor {
    /// Inhibition comes first, so that this tick's own alerts are held when the platform fails.
    pub(super) async fn update_inhibition(
        &self,
        st: &mut State,
        seen: &Seen,
        covered: usize,
        api_failed: bool,
        now: OffsetDateTime,
    ) -> anyhow::Result<()> {
        let observed = &seen.observed;
        let newly_bad = observed
            .iter()
            .filter(|(z, o, _)| {
                !o.is_healthy()
                    && *o != Observation::Unknown
                    && st
                        .zones
                        .get(z)
                        .is_some_and(|e| e.observation.is_healthy() || e.observation == Observation::Unknown)
            })
            .count();
        let checked = covered.max(observed.iter().filter(|(_, o, _)| *o != Observation::Unknown).count());
        let bad_now = {
            let is_bad = |o: Observation| !o.is_healthy() && o != Observation::Unknown;
            let mut bad = st.zones.values().filter(|e| is_bad(e.observation)).count() as i64;
            let latest: HashMap<&str, Observation> = observed.iter().map(|(k, o, _)| (k.as_str(), *o)).collect();
            for (key, o) in latest {
                if let Some(e) = st.zones.get(key) {
                    bad += i64::from(is_bad(o)) - i64::from(is_bad(e.observation));
                }
            }
            if st.zones.is_empty() { 0.0 } else { bad.max(0) as f64 / st.zones.len() as f64 }
        };
        if let Some(ev) = st.inhibitor.sweep_fleet(now, checked, newly_bad, bad_now, api_failed) {
            self.platform_event(&ev, now).await?;
        }
        Ok(())
    }

    /// Logs each observation, feeds it to its zone's state machine and acts on the events.
    pub(super) async fn record(&self, fx: &mut Effects<'_>, st: &mut State, seen: Seen) -> anyhow::Result<()> {
        let Seen { observed, seen_at } = seen;
        let now = fx.now;
        for (zone_key, obs, note) in observed {
            let suppressed = {
                let Some(z) = st.zones.get(&zone_key) else { continue };
                st.inhibitor.active() || st.calendar.holds(z.venue_id, z.zone_id)
            };
            let State { zones, groups, held, venues, .. } = &mut *st;
            let Some(z) = zones.get_mut(&zone_key) else { continue };
            z.last_detail = Some(now);
            let at = seen_at.get(&zone_key).copied().unwrap_or(now);
            let before = z.observation;
            if obs != Observation::Unknown {
                z.observation = obs;
            }
            store::log(&mut *fx.tx, z.zone_id, LogEntry::Sample(obs, note.as_deref()), at).await?;
            if Health::of(before) != Health::of(obs) && obs != Observation::Unknown {
                store::log(&mut *fx.tx, z.zone_id, LogEntry::Health(Health::of(obs)), at).await?;
            }
            let (was, is) = (FleetState::of(Some(before)), FleetState::of(Some(z.observation)));
            if was != is {
                fx.changes.push(serde_json::json!({
                    "type": "zone.changed", "zone_id": z.zone_id, "venue_id": z.venue_id,
                    "from": was, "to": is, "at": at.unix_timestamp(),
                }));
            }
            let transitions = z.machine.observe(at, obs, &self.settings.policy);
            fx.report.transitions += transitions.len();
            let mut books = Books { groups, held, venues };
            for t in &transitions {
                if t.from != t.to {
                    let event = t.event.as_ref().map(ZoneEvent::as_str);
                    store::log(&mut *fx.tx, z.zone_id, LogEntry::Transition(t.to, event), t.at).await?;
                }
                if let Some(event) = &t.event {
                    on_event(fx, &mut books, z, &zone_key, event, suppressed).await?;
                }
            }
            let machine = serde_json::to_value(&z.machine).unwrap_or_default();
            store::save_zone_state(&mut *fx.tx, z.zone_id, &machine, z.observation, z.machine.status(), now).await?;
        }
        Ok(())
    }
}

/// Opens, changes or resolves the zone's alerts as its state machine says.
async fn on_event(
    fx: &mut Effects<'_>,
    books: &mut Books<'_>,
    z: &ZoneEntry,
    key: &str,
    event: &ZoneEvent,
    suppressed: bool,
) -> anyhow::Result<()> {
    let now = fx.now;
    let venue = books.venues.get(&z.venue_id).map_or("", |v| v.name.as_str());
    match event {
        ZoneEvent::Opened { problem, since } if suppressed => {
            books.held.insert(key.to_owned());
            tracing::info!(zone = %z.name, problem = problem.as_str(), since = %since, "zone down; alert held (closed, maintenance or platform trouble)");
        }
        ZoneEvent::Opened { problem, since } => {
            if open_zone_alert(fx.tx, z, venue, *problem, *since, now).await? {
                fx.report.alerts_opened += 1;
            }
            let sev = severity(z.zone_type, *problem, now - *since);
            group_of(books.groups, z.venue_id).zone_opened(z.zone_id, &z.name, *problem, sev, now);
            fx.touched.insert(z.venue_id);
        }
        ZoneEvent::ProblemChanged { to, .. } => {
            if !books.held.contains(key) {
                store::resolve_alerts(&mut *fx.tx, Some(z.zone_id), &AlertKind::zone_health(), now).await?;
                open_zone_alert(fx.tx, z, venue, *to, z.machine.open_since().unwrap_or(now), now).await?;
                let sev = severity(z.zone_type, *to, now - z.machine.open_since().unwrap_or(now));
                group_of(books.groups, z.venue_id).zone_opened(z.zone_id, &z.name, *to, sev, now);
                fx.touched.insert(z.venue_id);
            }
        }
        ZoneEvent::Resolved { .. } => {
            // Also when the monitor held its own: another alert (the bot's) may be open.
            fx.report.alerts_resolved += usize::try_from(
                store::resolve_alerts(&mut *fx.tx, Some(z.zone_id), &AlertKind::zone_health(), now).await?,
            )
            .unwrap_or(0);
            if !books.held.remove(key)
                && let Some(g) = books.groups.get_mut(&z.venue_id)
            {
                g.zone_resolved(z.zone_id, now);
                fx.touched.insert(z.venue_id);
            }
        }
        ZoneEvent::FlappingStarted => {
            let msg = format!("{} at {venue} keeps dropping out and coming back (flapping)", z.name);
            let (zone, venue) = (Some(z.zone_id), Some(z.venue_id));
            if store::open_alert(&mut *fx.tx, zone, venue, AlertKind::Flapping, Severity::Warning, &msg, now, now)
                .await?
                .is_some()
            {
                fx.report.alerts_opened += 1;
            }
        }
        ZoneEvent::FlappingStopped { .. } => {
            fx.report.alerts_resolved += usize::try_from(
                store::resolve_alerts(&mut *fx.tx, Some(z.zone_id), &[AlertKind::Flapping], now).await?,
            )
            .unwrap_or(0);
        }
    }
    Ok(())
}

/// Severity rises with the time a zone has been down (a silent lobby turns critical).
pub(super) async fn raise_severities(fx: &mut Effects<'_>, st: &mut State) -> anyhow::Result<()> {
    let now = fx.now;
    let State { zones, groups, held, .. } = st;
    for (key, z) in zones.iter_mut() {
        let (Some(problem), Some(since)) = (z.machine.open_problem(), z.machine.open_since()) else {
            z.severity = None;
            continue;
        };
        if held.contains(key) {
            continue;
        }
        let now_sev = severity(z.zone_type, problem, now - since);
        if z.severity.is_some_and(|s| s < now_sev) {
            store::raise_severity(&mut *fx.tx, z.zone_id, now_sev).await?;
            group_of(groups, z.venue_id).zone_opened(z.zone_id, &z.name, problem, now_sev, now);
            fx.touched.insert(z.venue_id);
        }
        z.severity = Some(now_sev);
    }
    Ok(())
}

/// Held alerts whose hold has ended open now if the zone is still down (call it only while the
/// platform is not inhibited).
pub(super) async fn release_held(fx: &mut Effects<'_>, st: &mut State) -> anyhow::Result<()> {
    let now = fx.now;
    let State { zones, groups, held, venues, calendar, .. } = st;
    let keys: Vec<String> = held.iter().cloned().collect();
    for key in keys {
        let Some(z) = zones.get(&key) else {
            held.remove(&key);
            continue;
        };
        if calendar.holds(z.venue_id, z.zone_id) {
            continue;
        }
        let still_down = matches!(z.machine.status(), ZoneStatus::Down | ZoneStatus::Recovering);
        if let (true, Some(problem)) = (still_down, z.machine.open_problem()) {
            let since = z.machine.open_since().unwrap_or(now);
            let venue = venues.get(&z.venue_id).map_or("", |v| v.name.as_str());
            if open_zone_alert(fx.tx, z, venue, problem, since, now).await? {
                fx.report.alerts_opened += 1;
            }
            let sev = severity(z.zone_type, problem, now - since);
            group_of(groups, z.venue_id).zone_opened(z.zone_id, &z.name, problem, sev, now);
            fx.touched.insert(z.venue_id);
        }
        held.remove(&key);
    }
    Ok(())
}

async fn open_zone_alert(
    tx: &mut sqlx::PgConnection,
    z: &ZoneEntry,
    venue: &str,
    problem: Problem,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> anyhow::Result<bool> {
    let sev = severity(z.zone_type, problem, now - since);
    let message = format!("{} at {venue} is {}", z.name, describe(problem));
    let (zone, venue) = (Some(z.zone_id), Some(z.venue_id));
    Ok(store::open_alert(&mut *tx, zone, venue, AlertKind::from(problem), sev, &message, since, now).await?.is_some())
}

fn describe(p: Problem) -> &'static str {
    match p {
        Problem::Silent => "silent (the player is offline)",
        Problem::Paused => "paused",
        Problem::Muted => "muted",
        Problem::Unpaired => "silent (no player is paired)",
        Problem::SubscriptionExpired => "silent (the subscription has expired)",
    }
}
