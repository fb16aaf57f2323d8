use crate::helpers::TestApp;
use bma_app::monitoring::discovery;
use bma_app::monitoring::{Monitor, MonitorSettings, TickReport};
use bma_domain::access::Role;
use bma_domain::clock::Clock;
use bma_domain::monitoring::Health;
use bma_fakes::soundtrack::{Fault, FaultKind, SoundtrackFake, Target};
use bma_store::monitoring::LogEntry;
use std::time::Duration;

struct Rig {
    app: TestApp,
    fake: SoundtrackFake,
    clock: Clock,
    monitor: Monitor,
}

async fn rig(accounts: usize, zones: usize) -> Rig {
    rig_at(accounts, zones, 50.0).await
}

/// A rig whose Soundtrack budget refills `refill` tokens a second.
async fn rig_at(accounts: usize, zones: usize, refill: f64) -> Rig {
    let (app, fake, clock) = crate::helpers::with_soundtrack(accounts, zones, refill, refill).await;
    app.member(Role::Manager).await;
    let client = app.ctx.soundtrack.clone().expect("client");
    let monitor = Monitor::load(app.ctx.clone(), client, clock.clone(), MonitorSettings::from_config(&app.ctx.config))
        .await
        .expect("monitor");
    Rig { app, fake, clock, monitor }
}

impl Rig {
    /// Runs ticks for `secs` of virtual time, a tick every 5 s (the budget may stretch them).
    async fn run_for(&self, secs: i64) -> Vec<TickReport> {
        let end = self.clock.now() + time::Duration::seconds(secs);
        let mut reports = Vec::new();
        while self.clock.now() < end {
            reports.push(self.monitor.tick().await.expect("tick"));
            self.clock.advance(Duration::from_secs(5));
        }
        reports
    }

    async fn open_alerts(&self, kind: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM alerts WHERE NOT resolved AND alert_type = $1")
            .bind(kind)
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("count open alerts")
    }

    async fn zone_status(&self, remote: &str) -> String {
        sqlx::query_scalar("SELECT last_status FROM zones WHERE soundtrack_device_id = $1")
            .bind(remote)
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("the zone's last status")
    }

    fn zone(&self, account: usize, zone: usize) -> String {
        self.fake.accounts()[account].zones[zone].id.clone()
    }

    fn fault(&self, kind: FaultKind, target: Target) {
        self.fake.inject(Fault { kind, target, starts_at: None, duration: None });
    }
}

#[tokio::test]
async fn discovery_links_accounts_and_zones_and_flags_zones_that_vanish() {
    let r = rig(4, 10).await;
    assert_eq!(r.app.count("SELECT count(*) FROM venues WHERE soundtrack_account_id IS NOT NULL").await, 4);
    let client = r.app.ctx.soundtrack.clone().expect("client");
    let again = discovery::sync(&r.app.ctx, &client, "Asia/Bangkok").await.expect("discovery");
    assert_eq!((again.venues_created, again.zones_created, again.zones_vanished), (0, 0, 0), "discovery is idempotent");
    let (venue, _): (uuid::Uuid, String) =
        sqlx::query_as("SELECT id, name FROM venues LIMIT 1").fetch_one(&r.app.ctx.db).await.expect("venue");
    sqlx::query("INSERT INTO zones (id, venue_id, name, soundtrack_device_id) VALUES ($1, $2, 'Gone', 'U291bmRab25lLCxnb25lLw')")
        .bind(uuid::Uuid::now_v7())
        .bind(venue)
        .execute(&r.app.ctx.db)
        .await
        .expect("insert");
    let third = discovery::sync(&r.app.ctx, &client, "Asia/Bangkok").await.expect("discovery");
    assert_eq!(third.zones_vanished, 1);
    assert_eq!(r.app.count("SELECT count(*) FROM zones WHERE soundtrack_missing_since IS NOT NULL").await, 1);
}

#[tokio::test]
async fn a_healthy_fleet_raises_no_alert_and_every_zone_ends_ok() {
    let r = rig(5, 14).await;
    r.run_for(120).await;
    assert_eq!(r.app.count("SELECT count(*) FROM alerts").await, 0);
    assert_eq!(r.app.count("SELECT count(*) FROM zones WHERE last_status = 'ok'").await, 14);
}

