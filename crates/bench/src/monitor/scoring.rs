//! Scoring against the truth: each fault of the fake's ground truth matched with the alerts the
//! monitor opened (detection latency, misses, wrong kinds, false alerts, flapping, outages).

use super::*;

#[derive(Default)]
pub(super) struct Row {
    pub(super) name: &'static str,
    pub(super) faults: usize,
    pub(super) masked: usize,
    pub(super) censored: usize,
    pub(super) latencies: Vec<f64>,
    /// Undetected, by how long the fault lasted: ≤ target, ≤ 2× target, longer.
    pub(super) missed: [usize; 3],
    pub(super) wrong_type: usize,
}

impl Row {
    pub(super) fn eligible(&self) -> usize {
        self.faults - self.masked - self.censored
    }

    /// Nearest-rank percentile of the detected faults' latencies.
    pub(super) fn pct(&self, p: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut v = self.latencies.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }

    /// Nearest-rank percentile over every eligible fault, an undetected one counting as never
    /// detected (`None` when the rank falls among them).
    pub(super) fn pct_eligible(&self, p: f64) -> Option<f64> {
        let n = self.eligible();
        if n == 0 {
            return None;
        }
        let mut v = self.latencies.clone();
        v.sort_by(f64::total_cmp);
        let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
        v.get(rank - 1).copied()
    }

    /// Share of the eligible faults detected within `limit` seconds, in percent.
    pub(super) fn within(&self, limit: f64) -> Option<f64> {
        let n = self.eligible();
        (n > 0).then(|| 100.0 * self.latencies.iter().filter(|l| **l <= limit).count() as f64 / n as f64)
    }

    fn absorb(&mut self, o: &Row) {
        self.faults += o.faults;
        self.masked += o.masked;
        self.censored += o.censored;
        self.latencies.extend_from_slice(&o.latencies);
        for i in 0..3 {
            self.missed[i] += o.missed[i];
        }
        self.wrong_type += o.wrong_type;
    }
}

pub(super) struct Analysis {
    pub(super) schedule_line: String,
    pub(super) rows: Vec<Row>,
    pub(super) during_outage: Row,
    pub(super) all: Row,
    pub(super) visible: Row,
    pub(super) false_zone_alerts: usize,
    pub(super) zone_alerts: usize,
    pub(super) platform_alerts: usize,
    pub(super) outages: usize,
    pub(super) platform_delay: Option<f64>,
    pub(super) platform_outside: usize,
    pub(super) zone_alerts_in_outage: usize,
    pub(super) flap_episodes: usize,
    pub(super) flap_alerted: usize,
    pub(super) flap_zone_alerts: usize,
    pub(super) flap_noisy: usize,
    pub(super) flap_stray: usize,
    pub(super) flap_details: Vec<String>,
    /// Alerts whose `created_at` is no tick's start (their opening time could not be made honest).
    pub(super) unmapped: usize,
    pub(super) bad_mean: f64,
    pub(super) bad_max: usize,
    /// The five slowest detections (outside the outage's reach), with when their faults began.
    pub(super) slowest: Vec<String>,
    /// Faults of the kinds the status counts see, longer than 2× target and missed: zone, kind,
    /// began, ended (ms).
    pub(super) missed_long: Vec<(String, &'static str, i64, i64)>,
}

pub(super) fn expected_alert(kind: &FaultKind) -> Option<(&'static str, &'static str)> {
    match kind {
        FaultKind::Offline => Some(("offline", "silent")),
        FaultKind::Muted => Some(("muted", "muted")),
        FaultKind::Paused => Some(("paused", "paused")),
        FaultKind::Unpaired => Some(("unpaired", "unpaired")),
        FaultKind::SubscriptionExpired => Some(("subscription_expired", "subscription_expired")),
        FaultKind::AccountDark => Some(("account_dark", "silent")),
        _ => None,
    }
}

/// The zones a fault acts on, as the fake applies it.
pub(super) fn zones_hit<'a>(
    r: &FaultRecord,
    by_account: &'a HashMap<&'a str, Vec<&'a str>>,
    account_of: &'a HashMap<&'a str, &'a str>,
) -> Vec<&'a str> {
    match (&r.kind, &r.target) {
        (_, Target::Platform) | (FaultKind::PlatformOutage, _) => Vec::new(),
        (FaultKind::AccountDark, Target::Zone(z)) => {
            account_of.get(z.as_str()).and_then(|a| by_account.get(a)).cloned().unwrap_or_default()
        }
        (_, Target::Zone(z)) => account_of.get_key_value(z.as_str()).map(|(k, _)| vec![*k]).unwrap_or_default(),
        (_, Target::Account(a)) => by_account.get(a.as_str()).cloned().unwrap_or_default(),
    }
}

