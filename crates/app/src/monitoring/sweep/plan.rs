//! Planning a tick: how much of Soundtrack's refill the zone reads may spend, which accounts
//! are asked for their status counts, and which zones are read, most urgent first.

use super::Monitor;
use super::state::{AccountEntry, State};
use bma_domain::monitoring::alerting::critical_after;
use bma_domain::monitoring::{Observation, Problem, ZoneStatus};
use bma_domain::venue::ZoneType;
use bma_integrations::soundtrack::cost;
use std::collections::HashSet;
use time::OffsetDateTime;

impl Monitor {
    /// Tops up the zone reads' allowance: a share of the refill, saved up for a short while at
    /// most.
    pub(super) fn top_up_allowance(&self, st: &mut State, now: OffsetDateTime) {
        let rate = self.settings.detail_share.clamp(0.0, 1.0) * self.client.refill_per_sec().max(0.0);
        if let Some(t) = st.credit_at {
            st.credit += rate * (now - t).as_seconds_f64().max(0.0);
        }
        st.credit = st.credit.min(rate * self.settings.detail_burst.as_seconds_f64().max(0.0));
        st.credit_at = Some(now);
    }

    /// The next slice of accounts to ask for their counts per status: those with an open venue,
    /// and the others once every `closed_every`.
    pub(super) fn accounts_due(&self, st: &mut State, now: OffsetDateTime) -> Vec<String> {
        let ids = std::mem::take(&mut st.account_ids);
        let mut due = Vec::new();
        if !ids.is_empty() {
            let n = ids.len();
            let per_tick = self.settings.accounts_per_tick.unwrap_or_else(|| self.derived_accounts_per_tick());
            let mut scanned = 0;
            while due.len() < per_tick && scanned < n {
                let id = &ids[(st.cursor + scanned) % n];
                scanned += 1;
                let open = st.account_open(id);
                let a = &st.accounts[id];
                if open || a.last_status.is_none_or(|t| now - t >= self.settings.closed_every) {
                    due.push(id.clone());
                }
            }
            st.cursor = (st.cursor + scanned) % n;
        }
        st.account_ids = ids;
        due
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
    /// now and then; (e) the playback rotation over the zones of open venues (two tokens each, the
    /// only way to see a paused player), stalest first by stride scheduling, so that zone types
    /// where silence matters sooner come round more often.
    pub(super) fn plan(&self, st: &mut State, now: OffsetDateTime) -> Plan {
        let s = &self.settings;
        let full = s.detail_share.clamp(0.0, 1.0) * self.client.refill_per_sec() * s.detail_burst.as_seconds_f64();
        let (plan, waiting, troubled_read, credit) = {
            let st: &State = st;
            let due = self.due_reads(st, now);
            let mut p = Picker {
                st,
                credit: st.credit,
                full,
                taken: HashSet::new(),
                short: false,
                troubled_read: Vec::new(),
                plan: Plan { pass_floor: st.pass_floor, ..Plan::default() },
            };
            p.health_reads(due.settling);
            let waiting = p.changed_accounts();
            p.health_reads(due.down);
            if !p.short {
                p.stale_accounts(now, s.settled_recheck_every);
            }
            p.rotation(due.rotation);
            let troubled_read: Vec<String> = p.troubled_read.into_iter().cloned().collect();
            (p.plan, waiting, troubled_read, p.credit)
        };
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

    /// The zones whose turn has come, by tier: settling (suspect, recovering), down (paused,
    /// flapping or held) and the rotation's (zones of open venues not under maintenance).
    fn due_reads<'s>(&self, st: &'s State, now: OffsetDateTime) -> DueReads<'s> {
        let s = &self.settings;
        let mut due = DueReads { settling: Vec::new(), down: Vec::new(), rotation: Vec::new() };
        let (any_held, any_maintenance) = (
            !st.held.is_empty(),
            !st.calendar.maintenance_venues.is_empty() || !st.calendar.maintenance_zones.is_empty(),
        );
        for (key, z) in &st.zones {
            let held = any_held && st.held.contains(key);
            let wait = match z.machine.status() {
                ZoneStatus::Suspect => Some((true, s.policy.confirm_after)),
                ZoneStatus::Recovering => Some((true, s.policy.recover_after)),
                ZoneStatus::Flapping => Some((false, s.down_recheck_every)),
                ZoneStatus::Down if held || z.machine.open_problem() == Some(Problem::Paused) => {
                    Some((false, s.down_recheck_every))
                }
                // Read with their account's troubled zones (tier d).
                ZoneStatus::Down => continue,
                _ if held => Some((false, s.down_recheck_every)),
                _ => None,
            };
            match wait {
                Some((settle, every)) => {
                    if z.last_detail.is_none_or(|t| now - t >= every) {
                        if settle { &mut due.settling } else { &mut due.down }.push((z.last_detail, key));
                    }
                }
                None => {
                    let rested = z.last_playback.is_none_or(|t| now - t >= s.playback_every * stride(z.zone_type));
                    let watched = rested
                        && st.calendar.open_venues.contains(&z.venue_id)
                        && !(any_maintenance
                            && (st.calendar.maintenance_venues.contains(&z.venue_id)
                                || st.calendar.maintenance_zones.contains(&z.zone_id)));
                    if watched {
                        due.rotation.push((z.pass, key));
                    }
                }
            }
        }
        due
    }
}

