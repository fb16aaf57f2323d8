//! `bma-bench monitor`: how fast the music monitor notices faults, measured against the Soundtrack
//! fake in honest virtual time. Per scenario (fleet size × refill rate) it generates a fleet in the
//! fake, discovers it, warms the monitor up on a healthy fleet, then injects a reproducible fault
//! schedule (the fake's `random_faults`, with a few flapping zones and exactly one platform outage)
//! and ticks the monitor until the virtual window is over. The ground truth (`fake.truth()`) is
//! then compared with the `alerts` table: detection latency per fault, misses, false alerts,
//! platform alerts, tokens, requests, and the process's CPU and memory.
//!
//! Honest virtual time. The fake and the client share one virtual clock, and it only moves by:
//! 1. the client's budget waits: when its token-bucket model says "wait", `bucket::acquire` jumps
//!    the clock by exactly that wait instead of sleeping. The monitor is one sequential task, so a
//!    real monitor would be idle for exactly that long; the fake's own bucket refills on the same
//!    clock, so a wait that was too short would show up as a 429 (counted as a retried request);
//! 2. after each tick, the tick's real wall time on this machine (monitor CPU, PostgreSQL, the
//!    loopback HTTP and the fake's own work; a shared 2-core machine makes this pessimistic);
//! 3. a modelled network round trip per request (`--rtt-ms`, default 200), which loopback lacks;
//! 4. the client's retry back-off (0.5 + 1 + 2 s for a request that fails four times), which the
//!    client skips on a virtual clock (it sleeps 1 ms instead), recovered from the fake's request
//!    count;
//! 5. the production runner's pause between ticks (`monitoring/runner.rs`: 200 ms after a tick
//!    that asked something, 2 s after an idle one).
//!
//! An alert counts as opened when the tick that wrote it committed (its start + budget waits +
//! 2 + 3 + 4), not at its `created_at`, which the monitor stamps with the tick's *start*.

mod driver;
mod process;
mod scenario;
mod scoring;

use anyhow::{Context, bail};
use bma_app::AppContext;
use bma_app::config::{Config, Strictness};
use bma_app::monitoring::{Monitor, MonitorSettings, TickReport, discovery};
use bma_domain::clock::Clock;
use bma_fakes::soundtrack::{
    AccountInfo, Fault, FaultKind, FaultRecord, FleetConfig, SoundtrackFake, Target, random_faults,
};
use bma_integrations::soundtrack::{Auth, Settings, SoundtrackClient};
use sqlx::Connection;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

use driver::*;
use process::*;
use scenario::*;
use scoring::*;

/// Monday 09:00 in Bangkok: where every scenario's virtual clock starts.
const START: OffsetDateTime = time::macros::datetime!(2026-03-02 02:00 UTC);
/// Accounts per status-count document (`ops.rs`: `ACCOUNTS_PER_BATCH * 8`).
const STATUS_BATCH: usize = 96;
/// What the cheapest queries cost, per the fake's (and Soundtrack's) cost rule: status counts
/// per account, and one zone's playback (the only signal of a paused player).
const STATUS_TOKENS_PER_ACCOUNT: f64 = bma_integrations::soundtrack::cost::STATUS;
const PLAYBACK_TOKENS_PER_ZONE: f64 = bma_integrations::soundtrack::cost::PLAYBACK;
/// The monitor's confirmation: two bad checks at least this far apart (`MonitorSettings`).
const CONFIRM_SECS: f64 = 20.0;
const ALERTING: [&str; 6] = ["offline", "muted", "paused", "unpaired", "subscription_expired", "account_dark"];

