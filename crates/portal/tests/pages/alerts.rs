use crate::support::{Visitor, portal, zone_alert};
use axum::http::StatusCode;
use bma_domain::access::Role;

#[tokio::test]
async fn a_manager_resolves_an_alert_from_the_list_and_finds_it_under_resolved() {
    let app = portal().await;
    let alert = zone_alert(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&app.member(Role::Manager).await, None).await;
    let open = v.get("/alerts").await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.text);
    assert!(open.text.contains(&format!(r#"id="alert-{alert}""#)) && open.text.contains("Zone silent"));
    assert!(open.text.contains("Lotus Sukhumvit") && open.text.contains("0 minutes"), "{}", open.text);
    let r = v.post(&format!("/alerts/{alert}/resolve"), &[("csrf", &open.csrf()), ("back", "alerts")]).await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/alerts"));
    assert!(!v.get("/alerts").await.text.contains(&alert.to_string()));
    let resolved = v.get("/alerts?shown=resolved").await;
    assert!(resolved.text.contains(&format!(r#"id="alert-{alert}""#)) && !resolved.text.contains("/resolve\""));
    assert!(!v.get("/alerts?severity=critical").await.text.contains(&alert.to_string()));
}

#[tokio::test]
async fn a_viewer_sees_alerts_and_maintenance_without_controls_and_may_not_plan() {
    let app = portal().await;
    let alert = zone_alert(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&app.member(Role::Viewer).await, None).await;
    let page = v.get("/alerts").await;
    assert!(page.text.contains(&alert.to_string()) && !page.text.contains("/resolve\""), "{}", page.text);
    let m = v.get("/maintenance").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(!m.text.contains(r#"action="/maintenance""#));
    let venue: uuid::Uuid = sqlx::query_scalar("SELECT id FROM venues").fetch_one(&app.ctx.db).await.expect("venue");
    let form = [
        ("csrf", page.csrf()),
        ("venue_id", venue.to_string()),
        ("starts", "2030-01-01T10:00".into()),
        ("ends", "2030-01-01T12:00".into()),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(v.post("/maintenance", &form).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM maintenance_windows").await, 0);
}

#[tokio::test]
async fn a_manager_plans_maintenance_for_a_venue_in_their_own_time_and_sees_it_listed() {
    let app = portal().await;
    zone_alert(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&app.member(Role::Manager).await, None).await;
    let page = v.get("/maintenance").await;
    assert!(page.text.contains("Lotus Sukhumvit") && page.text.contains("No maintenance is planned."));
    let venue: uuid::Uuid = sqlx::query_scalar("SELECT id FROM venues").fetch_one(&app.ctx.db).await.expect("venue");
    let (csrf, venue) = (page.csrf(), venue.to_string());
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("venue_id", venue.as_str()),
        ("starts", "2030-01-01T10:00"),
        ("ends", "2030-01-01T08:00"),
        ("offset", "420"),
        ("reason", "<b>Rewiring</b>"),
    ];
    let bad = v.post("/maintenance", &form).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("the end must come after the start"));
    form[3] = ("ends", "2030-01-01T12:00");
    let ok = v.post("/maintenance", &form).await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/maintenance?done=1"), "{}", ok.text);
    let starts: time::OffsetDateTime =
        sqlx::query_scalar("SELECT starts_at FROM maintenance_windows").fetch_one(&app.ctx.db).await.expect("a window");
    assert_eq!((starts.hour(), starts.to_offset(time::UtcOffset::UTC).hour()), (3, 3), "10:00 at UTC+7 is 03:00 UTC");
    let listed = v.get("/maintenance?done=1").await;
    assert!(listed.text.contains("was planned") && listed.text.contains(r#"data-tz="Asia/Bangkok""#));
    assert!(
        listed.text.contains("&#60;b&#62;Rewiring") || listed.text.contains("&lt;b&gt;Rewiring"),
        "the reason is text"
    );
}
