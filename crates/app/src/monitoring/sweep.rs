//! One monitor and its tick.

use crate::AppContext;
use crate::jobs::tasks::{EmailJob, SEND_EMAIL};
use bma_domain::clock::Clock;
use bma_domain::monitoring::{
    GroupPolicy, Inhibitor, Observation, PlatformEvent, Policy, Problem, VenueAlertGroup, ZoneEvent, ZoneMachine,
    ZoneStatus, severity,
};
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::{SoundtrackClient, SoundtrackError, StatusCount};
use bma_store::jobs::{NewJob, Priority};
use bma_store::monitoring as store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use tokio::sync::Mutex;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct MonitorSettings {
    pub policy: Policy,
    pub group: GroupPolicy,
    /// Accounts asked for their status counts per tick.
    pub accounts_per_tick: usize,
    /// Suspect and recovering zones are re-checked at most this often…
    pub recheck_every: Duration,
    /// …and zones confirmed down (or flapping) this often.
    pub down_recheck_every: Duration,
    /// An open account's zones are looked at in detail at least this often (paused and muted
    /// players do not change the cheap status counts, so only this finds them)…
    pub detail_every: Duration,
    /// …at most this many zones a tick, so the rotation never starves the status round.
    pub stale_zones_per_tick: usize,
    /// Accounts whose venues are all closed are asked this often (POLLING_INTERVAL).
    pub closed_every: Duration,
    /// Opening hours and maintenance are re-read this often.
    pub calendar_every: Duration,
}

impl MonitorSettings {
    pub fn from_config(c: &crate::config::Config) -> Self {
        Self {
            policy: Policy {
                confirm_after: Duration::seconds(20),
                recover_after: Duration::seconds(30),
                ..Policy::default()
            },
            group: GroupPolicy {
                group_wait: Duration::seconds(60),
                cooldown: Duration::try_from(c.alert_cooldown).unwrap_or(Duration::HOUR),
            },
            accounts_per_tick: 200,
            recheck_every: Duration::seconds(10),
            down_recheck_every: Duration::minutes(2),
            detail_every: Duration::minutes(2),
            stale_zones_per_tick: 16,
            closed_every: Duration::try_from(c.polling_interval).unwrap_or(Duration::minutes(5)),
            calendar_every: Duration::minutes(1),
        }
    }
}

struct ZoneEntry {
    zone_id: Uuid,
    venue_id: Uuid,
    name: String,
    zone_type: ZoneType,
    machine: ZoneMachine,
    observation: Observation,
    last_detail: Option<OffsetDateTime>,
    /// The severity last announced for its open alert; it rises with the time down.
    severity: Option<bma_domain::monitoring::Severity>,
}

#[derive(Default)]
struct AccountEntry {
    zones: Vec<String>,
    counts: Option<Vec<StatusCount>>,
    last_status: Option<OffsetDateTime>,
    last_detail: Option<OffsetDateTime>,
}

struct VenueEntry {
    name: String,
    zones: usize,
}

struct State {
    zones: HashMap<String, ZoneEntry>,
    accounts: BTreeMap<String, AccountEntry>,
    venues: HashMap<Uuid, VenueEntry>,
    groups: HashMap<Uuid, VenueAlertGroup>,
    inhibitor: Inhibitor,
    /// Zones (by Soundtrack zone id) whose alert is held: closed, maintenance or platform trouble.
    held: HashSet<String>,
    open_venues: HashSet<Uuid>,
    maintenance_venues: HashSet<Uuid>,
    maintenance_zones: HashSet<Uuid>,
    calendar_at: Option<OffsetDateTime>,
    cursor: usize,
}

/// What one tick did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub accounts_asked: usize,
    pub zones_detailed: usize,
    pub transitions: usize,
    pub alerts_opened: usize,
    pub alerts_resolved: usize,
    pub notices: usize,
    pub api_failed: bool,
    pub inhibited: bool,
}

