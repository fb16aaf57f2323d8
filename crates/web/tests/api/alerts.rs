//! Alerts across the seam between who opens them and who closes them: the bot reports a player
//! offline, the monitor resolves that alert when it sees the zone play again (even while it holds
//! its own alerts), and every kind the code knows is stored and filtered by name.

use crate::helpers::{TestApp, venue_body};
use bma_app::monitoring::{Monitor, MonitorSettings, report_offline};
use bma_domain::access::Role;
use bma_domain::clock::Clock;
use bma_domain::monitoring::{AlertKind, Severity};
use bma_fakes::soundtrack::{Fault, FaultKind, SoundtrackFake, Target};
use std::time::Duration;
use uuid::Uuid;

struct Rig {
    app: TestApp,
    fake: SoundtrackFake,
    clock: Clock,
    monitor: Monitor,
    /// The zone under test: its Soundtrack id, its id and its venue's.
    remote: String,
    zone: Uuid,
    venue: Uuid,
}

/// Two accounts of three zones, monitored on the test's day (venues without hours are always open).
async fn rig() -> Rig {
    let (app, fake, clock) = crate::helpers::with_soundtrack(2, 6, 50.0, 50.0).await;
    let client = app.ctx.soundtrack.clone().expect("Soundtrack is configured");
    let monitor = Monitor::load(app.ctx.clone(), client, clock.clone(), MonitorSettings::from_config(&app.ctx.config))
        .await
        .expect("the monitor loads");
    let remote = fake.accounts()[0].zones[0].id.clone();
    let (zone, venue): (Uuid, Uuid) = sqlx::query_as("SELECT id, venue_id FROM zones WHERE soundtrack_device_id = $1")
        .bind(&remote)
        .fetch_one(&app.ctx.db)
        .await
        .expect("discovery created the zone");
    Rig { app, fake, clock, monitor, remote, zone, venue }
}

impl Rig {
    /// Ticks for `secs` of virtual time, one tick every 5 s.
    async fn run_for(&self, secs: i64) {
        let end = self.clock.now() + time::Duration::seconds(secs);
        while self.clock.now() < end {
            self.monitor.tick().await.expect("the tick succeeds");
            self.clock.advance(Duration::from_secs(5));
        }
    }

    /// What the bot does when the venue's player cannot be reached.
    async fn bot_reports_offline(&self) -> Uuid {
        report_offline(
            &self.app.ctx.db,
            self.zone,
            Some(self.venue),
            "Lobby is offline (reported by the venue through the bot)",
            self.clock.now(),
        )
        .await
        .expect("the alert is stored")
        .expect("no alert was open for the zone yet")
    }

    /// The zone's open alerts: kind and id.
    async fn open(&self) -> Vec<(String, Uuid)> {
        sqlx::query_as("SELECT alert_type, id FROM alerts WHERE zone_id = $1 AND NOT resolved ORDER BY created_at")
            .bind(self.zone)
            .fetch_all(&self.app.ctx.db)
            .await
            .expect("open alerts are read")
    }

    async fn status(&self) -> String {
        sqlx::query_scalar("SELECT last_status FROM zones WHERE id = $1")
            .bind(self.zone)
            .fetch_one(&self.app.ctx.db)
            .await
            .expect("the zone is read")
    }

    fn offline(&self) {
        self.fake.inject(Fault {
            kind: FaultKind::Offline,
            target: Target::Zone(self.remote.clone()),
            starts_at: None,
            duration: None,
        });
    }
}

