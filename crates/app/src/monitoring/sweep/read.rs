//! Asking Soundtrack: the status counts of the accounts due, then the zone reads the plan chose,
//! and what they came to: one observation per zone read, stamped when it was seen.

use super::plan::{Plan, stride};
use super::state::State;
use super::{Monitor, TickReport};
use bma_domain::monitoring::Observation;
use bma_integrations::soundtrack::{SoundtrackError, ZoneSnapshot, cost};
use std::collections::{HashMap, HashSet};
use time::OffsetDateTime;

/// The calls of one tick: how many were made and failed, and how many zones the status counts
/// that came back cover.
pub(super) struct Calls {
    asked: usize,
    api_errors: usize,
    pub(super) covered: usize,
}

impl Calls {
    /// Whether the API failed this tick: half the calls or more.
    pub(super) fn failed(&self) -> bool {
        self.asked > 0 && self.api_errors > 0 && self.api_errors * 2 >= self.asked.max(1)
    }
}

pub(super) type Answers = Vec<(String, Result<ZoneSnapshot, SoundtrackError>)>;

/// What the zone reads saw: per zone (Soundtrack id) its observation and a note on a failed
/// read, and when Soundtrack says it saw it.
pub(super) struct Seen {
    pub(super) observed: Vec<(String, Observation, Option<String>)>,
    pub(super) seen_at: HashMap<String, OffsetDateTime>,
}

impl Monitor {
    /// Asks the accounts due for their zone counts per status; an account whose counts changed
    /// joins `st.changed`, whose zones the plan reads.
    pub(super) async fn ask_status_counts(&self, st: &mut State, due: &[String], now: OffsetDateTime) -> Calls {
        let statuses = if due.is_empty() { Vec::new() } else { self.client.zone_statuses(due).await };
        let mut calls = Calls { asked: due.len(), api_errors: 0, covered: 0 };
        let mut unseen = 0;
        for (account, result) in statuses {
            let Some(a) = st.accounts.get_mut(&account) else { continue };
            match result {
                Ok(mut counts) => {
                    calls.covered += a.zones.len();
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
                    calls.api_errors += 1;
                    tracing::warn!(account = %account, error = %e, "status counts failed");
                }
            }
        }
        if unseen > 0 {
            tracing::warn!(accounts = unseen, "Soundtrack does not show these linked accounts to our credential");
        }
        calls
    }

    /// Reads the zones the plan chose: the troubled zones of its accounts (zones no longer
    /// listed there have their playback read instead), full reads, then playback reads.
    pub(super) async fn read_zones(
        &self,
        st: &mut State,
        plan: Plan,
        calls: &mut Calls,
        report: &mut TickReport,
    ) -> Answers {
        let planned_probes = plan.probe.len() + plan.troubled.iter().map(|(_, _, z)| z.len()).sum::<usize>();
        let mut answers: Vec<(String, Result<ZoneSnapshot, SoundtrackError>)> = Vec::new();
        let mut probe = plan.probe;
        if !plan.troubled.is_empty() {
            calls.asked += plan.troubled.len();
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
                        calls.api_errors += 1;
                        tracing::warn!(account = %account, error = %e, "troubled zones failed");
                        if !st.changed.contains(&account) {
                            st.changed.push(account);
                        }
                    }
                }
            }
        }
        if !plan.health.is_empty() {
            calls.asked += plan.health.len();
            answers.extend(self.client.zones_health(&plan.health).await);
        }
        if !probe.is_empty() {
            calls.asked += probe.len();
            answers.extend(self.client.zones_playback(&probe).await);
        }
        // Zones planned for a look but listed among the troubled ones after all cost nothing more.
        st.credit += cost::PLAYBACK * planned_probes.saturating_sub(probe.len()) as f64;
        report.detail_tokens = tokens(
            plan.troubled_tokens + cost::HEALTH * plan.health.len() as f64 + cost::PLAYBACK * probe.len() as f64,
        );
        report.zones_detailed = answers.len();
        answers
    }
}

/// One observation per answer; every zone read moves back in the playback rotation.
pub(super) fn observations(
    st: &mut State,
    answers: Answers,
    pass_floor: f64,
    now: OffsetDateTime,
    calls: &mut Calls,
) -> Seen {
    let mut observed: Vec<(String, Observation, Option<String>)> = Vec::with_capacity(answers.len());
    let mut seen_at: HashMap<String, OffsetDateTime> = HashMap::with_capacity(answers.len());
    for (zone, r) in answers {
        if let Some(z) = st.zones.get_mut(&zone) {
            z.last_playback = Some(now);
            z.pass = z.pass.max(pass_floor) + stride(z.zone_type);
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
                calls.api_errors += 1;
                observed.push((zone, Observation::Unknown, Some(e.to_string())));
            }
        }
    }
    Seen { observed, seen_at }
}

pub(super) fn tokens(t: f64) -> u64 {
    if t.is_finite() && t > 0.0 { t.round() as u64 } else { 0 }
}
