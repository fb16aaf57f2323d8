use crate::support::{Visitor, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;
use bma_domain::monitoring::{AlertKind, Severity};

#[tokio::test]
async fn the_status_page_is_public_and_shows_incidents_without_personal_data_or_ids() {
    let app = portal().await;
    let email = app.member(Role::Manager).await;
    let token = app.token(Role::Manager).await;
    let (venue, zone) = crate::support::helpers::venue_with_lobby(
        &app,
        &token,
        crate::support::helpers::venue_body("Lotus Private Venue"),
    )
    .await;
    let now = time::OffsetDateTime::now_utc();
    let platform = bma_store::monitoring::open_alert(
        &app.ctx.db,
        None,
        None,
        AlertKind::Platform,
        Severity::Critical,
        "Soundtrack itself seems to be failing (HTTP 503 from api.soundtrack.io)",
        now,
        now,
    )
    .await
    .expect("insert")
    .expect("opened");
    let v = Visitor::new(&app);
    let page = v.get("/status").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Soundtrack platform disruption") && page.text.contains("Ongoing"), "{}", page.text);
    assert!(page.text.contains("Some systems are degraded"));
    for secret in [email.as_str(), "Lotus Private Venue", "Lobby", "api.soundtrack.io"] {
        assert!(!page.text.contains(secret), "{secret} leaked");
    }
    for id in [venue, zone, platform] {
        assert!(!page.text.contains(&id.to_string()), "an internal id leaked");
    }
}
