use crate::driver::Browser;
use crate::journeys::sign_in;
use crate::support::Options;
use crate::support::helpers;
use bma_app::monitoring::{Monitor, MonitorSettings};
use bma_domain::access::Role;
use bma_fakes::soundtrack::{Fault, FaultKind, Target};
use std::time::{Duration, Instant};

/// The zone linked to the fake's zone `remote`.
pub(crate) async fn zone_of(app: &crate::support::TestApp, remote: &str) -> uuid::Uuid {
    sqlx::query_scalar("SELECT id FROM zones WHERE soundtrack_device_id = $1")
        .bind(remote)
        .fetch_one(&app.ctx.db)
        .await
        .expect("the zone")
}

/// The portal over a Soundtrack fake of one account with `zones` zones, and a monitor on a
/// virtual clock that has watched them play for half a minute.
pub(crate) async fn monitored(
    zones: usize,
) -> (crate::support::TestApp, bma_fakes::soundtrack::SoundtrackFake, bma_domain::clock::Clock, Monitor) {
    let opts = Options { routes: Some(bma_portal::router), ..Options::default() };
    let (app, fake, clock) = helpers::with_soundtrack_and(1, zones, 50.0, 50.0, opts).await;
    let client = app.ctx.soundtrack.clone().expect("a Soundtrack client");
    let monitor = Monitor::load(app.ctx.clone(), client, clock.clone(), MonitorSettings::from_config(&app.ctx.config))
        .await
        .expect("the monitor");
    for _ in 0..6 {
        monitor.tick().await.expect("tick");
        clock.advance(Duration::from_secs(5));
    }
    (app, fake, clock, monitor)
}

#[tokio::test]
async fn a_manager_changes_a_zones_volume_and_the_fake_player_follows() {
    let opts = Options { routes: Some(bma_portal::router), ..Options::default() };
    let (app, fake, _) = helpers::with_soundtrack_and(1, 2, 50.0, 50.0, opts).await;
    let remote = fake.accounts()[0].zones[0].id.clone();
    let zone = zone_of(&app, &remote).await;
    let email = app.member(Role::Manager).await;
    let b = Browser::open(&app.serve().await, "zone-volume").await;
    sign_in(&b, &email, None).await;
    b.goto("/monitoring").await;
    b.find("#fleet-rows tr").await;
    b.accessible().await;
    b.screenshots("fleet").await;
    b.click(&format!("#zone-{zone} a")).await;
    b.find("#volume").await;
    b.script(
        "const done = arguments[arguments.length - 1]; const v = document.getElementById('volume');
         v.value = '13'; v.dispatchEvent(new Event('input')); done(true);",
        vec![],
    )
    .await;
    assert_eq!(b.text("#volume-out").await, "13");
    b.click("#set-volume").await;
    b.find("p.ok").await;
    assert_eq!(fake.zone_volume(&remote), Some(13), "the player follows");
    assert_eq!(b.text("#volume-now").await, "13 / 16");
    b.find(".chart .uplot").await;
    b.accessible().await;
    b.screenshots("zone").await;
    b.close().await;
}

#[tokio::test]
async fn a_zone_going_silent_turns_red_in_the_open_fleet_table_within_two_seconds() {
    let (app, fake, clock, monitor) = monitored(3).await;
    let remote = fake.accounts()[0].zones[0].id.clone();
    let zone = zone_of(&app, &remote).await;
    let email = app.member(Role::Viewer).await;
    let b = Browser::open(&app.serve().await, "fleet-silent").await;
    sign_in(&b, &email, None).await;
    b.goto("/monitoring").await;
    let row = format!("#zone-{zone}");
    assert!(b.text(&format!("{row} .status")).await.contains("playing"));
    tokio::time::sleep(Duration::from_millis(800)).await; // the live stream connects

    fake.inject(Fault { kind: FaultKind::Paused, target: Target::Zone(remote), starts_at: None, duration: None });
    let silent = || async {
        sqlx::query_scalar::<_, Option<String>>("SELECT observation FROM zone_monitor_state WHERE zone_id = $1")
            .bind(zone)
            .fetch_one(&app.ctx.db)
            .await
            .expect("state")
    };
    let mut ticks = 0;
    while silent().await.as_deref() != Some("paused") {
        ticks += 1;
        assert!(ticks < 60, "the monitor never saw the zone go silent");
        monitor.tick().await.expect("tick");
        clock.advance(Duration::from_secs(5));
    }
    let seen = Instant::now();
    loop {
        let class = b.find(&row).await.attr("class").await.ok().flatten().unwrap_or_default();
        if class.contains("bad") {
            break;
        }
        assert!(seen.elapsed() < Duration::from_secs(2), "the fleet table did not turn red within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.text(&format!("{row} .status")).await.contains("silent"));
    b.accessible().await;
    b.screenshots("fleet-silent").await;
    b.close().await;
}

#[tokio::test]
async fn a_manager_resolves_an_alert_and_plans_maintenance_for_a_zone() {
    let app = crate::support::portal().await;
    let alert = crate::support::zone_alert(&app).await;
    let zone: uuid::Uuid = sqlx::query_scalar("SELECT id FROM zones").fetch_one(&app.ctx.db).await.expect("zone");
    let email = app.member(Role::Manager).await;
    let b = Browser::open(&app.serve().await, "alerts").await;
    sign_in(&b, &email, None).await;
    b.goto("/alerts").await;
    b.find(&format!("#alert-{alert}")).await;
    b.accessible().await;
    b.screenshots("open").await;
    b.click(&format!("#alert-{alert} button")).await;
    b.find("p").await;
    assert_eq!(b.path().await, "/alerts");
    assert_eq!(b.count(&format!("#alert-{alert}")).await, 0, "resolved alerts leave the open list");
    b.goto(&format!("/maintenance?zone={zone}")).await;
    b.find("#maintenance-zone").await;
    b.script(
        "const done = arguments[arguments.length - 1];
         document.getElementById('starts').value = '2030-01-01T10:00';
         document.getElementById('ends').value = '2030-01-01T12:00'; done(true);",
        vec![],
    )
    .await;
    b.fill("#reason", "Rewiring the lobby").await;
    b.accessible().await;
    b.screenshots("plan").await;
    b.click("form[action='/maintenance'] button").await;
    b.find("#windows").await;
    assert!(b.text("#windows").await.contains("Rewiring the lobby"));
    let offset: i32 =
        sqlx::query_scalar("SELECT (EXTRACT(HOUR FROM starts_at AT TIME ZONE 'UTC'))::int FROM maintenance_windows")
            .fetch_one(&app.ctx.db)
            .await
            .expect("a window");
    assert_eq!(offset, 10, "the browser runs in UTC, so 10:00 is kept as 10:00 UTC");
    b.accessible().await;
    b.screenshots("windows").await;
    b.close().await;
}