#[tokio::test]
async fn each_fault_kind_becomes_the_right_alert_or_none() {
    let r = rig(8, 24).await;
    r.run_for(30).await;
    let cases = [
        (FaultKind::Offline, Some("silent")),
        (FaultKind::Muted, Some("muted")),
        (FaultKind::Paused, Some("paused")),
        (FaultKind::Unpaired, Some("unpaired")),
        (FaultKind::SubscriptionExpired, Some("subscription_expired")),
        (FaultKind::OfflineCached, None),
        (FaultKind::Slow { delay: Duration::from_millis(20) }, None),
    ];
    let mut zones = Vec::new();
    for (i, (kind, _)) in cases.iter().enumerate() {
        let z = r.zone(i, 0);
        r.fault(kind.clone(), Target::Zone(z.clone()));
        zones.push(z);
    }
    r.run_for(240).await;
    for ((kind, alert), zone) in cases.iter().zip(&zones) {
        let open: Vec<String> = sqlx::query_scalar("SELECT a.alert_type FROM alerts a JOIN zones z ON z.id = a.zone_id WHERE z.soundtrack_device_id = $1 AND NOT a.resolved")
            .bind(zone)
            .fetch_all(&r.app.ctx.db)
            .await
            .expect("open alerts of the zone");
        assert_eq!(open, alert.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>(), "{}", kind.name());
    }
    assert_eq!(r.zone_status(&zones[5]).await, "offline_cached");
    assert_eq!(r.zone_status(&zones[0]).await, "down");
}

#[tokio::test]
async fn a_dark_account_alerts_every_zone_of_it_and_recovery_resolves_them() {
    let r = rig(6, 18).await;
    r.run_for(20).await;
    let account = r.fake.accounts()[0].clone();
    r.fault(FaultKind::AccountDark, Target::Account(account.id.clone()));
    r.run_for(90).await;
    let zones = i64::try_from(account.zones.len()).expect("a small count");
    assert_eq!(r.open_alerts("silent").await, zones);
    r.fake.clear_faults();
    r.run_for(120).await;
    assert_eq!(r.open_alerts("silent").await, 0);
    assert_eq!(r.app.count("SELECT count(*) FROM alerts WHERE resolved").await, zones);
}

#[tokio::test]
async fn zones_failing_together_at_one_venue_get_one_grouped_notice_then_one_recovery_notice() {
    let r = rig(3, 12).await;
    r.run_for(20).await;
    let account = r.fake.accounts().into_iter().max_by_key(|a| a.zones.len()).expect("an account");
    assert!(account.zones.len() >= 2);
    for z in account.zones.iter().take(2) {
        r.fault(FaultKind::Offline, Target::Zone(z.id.clone()));
    }
    r.run_for(180).await;
    let mails: Vec<String> =
        sqlx::query_scalar("SELECT payload->>'text' FROM jobs WHERE kind = 'send_email' ORDER BY created_at")
            .fetch_all(&r.app.ctx.db)
            .await
            .expect("queued emails");
    assert_eq!(mails.len(), 1, "one notice for the venue, not one per zone: {mails:?}");
    assert!(mails[0].contains(&format!("2 of {} zones at", account.zones.len())), "{}", mails[0]);
    r.fake.clear_faults();
    r.run_for(180).await;
    let mails: Vec<String> =
        sqlx::query_scalar("SELECT payload->>'text' FROM jobs WHERE kind = 'send_email' ORDER BY created_at")
            .fetch_all(&r.app.ctx.db)
            .await
            .expect("queued emails");
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[1].contains("Music is back"), "{}", mails[1]);
}

#[tokio::test]
async fn a_platform_outage_raises_one_platform_alert_and_no_zone_alerts() {
    let r = rig(6, 30).await;
    r.run_for(20).await;
    r.fault(FaultKind::PlatformOutage, Target::Platform);
    r.run_for(120).await;
    assert_eq!(r.open_alerts("platform").await, 1);
    assert_eq!(r.app.count("SELECT count(*) FROM alerts WHERE alert_type <> 'platform'").await, 0);
    r.fake.clear_faults();
    r.run_for(60).await;
    assert_eq!(r.open_alerts("platform").await, 0);
    assert_eq!(r.app.count("SELECT count(*) FROM alerts WHERE alert_type <> 'platform'").await, 0);
}

