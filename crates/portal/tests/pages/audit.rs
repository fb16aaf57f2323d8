use crate::support::helpers::venue_body;
use crate::support::{Visitor, admin_with_mfa, portal};
use axum::http::StatusCode;
use bma_domain::access::Role;

#[tokio::test]
async fn an_admin_filters_the_audit_log_by_action_and_day_and_a_manager_may_not_read_it() {
    let app = portal().await;
    let token = app.token(Role::Manager).await;
    app.post("/api/v1/venues", Some(&token), venue_body("Audited Venue")).await;
    let (admin, secret) = admin_with_mfa(&app).await;
    let v = Visitor::new(&app);
    v.sign_in(&admin, Some(&secret)).await;
    let all = v.get("/audit").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert!(all.text.contains("venue.create") && all.text.contains("auth.login"), "{}", all.text);
    let only = v.get("/audit?action=venue.create&entity=venue").await;
    assert!(only.text.contains("venue.create") && !only.text.contains("auth.login"));
    let today = time::OffsetDateTime::now_utc().date();
    let f = time::macros::format_description!("[year]-[month]-[day]");
    let (d, later) = (today.format(&f).expect("date"), (today + time::Duration::days(2)).format(&f).expect("date"));
    assert!(v.get(&format!("/audit?action=venue.create&from={d}&to={d}&offset=0")).await.text.contains("venue.create"));
    let none = v.get(&format!("/audit?action=venue.create&from={later}&offset=420")).await;
    assert!(!none.text.contains("<code>venue.create</code>"));

    let manager = app.member(Role::Manager).await;
    let m = Visitor::new(&app);
    m.sign_in(&manager, None).await;
    assert_eq!(m.get("/audit").await.status, StatusCode::FORBIDDEN);
    assert!(!m.get("/dashboard").await.text.contains(r#"href="/audit""#), "not in a manager's navigation");
}