/// Zones due for a read, by tier, each with its sort key (last read, or place in the rotation).
struct DueReads<'s> {
    settling: Vec<(Option<OffsetDateTime>, &'s String)>,
    down: Vec<(Option<OffsetDateTime>, &'s String)>,
    rotation: Vec<(f64, &'s String)>,
}

/// A plan in the making: what is left of the allowance, the zones already taken (a zone is read
/// once a tick), the accounts whose troubled zones are read, and whether something could not be
/// afforded: whatever cannot be afforded now is saved for, and the rotation waits until it is done.
struct Picker<'s> {
    st: &'s State,
    credit: f64,
    /// The allowance when full.
    full: f64,
    taken: HashSet<&'s String>,
    short: bool,
    troubled_read: Vec<&'s String>,
    plan: Plan,
}

impl<'s> Picker<'s> {
    /// Takes `cost` from the allowance if it holds that much; a read costlier than the whole
    /// allowance still goes once the allowance is full.
    fn spend(&mut self, cost: f64) -> bool {
        let ok = cost <= self.credit || self.credit >= self.full - 1e-9;
        if ok {
            self.credit -= cost;
        }
        ok
    }

    /// Tiers (a) and (c): full reads, stalest first, until the allowance runs short.
    fn health_reads(&mut self, mut zones: Vec<(Option<OffsetDateTime>, &'s String)>) {
        zones.sort();
        for (_, key) in zones {
            if self.taken.contains(key) {
                continue;
            }
            if !self.spend(cost::HEALTH) {
                self.short = true;
                break;
            }
            self.taken.insert(key);
            self.plan.health.push(key.clone());
        }
    }

    /// The account's zones not yet taken that were not OK when last seen: read for their playback
    /// unless the troubled zones still list them.
    fn were_not_ok(&self, a: &AccountEntry) -> Vec<String> {
        a.zones
            .iter()
            .filter(|z| !self.taken.contains(z) && self.st.zones.get(*z).is_some_and(|e| status_not_ok(e.observation)))
            .cloned()
            .collect()
    }

    /// Tier (b): accounts whose counts changed, in order; returns those that must wait for a
    /// later tick (the first that could not be afforded and every one after it).
    fn changed_accounts(&mut self) -> Vec<String> {
        let st = self.st;
        let mut waiting = Vec::new();
        for account in &st.changed {
            let Some(a) = st.accounts.get(account) else { continue };
            if !waiting.is_empty() {
                waiting.push(account.clone());
                continue;
            }
            let k = not_ok(a);
            let was = self.were_not_ok(a);
            let tokens = if k > 0 { cost::troubled(k) } else { 0.0 };
            if !self.spend(tokens + cost::PLAYBACK * was.len() as f64) {
                self.short = true;
                waiting.push(account.clone());
                continue;
            }
            self.taken.extend(a.zones.iter().filter(|z| st.zones.contains_key(*z)));
            if k > 0 {
                self.troubled_read.push(account);
                self.plan.troubled_tokens += tokens;
                self.plan.troubled.push((account.clone(), k, was));
            } else {
                self.plan.probe.extend(was);
            }
        }
        waiting
    }

    /// Tier (d): accounts with zones not OK are read again now and then even when their counts
    /// stay the same: that re-checks their zones confirmed down, and finds a zone that went bad
    /// while another recovered between two status counts (the counts cannot show that swap).
    fn stale_accounts(&mut self, now: OffsetDateTime, every: time::Duration) {
        let st = self.st;
        let mut stale: Vec<(Option<OffsetDateTime>, &String, u32)> = st
            .accounts
            .iter()
            .filter(|(id, a)| a.last_troubled.is_none_or(|t| now - t >= every) && !self.troubled_read.contains(id))
            .filter_map(|(id, a)| {
                let k = not_ok(a);
                (k > 0).then_some((a.last_troubled, id, k))
            })
            .collect();
        stale.sort();
        for (_, account, k) in stale {
            let Some(a) = st.accounts.get(account) else { continue };
            let was = self.were_not_ok(a);
            let tokens = cost::troubled(k);
            if !self.spend(tokens + cost::PLAYBACK * was.len() as f64) {
                self.short = true;
                break;
            }
            self.taken.extend(a.zones.iter().filter(|z| st.zones.contains_key(*z)));
            self.troubled_read.push(account);
            self.plan.troubled_tokens += tokens;
            self.plan.troubled.push((account.clone(), k, was));
        }
    }

    /// Tier (e): the playback rotation, lowest pass first, with what the allowance has left
    /// (nothing when a more urgent read had to wait).
    fn rotation(&mut self, mut rotation: Vec<(f64, &'s String)>) {
        if self.short {
            rotation.clear();
        }
        rotation.retain(|(_, key)| !self.taken.contains(key));
        if let Some(floor) = rotation.iter().map(|(p, _)| *p).min_by(f64::total_cmp) {
            self.plan.pass_floor = self.plan.pass_floor.max(floor);
        }
        let by_pass = |x: &(f64, &String), y: &(f64, &String)| x.0.total_cmp(&y.0).then_with(|| x.1.cmp(y.1));
        let mut n = 0;
        while n < rotation.len() && self.spend(cost::PLAYBACK) {
            n += 1;
        }
        if n < rotation.len() {
            if n > 0 {
                rotation.select_nth_unstable_by(n - 1, by_pass);
            }
            rotation.truncate(n);
        }
        rotation.sort_by(by_pass);
        self.plan.rotation = rotation.len();
        self.plan.probe.extend(rotation.into_iter().map(|(_, key)| key.clone()));
    }
}

/// How many of the account's zones its last counts say are not OK.
fn not_ok(a: &AccountEntry) -> u32 {
    a.counts.iter().flatten().filter(|c| c.status != "OK").map(|c| c.total).sum()
}

#[derive(Default)]
pub(super) struct Plan {
    /// Zones read in full (three tokens each).
    pub(super) health: Vec<String>,
    /// Zones whose playback is read (two tokens each).
    pub(super) probe: Vec<String>,
    /// How many of `probe` are the rotation's.
    pub(super) rotation: usize,
    /// Accounts whose zones not OK are read: how many there are, and the zones that were not OK
    /// before (read for their playback unless still listed).
    pub(super) troubled: Vec<(String, u32, Vec<String>)>,
    pub(super) troubled_tokens: f64,
    /// The rotation's virtual time: a zone read goes to the back of the queue from here.
    pub(super) pass_floor: f64,
}

/// How far back in the playback rotation a read puts a zone: zone types where silence turns
/// critical sooner (lobbies, restaurants, bars, shops: 10 min) come round three times as often as
/// the others (30 min).
pub(super) fn stride(zone_type: ZoneType) -> f64 {
    critical_after(zone_type).as_seconds_f64() / 600.0
}

/// Whether a zone seen this way has a status other than OK in its account's counts (a paused or
/// playing one is OK, so only its playback shows the difference).
fn status_not_ok(o: Observation) -> bool {
    !matches!(o, Observation::Playing | Observation::Paused | Observation::Unknown)
}