#[tokio::test]
async fn a_large_share_of_the_fleet_dropping_at_once_is_treated_as_a_platform_problem() {
    let r = rig(10, 40).await;
    r.run_for(20).await;
    let mut dark = 0;
    for a in r.fake.accounts() {
        if dark >= 24 {
            break;
        }
        dark += a.zones.len();
        r.fault(FaultKind::AccountDark, Target::Account(a.id.clone()));
    }
    r.run_for(60).await;
    assert_eq!(r.open_alerts("platform").await, 1);
    assert_eq!(r.open_alerts("silent").await, 0, "zone alerts are held while the platform looks broken");
}

#[tokio::test]
async fn a_zone_under_maintenance_raises_no_alert_until_the_window_ends() {
    let r = rig(3, 9).await;
    r.run_for(20).await;
    let zone = r.zone(0, 0);
    let zone_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM zones WHERE soundtrack_device_id = $1")
        .bind(&zone)
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("zone");
    let now = r.clock.now();
    bma_store::monitoring::add_maintenance(
        &r.app.ctx.db,
        None,
        Some(zone_id),
        now,
        now + time::Duration::minutes(5),
        "player swap",
        None,
    )
    .await
    .expect("window");
    r.fault(FaultKind::Offline, Target::Zone(zone.clone()));
    r.run_for(240).await;
    assert_eq!(r.open_alerts("silent").await, 0);
    r.run_for(120).await;
    assert_eq!(r.open_alerts("silent").await, 1, "still silent after the window: the held alert opens");
}

#[tokio::test]
async fn a_flapping_zone_raises_one_flapping_alert_not_a_storm() {
    let r = rig(2, 6).await;
    r.run_for(20).await;
    let zone = r.zone(0, 0);
    r.fault(FaultKind::Flapping { period: Duration::from_secs(10) }, Target::Zone(zone.clone()));
    r.run_for(900).await;
    let per_kind: Vec<(String, i64)> =
        sqlx::query_as("SELECT alert_type, count(*) FROM alerts GROUP BY alert_type ORDER BY 1")
            .fetch_all(&r.app.ctx.db)
            .await
            .expect("alerts per kind");
    assert!(per_kind.iter().all(|(_, n)| *n <= 1), "{per_kind:?}");
    assert!(per_kind.iter().any(|(k, _)| k == "flapping"), "{per_kind:?}");
}

#[tokio::test]
async fn a_paused_player_is_found_within_one_playback_rotation_while_zone_reads_stay_within_their_share() {
    let (zones, refill) = (120_usize, 5.0);
    let r = rig_at(40, zones, refill).await;
    sqlx::query("UPDATE zones SET zone_type = 'lobby'").execute(&r.app.ctx.db).await.expect("lobbies");
    r.monitor.reload().await.expect("reload");
    let share = MonitorSettings::from_config(&r.app.ctx.config).detail_share;
    r.run_for(60).await;

    let (t0, spent0) = (r.clock.now(), r.fake.tokens_spent());
    let zone = r.zone(7, 0);
    r.fault(FaultKind::Paused, Target::Zone(zone.clone()));
    // One rotation reads every zone's playback (2 tokens) on the zone reads' share of the refill;
    // then the confirmation (20 s) and a few ticks of slack.
    let rotation = 2.0 * zones as f64 / (share * refill);
    let mut reports = Vec::new();
    let mut found = None;
    while found.is_none() && (r.clock.now() - t0).as_seconds_f64() < rotation + 60.0 {
        reports.extend(r.run_for(5).await);
        if r.open_alerts("paused").await == 1 {
            found = Some((r.clock.now() - t0).as_seconds_f64());
        }
    }
    let Some(found) = found else { panic!("the paused zone was not found within {rotation:.0} s + 60 s") };
    assert!(found <= rotation + 60.0, "found after {found:.0} s");

    reports.extend(r.run_for(240).await);
    let elapsed = (r.clock.now() - t0).as_seconds_f64();
    let spent = r.fake.tokens_spent() - spent0;
    let status: u64 = reports.iter().map(|t| t.status_tokens).sum();
    let detail: u64 = reports.iter().map(|t| t.detail_tokens).sum();
    assert!(
        (spent - (status + detail) as f64).abs() < 1e-6,
        "the monitor's count {status} + {detail} ≠ the fake's {spent}"
    );
    let allowance = share * refill * (elapsed + 60.0);
    assert!(
        (detail as f64) <= allowance,
        "zone reads took {detail} tokens in {elapsed:.0} s, more than {allowance:.0}"
    );
    assert!(status as f64 >= 0.5 * (1.0 - share) * refill * elapsed, "the status counts got {status} tokens");
    let probed: usize = reports.iter().map(|t| t.zones_probed).sum();
    assert!(probed >= zones, "the rotation read {probed} zones in {elapsed:.0} s");
}

