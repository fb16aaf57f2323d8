//! One monitor and its tick. A tick is a row of named steps, each in the file of its subject:
//! [`plan`] tops up the zone-read allowance and picks the accounts and zones to read, [`read`]
//! asks Soundtrack and turns the answers into observations, [`react`] records them, moves the
//! zones' state machines and opens, raises and resolves alerts, and [`notify`] tells the venues
//! and the team; [`state`] is what the monitor keeps between ticks.

mod notify;
mod plan;
mod react;
mod read;
mod state;

use crate::AppContext;
use bma_domain::clock::Clock;
use bma_domain::monitoring::{GroupPolicy, Observation, Policy};
use bma_integrations::soundtrack::{SoundtrackClient, cost};
use bma_store::monitoring as store;
use react::Effects;
use state::{AccountEntry, State, VenueEntry, ZoneEntry};
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

impl Monitor {
    /// Loads the monitored fleet and its saved state.
    pub async fn load(
        ctx: AppContext,
        client: Arc<SoundtrackClient>,
        clock: Clock,
        settings: MonitorSettings,
    ) -> anyhow::Result<Self> {
        let m = Self { ctx, client, clock, settings, state: Mutex::new(State::new()) };
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
                zone_type: z.zone_type,
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
        if st.calendar.at.is_none_or(|t| now - t >= self.settings.calendar_every) {
            st.calendar.open_venues = store::open_venues(&self.ctx.db, now)
                .await?
                .into_iter()
                .filter(|(_, open)| *open)
                .map(|(v, _)| v)
                .collect();
            st.calendar.at = Some(now);
        }
        st.calendar.maintenance_venues.clear();
        st.calendar.maintenance_zones.clear();
        for (venue, zone) in store::in_maintenance(&self.ctx.db, now).await? {
            if let Some(v) = venue {
                st.calendar.maintenance_venues.insert(v);
            }
            if let Some(z) = zone {
                st.calendar.maintenance_zones.insert(z);
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
        self.top_up_allowance(&mut st, now);

        // 1. The next slice of accounts, asked for their counts per status.
        let due = self.accounts_due(&mut st, now);
        report.accounts_asked = due.len();
        report.status_tokens = read::tokens(cost::STATUS * due.len() as f64);
        let documents_before = self.client.documents_sent();
        let mut calls = self.ask_status_counts(&mut st, &due, now).await;

        // 2. Zone reads, most urgent first, within the allowance.
        let plan = self.plan(&mut st, now);
        report.zones_probed = plan.rotation;
        let pass_floor = plan.pass_floor;
        let answers = self.read_zones(&mut st, plan, &mut calls, &mut report).await;
        report.requests = usize::try_from(self.client.documents_sent().saturating_sub(documents_before)).unwrap_or(0);
        // What was seen is stamped when it was seen, after any wait for the budget.
        let now = self.clock.now();
        let seen = read::observations(&mut st, answers, pass_floor, now, &mut calls);
        report.api_failed = calls.failed();

        // 3. Inhibition first, so that this tick's own alerts are held when the platform fails.
        self.update_inhibition(&mut st, &seen, calls.covered, report.api_failed, now).await?;
        report.inhibited = st.inhibitor.active();

        // 4–7, in one transaction: feed the state machines and act on what they say; raise
        // severities; open the alerts whose hold ended; enqueue the grouped notices.
        let mut tx = self.ctx.db.begin().await?;
        let mut fx = Effects { tx: &mut tx, report: &mut report, touched: HashSet::new(), now, changes: Vec::new() };
        self.record(&mut fx, &mut st, seen).await?;
        react::raise_severities(&mut fx, &mut st).await?;
        if !st.inhibitor.active() {
            react::release_held(&mut fx, &mut st).await?;
        }
        self.send_notices(&mut fx, &mut st).await?;
        // Every venue whose alerts opened, resolved or rose in severity, or that was sent a notice.
        let alerts_changed = !fx.touched.is_empty();
        notify::save_groups(&mut fx, &st).await?;
        let changes = std::mem::take(&mut fx.changes);
        tx.commit().await?;
        if !changes.is_empty() {
            crate::cache::bump_after_write(&self.ctx, &[crate::cache::FLEET]).await;
        }
        for change in &changes {
            crate::events::publish(&self.ctx, change).await;
        }
        if alerts_changed {
            crate::cache::bump_after_write(&self.ctx, &[crate::cache::ALERTS]).await;
        }
        if report.notices > 0 {
            crate::cache::bump_after_write(&self.ctx, &[crate::cache::INBOX]).await;
        }
        self.publish(&report, now).await;
        Ok(report)
    }
}
