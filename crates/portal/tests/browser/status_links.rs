//! Status links in the browser: an admin makes a link for a venue on the portal's page, and the
//! link opens in a browser that was never signed in, with the venue's zones and their music.

use crate::driver::Browser;
use crate::journeys::sign_in;
use crate::support::helpers::{venue_body, venue_with_lobby};
use crate::support::{admin_with_mfa, portal};
use bma_domain::access::Role;
use serde_json::json;
use time::{Duration, OffsetDateTime, Time};

#[tokio::test]
async fn an_admin_makes_a_venue_link_and_it_opens_signed_out_with_the_venue_s_zones() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    let (venue, lobby) = venue_with_lobby(&app, &token, venue_body("Lotus Sukhumvit")).await;
    let pool = app
        .post(
            &format!("/api/v1/venues/{venue}/zones"),
            Some(&token),
            json!({"name": "Pool Bar", "zone_type": "pool", "soundtrack_zone_id": "U291bmRab25lLCwxcG9vbA"}),
        )
        .await;
    let pool = uuid::Uuid::parse_str(pool.body["id"].as_str().expect("a zone")).expect("an id");
    let db = &app.ctx.db;
    sqlx::query("UPDATE zones SET soundtrack_device_id = 'U291bmRab25lLCwxbG9iYnk' WHERE id = $1")
        .bind(lobby)
        .execute(db)
        .await
        .expect("monitored");
    for (zone, observation) in [(lobby, "playing"), (pool, "paused")] {
        sqlx::query("INSERT INTO zone_monitor_state (zone_id, machine, observation) VALUES ($1, '{}'::jsonb, $2)")
            .bind(zone)
            .bind(observation)
            .execute(db)
            .await
            .expect("a state");
    }
    let today = OffsetDateTime::now_utc().replace_time(Time::MIDNIGHT);
    for (zone, day, up, down) in [(lobby, 1, 40_000, 0), (lobby, 2, 38_000, 2_000), (pool, 1, 30_000, 10_000)] {
        sqlx::query(
            "INSERT INTO uptime_rollups (zone_id, venue_id, period, starts_at, up_seconds, down_seconds, unknown_seconds, excluded_seconds) \
             VALUES ($1, $2, 'day', $3, $4, $5, 0, 0)",
        )
        .bind(zone)
        .bind(venue)
        .bind(today - Duration::days(day))
        .bind(up)
        .bind(down)
        .execute(db)
        .await
        .expect("a rollup");
    }

    let (admin, secret) = admin_with_mfa(&app).await;
    let base = app.serve().await;
    let b = Browser::open(&base, "status-links").await;
    sign_in(&b, &admin, Some(&secret)).await;
    b.click("nav a[href='/status-links']").await;
    b.find("#venue_id").await;
    b.accessible().await;
    b.screenshots("admin").await;
    b.fill("#venue-label", "Owner of Lotus Sukhumvit").await;
    b.click("form:has(#venue_id) button[type=submit]").await;
    b.find("#made-url").await;
    let read = "return document.getElementById('made-url').value;";
    let url = b.client.execute(read, vec![]).await.expect("read").as_str().unwrap_or_default().to_owned();
    let path = url.strip_prefix("https://portal.bma-social.com").expect("under PUBLIC_URL").to_owned();
    assert!(path.starts_with("/status/") && path.len() == "/status/".len() + 43, "{url}");
    b.find("#links").await;
    b.accessible().await;
    b.screenshots("made").await;
    b.close().await;

    let public = Browser::open(&base, "status-link-public").await;
    public.goto(&path).await;
    public.find("table.zones").await;
    assert_eq!(public.text("main h1").await, "Lotus Sukhumvit");
    let zones = public.text("table.zones tbody").await;
    assert!(zones.contains("Lobby") && zones.contains("playing"), "{zones}");
    assert!(zones.contains("Pool Bar") && zones.contains("silent"), "{zones}");
    assert_eq!(public.count("header nav").await, 0, "signed out: no navigation");
    public.accessible().await;
    public.screenshots("page").await;
    public.close().await;
}