#[tokio::test]
async fn an_account_too_costly_for_one_tick_is_read_once_the_allowance_has_saved_up_for_it() {
    let r = rig_at(30, 400, 5.0).await;
    r.run_for(60).await;
    let account = r
        .fake
        .accounts()
        .into_iter()
        .filter(|a| a.zones.len() <= 10)
        .max_by_key(|a| a.zones.len())
        .expect("an account");
    assert!(account.zones.len() >= 4, "{} zones", account.zones.len());
    r.fault(FaultKind::AccountDark, Target::Account(account.id.clone()));
    // Reading its zones costs 1 + 3n tokens, several ticks of the zone reads' allowance (1.25/s),
    // which the playback rotation (2 tokens a zone, 400 zones) would otherwise spend every tick.
    r.run_for(240).await;
    assert_eq!(r.open_alerts("silent").await, i64::try_from(account.zones.len()).expect("a small count"));
}

#[tokio::test]
async fn a_closed_venue_raises_no_alert_while_the_same_fault_at_an_open_venue_does() {
    let r = rig(2, 6).await;
    let hours = |account: usize, opens: i32, closes: i32| {
        sqlx::query(
            "INSERT INTO venue_opening_hours (venue_id, weekday, opens_at, closes_at) \
             SELECT id, d, $2::int, $3::int FROM venues, generate_series(0, 6) d WHERE soundtrack_account_id = $1",
        )
        .bind(r.fake.accounts()[account].id.clone())
        .bind(opens)
        .bind(closes)
        .execute(&r.app.ctx.db)
    };
    // Every day, Bangkok time: the first venue opens 20:00–22:00, the second 06:00–22:00.
    assert_eq!(hours(0, 1200, 1320).await.expect("closed hours").rows_affected(), 7);
    assert_eq!(hours(1, 360, 1320).await.expect("open hours").rows_affected(), 7);
    r.monitor.reload().await.expect("reload");
    let (closed, open) = (r.zone(0, 0), r.zone(1, 0));
    r.fault(FaultKind::Offline, Target::Zone(closed.clone()));
    r.fault(FaultKind::Offline, Target::Zone(open.clone()));
    r.run_for(180).await;
    let alerted: Vec<String> = sqlx::query_scalar(
        "SELECT z.soundtrack_device_id FROM alerts a JOIN zones z ON z.id = a.zone_id WHERE NOT a.resolved",
    )
    .fetch_all(&r.app.ctx.db)
    .await
    .expect("open alerts");
    assert_eq!(alerted, vec![open], "only the open venue's silent zone alerts");
    assert_eq!(r.app.count("SELECT count(*) FROM alerts").await, 1);
}

