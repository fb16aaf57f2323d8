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

// ---------------------------------------------------------------------------------------------
// Process figures, read from /proc (no extra crates).

/// USER_HZ, the unit of /proc's CPU times, is 100 on Linux whatever the kernel's HZ.
const USER_HZ: f64 = 100.0;

fn status_kb(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// utime + stime in seconds from a /proc `stat` line.
fn stat_cpu(text: &str) -> Option<f64> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command come: state (field 3) … utime (14), stime (15).
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

fn process_cpu() -> f64 {
    std::fs::read_to_string("/proc/self/stat").ok().as_deref().and_then(stat_cpu).unwrap_or(0.0)
}

/// CPU of this process's threads whose name starts with `prefix` (the fake's runtime).
fn threads_cpu(prefix: &str) -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return 0.0 };
    dir.filter_map(Result::ok)
        .filter(|e| std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end().starts_with(prefix)))
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|s| stat_cpu(&s))
        .sum()
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each scenario reports its own peak.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The CPU of the PostgreSQL backends serving this scenario's database, sampled now and then
/// (a backend's figure is lost when the pool closes it, so the largest value seen per pid counts).
struct PgCpu {
    seen: HashMap<i32, f64>,
    last: Option<Instant>,
}

impl PgCpu {
    fn new() -> Self {
        Self { seen: HashMap::new(), last: None }
    }

    async fn sample(&mut self, db: &sqlx::PgPool, force: bool) {
        if !force && self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
            return;
        }
        self.last = Some(Instant::now());
        let pids: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(db)
            .await
            .unwrap_or_default();
        for pid in pids {
            if let Some(cpu) = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(stat_cpu) {
                let e = self.seen.entry(pid).or_insert(0.0);
                *e = e.max(cpu);
            }
        }
    }

    fn total(&self) -> Option<f64> {
        (!self.seen.is_empty()).then(|| self.seen.values().sum())
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the monitor.

#[derive(Debug, Clone, Copy)]
struct TickTimes {
    /// Virtual ms when the tick began (= the `now` it stamps everything with).
    start: i64,
    /// After its budget waits: every request of the tick was answered at or before this.
    observed: i64,
    /// When its transaction committed, in honest virtual time.
    committed: i64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    ticks: u64,
    accounts_asked: u64,
    zones_detailed: u64,
    zones_probed: u64,
    /// What the monitor says its reads cost (a check on the fake's count).
    planned_tokens: f64,
    requests: u64,
    retried: u64,
    api_failed: u64,
    inhibited: u64,
    /// Tokens the fake took, split between status counts and zone reads in proportion to what
    /// each tick asked for.
    status_tokens: f64,
    detail_tokens: f64,
    budget_wait: Duration,
    real: Duration,
    rtt: Duration,
    backoff: Duration,
    pause: Duration,
}

impl Totals {
    fn minus(&self, o: &Totals) -> Totals {
        Totals {
            ticks: self.ticks - o.ticks,
            accounts_asked: self.accounts_asked - o.accounts_asked,
            zones_detailed: self.zones_detailed - o.zones_detailed,
            zones_probed: self.zones_probed - o.zones_probed,
            planned_tokens: self.planned_tokens - o.planned_tokens,
            requests: self.requests - o.requests,
            retried: self.retried - o.retried,
            api_failed: self.api_failed - o.api_failed,
            inhibited: self.inhibited - o.inhibited,
            status_tokens: self.status_tokens - o.status_tokens,
            detail_tokens: self.detail_tokens - o.detail_tokens,
            budget_wait: self.budget_wait.saturating_sub(o.budget_wait),
            real: self.real.saturating_sub(o.real),
            rtt: self.rtt.saturating_sub(o.rtt),
            backoff: self.backoff.saturating_sub(o.backoff),
            pause: self.pause.saturating_sub(o.pause),
        }
    }
}

struct Driver<'a> {
    monitor: &'a Monitor,
    clock: Clock,
    fake: SoundtrackFake,
    db: sqlx::PgPool,
    rtt: Duration,
    /// The client's back-off before retry k (k = 1…max_retries).
    backoffs: Vec<Duration>,
    ticks: Vec<TickTimes>,
    totals: Totals,
    partitions_until: Option<time::Date>,
    pg: PgCpu,
    progress: Instant,
}