#[tokio::test]
async fn an_alert_the_bot_opens_for_an_offline_zone_is_resolved_when_the_monitor_sees_it_play_again() {
    let r = rig().await;
    r.run_for(20).await;
    r.offline();
    let alert = r.bot_reports_offline().await;
    assert_eq!(r.open().await, [("silent".to_owned(), alert)]);

    r.run_for(90).await;
    assert_eq!(r.status().await, "down", "the monitor saw the zone go down");
    assert_eq!(r.open().await, [("silent".to_owned(), alert)], "the monitor found the bot's alert, not a second one");

    r.fake.clear_faults();
    r.run_for(120).await;
    assert_eq!(r.status().await, "ok", "the monitor saw the zone recover");
    assert_eq!(r.open().await, [], "the bot's alert is resolved with the monitor's");
    let resolved_at: Option<time::OffsetDateTime> = sqlx::query_scalar("SELECT resolved_at FROM alerts WHERE id = $1")
        .bind(alert)
        .fetch_one(&r.app.ctx.db)
        .await
        .expect("the alert is kept");
    assert!(resolved_at.is_some_and(|t| t <= r.clock.now()), "{resolved_at:?}");
}

#[tokio::test]
async fn an_alert_the_bot_opens_while_the_monitor_holds_its_own_is_resolved_when_the_zone_recovers() {
    let r = rig().await;
    let now = r.clock.now();
    bma_store::monitoring::add_maintenance(
        &r.app.ctx.db,
        Some(r.venue),
        None,
        now - time::Duration::minutes(5),
        now + time::Duration::hours(1),
        "new amplifier",
        None,
    )
    .await
    .expect("the maintenance window is stored");
    r.run_for(20).await;
    r.offline();
    let alert = r.bot_reports_offline().await;

    r.run_for(90).await;
    assert_eq!(r.status().await, "down", "the monitor saw the zone go down");
    assert_eq!(r.open().await, [("silent".to_owned(), alert)], "the monitor holds its own alert under maintenance");

    r.fake.clear_faults();
    r.run_for(120).await;
    assert_eq!(r.status().await, "ok", "the monitor saw the zone recover");
    assert_eq!(r.open().await, [], "the bot's alert is resolved although the monitor opened none");
}

#[tokio::test]
async fn every_alert_kind_the_code_knows_is_stored_and_found_by_its_name_and_an_unknown_name_is_refused() {
    let app = TestApp::spawn().await;
    let t = app.token(Role::Manager).await;
    let (venue, zone) = crate::helpers::venue_with_lobby(&app, &t, venue_body("Orchid House Phuket")).await;
    let now = time::OffsetDateTime::now_utc();
    for (i, kind) in AlertKind::ALL.into_iter().enumerate() {
        let severity = Severity::ALL[i % Severity::ALL.len()];
        let (zone, venue) = if kind == AlertKind::Platform { (None, None) } else { (Some(zone), Some(venue)) };
        bma_store::monitoring::open_alert(&app.ctx.db, zone, venue, kind, severity, kind.as_str(), now, now)
            .await
            .expect("the schema accepts every kind")
            .expect("a new alert");
    }
    for (i, kind) in AlertKind::ALL.into_iter().enumerate() {
        let listed = app.get(&format!("/api/v1/monitoring/alerts?alert_type={kind}"), &t).await;
        assert_eq!(listed.status, axum::http::StatusCode::OK, "{}", listed.text);
        let body = listed.body.as_array().expect("a list");
        assert_eq!(body.len(), 1, "{kind}: {}", listed.text);
        assert_eq!(body[0]["alert_type"], kind.as_str());
        assert_eq!(body[0]["severity"], Severity::ALL[i % Severity::ALL.len()].as_str());
    }
    let listed_critical = app.get("/api/v1/monitoring/alerts?severity=critical&resolved=false", &t).await;
    let critical = (0..AlertKind::ALL.len()).filter(|i| Severity::ALL[i % Severity::ALL.len()] == Severity::Critical);
    assert_eq!(listed_critical.body.as_array().map(Vec::len), Some(critical.count()), "{}", listed_critical.text);
    let refused = app.get("/api/v1/monitoring/alerts?alert_type=offline", &t).await;
    assert_eq!(refused.status, axum::http::StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(refused.text.contains("alert_type"), "{}", refused.text);
}
