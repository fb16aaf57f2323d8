//! One monitor and its tick.

use crate::AppContext;
use crate::jobs::tasks::EmailJob;
use bma_domain::clock::Clock;
use bma_domain::monitoring::alerting::critical_after;
use bma_domain::monitoring::{
    GroupPolicy, Inhibitor, Observation, PlatformEvent, Policy, Problem, VenueAlertGroup, ZoneEvent, ZoneMachine,
    ZoneStatus, severity,
};
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::{SoundtrackClient, SoundtrackError, StatusCount, ZoneSnapshot, cost};
use bma_store::jobs::Priority;
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
    /// The largest share of the refill that zone reads (everything but the status counts) may
    /// take, so that the status round, which sees most faults, keeps its pace at any fleet size.
    pub detail_share: f64,
    /// Unused zone-read allowance is saved up to this much of the share, for bursts.
    pub detail_burst: Duration,
    /// Accounts asked for their status counts per tick; `None`: about five seconds of the
    /// status counts' share of the refill.
    pub accounts_per_tick: Option<usize>,
    /// Zones confirmed down whose recovery the status counts cannot show (paused), flapping
    /// zones and zones whose alert is held are re-checked this often…
    pub down_recheck_every: Duration,
    /// …and accounts with zones not OK have those read this often even when their counts stay the
    /// same (other zones confirmed down, whose recovery changes the counts anyway, are read then).
    pub settled_recheck_every: Duration,
    /// An open venue's zone has its playback read at most this often (three times this for zone
    /// types where silence is less urgent); the allowance usually makes it rarer.
    pub playback_every: Duration,
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
            detail_share: 0.25,
            detail_burst: Duration::seconds(60),
            accounts_per_tick: None,
            down_recheck_every: Duration::minutes(2),
            settled_recheck_every: Duration::minutes(8),
            playback_every: Duration::minutes(1),
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
    /// When its playback was last read (every read of a zone includes it).
    last_playback: Option<OffsetDateTime>,
    /// Its place in the playback rotation (stride scheduling: the lowest goes first).
    pass: f64,
    /// The severity last announced for its open alert; it rises with the time down.
    severity: Option<bma_domain::monitoring::Severity>,
}

#[derive(Default)]
struct AccountEntry {
    zones: Vec<String>,
    counts: Option<Vec<StatusCount>>,
    last_status: Option<OffsetDateTime>,
    /// When its zones not OK were last read.
    last_troubled: Option<OffsetDateTime>,
}

struct VenueEntry {
    name: String,
    zones: usize,
}

struct State {
    zones: HashMap<String, ZoneEntry>,
    accounts: BTreeMap<String, AccountEntry>,
    /// The keys of `accounts`, in order (the status round walks them with `cursor`).
    account_ids: Vec<String>,
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
    /// Accounts whose counts changed and whose zones are still to be read, oldest first.
    changed: Vec<String>,
    /// The zone-read allowance, in tokens, and when it was last topped up.
    credit: f64,
    credit_at: Option<OffsetDateTime>,
    pass_floor: f64,
}