struct Opts {
    zones: Option<usize>,
    accounts: Option<usize>,
    refill: Option<f64>,
    minutes: Option<f64>,
    seed: u64,
    rate: f64,
    rtt_ms: u64,
    outage_minutes: f64,
    flapping: Option<usize>,
    detail_share: Option<f64>,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        zones: None,
        accounts: None,
        refill: None,
        minutes: None,
        seed: 42,
        rate: 0.04,
        rtt_ms: 200,
        outage_minutes: 4.0,
        flapping: None,
        detail_share: None,
    };
    let args: Vec<String> = std::env::args().skip(2).collect();
    for pair in args.chunks(2) {
        let (k, v) = (pair[0].as_str(), pair.get(1).map(String::as_str).unwrap_or(""));
        let bad = || format!("{k} needs a value");
        match k {
            "--zones" => o.zones = Some(v.parse().with_context(bad)?),
            "--accounts" => o.accounts = Some(v.parse().with_context(bad)?),
            "--refill" => o.refill = Some(v.parse().with_context(bad)?),
            "--minutes" => o.minutes = Some(v.parse().with_context(bad)?),
            "--seed" => o.seed = v.parse().with_context(bad)?,
            "--rate" => o.rate = v.parse().with_context(bad)?,
            "--rtt-ms" => o.rtt_ms = v.parse().with_context(bad)?,
            "--outage-minutes" => o.outage_minutes = v.parse().with_context(bad)?,
            "--flapping" => o.flapping = Some(v.parse().with_context(bad)?),
            "--detail-share" => o.detail_share = Some(v.parse().with_context(bad)?),
            other => bail!(
                "unknown option {other}; usage: bma-bench monitor [--zones N] [--accounts N] [--refill R] [--minutes M] \
                 [--seed S] [--rate FAULTS_PER_ZONE_HOUR] [--rtt-ms MS] [--outage-minutes M] [--flapping N] [--detail-share F]"
            ),
        }
    }
    Ok(o)
}

#[derive(Debug, Clone)]
struct Scenario {
    zones: usize,
    accounts: usize,
    refill: f64,
    minutes: f64,
    rate: f64,
    seed: u64,
    rtt: Duration,
    outage: Duration,
    flapping: usize,
    /// The monitor's `detail_share` (its default when not given).
    detail_share: f64,
    share_given: bool,
}

impl Scenario {
    /// The p99 target: 60 s at the real reseller's size, 5 min at the target scale.
    fn target_secs(&self) -> f64 {
        if self.zones < 10_000 { 60.0 } else { 300.0 }
    }

    fn command(&self) -> String {
        let share = if self.share_given { format!(" --detail-share {}", self.detail_share) } else { String::new() };
        format!(
            "./scripts/bench-monitor.sh --zones {} --accounts {} --refill {} --minutes {} --seed {} --rate {} --rtt-ms {} --outage-minutes {} --flapping {}{share}",
            self.zones,
            self.accounts,
            self.refill,
            self.minutes,
            self.seed,
            self.rate,
            self.rtt.as_millis(),
            self.outage.as_secs_f64() / 60.0,
            self.flapping
        )
    }

    /// Least time to ask every account once with the cheapest query (status counts, 2 tokens).
    fn floor_status(&self) -> f64 {
        STATUS_TOKENS_PER_ACCOUNT * self.accounts as f64 / self.refill
    }

    /// The status round at the monitor's pace: the counts get what the zone reads leave, at
    /// least `1 − detail_share` of the refill.
    fn status_round(&self) -> f64 {
        self.floor_status() / (1.0 - self.detail_share).max(1e-9)
    }

    /// Least time to read every open zone's playback once, the only thing that shows `paused`
    /// (`soundZone(id) { playback { state } }`: 2 tokens a zone), with the whole budget. Venues
    /// in this benchmark have no opening hours, so every zone is open.
    fn floor_playback(&self) -> f64 {
        PLAYBACK_TOKENS_PER_ZONE * self.zones as f64 / self.refill
    }
}