pub struct Monitor {
    ctx: AppContext,
    client: Arc<SoundtrackClient>,
    clock: Clock,
    settings: MonitorSettings,
    state: Mutex<State>,
}

fn health(o: Observation) -> &'static str {
    match o {
        Observation::Unknown => "unknown",
        o if o.is_healthy() => "up",
        _ => "down",
    }
}

impl Monitor {
    /// Loads the monitored fleet and its saved state.
    pub async fn load(
        ctx: AppContext,
        client: Arc<SoundtrackClient>,
        clock: Clock,
        settings: MonitorSettings,
    ) -> anyhow::Result<Self> {
        let m = Self {
            ctx,
            client,
            clock,
            settings,
            state: Mutex::new(State {
                zones: HashMap::new(),
                accounts: BTreeMap::new(),
                venues: HashMap::new(),
                groups: HashMap::new(),
                inhibitor: Inhibitor::new(0.2, 20, 3),
                held: HashSet::new(),
                open_venues: HashSet::new(),
                maintenance_venues: HashSet::new(),
                maintenance_zones: HashSet::new(),
                calendar_at: None,
                cursor: 0,
            }),
        };
        m.reload().await?;
        Ok(m)
    }

    /// Re-reads the fleet (new zones, archived ones) keeping what is known of existing zones.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let fleet = store::load_fleet(&self.ctx.db).await?;
        let groups = store::load_groups(&self.ctx.db).await?;
        let mut st = self.state.lock().await;
        let mut zones = HashMap::with_capacity(fleet.len());
        let mut accounts: BTreeMap<String, AccountEntry> = BTreeMap::new();
        let mut venues: HashMap<Uuid, VenueEntry> = HashMap::new();
        for z in fleet {
            let Some(account) = z.account_id.clone() else { continue };
            let previous = st.zones.remove(&z.soundtrack_zone_id);
            let machine = previous
                .as_ref()
                .map(|p| p.machine.clone())
                .or_else(|| z.machine.clone().and_then(|m| serde_json::from_value(m).ok()))
                .unwrap_or_default();
            let entry = ZoneEntry {
                zone_id: z.zone_id,
                venue_id: z.venue_id,
                name: z.zone_name,
                zone_type: ZoneType::parse(&z.zone_type).unwrap_or(ZoneType::Other),
                machine,
                observation: previous.as_ref().map_or(Observation::Unknown, |p| p.observation),
                severity: previous.as_ref().and_then(|p| p.severity),
                last_detail: previous.and_then(|p| p.last_detail),
            };
            let a = accounts.entry(account.clone()).or_default();
            if let Some(old) = st.accounts.get(&account) {
                a.counts.clone_from(&old.counts);
                a.last_status = old.last_status;
                a.last_detail = old.last_detail;
            }
            a.zones.push(z.soundtrack_zone_id.clone());
            venues.entry(z.venue_id).or_insert_with(|| VenueEntry { name: z.venue_name.clone(), zones: 0 }).zones += 1;
            zones.insert(z.soundtrack_zone_id, entry);
        }
        st.zones = zones;
        st.accounts = accounts;
        st.venues = venues;
        for (venue, state) in groups {
            if let Ok(g) = serde_json::from_value(state) {
                st.groups.entry(venue).or_insert(g);
            }
        }
        Ok(())
    }

    /// Opening hours are re-read every `calendar_every`; maintenance windows (which a person
    /// may have just added) every tick.
    async fn refresh_calendar(&self, st: &mut State, now: OffsetDateTime) -> anyhow::Result<()> {
        if st.calendar_at.is_none_or(|t| now - t >= self.settings.calendar_every) {
            st.open_venues = store::open_venues(&self.ctx.db, now)
                .await?
                .into_iter()
                .filter(|(_, open)| *open)
                .map(|(v, _)| v)
                .collect();
            st.calendar_at = Some(now);
        }
        st.maintenance_venues.clear();
        st.maintenance_zones.clear();
        for (venue, zone) in store::in_maintenance(&self.ctx.db, now).await? {
            if let Some(v) = venue {
                st.maintenance_venues.insert(v);
            }
            if let Some(z) = zone {
                st.maintenance_zones.insert(z);
            }
        }
        Ok(())
    }

    /// One round of work; call it in a loop (the budget paces it).
    pub async fn tick(&self) -> anyhow::Result<TickReport> {
        let mut st = self.state.lock().await;
        let now = self.clock.now();
        self.refresh_calendar(&mut st, now).await?;
        let mut report = TickReport::default();

        // 1. Hot zones, re-checked in detail.
        let hot: Vec<String> = st
            .zones
            .iter()
            .filter(|(key, z)| {
                !matches!(z.machine.status(), ZoneStatus::Ok | ZoneStatus::Unknown | ZoneStatus::OfflineCached)
                    || st.held.contains(*key)
            })
            .filter(|(_, z)| {
                // Suspect and recovering zones are settling and are re-checked fast; a confirmed
                // problem changes the cheap status counts when it ends (paused ones excepted, which
                // the slower re-check catches), so it costs only an occasional look.
                let every = match z.machine.status() {
                    ZoneStatus::Down | ZoneStatus::Flapping => self.settings.down_recheck_every,
                    _ => self.settings.recheck_every,
                };
                z.last_detail.is_none_or(|t| now - t >= every)
            })
            .map(|(id, _)| id.clone())
            .collect();

        // 2. The next slice of accounts, asked for their counts per status.
        let ids: Vec<String> = st.accounts.keys().cloned().collect();
        let mut due = Vec::new();
        if !ids.is_empty() {
            let n = ids.len();
            let mut scanned = 0;
            while due.len() < self.settings.accounts_per_tick && scanned < n {
                let id = &ids[(st.cursor + scanned) % n];
                scanned += 1;
                let open = self.account_open(&st, id);
                let a = &st.accounts[id];
                if open || a.last_status.is_none_or(|t| now - t >= self.settings.closed_every) {
                    due.push(id.clone());
                }
            }
            st.cursor = (st.cursor + scanned) % n;
        }
        report.accounts_asked = due.len();
        let statuses = if due.is_empty() { Vec::new() } else { self.client.zone_statuses(&due).await };
        let mut api_errors = 0;
        let mut detail: Vec<String> = hot;
        let mut whole: Vec<String> = Vec::new();
        let mut covered = 0;
        let mut stale_accounts = Vec::new();
        let mut unseen = 0;
        for (account, result) in statuses {
            let open = self.account_open(&st, &account);
            let Some(a) = st.accounts.get_mut(&account) else { continue };
            match result {
                Ok(mut counts) => {
                    covered += a.zones.len();
                    counts.sort_by(|x, y| x.status.cmp(&y.status));
                    let changed = a.counts.as_ref() != Some(&counts);
                    a.counts = Some(counts);
                    a.last_status = Some(now);
                    if changed {
                        a.last_detail = Some(now);
                        whole.push(account.clone());
                    } else if open && a.last_detail.is_none_or(|t| now - t >= self.settings.detail_every) {
                        stale_accounts.push((a.last_detail, account.clone()));
                    }
                }
                Err(SoundtrackError::Forbidden(_) | SoundtrackError::NotFound(_)) => {
                    unseen += 1;
                    a.last_status = Some(now);
                }
                Err(e) => {
                    api_errors += 1;
                    tracing::warn!(account = %account, error = %e, "status counts failed");
                }
            }
        }
        if unseen > 0 {
            tracing::warn!(accounts = unseen, "Soundtrack does not show these linked accounts to our credential");
        }
        // The detail rotation: the stalest open accounts, within this tick's allowance.
        stale_accounts.sort();
        let mut allowance = self.settings.stale_zones_per_tick;
        for (_, account) in stale_accounts {
            let Some(a) = st.accounts.get_mut(&account) else { continue };
            if a.zones.len() > allowance && allowance < self.settings.stale_zones_per_tick {
                break;
            }
            allowance = allowance.saturating_sub(a.zones.len());
            a.last_detail = Some(now);
            whole.push(account.clone());
        }
        // Whole accounts in one query each; hot zones of other accounts one by one.
        let covered_by_whole: HashSet<&String> =
            whole.iter().filter_map(|a| st.accounts.get(a)).flat_map(|a| a.zones.iter()).collect();
        detail.retain(|z| !covered_by_whole.contains(z));
        detail.sort();
        detail.dedup();
        let sized: Vec<(String, u32)> = whole
            .iter()
            .map(|a| (a.clone(), st.accounts.get(a).map_or(1, |e| u32::try_from(e.zones.len()).unwrap_or(u32::MAX))))
            .collect();
        let mut answers: Vec<(String, Result<bma_integrations::soundtrack::ZoneSnapshot, SoundtrackError>)> =
            Vec::new();
        if !sized.is_empty() {
            for (account, r) in self.client.zones_state(&sized).await {
                let zones = st.accounts.get(&account).map(|a| a.zones.clone()).unwrap_or_default();
                match r {
                    Ok(snaps) => {
                        let mut by_id: HashMap<String, bma_integrations::soundtrack::ZoneSnapshot> =
                            snaps.into_iter().map(|s| (s.id.clone(), s)).collect();
                        for z in zones {
                            let answer = by_id
                                .remove(&z)
                                .ok_or_else(|| SoundtrackError::NotFound("zone not listed in its account".into()));
                            answers.push((z, answer));
                        }
                    }
                    Err(e) => answers.extend(zones.into_iter().map(|z| (z, Err(e.clone())))),
                }
            }
        }
        if !detail.is_empty() {
            answers.extend(self.client.zones_detail(&detail).await);
        }
        report.zones_detailed = answers.len();
        // What was seen is stamped when it was seen, after any wait for the budget.
        let now = self.clock.now();
        let mut observed: Vec<(String, Observation, Option<String>)> = Vec::with_capacity(answers.len());
        let mut seen_at: HashMap<String, OffsetDateTime> = HashMap::with_capacity(answers.len());
        for (zone, r) in answers {
            match r {
                Ok(s) => {
                    seen_at.insert(zone.clone(), s.observed_at);
                    observed.push((zone, crate::services::control::observe(&s), None));
                }
                Err(SoundtrackError::NotFound(m)) => {
                    observed.push((zone, Observation::Unknown, Some(format!("zone not found: {m}"))));
                }
                Err(e) => {
                    api_errors += 1;
                    observed.push((zone, Observation::Unknown, Some(e.to_string())));
                }
            }
        }
        let asked = due.len() + whole.len() + usize::from(!detail.is_empty());
        report.api_failed = asked > 0 && api_errors > 0 && api_errors * 2 >= asked.max(1);

        // 3. Inhibition first, so that this tick's own alerts are held when the platform fails.
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
            let seen: HashMap<&str, Observation> = observed.iter().map(|(k, o, _)| (k.as_str(), *o)).collect();
            let still_bad = |key: &String, e: &ZoneEntry| {
                let obs = seen.get(key.as_str()).copied().unwrap_or(e.observation);
                !obs.is_healthy() && obs != Observation::Unknown
            };
            let bad = st.zones.iter().filter(|(k, e)| still_bad(k, e)).count();
            if st.zones.is_empty() { 0.0 } else { bad as f64 / st.zones.len() as f64 }
        };
        if let Some(ev) = st.inhibitor.sweep_fleet(now, checked, newly_bad, bad_now, report.api_failed) {
            self.platform_event(&ev, now).await?;
        }
        report.inhibited = st.inhibitor.active();

        // 4. Feed the state machines and act on what they say.
        let mut tx = self.ctx.db.begin().await?;
        let mut touched_venues = HashSet::new();
        for (zone_key, obs, note) in observed {
            let suppressed = {
                let Some(z) = st.zones.get(&zone_key) else { continue };
                st.inhibitor.active()
                    || !st.open_venues.contains(&z.venue_id)
                    || st.maintenance_venues.contains(&z.venue_id)
                    || st.maintenance_zones.contains(&z.zone_id)
            };
            let State { zones, groups, held, venues, .. } = &mut *st;
            let Some(z) = zones.get_mut(&zone_key) else { continue };
            z.last_detail = Some(now);
            let at = seen_at.get(&zone_key).copied().unwrap_or(now);
            let before = z.observation;
            if obs != Observation::Unknown {
                z.observation = obs;
            }
            store::log(&mut *tx, z.zone_id, "sample", obs.as_str(), note.as_deref(), at).await?;
            if health(before) != health(obs) && obs != Observation::Unknown {
                store::log(&mut *tx, z.zone_id, "health", health(obs), None, at).await?;
            }
            let transitions = z.machine.observe(at, obs, &self.settings.policy);
            report.transitions += transitions.len();
            for t in &transitions {
                if t.from != t.to {
                    store::log(
                        &mut *tx,
                        z.zone_id,
                        "transition",
                        t.to.as_str(),
                        t.event.as_ref().map(ZoneEvent::as_str),
                        t.at,
                    )
                    .await?;
                }
                let Some(event) = &t.event else { continue };
                let key = zone_key.clone();
                match event {
                    ZoneEvent::Opened { problem, since } if suppressed => {
                        held.insert(key);
                        tracing::info!(zone = %z.name, problem = problem.as_str(), since = %since, "zone down; alert held (closed, maintenance or platform trouble)");
                    }
                    ZoneEvent::Opened { problem, since } => {
                        let venue = venues.get(&z.venue_id).map_or("", |v| v.name.as_str());
                        if open_zone_alert(&mut tx, z, venue, *problem, *since, now).await? {
                            report.alerts_opened += 1;
                        }
                        let sev = severity(z.zone_type, *problem, now - *since);
                        groups
                            .entry(z.venue_id)
                            .or_insert_with(|| VenueAlertGroup::new(z.venue_id))
                            .zone_opened(z.zone_id, &z.name, *problem, sev, now);
                        touched_venues.insert(z.venue_id);
                    }
                    ZoneEvent::ProblemChanged { to, .. } => {
                        if !held.contains(&key) {
                            store::resolve_alerts(&mut *tx, Some(z.zone_id), &problem_kinds(), now).await?;
                            let venue = venues.get(&z.venue_id).map_or("", |v| v.name.as_str());
                            open_zone_alert(&mut tx, z, venue, *to, z.machine.open_since().unwrap_or(now), now).await?;
                            let sev = severity(z.zone_type, *to, now - z.machine.open_since().unwrap_or(now));
                            groups
                                .entry(z.venue_id)
                                .or_insert_with(|| VenueAlertGroup::new(z.venue_id))
                                .zone_opened(z.zone_id, &z.name, *to, sev, now);
                            touched_venues.insert(z.venue_id);
                        }
                    }
                    ZoneEvent::Resolved { .. } => {
                        if !held.remove(&key) {
                            report.alerts_resolved += usize::try_from(
                                store::resolve_alerts(&mut *tx, Some(z.zone_id), &problem_kinds(), now).await?,
                            )
                            .unwrap_or(0);
                            if let Some(g) = groups.get_mut(&z.venue_id) {
                                g.zone_resolved(z.zone_id, now);
                                touched_venues.insert(z.venue_id);
                            }
                        }
                    }
                    ZoneEvent::FlappingStarted => {
                        let venue = venues.get(&z.venue_id).map_or("", |v| v.name.as_str());
                        let msg = format!("{} at {venue} keeps dropping out and coming back (flapping)", z.name);
                        if store::open_alert(
                            &mut *tx,
                            Some(z.zone_id),
                            Some(z.venue_id),
                            "flapping",
                            "warning",
                            &msg,
                            now,
                            now,
                        )
                        .await?
                        .is_some()
                        {
                            report.alerts_opened += 1;
                        }
                    }
                    ZoneEvent::FlappingStopped { .. } => {
                        report.alerts_resolved += usize::try_from(
                            store::resolve_alerts(&mut *tx, Some(z.zone_id), &["flapping"], now).await?,
                        )
                        .unwrap_or(0);
                    }
                }
            }
            let machine = serde_json::to_value(&z.machine).unwrap_or_default();
            store::save_zone_state(
                &mut *tx,
                z.zone_id,
                &machine,
                z.observation.as_str(),
                z.machine.status().as_str(),
                now,
            )
            .await?;
        }

        // 5. Severity rises with the time a zone has been down (a silent lobby turns critical).
        {
            let State { zones, groups, held, .. } = &mut *st;
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
                    store::raise_severity(&mut *tx, z.zone_id, now_sev.as_str()).await?;
                    groups
                        .entry(z.venue_id)
                        .or_insert_with(|| VenueAlertGroup::new(z.venue_id))
                        .zone_opened(z.zone_id, &z.name, problem, now_sev, now);
                    touched_venues.insert(z.venue_id);
                }
                z.severity = Some(now_sev);
            }
        }

        // 6. Held alerts whose hold has ended open now if the zone is still down.
        if !st.inhibitor.active() {
            let held: Vec<String> = st.held.iter().cloned().collect();
            for key in held {
                let Some(z) = st.zones.get(&key) else {
                    st.held.remove(&key);
                    continue;
                };
                let suppressed = !st.open_venues.contains(&z.venue_id)
                    || st.maintenance_venues.contains(&z.venue_id)
                    || st.maintenance_zones.contains(&z.zone_id);
                if suppressed {
                    continue;
                }
                let still_down = matches!(z.machine.status(), ZoneStatus::Down | ZoneStatus::Recovering);
                if let (true, Some(problem)) = (still_down, z.machine.open_problem()) {
                    let since = z.machine.open_since().unwrap_or(now);
                    let venue = st.venues.get(&z.venue_id).map_or(String::new(), |v| v.name.clone());
                    let (zone_id, venue_id, name, zone_type) = (z.zone_id, z.venue_id, z.name.clone(), z.zone_type);
                    if open_zone_alert_parts(&mut tx, zone_id, venue_id, &name, zone_type, &venue, problem, since, now)
                        .await?
                    {
                        report.alerts_opened += 1;
                    }
                    let sev = severity(zone_type, problem, now - since);
                    st.groups
                        .entry(venue_id)
                        .or_insert_with(|| VenueAlertGroup::new(venue_id))
                        .zone_opened(zone_id, &name, problem, sev, now);
                    touched_venues.insert(venue_id);
                }
                st.held.remove(&key);
            }
        }

        // 7. Grouped notices, enqueued with the state that produced them.
        let venue_ids: Vec<Uuid> = st.groups.keys().copied().collect();
        for venue_id in venue_ids {
            let (name, total) = st.venues.get(&venue_id).map_or((String::new(), 0), |v| (v.name.clone(), v.zones));
            let Some(group) = st.groups.get_mut(&venue_id) else { continue };
            if let Some(notice) = group.due(now, total, &name, &self.settings.group) {
                report.notices += 1;
                touched_venues.insert(venue_id);
                self.enqueue_notice(&mut tx, venue_id, &name, &notice.text, notice.kind).await?;
            }
        }
        for venue_id in touched_venues {
            if let Some(g) = st.groups.get(&venue_id) {
                store::save_group(&mut *tx, venue_id, &serde_json::to_value(g).unwrap_or_default()).await?;
            }
        }
        tx.commit().await?;
        if report.alerts_opened + report.alerts_resolved + report.notices > 0 {
            let event = serde_json::json!({"type": "monitoring", "at": now.unix_timestamp(), "opened": report.alerts_opened, "resolved": report.alerts_resolved});
            let _ = self.ctx.kv.pubsub.publish("events", &event.to_string()).await;
        }
        Ok(report)
    }

    fn account_open(&self, st: &State, account: &str) -> bool {
        st.accounts.get(account).is_some_and(|a| {
            a.zones.iter().any(|z| st.zones.get(z).is_some_and(|e| st.open_venues.contains(&e.venue_id)))
        })
    }

    async fn enqueue_notice(
        &self,
        tx: &mut sqlx::PgConnection,
        venue_id: Uuid,
        venue: &str,
        text: &str,
        kind: bma_domain::monitoring::NoticeKind,
    ) -> anyhow::Result<()> {
        let mut to = store::alert_recipients(&mut *tx).await?;
        to.extend(store::venue_email_contacts(&mut *tx, venue_id).await?);
        to.sort();
        to.dedup();
        let subject = match kind {
            bma_domain::monitoring::NoticeKind::Recovered => format!("Music is back at {venue}"),
            _ => format!("Music problem at {venue}"),
        };
        for address in to {
            let job =
                EmailJob {
                    to: address, subject: subject.clone(), text: format!("{text}\n\n— BMA Social monitoring")
                };
            bma_store::jobs::enqueue(
                &mut *tx,
                NewJob::new(SEND_EMAIL, serde_json::to_value(job)?, self.ctx.config.job_max_attempts())
                    .priority(Priority::HIGH),
            )
            .await?;
        }
        Ok(())
    }

    async fn platform_event(&self, ev: &PlatformEvent, now: OffsetDateTime) -> anyhow::Result<()> {
        let mut tx = self.ctx.db.begin().await?;
        let text = match ev {
            PlatformEvent::Started { reason } => {
                let msg =
                    format!("Soundtrack itself seems to be failing ({reason}); zone alerts are held until it recovers");
                tracing::error!(%reason, "platform alert: zone alerts held");
                store::open_alert(&mut *tx, None, None, "platform", "critical", &msg, now, now).await?;
                msg
            }
            PlatformEvent::Ended => {
                tracing::info!("platform alert resolved");
                store::resolve_alerts(&mut *tx, None, &["platform"], now).await?;
                "Soundtrack is answering normally again; zone monitoring resumed".to_owned()
            }
        };
        for address in store::alert_recipients(&mut *tx).await? {
            let job = EmailJob { to: address, subject: "Soundtrack platform status".into(), text: text.clone() };
            bma_store::jobs::enqueue(
                &mut *tx,
                NewJob::new(SEND_EMAIL, serde_json::to_value(job)?, self.ctx.config.job_max_attempts())
                    .priority(Priority::URGENT),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

fn problem_kinds() -> Vec<&'static str> {
    Problem::ALL.iter().map(|p| p.as_str()).collect()
}

async fn open_zone_alert(
    tx: &mut sqlx::PgConnection,
    z: &ZoneEntry,
    venue: &str,
    problem: Problem,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> anyhow::Result<bool> {
    open_zone_alert_parts(tx, z.zone_id, z.venue_id, &z.name, z.zone_type, venue, problem, since, now).await
}

#[allow(clippy::too_many_arguments)]
async fn open_zone_alert_parts(
    tx: &mut sqlx::PgConnection,
    zone_id: Uuid,
    venue_id: Uuid,
    zone: &str,
    zone_type: ZoneType,
    venue: &str,
    problem: Problem,
    since: OffsetDateTime,
    now: OffsetDateTime,
) -> anyhow::Result<bool> {
    let sev = severity(zone_type, problem, now - since);
    let message = format!("{zone} at {venue} is {}", describe(problem));
    Ok(store::open_alert(&mut *tx, Some(zone_id), Some(venue_id), problem.as_str(), sev.as_str(), &message, since, now)
        .await?
        .is_some())
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
