use crate::helpers::{TestApp, venue_body};
use axum::http::{Method, StatusCode};
use bma_domain::access::Role;

#[tokio::test]
async fn writes_through_the_api_are_audited_with_actor_before_after_ip_and_request_id() {
    let app = TestApp::spawn().await;
    let manager = app.token(Role::Manager).await;
    let created = app.post("/api/v1/venues", Some(&manager), venue_body("Teakwood Chiang Mai")).await;
    let id = created.body["id"].as_str().expect("a string field").to_owned();
    let request_id =
        created.headers.get("x-request-id").and_then(|v| v.to_str().ok()).expect("an x-request-id header").to_owned();
    let mut body = venue_body("Teakwood Chiang Mai Old Town");
    body["brand"] = serde_json::Value::Null;
    let updated = app.call(Method::PUT, &format!("/api/v1/venues/{id}"), Some(&manager), Some(body)).await;
    assert_eq!(updated.status, StatusCode::OK);

    let admin = app.token(Role::Admin).await;
    let log = app.get(&format!("/api/v1/audit-log?entity_type=venue&entity_id={id}"), &admin).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let entries = log.body["data"].as_array().cloned().expect("an array");
    assert_eq!(entries.len(), 2);
    let update = &entries[0];
    assert_eq!(update["action"], "venue.update");
    assert_eq!(update["before"]["name"], "Teakwood Chiang Mai");
    assert_eq!(update["after"]["name"], "Teakwood Chiang Mai Old Town");
    assert_eq!(update["after"]["brand"], serde_json::Value::Null);
    assert!(update["actor_email"].as_str().expect("a string field").starts_with("manager-"));
    assert_eq!(update["ip"], "203.0.113.7");
    let create = &entries[1];
    assert_eq!(create["action"], "venue.create");
    assert_eq!(create["before"], serde_json::Value::Null);
    assert_eq!(create["request_id"], request_id.as_str());

    let filtered = app.get("/api/v1/audit-log?action=venue.create", &admin).await;
    assert_eq!(filtered.body["pagination"]["total"], 1);
    let since = app.get("/api/v1/audit-log?since=2999-01-01T00:00:00Z", &admin).await;
    assert_eq!(since.body["pagination"]["total"], 0);
    let bad = app.get("/api/v1/audit-log?since=yesterday", &admin).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_refused_write_leaves_no_audit_entry() {
    let app = TestApp::spawn().await;
    let manager = app.token(Role::Manager).await;
    let before = app.count("SELECT count(*) FROM audit_log").await;
    let r = app.post("/api/v1/venues", Some(&manager), serde_json::json!({"name": "", "timezone": "UTC"})).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM audit_log").await, before);
}

#[tokio::test]
async fn sign_ins_failures_and_sign_outs_are_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let email = app.member(Role::Viewer).await;
    let _ =
        app.post("/api/v1/auth/login", None, serde_json::json!({"email": email, "password": "wrong-password"})).await;
    let token = app.login(&email, None).await.body["access_token"].as_str().expect("a string field").to_owned();
    let _ = app.call(Method::POST, "/api/v1/auth/logout", Some(&token), None).await;
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'auth.%' ORDER BY created_at, id")
            .fetch_all(&app.ctx.db)
            .await
            .expect("the query");
    assert_eq!(actions, vec!["auth.login_failed", "auth.login", "auth.logout"]);
    let ips: Vec<Option<String>> = sqlx::query_scalar("SELECT host(ip) FROM audit_log WHERE action LIKE 'auth.%'")
        .fetch_all(&app.ctx.db)
        .await
        .expect("the query");
    assert!(ips.iter().all(|ip| ip.as_deref() == Some("203.0.113.7")), "{ips:?}");
}