impl Driver<'_> {
    /// Log partitions for the virtual days ahead (the template database only has real days).
    async fn ensure_partitions(&mut self) -> anyhow::Result<()> {
        let today = self.clock.now().date();
        if self.partitions_until.is_some_and(|d| d > today + time::Duration::days(1)) {
            return Ok(());
        }
        let first = today - time::Duration::days(1);
        sqlx::query_scalar::<_, i32>("SELECT bma_ensure_daily_partitions('music_status_logs', $1, $2)")
            .bind(first)
            .bind(8_i32)
            .fetch_one(&self.db)
            .await?;
        self.partitions_until = Some(first + time::Duration::days(8));
        Ok(())
    }

    fn backoff_for(&self, retried: u64) -> Duration {
        let per_request: Duration = self.backoffs.iter().sum();
        let n = self.backoffs.len().max(1) as u64;
        let full = u32::try_from(retried / n).unwrap_or(u32::MAX);
        let rest = usize::try_from(retried % n).unwrap_or(0);
        per_request.saturating_mul(full) + self.backoffs.iter().take(rest).sum::<Duration>()
    }

    async fn step(&mut self) -> anyhow::Result<TickReport> {
        self.ensure_partitions().await?;
        let start = self.clock.now();
        let requests_before = self.fake.requests();
        let tokens_before = self.fake.tokens_spent();
        let real = Instant::now();
        let report = self.monitor.tick().await?;
        let real = real.elapsed();
        let observed = self.clock.now();
        let requests = self.fake.requests().saturating_sub(requests_before);
        let tokens = self.fake.tokens_spent() - tokens_before;
        let (asked_status, asked_detail) = (report.status_tokens as f64, report.detail_tokens as f64);
        let status_share =
            if asked_status + asked_detail > 0.0 { asked_status / (asked_status + asked_detail) } else { 0.0 };
        let retried = requests.saturating_sub(report.requests as u64);
        let backoff = self.backoff_for(retried);
        let rtt = self.rtt.saturating_mul(u32::try_from(requests).unwrap_or(u32::MAX));
        self.clock.advance(real + rtt + backoff);
        let committed = self.clock.now();
        // What runner.rs sleeps between ticks.
        let pause = if report.accounts_asked == 0 && report.zones_detailed == 0 {
            Duration::from_secs(2)
        } else {
            Duration::from_millis(200)
        };
        self.clock.advance(pause);
        self.ticks.push(TickTimes { start: ms(start), observed: ms(observed), committed: ms(committed) });
        let t = &mut self.totals;
        t.ticks += 1;
        t.accounts_asked += report.accounts_asked as u64;
        t.zones_detailed += report.zones_detailed as u64;
        t.zones_probed += report.zones_probed as u64;
        t.planned_tokens += asked_status + asked_detail;
        t.requests += requests;
        t.retried += retried;
        t.api_failed += u64::from(report.api_failed);
        t.inhibited += u64::from(report.inhibited);
        t.status_tokens += tokens * status_share;
        t.detail_tokens += tokens * (1.0 - status_share);
        t.budget_wait += Duration::try_from(observed - start).unwrap_or_default();
        t.real += real;
        t.rtt += rtt;
        t.backoff += backoff;
        t.pause += pause;
        self.pg.sample(&self.db, false).await;
        Ok(report)
    }

    fn progress(&mut self, what: &str, until: OffsetDateTime) {
        if self.progress.elapsed() >= Duration::from_secs(30) {
            self.progress = Instant::now();
            let left = (until - self.clock.now()).whole_seconds().max(0);
            eprintln!(
                "  {what}: {} ticks, virtual {} ({} s to go), {:.0} tokens spent",
                self.totals.ticks,
                self.clock.now(),
                left,
                self.fake.tokens_spent()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One scenario.

struct Outcome {
    text: String,
    eligible: usize,
    detected: usize,
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
    within_target: Option<f64>,
    verdict: String,
    missed_long: usize,
    missed_long_paused: usize,
    p99_visible: Option<f64>,
    flap_episodes: usize,
    flap_alerted: usize,
    flap_zone_alerts: usize,
    detail_pct: f64,
    false_zone_alerts: usize,
    platform_alerts: usize,
    outages: usize,
    tokens: f64,
    requests: u64,
    monitor_cpu: f64,
    peak_rss_kb: Option<u64>,
}

struct AlertRow {
    zone: Option<String>,
    kind: String,
    started: Option<i64>,
    created: i64,
    resolved: Option<i64>,
}

async fn scenario(s: &Scenario) -> anyhow::Result<Outcome> {
    let wall = Instant::now();
    let (db, url) = bma_store::testing::fresh_database().await?;
    let env: HashMap<&str, &str> = HashMap::from([
        ("JWT_SECRET_KEY", "bench-secret-bench-secret-bench-secret"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("BCRYPT_COST", "4"),
        ("DATABASE_MAX_CONNECTIONS", "10"),
    ]);
    let config = Config::from_source(&env, Strictness::Production).map_err(|e| anyhow::anyhow!("{e}"))?;
    let clock = Clock::virtual_at(START);

    // The fake runs on its own runtime (threads named bench-fake), so its CPU can be told apart.
    let fake_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("bench-fake").enable_all().build()?;
    let fleet = FleetConfig {
        seed: s.seed,
        accounts: s.accounts,
        zones: s.zones,
        bucket_max: 3600.0,
        refill_per_sec: s.refill,
        clock: clock.clone(),
        latency: Duration::ZERO,
    };
    let fake = fake_rt.spawn(SoundtrackFake::start(fleet)).await??;
    let accounts = fake.accounts();

    let mut settings = Settings::new(fake.url(), Auth::client(fake.client_id(), fake.client_secret()));
    settings.refill_per_sec = s.refill;
    settings.bucket_max = 3600.0;
    let backoffs: Vec<Duration> =
        (0..settings.max_retries).map(|k| settings.backoff_base.saturating_mul(2_u32.saturating_pow(k))).collect();
    let client = Arc::new(SoundtrackClient::new(settings, clock.clone())?);
    let ctx =
        AppContext::new(db.clone(), bma_kv::Kv::memory(), Arc::new(bma_integrations::email::Unconfigured), config)
            .with_soundtrack(client.clone());

    // Discovery (not measured as detection; its cost is reported).
    let t = Instant::now();
    let (v0, tok0, req0) = (clock.now(), fake.tokens_spent(), fake.requests());
    let found = discovery::sync(&ctx, &client, "Asia/Bangkok").await?;
    anyhow::ensure!(found.zones == s.zones, "discovery found {} zones, the fleet has {}", found.zones, s.zones);
    let discovery_line = format!(
        "discovery: {} accounts, {} zones in {:.1} s real, {:.1} h virtual, {:.0} tokens, {} requests",
        found.accounts,
        found.zones,
        t.elapsed().as_secs_f64(),
        (clock.now() - v0).as_seconds_f64() / 3600.0,
        fake.tokens_spent() - tok0,
        fake.requests() - req0
    );
    eprintln!("  {discovery_line}");

    let peak_reset = reset_peak_rss();
    let rss_before_monitor = status_kb("VmRSS:");
    let cpu_before = (process_cpu(), threads_cpu("bench-fake"));
    let mut monitor_settings = MonitorSettings::from_config(&ctx.config);
    monitor_settings.detail_share = s.detail_share;
    let monitor = Monitor::load(ctx.clone(), client.clone(), clock.clone(), monitor_settings).await?;
    let mut d = Driver {
        monitor: &monitor,
        clock: clock.clone(),
        fake: fake.clone(),
        db: db.clone(),
        rtt: s.rtt,
        backoffs,
        ticks: Vec::new(),
        totals: Totals::default(),
        partitions_until: None,
        pg: PgCpu::new(),
        progress: Instant::now(),
    };

    // Warm-up on a healthy fleet: every account asked once and the first slice of the second
    // round, and the playback rotation once round the fleet (or 30 virtual minutes of it), so
    // the window starts in steady state with the bucket drained.
    let warm_start = clock.now();
    let warm_cap = warm_start + Duration::from_secs(30 * 60);
    let (warm_tok, warm_req) = (fake.tokens_spent(), fake.requests());
    while d.totals.accounts_asked < (s.accounts + STATUS_BATCH) as u64
        || (d.totals.zones_probed < s.zones as u64 && clock.now() < warm_cap)
    {
        d.step().await?;
        d.progress("warm-up", clock.now());
        anyhow::ensure!(d.totals.ticks < 1_000_000, "warm-up does not end");
    }
    let warm = (clock.now() - warm_start).as_seconds_f64();
    let warm_line = format!(
        "warm-up (healthy fleet, every account asked once, {} playback reads): {:.1} min virtual, {} ticks, {:.0} tokens, {} requests",
        d.totals.zones_probed,
        warm / 60.0,
        d.totals.ticks,
        fake.tokens_spent() - warm_tok,
        fake.requests() - warm_req
    );
    eprintln!("  {warm_line}");

    // The fault schedule.
    let t0 = clock.now();
    let horizon = Duration::from_secs_f64(s.minutes * 60.0);
    let end = t0 + horizon;
    let mut flapping_left = s.flapping;
    let mut schedule: Vec<Fault> = random_faults(s.seed, &accounts, t0, horizon, s.rate)
        .into_iter()
        .filter(|f| match f.kind {
            FaultKind::PlatformOutage => false,
            FaultKind::Flapping { .. } if flapping_left == 0 => false,
            FaultKind::Flapping { .. } => {
                flapping_left -= 1;
                true
            }
            _ => true,
        })
        .collect();
    schedule.push(Fault {
        kind: FaultKind::PlatformOutage,
        target: Target::Platform,
        starts_at: Some(t0 + horizon.mul_f64(0.5)),
        duration: Some(s.outage),
    });
    for f in &schedule {
        fake.inject(f.clone());
    }

    let base = d.totals;
    let (tok_base, req_base) = (fake.tokens_spent(), fake.requests());
    let cpu_window = (process_cpu(), threads_cpu("bench-fake"));
    let real_window = Instant::now();
    let mut last_report = TickReport::default();
    while clock.now() < end {
        last_report = d.step().await?;
        d.progress("window", end);
    }
    let run_end = clock.now();
    let real_window = real_window.elapsed();
    let cpu_after = (process_cpu(), threads_cpu("bench-fake"));
    d.pg.sample(&db, true).await;
    let window = d.totals.minus(&base);
    let tokens = fake.tokens_spent() - tok_base;
    let requests = fake.requests() - req_base;
    let peak_rss_kb = status_kb("VmHWM:");
    let rss_after = status_kb("VmRSS:");

    let alerts: Vec<AlertRow> =
        sqlx::query_as::<_, (Option<String>, String, Option<OffsetDateTime>, OffsetDateTime, Option<OffsetDateTime>)>(
            "SELECT z.soundtrack_device_id, a.alert_type, a.started_at, a.created_at, a.resolved_at \
         FROM alerts a LEFT JOIN zones z ON z.id = a.zone_id ORDER BY a.created_at",
        )
        .fetch_all(&db)
        .await?
        .into_iter()
        .map(|(zone, kind, started, created, resolved)| AlertRow {
            zone,
            kind,
            started: started.map(ms),
            created: ms(created),
            resolved: resolved.map(ms),
        })
        .collect();
    let truth = fake.truth();

    let a = analyse(s, &accounts, &truth, &alerts, &d.ticks, ms(t0), ms(run_end));
    if std::env::var_os("BENCH_MONITOR_DEBUG").is_some() {
        for (zone, kind, began, ended) in a.missed_long.iter().take(8) {
            let samples: Vec<(String, String, OffsetDateTime)> = sqlx::query_as(
                "SELECT l.kind, l.status, l.created_at FROM music_status_logs l JOIN zones z ON z.id = l.zone_id \
                 WHERE z.soundtrack_device_id = $1 AND l.created_at >= $2 ORDER BY l.created_at LIMIT 12",
            )
            .bind(zone)
            .bind(OffsetDateTime::from_unix_timestamp_nanos(i128::from(*began - 600_000) * 1_000_000)?)
            .fetch_all(&db)
            .await?;
            let t = |at: i64| (at - ms(t0)) as f64 / 1000.0;
            eprintln!(
                "missed {kind} on {zone}: {:.0}–{:.0} s; {}",
                t(*began),
                t(*ended),
                samples.iter().map(|(k, st, at)| format!("{k} {st} @{:.0}", t(ms(*at)))).collect::<Vec<_>>().join(", ")
            );
        }
    }

    // Process figures: the whole process minus the fake's runtime threads is the monitor (with its
    // client, sqlx and this driver's bookkeeping).
    let monitor_cpu = (cpu_after.0 - cpu_window.0) - (cpu_after.1 - cpu_window.1);
    let fake_cpu = cpu_after.1 - cpu_window.1;
    let monitor_cpu_all = (cpu_after.0 - cpu_before.0) - (cpu_after.1 - cpu_before.1);
    let pg_cpu = d.pg.total();
    let virtual_secs = (run_end - t0).as_seconds_f64();
    let virtual_hours = virtual_secs / 3600.0;

    let mut out = String::new();
    let w = &mut out;
    let _ =
        writeln!(w, "## {} zones / {} accounts, refill {}/s\n", thousands(s.zones), thousands(s.accounts), s.refill);
    let _ = writeln!(w, "`{}`\n", s.command());
    let _ = writeln!(
        w,
        "Fleet seed {}; {discovery_line}; {warm_line}. Window: {:.1} min virtual from the end of warm-up ({} ticks, {:.1} s real). \
         Faults: `random_faults(seed, fleet, t0, {} min, {} per zone-hour)` with its platform outages dropped, its flapping zones cut to {}, \
         and one {:.0}-min platform outage at the window's midpoint. Virtual time moves only by budget waits, real tick time, {} ms per request, \
         the client's skipped retry back-off and the runner's pauses (see the module header of crates/bench/src/monitor.rs).\n",
        s.seed,
        virtual_secs / 60.0,
        window.ticks,
        real_window.as_secs_f64(),
        s.minutes,
        s.rate,
        s.flapping,
        s.outage.as_secs_f64() / 60.0,
        s.rtt.as_millis(),
    );
    let _ = writeln!(w, "Schedule (faults that began in the window): {}\n", a.schedule_line);
    let _ = writeln!(
        w,
        "| fault kind (per zone) | faults | masked | still open, undetected, at end | eligible | detected | p50 s | p99 s | max s | detected ≤ target | ≤ 2× target | missed, lasted ≤ target | missed, lasted ≤ 2× target | missed, lasted > 2× target | other alert type |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in a.rows.iter().chain([&a.all, &a.during_outage]) {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.name,
            row.faults,
            row.masked,
            row.censored,
            row.eligible(),
            row.latencies.len(),
            secs(row.pct(0.50)),
            secs(row.pct(0.99)),
            secs(row.pct(1.0)),
            percent(row.within(s.target_secs())),
            percent(row.within(2.0 * s.target_secs())),
            row.missed[0],
            row.missed[1],
            row.missed[2],
            row.wrong_type
        );
    }
    let _ = writeln!(w);
    let target = s.target_secs();
    let p99 = a.all.pct(0.99);
    // Lower bounds on p99 from the budget alone: a fault waits for its account's status count
    // (up to a full round even with the whole budget on the counts), or, for a paused player,
    // for its zone's playback read (up to a full round of those with the whole budget); then the
    // confirmation. Paused players are `paused_share` of the faults, so p99 over all of them lies
    // at their (1 − 0.01 / paused_share) quantile.
    let paused = a.rows.iter().find(|r| r.name == "paused").map_or(0, Row::eligible);
    let paused_share = paused as f64 / a.all.eligible().max(1) as f64;
    let bound_status = 0.99 * s.floor_status() + CONFIRM_SECS;
    let bound_paused =
        if paused_share > 0.01 { (1.0 - 0.01 / paused_share) * s.floor_playback() + CONFIRM_SECS } else { 0.0 };
    let lower_bound = bound_status.max(bound_paused);
    let verdict = if lower_bound > target {
        format!(
            "impossible: p99 ≥ {lower_bound:.0} s by the budget (every account's status counts once: {:.0} s; every zone's playback once: {:.0} s, paused players {:.0} % of the faults; + {CONFIRM_SECS:.0} s confirmation)",
            s.floor_status(),
            s.floor_playback(),
            100.0 * paused_share
        )
    } else if p99.is_some_and(|p| p <= target) && a.all.missed[2] == 0 {
        "met".to_owned()
    } else {
        "not met".to_owned()
    };
    let _ = writeln!(w, "| figure | value |");
    let _ = writeln!(w, "|---|---|");
    let _ = writeln!(
        w,
        "| detection latency, all alerting faults (fault start → alert committed) | p50 {} s, p99 {} s, max {} s ({} detected of {} eligible) |",
        secs(a.all.pct(0.5)),
        secs(p99),
        secs(a.all.pct(1.0)),
        a.all.latencies.len(),
        a.all.eligible()
    );
    let _ = writeln!(
        w,
        "| same over every eligible fault, a missed one counting as never detected | p50 {}, p99 {}; {} detected within the target, {} within 2× |",
        never(a.all.pct_eligible(0.5)),
        never(a.all.pct_eligible(0.99)),
        percent(a.all.within(target)),
        percent(a.all.within(2.0 * target))
    );
    let _ = writeln!(
        w,
        "| detected faults without `paused` (the kinds the status counts can see) | p50 {} s, p99 {} s, max {} s; over eligible: p50 {}, p99 {} |",
        secs(a.visible.pct(0.5)),
        secs(a.visible.pct(0.99)),
        secs(a.visible.pct(1.0)),
        never(a.visible.pct_eligible(0.5)),
        never(a.visible.pct_eligible(0.99))
    );
    let _ = writeln!(w, "| p99 target | ≤ {target:.0} s: **{verdict}** |");
    let _ = writeln!(
        w,
        "| floor: every account once, status counts (2 tokens/account: sees offline, muted, unpaired, expired, dark) | {:.1} s (+ {CONFIRM_SECS:.0} s confirmation) |",
        s.floor_status()
    );
    let _ = writeln!(
        w,
        "| status round at the monitor's pace (the counts' share, ≥ {:.0} % of the refill) | ≤ {:.1} s |",
        100.0 * (1.0 - s.detail_share),
        s.status_round()
    );
    let _ = writeln!(
        w,
        "| floor: every open zone's playback once (2 tokens a zone; the only way to see `paused`), whole budget | {:.1} s (+ {CONFIRM_SECS:.0} s confirmation{}) |",
        s.floor_playback(),
        if s.floor_playback() + CONFIRM_SECS > 2.0 * target {
            format!(
                ": more than 2× target, so paused players lasting just over {:.0} s cannot all be caught",
                2.0 * target
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        w,
        "| playback rotation: reads in the window / mean time between two reads of a zone | {} / {} |",
        window.zones_probed,
        if window.zones_probed > 0 {
            format!("{:.0} s", virtual_secs * s.zones as f64 / window.zones_probed as f64)
        } else {
            "never".to_owned()
        }
    );
    let _ = writeln!(
        w,
        "| faults longer than 2× target missed | {} (of which paused {}) {} |",
        a.all.missed[2],
        a.rows.iter().find(|r| r.name == "paused").map_or(0, |r| r.missed[2]),
        if a.all.missed[2] == 0 { "✔" } else { "✘" }
    );
    let _ = writeln!(
        w,
        "| false zone alerts (zone healthy in truth at the first or the confirming check), of {} zone alerts | {} {} |",
        a.zone_alerts,
        a.false_zone_alerts,
        if a.false_zone_alerts == 0 { "✔" } else { "✘" }
    );
    let _ = writeln!(
        w,
        "| platform alerts / outage windows | {} / {} (opened {} after the outage began; {} outside an outage) {} |",
        a.platform_alerts,
        a.outages,
        a.platform_delay.map_or_else(|| "–".to_owned(), |d| format!("{d:.1} s")),
        a.platform_outside,
        if a.platform_alerts == a.outages && a.platform_outside == 0 { "✔" } else { "✘" }
    );
    let _ = writeln!(
        w,
        "| zone alerts opened during the outage | {} {} |",
        a.zone_alerts_in_outage,
        if a.zone_alerts_in_outage == 0 { "✔" } else { "✘" }
    );
    let _ = writeln!(
        w,
        "| flapping zones: with a `flapping` alert / zone alerts opened on them while flapping (episodes with > 1) | {}: {} / {} ({}); `flapping` alerts on zones not flapping: {} |",
        a.flap_episodes, a.flap_alerted, a.flap_zone_alerts, a.flap_noisy, a.flap_stray
    );
    let _ = writeln!(w, "| flapping episodes (first {}) | {} |", a.flap_details.len(), a.flap_details.join("; "));
    let _ = writeln!(w, "| slowest detections | {} |", a.slowest.join("; "));
    if a.unmapped > 0 {
        let _ = writeln!(w, "| alerts not matched to a tick (latency taken from `created_at`) | {} |", a.unmapped);
    }
    let _ = writeln!(
        w,
        "| zones bad in truth, mean / max at once | {:.1} / {} ({:.2} % / {:.2} % of the fleet) |",
        a.bad_mean,
        a.bad_max,
        100.0 * a.bad_mean / s.zones as f64,
        100.0 * a.bad_max as f64 / s.zones as f64
    );
    let _ = writeln!(
        w,
        "| tokens spent in the window | {tokens:.0} ({:.1}/s of {}/s; status counts {:.0} %, zone reads {:.0} % = {:.1} % of the refill, cap {:.0} %; the monitor's own count: {:.0}) |",
        tokens / virtual_secs,
        s.refill,
        100.0 * window.status_tokens / tokens.max(1.0),
        100.0 * window.detail_tokens / tokens.max(1.0),
        100.0 * window.detail_tokens / (s.refill * virtual_secs).max(1e-9),
        100.0 * s.detail_share,
        window.planned_tokens
    );
    let _ = writeln!(
        w,
        "| requests in the window | {requests} ({} retried after a failure: the outage's 503s; 429s would show here too) |",
        window.retried
    );
    let _ = writeln!(
        w,
        "| ticks / mean tick / time to ask every account once | {} / {:.1} s / {:.1} s |",
        window.ticks,
        virtual_secs / window.ticks.max(1) as f64,
        virtual_secs / (window.accounts_asked as f64 / s.accounts as f64).max(1e-9)
    );
    let _ = writeln!(
        w,
        "| zones detailed per tick (mean) / in the last tick | {:.1} / {} |",
        window.zones_detailed as f64 / window.ticks.max(1) as f64,
        last_report.zones_detailed
    );
    let _ = writeln!(
        w,
        "| virtual time: budget waits / real tick work / modelled RTT / skipped back-off / runner pauses | {:.0} / {:.1} / {:.0} / {:.1} / {:.1} s |",
        window.budget_wait.as_secs_f64(),
        window.real.as_secs_f64(),
        window.rtt.as_secs_f64(),
        window.backoff.as_secs_f64(),
        window.pause.as_secs_f64()
    );
    let _ = writeln!(
        w,
        "| ticks that failed against the API / ran inhibited | {} / {} |",
        window.api_failed, window.inhibited
    );
    let _ = writeln!(
        w,
        "| monitor CPU in the window (process minus the fake's threads) | {monitor_cpu:.1} s = {:.1} CPU-s per monitored hour ({:.2} % of a core); warm-up included: {monitor_cpu_all:.1} s |",
        monitor_cpu / virtual_hours.max(1e-9),
        100.0 * monitor_cpu / virtual_secs.max(1e-9)
    );
    let _ = writeln!(
        w,
        "| fake CPU / PostgreSQL backends CPU (whole scenario, best effort) | {fake_cpu:.1} s / {} |",
        pg_cpu.map_or_else(|| "n/a".to_owned(), |c| format!("{c:.1} s"))
    );
    let _ = writeln!(
        w,
        "| process RSS before the monitor loaded / after the window / peak{} | {} / {} / {} (fake's fleet and discovery included in all three) |",
        if peak_reset { " since discovery" } else { " (whole process)" },
        mib(rss_before_monitor),
        mib(rss_after),
        mib(peak_rss_kb)
    );
    let _ = writeln!(w, "| wall time of the scenario | {:.1} s |", wall.elapsed().as_secs_f64());
    let _ = writeln!(w);

    drop(d);
    drop(monitor);
    drop(ctx);
    drop(client);
    db.close().await;
    fake_rt.shutdown_background();
    drop_database(&url).await;

    Ok(Outcome {
        text: out,
        eligible: a.all.eligible(),
        detected: a.all.latencies.len(),
        p50: a.all.pct(0.5),
        p99,
        max: a.all.pct(1.0),
        within_target: a.all.within(s.target_secs()),
        verdict,
        missed_long: a.all.missed[2],
        missed_long_paused: a.rows.iter().find(|r| r.name == "paused").map_or(0, |r| r.missed[2]),
        p99_visible: a.visible.pct(0.99),
        flap_episodes: a.flap_episodes,
        flap_alerted: a.flap_alerted,
        flap_zone_alerts: a.flap_zone_alerts,
        detail_pct: 100.0 * window.detail_tokens / (s.refill * virtual_secs).max(1e-9),
        false_zone_alerts: a.false_zone_alerts,
        platform_alerts: a.platform_alerts,
        outages: a.outages,
        tokens,
        requests,
        monitor_cpu,
        peak_rss_kb,
    })
}

async fn drop_database(url: &str) {
    let Some(name) = url.rsplit('/').next().map(|t| t.split('?').next().unwrap_or(t).to_owned()) else { return };
    if !name.starts_with("bma_test_") {
        return;
    }
    if let Ok(mut conn) = sqlx::PgConnection::connect(&bma_store::testing::admin_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring against the truth.

#[derive(Default)]
struct Row {
    name: &'static str,
    faults: usize,
    masked: usize,
    censored: usize,
    latencies: Vec<f64>,
    /// Undetected, by how long the fault lasted: ≤ target, ≤ 2× target, longer.
    missed: [usize; 3],
    wrong_type: usize,
}

impl Row {
    fn eligible(&self) -> usize {
        self.faults - self.masked - self.censored
    }

    /// Nearest-rank percentile of the detected faults' latencies.
    fn pct(&self, p: f64) -> Option<f64> {
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
    fn pct_eligible(&self, p: f64) -> Option<f64> {
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
    fn within(&self, limit: f64) -> Option<f64> {
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

struct Analysis {
    schedule_line: String,
    rows: Vec<Row>,
    during_outage: Row,
    all: Row,
    visible: Row,
    false_zone_alerts: usize,
    zone_alerts: usize,
    platform_alerts: usize,
    outages: usize,
    platform_delay: Option<f64>,
    platform_outside: usize,
    zone_alerts_in_outage: usize,
    flap_episodes: usize,
    flap_alerted: usize,
    flap_zone_alerts: usize,
    flap_noisy: usize,
    flap_stray: usize,
    flap_details: Vec<String>,
    /// Alerts whose `created_at` is no tick's start (their opening time could not be made honest).
    unmapped: usize,
    bad_mean: f64,
    bad_max: usize,
    /// The five slowest detections (outside the outage's reach), with when their faults began.
    slowest: Vec<String>,
    /// Faults of the kinds the status counts see, longer than 2× target and missed: zone, kind,
    /// began, ended (ms).
    missed_long: Vec<(String, &'static str, i64, i64)>,
}

fn expected_alert(kind: &FaultKind) -> Option<(&'static str, &'static str)> {
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
fn zones_hit<'a>(
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
fn bad_spans(r: &FaultRecord, horizon: i64) -> Vec<(i64, i64)> {
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

fn merge(mut v: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
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
fn meets(spans: &[(i64, i64)], a: i64, b: i64) -> bool {
    spans.iter().any(|&(s, e)| s <= b && e > a)
}

fn analyse(
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