/// When a fault makes a zone look bad (music not audible), as half-open [from, to) in ms; a fault
/// still active is taken to last until `horizon`.
pub(super) fn bad_spans(r: &FaultRecord, horizon: i64) -> Vec<(i64, i64)> {
    let b = ms(r.began_at);
    let e = r.ended_at.map_or(horizon, ms);
    match &r.kind {
        FaultKind::Offline
        | FaultKind::Muted
        | FaultKind::Paused
        | FaultKind::Unpaired
        | FaultKind::SubscriptionExpired
        | FaultKind::AccountDark => vec![(b, e)],
        FaultKind::Flapping { period } => {
            let p = i64::try_from(period.as_millis()).unwrap_or(i64::MAX).max(1);
            let mut out = Vec::new();
            let mut k = 0_i64;
            while b + 2 * k * p < e {
                out.push((b + 2 * k * p, (b + (2 * k + 1) * p).min(e)));
                k += 1;
            }
            out
        }
        FaultKind::OfflineCached | FaultKind::PlatformOutage | FaultKind::Slow { .. } => Vec::new(),
    }
}

pub(super) fn merge(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    v.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Whether any span meets the closed window [a, b].
pub(super) fn meets(spans: &[(i64, i64)], a: i64, b: i64) -> bool {
    spans.iter().any(|&(s, e)| s <= b && e > a)
}

pub(super) fn analyse(
    s: &Scenario,
    accounts: &[AccountInfo],
    truth: &[FaultRecord],
    alerts: &[AlertRow],
    ticks: &[TickTimes],
    t0: i64,
    run_end: i64,
) -> Analysis {
    let target_ms = (s.target_secs() * 1000.0) as i64;
    let by_account: HashMap<&str, Vec<&str>> =
        accounts.iter().map(|a| (a.id.as_str(), a.zones.iter().map(|z| z.id.as_str()).collect())).collect();
    let account_of: HashMap<&str, &str> =
        accounts.iter().flat_map(|a| a.zones.iter().map(move |z| (z.id.as_str(), a.id.as_str()))).collect();
    let tick_at: HashMap<i64, TickTimes> = ticks.iter().map(|t| (t.start, *t)).collect();
    // The monitor stamps an alert with the moment its tick's last answer arrived (its `observed`).
    let by_observed: HashMap<i64, TickTimes> = ticks.iter().map(|t| (t.observed, *t)).collect();
    let tick_of = |created: i64| tick_at.get(&created).or_else(|| by_observed.get(&created));
    let committed = |created: i64| tick_of(created).map_or(created, |t| t.committed);
    let observed = |start: i64| tick_at.get(&start).map_or(start, |t| t.observed);

    // Ground truth per zone.
    let mut spans: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for r in truth {
        let sp = bad_spans(r, run_end + 3_600_000);
        if sp.is_empty() {
            continue;
        }
        for z in zones_hit(r, &by_account, &account_of) {
            spans.entry(z).or_default().extend_from_slice(&sp);
        }
    }
    let spans: HashMap<&str, Vec<(i64, i64)>> = spans.into_iter().map(|(z, v)| (z, merge(v))).collect();

    // Zones bad at once, over the window.
    let mut events: Vec<(i64, i32)> = Vec::new();
    let mut bad_ms = 0_i128;
    for v in spans.values() {
        for &(a, b) in v {
            let (a, b) = (a.max(t0), b.min(run_end));
            if a < b {
                events.push((a, 1));
                events.push((b, -1));
                bad_ms += i128::from(b - a);
            }
        }
    }
    events.sort_unstable();
    let (mut now_bad, mut bad_max) = (0_i32, 0_i32);
    for (_, d) in &events {
        now_bad += d;
        bad_max = bad_max.max(now_bad);
    }
    let bad_mean = bad_ms as f64 / (run_end - t0).max(1) as f64;

    // Alerts by zone.
    let mut zone_alerts: HashMap<&str, Vec<&AlertRow>> = HashMap::new();
    for a in alerts {
        if let Some(z) = &a.zone {
            zone_alerts.entry(z.as_str()).or_default().push(a);
        }
    }
    let problem = |a: &AlertRow| a.kind != "flapping" && a.kind != "platform";

    // The schedule as it happened.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dark_zones = 0;
    for r in truth.iter().filter(|r| ms(r.began_at) >= t0 && ms(r.began_at) < run_end) {
        *counts.entry(r.kind.name()).or_default() += 1;
        if r.kind == FaultKind::AccountDark {
            dark_zones += zones_hit(r, &by_account, &account_of).len();
        }
    }
    let schedule_line = counts
        .iter()
        .map(|(k, n)| if *k == "account_dark" { format!("{k} {n} ({dark_zones} zones)") } else { format!("{k} {n}") })
        .collect::<Vec<_>>()
        .join(", ");

    let outages: Vec<(i64, i64)> = truth
        .iter()
        .filter(|r| r.kind == FaultKind::PlatformOutage)
        .map(|r| (ms(r.began_at), r.ended_at.map_or(i64::MAX / 4, ms)))
        .collect();

    // Detection. Faults that began while the platform was down, or up to 2× target before it,
    // are scored apart (chosen by start time, not by outcome): nothing can be seen until the
    // platform is back, so their latency measures the outage, not the monitor.
    let mut rows: Vec<Row> = ALERTING.iter().map(|n| Row { name: n, ..Row::default() }).collect();
    let mut during_outage = Row {
        name: "began during the outage or ≤ 2× target before it (any kind; not in the totals)",
        ..Row::default()
    };
    let mut slowest: Vec<(f64, &str, f64)> = Vec::new();
    let mut missed_long: Vec<(String, &'static str, i64, i64)> = Vec::new();
    for r in truth.iter().filter(|r| ms(r.began_at) >= t0 && ms(r.began_at) < run_end) {
        let Some((name, expected)) = expected_alert(&r.kind) else { continue };
        let began = ms(r.began_at);
        let near_outage = outages.iter().any(|&(b, e)| began >= b - 2 * target_ms && began < e);
        let row = if near_outage {
            &mut during_outage
        } else {
            let Some(row) = rows.iter_mut().find(|row| row.name == name) else { continue };
            row
        };
        let end = r.ended_at.map(ms);
        for z in zones_hit(r, &by_account, &account_of) {
            row.faults += 1;
            let list = zone_alerts.get(z).map(Vec::as_slice).unwrap_or(&[]);
            let hit = list
                .iter()
                .filter(|a| problem(a))
                .find(|a| a.created >= began && a.started.unwrap_or(a.created) <= end.unwrap_or(i64::MAX));
            if let Some(a) = hit {
                let latency = (committed(a.created) - began) as f64 / 1000.0;
                row.latencies.push(latency);
                if !near_outage {
                    slowest.push((latency, r.kind.name(), (began - t0) as f64 / 1000.0));
                }
                if a.kind != expected {
                    row.wrong_type += 1;
                }
                continue;
            }
            let masked = list
                .iter()
                .filter(|a| problem(a))
                .any(|a| a.created < began && a.resolved.is_none_or(|res| res > began));
            if masked {
                row.masked += 1;
                continue;
            }
            let lasted = end.map_or(run_end, |e| e.min(run_end)) - began;
            let still_active = end.is_none_or(|e| e > run_end);
            if still_active && lasted <= 2 * target_ms {
                row.censored += 1;
            } else if lasted <= target_ms {
                row.missed[0] += 1;
            } else if lasted <= 2 * target_ms {
                row.missed[1] += 1;
            } else {
                row.missed[2] += 1;
                if r.kind != FaultKind::Paused && !near_outage {
                    missed_long.push((z.to_owned(), r.kind.name(), began, began + lasted));
                }
            }
        }
    }
    let mut all = Row { name: "**all alerting**", ..Row::default() };
    let mut visible = Row { name: "without paused", ..Row::default() };
    for row in &rows {
        all.absorb(row);
        if row.name != "paused" {
            visible.absorb(row);
        }
    }

    // False zone alerts: the zone was healthy in truth at the first bad check (`started_at`, the
    // moment that answer arrived) or throughout until the alert opened (`created_at`, the end of
    // the confirming tick; the confirming answer itself arrived within that tick).
    let no_spans: Vec<(i64, i64)> = Vec::new();
    let (mut false_zone_alerts, mut zone_alert_count) = (0, 0);
    for a in alerts.iter().filter(|a| a.zone.is_some() && a.kind != "flapping" && a.kind != "platform") {
        zone_alert_count += 1;
        let sp = a.zone.as_deref().and_then(|z| spans.get(z)).unwrap_or(&no_spans);
        let first = a.started.unwrap_or(a.created);
        if !meets(sp, first, observed(first)) || !meets(sp, first, observed(a.created)) {
            false_zone_alerts += 1;
        }
    }

    // The platform.
    let platform: Vec<&AlertRow> = alerts.iter().filter(|a| a.zone.is_none() && a.kind == "platform").collect();
    let platform_outside =
        platform.iter().filter(|a| !outages.iter().any(|&(b, e)| a.created >= b && a.created <= e)).count();
    let platform_delay = outages.first().and_then(|&(b, e)| {
        platform.iter().find(|a| a.created >= b && a.created <= e).map(|a| (committed(a.created) - b) as f64 / 1000.0)
    });
    let zone_alerts_in_outage = alerts
        .iter()
        .filter(|a| a.zone.is_some())
        .filter(|a| outages.iter().any(|&(b, e)| a.created >= b && a.created < e))
        .count();

    // Flapping.
    let mut flapping_zones: HashSet<&str> = HashSet::new();
    let (mut flap_episodes, mut flap_alerted, mut flap_zone_alerts, mut flap_noisy) = (0, 0, 0, 0);
    let mut flap_details: Vec<String> = Vec::new();
    for r in truth.iter().filter(|r| matches!(r.kind, FaultKind::Flapping { .. })) {
        let (b, e) = (ms(r.began_at), r.ended_at.map_or(run_end, ms).min(run_end));
        for z in zones_hit(r, &by_account, &account_of) {
            flapping_zones.insert(z);
            flap_episodes += 1;
            let list = zone_alerts.get(z).map(Vec::as_slice).unwrap_or(&[]);
            if list.iter().any(|a| a.kind == "flapping" && a.created >= b && a.created <= e + 600_000) {
                flap_alerted += 1;
            }
            let n = list.iter().filter(|a| problem(a)).filter(|a| a.created >= b && a.created <= e + 60_000).count();
            flap_zone_alerts += n;
            if n > 1 {
                flap_noisy += 1;
            }
            if flap_details.len() < 12 {
                let period = match r.kind {
                    FaultKind::Flapping { period } => period.as_secs(),
                    _ => 0,
                };
                let flag = list
                    .iter()
                    .find(|a| a.kind == "flapping" && a.created >= b && a.created <= e + 600_000)
                    .map_or_else(
                        || "no flapping alert".to_owned(),
                        |a| format!("flapping alert after {:.0} s", (committed(a.created) - b) as f64 / 1000.0),
                    );
                flap_details.push(format!(
                    "period {period} s for {:.0} min: {n} zone alerts, {flag}",
                    (e - b) as f64 / 60_000.0
                ));
            }
        }
    }
    let flap_stray = alerts
        .iter()
        .filter(|a| a.kind == "flapping")
        .filter(|a| a.zone.as_deref().is_none_or(|z| !flapping_zones.contains(z)))
        .count();

    Analysis {
        schedule_line,
        rows,
        during_outage,
        all,
        visible,
        false_zone_alerts,
        zone_alerts: zone_alert_count,
        platform_alerts: platform.len(),
        outages: outages.len(),
        platform_delay,
        platform_outside,
        zone_alerts_in_outage,
        flap_episodes,
        flap_alerted,
        flap_zone_alerts,
        flap_noisy,
        flap_stray,
        flap_details,
        unmapped: alerts.iter().filter(|a| tick_of(a.created).is_none()).count(),
        missed_long,
        slowest: {
            slowest.sort_by(|x, y| y.0.total_cmp(&x.0));
            let outage = outages.first().map(|&(b, e)| ((b - t0) as f64 / 1000.0, (e - t0) as f64 / 1000.0));
            slowest
                .iter()
                .take(5)
                .map(|(l, k, b)| {
                    let near = outage.map_or(String::new(), |(ob, oe)| {
                        if *b >= oe {
                            format!(", {:.0} s after the outage ended", b - oe)
                        } else {
                            format!(", {:.0} s before the outage", ob - b)
                        }
                    });
                    format!("{k} {l:.0} s (began {b:.0} s into the window{near})")
                })
                .collect()
        },
        bad_mean,
        bad_max: usize::try_from(bad_max).unwrap_or(0),
    }
}
