//! What the monitor keeps between ticks: each zone's state machine and when it was last read,
//! each account's last status counts, the venues' alert groups, what holds alerts, and the
//! zone-read allowance.

use bma_domain::monitoring::{Inhibitor, Observation, Severity, VenueAlertGroup, ZoneMachine};
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::StatusCount;
use std::collections::{BTreeMap, HashMap, HashSet};
use time::OffsetDateTime;
use uuid::Uuid;

pub(super) struct ZoneEntry {
    pub(super) zone_id: Uuid,
    pub(super) venue_id: Uuid,
    pub(super) name: String,
    pub(super) zone_type: ZoneType,
    pub(super) machine: ZoneMachine,
    pub(super) observation: Observation,
    pub(super) last_detail: Option<OffsetDateTime>,
    /// When its playback was last read (every read of a zone includes it).
    pub(super) last_playback: Option<OffsetDateTime>,
    /// Its place in the playback rotation (stride scheduling: the lowest goes first).
    pub(super) pass: f64,
    /// The severity last announced for its open alert; it rises with the time down.
    pub(super) severity: Option<Severity>,
}

#[derive(Default)]
pub(super) struct AccountEntry {
    pub(super) zones: Vec<String>,
    pub(super) counts: Option<Vec<StatusCount>>,
    pub(super) last_status: Option<OffsetDateTime>,
    /// When its zones not OK were last read.
    pub(super) last_troubled: Option<OffsetDateTime>,
}

pub(super) struct VenueEntry {
    pub(super) name: String,
    pub(super) zones: usize,
}

/// Which venues are open and what is under maintenance, as last read.
#[derive(Default)]
pub(super) struct Calendar {
    pub(super) open_venues: HashSet<Uuid>,
    pub(super) maintenance_venues: HashSet<Uuid>,
    pub(super) maintenance_zones: HashSet<Uuid>,
    /// When the opening hours were last read.
    pub(super) at: Option<OffsetDateTime>,
}

impl Calendar {
    /// Whether a zone's alerts are held for its venue's sake: closed, or it or its venue under
    /// maintenance.
    pub(super) fn holds(&self, venue_id: Uuid, zone_id: Uuid) -> bool {
        !self.open_venues.contains(&venue_id)
            || self.maintenance_venues.contains(&venue_id)
            || self.maintenance_zones.contains(&zone_id)
    }
}

pub(super) struct State {
    pub(super) zones: HashMap<String, ZoneEntry>,
    pub(super) accounts: BTreeMap<String, AccountEntry>,
    /// The keys of `accounts`, in order (the status round walks them with `cursor`).
    pub(super) account_ids: Vec<String>,
    pub(super) venues: HashMap<Uuid, VenueEntry>,
    pub(super) groups: HashMap<Uuid, VenueAlertGroup>,
    pub(super) inhibitor: Inhibitor,
    /// Zones (by Soundtrack zone id) whose alert is held: closed, maintenance or platform trouble.
    pub(super) held: HashSet<String>,
    pub(super) calendar: Calendar,
    pub(super) cursor: usize,
    /// Accounts whose counts changed and whose zones are still to be read, oldest first.
    pub(super) changed: Vec<String>,
    /// The zone-read allowance, in tokens, and when it was last topped up.
    pub(super) credit: f64,
    pub(super) credit_at: Option<OffsetDateTime>,
    pub(super) pass_floor: f64,
}

impl State {
    pub(super) fn new() -> Self {
        Self {
            zones: HashMap::new(),
            accounts: BTreeMap::new(),
            account_ids: Vec::new(),
            venues: HashMap::new(),
            groups: HashMap::new(),
            inhibitor: Inhibitor::new(0.2, 20, 3),
            held: HashSet::new(),
            calendar: Calendar::default(),
            cursor: 0,
            changed: Vec::new(),
            credit: 0.0,
            credit_at: None,
            pass_floor: 0.0,
        }
    }

    /// Whether any venue of the account is open.
    pub(super) fn account_open(&self, account: &str) -> bool {
        self.accounts.get(account).is_some_and(|a| {
            a.zones.iter().any(|z| self.zones.get(z).is_some_and(|e| self.calendar.open_venues.contains(&e.venue_id)))
        })
    }
}

/// The venue's alert group, made when first needed.
pub(super) fn group_of(groups: &mut HashMap<Uuid, VenueAlertGroup>, venue_id: Uuid) -> &mut VenueAlertGroup {
    groups.entry(venue_id).or_insert_with(|| VenueAlertGroup::new(venue_id))
}