#[tokio::test]
async fn the_monitoring_endpoints_show_the_fleet_and_its_alerts_and_a_manager_resolves_one() {
    let r = rig(3, 9).await;
    r.run_for(20).await;
    let zone = r.zone(0, 0);
    r.fault(FaultKind::Offline, Target::Zone(zone.clone()));
    r.run_for(90).await;
    let token = r.app.token(Role::Manager).await;
    let status = r.app.get("/api/v1/monitoring/status", &token).await;
    assert_eq!(status.status, axum::http::StatusCode::OK, "{}", status.text);
    assert_eq!(status.body["zones"], 9);
    assert_eq!(status.body["by_status"]["down"], 1);
    assert_eq!(status.body["open_alerts"], 1);
    let alerts = r.app.get("/api/v1/monitoring/alerts?resolved=false", &token).await;
    assert_eq!(alerts.body.as_array().map(Vec::len), Some(1));
    assert_eq!(alerts.body[0]["alert_type"], "silent");
    assert!(alerts.body[0]["message"].as_str().expect("a message").contains("is silent"));
    let id = alerts.body[0]["id"].as_str().expect("the alert's id").to_owned();
    let resolved = r
        .app
        .call(axum::http::Method::POST, &format!("/api/v1/monitoring/alerts/{id}/resolve"), Some(&token), None)
        .await;
    assert_eq!(resolved.status, axum::http::StatusCode::OK, "{}", resolved.text);
    assert_eq!(resolved.body["resolved"], true);
    let again = r
        .app
        .call(axum::http::Method::POST, &format!("/api/v1/monitoring/alerts/{id}/resolve"), Some(&token), None)
        .await;
    assert_eq!(again.status, axum::http::StatusCode::CONFLICT);
    let bad = r.app.get("/api/v1/monitoring/alerts?severity=apocalyptic", &token).await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
}

/// The crafted day: the test's yesterday, a whole day in the past.
const CRAFTED_DAY: i64 = -1;

/// `h:m` UTC on the crafted day.
fn at(h: u8, m: u8) -> time::OffsetDateTime {
    bma_domain::clock::test_day_at(CRAFTED_DAY, h, m)
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).expect("an RFC 3339 time")
}

/// Makes a venue open 08:00–22:00 UTC on `day`'s weekday, with one lobby zone whose health on
/// `day` was: up from midnight, down 07:45–08:30, up after (so closed hours hide 15 min of it).
/// Returns a manager's token, the venue and the zone.
pub async fn craft_venue(app: &TestApp, day: time::Date) -> (String, String, uuid::Uuid) {
    let at = |h, m| day.with_hms(h, m, 0).expect("a time of day").assume_utc();
    let t = app.token(Role::Manager).await;
    let mut body = crate::helpers::venue_body("Uptime Hotel");
    body["timezone"] = serde_json::json!("UTC");
    let weekday = day.weekday().number_days_from_monday();
    body["opening_hours"] = serde_json::json!([{"weekday": weekday, "opens": "08:00", "closes": "22:00"}]);
    let (venue, zone_id) = crate::helpers::venue_with_lobby(app, &t, body).await;
    for (when, health) in [(at(0, 0), Health::Up), (at(7, 45), Health::Down), (at(8, 30), Health::Up)] {
        bma_store::monitoring::log(&app.ctx.db, zone_id, LogEntry::Health(health), when).await.expect("health logged");
    }
    (t, venue.to_string(), zone_id)
}

/// A fresh app with a crafted venue on the crafted day.
async fn crafted_venue() -> (TestApp, String, String, uuid::Uuid) {
    let app = TestApp::spawn().await;
    let (t, venue, zone) = craft_venue(&app, at(0, 0).date()).await;
    (app, t, venue, zone)
}

fn lobby_row(r: &crate::helpers::Response) -> serde_json::Value {
    r.body.as_array().and_then(|rows| rows.iter().find(|x| x["key"] == "lobby").cloned()).expect("a lobby row")
}

