use crate::support::helpers::with_soundtrack_and;
use crate::support::{Options, TestApp, Visitor};
use axum::http::StatusCode;
use bma_domain::access::Role;
use bma_fakes::soundtrack::SoundtrackFake;
use uuid::Uuid;

/// The service with the portal and a Soundtrack fake of one account with three linked zones.
async fn fleet() -> (TestApp, SoundtrackFake) {
    let opts = Options { routes: Some(bma_portal::router), ..Options::default() };
    let (app, fake, _) = with_soundtrack_and(1, 3, 50.0, 50.0, opts).await;
    (app, fake)
}

async fn zones(app: &TestApp) -> Vec<(Uuid, String)> {
    sqlx::query_as("SELECT id, soundtrack_device_id FROM zones ORDER BY name")
        .fetch_all(&app.ctx.db)
        .await
        .expect("zones")
}

async fn observe(app: &TestApp, zone: Uuid, observation: &str) {
    sqlx::query(
        "INSERT INTO zone_monitor_state (zone_id, machine, observation, updated_at) VALUES ($1, '{}', $2, now()) \
         ON CONFLICT (zone_id) DO UPDATE SET observation = $2",
    )
    .bind(zone)
    .bind(observation)
    .execute(&app.ctx.db)
    .await
    .expect("observed");
}

async fn signed_in(app: &TestApp, role: Role) -> Visitor<'_> {
    let v = Visitor::new(app);
    let email = app.member(role).await;
    v.sign_in(&email, None).await;
    v
}

#[tokio::test]
async fn the_fleet_table_lists_every_linked_zone_and_filters_by_status_and_search() {
    let (app, _fake) = fleet().await;
    let all = zones(&app).await;
    observe(&app, all[0].0, "paused").await;
    observe(&app, all[1].0, "playing").await;
    let v = signed_in(&app, Role::Viewer).await;
    let page = v.get("/monitoring").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(r#"href="/monitoring" aria-current="page""#), "the nav marks the page");
    for (id, _) in &all {
        assert!(page.text.contains(&format!("/monitoring/zones/{id}")), "zone {id} is listed");
    }
    assert!(page.text.contains("3 zones") && page.text.contains(r#"sse-connect="/live/monitoring?page=1""#));
    let silent = v.get("/monitoring?state=silent").await;
    assert!(silent.text.contains(&format!(r#"id="zone-{}" class="state-silent bad""#, all[0].0)), "{}", silent.text);
    assert!(!silent.text.contains(&all[1].0.to_string()) && silent.text.contains("One zone"));
    let name: String = sqlx::query_scalar("SELECT name FROM zones WHERE id = $1")
        .bind(all[2].0)
        .fetch_one(&app.ctx.db)
        .await
        .expect("name");
    let found = v.get(&format!("/monitoring?q={}", name.replace(' ', "+"))).await;
    assert!(
        found.text.contains(&all[2].0.to_string()) && !found.text.contains(&all[0].0.to_string()),
        "{}",
        found.text
    );
    let none = v.get("/monitoring?zone_type=spa").await;
    assert!(none.text.contains("No zone matches"));
}

#[tokio::test]
async fn names_render_as_text_not_as_markup() {
    let (app, _fake) = fleet().await;
    let evil = r#"<script>alert("x")</script>"#;
    sqlx::query("UPDATE venues SET name = $1").bind(evil).execute(&app.ctx.db).await.expect("renamed");
    sqlx::query("UPDATE zones SET name = $1").bind(evil).execute(&app.ctx.db).await.expect("renamed");
    let zone = zones(&app).await[0].0;
    let v = signed_in(&app, Role::Manager).await;
    for path in ["/monitoring".to_owned(), format!("/monitoring/zones/{zone}")] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.text.contains(evil), "{path} lets markup through");
        assert!(
            page.text.contains("&#60;script&#62;") || page.text.contains("&lt;script&gt;"),
            "{path} shows the name as text"
        );
    }
}

#[tokio::test]
async fn a_manager_sets_the_volume_from_the_zone_page_and_the_player_follows() {
    let (app, fake) = fleet().await;
    let (zone, remote) = zones(&app).await.remove(0);
    let v = signed_in(&app, Role::Manager).await;
    let page = v.get(&format!("/monitoring/zones/{zone}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.text.contains(r#"id="volume""#) && page.text.contains("data-uplot="), "controls and the chart");
    let csrf = page.csrf();
    let r = v.post(&format!("/monitoring/zones/{zone}/volume"), &[("csrf", &csrf), ("volume", "11")]).await;
    assert_eq!(
        (r.status, r.location()),
        (StatusCode::SEE_OTHER, format!("/monitoring/zones/{zone}?done=volume").as_str())
    );
    assert_eq!(fake.zone_volume(&remote), Some(11));
    assert!(v.get(r.location()).await.text.contains("The volume was changed."));
    let bad = v.post(&format!("/monitoring/zones/{zone}/volume"), &[("csrf", &csrf), ("volume", "17")]).await;
    assert!(bad.location().ends_with("?failed=invalid"));
    assert_eq!(fake.zone_volume(&remote), Some(11), "a volume over 16 is refused");
    let check = v.post(&format!("/monitoring/zones/{zone}/check"), &[("csrf", &csrf)]).await;
    assert!(check.location().ends_with("?done=check"), "{}", check.location());
    assert_eq!(app.count("SELECT count(*) FROM audit_log WHERE action = 'zone.control'").await, 1);
}

#[tokio::test]
async fn a_viewer_sees_the_zone_without_controls_and_a_forged_control_is_refused() {
    let (app, fake) = fleet().await;
    let (zone, remote) = zones(&app).await.remove(0);
    let before = fake.zone_volume(&remote);
    let v = signed_in(&app, Role::Viewer).await;
    let page = v.get(&format!("/monitoring/zones/{zone}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.text.contains(r#"id="volume""#) && !page.text.contains("/check\""), "no controls for a viewer");
    let csrf = v.get("/profile").await.csrf();
    for control in ["volume", "pause", "skip", "check"] {
        let r = v.post(&format!("/monitoring/zones/{zone}/{control}"), &[("csrf", &csrf), ("volume", "3")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{control}");
    }
    assert_eq!(fake.zone_volume(&remote), before);
}

#[tokio::test]
async fn the_monitoring_alerts_and_inbox_pages_speak_thai() {
    let (app, _fake) = fleet().await;
    let zone = zones(&app).await[0].0;
    let mut v = Visitor::new(&app);
    v.accept_language = Some("th");
    v.sign_in(&app.member(Role::Manager).await, None).await;
    for (path, title) in [
        ("/monitoring".to_owned(), "การตรวจสอบ"),
        (format!("/monitoring/zones/{zone}"), "ตั้งระดับเสียง"),
        ("/alerts".to_owned(), "การแจ้งเตือน"),
        ("/maintenance".to_owned(), "ช่วงบำรุงรักษา"),
        ("/inbox".to_owned(), "กล่องข้อความ"),
    ] {
        let page = v.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.text.contains(r#"<html lang="th">"#) && page.text.contains(title), "{path} in Thai");
    }
}