fn scenarios(o: &Opts) -> Vec<Scenario> {
    let sizes: Vec<(usize, usize)> = match (o.zones, o.accounts) {
        (Some(z), Some(a)) => vec![(z, a)],
        (Some(z), None) => vec![(z, ((z as f64) * 856.0 / 2540.0).round().max(1.0) as usize)],
        (None, Some(a)) => vec![(((a as f64) * 2540.0 / 856.0).round() as usize, a)],
        (None, None) => vec![(2_540, 856), (50_000, 10_000)],
    };
    let refills = o.refill.map_or_else(|| vec![50.0, 5.0], |r| vec![r]);
    let mut out = Vec::new();
    for &(zones, accounts) in &sizes {
        for &refill in &refills {
            // Long enough for several rounds of the whole fleet at this budget, and for a few
            // hundred faults at the default rate.
            let minutes = o.minutes.unwrap_or(match (zones < 10_000, refill >= 50.0) {
                (true, true) => 90.0,
                (true, false) => 180.0,
                (false, true) => 60.0,
                (false, false) => 360.0,
            });
            out.push(Scenario {
                zones,
                accounts,
                refill,
                minutes,
                rate: o.rate,
                seed: o.seed,
                rtt: Duration::from_millis(o.rtt_ms),
                outage: Duration::from_secs_f64(o.outage_minutes * 60.0),
                flapping: o.flapping.unwrap_or((zones / 1000).max(3)),
                detail_share: o.detail_share.unwrap_or(0.25),
                share_given: o.detail_share.is_some(),
            });
        }
    }
    out
}

pub async fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let list = scenarios(&o);
    let args: Vec<String> = std::env::args().skip(2).collect();
    println!("# Music monitor detection benchmark");
    println!();
    println!("Command: `./scripts/bench-monitor.sh{}{}`", if args.is_empty() { "" } else { " " }, args.join(" "));
    println!(
        "(= `RUST_LOG=warn cargo run --release --locked -p bma-bench -- monitor{}{}`; {} scenario(s); the monitor, the fake and PostgreSQL share this machine's {} cores)",
        if args.is_empty() { "" } else { " " },
        args.join(" "),
        list.len(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut summary = Vec::new();
    for s in &list {
        eprintln!(
            "monitor bench: {} zones / {} accounts, refill {}/s, {} min",
            s.zones, s.accounts, s.refill, s.minutes
        );
        let r = scenario(s).await?;
        println!("{}", r.text);
        summary.push((s.clone(), r));
    }
    if summary.len() > 1 {
        println!("## Summary");
        println!();
        println!(
            "| zones / accounts | refill | window | alerting faults (eligible) | detected | p50 s | p99 s | max s | p99 without paused | detected ≤ target | p99 target | floor: every account's counts once | floor: every zone's playback once | verdict | missed, lasted > 2× target (paused) | false zone alerts | flapping episodes: flapping alert / zone alerts | platform alerts / outages | tokens | zone reads, % of refill | requests | monitor CPU (window) | peak RSS |"
        );
        println!(
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (s, r) in &summary {
            println!(
                "| {} / {} | {}/s | {} min | {} | {} | {} | {} | {} | {} | {} | {} s | {:.0} s | {:.0} s | {} | {} ({}) | {} | {}: {} / {} | {} / {} | {:.0} | {:.1} % | {} | {:.1} s | {} |",
                thousands(s.zones),
                thousands(s.accounts),
                s.refill,
                s.minutes,
                r.eligible,
                r.detected,
                secs(r.p50),
                secs(r.p99),
                secs(r.max),
                secs(r.p99_visible),
                percent(r.within_target),
                s.target_secs(),
                s.floor_status(),
                s.floor_playback(),
                r.verdict,
                r.missed_long,
                r.missed_long_paused,
                r.false_zone_alerts,
                r.flap_episodes,
                r.flap_alerted,
                r.flap_zone_alerts,
                r.platform_alerts,
                r.outages,
                r.tokens,
                r.detail_pct,
                r.requests,
                r.monitor_cpu,
                mib(r.peak_rss_kb),
            );
        }
        println!();
    }
    Ok(())
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn never(v: Option<f64>) -> String {
    v.map_or_else(|| "never (missed)".to_owned(), |v| format!("{v:.1} s"))
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.0} %"))
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(|| "n/a".to_owned(), |kb| format!("{:.0} MiB", kb as f64 / 1024.0))
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
