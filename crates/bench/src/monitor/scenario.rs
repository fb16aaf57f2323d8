//! One scenario: a fleet in the fake, discovered and warmed up, a fault schedule, the monitor
//! ticked through the window, and the outcome written up.

use super::*;

pub(super) struct Outcome {
    pub(super) text: String,
    pub(super) eligible: usize,
    pub(super) detected: usize,
    pub(super) p50: Option<f64>,
    pub(super) p99: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) within_target: Option<f64>,
    pub(super) verdict: String,
    pub(super) missed_long: usize,
    pub(super) missed_long_paused: usize,
    pub(super) p99_visible: Option<f64>,
    pub(super) flap_episodes: usize,
    pub(super) flap_alerted: usize,
    pub(super) flap_zone_alerts: usize,
    pub(super) detail_pct: f64,
    pub(super) false_zone_alerts: usize,
    pub(super) platform_alerts: usize,
    pub(super) outages: usize,
    pub(super) tokens: f64,
    pub(super) requests: u64,
    pub(super) monitor_cpu: f64,
    pub(super) peak_rss_kb: Option<u64>,
}

pub(super) struct AlertRow {
    pub(super) zone: Option<String>,
    pub(super) kind: String,
    pub(super) started: Option<i64>,
    pub(super) created: i64,
    pub(super) resolved: Option<i64>,
}

pub(super) async fn scenario(s: &Scenario) -> anyhow::Result<Outcome> {
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

pub(super) async fn drop_database(url: &str) {
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