#[tokio::test]
async fn uptime_counts_opening_hours_only_and_leaves_maintenance_out_exactly() {
    let (app, t, venue, _) = crafted_venue().await;
    let ask =
        format!("/api/v1/analytics/uptime?group_by=zone_type&since={}&until={}", rfc3339(at(0, 0)), rfc3339(at(12, 0)));
    let r = app.get(&ask, &t).await;
    assert_eq!(r.status, axum::http::StatusCode::OK, "{}", r.text);
    let row = lobby_row(&r);
    assert_eq!(row["down_seconds"], 30 * 60, "only 08:00–08:30 counts: {row}");
    assert_eq!(row["up_seconds"], 3 * 3600 + 30 * 60);
    assert_eq!(row["uptime_percentage"], 87.5);
    let window = serde_json::json!({"venue_id": venue, "starts_at": rfc3339(at(8, 0)), "ends_at": rfc3339(at(8, 15)), "reason": "tuning"});
    let m = app.post("/api/v1/monitoring/maintenance", Some(&t), window).await;
    assert_eq!(m.status, axum::http::StatusCode::CREATED);
    let row = lobby_row(&app.get(&ask, &t).await);
    assert_eq!(row["down_seconds"], 15 * 60, "maintenance 08:00–08:15 is left out: {row}");
    let bad = app.get("/api/v1/analytics/uptime?group_by=planet", &t).await;
    assert_eq!(bad.status, axum::http::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_maintenance_window_is_created_through_the_api_and_audited() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let created = app.post("/api/v1/venues", Some(&t), crate::helpers::venue_body("Quiet Hotel")).await;
    let venue = created.body["id"].as_str().expect("the venue's id").to_owned();
    let (ten, noon) = (rfc3339(at(10, 0)), rfc3339(at(12, 0)));
    let ok = app
        .post(
            "/api/v1/monitoring/maintenance",
            Some(&t),
            serde_json::json!({"venue_id": venue, "starts_at": ten, "ends_at": noon, "reason": "renovation"}),
        )
        .await;
    assert_eq!(ok.status, axum::http::StatusCode::CREATED, "{}", ok.text);
    let backwards = app
        .post(
            "/api/v1/monitoring/maintenance",
            Some(&t),
            serde_json::json!({"venue_id": venue, "starts_at": noon, "ends_at": ten}),
        )
        .await;
    assert_eq!(backwards.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM maintenance_windows").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'maintenance.create'").await, 1);
}

#[tokio::test]
async fn a_silent_lobby_turns_critical_after_ten_minutes_and_the_venue_hears_of_it() {
    let r = rig(2, 6).await;
    r.run_for(20).await;
    let zone = r.zone(0, 0);
    sqlx::query("UPDATE zones SET zone_type = 'lobby' WHERE soundtrack_device_id = $1")
        .bind(&zone)
        .execute(&r.app.ctx.db)
        .await
        .expect("lobby");
    r.monitor.reload().await.expect("reload");
    r.fault(FaultKind::Offline, Target::Zone(zone.clone()));
    r.run_for(120).await;
    let sev: String = sqlx::query_scalar("SELECT severity FROM alerts WHERE NOT resolved")
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("one open alert");
    assert_eq!(sev, "warning");
    r.run_for(600).await;
    let sev: String = sqlx::query_scalar("SELECT severity FROM alerts WHERE NOT resolved")
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("one open alert");
    assert_eq!(sev, "critical");
    let texts: Vec<String> =
        sqlx::query_scalar("SELECT payload->>'text' FROM jobs WHERE kind = 'send_email' ORDER BY created_at")
            .fetch_all(&r.app.ctx.db)
            .await
            .expect("queued emails");
    assert_eq!(texts.len(), 2, "the first notice, then one update when it turned critical: {texts:?}");
}

#[tokio::test]
async fn hourly_and_daily_rollups_hold_the_exact_uptime_per_zone_and_venue_and_missed_ones_are_caught_up() {
    let (app, _, _, _) = crafted_venue().await;
    let n = bma_app::services::uptime::roll_up(&app.ctx, at(9, 5)).await.expect("hourly rollup");
    assert_eq!(n, 24 + 2, "the hour before, the 23 before it and the two days before, never rolled up");
    let n = bma_app::services::uptime::roll_up(&app.ctx, at(9, 5)).await.expect("hourly rollup again");
    assert_eq!(n, 1, "only the hour before is rewritten");
    let hour: (i32, i32, i32) = sqlx::query_as("SELECT up_seconds, down_seconds, excluded_seconds FROM uptime_rollups WHERE period = 'hour' AND starts_at = $1")
        .bind(at(8, 0))
        .fetch_one(&app.ctx.db)
        .await
        .expect("the 08:00 rollup");
    assert_eq!(hour, (1800, 1800, 0));
    bma_app::services::uptime::roll_up(&app.ctx, at(0, 0) + time::Duration::DAY + time::Duration::minutes(10))
        .await
        .expect("daily rollup");
    let day: (i64, i64, i64, i64) = sqlx::query_as("SELECT up_seconds, down_seconds, excluded_seconds, zones FROM venue_uptime_rollups WHERE period = 'day' AND starts_at = $1")
        .bind(at(0, 0))
        .fetch_one(&app.ctx.db)
        .await
        .expect("the day's venue rollup");
    assert_eq!(day, (14 * 3600 - 1800, 1800, 10 * 3600, 1), "open 08:00–22:00, down 08:00–08:30");
}