/// What one tick did, for logs, tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub accounts_asked: usize,
    /// Zones read in any way (health, troubled, playback).
    pub zones_detailed: usize,
    /// Of those, zones read by the playback rotation.
    pub zones_probed: usize,
    /// Tokens of the status counts and of the zone reads, by Soundtrack's cost rule.
    pub status_tokens: u64,
    pub detail_tokens: u64,
    /// Documents sent to Soundtrack (retries not counted).
    pub requests: usize,
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
                account_ids: Vec::new(),
                venues: HashMap::new(),
                groups: HashMap::new(),
                inhibitor: Inhibitor::new(0.2, 20, 3),
                held: HashSet::new(),
                open_venues: HashSet::new(),
                maintenance_venues: HashSet::new(),
                maintenance_zones: HashSet::new(),
                calendar_at: None,
                cursor: 0,
                changed: Vec::new(),
                credit: 0.0,
                credit_at: None,
                pass_floor: 0.0,
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
                last_detail: previous.as_ref().and_then(|p| p.last_detail),
                last_playback: previous.as_ref().and_then(|p| p.last_playback),
                pass: previous.map_or(st.pass_floor, |p| p.pass),
            };
            let a = accounts.entry(account.clone()).or_default();
            if let Some(old) = st.accounts.get(&account) {
                a.counts.clone_from(&old.counts);
                a.last_status = old.last_status;
                a.last_troubled = old.last_troubled;
            }
            a.zones.push(z.soundtrack_zone_id.clone());
            venues.entry(z.venue_id).or_insert_with(|| VenueEntry { name: z.venue_name.clone(), zones: 0 }).zones += 1;
            zones.insert(z.soundtrack_zone_id, entry);
        }
        st.zones = zones;
        st.account_ids = accounts.keys().cloned().collect();
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

        // The zone reads' allowance: a share of the refill, saved up for a short while at most.
        let rate = self.settings.detail_share.clamp(0.0, 1.0) * self.client.refill_per_sec().max(0.0);
        if let Some(t) = st.credit_at {
            st.credit += rate * (now - t).as_seconds_f64().max(0.0);
        }
        st.credit = st.credit.min(rate * self.settings.detail_burst.as_seconds_f64().max(0.0));
        st.credit_at = Some(now);

        // 1. The next slice of accounts, asked for their counts per status.
        let ids = std::mem::take(&mut st.account_ids);
        let mut due = Vec::new();
        if !ids.is_empty() {
            let n = ids.len();
            let per_tick = self.settings.accounts_per_tick.unwrap_or_else(|| self.derived_accounts_per_tick());
            let mut scanned = 0;
            while due.len() < per_tick && scanned < n {
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
        st.account_ids = ids;
        report.accounts_asked = due.len();
        report.status_tokens = tokens(cost::STATUS * due.len() as f64);
        let documents_before = self.client.documents_sent();
        let statuses = if due.is_empty() { Vec::new() } else { self.client.zone_statuses(&due).await };
        let mut api_errors = 0;
        let mut asked = due.len();
        let mut covered = 0;
        let mut unseen = 0;
        for (account, result) in statuses {
            let Some(a) = st.accounts.get_mut(&account) else { continue };
            match result {
                Ok(mut counts) => {
                    covered += a.zones.len();
                    counts.sort_by(|x, y| x.status.cmp(&y.status));
                    let changed = a.counts.as_ref() != Some(&counts);
                    a.counts = Some(counts);
                    a.last_status = Some(now);
                    if changed && !st.changed.contains(&account) {
                        st.changed.push(account.clone());
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

        // 2. Zone reads, most urgent first, within the allowance.
        let plan = self.plan(&mut st, now);
        report.zones_probed = plan.rotation;
        let planned_probes = plan.probe.len() + plan.troubled.iter().map(|(_, _, z)| z.len()).sum::<usize>();
        let mut answers: Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> = Vec::new();
        let mut probe = plan.probe;
        if !plan.troubled.is_empty() {
            asked += plan.troubled.len();
            let sized: Vec<(String, u32)> = plan.troubled.iter().map(|(a, k, _)| (a.clone(), *k)).collect();
            let results = self.client.troubled_zones(&sized).await;
            for ((account, r), (_, _, was_troubled)) in results.into_iter().zip(plan.troubled) {
                match r {
                    Ok(t) => {
                        let listed: HashSet<String> = t.zones.iter().map(|z| z.id.clone()).collect();
                        answers.extend(
                            t.zones.into_iter().filter(|z| st.zones.contains_key(&z.id)).map(|z| (z.id.clone(), Ok(z))),
                        );
                        // Zones that were in trouble and are no longer listed have status OK now:
                        // their playback says whether music is back.
                        probe.extend(was_troubled.into_iter().filter(|z| !listed.contains(z)));
                        if !t.complete
                            && let Some(a) = st.accounts.get_mut(&account)
                        {
                            a.counts = None;
                        }
                    }
                    Err(SoundtrackError::Forbidden(_) | SoundtrackError::NotFound(_)) => {}
                    Err(e) => {
                        api_errors += 1;
                        tracing::warn!(account = %account, error = %e, "troubled zones failed");
                        if !st.changed.contains(&account) {
                            st.changed.push(account);
                        }
                    }
                }
            }
        }
        if !plan.health.is_empty() {
            asked += plan.health.len();
            answers.extend(self.client.zones_health(&plan.health).await);
        }
        if !probe.is_empty() {
            asked += probe.len();
            answers.extend(self.client.zones_playback(&probe).await);
        }
        // Zones planned for a look but listed among the troubled ones after all cost nothing more.
        st.credit += cost::PLAYBACK * planned_probes.saturating_sub(probe.len()) as f64;
        report.detail_tokens = tokens(
            plan.troubled_tokens + cost::HEALTH * plan.health.len() as f64 + cost::PLAYBACK * probe.len() as f64,
        );
        report.zones_detailed = answers.len();
        report.requests = usize::try_from(self.client.documents_sent().saturating_sub(documents_before)).unwrap_or(0);
        // What was seen is stamped when it was seen, after any wait for the budget.
        let now = self.clock.now();
        let mut observed: Vec<(String, Observation, Option<String>)> = Vec::with_capacity(answers.len());
        let mut seen_at: HashMap<String, OffsetDateTime> = HashMap::with_capacity(answers.len());
        for (zone, r) in answers {
            if let Some(z) = st.zones.get_mut(&zone) {
                z.last_playback = Some(now);
                z.pass = z.pass.max(plan.pass_floor) + stride(z.zone_type);
            }
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

    /// The accounts asked per tick when the settings leave it open: about five seconds of the
    /// status counts' share of the refill.
    fn derived_accounts_per_tick(&self) -> usize {
        let share = 1.0 - self.settings.detail_share.clamp(0.0, 1.0);
        let n = self.client.refill_per_sec() * share * 5.0 / cost::STATUS;
        (n.round() as usize).clamp(4, 200)
    }

    /// What this tick reads beyond the status counts, in order of urgency, while the allowance
    /// lasts: (a) suspect and recovering zones whose next check is due (three tokens each);
    /// (b) accounts whose counts changed: their zones not OK, and those that were not OK before;
    /// (c) zones confirmed paused, flapping or held, now and then; (d) accounts with zones not OK,
    /// now and then; (e) the playback rotation over
    /// the zones of open venues (two tokens each, the only way to see a paused player), stalest
    /// first by stride scheduling, so that zone types where silence matters sooner come round
    /// more often.
    fn plan(&self, st: &mut State, now: OffsetDateTime) -> Plan {
        let s = &self.settings;
        let full = s.detail_share.clamp(0.0, 1.0) * self.client.refill_per_sec() * s.detail_burst.as_seconds_f64();
        let mut credit = st.credit;
        // A read costlier than the whole allowance still goes once the allowance is full.
        let mut spend = |cost: f64| {
            let ok = cost <= credit || credit >= full - 1e-9;
            if ok {
                credit -= cost;
            }
            ok
        };
        let mut plan = Plan { pass_floor: st.pass_floor, ..Plan::default() };
        let mut settling: Vec<(Option<OffsetDateTime>, &String)> = Vec::new();
        let mut down: Vec<(Option<OffsetDateTime>, &String)> = Vec::new();
        let mut rotation: Vec<(f64, &String)> = Vec::new();
        let (any_held, any_maintenance) =
            (!st.held.is_empty(), !st.maintenance_venues.is_empty() || !st.maintenance_zones.is_empty());
        for (key, z) in &st.zones {
            let held = any_held && st.held.contains(key);
            let wait = match z.machine.status() {
                ZoneStatus::Suspect => Some((true, s.policy.confirm_after)),
                ZoneStatus::Recovering => Some((true, s.policy.recover_after)),
                ZoneStatus::Flapping => Some((false, s.down_recheck_every)),
                ZoneStatus::Down if held || z.machine.open_problem() == Some(Problem::Paused) => {
                    Some((false, s.down_recheck_every))
                }
                // Read with their account's troubled zones (tier d below).
                ZoneStatus::Down => continue,
                _ if held => Some((false, s.down_recheck_every)),
                _ => None,
            };
            match wait {
                Some((settle, every)) => {
                    if z.last_detail.is_none_or(|t| now - t >= every) {
                        if settle { &mut settling } else { &mut down }.push((z.last_detail, key));
                    }
                }
                None => {
                    let rested = z.last_playback.is_none_or(|t| now - t >= s.playback_every * stride(z.zone_type));
                    let watched = rested
                        && st.open_venues.contains(&z.venue_id)
                        && !(any_maintenance
                            && (st.maintenance_venues.contains(&z.venue_id)
                                || st.maintenance_zones.contains(&z.zone_id)));
                    if watched {
                        rotation.push((z.pass, key));
                    }
                }
            }
        }
        settling.sort();
        let mut taken: HashSet<&String> = HashSet::new();
        // Whatever cannot be afforded now is saved for: the rotation waits until it is done.
        let mut short = false;
        for (_, key) in settling {
            if !spend(cost::HEALTH) {
                short = true;
                break;
            }
            taken.insert(key);
            plan.health.push(key.clone());
        }
        let mut waiting = Vec::new();
        let mut troubled_read: Vec<&String> = Vec::new();
        for account in &st.changed {
            let Some(a) = st.accounts.get(account) else { continue };
            if !waiting.is_empty() {
                waiting.push(account.clone());
                continue;
            }
            let k: u32 = a.counts.iter().flatten().filter(|c| c.status != "OK").map(|c| c.total).sum();
            let was: Vec<String> = a
                .zones
                .iter()
                .filter(|z| !taken.contains(z) && st.zones.get(*z).is_some_and(|e| status_not_ok(e.observation)))
                .cloned()
                .collect();
            let tokens = if k > 0 { cost::troubled(k) } else { 0.0 };
            if !spend(tokens + cost::PLAYBACK * was.len() as f64) {
                short = true;
                waiting.push(account.clone());
                continue;
            }
            taken.extend(a.zones.iter().filter(|z| st.zones.contains_key(*z)));
            if k > 0 {
                troubled_read.push(account);
                plan.troubled_tokens += tokens;
                plan.troubled.push((account.clone(), k, was));
            } else {
                plan.probe.extend(was);
            }
        }
        down.sort();
        for (_, key) in down {
            if taken.contains(key) {
                continue;
            }
            if !spend(cost::HEALTH) {
                short = true;
                break;
            }
            taken.insert(key);
            plan.health.push(key.clone());
        }
        // (d) Accounts with zones not OK are read again now and then even when their counts stay
        // the same: that re-checks their zones confirmed down, and finds a zone that went bad
        // while another recovered between two status counts (the counts cannot show that swap).
        if !short {
            let mut stale: Vec<(Option<OffsetDateTime>, &String, u32)> = st
                .accounts
                .iter()
                .filter(|(id, a)| {
                    a.last_troubled.is_none_or(|t| now - t >= s.settled_recheck_every) && !troubled_read.contains(id)
                })
                .filter_map(|(id, a)| {
                    let k: u32 = a.counts.iter().flatten().filter(|c| c.status != "OK").map(|c| c.total).sum();
                    (k > 0).then_some((a.last_troubled, id, k))
                })
                .collect();
            stale.sort();
            for (_, account, k) in stale {
                let Some(a) = st.accounts.get(account) else { continue };
                let was: Vec<String> = a
                    .zones
                    .iter()
                    .filter(|z| !taken.contains(z) && st.zones.get(*z).is_some_and(|e| status_not_ok(e.observation)))
                    .cloned()
                    .collect();
                let tokens = cost::troubled(k);
                if !spend(tokens + cost::PLAYBACK * was.len() as f64) {
                    short = true;
                    break;
                }
                taken.extend(a.zones.iter().filter(|z| st.zones.contains_key(*z)));
                troubled_read.push(account);
                plan.troubled_tokens += tokens;
                plan.troubled.push((account.clone(), k, was));
            }
        }
        if short {
            rotation.clear();
        }
        rotation.retain(|(_, key)| !taken.contains(key));
        if let Some(floor) = rotation.iter().map(|(p, _)| *p).min_by(f64::total_cmp) {
            plan.pass_floor = plan.pass_floor.max(floor);
        }
        let by_pass = |x: &(f64, &String), y: &(f64, &String)| x.0.total_cmp(&y.0).then_with(|| x.1.cmp(y.1));
        let mut n = 0;
        while n < rotation.len() && spend(cost::PLAYBACK) {
            n += 1;
        }
        if n < rotation.len() {
            if n > 0 {
                rotation.select_nth_unstable_by(n - 1, by_pass);
            }
            rotation.truncate(n);
        }
        rotation.sort_by(by_pass);
        plan.rotation = rotation.len();
        plan.probe.extend(rotation.into_iter().map(|(_, key)| key.clone()));
        let troubled_read: Vec<String> = troubled_read.into_iter().cloned().collect();
        for id in troubled_read {
            if let Some(a) = st.accounts.get_mut(&id) {
                a.last_troubled = Some(now);
            }
        }
        st.changed = waiting;
        st.credit = credit;
        st.pass_floor = plan.pass_floor;
        plan
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
        crate::messaging::notify::venue_staff(&self.ctx, tx, venue_id, venue, text).await?;
        for address in to {
            let job =
                EmailJob {
                    to: address, subject: subject.clone(), text: format!("{text}\n\n— BMA Social monitoring")
                };
            crate::jobs::enqueue(&self.ctx, &mut *tx, &job, crate::jobs::Options::default()).await?;
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
            let urgent = crate::jobs::Options::default().priority(Priority::URGENT);
            crate::jobs::enqueue(&self.ctx, &mut *tx, &job, urgent).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[derive(Default)]
struct Plan {
    /// Zones read in full (three tokens each).
    health: Vec<String>,
    /// Zones whose playback is read (two tokens each).
    probe: Vec<String>,
    /// How many of `probe` are the rotation's.
    rotation: usize,
    /// Accounts whose zones not OK are read: how many there are, and the zones that were not OK
    /// before (read for their playback unless still listed).
    troubled: Vec<(String, u32, Vec<String>)>,
    troubled_tokens: f64,
    /// The rotation's virtual time: a zone read goes to the back of the queue from here.
    pass_floor: f64,
}

/// How far back in the playback rotation a read puts a zone: zone types where silence turns
/// critical sooner (lobbies, restaurants, bars, shops: 10 min) come round three times as often as
/// the others (30 min).
fn stride(zone_type: ZoneType) -> f64 {
    critical_after(zone_type).as_seconds_f64() / 600.0
}

/// Whether a zone seen this way has a status other than OK in its account's counts (a paused or
/// playing one is OK, so only its playback shows the difference).
fn status_not_ok(o: Observation) -> bool {
    !matches!(o, Observation::Playing | Observation::Paused | Observation::Unknown)
}

fn tokens(t: f64) -> u64 {
    if t.is_finite() && t > 0.0 { t.round() as u64 } else { 0 }
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