#[tokio::test]
async fn the_venues_staff_hear_of_a_problem_on_whatsapp_through_a_template_outside_the_window() {
    let r = rig(3, 12).await;
    r.run_for(20).await;
    let account = r.fake.accounts().into_iter().max_by_key(|a| a.zones.len()).expect("an account");
    let venue: uuid::Uuid = sqlx::query_scalar("SELECT venue_id FROM zones WHERE soundtrack_device_id = $1")
        .bind(&account.zones[0].id)
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("venue");
    sqlx::query(
        "INSERT INTO venue_contacts (id, venue_id, name, channel, whatsapp_number, is_staff) \
         VALUES ($1, $2, 'Khun Somchai', 'whatsapp', '+66812345678', true)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(venue)
    .execute(&r.app.ctx.db)
    .await
    .expect("contact");
    r.fault(FaultKind::Offline, Target::Zone(account.zones[0].id.clone()));
    r.run_for(180).await;
    let sent: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.kind, m.outbound->>'name' FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         WHERE c.external_id = '+66812345678' AND m.direction = 'out'",
    )
    .fetch_all(&r.app.ctx.db)
    .await
    .expect("messages");
    assert_eq!(sent, vec![("template".to_owned(), "alert_notice".to_owned())], "one notice, as the approved template");
    assert_eq!(r.app.count("SELECT count(*) FROM jobs WHERE kind = 'message.send'").await, 1);
}

#[tokio::test]
async fn a_zone_going_silent_is_announced_on_the_live_feed_and_counted_offline_on_the_dashboard() {
    let r = rig(1, 2).await;
    r.run_for(30).await;
    let token = r.app.token(Role::Viewer).await;
    let cached = r.app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(cached.body["fleet"]["total"]["playing"], 2, "both playing, now cached: {}", cached.text);
    let zone = r.zone(0, 0);
    let zone_id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM zones WHERE soundtrack_device_id = $1")
        .bind(&zone)
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("the zone");
    let changes = |replay: bma_kv::Replay| -> Vec<(String, String)> {
        replay
            .events
            .iter()
            .filter_map(|(_, p)| serde_json::from_str::<serde_json::Value>(p).ok())
            .filter(|e| e["type"] == "zone.changed" && e["zone_id"] == zone_id.to_string())
            .map(|e| (e["from"].as_str().unwrap_or("").to_owned(), e["to"].as_str().unwrap_or("").to_owned()))
            .collect()
    };
    let first = r.app.ctx.kv.pubsub.replay(bma_app::events::CHANNEL, 0).await.expect("the journal");
    assert_eq!(changes(first), vec![("unknown".to_owned(), "playing".to_owned())], "first heard playing");

    r.fault(FaultKind::Offline, Target::Zone(zone.clone()));
    r.run_for(120).await;
    let all = r.app.ctx.kv.pubsub.replay(bma_app::events::CHANNEL, 0).await.expect("the journal");
    assert_eq!(
        changes(all),
        vec![("unknown".to_owned(), "playing".to_owned()), ("playing".to_owned(), "offline".to_owned())],
        "then offline, once"
    );
    let d = r.app.get("/api/v1/analytics/dashboard", &token).await;
    assert_eq!(d.body["fleet"]["total"]["zones"], 2, "{}", d.text);
    assert_eq!(d.body["fleet"]["total"]["offline"], 1, "{}", d.text);
    assert_eq!(d.body["fleet"]["total"]["playing"], 1, "{}", d.text);
}
